/* Rendering, MIME and DKIM for one recipient of a campaign. */
#include "model/compose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strutil.h"
#include "mail/mime.h"
#include "model/account.h"
#include "model/dkim_keys.h"
#include "model/link_token.h"

#define PIXEL "<img src=\"%s\" width=\"1\" height=\"1\" alt=\"\">"

/* A message's parts are bounded by the bodies (1 MiB each) and their substitutions. */
#define PART_MAX    (8u * 1024 * 1024)
#define MESSAGE_MAX (24u * 1024 * 1024)

enum pb_tracking
pb_tracking_parse(const char *s)
{
    if (strcmp(s, "off") == 0)
        return PB_TRACKING_OFF;
    if (strcmp(s, "individual") == 0)
        return PB_TRACKING_INDIVIDUAL;
    return PB_TRACKING_AGGREGATE;
}

enum pb_err
pb_compose_init(struct pb_compose *c, struct pb_app *app, const struct pb_campaign_compiled *cc)
{
    memset(c, 0, sizeof(*c));
    c->cc = cc;
    c->keys = app->keys;
    pb_buf_init(&c->subject, PART_MAX);
    pb_buf_init(&c->html, PART_MAX);
    pb_buf_init(&c->text, PART_MAX);
    pb_buf_init(&c->message, MESSAGE_MAX);
    pb_buf_init(&c->url, 4096);
    const char *base = app->config != NULL && app->config->public_url[0] != '\0'
                           ? app->config->public_url
                           : "https://localhost:8443";
    pb_strlcpy(c->public_url, base, sizeof(c->public_url));
    size_t n = strlen(c->public_url);
    if (n > 0 && c->public_url[n - 1] == '/')
        c->public_url[n - 1] = '\0';
    struct pb_account account;
    enum pb_err err = pb_account_get(app, cc->account_id, &account);
    if (err != PB_ERR_OK)
        return err;
    c->tracking = pb_tracking_parse(account.tracking);
    pb_link_signer_init(&c->signer, app->keys);
    c->nclicks = pb_tpl_link_count(cc->html);
    if (c->nclicks > 0 && (c->clicks = calloc((size_t)c->nclicks, sizeof(*c->clicks))) == NULL)
        return PB_ERR_NOMEM;
    return pb_dkim_keys_load(app, cc->account_id, cc->from_domain, c->dkim, PB_COMPOSE_DKIM_MAX,
                             &c->ndkim);
}

void
pb_compose_release(struct pb_compose *c)
{
    for (int i = 0; i < c->ndkim; i++)
        pb_dkim_key_free(c->dkim[i]);
    c->ndkim = 0;
    for (int i = 0; i < c->nclicks && c->clicks != NULL; i++)
        free(c->clicks[i]);
    free(c->clicks);
    c->clicks = NULL;
    c->nclicks = 0;
    free(c->pixel);
    c->pixel = NULL;
    pb_link_signer_wipe(&c->signer);
    /* The rendered parts held personal data: wipe them. */
    pb_buf_release(&c->subject, 1);
    pb_buf_release(&c->html, 1);
    pb_buf_release(&c->text, 1);
    pb_buf_release(&c->message, 1);
    pb_buf_release(&c->url, 1);
}

/* Appends PUBLIC/<kind>/<token> to `out`. */
static enum pb_err
link(struct pb_compose *c, enum pb_link_kind kind, const char *contact_id, int n,
     struct pb_buf *out)
{
    struct pb_link_token t = {.kind = kind, .link = n};
    pb_strlcpy(t.account_id, c->cc->account_id, sizeof(t.account_id));
    pb_strlcpy(t.campaign_id, c->cc->campaign_id, sizeof(t.campaign_id));
    pb_strlcpy(t.contact_id, contact_id, sizeof(t.contact_id));
    char token[PB_LINK_TOKEN_MAX];
    enum pb_err err = pb_link_token_make(&c->signer, &t, token);
    char middle[3] = {'/', (char)kind, '/'};
    if (err == PB_ERR_OK)
        err = pb_buf_append_str(out, c->public_url);
    if (err == PB_ERR_OK)
        err = pb_buf_append(out, middle, sizeof(middle));
    if (err == PB_ERR_OK)
        err = pb_buf_append_str(out, token);
    return err;
}

