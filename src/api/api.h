/*
 * The REST API's handlers, one file per resource; the route table
 * (http/routes.c) says which permission and body limit each one has.
 */
#ifndef PB_API_API_H
#define PB_API_API_H

#include <stddef.h>

struct pb_request;

/* GET /healthz: {"status":"ok"}, or 503 when the control store does not answer. */
void
pb_api_healthz(struct pb_request *req);

/* session.c: log in, the TOTP step, who am I, log out. */
void
pb_api_session_create(struct pb_request *req);
void
pb_api_session_mfa(struct pb_request *req);
void
pb_api_session_get(struct pb_request *req);
void
pb_api_session_delete(struct pb_request *req);

/* password.c: forgot password, reset (or first set) with a token. */
void
pb_api_password_forgot(struct pb_request *req);
void
pb_api_password_reset(struct pb_request *req);

/* totp.c: the caller's two-factor enrolment. */
void
pb_api_totp_start(struct pb_request *req);
void
pb_api_totp_confirm(struct pb_request *req);
void
pb_api_totp_delete(struct pb_request *req);

/* users.c: users of the caller's account. */
void
pb_api_users_list(struct pb_request *req);
void
pb_api_users_create(struct pb_request *req);
void
pb_api_users_update(struct pb_request *req);
void
pb_api_users_delete(struct pb_request *req);

/* apikeys.c: the caller's API keys. */
void
pb_api_keys_list(struct pb_request *req);
void
pb_api_keys_create(struct pb_request *req);
void
pb_api_keys_delete(struct pb_request *req);

/* account.c: the caller's account and its settings. */
void
pb_api_account_get(struct pb_request *req);
void
pb_api_account_update(struct pb_request *req);

/* audit.c: the account's audit log. */
void
pb_api_audit_list(struct pb_request *req);

/* fields.c: custom contact fields. */
void
pb_api_fields_list(struct pb_request *req);
void
pb_api_fields_create(struct pb_request *req);
void
pb_api_fields_update(struct pb_request *req);
void
pb_api_fields_delete(struct pb_request *req);

/* lists.c: contact lists and their members. */
void
pb_api_lists_list(struct pb_request *req);
void
pb_api_lists_create(struct pb_request *req);
void
pb_api_lists_get(struct pb_request *req);
void
pb_api_lists_update(struct pb_request *req);
void
pb_api_lists_delete(struct pb_request *req);
void
pb_api_members_add(struct pb_request *req);
void
pb_api_members_remove(struct pb_request *req);

/* contacts.c: contacts, exact search. */
void
pb_api_contacts_list(struct pb_request *req);
void
pb_api_contacts_create(struct pb_request *req);
void
pb_api_contacts_search(struct pb_request *req);
void
pb_api_contacts_get(struct pb_request *req);
void
pb_api_contacts_update(struct pb_request *req);

/* evidence.c: evidence images. */
void
pb_api_evidence_create(struct pb_request *req);
void
pb_api_evidence_get(struct pb_request *req);

/* consent.c: statements, a person's history, subject access, chain verification. */
void
pb_api_statements_create(struct pb_request *req);
void
pb_api_consent_history(struct pb_request *req);
void
pb_api_subject_access(struct pb_request *req);
void
pb_api_consent_verify(struct pb_request *req);

/* jobs.c: the state and progress of a background job of the caller's account. */
void
pb_api_jobs_get(struct pb_request *req);

/*
 * imports.c: POST /imports (multipart: file, list_ids, consent, mode,
 * columns), its body streamed into the database by pb_api_imports_body;
 * GET /imports/{id}: progress, counts and the rejected lines.
 */
void
pb_api_imports_body(struct pb_request *req, const char *data, size_t len);
void
pb_api_imports_create(struct pb_request *req);
void
pb_api_imports_get(struct pb_request *req);

/*
 * erasures.c: POST /erasures {email} or {contact_id}: the right to be
 * forgotten, answered with the receipt; GET /erasures: the receipts, newest
 * first (no personal data in them).
 */
void
pb_api_erasures_create(struct pb_request *req);
void
pb_api_erasures_list(struct pb_request *req);

/* exports.c: GET /lists/{id}/export?format=csv|json, streamed. */
void
pb_api_lists_export(struct pb_request *req);

/*
 * campaigns.c: GET/POST /campaigns, GET/PATCH/DELETE /campaigns/{id},
 * POST /campaigns/{id}/test|send|pause|resume|cancel, GET /campaigns/{id}/stats.
 */
void
pb_api_campaigns_list(struct pb_request *req);
void
pb_api_campaigns_create(struct pb_request *req);
void
pb_api_campaigns_get(struct pb_request *req);
void
pb_api_campaigns_update(struct pb_request *req);
void
pb_api_campaigns_delete(struct pb_request *req);
void
pb_api_campaigns_test(struct pb_request *req);
void
pb_api_campaigns_send(struct pb_request *req);
void
pb_api_campaigns_pause(struct pb_request *req);
void
pb_api_campaigns_resume(struct pb_request *req);
void
pb_api_campaigns_cancel(struct pb_request *req);
void
pb_api_campaigns_stats(struct pb_request *req);
void
pb_api_campaigns_timeline(struct pb_request *req);

/* settings.c: the account's SMTP relay and DKIM keys (secrets never returned). */
void
pb_api_settings_smtp_get(struct pb_request *req);
void
pb_api_settings_smtp_put(struct pb_request *req);
void
pb_api_settings_dkim_get(struct pb_request *req);
void
pb_api_settings_dkim_put(struct pb_request *req);
void
pb_api_settings_dkim_delete(struct pb_request *req);

/* public.c: the links in campaign mail: unsubscribe (RFC 8058), open pixel, click redirect. */
void
pb_api_public_unsubscribe_page(struct pb_request *req);
void
pb_api_public_unsubscribe(struct pb_request *req);
void
pb_api_public_open(struct pb_request *req);
void
pb_api_public_click(struct pb_request *req);

#endif
