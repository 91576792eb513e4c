/*
 * test_lineedit.c - the line editor against a real pseudo-terminal (keys
 * written to the master, the editor reading the slave) and against pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ctest.h"
#include "lineedit.h"
#include "testutil.h"

struct pty {
    int master, slave;
};

static int open_pty(struct pty *p, unsigned short cols)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (p->master < 0 || grantpt(p->master) != 0 || unlockpt(p->master) != 0)
        return -1;
    p->slave = open(ptsname(p->master), O_RDWR | O_NOCTTY);
    if (p->slave < 0)
        return -1;
    struct winsize ws = {.ws_row = 24, .ws_col = cols};
    ioctl(p->master, TIOCSWINSZ, &ws);
    /* the master side must not block the editor's echo: read it as we go */
    fcntl(p->master, F_SETFL, O_NONBLOCK);
    return 0;
}

static void drain(struct pty *p)
{
    char buf[4096];
    while (read(p->master, buf, sizeof buf) > 0) {
    }
}

static void close_pty(struct pty *p)
{
    close(p->slave);
    close(p->master);
}

/* Read one line while a child types keys into the terminal, as a person
 * would: once the editor has put it in raw mode (before that, the
 * terminal's own line discipline would take Ctrl-U, Ctrl-W, Ctrl-C...). */
