/*
 * test_interrupt.c - the stop signal handlers (src/interrupt.c) in a real
 * process: a forked child installs them, holds a registered directory of
 * two files and runs a command through spawn_capture (which registers the
 * command's process); the test signals the child and checks that the
 * directory is gone, the command's process is gone (SIGKILLed after the
 * grace when it ignores SIGTERM) and the child died of the same signal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "interrupt.h"
#include "spawn_capture.h"
#include "testutil.h"

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The pid written (with a newline) to path, waiting up to secs; 0 if none. */
static pid_t wait_pidfile(const char *path, double secs)
{
    double end = seconds_now() + secs;
    do {
        size_t len = 0;
        char *text = read_file(path, &len);
        if (text != NULL && len > 0 && text[len - 1] == '\n') {
            pid_t pid = (pid_t)atol(text);
            free(text);
            return pid;
        }
        free(text);
        sleep_ms(10);
    } while (seconds_now() < end);
    return 0;
}

/* waitpid with a deadline; on timeout the child is SIGKILLed and reaped
 * and -1 is returned. */
static int wait_deadline(pid_t pid, int *status, double secs)
{
    double end = seconds_now() + secs;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (seconds_now() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return -1;
        }
        sleep_ms(10);
    }
}

/* 1 once pid no longer exists (ESRCH), waiting up to secs: after its
 * parent dies unreaped it may be a zombie for a moment. */
static int gone(pid_t pid, double secs)
{
    double end = seconds_now() + secs;
    for (;;) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return 1;
        if (seconds_now() >= end)
            return 0;
        sleep_ms(10);
    }
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The child: handlers, a watched directory with two files, then a command
 * that writes its pid and sleeps. It should never get past spawn_capture. */
static void child(const char *dir, const char *script, int timed)
{
    char path[PATH_MAX];
    if (interrupt_install() != 0)
        _exit(10);
    if (mkdir(dir, 0700) != 0)
        _exit(11);
    pathf(path, "%s/secret-1", dir);
    if (write_file(path, "one", 3, 0600) != 0)
        _exit(12);
    pathf(path, "%s/secret-2", dir);
    if (write_file(path, "two", 3, 0600) != 0)
        _exit(12);
    if (interrupt_watch_dir(dir) < 0)
        _exit(13);
    const char *argv[] = { "/bin/sh", "-c", script, NULL };
    outcome o;
    memset(&o, 0, sizeof o);
    /* with a timeout the command leads a process group of its own */
    struct spawn_opts opts = { .timeout_ms = timed ? 60000 : 0 };
    spawn_run(argv, &opts, NULL, 0, &o);
    _exit(14);
}

/* Run the scenario: sig to the child once the command is running; the
 * command ignores SIGTERM when stubborn. Checks everything; returns the
 * seconds from the signal to the child's end. */
static double stop_scenario(int sig, int stubborn, int timed);

static double stop_with(int sig, int stubborn)
{
    return stop_scenario(sig, stubborn, 0);
}

static double stop_scenario(int sig, int stubborn, int timed)
{
    char root[PATH_MAX], dir[PATH_MAX], pidfile[PATH_MAX], script[2 * PATH_MAX];
    CHECK(make_tmpdir(root, sizeof root, "test_interrupt") == 0);
    pathf(dir, "%s/secrets", root);
    pathf(pidfile, "%s/pid", root);
    if (timed)   /* the pid written is a grandchild the command started */
        snprintf(script, sizeof script, "sleep 30 & echo $! > '%s'; wait", pidfile);
    else
        snprintf(script, sizeof script, "%secho $$ > '%s'; exec sleep 30",
                 stubborn ? "trap '' TERM; " : "", pidfile);

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child(dir, script, timed);
    CHECK(pid > 0);
    pid_t sleeper = wait_pidfile(pidfile, 10);
    CHECK(sleeper > 0);
    /* no wait: a stop before spawn_run registered the command waits for
     * the registration */
    CHECK(exists(dir));

    double t0 = seconds_now();
    CHECK_EQ_INT(kill(pid, sig), 0);
    int status = 0;
    CHECK_EQ_INT(wait_deadline(pid, &status, 10), 0);
    double took = seconds_now() - t0;
    if (!WIFSIGNALED(status))
        fprintf(stderr, "  child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ_INT(WIFSIGNALED(status) ? WTERMSIG(status) : 0, sig);
    CHECK(!exists(dir));
    if (sleeper > 0) {
        CHECK(gone(sleeper, 2));
        if (!gone(sleeper, 0))
            kill(sleeper, SIGKILL);
    }
    remove_tree(root);
    return took;
}

TEST(sigterm_cleans_up_and_dies_of_sigterm)
{
    double took = stop_with(SIGTERM, 0);
    CHECK(took < 1.5);
}

TEST(stubborn_command_is_killed_after_the_grace)
{
    double took = stop_with(SIGTERM, 1);
    printf("  (the stubborn command's end took %.2f s)\n", took);
    CHECK(took >= 1.9);   /* the 2 s grace, not less */
    CHECK(took < 5.0);
}

TEST(sigint_and_sighup_too)
{
    CHECK(stop_with(SIGINT, 0) < 1.5);
    CHECK(stop_with(SIGHUP, 0) < 1.5);
    double took = stop_with(SIGINT, 1);
    CHECK(took >= 1.9 && took < 5.0);
}

/* A command with a timeout leads its own process group: a stop signal
 * ends what it started too, not only the command. */
TEST(what_a_timed_command_started_ends_too)
{
    CHECK(stop_scenario(SIGTERM, 0, 1) < 1.5);
}

/* A stop signal the moment the command has started, before spawn_run has
 * registered it (spawn_hook_started is that moment): the signal waits for
 * the registration, so the command is ended, not left running. Before the
 * stop signals were held there, the handler found no child to end. */
static char started_pidfile[PATH_MAX];

static void stop_right_after_start(pid_t pid)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)pid);
    if (write_file(started_pidfile, text, (size_t)n, 0600) != 0)
        _exit(15);
    raise(SIGTERM);
}

