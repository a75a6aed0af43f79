/*
 * Campaigns through the REST API, sent by the real sender threads into a
 * real Postfix smtp-sink that dumps every message to a file: saving and its
 * errors (unknown merge tags, bad From, another account's list), sending
 * (personalised, sensitive values opened for the render only, unsubscribed
 * contacts left out, List-Unsubscribe headers), the public links (one-click
 * unsubscribe without cookie or CSRF token, the open pixel, the click
 * redirect with no open redirect), statistics, hard bounces (suppression),
 * sending twice, an empty list, no relay, and the author's limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "core/id.h"
#include "support/calls.h"
#include "support/sink.h"
#include "support/testapp.h"

static struct pb_testapp t;
static char acme_id[32], owner_id[32], author_id[32], other_id[32], other_owner_id[32];
static struct pb_http_client owner, author, other_owner;
static char sink_dir[PATH_MAX];
static int sink_port;
static char failure[8192];

/* ---- helpers ---- */

static void
get_string(const struct pb_http_reply *r, const char *key, char *out, size_t size)
{
    const char *v = json_string_value(json_object_get(r->json, key));
    if (v == NULL)
        fail_msg("no \"%s\" in %s", key, r->body);
    snprintf(out, size, "%s", v);
}

static void
create(struct pb_http_client *c, const char *path, const char *body, char id[PB_ID_LEN + 1])
{
    struct pb_http_reply r;
    pb_test_call(&t, c, "POST", path, body, 201, &r);
    get_string(&r, "id", id, PB_ID_LEN + 1);
    pb_http_reply_free(&r);
}

static void
relay(struct pb_http_client *c, int port)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"host\":\"127.0.0.1\",\"port\":%d,\"tls\":\"none\"}", port);
    pb_test_call_ok(&t, c, "PUT", "/api/v1/settings/smtp", body, 200);
}

/* The sinks started and not yet stopped: teardown stops them when a test failed midway. */
#define SINKS_MAX 8
static char sinks[SINKS_MAX][PATH_MAX];

/* Starts an smtp-sink with extra options in a new directory; its port. */
static int
sink_with(char dir[PATH_MAX], const char *options)
{
    snprintf(dir, PATH_MAX, "/tmp/pb-campaign-sink-XXXXXX");
    if (mkdtemp(dir) == NULL)
        fail_msg("mkdtemp");
    for (int i = 0; i < SINKS_MAX; i++) {
        if (sinks[i][0] == '\0') {
            snprintf(sinks[i], PATH_MAX, "%s", dir);
            break;
        }
    }
    const char *script = getenv("PB_TEST_SMTP_SINK");
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof(cmd), "%s start '%s' -- %s",
             script != NULL ? script : "tests/support/smtp-sink.sh", dir, options);
    return pb_test_run_for_number(cmd);
}

static void
sink_stop(const char *dir)
{
    for (int i = 0; i < SINKS_MAX; i++)
        if (strcmp(sinks[i], dir) == 0)
            sinks[i][0] = '\0';
    pb_test_sink_stop(dir);
}

/* The message files the sink of `dir` dumped so far. */
static int
count_mail(const char *dir)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/mail", dir);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

/* Every dumped message of `dir`, concatenated and quoted-printable decoded (malloc'd). */
static char *
read_mail(const char *dir)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/mail", dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    size_t cap = 1 << 20, len = 0;
    char *all = calloc(1, cap);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char file[PATH_MAX * 2];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "rb");
        assert_non_null(f);
        size_t n;
        while ((n = fread(all + len, 1, cap - len - 2, f)) > 0) {
            len += n;
            if (cap - len < 4096) {
                cap *= 2;
                all = realloc(all, cap);
            }
        }
        fclose(f);
        all[len++] = '\n';
    }
    closedir(d);
    all[len] = '\0';
    return all;
}

/* The campaign's state, reading it through the API. */
static void
campaign_state(const char *id, char state[16])
{
    char path[128];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s", id);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    get_string(&r, "state", state, 16);
    pb_http_reply_free(&r);
}

