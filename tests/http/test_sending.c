/*
 * Sending campaigns end to end, as a user sees it: the REST API, the real
 * sender threads and a real Postfix smtp-sink per test that dumps every
 * message it takes to a file. Pause, resume and cancel while sending (and
 * in the wrong states); scheduling with `at`; test sends; dual DKIM
 * signatures verified by libopendkim with the keys GET /settings/dkim
 * publishes; a relay that refuses AUTH (the campaign pauses with the
 * relay's answer, and finishes once the settings are fixed); a connection
 * dropped after the end of DATA (deferred, then failed after the tries); a
 * campaign's rate per minute; statistics and the consent history after a
 * recipient is anonymised; a contact who left the list after the snapshot.
 * Runs on SQLite, or on PostgreSQL when PB_TEST_STORE_URL is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <opendkim/dkim.h>

#include "core/id.h"
#include "core/strutil.h"
#include "model/consent.h"
#include "model/erasure.h"
#include "store/store.h"
#include "support/calls.h"
#include "support/sink.h"
#include "support/testapp.h"
#include "support/tmpdir.h"

#define PASSWORD  "correct horse battery"
#define SINKS_MAX 16
#define MAILS_MAX 128

static struct pb_testapp t;
static char failure[8192];

/*
 * Every sink started. They are stopped together at the end (stopping one
 * takes a second), also after a failed test.
 */
static char sinks[SINKS_MAX][PATH_MAX];

/* An account of its own for each test, with its owner logged in. */
struct acct {
    char id[32];
    char owner_id[32];
    struct pb_http_client c;
};

/* ---- helpers: the API ---- */

static void
get_string(const struct pb_http_reply *r, const char *key, char *out, size_t size)
{
    const char *v = json_string_value(json_object_get(r->json, key));
    if (v == NULL) {
        snprintf(failure, sizeof(failure), "no \"%s\" in %s", key, r->body);
        fail_msg("%s", failure);
    }
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

/* A new account "NAME" whose owner is owner@NAME.example, logged in. */
static void
account_new(const char *name, struct acct *a)
{
    memset(a, 0, sizeof(*a));
    char email[128];
    snprintf(email, sizeof(email), "owner@%s.example", name);
    pb_testapp_account(&t, name, "enterprise", a->id);
    pb_testapp_user(&t, a->id, email, "owner", PASSWORD, a->owner_id);
    pb_test_login(&t, &a->c, email, PASSWORD);
}

/* Sets the account's relay: 127.0.0.1:port without TLS, `extra` JSON members ("" or ",..."). */
static void
relay(struct acct *a, int port, const char *extra)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"host\":\"127.0.0.1\",\"port\":%d,\"tls\":\"none\"%s}", port,
             extra);
    pb_test_call_ok(&t, &a->c, "PUT", "/api/v1/settings/smtp", body, 200);
}

/*
 * A list of `n` contacts PREFIX00@example.org, PREFIX01@example.org, ...,
 * imported from one CSV (one request instead of one a contact).
 */
static void
list_new(struct acct *a, const char *prefix, int n, char list[PB_ID_LEN + 1])
{
    char body[256], csv[8192];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"public\":false}", prefix);
    create(&a->c, "/api/v1/lists", body, list);
    size_t len = (size_t)snprintf(csv, sizeof(csv), "email\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(csv + len, sizeof(csv) - len, "%s%02d@example.org\n", prefix, i);
    assert_true(len < sizeof(csv));
    struct pb_test_part parts[] = {
        {"file", NULL, csv, len},
        {"list_ids", list, NULL, 0},
        {"basis", "consent", NULL, 0},
        {"description", "signed up at the fair", NULL, 0},
    };
    struct pb_http_reply r;
    pb_test_multipart(&t, &a->c, "/api/v1/imports", parts, 4, &r);
    if (r.status != 202) {
        snprintf(failure, sizeof(failure), "import: %ld %s", r.status, r.body);
        pb_http_reply_free(&r);
        fail_msg("%s", failure);
    }
    char job[PB_ID_LEN + 1];
    get_string(&r, "id", job, sizeof(job));
    pb_http_reply_free(&r);
    pb_testapp_wait_job(&t, a->id, job);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/lists/%s", list);
    pb_test_call(&t, &a->c, "GET", path, NULL, 200, &r);
    long members = (long)json_integer_value(json_object_get(r.json, "member_count"));
    pb_http_reply_free(&r);
    assert_int_equal(members, n);
}

/* A draft to `list` from news@DOMAIN; rate_per_minute given when `rate` >= 0. */
static void
campaign_new(struct acct *a, const char *list, const char *subject, const char *domain,
             const char *html, int rate, char id[PB_ID_LEN + 1])
{
    char from[128];
    snprintf(from, sizeof(from), "News <news@%s>", domain);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "name", subject, "subject", subject,
                          "from", from, "html", html, "list_ids", list);
    if (rate >= 0)
        json_object_set_new(o, "rate_per_minute", json_integer(rate));
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    create(&a->c, "/api/v1/campaigns", body, id);
    free(body);
}

/* POST /campaigns/{id}/ACTION (send, pause, resume, cancel, test) that must answer `status`. */
static void
action(struct acct *a, const char *id, const char *what, const char *body, long status)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/%s", id, what);
    pb_test_call_ok(&t, &a->c, "POST", path, body, status);
}

/* The same, for an error reply with a detail (and `field`: NULL for none). */
static void
action_refused(struct acct *a, const char *id, const char *what, const char *body, long status,
               const char *field)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/%s", id, what);
    pb_test_expect_error(&t, &a->c, "POST", path, body, status, 0, field);
}

/* GET /campaigns/{id} (a new reference). */
static json_t *
campaign_json(struct acct *a, const char *id)
{
    char path[128];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s", id);
    pb_test_call(&t, &a->c, "GET", path, NULL, 200, &r);
    json_t *j = json_incref(r.json);
    pb_http_reply_free(&r);
    return j;
}

