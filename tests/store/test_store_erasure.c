/*
 * The store contract of erasure and storage limitation (issue 7): wiping a
 * contact's values, evidence, SMTP replies and the personal parts of its
 * events, the receipts, suppressions, the accounts' storage limits and the
 * sweep's claim, the contacts past a limit, the checkpoint, and migration 8
 * from a version-7 database. Backend-neutral like test_store_contract.c, on
 * the same fixture (tests/support/storetest.h): PB_TEST_STORE_URL picks
 * "sqlite:PATH" or "postgres://...".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "core/id.h"
#include "core/strutil.h"
#include "store/pg/pg_internal.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store.h"
#include "support/storetest.h"

/* ---- small helpers ---- */

static void
make_evidence(struct pb_evidence *e, const char *account_id, unsigned seed)
{
    memset(e, 0, sizeof(*e));
    pb_id_new(e->id);
    pb_strlcpy(e->account_id, account_id, sizeof(e->account_id));
    pb_storetest_fill(e->sha256, sizeof(e->sha256), seed);
    pb_strlcpy(e->type, "image/png", sizeof(e->type));
    e->size = 100;
    e->created_at = 4000;
}

/* Inserts a piece of evidence of `account_id` (its sealed bytes follow from `seed`). */
static void
insert_evidence(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
                unsigned seed, struct pb_evidence *e)
{
    unsigned char sealed[64];
    pb_storetest_fill(sealed, sizeof(sealed), seed);
    make_evidence(e, account_id, seed);
    assert_int_equal(ops->evidence_insert(c, e, sealed, sizeof(sealed)), PB_QS_ONE);
}

/* Inserts a statement of `account_id` linked to the evidence `ids` (n of them). */
static void
insert_statement(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
                 const struct pb_evidence *const *ev, int n, struct pb_consent_statement *st)
{
    memset(st, 0, sizeof(*st));
    pb_id_new(st->id);
    pb_strlcpy(st->account_id, account_id, sizeof(st->account_id));
    pb_strlcpy(st->basis, "consent", sizeof(st->basis));
    pb_strlcpy(st->description, "the form on the shop's page", sizeof(st->description));
    pb_strlcpy(st->created_by, "user:1", sizeof(st->created_by));
    st->created_at = 5000;
    for (int i = 0; i < n; i++)
        pb_strlcpy(st->evidence_ids[i], ev[i]->id, sizeof(st->evidence_ids[i]));
    st->evidence_count = n;
    assert_int_equal(ops->statement_insert(c, st), PB_QS_ONE);
}

/* Inserts an active contact of `account_id`. */
static void
insert_contact(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
               unsigned seed, struct pb_contact *ct)
{
    pb_storetest_make_contact(ct, account_id, seed);
    assert_int_equal(ops->contact_insert(c, ct), PB_QS_ONE);
}

static void
insert_list(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
            const char *name, struct pb_list *l)
{
    pb_storetest_make_list(l, account_id, name);
    assert_int_equal(ops->list_insert(c, l), PB_QS_ONE);
}

/* Appends event `seq` of `contact_id` naming `statement_id` ("" none), with `personal` or not. */
static void
append_event(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id, int64_t seq,
             const char *contact_id, const char *statement_id,
             const struct pb_consent_personal *personal)
{
    struct pb_consent_event ev;
    memset(&ev, 0, sizeof(ev));
    pb_strlcpy(ev.account_id, account_id, sizeof(ev.account_id));
    ev.seq = seq;
    pb_id_new(ev.id);
    pb_strlcpy(ev.type, "subscribed", sizeof(ev.type));
    pb_strlcpy(ev.contact_id, contact_id, sizeof(ev.contact_id));
    pb_strlcpy(ev.statement_id, statement_id, sizeof(ev.statement_id));
    pb_strlcpy(ev.channel, "form", sizeof(ev.channel));
    pb_strlcpy(ev.actor, "form", sizeof(ev.actor));
    ev.at = 6000 + seq;
    pb_storetest_fill(ev.prev_hash, sizeof(ev.prev_hash), (unsigned)seq + 100);
    pb_storetest_fill(ev.hash, sizeof(ev.hash), (unsigned)seq + 101);
    assert_int_equal(ops->event_append(c, &ev, personal), PB_QS_ONE);
}

static void
count_value(void *cls, const struct pb_contact_value *value)
{
    (void)value;
    (*(int *)cls)++;
}

static int
values_of(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
          const char *contact_id)
{
    int n = 0;
    assert_true(ops->value_list(c, account_id, contact_id, count_value, &n) >= 0);
    return n;
}

/* ---- field values ---- */