/* Waits (up to 30 s) for the campaign to reach `want`. */
static void
wait_state(const char *id, const char *want)
{
    char state[16] = "";
    for (int i = 0; i < 600; i++) {
        campaign_state(id, state);
        if (strcmp(state, want) == 0)
            return;
        usleep(50 * 1000);
    }
    fail_msg("campaign %s is %s after 30 s, wanted %s", id, state, want);
}

static json_t *
stats(const char *id)
{
    char path[128];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/stats", id);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    json_t *s = json_incref(r.json);
    pb_http_reply_free(&r);
    return s;
}

static void
expect_stat(json_t *s, const char *key, long want)
{
    json_t *v = json_object_get(s, key);
    if (!json_is_integer(v) || json_integer_value(v) != want) {
        char *text = json_dumps(s, JSON_COMPACT);
        snprintf(failure, sizeof(failure), "stats %s: wanted %ld in %s", key, want, text);
        free(text);
        fail_msg("%s", failure);
    }
}

static void
add_contact(const char *email, const char *fields, const char *list, char id[PB_ID_LEN + 1])
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"email\":\"%s\",\"fields\":%s,\"lists\":[\"%s\"],"
             "\"consent\":{\"basis\":\"consent\",\"description\":\"signed up at the fair\"}}",
             email, fields, list);
    create(&owner, "/api/v1/contacts", body, id);
}

/* A campaign's JSON; the subject uses the first_name field only when `personal`. */
static char *
campaign_body(const char *name, const char *list, const char *html, bool personal)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "name", name, "subject",
                          personal ? "Hello {{ first_name | default: \"reader\" }}" : "Hello",
                          "from", "Acme News <news@acme.example>", "html", html, "list_ids", list);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* ---- set-up ---- */

static int
setup(void **state)
{
    (void)state;
    pb_testapp_start(&t, 0);
    t.config.send_retry_seconds = 1;
    t.config.send_timeout_seconds = 1;
    pb_testapp_start_jobs(&t);
    pb_testapp_start_sender(&t);
    pb_testapp_account(&t, "Acme", "enterprise", acme_id);
    pb_testapp_user(&t, acme_id, "owner@acme.example", "owner", "correct horse battery", owner_id);
    pb_testapp_user(&t, acme_id, "author@acme.example", "author", "correct horse battery",
                    author_id);
    pb_testapp_account(&t, "Other", "standard", other_id);
    pb_testapp_user(&t, other_id, "owner@other.example", "owner", "correct horse battery",
                    other_owner_id);
    pb_test_login(&t, &owner, "owner@acme.example", "correct horse battery");
    pb_test_login(&t, &author, "author@acme.example", "correct horse battery");
    pb_test_login(&t, &other_owner, "owner@other.example", "correct horse battery");
    pb_test_call_ok(&t, &owner, "PATCH", "/api/v1/account", "{\"tracking\":\"individual\"}", 200);
    sink_port = sink_with(sink_dir, "");
    relay(&owner, sink_port);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pb_testapp_stop(&t);
    for (int i = 0; i < SINKS_MAX; i++)
        if (sinks[i][0] != '\0')
            pb_test_sink_stop(sinks[i]);
    return 0;
}

/* ---- saving ---- */