static enum lineedit_result typed(lineedit *le, struct pty *p, const char *keys, char **line)
{
    drain(p);
    pid_t pid = fork();
    if (pid == 0) {
        struct termios t;
        for (int i = 0; i < 5000; i++) {
            if (tcgetattr(p->master, &t) == 0 && !(t.c_lflag & ICANON))
                break;
            usleep(1000);
        }
        size_t n = strlen(keys);
        _exit(write(p->master, keys, n) == (ssize_t)n ? 0 : 1);
    }
    *line = NULL;
    enum lineedit_result r = lineedit_read(le, "> ", line);
    int status = -1;
    waitpid(pid, &status, 0);
    drain(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return LINEEDIT_ERROR;
    return r;
}

static int line_is(lineedit *le, struct pty *p, const char *keys, const char *want)
{
    char *line;
    enum lineedit_result r = typed(le, p, keys, &line);
    int ok = r == LINEEDIT_LINE && line != NULL && strcmp(line, want) == 0;
    if (!ok)
        fprintf(stderr, "  keys %s: result %d, line \"%s\", wanted \"%s\"\n", keys, r, line ? line : "(null)",
                want);
    free(line);
    return ok;
}

TEST(editing_keys)
{
    struct pty p;
    CHECK(open_pty(&p, 80) == 0);
    lineedit *le = lineedit_new(p.slave, p.slave, 10);
    CHECK(lineedit_is_terminal(le));
    CHECK(line_is(le, &p, "abc\r", "abc"));
    CHECK(line_is(le, &p, "hello\x01X\x05Y\r", "XhelloY"));              /* Ctrl-A, Ctrl-E */
    CHECK(line_is(le, &p, "one two three\x17\r", "one two "));           /* Ctrl-W */
    CHECK(line_is(le, &p, "abc\x1b[D\x1b[D\x0b\r", "a"));                /* Left, Ctrl-K */
    CHECK(line_is(le, &p, "abc\x1b[D\x15\r", "c"));                      /* Ctrl-U */
    CHECK(line_is(le, &p, "abc\x1b[H\x1b[3~\r", "bc"));                  /* Home, Delete */
    CHECK(line_is(le, &p, "abc\x1bOH\x04\x1bOF!\r", "bc!"));             /* Home, Ctrl-D deletes, End */
    CHECK(line_is(le, &p, "abc\x1b[1~x\x1b[4~y\r", "xabcy"));            /* Home, End (vt) */
    CHECK(line_is(le, &p, "ab\x7f\x08x\r", "x"));                        /* Backspace, Ctrl-H */
    CHECK(line_is(le, &p, "one two\x1b[1;5DX\r", "one Xtwo"));           /* Ctrl-Left */
    CHECK(line_is(le, &p, "one two\x1b" "b\x1b" "bY\x1b" "fZ\r", "YoneZ two"));  /* Alt-B, Alt-F */
    CHECK(line_is(le, &p, "a\x02\x02\x06\x06" "b\r", "ab"));                /* Ctrl-B, Ctrl-F at the ends */
    CHECK(line_is(le, &p, "x\x0c\r", "x"));                              /* Ctrl-L */
    CHECK(line_is(le, &p, "\x01\x02\x1b[C\r", ""));                      /* moving on nothing */
    lineedit_free(le);
    close_pty(&p);
}

TEST(utf8_characters_move_and_delete_whole)
{
    struct pty p;
    CHECK(open_pty(&p, 80) == 0);
    lineedit *le = lineedit_new(p.slave, p.slave, 10);
    CHECK(line_is(le, &p, "h\xc3\xa9llo\x1b[D\x1b[D\x1b[D\x1b[D\x7f\r", "\xc3\xa9llo"));
    CHECK(line_is(le, &p, "\xe2\x82\xac\xe2\x82\xac\x1b[D\x7f\r", "\xe2\x82\xac"));
    CHECK(line_is(le, &p, "a\xc3\xa9\x1b[D\x1b[3~\r", "a"));
    lineedit_free(le);
    close_pty(&p);
}

TEST(history_up_and_down)
{
    struct pty p;
    CHECK(open_pty(&p, 80) == 0);
    lineedit *le = lineedit_new(p.slave, p.slave, 2);
    lineedit_add_history(le, "zeroth");
    lineedit_add_history(le, "first");
    lineedit_add_history(le, "second");
    lineedit_add_history(le, "second");   /* a repeat is kept once */
    lineedit_add_history(le, "");         /* empty lines are not kept */
    CHECK(line_is(le, &p, "\x1b[A\r", "second"));
    CHECK(line_is(le, &p, "\x1b[A\x1b[A\r", "first"));
    CHECK(line_is(le, &p, "\x1b[A\x1b[A\x1b[A\r", "first"));   /* only 2 kept: "zeroth" is gone */
    CHECK(line_is(le, &p, "new\x1b[A\x1b[B\r", "new"));         /* Down returns to the new line */
    CHECK(line_is(le, &p, "\x10\x10\x0e!\r", "second!"));      /* Ctrl-P, Ctrl-N */
    CHECK(line_is(le, &p, "\x1b[A\x1b[D\x7f\r", "secod"));     /* a history line can be edited */
    lineedit_free(le);
    close_pty(&p);
}

TEST(end_interrupt_and_the_terminal_restored)
{
    struct pty p;
    CHECK(open_pty(&p, 80) == 0);
    struct termios before, after;
    CHECK(tcgetattr(p.slave, &before) == 0);
    lineedit *le = lineedit_new(p.slave, p.slave, 10);
    char *line;
    CHECK_EQ_INT(typed(le, &p, "\x04", &line), LINEEDIT_EOF);
    CHECK(line == NULL);
    CHECK_EQ_INT(typed(le, &p, "half\x03", &line), LINEEDIT_INTERRUPTED);
    CHECK(line == NULL);
    CHECK(line_is(le, &p, "after\r", "after"));
    CHECK(tcgetattr(p.slave, &after) == 0);
    CHECK(before.c_lflag == after.c_lflag && before.c_iflag == after.c_iflag && before.c_oflag == after.c_oflag);
    lineedit_free(le);
    close_pty(&p);
}

TEST(a_line_wider_than_the_terminal_scrolls)
{
    struct pty p;
    CHECK(open_pty(&p, 20) == 0);
    lineedit *le = lineedit_new(p.slave, p.slave, 10);
    char keys[512], want[256];
    for (int i = 0; i < 100; i++)
        want[i] = (char)('a' + i % 26);
    want[100] = '\0';
    snprintf(keys, sizeof keys, "%s\x01\x1b[C\x1b[C\r", want);
    CHECK(line_is(le, &p, keys, want));
    lineedit_free(le);
    close_pty(&p);
}

TEST(pipes_give_plain_lines)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    const char *text = "first\nsecond\r\n\nlast without newline";
    CHECK(write(fds[1], text, strlen(text)) == (ssize_t)strlen(text));
    close(fds[1]);
    int out = open("/dev/null", O_WRONLY);
    lineedit *le = lineedit_new(fds[0], out, 10);
    CHECK(!lineedit_is_terminal(le));
    const char *want[] = {"first", "second", "", "last without newline"};
    for (int i = 0; i < 4; i++) {
        char *line = NULL;
        CHECK_EQ_INT(lineedit_read(le, "> ", &line), LINEEDIT_LINE);
        CHECK_EQ_STR(line, want[i]);
        free(line);
    }
    char *line = NULL;
    CHECK_EQ_INT(lineedit_read(le, "> ", &line), LINEEDIT_EOF);
    CHECK(line == NULL);
    lineedit_free(le);
    close(fds[0]);
    close(out);
}

TEST(nothing_leaks)
{
    int before = count_fds();
    for (int i = 0; i < 50; i++) {
        struct pty p;
        CHECK(open_pty(&p, 80) == 0);
        lineedit *le = lineedit_new(p.slave, p.slave, 3);
        for (int j = 0; j < 5; j++)
            lineedit_add_history(le, j % 2 ? "odd" : "even");
        CHECK(line_is(le, &p, "\x1b[Ax\r", "evenx"));
        lineedit_free(le);
        close_pty(&p);
    }
    CHECK_EQ_INT(count_fds(), before);
}

int main(void)
{
    RUN(editing_keys);
    RUN(utf8_characters_move_and_delete_whole);
    RUN(history_up_and_down);
    RUN(end_interrupt_and_the_terminal_restored);
    RUN(a_line_wider_than_the_terminal_scrolls);
    RUN(pipes_give_plain_lines);
    RUN(nothing_leaks);
    return ctest_summary();
}