static enum pb_qs
values_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_contact x, y;
    insert_contact(ops, c, a, 1, &x);
    insert_contact(ops, c, a, 2, &y);

    static const char *const keys[] = {"first_name", "city", "birthday"};
    for (int i = 0; i < 3; i++) {
        struct pb_contact_value v = {0};
        pb_strlcpy(v.account_id, a, sizeof(v.account_id));
        pb_strlcpy(v.contact_id, x.id, sizeof(v.contact_id));
        pb_strlcpy(v.field_key, keys[i], sizeof(v.field_key));
        if (i == 2) {
            pb_storetest_fill(v.value_sealed, 48, 9);
            v.value_sealed_len = 48;
        } else {
            pb_strlcpy(v.value_text, "Ann", sizeof(v.value_text));
        }
        assert_int_equal(ops->value_put(c, &v), PB_QS_ONE);
        if (i == 0) {
            pb_strlcpy(v.contact_id, y.id, sizeof(v.contact_id));
            assert_int_equal(ops->value_put(c, &v), PB_QS_ONE);
        }
    }
    assert_int_equal(values_of(ops, c, a, x.id), 3);

    /* Another account's id for the contact: nothing deleted. */
    int64_t n = -1;
    assert_int_equal(ops->value_delete_for_contact(c, b, x.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);
    assert_int_equal(values_of(ops, c, a, x.id), 3);

    assert_int_equal(ops->value_delete_for_contact(c, a, x.id, &n), PB_QS_N);
    assert_int_equal(n, 3);
    assert_int_equal(values_of(ops, c, a, x.id), 0);
    /* The other contact keeps its value. */
    assert_int_equal(values_of(ops, c, a, y.id), 1);

    n = -1;
    assert_int_equal(ops->value_delete_for_contact(c, a, x.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);
    assert_int_equal(ops->value_delete_for_contact(c, a, y.id, &n), PB_QS_ONE);
    assert_int_equal(n, 1);
    return PB_QS_ONE;
}

static void
value_delete_for_contact_counts_and_spares_others(void **state)
{
    pb_storetest_tenants_write(*state, values_body);
}

/* ---- evidence ---- */

static enum pb_qs
evidence_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;

    struct pb_contact x, y;
    insert_contact(ops, c, a, 1, &x);
    insert_contact(ops, c, a, 2, &y);
    struct pb_list l1, l2, l3;
    insert_list(ops, c, a, "one", &l1);
    insert_list(ops, c, a, "two", &l2);
    insert_list(ops, c, a, "three", &l3);

    /*
     * shared: one statement both contacts subscribed with -> stays.
     * told: one statement x subscribed with and y's event names -> stays.
     * own_event: a statement only x's event names -> goes.
     * own_a, own_b: one statement only x's membership names -> both go.
     * mixed: linked to a statement only x names and to one only y names -> stays.
     * idle: linked to a statement only x names and to one nobody names -> stays.
     * loose: linked to no statement -> stays.
     */
    struct pb_evidence shared, told, own_event, own_a, own_b, mixed, idle, loose, other;
    insert_evidence(ops, c, a, 1, &shared);
    insert_evidence(ops, c, a, 9, &told);
    insert_evidence(ops, c, a, 2, &own_event);
    insert_evidence(ops, c, a, 3, &own_a);
    insert_evidence(ops, c, a, 4, &own_b);
    insert_evidence(ops, c, a, 5, &mixed);
    insert_evidence(ops, c, a, 6, &idle);
    insert_evidence(ops, c, a, 7, &loose);
    insert_evidence(ops, c, b, 8, &other);

    struct pb_consent_statement s_shared, s_told, s_event, s_own, s_x_mixed, s_y, s_x_idle, s_none,
        s_b;
    const struct pb_evidence *e_shared[] = {&shared}, *e_told[] = {&told},
                             *e_event[] = {&own_event}, *e_own[] = {&own_a, &own_b},
                             *e_mixed[] = {&mixed}, *e_idle[] = {&idle}, *e_other[] = {&other};
    insert_statement(ops, c, a, e_shared, 1, &s_shared);
    insert_statement(ops, c, a, e_told, 1, &s_told);
    insert_statement(ops, c, a, e_event, 1, &s_event);
    insert_statement(ops, c, a, e_own, 2, &s_own);
    insert_statement(ops, c, a, e_mixed, 1, &s_x_mixed);
    insert_statement(ops, c, a, e_mixed, 1, &s_y);
    insert_statement(ops, c, a, e_idle, 1, &s_x_idle);
    insert_statement(ops, c, a, e_idle, 1, &s_none);
    insert_statement(ops, c, b, e_other, 1, &s_b);

    assert_int_equal(ops->membership_put(c, a, l1.id, x.id, "subscribed", s_shared.id, 10),
                     PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l1.id, y.id, "subscribed", s_shared.id, 10),
                     PB_QS_ONE);
    struct pb_list l4;
    insert_list(ops, c, a, "four", &l4);
    assert_int_equal(ops->membership_put(c, a, l4.id, x.id, "subscribed", s_told.id, 10),
                     PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l2.id, x.id, "unconfirmed", s_own.id, 10),
                     PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l3.id, x.id, "unsubscribed", s_x_mixed.id, 10),
                     PB_QS_ONE);
    append_event(ops, c, a, 1, x.id, s_event.id, NULL);
    append_event(ops, c, a, 2, y.id, s_y.id, NULL);
    append_event(ops, c, a, 3, x.id, s_x_idle.id, NULL);
    append_event(ops, c, a, 4, x.id, "", NULL);
    append_event(ops, c, a, 5, y.id, s_told.id, NULL);

    /* Another account: nothing of a's goes. */
    int64_t n = -1;
    assert_int_equal(ops->evidence_erase_for_contact(c, b, x.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);

    assert_int_equal(ops->evidence_erase_for_contact(c, a, x.id, &n), PB_QS_N);
    assert_int_equal(n, 3);

    struct pb_evidence got;
    unsigned char *sealed = NULL;
    size_t sealed_len = 0;
    assert_int_equal(ops->evidence_get(c, a, own_event.id, &got, &sealed, &sealed_len), PB_QS_NONE);
    assert_null(sealed);
    assert_int_equal(ops->evidence_get(c, a, own_a.id, &got, NULL, NULL), PB_QS_NONE);
    assert_int_equal(ops->evidence_get(c, a, own_b.id, &got, NULL, NULL), PB_QS_NONE);
    /* Gone evidence has no links left; its file's hash can be stored again. */
    struct pb_consent_statement sg;
    assert_int_equal(ops->statement_get(c, a, s_own.id, &sg), PB_QS_ONE);
    assert_int_equal(sg.evidence_count, 0);
    assert_int_equal(ops->statement_get(c, a, s_event.id, &sg), PB_QS_ONE);
    assert_int_equal(sg.evidence_count, 0);

    /* What others use stays, with its links and its file. */
    const struct pb_evidence *kept[] = {&shared, &told, &mixed, &idle, &loose};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ops->evidence_get(c, a, kept[i]->id, &got, &sealed, &sealed_len),
                         PB_QS_ONE);
        assert_non_null(sealed);
        assert_int_equal(sealed_len, 64);
        free(sealed);
        sealed = NULL;
    }
    assert_int_equal(ops->evidence_get(c, b, other.id, &got, NULL, NULL), PB_QS_ONE);
    assert_int_equal(ops->statement_get(c, a, s_shared.id, &sg), PB_QS_ONE);
    assert_int_equal(sg.evidence_count, 1);
    assert_string_equal(sg.evidence_ids[0], shared.id);
    assert_int_equal(ops->statement_get(c, a, s_x_mixed.id, &sg), PB_QS_ONE);
    assert_int_equal(sg.evidence_count, 1);
    assert_int_equal(ops->statement_get(c, a, s_x_idle.id, &sg), PB_QS_ONE);
    assert_int_equal(sg.evidence_count, 1);

    /* Twice: nothing more to erase. */
    n = -1;
    assert_int_equal(ops->evidence_erase_for_contact(c, a, x.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);

    /* Every statement of y's is shared with x (whose rows stay after an erasure): nothing goes. */
    assert_int_equal(ops->evidence_erase_for_contact(c, a, y.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);
    return PB_QS_ONE;
}

static void
evidence_erase_takes_only_what_no_other_contact_uses(void **state)
{
    pb_storetest_tenants_write(*state, evidence_body);
}

/* Many pieces: more than one round of the SQLite backend's deletion. */
static enum pb_qs
evidence_many_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id;
    struct pb_contact x;
    insert_contact(ops, c, a, 1, &x);
    enum { STATEMENTS = 5, PER = PB_STATEMENT_EVIDENCE };
    static struct pb_evidence ev[STATEMENTS * PER];
    for (int s = 0; s < STATEMENTS; s++) {
        const struct pb_evidence *links[PER];
        for (int i = 0; i < PER; i++) {
            insert_evidence(ops, c, a, (unsigned)(100 + s * PER + i), &ev[s * PER + i]);
            links[i] = &ev[s * PER + i];
        }
        struct pb_consent_statement st;
        insert_statement(ops, c, a, links, PER, &st);
        append_event(ops, c, a, s + 1, x.id, st.id, NULL);
    }
    int64_t n = -1;
    assert_int_equal(ops->evidence_erase_for_contact(c, a, x.id, &n), PB_QS_N);
    assert_int_equal(n, STATEMENTS * PER);
    struct pb_evidence got;
    for (int i = 0; i < STATEMENTS * PER; i++)
        assert_int_equal(ops->evidence_get(c, a, ev[i].id, &got, NULL, NULL), PB_QS_NONE);
    return PB_QS_ONE;
}

static void
evidence_erase_takes_many_pieces(void **state)
{
    pb_storetest_tenants_write(*state, evidence_many_body);
}

/* ---- SMTP replies of deliveries ---- */

static char html_body[] = "<p>Hello</p>";
static char text_body[] = "Hello";

static void
count_recipient(void *cls, const struct pb_recipient *r)
{
    (void)r;
    (*(int *)cls)++;
}

/* A campaign of `account_id` to list `list_id`, its two recipients snapshotted and claimed by "W".
 */
