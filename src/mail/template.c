/*
 * Campaign templates: the merge-tag compiler and renderer, link slots for
 * click tracking, and the HTML-to-text conversion for campaigns without a
 * text body.
 */
#include "mail/template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum seg_kind {
    SEG_TEXT, /* pool[off, off + len) */
    SEG_VAR,  /* values[arg], or the default pool[off, off + len) */
    SEG_LINK, /* the caller's URL for link arg */
};

struct seg {
    enum seg_kind kind;
    int arg;
    uint32_t off, len;
};

struct pb_tpl {
    enum pb_tpl_escape esc;
    struct seg *segs;
    int nsegs, segcap;
    struct pb_buf pool; /* literal text and defaults (escaped already in HTML mode) */
    struct pb_buf urls; /* the links' decoded URLs, each NUL-terminated */
    uint32_t *link_off; /* link n is urls.data + link_off[n] */
    int nlinks;
    bool *uses; /* uses[slot] */
    int nvars;
};

/* ---- small helpers --------------------------------------------------------- */

static bool
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool
is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Whether s[0, n) starts with the ASCII `word`, ignoring case. */
static bool
starts_ci(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (n < wl)
        return false;
    for (size_t i = 0; i < wl; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)word[i])
            return false;
    return true;
}

/* The first `needle` in s[0, n), or NULL (memmem is a GNU extension). */
static const char *
find(const char *s, size_t n, const char *needle)
{
    size_t nl = strlen(needle);
    const char *end = s + n;
    while ((size_t)(end - s) >= nl) {
        const char *p = memchr(s, needle[0], (size_t)(end - s) - nl + 1);
        if (p == NULL)
            return NULL;
        if (memcmp(p, needle, nl) == 0)
            return p;
        s = p + 1;
    }
    return NULL;
}

/* The 1-based line of byte `pos`. Only used for error messages. */
static int
line_of(const char *src, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++)
        line += src[i] == '\n';
    return line;
}

/* Where the first byte that is not UTF-8 (or a NUL) is; len when all are. */
static size_t
utf8_bad_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (len - i < n)
            return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return i;
        i += n;
    }
    return len;
}

static size_t
utf8_put(unsigned cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static const struct {
    const char *name;
    unsigned cp;
} entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"trade", 0x2122}, {"euro", 0x20ac},  {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201c}, {"rdquo", 0x201d}, {"sbquo", 0x201a},
    {"bdquo", 0x201e}, {"bull", 0x2022},  {"zwnj", 0x200c},  {"zwj", 0x200d},   {"thinsp", 0x2009},
};

/* The Latin-1 entities (HTML 3.2), U+00A0 to U+00FF in order. */
static const char *const latin1[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml",
};

/*
 * Decodes the entity at s[0] == '&' (s[0, n)): "&name;", "&#123;" or
 * "&#x7b;". Returns the bytes consumed (0: not an entity) and the UTF-8
 * text in out[0, *olen). &nbsp; gives a plain space: in text it is a blank.
 */
