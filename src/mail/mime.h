/*
 * The MIME builder of campaign messages: RFC 5322 headers (RFC 2047 for
 * non-ASCII display names and subjects, RFC 8058 one-click unsubscribe)
 * and a multipart/alternative body of a text/plain and a text/html part,
 * both UTF-8 and quoted-printable. Built for the sending hot path: one
 * caller-owned buffer reused from message to message, no allocation.
 */
#ifndef PB_MAIL_MIME_H
#define PB_MAIL_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define PB_MIME_NAME_MAX    200  /* bytes of a display name */
#define PB_MIME_SUBJECT_MAX 2000 /* bytes of a rendered subject */
#define PB_MIME_URI_MAX     900  /* bytes of each List-Unsubscribe URI */

struct pb_mime_msg {
    const char *from; /* "Display Name <local@domain>" or "local@domain" (pb_mime_address_check) */
    const char *to;   /* the recipient's address */
    const char *reply_to; /* NULL: none */
    const char *subject;  /* rendered, UTF-8 */
    const char *html;     /* rendered HTML body, UTF-8 */
    size_t html_len;
    const char *text; /* rendered text body, UTF-8 */
    size_t text_len;
    const char *list_unsubscribe_url;    /* https://host/u/TOKEN, required */
    const char *list_unsubscribe_mailto; /* "unsubscribe@host?subject=..." or NULL */
    const char *message_id;              /* NULL: a new unique one "<ULID.RANDOM@from-domain>" */
    const char *feedback_id;             /* NULL: none; else a Feedback-ID header */
    int64_t date; /* Unix seconds for the Date header (RFC 5322 format, +0000) */
};

/*
 * Appends the whole message (CRLF line ends) to `out`: Date, From, To,
 * Reply-To?, Subject, Message-ID, MIME-Version, List-Unsubscribe (<URL>,
 * <mailto:...>), List-Unsubscribe-Post: List-Unsubscribe=One-Click,
 * Feedback-ID?, then multipart/alternative with the text/plain and the
 * text/html part (charset=utf-8, quoted-printable, lines <= 76; LF or CRLF
 * in a body is a line break, sent as CRLF). The boundary starts with "=_",
 * which quoted-printable never produces. Display names are atoms, a quoted
 * string, or RFC 2047 words when not ASCII; the subject is RFC 2047 when not
 * printable ASCII, folded. No header line exceeds 998 octets.
 *
 * Header injection is impossible: a control character in from, to,
 * reply_to, message_id, feedback_id or the URIs is PB_ERR_INVALID; in the
 * subject (rendered from contact data) it becomes a space, and bytes that
 * are not UTF-8 become U+FFFD. PB_ERR_TOO_LARGE past a size limit or the
 * buffer's maximum. On an error `out` is left as it was.
 */
enum pb_err
pb_mime_build(const struct pb_mime_msg *m, struct pb_buf *out);

/*
 * Checks an address header value as a campaign's From or Reply-To: an
 * optional display name (UTF-8, no control characters, at most
 * PB_MIME_NAME_MAX bytes, may be a quoted string) and <addr-spec>, or a
 * bare addr-spec. The local part is an ASCII dot-atom (no SMTPUTF8); the
 * domain is LDH labels, and an internationalised domain (IDN) written in
 * UTF-8 is accepted and converted to its ASCII form (xn--, IDNA2008). On
 * success copies the address (domain lower-cased, ASCII) to `addr` and the
 * domain to `domain`. PB_ERR_INVALID otherwise, with `why` saying what is
 * wrong without naming the header ("the address has no domain"): callers
 * prefix "From: " or "Reply-To: ".
 */
enum pb_err
pb_mime_address_check(const char *value, char addr[255], char domain[254], char why[PB_WHY_MAX]);

#endif
