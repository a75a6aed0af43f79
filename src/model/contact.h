/*
 * Contacts: an address (sealed, found through a keyed blind index), field
 * values (sealed when the field is sensitive) and list memberships. Adding
 * an address to a public list needs a consent statement, whatever the
 * channel (mission feature 3); every addition and subscription is a consent
 * event.
 */
#ifndef PB_MODEL_CONTACT_H
#define PB_MODEL_CONTACT_H

#include <stdbool.h>

#include <jansson.h>

#include "model/app.h"
#include "model/auth.h"
#include "model/consent.h"

#define PB_CONTACT_LISTS_MAX 64 /* lists named in one addition */

/* A new contact, as the API and the CLI give it. */
struct pb_contact_new {
    const char *email;
    json_t *fields; /* object key -> string/number/bool, or NULL */
    const char *list_ids[PB_CONTACT_LISTS_MAX];
    int list_count;
    const struct pb_consent_input *consent; /* NULL: none given */
    /*
     * Add the address even though it is on the suppression list (erased or
     * bounced before), lifting the suppression: owners only, and only with
     * a fresh statement given inline (`consent` with basis and description).
     */
    bool override_suppression;
};

/*
 * Creates a contact with its values and subscriptions, its statement (when a
 * new one is given) and its events, in one transaction. Errors with `field`:
 * PB_ERR_EMAIL_INVALID ("email"), PB_ERR_CONFLICT ("email": exists),
 * PB_ERR_FIELD_INVALID ("fields.KEY": unknown field or wrong type; the name
 * stays valid until the calling thread's next call),
 * PB_ERR_NOT_FOUND ("lists" / "consent.statement_id" / "consent.evidence_ids"),
 * PB_ERR_CONSENT_REQUIRED ("consent": a public list without a statement, or
 * an override of a suppression without a fresh statement), PB_ERR_SUPPRESSED
 * ("email": a new address on the suppression list), PB_ERR_FORBIDDEN
 * ("override_suppression": asked for by someone other than an owner).
 */
enum pb_err
pb_contact_create(struct pb_app *app, const struct pb_principal *who,
                  const struct pb_contact_new *in, const struct pb_consent_origin *origin,
                  char id[PB_ID_LEN + 1], const char **field, char why[PB_WHY_MAX]);

/*
 * A contact as JSON {id, email, status, fields, lists, created_at}: the
 * address masked ("j***@***.be") and sensitive values left out unless
 * `reveal` (the caller holds contacts.view_addresses).
 */
enum pb_err
pb_contact_get_json(struct pb_app *app, const struct pb_principal *who, const char *id, bool reveal,
                    json_t **out);

/* Exact lookup by address: `*found`, and the contact as pb_contact_get_json gives it. */
enum pb_err
pb_contact_search(struct pb_app *app, const struct pb_principal *who, const char *email,
                  bool reveal, bool *found, json_t **out);

/* A page of contacts (optionally of one list) as JSON items, for the page helper. */
typedef void (*pb_contact_json_cb)(void *cls, const char *id, json_t *item);

enum pb_err
pb_contact_list_json(struct pb_app *app, const struct pb_principal *who, const char *list_id,
                     const char *after_id, int limit, bool reveal, pb_contact_json_cb cb,
                     void *cls);

/*
 * Changes field values (`fields`: key -> value, null removes), with a
 * field_changed event. Errors as pb_contact_create.
 */
enum pb_err
pb_contact_update(struct pb_app *app, const struct pb_principal *who, const char *id,
                  json_t *fields, const struct pb_consent_origin *origin, const char **field,
                  char why[PB_WHY_MAX]);

/*
 * Subscribes contacts to a list (a statement needed when the list is
 * public), with a subscribed event each. Errors as pb_contact_create.
 */
enum pb_err
pb_contact_subscribe(struct pb_app *app, const struct pb_principal *who, const char *list_id,
                     const char *const *contact_ids, int count,
                     const struct pb_consent_input *consent, const struct pb_consent_origin *origin,
                     int *changed, const char **field, char why[PB_WHY_MAX]);

/* Unsubscribes a contact from a list, with an unsubscribed event. */
enum pb_err
pb_contact_unsubscribe(struct pb_app *app, const struct pb_principal *who, const char *list_id,
                       const char *contact_id, const struct pb_consent_origin *origin);

/*
 * Inside a transaction on the tenant store: a contact as JSON, its address
 * opened (masked unless `reveal`), with its values (sensitive ones only when
 * `reveal`) and memberships when `full`. NULL on failure.
 */
json_t *
pb_contact_to_json_tx(struct pb_tx *tx, const struct pb_data_key *key,
                      const struct pb_contact *contact, bool reveal, bool full);

/*
 * Where a contact's sealed address and field values live: a sealed value
 * opens only under the place it was sealed for, so a value copied to
 * another contact or field does not open. Stored format: never change.
 */
#define PB_CONTACT_PLACE_MAX 192

void
pb_contact_email_place(const char *account_id, const char *contact_id,
                       char place[PB_CONTACT_PLACE_MAX]);

void
pb_contact_value_place(const char *account_id, const char *contact_id, const char *key,
                       char place[PB_CONTACT_PLACE_MAX]);

/* The blind index of an address (normalised, lower-cased) under the account's key. */
enum pb_err
pb_contact_email_index(struct pb_app *app, const char *account_id, const char *email,
                       unsigned char bidx[PB_BIDX_MAX], char why[PB_WHY_MAX]);

#endif