static size_t
entity_decode(const char *s, size_t n, char out[4], size_t *olen)
{
    size_t max = n < 12 ? n : 12;
    const char *semi = memchr(s, ';', max);
    if (semi == NULL || semi - s < 2)
        return 0;
    size_t elen = (size_t)(semi - s) + 1;
    if (s[1] == '#') {
        unsigned long cp = 0;
        size_t i = 2;
        bool hexa = i < elen - 1 && (s[i] == 'x' || s[i] == 'X');
        i += hexa;
        if (i >= elen - 1)
            return 0;
        for (; i < elen - 1; i++) {
            unsigned char c = lower((unsigned char)s[i]);
            unsigned d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (hexa && c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else
                return 0;
            cp = cp * (hexa ? 16 : 10) + d;
            if (cp > 0x10ffff)
                cp = 0x110000; /* keeps overflowing input bounded */
        }
        /* NUL, surrogates and values past Unicode become U+FFFD, as browsers do. */
        if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            cp = 0xfffd;
        *olen = utf8_put((unsigned)cp, out);
        return elen;
    }
    size_t nl = elen - 2;
    for (size_t k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
        if (strlen(entities[k].name) == nl && memcmp(s + 1, entities[k].name, nl) == 0) {
            *olen = utf8_put(entities[k].cp, out);
            return elen;
        }
    }
    for (unsigned k = 0; k < 96; k++) {
        if (strlen(latin1[k]) == nl && memcmp(s + 1, latin1[k], nl) == 0) {
            /* &nbsp; is a blank in text, and URLs have no use for U+00A0. */
            *olen = utf8_put(k == 0 ? ' ' : 0xa0 + k, out);
            return elen;
        }
    }
    return 0;
}

/* ---- compilation ------------------------------------------------------------ */

static enum pb_err
add_seg(struct pb_tpl *t, enum seg_kind kind, int arg, size_t off, size_t len)
{
    if (t->nsegs == t->segcap) {
        int cap = t->segcap ? t->segcap * 2 : 16;
        struct seg *s = realloc(t->segs, (size_t)cap * sizeof(*s));
        if (s == NULL)
            return PB_ERR_NOMEM;
        t->segs = s;
        t->segcap = cap;
    }
    t->segs[t->nsegs++] = (struct seg){kind, arg, (uint32_t)off, (uint32_t)len};
    return PB_ERR_OK;
}

/* Appends a text segment for src[from, to), merged with a text segment just before it. */
static enum pb_err
add_text(struct pb_tpl *t, const char *src, size_t from, size_t to)
{
    if (to <= from)
        return PB_ERR_OK;
    size_t off = t->pool.len;
    enum pb_err err = pb_buf_append(&t->pool, src + from, to - from);
    if (err != PB_ERR_OK)
        return err;
    struct seg *last = t->nsegs > 0 ? &t->segs[t->nsegs - 1] : NULL;
    if (last != NULL && last->kind == SEG_TEXT && last->off + last->len == off) {
        last->len += (uint32_t)(to - from);
        return PB_ERR_OK;
    }
    return add_seg(t, SEG_TEXT, 0, off, to - from);
}

/* The entity an HTML-escaped character becomes, or NULL for a character kept as it is. */
static const char *
html_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

/* Appends `s` HTML-escaped: & < > " ' as entities. */
static enum pb_err
append_escaped(struct pb_buf *out, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = html_entity(s[i]);
        if (rep == NULL)
            continue;
        enum pb_err err = pb_buf_append(out, s + run, i - run);
        if (err == PB_ERR_OK)
            err = pb_buf_append_str(out, rep);
        if (err != PB_ERR_OK)
            return err;
        run = i + 1;
    }
    return pb_buf_append(out, s + run, n - run);
}

/* The tag starting at src[at] as written, cut to a readable length, for messages. */
static void
tag_text(const char *src, size_t len, size_t at, char *out, size_t size)
{
    size_t end = at + 2;
    while (end < len && src[end] != '\n' &&
           !(src[end] == '}' && end + 1 < len && src[end + 1] == '}'))
        end++;
    if (end < len && src[end] == '}')
        end += 2;
    size_t n = end - at;
    bool cut = false;
    if (n > 60) {
        n = 60;
        while (n > 0 && ((unsigned char)src[at + n] & 0xc0) == 0x80)
            n--; /* never cut a UTF-8 character */
        cut = true;
    }
    snprintf(out, size, "%.*s%s", (int)n, src + at, cut ? "..." : "");
}

enum tag_problem {
    TAG_UNCLOSED,
    TAG_BAD_NAME,
    TAG_UNKNOWN,
    TAG_BAD_FILTER,
    TAG_NO_COLON,
    TAG_NO_QUOTES,
    TAG_OPEN_QUOTE,
    TAG_LONG_DEFAULT,
    TAG_AFTER_NAME,
    TAG_AFTER_DEFAULT,
};

