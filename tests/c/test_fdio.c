/*
 * test_fdio.c - fd_write_all over a real pipe: every byte in order while a
 * timer interrupts the writes (short writes and EINTR), and failures
 * reported as -1 with write(2)'s errno.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "fdio.h"

#define PAYLOAD (8u * 1024 * 1024)

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
    (void)sig;
    ticks++;
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 131u + (i >> 13)) & 0xff);
}

/* The reader: drains the pipe slowly in small reads so the writer blocks
 * with a partly filled pipe, and exits 0 only if every byte matches. */
static int slow_reader(int fd)
{
    unsigned char buf[4096];
    size_t at = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return 2;
        if (r == 0)
            break;
        for (ssize_t k = 0; k < r; k++)
            if (buf[k] != pattern(at + (size_t)k))
                return 3;
        at += (size_t)r;
        if ((at & 0xffff) < sizeof buf) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
    return at == PAYLOAD ? 0 : 4;
}

TEST(every_byte_arrives_in_order_through_interrupted_writes)
{
    unsigned char *data = malloc(PAYLOAD);
    CHECK(data != NULL);
    if (!data)
        return;
    for (size_t i = 0; i < PAYLOAD; i++)
        data[i] = pattern(i);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        _exit(slow_reader(p[0]));
    }
    close(p[0]);
    /* no SA_RESTART: a blocked write returns early, short or EINTR */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, &old) == 0);
    struct itimerval every = {{0, 500}, {0, 500}}, off = {{0, 0}, {0, 0}};
    ticks = 0;
    CHECK(setitimer(ITIMER_REAL, &every, NULL) == 0);
    int rc = fd_write_all(p[1], data, PAYLOAD);
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    CHECK(sigaction(SIGALRM, &old, NULL) == 0);
    CHECK_EQ_INT(rc, 0);
    close(p[1]);
    int status = -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 0);
    CHECK(ticks > 0); /* the writes really were interrupted */
    free(data);
}

TEST(nothing_to_write_is_success)
{
    CHECK_EQ_INT(fd_write_all(-1, "", 0), 0);
}

TEST(a_bad_fd_is_minus_one_with_ebadf)
{
    errno = 0;
    CHECK_EQ_INT(fd_write_all(-1, "x", 1), -1);
    CHECK_EQ_INT(errno, EBADF);
}

TEST(a_closed_reader_is_minus_one_with_epipe)
{
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    CHECK(sigaction(SIGPIPE, &ign, &old) == 0);
    errno = 0;
    CHECK_EQ_INT(fd_write_all(p[1], "hello", 5), -1);
    CHECK_EQ_INT(errno, EPIPE);
    CHECK(sigaction(SIGPIPE, &old, NULL) == 0);
    close(p[1]);
}

int main(void)
{
    RUN(every_byte_arrives_in_order_through_interrupted_writes);
    RUN(nothing_to_write_is_success);
    RUN(a_bad_fd_is_minus_one_with_ebadf);
    RUN(a_closed_reader_is_minus_one_with_epipe);
    return ctest_summary();
}
