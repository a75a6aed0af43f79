/*
 * Storage limitation (issue 7) through the real server and the runner:
 * the two account settings (GET/PATCH /account, bad values refused naming
 * the field with nothing changed, authors refused, the audit entry), a
 * sweep scheduled and run in-process over contacts in every state (kept:
 * subscribed, recent, unconfirmed recently, another account's; erased:
 * never on a list, unsubscribed long ago, unconfirmed for too long, and
 * 120 more across the batch boundary) with receipts and a chain that
 * verifies, the claim that keeps a second schedule within the interval
 * from queueing again, limits at 0 that erase nothing, and the periodic
 * task of a started runner doing it all by itself. Time moves with
 * pb_clock_set_offset_ms. Runs on SQLite, or on PostgreSQL when
 * PB_TEST_STORE_URL is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/id.h"
#include "core/strutil.h"
#include "jobs/kinds.h"
#include "jobs/runner.h"
#include "model/account.h"
#include "model/auth.h"
#include "model/consent.h"
#include "model/contact.h"
#include "model/erasure.h"
#include "model/field.h"
#include "model/job.h"
#include "model/list.h"
#include "model/storage_limit.h"
#include "model/tenant.h"
#include "support/calls.h"
#include "support/testapp.h"

#define PASSWORD "Copper-Meadow-Signal-417"
#define DAY_MS   (86400LL * 1000)
#define EXTRA    120 /* more old contacts, so that the sweep takes two batches */

static struct pb_testapp t;

static char acme_id[32], owner_id[32], admin_id[32], author_id[32];
static struct pb_http_client owner, admin, author;

/* ---- helpers ---- */

static void
login_all(void)
{
    memset(&owner, 0, sizeof(owner));
    memset(&admin, 0, sizeof(admin));
    memset(&author, 0, sizeof(author));
    pb_test_login(&t, &owner, "owner@acme.example.org", PASSWORD);
    pb_test_login(&t, &admin, "admin@acme.example.org", PASSWORD);
    pb_test_login(&t, &author, "author@acme.example.org", PASSWORD);
}

/* The owner of `account_id` as the model sees a caller. */
static void
principal(const char *account_id, const char *user_id, struct pb_principal *who)
{
    memset(who, 0, sizeof(*who));
    pb_strlcpy(who->account_id, account_id, sizeof(who->account_id));
    pb_strlcpy(who->user_id, user_id, sizeof(who->user_id));
    who->role = PB_ROLE_OWNER;
    who->enterprise = true;
}

/* GET /account: the two settings. */
static void
get_limits(struct pb_http_client *c, long *unlisted, long *unconfirmed)
{
    struct pb_http_reply r;
    pb_test_call(&t, c, "GET", "/api/v1/account", NULL, 200, &r);
    json_t *u = json_object_get(r.json, "erase_unlisted_after_days");
    json_t *n = json_object_get(r.json, "erase_unconfirmed_after_days");
    assert_true(json_is_integer(u));
    assert_true(json_is_integer(n));
    *unlisted = (long)json_integer_value(u);
    *unconfirmed = (long)json_integer_value(n);
    pb_http_reply_free(&r);
}

static void
expect_limits(struct pb_http_client *c, long unlisted, long unconfirmed)
{
    long u = -1, n = -1;
    get_limits(c, &u, &n);
    assert_int_equal(u, unlisted);
    assert_int_equal(n, unconfirmed);
}

/* A contact made through the model at the clock's time; `list_id` NULL: on no list. */
static void
make_contact(const struct pb_principal *who, const char *email, const char *list_id,
             char id[PB_ID_LEN + 1])
{
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct pb_consent_origin origin = {PB_CHANNEL_API, "test", NULL, NULL};
    json_t *fields = json_pack("{s:s}", "first_name", "Marguerite");
    struct pb_contact_new in = {.email = email, .fields = fields};
    if (list_id != NULL) {
        in.list_ids[0] = list_id;
        in.list_count = 1;
    }
    enum pb_err err = pb_contact_create(&t.app, who, &in, &origin, id, &field, why);
    json_decref(fields);
    if (err != PB_ERR_OK)
        fail_msg("contact %s: %s (%s)", email, why, field ? field : "-");
}

struct put {
    const char *account_id;
    const char *list_id;
    const char *contact_id;
    const char *status;
    int64_t since;
};

