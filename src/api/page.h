/*
 * Keyset pages for list endpoints: ?limit= (1..200, default 50) and
 * ?cursor= (the next_cursor of the previous page), and the reply
 * {"items": [...], "next_cursor": id | null}. The model is asked for one row
 * more than the limit: its presence tells that a next page exists.
 */
#ifndef PB_API_PAGE_H
#define PB_API_PAGE_H

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "core/id.h"

struct pb_request;

#define PB_PAGE_DEFAULT 50
#define PB_PAGE_MAX     200

struct pb_api_page {
    int limit;
    const char *cursor; /* NULL for the first page */
    json_t *items;
    int count;
    char last_id[PB_ID_LEN + 1]; /* of the last item kept */
    bool more;                   /* a row past the limit was seen */
    bool failed;                 /* out of memory */
};

/* Reads the parameters; returns 0, or -1 after replying 400 naming the bad one. */
int
pb_api_page_begin(struct pb_request *req, struct pb_api_page *page);

/* Adds a row's item (stolen), or notes that a next page exists once the page is full. */
void
pb_api_page_add(struct pb_api_page *page, const char *id, json_t *item);

/*
 * Replies with the page, or with `err` ("cannot `what` now") when the model
 * failed; frees the page either way.
 */
void
pb_api_page_reply(struct pb_request *req, struct pb_api_page *page, enum pb_err err,
                  const char *what);

#endif
