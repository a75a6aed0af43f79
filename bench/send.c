/*
 * Benchmark (issue 6): sending a campaign end to end, into Postfix's
 * smtp-sink on loopback, against baselines measured in the same run.
 *
 *   build/release/bench/send [RECIPIENTS] [POSTGRES_URL] [--modes=abc] [--threads=N]
 *                            [--compare=RECIPIENTS2] [--baseline-seconds=S]
 *
 * Sets up (in a child process of its own, so that its memory is not the
 * sender's) one account with 3 fields, one list of RECIPIENTS (default
 * 100,000) contacts written with the store's batch operations, an SMTP relay
 * pointing at an smtp-sink started here without dump files (-c: it only
 * counts), an Ed25519 and an RSA-2048 DKIM key, and three drafts of the same
 * personalised ~20 KB HTML + text campaign (merge tags, 5 tracked links),
 * differing only in their From domain:
 *
 *   (a) unsigned                (no DKIM key for the domain)
 *   (b) DKIM ed25519-sha256
 *   (c) DKIM rsa-sha256 (RSA-2048)
 *
 * Then, per mode, in a new child process: the job runner (2 threads, as in
 * `serve`) and the sender threads ([send] threads, 4 by default) are
 * started, pb_campaign_send is called, and the campaign is watched until it
 * is "sent": messages/second from the send to the last message accepted,
 * and the peak RSS of that process (set-up excluded). Each is checked: every
 * recipient sent, none failed, and the sink counted as many messages.
 *
 * Baselines, on as many threads as the sender has, measured just before
 * and just after each mode (their mean is the baseline):
 *   (a) the bare pipelining client: pb_smtp_send of one pre-built message
 *       (a message of the campaign, as composed for one recipient) over one
 *       connection per thread into the same sink;
 *   (b) crypto_sign_detached over a 32-byte digest;
 *   (c) gnutls_privkey_sign_hash of a SHA-256 digest.
 * The target is a ratio of at least 0.80 to the baseline. For (b) and (c)
 * the ratio to the bare client and signer together is printed too (on a
 * machine whose cores are all busy their costs add up), and for every mode
 * the phases (the snapshot of the recipients, then the sending), the CPU
 * time a message costs in the sending process and in the sink against what
 * a baseline operation costs, and SQLite's own heap at its peak (its page
 * caches fill up to cache_size per connection as the database grows).
 *
 * --compare=M runs the same modes again with M recipients in a fresh
 * database and compares the sending processes' peak RSS (target: within
 * 10%), e.g. `--modes=a --compare=1000000`. SQLite in a temporary directory
 * by default; with POSTGRES_URL a fresh database is created on that server
 * (the URL is only used as a maintenance connection) and dropped at the end.
 * The store's settings come from the environment as for `serve`
 * (POSTBODE_SEND_BATCH, ...). PB_BENCH_KEEP=1 keeps the directory and the
 * database.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/keys.h"
#include "jobs/kinds.h"
#include "jobs/runner.h"
#include "jobs/sender.h"
#include "mail/dkim.h"
#include "mail/smtp.h"
#include "model/account.h"
#include "model/app.h"
#include "model/campaign.h"
#include "model/campaign_compile.h"
#include "model/compose.h"
#include "model/contact.h"
#include "model/dkim_keys.h"
#include "model/email.h"
#include "model/field.h"
#include "model/list.h"
#include "model/relay.h"
#include "model/tenant.h"
#include "store/placement.h"

#define TARGET_RATIO 0.80
#define TARGET_FLAT  0.10 /* peak RSS at --compare within 10% */
#define MIB          (1024.0 * 1024.0)

enum {
    SETUP_BATCH = 1000,  /* contacts written per transaction at set-up */
    POLL_MS = 20,        /* how often the campaign's state is read */
    STALL_SECONDS = 120, /* no progress for this long: the run failed */
    MESSAGE_MAX = 24 * 1024 * 1024,
    HTML_BYTES = 15000, /* template sizes: a ~20 KB message once encoded */
    TEXT_BYTES = 5000,
};

enum mode { MODE_PLAIN, MODE_ED25519, MODE_RSA, MODES };

static const struct {
    char letter;
    const char *name;
    const char *domain;    /* of From: its DKIM keys decide the signing */
    const char *algorithm; /* the key made for the domain; NULL: none */
    const char *baseline;
} mode_info[MODES] = {
    {'a', "unsigned", "plain.example", NULL, "pb_smtp_send of a pre-built message"},
    {'b', "DKIM ed25519-sha256", "ed.example", "ed25519-sha256", "crypto_sign_detached"},
    {'c', "DKIM rsa-sha256 (2048)", "rsa.example", "rsa-sha256", "gnutls_privkey_sign_hash"},
};

struct options {
    int64_t recipients;
    int64_t compare; /* 0: no second size */
    const char *pg_admin;
    bool modes[MODES];
    int threads;
    double baseline_seconds;
    bool keep;
};

static pid_t main_pid;
static pid_t sink_pid;

static void
die(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void
die(const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench/send: %s: ", what);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* The sink is ours: stopped whichever way the main process ends (never from a child). */
static void
stop_sink(void)
{
    if (getpid() != main_pid || sink_pid <= 0)
        return;
    kill(sink_pid, SIGTERM);
    waitpid(sink_pid, NULL, 0);
    sink_pid = 0;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A line of /proc/self/status ("VmRSS", "VmHWM") in MiB. */
static double
proc_status_mib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double v = -1;
    size_t n = strlen(key);
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = strtod(line + n + 1, NULL) / 1024.0;
    if (f != NULL)
        fclose(f);
    return v;
}

/* User + system CPU seconds of a process, from /proc/PID/stat. */
static double
process_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the command name, which may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the SMTP sink ---- */

static int sink_count_fd = -1;

static unsigned
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("free port", "%s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

static bool
port_listens(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/*
 * Starts /usr/sbin/smtp-sink on a free port without dump files: -c makes it
 * write "sess=N quit=N mesg=N\r" after every message, into DIR/sink.count
 * (append mode, so that the file can be emptied under it).
 */
static unsigned
start_sink(const char *dir)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/sink.count", dir);
    sink_count_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_TRUNC, 0644);
    if (sink_count_fd < 0)
        die("smtp-sink", "cannot create %s: %s", path, strerror(errno));
    if (access("/usr/sbin/smtp-sink", X_OK) != 0)
        die("smtp-sink", "/usr/sbin/smtp-sink missing (Debian package postfix)");
    unsigned port = free_port();
    char listen_on[64];
    snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%u", port);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork", "%s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(sink_count_fd, 1);
        /* smtp-sink drops root privileges to a user of its own. */
        if (geteuid() == 0)
            execl("/usr/sbin/smtp-sink", "smtp-sink", "-c", "-u", "nobody", listen_on, "1000",
                  (char *)NULL);
        else
            execl("/usr/sbin/smtp-sink", "smtp-sink", "-c", listen_on, "1000", (char *)NULL);
        _exit(127);
    }
    sink_pid = pid;
    for (int i = 0; i < 200; i++) {
        if (port_listens(port))
            return port;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            sink_pid = 0;
            die("smtp-sink", "exited at start");
        }
        usleep(25 * 1000);
    }
    die("smtp-sink", "does not listen on port %u", port);
}