/* Explains a bad tag; the line and the tag's text are worked out here, on failure only. */
static enum pb_err
tag_error(const char *src, size_t len, size_t at, enum tag_problem what, char why[PB_WHY_MAX])
{
    char shown[80];
    int line = line_of(src, at);
    tag_text(src, len, at, shown, sizeof(shown));
    switch (what) {
    case TAG_UNCLOSED:
        snprintf(why, PB_WHY_MAX, "line %d: %s: the tag is never closed with }}", line, shown);
        break;
    case TAG_BAD_NAME:
        snprintf(why, PB_WHY_MAX,
                 "line %d: %s: a tag name is lower-case letters, digits and _, as in "
                 "{{ first_name }}",
                 line, shown);
        break;
    case TAG_UNKNOWN:
        snprintf(why, PB_WHY_MAX, "line %d: unknown tag %s", line, shown);
        break;
    case TAG_BAD_FILTER:
        snprintf(why, PB_WHY_MAX,
                 "line %d: unknown filter in %s: the only filter is default: \"text\"", line,
                 shown);
        break;
    case TAG_NO_COLON:
        snprintf(why, PB_WHY_MAX, "line %d: %s: write the default as default: \"text\"", line,
                 shown);
        break;
    case TAG_NO_QUOTES:
        snprintf(why, PB_WHY_MAX, "line %d: %s: the default must be in quotes", line, shown);
        break;
    case TAG_OPEN_QUOTE:
        snprintf(why, PB_WHY_MAX, "line %d: %s: the default's quote is never closed", line, shown);
        break;
    case TAG_LONG_DEFAULT:
        snprintf(why, PB_WHY_MAX, "line %d: %s: the default is longer than %d bytes", line, shown,
                 PB_TPL_DEFAULT_MAX);
        return PB_ERR_TOO_LARGE;
    case TAG_AFTER_NAME:
        snprintf(why, PB_WHY_MAX, "line %d: %s: expected }} after the tag name", line, shown);
        break;
    case TAG_AFTER_DEFAULT:
        snprintf(why, PB_WHY_MAX, "line %d: %s: expected }} after the default", line, shown);
        break;
    }
    return PB_ERR_INVALID;
}

static size_t
skip_spaces(const char *src, size_t len, size_t p)
{
    while (p < len && is_space((unsigned char)src[p]))
        p++;
    return p;
}

/*
 * Parses the tag at src[at] ("{{"): its slot, its default (src[*dflt,
 * *dflt + *dlen), *dflt == SIZE_MAX when none) and where it ends.
 */
static enum pb_err
parse_tag(const char *src, size_t len, size_t at, const struct pb_tpl_vars *vars, int *slot,
          size_t *dflt, size_t *dlen, size_t *end, char why[PB_WHY_MAX])
{
    *dflt = SIZE_MAX;
    *dlen = 0;
    size_t p = skip_spaces(src, len, at + 2);
    size_t name = p;
    while (p < len && is_name_char((unsigned char)src[p]))
        p++;
    size_t name_len = p - name;
    if (p >= len)
        return tag_error(src, len, at, TAG_UNCLOSED, why);
    if (name_len == 0 || !(is_space((unsigned char)src[p]) || src[p] == '|' || src[p] == '}'))
        return tag_error(src, len, at, TAG_BAD_NAME, why);
    *slot = -1;
    for (int i = 0; i < vars->n && *slot < 0; i++)
        if (strlen(vars->names[i]) == name_len && memcmp(vars->names[i], src + name, name_len) == 0)
            *slot = i;
    p = skip_spaces(src, len, p);
    if (p < len && src[p] == '|') {
        p = skip_spaces(src, len, p + 1);
        if (len - p < 7 || memcmp(src + p, "default", 7) != 0)
            return tag_error(src, len, at, TAG_BAD_FILTER, why);
        p = skip_spaces(src, len, p + 7);
        if (p >= len || src[p] != ':')
            return tag_error(src, len, at, TAG_NO_COLON, why);
        p = skip_spaces(src, len, p + 1);
        if (p >= len || (src[p] != '"' && src[p] != '\''))
            return tag_error(src, len, at, TAG_NO_QUOTES, why);
        const char *close = memchr(src + p + 1, src[p], len - p - 1);
        if (close == NULL)
            return tag_error(src, len, at, TAG_OPEN_QUOTE, why);
        *dflt = p + 1;
        *dlen = (size_t)(close - src) - *dflt;
        if (*dlen > PB_TPL_DEFAULT_MAX)
            return tag_error(src, len, at, TAG_LONG_DEFAULT, why);
        p = skip_spaces(src, len, (size_t)(close - src) + 1);
    }
    if (p + 1 >= len || memchr(src + p, '}', len - p) == NULL)
        return tag_error(src, len, at, TAG_UNCLOSED, why);
    if (src[p] != '}' || src[p + 1] != '}')
        return tag_error(src, len, at, *dflt != SIZE_MAX ? TAG_AFTER_DEFAULT : TAG_AFTER_NAME, why);
    if (*slot < 0)
        return tag_error(src, len, at, TAG_UNKNOWN, why);
    *end = p + 2;
    return PB_ERR_OK;
}

