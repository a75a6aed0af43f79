/* JSON request bodies: Content-Type, parsing, and unpacking that names the bad field. */
#include "http/json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/request.h"

/* Whether the Content-Type header says JSON ("application/json", any parameters). */
static bool
is_json_media_type(const char *value)
{
    static const char json[] = "application/json";
    if (value == NULL)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, json, sizeof(json) - 1) != 0)
        return false;
    char next = value[sizeof(json) - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

int
pb_json_parse_body(struct pb_request *req)
{
    if (!is_json_media_type(pb_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        pb_reply_error(req, PB_ERR_UNSUPPORTED_MEDIA_TYPE, NULL,
                       "the body must be sent with Content-Type: application/json");
        return -1;
    }
    json_error_t error;
    json_t *json = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &error);
    if (json == NULL) {
        if (json_error_code(&error) == json_error_out_of_memory) {
            pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory while parsing the body");
            return -1;
        }
        pb_reply_error(req, PB_ERR_BAD_JSON, NULL, "line %d column %d: %s", error.line,
                       error.column, error.text);
        return -1;
    }
    json_decref(req->json);
    req->json = json;
    return 0;
}

/*
 * What the walk over an unpack format learns: each top-level key, the type
 * its value must have and where its spec sits in the format.
 */
#define MAX_KEYS 64

struct spec_key {
    const char *key;
    char type; /* the first character of the value's spec: s, i, b, {, ... */
    size_t start, end;
};

struct walk {
    const char *fmt;
    size_t pos;
    va_list ap;
    struct spec_key keys[MAX_KEYS];
    size_t nkeys;
};

static int
walk_value(struct walk *w, int depth);

static void
skip_separators(struct walk *w)
{
    while (strchr(" \t\n,:", w->fmt[w->pos]) != NULL && w->fmt[w->pos] != '\0')
        w->pos++;
}

static int
walk_object(struct walk *w, int depth)
{
    w->pos++; /* '{' */
    for (;;) {
        skip_separators(w);
        char c = w->fmt[w->pos];
        if (c == '}') {
            w->pos++;
            return 0;
        }
        if (c == '!' || c == '*') {
            w->pos++;
            continue;
        }
        if (c != 's')
            return -1;
        w->pos++;
        const char *key = va_arg(w->ap, const char *);
        if (w->fmt[w->pos] == '?')
            w->pos++;
        skip_separators(w);
        size_t start = w->pos;
        char type = w->fmt[w->pos];
        if (walk_value(w, depth + 1) != 0)
            return -1;
        if (depth == 0 && w->nkeys < MAX_KEYS)
            w->keys[w->nkeys++] = (struct spec_key){key, type, start, w->pos};
    }
}

/* Consumes the spec of one value and its arguments; `depth` 0 is the root. */
static int
walk_value(struct walk *w, int depth)
{
    skip_separators(w);
    char c = w->fmt[w->pos];
    switch (c) {
    case '{':
        return walk_object(w, depth);
    case '[':
        w->pos++;
        for (;;) {
            skip_separators(w);
            char e = w->fmt[w->pos];
            if (e == ']') {
                w->pos++;
                return 0;
            }
            if (e == '!' || e == '*') {
                w->pos++;
                continue;
            }
            if (e == '\0' || walk_value(w, depth + 1) != 0)
                return -1;
        }
    case 's':
        w->pos++;
        (void)va_arg(w->ap, void *);
        if (w->fmt[w->pos] == '%') {
            w->pos++;
            (void)va_arg(w->ap, void *);
        }
        return 0;
    case 'n':
        w->pos++;
        return 0;
    case 'b':
    case 'i':
    case 'I':
    case 'f':
    case 'F':
    case 'o':
    case 'O':
        w->pos++;
        (void)va_arg(w->ap, void *);
        return 0;
    default:
        return -1;
    }
}

static bool
has_type(const json_t *value, char type)
{
    switch (type) {
    case 's':
        return json_is_string(value);
    case 'n':
        return json_is_null(value);
    case 'b':
        return json_is_boolean(value);
    case 'i':
    case 'I':
        return json_is_integer(value);
    case 'f':
        return json_is_real(value);
    case 'F':
        return json_is_number(value);
    case '{':
        return json_is_object(value);
    case '[':
        return json_is_array(value);
    default:
        return true;
    }
}

/* The top-level key whose value does not have its type, or NULL. */
static const char *
wrong_type_key(const struct walk *w, const json_t *json, int position)
{
    for (size_t i = 0; i < w->nkeys; i++) {
        const json_t *value = json_object_get(json, w->keys[i].key);
        if (value != NULL && !has_type(value, w->keys[i].type))
            return w->keys[i].key;
    }
    /* Deeper down: the key whose spec holds the failing position of the format. */
    for (size_t i = 0; i < w->nkeys; i++)
        if ((size_t)position > w->keys[i].start && (size_t)position <= w->keys[i].end)
            return w->keys[i].key;
    return NULL;
}

/* The key named after ": " in jansson's text (the first one when it lists several). */
static const char *
key_from_text(struct pb_request *req, const char *text)
{
    const char *colon = strstr(text, ": ");
    if (colon == NULL)
        return NULL;
    const char *start = colon + 2;
    return pb_arena_strndup(req->arena, start, strcspn(start, ","));
}

int
pb_json_unpack(struct pb_request *req, json_t *json, const char *fmt, ...)
{
    if (json == NULL) {
        pb_reply_error(req, PB_ERR_BAD_JSON, NULL, "the request has no body; send a JSON %s",
                       fmt[0] == '[' ? "array" : "object");
        return -1;
    }
    json_error_t error;
    va_list ap;
    va_start(ap, fmt);
    int rc = json_vunpack_ex(json, &error, JSON_STRICT, fmt, ap);
    va_end(ap);
    if (rc == 0)
        return 0;

    struct walk w = {.fmt = fmt};
    va_start(ap, fmt);
    va_copy(w.ap, ap);
    va_end(ap);
    int walked = walk_value(&w, 0);
    va_end(w.ap);

    const char *field = NULL;
    switch (json_error_code(&error)) {
    case json_error_item_not_found:
        field = key_from_text(req, error.text);
        pb_reply_error(req, PB_ERR_MISSING_FIELD, field, "\"%s\" is required", field ? field : "?");
        return -1;
    case json_error_end_of_input_expected:
        field = key_from_text(req, error.text);
        pb_reply_error(req, PB_ERR_UNKNOWN_FIELD, field, "\"%s\" is not a field of this endpoint",
                       field ? field : "?");
        return -1;
    case json_error_wrong_type:
    case json_error_null_value:
        if (fmt[0] == '{' && !json_is_object(json)) {
            pb_reply_error(req, PB_ERR_WRONG_TYPE, NULL, "the body must be a JSON object");
            return -1;
        }
        field = walked == 0 ? wrong_type_key(&w, json, error.position) : NULL;
        if (field != NULL)
            pb_reply_error(req, PB_ERR_WRONG_TYPE, field, "\"%s\": %s", field, error.text);
        else
            pb_reply_error(req, PB_ERR_WRONG_TYPE, NULL, "%s", error.text);
        return -1;
    case json_error_out_of_memory:
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory while reading the body");
        return -1;
    default:
        /* A bad format string is the program's fault, not the client's. */
        pb_reply_error(req, PB_ERR_INTERNAL, NULL, "cannot read the body");
        return -1;
    }
}
