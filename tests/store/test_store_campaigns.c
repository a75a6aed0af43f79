/*
 * The store contract of campaigns and sending (issue 6): relays, DKIM keys,
 * tracking, suppression, campaigns with their lists, links, recipients and
 * clicks. Backend-neutral like test_store_contract.c, on the same fixture
 * (tests/support/storetest.h): PB_TEST_STORE_URL picks "sqlite:PATH" or
 * "postgres://...".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/id.h"
#include "core/strutil.h"
#include "store/store.h"
#include "support/storetest.h"

/* ---- small helpers ---- */

static char html_body[] = "<p>Hello {{first_name}}, <a href=\"https://example.org/\">x</a></p>";
static char text_body[] = "Hello {{first_name}}";

/* A draft of `account_id` sent to `lists` (n of them). */
static void
make_campaign(struct pb_campaign *cp, const char *account_id, const char *name,
              const char *const *lists, int n)
{
    memset(cp, 0, sizeof(*cp));
    pb_id_new(cp->id);
    pb_strlcpy(cp->account_id, account_id, sizeof(cp->account_id));
    pb_strlcpy(cp->name, name, sizeof(cp->name));
    pb_strlcpy(cp->subject, "News for {{first_name}}", sizeof(cp->subject));
    pb_strlcpy(cp->from_addr, "Shop <news@shop.example>", sizeof(cp->from_addr));
    pb_strlcpy(cp->reply_to, "help@shop.example", sizeof(cp->reply_to));
    cp->html = html_body;
    cp->text = text_body;
    pb_strlcpy(cp->state, "draft", sizeof(cp->state));
    cp->rate_per_minute = 600;
    pb_strlcpy(cp->created_by, "user:01ARZ3NDEKTSV4RRFFQ69G5FAV", sizeof(cp->created_by));
    for (int i = 0; i < n; i++)
        pb_strlcpy(cp->list_ids[i], lists[i], sizeof(cp->list_ids[i]));
    cp->list_count = n;
    cp->created_at = cp->updated_at = 5000;
}

/* Inserts `n` contacts of `account_id` subscribed to `list`; their ids go to `ids`. */
static void
subscribed_contacts(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
                    const char *list, int n, unsigned seed, struct pb_contact *ct)
{
    for (int i = 0; i < n; i++) {
        pb_storetest_make_contact(&ct[i], account_id, seed + (unsigned)i);
        assert_int_equal(ops->contact_insert(c, &ct[i]), PB_QS_ONE);
        assert_int_equal(ops->membership_put(c, account_id, list, ct[i].id, "subscribed", "", 10),
                         PB_QS_ONE);
    }
}

/* Takes `lists` as a page, sorted. */
static void
sorted_lists(const struct pb_campaign *cp, struct pb_storetest_page *p)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < cp->list_count; i++)
        pb_storetest_page_add(p, cp->list_ids[i]);
    pb_storetest_page_sort(p, false);
}

static void
assert_same_lists(const struct pb_campaign *got, const char *const *want, int n)
{
    struct pb_storetest_page g, w = {0};
    assert_int_equal(got->list_count, n);
    sorted_lists(got, &g);
    for (int i = 0; i < n; i++)
        pb_storetest_page_add(&w, want[i]);
    pb_storetest_page_sort(&w, false);
    for (int i = 0; i < n; i++)
        assert_string_equal(g.ids[i], w.ids[i]);
}

/* ---- accounts: tracking ---- */

struct tracking_case {
    struct pb_storetest_tenants t;
    const char *set;
    enum pb_qs qs;
    struct pb_account got;
    int listed;
    char listed_tracking[2][12];
};

static void
collect_tracking(void *cls, const struct pb_account *account)
{
    struct tracking_case *tc = cls;
    assert_true(tc->listed < 2);
    int i = strcmp(account->id, tc->t.a.id) == 0 ? 0 : 1;
    pb_strlcpy(tc->listed_tracking[i], account->tracking, sizeof(tc->listed_tracking[i]));
    tc->listed++;
}

static enum pb_qs
tracking_set_tx(struct pb_tx *tx, void *cls)
{
    struct tracking_case *tc = cls;
    tc->qs = tx->ops->account_set_tracking(tx->conn, tc->t.a.id, tc->set);
    return tc->qs;
}

static enum pb_qs
tracking_read_tx(struct pb_tx *tx, void *cls)
{
    struct tracking_case *tc = cls;
    tc->listed = 0;
    assert_int_equal(tx->ops->account_get(tx->conn, tc->t.a.id, &tc->got), PB_QS_ONE);
    return tx->ops->account_list(tx->conn, "", 10, collect_tracking, tc);
}

static void
account_tracking_defaults_to_aggregate_and_is_set(void **state)
{
    struct pb_storetest *f = *state;
    static struct tracking_case tc;
    memset(&tc, 0, sizeof(tc));
    pb_storetest_tenants(f, &tc.t, 1);

    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, tracking_read_tx, &tc), PB_ERR_OK);
    assert_string_equal(tc.got.tracking, "aggregate");
    assert_int_equal(tc.listed, 2);
    assert_string_equal(tc.listed_tracking[0], "aggregate");

    tc.set = "individual";
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, tracking_set_tx, &tc), PB_ERR_OK);
    assert_int_equal(tc.qs, PB_QS_ONE);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, tracking_read_tx, &tc), PB_ERR_OK);
    assert_string_equal(tc.got.tracking, "individual");
    assert_string_equal(tc.listed_tracking[0], "individual");
    assert_string_equal(tc.listed_tracking[1], "aggregate"); /* b untouched */

    tc.set = "off";
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, tracking_set_tx, &tc), PB_ERR_OK);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, tracking_read_tx, &tc), PB_ERR_OK);
    assert_string_equal(tc.got.tracking, "off");

    /* A value the schema does not know is refused and changes nothing. */
    tc.set = "everything";
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, tracking_set_tx, &tc), PB_ERR_STORE_HARD);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, tracking_read_tx, &tc), PB_ERR_OK);
    assert_string_equal(tc.got.tracking, "off");
}

static enum pb_qs
tracking_unknown_tx(struct pb_tx *tx, void *cls)
{
    (void)cls;
    char id[PB_ID_LEN + 1];
    pb_id_new(id);
    assert_int_equal(tx->ops->account_set_tracking(tx->conn, id, "off"), PB_QS_NONE);
    return PB_QS_NONE;
}

static void
account_tracking_of_unknown_account_is_none(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    pb_storetest_write(f->store, tracking_unknown_tx, NULL);
}

/* ---- relays and DKIM keys ---- */

static enum pb_qs
relay_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    struct pb_smtp_relay r, got;

    assert_int_equal(ops->relay_get(c, t->a.id, &got), PB_QS_NONE);
    memset(&r, 0, sizeof(r));
    pb_strlcpy(r.account_id, t->a.id, sizeof(r.account_id));
    pb_strlcpy(r.host, "smtp.shop.example", sizeof(r.host));
    r.port = 587;
    pb_strlcpy(r.tls, "starttls", sizeof(r.tls));
    pb_strlcpy(r.username, "mailer", sizeof(r.username));
    pb_storetest_fill(r.password_sealed, 72, 3);
    r.password_sealed_len = 72;
    r.max_connections = 4;
    r.rate_per_second = 100;
    r.updated_at = 5000;
    assert_int_equal(ops->relay_put(c, &r), PB_QS_ONE);

    memset(&got, 0x55, sizeof(got));
    assert_int_equal(ops->relay_get(c, t->a.id, &got), PB_QS_ONE);
    assert_string_equal(got.account_id, t->a.id);
    assert_string_equal(got.host, "smtp.shop.example");
    assert_int_equal(got.port, 587);
    assert_string_equal(got.tls, "starttls");
    assert_string_equal(got.username, "mailer");
    assert_int_equal(got.password_sealed_len, 72);
    assert_memory_equal(got.password_sealed, r.password_sealed, 72);
    assert_int_equal(got.max_connections, 4);
    assert_int_equal(got.rate_per_second, 100);
    assert_int_equal(got.updated_at, 5000);
    assert_int_equal(ops->relay_get(c, t->b.id, &got), PB_QS_NONE);

    /* Put again: replaced, the optional parts gone. */
    pb_strlcpy(r.host, "relay2.shop.example", sizeof(r.host));
    r.port = 465;
    pb_strlcpy(r.tls, "smtps", sizeof(r.tls));
    r.username[0] = '\0';
    r.password_sealed_len = 0;
    r.max_connections = 32;
    r.rate_per_second = 0;
    r.updated_at = 6000;
    assert_int_equal(ops->relay_put(c, &r), PB_QS_ONE);
    memset(&got, 0x55, sizeof(got));
    assert_int_equal(ops->relay_get(c, t->a.id, &got), PB_QS_ONE);
    assert_string_equal(got.host, "relay2.shop.example");
    assert_int_equal(got.port, 465);
    assert_string_equal(got.tls, "smtps");
    assert_string_equal(got.username, "");
    assert_int_equal(got.password_sealed_len, 0);
    assert_int_equal(got.max_connections, 32);
    assert_int_equal(got.rate_per_second, 0);
    assert_int_equal(got.updated_at, 6000);

    /* b has its own. */
    struct pb_smtp_relay rb = r;
    pb_strlcpy(rb.account_id, t->b.id, sizeof(rb.account_id));
    pb_strlcpy(rb.host, "b.example", sizeof(rb.host));
    pb_strlcpy(rb.tls, "none", sizeof(rb.tls));
    assert_int_equal(ops->relay_put(c, &rb), PB_QS_ONE);
    assert_int_equal(ops->relay_get(c, t->b.id, &got), PB_QS_ONE);
    assert_string_equal(got.host, "b.example");
    assert_string_equal(got.tls, "none");
    assert_int_equal(ops->relay_get(c, t->a.id, &got), PB_QS_ONE);
    assert_string_equal(got.host, "relay2.shop.example");
    return PB_QS_ONE;
}

static void
relay_put_get_and_replace(void **state)
{
    pb_storetest_tenants_write(*state, relay_body);
}

struct dkims {
    struct pb_dkim_row rows[8];
    int count;
};

static void
collect_dkim(void *cls, const struct pb_dkim_row *key)
{
    struct dkims *d = cls;
    assert_true(d->count < 8);
    d->rows[d->count++] = *key;
}

static void
make_dkim(struct pb_dkim_row *k, const char *account_id, const char *domain, const char *selector,
          size_t sealed_len, unsigned seed)
{
    memset(k, 0, sizeof(*k));
    pb_strlcpy(k->account_id, account_id, sizeof(k->account_id));
    pb_strlcpy(k->domain, domain, sizeof(k->domain));
    pb_strlcpy(k->selector, selector, sizeof(k->selector));
    pb_strlcpy(k->algorithm, "rsa-sha256", sizeof(k->algorithm));
    pb_storetest_fill(k->private_sealed, sealed_len, seed);
    k->private_sealed_len = sealed_len;
    snprintf(k->public_key, sizeof(k->public_key), "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIB%u", seed);
    k->created_at = 7000 + seed;
}

