/*
 * The campaign MIME builder: checked and encoded headers, a
 * multipart/alternative body in quoted-printable, straight into the
 * caller's buffer.
 */
#include "mail/mime.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <idn2.h>
#include <sodium.h>

#include "core/id.h"
#include "core/strutil.h"
#include "mail/message.h"

enum {
    LOCAL_MAX = 64,
    DOMAIN_MAX = 253,
    LABEL_MAX = 63,
    ADDR_MAX = 254,
    VALUE_MAX = 1024, /* an address header value as given */
    MSGID_MAX = 250,
    FEEDBACK_MAX = 200,
    QP_LINE = 76, /* RFC 2045: encoded lines at most 76 characters, the soft break's '=' included */
};

/* An address header value, parsed. */
struct address {
    char name[PB_MIME_NAME_MAX + 1]; /* the display name, unquoted; "" when none */
    char addr[ADDR_MAX + 1];
    char domain[DOMAIN_MAX + 1];
};

static const char hex[] = "0123456789ABCDEF";

/*
 * Appends the strings given, up to a NULL: the headers are mostly fixed
 * text around values, and this is a tenth of what formatting them costs.
 */
static enum pb_err
put_strs(struct pb_buf *out, ...)
{
    va_list ap;
    enum pb_err err = PB_ERR_OK;
    va_start(ap, out);
    for (const char *s = va_arg(ap, const char *); s != NULL && err == PB_ERR_OK;
         s = va_arg(ap, const char *))
        err = pb_buf_append(out, s, strlen(s));
    va_end(ap);
    return err;
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 5322 atext, ASCII only. */
static bool
is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* 1 to `max` bytes of printable ASCII without space: what URIs and message ids may hold. */
static bool
is_graphic(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (n >= max || (unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
            return false;
    return n > 0;
}

/* Checks an ASCII domain (already in A-labels): LDH labels of 1..63, at least two. */
static bool
domain_ok(const char *d, char why[PB_WHY_MAX])
{
    size_t len = strlen(d), label = 0, labels = 1;
    if (len == 0 || len > DOMAIN_MAX) {
        snprintf(why, PB_WHY_MAX, "the domain must be 1 to %d characters", DOMAIN_MAX);
        return false;
    }
    for (size_t i = 0; i <= len; i++) {
        char c = d[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || d[i - 1] == '-' || d[i - label] == '-') {
                snprintf(why, PB_WHY_MAX,
                         "the domain has an empty label or one starting or ending with a dash");
                return false;
            }
            labels += c == '.';
            label = 0;
            continue;
        }
        if (++label > LABEL_MAX) {
            snprintf(why, PB_WHY_MAX, "a label of the domain is longer than %d characters",
                     LABEL_MAX);
            return false;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            snprintf(why, PB_WHY_MAX, "the domain may hold only letters, digits, dashes and dots");
            return false;
        }
    }
    if (labels < 2) {
        snprintf(why, PB_WHY_MAX, "the domain needs a dot, as in example.org");
        return false;
    }
    return true;
}

/* Checks the addr-spec s[0, n) and fills a->addr and a->domain. */
static bool
parse_addr_spec(const char *s, size_t n, struct address *a, char why[PB_WHY_MAX])
{
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '@')
            at = s + i;
    if (n == 0) {
        snprintf(why, PB_WHY_MAX, "the address is empty");
        return false;
    }
    if (at == NULL || at + 1 == s + n) {
        snprintf(why, PB_WHY_MAX, "the address has no domain");
        return false;
    }
    size_t ll = (size_t)(at - s);
    if (ll == 0 || ll > LOCAL_MAX) {
        snprintf(why, PB_WHY_MAX, "the part before @ must be 1 to %d characters", LOCAL_MAX);
        return false;
    }
    if (s[0] == '.' || s[ll - 1] == '.') {
        snprintf(why, PB_WHY_MAX, "the part before @ cannot start or end with a dot");
        return false;
    }
    for (size_t i = 0; i < ll; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' ? s[i + 1] == '.' : !is_atext(c)) {
            snprintf(why, PB_WHY_MAX,
                     "the part before @ may hold only ASCII letters, digits, single dots and "
                     "!#$%%&'*+-/=?^_`{|}~");
            return false;
        }
    }
    /* An internationalised domain becomes its ASCII form (IDNA2008, lower-cased). */
    char din[DOMAIN_MAX * 4 + 1];
    size_t dl = n - ll - 1;
    if (dl >= sizeof(din)) {
        snprintf(why, PB_WHY_MAX, "the domain must be 1 to %d characters", DOMAIN_MAX);
        return false;
    }
    memcpy(din, at + 1, dl);
    din[dl] = '\0';
    bool ascii = true;
    for (size_t i = 0; i < dl; i++)
        if ((unsigned char)din[i] >= 0x80)
            ascii = false;
    if (ascii) {
        if (dl > DOMAIN_MAX) {
            snprintf(why, PB_WHY_MAX, "the domain must be 1 to %d characters", DOMAIN_MAX);
            return false;
        }
        for (size_t i = 0; i <= dl; i++)
            a->domain[i] = din[i] >= 'A' && din[i] <= 'Z' ? (char)(din[i] + 32) : din[i];
    } else {
        char *conv = NULL;
        int rc = idn2_to_ascii_8z(din, &conv, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        if (rc != IDN2_OK) {
            snprintf(why, PB_WHY_MAX, "the domain is not a valid internationalised domain: %s",
                     idn2_strerror(rc));
            return false;
        }
        bool fits = pb_strlcpy(a->domain, conv, sizeof(a->domain));
        idn2_free(conv);
        if (!fits) {
            snprintf(why, PB_WHY_MAX, "the domain must be 1 to %d characters", DOMAIN_MAX);
            return false;
        }
        for (char *p = a->domain; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    }
    if (!domain_ok(a->domain, why))
        return false;
    if (ll + 1 + strlen(a->domain) > ADDR_MAX) {
        snprintf(why, PB_WHY_MAX, "the address is longer than %d characters", ADDR_MAX);
        return false;
    }
    snprintf(a->addr, sizeof(a->addr), "%.*s@%s", (int)ll, s, a->domain);
    return true;
}

/* Parses "Name <addr>", "\"Name\" <addr>", "<addr>" or "addr". */
static bool
parse_address(const char *value, struct address *a, char why[PB_WHY_MAX])
{
    a->name[0] = '\0';
    if (value == NULL || !pb_str_clean_utf8(value, VALUE_MAX)) {
        snprintf(why, PB_WHY_MAX,
                 value == NULL ? "the address is missing"
                               : "the value holds control characters, is not UTF-8 or is longer "
                                 "than 1024 bytes");
        return false;
    }
    size_t n = strlen(value);
    while (n > 0 && is_blank(value[n - 1]))
        n--;
    while (n > 0 && is_blank(*value)) {
        value++;
        n--;
    }
    if (n == 0 || value[n - 1] != '>') {
        if (memchr(value, '<', n) != NULL || memchr(value, '>', n) != NULL) {
            snprintf(why, PB_WHY_MAX, "write the address as Name <local@domain>");
            return false;
        }
        return parse_addr_spec(value, n, a, why);
    }
    const char *lt = NULL;
    for (size_t i = 0; i + 1 < n; i++)
        if (value[i] == '<')
            lt = value + i;
    if (lt == NULL) {
        snprintf(why, PB_WHY_MAX, "write the address as Name <local@domain>");
        return false;
    }
    const char *spec = lt + 1;
    size_t spec_len = (size_t)(value + n - 1 - spec);
    if (memchr(spec, '<', spec_len) != NULL || memchr(spec, '>', spec_len) != NULL) {
        snprintf(why, PB_WHY_MAX, "write the address as Name <local@domain>");
        return false;
    }
    /* The display name: before '<', trimmed, unquoted when it is a quoted string. */
    const char *nm = value;
    size_t nl = (size_t)(lt - value);
    while (nl > 0 && is_blank(nm[nl - 1]))
        nl--;
    size_t w = 0;
    bool quoted = nl >= 2 && nm[0] == '"' && nm[nl - 1] == '"';
    for (size_t i = quoted ? 1 : 0; i < (quoted ? nl - 1 : nl); i++) {
        char c = nm[i];
        if (quoted && c == '\\' && i + 1 < nl - 1)
            c = nm[++i];
        if (w >= PB_MIME_NAME_MAX) {
            snprintf(why, PB_WHY_MAX, "the display name is longer than %d bytes", PB_MIME_NAME_MAX);
            return false;
        }
        a->name[w++] = c;
    }
    a->name[w] = '\0';
    return parse_addr_spec(spec, spec_len, a, why);
}

enum pb_err
pb_mime_address_check(const char *value, char addr[255], char domain[254], char why[PB_WHY_MAX])
{
    struct address a;
    if (!parse_address(value, &a, why))
        return PB_ERR_INVALID;
    memcpy(addr, a.addr, strlen(a.addr) + 1);
    memcpy(domain, a.domain, strlen(a.domain) + 1);
    return PB_ERR_OK;
}

/* Appends "Name <addr>" with the name as atoms, a quoted string or RFC 2047 words. */
static enum pb_err
put_address(struct pb_buf *out, const struct address *a)
{
    if (a->name[0] == '\0')
        return pb_buf_append_str(out, a->addr);
    bool ascii = true, atoms = true;
    for (const unsigned char *p = (const unsigned char *)a->name; *p; p++) {
        if (*p >= 0x80)
            ascii = false;
        else if (!is_atext(*p) &&
                 !(*p == ' ' && p[1] != ' ' && p[1] != '\0' && p != (const unsigned char *)a->name))
            atoms = false;
    }
    enum pb_err err;
    if (!ascii || strstr(a->name, "=?") != NULL) {
        /* Not ASCII (or looks like an encoded word already): RFC 2047 words, folded. */
        err = pb_mail_message_subject(out, a->name);
    } else if (atoms) {
        err = pb_buf_append_str(out, a->name);
    } else {
        char q[2 * PB_MIME_NAME_MAX + 3];
        size_t w = 0;
        q[w++] = '"';
        for (const char *p = a->name; *p; p++) {
            if (*p == '"' || *p == '\\')
                q[w++] = '\\';
            q[w++] = *p;
        }
        q[w++] = '"';
        err = pb_buf_append(out, q, w);
    }
    if (err == PB_ERR_OK)
        err = put_strs(out, " <", a->addr, ">", (const char *)NULL);
    return err;
}

/* The recipient: an address without control characters, blanks outside quotes, <, > or ','. */
static bool
to_ok(const char *to)
{
    if (to == NULL || !pb_str_clean_utf8(to, ADDR_MAX))
        return false;
    const char *at = strrchr(to, '@');
    if (at == NULL || at == to || at[1] == '\0')
        return false;
    bool quoted = false;
    for (const char *p = to; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == '\\' && quoted && p[1] != '\0')
            p++;
        else if (!quoted && strchr(" <>,;()[]:", *p) != NULL)
            return false;
    }
    return !quoted;
}

/* The subject with control characters as spaces and bytes that are not UTF-8 as U+FFFD. */
static size_t
clean_subject(const char *s, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    while (*p) {
        unsigned char c = *p;
        if (c < 0x80) {
            out[w++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
            p++;
            continue;
        }
        size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        unsigned cp = n == 2 ? c & 0x1fu : n == 3 ? c & 0x0fu : c & 0x07u;
        size_t k = 1;
        for (; k < n && (p[k] & 0xc0) == 0x80; k++)
            cp = (cp << 6) | (p[k] & 0x3fu);
        bool ok = n > 0 && k == n && !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) &&
                  !(n == 4 && cp < 0x10000) && !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff;
        /* C1 controls (U+0080..U+009F) are controls too. */
        if (ok && cp >= 0x80 && cp <= 0x9f) {
            out[w++] = ' ';
        } else if (ok) {
            memcpy(out + w, p, n);
            w += n;
        } else {
            memcpy(out + w, "\xef\xbf\xbd", 3);
            w += 3;
            n = k > 1 ? k : 1; /* skip the bad byte and the continuation bytes read */
        }
        p += n;
    }
    out[w] = '\0';
    return w;
}

/* "Thu, 01 Jan 2026 00:00:00 +0000" (RFC 5322 3.3), whatever the locale. */
static void
format_date(int64_t unix_seconds, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * What each byte becomes in quoted-printable: 0 encoded as =XX, 1 itself,
 * 2 a blank (itself unless it ends a line).
 */
static const unsigned char qp_class[256] = {
    ['\t'] = 2, [' '] = 2, ['!'] = 1, ['"'] = 1, ['#'] = 1,  ['$'] = 1, ['%'] = 1, ['&'] = 1,
    ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1,  [','] = 1, ['-'] = 1, ['.'] = 1,
    ['/'] = 1,  ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,  ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1,  ['8'] = 1, ['9'] = 1, [':'] = 1, [';'] = 1,  ['<'] = 1, ['>'] = 1, ['?'] = 1,
    ['@'] = 1,  ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,  ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1,  ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,  ['M'] = 1, ['N'] = 1, ['O'] = 1,
    ['P'] = 1,  ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,  ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1,  ['Y'] = 1, ['Z'] = 1, ['['] = 1, ['\\'] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1,  ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,  ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1,  ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,  ['m'] = 1, ['n'] = 1, ['o'] = 1,
    ['p'] = 1,  ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,  ['u'] = 1, ['v'] = 1, ['w'] = 1,
    ['x'] = 1,  ['y'] = 1, ['z'] = 1, ['{'] = 1, ['|'] = 1,  ['}'] = 1, ['~'] = 1,
};

/*
 * The bytes of the 8 at p that are not printable ASCII (< 0x20, >= 0x7f)
 * or are '=', as the top bit of each byte: a word at a time (SWAR), as the
 * byte loop was most of a message's build time. Each test is the "has a
 * byte below n" bit trick, whose lowest set bit is exact (a borrow only
 * spoils bytes above a matching one), so on a little-endian machine the
 * count of trailing zeros / 8 is the first such byte.
 */
static uint64_t
word_special(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t eq = x ^ (ones * '='), del = x ^ (ones * 0x7f);
    return (((x - ones * 0x20) & ~x) | ((eq - ones) & ~eq) | ((del - ones) & ~del) | x) & highs;
}

/* The end of the run of literal bytes from u[i], at most up to lim. */
static size_t
literal_run(const unsigned char *u, size_t n, size_t i, size_t lim)
{
    size_t j = i;
#if defined(__SSE2__)
    /* 16 at a time: bytes below 0x20 or from 0x80 (negative as signed), 0x7f and '='. */
    const __m128i low = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f), eq = _mm_set1_epi8('=');
    while (j < lim && j + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + j));
        __m128i hit = _mm_or_si128(_mm_cmplt_epi8(x, low),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, del), _mm_cmpeq_epi8(x, eq)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask != 0) {
            j += (size_t)__builtin_ctz(mask);
            break;
        }
        j += 16;
    }
    if (j > lim)
        j = lim;
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (j < lim && j + 8 <= n) {
        uint64_t hit = word_special(u + j);
        if (hit != 0) {
            j += (size_t)__builtin_ctzll(hit) / 8;
            break;
        }
        j += 8;
    }
    if (j > lim)
        j = lim;
