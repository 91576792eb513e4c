/*
 * ctest.h - the smallest useful C test harness for the pure C parts.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_EQ_MEM(p, n, q, m); }
 *   int main(void) { RUN(name); return ctest_summary(); }
 *
 * Prints one line per failed check and a closing "N passed, N failed" line.
 */
#ifndef CTEST_H
#define CTEST_H

#include <stdio.h>
#include <string.h>

static int ctest_passed, ctest_failed, ctest_current_failed;
static const char *ctest_name;

#define TEST(name) static void name(void)

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "FAIL %s (%s:%d): %s\n", ctest_name, __FILE__, __LINE__, #cond); \
        ctest_current_failed = 1; \
    } } while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long ctest_a = (long long)(a), ctest_b = (long long)(b); \
    if (ctest_a != ctest_b) { \
        fprintf(stderr, "FAIL %s (%s:%d): %s == %s (%lld != %lld)\n", ctest_name, \
                __FILE__, __LINE__, #a, #b, ctest_a, ctest_b); \
        ctest_current_failed = 1; \
    } } while (0)

#define CHECK_EQ_STR(a, b) do { \
    const char *ctest_a = (a), *ctest_b = (b); \
    if (ctest_a == NULL || ctest_b == NULL || strcmp(ctest_a, ctest_b) != 0) { \
        fprintf(stderr, "FAIL %s (%s:%d): %s == %s (\"%s\" != \"%s\")\n", ctest_name, \
                __FILE__, __LINE__, #a, #b, ctest_a ? ctest_a : "(null)", \
                ctest_b ? ctest_b : "(null)"); \
        ctest_current_failed = 1; \
    } } while (0)

#define CHECK_EQ_MEM(p, n, q, m) do { \
    size_t ctest_n = (size_t)(n), ctest_m = (size_t)(m); \
    if (ctest_n != ctest_m || memcmp((p), (q), ctest_n) != 0) { \
        fprintf(stderr, "FAIL %s (%s:%d): %s[%zu] == %s[%zu]\n", ctest_name, \
                __FILE__, __LINE__, #p, ctest_n, #q, ctest_m); \
        ctest_current_failed = 1; \
    } } while (0)

#define RUN(name) do { \
    ctest_name = #name; ctest_current_failed = 0; name(); \
    if (ctest_current_failed) ctest_failed++; else ctest_passed++; \
    } while (0)

static inline int ctest_summary(void)
{
    printf("%d passed, %d failed\n", ctest_passed, ctest_failed);
    return ctest_failed ? 1 : 0;
}

#endif
