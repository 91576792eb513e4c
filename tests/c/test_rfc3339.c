/* test_rfc3339.c - rfc3339_parse / rfc3339_format_utc against a table whose
 * expected seconds were computed with Python's datetime (the same values ops
 * gets from parse_rfc3339(...).timestamp()). */
#include <stdint.h>
#include <string.h>

#include "ctest.h"
#include "rfc3339.h"

typedef struct valid_case {
    const char *text;
    int64_t secs;
    int32_t usec;
    int has_fraction;
} valid_case;

static const valid_case valid[] = {
    {"1970-01-01T00:00:00Z", 0, 0, 0},
    {"1970-01-01t00:00:00z", 0, 0, 0},
    {"2026-01-04T06:29:46Z", 1767508186, 0, 0},
    {"2026-01-04 06:29:46Z", 1767508186, 0, 0}, /* Juju goal-state form */
    {"2026-01-04t06:29:46z", 1767508186, 0, 0},
    {"2024-02-29T12:00:00Z", 1709208000, 0, 0}, /* leap day */
    {"2000-02-29T00:00:00Z", 951782400, 0, 0},  /* divisible by 400 */
    {"2025-12-31T23:59:59Z", 1767225599, 0, 0},
    {"2025-12-31T23:59:59+05:30", 1767205799, 0, 0},
    {"2025-12-31T23:59:59-08:00", 1767254399, 0, 0},
    {"2025-12-31T23:59:59+00:00", 1767225599, 0, 0},
    {"2025-12-31T23:59:59-00:00", 1767225599, 0, 0},
    {"1970-01-01T00:00:00+23:59", -86340, 0, 0},
    {"1969-12-31T23:59:59Z", -1, 0, 0},
    {"1900-01-01T00:00:00Z", -2208988800LL, 0, 0},
    {"1600-03-01T00:00:00Z", -11670912000LL, 0, 0},
    {"0001-01-01T00:00:00Z", -62135596800LL, 0, 0},
    {"9999-12-31T23:59:59Z", 253402300799LL, 0, 0},
    {"2038-01-19T03:14:08Z", 2147483648LL, 0, 0}, /* past 32-bit time_t */
    /* fractions: 1, 5, 6, 8, 9 digits and rounding */
    {"1970-01-01T00:00:00.5Z", 0, 500000, 1},
    {"1970-01-01T00:00:00.0Z", 0, 0, 1},
    {"1970-01-01T00:00:00.12345Z", 0, 123450, 1},
    {"1970-01-01T00:00:00.123456Z", 0, 123456, 1},
    {"1970-01-01T00:00:00.12345678Z", 0, 123457, 1},
    {"1970-01-01T00:00:00.12345649Z", 0, 123456, 1},
    {"2026-01-04T06:29:46.123456789Z", 1767508186, 123457, 1},
    {"2026-01-04T06:29:46.000000001Z", 1767508186, 0, 1},
    {"2026-01-04T06:29:46.9999996Z", 1767508186, 999999, 1}, /* clamped, no carry */
    {"2026-01-04T06:29:46.999999999Z", 1767508186, 999999, 1},
    /* exact ties go to even, as Python's round() does for ops */
    {"1970-01-01T00:00:00.0000005Z", 0, 0, 1},
    {"1970-01-01T00:00:00.0000015Z", 0, 2, 1},
    {"1970-01-01T00:00:00.0000025Z", 0, 2, 1},
    {"1970-01-01T00:00:00.00000250001Z", 0, 3, 1},
    {"1970-01-01T00:00:00.5+01:00", -3600, 500000, 1},
};