/* Messages the sink took so far (the last counter it wrote); empties the file. */
static int64_t
sink_messages(void)
{
    static int64_t count; /* the file is empty when no message came since the last call */
    usleep(100 * 1000);   /* the counter follows the reply to "." */
    char buf[256];
    off_t size = lseek(sink_count_fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
    ssize_t n = pread(sink_count_fd, buf, sizeof(buf) - 1, from);
    if (n <= 0)
        return count;
    buf[n] = '\0';
    for (const char *p = buf; (p = strstr(p, "mesg=")) != NULL; p += 5)
        count = strtoll(p + 5, NULL, 10);
    if (ftruncate(sink_count_fd, 0) != 0)
        fprintf(stderr, "bench/send: cannot empty the sink's counter file\n");
    return count;
}

/* ---- the app, opened in each child process ---- */

struct world {
    struct pb_config config;
    struct pb_keys *keys;
    struct pb_store *store;
    struct pb_placement *placement;
    struct pb_app app;
};

static void
world_open(struct world *w, const char *dir, const char *url, int threads)
{
    char why[PB_WHY_MAX] = "";
    memset(w, 0, sizeof(*w));
    pb_config_defaults(&w->config);
    if (pb_config_load_env(&w->config, why) != PB_ERR_OK)
        die("config", "%s", why);
    pb_strlcpy(w->config.data_dir, dir, sizeof(w->config.data_dir));
    pb_strlcpy(w->config.store_url, url, sizeof(w->config.store_url));
    w->config.send_threads = threads;
    if (pb_config_finish(&w->config, why) != PB_ERR_OK)
        die("config", "%s", why);
    setenv("POSTBODE_MASTER_KEY",
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    int from, to;
    if (pb_keys_load(w->config.master_key_file, &w->keys, why) != PB_ERR_OK ||
        pb_store_open(url, w->config.store_pool_size, &w->store, why) != PB_ERR_OK ||
        pb_store_migrate(w->store, &from, &to, why) != PB_ERR_OK)
        die("store", "%s", why);
    if (pb_placement_ensure_local(w->store) != PB_ERR_OK ||
        pb_placement_new(w->store, w->config.store_pool_size, &w->placement) != PB_ERR_OK)
        die("placement", "cannot set up");
    if (pb_app_init(&w->app, &w->config, w->store, w->placement, w->keys) != PB_ERR_OK)
        die("app", "cannot set up");
}

static void
world_close(struct world *w)
{
    pb_app_release(&w->app);
    pb_placement_free(w->placement);
    pb_store_close(w->store);
    pb_keys_free(w->keys);
}

/* Runs fn(arg, out) in a child process; its result (`size` bytes) and its resource use. */
static void
run_child(void (*fn)(const void *arg, void *out), const void *arg, void *out, size_t size,
          struct rusage *ru)
{
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe", "%s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork", "%s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        fn(arg, out);
        fflush(NULL);
        ssize_t n = write(fds[1], out, size);
        _exit(n == (ssize_t)size ? 0 : 3);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fds[0], (char *)out + got, size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    if (wait4(pid, &status, 0, ru) < 0)
        die("wait4", "%s", strerror(errno));
    if (WIFSIGNALED(status))
        die("child", "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != size)
        die("child", "failed (exit status %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- the set-up ---- */

struct setup_in {
    const char *dir;
    const char *url;
    int64_t recipients;
    unsigned sink_port;
    int threads;
};

struct setup_out {
    char account_id[PB_ID_LEN + 1];
    char campaign_id[MODES][PB_ID_LEN + 1];
    size_t message_bytes[MODES]; /* of the sample message, as composed */
    double seconds;              /* writing the contacts */
};

static const char *const first_names[] = {
    "Jan",     "Marie",     "Pieter", "Sofie",     "Lucas",  "Emma",  "Thomas",  "Zoë",
    "Louis",   "Julie",     "Noah",   "Françoise", "Arthur", "Lotte", "Wouter",  "Hélène",
    "Liam",    "Charlotte", "Bram",   "Anouk",     "Jef",    "Elise", "Maarten", "Nina",
    "Olivier", "Sarah",     "Kobe",   "Inès",      "Mathis", "Fien",  "Dries",   "Amélie"};
static const char *const last_names[] = {
    "Peeters",  "Janssens", "Maes",    "Jacobs",   "Mertens",   "Willems",  "Claes",
    "Goossens", "Wouters",  "De Smet", "Dubois",   "Lambert",   "Dupont",   "Van den Broeck",
    "Desmet",   "Leclercq", "Hermans", "Pauwels",  "Van Damme", "Michiels", "Lemaire",
    "Martens",  "Coppens",  "Stevens", "Fontaine", "Müller",    "Nuñez"};
static const char *const cities[] = {"Gent",  "Antwerpen", "Brussel",  "Leuven",  "Brugge",
                                     "Liège", "Namur",     "Mechelen", "Hasselt", "Kortrijk",
                                     "Aalst", "Charleroi", "Oostende", "Genk",    "Mons"};
static const char *const domains[] = {"gmail.com", "telenet.be", "skynet.be", "outlook.com",
                                      "example.org"};

#define COUNT(a) ((int64_t)(sizeof(a) / sizeof(a[0])))

/* Person i: the same names and address every run. */
static void
person(int64_t i, const char **first, const char **last, const char **city, char email[64])
{
    *first = first_names[i % COUNT(first_names)];
    *last = last_names[(i / COUNT(first_names)) % COUNT(last_names)];
    *city = cities[(i * 7) % COUNT(cities)];
    char local[32];
    size_t k = 0;
    for (const char *p = *last; *p != '\0' && k < 20; p++)
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
            local[k++] = (char)(*p | 0x20);
    local[k] = '\0';
    snprintf(email, 64, "%c.%s%lld@%s", (char)('a' + i % 26), local, (long long)i,
             domains[i % COUNT(domains)]);
}

static void
append_or_die(struct pb_buf *b, enum pb_err err)
{
    if (err != PB_ERR_OK)
        die("template", "does not fit (%zu bytes)", b->len);
}

static const char *const links[] = {
    "https://shop.example.com/spring?utm_source=newsletter&amp;utm_campaign=spring",
    "https://shop.example.com/garden",
    "https://shop.example.com/kitchen",
    "https://www.example.com/blog/ten-plants-for-a-shady-balcony",
    "https://www.example.com/stores",
};

/* The HTML body: a newsletter of ~HTML_BYTES with merge tags and 5 distinct tracked links. */
static char *
make_html(void)
{
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    append_or_die(
        &b,
        pb_buf_append_str(
            &b,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Spring "
            "newsletter</title></head>\n<body style=\"margin:0;padding:0;background:#f4f4f4\">\n"
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\">\n"
            "<tr><td style=\"padding:24px;font-family:Arial,sans-serif\"><h1 "
            "style=\"font-size:24px;color:#1a4d2e\">Hello {{ first_name }}, spring is "
            "here!</h1></td></tr>\n"));
    for (int i = 0; b.len < HTML_BYTES; i++)
        append_or_die(
            &b,
            pb_buf_printf(
                &b,
                "<tr><td style=\"padding:16px 24px;font-family:Arial,sans-serif;font-size:15px;"
                "line-height:1.5;color:#333333\">\n<h2 style=\"font-size:18px\">Offer %d for "
                "{{ city | default: \"your town\" }}</h2>\n<p>Dear {{ first_name }} {{ last_name "
                "}}, this week our shop in {{ city | default: \"your town\" }} has 20%% off "
                "seeds, bulbs and garden tools. Café-style planters, terracotta pots and more: "
                "<a href=\"%s\" style=\"color:#1a4d2e\">see the offer</a>.</p></td></tr>\n",
                i + 1, links[i % COUNT(links)]));
    append_or_die(
        &b, pb_buf_append_str(&b, "<tr><td style=\"padding:24px;font-size:12px;color:#666666\">You "
                                  "receive this mail at {{ email }} because you subscribed. <a "
                                  "href=\"{{ unsubscribe_url }}\">Unsubscribe</a></td></tr>\n"
                                  "</table>\n</body></html>\n"));
    return b.data;
}

static char *
make_text(void)
{
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    append_or_die(&b, pb_buf_append_str(&b, "Hello {{ first_name }}, spring is here!\n\n"));
    for (int i = 0; b.len < TEXT_BYTES; i++)
        append_or_die(&b, pb_buf_printf(&b,
                                        "Offer %d for {{ city | default: \"your town\" }}\n"
                                        "Dear {{ first_name }} {{ last_name }}, this week our shop "
                                        "has 20%% off seeds, bulbs and garden tools.\nSee %s\n\n",
                                        i + 1, links[i % COUNT(links)]));
    append_or_die(&b, pb_buf_append_str(&b, "--\nUnsubscribe: {{ unsubscribe_url }}\n"));
    return b.data;
}

struct insert_ctx {
    const char *account_id;
    const char *list_id;
    int n;
    int64_t now;
    struct pb_contact contacts[SETUP_BATCH];
    pb_id_text ids[SETUP_BATCH];
    struct pb_value_ref values[SETUP_BATCH * 3];
    bool changed[SETUP_BATCH];
};

static enum pb_qs
insert_tx(struct pb_tx *tx, void *cls)
{
    struct insert_ctx *c = cls;
    enum pb_qs qs = tx->ops->contact_insert_many(tx->conn, c->contacts, c->n);
    if (qs >= 0)
        qs = tx->ops->value_put_many(tx->conn, c->account_id, c->values, c->n * 3);
    if (qs >= 0)
        qs = tx->ops->membership_subscribe_many(tx->conn, c->account_id, c->list_id,
                                                (const pb_id_text *)c->ids, c->n, NULL, c->now,
                                                c->changed);
    return qs < 0 ? qs : PB_QS_ONE;
}

static int
compare_ids(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Contacts [from, from + n): sealed addresses, 3 plain values, subscribed; one transaction. */
static void
insert_contacts(struct pb_app *app, const struct pb_data_key *key, struct insert_ctx *c,
                int64_t from, int n)
{
    c->n = n;
    c->now = pb_clock_now();
    for (int k = 0; k < n; k++)
        pb_id_new(c->ids[k]);
    /* In id order: index inserts stay local (shuffled ones are much slower on SQLite). */
    qsort(c->ids, (size_t)n, sizeof(c->ids[0]), compare_ids);
    for (int k = 0; k < n; k++) {
        const char *first, *last, *city;
        char email[64], lower[PB_EMAIL_MAX + 1], why[PB_WHY_MAX];
        person(from + k, &first, &last, &city, email);
        if (pb_email_normalize(email, PB_EMAIL_LOWER_ALL, lower, why) != PB_ERR_OK)
            die("address", "%s: %s", email, why);
        struct pb_contact *ct = &c->contacts[k];
        memset(ct, 0, sizeof(*ct));
        pb_strlcpy(ct->id, c->ids[k], sizeof(ct->id));
        pb_strlcpy(ct->account_id, c->account_id, sizeof(ct->account_id));
        char place[PB_CONTACT_PLACE_MAX];
        pb_contact_email_place(ct->account_id, ct->id, place);
        pb_data_key_seal(key, place, email, strlen(email), ct->email_sealed);
        ct->email_sealed_len = pb_sealed_len(strlen(email));
        pb_data_key_blind_index(key, "email", lower, strlen(lower), ct->email_bidx);
        ct->email_bidx_len = PB_BIDX_MAX;
        pb_strlcpy(ct->status, "active", sizeof(ct->status));
        ct->created_at = ct->updated_at = c->now;
        const char *keys[3] = {"first_name", "last_name", "city"};
        const char *texts[3] = {first, last, city};
        for (int f = 0; f < 3; f++)
            c->values[k * 3 + f] = (struct pb_value_ref){c->ids[k], keys[f], texts[f], NULL, 0};
    }
    if (pb_tenant_tx(app, c->account_id, PB_TX_WRITE, insert_tx, c) != PB_ERR_OK)
        die("set-up", "writing contacts %lld..%lld failed", (long long)from,
            (long long)(from + n - 1));
}

/* Composes the campaign's message for person 0 (contact `contact_id`) into `path`. */
static size_t
write_sample(struct pb_app *app, const struct pb_principal *who, const char *campaign_id,
             const char *contact_id, const char *path)
{
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct pb_campaign c;
    struct pb_campaign_compiled *cc = NULL;
    if (pb_campaign_get(app, who, campaign_id, true, &c) != PB_ERR_OK)
        die("sample", "cannot read the campaign");
    enum pb_err err = pb_campaign_compile(app, &c, true, &cc, &field, why);
    pb_campaign_bodies_free(&c);
    if (err != PB_ERR_OK)
        die("sample", "%s: %s", field ? field : "", why);
    struct pb_compose compose;
    if (pb_compose_init(&compose, app, cc) != PB_ERR_OK)
        die("sample", "pb_compose_init failed");
    const char *first, *last, *city;
    char email[64];
    person(0, &first, &last, &city, email);
    const char *values[PB_CAMPAIGN_VAR_FIELDS + PB_CAMPAIGN_FIELDS_MAX] = {NULL};
    for (int i = PB_CAMPAIGN_VAR_FIELDS; i < cc->nvars; i++)
        values[i] = strcmp(cc->names[i], "first_name") == 0  ? first
                    : strcmp(cc->names[i], "last_name") == 0 ? last
                    : strcmp(cc->names[i], "city") == 0      ? city
                                                             : NULL;
    struct pb_buf out;
    pb_buf_init(&out, MESSAGE_MAX);
    if (pb_compose_message(&compose, contact_id, email, values, pb_clock_now(), &out) != PB_ERR_OK)
        die("sample", "pb_compose_message failed");
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0)
        die("sample", "cannot write %s", path);
    size_t len = out.len;
    pb_buf_release(&out, 0);
    pb_compose_release(&compose);
    pb_campaign_compiled_free(cc);
    return len;
}

static void
child_setup(const void *arg, void *result)
{
    const struct setup_in *in = arg;
    struct setup_out *out = result;
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct world w;
    world_open(&w, in->dir, in->url, in->threads);
    struct pb_app *app = &w.app;

    struct pb_account account;
    if (pb_account_create(app, "Bench", "enterprise", NULL, &account, why) != PB_ERR_OK)
        die("account", "%s", why);
    struct pb_principal who;
    memset(&who, 0, sizeof(who));
    pb_strlcpy(who.account_id, account.id, sizeof(who.account_id));
    who.role = PB_ROLE_OWNER;
    who.enterprise = true;
    pb_strlcpy(out->account_id, account.id, sizeof(out->account_id));

    static const char *const keys[] = {"first_name", "last_name", "city"};
    for (int i = 0; i < 3; i++) {
        struct pb_field f, made;
        memset(&f, 0, sizeof(f));
        pb_strlcpy(f.key, keys[i], sizeof(f.key));
        pb_strlcpy(f.label, keys[i], sizeof(f.label));
        pb_strlcpy(f.type, "text", sizeof(f.type));
        if (pb_field_create(app, &who, &f, &made, &field, why) != PB_ERR_OK)
            die("field", "%s", why);
    }
    struct pb_list list;
    if (pb_list_create(app, &who, "Newsletter", NULL, false, &list, &field, why) != PB_ERR_OK)
        die("list", "%s", why);
    struct pb_relay_input relay = {.host = "127.0.0.1",
                                   .port = (int)in->sink_port,
                                   .tls = "none",
                                   .max_connections = in->threads,
                                   .rate_per_second = 0};
    if (pb_relay_put(app, &who, &relay, "127.0.0.1", &field, why) != PB_ERR_OK)
        die("relay", "%s: %s", field ? field : "", why);
    for (int m = 0; m < MODES; m++) {
        if (mode_info[m].algorithm == NULL)
            continue;
        json_t *made = NULL;
        if (pb_dkim_keys_put(app, &who, mode_info[m].domain, "pb1", mode_info[m].algorithm,
                             "127.0.0.1", &made, &field, why) != PB_ERR_OK)
            die("DKIM key", "%s: %s", field ? field : "", why);
        json_decref(made);
    }

    char *html = make_html(), *text = make_text();
    for (int m = 0; m < MODES; m++) {
        char from[128], name[64];
        snprintf(from, sizeof(from), "Garden Shop <news@%s>", mode_info[m].domain);
        snprintf(name, sizeof(name), "Spring (%c, %s)", mode_info[m].letter, mode_info[m].name);
        const char *lists[1] = {list.id};
        struct pb_campaign_input ci = {.name = name,
                                       .subject = "{{ first_name }}, our spring offers are here ✓",
                                       .from = from,
                                       .reply_to = "Garden Shop <help@shop.example.com>",
                                       .html = html,
                                       .text = text,
                                       .list_ids = lists,
                                       .list_count = 1,
                                       .rate_per_minute = 0};
        struct pb_campaign c;
        if (pb_campaign_create(app, &who, &ci, &c, &field, why) != PB_ERR_OK)
            die("campaign", "%s: %s", field ? field : "", why);
        pb_strlcpy(out->campaign_id[m], c.id, sizeof(out->campaign_id[m]));
    }
    free(html);
    free(text);

    const struct pb_data_key *key = NULL;
    if (pb_app_data_key(app, account.id, &key) != PB_ERR_OK)
        die("set-up", "no data key");
    struct insert_ctx *ic = calloc(1, sizeof(*ic));
    if (ic == NULL)
        die("set-up", "out of memory");
    ic->account_id = account.id;
    ic->list_id = list.id;
    char first_contact[PB_ID_LEN + 1] = "";
    double t0 = now_s();
    for (int64_t i = 0; i < in->recipients; i += SETUP_BATCH) {
        int n = in->recipients - i < SETUP_BATCH ? (int)(in->recipients - i) : SETUP_BATCH;
        insert_contacts(app, key, ic, i, n);
        if (i == 0)
            pb_strlcpy(first_contact, ic->ids[0], sizeof(first_contact));
    }
    out->seconds = now_s() - t0;
    free(ic);

    /*
     * The sample: person 0's message, under the first contact id (the id
     * only changes the link tokens, not the message's size).
     */
    for (int m = 0; m < MODES; m++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/sample-%c.eml", in->dir, mode_info[m].letter);
        out->message_bytes[m] = write_sample(app, &who, out->campaign_id[m], first_contact, path);
    }
    world_close(&w);
}

/* ---- one campaign sent by the sender threads ---- */

struct send_in {
    const char *dir;
    const char *url;
    const char *account_id;
    const char *campaign_id;
    int threads;
};

struct send_out {
    char state[12];
    char error[PB_WHY_MAX];
    struct pb_campaign_counters counters;
    double t_prepared; /* seconds after the send: the recipients snapshotted */
    double t_first;    /* the first message recorded as sent */
    double t_end;      /* the campaign "sent" */
    double rss_start_mib;
    double hwm_mib;
    double sqlite_hwm_mib;   /* SQLite's own heap at its peak (its page caches are most of it) */
    double rss_prepared_mib; /* RSS and its peak so far when the snapshot was complete */
    double hwm_prepared_mib;
    double rss_at_mib[4]; /* RSS when a quarter, half, three quarters, all were sent */
};

static void
child_send(const void *arg, void *result)
{
    const struct send_in *in = arg;
    struct send_out *out = result;
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct world w;
    world_open(&w, in->dir, in->url, in->threads);
    struct pb_app *app = &w.app;
    struct pb_principal who;
    memset(&who, 0, sizeof(who));
    pb_strlcpy(who.account_id, in->account_id, sizeof(who.account_id));
    who.role = PB_ROLE_OWNER;

    /* As `serve` runs them: 2 runner threads, [send] threads sender threads. */
    struct pb_runner *runner = NULL;
    struct pb_sender *sender = NULL;
    char node[32];
    snprintf(node, sizeof(node), "bench-%d", (int)getpid());
    if (pb_job_kinds_register() != PB_ERR_OK || pb_runner_start(app, node, 2, &runner) != PB_ERR_OK)
        die("runner", "cannot start");
    if (pb_sender_start(app, node, in->threads, &sender) != PB_ERR_OK)
        die("sender", "cannot start");
    out->rss_start_mib = proc_status_mib("VmRSS");

    struct pb_campaign c;
    double t0 = now_s();
    if (pb_campaign_send(app, &who, in->campaign_id, 0, &c, &field, why) != PB_ERR_OK)
        die("pb_campaign_send", "%s: %s", field ? field : "", why);
    int64_t last_sent = -1;
    double last_progress = t0;
    for (;;) {
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        if (pb_campaign_get(app, &who, in->campaign_id, false, &c) != PB_ERR_OK)
            die("campaign", "cannot read it");
        double t = now_s();
        if (c.prepared && out->t_prepared == 0) {
            out->t_prepared = t - t0;
            out->rss_prepared_mib = proc_status_mib("VmRSS");
            out->hwm_prepared_mib = proc_status_mib("VmHWM");
        }
        if (c.counters.sent > 0 && out->t_first == 0)
            out->t_first = t - t0;
        /* Memory that grows with the sending shows here as a rising line. */
        for (int q = 0; q < 4; q++)
            if (out->rss_at_mib[q] == 0 && c.counters.recipients > 0 &&
                c.counters.sent * 4 >= c.counters.recipients * (q + 1))
                out->rss_at_mib[q] = proc_status_mib("VmRSS");
        if (strcmp(c.state, "sending") != 0)
            break;
        if (c.counters.sent != last_sent || !c.prepared) {
            last_sent = c.counters.sent;
            last_progress = t;
        } else if (t - last_progress > STALL_SECONDS) {
            die("campaign", "no progress for %d s (%lld of %lld sent)", STALL_SECONDS,
                (long long)c.counters.sent, (long long)c.counters.recipients);
        }
    }
    out->t_end = now_s() - t0;
    pb_strlcpy(out->state, c.state, sizeof(out->state));
    pb_strlcpy(out->error, c.error, sizeof(out->error));
    out->counters = c.counters;
    pb_sender_stop(sender);
    pb_runner_stop(runner);
    out->hwm_mib = proc_status_mib("VmHWM");
    out->sqlite_hwm_mib = (double)sqlite3_memory_highwater(0) / MIB;
    world_close(&w);
}

/* ---- baselines ---- */

struct base_thread {
    pthread_t thread;
    enum mode mode;
    double seconds;
    unsigned port;
    const char *message;
    size_t len;
    const unsigned char *rsa_pem;
    size_t rsa_pem_len;
    const unsigned char *ed_seed;
    long done;
    double started, ended;
    char error[300];
};

static void
base_smtp(struct base_thread *b)
{
    struct pb_smtp_config cfg;
    pb_smtp_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = b->port;
    cfg.tls = PB_SMTP_TLS_NONE;
    struct pb_smtp *s = NULL;
    struct pb_smtp_error err;
    memset(&err, 0, sizeof(err));
    if (pb_smtp_connect(&cfg, &s, &err) != PB_SMTP_OK) {
        snprintf(b->error, sizeof(b->error), "connect: %s", err.text);
        return;
    }
    struct pb_smtp_result res;
    memset(&res, 0, sizeof(res));
    const char *to = "a.peeters0@example.org";
    b->started = now_s();
    double until = b->started + b->seconds;
    while (now_s() < until) {
        if (pb_smtp_send(s, "news@plain.example", &to, 1, b->message, b->len, &res) != PB_SMTP_OK) {
            snprintf(b->error, sizeof(b->error), "send: %s", res.error.text);
            break;
        }
        b->done++;
    }
    b->ended = now_s();
    pb_smtp_result_release(&res);
    pb_smtp_quit_and_free(s);
}

static void
base_rsa(struct base_thread *b)
{
    gnutls_privkey_t key;
    gnutls_datum_t pem = {(unsigned char *)b->rsa_pem, (unsigned)b->rsa_pem_len};
    if (gnutls_privkey_init(&key) < 0 ||
        gnutls_privkey_import_x509_raw(key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
        snprintf(b->error, sizeof(b->error), "cannot import the RSA key");
        return;
    }
    unsigned char digest[32];
    randombytes_buf(digest, sizeof(digest));
    b->started = now_s();
    double until = b->started + b->seconds;
    while (now_s() < until) {
        gnutls_datum_t d = {digest, sizeof(digest)}, sig = {NULL, 0};
        if (gnutls_privkey_sign_hash(key, GNUTLS_DIG_SHA256, 0, &d, &sig) < 0) {
            snprintf(b->error, sizeof(b->error), "gnutls_privkey_sign_hash failed");
            break;
        }
        gnutls_free(sig.data);
        b->done++;
    }
    b->ended = now_s();
    gnutls_privkey_deinit(key);
}

static void
base_ed25519(struct base_thread *b)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(pk, sk, b->ed_seed);
    unsigned char digest[32], sig[crypto_sign_BYTES];
    randombytes_buf(digest, sizeof(digest));
    b->started = now_s();
    double until = b->started + b->seconds;
    while (now_s() < until) {
        /* 64 signatures between clock reads: a signature takes ~60 µs. */
        for (int i = 0; i < 64; i++)
            crypto_sign_detached(sig, NULL, digest, sizeof(digest), sk);
        b->done += 64;
    }
    b->ended = now_s();
    sodium_memzero(sk, sizeof(sk));
}

static void *
base_run(void *arg)
{
    struct base_thread *b = arg;
    switch (b->mode) {
    case MODE_PLAIN:
        base_smtp(b);
        break;
    case MODE_ED25519:
        base_ed25519(b);
        break;
    case MODE_RSA:
        base_rsa(b);
        break;
    default:
        break;
    }
    return NULL;
}

struct baseline_keys {
    unsigned char *rsa_pem, *ed_seed;
    size_t rsa_len, ed_len;
    char *rsa_pub, *ed_pub;
};

/* A baseline's rate, and the CPU time an operation took here and in the sink. */
struct base_rate {
    double rate;
    double cpu_us;  /* this process, per operation */
    double sink_us; /* the sink, per operation */
};

static double
self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Operations per second of the mode's baseline on `threads` threads for `seconds`. */
static struct base_rate
baseline(enum mode m, int threads, double seconds, unsigned port, const struct pb_buf *message,
         const struct baseline_keys *k)
{
    struct base_thread *t = calloc((size_t)threads, sizeof(*t));
    if (t == NULL)
        die("baseline", "out of memory");
    double cpu0 = self_cpu_s(), sink0 = process_cpu_s(sink_pid);
    for (int i = 0; i < threads; i++) {
        t[i] = (struct base_thread){.mode = m,
                                    .seconds = seconds,
                                    .port = port,
                                    .message = message->data,
                                    .len = message->len,
                                    .rsa_pem = k->rsa_pem,
                                    .rsa_pem_len = k->rsa_len,
                                    .ed_seed = k->ed_seed};
        if (pthread_create(&t[i].thread, NULL, base_run, &t[i]) != 0)
            die("baseline", "cannot start a thread");
    }
    long done = 0;
    double first = 0, last = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i].thread, NULL);
        if (t[i].error[0] != '\0')
            die("baseline", "%s", t[i].error);
        done += t[i].done;
        if (first == 0 || t[i].started < first)
            first = t[i].started;
        if (t[i].ended > last)
            last = t[i].ended;
    }
    free(t);
    struct base_rate r = {0, 0, 0};
    if (done > 0 && last > first) {
        r.rate = (double)done / (last - first);
        r.cpu_us = (self_cpu_s() - cpu0) * 1e6 / (double)done;
        r.sink_us = (process_cpu_s(sink_pid) - sink0) * 1e6 / (double)done;
    }
    return r;
}

/* ---- the runs ---- */

struct mode_result {
    bool ran;
    double rate, base_before, base_after, ratio;
    double maxrss_mib;
    double sqlite_hwm_mib;
};

static const char *
verdict(bool met)
{
    return met ? "met" : "MISSED";
}

/* Sets up `recipients` in the store at `url` and sends each selected mode's campaign. */
static void
run_size(const struct options *o, const char *dir, const char *url, int64_t recipients,
         unsigned sink_port, const struct baseline_keys *keys, struct mode_result results[MODES])
{
    struct setup_in si = {dir, url, recipients, sink_port, o->threads};
    struct setup_out so;
    struct rusage ru;
    memset(&so, 0, sizeof(so));
    double t0 = now_s();
    run_child(child_setup, &si, &so, sizeof(so), &ru);
    printf("set-up: %lld contacts (3 fields each, one list) written in %.1f s (%.0f/s), "
           "%.1f s in all; set-up process peak RSS %.1f MiB\n",
           (long long)recipients, so.seconds, (double)recipients / so.seconds, now_s() - t0,
           (double)ru.ru_maxrss / 1024.0);
    fflush(stdout);

    struct pb_buf sample;
    pb_buf_init(&sample, MESSAGE_MAX);
    char path[1200];
    snprintf(path, sizeof(path), "%s/sample-a.eml", dir);
    FILE *f = fopen(path, "r");
    char chunk[65536];
    size_t n;
    while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (pb_buf_append(&sample, chunk, n) != PB_ERR_OK)
            die("sample", "too large");
    if (f == NULL || sample.len == 0)
        die("sample", "cannot read %s", path);
    fclose(f);

    sink_messages();      /* what came before is not ours */
    double smtp_rate = 0; /* the bare client's rate, once (a) ran */
    for (int m = 0; m < MODES; m++) {
        struct mode_result *r = &results[m];
        memset(r, 0, sizeof(*r));
        if (!o->modes[m])
            continue;
        struct base_rate before =
            baseline(m, o->threads, o->baseline_seconds, sink_port, &sample, keys);
        r->base_before = before.rate;
        int64_t base_messages = sink_messages();

        struct send_in in = {dir, url, so.account_id, so.campaign_id[m], o->threads};
        struct send_out out;
        memset(&out, 0, sizeof(out));
        double sink_cpu0 = process_cpu_s(sink_pid);
        run_child(child_send, &in, &out, sizeof(out), &ru);
        double sink_cpu = process_cpu_s(sink_pid) - sink_cpu0;
        int64_t received = sink_messages() - base_messages;

        struct base_rate after =
            baseline(m, o->threads, o->baseline_seconds, sink_port, &sample, keys);
        r->base_after = after.rate;
        sink_messages();
        const struct pb_campaign_counters *k = &out.counters;
        if (strcmp(out.state, "sent") != 0 || k->sent != recipients || k->failed != 0 ||
            k->recipients != recipients)
            die(mode_info[m].name,
                "the campaign ended %s (%s) with %lld recipients, %lld sent, %lld failed, "
                "%lld deferred; expected %lld sent",
                out.state, out.error, (long long)k->recipients, (long long)k->sent,
                (long long)k->failed, (long long)k->deferred, (long long)recipients);
        r->ran = true;
        r->rate = (double)recipients / out.t_end;
        double base = (r->base_before + r->base_after) / 2;
        r->ratio = r->rate / base;
        if (m == MODE_PLAIN)
            smtp_rate = base;
        r->maxrss_mib = (double)ru.ru_maxrss / 1024.0;
        r->sqlite_hwm_mib = out.sqlite_hwm_mib;
        double sending = out.t_end - out.t_prepared;
        double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
        double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        printf("(%c) %s: %lld messages of %zu bytes in %.1f s = %.0f msgs/s end to end; "
               "baseline %s on %d threads %.0f/s (before %.0f, after %.0f); ratio %.2f (target "
               ">= %.2f: %s)\n",
               mode_info[m].letter, mode_info[m].name, (long long)recipients, so.message_bytes[m],
               out.t_end, r->rate, mode_info[m].baseline, o->threads, base, r->base_before,
               r->base_after, r->ratio, TARGET_RATIO, verdict(r->ratio >= TARGET_RATIO));
        printf("    phases: recipients snapshotted at %.2f s, first batch recorded at %.2f s; "
               "from the snapshot to the end %.1f s = %.0f msgs/s (ratio %.2f)\n",
               out.t_prepared, out.t_first, sending, sending > 0 ? (double)recipients / sending : 0,
               sending > 0 ? (double)recipients / sending / base : 0);
        if (m != MODE_PLAIN && smtp_rate > 0) {
            /*
             * On a machine whose cores are all busy, signing and sending add
             * up: what the bare client and the bare signer make together.
             */
            double both = 1 / (1 / smtp_rate + 1 / base);
            printf("    against the bare client and signer together (1/(1/%.0f + 1/%.0f) = %.0f "
                   "msgs/s): ratio %.2f\n",
                   smtp_rate, base, both, r->rate / both);
        }
        printf("    memory: sending process peak RSS %.1f MiB (%.1f MiB when the send began; "
               "VmHWM %.1f MiB",
               r->maxrss_mib, out.rss_start_mib, out.hwm_mib);
        if (out.sqlite_hwm_mib > 0)
            printf("; SQLite's heap at its peak %.1f MiB", out.sqlite_hwm_mib);
        printf(")\n");
        printf("    RSS: %.1f MiB when the snapshot was complete (peak so far %.1f), while sending "
               "%.1f MiB at a quarter sent, %.1f at half, %.1f at three quarters, %.1f at the "
               "end\n",
               out.rss_prepared_mib, out.hwm_prepared_mib, out.rss_at_mib[0], out.rss_at_mib[1],
               out.rss_at_mib[2], out.rss_at_mib[3]);
        printf("    cpu: sending process user %.1f s + sys %.1f s, smtp-sink %.1f s, in %.1f s "
               "on %ld CPUs; the sink counted %lld messages%s\n",
               user, sys, sink_cpu, out.t_end, sysconf(_SC_NPROCESSORS_ONLN), (long long)received,
               received == recipients ? "" : " (NOT the recipients' number)");
        printf("    cpu per message: sending process %.0f µs + sink %.0f µs; baseline %.0f µs + "
               "sink %.0f µs an operation, %.2f ms an operation on each thread\n",
               (user + sys) * 1e6 / (double)recipients, sink_cpu * 1e6 / (double)recipients,
               (before.cpu_us + after.cpu_us) / 2, (before.sink_us + after.sink_us) / 2,
               1e3 * o->threads / base);
        fflush(stdout);
    }
    pb_buf_release(&sample, 0);
}

/* ---- PostgreSQL ---- */

static void
pg_exec(const char *url, const char *sql)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK)
        die("postgres", "%s", PQerrorMessage(pg));
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        die(sql, "%s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

/* Creates a fresh database on the server of `admin`; its URL in `url`, its name in `db`. */
static void
pg_create(const char *admin, char db[64], char url[PB_STORE_URL_MAX])
{
    unsigned char rnd[6];
    char hex[13], sql[128];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    snprintf(db, 64, "pbbench_%s", hex);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    pg_exec(admin, sql);
    /* The same URL with the new database's name as its path. */
    const char *scheme = strstr(admin, "://");
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    const char *query = slash ? strchr(slash, '?') : strchr(admin, '?');
    int host_len = slash ? (int)(slash - admin) : query ? (int)(query - admin) : (int)strlen(admin);
    snprintf(url, PB_STORE_URL_MAX, "%.*s/%s%s", host_len, admin, db, query ? query : "");
}

static void
pg_drop(const char *admin, const char *db)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db);
    pg_exec(admin, sql);
}