static enum pb_qs
dkim_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    static struct dkims d;
    struct pb_dkim_row k;

    memset(&d, 0, sizeof(d));
    assert_int_equal(ops->dkim_list(c, a, collect_dkim, &d), PB_QS_NONE);
    make_dkim(&k, a, "b.example", "s2", 1700, 1);
    assert_int_equal(ops->dkim_put(c, &k), PB_QS_ONE);
    make_dkim(&k, a, "a.example", "s9", PB_DKIM_SEALED_MAX, 2); /* the largest there is */
    assert_int_equal(ops->dkim_put(c, &k), PB_QS_ONE);
    make_dkim(&k, a, "b.example", "s1", 100, 3);
    assert_int_equal(ops->dkim_put(c, &k), PB_QS_ONE);
    make_dkim(&k, b, "a.example", "s1", 100, 4);
    assert_int_equal(ops->dkim_put(c, &k), PB_QS_ONE);

    /* Domain, then selector order; only a's. */
    assert_int_equal(ops->dkim_list(c, a, collect_dkim, &d), PB_QS_N);
    assert_int_equal(d.count, 3);
    assert_string_equal(d.rows[0].domain, "a.example");
    assert_string_equal(d.rows[0].selector, "s9");
    assert_string_equal(d.rows[1].domain, "b.example");
    assert_string_equal(d.rows[1].selector, "s1");
    assert_string_equal(d.rows[2].domain, "b.example");
    assert_string_equal(d.rows[2].selector, "s2");
    unsigned char want[PB_DKIM_SEALED_MAX];
    pb_storetest_fill(want, PB_DKIM_SEALED_MAX, 2);
    assert_string_equal(d.rows[0].account_id, a);
    assert_string_equal(d.rows[0].algorithm, "rsa-sha256");
    assert_int_equal(d.rows[0].private_sealed_len, PB_DKIM_SEALED_MAX);
    assert_memory_equal(d.rows[0].private_sealed, want, PB_DKIM_SEALED_MAX);
    assert_string_equal(d.rows[0].public_key, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIB2");
    assert_int_equal(d.rows[0].created_at, 7002);

    /* Put of the same (account, domain, selector) replaces the key. */
    make_dkim(&k, a, "b.example", "s1", 64, 5);
    pb_strlcpy(k.algorithm, "ed25519-sha256", sizeof(k.algorithm));
    assert_int_equal(ops->dkim_put(c, &k), PB_QS_ONE);
    memset(&d, 0, sizeof(d));
    assert_int_equal(ops->dkim_list(c, a, collect_dkim, &d), PB_QS_N);
    assert_int_equal(d.count, 3);
    assert_string_equal(d.rows[1].selector, "s1");
    assert_string_equal(d.rows[1].algorithm, "ed25519-sha256");
    assert_int_equal(d.rows[1].private_sealed_len, 64);
    pb_storetest_fill(want, 64, 5);
    assert_memory_equal(d.rows[1].private_sealed, want, 64);
    assert_int_equal(d.rows[1].created_at, 7005);

    /* Delete: only the account's own key, once. */
    assert_int_equal(ops->dkim_delete(c, b, "b.example", "s1"), PB_QS_NONE);
    assert_int_equal(ops->dkim_delete(c, a, "b.example", "s1"), PB_QS_ONE);
    assert_int_equal(ops->dkim_delete(c, a, "b.example", "s1"), PB_QS_NONE);
    memset(&d, 0, sizeof(d));
    assert_int_equal(ops->dkim_list(c, a, collect_dkim, &d), PB_QS_N);
    assert_int_equal(d.count, 2);
    assert_string_equal(d.rows[0].selector, "s9");
    assert_string_equal(d.rows[1].selector, "s2");
    memset(&d, 0, sizeof(d));
    assert_int_equal(ops->dkim_list(c, b, collect_dkim, &d), PB_QS_ONE);
    assert_string_equal(d.rows[0].account_id, b);
    return PB_QS_ONE;
}

static void
dkim_put_list_in_order_and_delete(void **state)
{
    pb_storetest_tenants_write(*state, dkim_body);
}

/* ---- suppression ---- */

static void
keep_contact(void *cls, const struct pb_contact *contact)
{
    struct pb_contact *out = cls;
    if (strcmp(contact->id, out->id) == 0)
        *out = *contact;
}

static enum pb_qs
suppression_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;

    /* The contact's suppressed_at: 0 until set, then read by every contact read. */
    struct pb_contact ct, other, got;
    pb_storetest_make_contact(&ct, a, 1);
    pb_storetest_make_contact(&other, a, 2);
    assert_int_equal(ops->contact_insert(c, &ct), PB_QS_ONE);
    assert_int_equal(ops->contact_insert(c, &other), PB_QS_ONE);
    got.suppressed_at = -1;
    assert_int_equal(ops->contact_get(c, a, ct.id, &got), PB_QS_ONE);
    assert_int_equal(got.suppressed_at, 0);
    assert_int_equal(ops->contact_set_suppressed(c, b, ct.id, 7777), PB_QS_NONE);
    assert_int_equal(ops->contact_get(c, a, ct.id, &got), PB_QS_ONE);
    assert_int_equal(got.suppressed_at, 0);
    assert_int_equal(ops->contact_set_suppressed(c, a, ct.id, 7777), PB_QS_ONE);
    assert_int_equal(ops->contact_get(c, a, ct.id, &got), PB_QS_ONE);
    assert_int_equal(got.suppressed_at, 7777);
    assert_string_equal(got.status, "active");
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->contact_get_by_bidx(c, a, ct.email_bidx, ct.email_bidx_len, &got),
                     PB_QS_ONE);
    assert_int_equal(got.suppressed_at, 7777);
    memset(&got, 0, sizeof(got));
    pb_strlcpy(got.id, ct.id, sizeof(got.id));
    assert_int_equal(ops->contact_list(c, a, NULL, "", 10, keep_contact, &got), PB_QS_N);
    assert_int_equal(got.suppressed_at, 7777);
    memset(&got, 0, sizeof(got));
    pb_strlcpy(got.id, other.id, sizeof(got.id));
    got.suppressed_at = -1;
    assert_int_equal(ops->contact_list(c, a, NULL, "", 10, keep_contact, &got), PB_QS_N);
    assert_int_equal(got.suppressed_at, 0);
    char unknown[PB_ID_LEN + 1];
    pb_id_new(unknown);
    assert_int_equal(ops->contact_set_suppressed(c, a, unknown, 1), PB_QS_NONE);

    /* The list of suppressed address hashes, per account. */
    unsigned char h1[PB_HASH_BYTES], h2[PB_HASH_BYTES];
    pb_storetest_fill(h1, sizeof(h1), 11);
    pb_storetest_fill(h2, sizeof(h2), 12);
    assert_int_equal(ops->suppression_exists(c, a, h1), PB_QS_NONE);
    assert_int_equal(ops->suppression_put(c, a, h1, "bounce", 100), PB_QS_ONE);
    assert_int_equal(ops->suppression_exists(c, a, h1), PB_QS_ONE);
    assert_int_equal(ops->suppression_put(c, a, h1, "manual", 200), PB_QS_NONE);
    assert_int_equal(ops->suppression_exists(c, a, h2), PB_QS_NONE);
    assert_int_equal(ops->suppression_exists(c, b, h1), PB_QS_NONE);
    assert_int_equal(ops->suppression_put(c, b, h1, "complaint", 300), PB_QS_ONE);
    assert_int_equal(ops->suppression_exists(c, b, h1), PB_QS_ONE);
    assert_int_equal(ops->suppression_put(c, a, h2, "erasure", 400), PB_QS_ONE);
    assert_int_equal(ops->suppression_exists(c, a, h2), PB_QS_ONE);
    return PB_QS_ONE;
}

static void
suppression_put_exists_and_contact_suppressed_at(void **state)
{
    struct pb_storetest *f = *state;
    struct pb_storetest_tenants t;
    pb_storetest_tenants(f, &t, 1);
    pb_storetest_write(f->store, suppression_body, &t);
    /* The reason is kept as given the first time. */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM suppressions WHERE account_id = '%s' AND reason = 'bounce'"
             " AND created_at = 100",
             t.a.id);
    assert_int_equal(pb_storetest_raw_count(f->url, sql), 1);
}

/* ---- campaigns ---- */

struct campaigns {
    char ids[32][PB_ID_LEN + 1];
    char names[32][PB_LABEL_MAX + 1];
    int count;
};

static void
collect_campaign(void *cls, const struct pb_campaign *campaign)
{
    struct campaigns *p = cls;
    assert_true(p->count < 32);
    assert_null(campaign->html); /* lists carry no bodies */
    assert_null(campaign->text);
    pb_strlcpy(p->ids[p->count], campaign->id, sizeof(p->ids[0]));
    pb_strlcpy(p->names[p->count], campaign->name, sizeof(p->names[0]));
    p->count++;
}

