/*
 * The DKIM keys of an account's sending domains (in its tenant store): made
 * here, never uploaded, so the private half exists only sealed under the
 * account's data key; the owner publishes the DNS record we answer with.
 * At most PB_DKIM_KEYS_MAX keys per account; a domain may have two (RSA and
 * Ed25519, for dual signing) or more while a selector is being rotated.
 */
#ifndef PB_MODEL_DKIM_KEYS_H
#define PB_MODEL_DKIM_KEYS_H

#include <jansson.h>

#include "mail/dkim.h"
#include "model/app.h"

struct pb_principal;

#define PB_DKIM_KEYS_MAX 10 /* keys per account */

/*
 * PUT /settings/dkim: generates a key ("rsa-sha256": RSA-2048, or
 * "ed25519-sha256") for `domain` (LDH labels, at least two; lower-cased)
 * and `selector` (LDH labels, at most 63 characters), stores it sealed,
 * replacing a key of the same domain and selector, and answers it as
 * pb_dkim_keys_list_json shows one (with the DNS record to publish). Audited
 * ("settings.dkim_changed"). Errors (with `field` and `why`): PB_ERR_INVALID,
 * also when the account has PB_DKIM_KEYS_MAX keys already (no field then).
 */
enum pb_err
pb_dkim_keys_put(struct pb_app *app, const struct pb_principal *who, const char *domain,
                 const char *selector, const char *algorithm, const char *client_ip, json_t **out,
                 const char **field, char why[PB_WHY_MAX]);

/*
 * {"items":[{domain, selector, algorithm, created_at, dns:{name, type:"TXT",
 * value}}]} in domain, then selector order; never a private key.
 */
enum pb_err
pb_dkim_keys_list_json(struct pb_app *app, const struct pb_principal *who, json_t **out);

/* Deletes a key (audited: "settings.dkim_deleted"); PB_ERR_NOT_FOUND when there is none. */
enum pb_err
pb_dkim_keys_delete(struct pb_app *app, const struct pb_principal *who, const char *domain,
                    const char *selector, const char *client_ip);

/*
 * For the sender: the parsed keys of a sending domain, at most `max` of them
 * in selector order, into keys[0..*n-1] (*n = 0 when the domain has none).
 * Free each with pb_dkim_key_free. PB_ERR_INTERNAL when a key does not open.
 */
enum pb_err
pb_dkim_keys_load(struct pb_app *app, const char *account_id, const char *domain,
                  struct pb_dkim_key **keys, int max, int *n);

#endif