/* A store for one size: a SQLite file in its own directory, or a fresh PostgreSQL database. */
static void
make_store(const struct options *o, const char *dir, const char *name, char sub[1100],
           char url[PB_STORE_URL_MAX], char db[64])
{
    snprintf(sub, 1100, "%s/%s", dir, name);
    if (mkdir(sub, 0700) != 0)
        die("mkdir", "%s: %s", sub, strerror(errno));
    db[0] = '\0';
    if (o->pg_admin != NULL)
        pg_create(o->pg_admin, db, url);
    else
        snprintf(url, PB_STORE_URL_MAX, "sqlite:%s/postbode.db", sub);
}

/* ---- main ---- */

static void
usage(void)
{
    die("usage", "build/release/bench/send [RECIPIENTS >= 100] [postgres://...] [--modes=abc] "
                 "[--threads=N] [--compare=RECIPIENTS] [--baseline-seconds=S]");
}

static void
parse(int argc, char **argv, struct options *o)
{
    struct pb_config defaults;
    pb_config_defaults(&defaults);
    char why[PB_WHY_MAX];
    if (pb_config_load_env(&defaults, why) != PB_ERR_OK)
        die("config", "%s", why);
    *o = (struct options){.recipients = 100000,
                          .threads = defaults.send_threads,
                          .baseline_seconds = 3.0,
                          .modes = {true, true, true}};
    const char *keep = getenv("PB_BENCH_KEEP");
    o->keep = keep != NULL && strcmp(keep, "1") == 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--modes=", 8) == 0) {
            memset(o->modes, 0, sizeof(o->modes));
            for (const char *p = a + 8; *p; p++) {
                if (*p < 'a' || *p >= 'a' + MODES)
                    usage();
                o->modes[*p - 'a'] = true;
            }
        } else if (strncmp(a, "--threads=", 10) == 0) {
            o->threads = atoi(a + 10);
        } else if (strncmp(a, "--compare=", 10) == 0) {
            o->compare = strtoll(a + 10, NULL, 10);
            if (o->compare < 100)
                usage();
        } else if (strncmp(a, "--baseline-seconds=", 19) == 0) {
            o->baseline_seconds = atof(a + 19);
        } else if (strncmp(a, "postgres", 8) == 0) {
            o->pg_admin = a;
        } else if (a[0] >= '0' && a[0] <= '9') {
            o->recipients = strtoll(a, NULL, 10);
        } else {
            usage();
        }
    }
    if (o->recipients < 100 || o->threads < 1 || o->threads > PB_RELAY_MAX_CONNECTIONS ||
        o->baseline_seconds <= 0)
        usage();
}

