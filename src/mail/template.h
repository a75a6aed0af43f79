/*
 * Campaign templates with merge tags: `{{ name }}` and
 * `{{ name | default: "text" }}`. A template is compiled once per campaign
 * part (subject, HTML body, text body) into a list of segments; rendering a
 * recipient only appends those segments and the recipient's values to a
 * buffer, without parsing and without allocating per tag.
 */
#ifndef PB_MAIL_TEMPLATE_H
#define PB_MAIL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define PB_TPL_MAX         (1024 * 1024) /* bytes of template source */
#define PB_TPL_TAGS_MAX    10000         /* merge tags in one template */
#define PB_TPL_LINKS_MAX   1000          /* distinct tracked links in one template */
#define PB_TPL_DEFAULT_MAX 1000          /* bytes of one tag's default text */
#define PB_TPL_URL_MAX     2048          /* bytes of one tracked link's URL */

/* The variables a template may use; slot i of names is values[i] at render time. */
struct pb_tpl_vars {
    const char *const *names;
    int n;
};

enum pb_tpl_escape {
    PB_TPL_TEXT, /* values inserted verbatim */
    PB_TPL_HTML, /* values HTML-escaped (& < > " ') */
};

struct pb_tpl;

/*
 * Compiles `src` (UTF-8, `len` bytes, at most PB_TPL_MAX). Tag names are
 * [a-z0-9_]+ and must be one of `vars`; the only filter is
 * `default: "text"` (single or double quotes). A lone `{` or `}` is text.
 * An unknown tag, a bad filter, an unclosed "{{", a bad tag name or text
 * that is not UTF-8 is PB_ERR_INVALID, past a limit PB_ERR_TOO_LARGE, both
 * with `why` naming the line and the tag ("line 3: unknown tag
 * {{ frist_name }}"). With `track_links` (HTML only), the quoted href of
 * every <a> whose URL starts with http:// or https:// and holds no "{{"
 * becomes a link slot: link n is the n-th distinct URL in order of first
 * appearance, and rendering asks the caller for its replacement. On
 * success *out is the caller's, freed with pb_tpl_free.
 */
enum pb_err
pb_tpl_compile(const char *src, size_t len, enum pb_tpl_escape esc, const struct pb_tpl_vars *vars,
               bool track_links, struct pb_tpl **out, char why[PB_WHY_MAX]);

struct pb_tpl_render_ctx {
    /* values[i] for vars slot i; NULL or "": absent -> the tag's default, else "" */
    const char *const *values;
    /*
     * Appends the URL that replaces link n (already suitable for an HTML
     * attribute; the template HTML-escapes it anyway). Only called for
     * templates with links; may be NULL otherwise.
     */
    enum pb_err (*link_url)(void *cls, int n, struct pb_buf *out);
    void *cls;
};

/*
 * Appends the rendering to `out`. HTML mode HTML-escapes values and
 * defaults (& < > " '); TEXT mode inserts them verbatim. On an error `out`
 * may hold part of the rendering: the caller resets it.
 */
enum pb_err
pb_tpl_render(const struct pb_tpl *t, const struct pb_tpl_render_ctx *ctx, struct pb_buf *out);

/* The number of link slots. */
int
pb_tpl_link_count(const struct pb_tpl *t);

/* The original URL of link n (entities such as &amp; decoded); NULL when out of range. */
const char *
pb_tpl_link(const struct pb_tpl *t, int n);

/* Whether slot `var` appears in the template (so the engine decrypts only what is used). */
bool
pb_tpl_uses(const struct pb_tpl *t, int var);

void
pb_tpl_free(struct pb_tpl *t);

/*
 * Text from HTML, for a campaign without a text body (runs on the template
 * source): drops <head>, <style>, <script>, <title> and comments; block
 * elements (p, div, br, h1-h6, li, tr, ul, ol, table, blockquote, hr)
 * become line breaks, a list item starts with "- "; <a href="U">label</a>
 * becomes "label (U)" when the label is not U; entities (&amp; &lt; &gt;
 * &quot; &#39; &nbsp; numeric and a few common named ones) are decoded;
 * runs of blanks are collapsed; merge tags {{ ... }} are kept as they are.
 * Appends at most 2 * len bytes to `out`.
 */
enum pb_err
pb_tpl_html_to_text(const char *html, size_t len, struct pb_buf *out);

#endif
