/*
 * Starting an import (checking what was asked and the file's header, then
 * queuing the job) and reading its progress; the job's parameters and
 * checkpoint as JSON.
 */
#include "model/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "model/audit.h"
#include "model/import_internal.h"
#include "model/job.h"
#include "model/roles.h"
#include "model/tenant.h"

/* ---- parameters and cursor ---- */

enum pb_err
pb_import_params_encode(const struct pb_import_params *p, char out[PB_JOB_PARAMS_MAX + 1])
{
    json_t *lists = json_array(), *columns = json_array();
    for (int i = 0; i < p->list_count; i++)
        json_array_append_new(lists, json_string(p->lists[i]));
    for (int i = 0; i < p->ncolumns; i++)
        json_array_append_new(columns, json_string(p->columns[i]));
    char delimiter[2] = {p->delimiter, '\0'};
    json_t *o = json_pack("{s:o, s:s?, s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "lists", lists,
                          "statement_id", p->statement_id[0] ? p->statement_id : NULL, "mode",
                          p->upsert ? "upsert" : "add", "actor", p->actor, "channel", p->channel,
                          "delimiter", delimiter, "header_end", (json_int_t)p->header_end,
                          "header_line", (json_int_t)p->header_line, "columns", columns);
    if (o == NULL)
        return PB_ERR_NOMEM;
    /* Only when asked for: the parameters of every other import stay as they were. */
    if (p->override_suppression)
        json_object_set_new(o, "override_suppression", json_true());
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text == NULL)
        return PB_ERR_NOMEM;
    enum pb_err err = pb_strlcpy(out, text, PB_JOB_PARAMS_MAX + 1) ? PB_ERR_OK : PB_ERR_TOO_LARGE;
    free(text);
    return err;
}

enum pb_err
pb_import_params_decode(const char *text, struct pb_import_params *p)
{
    memset(p, 0, sizeof(*p));
    json_t *o = json_loads(text, 0, NULL);
    json_t *lists = NULL, *columns = NULL;
    const char *statement = NULL, *mode = "", *actor = "", *channel = "", *delimiter = "";
    json_int_t header_end = 0, header_line = 0;
    enum pb_err err = PB_ERR_INVALID;
    if (o == NULL ||
        json_unpack(o, "{s:o, s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "lists", &lists, "mode", &mode,
                    "actor", &actor, "channel", &channel, "delimiter", &delimiter, "header_end",
                    &header_end, "header_line", &header_line, "columns", &columns) != 0)
        goto out;
    /* null when no list is public: no statement */
    statement = json_string_value(json_object_get(o, "statement_id"));
    if (!json_is_array(lists) || json_array_size(lists) > PB_CONTACT_LISTS_MAX ||
        !json_is_array(columns) || json_array_size(columns) > PB_IMPORT_COLUMNS_MAX)
        goto out;
    size_t i;
    json_t *v;
    json_array_foreach(lists, i, v)
    {
        if (!json_is_string(v) || !pb_strlcpy(p->lists[i], json_string_value(v), PB_ID_LEN + 1))
            goto out;
    }
    p->list_count = (int)json_array_size(lists);
    json_array_foreach(columns, i, v)
    {
        if (!json_is_string(v) ||
            !pb_strlcpy(p->columns[i], json_string_value(v), PB_FIELD_KEY_MAX + 1))
            goto out;
    }
    p->ncolumns = (int)json_array_size(columns);
    pb_strlcpy(p->statement_id, statement ? statement : "", sizeof(p->statement_id));
    p->upsert = strcmp(mode, "upsert") == 0;
    p->override_suppression = json_is_true(json_object_get(o, "override_suppression"));
    pb_strlcpy(p->actor, actor, sizeof(p->actor));
    pb_strlcpy(p->channel, channel, sizeof(p->channel));
    p->delimiter = delimiter[0];
    p->header_end = header_end;
    p->header_line = header_line;
    err = PB_ERR_OK;
out:
    json_decref(o);
    return err;
}

