/* The route table of the server: every endpoint, its permission and body limit. */
#include "http/router.h"

#include "api/api.h"
#include "http/assets.h"
#include "model/import.h"

/* Login forms and tokens are small: a tighter limit than ordinary JSON. */
#define SMALL (4 * 1024)
#define JSON  PB_JSON_BODY_LIMIT
#define STEP  PB_ROUTE_MFA_STEP
#define ENROL PB_ROUTE_ENROLMENT
/* Evidence images: up to 10 MiB, 413 beyond (model/evidence_check.h). */
#define EVIDENCE (10 * 1024 * 1024)
/* An import's upload: streamed into the database as it comes, never held whole. */
#define IMPORT PB_IMPORT_UPLOAD_MAX
/* A campaign: two bodies of up to 1 MiB each, JSON-escaped. */
#define CAMPAIGN (5 * 1024 * 1024)

const struct pb_route pb_routes[] = {
    /* method, pattern, handler, permission, body limit, csrf, raw body, flags */
    {"GET", "/healthz", pb_api_healthz, PB_PERM_PUBLIC, 0, false, false, 0, NULL},

    {"POST", "/api/v1/session", pb_api_session_create, PB_PERM_PUBLIC, SMALL, false, false, 0,
     NULL},
    {"GET", "/api/v1/session", pb_api_session_get, PB_PERM_AUTHENTICATED, 0, false, false,
     STEP | ENROL, NULL},
    {"DELETE", "/api/v1/session", pb_api_session_delete, PB_PERM_AUTHENTICATED, 0, true, false,
     STEP | ENROL, NULL},
    {"POST", "/api/v1/session/mfa", pb_api_session_mfa, PB_PERM_AUTHENTICATED, SMALL, true, false,
     STEP, NULL},
    {"POST", "/api/v1/password/forgot", pb_api_password_forgot, PB_PERM_PUBLIC, SMALL, false, false,
     0, NULL},
    {"POST", "/api/v1/password/reset", pb_api_password_reset, PB_PERM_PUBLIC, SMALL, false, false,
     0, NULL},

    {"POST", "/api/v1/me/totp", pb_api_totp_start, PB_PERM_AUTHENTICATED, SMALL, true, false, ENROL,
     NULL},
    {"POST", "/api/v1/me/totp/confirm", pb_api_totp_confirm, PB_PERM_AUTHENTICATED, SMALL, true,
     false, ENROL, NULL},
    {"DELETE", "/api/v1/me/totp", pb_api_totp_delete, PB_PERM_AUTHENTICATED, SMALL, true, false,
     ENROL, NULL},

    {"GET", "/api/v1/users", pb_api_users_list, PB_PERM_USERS_MANAGE, 0, false, false, 0, NULL},
    {"POST", "/api/v1/users", pb_api_users_create, PB_PERM_USERS_MANAGE, JSON, true, false, 0,
     NULL},
    {"PATCH", "/api/v1/users/{id}", pb_api_users_update, PB_PERM_USERS_MANAGE, JSON, true, false, 0,
     NULL},
    {"DELETE", "/api/v1/users/{id}", pb_api_users_delete, PB_PERM_USERS_MANAGE, 0, true, false, 0,
     NULL},

    {"GET", "/api/v1/api-keys", pb_api_keys_list, PB_PERM_AUTHENTICATED, 0, false, false, 0, NULL},
    {"POST", "/api/v1/api-keys", pb_api_keys_create, PB_PERM_AUTHENTICATED, JSON, true, false, 0,
     NULL},
    {"DELETE", "/api/v1/api-keys/{id}", pb_api_keys_delete, PB_PERM_AUTHENTICATED, 0, true, false,
     0, NULL},

    {"GET", "/api/v1/account", pb_api_account_get, PB_PERM_AUTHENTICATED, 0, false, false, 0, NULL},
    {"PATCH", "/api/v1/account", pb_api_account_update, PB_PERM_SETTINGS_MANAGE, JSON, true, false,
     0, NULL},
    {"GET", "/api/v1/audit", pb_api_audit_list, PB_PERM_AUDIT_READ, 0, false, false, 0, NULL},

    /* Issue 4: fields, lists, contacts, evidence, consent. */
    {"GET", "/api/v1/jobs/{id}", pb_api_jobs_get, PB_PERM_AUTHENTICATED, 0, false, false, 0, NULL},
    {"GET", "/api/v1/fields", pb_api_fields_list, PB_PERM_AUTHENTICATED, 0, false, false, 0, NULL},
    {"POST", "/api/v1/fields", pb_api_fields_create, PB_PERM_SETTINGS_MANAGE, JSON, true, false, 0,
     NULL},
    {"PATCH", "/api/v1/fields/{key}", pb_api_fields_update, PB_PERM_SETTINGS_MANAGE, JSON, true,
     false, 0, NULL},
    {"DELETE", "/api/v1/fields/{key}", pb_api_fields_delete, PB_PERM_SETTINGS_MANAGE, 0, true,
     false, 0, NULL},
    {"GET", "/api/v1/lists", pb_api_lists_list, PB_PERM_AUTHENTICATED, 0, false, false, 0, NULL},
    {"POST", "/api/v1/lists", pb_api_lists_create, PB_PERM_SETTINGS_MANAGE, JSON, true, false, 0,
     NULL},
    {"GET", "/api/v1/lists/{id}", pb_api_lists_get, PB_PERM_AUTHENTICATED, 0, false, false, 0,
     NULL},
    {"PATCH", "/api/v1/lists/{id}", pb_api_lists_update, PB_PERM_SETTINGS_MANAGE, JSON, true, false,
     0, NULL},
    {"DELETE", "/api/v1/lists/{id}", pb_api_lists_delete, PB_PERM_SETTINGS_MANAGE, 0, true, false,
     0, NULL},
    {"POST", "/api/v1/lists/{id}/members", pb_api_members_add, PB_PERM_CONTACTS_VIEW_ADDRESSES,
     JSON, true, false, 0, NULL},
    {"DELETE", "/api/v1/lists/{id}/members/{contact_id}", pb_api_members_remove,
     PB_PERM_CONTACTS_VIEW_ADDRESSES, 0, true, false, 0, NULL},
    {"GET", "/api/v1/contacts", pb_api_contacts_list, PB_PERM_CONTACTS_SEARCH, 0, false, false, 0,
     NULL},
    {"POST", "/api/v1/contacts", pb_api_contacts_create, PB_PERM_CONTACTS_VIEW_ADDRESSES, JSON,
     true, false, 0, NULL},
    {"GET", "/api/v1/contacts/search", pb_api_contacts_search, PB_PERM_CONTACTS_SEARCH, 0, false,
     false, 0, NULL},
    {"GET", "/api/v1/contacts/{id}", pb_api_contacts_get, PB_PERM_CONTACTS_SEARCH, 0, false, false,
     0, NULL},
    {"PATCH", "/api/v1/contacts/{id}", pb_api_contacts_update, PB_PERM_CONTACTS_VIEW_ADDRESSES,
     JSON, true, false, 0, NULL},
    {"POST", "/api/v1/evidence", pb_api_evidence_create, PB_PERM_CONTACTS_VIEW_ADDRESSES, EVIDENCE,
     true, true, 0, NULL},
    {"GET", "/api/v1/evidence/{id}", pb_api_evidence_get, PB_PERM_CONSENT_HISTORY, 0, false, false,
     0, NULL},
    {"POST", "/api/v1/consent-statements", pb_api_statements_create,
     PB_PERM_CONTACTS_VIEW_ADDRESSES, JSON, true, false, 0, NULL},
    {"GET", "/api/v1/consent", pb_api_consent_history, PB_PERM_CONSENT_HISTORY, 0, false, false, 0,
     NULL},
    {"GET", "/api/v1/consent/verify", pb_api_consent_verify, PB_PERM_CONSENT_HISTORY, 0, false,
     false, 0, NULL},
    {"GET", "/api/v1/subject-access", pb_api_subject_access, PB_PERM_CONSENT_HISTORY, 0, false,
     false, 0, NULL},

    /* Issue 5: imports and exports. */
    {"POST", "/api/v1/imports", pb_api_imports_create, PB_PERM_CONTACTS_IMPORT, IMPORT, true, true,
     0, pb_api_imports_body},
    {"GET", "/api/v1/imports/{id}", pb_api_imports_get, PB_PERM_CONTACTS_IMPORT, 0, false, false, 0,
     NULL},
    {"GET", "/api/v1/lists/{id}/export", pb_api_lists_export, PB_PERM_CONTACTS_EXPORT, 0, false,
     false, 0, NULL},

    /* Issue 7: the right to be forgotten. */
    {"POST", "/api/v1/erasures", pb_api_erasures_create, PB_PERM_ERASURE_RUN, SMALL, true, false, 0,
     NULL},
    {"GET", "/api/v1/erasures", pb_api_erasures_list, PB_PERM_ERASURE_RUN, 0, false, false, 0,
     NULL},

    /* Issue 6: campaigns, sending settings, and the public links in campaign mail. */
    {"GET", "/api/v1/campaigns", pb_api_campaigns_list, PB_PERM_CAMPAIGNS_WRITE, 0, false, false, 0,
     NULL},
    {"POST", "/api/v1/campaigns", pb_api_campaigns_create, PB_PERM_CAMPAIGNS_WRITE, CAMPAIGN, true,
     false, 0, NULL},
    {"GET", "/api/v1/campaigns/{id}", pb_api_campaigns_get, PB_PERM_CAMPAIGNS_WRITE, 0, false,
     false, 0, NULL},
    {"PATCH", "/api/v1/campaigns/{id}", pb_api_campaigns_update, PB_PERM_CAMPAIGNS_WRITE, CAMPAIGN,
     true, false, 0, NULL},
    {"DELETE", "/api/v1/campaigns/{id}", pb_api_campaigns_delete, PB_PERM_CAMPAIGNS_WRITE, 0, true,
     false, 0, NULL},
    {"POST", "/api/v1/campaigns/{id}/test", pb_api_campaigns_test, PB_PERM_CAMPAIGNS_WRITE, JSON,
     true, false, 0, NULL},
    {"POST", "/api/v1/campaigns/{id}/send", pb_api_campaigns_send, PB_PERM_CAMPAIGNS_SEND, JSON,
     true, false, 0, NULL},
    {"POST", "/api/v1/campaigns/{id}/pause", pb_api_campaigns_pause, PB_PERM_CAMPAIGNS_SEND, JSON,
     true, false, 0, NULL},
    {"POST", "/api/v1/campaigns/{id}/resume", pb_api_campaigns_resume, PB_PERM_CAMPAIGNS_SEND, JSON,
     true, false, 0, NULL},
    {"POST", "/api/v1/campaigns/{id}/cancel", pb_api_campaigns_cancel, PB_PERM_CAMPAIGNS_SEND, JSON,
     true, false, 0, NULL},
    {"GET", "/api/v1/campaigns/{id}/stats", pb_api_campaigns_stats, PB_PERM_CAMPAIGNS_WRITE, 0,
     false, false, 0, NULL},
    {"GET", "/api/v1/campaigns/{id}/timeline", pb_api_campaigns_timeline, PB_PERM_CAMPAIGNS_WRITE,
     0, false, false, 0, NULL},
    {"GET", "/api/v1/settings/smtp", pb_api_settings_smtp_get, PB_PERM_SETTINGS_MANAGE, 0, false,
     false, 0, NULL},
    {"PUT", "/api/v1/settings/smtp", pb_api_settings_smtp_put, PB_PERM_SETTINGS_MANAGE, SMALL, true,
     false, 0, NULL},
    {"GET", "/api/v1/settings/dkim", pb_api_settings_dkim_get, PB_PERM_SETTINGS_MANAGE, 0, false,
     false, 0, NULL},
    {"PUT", "/api/v1/settings/dkim", pb_api_settings_dkim_put, PB_PERM_SETTINGS_MANAGE, SMALL, true,
     false, 0, NULL},
    {"DELETE", "/api/v1/settings/dkim/{domain}/{selector}", pb_api_settings_dkim_delete,
     PB_PERM_SETTINGS_MANAGE, 0, true, false, 0, NULL},
    /* Public: reached from a mail client, no login and no CSRF token (the token is signed). */
    {"GET", "/u/{token}", pb_api_public_unsubscribe_page, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
    {"POST", "/u/{token}", pb_api_public_unsubscribe, PB_PERM_PUBLIC, SMALL, false, true, 0, NULL},
    {"GET", "/o/{token}", pb_api_public_open, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
    {"GET", "/c/{token}", pb_api_public_click, PB_PERM_PUBLIC, 0, false, false, 0, NULL},

    {"GET", "/", pb_static_get, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
    {"GET", "/{file}", pb_static_get, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
};

const size_t pb_routes_count = sizeof(pb_routes) / sizeof(pb_routes[0]);
