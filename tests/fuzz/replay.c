/*
 * replay.c - a main() for fuzz targets built without libFuzzer: feeds each
 * file named on the command line to LLVMFuzzerTestOneInput, each in a
 * child process of its own, so that an abort, a crash or a sanitizer
 * report in one input is seen as that input failing (and the others still
 * run). This is how the committed corpus and crash reproducers run as
 * ordinary tests: exit status 1 when any input failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Seconds one input may take before it counts as hung. */
#define REPLAY_TIMEOUT 60

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The whole file in a malloc'd buffer (at least 1 byte), or NULL. */
static uint8_t *read_input(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || ferror(f))
            break;
        uint8_t *more = realloc(buf, cap *= 2);
        if (more == NULL)
            free(buf);
        buf = more;
    }
    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Run one input in a child; NULL when it passed, else how it failed. */
static const char *run_one(const char *path, char *why, size_t size)
{
    size_t len;
    uint8_t *data = read_input(path, &len);
    if (data == NULL) {
        snprintf(why, size, "cannot read it");
        return why;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        free(data);
        snprintf(why, size, "cannot fork");
        return why;
    }
    if (pid == 0) {
        alarm(REPLAY_TIMEOUT);
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        _exit(0);
    }
    free(data);
    int status;
    pid_t got;
    do
        got = waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        snprintf(why, size, "waitpid: %s", strerror(errno));
        return why;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return NULL;
    if (WIFEXITED(status))
        snprintf(why, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        snprintf(why, size, "still running after %d s", REPLAY_TIMEOUT);
    else if (WIFSIGNALED(status))
        snprintf(why, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(why, size, "ended with wait status %#x", (unsigned)status);
    return why;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        char why[128];
        const char *failure = run_one(argv[i], why, sizeof why);
        if (failure == NULL) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s: %s\n", argv[i], failure);
        }
    }
    printf("replayed %d inputs: %d passed, %d failed\n", passed + failed, passed, failed);
    return failed > 0 ? 1 : 0;
}
