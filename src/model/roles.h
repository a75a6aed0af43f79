/*
 * Roles and permissions: the one table (role x permission) that the router
 * consults for every route. Handlers never check roles themselves.
 */
#ifndef PB_MODEL_ROLES_H
#define PB_MODEL_ROLES_H

#include <stdbool.h>

enum pb_role { PB_ROLE_NONE, PB_ROLE_OWNER, PB_ROLE_ADMIN, PB_ROLE_AUTHOR };

/*
 * What a route requires. PUBLIC needs no authentication at all;
 * AUTHENTICATED needs a user of any role; the rest are granted per role.
 */
enum pb_perm {
    PB_PERM_PUBLIC,
    PB_PERM_AUTHENTICATED,
    PB_PERM_CONTACTS_VIEW_ADDRESSES,
    PB_PERM_CONTACTS_SEARCH,
    PB_PERM_CONTACTS_IMPORT,
    PB_PERM_CONTACTS_EXPORT,
    PB_PERM_CONSENT_HISTORY,
    PB_PERM_ERASURE_RUN,
    PB_PERM_CAMPAIGNS_WRITE,
    PB_PERM_CAMPAIGNS_SEND,
    PB_PERM_USERS_MANAGE,
    PB_PERM_SETTINGS_MANAGE,
    PB_PERM_AUDIT_READ,    /* owners only */
    PB_PERM_OWNERS_MANAGE, /* owners only: make, demote or remove an owner */
    /* owners only: add an address on the suppression list again, with fresh consent */
    PB_PERM_SUPPRESSION_OVERRIDE,
    PB_PERM_COUNT
};

/* Whether `role` holds `perm` (PUBLIC is held by everyone, even PB_ROLE_NONE). */
bool
pb_role_allows(enum pb_role role, enum pb_perm perm);

/* "contacts.import", ...; never NULL. */
const char *
pb_perm_name(enum pb_perm perm);

/* "owner", "admin", "author"; NULL for PB_ROLE_NONE. */
const char *
pb_role_name(enum pb_role role);

/* Parses a role name; PB_ROLE_NONE when unknown. */
enum pb_role
pb_role_parse(const char *name);

#endif