static void
claimed_campaign(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
                 const char *list_id, char id[PB_ID_LEN + 1])
{
    struct pb_campaign cp;
    memset(&cp, 0, sizeof(cp));
    pb_id_new(cp.id);
    pb_strlcpy(cp.account_id, account_id, sizeof(cp.account_id));
    pb_strlcpy(cp.name, "news", sizeof(cp.name));
    pb_strlcpy(cp.subject, "News", sizeof(cp.subject));
    pb_strlcpy(cp.from_addr, "Shop <news@shop.example>", sizeof(cp.from_addr));
    cp.html = html_body;
    cp.text = text_body;
    pb_strlcpy(cp.state, "draft", sizeof(cp.state));
    pb_strlcpy(cp.created_by, "user:1", sizeof(cp.created_by));
    pb_strlcpy(cp.list_ids[0], list_id, sizeof(cp.list_ids[0]));
    cp.list_count = 1;
    cp.created_at = cp.updated_at = 5000;
    assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);
    char last[PB_ID_LEN + 1];
    int64_t added = -1;
    assert_true(ops->recipient_snapshot(c, account_id, cp.id, "", 100, last, &added) >= 0);
    assert_int_equal(added, 2);
    int claimed = 0;
    assert_int_equal(
        ops->recipient_claim(c, account_id, cp.id, 100, "W", 1000, 10, count_recipient, &claimed),
        PB_QS_N);
    assert_int_equal(claimed, 2);
    memcpy(id, cp.id, PB_ID_LEN + 1);
}

static enum pb_qs
replies_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_contact x, y;
    insert_contact(ops, c, a, 1, &x);
    insert_contact(ops, c, a, 2, &y);
    struct pb_list l;
    insert_list(ops, c, a, "all", &l);
    assert_int_equal(ops->membership_put(c, a, l.id, x.id, "subscribed", "", 10), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l.id, y.id, "subscribed", "", 10), PB_QS_ONE);

    char first[PB_ID_LEN + 1], second[PB_ID_LEN + 1];
    const char *campaigns[] = {first, second};
    claimed_campaign(ops, c, a, l.id, first);
    claimed_campaign(ops, c, a, l.id, second);
    /* x: deferred with the relay's reply in both; y: a reply in the first, sent in the second. */
    for (int i = 0; i < 2; i++) {
        struct pb_recipient_outcome out[] = {
            {.contact_id = x.id,
             .state = "deferred",
             .attempts = 1,
             .next_attempt_at = 300,
             .error = "452 4.2.2 ann@example.org: mailbox full"},
            {.contact_id = y.id,
             .state = i == 0 ? "failed" : "sent",
             .attempts = 1,
             .sent_at = 120,
             .error = i == 0 ? "550 5.1.1 bob@example.org: no such user" : NULL},
        };
        bool applied[2] = {false, false};
        assert_int_equal(ops->recipient_finish_many(c, a, campaigns[i], "W", out, 2, applied),
                         PB_QS_N);
        assert_true(applied[0] && applied[1]);
    }

    int64_t n = -1;
    assert_int_equal(ops->recipient_wipe_errors(c, b, x.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);
    assert_int_equal(ops->recipient_wipe_errors(c, a, x.id, &n), PB_QS_N);
    assert_int_equal(n, 2);
    struct pb_recipient got;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ops->recipient_get(c, a, campaigns[i], x.id, &got), PB_QS_ONE);
        assert_string_equal(got.error, "");
        /* The delivery itself stays as it was. */
        assert_string_equal(got.state, "deferred");
        assert_int_equal(got.attempts, 1);
    }
    assert_int_equal(ops->recipient_get(c, a, first, y.id, &got), PB_QS_ONE);
    assert_string_equal(got.error, "550 5.1.1 bob@example.org: no such user");

    n = -1;
    assert_int_equal(ops->recipient_wipe_errors(c, a, x.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);
    assert_int_equal(ops->recipient_wipe_errors(c, a, y.id, &n), PB_QS_ONE);
    assert_int_equal(n, 1);
    return PB_QS_ONE;
}

static void
recipient_wipe_errors_counts_the_contacts_replies(void **state)
{
    pb_storetest_tenants_write(*state, replies_body);
}

/* ---- personal parts of events ---- */

struct personal_seen {
    int events, with_personal, with_values;
};

static void
collect_personal(void *cls, const struct pb_consent_event *ev, const struct pb_consent_personal *p)
{
    struct personal_seen *s = cls;
    (void)ev;
    s->events++;
    if (p != NULL) {
        s->with_personal++;
        if (p->client_ip[0] || p->user_agent[0] || p->note[0])
            s->with_values++;
    }
}

