/*
 * The tokens of the links in campaign mail: unsubscribe (/u), open pixel
 * (/o) and click (/c). A token names the account, the campaign, the
 * recipient (none for aggregate-only tracking) and the link, and carries a
 * MAC under a key derived from the master key, so it is checked without a
 * database lookup and cannot be forged or bent to another recipient. It
 * holds ids only (random, not personal data) in binary, base64url: 91
 * characters.
 */
#ifndef PB_MODEL_LINK_TOKEN_H
#define PB_MODEL_LINK_TOKEN_H

#include "core/err.h"
#include "core/id.h"
#include "crypto/keys.h"

#define PB_LINK_TOKEN_MAX 96 /* characters of a token and its NUL */

enum pb_link_kind {
    PB_LINK_UNSUBSCRIBE = 'u',
    PB_LINK_OPEN = 'o',
    PB_LINK_CLICK = 'c',
};

struct pb_link_token {
    enum pb_link_kind kind;
    char account_id[PB_ID_LEN + 1];
    char campaign_id[PB_ID_LEN + 1];
    char contact_id[PB_ID_LEN + 1]; /* "": none (aggregate tracking) */
    int link;                       /* the link's number for a click; 0 otherwise */
};

/* What signs tokens: the MAC's state with the key absorbed, made once, copied per token. */
struct pb_link_signer {
    crypto_generichash_state mac;
};

void
pb_link_signer_init(struct pb_link_signer *signer, const struct pb_keys *keys);

/* Wipes the signer's state (it is derived from the master key). */
void
pb_link_signer_wipe(struct pb_link_signer *signer);

/* Writes the token of `t` into `out`. PB_ERR_INVALID when an id is not one. */
enum pb_err
pb_link_token_make(const struct pb_link_signer *signer, const struct pb_link_token *t,
                   char out[PB_LINK_TOKEN_MAX]);

/*
 * Checks `token` (its MAC and that it is of `kind`) and fills `out`.
 * PB_ERR_NOT_FOUND for anything that is not a valid token of that kind.
 */
enum pb_err
pb_link_token_parse(const struct pb_keys *keys, enum pb_link_kind kind, const char *token,
                    struct pb_link_token *out);

#endif
