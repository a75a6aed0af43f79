/*
 * The links in campaign mail, reached from a mail client without login:
 * GET /u/{token} shows a page with one button; POST /u/{token} unsubscribes
 * at once (RFC 8058: a mail client posts "List-Unsubscribe=One-Click"; the
 * page's button posts the same), needing no cookie and no CSRF token, the
 * signed token being the credential; idempotent. GET /o/{token} answers a
 * 1x1 GIF and counts an open; GET /c/{token} counts a click and redirects to
 * the campaign's own URL for that link (never one taken from the request).
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "http/request.h"
#include "model/tracking.h"

/* The smallest transparent GIF. */
static const unsigned char pixel[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

static void
page(struct pb_request *req, int status, const char *title, const char *body)
{
    char html[4096];
    int n = snprintf(html, sizeof(html),
                     "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<title>%s</title><link rel=\"stylesheet\" href=\"/style.css\"></head>"
                     "<body><main class=\"public\"><h1>%s</h1>%s</main></body></html>",
                     title, title, body);
    pb_request_add_reply_header(req, "Cache-Control", "no-store");
    pb_reply_bytes(req, status, "text/html; charset=utf-8", html, (size_t)n);
}

void
pb_api_public_unsubscribe_page(struct pb_request *req)
{
    const char *token = pb_request_param(req, "token");
    struct pb_link_token t;
    if (token == NULL || pb_tracking_unsubscribe_check(req->app, token, &t) != PB_ERR_OK) {
        page(req, 404, "Link not valid",
             "<p>This unsubscribe link is not valid. Use the link of the mail itself.</p>");
        return;
    }
    /* The token is base64url: safe inside an attribute as it is. */
    char body[1024];
    snprintf(body, sizeof(body),
             "<p>Do you want to stop receiving these mails?</p>"
             "<form method=\"post\" action=\"/u/%s\">"
             "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
             "<button type=\"submit\">Unsubscribe</button></form>",
             token);
    page(req, 200, "Unsubscribe", body);
}

void
pb_api_public_unsubscribe(struct pb_request *req)
{
    const char *token = pb_request_param(req, "token");
    int lists = 0;
    enum pb_err err =
        token != NULL ? pb_tracking_unsubscribe(req->app, token, &lists) : PB_ERR_NOT_FOUND;
    if (err == PB_ERR_NOT_FOUND) {
        page(req, 404, "Link not valid",
             "<p>This unsubscribe link is not valid. Use the link of the mail itself.</p>");
        return;
    }
    if (err != PB_ERR_OK) {
        page(req, 503, "Please try again",
             "<p>Your request could not be recorded just now. Please try again in a "
             "minute.</p>");
        return;
    }
    page(req, 200, "You are unsubscribed", "<p>You will not receive these mails any more.</p>");
}

void
pb_api_public_open(struct pb_request *req)
{
    const char *token = pb_request_param(req, "token");
    /* The pixel is answered whatever happens: a mail client shows no error. */
    if (token != NULL)
        (void)pb_tracking_open(req->app, token);
    pb_request_add_reply_header(req, "Cache-Control", "no-store");
    pb_reply_bytes(req, 200, "image/gif", pixel, sizeof(pixel));
}

void
pb_api_public_click(struct pb_request *req)
{
    const char *token = pb_request_param(req, "token");
    char url[PB_URL_MAX + 1] = "";
    enum pb_err err = token != NULL ? pb_tracking_click(req->app, token, url) : PB_ERR_NOT_FOUND;
    if (err != PB_ERR_OK || url[0] == '\0') {
        page(req, 404, "Link not valid", "<p>This link is not valid.</p>");
        return;
    }
    pb_request_add_reply_header(req, "Location", url);
    pb_request_add_reply_header(req, "Cache-Control", "no-store");
    pb_reply_bytes(req, 302, "text/plain; charset=utf-8", "", 0);
}
