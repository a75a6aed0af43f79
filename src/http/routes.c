/* The route table of the server: every endpoint, its permission and body limit. */
#include "http/router.h"

#include "api/api.h"
#include "http/assets.h"

const struct pb_route pb_routes[] = {
    /* method, pattern, handler, permission, body limit, csrf */
    {"GET", "/healthz", pb_api_healthz, PB_PERM_PUBLIC, 0, false, false},
    {"GET", "/", pb_static_get, PB_PERM_PUBLIC, 0, false, false},
    {"GET", "/{file}", pb_static_get, PB_PERM_PUBLIC, 0, false, false},
};

const size_t pb_routes_count = sizeof(pb_routes) / sizeof(pb_routes[0]);
