/*
 * Benchmark (issue 6): render + MIME build of personalised campaign messages.
 *
 *   build/release/bench/render [N [HTML_BYTES]]
 *
 * Compiles an HTML newsletter of HTML_BYTES (default 20,000: merge tags,
 * tracked links, UTF-8 text, a typical table layout), its text
 * part (made by pb_tpl_html_to_text) and a subject once, then for N
 * recipients (default 100,000), single-threaded, renders the three parts
 * with the recipient's values and link URLs and builds the whole message,
 * every buffer reused. Prints messages/second and microseconds per message,
 * split into rendering and building, against a baseline measured in the
 * same run: copying the finished message once (memcpy), the least any
 * builder must do. CPU time is printed too: on a busy machine it is the
 * steadier number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "mail/mime.h"
#include "mail/template.h"

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "bench/render: %s: %s\n", what, why);
    exit(1);
}

/* A newsletter of about `size` bytes: a header, article blocks with links, a footer. */
static char *
newsletter(size_t size)
{
    static const char head[] =
        "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>Nieuwsbrief</title>\n<style>\n body { margin: 0; font-family: Arial, "
        "sans-serif; }\n .btn { background: #0a5; color: #fff; padding: 12px 24px; }\n"
        "</style>\n</head>\n<body>\n<table width=\"100%\" cellpadding=\"0\" "
        "cellspacing=\"0\"><tr><td align=\"center\">\n"
        "<h1>Dag {{ first_name | default: \"lezer\" }},</h1>\n"
        "<p>Hier is het nieuws van deze maand voor {{ city | default: \"jouw buurt\" }}.</p>\n";
    static const char article[] =
        "<table width=\"600\" cellpadding=\"8\"><tr><td style=\"border-bottom:1px solid "
        "#eee\">\n<h2>Artikel %d: de lente in de winkel</h2>\n"
        "<p>Deze week vind je bij ons nieuwe boeken, caf\xc3\xa9-tafels en een korting van "
        "20&nbsp;%% op alles wat groen is &mdash; zolang de voorraad strekt. Lees verder en "
        "ontdek waarom onze klanten in {{ city | default: \"Vlaanderen\" }} er zo blij mee "
        "zijn.</p>\n<p><a class=\"btn\" href=\"https://shop.example/artikel/%d?utm_source="
        "nieuwsbrief&amp;utm_medium=email\">Lees meer</a></p>\n</td></tr></table>\n";
    static const char foot[] =
        "<p>Groeten,<br>Het team van Shop</p>\n"
        "<p style=\"font-size:12px;color:#888\">Je ontvangt deze mail als {{ email }}. "
        "<a href=\"{{ unsubscribe_url }}\">Uitschrijven</a></p>\n"
        "</td></tr></table>\n</body>\n</html>\n";
    char *s = malloc(size + 4096);
    if (s == NULL)
        die("newsletter", "out of memory");
    size_t n = (size_t)sprintf(s, "%s", head);
    for (int k = 0; n + sizeof(foot) + sizeof(article) + 64 < size; k++)
        n += (size_t)sprintf(s + n, article, k, k);
    n += (size_t)sprintf(s + n, "%s", foot);
    return s;
}

struct recipient {
    int i;
};