static void
campaign_state(struct acct *a, const char *id, char state[16])
{
    json_t *j = campaign_json(a, id);
    snprintf(state, 16, "%s", json_string_value(json_object_get(j, "state")));
    json_decref(j);
}

static void
expect_state(struct acct *a, const char *id, const char *want)
{
    char state[16];
    campaign_state(a, id, state);
    if (strcmp(state, want) != 0)
        fail_msg("campaign %s is %s, wanted %s", id, state, want);
}

/* Waits (up to `seconds`) for the campaign to reach `want`. */
static void
wait_state(struct acct *a, const char *id, const char *want, int seconds)
{
    char state[16] = "";
    for (int i = 0; i < seconds * 20; i++) {
        campaign_state(a, id, state);
        if (strcmp(state, want) == 0)
            return;
        usleep(50 * 1000);
    }
    fail_msg("campaign %s is %s after %d s, wanted %s", id, state, seconds, want);
}

/* GET /campaigns/{id}/stats (a new reference). */
static json_t *
stats_of(struct acct *a, const char *id)
{
    char path[128];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/stats", id);
    pb_test_call(&t, &a->c, "GET", path, NULL, 200, &r);
    json_t *s = json_incref(r.json);
    pb_http_reply_free(&r);
    return s;
}

static long
stat_get(json_t *s, const char *key)
{
    json_t *v = json_object_get(s, key);
    if (!json_is_integer(v)) {
        char *text = json_dumps(s, JSON_COMPACT);
        snprintf(failure, sizeof(failure), "stats: no integer %s in %s", key, text);
        free(text);
        fail_msg("%s", failure);
    }
    return (long)json_integer_value(v);
}

static void
expect_stat(json_t *s, const char *key, long want)
{
    if (stat_get(s, key) != want) {
        char *text = json_dumps(s, JSON_COMPACT);
        snprintf(failure, sizeof(failure), "stats %s: wanted %ld in %s", key, want, text);
        free(text);
        fail_msg("%s", failure);
    }
}

/* ---- helpers: the sinks and what they got ---- */

/* Starts an smtp-sink with extra options (shell words) in a new directory; its port. */
static int
sink_with(char dir[PATH_MAX], const char *options)
{
    pb_test_tmpdir(dir);
    const char *script = getenv("PB_TEST_SMTP_SINK");
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof(cmd), "%s start '%s' -- %s",
             script != NULL ? script : "tests/support/smtp-sink.sh", dir, options);
    int port = pb_test_run_for_number(cmd);
    int i = 0;
    while (i < SINKS_MAX && sinks[i][0] != '\0')
        i++;
    assert_true(i < SINKS_MAX);
    pb_strlcpy(sinks[i], dir, PATH_MAX);
    return port;
}

/* Stops every sink at once (each takes a moment to go) and removes their directories. */
static void
sinks_stop(void)
{
    const char *script = getenv("PB_TEST_SMTP_SINK");
    char cmd[SINKS_MAX * (PATH_MAX + 8) + 512];
    size_t len = (size_t)snprintf(cmd, sizeof(cmd), "S='%s'; for d in",
                                  script != NULL ? script : "tests/support/smtp-sink.sh");
    for (int i = 0; i < SINKS_MAX; i++)
        if (sinks[i][0] != '\0')
            len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " '%s'", sinks[i]);
    snprintf(cmd + len, sizeof(cmd) - len, "; do \"$S\" stop \"$d\" & done; wait");
    if (system(cmd) != 0)
        fprintf(stderr, "test_sending: stopping the sinks failed\n");
    for (int i = 0; i < SINKS_MAX; i++)
        if (sinks[i][0] != '\0') {
            pb_test_rmtree(sinks[i]);
            sinks[i][0] = '\0';
        }
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

/* Waits (up to `seconds`) until the sink has at least `n` messages; how many it has. */
static int
wait_mail(const char *dir, int n, int seconds)
{
    int have = count_mail(dir);
    for (int i = 0; i < seconds * 100 && have < n; i++) {
        usleep(10 * 1000);
        have = count_mail(dir);
    }
    return have;
}

/* Every dumped message of a sink, each whole (LF line ends, as smtp-sink writes them). */
struct mails {
    int n;
    char *text[MAILS_MAX];
};

static char *
read_whole(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    char *s = malloc((size_t)len + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)len, f), (size_t)len);
    s[len] = '\0';
    fclose(f);
    return s;
}

static void
mails_read(const char *dir, struct mails *m)
{
    memset(m, 0, sizeof(*m));
    char path[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/mail", dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        assert_true(m->n < MAILS_MAX);
        char file[PATH_MAX * 2];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        m->text[m->n++] = read_whole(file);
    }
    closedir(d);
}

static void
mails_free(struct mails *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->text[i]);
    m->n = 0;
}

