/* Logging to stderr with time, level and request id. */
#include "core/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int min_level = PB_LOG_INFO;
static _Thread_local char request_id[40];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
pb_log_set_level(enum pb_log_level level)
{
    atomic_store(&min_level, (int)level);
}

int
pb_log_parse_level(const char *name, enum pb_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum pb_log_level)i;
            return 0;
        }
    }
    return -1;
}

void
pb_log_set_request_id(const char *id)
{
    if (id == NULL)
        request_id[0] = '\0';
    else
        snprintf(request_id, sizeof(request_id), "%s", id);
}

const char *
pb_log_request_id(void)
{
    return request_id[0] ? request_id : "-";
}

void
pb_vlog(enum pb_log_level level, const char *fmt, va_list ap)
{
    if ((int)level < atomic_load(&min_level))
        return;
    struct timespec now;
    struct tm tm;
    char when[32];
    char msg[1024];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* Control characters would let a logged value forge extra lines. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    /* One fprintf per line: stdio locks the stream, so lines never interleave. */
    fprintf(stderr, "%s.%03ldZ %s [%s] %s\n", when, now.tv_nsec / 1000000L, level_names[level],
            pb_log_request_id(), msg);
}

void
pb_log(enum pb_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pb_vlog(level, fmt, ap);
    va_end(ap);
}