void
pb_import_cursor_encode(const struct pb_import_cursor *c, char out[PB_JOB_CURSOR_MAX + 1])
{
    snprintf(out, PB_JOB_CURSOR_MAX + 1,
             "{\"phase\":\"%s\",\"offset\":%lld,\"line\":%lld,\"rows\":%lld,\"added\":%lld,"
             "\"updated\":%lld,\"skipped\":%lld,\"invalid\":%lld,\"duplicates\":%lld,"
             "\"suppressed\":%lld,\"rejects_kept\":%lld}",
             c->importing ? "import" : "check", (long long)c->offset, (long long)c->line,
             (long long)c->rows, (long long)c->added, (long long)c->updated, (long long)c->skipped,
             (long long)c->invalid, (long long)c->duplicates, (long long)c->suppressed,
             (long long)c->rejects_kept);
}

enum pb_err
pb_import_cursor_decode(const char *text, struct pb_import_cursor *c)
{
    memset(c, 0, sizeof(*c));
    if (text == NULL || text[0] == '\0')
        return PB_ERR_OK;
    json_t *o = json_loads(text, 0, NULL);
    const char *phase = "";
    json_int_t v[10] = {0};
    int rc = o == NULL
                 ? -1
                 : json_unpack(o, "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                               "phase", &phase, "offset", &v[0], "line", &v[1], "rows", &v[2],
                               "added", &v[3], "updated", &v[4], "skipped", &v[5], "invalid", &v[6],
                               "duplicates", &v[7], "suppressed", &v[8], "rejects_kept", &v[9]);
    if (rc == 0) {
        c->importing = strcmp(phase, "import") == 0;
        c->offset = v[0];
        c->line = v[1];
        c->rows = v[2];
        c->added = v[3];
        c->updated = v[4];
        c->skipped = v[5];
        c->invalid = v[6];
        c->duplicates = v[7];
        c->suppressed = v[8];
        c->rejects_kept = v[9];
    }
    json_decref(o);
    return rc == 0 ? PB_ERR_OK : PB_ERR_INVALID;
}

json_t *
pb_import_counts_json(const struct pb_import_cursor *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "added", (json_int_t)c->added, "updated",
                     (json_int_t)c->updated, "skipped", (json_int_t)c->skipped, "invalid",
                     (json_int_t)c->invalid, "duplicates", (json_int_t)c->duplicates, "suppressed",
                     (json_int_t)c->suppressed);
}

/* ---- starting ---- */

/* The account's fields, to map columns to. */
struct fields {
    struct pb_field *items;
    int count;
    int cap;
};

static void
collect_field(void *cls, const struct pb_field *f)
{
    struct fields *fs = cls;
    if (fs->count == fs->cap) {
        int cap = fs->cap ? fs->cap * 2 : 16;
        struct pb_field *items = realloc(fs->items, (size_t)cap * sizeof(*items));
        if (items == NULL)
            return;
        fs->items = items;
        fs->cap = cap;
    }
    fs->items[fs->count++] = *f;
}

struct check {
    const char *account_id;
    const struct pb_import_request *in;
    const struct pb_consent_origin *origin;
    struct fields fields;
    char statement_id[PB_ID_LEN + 1];
    const char **field;
    char *why;
};

/* Reads the fields; checks the lists; creates the statement when a new one is given. */
static enum pb_qs
check_tx(struct pb_tx *tx, void *cls)
{
    struct check *c = cls;
    c->fields.count = 0;
    c->statement_id[0] = '\0';
    enum pb_qs qs = tx->ops->field_list(tx->conn, c->account_id, collect_field, &c->fields);
    if (qs < 0)
        return qs;
    bool any_public = false;
    for (int i = 0; i < c->in->list_count; i++) {
        struct pb_list l;
        qs = pb_id_valid(c->in->list_ids[i])
                 ? tx->ops->list_get(tx->conn, c->account_id, c->in->list_ids[i], &l)
                 : PB_QS_NONE;
        if (qs < 0)
            return qs;
        if (qs == PB_QS_NONE) {
            *c->field = "list_ids";
            snprintf(c->why, PB_WHY_MAX, "no such list in this account");
            return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
        }
        any_public = any_public || l.is_public;
    }
    if (any_public && c->in->consent == NULL) {
        *c->field = "consent";
        snprintf(c->why, PB_WHY_MAX,
                 "a public list: say how the addresses were obtained (basis and description, "
                 "or statement_id)");
        return pb_tx_abort(tx, PB_ERR_CONSENT_REQUIRED);
    }
    if (c->in->consent != NULL && (qs = pb_consent_resolve_tx(tx, c->account_id, c->in->consent,
                                                              c->origin ? c->origin->actor : NULL,
                                                              c->statement_id, c->field)) < 0)
        return qs;
    return PB_QS_ONE;
}