static enum pb_qs
personal_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_contact x, y;
    insert_contact(ops, c, a, 1, &x);
    insert_contact(ops, c, a, 2, &y);

    struct pb_consent_personal full = {0}, note_only = {0}, empty = {0};
    pb_strlcpy(full.client_ip, "192.0.2.7", sizeof(full.client_ip));
    pb_strlcpy(full.user_agent, "Mozilla/5.0", sizeof(full.user_agent));
    pb_strlcpy(full.note, "asked by phone", sizeof(full.note));
    pb_strlcpy(note_only.note, "met at the fair", sizeof(note_only.note));
    /* x: two events with something personal, one with an empty part, one without any. */
    append_event(ops, c, a, 1, x.id, "", &full);
    append_event(ops, c, a, 2, x.id, "", &note_only);
    append_event(ops, c, a, 3, x.id, "", &empty);
    append_event(ops, c, a, 4, x.id, "", NULL);
    append_event(ops, c, a, 5, y.id, "", &full);

    int64_t n = -1;
    assert_int_equal(ops->event_wipe_personal_count(c, b, x.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);
    assert_int_equal(ops->event_wipe_personal_count(c, a, x.id, &n), PB_QS_N);
    assert_int_equal(n, 2);

    struct personal_seen s = {0};
    assert_int_equal(ops->event_list_for_contact(c, a, x.id, collect_personal, &s), PB_QS_N);
    assert_int_equal(s.events, 4);
    assert_int_equal(s.with_values, 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(ops->event_list_for_contact(c, a, y.id, collect_personal, &s), PB_QS_ONE);
    assert_int_equal(s.with_values, 1);

    n = -1;
    assert_int_equal(ops->event_wipe_personal_count(c, a, x.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);
    /* event_wipe_personal is as it was: it answers by the personal rows it matched. */
    assert_int_equal(ops->event_wipe_personal(c, a, x.id), PB_QS_N);
    assert_int_equal(ops->event_wipe_personal(c, a, y.id), PB_QS_ONE);
    memset(&s, 0, sizeof(s));
    assert_int_equal(ops->event_list_for_contact(c, a, y.id, collect_personal, &s), PB_QS_ONE);
    assert_int_equal(s.with_values, 0);
    assert_int_equal(ops->event_wipe_personal_count(c, a, y.id, &n), PB_QS_NONE);
    assert_int_equal(n, 0);
    return PB_QS_ONE;
}

static void
event_wipe_personal_count_counts_events_with_a_personal_part(void **state)
{
    pb_storetest_tenants_write(*state, personal_body);
}

/* ---- receipts ---- */

static void
make_erasure(struct pb_erasure *e, const char *account_id, const char *contact_id, int64_t at)
{
    memset(e, 0, sizeof(*e));
    pb_id_new(e->id);
    pb_strlcpy(e->account_id, account_id, sizeof(e->account_id));
    pb_strlcpy(e->contact_id, contact_id, sizeof(e->contact_id));
    snprintf(e->pseudonym, sizeof(e->pseudonym), "erased-%lld", (long long)at);
    pb_strlcpy(e->actor, "user:01ARZ3NDEKTSV4RRFFQ69G5FAV", sizeof(e->actor));
    pb_strlcpy(e->reason, "request", sizeof(e->reason));
    pb_strlcpy(e->wiped, "{\"address\":true,\"field_values\":3,\"evidence\":1}", sizeof(e->wiped));
    e->erased_at = at;
}

static void
collect_erasure(void *cls, const struct pb_erasure *e)
{
    pb_storetest_page_add(cls, e->id);
}

struct receipts_case {
    struct pb_storetest_tenants t;
    char erasures[5][PB_ID_LEN + 1];
    char contacts[5][PB_ID_LEN + 1];
    char b_erasure[PB_ID_LEN + 1];
    char unerased[PB_ID_LEN + 1];
};

static enum pb_qs
receipts_body(struct pb_tx *tx, void *cls)
{
    struct receipts_case *rc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = rc->t.a.id, *b = rc->t.b.id;
    for (int i = 0; i < 5; i++) {
        struct pb_contact ct;
        insert_contact(ops, c, a, (unsigned)i + 1, &ct);
        struct pb_erasure e;
        make_erasure(&e, a, ct.id, 7000 + i);
        if (i == 4)
            pb_strlcpy(e.reason, "storage_limitation", sizeof(e.reason));
        assert_int_equal(ops->erasure_insert(c, &e), PB_QS_ONE);
        memcpy(rc->erasures[i], e.id, sizeof(rc->erasures[i]));
        memcpy(rc->contacts[i], ct.id, sizeof(rc->contacts[i]));
    }
    struct pb_contact theirs, plain;
    insert_contact(ops, c, b, 50, &theirs);
    insert_contact(ops, c, a, 51, &plain);
    memcpy(rc->unerased, plain.id, sizeof(rc->unerased));
    struct pb_erasure e;
    make_erasure(&e, b, theirs.id, 7100);
    assert_int_equal(ops->erasure_insert(c, &e), PB_QS_ONE);
    memcpy(rc->b_erasure, e.id, sizeof(rc->b_erasure));
    /* A receipt for another account's contact: nothing written. */
    make_erasure(&e, a, theirs.id, 7200);
    assert_int_equal(ops->erasure_insert(c, &e), PB_QS_NONE);
    /* Nor for a contact that does not exist. */
    make_erasure(&e, a, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 7300);
    assert_int_equal(ops->erasure_insert(c, &e), PB_QS_NONE);
    return PB_QS_ONE;
}

static enum pb_qs
receipts_read_tx(struct pb_tx *tx, void *cls)
{
    struct receipts_case *rc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = rc->t.a.id, *b = rc->t.b.id;

    /* Newest first by id, by pages of two. */
    struct pb_storetest_page want = {0}, got = {0};
    for (int i = 0; i < 5; i++)
        pb_storetest_page_add(&want, rc->erasures[i]);
    pb_storetest_page_sort(&want, true);
    assert_int_equal(ops->erasure_list(c, a, "", 2, collect_erasure, &got), PB_QS_N);
    assert_int_equal(got.count, 2);
    assert_int_equal(ops->erasure_list(c, a, got.ids[1], 2, collect_erasure, &got), PB_QS_N);
    assert_int_equal(got.count, 4);
    assert_int_equal(ops->erasure_list(c, a, got.ids[3], 2, collect_erasure, &got), PB_QS_ONE);
    assert_int_equal(got.count, 5);
    assert_int_equal(ops->erasure_list(c, a, got.ids[4], 2, collect_erasure, &got), PB_QS_NONE);
    for (int i = 0; i < 5; i++)
        assert_string_equal(got.ids[i], want.ids[i]);

    /* b sees its own receipt only; a none of b's. */
    struct pb_storetest_page gb = {0};
    assert_int_equal(ops->erasure_list(c, b, "", 10, collect_erasure, &gb), PB_QS_ONE);
    assert_string_equal(gb.ids[0], rc->b_erasure);

    struct pb_erasure e;
    assert_int_equal(ops->erasure_get_for_contact(c, a, rc->contacts[4], &e), PB_QS_ONE);
    assert_string_equal(e.id, rc->erasures[4]);
    assert_string_equal(e.account_id, a);
    assert_string_equal(e.contact_id, rc->contacts[4]);
    assert_string_equal(e.pseudonym, "erased-7004");
    assert_string_equal(e.actor, "user:01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_string_equal(e.reason, "storage_limitation");
    assert_string_equal(e.wiped, "{\"address\":true,\"field_values\":3,\"evidence\":1}");
    assert_int_equal(e.erased_at, 7004);
    assert_int_equal(ops->erasure_get_for_contact(c, b, rc->contacts[4], &e), PB_QS_NONE);
    assert_int_equal(ops->erasure_get_for_contact(c, a, rc->unerased, &e), PB_QS_NONE);
    return PB_QS_ONE;
}

static enum pb_qs
receipt_bad_reason_tx(struct pb_tx *tx, void *cls)
{
    struct receipts_case *rc = cls;
    struct pb_erasure e;
    make_erasure(&e, rc->t.a.id, rc->unerased, 7400);
    pb_strlcpy(e.reason, "whim", sizeof(e.reason));
    return tx->ops->erasure_insert(tx->conn, &e);
}

static void
erasure_receipts_insert_list_get_by_account(void **state)
{
    struct pb_storetest *f = *state;
    static struct receipts_case rc;
    memset(&rc, 0, sizeof(rc));
    pb_storetest_tenants(f, &rc.t, 1);
    pb_storetest_write(f->store, receipts_body, &rc);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, receipts_read_tx, &rc), PB_ERR_OK);
    /* A reason the schema does not know is refused. */
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, receipt_bad_reason_tx, &rc),
                     PB_ERR_STORE_HARD);
}

/* ---- suppression ---- */

