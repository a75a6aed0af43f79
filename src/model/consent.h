/*
 * The consent log (mission features 3, 4, 5): consent statements (how a
 * set of addresses was lawfully obtained, with evidence images), the
 * append-only, hash-chained events of every person's history, the history
 * of one address, and verification of the chain.
 */
#ifndef PB_MODEL_CONSENT_H
#define PB_MODEL_CONSENT_H

#include <stdbool.h>

#include <jansson.h>

#include "model/app.h"
#include "model/auth.h"
#include "store/store.h"

/* Channels through which an address can come in. */
#define PB_CHANNEL_UI     "ui"
#define PB_CHANNEL_API    "api"
#define PB_CHANNEL_CLI    "cli"
#define PB_CHANNEL_IMPORT "import"
#define PB_CHANNEL_FORM   "form"

/* What is known of the request that caused an event (all may be NULL). */
struct pb_consent_origin {
    const char *channel;    /* PB_CHANNEL_* */
    const char *actor;      /* "user:ID", "api_key:ID", "cli", "form" */
    const char *client_ip;  /* forms only: personal, wiped on erasure */
    const char *user_agent; /* forms only */
};

/* A statement given with an addition: an existing one, or a new one to create. */
struct pb_consent_input {
    const char *statement_id; /* set: reuse this statement */
    const char *basis;        /* otherwise: a new statement */
    const char *description;
    const char *evidence_ids[PB_STATEMENT_EVIDENCE];
    int evidence_count;
};

/* Whether `basis` is one of the six GDPR art. 6 bases. */
bool
pb_consent_basis_valid(const char *basis);

/*
 * Creates a statement. Errors: PB_ERR_INVALID naming `basis` or
 * `description` in `field`, PB_ERR_NOT_FOUND for an evidence id the account
 * does not have (field "evidence_ids").
 */
enum pb_err
pb_consent_statement_create(struct pb_app *app, const struct pb_principal *who,
                            const struct pb_consent_input *in,
                            const struct pb_consent_origin *origin,
                            struct pb_consent_statement *out, const char **field,
                            char why[PB_WHY_MAX]);

/*
 * Inside a write transaction on the account's tenant store: resolves the
 * statement of `in` (checking an existing id, or inserting a new one), its
 * id into `statement_id`. Aborts the transaction with the error and `field`.
 */
enum pb_qs
pb_consent_resolve_tx(struct pb_tx *tx, const char *account_id, const struct pb_consent_input *in,
                      const char *created_by, char statement_id[PB_ID_LEN + 1], const char **field);

/*
 * Inside a write transaction on the account's tenant store: appends one event
 * to the account's chain (seq and hash computed here, keyed with `key`, the
 * account's data key, fetched before the transaction).
 */
enum pb_qs
pb_consent_append_tx(struct pb_tx *tx, const struct pb_data_key *key, const char *account_id,
                     const char *type, const char *contact_id, const char *list_id,
                     const char *statement_id, const struct pb_consent_origin *origin);

/*
 * Sets e->hash from e->prev_hash and the hashed fields of `e` (`key`: the
 * account's data key), for callers that append events in batches.
 */
void
pb_consent_event_hash(const struct pb_data_key *key, struct pb_consent_event *e);

/* Verifies the account's whole chain: `*ok`, `*events`, and the first failure in `why`. */
enum pb_err
pb_consent_verify(struct pb_app *app, const char *account_id, bool *ok, long *events,
                  char why[PB_WHY_MAX]);

/*
 * The full history of one address as JSON (contact, fields, memberships,
 * events with their statements and evidence metadata): `*found` false when
 * the account has no such address. `out` is a new reference.
 */
enum pb_err
pb_consent_history(struct pb_app *app, const char *account_id, const char *email, bool *found,
                   json_t **out, char why[PB_WHY_MAX]);

#endif
