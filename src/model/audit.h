/*
 * The audit log of sensitive actions (control store): logins, 2FA changes,
 * password resets, role changes, API keys, later exports and erasures.
 * Entries name the actor, the action, the time and the client address, and
 * carry details as JSON without secrets or contacts' personal data.
 */
#ifndef PB_MODEL_AUDIT_H
#define PB_MODEL_AUDIT_H

#include "model/app.h"
#include "store/store.h"

/*
 * Fills an entry (new id, now). `detail_json` is a JSON object text or NULL.
 * Insert it with tx->ops->audit_insert inside the transaction of the action
 * it records, so both happen or neither.
 */
void
pb_audit_entry_make(struct pb_audit_entry *entry, const char *account_id, const char *actor_user_id,
                    const char *action, const char *client_ip, const char *detail_json);

/* Records an entry in a transaction of its own (for events with no other write). */
enum pb_err
pb_audit_record(struct pb_app *app, const char *account_id, const char *actor_user_id,
                const char *action, const char *client_ip, const char *detail_json);

/* An account's entries, newest first, before `before_id` ("" for the newest). */
enum pb_err
pb_audit_list(struct pb_app *app, const char *account_id, const char *before_id, int limit,
              pb_audit_cb cb, void *cls);

#endif