static enum pb_qs
put_tx(struct pb_tx *tx, void *cls)
{
    struct put *p = cls;
    return tx->ops->membership_put(tx->conn, p->account_id, p->list_id, p->contact_id, p->status,
                                   NULL, p->since);
}

/* A double opt-in pending since `since` (no API makes one yet). */
static void
unconfirmed(const char *account_id, const char *list_id, const char *contact_id, int64_t since)
{
    struct put p = {account_id, list_id, contact_id, "unconfirmed", since};
    assert_int_equal(pb_tenant_tx(&t.app, account_id, PB_TX_WRITE, put_tx, &p), PB_ERR_OK);
}

struct state {
    const char *account_id;
    const char *contact_id;
    struct pb_contact contact;
    int values;
};

static void
count_value(void *cls, const struct pb_contact_value *value)
{
    (void)value;
    ((struct state *)cls)->values++;
}

static enum pb_qs
state_tx(struct pb_tx *tx, void *cls)
{
    struct state *s = cls;
    s->values = 0;
    enum pb_qs qs = tx->ops->contact_get(tx->conn, s->account_id, s->contact_id, &s->contact);
    if (qs <= 0)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    return tx->ops->value_list(tx->conn, s->account_id, s->contact_id, count_value, s);
}

/* Whether the contact is erased (and then wholly: no address, no index, no value). */
static bool
is_erased(const char *account_id, const char *contact_id)
{
    struct state s = {.account_id = account_id, .contact_id = contact_id};
    assert_int_equal(pb_tenant_tx(&t.app, account_id, PB_TX_READ, state_tx, &s), PB_ERR_OK);
    if (strcmp(s.contact.status, "erased") != 0) {
        assert_string_equal(s.contact.status, "active");
        assert_true(s.contact.email_sealed_len > 0);
        assert_int_equal(s.values, 1);
        return false;
    }
    assert_int_equal(s.contact.email_sealed_len, 0);
    assert_int_equal(s.contact.email_bidx_len, 0);
    assert_int_equal(s.values, 0);
    assert_true(strncmp(s.contact.pseudonym, "anon-", 5) == 0);
    return true;
}

/* The receipts of an account: how many, and how many for storage limitation by the system. */
struct receipts {
    int total;
    int storage;
    char last[PB_ID_LEN + 1];
    int page;
};

static void
receipt_cb(void *cls, const char *id, json_t *item)
{
    struct receipts *r = cls;
    r->total++;
    r->page++;
    pb_strlcpy(r->last, id, sizeof(r->last));
    const char *reason = json_string_value(json_object_get(item, "reason"));
    const char *actor = json_string_value(json_object_get(item, "actor"));
    if (reason != NULL && strcmp(reason, PB_ERASURE_REASON_STORAGE) == 0 && actor != NULL &&
        strcmp(actor, PB_STORAGE_LIMIT_ACTOR) == 0)
        r->storage++;
    json_decref(item);
}

static void
count_receipts(const char *account_id, struct receipts *r)
{
    memset(r, 0, sizeof(*r));
    do {
        r->page = 0;
        char before[PB_ID_LEN + 1];
        pb_strlcpy(before, r->last, sizeof(before));
        assert_int_equal(pb_erasure_list_json(&t.app, account_id, before, 50, receipt_cb, r),
                         PB_ERR_OK);
    } while (r->page == 50);
}

struct find_job {
    struct pb_job job;
    enum pb_qs qs;
};

/*
 * The storage-limit job the scheduler queued: taken with a lease that has
 * run out already, so that pb_runner_run_job takes it over at once.
 */
static enum pb_qs
find_job_tx(struct pb_tx *tx, void *cls)
{
    struct find_job *f = cls;
    int64_t now = pb_clock_now();
    f->qs =
        tx->ops->job_claim(tx->conn, now, "test-finder", now - 1, PB_STORAGE_LIMIT_KIND, &f->job);
    return f->qs;
}

