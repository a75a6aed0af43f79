/* Lookups in the error registry (err.def). */
#include "core/err.h"

#include <stddef.h>

struct err_entry {
    int code;
    int status;
    const char *name;
    const char *hint;
};

static const struct err_entry registry[] = {
#define PB_ERR(name, code, status, hint) {code, status, #name, hint},
#include "core/err.def"
#undef PB_ERR
};

static const struct err_entry *
find(int code)
{
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
        if (registry[i].code == code)
            return &registry[i];
    return NULL;
}

int
pb_err_status(enum pb_err err)
{
    const struct err_entry *e = find((int)err);
    return e ? e->status : 500;
}

const char *
pb_err_hint(enum pb_err err)
{
    const struct err_entry *e = find((int)err);
    return e ? e->hint : "unknown error";
}

const char *
pb_err_name(enum pb_err err)
{
    const struct err_entry *e = find((int)err);
    return e ? e->name : "UNKNOWN";
}

int
pb_err_known(int code)
{
    return find(code) != NULL;
}
