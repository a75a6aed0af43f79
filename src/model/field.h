/*
 * Custom contact fields of an account: key, label, type (text, number,
 * date, bool) and the sensitive flag (mission feature 2): values of a
 * sensitive field are stored only sealed under the account's data key, bound
 * to account, contact and field.
 */
#ifndef PB_MODEL_FIELD_H
#define PB_MODEL_FIELD_H

#include <stdbool.h>

#include "model/app.h"
#include "model/auth.h"

#define PB_FIELD_VALUE_CHARS 1000

/*
 * Creates a field. The key is 1..64 of a-z, 0-9 and _, starting with a
 * letter, and not a reserved merge tag (email, unsubscribe_url, ...).
 * Errors (with `field`): PB_ERR_INVALID ("key", "label", "type"), PB_ERR_CONFLICT ("key").
 */
enum pb_err
pb_field_create(struct pb_app *app, const struct pb_principal *who, const struct pb_field *in,
                struct pb_field *out, const char **field, char why[PB_WHY_MAX]);

enum pb_err
pb_field_list(struct pb_app *app, const struct pb_principal *who, pb_field_cb cb, void *cls);

enum pb_err
pb_field_get(struct pb_app *app, const struct pb_principal *who, const char *key,
             struct pb_field *out);

/* The job kind that seals or opens a field's values after its flag changed. */
#define PB_FIELD_RESEAL_JOB "field.reseal"

/*
 * Changes the label and/or the sensitive flag. When the flag changes, a
 * job (its id into `job_id`, "" otherwise) is queued in the same transaction
 * to seal or open every value of the field: each value says by itself
 * whether it is sealed, and readers handle both, so values are correct
 * throughout, and a job interrupted by a crash is resumed by the runner.
 */
enum pb_err
pb_field_update(struct pb_app *app, const struct pb_principal *who, const char *key,
                const char *label, const bool *sensitive, struct pb_field *out,
                char job_id[PB_ID_LEN + 1], const char **field, char why[PB_WHY_MAX]);

/*
 * One batch of that job: the values after contact `after` (updated to the
 * last one seen) brought in line with the field's current flag, in one
 * transaction. `*finished` once no value is left (or the field is gone).
 */
enum pb_err
pb_field_reseal_batch(struct pb_app *app, const char *account_id, const char *key,
                      char after[PB_ID_LEN + 1], int *changed, bool *finished);

enum pb_err
pb_field_delete(struct pb_app *app, const struct pb_principal *who, const char *key);

/*
 * Checks and normalises a value for a field's type into `out`
 * (number: a finite decimal; date: YYYY-MM-DD; bool: "true"/"false";
 * text: UTF-8 without control characters, at most 1000 characters).
 */
enum pb_err
pb_field_value_check(const struct pb_field *field, const char *value, char out[PB_VALUE_MAX + 1],
                     char why[PB_WHY_MAX]);

#endif
