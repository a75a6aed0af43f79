/* The permission table: which role holds which permission. */
#include "model/roles.h"

#include <string.h>

static const char *const perm_names[PB_PERM_COUNT] = {
    [PB_PERM_PUBLIC] = "public",
    [PB_PERM_AUTHENTICATED] = "authenticated",
    [PB_PERM_CONTACTS_VIEW_ADDRESSES] = "contacts.view_addresses",
    [PB_PERM_CONTACTS_SEARCH] = "contacts.search",
    [PB_PERM_CONTACTS_IMPORT] = "contacts.import",
    [PB_PERM_CONTACTS_EXPORT] = "contacts.export",
    [PB_PERM_CONSENT_HISTORY] = "consent.history",
    [PB_PERM_ERASURE_RUN] = "erasure.run",
    [PB_PERM_CAMPAIGNS_WRITE] = "campaigns.write",
    [PB_PERM_CAMPAIGNS_SEND] = "campaigns.send",
    [PB_PERM_USERS_MANAGE] = "users.manage",
    [PB_PERM_SETTINGS_MANAGE] = "settings.manage",
    [PB_PERM_AUDIT_READ] = "audit.read",
    [PB_PERM_OWNERS_MANAGE] = "owners.manage",
    [PB_PERM_SUPPRESSION_OVERRIDE] = "suppression.override",
};

/*
 * The table itself. Authors (enterprise accounts) may search addresses and
 * write campaigns, but never see addresses, import, export, read consent
 * history, erase, manage users or change settings (mission feature 7).
 */
static const bool grants[][PB_PERM_COUNT] = {
    [PB_ROLE_NONE] = {[PB_PERM_PUBLIC] = true},
    [PB_ROLE_OWNER] =
        {
            [PB_PERM_PUBLIC] = true,
            [PB_PERM_AUTHENTICATED] = true,
            [PB_PERM_CONTACTS_VIEW_ADDRESSES] = true,
            [PB_PERM_CONTACTS_SEARCH] = true,
            [PB_PERM_CONTACTS_IMPORT] = true,
            [PB_PERM_CONTACTS_EXPORT] = true,
            [PB_PERM_CONSENT_HISTORY] = true,
            [PB_PERM_ERASURE_RUN] = true,
            [PB_PERM_CAMPAIGNS_WRITE] = true,
            [PB_PERM_CAMPAIGNS_SEND] = true,
            [PB_PERM_USERS_MANAGE] = true,
            [PB_PERM_SETTINGS_MANAGE] = true,
            [PB_PERM_AUDIT_READ] = true,
            [PB_PERM_OWNERS_MANAGE] = true,
            [PB_PERM_SUPPRESSION_OVERRIDE] = true,
        },
    [PB_ROLE_ADMIN] =
        {
            [PB_PERM_PUBLIC] = true,
            [PB_PERM_AUTHENTICATED] = true,
            [PB_PERM_CONTACTS_VIEW_ADDRESSES] = true,
            [PB_PERM_CONTACTS_SEARCH] = true,
            [PB_PERM_CONTACTS_IMPORT] = true,
            [PB_PERM_CONTACTS_EXPORT] = true,
            [PB_PERM_CONSENT_HISTORY] = true,
            [PB_PERM_ERASURE_RUN] = true,
            [PB_PERM_CAMPAIGNS_WRITE] = true,
            [PB_PERM_CAMPAIGNS_SEND] = true,
            [PB_PERM_USERS_MANAGE] = true,
            [PB_PERM_SETTINGS_MANAGE] = true,
        },
    [PB_ROLE_AUTHOR] =
        {
            [PB_PERM_PUBLIC] = true,
            [PB_PERM_AUTHENTICATED] = true,
            [PB_PERM_CONTACTS_SEARCH] = true,
            [PB_PERM_CAMPAIGNS_WRITE] = true,
        },
};

bool
pb_role_allows(enum pb_role role, enum pb_perm perm)
{
    if ((unsigned)role > PB_ROLE_AUTHOR || (unsigned)perm >= PB_PERM_COUNT)
        return false;
    return grants[role][perm];
}

const char *
pb_perm_name(enum pb_perm perm)
{
    if ((unsigned)perm >= PB_PERM_COUNT)
        return "unknown";
    return perm_names[perm];
}

const char *
pb_role_name(enum pb_role role)
{
    switch (role) {
    case PB_ROLE_OWNER:
        return "owner";
    case PB_ROLE_ADMIN:
        return "admin";
    case PB_ROLE_AUTHOR:
        return "author";
    case PB_ROLE_NONE:
        break;
    }
    return NULL;
}

enum pb_role
pb_role_parse(const char *name)
{
    for (enum pb_role r = PB_ROLE_OWNER; r <= PB_ROLE_AUTHOR; r++)
        if (strcmp(name, pb_role_name(r)) == 0)
            return r;
    return PB_ROLE_NONE;
}
