/* Argon2id hashing, its concurrency cap, and the password policy. */
#include "crypto/password.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/strutil.h"

/* The list compiled in from share/common-passwords-12plus.txt, one per line. */
extern const char pb_common_passwords[];

#define OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE /* 2 passes */
#define MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE /* 64 MiB: above OWASP's 19 MiB floor */
enum { MAX_CONCURRENT_HASHES = 4 };

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_free = PTHREAD_COND_INITIALIZER;
static int slots_used;

/* Each hash takes 64 MiB: a burst of logins must queue, not exhaust memory. */
static void
slot_take(void)
{
    pthread_mutex_lock(&slots_lock);
    while (slots_used >= MAX_CONCURRENT_HASHES)
        pthread_cond_wait(&slots_free, &slots_lock);
    slots_used++;
    pthread_mutex_unlock(&slots_lock);
}

static void
slot_give(void)
{
    pthread_mutex_lock(&slots_lock);
    slots_used--;
    pthread_cond_signal(&slots_free);
    pthread_mutex_unlock(&slots_lock);
}

/* The common passwords, lower-cased and sorted once for binary search. */
static char **common;
static size_t common_count;
static pthread_once_t common_once = PTHREAD_ONCE_INIT;

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
lower_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static void
load_common(void)
{
    size_t lines = 0;
    for (const char *p = pb_common_passwords; *p; p++)
        lines += *p == '\n';
    char *copy = strdup(pb_common_passwords);
    char **list = calloc(lines + 1, sizeof(*list));
    if (copy == NULL || list == NULL) {
        /* Without memory there is no safe answer: refuse every password (see is_common). */
        free(copy);
        free(list);
        return;
    }
    size_t n = 0;
    for (char *line = strtok(copy, "\n"); line != NULL && n <= lines; line = strtok(NULL, "\n")) {
        lower_ascii(line);
        list[n++] = line;
    }
    qsort(list, n, sizeof(*list), compare_strings);
    common = list;
    common_count = n;
}

/* Case-insensitive (ASCII) membership in the list: "Password1234" counts as "password1234". */
static bool
is_common(const char *password)
{
    pthread_once(&common_once, load_common);
    if (common == NULL)
        return true;
    char lowered[PB_PASSWORD_MAX_CHARS * 4 + 1];
    size_t len = strlen(password);
    if (len >= sizeof(lowered))
        return false;
    memcpy(lowered, password, len + 1);
    lower_ascii(lowered);
    const char *key = lowered;
    bool found = bsearch(&key, common, common_count, sizeof(*common), compare_strings) != NULL;
    sodium_memzero(lowered, sizeof(lowered));
    return found;
}

enum pb_password_verdict
pb_password_check(const char *password)
{
    if (!pb_str_clean_utf8(password, PB_PASSWORD_MAX_CHARS * 4))
        return strlen(password) > PB_PASSWORD_MAX_CHARS * 4 ? PB_PASSWORD_TOO_LONG
                                                            : PB_PASSWORD_NOT_TEXT;
    size_t chars = 0;
    for (const char *p = password; *p; p++)
        chars += ((unsigned char)*p & 0xc0) != 0x80;
    if (chars < PB_PASSWORD_MIN_CHARS)
        return PB_PASSWORD_TOO_SHORT;
    if (chars > PB_PASSWORD_MAX_CHARS)
        return PB_PASSWORD_TOO_LONG;
    if (is_common(password))
        return PB_PASSWORD_COMMON;
    return PB_PASSWORD_OK;
}

const char *
pb_password_verdict_text(enum pb_password_verdict verdict)
{
    switch (verdict) {
    case PB_PASSWORD_OK:
        return "the password is acceptable";
    case PB_PASSWORD_TOO_SHORT:
        return "a password needs at least 12 characters; a few unrelated words work well";
    case PB_PASSWORD_TOO_LONG:
        return "a password has at most 128 characters";
    case PB_PASSWORD_NOT_TEXT:
        return "a password must be UTF-8 text without control characters";
    case PB_PASSWORD_COMMON:
        return "this password is on a list of commonly used, leaked passwords; choose another";
    }
    return "the password is not acceptable";
}

enum pb_err
pb_password_hash(const char *password, char out[PB_PASSWORD_HASH_MAX])
{
    slot_take();
    int rc = crypto_pwhash_str(out, password, strlen(password), OPSLIMIT, MEMLIMIT);
    slot_give();
    return rc == 0 ? PB_ERR_OK : PB_ERR_NOMEM;
}

bool
pb_password_verify(const char *hash, const char *password)
{
    slot_take();
    int rc = crypto_pwhash_str_verify(hash, password, strlen(password));
    slot_give();
    return rc == 0;
}

bool
pb_password_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, OPSLIMIT, MEMLIMIT) != 0;
}

/* A hash of a random password, made once at today's parameters, for pb_password_verify_dummy. */
static char dummy_hash[PB_PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void
dummy_init(void)
{
    char random_password[33];
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(random_password, sizeof(random_password), raw, sizeof(raw));
    if (pb_password_hash(random_password, dummy_hash) != PB_ERR_OK)
        dummy_hash[0] = '\0';
}

void
pb_password_verify_dummy(const char *password)
{
    pthread_once(&dummy_once, dummy_init);
    if (dummy_hash[0] != '\0')
        (void)pb_password_verify(dummy_hash, password);
}