/* Whether header cell `name` names `key` (case-insensitive; "e-mail" is "email"). */
static bool
names(const char *name, const char *key)
{
    if (strcasecmp(name, key) == 0)
        return true;
    return strcmp(key, "email") == 0 &&
           (strcasecmp(name, "e-mail") == 0 || strcasecmp(name, "email address") == 0);
}

/* Trims spaces around a header cell in place. */
static char *
trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Maps the header's cells to "email", field keys or "" (left out), as asked and by name. */
static enum pb_err
map_columns(const struct pb_csv_record *header, const struct pb_import_request *in,
            const struct fields *fs, struct pb_import_params *p, const char **field,
            char why[PB_WHY_MAX])
{
    if (header->ncells > PB_IMPORT_COLUMNS_MAX) {
        *field = "file";
        snprintf(why, PB_WHY_MAX, "the header has more than %d columns", PB_IMPORT_COLUMNS_MAX);
        return PB_ERR_INVALID;
    }
    char unknown[PB_WHY_MAX] = "";
    int email_at = -1, unknown_count = 0;
    p->ncolumns = header->ncells;
    for (int i = 0; i < header->ncells; i++) {
        char name[PB_CSV_CELL_MAX + 1];
        pb_strlcpy(name, header->cells[i], sizeof(name));
        const char *cell = trim(name);
        const char *target = NULL;
        json_t *asked = in->columns != NULL ? json_object_get(in->columns, cell) : NULL;
        if (asked != NULL) {
            if (json_is_null(asked)) {
                p->columns[i][0] = '\0';
                continue;
            }
            target = json_string_value(asked);
            bool known = target != NULL && strcmp(target, "email") == 0;
            for (int f = 0; target != NULL && !known && f < fs->count; f++)
                known = strcmp(fs->items[f].key, target) == 0;
            if (!known) {
                *field = "columns";
                snprintf(
                    why, PB_WHY_MAX,
                    "column \"%.60s\" is mapped to \"%.64s\", which is neither \"email\" nor a "
                    "field of this account",
                    cell, target ? target : "?");
                return PB_ERR_INVALID;
            }
        } else if (names(cell, "email")) {
            target = "email";
        } else {
            for (int f = 0; target == NULL && f < fs->count; f++)
                if (names(cell, fs->items[f].key))
                    target = fs->items[f].key;
        }
        if (target == NULL) {
            size_t used = strlen(unknown);
            if (unknown_count++ < 5)
                snprintf(unknown + used, sizeof(unknown) - used, "%s\"%.40s\"", used ? ", " : "",
                         cell);
            continue;
        }
        /* Two columns for one field: which one would win is anybody's guess. */
        for (int j = 0; j < i; j++)
            if (strcmp(p->columns[j], target) == 0) {
                *field = "columns";
                snprintf(why, PB_WHY_MAX, "columns %d and %d are both \"%s\"; leave one out", j + 1,
                         i + 1, target);
                return PB_ERR_INVALID;
            }
        email_at = strcmp(target, "email") == 0 ? i : email_at;
        pb_strlcpy(p->columns[i], target, sizeof(p->columns[i]));
    }
    if (unknown_count > 0) {
        *field = "columns";
        snprintf(why, PB_WHY_MAX,
                 "%d column%s match%s no field: %s%s; create the fields, or map them in "
                 "\"columns\" (null leaves a column out)",
                 unknown_count, unknown_count > 1 ? "s" : "", unknown_count > 1 ? "" : "es",
                 unknown, unknown_count > 5 ? ", ..." : "");
        return PB_ERR_FIELD_INVALID;
    }
    if (email_at < 0) {
        *field = "file";
        snprintf(why, PB_WHY_MAX, "no column is the email address (a header cell \"email\")");
        return PB_ERR_INVALID;
    }
    return PB_ERR_OK;
}