/* The value of the first header line "NAME: value" of a dump (not unfolded); "" when none. */
static void
header_of(const char *mail, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *line = mail; line != NULL && *line != '\0' && *line != '\n';) {
        if (strncmp(line, name, n) == 0 && line[n] == ':' && line[n + 1] == ' ') {
            size_t len = strcspn(line + n + 2, "\n");
            snprintf(out, size, "%.*s", (int)len, line + n + 2);
            return;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
}

/* The envelope recipient smtp-sink took the message for ("x@example.org"). */
static void
rcpt_of(const char *mail, char *out, size_t size)
{
    char args[256];
    header_of(mail, "X-Rcpt-Args", args, sizeof(args));
    size_t len = strcspn(args, ">");
    snprintf(out, size, "%.*s", (int)(len > 0 ? len - 1 : 0), args[0] == '<' ? args + 1 : args);
}

/* Every one of the `n` addresses PREFIX00@example.org... got exactly one of the messages. */
static void
expect_each_once(const struct mails *m, const char *prefix, int n)
{
    int got[MAILS_MAX];
    assert_true(n <= MAILS_MAX);
    memset(got, 0, sizeof(got));
    for (int i = 0; i < m->n; i++) {
        char to[256];
        int k = -1;
        rcpt_of(m->text[i], to, sizeof(to));
        size_t pl = strlen(prefix);
        if (strncmp(to, prefix, pl) == 0 && sscanf(to + pl, "%2d@", &k) == 1 && k >= 0 && k < n)
            got[k]++;
        else
            fail_msg("a message to %s, who is not a recipient", to);
    }
    for (int k = 0; k < n; k++)
        if (got[k] != 1)
            fail_msg("%s%02d@example.org got %d messages, wanted 1", prefix, k, got[k]);
}

/* "YYYY-MM-DDTHH:MM:SSZ" of a time. */
static void
rfc3339(time_t when, char out[32])
{
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- set-up ---- */

static int
setup(void **state)
{
    (void)state;
    pb_testapp_start(&t, 0);
    t.config.send_retry_seconds = 1;
    pb_testapp_start_jobs(&t);
    pb_testapp_start_sender(&t);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pb_testapp_stop(&t);
    sinks_stop();
    return 0;
}

/* ---- 1. pause, resume, cancel ---- */

/*
 * What the relay got and what the statistics say must not move, checked
 * twice a second apart; appends what is wrong to `wrong` ("" when all is).
 */
static void
check_standstill(struct acct *a, const char *id, const char *dir, int total, const char *what,
                 char *wrong, size_t size)
{
    usleep(300 * 1000); /* a message on the wire when the order came may still arrive */
    int n1 = count_mail(dir);
    json_t *s1 = stats_of(a, id);
    sleep(1);
    int n2 = count_mail(dir);
    json_t *s2 = stats_of(a, id);
    long sent1 = stat_get(s1, "sent"), sent2 = stat_get(s2, "sent");
    json_decref(s1);
    json_decref(s2);
    size_t len = strlen(wrong);
    if (n1 != n2 || sent1 != sent2)
        len += (size_t)snprintf(wrong + len, size - len,
                                "%s%s: still sending: the relay got %d then %d messages, the"
                                " statistics count %ld then %ld sent",
                                len > 0 ? "; " : "", what, n1, n2, sent1, sent2);
    else if (sent2 != n2)
        len += (size_t)snprintf(wrong + len, size - len,
                                "%s%s: the relay took %d messages, the statistics count %ld sent",
                                len > 0 ? "; " : "", what, n2, sent2);
    if (n2 >= total)
        snprintf(wrong + len, size - len, "%s%s: all %d messages went out anyway",
                 len > 0 ? "; " : "", what, total);
}

/*
 * Pausing and cancelling a campaign while it is being sent (60 recipients
 * at 20 messages a second), and the states that refuse each action. The
 * standstill checks are reported at the end, so that the rest still runs.
 */
static void
test_pause_resume_cancel(void **state)
{
    (void)state;
    enum { N = 60 };
    static char wrong[2048];
    wrong[0] = '\0';
    struct acct a;
    account_new("pausing", &a);
    char dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1];
    int port = sink_with(dir, "");
    relay(&a, port, ",\"rate_per_second\":20");
    list_new(&a, "p", N, list);
    campaign_new(&a, list, "Pause me", "pausing.example", "<p>Hello {{ email }}</p>", -1, id);

    /* Nothing to pause or resume in a draft. */
    action_refused(&a, id, "pause", NULL, 409, NULL);
    action_refused(&a, id, "resume", NULL, 409, NULL);

    action(&a, id, "send", "{}", 202);
    if (wait_mail(dir, 5, 10) < 5)
        fail_msg("no mail after 10 s");
    action_refused(&a, id, "resume", NULL, 409, NULL); /* it is not paused */
    struct pb_http_reply r;
    char path[128], state_now[16];
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/pause", id);
    pb_test_call(&t, &a.c, "POST", path, NULL, 200, &r);
    get_string(&r, "state", state_now, sizeof(state_now));
    pb_http_reply_free(&r);
    assert_string_equal(state_now, "paused");
    check_standstill(&a, id, dir, N, "paused", wrong, sizeof(wrong));
    expect_state(&a, id, "paused");
    action_refused(&a, id, "pause", NULL, 409, NULL); /* paused already */

    /* Resumed, it finishes: every recipient got exactly one message. */
    action(&a, id, "resume", NULL, 200);
    wait_state(&a, id, "sent", 30);
    usleep(200 * 1000);
    assert_int_equal(count_mail(dir), N);
    struct mails m;
    mails_read(dir, &m);
    expect_each_once(&m, "p", N);
    mails_free(&m);
    json_t *s = stats_of(&a, id);
    expect_stat(s, "recipients", N);
    expect_stat(s, "sent", N);
    expect_stat(s, "failed", 0);
    expect_stat(s, "pending", 0);
    json_decref(s);
    action_refused(&a, id, "pause", NULL, 409, NULL); /* sent: over */
    action_refused(&a, id, "resume", NULL, 409, NULL);
    action_refused(&a, id, "cancel", NULL, 409, NULL); /* sent: nothing left to cancel */

    /* Cancelled while sending: nothing more goes out, and it stays cancelled. */
    port = sink_with(dir, "");
    relay(&a, port, ",\"rate_per_second\":20");
    campaign_new(&a, list, "Cancel me", "pausing.example", "<p>Hello {{ email }}</p>", -1, id);
    action(&a, id, "send", "{}", 202);
    if (wait_mail(dir, 5, 10) < 5)
        fail_msg("no mail after 10 s");
    action(&a, id, "cancel", NULL, 200);
    expect_state(&a, id, "cancelled");
    check_standstill(&a, id, dir, N, "cancelled", wrong, sizeof(wrong));
    action_refused(&a, id, "resume", NULL, 409, NULL);
    action_refused(&a, id, "pause", NULL, 409, NULL);
    action_refused(&a, id, "cancel", NULL, 409, NULL);
    expect_state(&a, id, "cancelled");
    if (wrong[0] != '\0')
        fail_msg("%s", wrong);
}

/* ---- 2. scheduling ---- */

static void
test_schedule(void **state)
{
    (void)state;
    struct acct a;
    account_new("later", &a);
    char dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1], path[128];
    int port = sink_with(dir, "");
    relay(&a, port, "");
    list_new(&a, "s", 3, list);
    campaign_new(&a, list, "Before", "later.example", "<p>Soon</p>", -1, id);

    /* Bad times, each refused naming `at`; the campaign stays a draft. */
    static const char *const bad[] = {
        "{\"at\":\"tomorrow\"}",
        "{\"at\":\"2026-12-01 09:00:00Z\"}",
        "{\"at\":\"2026-13-01T09:00:00Z\"}",
        "{\"at\":\"2026-12-01T09:00:00\"}",
        "{\"at\":\"2026-12-01T09:00:00Zjunk\"}",
        "{\"at\":\"2026-12-01T25:00:00Z\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        action_refused(&a, id, "send", bad[i], 422, "at");
    action_refused(&a, id, "send", "{\"at\":1796115600}", 400, "at");
    expect_state(&a, id, "draft");

    time_t at = time(NULL) + 3;
    char at_text[32], body[128];
    rfc3339(at, at_text);
    snprintf(body, sizeof(body), "{\"at\":\"%s\"}", at_text);
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    struct pb_http_reply r;
    pb_test_call(&t, &a.c, "POST", path, body, 202, &r);
    char got[32];
    get_string(&r, "state", got, sizeof(got));
    assert_string_equal(got, "scheduled");
    get_string(&r, "scheduled_at", got, sizeof(got));
    assert_string_equal(got, at_text);
    pb_http_reply_free(&r);

    /* A scheduled campaign may still be changed; the change is what goes out. */
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s", id);
    pb_test_call(&t, &a.c, "PATCH", path, "{\"subject\":\"After\"}", 200, &r);
    get_string(&r, "state", got, sizeof(got));
    assert_string_equal(got, "scheduled");
    pb_http_reply_free(&r);

    /* Before its time: nothing sent. */
    while (time(NULL) < at - 1)
        usleep(100 * 1000);
    expect_state(&a, id, "scheduled");
    assert_int_equal(count_mail(dir), 0);

    wait_state(&a, id, "sent", 30);
    assert_true(time(NULL) >= at);
    json_t *c = campaign_json(&a, id);
    const char *started = json_string_value(json_object_get(c, "started_at"));
    if (started == NULL || strcmp(started, at_text) < 0)
        fail_msg("started at %s, scheduled for %s", started ? started : "(never)", at_text);
    json_decref(c);
    assert_int_equal(wait_mail(dir, 3, 5), 3);
    struct mails m;
    mails_read(dir, &m);
    expect_each_once(&m, "s", 3);
    for (int i = 0; i < m.n; i++) {
        char subject[128];
        header_of(m.text[i], "Subject", subject, sizeof(subject));
        assert_string_equal(subject, "After");
    }
    mails_free(&m);

    /* A sent campaign no longer changes. */
    pb_test_expect_error(&t, &a.c, "PATCH", path, "{\"subject\":\"Too late\"}", 409, 0, NULL);

    /* Paused before its time, a campaign resumes to waiting for it; then cancelled. */
    campaign_new(&a, list, "Next year", "later.example", "<p>Much later</p>", -1, id);
    rfc3339(time(NULL) + 365 * 86400, at_text);
    snprintf(body, sizeof(body), "{\"at\":\"%s\"}", at_text);
    action(&a, id, "send", body, 202);
    action(&a, id, "pause", NULL, 200);
    expect_state(&a, id, "paused");
    action(&a, id, "resume", NULL, 200);
    expect_state(&a, id, "scheduled");
    action(&a, id, "cancel", NULL, 200);
    expect_state(&a, id, "cancelled");
    assert_int_equal(count_mail(dir), 3);

    /* A day that does not exist is no time either (not some day next March). */
    campaign_new(&a, list, "Leap", "later.example", "<p>Which day?</p>", -1, id);
    action_refused(&a, id, "send", "{\"at\":\"2031-02-30T09:00:00Z\"}", 422, "at");
    action_refused(&a, id, "send", "{\"at\":\"2031-04-31T09:00:00Z\"}", 422, "at");
    expect_state(&a, id, "draft");
}

/* ---- 3. test sends ---- */

static void
test_test_send(void **state)
{
    (void)state;
    struct acct a;
    account_new("trial", &a);
    char dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1], path[128];
    int port = sink_with(dir, "");
    relay(&a, port, "");
    pb_test_call_ok(&t, &a.c, "POST", "/api/v1/fields",
                    "{\"key\":\"first_name\",\"label\":\"First name\",\"type\":\"text\"}", 201);
    list_new(&a, "t", 2, list);
    campaign_new(&a, list, "Hello {{ first_name | default: \"reader\" }}", "trial.example",
                 "<p>Dear {{ first_name | default: \"reader\" }},</p>", -1, id);

    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/test", id);
    struct pb_http_reply r;
    pb_test_call(&t, &a.c, "POST", path, "{\"emails\":[\"a@example.org\"]}", 200, &r);
    json_t *results = json_object_get(r.json, "results");
    json_t *first = json_array_get(results, 0);
    if (json_array_size(results) != 1 || !json_is_true(json_object_get(first, "sent")) ||
        json_string_value(json_object_get(first, "email")) == NULL ||
        strcmp(json_string_value(json_object_get(first, "email")), "a@example.org") != 0) {
        snprintf(failure, sizeof(failure), "test send: %s", r.body);
        pb_http_reply_free(&r);
        fail_msg("%s", failure);
    }
    pb_http_reply_free(&r);

    assert_int_equal(wait_mail(dir, 1, 5), 1);
    usleep(300 * 1000);
    assert_int_equal(count_mail(dir), 1); /* the list's members got nothing */
    struct mails m;
    mails_read(dir, &m);
    char value[512];
    rcpt_of(m.text[0], value, sizeof(value));
    assert_string_equal(value, "a@example.org");
    header_of(m.text[0], "Subject", value, sizeof(value));
    assert_string_equal(value, "Hello reader");
    header_of(m.text[0], "List-Unsubscribe-Post", value, sizeof(value));
    assert_string_equal(value, "List-Unsubscribe=One-Click");
    header_of(m.text[0], "List-Unsubscribe", value, sizeof(value));
    if (strncmp(value, "<https://", 9) != 0)
        fail_msg("List-Unsubscribe: %s", value);
    pb_test_qp_decode(m.text[0]);
    if (strstr(m.text[0], "Dear reader,") == NULL)
        fail_msg("the body is not rendered with the defaults:\n%.3000s", m.text[0]);
    mails_free(&m);

    /* The campaign itself did not move. */
    expect_state(&a, id, "draft");
    json_t *s = stats_of(&a, id);
    expect_stat(s, "recipients", 0);
    expect_stat(s, "sent", 0);
    expect_stat(s, "pending", 0);
    json_decref(s);

    /* Too many addresses, a bad one, none. */
    pb_test_expect_error(&t, &a.c, "POST", path,
                         "{\"emails\":[\"a1@example.org\",\"a2@example.org\",\"a3@example.org\","
                         "\"a4@example.org\",\"a5@example.org\",\"a6@example.org\","
                         "\"a7@example.org\",\"a8@example.org\",\"a9@example.org\","
                         "\"a10@example.org\",\"a11@example.org\"]}",
                         422, 0, "emails");
    pb_test_expect_error(&t, &a.c, "POST", path,
                         "{\"emails\":[\"b@example.org\",\"not an address\"]}", 422, 0, "emails");
    pb_test_expect_error(&t, &a.c, "POST", path, "{\"emails\":[]}", 422, 0, "emails");
    usleep(200 * 1000);
    assert_int_equal(count_mail(dir), 1);
    expect_state(&a, id, "draft");
}