/* Runs the job queued for `account_id` to its end; its erased count. */
static long
run_queued_job(const char *account_id)
{
    struct find_job *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(pb_store_tx(t.app.control, PB_TX_WRITE, find_job_tx, f), PB_ERR_OK);
    assert_int_equal(f->qs, PB_QS_ONE);
    assert_string_equal(f->job.account_id, account_id);
    char id[PB_ID_LEN + 1];
    pb_strlcpy(id, f->job.id, sizeof(id));
    free(f);
    bool ran = false;
    assert_int_equal(pb_runner_run_job(&t.app, account_id, id, "test-runner", NULL, NULL, &ran),
                     PB_ERR_OK);
    assert_true(ran);
    json_t *job = NULL;
    assert_int_equal(pb_job_get_json(&t.app, account_id, id, &job), PB_ERR_OK);
    const char *state = json_string_value(json_object_get(job, "state"));
    if (state == NULL || strcmp(state, "done") != 0) {
        char *text = json_dumps(job, JSON_COMPACT);
        fail_msg("the storage-limit job did not finish: %s", text);
    }
    json_t *erased = json_object_get(json_object_get(job, "result"), "erased");
    assert_true(json_is_integer(erased));
    long n = (long)json_integer_value(erased);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(job, "progress"), "done")),
                     n);
    json_decref(job);
    return n;
}

static void
chain_verifies(const char *account_id)
{
    bool ok = false;
    long events = 0;
    char why[PB_WHY_MAX] = "";
    assert_int_equal(pb_consent_verify(&t.app, account_id, &ok, &events, why), PB_ERR_OK);
    if (!ok)
        fail_msg("the consent chain of %s does not verify: %s", account_id, why);
    assert_true(events > 0);
}

/* ---- fixture ---- */

static int
setup(void **state)
{
    (void)state;
    pb_testapp_start(&t, 0);
    /* The kinds, for pb_runner_run_job (and the periodic task, for a started runner). */
    if (pb_job_kinds_register() != PB_ERR_OK)
        return -1;
    pb_testapp_account(&t, "Acme", "enterprise", acme_id);
    pb_testapp_user(&t, acme_id, "owner@acme.example.org", "owner", PASSWORD, owner_id);
    pb_testapp_user(&t, acme_id, "admin@acme.example.org", "admin", PASSWORD, admin_id);
    pb_testapp_user(&t, acme_id, "author@acme.example.org", "author", PASSWORD, author_id);
    login_all();
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"first_name\",\"label\":\"First name\",\"type\":\"text\"}", 201);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pb_clock_set_offset_ms(0);
    pb_testapp_stop(&t);
    return 0;
}

/* ---- 1. the settings ---- */