/*
 * The <a ...> tag at src[at] ("<a" and a blank): finds its quoted href
 * value, trimmed, in src[*vs, *ve). Merge tags in other attributes are
 * skipped whole, so their quotes do not end an attribute. *stop is where
 * the scan ended, so that the compiler never scans one stretch twice.
 */
static bool
find_href(const char *src, size_t len, size_t at, size_t *vs, size_t *ve, size_t *stop)
{
    size_t p = at + 2;
    *stop = len;
    while (p < len) {
        p = skip_spaces(src, len, p);
        if (p >= len)
            return false;
        if (src[p] == '>') {
            *stop = p;
            return false;
        }
        if (src[p] == '{' && p + 1 < len && src[p + 1] == '{') {
            const char *close = p + 2 < len ? find(src + p + 2, len - p - 2, "}}") : NULL;
            if (close == NULL)
                return false;
            p = (size_t)(close - src) + 2;
            continue;
        }
        size_t name = p;
        while (p < len && !is_space((unsigned char)src[p]) && src[p] != '=' && src[p] != '>' &&
               !(src[p] == '{' && p + 1 < len && src[p + 1] == '{'))
            p++;
        bool href = p - name == 4 && starts_ci(src + name, 4, "href");
        if (p == name)
            p++; /* a stray character: step over it */
        p = skip_spaces(src, len, p);
        if (p >= len || src[p] != '=')
            continue;
        p = skip_spaces(src, len, p + 1);
        if (p >= len)
            return false;
        if (src[p] == '"' || src[p] == '\'') {
            const char *close = memchr(src + p + 1, src[p], len - p - 1);
            if (close == NULL)
                return false;
            if (href) {
                *vs = p + 1;
                *ve = (size_t)(close - src);
                *stop = *ve;
                while (*vs < *ve && is_space((unsigned char)src[*vs]))
                    (*vs)++;
                while (*ve > *vs && is_space((unsigned char)src[*ve - 1]))
                    (*ve)--;
                return true;
            }
            p = (size_t)(close - src) + 1;
        } else {
            while (p < len && !is_space((unsigned char)src[p]) && src[p] != '>')
                p++; /* an unquoted value: never tracked */
        }
    }
    return false;
}

/* Adds (or finds) the link src[vs, ve) and gives its number. */
static enum pb_err
add_link(struct pb_tpl *t, const char *src, size_t vs, size_t ve, int *n, char why[PB_WHY_MAX])
{
    char url[PB_TPL_URL_MAX + 1];
    size_t ul = 0;
    for (size_t i = vs; i < ve;) {
        char dec[4];
        size_t dl = 1, used = 0;
        if (src[i] == '&')
            used = entity_decode(src + i, ve - i, dec, &dl);
        if (used == 0) {
            dec[0] = src[i];
            dl = 1;
            used = 1;
        }
        if (ul + dl > PB_TPL_URL_MAX) {
            snprintf(why, PB_WHY_MAX, "line %d: a link is longer than %d bytes", line_of(src, vs),
                     PB_TPL_URL_MAX);
            return PB_ERR_TOO_LARGE;
        }
        memcpy(url + ul, dec, dl);
        ul += dl;
        i += used;
    }
    url[ul] = '\0';
    for (int k = 0; k < t->nlinks; k++) {
        if (strcmp(t->urls.data + t->link_off[k], url) == 0) {
            *n = k;
            return PB_ERR_OK;
        }
    }
    if (t->nlinks == PB_TPL_LINKS_MAX) {
        snprintf(why, PB_WHY_MAX, "line %d: more than %d different links", line_of(src, vs),
                 PB_TPL_LINKS_MAX);
        return PB_ERR_TOO_LARGE;
    }
    if (t->nlinks % 64 == 0) {
        uint32_t *o = realloc(t->link_off, (size_t)(t->nlinks + 64) * sizeof(*o));
        if (o == NULL)
            return PB_ERR_NOMEM;
        t->link_off = o;
    }
    size_t off = t->urls.len;
    enum pb_err err = pb_buf_append(&t->urls, url, ul + 1); /* with its NUL */
    if (err != PB_ERR_OK)
        return err;
    t->link_off[t->nlinks] = (uint32_t)off;
    *n = t->nlinks++;
    return PB_ERR_OK;
}