/* ---- 4. DKIM ---- */

/* The message as it went on the wire: from our first header (the sink's go), CRLF line ends. */
static char *
wire_copy(const char *mail, size_t *out_len)
{
    const char *m = strncmp(mail, "DKIM-Signature:", 15) == 0 ? mail : NULL;
    if (m == NULL && (m = strstr(mail, "\nDKIM-Signature:")) != NULL)
        m++;
    if (m == NULL)
        fail_msg("no DKIM-Signature in:\n%.2000s", mail);
    size_t len = strlen(m), n = 0;
    char *c = malloc(2 * len + 1);
    assert_non_null(c);
    for (size_t i = 0; i < len; i++) {
        if (m[i] == '\n')
            c[n++] = '\r';
        c[n++] = m[i];
    }
    c[n] = '\0';
    *out_len = n;
    return c;
}

struct verdict {
    DKIM_STAT eom;
    int sigs;   /* DKIM-Signature fields libopendkim found */
    int passed; /* of which verified, body hash included */
};

/* Verifies every signature of `m` (CRLF) with libopendkim, the key records read from `keyfile`. */
static struct verdict
dkim_check(const char *keyfile, const char *m, size_t mlen)
{
    struct verdict v = {0, 0, 0};
    DKIM_LIB *lib = dkim_init(NULL, NULL);
    assert_non_null(lib);
    dkim_query_t qm = DKIM_QUERY_FILE;
    assert_int_equal(dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm, sizeof(qm)),
                     DKIM_STAT_OK);
    assert_int_equal(
        dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, (void *)keyfile, strlen(keyfile)),
        DKIM_STAT_OK);
    DKIM_STAT st;
    DKIM *d = dkim_verify(lib, (const unsigned char *)"sending", NULL, &st);
    assert_non_null(d);
    /* One header field at a time, folded lines included; then the body. */
    size_t i = 0;
    while (i < mlen && !(m[i] == '\r' && m[i + 1] == '\n')) {
        size_t start = i, end;
        for (;;) {
            const char *crlf = strstr(m + i, "\r\n");
            if (crlf == NULL) {
                end = i = mlen;
                break;
            }
            end = (size_t)(crlf - m);
            i = end + 2;
            if (i < mlen && (m[i] == ' ' || m[i] == '\t'))
                continue;
            break;
        }
        assert_int_equal(dkim_header(d, (u_char *)m + start, end - start), DKIM_STAT_OK);
    }
    i += 2;
    st = dkim_eoh(d);
    if (st == DKIM_STAT_OK && i < mlen)
        st = dkim_body(d, (u_char *)m + i, mlen - i);
    v.eom = st == DKIM_STAT_OK ? dkim_eom(d, NULL) : st;
    DKIM_SIGINFO **sigs = NULL;
    int n = 0;
    if (dkim_getsiglist(d, &sigs, &n) == DKIM_STAT_OK) {
        v.sigs = n;
        for (int j = 0; j < n; j++)
            v.passed += DKIM_SIG_CHECK(sigs[j]) ? 1 : 0;
    }
    dkim_free(d);
    dkim_close(lib);
    return v;
}