static enum pb_qs
campaign_crud_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_list l1, l2, l3, lb;
    pb_storetest_make_list(&l1, a, "one");
    pb_storetest_make_list(&l2, a, "two");
    pb_storetest_make_list(&l3, a, "three");
    pb_storetest_make_list(&lb, b, "b's");
    assert_int_equal(ops->list_insert(c, &l1), PB_QS_ONE);
    assert_int_equal(ops->list_insert(c, &l2), PB_QS_ONE);
    assert_int_equal(ops->list_insert(c, &l3), PB_QS_ONE);
    assert_int_equal(ops->list_insert(c, &lb), PB_QS_ONE);

    /* Insert with two lists; get without and with bodies. */
    const char *lists12[] = {l1.id, l2.id};
    struct pb_campaign cp, got;
    make_campaign(&cp, a, "Spring sale", lists12, 2);
    assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);

    memset(&got, 0x55, sizeof(got));
    assert_int_equal(ops->campaign_get(c, a, cp.id, false, &got), PB_QS_ONE);
    assert_null(got.html);
    assert_null(got.text);
    assert_string_equal(got.id, cp.id);
    assert_string_equal(got.account_id, a);
    assert_string_equal(got.name, "Spring sale");
    assert_string_equal(got.subject, "News for {{first_name}}");
    assert_string_equal(got.from_addr, "Shop <news@shop.example>");
    assert_string_equal(got.reply_to, "help@shop.example");
    assert_string_equal(got.state, "draft");
    assert_int_equal(got.scheduled_at, 0);
    assert_false(got.prepared);
    assert_int_equal(got.rate_per_minute, 600);
    assert_string_equal(got.error, "");
    assert_string_equal(got.created_by, "user:01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_same_lists(&got, lists12, 2);
    assert_int_equal(got.counters.recipients, 0);
    assert_int_equal(got.counters.sent, 0);
    assert_int_equal(got.counters.reclaimed, 0);
    assert_int_equal(got.created_at, 5000);
    assert_int_equal(got.updated_at, 5000);
    assert_int_equal(got.started_at, 0);
    assert_int_equal(got.finished_at, 0);

    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_get(c, a, cp.id, true, &got), PB_QS_ONE);
    assert_non_null(got.html);
    assert_non_null(got.text);
    assert_string_equal(got.html, html_body);
    assert_string_equal(got.text, text_body);
    pb_campaign_bodies_free(&got);
    assert_null(got.html);

    /* Another account sees nothing. */
    assert_int_equal(ops->campaign_get(c, b, cp.id, true, &got), PB_QS_NONE);

    /* A list of another account (or none at all): NONE, nothing written. */
    const char *foreign[] = {l1.id, lb.id};
    struct pb_campaign bad;
    make_campaign(&bad, a, "bad", foreign, 2);
    assert_int_equal(ops->campaign_insert(c, &bad), PB_QS_NONE);
    assert_int_equal(ops->campaign_get(c, a, bad.id, false, &got), PB_QS_NONE);
    char unknown[PB_ID_LEN + 1];
    pb_id_new(unknown);
    const char *missing[] = {unknown};
    make_campaign(&bad, a, "bad", missing, 1);
    assert_int_equal(ops->campaign_insert(c, &bad), PB_QS_NONE);
    assert_int_equal(ops->campaign_get(c, a, bad.id, false, &got), PB_QS_NONE);

    /* No lists, no reply-to, an empty text, a large HTML body. */
    struct pb_campaign bare;
    make_campaign(&bare, a, "Bare", NULL, 0);
    bare.reply_to[0] = '\0';
    bare.text = "";
    size_t big_len = 200 * 1024;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + i % 26);
    big[big_len] = '\0';
    bare.html = big;
    assert_int_equal(ops->campaign_insert(c, &bare), PB_QS_ONE);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_get(c, a, bare.id, true, &got), PB_QS_ONE);
    assert_int_equal(got.list_count, 0);
    assert_string_equal(got.reply_to, "");
    assert_string_equal(got.text, "");
    assert_int_equal(strlen(got.html), big_len);
    assert_string_equal(got.html, big);
    pb_campaign_bodies_free(&got);
    free(big);

    /* Update: the writable fields and the lists are replaced; the rest stays. */
    const char *lists23[] = {l2.id, l3.id};
    struct pb_campaign up;
    make_campaign(&up, a, "Summer sale", lists23, 2);
    memcpy(up.id, cp.id, sizeof(up.id));
    pb_strlcpy(up.subject, "Hot", sizeof(up.subject));
    pb_strlcpy(up.from_addr, "news@shop.example", sizeof(up.from_addr));
    up.reply_to[0] = '\0';
    up.html = "<p>new</p>";
    up.text = "new";
    up.rate_per_minute = 0;
    up.updated_at = 5100;
    up.created_at = 1;                                       /* not written */
    pb_strlcpy(up.state, "sending", sizeof(up.state));       /* not written */
    pb_strlcpy(up.created_by, "cli", sizeof(up.created_by)); /* not written */
    assert_int_equal(ops->campaign_update(c, &up), PB_QS_ONE);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_get(c, a, cp.id, true, &got), PB_QS_ONE);
    assert_string_equal(got.name, "Summer sale");
    assert_string_equal(got.subject, "Hot");
    assert_string_equal(got.from_addr, "news@shop.example");
    assert_string_equal(got.reply_to, "");
    assert_string_equal(got.html, "<p>new</p>");
    assert_string_equal(got.text, "new");
    assert_int_equal(got.rate_per_minute, 0);
    assert_int_equal(got.updated_at, 5100);
    assert_int_equal(got.created_at, 5000);
    assert_string_equal(got.state, "draft");
    assert_string_equal(got.created_by, "user:01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_same_lists(&got, lists23, 2);
    pb_campaign_bodies_free(&got);

    /* Update with another account's list, of another account, of no campaign: NONE. */
    struct pb_campaign up2 = up;
    pb_strlcpy(up2.name, "Never", sizeof(up2.name));
    const char *with_b[] = {l1.id, lb.id};
    pb_strlcpy(up2.list_ids[0], with_b[0], sizeof(up2.list_ids[0]));
    pb_strlcpy(up2.list_ids[1], with_b[1], sizeof(up2.list_ids[1]));
    assert_int_equal(ops->campaign_update(c, &up2), PB_QS_NONE);
    up2 = up;
    pb_strlcpy(up2.name, "Never", sizeof(up2.name));
    pb_strlcpy(up2.account_id, b, sizeof(up2.account_id));
    up2.list_count = 0;
    assert_int_equal(ops->campaign_update(c, &up2), PB_QS_NONE);
    up2 = up;
    pb_strlcpy(up2.name, "Never", sizeof(up2.name));
    pb_id_new(up2.id);
    assert_int_equal(ops->campaign_update(c, &up2), PB_QS_NONE);
    assert_int_equal(ops->campaign_get(c, a, up2.id, false, &got), PB_QS_NONE);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_get(c, a, cp.id, false, &got), PB_QS_ONE);
    assert_string_equal(got.name, "Summer sale");
    assert_same_lists(&got, lists23, 2);

    /* Update to no lists at all. */
    up.list_count = 0;
    assert_int_equal(ops->campaign_update(c, &up), PB_QS_ONE);
    assert_int_equal(ops->campaign_get(c, a, cp.id, false, &got), PB_QS_ONE);
    assert_int_equal(got.list_count, 0);
    return PB_QS_ONE;
}

static void
campaign_insert_get_and_update(void **state)
{
    pb_storetest_tenants_write(*state, campaign_crud_body);
}

static enum pb_qs
campaign_list_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_storetest_page want = {0};
    struct campaigns got;

    for (int i = 0; i < 5; i++) {
        struct pb_campaign cp;
        char name[32];
        snprintf(name, sizeof(name), "c%d", i);
        make_campaign(&cp, a, name, NULL, 0);
        assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);
        pb_storetest_page_add(&want, cp.id);
    }
    struct pb_campaign other;
    make_campaign(&other, b, "b's", NULL, 0);
    assert_int_equal(ops->campaign_insert(c, &other), PB_QS_ONE);
    pb_storetest_page_sort(&want, false); /* newest first = the last of these first */

    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_list(c, a, "", 2, collect_campaign, &got), PB_QS_N);
    assert_int_equal(got.count, 2);
    assert_int_equal(ops->campaign_list(c, a, got.ids[1], 2, collect_campaign, &got), PB_QS_N);
    assert_int_equal(got.count, 4);
    assert_int_equal(ops->campaign_list(c, a, got.ids[3], 2, collect_campaign, &got), PB_QS_ONE);
    assert_int_equal(got.count, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(got.ids[i], want.ids[4 - i]);
    assert_int_equal(ops->campaign_list(c, a, got.ids[4], 2, collect_campaign, &got), PB_QS_NONE);
    assert_int_equal(got.count, 5);

    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_list(c, b, "", 10, collect_campaign, &got), PB_QS_ONE);
    assert_string_equal(got.ids[0], other.id);
    assert_string_equal(got.names[0], "b's");
    return PB_QS_ONE;
}

static void
campaign_list_newest_first_by_pages(void **state)
{
    pb_storetest_tenants_write(*state, campaign_list_body);
}

/* ---- transitions ---- */

static void
get_campaign(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
             const char *id, struct pb_campaign *out)
{
    memset(out, 0, sizeof(*out));
    assert_int_equal(ops->campaign_get(c, account_id, id, false, out), PB_QS_ONE);
}

static enum pb_qs
transition_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_campaign cp, got;
    make_campaign(&cp, a, "flow", NULL, 0);
    assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);
    const char *id = cp.id;

    /* Only from one of the states named. */
    assert_int_equal(
        ops->campaign_transition(c, a, id, "scheduled,paused", "sending", 90, -1, NULL),
        PB_QS_NONE);
    assert_int_equal(ops->campaign_transition(c, a, id, "draf", "scheduled", 90, 500, NULL),
                     PB_QS_NONE);
    assert_int_equal(ops->campaign_transition(c, b, id, "draft", "scheduled", 90, 500, NULL),
                     PB_QS_NONE);
    get_campaign(ops, c, a, id, &got);
    assert_string_equal(got.state, "draft");
    assert_int_equal(got.updated_at, 5000);
    assert_int_equal(got.scheduled_at, 0);

    /* draft -> scheduled: scheduled_at written; prepared cleared. */
    assert_int_equal(
        ops->campaign_transition(c, a, id, "draft,paused", "scheduled", 100, 500, NULL), PB_QS_ONE);
    get_campaign(ops, c, a, id, &got);
    assert_string_equal(got.state, "scheduled");
    assert_int_equal(got.scheduled_at, 500);
    assert_int_equal(got.updated_at, 100);
    assert_false(got.prepared);
    assert_int_equal(got.started_at, 0);
    assert_int_equal(got.finished_at, 0);

    assert_int_equal(ops->campaign_set_prepared(c, b, id), PB_QS_NONE);
    assert_int_equal(ops->campaign_set_prepared(c, a, id), PB_QS_ONE);
    get_campaign(ops, c, a, id, &got);
    assert_true(got.prepared);

    /* Rescheduled: prepared cleared again. */
    assert_int_equal(
        ops->campaign_transition(c, a, id, "draft,scheduled", "scheduled", 110, 600, NULL),
        PB_QS_ONE);
    get_campaign(ops, c, a, id, &got);
    assert_false(got.prepared);
    assert_int_equal(got.scheduled_at, 600);
    assert_int_equal(ops->campaign_set_prepared(c, a, id), PB_QS_ONE);

    /* scheduled -> sending: started_at; scheduled_at and prepared kept (-1, not "scheduled"). */
    assert_int_equal(ops->campaign_transition(c, a, id, "scheduled", "sending", 120, -1, NULL),
                     PB_QS_ONE);
    get_campaign(ops, c, a, id, &got);
    assert_string_equal(got.state, "sending");
    assert_int_equal(got.started_at, 120);
    assert_int_equal(got.scheduled_at, 600);
    assert_true(got.prepared);
    assert_int_equal(got.updated_at, 120);

    /* sending -> paused with an error; paused -> sending clears it, started_at kept. */
    assert_int_equal(ops->campaign_transition(c, a, id, "sending", "paused", 130, -1, "relay down"),
                     PB_QS_ONE);
    get_campaign(ops, c, a, id, &got);
    assert_string_equal(got.state, "paused");
    assert_string_equal(got.error, "relay down");
    assert_int_equal(got.finished_at, 0);
    assert_int_equal(ops->campaign_transition(c, a, id, "paused", "sending", 140, -1, NULL),
                     PB_QS_ONE);
    get_campaign(ops, c, a, id, &got);
    assert_string_equal(got.error, "relay down"); /* NULL leaves it */
    assert_int_equal(ops->campaign_transition(c, a, id, "sending", "paused", 145, -1, ""),
                     PB_QS_ONE);
    assert_int_equal(ops->campaign_transition(c, a, id, "paused", "sending", 150, 0, ""),
                     PB_QS_ONE);
    get_campaign(ops, c, a, id, &got);
    assert_string_equal(got.error, "");
    assert_int_equal(got.started_at, 120);
    assert_int_equal(got.scheduled_at, 0); /* 0 is written: it is >= 0 */
    assert_true(got.prepared);

    /* sending -> sent: finished_at. */
    assert_int_equal(ops->campaign_transition(c, a, id, "sending", "sent", 160, -1, NULL),
                     PB_QS_ONE);
    get_campaign(ops, c, a, id, &got);
    assert_string_equal(got.state, "sent");
    assert_int_equal(got.finished_at, 160);
    assert_int_equal(got.started_at, 120);
    assert_int_equal(got.updated_at, 160);
    assert_int_equal(ops->campaign_transition(c, a, id, "sending", "sent", 170, -1, NULL),
                     PB_QS_NONE);
    get_campaign(ops, c, a, id, &got);
    assert_int_equal(got.finished_at, 160);

    /* cancelled and failed finish too; a direct draft -> sending starts. */
    struct pb_campaign c2, c3;
    make_campaign(&c2, a, "cancelled", NULL, 0);
    make_campaign(&c3, a, "failed", NULL, 0);
    assert_int_equal(ops->campaign_insert(c, &c2), PB_QS_ONE);
    assert_int_equal(ops->campaign_insert(c, &c3), PB_QS_ONE);
    assert_int_equal(ops->campaign_transition(c, a, c2.id, "draft", "cancelled", 200, -1, NULL),
                     PB_QS_ONE);
    get_campaign(ops, c, a, c2.id, &got);
    assert_string_equal(got.state, "cancelled");
    assert_int_equal(got.finished_at, 200);
    assert_int_equal(got.started_at, 0);
    assert_int_equal(ops->campaign_transition(c, a, c3.id, "draft", "sending", 210, -1, NULL),
                     PB_QS_ONE);
    assert_int_equal(
        ops->campaign_transition(c, a, c3.id, "sending", "failed", 220, -1, "no relay configured"),
        PB_QS_ONE);
    get_campaign(ops, c, a, c3.id, &got);
    assert_string_equal(got.state, "failed");
    assert_int_equal(got.started_at, 210);
    assert_int_equal(got.finished_at, 220);
    assert_string_equal(got.error, "no relay configured");

    /* An unknown campaign. */
    char unknown[PB_ID_LEN + 1];
    pb_id_new(unknown);
    assert_int_equal(ops->campaign_transition(c, a, unknown, "draft", "sending", 1, -1, NULL),
                     PB_QS_NONE);
    assert_int_equal(ops->campaign_set_prepared(c, a, unknown), PB_QS_NONE);
    return PB_QS_ONE;
}

