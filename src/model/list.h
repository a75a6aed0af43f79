/* Contact lists of an account: public (consent required to add) or private. */
#ifndef PB_MODEL_LIST_H
#define PB_MODEL_LIST_H

#include "model/app.h"
#include "model/auth.h"

/* Errors (with `field`): PB_ERR_INVALID ("name", "description"). */
enum pb_err
pb_list_create(struct pb_app *app, const struct pb_principal *who, const char *name,
               const char *description, bool is_public, struct pb_list *out, const char **field,
               char why[PB_WHY_MAX]);

/* PB_ERR_NOT_FOUND for an unknown id or another account's list. */
enum pb_err
pb_list_get(struct pb_app *app, const struct pb_principal *who, const char *id,
            struct pb_list *out);

enum pb_err
pb_list_list(struct pb_app *app, const struct pb_principal *who, const char *after_id, int limit,
             pb_list_cb cb, void *cls);

/* NULL leaves a value as it is. */
enum pb_err
pb_list_update(struct pb_app *app, const struct pb_principal *who, const char *id, const char *name,
               const char *description, const bool *is_public, struct pb_list *out,
               const char **field, char why[PB_WHY_MAX]);

enum pb_err
pb_list_delete(struct pb_app *app, const struct pb_principal *who, const char *id);

#endif