/* How many header lines of the message (from `m`, up to the blank line) start with `name`. */
static int
count_headers(const char *m, const char *name)
{
    int n = 0;
    size_t len = strlen(name);
    for (const char *line = m; *line != '\0' && *line != '\r';) {
        n += strncmp(line, name, len) == 0;
        const char *e = strstr(line, "\r\n");
        if (e == NULL)
            break;
        line = e + 2;
    }
    return n;
}

static void
test_dkim(void **state)
{
    (void)state;
    struct acct a;
    account_new("signed", &a);
    char dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1];
    int port = sink_with(dir, "");
    relay(&a, port, "");
    pb_test_call_ok(&t, &a.c, "PUT", "/api/v1/settings/dkim",
                    "{\"domain\":\"signed.example\",\"selector\":\"rsa2026\","
                    "\"algorithm\":\"rsa-sha256\"}",
                    200);
    pb_test_call_ok(&t, &a.c, "PUT", "/api/v1/settings/dkim",
                    "{\"domain\":\"signed.example\",\"selector\":\"ed2026\","
                    "\"algorithm\":\"ed25519-sha256\"}",
                    200);

    /* The records to publish, as libopendkim's file "DNS": one "NAME VALUE" line each. */
    char keydir[PATH_MAX], keyfile[PATH_MAX + 16];
    pb_test_tmpdir(keydir);
    snprintf(keyfile, sizeof(keyfile), "%s/keys", keydir);
    struct pb_http_reply r;
    pb_test_call(&t, &a.c, "GET", "/api/v1/settings/dkim", NULL, 200, &r);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 2);
    FILE *f = fopen(keyfile, "w");
    assert_non_null(f);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        json_t *dns = json_object_get(item, "dns");
        const char *name = json_string_value(json_object_get(dns, "name"));
        const char *value = json_string_value(json_object_get(dns, "value"));
        assert_non_null(name);
        assert_non_null(value);
        assert_null(strstr(r.body, "PRIVATE"));
        fprintf(f, "%s %s\n", name, value);
    }
    assert_int_equal(fclose(f), 0);
    pb_http_reply_free(&r);

    list_new(&a, "d", 3, list);
    campaign_new(&a, list, "Signed and sealed", "signed.example",
                 "<html><body><p>Dear {{ email }},</p><p>Every byte of this is signed: "
                 "caf\xc3\xa9, na\xc3\xafve, <a href=\"https://signed.example/x\">a link</a>."
                 "</p></body></html>",
                 -1, id);
    action(&a, id, "send", "{}", 202);
    wait_state(&a, id, "sent", 30);
    assert_int_equal(wait_mail(dir, 3, 5), 3);
    struct mails m;
    mails_read(dir, &m);
    expect_each_once(&m, "d", 3);
    for (int k = 0; k < m.n; k++) {
        size_t len;
        char *wire = wire_copy(m.text[k], &len);
        assert_int_equal(count_headers(wire, "DKIM-Signature:"), 2);
        if (strstr(wire, "a=rsa-sha256") == NULL || strstr(wire, "a=ed25519-sha256") == NULL ||
            strstr(wire, "d=signed.example") == NULL)
            fail_msg("not signed with both keys:\n%.3000s", wire);
        struct verdict v = dkim_check(keyfile, wire, len);
        if (v.sigs != 2 || v.passed != 2 || v.eom != DKIM_STAT_OK)
            fail_msg("libopendkim: %d of %d signatures verified (eom %d) for:\n%.4000s", v.passed,
                     v.sigs, v.eom, wire);

        /* One byte of the body changed after signing: no signature holds. */
        char *body = strstr(wire, "\r\n\r\n");
        assert_non_null(body);
        char *p = body + 4;
        while (*p != '\0' && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            p++;
        assert_true(*p != '\0');
        *p = *p == 'x' ? 'y' : 'x';
        v = dkim_check(keyfile, wire, len);
        assert_int_equal(v.sigs, 2);
        assert_int_equal(v.passed, 0);
        assert_int_not_equal(v.eom, DKIM_STAT_OK);
        free(wire);
    }
    mails_free(&m);
    pb_test_rmtree(keydir);
}