static enum pb_qs
suppression_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    unsigned char h[5][PB_HASH_BYTES];
    for (int i = 0; i < 4; i++)
        pb_storetest_fill(h[i], PB_HASH_BYTES, 300 + (unsigned)i);
    assert_int_equal(ops->suppression_put(c, a, h[0], "bounce", 100), PB_QS_ONE);
    assert_int_equal(ops->suppression_put(c, a, h[1], "erasure", 200), PB_QS_ONE);
    assert_int_equal(ops->suppression_put(c, b, h[2], "manual", 300), PB_QS_ONE);

    char reason[16] = "x";
    int64_t at = -1;
    assert_int_equal(ops->suppression_get(c, a, h[0], reason, &at), PB_QS_ONE);
    assert_string_equal(reason, "bounce");
    assert_int_equal(at, 100);
    assert_int_equal(ops->suppression_get(c, a, h[1], reason, &at), PB_QS_ONE);
    assert_string_equal(reason, "erasure");
    assert_int_equal(at, 200);
    assert_int_equal(ops->suppression_get(c, a, h[2], reason, &at), PB_QS_NONE);
    assert_string_equal(reason, "");
    assert_int_equal(at, 0);

    /* A batch with a hash given twice, one of another account and one nobody has. */
    memcpy(h[4], h[0], PB_HASH_BYTES);
    const unsigned char(*batch)[PB_HASH_BYTES] = (const unsigned char(*)[PB_HASH_BYTES])h;
    bool has[5];
    memset(has, 1, sizeof(has));
    assert_int_equal(ops->suppression_exists_many(c, a, batch, 5, has), PB_QS_N);
    assert_true(has[0]);
    assert_true(has[1]);
    assert_false(has[2]);
    assert_false(has[3]);
    assert_true(has[4]);
    memset(has, 1, sizeof(has));
    assert_int_equal(ops->suppression_exists_many(c, b, batch, 2, has), PB_QS_NONE);
    assert_false(has[0]);
    assert_false(has[1]);
    assert_int_equal(ops->suppression_exists_many(c, b, batch + 2, 1, has), PB_QS_ONE);
    assert_true(has[0]);
    assert_int_equal(ops->suppression_exists_many(c, a, batch, 0, has), PB_QS_NONE);

    /* Lifting: only the account's own, once. */
    assert_int_equal(ops->suppression_delete(c, b, h[1]), PB_QS_NONE);
    assert_int_equal(ops->suppression_delete(c, a, h[0]), PB_QS_ONE);
    assert_int_equal(ops->suppression_delete(c, a, h[0]), PB_QS_NONE);
    assert_int_equal(ops->suppression_exists(c, a, h[0]), PB_QS_NONE);
    assert_int_equal(ops->suppression_exists(c, a, h[1]), PB_QS_ONE);
    assert_int_equal(ops->suppression_get(c, a, h[0], reason, &at), PB_QS_NONE);
    memset(has, 1, sizeof(has));
    assert_int_equal(ops->suppression_exists_many(c, a, batch, 5, has), PB_QS_ONE);
    assert_false(has[0]);
    assert_true(has[1]);
    assert_false(has[4]);
    /* Put again after lifting: a new entry with its own reason. */
    assert_int_equal(ops->suppression_put(c, a, h[0], "complaint", 400), PB_QS_ONE);
    assert_int_equal(ops->suppression_get(c, a, h[0], reason, &at), PB_QS_ONE);
    assert_string_equal(reason, "complaint");
    assert_int_equal(at, 400);
    return PB_QS_ONE;
}

static void
suppression_get_exists_many_and_delete(void **state)
{
    pb_storetest_tenants_write(*state, suppression_body);
}

/* ---- accounts: storage limits and the sweep's claim ---- */

struct limits_case {
    struct pb_storetest_tenants t;
    struct pb_account given;
    struct pb_account got, got_b, got_given;
    struct pb_account listed[3];
    int listed_count;
    enum pb_qs qs[8];
    int bad_days;
};

static void
collect_account(void *cls, const struct pb_account *account)
{
    struct limits_case *lc = cls;
    assert_true(lc->listed_count < 3);
    lc->listed[lc->listed_count++] = *account;
}

static enum pb_qs
limits_write_tx(struct pb_tx *tx, void *cls)
{
    struct limits_case *lc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    /* Inserted with settings of its own: they round-trip. */
    assert_int_equal(ops->account_insert(c, &lc->given), PB_QS_ONE);
    lc->qs[0] = ops->account_set_storage_limits(c, lc->t.a.id, 30, 7);
    lc->qs[1] = ops->account_set_storage_limits(c, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 1, 1);
    /* The sweep: due when last checked at or before `due_before`. */
    lc->qs[2] = ops->account_claim_storage_sweep(c, lc->t.a.id, 1000, 500);
    lc->qs[3] = ops->account_claim_storage_sweep(c, lc->t.a.id, 1001, 500);
    lc->qs[4] = ops->account_claim_storage_sweep(c, lc->t.a.id, 2000, 999);
    lc->qs[5] = ops->account_claim_storage_sweep(c, lc->t.a.id, 2000, 1000);
    lc->qs[6] = ops->account_claim_storage_sweep(c, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 1, 1);
    return PB_QS_ONE;
}

static enum pb_qs
limits_read_tx(struct pb_tx *tx, void *cls)
{
    struct limits_case *lc = cls;
    const struct pb_store_ops *ops = tx->ops;
    lc->listed_count = 0;
    assert_int_equal(ops->account_get(tx->conn, lc->t.a.id, &lc->got), PB_QS_ONE);
    assert_int_equal(ops->account_get(tx->conn, lc->t.b.id, &lc->got_b), PB_QS_ONE);
    if (lc->given.id[0] != '\0')
        assert_int_equal(ops->account_get(tx->conn, lc->given.id, &lc->got_given), PB_QS_ONE);
    return ops->account_list(tx->conn, "", 3, collect_account, lc);
}

static enum pb_qs
limits_negative_tx(struct pb_tx *tx, void *cls)
{
    struct limits_case *lc = cls;
    return tx->ops->account_set_storage_limits(tx->conn, lc->t.a.id, lc->bad_days, 0);
}

static void
account_storage_limits_and_sweep_claim(void **state)
{
    struct pb_storetest *f = *state;
    static struct limits_case lc;
    memset(&lc, 0, sizeof(lc));
    pb_storetest_tenants(f, &lc.t, 1);

    /* A new account: everything off, never checked. */
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, limits_read_tx, &lc), PB_ERR_OK);
    assert_int_equal(lc.got.erase_unlisted_days, 0);
    assert_int_equal(lc.got.erase_unconfirmed_days, 0);
    assert_int_equal(lc.got.storage_checked_at, 0);

    pb_storetest_make_account(&lc.given, "with limits");
    lc.given.erase_unlisted_days = 365;
    lc.given.erase_unconfirmed_days = 14;
    lc.given.storage_checked_at = 123;
    pb_storetest_write(f->store, limits_write_tx, &lc);
    assert_int_equal(lc.qs[0], PB_QS_ONE);
    assert_int_equal(lc.qs[1], PB_QS_NONE);
    assert_int_equal(lc.qs[2], PB_QS_ONE);
    assert_int_equal(lc.qs[3], PB_QS_NONE); /* the same due time: another node got it */
    assert_int_equal(lc.qs[4], PB_QS_NONE); /* checked at 1000, not due before 999 */
    assert_int_equal(lc.qs[5], PB_QS_ONE);
    assert_int_equal(lc.qs[6], PB_QS_NONE);

    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, limits_read_tx, &lc), PB_ERR_OK);
    assert_int_equal(lc.got.erase_unlisted_days, 30);
    assert_int_equal(lc.got.erase_unconfirmed_days, 7);
    assert_int_equal(lc.got.storage_checked_at, 2000);
    assert_int_equal(lc.got_b.erase_unlisted_days, 0);
    assert_int_equal(lc.got_b.storage_checked_at, 0);
    assert_int_equal(lc.got_given.erase_unlisted_days, 365);
    assert_int_equal(lc.got_given.erase_unconfirmed_days, 14);
    assert_int_equal(lc.got_given.storage_checked_at, 123);
    /* The list reads them too. */
    assert_int_equal(lc.listed_count, 3);
    int seen = 0;
    for (int i = 0; i < lc.listed_count; i++) {
        const struct pb_account *acc = &lc.listed[i];
        if (strcmp(acc->id, lc.t.a.id) == 0) {
            assert_int_equal(acc->erase_unlisted_days, 30);
            assert_int_equal(acc->erase_unconfirmed_days, 7);
            assert_int_equal(acc->storage_checked_at, 2000);
            seen++;
        } else if (strcmp(acc->id, lc.given.id) == 0) {
            assert_int_equal(acc->erase_unconfirmed_days, 14);
            seen++;
        }
    }
    assert_int_equal(seen, 2);

    /* Negative days break the schema's CHECK. */
    lc.bad_days = -1;
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, limits_negative_tx, &lc),
                     PB_ERR_STORE_HARD);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, limits_read_tx, &lc), PB_ERR_OK);
    assert_int_equal(lc.got.erase_unlisted_days, 30);
}