/* The audit log's entry for an import: who, into which lists, how big; never the file. */
static void
audit_start(struct pb_app *app, const struct pb_principal *who, const char *client_ip,
            const struct pb_import_params *p, int64_t bytes, const char *import_id)
{
    json_t *lists = json_array();
    for (int i = 0; i < p->list_count; i++)
        json_array_append_new(lists, json_string(p->lists[i]));
    json_t *detail = json_pack("{s:s, s:o, s:I, s:s, s:s?}", "import_id", import_id, "lists", lists,
                               "bytes", (json_int_t)bytes, "mode", p->upsert ? "upsert" : "add",
                               "statement_id", p->statement_id[0] ? p->statement_id : NULL);
    if (detail != NULL && p->override_suppression)
        json_object_set_new(detail, "override_suppression", json_true());
    char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
    enum pb_err err =
        text == NULL ? PB_ERR_NOMEM
                     : pb_audit_record(app, who->account_id, who->user_id[0] ? who->user_id : NULL,
                                       "contacts.import_started", client_ip, text);
    if (err != PB_ERR_OK)
        pb_error("import %s: the audit entry cannot be written (%s)", import_id, pb_err_hint(err));
    free(text);
    json_decref(detail);
}

/* Reads the header record of the stored upload. */
static enum pb_err
read_header(struct pb_app *app, const char *account_id, const char *id, struct pb_import_params *p,
            struct pb_import_source *src, struct pb_csv_reader **reader,
            struct pb_csv_record *header, const char **field, char why[PB_WHY_MAX])
{
    enum pb_err err = pb_import_source_init(src, app, account_id, id, 0);
    if (err == PB_ERR_OK)
        err = pb_csv_reader_new(pb_import_source_read, src, 0, 1, 0, reader);
    if (err != PB_ERR_OK)
        return err;
    *field = "file";
    err = pb_csv_next(*reader, header, why);
    if (err == PB_ERR_NOT_FOUND) {
        snprintf(why, PB_WHY_MAX, "the file is empty");
        return PB_ERR_INVALID;
    }
    if (err != PB_ERR_OK)
        return err == PB_ERR_INVALID ? err : PB_ERR_INVALID;
    if (header->problem != NULL) {
        snprintf(why, PB_WHY_MAX, "the header (line %lld): %s%s", (long long)header->line,
                 header->problem,
                 strstr(header->problem, "UTF-8") ? "; Postbode reads UTF-8: save the file as UTF-8"
                                                  : "");
        return PB_ERR_INVALID;
    }
    *field = NULL;
    p->delimiter = pb_csv_delimiter(*reader);
    p->header_end = header->end_offset;
    p->header_line = header->end_line;
    return PB_ERR_OK;
}

