/*
 * Unit tests for mail/template.c: merge tags and defaults, escaping, error
 * messages with their line, limits, link slots, the used-variable set,
 * HTML to text, and many renders through one buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/template.h"

static const char *const names[] = {"first_name", "last_name", "city", "unused"};
static const struct pb_tpl_vars vars = {names, 4};

/* Compiles `src`, which must succeed. */
static struct pb_tpl *
compile(const char *src, enum pb_tpl_escape esc, bool track)
{
    struct pb_tpl *t = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_tpl_compile(src, strlen(src), esc, &vars, track, &t, why);
    if (err != PB_ERR_OK)
        fail_msg("compile failed (%d): %s", err, why);
    assert_non_null(t);
    return t;
}

/* Compiles `src`, which must fail with `want`; returns the explanation. */
static const char *
compile_fails(const char *src, size_t len, enum pb_err want)
{
    static char why[PB_WHY_MAX];
    struct pb_tpl *t = (struct pb_tpl *)1;
    why[0] = '\0';
    enum pb_err err = pb_tpl_compile(src, len, PB_TPL_HTML, &vars, true, &t, why);
    if (err != want)
        fail_msg("compiling \"%.60s\": got %d, want %d (%s)", src, err, want, why);
    assert_null(t);
    assert_true(why[0] != '\0');
    return why;
}

/* Links become "L<n>" (or whatever `cls` says), to see which slot went where. */
static enum pb_err
link_url(void *cls, int n, struct pb_buf *out)
{
    if (cls != NULL)
        return pb_buf_append_str(out, cls);
    return pb_buf_printf(out, "https://t.example/c/L%d", n);
}

/* Renders with values (first_name, last_name, city, unused) into a new string. */
static char *
render(const struct pb_tpl *t, const char *first, const char *last, const char *city)
{
    const char *values[4] = {first, last, city, NULL};
    struct pb_tpl_render_ctx ctx = {values, link_url, NULL};
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    assert_int_equal(pb_tpl_render(t, &ctx, &b), PB_ERR_OK);
    char *s = strdup(b.data != NULL ? b.data : "");
    pb_buf_release(&b, 0);
    assert_non_null(s);
    return s;
}

static void
assert_render(const struct pb_tpl *t, const char *first, const char *last, const char *city,
              const char *want)
{
    char *got = render(t, first, last, city);
    assert_string_equal(got, want);
    free(got);
}

static void
tags_are_replaced_by_values(void **state)
{
    (void)state;
    struct pb_tpl *t =
        compile("Hi {{ first_name }} {{last_name}}, from {{  city\t}}!\n", PB_TPL_TEXT, false);
    assert_render(t, "Ann", "Lee", "Gent", "Hi Ann Lee, from Gent!\n");
    assert_render(t, "Émile", "Zola", "Paris", "Hi Émile Zola, from Paris!\n");
    /* An absent value without a default is empty. */
    assert_render(t, NULL, "Lee", NULL, "Hi  Lee, from !\n");
    pb_tpl_free(t);

    /* No tags at all, and an empty template. */
    t = compile("plain text", PB_TPL_TEXT, false);
    assert_render(t, "x", "y", "z", "plain text");
    pb_tpl_free(t);
    t = compile("", PB_TPL_TEXT, false);
    assert_render(t, "x", "y", "z", "");
    pb_tpl_free(t);
}

static void
defaults_fill_absent_values(void **state)
{
    (void)state;
    struct pb_tpl *t = compile("Dear {{ first_name | default: \"dear friend\" }}, "
                               "{{city|default:'your } town'}}.",
                               PB_TPL_TEXT, false);
    assert_render(t, "Ann", NULL, "Gent", "Dear Ann, Gent.");
    assert_render(t, NULL, NULL, NULL, "Dear dear friend, your } town.");
    /* An empty value counts as absent: "Dear , ." helps nobody. */
    assert_render(t, "", NULL, "", "Dear dear friend, your } town.");
    pb_tpl_free(t);

    /* An empty default, and a default holding the other kind of quote. */
    t = compile("[{{ first_name | default: \"\" }}][{{ last_name | default: 'say \"hi\"' }}]",
                PB_TPL_TEXT, false);
    assert_render(t, NULL, NULL, NULL, "[][say \"hi\"]");
    pb_tpl_free(t);
}

