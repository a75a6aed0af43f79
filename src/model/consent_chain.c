/*
 * The consent log's hash chain (see consent_chain.h): the canonical encoding
 * streamed into BLAKE2b-256, and the streaming verifier.
 */
#include "model/consent_chain.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* First bytes of every canonical encoding: names the format and its version. */
static const char chain_format_tag[] = "postbode.consent-chain.v1";

static const unsigned char zero_hash[PB_CHAIN_HASH_BYTES];

static void
put_u32(crypto_generichash_state *st, uint32_t x)
{
    unsigned char b[4] = {(unsigned char)(x >> 24), (unsigned char)(x >> 16),
                          (unsigned char)(x >> 8), (unsigned char)x};
    crypto_generichash_update(st, b, sizeof(b));
}

static void
put_u64(crypto_generichash_state *st, uint64_t x)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(x >> (56 - 8 * i));
    crypto_generichash_update(st, b, sizeof(b));
}

/*
 * A string as its length (uint32 big-endian) and bytes; NULL as 0xFFFFFFFF
 * and no bytes. Strings in events are ids and short words, far below 4 GiB.
 */
static void
put_str(crypto_generichash_state *st, const char *s)
{
    if (s == NULL) {
        put_u32(st, 0xffffffffu);
        return;
    }
    size_t n = strlen(s);
    put_u32(st, (uint32_t)n);
    crypto_generichash_update(st, (const unsigned char *)s, n);
}

void
pb_chain_hash(const struct pb_data_key *key, const unsigned char prev[PB_CHAIN_HASH_BYTES],
              const struct pb_chain_event *e, unsigned char out[PB_CHAIN_HASH_BYTES])
{
    crypto_generichash_state st;
    if (key != NULL)
        pb_data_key_chain_init(key, &st, PB_CHAIN_HASH_BYTES);
    else
        crypto_generichash_init(&st, NULL, 0, PB_CHAIN_HASH_BYTES);
    crypto_generichash_update(&st, prev, PB_CHAIN_HASH_BYTES);
    put_str(&st, chain_format_tag);
    put_str(&st, e->account_id);
    put_u64(&st, (uint64_t)e->seq);
    put_str(&st, e->id);
    put_str(&st, e->type);
    put_str(&st, e->contact_id);
    put_str(&st, e->list_id);
    put_str(&st, e->statement_id);
    put_str(&st, e->channel);
    put_str(&st, e->actor);
    put_u64(&st, (uint64_t)e->at);
    /*
     * Added after v1 at the end, only when present: events without a
     * reference keep the encoding (and hashes) they were written with, and
     * the fixed-size `at` before it keeps the encoding unambiguous.
     */
    if (e->ref != NULL)
        put_str(&st, e->ref);
    crypto_generichash_final(&st, out, PB_CHAIN_HASH_BYTES);
    sodium_memzero(&st, sizeof(st));
}

enum pb_err
pb_chain_verifier_init(struct pb_chain_verifier *v, const char *account_id,
                       const struct pb_data_key *key)
{
    memset(v, 0, sizeof(*v));
    v->key = key;
    if (account_id == NULL || strlen(account_id) > PB_CHAIN_ACCOUNT_MAX) {
        v->failed = true;
        snprintf(v->reason, sizeof(v->reason), "the account id is missing or too long");
        return PB_ERR_INVALID;
    }
    memcpy(v->account_id, account_id, strlen(account_id) + 1);
    return PB_ERR_OK;
}

static enum pb_err
fail(struct pb_chain_verifier *v, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum pb_err
fail(struct pb_chain_verifier *v, int64_t seq, const char *fmt, ...)
{
    va_list ap;
    v->failed = true;
    v->bad_seq = seq;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    return PB_ERR_INVALID;
}

enum pb_err
pb_chain_verify_next(struct pb_chain_verifier *v, const struct pb_chain_event *e,
                     const unsigned char stored_prev[PB_CHAIN_HASH_BYTES],
                     const unsigned char stored_hash[PB_CHAIN_HASH_BYTES])
{
    if (v->failed)
        return PB_ERR_INVALID;
    int64_t want = v->last_seq + 1;
    if (e == NULL || stored_prev == NULL || stored_hash == NULL)
        return fail(v, want, "event %" PRId64 ": missing event or hashes", want);

    int64_t seq = e->seq;
    if (seq > want) {
        if (v->last_seq == 0)
            return fail(v, seq, "the chain starts at event %" PRId64 ": event 1 is missing", seq);
        if (seq == want + 1)
            return fail(v, seq,
                        "event %" PRId64 " follows event %" PRId64 ": event %" PRId64 " is missing",
                        seq, v->last_seq, want);
        return fail(v, seq,
                    "event %" PRId64 " follows event %" PRId64 ": events %" PRId64 " to %" PRId64
                    " are missing",
                    seq, v->last_seq, want, seq - 1);
    }
    if (seq < want)
        return fail(v, seq,
                    "event %" PRId64 " follows event %" PRId64
                    ": out of order or repeated (reordered?)",
                    seq, v->last_seq);
    if (e->account_id == NULL || strcmp(e->account_id, v->account_id) != 0)
        return fail(v, seq, "event %" PRId64 ": belongs to another account", seq);

    unsigned char h[PB_CHAIN_HASH_BYTES];
    pb_chain_hash(v->key, stored_prev, e, h);
    if (memcmp(h, stored_hash, sizeof(h)) != 0)
        return fail(v, seq, "event %" PRId64 ": its content does not match its hash (edited?)",
                    seq);
    if (memcmp(stored_prev, v->last_seq == 0 ? zero_hash : v->prev, PB_CHAIN_HASH_BYTES) != 0)
        return fail(v, seq,
                    "event %" PRId64
                    ": does not chain to the event before it (reordered or replaced?)",
                    seq);

    memcpy(v->prev, h, sizeof(h));
    v->last_seq = seq;
    v->checked++;
    return PB_ERR_OK;
}

enum pb_err
pb_chain_verify_end(struct pb_chain_verifier *v, int64_t head_seq,
                    const unsigned char head_hash[PB_CHAIN_HASH_BYTES])
{
    if (v->failed)
        return PB_ERR_INVALID;
    if (head_seq > v->last_seq)
        return fail(v, v->last_seq + 1,
                    "the chain ends at event %" PRId64 " but the account's last event is %" PRId64
                    ": the newest events are missing",
                    v->last_seq, head_seq);
    if (head_seq < v->last_seq)
        return fail(v, head_seq + 1,
                    "the chain goes on past the account's last event %" PRId64
                    " (events added behind its back?)",
                    head_seq);
    if (head_seq > 0 && head_hash && memcmp(head_hash, v->prev, PB_CHAIN_HASH_BYTES) != 0)
        return fail(v, head_seq,
                    "event %" PRId64
                    ": does not match the account's recorded last hash (replaced?)",
                    head_seq);
    return PB_ERR_OK;
}

void
pb_chain_verify_result(const struct pb_chain_verifier *v, bool *ok, uint64_t *events_checked,
                       int64_t *first_bad_seq, char reason[PB_WHY_MAX])
{
    if (ok)
        *ok = !v->failed;
    if (events_checked)
        *events_checked = v->checked;
    if (first_bad_seq)
        *first_bad_seq = v->failed ? v->bad_seq : 0;
    if (reason)
        snprintf(reason, PB_WHY_MAX, "%s", v->failed ? v->reason : "");
}
