/*
 * JSON in: the request body of JSON routes (Content-Type check, parsing
 * with duplicate keys refused) and declarative unpacking of it that
 * answers 400 naming the bad field.
 */
#ifndef PB_HTTP_JSON_H
#define PB_HTTP_JSON_H

#include <jansson.h>

struct pb_request;

/*
 * Parses req->body into req->json. Replies 415 when the Content-Type is not
 * application/json, 400 (PB_ERR_BAD_JSON, "line L column C: ...") when the
 * body is not JSON. Returns 0, or -1 after replying.
 */
int
pb_json_parse_body(struct pb_request *req);

/*
 * json_unpack_ex(json, ..., JSON_STRICT, fmt, ...) — e.g.
 * pb_json_unpack(req, req->json, "{s:s, s?b}", "email", &email, "admin", &admin).
 * On failure replies 400 with `field` set: PB_ERR_MISSING_FIELD,
 * PB_ERR_WRONG_TYPE or PB_ERR_UNKNOWN_FIELD (PB_ERR_BAD_JSON when there is
 * no body at all). Returns 0, or -1 after replying. Strings unpacked are
 * borrowed from `json`.
 */
int
pb_json_unpack(struct pb_request *req, json_t *json, const char *fmt, ...);

#endif