static void
campaign_transitions_follow_their_rules(void **state)
{
    pb_storetest_tenants_write(*state, transition_body);
}

static enum pb_qs
due_sending_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct campaigns got;

    /* Due: scheduled, at or before now, any account, oldest schedule first. */
    struct pb_campaign s300, s200, s900, sb250, gone;
    make_campaign(&s300, a, "s300", NULL, 0);
    make_campaign(&s200, a, "s200", NULL, 0);
    make_campaign(&s900, a, "s900", NULL, 0);
    make_campaign(&sb250, b, "sb250", NULL, 0);
    make_campaign(&gone, a, "gone", NULL, 0);
    struct {
        struct pb_campaign *cp;
        int64_t at;
    } sched[] = {{&s300, 300}, {&s200, 200}, {&s900, 900}, {&sb250, 250}, {&gone, 100}};
    for (size_t i = 0; i < sizeof(sched) / sizeof(sched[0]); i++) {
        struct pb_campaign *cp = sched[i].cp;
        assert_int_equal(ops->campaign_insert(c, cp), PB_QS_ONE);
        assert_int_equal(ops->campaign_transition(c, cp->account_id, cp->id, "draft", "scheduled",
                                                  10, sched[i].at, NULL),
                         PB_QS_ONE);
    }
    /* Scheduled at 100 but sending now: not due. */
    assert_int_equal(ops->campaign_transition(c, a, gone.id, "scheduled", "sending", 20, -1, NULL),
                     PB_QS_ONE);

    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_due(c, 300, 10, collect_campaign, &got), PB_QS_N);
    assert_int_equal(got.count, 3);
    assert_string_equal(got.ids[0], s200.id);
    assert_string_equal(got.ids[1], sb250.id);
    assert_string_equal(got.ids[2], s300.id);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_due(c, 300, 1, collect_campaign, &got), PB_QS_ONE);
    assert_string_equal(got.ids[0], s200.id);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_due(c, 199, 10, collect_campaign, &got), PB_QS_NONE);
    assert_int_equal(got.count, 0);

    /* Sending: "sending", prepared or not, any account, id order after after_id. */
    struct pb_campaign p1, p2, p3, pb;
    make_campaign(&p1, a, "p1", NULL, 0);
    make_campaign(&p2, a, "p2 not prepared", NULL, 0);
    make_campaign(&p3, a, "p3 paused", NULL, 0);
    make_campaign(&pb, b, "pb", NULL, 0);
    struct pb_campaign *all[] = {&p1, &p2, &p3, &pb};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ops->campaign_insert(c, all[i]), PB_QS_ONE);
        assert_int_equal(ops->campaign_transition(c, all[i]->account_id, all[i]->id, "draft",
                                                  "sending", 30, -1, NULL),
                         PB_QS_ONE);
        if (all[i] != &p2)
            assert_int_equal(ops->campaign_set_prepared(c, all[i]->account_id, all[i]->id),
                             PB_QS_ONE);
    }
    assert_int_equal(ops->campaign_transition(c, a, p3.id, "sending", "paused", 40, -1, NULL),
                     PB_QS_ONE);
    struct pb_storetest_page want = {0};
    pb_storetest_page_add(&want, gone.id); /* sending since the section above */
    pb_storetest_page_add(&want, p1.id);
    pb_storetest_page_add(&want, p2.id);
    pb_storetest_page_add(&want, pb.id);
    pb_storetest_page_sort(&want, false);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_sending(c, "", 10, collect_campaign, &got), PB_QS_N);
    assert_int_equal(got.count, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(got.ids[i], want.ids[i]);
    /* One at a time, each page after the last id of the one before. */
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->campaign_sending(c, "", 1, collect_campaign, &got), PB_QS_ONE);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(ops->campaign_sending(c, got.ids[i - 1], 1, collect_campaign, &got),
                         PB_QS_ONE);
        assert_string_equal(got.ids[i], want.ids[i]);
    }
    assert_int_equal(ops->campaign_sending(c, got.ids[3], 1, collect_campaign, &got), PB_QS_NONE);
    return PB_QS_ONE;
}

static void
campaign_due_and_sending_across_accounts(void **state)
{
    pb_storetest_tenants_write(*state, due_sending_body);
}

static enum pb_qs
counters_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_campaign cp, got;
    make_campaign(&cp, a, "count", NULL, 0);
    assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);

    struct pb_campaign_counters d = {
        .recipients = 1000,
        .sent = 2,
        .deferred = 3,
        .failed = 4,
        .bounced = 5,
        .opens_unique = 6,
        .opens_total = 7,
        .clicks_unique = 8,
        .clicks_total = 9,
        .unsubscribes = 10,
        .reclaimed = 11,
    };
    assert_int_equal(ops->campaign_counters_add(c, a, cp.id, &d), PB_QS_ONE);
    d.recipients = 0;
    d.sent = 100;
    assert_int_equal(ops->campaign_counters_add(c, a, cp.id, &d), PB_QS_ONE);
    assert_int_equal(ops->campaign_counters_add(c, b, cp.id, &d), PB_QS_NONE);
    get_campaign(ops, c, a, cp.id, &got);
    assert_int_equal(got.counters.recipients, 1000);
    assert_int_equal(got.counters.sent, 102);
    assert_int_equal(got.counters.deferred, 6);
    assert_int_equal(got.counters.failed, 8);
    assert_int_equal(got.counters.bounced, 10);
    assert_int_equal(got.counters.opens_unique, 12);
    assert_int_equal(got.counters.opens_total, 14);
    assert_int_equal(got.counters.clicks_unique, 16);
    assert_int_equal(got.counters.clicks_total, 18);
    assert_int_equal(got.counters.unsubscribes, 20);
    assert_int_equal(got.counters.reclaimed, 22);

    /* A negative delta takes away. */
    struct pb_campaign_counters neg = {.sent = -2};
    assert_int_equal(ops->campaign_counters_add(c, a, cp.id, &neg), PB_QS_ONE);
    get_campaign(ops, c, a, cp.id, &got);
    assert_int_equal(got.counters.sent, 100);
    return PB_QS_ONE;
}

static void
campaign_counters_add_up(void **state)
{
    pb_storetest_tenants_write(*state, counters_body);
}

/* ---- links ---- */

struct links {
    struct pb_campaign_link items[8];
    int count;
};

static void
collect_link(void *cls, const struct pb_campaign_link *link)
{
    struct links *l = cls;
    assert_true(l->count < 8);
    l->items[l->count++] = *link;
}

