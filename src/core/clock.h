/*
 * Time, in one place so that tests can move it: wall-clock seconds and
 * milliseconds (UTC), a monotonic clock for durations, and RFC 3339 text.
 */
#ifndef PB_CORE_CLOCK_H
#define PB_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch (plus the test offset, if set). */
int64_t
pb_clock_now_ms(void);

/* Seconds since the Unix epoch (plus the test offset, if set). */
int64_t
pb_clock_now(void);

/* Monotonic microseconds, for measuring durations only. */
int64_t
pb_clock_mono_us(void);

/* Tests only: shifts the wall clock by `ms` (session expiry, token lifetimes). */
void
pb_clock_set_offset_ms(int64_t ms);

/* "2026-11-29T03:44:52Z" into out (at least 21 bytes). */
void
pb_clock_format_rfc3339(int64_t unix_seconds, char out[21]);

#endif
