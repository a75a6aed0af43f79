/* The route table of the server: every endpoint, its permission and body limit. */
#include "http/router.h"

#include "api/api.h"
#include "http/assets.h"

/* Login forms and tokens are small: a tighter limit than ordinary JSON. */
#define SMALL (4 * 1024)
#define JSON  PB_JSON_BODY_LIMIT
#define STEP  PB_ROUTE_MFA_STEP
#define ENROL PB_ROUTE_ENROLMENT
/* Evidence images: up to 10 MiB, 413 beyond (model/evidence_check.h). */
#define EVIDENCE (10 * 1024 * 1024)

const struct pb_route pb_routes[] = {
    /* method, pattern, handler, permission, body limit, csrf, raw body, flags */
    {"GET", "/healthz", pb_api_healthz, PB_PERM_PUBLIC, 0, false, false, 0},

    {"POST", "/api/v1/session", pb_api_session_create, PB_PERM_PUBLIC, SMALL, false, false, 0},
    {"GET", "/api/v1/session", pb_api_session_get, PB_PERM_AUTHENTICATED, 0, false, false,
     STEP | ENROL},
    {"DELETE", "/api/v1/session", pb_api_session_delete, PB_PERM_AUTHENTICATED, 0, true, false,
     STEP | ENROL},
    {"POST", "/api/v1/session/mfa", pb_api_session_mfa, PB_PERM_AUTHENTICATED, SMALL, true, false,
     STEP},
    {"POST", "/api/v1/password/forgot", pb_api_password_forgot, PB_PERM_PUBLIC, SMALL, false, false,
     0},
    {"POST", "/api/v1/password/reset", pb_api_password_reset, PB_PERM_PUBLIC, SMALL, false, false,
     0},

    {"POST", "/api/v1/me/totp", pb_api_totp_start, PB_PERM_AUTHENTICATED, SMALL, true, false,
     ENROL},
    {"POST", "/api/v1/me/totp/confirm", pb_api_totp_confirm, PB_PERM_AUTHENTICATED, SMALL, true,
     false, ENROL},
    {"DELETE", "/api/v1/me/totp", pb_api_totp_delete, PB_PERM_AUTHENTICATED, SMALL, true, false,
     ENROL},

    {"GET", "/api/v1/users", pb_api_users_list, PB_PERM_USERS_MANAGE, 0, false, false, 0},
    {"POST", "/api/v1/users", pb_api_users_create, PB_PERM_USERS_MANAGE, JSON, true, false, 0},
    {"PATCH", "/api/v1/users/{id}", pb_api_users_update, PB_PERM_USERS_MANAGE, JSON, true, false,
     0},
    {"DELETE", "/api/v1/users/{id}", pb_api_users_delete, PB_PERM_USERS_MANAGE, 0, true, false, 0},

    {"GET", "/api/v1/api-keys", pb_api_keys_list, PB_PERM_AUTHENTICATED, 0, false, false, 0},
    {"POST", "/api/v1/api-keys", pb_api_keys_create, PB_PERM_AUTHENTICATED, JSON, true, false, 0},
    {"DELETE", "/api/v1/api-keys/{id}", pb_api_keys_delete, PB_PERM_AUTHENTICATED, 0, true, false,
     0},

    {"GET", "/api/v1/account", pb_api_account_get, PB_PERM_AUTHENTICATED, 0, false, false, 0},
    {"PATCH", "/api/v1/account", pb_api_account_update, PB_PERM_SETTINGS_MANAGE, JSON, true, false,
     0},
    {"GET", "/api/v1/audit", pb_api_audit_list, PB_PERM_AUDIT_READ, 0, false, false, 0},

    /* Issue 4: fields, lists, contacts, evidence, consent. */
    {"GET", "/api/v1/jobs/{id}", pb_api_jobs_get, PB_PERM_AUTHENTICATED, 0, false, false, 0},
    {"GET", "/api/v1/fields", pb_api_fields_list, PB_PERM_AUTHENTICATED, 0, false, false, 0},
    {"POST", "/api/v1/fields", pb_api_fields_create, PB_PERM_SETTINGS_MANAGE, JSON, true, false, 0},
    {"PATCH", "/api/v1/fields/{key}", pb_api_fields_update, PB_PERM_SETTINGS_MANAGE, JSON, true,
     false, 0},
    {"DELETE", "/api/v1/fields/{key}", pb_api_fields_delete, PB_PERM_SETTINGS_MANAGE, 0, true,
     false, 0},
    {"GET", "/api/v1/lists", pb_api_lists_list, PB_PERM_AUTHENTICATED, 0, false, false, 0},
    {"POST", "/api/v1/lists", pb_api_lists_create, PB_PERM_SETTINGS_MANAGE, JSON, true, false, 0},
    {"GET", "/api/v1/lists/{id}", pb_api_lists_get, PB_PERM_AUTHENTICATED, 0, false, false, 0},
    {"PATCH", "/api/v1/lists/{id}", pb_api_lists_update, PB_PERM_SETTINGS_MANAGE, JSON, true, false,
     0},
    {"DELETE", "/api/v1/lists/{id}", pb_api_lists_delete, PB_PERM_SETTINGS_MANAGE, 0, true, false,
     0},
    {"POST", "/api/v1/lists/{id}/members", pb_api_members_add, PB_PERM_CONTACTS_VIEW_ADDRESSES,
     JSON, true, false, 0},
    {"DELETE", "/api/v1/lists/{id}/members/{contact_id}", pb_api_members_remove,
     PB_PERM_CONTACTS_VIEW_ADDRESSES, 0, true, false, 0},
    {"GET", "/api/v1/contacts", pb_api_contacts_list, PB_PERM_CONTACTS_SEARCH, 0, false, false, 0},
    {"POST", "/api/v1/contacts", pb_api_contacts_create, PB_PERM_CONTACTS_VIEW_ADDRESSES, JSON,
     true, false, 0},
    {"GET", "/api/v1/contacts/search", pb_api_contacts_search, PB_PERM_CONTACTS_SEARCH, 0, false,
     false, 0},
    {"GET", "/api/v1/contacts/{id}", pb_api_contacts_get, PB_PERM_CONTACTS_SEARCH, 0, false, false,
     0},
    {"PATCH", "/api/v1/contacts/{id}", pb_api_contacts_update, PB_PERM_CONTACTS_VIEW_ADDRESSES,
     JSON, true, false, 0},
    {"POST", "/api/v1/evidence", pb_api_evidence_create, PB_PERM_CONTACTS_VIEW_ADDRESSES, EVIDENCE,
     true, true, 0},
    {"GET", "/api/v1/evidence/{id}", pb_api_evidence_get, PB_PERM_CONSENT_HISTORY, 0, false, false,
     0},
    {"POST", "/api/v1/consent-statements", pb_api_statements_create,
     PB_PERM_CONTACTS_VIEW_ADDRESSES, JSON, true, false, 0},
    {"GET", "/api/v1/consent", pb_api_consent_history, PB_PERM_CONSENT_HISTORY, 0, false, false, 0},
    {"GET", "/api/v1/consent/verify", pb_api_consent_verify, PB_PERM_CONSENT_HISTORY, 0, false,
     false, 0},
    {"GET", "/api/v1/subject-access", pb_api_subject_access, PB_PERM_CONSENT_HISTORY, 0, false,
     false, 0},

    {"GET", "/", pb_static_get, PB_PERM_PUBLIC, 0, false, false, 0},
    {"GET", "/{file}", pb_static_get, PB_PERM_PUBLIC, 0, false, false, 0},
};

const size_t pb_routes_count = sizeof(pb_routes) / sizeof(pb_routes[0]);
