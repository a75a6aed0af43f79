/*
 * The web UI's embedded files: "/" is /index.html, other paths match
 * exactly. Revalidated on every use (Cache-Control: no-cache) with an ETag.
 */
#include "http/assets.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http/headers.h"
#include "http/request.h"

#define MAX_ETAGS 128

static char etags[MAX_ETAGS][24];
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

/* A quoted FNV-1a 64 hash of the content: changes whenever the file does. */
static void
make_etag(const struct pb_asset *asset, char out[24])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (long i = 0; i < asset->size; i++) {
        h ^= asset->data[i];
        h *= 0x100000001b3ULL;
    }
    snprintf(out, 24, "\"%016" PRIx64 "\"", h);
}

static void
compute_etags(void)
{
    for (size_t i = 0; i < MAX_ETAGS && pb_assets[i].path != NULL; i++)
        make_etag(&pb_assets[i], etags[i]);
}

static const char *
content_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".png", "image/png"},
    };
    const char *dot = strrchr(path, '.');
    if (dot != NULL)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* Whether If-None-Match names `etag` (or is "*"). */
static int
etag_matches(const char *if_none_match, const char *etag)
{
    if (if_none_match == NULL)
        return 0;
    return strcmp(if_none_match, "*") == 0 || strstr(if_none_match, etag) != NULL;
}

void
pb_static_get(struct pb_request *req)
{
    const char *path = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
    size_t i = 0;
    while (pb_assets[i].path != NULL && strcmp(pb_assets[i].path, path) != 0)
        i++;
    /* Pages are linked without their extension: /reset-password is /reset-password.html. */
    char page[128];
    if (pb_assets[i].path == NULL && strchr(path + 1, '.') == NULL &&
        (size_t)snprintf(page, sizeof(page), "%s.html", path) < sizeof(page)) {
        path = page;
        i = 0;
        while (pb_assets[i].path != NULL && strcmp(pb_assets[i].path, path) != 0)
            i++;
    }
    const struct pb_asset *asset = &pb_assets[i];
    if (asset->path == NULL) {
        pb_reply_error(req, PB_ERR_NOT_FOUND, NULL, "no such file");
        return;
    }
    char etag_buf[24];
    const char *etag = etag_buf;
    if (i < MAX_ETAGS) {
        pthread_once(&etags_once, compute_etags);
        etag = etags[i];
    } else {
        make_etag(asset, etag_buf);
    }

    int status = MHD_HTTP_OK;
    struct MHD_Response *resp;
    if (etag_matches(pb_request_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
        status = MHD_HTTP_NOT_MODIFIED;
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer((size_t)asset->size, (void *)asset->data,
                                               MHD_RESPMEM_PERSISTENT);
        if (resp != NULL && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                    content_type(path)) != MHD_YES) {
            MHD_destroy_response(resp);
            resp = NULL;
        }
    }
    if (resp != NULL && (pb_headers_set(resp, MHD_HTTP_HEADER_ETAG, etag) != 0 ||
                         pb_headers_set(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") != 0)) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    pb_reply_response(req, status, resp);
}