static enum pb_qs
links_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    static struct links l;
    struct pb_campaign_link got;
    struct pb_campaign cp;
    make_campaign(&cp, a, "links", NULL, 0);
    assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);

    static char longest[PB_URL_MAX + 1];
    memcpy(longest, "https://x.example/", 18);
    for (size_t i = 18; i < PB_URL_MAX; i++)
        longest[i] = (char)('a' + i % 26);
    longest[PB_URL_MAX] = '\0';
    const char *urls[] = {"https://a.example/1", longest, "https://c.example/3?x=1&y=2"};

    memset(&l, 0, sizeof(l));
    assert_int_equal(ops->link_list(c, a, cp.id, collect_link, &l), PB_QS_NONE);
    assert_int_equal(ops->link_replace(c, a, cp.id, urls, 3), PB_QS_N);
    assert_int_equal(ops->link_list(c, a, cp.id, collect_link, &l), PB_QS_N);
    assert_int_equal(l.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(l.items[i].n, i);
        assert_string_equal(l.items[i].url, urls[i]);
        assert_int_equal(l.items[i].clicks_unique, 0);
        assert_int_equal(l.items[i].clicks_total, 0);
    }
    assert_int_equal(ops->link_get(c, a, cp.id, 1, &got), PB_QS_ONE);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.url, longest);
    assert_int_equal(ops->link_get(c, a, cp.id, 3, &got), PB_QS_NONE);
    assert_int_equal(ops->link_get(c, b, cp.id, 1, &got), PB_QS_NONE);
    memset(&l, 0, sizeof(l));
    assert_int_equal(ops->link_list(c, b, cp.id, collect_link, &l), PB_QS_NONE);

    /* Counters. */
    assert_int_equal(ops->link_counters_add(c, a, cp.id, 2, 1, 3), PB_QS_ONE);
    assert_int_equal(ops->link_counters_add(c, a, cp.id, 2, 1, 1), PB_QS_ONE);
    assert_int_equal(ops->link_counters_add(c, b, cp.id, 2, 1, 1), PB_QS_NONE);
    assert_int_equal(ops->link_counters_add(c, a, cp.id, 7, 1, 1), PB_QS_NONE);
    assert_int_equal(ops->link_get(c, a, cp.id, 2, &got), PB_QS_ONE);
    assert_int_equal(got.clicks_unique, 2);
    assert_int_equal(got.clicks_total, 4);
    assert_int_equal(ops->link_get(c, a, cp.id, 0, &got), PB_QS_ONE);
    assert_int_equal(got.clicks_total, 0);

    /* Replacing by another account does nothing; by the owner replaces all, counters 0. */
    const char *urls2[] = {"https://new.example/"};
    assert_int_equal(ops->link_replace(c, b, cp.id, urls2, 1), PB_QS_NONE);
    memset(&l, 0, sizeof(l));
    assert_int_equal(ops->link_list(c, a, cp.id, collect_link, &l), PB_QS_N);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.items[2].clicks_total, 4);
    const char *urls3[] = {"https://c.example/3?x=1&y=2", "https://new.example/"};
    assert_int_equal(ops->link_replace(c, a, cp.id, urls3, 2), PB_QS_N);
    memset(&l, 0, sizeof(l));
    assert_int_equal(ops->link_list(c, a, cp.id, collect_link, &l), PB_QS_N);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0].url, urls3[0]);
    assert_int_equal(l.items[0].clicks_total, 0);
    assert_int_equal(l.items[0].clicks_unique, 0);
    assert_string_equal(l.items[1].url, urls3[1]);
    assert_int_equal(ops->link_get(c, a, cp.id, 2, &got), PB_QS_NONE);
    assert_int_equal(ops->link_replace(c, a, cp.id, urls2, 1), PB_QS_ONE);
    assert_int_equal(ops->link_replace(c, a, cp.id, NULL, 0), PB_QS_NONE);
    memset(&l, 0, sizeof(l));
    assert_int_equal(ops->link_list(c, a, cp.id, collect_link, &l), PB_QS_NONE);

    /* A campaign that is not there. */
    char unknown[PB_ID_LEN + 1];
    pb_id_new(unknown);
    assert_int_equal(ops->link_replace(c, a, unknown, urls2, 1), PB_QS_NONE);
    return PB_QS_ONE;
}

static void
links_replace_list_get_and_count(void **state)
{
    pb_storetest_tenants_write(*state, links_body);
}

/* ---- recipients: snapshot ---- */

struct snapshot_case {
    struct pb_storetest_tenants t;
    struct pb_storetest_page subscribed; /* sorted: what the snapshot scans */
    bool eligible[32];                   /* by position in `subscribed` */
    struct pb_contact ct[8];
    char campaign[PB_ID_LEN + 1], campaign_b[PB_ID_LEN + 1];
    char list1[PB_ID_LEN + 1], contact_b[PB_ID_LEN + 1];
};

static enum pb_qs
snapshot_setup_body(struct pb_tx *tx, void *cls)
{
    struct snapshot_case *sc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = sc->t.a.id, *b = sc->t.b.id;
    struct pb_contact *ct = sc->ct;

    struct pb_list l1, l2, l3, lb;
    pb_storetest_make_list(&l1, a, "one");
    pb_storetest_make_list(&l2, a, "two");
    pb_storetest_make_list(&l3, a, "not in the campaign");
    pb_storetest_make_list(&lb, b, "b's");
    assert_int_equal(ops->list_insert(c, &l1), PB_QS_ONE);
    assert_int_equal(ops->list_insert(c, &l2), PB_QS_ONE);
    assert_int_equal(ops->list_insert(c, &l3), PB_QS_ONE);
    assert_int_equal(ops->list_insert(c, &lb), PB_QS_ONE);
    for (int i = 0; i < 7; i++) {
        pb_storetest_make_contact(&ct[i], a, 100 + (unsigned)i);
        assert_int_equal(ops->contact_insert(c, &ct[i]), PB_QS_ONE);
    }
    /* 0: in both lists; 1: in one; 2: unsubscribed; 3: erased; 4: suppressed; 5: another list; 6.
     */
    assert_int_equal(ops->membership_put(c, a, l1.id, ct[0].id, "subscribed", "", 1), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l2.id, ct[0].id, "subscribed", "", 1), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l1.id, ct[1].id, "subscribed", "", 1), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l2.id, ct[2].id, "unsubscribed", "", 1), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l1.id, ct[3].id, "subscribed", "", 1), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l2.id, ct[4].id, "subscribed", "", 1), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l3.id, ct[5].id, "subscribed", "", 1), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l2.id, ct[6].id, "subscribed", "", 1), PB_QS_ONE);
    struct pb_contact er = ct[3];
    er.email_sealed_len = 0;
    er.email_bidx_len = 0;
    pb_strlcpy(er.status, "erased", sizeof(er.status));
    pb_strlcpy(er.pseudonym, "erased-1", sizeof(er.pseudonym));
    assert_int_equal(ops->contact_update(c, &er), PB_QS_ONE);
    assert_int_equal(ops->contact_set_suppressed(c, a, ct[4].id, 50), PB_QS_ONE);

    /* b's contacts on b's list, and b's campaign. */
    struct pb_contact bct[2];
    subscribed_contacts(ops, c, b, lb.id, 2, 200, bct);

    const char *lists[] = {l1.id, l2.id};
    struct pb_campaign cp, cb;
    make_campaign(&cp, a, "snap", lists, 2);
    assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);
    const char *blists[] = {lb.id};
    make_campaign(&cb, b, "snap b", blists, 1);
    assert_int_equal(ops->campaign_insert(c, &cb), PB_QS_ONE);
    memcpy(sc->campaign, cp.id, sizeof(sc->campaign));
    memcpy(sc->campaign_b, cb.id, sizeof(sc->campaign_b));
    memcpy(sc->list1, l1.id, sizeof(sc->list1));
    memcpy(sc->contact_b, bct[0].id, sizeof(sc->contact_b));

    memset(&sc->subscribed, 0, sizeof(sc->subscribed));
    const int subscribed[] = {0, 1, 3, 4, 6};
    for (int i = 0; i < 5; i++)
        pb_storetest_page_add(&sc->subscribed, ct[subscribed[i]].id);
    pb_storetest_page_sort(&sc->subscribed, false);
    for (int i = 0; i < 5; i++)
        sc->eligible[i] = strcmp(sc->subscribed.ids[i], ct[3].id) != 0 &&
                          strcmp(sc->subscribed.ids[i], ct[4].id) != 0;
    return PB_QS_ONE;
}

static enum pb_qs
snapshot_check_body(struct pb_tx *tx, void *cls)
{
    struct snapshot_case *sc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = sc->t.a.id, *b = sc->t.b.id;
    char last[PB_ID_LEN + 1];
    int64_t added;

    /* Pages of 2 subscribed contacts; `last` is the last scanned, "" at the end. */
    char after[PB_ID_LEN + 1] = "";
    int64_t total = 0;
    for (int page = 0; page < 3; page++) {
        int first = page * 2, n = page < 2 ? 2 : 1;
        int64_t want = 0;
        for (int i = first; i < first + n; i++)
            want += sc->eligible[i];
        added = -1;
        assert_true(ops->recipient_snapshot(c, a, sc->campaign, after, 2, last, &added) >= 0);
        assert_string_equal(last, sc->subscribed.ids[first + n - 1]);
        assert_int_equal(added, want);
        total += added;
        memcpy(after, last, sizeof(after));
    }
    added = -1;
    assert_true(ops->recipient_snapshot(c, a, sc->campaign, after, 2, last, &added) >= 0);
    assert_string_equal(last, "");
    assert_int_equal(added, 0);
    assert_int_equal(total, 3);

    /* Once more from the start: everything scanned, nothing added. */
    added = -1;
    assert_true(ops->recipient_snapshot(c, a, sc->campaign, "", 100, last, &added) >= 0);
    assert_string_equal(last, sc->subscribed.ids[4]);
    assert_int_equal(added, 0);

    /* Who got a row: one each for 0 (two lists), 1 and 6; nobody else. */
    struct pb_recipient r;
    const bool has[7] = {true, true, false, false, false, false, true};
    for (int i = 0; i < 7; i++) {
        memset(&r, 0x55, sizeof(r));
        enum pb_qs qs = ops->recipient_get(c, a, sc->campaign, sc->ct[i].id, &r);
        assert_int_equal(qs, has[i] ? PB_QS_ONE : PB_QS_NONE);
        if (!has[i])
            continue;
        assert_string_equal(r.account_id, a);
        assert_string_equal(r.campaign_id, sc->campaign);
        assert_string_equal(r.contact_id, sc->ct[i].id);
        assert_string_equal(r.state, "queued");
        assert_int_equal(r.attempts, 0);
        assert_int_equal(r.next_attempt_at, 0);
        assert_string_equal(r.lease_owner, "");
        assert_int_equal(r.lease_until, 0);
        assert_string_equal(r.error, "");
        assert_int_equal(r.sent_at, 0);
        assert_int_equal(r.opens, 0);
        assert_int_equal(r.first_open_at, 0);
        assert_int_equal(r.clicks, 0);
        assert_int_equal(r.unsubscribed_at, 0);
        assert_false(r.reclaimed);
    }
    assert_int_equal(ops->recipient_get(c, b, sc->campaign, sc->ct[0].id, &r), PB_QS_NONE);
    assert_int_equal(ops->recipient_get(c, a, sc->campaign, sc->contact_b, &r), PB_QS_NONE);
    assert_int_equal(ops->recipient_get(c, b, sc->campaign, sc->contact_b, &r), PB_QS_NONE);
    int64_t pending = -1;
    assert_true(ops->recipient_pending(c, a, sc->campaign, &pending) >= 0);
    assert_int_equal(pending, 3);

    /* Another account's campaign scans nothing for a; b's own snapshot takes b's two. */
    added = -1;
    assert_true(ops->recipient_snapshot(c, a, sc->campaign_b, "", 100, last, &added) >= 0);
    assert_string_equal(last, "");
    assert_int_equal(added, 0);
    added = -1;
    assert_true(ops->recipient_snapshot(c, b, sc->campaign, "", 100, last, &added) >= 0);
    assert_string_equal(last, "");
    assert_int_equal(added, 0);
    added = -1;
    assert_true(ops->recipient_snapshot(c, b, sc->campaign_b, "", 100, last, &added) >= 0);
    assert_int_equal(added, 2);
    pending = -1;
    assert_true(ops->recipient_pending(c, b, sc->campaign_b, &pending) >= 0);
    assert_int_equal(pending, 2);
    pending = -1;
    assert_true(ops->recipient_pending(c, a, sc->campaign, &pending) >= 0);
    assert_int_equal(pending, 3);
    return PB_QS_ONE;
}

