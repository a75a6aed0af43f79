/*
 * Benchmark (issue 4): contacts through the model layer.
 *
 *   build/release/bench/contacts [N] [STORE_URL]
 *
 * Inserts N contacts (default 100,000) with 5 field values into a public
 * list, twice in the same process: with no sensitive field (the baseline)
 * and with 2 of the 5 fields sensitive (sealed), in alternating chunks of
 * 1,000 so that both see the same database size and cache state. Prints
 * contacts/second for both and the cost of encryption as a share of insert
 * time (target: under 25%), then the latency of exact search (p50/p99) and
 * of the history of one person at N contacts. STORE_URL defaults to a new
 * SQLite file; give postgres://... for PostgreSQL (a fresh database).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/keys.h"
#include "model/account.h"
#include "model/app.h"
#include "model/consent.h"
#include "model/contact.h"
#include "model/field.h"
#include "model/list.h"
#include "store/placement.h"

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "bench/contacts: %s: %s\n", what, why);
    exit(1);
}

static int
compare_us(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct run {
    struct pb_app *app;
    struct pb_principal who;
    char list_id[PB_ID_LEN + 1];
};

/* One account with 5 fields (`sensitive` of them sealed) and a public list. */
static void
setup_account(struct pb_app *app, int sensitive, struct run *r)
{
    char why[PB_WHY_MAX] = "";
    struct pb_account account;
    if (pb_account_create(app, "Bench", "enterprise", NULL, &account, why) != PB_ERR_OK)
        die("account", why);
    memset(r, 0, sizeof(*r));
    r->app = app;
    pb_strlcpy(r->who.account_id, account.id, sizeof(r->who.account_id));
    r->who.role = PB_ROLE_OWNER;
    static const char *const keys[] = {"first_name", "last_name", "city", "iban", "birthday"};
    static const char *const types[] = {"text", "text", "text", "text", "date"};
    for (int i = 0; i < 5; i++) {
        struct pb_field in, out;
        const char *field = NULL;
        memset(&in, 0, sizeof(in));
        pb_strlcpy(in.key, keys[i], sizeof(in.key));
        pb_strlcpy(in.label, keys[i], sizeof(in.label));
        pb_strlcpy(in.type, types[i], sizeof(in.type));
        in.sensitive = i >= 5 - sensitive; /* the last ones: iban, birthday */
        if (pb_field_create(app, &r->who, &in, &out, &field, why) != PB_ERR_OK)
            die("field", why);
    }
    struct pb_list list;
    const char *field = NULL;
    if (pb_list_create(app, &r->who, "Newsletter", NULL, true, &list, &field, why) != PB_ERR_OK)
        die("list", why);
    pb_strlcpy(r->list_id, list.id, sizeof(r->list_id));
}

/* One statement for all of a run's contacts, as an import makes. */
static void
make_statement(struct run *r, char id[PB_ID_LEN + 1])
{
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct pb_consent_origin origin = {PB_CHANNEL_API, "bench", NULL, NULL};
    struct pb_consent_input first = {.basis = "consent",
                                     .description = "Signed up on the website form"};
    struct pb_consent_statement st;
    if (pb_consent_statement_create(r->app, &r->who, &first, &origin, &st, &field, why) !=
        PB_ERR_OK)
        die("statement", why);
    pb_strlcpy(id, st.id, PB_ID_LEN + 1);
}

/* Inserts contacts [from, to); returns the seconds it took. */
static double
insert(struct run *r, const char *statement_id, int from, int to)
{
    char why[PB_WHY_MAX] = "", id[PB_ID_LEN + 1], email[64];
    const char *field = NULL;
    struct pb_consent_origin origin = {PB_CHANNEL_API, "bench", NULL, NULL};
    struct pb_consent_input consent = {.statement_id = statement_id};
    int64_t start = pb_clock_mono_us();
    for (int i = from; i < to; i++) {
        snprintf(email, sizeof(email), "person%d@example%d.be", i, i % 97);
        json_t *fields =
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "first_name", "Jan", "last_name", "Peeters",
                      "city", "Gent", "iban", "BE71096123456769", "birthday", "1980-05-17");
        struct pb_contact_new in = {
            .email = email, .fields = fields, .list_count = 1, .consent = &consent};
        in.list_ids[0] = r->list_id;
        if (pb_contact_create(r->app, &r->who, &in, &origin, id, &field, why) != PB_ERR_OK)
            die("contact", why);
        json_decref(fields);
    }
    return (double)(pb_clock_mono_us() - start) / 1e6;
}