static void
test_save_errors(void **state)
{
    (void)state;
    char list[PB_ID_LEN + 1], other_list[PB_ID_LEN + 1];
    create(&owner, "/api/v1/lists", "{\"name\":\"Save\",\"public\":false}", list);
    create(&other_owner, "/api/v1/lists", "{\"name\":\"Theirs\",\"public\":false}", other_list);

    char *body = campaign_body("Tags", list, "<p>Hi</p>\n<p>{{ frist_name }}</p>", false);
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "POST", "/api/v1/campaigns", body, 422, &r);
    pb_test_check_error(&r, "unknown tag", 422, 0, "html");
    if (strstr(r.body, "frist_name") == NULL || strstr(r.body, "line 2") == NULL)
        fail_msg("the error names neither the tag nor its line: %s", r.body);
    pb_http_reply_free(&r);
    free(body);

    body = campaign_body("Syntax", list, "<p>{{ email </p>", false);
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/campaigns", body, 422, 0, "html");
    free(body);

    body = campaign_body("Theirs", other_list, "<p>Hi</p>", false);
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/campaigns", body, 404, 0, "list_ids");
    free(body);

    pb_test_expect_error(&t, &owner, "POST", "/api/v1/campaigns",
                         "{\"name\":\"From\",\"subject\":\"s\",\"from\":\"not an address\","
                         "\"html\":\"<p>x</p>\"}",
                         422, 0, "from");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/campaigns",
                         "{\"name\":\"Inject\",\"subject\":\"s\\r\\nBcc: x@evil.example\","
                         "\"from\":\"a@acme.example\",\"html\":\"<p>x</p>\"}",
                         422, 0, "subject");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/campaigns",
                         "{\"name\":\"Unknown\",\"subject\":\"s\",\"from\":\"a@acme.example\","
                         "\"html\":\"<p>x</p>\",\"colour\":\"red\"}",
                         400, 0, "colour");

    /* Authors write campaigns, but may not send them. */
    char id[PB_ID_LEN + 1], path[128];
    body = campaign_body("By an author", list, "<p>Hi {{ email }}</p>", false);
    create(&author, "/api/v1/campaigns", body, id);
    free(body);
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    pb_test_expect_error(&t, &author, "POST", path, "{}", 403, 0, NULL);
    /* Another account sees nothing of it. */
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s", id);
    pb_test_expect_error(&t, &other_owner, "GET", path, NULL, 404, 0, NULL);
    /* An empty list cannot be sent to. */
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    pb_test_expect_error(&t, &owner, "POST", path, "{}", 422, 0, "list_ids");
    /* A change, then the list shows it first (newest first). */
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s", id);
    pb_test_call_ok(&t, &owner, "PATCH", path, "{\"name\":\"Renamed\"}", 200);
    pb_test_call(&t, &owner, "GET", "/api/v1/campaigns?limit=1", NULL, 200, &r);
    const char *first = json_string_value(
        json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "name"));
    assert_non_null(first);
    assert_string_equal(first, "Renamed");
    pb_http_reply_free(&r);
    pb_test_call_ok(&t, &owner, "DELETE", path, NULL, 204);
    pb_test_expect_error(&t, &owner, "GET", path, NULL, 404, 0, NULL);
}

/* ---- sending, the links, the statistics ---- */

