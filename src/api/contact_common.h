/*
 * What the handlers of contacts, lists and consent share: the origin of an
 * API call for the consent log, the `consent` part of a body, lists of ids
 * in a body, and the reply to a model error with the field it named.
 */
#ifndef PB_API_CONTACT_COMMON_H
#define PB_API_CONTACT_COMMON_H

#include <jansson.h>

#include "core/err.h"
#include "model/consent.h"

struct pb_request;

/* Room for an actor ("user:ID", "api_key:ID"). */
#define PB_API_ACTOR_MAX (PB_ACTOR_MAX + 1)

/*
 * The origin of the caller's request: channel "api", or "ui" when a session
 * sends exactly `X-Postbode-Channel: ui`; actor "user:ID" or "api_key:ID"
 * (written into `actor`, which `out` points to).
 */
void
pb_api_consent_origin(struct pb_request *req, const struct pb_principal *who,
                      char actor[PB_API_ACTOR_MAX], struct pb_consent_origin *out);

/*
 * Reads `{statement_id}` or `{basis, description, evidence_ids?}` (an
 * object at `name`, e.g. "consent") into `out`; strings are borrowed from
 * `obj`. Returns 0, or -1 after replying with the field named
 * "name.key" (400 for the shape, 404 for an id that cannot exist).
 */
int
pb_api_consent_parse(struct pb_request *req, json_t *obj, const char *name,
                     struct pb_consent_input *out);

/*
 * Reads an array of evidence ids at `name` into `out` (at most
 * PB_STATEMENT_EVIDENCE). Returns 0, or -1 after replying.
 */
int
pb_api_evidence_ids_parse(struct pb_request *req, json_t *arr, const char *name,
                          struct pb_consent_input *out);

/*
 * Reads an array of 1..`max` ids at `name` into `ids` (borrowed from `arr`).
 * Returns the count, or -1 after replying (a string that is not an id: 404).
 */
int
pb_api_ids_parse(struct pb_request *req, json_t *arr, const char *name, const char **ids, int max);

/*
 * Replies with a model error: 404 with `not_found` (or the model's reason),
 * another client error (4xx) with the field the model named and its reason,
 * anything else as "cannot `what` now" (the log has the cause).
 */
void
pb_api_reply_failure(struct pb_request *req, enum pb_err err, const char *field, const char *why,
                     const char *not_found, const char *what);

#endif
