/*
 * test_unixaddr.c - unix socket addresses at their limits: a path up to
 * sun_path's size less its NUL, an abstract name ("@x") up to sun_path's
 * size with its leading NUL and no NUL after, nothing for empty input.
 */
#include <stddef.h>
#include <string.h>

#include "ctest.h"
#include "unixaddr.h"

#define SUN_PATH_SIZE (sizeof ((struct sockaddr_un *)0)->sun_path)

TEST(a_path_keeps_its_nul_up_to_the_limit)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    char path[SUN_PATH_SIZE + 1];
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[SUN_PATH_SIZE - 1] = '\0';  /* the longest: 107 bytes and the NUL */
    CHECK_EQ_INT(unixaddr_make(path, &sa, &len), UNIXADDR_OK);
    CHECK_EQ_INT(sa.sun_family, AF_UNIX);
    CHECK_EQ_INT(len, offsetof(struct sockaddr_un, sun_path) + SUN_PATH_SIZE);
    CHECK_EQ_STR(sa.sun_path, path);
    path[SUN_PATH_SIZE - 1] = 'p';
    path[SUN_PATH_SIZE] = '\0';      /* one more: no room for the NUL */
    CHECK_EQ_INT(unixaddr_make(path, &sa, &len), UNIXADDR_TOO_LONG);
}

TEST(an_abstract_name_is_a_leading_nul_and_exactly_its_bytes)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    CHECK_EQ_INT(unixaddr_make("@juju-agent", &sa, &len), UNIXADDR_OK);
    CHECK_EQ_INT(len, offsetof(struct sockaddr_un, sun_path) + strlen("@juju-agent"));
    CHECK(sa.sun_path[0] == '\0');
    CHECK_EQ_MEM(sa.sun_path + 1, 10, "juju-agent", 10);
    char name[SUN_PATH_SIZE + 2];
    memset(name, 'n', sizeof name);
    name[0] = '@';
    name[SUN_PATH_SIZE] = '\0';      /* '@' and 107 bytes: fills sun_path */
    CHECK_EQ_INT(unixaddr_make(name, &sa, &len), UNIXADDR_OK);
    name[SUN_PATH_SIZE] = 'n';
    name[SUN_PATH_SIZE + 1] = '\0';
    CHECK_EQ_INT(unixaddr_make(name, &sa, &len), UNIXADDR_TOO_LONG);
}

TEST(nothing_is_no_address)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    CHECK_EQ_INT(unixaddr_make(NULL, &sa, &len), UNIXADDR_EMPTY);
    CHECK_EQ_INT(unixaddr_make("", &sa, &len), UNIXADDR_EMPTY);
}

int main(void)
{
    RUN(a_path_keeps_its_nul_up_to_the_limit);
    RUN(an_abstract_name_is_a_leading_nul_and_exactly_its_bytes);
    RUN(nothing_is_no_address);
    return ctest_summary();
}