static void
snapshot_takes_each_subscribed_contact_once(void **state)
{
    struct pb_storetest *f = *state;
    static struct snapshot_case sc;
    memset(&sc, 0, sizeof(sc));
    pb_storetest_tenants(f, &sc.t, 1);
    pb_storetest_write(f->store, snapshot_setup_body, &sc);
    /*
     * A membership the operations never write: b's contact on a's list (a
     * broken row). The snapshot of a's campaign must not take b's contact.
     */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO memberships (account_id, list_id, contact_id, status, since)"
             " VALUES ('%s', '%s', '%s', 'subscribed', 1)",
             sc.t.b.id, sc.list1, sc.contact_b);
    pb_storetest_raw_exec(f->url, sql);
    pb_storetest_write(f->store, snapshot_check_body, &sc);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM campaign_recipients WHERE campaign_id = '%s'",
             sc.campaign);
    assert_int_equal(pb_storetest_raw_count(f->url, sql), 3);
}

/* ---- recipients: claim, finish, counts ---- */

struct recipients {
    struct pb_recipient items[16];
    int count;
};

static void
collect_recipient(void *cls, const struct pb_recipient *r)
{
    struct recipients *rs = cls;
    assert_true(rs->count < 16);
    rs->items[rs->count++] = *r;
}

/* A campaign of account a with `n` queued recipients; their sorted ids in `ids`. */
static void
campaign_with_recipients(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
                         int n, unsigned seed, char campaign[PB_ID_LEN + 1],
                         struct pb_storetest_page *ids)
{
    struct pb_list l;
    pb_storetest_make_list(&l, account_id, "everyone");
    assert_int_equal(ops->list_insert(c, &l), PB_QS_ONE);
    struct pb_contact ct[16];
    assert_true(n <= 16);
    subscribed_contacts(ops, c, account_id, l.id, n, seed, ct);
    const char *lists[] = {l.id};
    struct pb_campaign cp;
    make_campaign(&cp, account_id, "send", lists, 1);
    assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);
    char last[PB_ID_LEN + 1];
    int64_t added = -1;
    assert_true(ops->recipient_snapshot(c, account_id, cp.id, "", 100, last, &added) >= 0);
    assert_int_equal(added, n);
    memcpy(campaign, cp.id, PB_ID_LEN + 1);
    memset(ids, 0, sizeof(*ids));
    for (int i = 0; i < n; i++)
        pb_storetest_page_add(ids, ct[i].id);
    pb_storetest_page_sort(ids, false);
}

static void
assert_claimed(const struct recipients *rs, const struct pb_storetest_page *ids, int first, int n,
               const char *owner, int64_t lease_until, bool reclaimed)
{
    assert_int_equal(rs->count, n);
    for (int i = 0; i < n; i++) {
        const struct pb_recipient *r = &rs->items[i];
        assert_string_equal(r->contact_id, ids->ids[first + i]);
        assert_string_equal(r->state, "sending");
        assert_string_equal(r->lease_owner, owner);
        assert_int_equal(r->lease_until, lease_until);
        assert_int_equal(r->reclaimed, reclaimed);
    }
}

static enum pb_qs
claim_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    char cid[PB_ID_LEN + 1];
    struct pb_storetest_page ids;
    static struct recipients rs;
    campaign_with_recipients(ops, c, a, 6, 300, cid, &ids);

    /* Claims in contact id order, at most `limit`; a valid lease is never taken. */
    memset(&rs, 0, sizeof(rs));
    assert_int_equal(ops->recipient_claim(c, a, cid, 100, "A", 160, 2, collect_recipient, &rs),
                     PB_QS_N);
    assert_claimed(&rs, &ids, 0, 2, "A", 160, false);
    memset(&rs, 0, sizeof(rs));
    assert_int_equal(ops->recipient_claim(c, b, cid, 100, "X", 160, 10, collect_recipient, &rs),
                     PB_QS_NONE);
    assert_int_equal(rs.count, 0);
    assert_int_equal(ops->recipient_claim(c, a, cid, 100, "B", 160, 10, collect_recipient, &rs),
                     PB_QS_N);
    assert_claimed(&rs, &ids, 2, 4, "B", 160, false);
    memset(&rs, 0, sizeof(rs));
    assert_int_equal(ops->recipient_claim(c, a, cid, 159, "C", 170, 10, collect_recipient, &rs),
                     PB_QS_NONE);
    assert_int_equal(rs.count, 0);
    struct pb_recipient got;
    assert_int_equal(ops->recipient_get(c, a, cid, ids.ids[0], &got), PB_QS_ONE);
    assert_string_equal(got.state, "sending");
    assert_string_equal(got.lease_owner, "A");
    assert_int_equal(got.lease_until, 160);
    int64_t count = -1;
    assert_true(ops->recipient_pending(c, a, cid, &count) >= 0);
    assert_int_equal(count, 6);

    /* A's outcomes: sent and deferred. */
    struct pb_recipient_outcome oa[] = {
        {.contact_id = ids.ids[0], .state = "sent", .attempts = 1, .sent_at = 110},
        {.contact_id = ids.ids[1],
         .state = "deferred",
         .attempts = 1,
         .next_attempt_at = 300,
         .error = "451 4.7.1 try again later"},
    };
    bool applied[4] = {false, false, false, false};
    assert_int_equal(ops->recipient_finish_many(c, a, cid, "A", oa, 2, applied), PB_QS_N);
    assert_true(applied[0]);
    assert_true(applied[1]);

    /* Not the owner: nothing applied, nothing changed. */
    struct pb_recipient_outcome oc[] = {
        {.contact_id = ids.ids[2], .state = "sent", .attempts = 1, .sent_at = 111},
    };
    applied[0] = true;
    assert_int_equal(ops->recipient_finish_many(c, a, cid, "C", oc, 1, applied), PB_QS_NONE);
    assert_false(applied[0]);
    applied[0] = true;
    assert_int_equal(ops->recipient_finish_many(c, b, cid, "B", oc, 1, applied), PB_QS_NONE);
    assert_false(applied[0]);
    assert_int_equal(ops->recipient_get(c, a, cid, ids.ids[2], &got), PB_QS_ONE);
    assert_string_equal(got.state, "sending");
    assert_string_equal(got.lease_owner, "B");

    /* B's outcomes, with one of A's rows (already finished) among them. */
    struct pb_recipient_outcome ob[] = {
        {.contact_id = ids.ids[2], .state = "failed", .attempts = 1, .error = "550 5.1.1 no"},
        {.contact_id = ids.ids[0], .state = "failed", .attempts = 9, .error = "late"},
        {.contact_id = ids.ids[3], .state = "sent", .attempts = 2, .sent_at = 120},
    };
    memset(applied, 0, sizeof(applied));
    assert_int_equal(ops->recipient_finish_many(c, a, cid, "B", ob, 3, applied), PB_QS_N);
    assert_true(applied[0]);
    assert_false(applied[1]);
    assert_true(applied[2]);

    memset(&got, 0x55, sizeof(got));
    assert_int_equal(ops->recipient_get(c, a, cid, ids.ids[0], &got), PB_QS_ONE);
    assert_string_equal(got.state, "sent");
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.sent_at, 110);
    assert_string_equal(got.lease_owner, "");
    assert_int_equal(got.lease_until, 0);
    assert_string_equal(got.error, "");
    memset(&got, 0x55, sizeof(got));
    assert_int_equal(ops->recipient_get(c, a, cid, ids.ids[1], &got), PB_QS_ONE);
    assert_string_equal(got.state, "deferred");
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.next_attempt_at, 300);
    assert_string_equal(got.error, "451 4.7.1 try again later");
    assert_string_equal(got.lease_owner, "");
    assert_int_equal(got.lease_until, 0);
    assert_int_equal(got.sent_at, 0);
    assert_int_equal(ops->recipient_get(c, a, cid, ids.ids[2], &got), PB_QS_ONE);
    assert_string_equal(got.state, "failed");
    assert_string_equal(got.error, "550 5.1.1 no");
    assert_string_equal(got.lease_owner, "");
    assert_int_equal(ops->recipient_get(c, a, cid, ids.ids[3], &got), PB_QS_ONE);
    assert_string_equal(got.state, "sent");
    assert_int_equal(got.attempts, 2);
    assert_int_equal(got.sent_at, 120);

    /*
     * Pending: 1 deferred, 4 and 5 sending. Sent since: by sent_at, and 4 and
     * 5 in flight under B's lease (until 160) count in any window it reaches.
     */
    count = -1;
    assert_true(ops->recipient_pending(c, a, cid, &count) >= 0);
    assert_int_equal(count, 3);
    count = -1;
    assert_true(ops->recipient_pending(c, b, cid, &count) >= 0);
    assert_int_equal(count, 0);
    count = -1;
    assert_true(ops->recipient_sent_since(c, a, cid, 110, &count) >= 0);
    assert_int_equal(count, 2 + 2);
    assert_true(ops->recipient_sent_since(c, a, cid, 111, &count) >= 0);
    assert_int_equal(count, 1 + 2);
    assert_true(ops->recipient_sent_since(c, a, cid, 121, &count) >= 0);
    assert_int_equal(count, 0 + 2);
    assert_true(ops->recipient_sent_since(c, a, cid, 160, &count) >= 0);
    assert_int_equal(count, 0);
    count = -1;
    assert_true(ops->recipient_sent_since(c, b, cid, 0, &count) >= 0);
    assert_int_equal(count, 0);

    /* At 200 B's lease ran out: 4 and 5 are reclaimed; 1 is not due before 300. */
    memset(&rs, 0, sizeof(rs));
    assert_int_equal(ops->recipient_claim(c, a, cid, 200, "C", 400, 10, collect_recipient, &rs),
                     PB_QS_N);
    assert_claimed(&rs, &ids, 4, 2, "C", 400, true);
    /* B lost them: its outcome is not applied. */
    struct pb_recipient_outcome late[] = {
        {.contact_id = ids.ids[4], .state = "sent", .attempts = 1, .sent_at = 201},
    };
    applied[0] = true;
    assert_int_equal(ops->recipient_finish_many(c, a, cid, "B", late, 1, applied), PB_QS_NONE);
    assert_false(applied[0]);

    /* At 300 the deferred one is due: claimed, not a reclaim. */
    memset(&rs, 0, sizeof(rs));
    assert_int_equal(ops->recipient_claim(c, a, cid, 299, "D", 360, 10, collect_recipient, &rs),
                     PB_QS_NONE);
    assert_int_equal(ops->recipient_claim(c, a, cid, 300, "D", 360, 10, collect_recipient, &rs),
                     PB_QS_ONE);
    assert_claimed(&rs, &ids, 1, 1, "D", 360, false);
    assert_int_equal(rs.items[0].attempts, 1);

    /* C finishes both; D gives up. */
    struct pb_recipient_outcome oc2[] = {
        {.contact_id = ids.ids[4], .state = "sent", .attempts = 1, .sent_at = 210},
        {.contact_id = ids.ids[5], .state = "sent", .attempts = 1, .sent_at = 211},
    };
    assert_int_equal(ops->recipient_finish_many(c, a, cid, "C", oc2, 2, applied), PB_QS_N);
    assert_true(applied[0] && applied[1]);
    struct pb_recipient_outcome od[] = {
        {.contact_id = ids.ids[1], .state = "failed", .attempts = 2, .error = "gave up"},
    };
    assert_int_equal(ops->recipient_finish_many(c, a, cid, "D", od, 1, applied), PB_QS_ONE);
    assert_true(applied[0]);
    assert_true(ops->recipient_pending(c, a, cid, &count) >= 0);
    assert_int_equal(count, 0);
    assert_true(ops->recipient_sent_since(c, a, cid, 0, &count) >= 0);
    assert_int_equal(count, 4);
    memset(&rs, 0, sizeof(rs));
    assert_int_equal(ops->recipient_claim(c, a, cid, 10000, "E", 10060, 10, collect_recipient, &rs),
                     PB_QS_NONE);
    assert_int_equal(ops->recipient_finish_many(c, a, cid, "D", NULL, 0, NULL), PB_QS_NONE);
    return PB_QS_ONE;
}