int
main(int argc, char **argv)
{
    struct options o;
    if (sodium_init() < 0)
        die("libsodium", "cannot start");
    parse(argc, argv, &o);
    pb_log_set_level(PB_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    main_pid = getpid();
    atexit(stop_sink);

    char dir[] = "/tmp/postbode-send-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", "%s", strerror(errno));
    unsigned port = start_sink(dir);

    struct baseline_keys keys;
    memset(&keys, 0, sizeof(keys));
    if (pb_dkim_generate(PB_DKIM_RSA_SHA256, &keys.rsa_pem, &keys.rsa_len, &keys.rsa_pub) !=
            PB_ERR_OK ||
        pb_dkim_generate(PB_DKIM_ED25519_SHA256, &keys.ed_seed, &keys.ed_len, &keys.ed_pub) !=
            PB_ERR_OK)
        die("key generation", "failed");

    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("send benchmark: %lld recipients, %s, %d sender threads (relay max_connections %d), "
           "smtp-sink on 127.0.0.1:%u, in %s; load average %.2f on %ld CPUs\n",
           (long long)o.recipients, o.pg_admin != NULL ? "PostgreSQL" : "SQLite", o.threads,
           o.threads, port, dir, load[0], sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);

    char sub[1100], url[PB_STORE_URL_MAX], db[64];
    struct mode_result first[MODES], second[MODES];
    make_store(&o, dir, "run1", sub, url, db);
    run_size(&o, sub, url, o.recipients, port, &keys, first);
    if (db[0] != '\0' && !o.keep)
        pg_drop(o.pg_admin, db);
    else if (db[0] != '\0')
        printf("kept database %s\n", db);

    if (o.compare > 0) {
        printf("again with %lld recipients, for memory:\n", (long long)o.compare);
        make_store(&o, dir, "run2", sub, url, db);
        run_size(&o, sub, url, o.compare, port, &keys, second);
        if (db[0] != '\0' && !o.keep)
            pg_drop(o.pg_admin, db);
        else if (db[0] != '\0')
            printf("kept database %s\n", db);
        for (int m = 0; m < MODES; m++) {
            if (!first[m].ran || !second[m].ran)
                continue;
            double growth = second[m].maxrss_mib / first[m].maxrss_mib - 1;
            /* SQLite's page caches fill up to cache_size per connection with a bigger database. */
            double a = first[m].maxrss_mib - first[m].sqlite_hwm_mib;
            double b = second[m].maxrss_mib - second[m].sqlite_hwm_mib;
            printf("memory flatness (%c) %s: sending process peak RSS %.1f MiB at %lld, %.1f MiB "
                   "at %lld recipients: %+.1f%% (target within %.0f%%: %s); without SQLite's "
                   "heap %.1f and %.1f MiB: %+.1f%%\n",
                   mode_info[m].letter, mode_info[m].name, first[m].maxrss_mib,
                   (long long)o.recipients, second[m].maxrss_mib, (long long)o.compare,
                   100 * growth, 100 * TARGET_FLAT,
                   verdict(growth <= TARGET_FLAT && growth >= -TARGET_FLAT), a, b,
                   100 * (b / a - 1));
        }
    }

    stop_sink();
    sodium_memzero(keys.rsa_pem, keys.rsa_len);
    sodium_memzero(keys.ed_seed, keys.ed_len);
    free(keys.rsa_pem);
    free(keys.ed_seed);
    free(keys.rsa_pub);
    free(keys.ed_pub);
    if (o.keep) {
        printf("kept %s\n", dir);
    } else {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench/send: cannot remove %s\n", dir);
    }
    return 0;
}