static const char *const invalid[] = {
    "",
    "2026-01-04",
    "2026-01-04T06:29:46",          /* missing zone */
    "2026-01-04T06:29:46ZZ",        /* trailing junk */
    "2026-01-04T06:29:46Z ",
    "2026-01-04T06:29:46Z\n",
    "2026-01-04T06:29:46+01:00x",
    "2026-01-04T06:29:46+0100",
    "2026-01-04T06:29:46+01",
    "2026-01-04T06:29:46+1:00",
    "2026-01-04T06:29:46 Z",
    "2026-01-04T06:29:46.Z",        /* dot without digits */
    "2026-01-04T06:29:46.12a3Z",
    "2026-01-04X06:29:46Z",
    "2026/01/04T06:29:46Z",
    "26-01-04T06:29:46Z",
    "+2026-01-04T06:29:46Z",
    "2026-1-04T06:29:46Z",
    "2026-01-04T6:29:46Z",
    "2026-01-04T06:29:46.5",
    "0000-01-01T00:00:00Z",         /* year 0 */
    "2026-00-10T00:00:00Z",
    "2026-13-10T00:00:00Z",
    "2026-01-00T00:00:00Z",
    "2026-01-32T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2023-02-29T00:00:00Z",         /* not a leap year */
    "1900-02-29T00:00:00Z",         /* century, not a leap year */
    "2026-01-04T24:00:00Z",
    "2026-01-04T23:60:00Z",
    "2026-01-04T23:59:60Z",         /* leap seconds are refused, as datetime does */
    "2026-01-04T06:29:46+24:00",
    "2026-01-04T06:29:46+23:60",
    "2026-01-04T06:29:46-99:00",
    "2026-01-04T06:29:46\xef\xbc\xba", /* fullwidth Z */
    "２026-01-04T06:29:46Z",
};

TEST(valid_inputs)
{
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const valid_case *c = &valid[i];
        int64_t secs = 42;
        int32_t usec = 42;
        int frac = 42;
        int r = rfc3339_parse(c->text, strlen(c->text), &secs, &usec, &frac);
        if (r != 0 || secs != c->secs || usec != c->usec || frac != c->has_fraction)
            fprintf(stderr, "  case %s: r=%d secs=%lld usec=%d frac=%d\n", c->text, r,
                    (long long)secs, (int)usec, frac);
        CHECK_EQ_INT(r, 0);
        CHECK_EQ_INT(secs, c->secs);
        CHECK_EQ_INT(usec, c->usec);
        CHECK_EQ_INT(frac, c->has_fraction);
    }
}

TEST(invalid_inputs)
{
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        int64_t secs = 0;
        int32_t usec = 0;
        int frac = 0;
        int r = rfc3339_parse(invalid[i], strlen(invalid[i]), &secs, &usec, &frac);
        if (r != -1)
            fprintf(stderr, "  accepted invalid %s\n", invalid[i]);
        CHECK_EQ_INT(r, -1);
    }
}

TEST(length_is_respected)
{
    /* The parser reads len bytes, not up to a NUL: a valid prefix followed
     * by more bytes is junk, and a cut-short buffer is invalid. */
    const char *s = "2026-01-04T06:29:46Zjunk";
    int64_t secs = 0;
    CHECK_EQ_INT(rfc3339_parse(s, 20, &secs, NULL, NULL), 0);
    CHECK_EQ_INT(secs, 1767508186);
    CHECK_EQ_INT(rfc3339_parse(s, 21, &secs, NULL, NULL), -1);
    CHECK_EQ_INT(rfc3339_parse(s, 19, &secs, NULL, NULL), -1);
    char with_nul[] = "2026-01-04T06:29:46Z\0";
    CHECK_EQ_INT(rfc3339_parse(with_nul, sizeof with_nul - 1, &secs, NULL, NULL), -1);
    CHECK_EQ_INT(rfc3339_parse(NULL, 0, &secs, NULL, NULL), -1);
}

TEST(format_known_values)
{
    char buf[64];
    CHECK_EQ_INT(rfc3339_format_utc(0, 0, buf, sizeof buf), 20);
    CHECK_EQ_STR(buf, "1970-01-01T00:00:00Z");
    CHECK_EQ_INT(rfc3339_format_utc(1767508186, 123457, buf, sizeof buf), 27);
    CHECK_EQ_STR(buf, "2026-01-04T06:29:46.123457Z");
    CHECK_EQ_INT(rfc3339_format_utc(-1, 1, buf, sizeof buf), 27);
    CHECK_EQ_STR(buf, "1969-12-31T23:59:59.000001Z");
    CHECK_EQ_INT(rfc3339_format_utc(1709208000, 0, buf, sizeof buf), 20);
    CHECK_EQ_STR(buf, "2024-02-29T12:00:00Z");
    CHECK_EQ_INT(rfc3339_format_utc(-62135596800LL, 0, buf, sizeof buf), 20);
    CHECK_EQ_STR(buf, "0001-01-01T00:00:00Z");
    CHECK_EQ_INT(rfc3339_format_utc(253402300799LL, 999999, buf, sizeof buf), 27);
    CHECK_EQ_STR(buf, "9999-12-31T23:59:59.999999Z");
}