static void
test_send_and_track(void **state)
{
    (void)state;
    char list[PB_ID_LEN + 1], a[PB_ID_LEN + 1], b[PB_ID_LEN + 1], gone[PB_ID_LEN + 1];
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"first_name\",\"label\":\"First name\",\"type\":\"text\"}", 201);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"member_no\",\"label\":\"Member\",\"type\":\"text\","
                    "\"sensitive\":true}",
                    201);
    create(&owner, "/api/v1/lists", "{\"name\":\"News\",\"public\":true}", list);
    add_contact("ann@example.org", "{\"first_name\":\"Ann\",\"member_no\":\"M-4711\"}", list, a);
    add_contact("bob@example.org", "{}", list, b);
    add_contact("gone@example.org", "{\"first_name\":\"Gone\"}", list, gone);
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/lists/%s/members/%s", list, gone);
    pb_test_call_ok(&t, &owner, "DELETE", path, NULL, 204);

    char *body = campaign_body("November", list,
                               "<html><body><p>Dear {{ first_name | default: \"reader\" }},</p>"
                               "<p>Your number: {{ member_no }}</p>"
                               "<p><a href=\"https://acme.example/offer?a=1&amp;b=2\">Offer</a></p>"
                               "</body></html>",
                               true);
    char id[PB_ID_LEN + 1];
    create(&owner, "/api/v1/campaigns", body, id);
    free(body);
    /* Nothing sent yet: an empty timeline. */
    struct pb_http_reply tl;
    char timeline[128];
    snprintf(timeline, sizeof(timeline), "/api/v1/campaigns/%s/timeline", id);
    pb_test_call(&t, &owner, "GET", timeline, NULL, 200, &tl);
    assert_int_equal(json_array_size(json_object_get(tl.json, "sent")), 0);
    assert_true(json_is_null(json_object_get(tl.json, "start")));
    pb_http_reply_free(&tl);
    int before = count_mail(sink_dir);
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    pb_test_call_ok(&t, &owner, "POST", path, "{}", 202);
    wait_state(id, "sent");
    /* Sent over time: minutes since the start, adding up to the messages sent. */
    pb_test_call(&t, &owner, "GET", timeline, NULL, 200, &tl);
    assert_int_equal(json_integer_value(json_object_get(tl.json, "bucket_seconds")), 60);
    assert_non_null(json_string_value(json_object_get(tl.json, "start")));
    json_t *sent = json_object_get(tl.json, "sent");
    assert_true(json_array_size(sent) >= 1 && json_array_size(sent) <= 60);
    long total = 0;
    size_t k;
    json_t *bucket;
    json_array_foreach(sent, k, bucket) total += (long)json_integer_value(bucket);
    assert_int_equal(total, 2);
    pb_http_reply_free(&tl);
    snprintf(timeline, sizeof(timeline), "/api/v1/campaigns/%s/timeline",
             "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    pb_test_call_ok(&t, &owner, "GET", timeline, NULL, 404);
    /* Sending twice is refused. */
    pb_test_expect_error(&t, &owner, "POST", path, "{}", 409, 0, NULL);

    for (int i = 0; i < 100 && count_mail(sink_dir) < before + 2; i++)
        usleep(50 * 1000);
    assert_int_equal(count_mail(sink_dir), before + 2);
    char *mail = read_mail(sink_dir);
    if (strstr(mail, "List-Unsubscribe-Post: List-Unsubscribe=One-Click") == NULL ||
        strstr(mail, "List-Unsubscribe: <https://") == NULL)
        fail_msg("no RFC 8058 headers in:\n%.2000s", mail);
    pb_test_qp_decode(mail);
    if (strstr(mail, "Dear Ann,") == NULL || strstr(mail, "Dear reader,") == NULL ||
        strstr(mail, "M-4711") == NULL || strstr(mail, "Subject: Hello Ann") == NULL)
        fail_msg("not personalised:\n%.4000s", mail);
    if (strstr(mail, "gone@example.org") != NULL)
        fail_msg("an unsubscribed contact was mailed");
    /* (The text part shows the URL; the HTML's link goes through /c/.) */
    if (strstr(mail, "href=\"https://acme.example/offer") != NULL)
        fail_msg("a tracked link went out unrewritten");

    json_t *s = stats(id);
    expect_stat(s, "recipients", 2);
    expect_stat(s, "sent", 2);
    expect_stat(s, "failed", 0);
    expect_stat(s, "pending", 0);
    json_decref(s);

    /* The open pixel: counted twice, once uniquely. */
    char link[256];
    assert_true(pb_test_find_link(mail, 'o', link));
    struct pb_http_client anonymous;
    memset(&anonymous, 0, sizeof(anonymous));
    struct pb_http_reply r;
    for (int i = 0; i < 2; i++) {
        pb_test_call(&t, &anonymous, "GET", link, NULL, 200, &r);
        char type[64];
        assert_true(pb_http_reply_header(&r, "Content-Type", type, sizeof(type)));
        assert_string_equal(type, "image/gif");
        pb_http_reply_free(&r);
    }
    /* The click: a redirect to the campaign's own URL, counted. */
    assert_true(pb_test_find_link(mail, 'c', link));
    pb_test_call(&t, &anonymous, "GET", link, NULL, 302, &r);
    char location[512];
    assert_true(pb_http_reply_header(&r, "Location", location, sizeof(location)));
    assert_string_equal(location, "https://acme.example/offer?a=1&b=2");
    pb_http_reply_free(&r);
    /* A token changed by one character is no link at all: no open redirect, no count. */
    size_t n = strlen(link);
    link[n - 2] = link[n - 2] == 'A' ? 'B' : 'A';
    pb_test_call_ok(&t, &anonymous, "GET", link, NULL, 404);

    /* One-click unsubscribe: no cookie, no CSRF token, idempotent. */
    assert_true(pb_test_find_link(mail, 'u', link));
    pb_test_call(&t, &anonymous, "GET", link, NULL, 200, &r);
    if (strstr(r.body, "<form method=\"post\"") == NULL)
        fail_msg("no unsubscribe button: %s", r.body);
    pb_http_reply_free(&r);
    const char *one_click = "List-Unsubscribe=One-Click";
    for (int i = 0; i < 2; i++) {
        pb_test_http_raw(&t, &anonymous, "POST", link, "application/x-www-form-urlencoded",
                         one_click, strlen(one_click), &r);
        assert_int_equal(r.status, 200);
        pb_http_reply_free(&r);
    }
    s = stats(id);
    expect_stat(s, "opens", 2);
    expect_stat(s, "unique_opens", 1);
    expect_stat(s, "clicks", 1);
    expect_stat(s, "unique_clicks", 1);
    expect_stat(s, "unsubscribes", 1);
    json_t *l0 = json_array_get(json_object_get(s, "links"), 0);
    assert_int_equal(json_integer_value(json_object_get(l0, "clicks_total")), 1);
    assert_string_equal(json_string_value(json_object_get(l0, "url")),
                        "https://acme.example/offer?a=1&b=2");
    json_decref(s);
    /* The list lost the member who unsubscribed (ann or bob: one of them). */
    snprintf(path, sizeof(path), "/api/v1/lists/%s", list);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "member_count")), 1);
    pb_http_reply_free(&r);
    free(mail);
}

