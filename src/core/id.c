/* ULID ids and base64url tokens. */
#include "core/id.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* 128 bits as 26 base32 digits: the first digit carries the top 3 bits. */
static void
encode(const unsigned char raw[PB_ID_BYTES], char out[PB_ID_LEN + 1])
{
    unsigned __int128 v = 0;
    for (int i = 0; i < PB_ID_BYTES; i++)
        v = (v << 8) | raw[i];
    for (int i = PB_ID_LEN - 1; i >= 0; i--) {
        out[i] = crockford[(unsigned)(v & 31)];
        v >>= 5;
    }
    out[PB_ID_LEN] = '\0';
}

void
pb_id_new(char out[PB_ID_LEN + 1])
{
    unsigned char raw[PB_ID_BYTES];
    uint64_t ms = (uint64_t)pb_clock_now_ms();
    for (int i = 5; i >= 0; i--) {
        raw[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    randombytes_buf(raw + 6, 10);
    encode(raw, out);
}

/* The value of each Crockford digit, -1 for any other byte (ids are packed per message). */
static signed char digit_value[256];

static void
digit_values_init(void)
{
    memset(digit_value, -1, sizeof(digit_value));
    for (int i = 0; i < 32; i++)
        digit_value[(unsigned char)crockford[i]] = (signed char)i;
}

bool
pb_id_pack(const char *id, unsigned char out[PB_ID_BYTES])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, digit_values_init);
    if (id == NULL || id[0] > '7')
        return false;
    unsigned __int128 v = 0;
    int len = 0;
    for (; len < PB_ID_LEN && id[len] != '\0'; len++) {
        int d = digit_value[(unsigned char)id[len]];
        if (d < 0)
            return false;
        v = (v << 5) | (unsigned)d;
    }
    if (len != PB_ID_LEN || id[len] != '\0')
        return false;
    for (int i = PB_ID_BYTES - 1; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    return true;
}

void
pb_id_unpack(const unsigned char raw[PB_ID_BYTES], char out[PB_ID_LEN + 1])
{
    encode(raw, out);
}

bool
pb_id_valid(const char *s)
{
    if (s == NULL || strlen(s) != PB_ID_LEN || s[0] > '7')
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '\0' || strchr(crockford, *p) == NULL)
            return false;
    return true;
}

void
pb_token_new(char out[PB_TOKEN_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, PB_TOKEN_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}
