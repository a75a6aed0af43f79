/* Signed link tokens: version, kind, three packed ids, link number, MAC. */
#include "model/link_token.h"

#include <string.h>

#include <sodium.h>

#define VERSION   1
#define MAC_BYTES 16
/* version, kind, account, campaign, contact, link (2 bytes), then the MAC */
#define BODY_BYTES  (2 + 3 * PB_ID_BYTES + 2)
#define TOKEN_BYTES (BODY_BYTES + MAC_BYTES)
#define DOMAIN      "postbode link token v1"

_Static_assert(PB_LINK_TOKEN_MAX >= (TOKEN_BYTES * 4 + 2) / 3 + 1, "token buffer too small");

void
pb_link_signer_init(struct pb_link_signer *signer, const struct pb_keys *keys)
{
    pb_keys_mac_system_init(keys, DOMAIN, &signer->mac, MAC_BYTES);
}

void
pb_link_signer_wipe(struct pb_link_signer *signer)
{
    sodium_memzero(signer, sizeof(*signer));
}

enum pb_err
pb_link_token_make(const struct pb_link_signer *signer, const struct pb_link_token *t,
                   char out[PB_LINK_TOKEN_MAX])
{
    unsigned char raw[TOKEN_BYTES] = {VERSION, (unsigned char)t->kind};
    unsigned char *p = raw + 2;
    if (!pb_id_pack(t->account_id, p) || !pb_id_pack(t->campaign_id, p + PB_ID_BYTES))
        return PB_ERR_INVALID;
    p += 2 * PB_ID_BYTES;
    if (t->contact_id[0] != '\0' && !pb_id_pack(t->contact_id, p))
        return PB_ERR_INVALID;
    p += PB_ID_BYTES;
    if (t->link < 0 || t->link > 0xffff)
        return PB_ERR_INVALID;
    p[0] = (unsigned char)(t->link >> 8);
    p[1] = (unsigned char)(t->link & 0xff);
    crypto_generichash_state mac = signer->mac;
    crypto_generichash_update(&mac, raw, BODY_BYTES);
    crypto_generichash_final(&mac, raw + BODY_BYTES, MAC_BYTES);
    sodium_memzero(&mac, sizeof(mac));
    sodium_bin2base64(out, PB_LINK_TOKEN_MAX, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return PB_ERR_OK;
}

enum pb_err
pb_link_token_parse(const struct pb_keys *keys, enum pb_link_kind kind, const char *token,
                    struct pb_link_token *out)
{
    unsigned char raw[TOKEN_BYTES];
    size_t len = 0;
    memset(out, 0, sizeof(*out));
    if (token == NULL || strlen(token) >= PB_LINK_TOKEN_MAX ||
        sodium_base642bin(raw, sizeof(raw), token, strlen(token), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len != sizeof(raw))
        return PB_ERR_NOT_FOUND;
    unsigned char mac[MAC_BYTES];
    pb_keys_mac_system(keys, DOMAIN, raw, BODY_BYTES, mac, sizeof(mac));
    if (sodium_memcmp(mac, raw + BODY_BYTES, MAC_BYTES) != 0 || raw[0] != VERSION ||
        raw[1] != (unsigned char)kind)
        return PB_ERR_NOT_FOUND;
    static const unsigned char none[PB_ID_BYTES];
    const unsigned char *p = raw + 2;
    out->kind = kind;
    pb_id_unpack(p, out->account_id);
    pb_id_unpack(p + PB_ID_BYTES, out->campaign_id);
    if (memcmp(p + 2 * PB_ID_BYTES, none, PB_ID_BYTES) != 0)
        pb_id_unpack(p + 2 * PB_ID_BYTES, out->contact_id);
    p += 3 * PB_ID_BYTES;
    out->link = (p[0] << 8) | p[1];
    return PB_ERR_OK;
}