/* Whether the href value src[vs, ve) is a link to track: http(s), no merge tag in it. */
static bool
trackable(const char *src, size_t vs, size_t ve)
{
    size_t n = ve - vs;
    if (!starts_ci(src + vs, n, "http://") && !starts_ci(src + vs, n, "https://"))
        return false;
    return find(src + vs, n, "{{") == NULL;
}

enum pb_err
pb_tpl_compile(const char *src, size_t len, enum pb_tpl_escape esc, const struct pb_tpl_vars *vars,
               bool track_links, struct pb_tpl **out, char why[PB_WHY_MAX])
{
    enum pb_err err = PB_ERR_OK;
    struct pb_tpl *t = NULL;
    static const struct pb_tpl_vars none = {NULL, 0};
    *out = NULL;
    why[0] = '\0';
    if (vars == NULL)
        vars = &none;
    if (len > PB_TPL_MAX) {
        snprintf(why, PB_WHY_MAX, "the template is larger than %d bytes", PB_TPL_MAX);
        return PB_ERR_TOO_LARGE;
    }
    size_t bad = utf8_bad_at((const unsigned char *)src, len);
    if (bad < len) {
        snprintf(why, PB_WHY_MAX, "line %d: the text is not UTF-8 (byte 0x%02X)", line_of(src, bad),
                 (unsigned char)src[bad]);
        return PB_ERR_INVALID;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return PB_ERR_NOMEM;
    t->esc = esc;
    t->nvars = vars->n > 0 ? vars->n : 0;
    /* Literal text plus defaults, which grow at most 6 times when escaped. */
    pb_buf_init(&t->pool, 7 * len + 64);
    pb_buf_init(&t->urls, (size_t)PB_TPL_LINKS_MAX * (PB_TPL_URL_MAX + 1));
    t->uses = calloc((size_t)t->nvars + 1, sizeof(*t->uses));
    if (t->uses == NULL) {
        err = PB_ERR_NOMEM;
        goto out;
    }
    track_links = track_links && esc == PB_TPL_HTML;
    int tags = 0;
    size_t lit = 0, i = 0;
    size_t link_vs = SIZE_MAX, link_ve = 0; /* the href of the <a> being read */
    size_t scanned = 0;                     /* <a> tags were read up to here */
    while (i < len && err == PB_ERR_OK) {
        if (i == link_vs) {
            int n;
            err = add_link(t, src, link_vs, link_ve, &n, why);
            if (err == PB_ERR_OK)
                err = add_text(t, src, lit, i);
            if (err == PB_ERR_OK)
                err = add_seg(t, SEG_LINK, n, 0, 0);
            i = lit = link_ve;
            link_vs = SIZE_MAX;
            continue;
        }
        char c = src[i];
        if (c == '{' && i + 1 < len && src[i + 1] == '{') {
            int slot = 0;
            size_t dflt = SIZE_MAX, dlen = 0, end = i + 2;
            err = parse_tag(src, len, i, vars, &slot, &dflt, &dlen, &end, why);
            if (err != PB_ERR_OK)
                break;
            if (++tags > PB_TPL_TAGS_MAX) {
                snprintf(why, PB_WHY_MAX, "line %d: more than %d merge tags", line_of(src, i),
                         PB_TPL_TAGS_MAX);
                err = PB_ERR_TOO_LARGE;
                break;
            }
            err = add_text(t, src, lit, i);
            size_t doff = t->pool.len;
            if (err == PB_ERR_OK && dflt != SIZE_MAX)
                err = esc == PB_TPL_HTML ? append_escaped(&t->pool, src + dflt, dlen)
                                         : pb_buf_append(&t->pool, src + dflt, dlen);
            if (err == PB_ERR_OK)
                err = add_seg(t, SEG_VAR, slot, doff, t->pool.len - doff);
            t->uses[slot] = true;
            if (link_vs != SIZE_MAX && end > link_vs)
                link_vs = SIZE_MAX; /* a tag ran over the href: leave it as it is */
            i = lit = end;
            continue;
        }
        if (track_links && c == '<' && i >= scanned && i + 2 < len &&
            lower((unsigned char)src[i + 1]) == 'a' && is_space((unsigned char)src[i + 2])) {
            size_t vs, ve;
            link_vs = SIZE_MAX;
            if (find_href(src, len, i, &vs, &ve, &scanned) && trackable(src, vs, ve)) {
                link_vs = vs;
                link_ve = ve;
            }
        }
        i++;
    }
    if (err == PB_ERR_OK)
        err = add_text(t, src, lit, len);
out:
    if (err == PB_ERR_NOMEM)
        snprintf(why, PB_WHY_MAX, "out of memory compiling the template");
    if (err != PB_ERR_OK) {
        pb_tpl_free(t);
        return err;
    }
    *out = t;
    return PB_ERR_OK;
}

/* ---- rendering -------------------------------------------------------------- */

/*
 * HTML-escapes out->data[from, out->len) where it stands: grows the buffer
 * by what the entities need, then rewrites from the end backwards. The
 * common case (a tracking URL with nothing to escape) costs one strcspn.
 */
static enum pb_err
escape_tail(struct pb_buf *out, size_t from)
{
    static const char zeros[64];
    /* The common case found fast: pb_buf keeps its content NUL-terminated. */
    if (from >= out->len || from + strcspn(out->data + from, "&'<>\"") == out->len)
        return PB_ERR_OK;
    size_t extra = 0;
    for (size_t i = from; i < out->len; i++) {
        switch (out->data[i]) {
        case '&':
        case '\'':
            extra += 4;
            break;
        case '<':
        case '>':
            extra += 3;
            break;
        case '"':
            extra += 5;
            break;
        default:
            break;
        }
    }
    if (extra == 0)
        return PB_ERR_OK;
    size_t old = out->len;
    for (size_t left = extra; left > 0;) {
        size_t n = left < sizeof(zeros) ? left : sizeof(zeros);
        enum pb_err err = pb_buf_append(out, zeros, n);
        if (err != PB_ERR_OK) {
            out->len = old;
            out->data[old] = '\0';
            return err;
        }
        left -= n;
    }
    size_t w = out->len;
    for (size_t r = old; r > from;) {
        char c = out->data[--r];
        const char *rep = html_entity(c);
        if (rep == NULL) {
            out->data[--w] = c;
            continue;
        }
        size_t rl = strlen(rep);
        w -= rl;
        memcpy(out->data + w, rep, rl);
    }
    return PB_ERR_OK;
}

enum pb_err
pb_tpl_render(const struct pb_tpl *t, const struct pb_tpl_render_ctx *ctx, struct pb_buf *out)
{
    enum pb_err err = PB_ERR_OK;
    for (int i = 0; i < t->nsegs && err == PB_ERR_OK; i++) {
        const struct seg *s = &t->segs[i];
        switch (s->kind) {
        case SEG_TEXT:
            err = pb_buf_append(out, t->pool.data + s->off, s->len);
            break;
        case SEG_VAR: {
            const char *v = ctx->values != NULL ? ctx->values[s->arg] : NULL;
            if ((v == NULL || v[0] == '\0') && s->len > 0)
                err = pb_buf_append(out, t->pool.data + s->off, s->len);
            else if (v == NULL || v[0] == '\0')
                break; /* absent, and no default */
            else if (t->esc == PB_TPL_HTML)
                err = append_escaped(out, v, strlen(v));
            else
                err = pb_buf_append_str(out, v);
            break;
        }
        case SEG_LINK: {
            if (ctx->link_url == NULL)
                return PB_ERR_INVALID;
            size_t from = out->len;
            err = ctx->link_url(ctx->cls, s->arg, out);
            if (err == PB_ERR_OK)
                err = escape_tail(out, from);
            break;
        }
        }
    }
    return err;
}

int
pb_tpl_link_count(const struct pb_tpl *t)
{
    return t->nlinks;
}

const char *
pb_tpl_link(const struct pb_tpl *t, int n)
{
    if (n < 0 || n >= t->nlinks)
        return NULL;
    return t->urls.data + t->link_off[n];
}

bool
pb_tpl_uses(const struct pb_tpl *t, int var)
{
    return var >= 0 && var < t->nvars && t->uses[var];
}

void
pb_tpl_free(struct pb_tpl *t)
{
    if (t == NULL)
        return;
    free(t->segs);
    free(t->link_off);
    free(t->uses);
    pb_buf_release(&t->pool, 0);
    pb_buf_release(&t->urls, 0);
    free(t);
}

/* ---- HTML to text ----------------------------------------------------------- */

struct txt {
    struct pb_buf *out;
    size_t start; /* out->len when the conversion began */
    int nl;       /* line breaks owed before the next text (at most 2) */
    bool space;   /* a blank owed before the next text */
    bool bullet;  /* "- " owed before the next text */
    bool in_a;    /* inside <a href>: collecting its label */
    size_t label; /* where the label starts in out; SIZE_MAX before its first text */
    char href[PB_TPL_URL_MAX + 1];
    enum pb_err err;
};

static void
put(struct txt *x, const char *s, size_t n)
{
    if (x->err == PB_ERR_OK)
        x->err = pb_buf_append(x->out, s, n);
}

/* Emits what is owed (breaks, a blank, a bullet) before text. */
static void
settle(struct txt *x)
{
    bool empty = x->out->len == x->start;
    if (x->nl > 0 && !empty) {
        put(x, "\n\n", (size_t)x->nl);
        x->space = false;
    }
    if (x->bullet)
        put(x, "- ", 2);
    else if (x->space && !empty && x->nl == 0)
        put(x, " ", 1);
    x->nl = 0;
    x->space = false;
    x->bullet = false;
    if (x->in_a && x->label == SIZE_MAX)
        x->label = x->out->len;
}

/* Text from the document: blanks collapse, the rest is written. */
static void
text(struct txt *x, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && !is_space((unsigned char)s[i]))
            continue;
        if (i > run) {
            settle(x);
            put(x, s + run, i - run);
        }
        if (i < n)
            x->space = true;
        run = i + 1;
    }
}