/* Every RCPT refused with 5xx: hard bounces, the addresses suppressed, nothing retried. */
static void
test_bounce(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    int port = sink_with(dir, "-f RCPT");
    char acct[32], user[32];
    pb_testapp_account(&t, "Bouncy", "standard", acct);
    pb_testapp_user(&t, acct, "owner@bouncy.example", "owner", "correct horse battery", user);
    struct pb_http_client c;
    memset(&c, 0, sizeof(c));
    pb_test_login(&t, &c, "owner@bouncy.example", "correct horse battery");
    relay(&c, port);
    char list[PB_ID_LEN + 1], x[PB_ID_LEN + 1], id[PB_ID_LEN + 1];
    create(&c, "/api/v1/lists", "{\"name\":\"L\",\"public\":false}", list);
    char body[512];
    snprintf(body, sizeof(body), "{\"email\":\"nobody@bounce.example\",\"lists\":[\"%s\"]}", list);
    create(&c, "/api/v1/contacts", body, x);
    char *cb = campaign_body("Bounce", list, "<p>Hi</p>", false);
    create(&c, "/api/v1/campaigns", cb, id);
    free(cb);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    pb_test_call_ok(&t, &c, "POST", path, "{}", 202);
    struct pb_http_client saved = owner;
    owner = c; /* wait_state and stats read as the account's owner */
    wait_state(id, "sent");
    json_t *s = stats(id);
    expect_stat(s, "sent", 0);
    expect_stat(s, "failed", 1);
    expect_stat(s, "bounced", 1);
    json_decref(s);
    /* Suppressed: a second campaign to the same list has nobody to send to. */
    cb = campaign_body("Again", list, "<p>Hi</p>", false);
    create(&c, "/api/v1/campaigns", cb, id);
    free(cb);
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    pb_test_call_ok(&t, &c, "POST", path, "{}", 202);
    wait_state(id, "sent");
    s = stats(id);
    expect_stat(s, "recipients", 0);
    json_decref(s);
    owner = saved;
    assert_int_equal(count_mail(dir), 0);
    sink_stop(dir);
}

/* A relay that answers 4xx: deferred, retried with backoff, given up after the last try. */
static void
test_deferred(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    int port = sink_with(dir, "-r RCPT");
    char acct[32], user[32];
    pb_testapp_account(&t, "Later", "standard", acct);
    pb_testapp_user(&t, acct, "owner@later.example", "owner", "correct horse battery", user);
    struct pb_http_client c;
    memset(&c, 0, sizeof(c));
    pb_test_login(&t, &c, "owner@later.example", "correct horse battery");
    char id[PB_ID_LEN + 1], path[128];
    char list[PB_ID_LEN + 1], x[PB_ID_LEN + 1];
    create(&c, "/api/v1/lists", "{\"name\":\"L\",\"public\":false}", list);
    char body[512];
    snprintf(body, sizeof(body), "{\"email\":\"later@example.org\",\"lists\":[\"%s\"]}", list);
    create(&c, "/api/v1/contacts", body, x);
    char *cb = campaign_body("Later", list, "<p>Hi</p>", false);
    create(&c, "/api/v1/campaigns", cb, id);
    free(cb);
    /* Without a relay the send is refused, naming what is missing. */
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    pb_test_expect_error(&t, &c, "POST", path, "{}", 422, 0, "smtp");
    relay(&c, port);
    pb_test_call_ok(&t, &c, "POST", path, "{}", 202);
    struct pb_http_client saved = owner;
    owner = c;
    wait_state(id, "sent"); /* 1 + 2 + 4 + 8 s of backoff */
    json_t *s = stats(id);
    expect_stat(s, "sent", 0);
    expect_stat(s, "failed", 1);
    expect_stat(s, "bounced", 0);
    expect_stat(s, "deferred", 4);
    json_decref(s);
    owner = saved;
    sink_stop(dir);
}

