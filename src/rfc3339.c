/* rfc3339.c - RFC 3339 timestamps to and from UTC seconds (see rfc3339.h). */
#include "rfc3339.h"

#include <stdio.h>

/* Days from 0001-01-01 to 1970-01-01 in the proleptic Gregorian calendar. */
#define DAYS_YEAR1_TO_EPOCH 719162
#define SECS_PER_DAY 86400

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : len[m - 1];
}

/* Days from 0001-01-01 to y-m-d, for y >= 1 (so every division is exact
 * floor division on non-negative numbers). */
static int64_t days_since_year1(int64_t y, int m, int d)
{
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t py = y - 1;
    int64_t days = py * 365 + py / 4 - py / 100 + py / 400;
    days += before[m - 1] + (m > 2 && is_leap(y)) + (d - 1);
    return days;
}

/* The inverse: n >= 0 days after 0001-01-01 to a civil date. The Gregorian
 * calendar repeats every 400 years (146097 days); inside a cycle come
 * centuries of 36524 days, 4-year runs of 1461 and years of 365, where the
 * last century and the last year of a run are one day longer. */
static void civil_from_days(int64_t n, int64_t *y, int *m, int *d)
{
    int64_t q400 = n / 146097;
    n %= 146097;
    int64_t q100 = n / 36524;
    if (q100 == 4)
        q100 = 3;
    n -= q100 * 36524;
    int64_t q4 = n / 1461;
    n %= 1461;
    int64_t q1 = n / 365;
    if (q1 == 4)
        q1 = 3;
    n -= q1 * 365;
    *y = 1 + 400 * q400 + 100 * q100 + 4 * q4 + q1;
    int month = 1;
    while (n >= days_in_month(*y, month)) {
        n -= days_in_month(*y, month);
        month++;
    }
    *m = month;
    *d = (int)n + 1;
}

/* Exactly n ASCII digits at p, as a number; -1 when any is not a digit. */
static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int rfc3339_parse(const char *s, size_t len, int64_t *secs, int32_t *usec, int *has_fraction)
{
    /* "YYYY-MM-DDTHH:MM:SS" is 19 bytes, the shortest zone "Z" one more. */
    if (s == NULL || len < 20)
        return -1;
    if (s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
        return -1;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return -1;
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), min = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return -1;
    if (hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59)
        return -1;

    size_t i = 19;
    int32_t micro = 0;
    int fraction = 0;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        size_t n = i - start;
        if (n == 0)
            return -1;
        fraction = 1;
        for (size_t k = 0; k < 6; k++)
            micro = micro * 10 + (k < n ? s[start + k] - '0' : 0);
        if (n > 6) {
            /* Round to nearest, ties to even, on the exact decimal value
             * (what Python's round() gives ops), then clamp like ops does. */
            int next = s[start + 6] - '0';
            int rest = 0;
            for (size_t k = 7; k < n && !rest; k++)
                rest = s[start + k] != '0';
            if (next > 5 || (next == 5 && (rest || (micro & 1))))
                micro++;
            if (micro > 999999)
                micro = 999999;
        }
    }

    int64_t offset = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        if (len - i < 6 || s[i + 3] != ':')
            return -1;
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset = (int64_t)oh * 3600 + om * 60;
        if (s[i] == '-')
            offset = -offset;
        i += 6;
    } else {
        return -1;
    }
    if (i != len)
        return -1;

    int64_t days = days_since_year1(year, month, day) - DAYS_YEAR1_TO_EPOCH;
    if (secs != NULL)
        *secs = days * SECS_PER_DAY + hour * 3600 + min * 60 + sec - offset;
    if (usec != NULL)
        *usec = micro;
    if (has_fraction != NULL)
        *has_fraction = fraction;
    return 0;
}

int rfc3339_format_utc(int64_t secs, int32_t usec, char *buf, size_t buflen)
{
    /* 0001-01-01T00:00:00Z up to 9999-12-31T23:59:59Z. */
    const int64_t lo = -(int64_t)DAYS_YEAR1_TO_EPOCH * SECS_PER_DAY;
    const int64_t hi = (days_since_year1(10000, 1, 1) - DAYS_YEAR1_TO_EPOCH) * SECS_PER_DAY;
    if (buf == NULL || secs < lo || secs >= hi || usec < 0 || usec > 999999)
        return -1;
    int64_t since_year1 = secs - lo;
    int64_t days = since_year1 / SECS_PER_DAY;
    int64_t rem = since_year1 % SECS_PER_DAY;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int hour = (int)(rem / 3600), min = (int)(rem / 60 % 60), sec = (int)(rem % 60);
    int n;
    if (usec == 0)
        n = snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, hour, min, sec);
    else
        n = snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)y, m, d, hour,
                     min, sec, (int)usec);
    if (n < 0 || (size_t)n >= buflen)
        return -1;
    return n;
}