/* ---- 5. a relay that refuses AUTH ---- */

static void
test_auth_refused(void **state)
{
    (void)state;
    struct acct a;
    account_new("refused", &a);
    char bad_dir[PATH_MAX], good_dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1];
    int bad = sink_with(bad_dir, "-f AUTH -B '535 5.7.8 Authentication credentials invalid'");
    relay(&a, bad, ",\"username\":\"news\",\"password\":\"not the password\"");
    list_new(&a, "r", 4, list);
    campaign_new(&a, list, "Refused", "refused.example", "<p>Hi</p>", -1, id);
    action(&a, id, "send", "{}", 202);
    wait_state(&a, id, "paused", 30);
    json_t *c = campaign_json(&a, id);
    const char *error = json_string_value(json_object_get(c, "error"));
    if (error == NULL || strstr(error, "535 5.7.8 Authentication credentials invalid") == NULL) {
        char *text = json_dumps(c, JSON_COMPACT);
        snprintf(failure, sizeof(failure), "the error does not give the relay's answer: %s", text);
        free(text);
        json_decref(c);
        fail_msg("%s", failure);
    }
    json_decref(c);
    /* Nothing is counted sent or failed, and nothing more happens while it is paused. */
    sleep(1);
    expect_state(&a, id, "paused");
    json_t *s = stats_of(&a, id);
    expect_stat(s, "recipients", 4);
    expect_stat(s, "sent", 0);
    expect_stat(s, "failed", 0);
    expect_stat(s, "bounced", 0);
    expect_stat(s, "pending", 4);
    json_decref(s);
    assert_int_equal(count_mail(bad_dir), 0);

    /* Fixed settings, then resume: it finishes, and the old error is gone. */
    int good = sink_with(good_dir, "");
    relay(&a, good, ",\"username\":\"\"");
    action(&a, id, "resume", NULL, 200);
    wait_state(&a, id, "sent", 30);
    assert_int_equal(wait_mail(good_dir, 4, 5), 4);
    struct mails m;
    mails_read(good_dir, &m);
    expect_each_once(&m, "r", 4);
    mails_free(&m);
    s = stats_of(&a, id);
    expect_stat(s, "sent", 4);
    expect_stat(s, "failed", 0);
    json_decref(s);
    c = campaign_json(&a, id);
    assert_true(json_is_null(json_object_get(c, "error")));
    json_decref(c);
}

/* ---- 6. the connection dropped at the end of DATA ---- */