/* ---- a relay that never answers ---- */

struct silent {
    int fd;
    int port;
    volatile int stop;
    pthread_t thread;
};

/* Accepts connections and says nothing, ever (each is closed when the server stops). */
static void *
silent_run(void *arg)
{
    struct silent *s = arg;
    int held[64], n = 0;
    while (!s->stop) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 100) == 1) {
            int c = accept(s->fd, NULL, NULL);
            if (c >= 0 && n < 64)
                held[n++] = c;
            else if (c >= 0)
                close(c);
        }
    }
    for (int i = 0; i < n; i++)
        close(held[i]);
    return NULL;
}

static void
silent_start(struct silent *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, silent_run, s), 0);
}

static void
silent_stop(struct silent *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/*
 * A relay that accepts the connection and never answers: the send waits at
 * most [send] timeout_seconds, the campaign's status says what is wrong,
 * nothing is lost; with a working relay set, the campaign finishes.
 */
static void
test_silent_relay(void **state)
{
    (void)state;
    struct silent silent;
    silent_start(&silent);
    char acct[32], user[32];
    pb_testapp_account(&t, "Silent", "standard", acct);
    pb_testapp_user(&t, acct, "owner@silent.example", "owner", "correct horse battery", user);
    struct pb_http_client c;
    memset(&c, 0, sizeof(c));
    pb_test_login(&t, &c, "owner@silent.example", "correct horse battery");
    relay(&c, silent.port);
    char list[PB_ID_LEN + 1], x[PB_ID_LEN + 1], id[PB_ID_LEN + 1], path[128];
    create(&c, "/api/v1/lists", "{\"name\":\"L\",\"public\":false}", list);
    char body[512];
    snprintf(body, sizeof(body), "{\"email\":\"quiet@example.org\",\"lists\":[\"%s\"]}", list);
    create(&c, "/api/v1/contacts", body, x);
    char *cb = campaign_body("Silence", list, "<p>Hi</p>", false);
    create(&c, "/api/v1/campaigns", cb, id);
    free(cb);
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    pb_test_call_ok(&t, &c, "POST", path, "{}", 202);

    /* Within a few seconds the campaign says the relay does not answer; nothing was sent. */
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s", id);
    bool shown = false;
    struct pb_http_reply r;
    for (int i = 0; i < 200 && !shown; i++) {
        pb_test_call(&t, &c, "GET", path, NULL, 200, &r);
        const char *error = json_string_value(json_object_get(r.json, "error"));
        shown = error != NULL && strstr(error, "relay 127.0.0.1") != NULL;
        if (shown)
            assert_string_equal(json_string_value(json_object_get(r.json, "state")), "sending");
        pb_http_reply_free(&r);
        if (!shown)
            usleep(50 * 1000);
    }
    assert_true(shown);
    struct pb_http_client saved = owner;
    owner = c;
    json_t *s = stats(id);
    expect_stat(s, "sent", 0);
    expect_stat(s, "failed", 0);
    expect_stat(s, "pending", 1);
    json_decref(s);
    /* A working relay: the campaign finishes and its status is clear again. */
    relay(&c, sink_port);
    wait_state(id, "sent");
    s = stats(id);
    expect_stat(s, "sent", 1);
    json_decref(s);
    pb_test_call(&t, &c, "GET", path, NULL, 200, &r);
    assert_true(json_is_null(json_object_get(r.json, "error")));
    pb_http_reply_free(&r);
    owner = saved;
    silent_stop(&silent);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_errors),  cmocka_unit_test(test_send_and_track),
        cmocka_unit_test(test_bounce),       cmocka_unit_test(test_deferred),
        cmocka_unit_test(test_silent_relay),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