TEST(a_stop_right_after_the_start_still_ends_the_command)
{
    char root[PATH_MAX];
    CHECK(make_tmpdir(root, sizeof root, "test_interrupt") == 0);
    pathf(started_pidfile, "%s/started", root);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (interrupt_install() != 0)
            _exit(10);
        spawn_hook_started = stop_right_after_start;
        const char *argv[] = { "/bin/sh", "-c", "exec sleep 30", NULL };
        outcome o;
        memset(&o, 0, sizeof o);
        struct spawn_opts opts = { 0 };
        spawn_run(argv, &opts, NULL, 0, &o);
        _exit(14);
    }
    CHECK(pid > 0);
    int status = 0;
    CHECK_EQ_INT(wait_deadline(pid, &status, 10), 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    pid_t command = wait_pidfile(started_pidfile, 1);
    CHECK(command > 0);
    if (command > 0) {
        CHECK(gone(command, 2));
        if (!gone(command, 0))
            kill(command, SIGKILL);
    }
    remove_tree(root);
}

TEST(slots_run_out_and_come_back)
{
    int dirs[INTERRUPT_SLOTS], kids[INTERRUPT_SLOTS];
    for (int i = 0; i < INTERRUPT_SLOTS; i++) {
        char path[64];
        snprintf(path, sizeof path, "/nonexistent/dispatch-test-%d", i);
        dirs[i] = interrupt_watch_dir(path);
        CHECK(dirs[i] >= 0 && dirs[i] < INTERRUPT_SLOTS);
        for (int j = 0; j < i; j++)
            CHECK(dirs[j] != dirs[i]);
        kids[i] = interrupt_watch_child((pid_t)(1000000 + i), 0);
        CHECK(kids[i] >= 0 && kids[i] < INTERRUPT_SLOTS);
    }
    CHECK_EQ_INT(interrupt_watch_dir("/nonexistent/one-too-many"), -1);
    CHECK_EQ_INT(interrupt_watch_child((pid_t)999999, 0), -1);
    interrupt_forget_dir(dirs[3]);
    CHECK_EQ_INT(interrupt_watch_dir("/nonexistent/again"), dirs[3]);
    CHECK_EQ_INT(interrupt_watch_dir("/nonexistent/one-too-many"), -1);
    interrupt_forget_child(kids[5]);
    CHECK_EQ_INT(interrupt_watch_child((pid_t)999999, 0), kids[5]);
    /* a path that cannot be stored is refused, not cut short */
    interrupt_forget_dir(dirs[0]);
    char *huge = malloc(PATH_MAX + 1);
    CHECK(huge != NULL);
    if (huge != NULL) {
        memset(huge, 'x', PATH_MAX);
        huge[0] = '/';
        huge[PATH_MAX] = '\0';
        CHECK_EQ_INT(interrupt_watch_dir(huge), -1);
        free(huge);
    }
    /* forgetting what is not a slot is harmless */
    interrupt_forget_dir(-1);
    interrupt_forget_dir(INTERRUPT_SLOTS);
    interrupt_forget_child(-1);
    interrupt_forget_child(INTERRUPT_SLOTS);
    for (int i = 0; i < INTERRUPT_SLOTS; i++) {
        interrupt_forget_dir(dirs[i]);
        interrupt_forget_child(kids[i]);
    }
    /* all free again */
    for (int i = 0; i < INTERRUPT_SLOTS; i++)
        CHECK(interrupt_watch_dir("/nonexistent/x") >= 0);
    for (int i = 0; i < INTERRUPT_SLOTS; i++)
        interrupt_forget_dir(i);
}

int main(void)
{
    RUN(sigterm_cleans_up_and_dies_of_sigterm);
    RUN(stubborn_command_is_killed_after_the_grace);
    RUN(sigint_and_sighup_too);
    RUN(what_a_timed_command_started_ends_too);
    RUN(a_stop_right_after_the_start_still_ends_the_command);
    RUN(slots_run_out_and_come_back);
    return ctest_summary();
}