static void
test_dropped(void **state)
{
    (void)state;
    struct acct a;
    account_new("dropped", &a);
    char dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1];
    /* -q .: the sink hangs up after the message's final dot, without a reply. */
    int port = sink_with(dir, "-q .");
    relay(&a, port, "");
    list_new(&a, "q", 2, list);
    campaign_new(&a, list, "Dropped", "dropped.example", "<p>Hi</p>", -1, id);
    action(&a, id, "send", "{}", 202);

    /* Unanswered is not delivered: deferred, still sending. */
    json_t *s = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(s);
        s = stats_of(&a, id);
        if (stat_get(s, "deferred") > 0)
            break;
        usleep(50 * 1000);
    }
    assert_true(stat_get(s, "deferred") > 0);
    expect_stat(s, "sent", 0);
    json_decref(s);
    expect_state(&a, id, "sending");

    /* Given up after PB_DELIVERY_ATTEMPTS (5) tries, 1 + 2 + 4 + 8 s apart. */
    wait_state(&a, id, "sent", 40);
    s = stats_of(&a, id);
    expect_stat(s, "recipients", 2);
    expect_stat(s, "sent", 0);
    expect_stat(s, "failed", 2);
    expect_stat(s, "bounced", 0);
    expect_stat(s, "deferred", 8);
    expect_stat(s, "pending", 0);
    json_decref(s);
    /* Each try reached the end of DATA (the sink keeps what it got), and none came after. */
    usleep(300 * 1000);
    assert_int_equal(count_mail(dir), 10);
}

/* ---- 7. a campaign's rate per minute ---- */

static void
test_rate_per_minute(void **state)
{
    (void)state;
    struct acct a;
    account_new("slow", &a);
    char dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1];
    /* A relay that takes a moment per message (1 s before its answer to DATA), as real ones do. */
    int port = sink_with(dir, "-w 1");
    relay(&a, port, "");
    list_new(&a, "m", 10, list);
    campaign_new(&a, list, "Three a minute", "slow.example", "<p>Hi</p>", 3, id);
    action(&a, id, "send", "{}", 202);
    /* Three messages take the relay 3 s; then a moment more in which nothing else may go. */
    wait_mail(dir, 3, 10);
    sleep(2);
    int got = count_mail(dir);
    json_t *s = stats_of(&a, id);
    long sent = stat_get(s, "sent"), pending = stat_get(s, "pending");
    char *text = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    snprintf(failure, sizeof(failure), "3 a minute: the relay got %d messages; stats %s", got,
             text);
    free(text);
    if (got != 3 || sent != 3 || pending != 7)
        fail_msg("%s", failure);
    expect_state(&a, id, "sending");
    action(&a, id, "cancel", NULL, 200);
    expect_state(&a, id, "cancelled");
    sleep(1);
    assert_int_equal(count_mail(dir), 3);
}

/* ---- 8. statistics survive a recipient's anonymisation ---- */

/* The mail of the sink to `to`, QP-decoded (malloc'd). */
static char *
mail_to(const char *dir, const char *to)
{
    struct mails m;
    char *found = NULL;
    mails_read(dir, &m);
    for (int i = 0; i < m.n && found == NULL; i++) {
        char rcpt[256];
        rcpt_of(m.text[i], rcpt, sizeof(rcpt));
        if (strcmp(rcpt, to) == 0) {
            found = m.text[i];
            m.text[i] = NULL;
        }
    }
    for (int i = 0; i < m.n; i++)
        free(m.text[i]);
    if (found == NULL)
        fail_msg("no mail to %s", to);
    pb_test_qp_decode(found);
    return found;
}

/* Opens the open pixel `opens` times and the first link `clicks` times from `mail`. */
static void
react(const char *mail, int opens, int clicks)
{
    struct pb_http_client anonymous;
    memset(&anonymous, 0, sizeof(anonymous));
    char link[256];
    assert_true(pb_test_find_link(mail, 'o', link));
    for (int i = 0; i < opens; i++)
        pb_test_call_ok(&t, &anonymous, "GET", link, NULL, 200);
    assert_true(pb_test_find_link(mail, 'c', link));
    for (int i = 0; i < clicks; i++)
        pb_test_call_ok(&t, &anonymous, "GET", link, NULL, 302);
}

/* The one campaign of GET /consent?email= (a new reference), which must be `id`. */
static json_t *
history_campaign(struct acct *a, const char *email, const char *id)
{
    char path[256];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/consent?email=%s", email);
    pb_test_call(&t, &a->c, "GET", path, NULL, 200, &r);
    json_t *campaigns = json_object_get(r.json, "campaigns");
    json_t *one = json_array_get(campaigns, 0);
    const char *cid = json_string_value(json_object_get(one, "campaign_id"));
    if (json_array_size(campaigns) != 1 || cid == NULL || strcmp(cid, id) != 0) {
        snprintf(failure, sizeof(failure), "history of %s: %s", email, r.body);
        pb_http_reply_free(&r);
        fail_msg("%s", failure);
    }
    json_incref(one);
    pb_http_reply_free(&r);
    return one;
}