static void
breaks(struct txt *x, int n)
{
    if (n > x->nl)
        x->nl = n;
    x->space = false;
}

/* Ends an <a>: "label (U)" when the label is not the URL itself. */
static void
end_link(struct txt *x)
{
    if (!x->in_a)
        return;
    x->in_a = false;
    const char *u = x->href;
    if (u[0] == '\0' || u[0] == '#')
        return;
    size_t ul = strlen(u);
    const char *label = x->label == SIZE_MAX ? "" : x->out->data + x->label;
    size_t ll = x->label == SIZE_MAX ? 0 : x->out->len - x->label;
    const char *bare = starts_ci(u, ul, "mailto:") ? u + 7 : u;
    if ((ll == ul && memcmp(label, u, ul) == 0) ||
        (ll == strlen(bare) && memcmp(label, bare, ll) == 0))
        return;
    if (ll == 0) { /* an image or an empty link: the URL alone */
        text(x, u, ul);
        return;
    }
    put(x, " (", 2);
    put(x, u, ul);
    put(x, ")", 1);
}

/* Reads a tag's name at s[p] into name (lower-cased, cut at 15); returns where it ends. */
static size_t
tag_name(const char *s, size_t len, size_t p, char name[16])
{
    size_t n = 0;
    while (p < len && ((s[p] >= 'a' && s[p] <= 'z') || (s[p] >= 'A' && s[p] <= 'Z') ||
                       (s[p] >= '0' && s[p] <= '9'))) {
        if (n < 15)
            name[n++] = (char)lower((unsigned char)s[p]);
        p++;
    }
    name[n] = '\0';
    return p;
}