/* A URL of link `kind` naming no recipient (aggregate tracking), malloc'd, or NULL. */
static char *
anonymous_link(struct pb_compose *c, enum pb_link_kind kind, int n)
{
    struct pb_buf b;
    pb_buf_init(&b, 4096);
    if (link(c, kind, "", n, &b) != PB_ERR_OK) {
        pb_buf_release(&b, 0);
        return NULL;
    }
    return b.data; /* NUL-terminated by pb_buf */
}

static enum pb_err
click_url(void *cls, int n, struct pb_buf *out)
{
    struct pb_compose *c = cls;
    if (c->tracking == PB_TRACKING_INDIVIDUAL)
        return link(c, PB_LINK_CLICK, c->contact_id, n, out);
    /* Aggregate tracking: the link names no recipient, the same for all: made once. */
    if (n < 0 || n >= c->nclicks)
        return PB_ERR_INVALID;
    if (c->clicks[n] == NULL && (c->clicks[n] = anonymous_link(c, PB_LINK_CLICK, n)) == NULL)
        return PB_ERR_NOMEM;
    return pb_buf_append_str(out, c->clicks[n]);
}

/* The last "</body>" (any case) of the HTML, searched from its end, or NULL. */
static const char *
body_end(const struct pb_buf *html)
{
    if (html->data == NULL || html->len < 7)
        return NULL;
    for (const char *p = html->data + html->len - 7; p >= html->data; p--)
        if (p[0] == '<' && p[1] == '/' && strncasecmp(p + 2, "body>", 5) == 0)
            return p;
    return NULL;
}

/* Inserts `s` before the last "</body>" of the HTML, or appends it. */
static enum pb_err
html_before_body_end(struct pb_buf *html, const char *s)
{
    const char *end = body_end(html);
    if (end == NULL)
        return pb_buf_append_str(html, s);
    size_t at = (size_t)(end - html->data), add = strlen(s);
    enum pb_err err = pb_buf_append(html, s, add); /* grow, then shift the tail */
    if (err != PB_ERR_OK)
        return err;
    memmove(html->data + at + add, html->data + at, html->len - add - at);
    memcpy(html->data + at, s, add);
    return PB_ERR_OK;
}