/* A click-tracking URL, as the sending engine makes them: host, a base64url token. */
static enum pb_err
link_url(void *cls, int n, struct pb_buf *out)
{
    const struct recipient *r = cls;
    char token[48];
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned long long x = (unsigned long long)r->i * 1000003ULL + (unsigned long long)n;
    for (int k = 0; k < 43; k++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        token[k] = b64[(x >> 58) & 63];
    }
    enum pb_err err = pb_buf_append(out, "https://t.shop.example/c/", 25);
    return err == PB_ERR_OK ? pb_buf_append(out, token, 43) : err;
}

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    long html_bytes = argc > 2 ? atol(argv[2]) : 20000;
    if (sodium_init() < 0)
        die("libsodium", "cannot start");
    if (n <= 0 || html_bytes < 2000 || html_bytes > 500000)
        die("usage", "build/release/bench/render [N [HTML_BYTES, 2000 to 500000]]");
    static const char *const names[] = {"first_name", "last_name", "city", "email",
                                        "unsubscribe_url"};
    struct pb_tpl_vars vars = {names, 5};
    char why[PB_WHY_MAX];
    char *html_src = newsletter((size_t)html_bytes);
    struct pb_buf text_src, html, text, subject, msg;
    pb_buf_init(&text_src, 2 * strlen(html_src));
    if (pb_tpl_html_to_text(html_src, strlen(html_src), &text_src) != PB_ERR_OK)
        die("html to text", "failed");
    struct pb_tpl *th = NULL, *tt = NULL, *ts = NULL;
    const char *subject_src = "{{ first_name | default: \"Hallo\" }}, de lente is er "
                              "\xf0\x9f\x8c\xb7 20% korting";
    if (pb_tpl_compile(html_src, strlen(html_src), PB_TPL_HTML, &vars, true, &th, why) !=
            PB_ERR_OK ||
        pb_tpl_compile(text_src.data, text_src.len, PB_TPL_TEXT, &vars, false, &tt, why) !=
            PB_ERR_OK ||
        pb_tpl_compile(subject_src, strlen(subject_src), PB_TPL_TEXT, &vars, false, &ts, why) !=
            PB_ERR_OK)
        die("compile", why);
    pb_buf_init(&html, 1 << 20);
    pb_buf_init(&text, 1 << 20);
    pb_buf_init(&subject, 4096);
    pb_buf_init(&msg, 4 << 20);

    struct recipient r;
    char first[64], email[96], unsub[128];
    const char *values[5] = {first, "Peeters", "Gent", email, unsub};
    struct pb_tpl_render_ctx ctx = {values, link_url, &r};
    struct pb_mime_msg m = {
        .from = "Shop Nieuws <nieuws@shop.example>",
        .reply_to = "Klantendienst <help@shop.example>",
        .list_unsubscribe_mailto = "unsubscribe@shop.example?subject=unsubscribe",
        .feedback_id = "c42:a7:postbode",
        .date = 1767225600,
    };
    int64_t render_us = 0, build_us = 0;
    size_t bytes = 0;
    int64_t start = pb_clock_mono_us();
    clock_t cpu_start = clock();
    for (int i = 0; i < n; i++) {
        int64_t t0 = pb_clock_mono_us();
        r.i = i;
        snprintf(first, sizeof(first), "%s%d", i % 3 == 0 ? "Ren\xc3\xa9" : "Anne-Marie ", i);
        snprintf(email, sizeof(email), "person%d@example%d.be", i, i % 97);
        snprintf(unsub, sizeof(unsub), "https://shop.example/u/tok%08dabcdefghijklmnopqrstuv", i);
        pb_buf_reset(&html);
        pb_buf_reset(&text);
        pb_buf_reset(&subject);
        if (pb_tpl_render(th, &ctx, &html) != PB_ERR_OK ||
            pb_tpl_render(tt, &ctx, &text) != PB_ERR_OK ||
            pb_tpl_render(ts, &ctx, &subject) != PB_ERR_OK)
            die("render", "failed");
        int64_t t1 = pb_clock_mono_us();
        m.to = email;
        m.subject = subject.data;
        m.html = html.data;
        m.html_len = html.len;
        m.text = text.data;
        m.text_len = text.len;
        m.list_unsubscribe_url = unsub;
        pb_buf_reset(&msg);
        if (pb_mime_build(&m, &msg) != PB_ERR_OK)
            die("build", "failed");
        int64_t t2 = pb_clock_mono_us();
        render_us += t1 - t0;
        build_us += t2 - t1;
        bytes += msg.len;
    }
    double total = (double)(pb_clock_mono_us() - start);
    double cpu = (double)(clock() - cpu_start) * 1e6 / CLOCKS_PER_SEC;

    /* The baseline: copying each finished message once. */
    char *copy = malloc(msg.len + 1);
    if (copy == NULL)
        die("baseline", "out of memory");
    int64_t b0 = pb_clock_mono_us();
    for (int i = 0; i < n; i++) {
        msg.data[0] = (char)('A' + i % 26); /* keeps the copies from being optimised away */
        memcpy(copy, msg.data, msg.len);
        __asm__ volatile("" : : "r"(copy) : "memory");
    }
    double base = (double)(pb_clock_mono_us() - b0);

    printf("render + MIME build, %d messages, single thread\n", n);
    printf("  template: %zu bytes HTML (%d links), %zu bytes text; message %.0f bytes on "
           "average\n",
           strlen(html_src), pb_tpl_link_count(th), text_src.len, (double)bytes / n);
    printf("  %.0f messages/s, %.2f us per message (render %.2f us, build %.2f us)\n",
           n / (total / 1e6), total / n, (double)render_us / n, (double)build_us / n);
    printf("  CPU time: %.2f us per message\n", cpu / n);
    printf("  baseline memcpy of the message: %.2f us; render + build = %.1fx the copy\n", base / n,
           total / (base > 0 ? base : 1));
    free(copy);
    free(html_src);
    pb_tpl_free(th);
    pb_tpl_free(tt);
    pb_tpl_free(ts);
    pb_buf_release(&text_src, 0);
    pb_buf_release(&html, 0);
    pb_buf_release(&text, 0);
    pb_buf_release(&subject, 0);
    pb_buf_release(&msg, 0);
    return 0;
}