/* Where the tag opened at s[p] ends (after '>'), quotes and merge tags respected. */
static size_t
tag_end(const char *s, size_t len, size_t p)
{
    char quote = 0;
    while (p < len) {
        char c = s[p];
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '>') {
            return p + 1;
        }
        p++;
    }
    return len;
}

/* Skips to after "</name ...>" (case-insensitive) from s[p]. */
static size_t
skip_element(const char *s, size_t len, size_t p, const char *name)
{
    size_t nl = strlen(name);
    while (p < len) {
        const char *lt = memchr(s + p, '<', len - p);
        if (lt == NULL)
            return len;
        p = (size_t)(lt - s);
        if (p + 2 + nl <= len && s[p + 1] == '/' && starts_ci(s + p + 2, len - p - 2, name) &&
            (p + 2 + nl == len || !is_name_char(lower((unsigned char)s[p + 2 + nl]))))
            return tag_end(s, len, p + 2 + nl);
        p++;
    }
    return len;
}

static bool
name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return true;
    return false;
}

/* Decodes the href of the <a> tag s[from, to) into x->href ("" when none or too long). */
static void
read_href(struct txt *x, const char *s, size_t from, size_t to)
{
    size_t vs, ve;
    x->href[0] = '\0';
    size_t stop;
    if (!find_href(s, to, from, &vs, &ve, &stop))
        return;
    size_t n = 0;
    for (size_t i = vs; i < ve;) {
        char dec[4];
        size_t dl = 1, used = 0;
        if (s[i] == '&')
            used = entity_decode(s + i, ve - i, dec, &dl);
        if (used == 0) {
            dec[0] = s[i];
            used = 1;
            dl = 1;
        }
        if (n + dl > PB_TPL_URL_MAX) {
            x->href[0] = '\0';
            return;
        }
        memcpy(x->href + n, dec, dl);
        n += dl;
        i += used;
    }
    x->href[n] = '\0';
}