static void
html_mode_escapes_values_text_mode_does_not(void **state)
{
    (void)state;
    const char *src = "<p>{{ first_name }} {{ city | default: \"Tom & 'Jerry'\" }}</p>";
    const char *evil = "<b>\"Tom\" & 'Jerry'</b>";
    struct pb_tpl *html = compile(src, PB_TPL_HTML, false);
    assert_render(html, evil, NULL, NULL,
                  "<p>&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt; "
                  "Tom &amp; &#39;Jerry&#39;</p>");
    assert_render(html, "<script>alert(1)</script>", NULL, "x",
                  "<p>&lt;script&gt;alert(1)&lt;/script&gt; x</p>");
    pb_tpl_free(html);
    struct pb_tpl *text = compile(src, PB_TPL_TEXT, false);
    assert_render(text, evil, NULL, NULL, "<p><b>\"Tom\" & 'Jerry'</b> Tom & 'Jerry'</p>");
    pb_tpl_free(text);
}

static void
unknown_tag_is_named_with_its_line(void **state)
{
    (void)state;
    const char *src = "Hello,\n\nDear {{ frist_name }}, welcome.";
    const char *why = compile_fails(src, strlen(src), PB_ERR_INVALID);
    assert_string_equal(why, "line 3: unknown tag {{ frist_name }}");
    src = "<p>{{ first_name }}</p>\n<p>{{ last_name | default: \"x\" }} {{ zip }}</p>";
    why = compile_fails(src, strlen(src), PB_ERR_INVALID);
    assert_string_equal(why, "line 2: unknown tag {{ zip }}");
}

