/*
 * postbode import --account ID --list ID[,ID...] --basis BASIS --source TEXT
 *                 [--evidence FILE]... [--mode add|upsert] [--override-suppression] FILE.csv
 *
 * Stores the file as an import, like POST /imports does, then runs the
 * import job here (a server sharing the database would run it just as
 * well), with a progress bar on a terminal; prints the outcome and the
 * rejected lines.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/file.h"
#include "core/strutil.h"
#include "jobs/kinds.h"
#include "jobs/runner.h"
#include "model/account.h"
#include "model/evidence.h"
#include "model/import.h"

static const char usage[] = "postbode import --account ID --list ID[,ID...] --basis BASIS "
                            "--source \"how obtained\" [--evidence FILE]... [--mode add|upsert] "
                            "[--override-suppression] FILE.csv";

enum { READ_BLOCK = 256 * 1024, EVIDENCE_MAX_FILE = 10 * 1024 * 1024, REJECTS_SHOWN = 20 };

/* Takes every "--evidence FILE" out of argv (the option parser keeps one value per option). */
static int
take_evidence(int *argc, char **argv, const char *files[PB_STATEMENT_EVIDENCE], int *count)
{
    int out = 0;
    *count = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--evidence") == 0) {
            if (i + 1 >= *argc) {
                pb_cli_error("import", "--evidence needs a FILE (usage: %s)", usage);
                return PB_EXIT_USAGE;
            }
            if (*count == PB_STATEMENT_EVIDENCE) {
                pb_cli_error("import", "at most %d --evidence files", PB_STATEMENT_EVIDENCE);
                return PB_EXIT_USAGE;
            }
            files[(*count)++] = argv[++i];
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    return PB_EXIT_OK;
}

/* Stores each evidence image; their ids into `ids`. */
static int
store_evidence(struct pb_app *app, const struct pb_principal *who, const char *const *files,
               int count, char ids[PB_STATEMENT_EVIDENCE][PB_ID_LEN + 1])
{
    for (int i = 0; i < count; i++) {
        char why[PB_WHY_MAX] = "", *data = NULL;
        size_t len = 0;
        struct pb_evidence ev;
        bool existed = false;
        enum pb_err err = pb_file_read_small(files[i], EVIDENCE_MAX_FILE, &data, &len, why);
        if (err == PB_ERR_OK)
            err = pb_evidence_store(app, who, (const unsigned char *)data, len, &ev, &existed, why);
        free(data);
        if (err != PB_ERR_OK) {
            pb_cli_error("import", "evidence %s: %s", files[i], why[0] ? why : pb_err_hint(err));
            return PB_EXIT_FAIL;
        }
        pb_strlcpy(ids[i], ev.id, PB_ID_LEN + 1);
    }
    return PB_EXIT_OK;
}

/* Copies the CSV file into a new upload. */
static int
upload_file(struct pb_app *app, const char *account_id, const char *path,
            struct pb_import_upload **out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        pb_cli_error("import", "cannot open %s: %s", path, strerror(errno));
        return PB_EXIT_FAIL;
    }
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_import_upload_begin(app, account_id, out);
    unsigned char *block = malloc(READ_BLOCK);
    if (block == NULL)
        err = PB_ERR_NOMEM;
    while (err == PB_ERR_OK) {
        size_t n = fread(block, 1, READ_BLOCK, f);
        if (n > 0)
            err = pb_import_upload_write(*out, block, n, why);
        if (n < READ_BLOCK)
            break;
    }
    bool read_failed = ferror(f) != 0;
    free(block);
    if (f != stdin)
        fclose(f);
    if (err == PB_ERR_OK && read_failed) {
        pb_cli_error("import", "cannot read %s", path);
        return PB_EXIT_FAIL;
    }
    if (err != PB_ERR_OK) {
        pb_cli_error("import", "%s: %s", path, why[0] ? why : pb_err_hint(err));
        return PB_EXIT_FAIL;
    }
    return PB_EXIT_OK;
}

