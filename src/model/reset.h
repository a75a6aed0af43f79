/*
 * "Forgot password" (mission feature 8): the only way back into an account.
 * A single-use token (stored hashed) valid 30 minutes is mailed through the
 * outbox; using it sets the new password and ends every session of the user.
 */
#ifndef PB_MODEL_RESET_H
#define PB_MODEL_RESET_H

#include "model/app.h"

#define PB_RESET_SECONDS (30 * 60)

/*
 * Queues a reset mail when `email` belongs to a user. Answers PB_ERR_OK
 * whatever the case, so that callers cannot tell which emails exist.
 */
enum pb_err
pb_reset_request(struct pb_app *app, const char *email, const char *client_ip);

/*
 * Sets a new password with a token from a reset or invitation link.
 * Errors: PB_ERR_PASSWORD_POLICY (why says which rule), PB_ERR_TOKEN_INVALID.
 * The policy is checked first, so a weak password does not use up the token.
 */
enum pb_err
pb_reset_complete(struct pb_app *app, const char *token, const char *password,
                  const char *client_ip, char why[PB_WHY_MAX]);

/* Creates a set-password token for a user; `link` gets public_url + "/reset-password#token=…". */
enum pb_err
pb_reset_issue(struct pb_app *app, const char *user_id, int64_t lifetime_seconds, char link[1024]);

#endif
