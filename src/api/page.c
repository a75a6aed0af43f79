/* Keyset pages of list endpoints. */
#include "api/page.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"

int
pb_api_page_begin(struct pb_request *req, struct pb_api_page *page)
{
    memset(page, 0, sizeof(*page));
    page->limit = PB_PAGE_DEFAULT;
    const char *text = pb_request_query(req, "limit");
    if (text != NULL) {
        char *end = NULL;
        errno = 0;
        long n = strtol(text, &end, 10);
        if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || n < 1 ||
            n > PB_PAGE_MAX) {
            pb_reply_error(req, PB_ERR_BAD_REQUEST, "limit", "limit is a number from 1 to %d",
                           PB_PAGE_MAX);
            return -1;
        }
        page->limit = (int)n;
    }
    page->cursor = pb_request_query(req, "cursor");
    if (page->cursor != NULL && !pb_id_valid(page->cursor)) {
        pb_reply_error(req, PB_ERR_BAD_REQUEST, "cursor",
                       "cursor is the next_cursor of the previous page");
        return -1;
    }
    page->items = json_array();
    if (page->items == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return -1;
    }
    return 0;
}

void
pb_api_page_add(struct pb_api_page *page, const char *id, json_t *item)
{
    if (page->count >= page->limit) {
        page->more = true;
        json_decref(item);
        return;
    }
    if (item == NULL || json_array_append_new(page->items, item) != 0) {
        page->failed = true;
        return;
    }
    memcpy(page->last_id, id, sizeof(page->last_id));
    page->count++;
}

void
pb_api_page_reply(struct pb_request *req, struct pb_api_page *page, enum pb_err err,
                  const char *what)
{
    if (err == PB_ERR_OK && page->failed)
        err = PB_ERR_NOMEM;
    if (err != PB_ERR_OK)
        pb_reply_error(req, err, NULL, "cannot %s now", what);
    else
        pb_reply_json(req, 200,
                      json_pack("{s:O, s:o}", "items", page->items, "next_cursor",
                                page->more ? json_string(page->last_id) : json_null()));
    json_decref(page->items);
    page->items = NULL;
}
