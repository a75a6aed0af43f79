/*
 * Error codes of Postbode: the enum generated from err.def, and lookups of
 * each code's number, HTTP status and hint.
 */
#ifndef PB_CORE_ERR_H
#define PB_CORE_ERR_H

enum pb_err {
#define PB_ERR(name, code, status, hint) PB_ERR_##name = code,
#include "core/err.def"
#undef PB_ERR
};

/* Room for a one-line explanation that names the bad thing (file, key, flag). */
#define PB_WHY_MAX 512

/* The HTTP status that reports this error (500 for an unknown code). */
int
pb_err_status(enum pb_err err);

/* A one-line hint for users; never NULL. */
const char *
pb_err_hint(enum pb_err err);

/* The symbolic name ("NOT_FOUND"); never NULL. */
const char *
pb_err_name(enum pb_err err);

/* Whether the value is a code of the registry. */
int
pb_err_known(int code);

#endif