enum pb_err
pb_import_start(struct pb_app *app, const struct pb_principal *who, struct pb_import_upload *up,
                const struct pb_import_request *in, const struct pb_consent_origin *origin,
                char id[PB_ID_LEN + 1], const char **field, char why[PB_WHY_MAX])
{
    *field = NULL;
    if (in->list_count < 1 || in->list_count > PB_CONTACT_LISTS_MAX) {
        *field = "list_ids";
        snprintf(why, PB_WHY_MAX, "name 1 to %d lists to import into", PB_CONTACT_LISTS_MAX);
        return PB_ERR_INVALID;
    }
    if (in->mode != NULL && strcmp(in->mode, "add") != 0 && strcmp(in->mode, "upsert") != 0) {
        *field = "mode";
        snprintf(why, PB_WHY_MAX,
                 "mode is \"add\" (existing contacts are left as they are) or "
                 "\"upsert\" (their fields are updated)");
        return PB_ERR_INVALID;
    }
    if (in->columns != NULL && !json_is_object(in->columns)) {
        *field = "columns";
        snprintf(why, PB_WHY_MAX,
                 "columns is an object: header name -> \"email\", a field key or "
                 "null");
        return PB_ERR_INVALID;
    }
    if (in->override_suppression && !pb_role_allows(who->role, PB_PERM_SUPPRESSION_OVERRIDE)) {
        *field = "override_suppression";
        snprintf(why, PB_WHY_MAX, "only an owner may import suppressed addresses again");
        return PB_ERR_FORBIDDEN;
    }
    if (in->override_suppression && (in->consent == NULL || in->consent->statement_id != NULL)) {
        /* Erased people come back only on consent given anew, stated for this file. */
        *field = "consent";
        snprintf(why, PB_WHY_MAX,
                 "overriding suppressions needs a fresh consent statement for this file (basis "
                 "and description), not a statement_id");
        return PB_ERR_CONSENT_REQUIRED;
    }
    enum pb_err err = pb_import_upload_finish(up);
    if (err != PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "the upload could not be stored: %s", pb_err_hint(err));
        return err;
    }
    if (pb_import_upload_size(up) == 0) {
        *field = "file";
        snprintf(why, PB_WHY_MAX, "the file is empty");
        return PB_ERR_INVALID;
    }

    struct pb_import_params *p = calloc(1, sizeof(*p));
    struct pb_import_source *src = malloc(sizeof(*src));
    char *params = malloc(PB_JOB_PARAMS_MAX + 1);
    struct pb_csv_reader *reader = NULL;
    struct check c = {who->account_id, in, origin, {NULL, 0, 0}, "", field, why};
    if (p == NULL || src == NULL || params == NULL) {
        err = PB_ERR_NOMEM;
        goto out;
    }
    const char *account_id = who->account_id;
    const char *import_id = pb_import_upload_id(up);
    struct pb_csv_record header;
    if ((err = read_header(app, account_id, import_id, p, src, &reader, &header, field, why)) !=
        PB_ERR_OK)
        goto out;
    if ((err = pb_tenant_tx(app, account_id, PB_TX_WRITE, check_tx, &c)) != PB_ERR_OK)
        goto out;
    if ((err = map_columns(&header, in, &c.fields, p, field, why)) != PB_ERR_OK)
        goto out;
    for (int i = 0; i < in->list_count; i++)
        pb_strlcpy(p->lists[i], in->list_ids[i], sizeof(p->lists[i]));
    p->list_count = in->list_count;
    pb_strlcpy(p->statement_id, c.statement_id, sizeof(p->statement_id));
    p->upsert = in->mode != NULL && strcmp(in->mode, "upsert") == 0;
    p->override_suppression = in->override_suppression;
    pb_strlcpy(p->actor, origin && origin->actor ? origin->actor : "", sizeof(p->actor));
    pb_strlcpy(p->channel, PB_CHANNEL_IMPORT, sizeof(p->channel));
    if ((err = pb_import_params_encode(p, params)) != PB_ERR_OK) {
        *field = "columns";
        snprintf(why, PB_WHY_MAX, "too many columns or lists to import at once");
        goto out;
    }
    if ((err = pb_job_enqueue_id(app, account_id, PB_IMPORT_KIND, params, import_id)) != PB_ERR_OK)
        goto out;
    pb_strlcpy(id, import_id, PB_ID_LEN + 1);
    audit_start(app, who, in->client_ip, p, pb_import_upload_size(up), import_id);
out:
    if (err == PB_ERR_NOT_FOUND && *field != NULL && strcmp(*field, "list_ids") != 0)
        snprintf(why, PB_WHY_MAX, "no such consent statement or evidence in this account");
    else if (err == PB_ERR_INVALID && *field != NULL && pb_str_starts_with(*field, "consent."))
        snprintf(why, PB_WHY_MAX, "%s",
                 strcmp(*field, "consent.basis") == 0
                     ? "basis is one of the six GDPR art. 6 bases"
                     : "description: how the addresses were obtained, 1 to 1000 characters");
    pb_csv_reader_free(reader);
    if (src != NULL)
        pb_import_source_wipe(src);
    free(src);
    free(p);
    free(params);
    free(c.fields.items);
    return err;
}