static void
test_settings(void **state)
{
    (void)state;
    /* Off by default. */
    expect_limits(&owner, 0, 0);
    expect_limits(&author, 0, 0);
    struct pb_account account;
    assert_int_equal(pb_account_get(&t.app, acme_id, &account), PB_ERR_OK);
    assert_int_equal(account.erase_unlisted_days, 0);
    assert_int_equal(account.erase_unconfirmed_days, 0);

    /* The owner sets one; the other stays. */
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "PATCH", "/api/v1/account", "{\"erase_unlisted_after_days\":30}", 200,
                 &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "erase_unlisted_after_days")), 30);
    assert_int_equal(json_integer_value(json_object_get(r.json, "erase_unconfirmed_after_days")),
                     0);
    pb_http_reply_free(&r);
    expect_limits(&owner, 30, 0);
    /* An admin sets the other; the first stays. */
    pb_test_call_ok(&t, &admin, "PATCH", "/api/v1/account",
                    "{\"erase_unconfirmed_after_days\":3650}", 200);
    expect_limits(&owner, 30, 3650);
    /* Both at once, with another setting. */
    pb_test_call_ok(&t, &owner, "PATCH", "/api/v1/account",
                    "{\"tracking\":\"off\",\"erase_unlisted_after_days\":365,"
                    "\"erase_unconfirmed_after_days\":7}",
                    200);
    expect_limits(&admin, 365, 7);
    assert_int_equal(pb_account_get(&t.app, acme_id, &account), PB_ERR_OK);
    assert_int_equal(account.erase_unlisted_days, 365);
    assert_int_equal(account.erase_unconfirmed_days, 7);
    assert_string_equal(account.tracking, "off");

    /* Bad values: 422 naming the field, and nothing changed (not even the valid part). */
    static const char *const bad[] = {"-1",   "3651", "\"x\"", "1.5",
                                      "null", "true", "1e3",   "99999999999999"};
    static const char *const names[] = {"erase_unlisted_after_days",
                                        "erase_unconfirmed_after_days"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int k = 0; k < 2; k++) {
            char body[256];
            snprintf(body, sizeof(body), "{\"tracking\":\"individual\",\"%s\":%s}", names[k],
                     bad[i]);
            pb_test_expect_error(&t, &owner, "PATCH", "/api/v1/account", body, 422, PB_ERR_INVALID,
                                 names[k]);
        }
    }
    /* A good value beside a bad one changes nothing either. */
    pb_test_expect_error(&t, &owner, "PATCH", "/api/v1/account",
                         "{\"erase_unlisted_after_days\":10,\"erase_unconfirmed_after_days\":-5}",
                         422, PB_ERR_INVALID, "erase_unconfirmed_after_days");
    expect_limits(&owner, 365, 7);
    assert_int_equal(pb_account_get(&t.app, acme_id, &account), PB_ERR_OK);
    assert_string_equal(account.tracking, "off");

    /* Authors may read them, not change them. */
    pb_test_expect_error(&t, &author, "PATCH", "/api/v1/account",
                         "{\"erase_unlisted_after_days\":1}", 403, PB_ERR_FORBIDDEN, NULL);
    expect_limits(&owner, 365, 7);

    /* Each change is audited with what changed. */
    pb_test_call(&t, &owner, "GET", "/api/v1/audit?limit=20", NULL, 200, &r);
    json_t *items = json_object_get(r.json, "items");
    int seen = 0;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *action = json_string_value(json_object_get(item, "action"));
        json_t *detail = json_object_get(item, "detail");
        if (action == NULL || strcmp(action, "account.updated") != 0)
            continue;
        json_t *u = json_object_get(detail, "erase_unlisted_after_days");
        json_t *n = json_object_get(detail, "erase_unconfirmed_after_days");
        if (json_integer_value(u) == 365 && json_integer_value(n) == 7) {
            assert_string_equal(json_string_value(json_object_get(detail, "tracking")), "off");
            seen |= 1;
        } else if (json_integer_value(n) == 3650 && u == NULL) {
            assert_string_equal(json_string_value(json_object_get(item, "actor_user_id")),
                                admin_id);
            seen |= 2;
        } else if (json_integer_value(u) == 30 && n == NULL) {
            seen |= 4;
        }
    }
    pb_http_reply_free(&r);
    assert_int_equal(seen, 7);

    /* Back to off for the tests below. */
    pb_test_call_ok(&t, &owner, "PATCH", "/api/v1/account",
                    "{\"erase_unlisted_after_days\":0,\"erase_unconfirmed_after_days\":0,"
                    "\"tracking\":\"aggregate\"}",
                    200);
    expect_limits(&owner, 0, 0);
}

/* ---- 2. a sweep, scheduled and run in-process ---- */

enum {
    SUBSCRIBED,     /* subscribed long ago: kept */
    NO_LIST_OLD,    /* never on a list, created long ago: erased */
    NO_LIST_NEW,    /* never on a list, created recently: kept */
    UNSUB_OLD,      /* unsubscribed long ago: erased */
    UNSUB_NEW,      /* subscribed long ago, unsubscribed recently: kept */
    UNCONF_OLD,     /* unconfirmed since long ago: erased (unconfirmed rule) */
    UNCONF_MID,     /* unconfirmed for 30 days: erased by the 7-day rule only */
    UNCONF_NEW,     /* unconfirmed for a day: kept */
    SUB_AND_UNCONF, /* subscribed, and unconfirmed long ago on another list: kept */
    OTHER_ACCOUNT,  /* never on a list, long ago, in an account without limits: kept */
    CASES
};

static const bool expect_erased[CASES] = {
    [NO_LIST_OLD] = true, [UNSUB_OLD] = true, [UNCONF_OLD] = true, [UNCONF_MID] = true};

