/*
 * Benchmark (issue 7): erasing contacts in a batch, as the storage-limit
 * sweep does.
 *
 *   build/release/bench/erase [N] [POSTGRES_URL]
 *
 * Creates N contacts (default 10,000) with 3 field values each (one of the
 * fields sensitive, so sealed) on a public list through the model layer
 * (pb_contact_create: one transaction per contact, with its consent event),
 * timed as the baseline; then erases every one of them by id through
 * pb_erasure_erase (one transaction per contact: values, evidence, event
 * personal parts, suppression entry, "erased" event, receipt), with a
 * checkpoint of the store once per 500 as the sweep does per batch. Prints
 * contacts/second for both and the ratio, the share of time spent in the
 * checkpoints, and checks the receipts and the consent chain afterwards.
 *
 * SQLite in a temporary directory by default; with POSTGRES_URL a fresh
 * database is created on that server (the URL serves only as a maintenance
 * connection) and dropped at the end. PB_BENCH_KEEP=1 keeps both.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
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
#include "model/erasure.h"
#include "model/field.h"
#include "model/list.h"
#include "model/storage_limit.h"
#include "model/tenant.h"
#include "store/placement.h"

enum { CHECKPOINT_EVERY = 500 };

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "bench/erase: %s: %s\n", what, why);
    exit(1);
}

/* ---- PostgreSQL: a fresh database for the run ---- */

static void
pg_exec(const char *url, const char *sql)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK)
        die("postgres", PQerrorMessage(pg));
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        die(sql, PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

/* Creates a database on the server of `admin`; its URL into `url`, its name into `db`. */
static void
pg_create(const char *admin, char db[64], char url[PB_STORE_URL_MAX])
{
    unsigned char rnd[6];
    char hex[13], sql[128];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    snprintf(db, 64, "pberase_%s", hex);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    pg_exec(admin, sql);
    /* The same URL with the new database's name as its path. */
    const char *scheme = strstr(admin, "://");
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    const char *query = slash ? strchr(slash, '?') : strchr(admin, '?');
    int host_len = slash ? (int)(slash - admin) : query ? (int)(query - admin) : (int)strlen(admin);
    snprintf(url, PB_STORE_URL_MAX, "%.*s/%s%s", host_len, admin, db, query ? query : "");
}

/* Removes the run's directory (the SQLite files, nothing below). */
static void
remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    if (rmdir(dir) != 0)
        fprintf(stderr, "bench/erase: could not remove %s\n", dir);
}

/* ---- the account and its contacts ---- */

struct run {
    struct pb_app *app;
    struct pb_principal who;
    char list_id[PB_ID_LEN + 1];
    char statement_id[PB_ID_LEN + 1];
    pb_id_text *ids;
};

/* One account with 3 fields (the last one sensitive), a public list and a statement. */
static void
setup_account(struct pb_app *app, struct run *r)
{
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct pb_account account;
    if (pb_account_create(app, "Bench", "enterprise", NULL, &account, why) != PB_ERR_OK)
        die("account", why);
    r->app = app;
    pb_strlcpy(r->who.account_id, account.id, sizeof(r->who.account_id));
    r->who.role = PB_ROLE_OWNER;
    r->who.enterprise = true;
    static const char *const keys[] = {"first_name", "city", "phone"};
    for (int i = 0; i < 3; i++) {
        struct pb_field in, out;
        memset(&in, 0, sizeof(in));
        pb_strlcpy(in.key, keys[i], sizeof(in.key));
        pb_strlcpy(in.label, keys[i], sizeof(in.label));
        pb_strlcpy(in.type, "text", sizeof(in.type));
        in.sensitive = i == 2;
        if (pb_field_create(app, &r->who, &in, &out, &field, why) != PB_ERR_OK)
            die("field", why);
    }
    struct pb_list list;
    if (pb_list_create(app, &r->who, "Newsletter", NULL, true, &list, &field, why) != PB_ERR_OK)
        die("list", why);
    pb_strlcpy(r->list_id, list.id, sizeof(r->list_id));
    struct pb_consent_origin origin = {PB_CHANNEL_API, "bench", NULL, NULL};
    struct pb_consent_input first = {.basis = "consent",
                                     .description = "Signed up on the website form"};
    struct pb_consent_statement st;
    if (pb_consent_statement_create(app, &r->who, &first, &origin, &st, &field, why) != PB_ERR_OK)
        die("statement", why);
    pb_strlcpy(r->statement_id, st.id, sizeof(r->statement_id));
}

/* Creates the n contacts; returns the seconds it took. */
static double
create_all(struct run *r, int n)
{
    char why[PB_WHY_MAX] = "", email[64], phone[32];
    const char *field = NULL;
    struct pb_consent_origin origin = {PB_CHANNEL_API, "bench", NULL, NULL};
    struct pb_consent_input consent = {.statement_id = r->statement_id};
    int64_t start = pb_clock_mono_us();
    for (int i = 0; i < n; i++) {
        snprintf(email, sizeof(email), "person%d@example%d.be", i, i % 97);
        snprintf(phone, sizeof(phone), "+32 470 %06d", i);
        json_t *fields =
            json_pack("{s:s, s:s, s:s}", "first_name", "Jan", "city", "Gent", "phone", phone);
        struct pb_contact_new in = {
            .email = email, .fields = fields, .list_count = 1, .consent = &consent};
        in.list_ids[0] = r->list_id;
        if (pb_contact_create(r->app, &r->who, &in, &origin, r->ids[i], &field, why) != PB_ERR_OK)
            die("contact", why);
        json_decref(fields);
    }
    return (double)(pb_clock_mono_us() - start) / 1e6;
}

