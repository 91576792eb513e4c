/*
 * rfc3339.h - RFC 3339 timestamps to and from UTC seconds, without libc time.
 *
 * Parsing follows ops's parse_rfc3339 (ops/_private/timeconv.py):
 *   YYYY-MM-DD[Tt ]HH:MM:SS(.digits)?(Z|z|[+-]HH:MM)  and nothing after,
 * which also takes Juju's goal-state form "2026-01-04 06:29:46Z". A fraction
 * of any length is rounded to microseconds (ties to even, on the exact
 * decimal) and clamped at 999999, never carried into the seconds.
 * Calendar arithmetic is done here, so the result never depends on TZ.
 * Pure C: never includes lua.h.
 */
#ifndef DISPATCH_RFC3339_H
#define DISPATCH_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse s[0..len). On success returns 0 and sets *secs (UTC seconds since
 * 1970-01-01, negative before), *usec (0..999999) and *has_fraction (1 when
 * a ".digits" part was present). Returns -1 for anything invalid: grammar,
 * year 0000, month, day in month (leap years included), hour > 23,
 * minute > 59, second > 59, offset hour > 23 or minute > 59. Any output
 * pointer may be NULL.
 */
int rfc3339_parse(const char *s, size_t len, int64_t *secs, int32_t *usec, int *has_fraction);

/*
 * Write secs/usec as "YYYY-MM-DDTHH:MM:SSZ" (usec == 0) or
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" into buf, NUL-terminated. Returns the length,
 * or -1 when the year is outside 0001..9999, usec outside 0..999999, or buf
 * is too small (28 bytes always suffice).
 */
int rfc3339_format_utc(int64_t secs, int32_t usec, char *buf, size_t buflen);

#endif
