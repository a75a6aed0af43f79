/*
 * Benchmark (issue 5): CSV import and export of one list, on SQLite and PostgreSQL.
 *
 *   build/release/bench/import [ROWS] [POSTGRES_URL]
 *
 * Generates a CSV of ROWS rows (default 1,000,000; email and 5 fields, of
 * which phone and birth_date are sensitive), then per backend:
 *
 *   - the baseline: SQLite `sqlite3 DB .import` of the same file into a bare
 *     table of a fresh database, PostgreSQL `psql -c "\copy bare FROM ..."`;
 *   - the Postbode import in a child process (its peak RSS read by wait4):
 *     the file streamed into an upload in 256 KiB blocks, the import job run
 *     to its end in-process, its outcome checked (done, every row added);
 *   - the export of the same list as CSV to /dev/null, in the same child.
 *
 * Prints rows/second, the ratio to the baseline (target: within 3x), the
 * peak RSS (target: under 64 MiB, also checked with ROWS/4 on SQLite, so
 * that memory is seen not to grow with the file) and the database size.
 * Without POSTGRES_URL only SQLite is measured. With it, a fresh database
 * is created on that server (CREATE DATABASE on the URL given, which is
 * only used as a maintenance connection) and dropped at the end.
 * PB_BENCH_KEEP=1 keeps the temporary directory and the database.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "core/config.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/keys.h"
#include "jobs/kinds.h"
#include "jobs/runner.h"
#include "model/account.h"
#include "model/app.h"
#include "model/export.h"
#include "model/field.h"
#include "model/import.h"
#include "model/list.h"
#include "store/placement.h"

enum { BLOCK = 256 * 1024, EXPORT_CHUNK = 64 * 1024 };

#define TARGET_RATIO   3.0
#define TARGET_RSS_MIB 64.0
#define MIB            (1024.0 * 1024.0)

static void
die(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
die(const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench/import: %s: ", what);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* "476k" or "1.2M" rows/s. */
static const char *
rate(double rows, double seconds, char out[32])
{
    double r = seconds > 0 ? rows / seconds : 0;
    if (r >= 1e6)
        snprintf(out, 32, "%.2fM", r / 1e6);
    else if (r >= 1e3)
        snprintf(out, 32, "%.0fk", r / 1e3);
    else
        snprintf(out, 32, "%.0f", r);
    return out;
}

/* ---- the file ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t n)
{
    /* xorshift64*: fast and the same file every run */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32) % n;
}

#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof(a[0])))

