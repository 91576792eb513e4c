/*
 * test_spawn.c - spawn_capture against real processes and pipes.
 *
 * /bin/sh is used only as the child under test. The recording fake hook
 * command is $B/fakecmd (B = the build directory; ./build when B is unset).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "spawn_capture.h"
#include "testutil.h"

#define MiB (1024 * 1024)

/* ------------------------------------------------------------ helpers */

static int run(const char *const argv[], const char *in, size_t in_len, outcome *o)
{
    memset(o, 0, sizeof *o);
    return spawn_capture(argv, NULL, in, in_len, o);
}

/* Bytes that differ from position to position (and between seeds), so a
 * lost, doubled or swapped chunk shows up in a byte-exact compare. */
static char *pattern(size_t n, unsigned seed)
{
    char *p = malloc(n);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; p != NULL && i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)(x >> 16);
    }
    return p;
}

/* A fake hook directory: dir/bin/<name> -> fakecmd, dir/responses/. */
static int fake_hook_dir(char *dir, size_t size, const char *name, char *cmd, size_t cmd_size)
{
    const char *fake = fakecmd_path();
    char sub[PATH_MAX];
    if (fake == NULL || make_tmpdir(dir, size, "test_spawn") != 0)
        return -1;
    pathf(sub, "%s/bin", dir);
    if (mkdir(sub, 0755) != 0)
        return -1;
    pathf(sub, "%s/responses", dir);
    if (mkdir(sub, 0755) != 0)
        return -1;
    snprintf(cmd, cmd_size, "%s/bin/%s", dir, name);
    return symlink(fake, cmd);
}

/* The hex mask after "<field>:" in /proc status text; -1 when absent. */
static long long status_mask(const char *status, const char *field)
{
    const char *p = status;
    size_t n = strlen(field);
    while (p != NULL && *p) {
        if (strncmp(p, field, n) == 0 && p[n] == ':')
            return strtoll(p + n + 1, NULL, 16);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

/* ------------------------------------------------------------ tests */

TEST(a_bytebuf_is_nul_terminated_from_its_first_allocation)
{
    /* outcome.h's promise, kept by bytebuf itself: a reader that got
     * nothing still holds an empty C string */
    bytebuf b = {0};
    CHECK(bytebuf_reserve(&b, 100) == 0);
    CHECK(b.data != NULL && b.len == 0 && b.data[0] == '\0');
    CHECK(bytebuf_append(&b, "abc", 3) == 0);
    CHECK(strcmp(b.data, "abc") == 0);
    CHECK(bytebuf_reserve(&b, 10000) == 0);
    CHECK(strcmp(b.data, "abc") == 0);
    bytebuf_free(&b);
    CHECK(b.data == NULL && b.len == 0);
}

TEST(exit_codes)
{
    static const char *const codes[] = {"0", "1", "3", "42", "127", "255"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char script[32];
        snprintf(script, sizeof script, "exit %s", codes[i]);
        const char *argv[] = {"/bin/sh", "-c", script, NULL};
        outcome o;
        CHECK_EQ_INT(run(argv, NULL, 0, &o), 0);
        CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
        CHECK_EQ_INT(o.code, atoi(codes[i]));
        CHECK_EQ_INT(o.out.len, 0);
        CHECK_EQ_INT(o.err.len, 0);
        outcome_free(&o);
    }
}

TEST(output_captured_exactly)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "printf 'out\\nline2'; printf 'err\\000x\\n' >&2; exit 2", NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 2);
    CHECK_EQ_MEM(o.out.data, o.out.len, "out\nline2", 9);
    CHECK_EQ_MEM(o.err.data, o.err.len, "err\0x\n", 6);
    CHECK(o.out.data != NULL && o.out.data[o.out.len] == '\0');
    outcome_free(&o);
}

/* Two writers at once: a parent that reads one pipe to EOF before the
 * other would deadlock with both children blocked on a full pipe. */