/* ---- contacts past a storage limit ---- */

enum expiry_contact {
    OLD_NONE,        /* no membership, created long ago: unlisted */
    NEW_NONE,        /* no membership, created recently */
    UNSUB_OLD,       /* unsubscribed long ago: unlisted */
    UNSUB_RECENT,    /* created long ago, unsubscribed recently */
    UNSUB_MIXED,     /* one old unsubscribe, one recent */
    SUBSCRIBED,      /* subscribed long ago */
    UNCONF_OLD,      /* unconfirmed long ago: unconfirmed */
    UNCONF_NEW,      /* unconfirmed recently */
    UNCONF_MIXED,    /* one old, one recent unconfirmed */
    UNCONF_SUB,      /* unconfirmed long ago but subscribed elsewhere */
    UNCONF_UNSUB,    /* unconfirmed long ago, unsubscribed recently elsewhere: unconfirmed */
    ERASED,          /* erased, no membership, created long ago */
    EXPIRY_CONTACTS, /* how many */
};

struct expiry_case {
    struct pb_storetest_tenants t;
    char ids[EXPIRY_CONTACTS][PB_ID_LEN + 1];
    char lists[2][PB_ID_LEN + 1];
};

static enum pb_qs
expiry_setup_body(struct pb_tx *tx, void *cls)
{
    struct expiry_case *ec = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = ec->t.a.id, *b = ec->t.b.id;
    struct pb_list l1, l2;
    insert_list(ops, c, a, "one", &l1);
    insert_list(ops, c, a, "two", &l2);
    memcpy(ec->lists[0], l1.id, sizeof(ec->lists[0]));
    memcpy(ec->lists[1], l2.id, sizeof(ec->lists[1]));
    for (int i = 0; i < EXPIRY_CONTACTS; i++) {
        struct pb_contact ct;
        pb_storetest_make_contact(&ct, a, (unsigned)i + 1);
        ct.created_at = i == NEW_NONE ? 5000 : 100;
        if (i == ERASED) {
            pb_strlcpy(ct.status, "erased", sizeof(ct.status));
            pb_strlcpy(ct.pseudonym, "erased-1", sizeof(ct.pseudonym));
            ct.email_sealed_len = 0;
            ct.email_bidx_len = 0;
        }
        assert_int_equal(ops->contact_insert(c, &ct), PB_QS_ONE);
        memcpy(ec->ids[i], ct.id, sizeof(ec->ids[i]));
    }
    /* b's contact would be unlisted, but it is not a's. */
    struct pb_contact other;
    pb_storetest_make_contact(&other, b, 90);
    other.created_at = 100;
    assert_int_equal(ops->contact_insert(c, &other), PB_QS_ONE);

    static const struct {
        int contact, list;
        const char *status;
        int64_t since;
    } ms[] = {
        {UNSUB_OLD, 0, "unsubscribed", 200},     {UNSUB_RECENT, 0, "unsubscribed", 5000},
        {UNSUB_MIXED, 0, "unsubscribed", 200},   {UNSUB_MIXED, 1, "unsubscribed", 5000},
        {SUBSCRIBED, 0, "subscribed", 100},      {UNCONF_OLD, 0, "unconfirmed", 300},
        {UNCONF_NEW, 0, "unconfirmed", 5000},    {UNCONF_MIXED, 0, "unconfirmed", 300},
        {UNCONF_MIXED, 1, "unconfirmed", 5000},  {UNCONF_SUB, 0, "unconfirmed", 300},
        {UNCONF_SUB, 1, "subscribed", 100},      {UNCONF_UNSUB, 0, "unconfirmed", 300},
        {UNCONF_UNSUB, 1, "unsubscribed", 5000},
    };
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
        assert_int_equal(ops->membership_put(c, a, ec->lists[ms[i].list], ec->ids[ms[i].contact],
                                             ms[i].status, "", ms[i].since),
                         PB_QS_ONE);
    return PB_QS_ONE;
}

struct expiry_query {
    struct expiry_case *ec;
    int64_t unlisted_before, unconfirmed_before;
    const char *after_id;
    int limit;
    enum pb_qs qs;
    struct pb_storetest_page got;
    struct pb_list lists[2];
};

static void
collect_contact(void *cls, const struct pb_contact *ct)
{
    struct expiry_query *q = cls;
    assert_string_equal(ct->status, "active");
    assert_string_equal(ct->account_id, q->ec->t.a.id);
    pb_storetest_page_add(&q->got, ct->id);
}

static enum pb_qs
expiry_query_tx(struct pb_tx *tx, void *cls)
{
    struct expiry_query *q = cls;
    memset(&q->got, 0, sizeof(q->got));
    q->qs = tx->ops->contact_list_expired(tx->conn, q->ec->t.a.id, q->unlisted_before,
                                          q->unconfirmed_before, q->after_id, q->limit,
                                          collect_contact, q);
    for (int i = 0; i < 2; i++)
        assert_int_equal(tx->ops->list_get(tx->conn, q->ec->t.a.id, q->ec->lists[i], &q->lists[i]),
                         PB_QS_ONE);
    return q->qs < 0 ? q->qs : PB_QS_ONE;
}

/* Runs a query and checks it found exactly `want` (n of them), in id order. */
static void
expect_expired(struct pb_store *store, struct expiry_case *ec, int64_t unlisted_before,
               int64_t unconfirmed_before, const int *want, int n)
{
    static struct expiry_query q;
    memset(&q, 0, sizeof(q));
    q.ec = ec;
    q.unlisted_before = unlisted_before;
    q.unconfirmed_before = unconfirmed_before;
    q.after_id = "";
    q.limit = 100;
    assert_int_equal(pb_store_tx(store, PB_TX_READ, expiry_query_tx, &q), PB_ERR_OK);
    struct pb_storetest_page w = {0};
    for (int i = 0; i < n; i++)
        pb_storetest_page_add(&w, ec->ids[want[i]]);
    pb_storetest_page_sort(&w, false);
    assert_int_equal(q.got.count, n);
    assert_int_equal(q.qs, n == 0 ? PB_QS_NONE : n == 1 ? PB_QS_ONE : PB_QS_N);
    for (int i = 0; i < n; i++)
        assert_string_equal(q.got.ids[i], w.ids[i]);
}