/* ROWS data rows: unique addresses, names and cities of realistic lengths, some not ASCII. */
static void
write_csv(const char *path, int64_t rows)
{
    static const char *const first[] = {
        "Jan",     "Marie",     "Pieter", "Sofie",     "Lucas",  "Emma",  "Thomas",  "Zoë",
        "Louis",   "Julie",     "Noah",   "Françoise", "Arthur", "Lotte", "Wouter",  "Hélène",
        "Liam",    "Charlotte", "Bram",   "Anouk",     "Jef",    "Elise", "Maarten", "Nina",
        "Olivier", "Sarah",     "Kobe",   "Inès",      "Mathis", "Fien",  "Dries",   "Amélie"};
    static const char *const last[] = {
        "Peeters",    "Janssens",       "Maes",      "Jacobs",   "Mertens",  "Willems",
        "Claes",      "Goossens",       "Wouters",   "De Smet",  "Dubois",   "Lambert",
        "Dupont",     "Van den Broeck", "Vermeulen", "Desmet",   "Leclercq", "Hermans",
        "Pauwels",    "Van Damme",      "Michiels",  "Lemaire",  "Martens",  "Coppens",
        "Verstraete", "De Backer",      "Stevens",   "Fontaine", "Müller",   "Nuñez"};
    static const char *const city[] = {
        "Gent",     "Antwerpen", "Brussel",  "Leuven",       "Brugge", "Liège",     "Namur",
        "Mechelen", "Hasselt",   "Kortrijk", "Sint-Niklaas", "Aalst",  "Charleroi", "Oostende",
        "Genk",     "Mons",      "Tournai",  "Roeselare",    "Wavre",  "Arlon"};
    static const char *const domain[] = {"gmail.com",   "telenet.be",  "skynet.be",
                                         "outlook.com", "hotmail.com", "proximus.be",
                                         "yahoo.fr",    "example.org", "icloud.com"};
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die("csv", "cannot create %s: %s", path, strerror(errno));
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof(buf));
    rng_state = 0x9e3779b97f4a7c15ULL;
    fprintf(f, "email,first_name,last_name,city,phone,birth_date\n");
    for (int64_t i = 0; i < rows; i++) {
        const char *fn = first[rnd(COUNT(first))], *ln = last[rnd(COUNT(last))];
        /* the address: ascii initial, the last name without spaces, a unique number */
        char local[64];
        size_t k = 0;
        local[k++] = (char)('a' + rnd(26));
        local[k++] = '.';
        for (const char *p = ln; *p && k < 40; p++)
            if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
                local[k++] = (char)(*p | 0x20);
        local[k] = '\0';
        fprintf(f, "%s%lld@%s,%s,%s,%s,+32 4%02u %02u %02u %02u,%04u-%02u-%02u\n", local,
                (long long)i, domain[rnd(COUNT(domain))], fn, ln, city[rnd(COUNT(city))],
                70 + rnd(30), rnd(100), rnd(100), rnd(100), 1940 + rnd(66), 1 + rnd(12),
                1 + rnd(28));
    }
    if (fclose(f) != 0)
        die("csv", "cannot write %s", path);
}

/* ---- processes ---- */

struct run_out {
    double seconds;
    double maxrss_mib;
    int status;
};

/* Runs argv[0] with argv, stdin from /dev/null, stdout to /dev/null; wall time and peak RSS. */
static struct run_out
run_command(char *const argv[])
{
    struct run_out r = {0};
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        die("fork", "%s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "bench/import: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    struct rusage ru;
    if (wait4(pid, &r.status, 0, &ru) < 0)
        die("wait4", "%s", strerror(errno));
    r.seconds = now_s() - t0;
    r.maxrss_mib = (double)ru.ru_maxrss / 1024.0;
    return r;
}

/* ---- baselines ---- */

struct baseline {
    double seconds;
    double maxrss_mib;
    int64_t bytes; /* the bare database (SQLite) or table (PostgreSQL) */
};

static struct baseline
sqlite_baseline(const char *dir, const char *csv, int64_t rows)
{
    char db[1100], import[1200];
    snprintf(db, sizeof(db), "%s/bare.db", dir);
    snprintf(import, sizeof(import), ".import --csv %s bare", csv);
    char *argv[] = {"sqlite3", db, ".mode csv", import, NULL};
    struct run_out r = run_command(argv);
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        die("sqlite3 .import", "exit status %d", r.status);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_open(db, &h) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "SELECT count(*) FROM bare", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    if (n != rows)
        die("sqlite3 .import", "%lld rows in the bare table, not %lld", (long long)n,
            (long long)rows);
    struct baseline b = {r.seconds, r.maxrss_mib, file_size(db)};
    unlink(db);
    return b;
}

static PGconn *
pg_connect(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK)
        die("postgres", "%s", PQerrorMessage(pg));
    return pg;
}