TEST(format_refuses)
{
    char buf[64];
    CHECK_EQ_INT(rfc3339_format_utc(-62135596801LL, 0, buf, sizeof buf), -1); /* year 0 */
    CHECK_EQ_INT(rfc3339_format_utc(253402300800LL, 0, buf, sizeof buf), -1); /* year 10000 */
    CHECK_EQ_INT(rfc3339_format_utc(INT64_MIN, 0, buf, sizeof buf), -1);
    CHECK_EQ_INT(rfc3339_format_utc(INT64_MAX, 0, buf, sizeof buf), -1);
    CHECK_EQ_INT(rfc3339_format_utc(0, -1, buf, sizeof buf), -1);
    CHECK_EQ_INT(rfc3339_format_utc(0, 1000000, buf, sizeof buf), -1);
    CHECK_EQ_INT(rfc3339_format_utc(0, 0, buf, 20), -1); /* no room for the NUL */
    CHECK_EQ_INT(rfc3339_format_utc(0, 0, buf, 21), 20);
    CHECK_EQ_INT(rfc3339_format_utc(0, 5, buf, 27), -1);
    CHECK_EQ_INT(rfc3339_format_utc(0, 5, buf, 28), 27);
    CHECK_EQ_INT(rfc3339_format_utc(0, 0, NULL, 0), -1);
}

TEST(round_trip_table)
{
    /* parse -> format -> parse gives the same instant for every valid case */
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        char buf[32];
        int64_t secs = 0;
        int32_t usec = 0;
        int n = rfc3339_format_utc(valid[i].secs, valid[i].usec, buf, sizeof buf);
        CHECK(n > 0);
        CHECK_EQ_INT(rfc3339_parse(buf, (size_t)n, &secs, &usec, NULL), 0);
        CHECK_EQ_INT(secs, valid[i].secs);
        CHECK_EQ_INT(usec, valid[i].usec);
    }
}

TEST(round_trip_every_day)
{
    /* Walk every day from year 1 to 9999 at a varying time of day: format,
     * parse back (the parser validates each date), and check the dates only
     * go forward. 3652059 steps over exactly 3652059 valid dates, starting
     * at 0001-01-01 and ending at 9999-12-31, means none was skipped. */
    const int64_t first = -62135596800LL, last = 253402300799LL;
    int failures = 0;
    long steps = 0;
    char prev[32] = "";
    for (int64_t day = first; day <= last && failures < 5; day += 86400) {
        int64_t t = day + (day / 86400 % 86400 + 86400) % 86400;
        char buf[32];
        int n = rfc3339_format_utc(t, 0, buf, sizeof buf);
        int64_t back = 0;
        if (n != 20 || rfc3339_parse(buf, (size_t)n, &back, NULL, NULL) != 0 || back != t) {
            fprintf(stderr, "  round trip failed at %lld (%s)\n", (long long)t, buf);
            failures++;
        }
        if (prev[0] != '\0' && strncmp(prev, buf, 10) >= 0) {
            fprintf(stderr, "  dates not increasing: %s then %s\n", prev, buf);
            failures++;
        }
        if (steps == 0)
            CHECK(strncmp(buf, "0001-01-01", 10) == 0);
        memcpy(prev, buf, sizeof prev);
        steps++;
    }
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(steps, 3652059);
    CHECK(strncmp(prev, "9999-12-31", 10) == 0);
}

int main(void)
{
    RUN(valid_inputs);
    RUN(invalid_inputs);
    RUN(length_is_respected);
    RUN(format_known_values);
    RUN(format_refuses);
    RUN(round_trip_table);
    RUN(round_trip_every_day);
    return ctest_summary();
}