static void
test_sweep(void **state)
{
    (void)state;
    pb_clock_set_offset_ms(0);
    struct pb_principal who, other_who;
    principal(acme_id, owner_id, &who);
    char other_id[32], other_owner[32], list[PB_ID_LEN + 1], list2[PB_ID_LEN + 1];
    pb_testapp_account(&t, "Other", "enterprise", other_id);
    pb_testapp_user(&t, other_id, "owner@other.example.org", "owner", PASSWORD, other_owner);
    principal(other_id, other_owner, &other_who);
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct pb_list l;
    assert_int_equal(pb_list_create(&t.app, &who, "Newsletter", NULL, false, &l, &field, why),
                     PB_ERR_OK);
    pb_strlcpy(list, l.id, sizeof(list));
    assert_int_equal(pb_list_create(&t.app, &who, "Events", NULL, false, &l, &field, why),
                     PB_ERR_OK);
    pb_strlcpy(list2, l.id, sizeof(list2));
    /* The other account's contacts need a field of that name too. */
    struct pb_field in, out;
    memset(&in, 0, sizeof(in));
    pb_strlcpy(in.key, "first_name", sizeof(in.key));
    pb_strlcpy(in.label, "First name", sizeof(in.label));
    pb_strlcpy(in.type, "text", sizeof(in.type));
    assert_int_equal(pb_field_create(&t.app, &other_who, &in, &out, &field, why), PB_ERR_OK);

    /* Long ago: today. */
    char ids[CASES][PB_ID_LEN + 1], extra[EXTRA][PB_ID_LEN + 1];
    int64_t long_ago = pb_clock_now();
    struct pb_consent_origin origin = {PB_CHANNEL_API, "test", NULL, NULL};
    make_contact(&who, "subscribed@example.org", list, ids[SUBSCRIBED]);
    make_contact(&who, "nolist-old@example.org", NULL, ids[NO_LIST_OLD]);
    make_contact(&who, "unsub-old@example.org", list, ids[UNSUB_OLD]);
    assert_int_equal(pb_contact_unsubscribe(&t.app, &who, list, ids[UNSUB_OLD], &origin),
                     PB_ERR_OK);
    make_contact(&who, "unsub-new@example.org", list, ids[UNSUB_NEW]);
    make_contact(&who, "unconf-old@example.org", NULL, ids[UNCONF_OLD]);
    unconfirmed(acme_id, list2, ids[UNCONF_OLD], long_ago);
    make_contact(&who, "unconf-mid@example.org", NULL, ids[UNCONF_MID]);
    make_contact(&who, "unconf-new@example.org", NULL, ids[UNCONF_NEW]);
    make_contact(&who, "both@example.org", list, ids[SUB_AND_UNCONF]);
    unconfirmed(acme_id, list2, ids[SUB_AND_UNCONF], long_ago);
    make_contact(&other_who, "nolist-old@example.org", NULL, ids[OTHER_ACCOUNT]);
    for (int i = 0; i < EXTRA; i++) {
        char email[64];
        snprintf(email, sizeof(email), "extra%03d@example.org", i);
        make_contact(&who, email, NULL, extra[i]);
    }

    /* 400 days later. */
    pb_clock_set_offset_ms(400 * DAY_MS);
    int64_t now = pb_clock_now();
    make_contact(&who, "nolist-new@example.org", NULL, ids[NO_LIST_NEW]);
    assert_int_equal(pb_contact_unsubscribe(&t.app, &who, list, ids[UNSUB_NEW], &origin),
                     PB_ERR_OK);
    unconfirmed(acme_id, list2, ids[UNCONF_MID], now - 30 * 86400);
    unconfirmed(acme_id, list2, ids[UNCONF_NEW], now - 86400);

    /* Limits off everywhere: nothing is scheduled. */
    assert_int_equal(pb_storage_limit_schedule(&t.app, now), 0);

    /* One year without a list, a week unconfirmed (the sessions ran out: log in again). */
    login_all();
    pb_test_call_ok(&t, &owner, "PATCH", "/api/v1/account",
                    "{\"erase_unlisted_after_days\":365,\"erase_unconfirmed_after_days\":7}", 200);
    assert_int_equal(pb_storage_limit_schedule(&t.app, now), 1);
    /* Within the interval (here: at the same time, and a second before it ends) no second job. */
    assert_int_equal(pb_storage_limit_schedule(&t.app, now), 0);
    assert_int_equal(
        pb_storage_limit_schedule(&t.app, now + pb_storage_limit_sweep_seconds(&t.app) - 1), 0);

    assert_int_equal(run_queued_job(acme_id), 4 + EXTRA);
    for (int i = 0; i < CASES; i++) {
        const char *account = i == OTHER_ACCOUNT ? other_id : acme_id;
        if (is_erased(account, ids[i]) != expect_erased[i])
            fail_msg("case %d: expected %s", i, expect_erased[i] ? "erased" : "kept");
    }
    for (int i = 0; i < EXTRA; i++)
        assert_true(is_erased(acme_id, extra[i]));
    /* Subscribed members are all still counted. */
    struct pb_list got;
    assert_int_equal(pb_list_get(&t.app, &who, list, &got), PB_ERR_OK);
    assert_int_equal(got.member_count, 2); /* SUBSCRIBED, SUB_AND_UNCONF */

    /* Receipts: one per erased contact, by the system, for storage limitation. */
    struct receipts rc;
    count_receipts(acme_id, &rc);
    assert_int_equal(rc.total, 4 + EXTRA);
    assert_int_equal(rc.storage, 4 + EXTRA);
    count_receipts(other_id, &rc);
    assert_int_equal(rc.total, 0);
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "GET", "/api/v1/erasures?limit=5", NULL, 200, &r);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 5);
    json_t *first = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(first, "reason")), "storage_limitation");
    assert_null(strstr(r.body, "@example.org"));
    pb_http_reply_free(&r);
    chain_verifies(acme_id);
    chain_verifies(other_id);

    /*
     * The sweep's steps moved the account's last sweep on to their own time:
     * the next one is due an interval after its last step, and finds
     * nothing left to erase.
     */
    now = pb_clock_now();
    assert_int_equal(pb_storage_limit_schedule(&t.app, now), 0);
    now += pb_storage_limit_sweep_seconds(&t.app);
    assert_int_equal(pb_storage_limit_schedule(&t.app, now), 1);
    assert_int_equal(run_queued_job(acme_id), 0);

    /*
     * Both limits back to 0: nothing is scheduled, and a sweep queued before
     * (as when the setting changes while one waits) erases nothing.
     */
    char late[PB_ID_LEN + 1], job_id[PB_ID_LEN + 1];
    pb_clock_set_offset_ms(0);
    make_contact(&who, "late@example.org", NULL, late);
    pb_clock_set_offset_ms(400 * DAY_MS);
    login_all();
    pb_test_call_ok(&t, &owner, "PATCH", "/api/v1/account",
                    "{\"erase_unlisted_after_days\":0,\"erase_unconfirmed_after_days\":0}", 200);
    now += 2 * pb_storage_limit_sweep_seconds(&t.app);
    assert_int_equal(pb_storage_limit_schedule(&t.app, now), 0);
    assert_int_equal(pb_job_enqueue(&t.app, acme_id, PB_STORAGE_LIMIT_KIND, NULL, job_id),
                     PB_ERR_OK);
    assert_int_equal(run_queued_job(acme_id), 0);
    assert_false(is_erased(acme_id, late));
    assert_false(is_erased(acme_id, ids[SUBSCRIBED]));
    assert_false(is_erased(acme_id, ids[UNCONF_NEW]));
    chain_verifies(acme_id);
    pb_clock_set_offset_ms(0);
}