static void
recipients_claim_finish_and_count(void **state)
{
    pb_storetest_tenants_write(*state, claim_body);
}

/* ---- recipients: opens, clicks, unsubscribes, history ---- */

struct received {
    char campaign_ids[8][PB_ID_LEN + 1];
    char names[8][PB_LABEL_MAX + 1];
    struct pb_recipient last;
    int count;
};

static void
collect_received(void *cls, const struct pb_recipient *r, const char *campaign_name)
{
    struct received *rv = cls;
    assert_true(rv->count < 8);
    pb_strlcpy(rv->campaign_ids[rv->count], r->campaign_id, sizeof(rv->campaign_ids[0]));
    pb_strlcpy(rv->names[rv->count], campaign_name, sizeof(rv->names[0]));
    rv->last = *r;
    rv->count++;
}

struct events_case {
    struct pb_storetest_tenants t;
    char campaign[PB_ID_LEN + 1];
    char contact[PB_ID_LEN + 1];
    char outsider[PB_ID_LEN + 1];
};

static enum pb_qs
events_body(struct pb_tx *tx, void *cls)
{
    struct events_case *ec = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = ec->t.a.id, *b = ec->t.b.id;
    struct pb_storetest_page ids;
    campaign_with_recipients(ops, c, a, 2, 400, ec->campaign, &ids);
    const char *cid = ec->campaign, *ct = ids.ids[0];
    memcpy(ec->contact, ct, sizeof(ec->contact));
    const char *urls[] = {"https://a.example/", "https://b.example/"};
    assert_int_equal(ops->link_replace(c, a, cid, urls, 2), PB_QS_N);

    /* A contact of a that is not a recipient. */
    struct pb_contact out;
    pb_storetest_make_contact(&out, a, 499);
    assert_int_equal(ops->contact_insert(c, &out), PB_QS_ONE);
    memcpy(ec->outsider, out.id, sizeof(ec->outsider));

    /* Opens. */
    bool first = false, first_any = false;
    assert_int_equal(ops->recipient_open(c, a, cid, ct, 1000, &first), PB_QS_ONE);
    assert_true(first);
    assert_int_equal(ops->recipient_open(c, a, cid, ct, 1010, &first), PB_QS_ONE);
    assert_false(first);
    assert_int_equal(ops->recipient_open(c, b, cid, ct, 1020, &first), PB_QS_NONE);
    assert_int_equal(ops->recipient_open(c, a, cid, out.id, 1020, &first), PB_QS_NONE);
    struct pb_recipient got;
    assert_int_equal(ops->recipient_get(c, a, cid, ct, &got), PB_QS_ONE);
    assert_int_equal(got.opens, 2);
    assert_int_equal(got.first_open_at, 1000);

    /* Clicks: first on a link, first at all. */
    bool first_link = false;
    assert_int_equal(ops->recipient_click(c, a, cid, ct, 0, 1100, &first_link, &first_any),
                     PB_QS_ONE);
    assert_true(first_link);
    assert_true(first_any);
    assert_int_equal(ops->recipient_click(c, a, cid, ct, 0, 1110, &first_link, &first_any),
                     PB_QS_ONE);
    assert_false(first_link);
    assert_false(first_any);
    assert_int_equal(ops->recipient_click(c, a, cid, ct, 1, 1120, &first_link, &first_any),
                     PB_QS_ONE);
    assert_true(first_link);
    assert_false(first_any);
    assert_int_equal(ops->recipient_click(c, a, cid, ids.ids[1], 1, 1130, &first_link, &first_any),
                     PB_QS_ONE);
    assert_true(first_link);
    assert_true(first_any);
    /* No recipient row: NONE, nothing written. */
    assert_int_equal(ops->recipient_click(c, a, cid, out.id, 0, 1140, &first_link, &first_any),
                     PB_QS_NONE);
    assert_int_equal(ops->recipient_click(c, b, cid, ct, 0, 1140, &first_link, &first_any),
                     PB_QS_NONE);
    assert_int_equal(ops->recipient_get(c, a, cid, ct, &got), PB_QS_ONE);
    assert_int_equal(got.clicks, 3);
    assert_int_equal(got.opens, 2);

    /* Unsubscribes: the first one counts. */
    assert_int_equal(ops->recipient_unsubscribed(c, a, cid, ct, 1200, &first), PB_QS_ONE);
    assert_true(first);
    assert_int_equal(ops->recipient_unsubscribed(c, a, cid, ct, 1300, &first), PB_QS_ONE);
    assert_false(first);
    assert_int_equal(ops->recipient_unsubscribed(c, b, cid, ct, 1300, &first), PB_QS_NONE);
    assert_int_equal(ops->recipient_unsubscribed(c, a, cid, out.id, 1300, &first), PB_QS_NONE);
    assert_int_equal(ops->recipient_get(c, a, cid, ct, &got), PB_QS_ONE);
    assert_int_equal(got.unsubscribed_at, 1200);

    /* The campaigns a contact received, newest campaign first, with their names. */
    struct pb_list l;
    pb_storetest_make_list(&l, a, "just one");
    assert_int_equal(ops->list_insert(c, &l), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, l.id, ct, "subscribed", "", 1), PB_QS_ONE);
    const char *lists[] = {l.id};
    struct pb_campaign later;
    make_campaign(&later, a, "Later one", lists, 1);
    while (strcmp(later.id, cid) <= 0) /* newer than the first (ids of one millisecond) */
        pb_id_new(later.id);
    assert_int_equal(ops->campaign_insert(c, &later), PB_QS_ONE);
    char last[PB_ID_LEN + 1];
    int64_t added = -1;
    assert_true(ops->recipient_snapshot(c, a, later.id, "", 10, last, &added) >= 0);
    assert_int_equal(added, 1);

    static struct received rv;
    memset(&rv, 0, sizeof(rv));
    assert_int_equal(ops->recipient_list_for_contact(c, a, ct, collect_received, &rv), PB_QS_N);
    assert_int_equal(rv.count, 2);
    assert_string_equal(rv.campaign_ids[0], later.id);
    assert_string_equal(rv.names[0], "Later one");
    assert_string_equal(rv.campaign_ids[1], cid);
    assert_string_equal(rv.names[1], "send");
    assert_string_equal(rv.last.contact_id, ct);
    assert_int_equal(rv.last.opens, 2);
    assert_int_equal(rv.last.clicks, 3);
    assert_int_equal(rv.last.unsubscribed_at, 1200);
    memset(&rv, 0, sizeof(rv));
    assert_int_equal(ops->recipient_list_for_contact(c, a, ids.ids[1], collect_received, &rv),
                     PB_QS_ONE);
    assert_string_equal(rv.names[0], "send");
    memset(&rv, 0, sizeof(rv));
    assert_int_equal(ops->recipient_list_for_contact(c, b, ct, collect_received, &rv), PB_QS_NONE);
    assert_int_equal(ops->recipient_list_for_contact(c, a, out.id, collect_received, &rv),
                     PB_QS_NONE);
    assert_int_equal(rv.count, 0);
    return PB_QS_ONE;
}

static void
recipients_open_click_unsubscribe_and_history(void **state)
{
    struct pb_storetest *f = *state;
    static struct events_case ec;
    memset(&ec, 0, sizeof(ec));
    pb_storetest_tenants(f, &ec.t, 1);
    pb_storetest_write(f->store, events_body, &ec);
    /* One click row per (recipient, link), with its count and first time. */
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM campaign_clicks WHERE campaign_id = '%s'",
             ec.campaign);
    assert_int_equal(pb_storetest_raw_count(f->url, sql), 3);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM campaign_clicks WHERE campaign_id = '%s' AND contact_id = '%s'"
             " AND n = 0 AND clicks = 2 AND first_at = 1100 AND account_id = '%s'",
             ec.campaign, ec.contact, ec.t.a.id);
    assert_int_equal(pb_storetest_raw_count(f->url, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM campaign_clicks WHERE contact_id = '%s'",
             ec.outsider);
    assert_int_equal(pb_storetest_raw_count(f->url, sql), 0);
}

/* ---- delete ---- */

struct delete_case {
    struct pb_storetest_tenants t;
    char doomed[PB_ID_LEN + 1], kept[PB_ID_LEN + 1];
    char contact[PB_ID_LEN + 1];
};

static enum pb_qs
delete_setup_body(struct pb_tx *tx, void *cls)
{
    struct delete_case *dc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = dc->t.a.id;
    struct pb_storetest_page ids;
    campaign_with_recipients(ops, c, a, 3, 500, dc->doomed, &ids);
    memcpy(dc->contact, ids.ids[0], sizeof(dc->contact));
    struct pb_storetest_page ids2;
    campaign_with_recipients(ops, c, a, 2, 510, dc->kept, &ids2);
    const char *urls[] = {"https://a.example/", "https://b.example/"};
    bool first_link, first_any;
    const char *camps[] = {dc->doomed, dc->kept};
    for (int i = 0; i < 2; i++) {
        const char *contact = i == 0 ? ids.ids[0] : ids2.ids[0];
        assert_int_equal(ops->link_replace(c, a, camps[i], urls, 2), PB_QS_N);
        assert_int_equal(
            ops->recipient_click(c, a, camps[i], contact, 1, 100, &first_link, &first_any),
            PB_QS_ONE);
    }
    return PB_QS_ONE;
}

static enum pb_qs
delete_body(struct pb_tx *tx, void *cls)
{
    struct delete_case *dc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = dc->t.a.id, *b = dc->t.b.id;
    struct pb_campaign got;
    assert_int_equal(ops->campaign_delete(c, b, dc->doomed), PB_QS_NONE);
    assert_int_equal(ops->campaign_get(c, a, dc->doomed, false, &got), PB_QS_ONE);
    assert_int_equal(ops->campaign_delete(c, a, dc->doomed), PB_QS_ONE);
    assert_int_equal(ops->campaign_delete(c, a, dc->doomed), PB_QS_NONE);
    assert_int_equal(ops->campaign_get(c, a, dc->doomed, false, &got), PB_QS_NONE);
    static struct links l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(ops->link_list(c, a, dc->doomed, collect_link, &l), PB_QS_NONE);
    struct pb_recipient r;
    assert_int_equal(ops->recipient_get(c, a, dc->doomed, dc->contact, &r), PB_QS_NONE);
    static struct received rv;
    memset(&rv, 0, sizeof(rv));
    assert_int_equal(ops->recipient_list_for_contact(c, a, dc->contact, collect_received, &rv),
                     PB_QS_NONE);
    /* The other campaign keeps everything. */
    assert_int_equal(ops->campaign_get(c, a, dc->kept, false, &got), PB_QS_ONE);
    assert_int_equal(got.list_count, 1);
    assert_int_equal(ops->link_list(c, a, dc->kept, collect_link, &l), PB_QS_N);
    return PB_QS_ONE;
}