/* Erases the n contacts by id, checkpointing every CHECKPOINT_EVERY; returns the seconds. */
static double
erase_all(struct run *r, int n, double *checkpoint_seconds)
{
    struct pb_store *store = NULL;
    if (pb_tenant_store(r->app, r->who.account_id, &store) != PB_ERR_OK)
        die("store", "no tenant store");
    struct pb_erasure_by by = {.account_id = r->who.account_id,
                               .actor = PB_STORAGE_LIMIT_ACTOR,
                               .channel = "system",
                               .reason = PB_ERASURE_REASON_STORAGE,
                               .checkpoint = false};
    *checkpoint_seconds = 0;
    int64_t start = pb_clock_mono_us();
    for (int i = 0; i < n; i++) {
        struct pb_erasure receipt;
        const char *field = NULL;
        char why[PB_WHY_MAX] = "";
        if (pb_erasure_erase(r->app, &by, NULL, r->ids[i], &receipt, &field, why) != PB_ERR_OK)
            die("erasure", why);
        if ((i + 1) % CHECKPOINT_EVERY == 0 || i + 1 == n) {
            int64_t t0 = pb_clock_mono_us();
            enum pb_err err = pb_store_checkpoint(store);
            if (err != PB_ERR_OK)
                die("checkpoint", pb_err_hint(err));
            *checkpoint_seconds += (double)(pb_clock_mono_us() - t0) / 1e6;
        }
    }
    return (double)(pb_clock_mono_us() - start) / 1e6;
}

struct tally {
    int n;
    char last[PB_ID_LEN + 1];
};

static void
count_receipt(void *cls, const char *id, json_t *item)
{
    struct tally *c = cls;
    c->n++;
    pb_strlcpy(c->last, id, sizeof(c->last));
    json_decref(item);
}

/* Every contact has its receipt, and the consent chain still verifies. */
static void
check(struct run *r, int n)
{
    struct tally c = {0, ""};
    for (;;) {
        int before = c.n;
        char after[PB_ID_LEN + 1];
        pb_strlcpy(after, c.last, sizeof(after));
        if (pb_erasure_list_json(r->app, r->who.account_id, after, 1000, count_receipt, &c) !=
            PB_ERR_OK)
            die("receipts", "cannot list them");
        if (c.n - before < 1000)
            break;
    }
    if (c.n != n)
        die("receipts", "not one per contact");
    bool ok = false;
    long events = 0;
    char why[PB_WHY_MAX] = "";
    if (pb_consent_verify(r->app, r->who.account_id, &ok, &events, why) != PB_ERR_OK || !ok)
        die("consent chain", why);
    printf("  checked: %d receipts; the consent chain of %ld events verifies\n", c.n, events);
}

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    const char *pg_admin = argc > 2 ? argv[2] : NULL;
    if (n < 100 || sodium_init() < 0 || (pg_admin != NULL && strncmp(pg_admin, "postgres", 8) != 0))
        die("usage", "build/release/bench/erase [N >= 100] [postgres://...]");
    pb_log_set_level(PB_LOG_WARN);
    char dir[] = "/tmp/postbode-bench-erase-XXXXXX", why[PB_WHY_MAX] = "";
    char url[PB_STORE_URL_MAX], db[64] = "";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", "failed");
    if (pg_admin != NULL)
        pg_create(pg_admin, db, url);
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

    printf("erasure through the model layer (%s), %d contacts, 3 fields each (1 sensitive), "
           "on one list\n",
           pb_store_get_ops(store)->name, n);
    struct run r;
    memset(&r, 0, sizeof(r));
    r.ids = calloc((size_t)n, sizeof(r.ids[0]));
    if (r.ids == NULL)
        die("memory", "out of it");
    setup_account(&app, &r);
    double t_create = create_all(&r, n);
    double t_checkpoint = 0;
    double t_erase = erase_all(&r, n, &t_checkpoint);
    printf("  baseline, creating them (pb_contact_create):   %8.0f contacts/s (%.1f s)\n",
           n / t_create, t_create);
    printf("  erasing them (pb_erasure_erase by id):          %8.0f contacts/s (%.1f s)\n",
           n / t_erase, t_erase);
    printf("  ratio erasure/creation: %.2f; checkpoints (one per %d) took %.1f%% of the "
           "erasure time\n",
           t_create / t_erase, CHECKPOINT_EVERY, 100.0 * t_checkpoint / t_erase);
    check(&r, n);
    free(r.ids);

    pb_app_release(&app);
    pb_placement_free(placement);
    pb_store_close(store);
    pb_keys_free(keys);
    const char *keep = getenv("PB_BENCH_KEEP");
    if (keep != NULL && strcmp(keep, "1") == 0) {
        printf("  kept: %s%s%s\n", dir, db[0] ? " and database " : "", db);
    } else {
        if (db[0] != '\0') {
            char sql[128];
            snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db);
            pg_exec(pg_admin, sql);
        }
        remove_dir(dir);
    }
    return 0;
}