static void
pg_exec(const char *url, const char *sql)
{
    PGconn *pg = pg_connect(url);
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        die(sql, "%s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

static int64_t
pg_int(const char *url, const char *sql)
{
    PGconn *pg = pg_connect(url);
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        die(sql, "%s", PQerrorMessage(pg));
    int64_t v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(pg);
    return v;
}

static struct baseline
pg_baseline(const char *url, const char *csv, int64_t rows)
{
    pg_exec(url, "CREATE TABLE bare (email text, first_name text, last_name text, city text, "
                 "phone text, birth_date text)");
    char copy[1200];
    snprintf(copy, sizeof(copy), "\\copy bare FROM '%s' WITH (FORMAT csv, HEADER)", csv);
    char *argv[] = {"psql", (char *)url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copy, NULL};
    struct run_out r = run_command(argv);
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        die("psql \\copy", "exit status %d", r.status);
    int64_t n = pg_int(url, "SELECT count(*) FROM bare");
    if (n != rows)
        die("psql \\copy", "%lld rows in the bare table, not %lld", (long long)n, (long long)rows);
    struct baseline b = {r.seconds, r.maxrss_mib,
                         pg_int(url, "SELECT pg_total_relation_size('bare')")};
    pg_exec(url, "DROP TABLE bare");
    return b;
}

/* ---- the Postbode import, in a child process ---- */

struct result {
    bool ok;
    char error[512];
    int64_t file_bytes;
    double t_upload;   /* upload begin .. pb_import_start returned */
    double t_check;    /* the job: checking the file */
    double t_batches;  /* the job: importing it batch by batch */
    double t_job;      /* pb_runner_run_job as a whole */
    int steps;         /* job steps */
    double hwm_mib;    /* VmHWM after the import (before the export) */
    int64_t db_bytes;  /* SQLite: main file after the import */
    int64_t wal_bytes; /* SQLite: its -wal */
    bool exported;
    double t_export;
    int64_t export_rows;
    int64_t export_bytes;
    /* filled by the parent: the child's whole life */
    double maxrss_mib;
    double cpu_user, cpu_sys;
};

static void
fail(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct result *r, const char *fmt, ...)
{
    if (!r->ok && r->error[0] != '\0')
        return; /* the first failure is the one to report */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
    r->ok = false;
}

static double
vm_hwm_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtod(line + 6, NULL);
    if (f != NULL)
        fclose(f);
    return kib / 1024.0;
}

struct phases {
    double start;
    double check_end; /* 0 until the first step that knows the total */
    int steps;
};

static void
on_step(void *cls, const struct pb_job *job)
{
    struct phases *p = cls;
    p->steps++;
    if (p->check_end == 0 && job->progress_total > 0)
        p->check_end = now_s();
}

struct setup {
    struct pb_principal who;
    char list_id[PB_ID_LEN + 1];
};

static bool
setup_account(struct pb_app *app, struct setup *s, struct result *r)
{
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    struct pb_account account;
    memset(s, 0, sizeof(*s));
    if (pb_account_create(app, "Bench", "enterprise", NULL, &account, why) != PB_ERR_OK) {
        fail(r, "account: %s", why);
        return false;
    }
    pb_strlcpy(s->who.account_id, account.id, sizeof(s->who.account_id));
    s->who.role = PB_ROLE_OWNER;
    s->who.enterprise = true;
    static const char *const keys[] = {"first_name", "last_name", "city", "phone", "birth_date"};
    static const char *const types[] = {"text", "text", "text", "text", "date"};
    for (int i = 0; i < 5; i++) {
        struct pb_field in, out;
        memset(&in, 0, sizeof(in));
        pb_strlcpy(in.key, keys[i], sizeof(in.key));
        pb_strlcpy(in.label, keys[i], sizeof(in.label));
        pb_strlcpy(in.type, types[i], sizeof(in.type));
        in.sensitive = i >= 3; /* phone and birth_date */
        if (pb_field_create(app, &s->who, &in, &out, &field, why) != PB_ERR_OK) {
            fail(r, "field %s: %s", keys[i], why);
            return false;
        }
    }
    struct pb_list list;
    if (pb_list_create(app, &s->who, "Newsletter", NULL, true, &list, &field, why) != PB_ERR_OK) {
        fail(r, "list: %s", why);
        return false;
    }
    pb_strlcpy(s->list_id, list.id, sizeof(s->list_id));
    return true;
}

/* The file into an upload, the import started: its id into `id`. */
static bool
upload(struct pb_app *app, struct setup *s, const char *csv, char id[PB_ID_LEN + 1],
       struct result *r)
{
    char why[PB_WHY_MAX] = "";
    const char *field = NULL;
    FILE *f = fopen(csv, "rb");
    if (f == NULL) {
        fail(r, "cannot open %s: %s", csv, strerror(errno));
        return false;
    }
    struct pb_import_upload *up = NULL;
    enum pb_err err = pb_import_upload_begin(app, s->who.account_id, &up);
    static unsigned char block[BLOCK];
    while (err == PB_ERR_OK) {
        size_t n = fread(block, 1, sizeof(block), f);
        if (n > 0)
            err = pb_import_upload_write(up, block, n, why);
        if (n < sizeof(block))
            break;
    }
    fclose(f);
    if (err != PB_ERR_OK) {
        fail(r, "upload: %s", why[0] ? why : pb_err_hint(err));
        pb_import_upload_free(up, true);
        return false;
    }
    r->file_bytes = pb_import_upload_size(up);
    struct pb_consent_input consent = {.basis = "consent", .description = "bench"};
    struct pb_import_request in = {.list_count = 1, .consent = &consent};
    in.list_ids[0] = s->list_id;
    struct pb_consent_origin origin = {PB_CHANNEL_CLI, "cli", NULL, NULL};
    err = pb_import_start(app, &s->who, up, &in, &origin, id, &field, why);
    pb_import_upload_free(up, err != PB_ERR_OK);
    if (err != PB_ERR_OK) {
        fail(r, "pb_import_start: %s%s%s", field ? field : "", field ? ": " : "",
             why[0] ? why : pb_err_hint(err));
        return false;
    }
    return true;
}

/* The outcome must be: done, every row added. */
static void
check_outcome(struct pb_app *app, struct setup *s, const char *id, int64_t rows, struct result *r)
{
    json_t *out = NULL;
    if (pb_import_get_json(app, s->who.account_id, id, 0, 5, &out) != PB_ERR_OK) {
        fail(r, "pb_import_get_json failed");
        return;
    }
    const char *state = json_string_value(json_object_get(out, "state"));
    json_int_t added = json_integer_value(json_object_get(json_object_get(out, "counts"), "added"));
    if (state == NULL || strcmp(state, "done") != 0 || added != rows) {
        char *text = json_dumps(out, JSON_COMPACT);
        fail(r, "the import is not what it should be (state done, %lld added): %.400s",
             (long long)rows, text ? text : "?");
        free(text);
    }
    json_decref(out);
}

static void
export_list(struct pb_app *app, struct setup *s, int64_t rows, struct result *r)
{
    static char buf[EXPORT_CHUNK];
    struct pb_export_params params = {.account_id = s->who.account_id,
                                      .list_id = s->list_id,
                                      .format = PB_EXPORT_CSV,
                                      .reveal = true,
                                      .actor = "cli"};
    struct pb_export *x = NULL;
    int null = open("/dev/null", O_WRONLY);
    double t0 = now_s();
    enum pb_err err = pb_export_open(app, &params, &x);
    if (err != PB_ERR_OK || null < 0) {
        fail(r, "pb_export_open: %s", pb_err_hint(err));
        if (null >= 0)
            close(null);
        return;
    }
    for (;;) {
        size_t got = 0;
        if ((err = pb_export_read(x, buf, sizeof(buf), &got)) != PB_ERR_OK || got == 0)
            break;
        if (write(null, buf, got) != (ssize_t)got) {
            err = PB_ERR_IO;
            break;
        }
        r->export_bytes += (int64_t)got;
    }
    bool complete = false;
    enum pb_err audit = pb_export_close(x, &r->export_rows, &complete);
    r->t_export = now_s() - t0;
    close(null);
    r->exported = true;
    if (err != PB_ERR_OK || audit != PB_ERR_OK || !complete || r->export_rows != rows)
        fail(r, "export: %s, %lld rows of %lld, %s", pb_err_hint(err != PB_ERR_OK ? err : audit),
             (long long)r->export_rows, (long long)rows, complete ? "complete" : "incomplete");
}

/* In the child: opens the app on `url`, imports `csv` into a new account's public list. */
static void
child_import(const char *dir, const char *url, const char *sqlite_path, const char *csv,
             int64_t rows, bool do_export, struct result *r)
{
    char why[PB_WHY_MAX] = "";
    struct pb_config config;
    pb_config_defaults(&config);
    pb_strlcpy(config.data_dir, dir, sizeof(config.data_dir));
    pb_strlcpy(config.store_url, url, sizeof(config.store_url));
    if (pb_config_finish(&config, why) != PB_ERR_OK) {
        fail(r, "config: %s", why);
        return;
    }
    setenv("POSTBODE_MASTER_KEY",
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    struct pb_keys *keys = NULL;
    struct pb_store *store = NULL;
    struct pb_placement *placement = NULL;
    int from, to;
    if (pb_keys_load(config.master_key_file, &keys, why) != PB_ERR_OK ||
        pb_store_open(url, 2, &store, why) != PB_ERR_OK ||
        pb_store_migrate(store, &from, &to, why) != PB_ERR_OK) {
        fail(r, "store: %s", why);
        return;
    }
    if (pb_placement_ensure_local(store) != PB_ERR_OK ||
        pb_placement_new(store, 2, &placement) != PB_ERR_OK) {
        fail(r, "placement: failed");
        return;
    }
    struct pb_app app;
    if (pb_app_init(&app, &config, store, placement, keys) != PB_ERR_OK) {
        fail(r, "app: failed");
        return;
    }
    if (pb_job_kinds_register() != PB_ERR_OK) {
        fail(r, "pb_job_kinds_register failed");
        return;
    }

    struct setup s;
    char id[PB_ID_LEN + 1];
    r->ok = true;
    if (!setup_account(&app, &s, r))
        goto out;
    double t0 = now_s();
    if (!upload(&app, &s, csv, id, r))
        goto out;
    double t1 = now_s();
    r->t_upload = t1 - t0;
    struct phases ph = {t1, 0, 0};
    bool ran = false;
    char owner[PB_JOB_OWNER_MAX + 1];
    snprintf(owner, sizeof(owner), "bench-%d", (int)getpid());
    enum pb_err err = pb_runner_run_job(&app, s.who.account_id, id, owner, on_step, &ph, &ran);
    double t2 = now_s();
    if (err != PB_ERR_OK || !ran) {
        fail(r, "pb_runner_run_job: %s%s", pb_err_hint(err), ran ? "" : " (the job was not run)");
        goto out;
    }
    r->t_job = t2 - t1;
    r->t_check = (ph.check_end > 0 ? ph.check_end : t2) - t1;
    r->t_batches = t2 - (ph.check_end > 0 ? ph.check_end : t2);
    r->steps = ph.steps;
    r->hwm_mib = vm_hwm_mib();
    check_outcome(&app, &s, id, rows, r);
    if (!r->ok)
        goto out;
    if (sqlite_path != NULL) {
        char wal[1100];
        snprintf(wal, sizeof(wal), "%s-wal", sqlite_path);
        r->db_bytes = file_size(sqlite_path);
        r->wal_bytes = file_size(wal);
    }
    if (do_export)
        export_list(&app, &s, rows, r);
out:
    pb_app_release(&app);
    pb_placement_free(placement);
    pb_store_close(store);
    pb_keys_free(keys);
}

/* Runs child_import in a child process; its result, with its peak RSS. */
static struct result
postbode_import(const char *dir, const char *url, const char *sqlite_path, const char *csv,
                int64_t rows, bool do_export)
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
        static struct result r;
        memset(&r, 0, sizeof(r));
        child_import(dir, url, sqlite_path, csv, rows, do_export, &r);
        ssize_t w = write(fds[1], &r, sizeof(r));
        _exit(w == (ssize_t)sizeof(r) ? 0 : 3);
    }
    close(fds[1]);
    struct result r;
    memset(&r, 0, sizeof(r));
    size_t got = 0;
    while (got < sizeof(r)) {
        ssize_t n = read(fds[0], (char *)&r + got, sizeof(r) - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        die("wait4", "%s", strerror(errno));
    if (WIFSIGNALED(status))
        die("postbode import", "the child process was killed by signal %d (%s)", WTERMSIG(status),
            strsignal(WTERMSIG(status)));
    if (got != sizeof(r) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("postbode import", "the child process failed (exit status %d)", WEXITSTATUS(status));
    if (!r.ok)
        die("postbode import", "%s", r.error);
    r.maxrss_mib = (double)ru.ru_maxrss / 1024.0;
    r.cpu_user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    r.cpu_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return r;
}

/* ---- the report ---- */

static void
report(const char *backend, const char *baseline_name, int64_t rows, const struct baseline *b,
       const struct result *r, int64_t db_bytes)
{
    char r1[32], r2[32], r3[32], r4[32];
    double total = r->t_upload + r->t_job;
    double ratio = total / b->seconds;
    double peak = r->maxrss_mib > r->hwm_mib ? r->maxrss_mib : r->hwm_mib;
    printf("%s: baseline %s %lld rows %.1f s (%s rows/s); postbode import %.1f s (%s rows/s) = "
           "%.1fx baseline (target %.0fx: %s); peak RSS %.0f MiB; db %.0f MiB; export %s rows/s\n",
           backend, baseline_name, (long long)rows, b->seconds, rate((double)rows, b->seconds, r1),
           total, rate((double)rows, total, r2), ratio, TARGET_RATIO,
           ratio <= TARGET_RATIO ? "met" : "MISSED", peak, (double)db_bytes / MIB,
           rate((double)r->export_rows, r->t_export, r3));
    printf("  import phases: upload %.1f s, job %.1f s (check %.1f s, %d steps, batches %.1f s = "
           "%s rows/s)\n",
           r->t_upload, r->t_job, r->t_check, r->steps, r->t_batches,
           rate((double)rows, r->t_batches, r4));
    printf("  memory: peak RSS %.1f MiB after the import, %.1f MiB with the export "
           "(baseline process %.1f MiB)\n",
           r->hwm_mib, peak, b->maxrss_mib);
    printf("  cpu of the postbode process (import and export): user %.1f s, sys %.1f s\n",
           r->cpu_user, r->cpu_sys);
    printf("  export: %lld rows, %.1f MiB of CSV in %.2f s\n", (long long)r->export_rows,
           (double)r->export_bytes / MIB, r->t_export);
    printf("  size: postbode %.1f MiB = %.1fx the bare %s (%.1f MiB)\n", (double)db_bytes / MIB,
           (double)db_bytes / (double)b->bytes,
           strcmp(backend, "sqlite") == 0 ? "database" : "table", (double)b->bytes / MIB);
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    int64_t rows = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000000;
    const char *pg_admin = argc > 2 ? argv[2] : NULL;
    if (rows < 100 || argc > 3 || sodium_init() < 0)
        die("usage", "bench/import [ROWS >= 100] [POSTGRES_URL]");
    if (pg_admin != NULL && strncmp(pg_admin, "postgres", 8) != 0)
        die("usage", "POSTGRES_URL is postgres://...");
    pb_log_set_level(PB_LOG_WARN);
    bool keep = getenv("PB_BENCH_KEEP") != NULL && strcmp(getenv("PB_BENCH_KEEP"), "1") == 0;
    char dir[] = "/tmp/postbode-import-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", "%s", strerror(errno));

    /* The files: ROWS rows, and ROWS/4 for the memory check. */
    char csv[1100], csv_quarter[1100];
    int64_t quarter = rows / 4;
    snprintf(csv, sizeof(csv), "%s/contacts.csv", dir);
    snprintf(csv_quarter, sizeof(csv_quarter), "%s/contacts-quarter.csv", dir);
    double t0 = now_s();
    write_csv(csv, rows);
    write_csv(csv_quarter, quarter);
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("import benchmark: %lld rows (email + 5 fields, 2 sensitive), CSV %.1f MiB "
           "(generated in %.1f s) in %s; load average %.2f on %ld CPUs\n",
           (long long)rows, (double)file_size(csv) / MIB, now_s() - t0, dir, load[0],
           sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);

    /* SQLite. */
    {
        struct baseline b = sqlite_baseline(dir, csv, rows);
        char sub[1100], url[1200], path[1200];
        snprintf(sub, sizeof(sub), "%s/sqlite-full", dir);
        if (mkdir(sub, 0700) != 0)
            die("mkdir", "%s", strerror(errno));
        snprintf(path, sizeof(path), "%s/postbode.db", sub);
        snprintf(url, sizeof(url), "sqlite:%s", path);
        struct result r = postbode_import(sub, url, path, csv, rows, true);
        report("sqlite", ".import", rows, &b, &r, r.db_bytes + r.wal_bytes);
        printf("  db files: %.1f MiB + %.1f MiB -wal\n", (double)r.db_bytes / MIB,
               (double)r.wal_bytes / MIB);

        snprintf(sub, sizeof(sub), "%s/sqlite-quarter", dir);
        if (mkdir(sub, 0700) != 0)
            die("mkdir", "%s", strerror(errno));
        snprintf(path, sizeof(path), "%s/postbode.db", sub);
        snprintf(url, sizeof(url), "sqlite:%s", path);
        struct result q = postbode_import(sub, url, path, csv_quarter, quarter, false);
        bool flat = r.hwm_mib < TARGET_RSS_MIB && q.hwm_mib < TARGET_RSS_MIB &&
                    r.maxrss_mib < TARGET_RSS_MIB;
        char r1[32];
        printf("  memory flatness: import peak RSS %.1f MiB at %lld rows, %.1f MiB at %lld rows "
               "(%.1f s, %s rows/s); target < %.0f MiB: %s\n",
               r.hwm_mib, (long long)rows, q.hwm_mib, (long long)quarter, q.t_upload + q.t_job,
               rate((double)quarter, q.t_upload + q.t_job, r1), TARGET_RSS_MIB,
               flat ? "met" : "MISSED");
        fflush(stdout);
    }

    /* PostgreSQL, in a database of its own. */
    if (pg_admin != NULL) {
        unsigned char rnd_bytes[6];
        char hex[13], db[64], sql[128], url[PB_STORE_URL_MAX];
        randombytes_buf(rnd_bytes, sizeof(rnd_bytes));
        sodium_bin2hex(hex, sizeof(hex), rnd_bytes, sizeof(rnd_bytes));
        snprintf(db, sizeof(db), "pbbench_%s", hex);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
        pg_exec(pg_admin, sql);
        /* The same URL with the new database's name as its path. */
        const char *scheme = strstr(pg_admin, "://");
        const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
        const char *query = slash ? strchr(slash, '?') : strchr(pg_admin, '?');
        int host_len = slash   ? (int)(slash - pg_admin)
                       : query ? (int)(query - pg_admin)
                               : (int)strlen(pg_admin);
        snprintf(url, sizeof(url), "%.*s/%s%s", host_len, pg_admin, db, query ? query : "");

        struct baseline b = pg_baseline(url, csv, rows);
        char sub[1100];
        snprintf(sub, sizeof(sub), "%s/postgres", dir);
        if (mkdir(sub, 0700) != 0)
            die("mkdir", "%s", strerror(errno));
        struct result r = postbode_import(sub, url, NULL, csv, rows, true);
        int64_t size = pg_int(url, "SELECT pg_database_size(current_database())");
        report("postgres", "COPY", rows, &b, &r, size);
        if (keep) {
            printf("  kept database %s\n", db);
        } else {
            snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db);
            pg_exec(pg_admin, sql);
        }
    }

    if (keep) {
        printf("kept %s\n", dir);
    } else {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench/import: cannot remove %s\n", dir);
    }
    return 0;
}
