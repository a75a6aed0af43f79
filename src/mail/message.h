/*
 * Minimal RFC 5322 system messages (password reset, invitation): one
 * text/plain UTF-8 part, quoted-printable, with an RFC 2047 subject when
 * it is not plain ASCII. Header values with CR or LF are refused.
 */
#ifndef PB_MAIL_MESSAGE_H
#define PB_MAIL_MESSAGE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* The largest message pb_mail_build_simple makes. */
#define PB_MAIL_SIMPLE_MAX (1024 * 1024)

/*
 * Builds the message (CRLF line ends) into *out (malloc'd, NUL-terminated,
 * *len bytes; the caller frees it). `from` and `to` are addresses or
 * "Name <address>"; `from` must contain '@' (its domain names the
 * Message-ID). PB_ERR_INVALID for a header value with CR, LF or another
 * control character or an invalid UTF-8 subject; PB_ERR_TOO_LARGE past
 * PB_MAIL_SIMPLE_MAX.
 */
enum pb_err
pb_mail_build_simple(const char *from, const char *to, const char *subject, const char *text_body,
                     char **out, size_t *len);

/*
 * Appends `text` quoted-printable encoded (RFC 2045 6.7): LF or CRLF are
 * hard line breaks written as CRLF, lines are at most 76 characters
 * (soft breaks "=" CRLF), '=' and non-ASCII bytes as =XX, a space or tab
 * ending a line as =20 or =09. The output ends with CRLF.
 */
enum pb_err
pb_mail_message_qp(struct pb_buf *out, const char *text, size_t len);

/*
 * Appends the Subject header's value: as is when it is printable ASCII
 * (and not too long), else as RFC 2047 "=?utf-8?B?...?=" words of at most
 * 75 characters, folded with CRLF SP, split only between UTF-8 characters.
 */
enum pb_err
pb_mail_message_subject(struct pb_buf *out, const char *subject);

#endif
