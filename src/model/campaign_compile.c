/* Compiling a campaign's templates against its account's fields. */
#include "model/campaign_compile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/strutil.h"
#include "mail/mime.h"
#include "model/tenant.h"

struct fields_ctx {
    struct pb_campaign_compiled *cc;
    int overflow;
};

static void
add_field(void *cls, const struct pb_field *f)
{
    struct fields_ctx *ctx = cls;
    struct pb_campaign_compiled *cc = ctx->cc;
    int i = cc->nvars - PB_CAMPAIGN_VAR_FIELDS;
    if (i >= PB_CAMPAIGN_FIELDS_MAX) {
        ctx->overflow++;
        return;
    }
    pb_strlcpy(cc->keys[i], f->key, sizeof(cc->keys[i]));
    cc->names[cc->nvars] = cc->keys[i];
    cc->sensitive[cc->nvars] = f->sensitive;
    cc->nvars++;
}

static enum pb_qs
fields_tx(struct pb_tx *tx, void *cls)
{
    struct fields_ctx *ctx = cls;
    ctx->cc->nvars = PB_CAMPAIGN_VAR_FIELDS;
    ctx->overflow = 0;
    return tx->ops->field_list(tx->conn, ctx->cc->account_id, add_field, ctx);
}

/* Compiles one part; `field` names it for the caller's error. */
static enum pb_err
compile_part(const char *src, size_t len, enum pb_tpl_escape esc, struct pb_campaign_compiled *cc,
             bool track, struct pb_tpl **out, const char *name, const char **field,
             char why[PB_WHY_MAX])
{
    struct pb_tpl_vars vars = {cc->names, cc->nvars};
    char inner[PB_WHY_MAX] = "";
    enum pb_err err = pb_tpl_compile(src, len, esc, &vars, track, out, inner);
    if (err != PB_ERR_OK) {
        *field = name;
        snprintf(why, PB_WHY_MAX, "%s: %s", name, inner);
        return err;
    }
    for (int i = 0; i < cc->nvars; i++)
        cc->used[i] = cc->used[i] || pb_tpl_uses(*out, i);
    return PB_ERR_OK;
}

enum pb_err
pb_campaign_compile(struct pb_app *app, const struct pb_campaign *c, bool track_links,
                    struct pb_campaign_compiled **out, const char **field, char why[PB_WHY_MAX])
{
    enum pb_err err;
    struct pb_buf text;
    pb_buf_init(&text, PB_BODY_MAX * 2);
    *out = NULL;
    *field = NULL;
    struct pb_campaign_compiled *cc = calloc(1, sizeof(*cc));
    if (cc == NULL)
        return PB_ERR_NOMEM;
    pb_strlcpy(cc->campaign_id, c->id, sizeof(cc->campaign_id));
    pb_strlcpy(cc->account_id, c->account_id, sizeof(cc->account_id));
    cc->updated_at = c->updated_at;
    cc->track_links = track_links;
    memcpy(cc->list_ids, c->list_ids, sizeof(cc->list_ids));
    cc->list_count = c->list_count;
    cc->names[PB_CAMPAIGN_VAR_EMAIL] = "email";
    cc->names[PB_CAMPAIGN_VAR_UNSUBSCRIBE_URL] = "unsubscribe_url";

    struct fields_ctx fctx = {cc, 0};
    err = pb_tenant_tx(app, c->account_id, PB_TX_READ, fields_tx, &fctx);
    if (err != PB_ERR_OK)
        goto out;
    if (fctx.overflow > 0) {
        err = PB_ERR_TOO_LARGE;
        snprintf(why, PB_WHY_MAX, "the account has more than %d fields", PB_CAMPAIGN_FIELDS_MAX);
        goto out;
    }

    char addr_domain[PB_DOMAIN_MAX + 1];
    err = pb_mime_address_check(c->from_addr, cc->from_addr, addr_domain, why);
    if (err != PB_ERR_OK) {
        *field = "from";
        goto out;
    }
    pb_strlcpy(cc->from, c->from_addr, sizeof(cc->from));
    pb_strlcpy(cc->from_domain, addr_domain, sizeof(cc->from_domain));
    if (c->reply_to[0] != '\0') {
        char addr[PB_EMAIL_BYTES], domain[PB_DOMAIN_MAX + 1];
        err = pb_mime_address_check(c->reply_to, addr, domain, why);
        if (err != PB_ERR_OK) {
            *field = "reply_to";
            goto out;
        }
        pb_strlcpy(cc->reply_to, c->reply_to, sizeof(cc->reply_to));
    }

    const char *html = c->html != NULL ? c->html : "";
    const char *plain = c->text != NULL ? c->text : "";
    err = compile_part(c->subject, strlen(c->subject), PB_TPL_TEXT, cc, false, &cc->subject,
                       "subject", field, why);
    if (err == PB_ERR_OK)
        err = compile_part(html, strlen(html), PB_TPL_HTML, cc, track_links, &cc->html, "html",
                           field, why);
    if (err == PB_ERR_OK && plain[0] == '\0') {
        /* No text body: the HTML's text, its merge tags kept, compiled as text. */
        err = pb_tpl_html_to_text(html, strlen(html), &text);
        if (err == PB_ERR_OK)
            err = compile_part(text.data != NULL ? text.data : "", text.len, PB_TPL_TEXT, cc, false,
                               &cc->text, "html", field, why);
    } else if (err == PB_ERR_OK) {
        err = compile_part(plain, strlen(plain), PB_TPL_TEXT, cc, false, &cc->text, "text", field,
                           why);
    }
out:
    pb_buf_release(&text, 0);
    if (err != PB_ERR_OK) {
        pb_campaign_compiled_free(cc);
        return err;
    }
    *out = cc;
    return PB_ERR_OK;
}

void
pb_campaign_compiled_free(struct pb_campaign_compiled *cc)
{
    if (cc == NULL)
        return;
    pb_tpl_free(cc->subject);
    pb_tpl_free(cc->html);
    pb_tpl_free(cc->text);
    free(cc);
}
