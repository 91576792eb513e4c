/*
 * spawn_loop.c - the baseline: run a program REPS times with posix_spawnp +
 * waitpid (stdout and stderr to /dev/null) and print the wall-clock seconds.
 *
 *   spawn_loop REPS PROG [ARGS...]
 *
 * Used both as the "plain C loop" the juju module is compared with and as
 * the stopwatch around whole dispatch runs, so both sides of every ratio are
 * timed the same way. Exits non-zero if any run fails.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s REPS PROG [ARGS...]\n", argv[0]);
        return 2;
    }
    long reps = strtol(argv[1], NULL, 10);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (getenv("BENCH_KEEP_STDERR") == NULL)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int failed = 0;
    for (long i = 0; i < reps && !failed; i++) {
        pid_t pid;
        int err = posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ);
        if (err != 0) {
            fprintf(stderr, "cannot run %s\n", argv[2]);
            failed = 1;
            break;
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s failed (status %d)\n", argv[2], status);
            failed = 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    posix_spawn_file_actions_destroy(&fa);
    printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return failed;
}