static void
latencies(struct run *r, int n, bool history)
{
    enum { SAMPLES = 1000 };
    int64_t us[SAMPLES];
    char email[64], why[PB_WHY_MAX];
    for (int i = 0; i < SAMPLES; i++) {
        snprintf(email, sizeof(email), "person%d@example%d.be", (i * 7919) % n,
                 ((i * 7919) % n) % 97);
        bool found = false;
        json_t *out = NULL;
        int64_t t0 = pb_clock_mono_us();
        enum pb_err err =
            history ? pb_consent_history(r->app, r->who.account_id, email, &found, &out, why)
                    : pb_contact_search(r->app, &r->who, email, false, &found, &out);
        us[i] = pb_clock_mono_us() - t0;
        if (err != PB_ERR_OK || !found)
            die(history ? "history" : "search", "an inserted contact was not found");
        json_decref(out);
    }
    qsort(us, SAMPLES, sizeof(us[0]), compare_us);
    printf("  %-8s p50 %6.0f µs   p99 %6.0f µs   (%d lookups at %d contacts)\n",
           history ? "history" : "search", (double)us[SAMPLES / 2], (double)us[SAMPLES * 99 / 100],
           SAMPLES, n);
}

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    if (n < 1000 || sodium_init() < 0)
        die("usage", "bench/contacts [N >= 1000] [STORE_URL]");
    pb_log_set_level(PB_LOG_WARN);
    char dir[] = "/tmp/postbode-bench-XXXXXX", why[PB_WHY_MAX] = "", url[1024];
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", "failed");
    if (argc > 2)
        pb_strlcpy(url, argv[2], sizeof(url));
    else
        snprintf(url, sizeof(url), "sqlite:%s/bench.db", dir);

    struct pb_config config;
    pb_config_defaults(&config);
    pb_strlcpy(config.data_dir, dir, sizeof(config.data_dir));
    pb_strlcpy(config.store_url, url, sizeof(config.store_url));
    if (pb_config_finish(&config, why) != PB_ERR_OK)
        die("config", why);
    setenv("POSTBODE_MASTER_KEY",
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    struct pb_keys *keys = NULL;
    struct pb_store *store = NULL;
    struct pb_placement *placement = NULL;
    int from, to;
    if (pb_keys_load(config.master_key_file, &keys, why) != PB_ERR_OK ||
        pb_store_open(url, 2, &store, why) != PB_ERR_OK ||
        pb_store_migrate(store, &from, &to, why) != PB_ERR_OK)
        die("store", why);
    if (pb_placement_ensure_local(store) != PB_ERR_OK ||
        pb_placement_new(store, 2, &placement) != PB_ERR_OK)
        die("placement", "failed");
    struct pb_app app;
    if (pb_app_init(&app, &config, store, placement, keys) != PB_ERR_OK)
        die("app", "failed");

    printf("contacts through the model layer (%s), %d contacts, 5 fields each\n",
           pb_store_get_ops(store)->name, n);
    struct run plain, sealed;
    char plain_st[PB_ID_LEN + 1], sealed_st[PB_ID_LEN + 1];
    setup_account(&app, 0, &plain);
    setup_account(&app, 2, &sealed);
    make_statement(&plain, plain_st);
    make_statement(&sealed, sealed_st);
    double t_plain = 0, t_sealed = 0;
    for (int i = 0; i < n; i += 1000) {
        int end = i + 1000 < n ? i + 1000 : n;
        t_plain += insert(&plain, plain_st, i, end);
        t_sealed += insert(&sealed, sealed_st, i, end);
    }
    printf("  baseline, no sensitive field:  %8.0f contacts/s\n", n / t_plain);
    printf("  2 of 5 fields sensitive:       %8.0f contacts/s\n", n / t_sealed);
    printf("  encryption cost: %.1f%% of insert time (target < 25%%)\n",
           100.0 * (t_sealed - t_plain) / t_sealed);
    latencies(&sealed, n, false);
    latencies(&sealed, n, true);

    pb_app_release(&app);
    pb_placement_free(placement);
    pb_store_close(store);
    pb_keys_free(keys);
    return 0;
}