/* ---- 3. a started runner does it by itself ---- */

static pthread_mutex_t ticks_lock = PTHREAD_MUTEX_INITIALIZER;
static int ticks;

static void
count_tick(struct pb_app *app, int64_t now)
{
    (void)app;
    (void)now;
    pthread_mutex_lock(&ticks_lock);
    ticks++;
    pthread_mutex_unlock(&ticks_lock);
}

static int
ticks_now(void)
{
    pthread_mutex_lock(&ticks_lock);
    int n = ticks;
    pthread_mutex_unlock(&ticks_lock);
    return n;
}

static void
test_periodic(void **state)
{
    (void)state;
    pb_clock_set_offset_ms(0);
    assert_int_equal(pb_runner_register_periodic(NULL), PB_ERR_INVALID);
    assert_int_equal(pb_runner_register_periodic(count_tick), PB_ERR_OK);
    assert_int_equal(pb_runner_register_periodic(count_tick), PB_ERR_OK); /* once only */

    char id[32], owner2[32], contact[PB_ID_LEN + 1], kept[PB_ID_LEN + 1];
    pb_testapp_account(&t, "Periodic", "standard", id);
    pb_testapp_user(&t, id, "owner@periodic.example.org", "owner", PASSWORD, owner2);
    struct pb_principal who;
    principal(id, owner2, &who);
    who.enterprise = false;
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct pb_field in, out;
    memset(&in, 0, sizeof(in));
    pb_strlcpy(in.key, "first_name", sizeof(in.key));
    pb_strlcpy(in.label, "First name", sizeof(in.label));
    pb_strlcpy(in.type, "text", sizeof(in.type));
    assert_int_equal(pb_field_create(&t.app, &who, &in, &out, &field, why), PB_ERR_OK);
    make_contact(&who, "gone@periodic.example.org", NULL, contact);
    pb_clock_set_offset_ms(10 * DAY_MS);
    make_contact(&who, "fresh@periodic.example.org", NULL, kept);
    struct pb_account_patch patch = {.set_erase_unlisted = true, .erase_unlisted_days = 5};
    assert_int_equal(pb_account_update(&t.app, &who, &patch, "127.0.0.1"), PB_ERR_OK);

    /* Sweeps are due every second; the tick comes as often. */
    t.config.privacy_sweep_seconds = 1;
    pb_testapp_start_jobs(&t);
    bool erased = false;
    for (int i = 0; i < 300 && !erased; i++) {
        usleep(100 * 1000);
        struct state s = {.account_id = id, .contact_id = contact};
        assert_int_equal(pb_tenant_tx(&t.app, id, PB_TX_READ, state_tx, &s), PB_ERR_OK);
        erased = strcmp(s.contact.status, "erased") == 0;
    }
    assert_true(erased);
    assert_true(is_erased(id, contact));
    int before = ticks_now();
    assert_true(before >= 1);
    for (int i = 0; i < 50 && ticks_now() < before + 2; i++)
        usleep(100 * 1000);
    assert_true(ticks_now() >= before + 2); /* again and again, about once a second */
    pb_runner_stop(t.runner);
    t.runner = NULL;
    t.config.privacy_sweep_seconds = 3600;

    assert_false(is_erased(id, kept));
    struct receipts rc;
    count_receipts(id, &rc);
    assert_int_equal(rc.total, 1);
    assert_int_equal(rc.storage, 1);
    chain_verifies(id);
    pb_clock_set_offset_ms(0);
}