/* A progress bar on stderr, redrawn after every batch when stderr is a terminal. */
static void
show_progress(void *cls, const struct pb_job *job)
{
    (void)cls;
    if (job->progress_total <= 0) {
        fprintf(stderr, "\rchecking the file...");
        fflush(stderr);
        return;
    }
    int width = 40;
    int filled = (int)(job->progress_done * width / job->progress_total);
    fprintf(stderr, "\rimporting [%.*s%*s] %3d%%  %lld/%lld rows", filled,
            "========================================", width - filled, "",
            (int)(job->progress_done * 100 / job->progress_total), (long long)job->progress_done,
            (long long)job->progress_total);
    fflush(stderr);
}

/* Waits for a job another process runs (a server took it first). */
static enum pb_err
wait_elsewhere(struct pb_app *app, const char *account_id, const char *id, bool tty)
{
    for (;;) {
        json_t *out = NULL;
        enum pb_err err = pb_import_get_json(app, account_id, id, 0, 1, &out);
        if (err != PB_ERR_OK)
            return err;
        const char *state = json_string_value(json_object_get(out, "state"));
        bool over = state != NULL && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0);
        if (tty && !over) {
            struct pb_job job = {0};
            job.progress_done = json_integer_value(json_object_get(out, "rows_done"));
            job.progress_total = json_integer_value(json_object_get(out, "rows_total"));
            show_progress(NULL, &job);
        }
        json_decref(out);
        if (over)
            return PB_ERR_OK;
        struct timespec pause = {0, 300 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static void
print_outcome(json_t *out)
{
    json_t *counts = json_object_get(out, "counts");
    printf("import %s %s: %lld rows; added %lld, updated %lld, skipped %lld, invalid %lld, "
           "duplicates %lld, suppressed %lld\n",
           json_string_value(json_object_get(out, "id")),
           json_string_value(json_object_get(out, "state")),
           (long long)json_integer_value(json_object_get(out, "rows_total")),
           (long long)json_integer_value(json_object_get(counts, "added")),
           (long long)json_integer_value(json_object_get(counts, "updated")),
           (long long)json_integer_value(json_object_get(counts, "skipped")),
           (long long)json_integer_value(json_object_get(counts, "invalid")),
           (long long)json_integer_value(json_object_get(counts, "duplicates")),
           (long long)json_integer_value(json_object_get(counts, "suppressed")));
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(out, "rejects"), i, r)
        printf("  line %lld: %s\n", (long long)json_integer_value(json_object_get(r, "line")),
               json_string_value(json_object_get(r, "reason")));
    if (json_is_string(json_object_get(out, "next_cursor")))
        printf("  ... more rejected lines: GET /api/v1/imports/%s\n",
               json_string_value(json_object_get(out, "id")));
}

int
pb_cmd_import(int argc, char **argv)
{
    const char *evidence_files[PB_STATEMENT_EVIDENCE];
    int evidence_count = 0;
    int rc = take_evidence(&argc, argv, evidence_files, &evidence_count);
    if (rc != PB_EXIT_OK)
        return rc;
    struct pb_cli_common common;
    const char *account = NULL, *lists = NULL, *basis = NULL, *source = NULL, *mode = NULL;
    const char *path = NULL;
    bool override = false;
    const struct pb_cli_opt opts[] = {{"--account", "ID", &account, NULL},
                                      {"--list", "ID", &lists, NULL},
                                      {"--basis", "BASIS", &basis, NULL},
                                      {"--source", "TEXT", &source, NULL},
                                      {"--mode", "add|upsert", &mode, NULL},
                                      {"--override-suppression", NULL, NULL, &override},
                                      {0}};
    rc = pb_cli_parse("import", usage, argc, argv, &common, opts, &path, 1, 1);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if (account == NULL || lists == NULL) {
        pb_cli_error("import", "--account and --list are required (usage: %s)", usage);
        return PB_EXIT_USAGE;
    }
    struct pb_config config;
    if ((rc = pb_cli_load_config("import", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;
    struct pb_cli_app cli;
    if ((rc = pb_cli_open_app("import", &config, &cli)) != PB_EXIT_OK)
        return rc;

    struct pb_import_upload *up = NULL;
    json_t *outcome = NULL;
    char *list_copy = strdup(lists);
    struct pb_account acc;
    struct pb_principal who;
    memset(&who, 0, sizeof(who));
    enum pb_err err = pb_account_get(&cli.app, account, &acc);
    if (err != PB_ERR_OK || list_copy == NULL) {
        pb_cli_error("import", "%s",
                     err == PB_ERR_NOT_FOUND ? "no account with that id" : pb_err_hint(err));
        rc = PB_EXIT_FAIL;
        goto out;
    }
    pb_strlcpy(who.account_id, account, sizeof(who.account_id));
    who.role = PB_ROLE_OWNER;
    who.enterprise = strcmp(acc.plan, "enterprise") == 0;

    struct pb_import_request in;
    struct pb_consent_input consent;
    char evidence_ids[PB_STATEMENT_EVIDENCE][PB_ID_LEN + 1];
    memset(&in, 0, sizeof(in));
    memset(&consent, 0, sizeof(consent));
    for (char *save = NULL, *tok = strtok_r(list_copy, ",", &save);
         tok != NULL && in.list_count < PB_CONTACT_LISTS_MAX; tok = strtok_r(NULL, ",", &save))
        in.list_ids[in.list_count++] = tok;
    if ((rc = store_evidence(&cli.app, &who, evidence_files, evidence_count, evidence_ids)) !=
        PB_EXIT_OK)
        goto out;
    consent.basis = basis;
    consent.description = source;
    for (int i = 0; i < evidence_count; i++)
        consent.evidence_ids[i] = evidence_ids[i];
    consent.evidence_count = evidence_count;
    if (basis != NULL || source != NULL || evidence_count > 0)
        in.consent = &consent;
    in.mode = mode;
    in.override_suppression = override; /* the operator acts as an owner */

    if ((rc = upload_file(&cli.app, account, path, &up)) != PB_EXIT_OK)
        goto out;
    struct pb_consent_origin origin = {PB_CHANNEL_CLI, "cli", NULL, NULL};
    char id[PB_ID_LEN + 1], why[PB_WHY_MAX] = "";
    const char *field = NULL;
    if ((err = pb_import_start(&cli.app, &who, up, &in, &origin, id, &field, why)) != PB_ERR_OK) {
        pb_import_upload_free(up, true);
        up = NULL;
        pb_cli_error("import", "%s%s%s", field ? field : "", field ? ": " : "",
                     why[0] ? why : pb_err_hint(err));
        rc = PB_EXIT_FAIL;
        goto out;
    }
    pb_import_upload_free(up, false);
    up = NULL;

    bool tty = isatty(STDERR_FILENO) != 0 && !common.json;
    char owner[PB_JOB_OWNER_MAX + 1];
    snprintf(owner, sizeof(owner), "cli-%d", (int)getpid());
    bool ran = false;
    err = pb_job_kinds_register();
    if (err == PB_ERR_OK)
        err =
            pb_runner_run_job(&cli.app, account, id, owner, tty ? show_progress : NULL, NULL, &ran);
    if (err == PB_ERR_OK && !ran)
        err = wait_elsewhere(&cli.app, account, id, tty);
    if (tty)
        fprintf(stderr, "\n");
    if (err == PB_ERR_OK)
        err = pb_import_get_json(&cli.app, account, id, 0, REJECTS_SHOWN, &outcome);
    if (err != PB_ERR_OK) {
        pb_cli_error("import", "import %s: %s", id, pb_err_hint(err));
        rc = PB_EXIT_FAIL;
        goto out;
    }
    const char *state = json_string_value(json_object_get(outcome, "state"));
    if (common.json) {
        char *text = json_dumps(outcome, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
    } else {
        print_outcome(outcome);
    }
    if (state == NULL || strcmp(state, "done") != 0) {
        const char *error = json_string_value(json_object_get(outcome, "error"));
        pb_cli_error("import", "the import failed: %s", error ? error : "unknown reason");
        rc = PB_EXIT_FAIL;
    }
out:
    json_decref(outcome);
    pb_import_upload_free(up, true);
    free(list_copy);
    pb_cli_close_app(&cli);
    return rc;
}
