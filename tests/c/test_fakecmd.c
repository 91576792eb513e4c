/*
 * test_fakecmd.c - the recording fake hook command (tests/helpers/fakecmd.c)
 * keeps the contract the integration tests rely on. Runs $B/fakecmd
 * (B = the build directory; ./build when unset) through spawn_capture.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctest.h"
#include "spawn_capture.h"
#include "testutil.h"

static char dir[PATH_MAX], bindir[PATH_MAX], env_dir[PATH_MAX + 16];

static void put(const char *rel, const char *text, mode_t mode)
{
    char path[PATH_MAX];
    pathf(path, "%s/%s", dir, rel);
    CHECK(write_text(path, text, mode) == 0);
    chmod(path, mode);
}

/* Content of dir/rel, or NULL when missing; *len set. Caller frees. */
static char *get(const char *rel, size_t *len)
{
    char path[PATH_MAX];
    pathf(path, "%s/%s", dir, rel);
    return read_file(path, len);
}

static int run_cmd(const char *name, const char *const args[], const char *in, size_t in_len,
                   outcome *o)
{
    char cmd[PATH_MAX];
    pathf(cmd, "%s/%s", bindir, name);
    const char *argv[16] = {cmd};
    size_t i = 0;
    for (; args != NULL && args[i] != NULL; i++)
        argv[1 + i] = args[i];
    argv[1 + i] = NULL;
    const char *envp[] = {env_dir, NULL};
    memset(o, 0, sizeof *o);
    return spawn_capture(argv, envp, in, in_len, o);
}

static int setup(void)
{
    char link[PATH_MAX];
    const char *abs_fake = fakecmd_path();
    if (abs_fake == NULL || make_tmpdir(dir, sizeof dir, "test_fakecmd") != 0)
        return -1;
    pathf(bindir, "%s/bin", dir);
    mkdir(bindir, 0755);
    pathf(link, "%s/responses", dir);
    mkdir(link, 0755);
    static const char *const names[] = {"config-get", "relation-set", "secret-add", "is-leader"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pathf(link, "%s/%s", bindir, names[i]);
        if (symlink(abs_fake, link) != 0)
            return -1;
    }
    snprintf(env_dir, sizeof env_dir, "FAKE_HOOK_DIR=%s", dir);
    return 0;
}

TEST(needs_fake_hook_dir)
{
    char cmd[PATH_MAX];
    pathf(cmd, "%s/config-get", bindir);
    const char *argv[] = {cmd, NULL};
    const char *envp[] = {"OTHER=1", NULL};
    outcome o = {0};
    CHECK_EQ_INT(spawn_capture(argv, envp, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 99);
    CHECK_EQ_STR(o.err.data, "fakecmd: FAKE_HOOK_DIR not set\n");
    outcome_free(&o);
}

TEST(records_and_answers)
{
    put("responses/config-get.stdout", "{\"a\": 1}\n", 0644);
    put("responses/config-get.2.stdout", "second\n", 0644);
    put("responses/config-get.2.stderr", "ERROR boom\n", 0644);
    put("responses/config-get.2.exit", "2\n", 0644);

    const char *a1[] = {"--format=json", "with space", "", NULL};
    outcome o;
    CHECK_EQ_INT(run_cmd("config-get", a1, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.out.data, "{\"a\": 1}\n");
    CHECK_EQ_INT(o.err.len, 0);
    outcome_free(&o);

    const char *a2[] = {"key", NULL};
    CHECK_EQ_INT(run_cmd("config-get", a2, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.code, 2);
    CHECK_EQ_STR(o.out.data, "second\n");
    CHECK_EQ_STR(o.err.data, "ERROR boom\n");
    outcome_free(&o);

    /* another command in between: global N moves on, its own K starts at 1 */
    put("responses/relation-set.echo", "", 0644);
    const char *a3[] = {"--file", "-", NULL};
    CHECK_EQ_INT(run_cmd("relation-set", a3, "{\"k\": \"v\"}", 10, &o), 0);
    CHECK_EQ_STR(o.out.data, "{\"k\": \"v\"}");
    outcome_free(&o);

    CHECK_EQ_INT(run_cmd("config-get", NULL, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.code, 0); /* third config-get: back to the general answer */
    CHECK_EQ_STR(o.out.data, "{\"a\": 1}\n");
    outcome_free(&o);

    size_t n = 0;
    char *p = get("calls/000001.argv", &n);
    CHECK_EQ_MEM(p, n, "config-get\0--format=json\0with space\0\0", 37);
    free(p);
    p = get("calls/000001.stdin", &n);
    CHECK(p == NULL); /* /dev/null: not fed */
    p = get("calls/000001.fds", &n);
    CHECK_EQ_STR(p, "0 1 2\n");
    free(p);
    p = get("calls/000003.argv", &n);
    CHECK_EQ_MEM(p, n, "relation-set\0--file\0-\0", 22);
    free(p);
    p = get("calls/000003.stdin", &n);
    CHECK_EQ_MEM(p, n, "{\"k\": \"v\"}", 10);
    free(p);
    p = get("calls/counter", &n);
    CHECK(p != NULL && atoi(p) == 4);
    free(p);
    p = get("calls/config-get.count", &n);
    CHECK(p != NULL && atoi(p) == 3);
    free(p);
    p = get("calls/relation-set.count", &n);
    CHECK(p != NULL && atoi(p) == 1);
    free(p);
}

TEST(secret_files)
{
    char secret_dir[PATH_MAX], arg1[PATH_MAX], arg2[PATH_MAX];
    pathf(secret_dir, "%s/s", dir);
    mkdir(secret_dir, 0700);
    chmod(secret_dir, 0700);
    put("s/password", "hunter2\n", 0600);
    pathf(arg1, "password#file=%s/s/password", dir);
    pathf(arg2, "gone#file=%s/s/nope", dir);
    const char *args[] = {"--label", "x", arg1, arg2, "plain=value", NULL};
    outcome o;
    CHECK_EQ_INT(run_cmd("secret-add", args, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.code, 0);
    outcome_free(&o);
    size_t n = 0;
    char *p = get("calls/000005.secret.password", &n);
    CHECK_EQ_STR(p, "hunter2\n");
    free(p);
    p = get("calls/000005.secret.password.info", &n);
    CHECK_EQ_STR(p, "file=0600 dir=0700 abs=1\n");
    free(p);
    p = get("calls/000005.secret.gone.info", &n);
    CHECK_EQ_STR(p, "missing\n");
    free(p);
    p = get("calls/000005.secret.gone", &n);
    CHECK(p == NULL);
}

TEST(dies_by_signal)
{
    put("responses/is-leader.stdout", "true\n", 0644);
    put("responses/is-leader.1.signal", "15\n", 0644);
    outcome o;
    CHECK_EQ_INT(run_cmd("is-leader", NULL, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_SIGNALED);
    CHECK_EQ_INT(o.code, SIGTERM);
    CHECK_EQ_STR(o.out.data, "true\n"); /* output first, then the signal */
    outcome_free(&o);
    CHECK_EQ_INT(run_cmd("is-leader", NULL, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    outcome_free(&o);
}

int main(void)
{
    if (setup() != 0) {
        fprintf(stderr, "FAIL setup: %s\n", strerror(errno));
        return 1;
    }
    RUN(needs_fake_hook_dir);
    RUN(records_and_answers);
    RUN(secret_files);
    RUN(dies_by_signal);
    remove_tree(dir);
    return ctest_summary();
}