enum pb_err
pb_compose_message(struct pb_compose *c, const char *contact_id, const char *email,
                   const char *const *values, int64_t now, struct pb_buf *out)
{
    const struct pb_campaign_compiled *cc = c->cc;
    const char *vals[PB_CAMPAIGN_VAR_FIELDS + PB_CAMPAIGN_FIELDS_MAX];
    memcpy(vals, values, sizeof(vals[0]) * (size_t)cc->nvars);
    c->contact_id = contact_id;
    pb_buf_reset(&c->subject);
    pb_buf_reset(&c->html);
    pb_buf_reset(&c->text);
    pb_buf_reset(&c->message);
    pb_buf_reset(&c->url);

    /* The unsubscribe link is always there, tracking or not: it is the recipient's right. */
    enum pb_err err = link(c, PB_LINK_UNSUBSCRIBE, contact_id, 0, &c->url);
    if (err != PB_ERR_OK)
        return err;
    char unsubscribe[PB_LINK_TOKEN_MAX + 600];
    pb_strlcpy(unsubscribe, c->url.data, sizeof(unsubscribe));
    vals[PB_CAMPAIGN_VAR_EMAIL] = email;
    vals[PB_CAMPAIGN_VAR_UNSUBSCRIBE_URL] = unsubscribe;

    struct pb_tpl_render_ctx plain = {vals, NULL, NULL};
    struct pb_tpl_render_ctx rich = {
        vals, cc->track_links && c->tracking != PB_TRACKING_OFF ? click_url : NULL, c};
    if ((err = pb_tpl_render(cc->subject, &plain, &c->subject)) != PB_ERR_OK ||
        (err = pb_tpl_render(cc->html, &rich, &c->html)) != PB_ERR_OK ||
        (err = pb_tpl_render(cc->text, &plain, &c->text)) != PB_ERR_OK)
        return err;
    /* A visible unsubscribe link when the template has none. */
    if (!pb_tpl_uses(cc->html, PB_CAMPAIGN_VAR_UNSUBSCRIBE_URL)) {
        char footer[sizeof(unsubscribe) + 200];
        snprintf(footer, sizeof(footer),
                 "<p style=\"font-size:12px;color:#666\"><a href=\"%s\">Unsubscribe</a></p>",
                 unsubscribe);
        if ((err = html_before_body_end(&c->html, footer)) != PB_ERR_OK)
            return err;
    }
    if (!pb_tpl_uses(cc->text, PB_CAMPAIGN_VAR_UNSUBSCRIBE_URL) &&
        (err = pb_buf_printf(&c->text, "\n\n--\nUnsubscribe: %s\n", unsubscribe)) != PB_ERR_OK)
        return err;
    if (c->tracking == PB_TRACKING_INDIVIDUAL) {
        pb_buf_reset(&c->url);
        if ((err = link(c, PB_LINK_OPEN, contact_id, 0, &c->url)) != PB_ERR_OK)
            return err;
        char pixel[PB_LINK_TOKEN_MAX + 700];
        snprintf(pixel, sizeof(pixel), PIXEL, c->url.data);
        if ((err = html_before_body_end(&c->html, pixel)) != PB_ERR_OK)
            return err;
    } else if (c->tracking == PB_TRACKING_AGGREGATE) {
        /* One pixel for all: it names no recipient. */
        if (c->pixel == NULL) {
            char *url = anonymous_link(c, PB_LINK_OPEN, 0);
            size_t size = url != NULL ? strlen(url) + sizeof(PIXEL) : 0;
            if (url != NULL && (c->pixel = malloc(size)) != NULL)
                snprintf(c->pixel, size, PIXEL, url);
            free(url);
            if (c->pixel == NULL)
                return PB_ERR_NOMEM;
        }
        if ((err = html_before_body_end(&c->html, c->pixel)) != PB_ERR_OK)
            return err;
    }

    /* The same Message-ID for a retry of the same message: receivers may deduplicate. */
    char message_id[PB_ID_LEN * 2 + PB_DOMAIN_MAX + 8];
    snprintf(message_id, sizeof(message_id), "<%s.%s@%s>", cc->campaign_id,
             contact_id[0] ? contact_id : "test", cc->from_domain);
    char feedback[PB_ID_LEN * 2 + 16];
    snprintf(feedback, sizeof(feedback), "%s:%s:postbode", cc->campaign_id, cc->account_id);
    /* Unsubscribing by mail writes to the sender, who sees the campaign in the subject. */
    char mailto[PB_EMAIL_BYTES + 64];
    snprintf(mailto, sizeof(mailto), "%s?subject=unsubscribe%%20%s", cc->from_addr,
             cc->campaign_id);
    struct pb_mime_msg m = {
        .from = cc->from,
        .to = email,
        .reply_to = cc->reply_to[0] ? cc->reply_to : NULL,
        .subject = c->subject.data != NULL ? c->subject.data : "",
        .html = c->html.data != NULL ? c->html.data : "",
        .html_len = c->html.len,
        .text = c->text.data != NULL ? c->text.data : "",
        .text_len = c->text.len,
        .list_unsubscribe_url = unsubscribe,
        .list_unsubscribe_mailto = mailto,
        .message_id = message_id,
        .feedback_id = feedback,
        .date = now,
    };
    if (c->ndkim == 0)
        return pb_mime_build(&m, out); /* nothing goes before it: straight into `out` */
    /* The signatures go first, and sign the message: it is built aside, then appended. */
    if ((err = pb_mime_build(&m, &c->message)) != PB_ERR_OK)
        return err;
    unsigned char body_hash[PB_DKIM_HASH_LEN];
    if ((err = pb_dkim_body_hash(c->message.data, c->message.len, body_hash)) != PB_ERR_OK)
        return err;
    size_t start = out->len;
    for (int i = 0; i < c->ndkim; i++) {
        if ((err = pb_dkim_sign(c->dkim[i], c->message.data, c->message.len, now, body_hash,
                                out)) != PB_ERR_OK) {
            out->len = start; /* no half-signed message */
            return err;
        }
    }
    return pb_buf_append(out, c->message.data, c->message.len);
}