static void
test_stats_survive_erasure(void **state)
{
    (void)state;
    struct acct a;
    account_new("forget", &a);
    pb_test_call_ok(&t, &a.c, "PATCH", "/api/v1/account", "{\"tracking\":\"individual\"}", 200);
    char dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1];
    int port = sink_with(dir, "");
    relay(&a, port, "");
    list_new(&a, "e", 3, list);
    campaign_new(&a, list, "Tracked", "forget.example",
                 "<html><body><p>Hi</p><p><a href=\"https://forget.example/offer\">Offer</a></p>"
                 "</body></html>",
                 -1, id);
    action(&a, id, "send", "{}", 202);
    wait_state(&a, id, "sent", 30);
    assert_int_equal(wait_mail(dir, 3, 5), 3);

    /* e00 opens twice and clicks; e01 opens and clicks; e02 does nothing. */
    char *mail = mail_to(dir, "e00@example.org");
    react(mail, 2, 1);
    free(mail);
    mail = mail_to(dir, "e01@example.org");
    react(mail, 1, 1);
    free(mail);
    json_t *before = stats_of(&a, id);
    expect_stat(before, "sent", 3);
    expect_stat(before, "opens", 3);
    expect_stat(before, "unique_opens", 2);
    expect_stat(before, "clicks", 2);
    expect_stat(before, "unique_clicks", 2);
    json_t *l0 = json_array_get(json_object_get(before, "links"), 0);
    assert_int_equal(json_integer_value(json_object_get(l0, "clicks_total")), 2);
    assert_int_equal(json_integer_value(json_object_get(l0, "clicks_unique")), 2);
    json_t *h = history_campaign(&a, "e00@example.org", id);
    assert_int_equal(json_integer_value(json_object_get(h, "opens")), 2);
    assert_int_equal(json_integer_value(json_object_get(h, "clicks")), 1);
    json_decref(h);

    /* e00 is erased: the person is gone from the history, the counts stay. */
    struct pb_http_reply r;
    pb_test_call(&t, &a.c, "GET", "/api/v1/consent?email=e00@example.org", NULL, 200, &r);
    char contact[PB_ID_LEN + 1];
    const char *cid = json_string_value(json_object_get(json_object_get(r.json, "contact"), "id"));
    assert_non_null(cid);
    pb_strlcpy(contact, cid, sizeof(contact));
    pb_http_reply_free(&r);
    /* Through the model, by contact id (the address is opened there for its suppression hash). */
    char actor[64];
    snprintf(actor, sizeof(actor), "user:%s", a.owner_id);
    struct pb_erasure_by by = {.account_id = a.id,
                               .actor = actor,
                               .channel = PB_CHANNEL_API,
                               .reason = PB_ERASURE_REASON_REQUEST,
                               .checkpoint = true};
    struct pb_erasure receipt;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_erasure_erase(&t.app, &by, NULL, contact, &receipt, &field, why);
    if (err != PB_ERR_OK)
        fail_msg("erasure: %s (%s)", pb_err_hint(err), why);
    assert_string_equal(receipt.contact_id, contact);

    json_t *after = stats_of(&a, id);
    if (!json_equal(before, after)) {
        char *b = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
        char *c = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(failure, sizeof(failure), "statistics changed by an erasure:\n%s\n%s", b, c);
        free(b);
        free(c);
        fail_msg("%s", failure);
    }
    json_decref(before);
    json_decref(after);
    h = history_campaign(&a, "e01@example.org", id);
    assert_string_equal(json_string_value(json_object_get(h, "state")), "sent");
    assert_int_equal(json_integer_value(json_object_get(h, "opens")), 1);
    assert_int_equal(json_integer_value(json_object_get(h, "clicks")), 1);
    assert_true(json_is_string(json_object_get(h, "sent_at")));
    json_decref(h);
    pb_test_call(&t, &a.c, "GET", "/api/v1/consent?email=e00@example.org", NULL, 200, &r);
    bool found = json_is_true(json_object_get(r.json, "found"));
    pb_http_reply_free(&r);
    assert_false(found);
}

/* ---- 9. a contact who left the list after the snapshot ---- */

static void
test_left_after_snapshot(void **state)
{
    (void)state;
    struct acct a;
    account_new("leaving", &a);
    char dir[PATH_MAX], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1], path[256];
    /* First a relay nobody listens on: the recipients wait in the queue. */
    const char *freeport = getenv("PB_TEST_FREEPORT");
    int dead = pb_test_run_for_number(freeport != NULL ? freeport : "build/asan/tests/freeport");
    relay(&a, dead, "");
    list_new(&a, "l", 3, list);
    campaign_new(&a, list, "Leaving", "leaving.example", "<p>Hi</p>", -1, id);
    action(&a, id, "send", "{}", 202);
    json_t *s = NULL;
    for (int i = 0; i < 200; i++) {
        json_decref(s);
        s = stats_of(&a, id);
        if (stat_get(s, "recipients") == 3)
            break;
        usleep(50 * 1000);
    }
    expect_stat(s, "recipients", 3);
    expect_stat(s, "sent", 0);
    json_decref(s);
    /* Meanwhile the campaign says what is wrong, and goes on trying. */
    char where[64];
    snprintf(where, sizeof(where), "relay 127.0.0.1:%d", dead);
    bool told = false;
    for (int i = 0; i < 100 && !told; i++) {
        json_t *c = campaign_json(&a, id);
        const char *error = json_string_value(json_object_get(c, "error"));
        told = error != NULL && strstr(error, where) != NULL;
        json_decref(c);
        if (!told)
            usleep(50 * 1000);
    }
    if (!told)
        fail_msg("the campaign does not say that %s is down", where);
    expect_state(&a, id, "sending");

    /* l01 leaves the list (through the API); then the relay works. */
    struct pb_http_reply r;
    pb_test_call(&t, &a.c, "GET", "/api/v1/consent?email=l01@example.org", NULL, 200, &r);
    const char *cid = json_string_value(json_object_get(json_object_get(r.json, "contact"), "id"));
    assert_non_null(cid);
    snprintf(path, sizeof(path), "/api/v1/lists/%s/members/%s", list, cid);
    pb_http_reply_free(&r);
    pb_test_call_ok(&t, &a.c, "DELETE", path, NULL, 204);
    int port = sink_with(dir, "");
    relay(&a, port, "");
    wait_state(&a, id, "sent", 30);
    usleep(200 * 1000);
    struct mails m;
    mails_read(dir, &m);
    assert_int_equal(m.n, 2);
    for (int i = 0; i < m.n; i++) {
        char to[256];
        rcpt_of(m.text[i], to, sizeof(to));
        if (strcmp(to, "l00@example.org") != 0 && strcmp(to, "l02@example.org") != 0)
            fail_msg("mailed %s", to);
    }
    mails_free(&m);
    s = stats_of(&a, id);
    expect_stat(s, "sent", 2);
    expect_stat(s, "failed", 1);
    expect_stat(s, "bounced", 0);
    json_decref(s);
    json_t *c = campaign_json(&a, id); /* the relay is back: no error shown any more */
    assert_true(json_is_null(json_object_get(c, "error")));
    json_decref(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_resume_cancel), cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_test_send),           cmocka_unit_test(test_dkim),
        cmocka_unit_test(test_auth_refused),        cmocka_unit_test(test_dropped),
        cmocka_unit_test(test_rate_per_minute),     cmocka_unit_test(test_stats_survive_erasure),
        cmocka_unit_test(test_left_after_snapshot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