TEST(eight_mib_on_stdout_and_stderr_at_once)
{
    char dir[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_spawn") == 0);
    pathf(a, "%s/a", dir);
    pathf(b, "%s/b", dir);
    char *pa = pattern(8 * MiB, 1), *pb = pattern(8 * MiB, 2);
    CHECK(pa != NULL && pb != NULL);
    CHECK(write_file(a, pa, 8 * MiB, 0600) == 0);
    CHECK(write_file(b, pb, 8 * MiB, 0600) == 0);
    const char *argv[] = {"/bin/sh", "-c", "cat \"$1\" & cat \"$2\" >&2; wait", "sh", a, b,
                          NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_MEM(o.out.data, o.out.len, pa, 8 * MiB);
    CHECK_EQ_MEM(o.err.data, o.err.len, pb, 8 * MiB);
    outcome_free(&o);
    free(pa);
    free(pb);
    remove_tree(dir);
}

/* fakecmd writes 64 KiB of stdout, then 64 KiB of stderr, ... while we
 * also feed it 4 MiB that it echoes back after its stdout. */
TEST(fakecmd_eight_mib_each_way_with_four_mib_stdin)
{
    char dir[PATH_MAX], cmd[PATH_MAX], path[PATH_MAX], env_dir[PATH_MAX + 16];
    if (fake_hook_dir(dir, sizeof dir, "big-answer", cmd, sizeof cmd) != 0) {
        CHECK(!"fake hook dir");
        return;
    }
    char *pa = pattern(8 * MiB, 3), *pb = pattern(8 * MiB, 4), *pin = pattern(4 * MiB, 5);
    CHECK(pa != NULL && pb != NULL && pin != NULL);
    pathf(path, "%s/responses/big-answer.stdout", dir);
    CHECK(write_file(path, pa, 8 * MiB, 0644) == 0);
    pathf(path, "%s/responses/big-answer.stderr", dir);
    CHECK(write_file(path, pb, 8 * MiB, 0644) == 0);
    pathf(path, "%s/responses/big-answer.echo", dir);
    CHECK(write_file(path, "", 0, 0644) == 0);
    pathf(path, "%s/responses/big-answer.exit", dir);
    CHECK(write_file(path, "5\n", 2, 0644) == 0);

    snprintf(env_dir, sizeof env_dir, "FAKE_HOOK_DIR=%s", dir);
    const char *envp[] = {env_dir, NULL};
    const char *argv[] = {cmd, "--format=json", NULL};
    outcome o;
    memset(&o, 0, sizeof o);
    CHECK_EQ_INT(spawn_capture(argv, envp, pin, 4 * MiB, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 5);
    CHECK_EQ_INT(o.out.len, 12 * MiB);
    CHECK_EQ_MEM(o.out.data, 8 * MiB, pa, 8 * MiB);
    CHECK(o.out.len == 12 * MiB && memcmp(o.out.data + 8 * MiB, pin, 4 * MiB) == 0);
    CHECK_EQ_MEM(o.err.data, o.err.len, pb, 8 * MiB);
    outcome_free(&o);

    /* What fakecmd recorded: argv and the exact stdin. */
    size_t n = 0;
    pathf(path, "%s/calls/000001.argv", dir);
    char *rec = read_file(path, &n);
    CHECK_EQ_MEM(rec, n, "big-answer\0--format=json\0", 25);
    free(rec);
    pathf(path, "%s/calls/000001.stdin", dir);
    rec = read_file(path, &n);
    CHECK_EQ_MEM(rec, n, pin, 4 * MiB);
    free(rec);

    free(pa);
    free(pb);
    free(pin);
    remove_tree(dir);
}

TEST(four_mib_stdin_echoed_by_cat)
{
    char *in = pattern(4 * MiB, 6);
    const char *argv[] = {"cat", NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, in, 4 * MiB, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_MEM(o.out.data, o.out.len, in, 4 * MiB);
    CHECK_EQ_INT(o.err.len, 0);
    outcome_free(&o);
    free(in);
}

TEST(empty_stdin_is_a_pipe_at_eof)
{
    const char *argv[] = {"/bin/sh", "-c", "readlink /proc/self/fd/0; cat; echo end", NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, "", 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK(o.out.data != NULL && strncmp(o.out.data, "pipe:[", 6) == 0);
    CHECK(o.out.data != NULL && strstr(o.out.data, "]\nend\n") != NULL);
    outcome_free(&o);
}

/* The child exits (or stops reading) with most of 4 MiB still unwritten:
 * we must neither die of SIGPIPE (this test process has SIGPIPE at its
 * default, fatal disposition) nor leave one pending, blocked or ignored. */
TEST(child_not_reading_stdin)
{
    char *in = pattern(4 * MiB, 7);
    struct sigaction before;
    sigset_t mask_before, mask_after, pending;
    sigaction(SIGPIPE, NULL, &before);
    CHECK(before.sa_handler == SIG_DFL);
    pthread_sigmask(SIG_SETMASK, NULL, &mask_before);

    for (int round = 0; round < 20; round++) {
        const char *quits[] = {"/bin/sh", "-c", "exit 7", NULL};
        outcome o;
        CHECK_EQ_INT(run(quits, in, 4 * MiB, &o), 0);
        CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
        CHECK_EQ_INT(o.code, 7);
        outcome_free(&o);

        const char *reads_some[] = {"head", "-c", "100000", NULL};
        CHECK_EQ_INT(run(reads_some, in, 4 * MiB, &o), 0);
        CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
        CHECK_EQ_INT(o.code, 0);
        CHECK_EQ_MEM(o.out.data, o.out.len, in, 100000);
        outcome_free(&o);

        const char *closes[] = {"/bin/sh", "-c", "exec 0<&-; echo closed", NULL};
        CHECK_EQ_INT(run(closes, in, 4 * MiB, &o), 0);
        CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
        CHECK_EQ_MEM(o.out.data, o.out.len, "closed\n", 7);
        outcome_free(&o);
    }

    struct sigaction after;
    sigaction(SIGPIPE, NULL, &after);
    CHECK(after.sa_handler == SIG_DFL);
    pthread_sigmask(SIG_SETMASK, NULL, &mask_after);
    CHECK_EQ_INT(sigismember(&mask_after, SIGPIPE), sigismember(&mask_before, SIGPIPE));
    CHECK_EQ_INT(sigismember(&mask_after, SIGPIPE), 0);
    sigpending(&pending);
    CHECK_EQ_INT(sigismember(&pending, SIGPIPE), 0);
    free(in);
}

/* A SIGPIPE the host already had pending (blocked) is not ours to eat. */
TEST(foreign_pending_sigpipe_is_kept)
{
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    raise(SIGPIPE);
    char *in = pattern(MiB, 8);
    const char *argv[] = {"/bin/sh", "-c", "exit 0", NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, in, MiB, &o), 0);
    outcome_free(&o);
    sigpending(&pending);
    CHECK_EQ_INT(sigismember(&pending, SIGPIPE), 1);
    int sig = 0;
    CHECK_EQ_INT(sigwait(&pipe_only, &sig), 0);
    CHECK_EQ_INT(sig, SIGPIPE);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(in);
}

TEST(killed_by_signal)
{
    const char *nine[] = {"/bin/sh", "-c", "printf partial; kill -9 $$", NULL};
    outcome o;
    CHECK_EQ_INT(run(nine, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_SIGNALED);
    CHECK_EQ_INT(o.code, SIGKILL);
    CHECK_EQ_MEM(o.out.data, o.out.len, "partial", 7);
    outcome_free(&o);

    const char *term[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    CHECK_EQ_INT(run(term, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_SIGNALED);
    CHECK_EQ_INT(o.code, SIGTERM);
    outcome_free(&o);
}

TEST(missing_program_not_started)
{
    const char *name = "no-such-hook-tool-for-dispatch";
    const char *argv[] = {name, "--format=json", NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, "ignored", 7, &o), -1);
    CHECK_EQ_INT(o.kind, OUTCOME_NOT_STARTED);
    CHECK_EQ_INT(o.code, ENOENT);
    CHECK(strstr(o.message, name) != NULL);
    CHECK(strstr(o.message, strerror(ENOENT)) != NULL);
    CHECK_EQ_INT(o.out.len, 0);
    CHECK_EQ_INT(o.err.len, 0);
    outcome_free(&o);

    const char *abs_missing[] = {"/nonexistent-dir/config-get", NULL};
    CHECK_EQ_INT(run(abs_missing, NULL, 0, &o), -1);
    CHECK_EQ_INT(o.kind, OUTCOME_NOT_STARTED);
    CHECK_EQ_INT(o.code, ENOENT);
    CHECK_EQ_STR(o.message, "cannot run /nonexistent-dir/config-get: No such file or directory");
    outcome_free(&o);

    const char *none[] = {NULL};
    CHECK_EQ_INT(run(none, NULL, 0, &o), -1);
    CHECK_EQ_INT(o.kind, OUTCOME_NOT_STARTED);
    CHECK_EQ_INT(o.code, EINVAL);
    outcome_free(&o);
}

/* With SIGCHLD ignored (or SA_NOCLDWAIT) the kernel reaps children itself
 * and their status is lost: spawn_capture refuses before anything runs. */
static void refused_with_sigchld(const struct sigaction *sa, const char *what)
{
    char dir[PATH_MAX], file[PATH_MAX], script[PATH_MAX + 16];
    CHECK(make_tmpdir(dir, sizeof dir, "test_spawn") == 0);
    pathf(file, "%s/ran", dir);
    snprintf(script, sizeof script, "touch '%s'", file);
    const char *argv[] = {"sh", "-c", script, NULL};

    struct sigaction old;
    CHECK_EQ_INT(sigaction(SIGCHLD, sa, &old), 0);
    outcome o;
    int rc = run(argv, NULL, 0, &o);
    CHECK_EQ_INT(sigaction(SIGCHLD, &old, NULL), 0);

    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(o.kind, OUTCOME_NOT_STARTED);
    CHECK_EQ_INT(o.code, ECHILD);
    CHECK(strstr(o.message, "SIGCHLD") != NULL);
    CHECK(strstr(o.message, "sh") != NULL);
    CHECK_EQ_INT(o.out.len, 0);
    CHECK_EQ_INT(o.err.len, 0);
    if (rc != -1 || strstr(o.message, "SIGCHLD") == NULL)
        fprintf(stderr, "  %s: rc %d, kind %d, message \"%s\"\n", what, rc, (int)o.kind,
                o.message);
    outcome_free(&o);
    /* it did not run: nothing was touched (give a stray child a moment) */
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK(access(file, F_OK) != 0 && errno == ENOENT);

    /* and with the disposition back, the same command runs */
    struct sigaction now;
    CHECK_EQ_INT(sigaction(SIGCHLD, NULL, &now), 0);
    CHECK(now.sa_handler == old.sa_handler && (now.sa_flags & SA_NOCLDWAIT) == 0);
    CHECK_EQ_INT(run(argv, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    CHECK(access(file, F_OK) == 0);
    outcome_free(&o);
    remove_tree(dir);
}

TEST(sigchld_ignored_refused)
{
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    refused_with_sigchld(&ign, "SIG_IGN");
}

TEST(sigchld_nocldwait_refused)
{
    struct sigaction nowait = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};
    sigemptyset(&nowait.sa_mask);
    refused_with_sigchld(&nowait, "SA_NOCLDWAIT");
}

TEST(not_executable_not_started)
{
    char dir[PATH_MAX], path[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_spawn") == 0);
    pathf(path, "%s/plain-file", dir);
    CHECK(write_file(path, "#!/bin/sh\necho hi\n", 18, 0644) == 0);
    const char *argv[] = {path, NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, NULL, 0, &o), -1);
    CHECK_EQ_INT(o.kind, OUTCOME_NOT_STARTED);
    CHECK_EQ_INT(o.code, EACCES);
    CHECK(strstr(o.message, "plain-file") != NULL);
    outcome_free(&o);
    remove_tree(dir);
}

TEST(arguments_arrive_verbatim)
{
    static const char *const args[] = {
        "with space", "quote\"s and 'single'", "new\nline", "$(echo injected)", "`id`",
        "-n", "--flag=x", "", "back\\slash", "*", "tab\there", "; rm -rf /", "$HOME",
        "\xc3\xa9t\xc3\xa9",
    };
    size_t nargs = sizeof args / sizeof args[0];
    const char *argv[32] = {"/bin/sh", "-c", "printf '%s\\0' \"$@\"", "sh"};
    bytebuf want = {0};
    for (size_t i = 0; i < nargs; i++) {
        argv[4 + i] = args[i];
        CHECK(bytebuf_append(&want, args[i], strlen(args[i]) + 1) == 0);
    }
    argv[4 + nargs] = NULL;
    outcome o;
    CHECK_EQ_INT(run(argv, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_MEM(o.out.data, o.out.len, want.data, want.len);
    outcome_free(&o);
    bytebuf_free(&want);
}

TEST(environment_passed)
{
    const char *envp[] = {"FOO=bar baz", "EMPTY=", NULL};
    const char *argv[] = {"/bin/sh", "-c", "printf '%s|%s|%s' \"$FOO\" \"${EMPTY-unset}\" "
                                           "\"${SPAWN_TEST_MARK-unset}\"", NULL};
    outcome o;
    memset(&o, 0, sizeof o);
    setenv("SPAWN_TEST_MARK", "inherited", 1);
    CHECK_EQ_INT(spawn_capture(argv, envp, NULL, 0, &o), 0);
    CHECK_EQ_STR(o.out.data, "bar baz||unset");
    outcome_free(&o);
    /* envp NULL: the caller's environment */
    CHECK_EQ_INT(spawn_capture(argv, NULL, NULL, 0, &o), 0);
    CHECK_EQ_STR(o.out.data, "|unset|inherited");
    outcome_free(&o);
    unsetenv("SPAWN_TEST_MARK");
}

TEST(stdin_is_dev_null_when_not_fed)
{
    const char *argv[] = {"readlink", "/proc/self/fd/0", NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, NULL, 0, &o), 0);
    CHECK_EQ_STR(o.out.data, "/dev/null\n");
    outcome_free(&o);
    /* and a reader sees EOF at once instead of our stdin */
    const char *cat[] = {"cat", NULL};
    CHECK_EQ_INT(run(cat, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_INT(o.out.len, 0);
    outcome_free(&o);
}

TEST(child_gets_default_signals_and_empty_mask)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe, old_usr2;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    sigaction(SIGUSR2, &ign, &old_usr2);
    sigset_t usr1, old_mask, now;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);

    /* Control: our own status shows what the child must not inherit, so
     * the parsing below can see it. */
    size_t n = 0;
    char *self = read_file("/proc/self/status", &n);
    long long bit = 1LL << (SIGPIPE - 1);
    CHECK(self != NULL && (status_mask(self, "SigIgn") & bit) == bit);
    CHECK(self != NULL && (status_mask(self, "SigBlk") & (1LL << (SIGUSR1 - 1))) != 0);
    free(self);

    /* glibc keeps signals 32..SIGRTMIN-1 for itself (thread cancellation,
     * setxid); its posix_spawn sets them to SIG_IGN in the child and they
     * are not in any sigset an application can build, so they are the one
     * thing SETSIGDEF cannot reset. Every signal a program can use must be
     * at its default. */
    long long glibc_internal = 0;
    for (int sig = 32; sig < SIGRTMIN; sig++)
        glibc_internal |= 1LL << (sig - 1);
    const char *direct[] = {"cat", "/proc/self/status", NULL};
    /* Through sh with the exec builtin: what sh was given passes on to cat
     * unchanged. (Reading /proc/$$/status of a sh that forks is racy: dash
     * blocks every signal around its own vfork.) */
    const char *via_sh[] = {"/bin/sh", "-c", "exec cat /proc/self/status", NULL};
    const char *const *cases[] = {direct, via_sh};
    for (int i = 0; i < 2; i++) {
        outcome o;
        CHECK_EQ_INT(run(cases[i], i ? "fed" : NULL, 3, &o), 0);
        CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
        CHECK_EQ_INT(status_mask(o.out.data, "SigIgn") & ~glibc_internal, 0);
        CHECK_EQ_INT(status_mask(o.out.data, "SigBlk"), 0);
        outcome_free(&o);
    }

    /* and our own dispositions and mask are untouched */
    struct sigaction cur;
    sigaction(SIGPIPE, NULL, &cur);
    CHECK(cur.sa_handler == SIG_IGN);
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    CHECK_EQ_INT(sigismember(&now, SIGUSR1), 1);
    CHECK_EQ_INT(sigismember(&now, SIGPIPE), 0);

    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGUSR2, &old_usr2, NULL);
}

/* Lua's io.open leaves CLOEXEC off; such fds must not reach hook tools. */
TEST(leaked_fd_not_inherited)
{
    int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    CHECK(fd >= 0);
    CHECK(dup2(fd, 40) == 40);
    close(fd);
    CHECK_EQ_INT(fcntl(40, F_GETFD) & FD_CLOEXEC, 0);

    const char *argv[] = {"/bin/sh", "-c",
                          "if [ -e /proc/$$/fd/40 ]; then echo leaked; else echo clean; fi", NULL};
    outcome o;
    CHECK_EQ_INT(run(argv, NULL, 0, &o), 0);
    CHECK_EQ_STR(o.out.data, "clean\n");
    outcome_free(&o);

    /* fakecmd lists exactly what it was started with */
    char dir[PATH_MAX], cmd[PATH_MAX], env_dir[PATH_MAX + 16], path[PATH_MAX];
    if (fake_hook_dir(dir, sizeof dir, "is-leader", cmd, sizeof cmd) != 0) {
        CHECK(!"fake hook dir");
        close(40);
        return;
    }
    snprintf(env_dir, sizeof env_dir, "FAKE_HOOK_DIR=%s", dir);
    const char *envp[] = {env_dir, NULL};
    const char *fake[] = {cmd, NULL};
    memset(&o, 0, sizeof o);
    CHECK_EQ_INT(spawn_capture(fake, envp, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    outcome_free(&o);
    size_t n = 0;
    pathf(path, "%s/calls/000001.fds", dir);
    char *fds = read_file(path, &n);
    CHECK_EQ_STR(fds, "0 1 2\n");
    free(fds);
    pathf(path, "%s/calls/000001.stdin", dir);
    CHECK(access(path, F_OK) != 0); /* /dev/null counts as not fed */
    remove_tree(dir);
    close(40);
}

/* With 0, 1 and 2 closed, pipe2 hands out those numbers: the child's
 * stdio must still be wired right. */
TEST(host_with_closed_stdio)
{
    fflush(NULL);
    int saved[3];
    for (int i = 0; i < 3; i++)
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
    for (int i = 0; i < 3; i++)
        close(i);
    const char *argv[] = {"/bin/sh", "-c", "cat; echo err >&2; exit 4", NULL};
    outcome o;
    int r = run(argv, "in", 2, &o);
    for (int i = 0; i < 3; i++) {
        dup2(saved[i], i);
        close(saved[i]);
    }
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 4);
    CHECK_EQ_STR(o.out.data, "in");
    CHECK_EQ_STR(o.err.data, "err\n");
    outcome_free(&o);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* A busy timer signal without SA_RESTART makes poll, read, write and
 * waitpid fail with EINTR over and over; nothing may be lost. (Not faster
 * than 10 ms: under valgrind posix_spawn is a real fork of a big process,
 * and the kernel restarts a fork that a signal interrupts, forever.) */
TEST(eintr_everywhere)
{
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, &old);
    struct itimerval every = {{0, 10000}, {0, 10000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &every, NULL);

    char *in = pattern(4 * MiB, 9);
    /* The child closes its outputs and lingers, so we also sit in waitpid. */
    const char *argv[] = {"/bin/sh", "-c",
                          "cat; cat /proc/self/stat >&2; exec >&- 2>&-; sleep 0.2", NULL};
    outcome o;
    int r = run(argv, in, 4 * MiB, &o);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);

    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_MEM(o.out.data, o.out.len, in, 4 * MiB);
    CHECK(o.err.len > 0);
    printf("  (eintr_everywhere: %d timer signals during the run)\n", (int)alarms);
    outcome_free(&o);
    free(in);
}

TEST(thousand_runs_leave_nothing_behind)
{
    int before = count_fds();
    CHECK(before > 0);
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        outcome o;
        switch (i % 4) {
        case 0: {
            const char *argv[] = {"true", NULL};
            bad += run(argv, NULL, 0, &o) != 0 || o.kind != OUTCOME_EXITED || o.code != 0;
            break;
        }
        case 1: {
            const char *argv[] = {"cat", NULL};
            bad += run(argv, "abc", 3, &o) != 0 || o.out.len != 3;
            break;
        }
        case 2: {
            const char *argv[] = {"no-such-hook-tool-for-dispatch", NULL};
            bad += run(argv, "abc", 3, &o) != -1 || o.code != ENOENT;
            break;
        }
        default: {
            const char *argv[] = {"/bin/sh", "-c", "echo x >&2; kill -9 $$", NULL};
            bad += run(argv, NULL, 0, &o) != 0 || o.kind != OUTCOME_SIGNALED;
            break;
        }
        }
        outcome_free(&o);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(count_fds(), before);
    errno = 0;
    CHECK_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
    CHECK_EQ_INT(errno, ECHILD);
}

/* ------------------------------------------------------------ spawn_run:
 * working directory, environment and PATH, timeout */

/* The process group of the process whose /proc stat text this is. */
static long stat_pgrp(const char *stat)
{
    const char *paren = stat != NULL ? strrchr(stat, ')') : NULL;
    char state;
    long ppid, pgrp;
    if (paren == NULL || sscanf(paren + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3)
        return -1;
    return pgrp;
}

static int run_opts(const char *const argv[], const struct spawn_opts *opts, const char *in,
                    size_t in_len, outcome *o)
{
    memset(o, 0, sizeof *o);
    return spawn_run(argv, opts, in, in_len, o);
}

/* Is pid gone (or a zombie waiting for init)? Waits up to a second. */
static int process_gone(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(path, "re");
        if (f == NULL)
            return 1;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *paren = strrchr(buf, ')');
        if (paren != NULL && paren[1] == ' ' && paren[2] == 'Z')
            return 1;
        usleep(10000);
    }
    return 0;
}

TEST(run_null_opts_is_spawn_capture)
{
    const char *argv[] = {"/bin/sh", "-c", "cat; echo e >&2; exit 3", NULL};
    outcome o;
    CHECK_EQ_INT(run_opts(argv, NULL, "in", 2, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 3);
    CHECK_EQ_INT(o.timed_out, 0);
    CHECK_EQ_STR(o.out.data, "in");
    CHECK_EQ_STR(o.err.data, "e\n");
    outcome_free(&o);
}

TEST(run_in_working_directory)
{
    char dir[PATH_MAX], real[PATH_MAX], script[PATH_MAX], want[PATH_MAX + 1];
    CHECK(make_tmpdir(dir, sizeof dir, "test_spawn") == 0);
    CHECK(realpath(dir, real) != NULL);
    const struct spawn_opts opts = {.cwd = dir};
    const char *pwd[] = {"/bin/pwd", "-P", NULL};
    outcome o;
    CHECK_EQ_INT(run_opts(pwd, &opts, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    snprintf(want, sizeof want, "%s\n", real);
    CHECK_EQ_STR(o.out.data, want);
    outcome_free(&o);

    /* a relative program is relative to the child's directory */
    pathf(script, "%s/here", dir);
    CHECK(write_text(script, "#!/bin/sh\necho here \"$1\"\n", 0755) == 0);
    const char *rel[] = {"./here", "x", NULL};
    CHECK_EQ_INT(run_opts(rel, &opts, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_STR(o.out.data, "here x\n");
    outcome_free(&o);
    /* and not found from ours */
    CHECK_EQ_INT(run_opts(rel, NULL, NULL, 0, &o), -1);
    CHECK_EQ_INT(o.code, ENOENT);
    outcome_free(&o);

    /* our own directory is untouched */
    char before[PATH_MAX], after[PATH_MAX];
    CHECK(getcwd(before, sizeof before) != NULL);
    CHECK_EQ_INT(run_opts(pwd, &opts, NULL, 0, &o), 0);
    outcome_free(&o);
    CHECK(getcwd(after, sizeof after) != NULL);
    CHECK_EQ_STR(after, before);
    remove_tree(dir);
}

TEST(run_missing_working_directory_not_started)
{
    const char *cwd = "/nonexistent-dir-for-dispatch/sub";
    const struct spawn_opts opts = {.cwd = cwd};
    const char *argv[] = {"true", NULL};
    outcome o;
    CHECK_EQ_INT(run_opts(argv, &opts, "x", 1, &o), -1);
    CHECK_EQ_INT(o.kind, OUTCOME_NOT_STARTED);
    CHECK_EQ_INT(o.code, ENOENT);
    CHECK_EQ_STR(o.message, "cannot run true: cannot enter working directory "
                            "/nonexistent-dir-for-dispatch/sub (No such file or directory)");
    CHECK_EQ_INT(o.out.len, 0);
    outcome_free(&o);

    /* a missing program in a missing directory: the directory is named */
    const char *missing[] = {"no-such-program-for-dispatch", NULL};
    CHECK_EQ_INT(run_opts(missing, &opts, NULL, 0, &o), -1);
    CHECK(strstr(o.message, "working directory /nonexistent-dir-for-dispatch/sub") != NULL);
    outcome_free(&o);

    /* a file is not a directory */
    const struct spawn_opts file_cwd = {.cwd = "/etc/passwd"};
    CHECK_EQ_INT(run_opts(argv, &file_cwd, NULL, 0, &o), -1);
    CHECK_EQ_INT(o.kind, OUTCOME_NOT_STARTED);
    CHECK_EQ_INT(o.code, ENOTDIR);
    CHECK(strstr(o.message, "working directory /etc/passwd") != NULL);
    outcome_free(&o);

    /* and a missing program in a good directory is still a missing program */
    const struct spawn_opts tmp_cwd = {.cwd = "/"};
    CHECK_EQ_INT(run_opts(missing, &tmp_cwd, NULL, 0, &o), -1);
    CHECK_EQ_INT(o.code, ENOENT);
    CHECK_EQ_STR(o.message, "cannot run no-such-program-for-dispatch: No such file or directory");
    outcome_free(&o);
}

/* With an environment, the program is found on that environment's PATH:
 * a stand-in first on it wins over the real one on ours. */
TEST(run_finds_program_on_the_childs_path)
{
    char dir[PATH_MAX], bin[PATH_MAX], tool[PATH_MAX], later[PATH_MAX], env_path[PATH_MAX + 32];
    CHECK(make_tmpdir(dir, sizeof dir, "test_spawn") == 0);
    pathf(bin, "%s/bin", dir);
    pathf(later, "%s/later", dir);
    CHECK(mkdir(bin, 0755) == 0 && mkdir(later, 0755) == 0);
    pathf(tool, "%s/true", bin);
    CHECK(write_text(tool, "#!/bin/sh\necho stand-in \"$@\"\n", 0755) == 0);
    snprintf(env_path, sizeof env_path, "PATH=%s:/usr/bin:/bin", bin);
    const char *envp[] = {"X=1", env_path, NULL};
    const struct spawn_opts opts = {.envp = envp};
    const char *argv[] = {"true", "a b", NULL};
    outcome o;
    CHECK_EQ_INT(run_opts(argv, &opts, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_STR(o.out.data, "stand-in a b\n");
    outcome_free(&o);
    /* control: without the environment, ours finds the real one */
    CHECK_EQ_INT(run_opts(argv, NULL, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.out.len, 0);
    outcome_free(&o);

    /* not on the child's PATH: not started, though it is on ours */
    const char *nowhere[] = {"PATH=/nonexistent-dir-for-dispatch", NULL};
    const struct spawn_opts lost = {.envp = nowhere};
    CHECK_EQ_INT(run_opts(argv, &lost, NULL, 0, &o), -1);
    CHECK_EQ_INT(o.kind, OUTCOME_NOT_STARTED);
    CHECK_EQ_INT(o.code, ENOENT);
    CHECK_EQ_STR(o.message, "cannot run true: No such file or directory");
    outcome_free(&o);

    /* no PATH in the environment: /bin:/usr/bin, like execvp */
    const char *bare[] = {"A=b", NULL};
    const struct spawn_opts no_path = {.envp = bare};
    const char *env_argv[] = {"env", NULL};
    CHECK_EQ_INT(run_opts(env_argv, &no_path, NULL, 0, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_STR(o.out.data, "A=b\n");
    outcome_free(&o);

    /* found but not executable: skipped for a later one; alone, EACCES */
    char plain[PATH_MAX], good[PATH_MAX], two_dirs[2 * PATH_MAX + 8];
    pathf(plain, "%s/tool-x", bin);
    pathf(good, "%s/tool-x", later);
    CHECK(write_text(plain, "#!/bin/sh\necho plain\n", 0644) == 0);
    snprintf(two_dirs, sizeof two_dirs, "PATH=%s:%s", bin, later);
    const char *both[] = {two_dirs, NULL};
    const struct spawn_opts skip = {.envp = both};
    const char *tool_x[] = {"tool-x", NULL};
    CHECK_EQ_INT(run_opts(tool_x, &skip, NULL, 0, &o), -1);
    CHECK_EQ_INT(o.code, EACCES);
    outcome_free(&o);
    CHECK(write_text(good, "#!/bin/sh\necho later\n", 0755) == 0);
    CHECK_EQ_INT(run_opts(tool_x, &skip, NULL, 0, &o), 0);
    CHECK_EQ_STR(o.out.data, "later\n");
    outcome_free(&o);

    /* a relative PATH entry is relative to the child's directory */
    const char *rel_path[] = {"PATH=bin", NULL};
    const struct spawn_opts rel = {.envp = rel_path, .cwd = dir};
    CHECK_EQ_INT(run_opts(argv, &rel, NULL, 0, &o), 0);
    CHECK_EQ_STR(o.out.data, "stand-in a b\n");
    outcome_free(&o);
    remove_tree(dir);
}

TEST(run_timeout_kills_sleep)
{
    const struct spawn_opts opts = {.timeout_ms = 300};
    const char *argv[] = {"sleep", "30", NULL};
    outcome o;
    double t0 = seconds_now();
    CHECK_EQ_INT(run_opts(argv, &opts, NULL, 0, &o), 0);
    double took = seconds_now() - t0;
    CHECK_EQ_INT(o.kind, OUTCOME_SIGNALED);
    CHECK_EQ_INT(o.code, SIGTERM);
    CHECK_EQ_INT(o.timed_out, 1);
    CHECK(took >= 0.3);
    CHECK(took < 0.3 + SPAWN_GRACE_MS / 1000.0 - 0.1);   /* no grace sat out */
    outcome_free(&o);
}

/* The output until the timeout is kept, and what the child started (here
 * a sleep that holds the pipes) ends with it: the whole group is signalled,
 * so we do not sit out the grace period waiting for EOF. */
TEST(run_timeout_keeps_output_and_ends_the_group)
{
    char dir[PATH_MAX], pidfile[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_spawn") == 0);
    pathf(pidfile, "%s/pid", dir);
    const struct spawn_opts opts = {.timeout_ms = 300};
    const char *argv[] = {"/bin/sh", "-c",
                          "echo before; echo err >&2; sleep 30 & echo $! > \"$1\"; wait; echo after",
                          "sh", pidfile, NULL};
    outcome o;
    double t0 = seconds_now();
    CHECK_EQ_INT(run_opts(argv, &opts, NULL, 0, &o), 0);
    double took = seconds_now() - t0;
    CHECK_EQ_INT(o.kind, OUTCOME_SIGNALED);
    CHECK_EQ_INT(o.code, SIGTERM);
    CHECK_EQ_INT(o.timed_out, 1);
    CHECK_EQ_STR(o.out.data, "before\n");
    CHECK_EQ_STR(o.err.data, "err\n");
    CHECK(took < 0.3 + SPAWN_GRACE_MS / 1000.0 - 0.2);
    outcome_free(&o);
    size_t n = 0;
    char *pid = read_file(pidfile, &n);
    CHECK(pid != NULL && atol(pid) > 0);
    CHECK(pid != NULL && process_gone(atol(pid)));
    free(pid);
    remove_tree(dir);
}

/* A child that ignores SIGTERM gets SIGKILL after the grace. */
TEST(run_timeout_sigkill_after_grace)
{
    const struct spawn_opts opts = {.timeout_ms = 200};
    const char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30", NULL};
    outcome o;
    double t0 = seconds_now();
    CHECK_EQ_INT(run_opts(argv, &opts, NULL, 0, &o), 0);
    double took = seconds_now() - t0;
    CHECK_EQ_INT(o.kind, OUTCOME_SIGNALED);
    CHECK_EQ_INT(o.code, SIGKILL);
    CHECK_EQ_INT(o.timed_out, 1);
    CHECK_EQ_STR(o.out.data, "ready\n");
    CHECK(took >= 0.2 + SPAWN_GRACE_MS / 1000.0);
    CHECK(took < 0.2 + SPAWN_GRACE_MS / 1000.0 + 2.0);   /* not the 30 s sleep */
    outcome_free(&o);
}

/* A child that closes its outputs and runs on is still timed (and one that
 * finishes in time is not). */
TEST(run_timeout_after_outputs_closed)
{
    const struct spawn_opts opts = {.timeout_ms = 300};
    const char *lingers[] = {"/bin/sh", "-c", "echo x; exec >&- 2>&-; exec sleep 30", NULL};
    outcome o;
    double t0 = seconds_now();
    CHECK_EQ_INT(run_opts(lingers, &opts, NULL, 0, &o), 0);
    double took = seconds_now() - t0;
    CHECK_EQ_INT(o.kind, OUTCOME_SIGNALED);
    CHECK_EQ_INT(o.code, SIGTERM);
    CHECK_EQ_INT(o.timed_out, 1);
    CHECK_EQ_STR(o.out.data, "x\n");
    CHECK(took >= 0.3 && took < 0.3 + SPAWN_GRACE_MS / 1000.0 - 0.1);
    outcome_free(&o);

    const struct spawn_opts roomy = {.timeout_ms = 5000};
    const char *quick[] = {"/bin/sh", "-c", "echo x; exec >&- 2>&-; sleep 0.2; exit 6", NULL};
    t0 = seconds_now();
    CHECK_EQ_INT(run_opts(quick, &roomy, NULL, 0, &o), 0);
    took = seconds_now() - t0;
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 6);
    CHECK_EQ_INT(o.timed_out, 0);
    CHECK(took >= 0.2 && took < 2.5);   /* not the 5 s timeout */
    outcome_free(&o);
}

/* A timeout does not touch what finishes in time, stdin included. */
TEST(run_timeout_not_reached)
{
    char *in = pattern(4 * MiB, 11);
    const struct spawn_opts opts = {.timeout_ms = 10000};
    const char *argv[] = {"cat", NULL};
    outcome o;
    CHECK_EQ_INT(run_opts(argv, &opts, in, 4 * MiB, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_INT(o.timed_out, 0);
    CHECK_EQ_MEM(o.out.data, o.out.len, in, 4 * MiB);
    outcome_free(&o);
    free(in);
    /* a timed child leads its own process group; an untimed one shares ours */
    const char *stat[] = {"cat", "/proc/self/stat", NULL};
    CHECK_EQ_INT(run_opts(stat, &opts, NULL, 0, &o), 0);
    long timed = stat_pgrp(o.out.data);
    outcome_free(&o);
    CHECK(timed > 0 && timed != (long)getpgrp());
    CHECK_EQ_INT(run_opts(stat, NULL, NULL, 0, &o), 0);
    CHECK_EQ_INT(stat_pgrp(o.out.data), (long)getpgrp());
    outcome_free(&o);
}

/* With a timeout, a child that closes its outputs first still gets all of
 * its stdin (and then EOF) while we wait for it. */
TEST(run_timeout_feeds_stdin_after_outputs_closed)
{
    char dir[PATH_MAX], got[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_spawn") == 0);
    pathf(got, "%s/got", dir);
    char *in = pattern(MiB, 12);
    const struct spawn_opts opts = {.timeout_ms = 5000};
    const char *argv[] = {"/bin/sh", "-c", "exec >&- 2>&-; cat > \"$1\"", "sh", got, NULL};
    outcome o;
    double t0 = seconds_now();
    CHECK_EQ_INT(run_opts(argv, &opts, in, MiB, &o), 0);
    double took = seconds_now() - t0;
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_INT(o.timed_out, 0);
    CHECK(took < 2.0);
    outcome_free(&o);
    size_t n = 0;
    char *copy = read_file(got, &n);
    CHECK(copy != NULL);
    if (copy != NULL)
        CHECK_EQ_MEM(copy, n, in, MiB);
    free(copy);
    free(in);
    remove_tree(dir);
}

TEST(run_two_hundred_with_options_leave_nothing_behind)
{
    char dir[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_spawn") == 0);
    int before = count_fds();
    const char *envp[] = {"PATH=/usr/bin:/bin", "K=v", NULL};
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        outcome o;
        switch (i % 5) {
        case 0: {
            const struct spawn_opts opts = {.envp = envp, .cwd = dir, .timeout_ms = 5000};
            const char *argv[] = {"cat", NULL};
            bad += run_opts(argv, &opts, "abc", 3, &o) != 0 || o.out.len != 3;
            break;
        }
        case 1: {
            const struct spawn_opts opts = {.timeout_ms = 20};
            const char *argv[] = {"sleep", "5", NULL};
            bad += run_opts(argv, &opts, "abc", 3, &o) != 0 || !o.timed_out;
            break;
        }
        case 2: {
            const struct spawn_opts opts = {.cwd = "/nonexistent-dir-for-dispatch"};
            const char *argv[] = {"true", NULL};
            bad += run_opts(argv, &opts, "abc", 3, &o) != -1;
            break;
        }
        case 3: {
            const struct spawn_opts opts = {.envp = envp};
            const char *argv[] = {"no-such-program-for-dispatch", NULL};
            bad += run_opts(argv, &opts, NULL, 0, &o) != -1 || o.code != ENOENT;
            break;
        }
        default: {
            const struct spawn_opts opts = {.envp = envp, .timeout_ms = 5000};
            const char *argv[] = {"sh", "-c", "echo $K; exit 2", NULL};
            bad += run_opts(argv, &opts, NULL, 0, &o) != 0 || o.code != 2 ||
                   o.out.len != 2 || o.timed_out;
            break;
        }
        }
        outcome_free(&o);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(count_fds(), before);
    errno = 0;
    CHECK_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
    CHECK_EQ_INT(errno, ECHILD);
    remove_tree(dir);
}

/* Optional arguments pick tests by name substring: test_spawn eintr */
static int argc_g;
static char **argv_g;
static int wanted(const char *name)
{
    if (argc_g < 2)
        return 1;
    for (int i = 1; i < argc_g; i++)
        if (strstr(name, argv_g[i]) != NULL)
            return 1;
    return 0;
}
#define RUN_IF_WANTED(name) do { if (wanted(#name)) RUN(name); } while (0)

int main(int argc, char **argv)
{
    argc_g = argc;
    argv_g = argv;
    RUN_IF_WANTED(a_bytebuf_is_nul_terminated_from_its_first_allocation);
    RUN_IF_WANTED(exit_codes);
    RUN_IF_WANTED(output_captured_exactly);
    RUN_IF_WANTED(eight_mib_on_stdout_and_stderr_at_once);
    RUN_IF_WANTED(fakecmd_eight_mib_each_way_with_four_mib_stdin);
    RUN_IF_WANTED(four_mib_stdin_echoed_by_cat);
    RUN_IF_WANTED(empty_stdin_is_a_pipe_at_eof);
    RUN_IF_WANTED(child_not_reading_stdin);
    RUN_IF_WANTED(foreign_pending_sigpipe_is_kept);
    RUN_IF_WANTED(killed_by_signal);
    RUN_IF_WANTED(missing_program_not_started);
    RUN_IF_WANTED(not_executable_not_started);
    RUN_IF_WANTED(sigchld_ignored_refused);
    RUN_IF_WANTED(sigchld_nocldwait_refused);
    RUN_IF_WANTED(arguments_arrive_verbatim);
    RUN_IF_WANTED(environment_passed);
    RUN_IF_WANTED(stdin_is_dev_null_when_not_fed);
    RUN_IF_WANTED(child_gets_default_signals_and_empty_mask);
    RUN_IF_WANTED(leaked_fd_not_inherited);
    RUN_IF_WANTED(host_with_closed_stdio);
    RUN_IF_WANTED(eintr_everywhere);
    RUN_IF_WANTED(thousand_runs_leave_nothing_behind);
    RUN_IF_WANTED(run_null_opts_is_spawn_capture);
    RUN_IF_WANTED(run_in_working_directory);
    RUN_IF_WANTED(run_missing_working_directory_not_started);
    RUN_IF_WANTED(run_finds_program_on_the_childs_path);
    RUN_IF_WANTED(run_timeout_kills_sleep);
    RUN_IF_WANTED(run_timeout_keeps_output_and_ends_the_group);
    RUN_IF_WANTED(run_timeout_sigkill_after_grace);
    RUN_IF_WANTED(run_timeout_after_outputs_closed);
    RUN_IF_WANTED(run_timeout_not_reached);
    RUN_IF_WANTED(run_timeout_feeds_stdin_after_outputs_closed);
    RUN_IF_WANTED(run_two_hundred_with_options_leave_nothing_behind);
    return ctest_summary();
}