#endif
    while (j < lim && qp_class[u[j]] != 0)
        j++;
    return j;
}

/* Whether s[i] starts a line break: LF or CRLF. */
static bool
at_break(const unsigned char *u, size_t n, size_t i)
{
    return i < n && (u[i] == '\n' || (u[i] == '\r' && i + 1 < n && u[i + 1] == '\n'));
}

/* Whether s[i], at a line's start, must be encoded: '.' or "From ". */
static bool
risky_start(const char *s, size_t n, size_t i)
{
    return s[i] == '.' || (s[i] == 'F' && n - i >= 5 && memcmp(s + i, "From ", 5) == 0);
}

/*
 * Appends s[0, n) quoted-printable (RFC 2045 6.7). LF or CRLF is a line
 * break, written CRLF; a lone CR is =0D. A '.' or "From " starting a line
 * is encoded too: some relays mangle those, which would break the DKIM
 * signature. The output ends with CRLF only when the body does, so the part
 * decodes to the body exactly.
 *
 * The hot path of the builder: runs of bytes that stand for themselves are
 * found a word at a time and copied whole, and output goes through a stack
 * chunk, so the buffer grows a few times per body, not per byte.
 */
static enum pb_err
put_qp(struct pb_buf *out, const char *s, size_t n)
{
    char chunk[8192];
    size_t w = 0, col = 0, i = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (i < n) {
        if (w > sizeof(chunk) - 2 * QP_LINE) {
            enum pb_err err = pb_buf_append(out, chunk, w);
            if (err != PB_ERR_OK)
                return err;
            w = 0;
        }
        unsigned char c = u[i];
        if (at_break(u, n, i)) {
            i += c == '\r' ? 2 : 1;
            chunk[w++] = '\r';
            chunk[w++] = '\n';
            col = 0;
            continue;
        }
        if (qp_class[c] != 0 && !(col == 0 && risky_start(s, n, i))) {
            /* A run of literal bytes, up to the line's room. */
            size_t room = QP_LINE - 1 - col;
            size_t lim = n - i < room ? n : i + room;
            size_t j = literal_run(u, n, i, lim);
            /* A blank ending a line (or the body) would be lost in transport: leave it out. */
            if (j > i && qp_class[u[j - 1]] == 2 && (j == n || at_break(u, n, j)))
                j--;
            if (j > i) {
                memcpy(chunk + w, s + i, j - i);
                w += j - i;
                col += j - i;
                i = j;
                continue;
            }
        }
        /* One byte encoded, or a literal one that needs a soft break first. */
        bool literal =
            qp_class[c] == 1 || (qp_class[c] == 2 && !(i + 1 == n || at_break(u, n, i + 1)));
        if (col == 0 && risky_start(s, n, i))
            literal = false;
        size_t tl = literal ? 1 : 3;
        if (col + tl > QP_LINE - 1) {
            chunk[w++] = '=';
            chunk[w++] = '\r';
            chunk[w++] = '\n';
            col = 0;
            if (risky_start(s, n, i))
                tl = 3; /* now it starts a line */
        }
        if (tl == 1) {
            chunk[w++] = (char)c;
        } else {
            chunk[w++] = '=';
            chunk[w++] = hex[c >> 4];
            chunk[w++] = hex[c & 15];
        }
        col += tl;
        i++;
    }
    return pb_buf_append(out, chunk, w);
}