static void
contact_list_expired_follows_each_rule(void **state)
{
    struct pb_storetest *f = *state;
    static struct expiry_case ec;
    memset(&ec, 0, sizeof(ec));
    pb_storetest_tenants(f, &ec.t, 1);
    pb_storetest_write(f->store, expiry_setup_body, &ec);

    /* "unconfirmed" is a status of its own: member_count counts the subscribed only. */
    static struct expiry_query q;
    memset(&q, 0, sizeof(q));
    q.ec = &ec;
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, expiry_query_tx, &q), PB_ERR_OK);
    assert_int_equal(q.qs, PB_QS_NONE); /* both rules off: nothing, not even asked */
    assert_int_equal(q.got.count, 0);
    assert_int_equal(q.lists[0].member_count, 1);
    assert_int_equal(q.lists[1].member_count, 1);

    const int unlisted[] = {OLD_NONE, UNSUB_OLD};
    expect_expired(f->store, &ec, 1000, 0, unlisted, 2);
    const int unconfirmed[] = {UNCONF_OLD, UNCONF_UNSUB};
    expect_expired(f->store, &ec, 0, 1000, unconfirmed, 2);
    const int both[] = {OLD_NONE, UNSUB_OLD, UNCONF_OLD, UNCONF_UNSUB};
    expect_expired(f->store, &ec, 1000, 1000, both, 4);
    /* The cut-offs are strict: a change at the cut-off is not older than it. */
    const int at_200[] = {OLD_NONE};
    expect_expired(f->store, &ec, 200, 0, at_200, 1);
    expect_expired(f->store, &ec, 0, 300, NULL, 0);
    /* Everything old enough: every active contact without a subscription. */
    const int late[] = {OLD_NONE,   NEW_NONE,   UNSUB_OLD,    UNSUB_RECENT, UNSUB_MIXED,
                        UNCONF_OLD, UNCONF_NEW, UNCONF_MIXED, UNCONF_UNSUB};
    expect_expired(f->store, &ec, 9000, 9000, late, 9);

    /* By pages of one, each given once. */
    struct pb_storetest_page all = {0};
    char after[PB_ID_LEN + 1] = "";
    for (int page = 0; page < 10; page++) {
        memset(&q, 0, sizeof(q));
        q.ec = &ec;
        q.unlisted_before = 1000;
        q.unconfirmed_before = 1000;
        q.after_id = after;
        q.limit = 1;
        assert_int_equal(pb_store_tx(f->store, PB_TX_READ, expiry_query_tx, &q), PB_ERR_OK);
        if (q.got.count == 0) {
            assert_int_equal(q.qs, PB_QS_NONE);
            break;
        }
        assert_int_equal(q.got.count, 1);
        assert_int_equal(q.qs, PB_QS_ONE);
        pb_storetest_page_add(&all, q.got.ids[0]);
        pb_strlcpy(after, q.got.ids[0], sizeof(after));
    }
    assert_int_equal(all.count, 4);
    struct pb_storetest_page w = {0};
    for (int i = 0; i < 4; i++)
        pb_storetest_page_add(&w, ec.ids[both[i]]);
    pb_storetest_page_sort(&w, false);
    for (int i = 0; i < 4; i++)
        assert_string_equal(all.ids[i], w.ids[i]);
}

/* ---- checkpoint ---- */

struct wipe_case {
    struct pb_storetest_tenants t;
    char contact[PB_ID_LEN + 1];
    int64_t n;
};

#define MARKER "zq-marker-4f1c9e-ann.example@example.org"

static enum pb_qs
marker_put_body(struct pb_tx *tx, void *cls)
{
    struct wipe_case *wc = cls;
    struct pb_contact ct;
    insert_contact(tx->ops, tx->conn, wc->t.a.id, 1, &ct);
    memcpy(wc->contact, ct.id, sizeof(wc->contact));
    struct pb_contact_value v = {0};
    pb_strlcpy(v.account_id, wc->t.a.id, sizeof(v.account_id));
    pb_strlcpy(v.contact_id, ct.id, sizeof(v.contact_id));
    pb_strlcpy(v.field_key, "note", sizeof(v.field_key));
    pb_strlcpy(v.value_text, MARKER, sizeof(v.value_text));
    assert_int_equal(tx->ops->value_put(tx->conn, &v), PB_QS_ONE);
    return PB_QS_ONE;
}

static enum pb_qs
marker_wipe_body(struct pb_tx *tx, void *cls)
{
    struct wipe_case *wc = cls;
    return tx->ops->value_delete_for_contact(tx->conn, wc->t.a.id, wc->contact, &wc->n);
}

/* Whether the file at `path` holds `needle`; false when there is no file. */
static bool
file_holds(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return false;
    size_t cap = 1 << 16, len = 0, want = strlen(needle);
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(fp);
    bool found = false;
    for (size_t i = 0; !found && i + want <= len; i++)
        found = memcmp(buf + i, needle, want) == 0;
    free(buf);
    return found;
}