/* ---- 4. a contact who subscribes again after the sweep listed it is kept ---- */

static void
test_resubscribed_is_kept(void **state)
{
    (void)state;
    pb_clock_set_offset_ms(0);
    struct pb_principal who;
    principal(acme_id, owner_id, &who);
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct pb_list l;
    assert_int_equal(pb_list_create(&t.app, &who, "Comeback", NULL, false, &l, &field, why),
                     PB_ERR_OK);
    char back[PB_ID_LEN + 1], gone[PB_ID_LEN + 1];
    make_contact(&who, "comes-back@example.org", NULL, back);
    make_contact(&who, "stays-away@example.org", NULL, gone);

    /* A year later both were past the limit when the sweep listed them; one subscribes now. */
    pb_clock_set_offset_ms(400 * DAY_MS);
    int64_t cutoff = pb_clock_now() - 365 * 86400LL;
    struct pb_consent_origin origin = {PB_CHANNEL_API, "test", NULL, NULL};
    const char *ids[] = {back};
    int changed = 0;
    assert_int_equal(
        pb_contact_subscribe(&t.app, &who, l.id, ids, 1, NULL, &origin, &changed, &field, why),
        PB_ERR_OK);
    assert_int_equal(changed, 1);

    struct pb_erasure_by by = {.account_id = acme_id,
                               .actor = PB_STORAGE_LIMIT_ACTOR,
                               .channel = "system",
                               .reason = PB_ERASURE_REASON_STORAGE,
                               .unlisted_before = cutoff};
    struct pb_erasure receipt;
    assert_int_equal(pb_erasure_erase(&t.app, &by, NULL, back, &receipt, &field, why),
                     PB_ERR_CONFLICT);
    assert_false(is_erased(acme_id, back));
    assert_int_equal(pb_erasure_erase(&t.app, &by, NULL, gone, &receipt, &field, why), PB_ERR_OK);
    assert_true(is_erased(acme_id, gone));
    pb_clock_set_offset_ms(0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_periodic),
        cmocka_unit_test(test_resubscribed_is_kept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