/* ---- following ---- */

struct get {
    const char *account_id;
    const char *id;
    int64_t after_line;
    int limit;
    struct pb_job *job;
    json_t *rejects;
    int64_t last_line;
};

static void
collect_reject(void *cls, const struct pb_import_reject *r)
{
    struct get *g = cls;
    json_array_append_new(
        g->rejects, json_pack("{s:I, s:s}", "line", (json_int_t)r->line, "reason", r->reason));
    g->last_line = r->line;
}

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct get *g = cls;
    json_array_clear(g->rejects);
    g->last_line = 0;
    enum pb_qs qs = tx->ops->job_get(tx->conn, g->account_id, g->id, g->job);
    if (qs <= 0)
        return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
    if (strcmp(g->job->kind, PB_IMPORT_KIND) != 0)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    return tx->ops->import_reject_list(tx->conn, g->account_id, g->id, g->after_line, g->limit + 1,
                                       collect_reject, g);
}

enum pb_err
pb_import_get_json(struct pb_app *app, const char *account_id, const char *id, int64_t after_line,
                   int limit, json_t **out)
{
    *out = NULL;
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct pb_job *job = malloc(sizeof(*job));
    struct pb_import_params *p = malloc(sizeof(*p));
    struct get g = {account_id, id, after_line, limit, job, json_array(), 0};
    enum pb_err err = job == NULL || p == NULL || g.rejects == NULL ? PB_ERR_NOMEM : PB_ERR_OK;
    if (err == PB_ERR_OK)
        err = pb_tenant_tx(app, account_id, PB_TX_READ, get_tx, &g);
    if (err != PB_ERR_OK)
        goto out;
    struct pb_import_cursor c;
    (void)pb_import_params_decode(job->params, p);
    (void)pb_import_cursor_decode(job->cursor, &c);
    if (strcmp(job->state, "done") == 0 && job->result[0] != '\0')
        (void)pb_import_cursor_decode(job->result, &c);
    /* One more than asked tells whether there is a next page. */
    json_t *next = json_null();
    if (json_array_size(g.rejects) > (size_t)limit) {
        json_array_remove(g.rejects, (size_t)limit);
        json_t *last = json_array_get(g.rejects, (size_t)limit - 1);
        next = json_sprintf("%lld", (long long)json_integer_value(json_object_get(last, "line")));
    }
    json_t *lists = json_array();
    for (int i = 0; i < p->list_count; i++)
        json_array_append_new(lists, json_string(p->lists[i]));
    char created[21], updated[21];
    pb_clock_format_rfc3339(job->created_at, created);
    pb_clock_format_rfc3339(job->updated_at, updated);
    const char *phase = strcmp(job->state, "queued") == 0    ? "queued"
                        : strcmp(job->state, "running") != 0 ? job->state
                        : c.importing                        ? "importing"
                                                             : "checking";
    *out =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:s, s:s?, s:s?, s:o, s:o, s:b, s:s, "
                  "s:s}",
                  "id", job->id, "state", job->state, "phase", phase, "rows_done",
                  (json_int_t)(c.importing || strcmp(job->state, "done") == 0 ? c.rows : 0),
                  "rows_total", (json_int_t)job->progress_total, "counts",
                  pb_import_counts_json(&c), "lists", lists, "mode", p->upsert ? "upsert" : "add",
                  "statement_id", p->statement_id[0] ? p->statement_id : NULL, "error",
                  job->error[0] ? job->error : NULL, "rejects", g.rejects, "next_cursor", next,
                  "rejects_truncated", c.invalid + c.duplicates + c.suppressed > c.rejects_kept,
                  "created_at", created, "updated_at", updated);
    g.rejects = NULL;
    if (*out == NULL)
        err = PB_ERR_NOMEM;
out:
    json_decref(g.rejects);
    free(job);
    free(p);
    return err;
}
