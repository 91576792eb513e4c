/*
 * sigrun.c - run a program with the signal dispositions and mask a hostile
 * parent would leave it, to test that dispatch owns its own.
 *
 *   sigrun [-i SIG]... [-b SIG]... -- PROGRAM [ARGS...]
 *
 * -i ignores SIG (SIG_IGN survives exec), -b blocks it; SIG is a number or
 * a name without SIG (CHLD, TERM, PIPE, ...). Exit 127 if PROGRAM cannot run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int signum(const char *s)
{
    static const struct { const char *name; int sig; } names[] = {
        {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"PIPE", SIGPIPE},
        {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CHLD", SIGCHLD}, {"USR1", SIGUSR1},
        {"USR2", SIGUSR2},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].sig;
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || n <= 0 || n >= NSIG) {
        fprintf(stderr, "sigrun: unknown signal '%s'\n", s);
        exit(2);
    }
    return (int)n;
}

int main(int argc, char **argv)
{
    sigset_t block;
    sigemptyset(&block);
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (i + 1 >= argc) {
            fprintf(stderr, "usage: sigrun [-i SIG]... [-b SIG]... -- PROGRAM [ARGS...]\n");
            return 2;
        }
        int sig = signum(argv[i + 1]);
        if (strcmp(argv[i], "-i") == 0) {
            signal(sig, SIG_IGN);
        } else if (strcmp(argv[i], "-b") == 0) {
            sigaddset(&block, sig);
        } else {
            fprintf(stderr, "sigrun: unknown option '%s'\n", argv[i]);
            return 2;
        }
        i++;
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: sigrun [-i SIG]... [-b SIG]... -- PROGRAM [ARGS...]\n");
        return 2;
    }
    sigprocmask(SIG_BLOCK, &block, NULL);
    execvp(argv[i + 1], argv + i + 1);
    perror(argv[i + 1]);
    return 127;
}