static void
syntax_errors_are_refused_with_their_line(void **state)
{
    (void)state;
    static const struct {
        const char *src;
        const char *says; /* part of the explanation */
    } cases[] = {
        {"a\n{{ first_name", "line 2: {{ first_name: the tag is never closed"},
        {"{{ first_name }", "never closed"},
        {"{{", "never closed"},
        {"x\ny\n{{ First }}", "line 3: {{ First }}: a tag name is lower-case"},
        {"{{ first-name }}", "a tag name is lower-case"},
        {"{{ first.name }}", "a tag name is lower-case"},
        {"{{}}", "a tag name is lower-case"},
        {"{{ | default: \"x\" }}", "a tag name is lower-case"},
        {"{{ first_name | upper }}", "unknown filter in {{ first_name | upper }}"},
        {"{{ first_name | default \"x\" }}", "write the default as default: \"text\""},
        {"{{ first_name | default: friend }}", "the default must be in quotes"},
        {"{{ first_name | default: \"friend }}", "the default's quote is never closed"},
        {"{{ first_name | default: \"a\" | default: \"b\" }}", "expected }} after the default"},
        {"{{ first_name last_name }}", "expected }} after the tag name"},
        /* Escaped quotes are not supported: an error, not a crash. */
        {"{{ first_name | default: \"say \\\"hi\\\"\" }}", "expected }} after the default"},
        {"ok\n\xff\xfe", "line 2: the text is not UTF-8"},
        {"caf\xc3", "not UTF-8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = compile_fails(cases[i].src, strlen(cases[i].src), PB_ERR_INVALID);
        if (strstr(why, cases[i].says) == NULL)
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", cases[i].src, why, cases[i].says);
        assert_int_equal(strncmp(why, "line ", 5), 0);
    }
    /* A NUL byte inside the given length is not text. */
    compile_fails("ab\0cd", 5, PB_ERR_INVALID);

    /* Lone braces, and braces that are not a tag, are text. */
    const char *braces = "a { b } c }} d {x} {";
    struct pb_tpl *t = compile(braces, PB_TPL_HTML, false);
    assert_render(t, "A", "B", "C", braces);
    pb_tpl_free(t);
}

static void
limits_are_enforced(void **state)
{
    (void)state;
    /* Size: PB_TPL_MAX bytes compile, one more does not. */
    char *big = malloc(PB_TPL_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', PB_TPL_MAX + 1);
    big[PB_TPL_MAX + 1] = '\0';
    struct pb_tpl *t = NULL;
    char why[PB_WHY_MAX];
    assert_int_equal(pb_tpl_compile(big, PB_TPL_MAX, PB_TPL_TEXT, &vars, false, &t, why),
                     PB_ERR_OK);
    pb_tpl_free(t);
    compile_fails(big, PB_TPL_MAX + 1, PB_ERR_TOO_LARGE);

    /* Tags: 10,000 compile, 10,001 do not. */
    size_t n = 0;
    for (int i = 0; i < PB_TPL_TAGS_MAX + 1; i++)
        n += (size_t)sprintf(big + n, "{{city}}");
    t = NULL;
    assert_int_equal(pb_tpl_compile(big, n - 8, PB_TPL_TEXT, &vars, false, &t, why), PB_ERR_OK);
    char *out = render(t, NULL, NULL, "c");
    assert_int_equal(strlen(out), PB_TPL_TAGS_MAX);
    free(out);
    pb_tpl_free(t);
    assert_non_null(strstr(compile_fails(big, n, PB_ERR_TOO_LARGE), "more than 10000 merge tags"));

    /* A default: 1,000 bytes compile, 1,001 do not. */
    for (size_t len = PB_TPL_DEFAULT_MAX; len <= PB_TPL_DEFAULT_MAX + 1; len++) {
        n = (size_t)sprintf(big, "{{ city | default: \"");
        memset(big + n, 'd', len);
        n += len;
        n += (size_t)sprintf(big + n, "\" }}");
        t = NULL;
        enum pb_err err = pb_tpl_compile(big, n, PB_TPL_TEXT, &vars, false, &t, why);
        if (len == PB_TPL_DEFAULT_MAX) {
            assert_int_equal(err, PB_ERR_OK);
            out = render(t, NULL, NULL, NULL);
            assert_int_equal(strlen(out), PB_TPL_DEFAULT_MAX);
            free(out);
            pb_tpl_free(t);
        } else {
            assert_int_equal(err, PB_ERR_TOO_LARGE);
            assert_non_null(strstr(why, "longer than 1000 bytes"));
        }
    }

    /* Links: 1,000 different ones compile, 1,001 do not; repeats do not count. */
    n = 0;
    for (int i = 0; i < PB_TPL_LINKS_MAX + 1; i++)
        n += (size_t)sprintf(big + n,
                             "<a href=\"https://x.example/%d\">%d</a>"
                             "<a href=\"https://x.example/0\">again</a>\n",
                             i, i);
    t = NULL;
    size_t thousand = 0;
    for (int lines = 0; lines < PB_TPL_LINKS_MAX; thousand++)
        lines += big[thousand] == '\n';
    assert_int_equal(pb_tpl_compile(big, thousand, PB_TPL_HTML, &vars, true, &t, why), PB_ERR_OK);
    assert_int_equal(pb_tpl_link_count(t), PB_TPL_LINKS_MAX);
    pb_tpl_free(t);
    why[0] = '\0';
    assert_non_null(
        strstr(compile_fails(big, n, PB_ERR_TOO_LARGE), "more than 1000 different links"));

    /* A URL: 2,048 bytes compile, 2,049 do not (as decoded: &amp; counts one). */
    for (size_t len = PB_TPL_URL_MAX; len <= PB_TPL_URL_MAX + 1; len++) {
        n = (size_t)sprintf(big, "<a href=\"https://x.example/?a=1&amp;");
        size_t url = strlen("https://x.example/?a=1&");
        memset(big + n, 'u', len - url);
        n += len - url;
        n += (size_t)sprintf(big + n, "\">x</a>");
        t = NULL;
        enum pb_err err = pb_tpl_compile(big, n, PB_TPL_HTML, &vars, true, &t, why);
        if (len == PB_TPL_URL_MAX) {
            assert_int_equal(err, PB_ERR_OK);
            assert_int_equal(strlen(pb_tpl_link(t, 0)), PB_TPL_URL_MAX);
            pb_tpl_free(t);
        } else {
            assert_int_equal(err, PB_ERR_TOO_LARGE);
            assert_non_null(strstr(why, "line 1: a link is longer than 2048 bytes"));
        }
    }
    free(big);
}

static void
links_become_slots_in_order_deduplicated(void **state)
{
    (void)state;
    const char *src =
        "<p><a href=\"https://shop.example/sale?utm=1&amp;x=2\">Sale</a>\n"
        "<A class=\"btn\" HREF='http://news.example/'>News</A>\n"
        "<a href=\"mailto:info@shop.example\">Mail us</a>\n"
        "<a href=\"https://shop.example/p/{{ city }}\">Your city</a>\n"
        "<a title=\"{{ first_name }}\" href=\"https://shop.example/sale?utm=1&amp;x=2\">Again</a>\n"
        "<a href=\"#top\">Top</a> <a href=\"/relative\">rel</a> <a "
        "href=https://unquoted.example>u</a>\n"
        "<area href=\"https://not-an-a.example/\"> <abbr title=\"https://x.example\">x</abbr>\n"
        "<a href=\"  https://spaced.example/  \">spaced</a></p>";
    struct pb_tpl *t = compile(src, PB_TPL_HTML, true);
    assert_int_equal(pb_tpl_link_count(t), 3);
    assert_string_equal(pb_tpl_link(t, 0), "https://shop.example/sale?utm=1&x=2");
    assert_string_equal(pb_tpl_link(t, 1), "http://news.example/");
    assert_string_equal(pb_tpl_link(t, 2), "https://spaced.example/");
    assert_null(pb_tpl_link(t, 3));
    assert_null(pb_tpl_link(t, -1));
    assert_render(t, "Ann", NULL, "Gent",
                  "<p><a href=\"https://t.example/c/L0\">Sale</a>\n"
                  "<A class=\"btn\" HREF='https://t.example/c/L1'>News</A>\n"
                  "<a href=\"mailto:info@shop.example\">Mail us</a>\n"
                  "<a href=\"https://shop.example/p/Gent\">Your city</a>\n"
                  "<a title=\"Ann\" href=\"https://t.example/c/L0\">Again</a>\n"
                  "<a href=\"#top\">Top</a> <a href=\"/relative\">rel</a> "
                  "<a href=https://unquoted.example>u</a>\n"
                  "<area href=\"https://not-an-a.example/\"> "
                  "<abbr title=\"https://x.example\">x</abbr>\n"
                  "<a href=\"  https://t.example/c/L2  \">spaced</a></p>");

    /* The replacement URL is HTML-escaped, whatever the caller hands over. */
    const char *values[4] = {NULL, NULL, NULL, NULL};
    struct pb_tpl_render_ctx ctx = {values, link_url, "https://t.example/?a=1&b=\"2\""};
    struct pb_buf b;
    pb_buf_init(&b, 1 << 16);
    assert_int_equal(pb_tpl_render(t, &ctx, &b), PB_ERR_OK);
    assert_non_null(strstr(b.data, "<a href=\"https://t.example/?a=1&amp;b=&quot;2&quot;\">Sale"));
    /* Links need the callback. */
    ctx.link_url = NULL;
    pb_buf_reset(&b);
    assert_int_equal(pb_tpl_render(t, &ctx, &b), PB_ERR_INVALID);
    pb_buf_release(&b, 0);
    pb_tpl_free(t);

    /* Without tracking, or in text mode, nothing is a slot. */
    t = compile(src, PB_TPL_HTML, false);
    assert_int_equal(pb_tpl_link_count(t), 0);
    char *plain = render(t, "Ann", NULL, "Gent");
    assert_non_null(strstr(plain, "<a href=\"https://shop.example/sale?utm=1&amp;x=2\">Sale"));
    assert_non_null(strstr(plain, "HREF='http://news.example/'"));
    free(plain);
    pb_tpl_free(t);
    t = compile("<a href=\"https://x.example\">x</a>", PB_TPL_TEXT, true);
    assert_int_equal(pb_tpl_link_count(t), 0);
    pb_tpl_free(t);
}

static void
uses_tells_which_variables_appear(void **state)
{
    (void)state;
    struct pb_tpl *t = compile("{{ city }} and {{ first_name | default: \"x\" }} and {{ city }}",
                               PB_TPL_TEXT, false);
    assert_true(pb_tpl_uses(t, 0));
    assert_false(pb_tpl_uses(t, 1));
    assert_true(pb_tpl_uses(t, 2));
    assert_false(pb_tpl_uses(t, 3));
    assert_false(pb_tpl_uses(t, 4));
    assert_false(pb_tpl_uses(t, -1));
    pb_tpl_free(t);
    /* No variables at all. */
    struct pb_tpl_vars none = {NULL, 0};
    char why[PB_WHY_MAX];
    assert_int_equal(pb_tpl_compile("no tags", 7, PB_TPL_TEXT, &none, false, &t, why), PB_ERR_OK);
    assert_false(pb_tpl_uses(t, 0));
    pb_tpl_free(t);
    assert_int_equal(pb_tpl_compile("{{ city }}", 10, PB_TPL_TEXT, &none, false, &t, why),
                     PB_ERR_INVALID);
    assert_string_equal(why, "line 1: unknown tag {{ city }}");
}

static char *
to_text(const char *html)
{
    struct pb_buf b;
    pb_buf_init(&b, 2 * strlen(html) + 1);
    assert_int_equal(pb_tpl_html_to_text(html, strlen(html), &b), PB_ERR_OK);
    assert_true(b.len <= 2 * strlen(html));
    char *s = strdup(b.data != NULL ? b.data : "");
    pb_buf_release(&b, 0);
    return s;
}

static void
html_to_text_converts_a_newsletter(void **state)
{
    (void)state;
    const char *html =
        "<!DOCTYPE html>\n"
        "<html lang=\"nl\">\n"
        "<head>\n"
        "  <meta charset=\"utf-8\">\n"
        "  <title>Nieuwsbrief maart</title>\n"
        "  <style>body { font-family: Arial; } .btn { color: #fff; }</style>\n"
        "</head>\n"
        "<body style=\"margin:0\">\n"
        "<!--[if mso]><table><tr><td>Outlook only</td></tr></table><![endif]-->\n"
        "<script type=\"text/javascript\">var x = \"<p>not text</p>\";</script>\n"
        "<table width=\"100%\"><tr><td>\n"
        "  <h1>Hallo {{ first_name | default: \"lezer\" }},</h1>\n"
        "  <p>Deze   maand:\n   <b>nieuwe</b>   boeken &amp; een\n  <i>korting</i> van 10&nbsp;%"
        " &mdash; tot 31/3.</p>\n"
        "  <ul>\n    <li>Roman &lt;1&gt;</li>\n    <li>Po&euml;zie &#8220;Lente&#8221;"
        " &#x2764;</li>\n  </ul>\n"
        "  <p><a href=\"https://shop.example/sale?a=1&amp;b=2\" class=\"btn\">Naar de"
        " uitverkoop</a></p>\n"
        "  <p>Of bezoek <a href=\"https://shop.example\">https://shop.example</a>.<br>\n"
        "  Vragen? <a href=\"mailto:info@shop.example\">info@shop.example</a></p>\n"
        "</td></tr>\n"
        "<tr><td><a href=\"https://shop.example/banner\"><img src=\"b.png\" alt=\"\"></a></td>"
        "<td>Kolom 2</td></tr>\n"
        "</table>\n"
        "<div>Uitschrijven: <a href=\"{{ unused }}\">klik hier</a></div>\n"
        "<p>5 &lt; 6 &gt; 4 &quot;ok&quot; it&#39;s &unknown; a & b</p>\n"
        "</body>\n</html>\n";
    char *text = to_text(html);
    const char *want = "Hallo {{ first_name | default: \"lezer\" }},\n"
                       "\n"
                       "Deze maand: nieuwe boeken & een korting van 10 % \xe2\x80\x94 tot 31/3.\n"
                       "\n"
                       "- Roman <1>\n"
                       "- Po\xc3\xabzie \xe2\x80\x9cLente\xe2\x80\x9d \xe2\x9d\xa4\n"
                       "\n"
                       "Naar de uitverkoop (https://shop.example/sale?a=1&b=2)\n"
                       "\n"
                       "Of bezoek https://shop.example.\n"
                       "Vragen? info@shop.example\n"
                       "\n"
                       "https://shop.example/banner Kolom 2\n"
                       "\n"
                       "Uitschrijven: klik hier ({{ unused }})\n"
                       "\n"
                       "5 < 6 > 4 \"ok\" it's &unknown; a & b\n";
    if (strcmp(text, want) != 0)
        fail_msg("got:\n%s\n--- want:\n%s", text, want);
    free(text);

    /* The text compiles as a text template; the merge tags survived. */
    struct pb_tpl *t = NULL;
    char why[PB_WHY_MAX];
    assert_int_equal(pb_tpl_compile(want, strlen(want), PB_TPL_TEXT, &vars, false, &t, why),
                     PB_ERR_OK);
    assert_true(pb_tpl_uses(t, 0));
    assert_true(pb_tpl_uses(t, 3));
    pb_tpl_free(t);
}

static void
html_to_text_handles_odd_input(void **state)
{
    (void)state;
    static const struct {
        const char *html, *text;
    } cases[] = {
        {"", ""},
        {"   \n\t ", ""},
        {"just text", "just text\n"},
        {"a<br>b<br/>c<BR />d", "a\nb\nc\nd\n"},
        {"<P>one</P><P>two</P>", "one\n\ntwo\n"},
        {"x < y and y > z", "x < y and y > z\n"},
        {"<style>p{}", ""},                                        /* never closed: all dropped */
        {"a<!-- never closed", "a\n"},                             /* the comment runs to the end */
        {"<a href=\"https://x.example\">", "https://x.example\n"}, /* never closed */
        {"{{ first_name", "{{ first_name\n"},                      /* not a tag: text */
        {"<p title='>'>q</p>", "q\n"},                             /* '>' inside quotes */
        {"&#0;&#xD800;&#99999999;", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n"},
        {"<scripts>s</scripts>", "s\n"}, /* not <script> */
        {"<h2>T</h2>text<hr>more", "T\n\ntext\nmore\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = to_text(cases[i].html);
        if (strcmp(text, cases[i].text) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].html, text, cases[i].text);
        free(text);
    }
}

/* Fills big[0, n) with copies of `unit`. */
static void
repeat(char *big, size_t n, const char *unit)
{
    size_t ul = strlen(unit);
    for (size_t i = 0; i < n; i++)
        big[i] = unit[i % ul];
}

static void
hostile_input_takes_linear_time(void **state)
{
    (void)state;
    /* Each of these made a naive scanner rescan to the end from every position. */
    static const char *const units[] = {
        "<a x=\"", "<a <a ", "{{", "<a href=\"{{ ", "&#x", "<!--", "<a href=\"https://x.example/"};
    size_t n = PB_TPL_MAX;
    char *big = malloc(n);
    assert_non_null(big);
    int64_t start = (int64_t)clock();
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        repeat(big, n, units[u]);
        struct pb_tpl *t = NULL;
        char why[PB_WHY_MAX];
        enum pb_err err = pb_tpl_compile(big, n, PB_TPL_HTML, &vars, true, &t, why);
        assert_true(err == PB_ERR_OK || err == PB_ERR_INVALID);
        pb_tpl_free(t);
        struct pb_buf b;
        pb_buf_init(&b, 2 * n);
        assert_int_equal(pb_tpl_html_to_text(big, n, &b), PB_ERR_OK);
        assert_true(b.len <= 2 * n);
        pb_buf_release(&b, 0);
    }
    double seconds = (double)((int64_t)clock() - start) / CLOCKS_PER_SEC;
    free(big);
    /* Quadratic would be hours; linear is well under a second, even under ASan. */
    assert_true(seconds < 10.0);
}

/* The link callback of a renderer that counts its calls. */
static enum pb_err
counting_link(void *cls, int n, struct pb_buf *out)
{
    (*(long *)cls)++;
    return pb_buf_printf(out, "https://t.example/c/%d", n);
}

static void
many_recipients_render_through_one_buffer(void **state)
{
    (void)state;
    struct pb_tpl *t = compile("<p>Dag {{ first_name | default: \"lezer\" }} {{ last_name }},</p>"
                               "<p><a href=\"https://shop.example/a\">a</a> in {{ city }}</p>",
                               PB_TPL_HTML, true);
    struct pb_buf b;
    pb_buf_init(&b, 4096);
    long calls = 0;
    char first[32], city[32];
    const char *values[4] = {first, "O'Brien", city, NULL};
    struct pb_tpl_render_ctx ctx = {values, counting_link, &calls};
    for (int i = 0; i < 100000; i++) {
        snprintf(first, sizeof(first), "P%d", i);
        snprintf(city, sizeof(city), "C<%d>", i % 7);
        pb_buf_reset(&b);
        assert_int_equal(pb_tpl_render(t, &ctx, &b), PB_ERR_OK);
        if (i % 9973 == 0) {
            char want[256];
            snprintf(want, sizeof(want),
                     "<p>Dag P%d O&#39;Brien,</p><p><a href=\"https://t.example/c/0\">a</a> in "
                     "C&lt;%d&gt;</p>",
                     i, i % 7);
            assert_string_equal(b.data, want);
        }
    }
    assert_int_equal(calls, 100000);
    /* A buffer too small is an error, not an overflow. */
    struct pb_buf small;
    pb_buf_init(&small, 10);
    assert_int_equal(pb_tpl_render(t, &ctx, &small), PB_ERR_TOO_LARGE);
    pb_buf_release(&small, 0);
    pb_buf_release(&b, 0);
    pb_tpl_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tags_are_replaced_by_values),
        cmocka_unit_test(defaults_fill_absent_values),
        cmocka_unit_test(html_mode_escapes_values_text_mode_does_not),
        cmocka_unit_test(unknown_tag_is_named_with_its_line),
        cmocka_unit_test(syntax_errors_are_refused_with_their_line),
        cmocka_unit_test(limits_are_enforced),
        cmocka_unit_test(links_become_slots_in_order_deduplicated),
        cmocka_unit_test(uses_tells_which_variables_appear),
        cmocka_unit_test(html_to_text_converts_a_newsletter),
        cmocka_unit_test(html_to_text_handles_odd_input),
        cmocka_unit_test(hostile_input_takes_linear_time),
        cmocka_unit_test(many_recipients_render_through_one_buffer),
    };
    return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
