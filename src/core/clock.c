/* Wall and monotonic clocks, with a test offset for the wall clock. */
#include "core/clock.h"

#include <stdatomic.h>
#include <stdio.h>

static _Atomic int64_t offset_ms;

int64_t
pb_clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&offset_ms);
}

int64_t
pb_clock_now(void)
{
    return pb_clock_now_ms() / 1000;
}

int64_t
pb_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
pb_clock_set_offset_ms(int64_t ms)
{
    atomic_store(&offset_ms, ms);
}

void
pb_clock_format_rfc3339(int64_t unix_seconds, char out[21])
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
