/*
 * API keys: per user, named, the token shown once at creation and stored
 * hashed; a key acts with its user's current role; revocable.
 */
#ifndef PB_MODEL_APIKEY_H
#define PB_MODEL_APIKEY_H

#include "model/app.h"
#include "model/auth.h"

/* Errors: PB_ERR_NAME_INVALID. `token` gets the key, shown to the user once. */
enum pb_err
pb_apikey_create(struct pb_app *app, const struct pb_principal *who, const char *name,
                 const char *client_ip, struct pb_api_key *out, char token[PB_API_KEY_LEN + 1]);

/* The caller's own keys. */
enum pb_err
pb_apikey_list(struct pb_app *app, const struct pb_principal *who, pb_api_key_cb cb, void *cls);

/* PB_ERR_NOT_FOUND when `id` is not one of the caller's keys. */
enum pb_err
pb_apikey_revoke(struct pb_app *app, const struct pb_principal *who, const char *id,
                 const char *client_ip);

#endif