static void
campaign_delete_takes_lists_links_recipients_and_clicks(void **state)
{
    struct pb_storetest *f = *state;
    static struct delete_case dc;
    memset(&dc, 0, sizeof(dc));
    pb_storetest_tenants(f, &dc.t, 1);
    pb_storetest_write(f->store, delete_setup_body, &dc);
    pb_storetest_write(f->store, delete_body, &dc);
    static const char *const tables[] = {"campaign_lists", "campaign_links", "campaign_recipients",
                                         "campaign_clicks"};
    static const int64_t kept[] = {1, 2, 2, 1};
    char sql[256];
    for (int i = 0; i < 4; i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE campaign_id = '%s'", tables[i],
                 dc.doomed);
        assert_int_equal(pb_storetest_raw_count(f->url, sql), 0);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE campaign_id = '%s'", tables[i],
                 dc.kept);
        assert_int_equal(pb_storetest_raw_count(f->url, sql), kept[i]);
    }
}

/* ---- concurrency: claims by four senders at once ---- */

#define CONC_RECIPIENTS 500
#define CONC_BATCH      7
#define CONC_THREADS    4

struct conc_setup {
    const char *account_id;
    char campaign[PB_ID_LEN + 1];
    pb_id_text *ids; /* sorted after setup */
    struct pb_contact *contacts;
    bool *changed;
};

static enum pb_qs
conc_setup_tx(struct pb_tx *tx, void *cls)
{
    struct conc_setup *cs = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    struct pb_list l;
    pb_storetest_make_list(&l, cs->account_id, "many");
    assert_int_equal(ops->list_insert(c, &l), PB_QS_ONE);
    for (int i = 0; i < CONC_RECIPIENTS; i++) {
        pb_storetest_make_contact(&cs->contacts[i], cs->account_id, 1000 + (unsigned)i);
        /* pb_storetest_fill() repeats after 256 seeds: the index's first bytes tell them apart. */
        cs->contacts[i].email_bidx[0] = (unsigned char)(i & 0xff);
        cs->contacts[i].email_bidx[1] = (unsigned char)(i >> 8);
        memcpy(cs->ids[i], cs->contacts[i].id, sizeof(cs->ids[i]));
    }
    assert_int_equal(ops->contact_insert_many(c, cs->contacts, CONC_RECIPIENTS), PB_QS_N);
    assert_int_equal(ops->membership_subscribe_many(c, cs->account_id, l.id, cs->ids,
                                                    CONC_RECIPIENTS, "", 1, cs->changed),
                     PB_QS_N);
    const char *lists[] = {l.id};
    struct pb_campaign cp;
    make_campaign(&cp, cs->account_id, "many", lists, 1);
    assert_int_equal(ops->campaign_insert(c, &cp), PB_QS_ONE);
    char last[PB_ID_LEN + 1];
    int64_t added = -1;
    assert_true(ops->recipient_snapshot(c, cs->account_id, cp.id, "", CONC_RECIPIENTS * 2, last,
                                        &added) >= 0);
    assert_int_equal(added, CONC_RECIPIENTS);
    memcpy(cs->campaign, cp.id, sizeof(cs->campaign));
    return PB_QS_ONE;
}

struct sender {
    struct pb_store *store;
    const char *account_id;
    const char *campaign;
    char owner[16];
    const pb_id_text *sorted;
    atomic_int *claimed; /* per recipient, by position in `sorted` */
    int batches;
    int total;
    int failures; /* set instead of asserting: cmocka's asserts belong to the main thread */
    /* The batch of one claim transaction (reset at its start: it may be retried). */
    pb_id_text batch[CONC_BATCH];
    int batch_count;
    int batch_bad;
    bool applied[CONC_BATCH];
    enum pb_qs finish_qs;
};

static void
sender_collect(void *cls, const struct pb_recipient *r)
{
    struct sender *s = cls;
    if (s->batch_count >= CONC_BATCH || strcmp(r->state, "sending") != 0 ||
        strcmp(r->lease_owner, s->owner) != 0 || r->reclaimed) {
        s->batch_bad++;
        return;
    }
    pb_strlcpy(s->batch[s->batch_count++], r->contact_id, sizeof(s->batch[0]));
}

static enum pb_qs
sender_claim_tx(struct pb_tx *tx, void *cls)
{
    struct sender *s = cls;
    s->batch_count = 0;
    s->batch_bad = 0;
    return tx->ops->recipient_claim(tx->conn, s->account_id, s->campaign, 1000, s->owner, 1000000,
                                    CONC_BATCH, sender_collect, s);
}

static enum pb_qs
sender_finish_tx(struct pb_tx *tx, void *cls)
{
    struct sender *s = cls;
    struct pb_recipient_outcome out[CONC_BATCH];
    for (int i = 0; i < s->batch_count; i++)
        out[i] = (struct pb_recipient_outcome){
            .contact_id = s->batch[i], .state = "sent", .attempts = 1, .sent_at = 2000};
    s->finish_qs = tx->ops->recipient_finish_many(tx->conn, s->account_id, s->campaign, s->owner,
                                                  out, s->batch_count, s->applied);
    return s->finish_qs;
}

/* Runs a transaction, trying again (as a sender would, later) when retries ran out. */
static enum pb_err
sender_tx(struct sender *s, pb_tx_fn fn)
{
    enum pb_err err;
    int tries = 0;
    while ((err = pb_store_tx(s->store, PB_TX_WRITE, fn, s)) == PB_ERR_STORE_SOFT && ++tries < 50)
        usleep(1000);
    return err;
}

static void *
sender_run(void *arg)
{
    struct sender *s = arg;
    for (;;) {
        if (sender_tx(s, sender_claim_tx) != PB_ERR_OK || s->batch_bad != 0) {
            s->failures++;
            break;
        }
        if (s->batch_count == 0)
            break;
        s->batches++;
        for (int i = 0; i < s->batch_count; i++) {
            const pb_id_text *hit = bsearch(s->batch[i], s->sorted, CONC_RECIPIENTS,
                                            sizeof(s->sorted[0]), pb_storetest_cmp_ids);
            if (hit == NULL)
                s->failures++;
            else
                atomic_fetch_add(&s->claimed[hit - s->sorted], 1);
        }
        s->total += s->batch_count;
        if (sender_tx(s, sender_finish_tx) != PB_ERR_OK) {
            s->failures++;
            break;
        }
        for (int i = 0; i < s->batch_count; i++)
            if (!s->applied[i])
                s->failures++;
    }
    return NULL;
}

struct conc_check {
    const char *account_id;
    const char *campaign;
    int64_t pending, sent;
};

static enum pb_qs
conc_check_tx(struct pb_tx *tx, void *cls)
{
    struct conc_check *cc = cls;
    enum pb_qs qs =
        tx->ops->recipient_pending(tx->conn, cc->account_id, cc->campaign, &cc->pending);
    if (qs < 0)
        return qs;
    return tx->ops->recipient_sent_since(tx->conn, cc->account_id, cc->campaign, 0, &cc->sent);
}

static void
concurrent_claims_take_each_recipient_once(void **state)
{
    struct pb_storetest *f = *state;
    struct pb_storetest_tenants t;
    pb_storetest_tenants(f, &t, CONC_THREADS);

    struct conc_setup cs = {.account_id = t.a.id};
    cs.ids = calloc(CONC_RECIPIENTS, sizeof(*cs.ids));
    cs.contacts = calloc(CONC_RECIPIENTS, sizeof(*cs.contacts));
    cs.changed = calloc(CONC_RECIPIENTS, sizeof(*cs.changed));
    assert_non_null(cs.ids);
    assert_non_null(cs.contacts);
    assert_non_null(cs.changed);
    pb_storetest_write(f->store, conc_setup_tx, &cs);
    qsort(cs.ids, CONC_RECIPIENTS, sizeof(cs.ids[0]), pb_storetest_cmp_ids);

    static atomic_int claimed[CONC_RECIPIENTS];
    for (int i = 0; i < CONC_RECIPIENTS; i++)
        atomic_init(&claimed[i], 0);
    static struct sender senders[CONC_THREADS];
    pthread_t threads[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        memset(&senders[i], 0, sizeof(senders[i]));
        senders[i].store = f->store;
        senders[i].account_id = t.a.id;
        senders[i].campaign = cs.campaign;
        snprintf(senders[i].owner, sizeof(senders[i].owner), "node#%d", i);
        senders[i].sorted = cs.ids;
        senders[i].claimed = claimed;
        assert_int_equal(pthread_create(&threads[i], NULL, sender_run, &senders[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(senders[i].failures, 0);
        total += senders[i].total;
    }
    assert_int_equal(total, CONC_RECIPIENTS);
    for (int i = 0; i < CONC_RECIPIENTS; i++)
        assert_int_equal(atomic_load(&claimed[i]), 1);

    struct conc_check cc = {.account_id = t.a.id, .campaign = cs.campaign, .pending = -1};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, conc_check_tx, &cc), PB_ERR_OK);
    assert_int_equal(cc.pending, 0);
    assert_int_equal(cc.sent, CONC_RECIPIENTS);
    free(cs.ids);
    free(cs.contacts);
    free(cs.changed);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, pb_storetest_setup, pb_storetest_teardown)

int
main(void)
{
    if (!pb_storetest_init("store campaigns"))
        return 2;
    const struct CMUnitTest tests[] = {
        T(account_tracking_defaults_to_aggregate_and_is_set),
        T(account_tracking_of_unknown_account_is_none),
        T(relay_put_get_and_replace),
        T(dkim_put_list_in_order_and_delete),
        T(suppression_put_exists_and_contact_suppressed_at),
        T(campaign_insert_get_and_update),
        T(campaign_list_newest_first_by_pages),
        T(campaign_transitions_follow_their_rules),
        T(campaign_due_and_sending_across_accounts),
        T(campaign_counters_add_up),
        T(links_replace_list_get_and_count),
        T(snapshot_takes_each_subscribed_contact_once),
        T(recipients_claim_finish_and_count),
        T(recipients_open_click_unsubscribe_and_history),
        T(campaign_delete_takes_lists_links_recipients_and_clicks),
        T(concurrent_claims_take_each_recipient_once),
    };
    return cmocka_run_group_tests_name(pb_storetest_on_postgres() ? "store campaigns (postgres)"
                                                                  : "store campaigns (sqlite)",
                                       tests, NULL, NULL);
}