/* Appends a boundary, one part's headers and its body. */
static enum pb_err
put_part(struct pb_buf *out, const char *boundary, const char *type, const char *body, size_t len)
{
    enum pb_err err = put_strs(out, "\r\n--", boundary, "\r\nContent-Type: ", type,
                               "; charset=utf-8\r\n"
                               "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                               (const char *)NULL);
    if (err == PB_ERR_OK)
        err = put_qp(out, body, len);
    return err;
}

enum pb_err
pb_mime_build(const struct pb_mime_msg *m, struct pb_buf *out)
{
    struct address from, reply;
    char why[PB_WHY_MAX];
    char subject[3 * PB_MIME_SUBJECT_MAX + 1];
    char date[40], msgid[MSGID_MAX + 3], boundary[2 + 16 + 1];
    size_t start = out->len;
    enum pb_err err = PB_ERR_OK;

    /* Everything is checked before the first byte is written. */
    if (m->subject == NULL || m->html == NULL || m->text == NULL || !to_ok(m->to) ||
        !parse_address(m->from, &from, why) ||
        (m->reply_to != NULL && !parse_address(m->reply_to, &reply, why)))
        return PB_ERR_INVALID;
    const char *url = m->list_unsubscribe_url;
    const char *mailto = m->list_unsubscribe_mailto;
    if (url == NULL || strncmp(url, "https://", 8) != 0 || !is_graphic(url, PB_MIME_URI_MAX) ||
        strpbrk(url, "<>\"") != NULL)
        return url != NULL && strlen(url) > PB_MIME_URI_MAX ? PB_ERR_TOO_LARGE : PB_ERR_INVALID;
    if (mailto != NULL && strncmp(mailto, "mailto:", 7) == 0)
        mailto += 7;
    if (mailto != NULL && (!is_graphic(mailto, PB_MIME_URI_MAX - 7) ||
                           strpbrk(mailto, "<>\"") != NULL || strchr(mailto, '@') == NULL))
        return strlen(mailto) > PB_MIME_URI_MAX - 7 ? PB_ERR_TOO_LARGE : PB_ERR_INVALID;
    if (m->feedback_id != NULL) {
        for (const char *p = m->feedback_id; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                return PB_ERR_INVALID;
        if (m->feedback_id[0] == '\0' || strlen(m->feedback_id) > FEEDBACK_MAX)
            return PB_ERR_INVALID;
    }
    if (strlen(m->subject) > PB_MIME_SUBJECT_MAX)
        return PB_ERR_TOO_LARGE;

    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof(rnd));
    if (m->message_id != NULL) {
        const char *id = m->message_id;
        size_t il = strlen(id);
        bool wrapped = il >= 2 && id[0] == '<' && id[il - 1] == '>';
        if (wrapped) {
            id++;
            il -= 2;
        }
        if (!is_graphic(id, MSGID_MAX + 1) || il > MSGID_MAX || memchr(id, '<', il) != NULL ||
            memchr(id, '>', il) != NULL || memchr(id, '@', il) == NULL)
            return PB_ERR_INVALID;
        snprintf(msgid, sizeof(msgid), "<%.*s>", (int)il, id);
    } else {
        char ulid[PB_ID_LEN + 1], tail[17];
        pb_id_new(ulid);
        for (int i = 0; i < 8; i++) {
            tail[2 * i] = hex[rnd[i] >> 4];
            tail[2 * i + 1] = hex[rnd[i] & 15];
        }
        tail[16] = '\0';
        snprintf(msgid, sizeof(msgid), "<%s.%s@%s>", ulid, tail, from.domain);
    }
    /* "=_" never occurs in quoted-printable output: '=' is followed by hex digits or CRLF. */
    boundary[0] = '=';
    boundary[1] = '_';
    for (int i = 0; i < 8; i++) {
        boundary[2 + 2 * i] = hex[rnd[8 + i] >> 4];
        boundary[3 + 2 * i] = hex[rnd[8 + i] & 15];
    }
    boundary[18] = '\0';
    format_date(m->date, date);
    clean_subject(m->subject, subject);

    err = put_strs(out, "Date: ", date, "\r\nFrom: ", (const char *)NULL);
    if (err == PB_ERR_OK)
        err = put_address(out, &from);
    if (err == PB_ERR_OK)
        err = put_strs(out, "\r\nTo: ", m->to, "\r\n", (const char *)NULL);
    if (err == PB_ERR_OK && m->reply_to != NULL) {
        err = pb_buf_append_str(out, "Reply-To: ");
        if (err == PB_ERR_OK)
            err = put_address(out, &reply);
        if (err == PB_ERR_OK)
            err = pb_buf_append(out, "\r\n", 2);
    }
    if (err == PB_ERR_OK)
        err = pb_buf_append_str(out, "Subject: ");
    if (err == PB_ERR_OK)
        err = pb_mail_message_subject(out, subject);
    if (err == PB_ERR_OK)
        err = put_strs(out, "\r\nMessage-ID: ", msgid, "\r\nMIME-Version: 1.0\r\n",
                       (const char *)NULL);
    /* Both URIs on one line when short; else folded after the comma (each fits a line). */
    if (err == PB_ERR_OK)
        err = put_strs(out, "List-Unsubscribe: <", url, ">", (const char *)NULL);
    if (err == PB_ERR_OK && mailto != NULL)
        err = put_strs(out, ",", strlen(url) + strlen(mailto) > 40 ? "\r\n " : " ",
                       "<mailto:", mailto, ">", (const char *)NULL);
    if (err == PB_ERR_OK)
        err = pb_buf_append_str(out, "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    if (err == PB_ERR_OK && m->feedback_id != NULL)
        err = put_strs(out, "Feedback-ID: ", m->feedback_id, "\r\n", (const char *)NULL);
    if (err == PB_ERR_OK)
        err = put_strs(out, "Content-Type: multipart/alternative; boundary=\"", boundary,
                       "\"\r\n\r\nThis is a multipart message in MIME format.\r\n",
                       (const char *)NULL);
    if (err == PB_ERR_OK)
        err = put_part(out, boundary, "text/plain", m->text, m->text_len);
    if (err == PB_ERR_OK)
        err = put_part(out, boundary, "text/html", m->html, m->html_len);
    if (err == PB_ERR_OK)
        err = put_strs(out, "\r\n--", boundary, "--\r\n", (const char *)NULL);
    if (err != PB_ERR_OK && out->data != NULL) {
        out->len = start;
        out->data[start] = '\0';
    }
    return err;
}
