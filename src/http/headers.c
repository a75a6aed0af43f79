/* The security headers added to every response. */
#include "http/headers.h"

#include <stddef.h>

struct header {
    const char *name;
    const char *value;
};

static const struct header security_headers[] = {
    {"Content-Security-Policy", PB_HEADERS_CSP},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
};

int
pb_headers_set(struct MHD_Response *resp, const char *name, const char *value)
{
    const char *old = MHD_get_response_header(resp, name);
    if (old != NULL)
        MHD_del_response_header(resp, name, old);
    return MHD_add_response_header(resp, name, value) == MHD_YES ? 0 : -1;
}

int
pb_headers_add_security(struct MHD_Response *resp, bool tls)
{
    for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++)
        if (pb_headers_set(resp, security_headers[i].name, security_headers[i].value) != 0)
            return -1;
    /* HSTS over plain HTTP is ignored by browsers and would mislead behind a proxy. */
    if (tls && pb_headers_set(resp, "Strict-Transport-Security",
                              "max-age=63072000; includeSubDomains") != 0)
        return -1;
    return 0;
}