enum pb_err
pb_tpl_html_to_text(const char *s, size_t len, struct pb_buf *out)
{
    static const char *const dropped[] = {"head", "style", "script", "title", NULL};
    static const char *const paragraphs[] = {"p",  "h1", "h2", "h3",    "h4",         "h5",
                                             "h6", "ul", "ol", "table", "blockquote", NULL};
    static const char *const lines[] = {"div", "br", "tr", "li", "hr", NULL};
    struct txt *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return PB_ERR_NOMEM;
    x->out = out;
    x->start = out->len;
    x->label = SIZE_MAX;
    bool unclosed = false;
    size_t i = 0;
    while (i < len && x->err == PB_ERR_OK) {
        char c = s[i];
        if (c == '{' && i + 1 < len && s[i + 1] == '{' && !unclosed) {
            /* A merge tag stays as it is, for the text template to compile. */
            const char *close = find(s + i + 2, len - i - 2, "}}");
            unclosed = close == NULL; /* then none further on is closed either */
            if (close != NULL) {
                size_t end = (size_t)(close - s) + 2;
                settle(x);
                put(x, s + i, end - i);
                i = end;
                continue;
            }
        }
        if (c == '&') {
            char dec[4];
            size_t dl;
            size_t used = entity_decode(s + i, len - i, dec, &dl);
            if (used > 0) {
                text(x, dec, dl);
                i += used;
                continue;
            }
        }
        if (c != '<') {
            size_t j = i + 1;
            while (j < len && s[j] != '<' && s[j] != '&' && s[j] != '{')
                j++;
            text(x, s + i, j - i);
            i = j;
            continue;
        }
        /* A tag, a comment, a declaration, or a lone '<'. */
        if (i + 3 < len && memcmp(s + i, "<!--", 4) == 0) {
            const char *close = find(s + i + 4, len - i - 4, "-->");
            i = close != NULL ? (size_t)(close - s) + 3 : len;
            continue;
        }
        if (i + 1 < len && (s[i + 1] == '!' || s[i + 1] == '?')) {
            i = tag_end(s, len, i + 1);
            continue;
        }
        bool closing = i + 1 < len && s[i + 1] == '/';
        char name[16];
        size_t after = tag_name(s, len, i + 1 + closing, name);
        if (name[0] == '\0') {
            text(x, "<", 1);
            i++;
            continue;
        }
        size_t end = tag_end(s, len, after);
        bool self_closing = end >= 2 && s[end - 2] == '/';
        if (!closing && !self_closing && name_in(name, dropped)) {
            i = skip_element(s, len, end, name);
            continue;
        }
        if (strcmp(name, "a") == 0) {
            if (closing) {
                end_link(x);
            } else if (!x->in_a) {
                read_href(x, s, i, end);
                x->in_a = true;
                x->label = SIZE_MAX;
            }
        } else if (name_in(name, paragraphs)) {
            breaks(x, 2);
        } else if (name_in(name, lines)) {
            if (strcmp(name, "li") == 0 && !closing) {
                breaks(x, 1);
                x->bullet = true;
            } else {
                breaks(x, 1);
            }
        } else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
            if (x->nl == 0)
                x->space = true;
        }
        i = end;
    }
    end_link(x);
    if (x->err == PB_ERR_OK && !(x->out->len == x->start))
        put(x, "\n", 1);
    enum pb_err err = x->err;
    free(x);
    return err;
}