static int64_t
file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static void
checkpoint_truncates_the_log_or_says_busy(void **state)
{
    struct pb_storetest *f = *state;
    static struct wipe_case wc;
    memset(&wc, 0, sizeof(wc));
    pb_storetest_tenants(f, &wc.t, 2);
    pb_storetest_write(f->store, marker_put_body, &wc);
    if (!pb_storetest_is_sqlite(f)) {
        /* Nothing to do on PostgreSQL, and it says so without an error. */
        assert_int_equal(pb_store_checkpoint(f->store), PB_ERR_OK);
        pb_storetest_write(f->store, marker_wipe_body, &wc);
        assert_int_equal(wc.n, 1);
        assert_int_equal(pb_store_checkpoint(f->store), PB_ERR_OK);
        return;
    }
    const char *path = f->url + strlen("sqlite:");
    char wal[PB_STORE_URL_MAX + 8];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    assert_true(file_holds(path, MARKER) || file_holds(wal, MARKER));

    /* Wiped, then checkpointed: the bytes are in neither file, and the log is empty. */
    pb_storetest_write(f->store, marker_wipe_body, &wc);
    assert_int_equal(wc.n, 1);
    assert_true(file_size(wal) > 0);
    assert_int_equal(pb_store_checkpoint(f->store), PB_ERR_OK);
    assert_int_equal(file_size(wal), 0);
    assert_false(file_holds(path, MARKER));
    assert_false(file_holds(wal, MARKER));

    /* A reader on an older snapshot keeps the log busy: a soft error, then it truncates. */
    sqlite3 *reader = NULL;
    assert_int_equal(sqlite3_open(path, &reader), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM accounts;", NULL, NULL, NULL), SQLITE_OK);
    struct pb_account more;
    pb_storetest_insert_account(f->store, &more, "written while read");
    assert_true(file_size(wal) > 0);
    assert_int_equal(pb_store_checkpoint(f->store), PB_ERR_STORE_SOFT);
    assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(reader);
    assert_int_equal(pb_store_checkpoint(f->store), PB_ERR_OK);
    assert_int_equal(file_size(wal), 0);
}

/* ---- migration 8 from a version-7 database ---- */

#define OLD_ACCOUNT   "01ARZ3NDEKTSV4RRFFQ69G5FA0"
#define OLD_LIST      "01ARZ3NDEKTSV4RRFFQ69G5FA1"
#define OLD_CONTACT_1 "01ARZ3NDEKTSV4RRFFQ69G5FA2"
#define OLD_CONTACT_2 "01ARZ3NDEKTSV4RRFFQ69G5FA3"
#define OLD_STATEMENT "01ARZ3NDEKTSV4RRFFQ69G5FA4"

static void
migrate_to_version(struct pb_storetest *f, int target)
{
    const struct pb_store_ops *ops = pb_store_backend(f->url);
    struct pb_conn *conn = NULL;
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(ops->connect(f->url, &conn, why), PB_ERR_OK);
    enum pb_err err = pb_storetest_is_sqlite(f)
                          ? pb_sqlite_migrate_to(conn, target, &from, &to, why)
                          : pb_pg_migrate_to(conn, target, &from, &to, why);
    if (err != PB_ERR_OK)
        fprintf(stderr, "migrate to %d: %s\n", target, why);
    assert_int_equal(err, PB_ERR_OK);
    assert_int_equal(to, target);
    ops->disconnect(conn);
}

struct old_memberships {
    struct pb_membership items[4];
    int count;
};

static void
collect_membership(void *cls, const struct pb_membership *m)
{
    struct old_memberships *om = cls;
    assert_true(om->count < 4);
    om->items[om->count++] = *m;
}

struct upgrade_case {
    struct old_memberships m1, m2;
    struct pb_account account;
    struct pb_list list;
    enum pb_qs put_qs, delete_qs;
};

static enum pb_qs
upgrade_body(struct pb_tx *tx, void *cls)
{
    struct upgrade_case *uc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    memset(&uc->m1, 0, sizeof(uc->m1));
    memset(&uc->m2, 0, sizeof(uc->m2));
    assert_true(ops->membership_list_for_contact(c, OLD_ACCOUNT, OLD_CONTACT_1, collect_membership,
                                                 &uc->m1) >= 0);
    assert_true(ops->membership_list_for_contact(c, OLD_ACCOUNT, OLD_CONTACT_2, collect_membership,
                                                 &uc->m2) >= 0);
    assert_int_equal(ops->account_get(c, OLD_ACCOUNT, &uc->account), PB_QS_ONE);
    /* The new status on the rebuilt table, counted as no member. */
    uc->put_qs =
        ops->membership_put(c, OLD_ACCOUNT, OLD_LIST, OLD_CONTACT_2, "unconfirmed", "", 900);
    assert_int_equal(ops->list_get(c, OLD_ACCOUNT, OLD_LIST, &uc->list), PB_QS_ONE);
    /* Its cascade survived the rebuild: the list goes with its memberships. */
    uc->delete_qs = ops->list_delete(c, OLD_ACCOUNT, OLD_LIST);
    return PB_QS_ONE;
}

static void
migrate_from_version_7_keeps_memberships(void **state)
{
    struct pb_storetest *f = *state;
    migrate_to_version(f, 7);
    pb_storetest_raw_exec(
        f->url,
        "INSERT INTO accounts (id, name, plan, created_at)"
        " VALUES ('" OLD_ACCOUNT "', 'from before', 'standard', 7);"
        "INSERT INTO lists (id, account_id, name, member_count, created_at)"
        " VALUES ('" OLD_LIST "', '" OLD_ACCOUNT "', 'old', 1, 8);"
        "INSERT INTO contacts (id, account_id, created_at, updated_at)"
        " VALUES ('" OLD_CONTACT_1 "', '" OLD_ACCOUNT "', 9, 9),"
        " ('" OLD_CONTACT_2 "', '" OLD_ACCOUNT "', 9, 9);"
        "INSERT INTO memberships (account_id, list_id, contact_id, status, statement_id, since)"
        " VALUES ('" OLD_ACCOUNT "', '" OLD_LIST "', '" OLD_CONTACT_1 "', 'subscribed',"
        " '" OLD_STATEMENT "', 10),"
        " ('" OLD_ACCOUNT "', '" OLD_LIST "', '" OLD_CONTACT_2 "', 'unsubscribed', NULL, 11);");
    pb_storetest_open(f, 1);
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, 7);
    assert_int_equal(to, PB_STORETEST_LATEST_VERSION);

    /* The rebuilt table's indexes are those it had, and the new ones. */
    if (pb_storetest_is_sqlite(f)) {
        assert_int_equal(
            pb_storetest_raw_count(f->url, "SELECT count(*) FROM sqlite_master WHERE type ="
                                           " 'index' AND tbl_name = 'memberships' AND name IN"
                                           " ('memberships_contact', 'memberships_statement')"),
            2);
        assert_int_equal(pb_storetest_raw_count(f->url, "SELECT count(*) FROM sqlite_master"
                                                        " WHERE name = 'memberships_v8'"),
                         0);
        assert_int_equal(
            pb_storetest_raw_count(f->url, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    } else {
        assert_int_equal(pb_storetest_raw_count(f->url,
                                                "SELECT count(*) FROM pg_indexes WHERE indexname"
                                                " IN ('memberships_contact',"
                                                " 'memberships_statement',"
                                                " 'consent_events_statement')"),
                         3);
    }

    static struct upgrade_case uc;
    memset(&uc, 0, sizeof(uc));
    pb_storetest_write(f->store, upgrade_body, &uc);
    assert_int_equal(uc.m1.count, 1);
    assert_string_equal(uc.m1.items[0].status, "subscribed");
    assert_string_equal(uc.m1.items[0].statement_id, OLD_STATEMENT);
    assert_int_equal(uc.m1.items[0].since, 10);
    assert_int_equal(uc.m2.count, 1);
    assert_string_equal(uc.m2.items[0].status, "unsubscribed");
    assert_string_equal(uc.m2.items[0].statement_id, "");
    assert_int_equal(uc.m2.items[0].since, 11);
    assert_int_equal(uc.account.erase_unlisted_days, 0);
    assert_int_equal(uc.account.erase_unconfirmed_days, 0);
    assert_int_equal(uc.account.storage_checked_at, 0);
    assert_int_equal(uc.put_qs, PB_QS_ONE);
    assert_int_equal(uc.list.member_count, 1);
    assert_int_equal(uc.delete_qs, PB_QS_ONE);
    assert_int_equal(pb_storetest_raw_count(f->url, "SELECT count(*) FROM memberships"), 0);
    /* A status outside the three is still refused by the schema. */
    if (pb_storetest_is_sqlite(f))
        assert_int_equal(pb_storetest_raw_count(f->url,
                                                "SELECT count(*) FROM sqlite_master WHERE name ="
                                                " 'memberships' AND sql LIKE '%unconfirmed%'"),
                         1);
    else
        assert_int_equal(pb_storetest_raw_count(f->url,
                                                "SELECT count(*) FROM pg_constraint WHERE conname ="
                                                " 'memberships_status_check' AND"
                                                " pg_get_constraintdef(oid) LIKE '%unconfirmed%'"),
                         1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, pb_storetest_setup, pb_storetest_teardown)

int
main(void)
{
    if (!pb_storetest_init("store erasure"))
        return 2;
    const struct CMUnitTest tests[] = {
        T(value_delete_for_contact_counts_and_spares_others),
        T(evidence_erase_takes_only_what_no_other_contact_uses),
        T(evidence_erase_takes_many_pieces),
        T(recipient_wipe_errors_counts_the_contacts_replies),
        T(event_wipe_personal_count_counts_events_with_a_personal_part),
        T(erasure_receipts_insert_list_get_by_account),
        T(suppression_get_exists_many_and_delete),
        T(account_storage_limits_and_sweep_claim),
        T(contact_list_expired_follows_each_rule),
        T(checkpoint_truncates_the_log_or_says_busy),
        T(migrate_from_version_7_keeps_memberships),
    };
    return cmocka_run_group_tests_name(pb_storetest_on_postgres() ? "store erasure (postgres)"
                                                                  : "store erasure (sqlite)",
                                       tests, NULL, NULL);
}
