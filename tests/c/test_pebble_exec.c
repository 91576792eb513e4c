/*
 * test_pebble_exec.c - Pebble's exec I/O (src/pebble_exec.c) against a fake
 * task server forked on a real unix socket (tests/c/httpserver.h), which
 * speaks Pebble's protocol: the control, stdio and stderr websockets on
 * their own connections, binary frames for I/O, {"command":"end"} texts.
 * Covered: stdin echoed back with several MiB both ways at once, stderr
 * split, pings and unknown commands on the way, no stdin, frames that come
 * with the 101, the end markers; and the failures: the deadline (SIGKILL
 * seen by the server), a stdio socket that never opens, a refused one, one
 * closed early (plainly and with a close frame), a bad frame, output over
 * the limit, a bad task id. The fds open before and after are counted.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctest.h"
#include "httpserver.h"
#include "pebble_exec.h"
#include "testutil.h"

#define MIB (1024u * 1024)
#define END "{\"command\":\"end\"}"
#define KILL "{\"command\":\"signal\",\"signal\":{\"name\":\"SIGKILL\"}}"

/* What the scenarios share with the test (set before the fork). */
static int split;            /* expect a stderr socket */
static size_t extra_out;     /* bytes of output sent before reading stdin */
static size_t expect_in;     /* stdin bytes the server must get */

static void accept_three(int lfd, struct hs_ws *ctl, struct hs_ws *io, struct hs_ws *err)
{
    hs_ws_accept(lfd, ctl);
    EXPECT(strcmp(ctl->target, "/v1/tasks/7/websocket/control") == 0);
    hs_ws_accept(lfd, io);
    EXPECT(strcmp(io->target, "/v1/tasks/7/websocket/stdio") == 0);
    if (split) {
        hs_ws_accept(lfd, err);
        EXPECT(strcmp(err->target, "/v1/tasks/7/websocket/stderr") == 0);
    }
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 7) ^ (i >> 11));
}

/* cat, as Pebble runs it: stdin back on stdout as it comes (in messages of
 * at most 128 KiB); with split, a line per message on stderr. */
static void sc_echo(int lfd)
{
    struct hs_ws ctl, io, err;
    accept_three(lfd, &ctl, &io, &err);
    hs_ws_send(&io, WS_TEXT, "{\"command\":\"hello\",\"x\":[1,{\"y\":\"}\"}]}", 38); /* ignored */
    hs_ws_send(&io, WS_PING, "are you there", 13);
    /* output the client must read while it still has stdin to send */
    unsigned char *chunk = malloc(128 * 1024);
    for (size_t off = 0; off < extra_out; off += 128 * 1024) {
        size_t n = extra_out - off < 128 * 1024 ? extra_out - off : 128 * 1024;
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern(off + i);
        hs_ws_send(&io, WS_BINARY, chunk, n);
    }
    free(chunk);
    struct ws_event ev;
    size_t got = 0;
    int pong = 0;
    for (;;) {
        EXPECT(hs_ws_next(&io, &ev) == 1);
        if (ev.opcode == WS_PONG) {
            EXPECT(ev.len == 13 && memcmp(ev.data, "are you there", 13) == 0);
            pong = 1;
            continue;
        }
        if (ev.opcode == WS_TEXT) {
            EXPECT(ev.len == strlen(END) && memcmp(ev.data, END, ev.len) == 0);
            break;
        }
        EXPECT(ev.opcode == WS_BINARY);
        EXPECT(ev.len <= PEBBLE_EXEC_CHUNK);
        got += ev.len;
        hs_ws_send(&io, WS_BINARY, ev.data, ev.len);
        if (split) {
            char line[32];
            int n = snprintf(line, sizeof line, "%zu\n", ev.len);
            hs_ws_send(&err, WS_BINARY, line, (size_t)n);
        }
    }
    while (!pong) { /* the pong may come after the end of stdin */
        EXPECT(hs_ws_next(&io, &ev) == 1);
        EXPECT(ev.opcode == WS_PONG && ev.len == 13);
        pong = 1;
    }
    EXPECT(got == expect_in);
    hs_ws_send(&io, WS_TEXT, END, strlen(END));
    if (split)
        hs_ws_send(&err, WS_TEXT, END, strlen(END));
    /* the client closes everything */
    EXPECT(hs_ws_next(&io, &ev) == 0);
    EXPECT(hs_ws_next(&ctl, &ev) == 0);
    hs_ws_close(&io);
    hs_ws_close(&ctl);
    if (split)
        hs_ws_close(&err);
}

static int open_ms; /* 0: Pebble's 5 s (slow under valgrind: keep it) */

static int run_exec(void (*fn)(int), const void *in, size_t in_len, int split_stderr,
                    double timeout, struct pebble_exec_result *r, net_error *e, int kill_server)
{
    split = split_stderr;
    struct hs_server s;
    hs_start(&s, fn);
    struct pebble_exec_opts o = {.stdin_data = in, .stdin_len = in_len, .split_stderr = split_stderr,
                                 .deadline = timeout > 0 ? net_deadline_after(timeout) : NET_NO_DEADLINE,
                                 .open_ms = open_ms};
    int rc = pebble_exec_io(s.path, "7", &o, r, e);
    if (kill_server)
        hs_kill(&s);
    else
        CHECK_EQ_INT(hs_finish(&s), 0);
    return rc;
}

TEST(echo_small)
{
    struct pebble_exec_result r = {0};
    net_error e;
    extra_out = 0;
    expect_in = 12;
    int rc = run_exec(sc_echo, "hello world\n", 12, 0, 10, &r, &e, 0);
    CHECK_EQ_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "  %s\n", e.message);
    CHECK_EQ_MEM(r.out.data, r.out.len, "hello world\n", 12);
    CHECK_EQ_INT(r.err.len, 0);
    CHECK_EQ_INT(r.signal_sent, 0);
    pebble_exec_result_free(&r);
}

TEST(several_mib_both_ways_split_stderr)
{
    size_t n = 6 * MIB + 12345;
    unsigned char *in = malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char)(i * 13 + 1);
    extra_out = 5 * MIB;
    expect_in = n;
    struct pebble_exec_result r = {0};
    net_error e;
    int rc = run_exec(sc_echo, in, n, 1, 60, &r, &e, 0);
    CHECK_EQ_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "  %s\n", e.message);
    CHECK_EQ_INT(r.out.len, extra_out + n);
    int same = r.out.len == extra_out + n;
    for (size_t i = 0; same && i < extra_out; i++)
        same = (unsigned char)r.out.data[i] == pattern(i);
    CHECK(same);
    CHECK(same && memcmp(r.out.data + extra_out, in, n) == 0);
    /* stderr: a line per stdin message, adding up to all of it */
    size_t total = 0, lines = 0;
    for (char *p = r.err.data; p != NULL && *p; lines++) {
        total += strtoull(p, &p, 10);
        if (*p == '\n')
            p++;
    }
    CHECK_EQ_INT(total, n);
    CHECK_EQ_INT(lines, (n + PEBBLE_EXEC_CHUNK - 1) / PEBBLE_EXEC_CHUNK);
    pebble_exec_result_free(&r);
    free(in);
    extra_out = 0;
}

TEST(several_mib_without_a_deadline)
{
    size_t n = 3 * MIB;
    unsigned char *in = malloc(n);
    memset(in, 'z', n);
    extra_out = 3 * MIB;
    expect_in = n;
    struct pebble_exec_result r = {0};
    net_error e;
    CHECK_EQ_INT(run_exec(sc_echo, in, n, 0, 0, &r, &e, 0), 0);
    CHECK_EQ_INT(r.out.len, 6 * MIB);
    pebble_exec_result_free(&r);
    free(in);
    extra_out = 0;
}

static char seen_key[64];

/* Like hs_ws_accept, but the 101 carries output and the end in the same write. */
static void sc_frames_with_101(int lfd)
{
    struct hs_ws ctl, io;
    hs_ws_accept(lfd, &ctl);
    int fd = hs_accept(lfd);
    struct hs_req r;
    EXPECT(hs_read_request(fd, &r) == 0);
    EXPECT(hs_header(&r, "Sec-WebSocket-Key", seen_key, sizeof seen_key));
    char accept[WS_ACCEPT_LEN + 1], head[256];
    ws_accept_for(seen_key, accept);
    snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    bytebuf b = {0};
    bytebuf_append(&b, head, strlen(head));
    ws_frame_put(&b, WS_BINARY, 1, "no input\n", 9, NULL);
    ws_frame_put(&b, WS_TEXT, 1, END, strlen(END), NULL);
    hs_write_n(fd, b.data, b.len);
    bytebuf_free(&b);
    hs_req_free(&r);
    /* then the client's end of stdin (or nothing, if it was gone) */
    memset(&io, 0, sizeof io);
    io.fd = fd;
    ws_decoder_init(&io.dec, 1 << 20, 1);
    struct ws_event ev;
    if (hs_ws_next(&io, &ev) == 1)
        EXPECT(ev.opcode == WS_TEXT && memcmp(ev.data, END, ev.len) == 0);
    hs_ws_close(&io);
    hs_ws_close(&ctl);
}

/* Without stdin, the server sees the end first. */
static void sc_expect_end_first(int lfd)
{
    struct hs_ws ctl, io;
    hs_ws_accept(lfd, &ctl);
    hs_ws_accept(lfd, &io);
    struct ws_event ev;
    EXPECT(hs_ws_next(&io, &ev) == 1);
    EXPECT(ev.opcode == WS_TEXT && ev.len == strlen(END) && memcmp(ev.data, END, ev.len) == 0);
    hs_ws_send(&io, WS_BINARY, "done\n", 5);
    hs_ws_send(&io, WS_TEXT, "  { \"command\" : \"end\" }  ", 25);
    EXPECT(hs_ws_next(&io, &ev) == 0);
    hs_ws_close(&io);
    hs_ws_close(&ctl);
}

TEST(no_stdin_and_frames_with_the_101)
{
    struct pebble_exec_result r = {0};
    net_error e;
    CHECK_EQ_INT(run_exec(sc_expect_end_first, NULL, 0, 0, 5, &r, &e, 0), 0);
    CHECK_EQ_MEM(r.out.data, r.out.len, "done\n", 5);
    pebble_exec_result_free(&r);
    CHECK_EQ_INT(run_exec(sc_frames_with_101, NULL, 0, 0, 5, &r, &e, 0), 0);
    CHECK_EQ_MEM(r.out.data, r.out.len, "no input\n", 9);
    pebble_exec_result_free(&r);
}

/* ---------------------------------------------------------------- failures */

/* Never ends the output; expects SIGKILL on the control socket. */
static void sc_hang(int lfd)
{
    struct hs_ws ctl, io;
    hs_ws_accept(lfd, &ctl);
    hs_ws_accept(lfd, &io);
    struct ws_event ev;
    EXPECT(hs_ws_next(&io, &ev) == 1);
    EXPECT(ev.opcode == WS_BINARY && ev.len == 3);
    EXPECT(hs_ws_next(&io, &ev) == 1);
    EXPECT(ev.opcode == WS_TEXT);
    hs_ws_send(&io, WS_BINARY, "partial", 7);
    EXPECT(hs_ws_next(&ctl, &ev) == 1);
    EXPECT(ev.opcode == WS_TEXT && ev.len == strlen(KILL) && memcmp(ev.data, KILL, ev.len) == 0);
    EXPECT(hs_ws_next(&ctl, &ev) == 0);
    hs_ws_close(&io);
    hs_ws_close(&ctl);
}

TEST(deadline_sends_sigkill)
{
    struct pebble_exec_result r = {0};
    net_error e;
    int64_t t0 = net_now_ms();
    CHECK_EQ_INT(run_exec(sc_hang, "abc", 3, 0, 0.3, &r, &e, 0), -1);
    int64_t took = net_now_ms() - t0;
    CHECK(took >= 290 && took < 3000);
    CHECK_EQ_INT(e.kind, NET_TIMEOUT);
    CHECK(strstr(e.message, "exec task 7 on /tmp/dispatch-http-") != NULL);
    CHECK(strstr(e.message, "timed out; SIGKILL sent") != NULL);
    CHECK_EQ_INT(r.signal_sent, 1);
    CHECK_EQ_MEM(r.out.data, r.out.len, "partial", 7); /* what came before */
    pebble_exec_result_free(&r);
}

static void sc_stdio_never_opens(int lfd)
{
    struct hs_ws ctl;
    hs_ws_accept(lfd, &ctl);
    int fd = hs_accept(lfd);
    hs_drain_until_eof(fd);   /* reads the upgrade, never answers */
    close(fd);
    struct ws_event ev;
    EXPECT(hs_ws_next(&ctl, &ev) == 0);
    hs_ws_close(&ctl);
}

static void sc_stdio_refused(int lfd)
{
    struct hs_ws ctl, io;
    hs_ws_accept(lfd, &ctl);
    hs_ws_accept_on(hs_accept(lfd), &io, 0);
    hs_write(io.fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 16\r\n\r\n{\"message\":\"no\"}");
    hs_drain_until_eof(io.fd);
    hs_ws_close(&io);
    hs_ws_close(&ctl);
}

TEST(sockets_that_do_not_open)
{
    struct pebble_exec_result r = {0};
    net_error e;
    int64_t t0 = net_now_ms();
    open_ms = 1500;
    CHECK_EQ_INT(run_exec(sc_stdio_never_opens, "x", 1, 0, 0, &r, &e, 0), -1);
    open_ms = 0;
    CHECK(net_now_ms() - t0 < 5000);
    CHECK_EQ_INT(e.kind, NET_TIMEOUT);
    CHECK(strstr(e.message, "the stdio websocket of task 7 did not open within 1500 ms") != NULL);
    pebble_exec_result_free(&r);

    CHECK_EQ_INT(run_exec(sc_stdio_refused, "x", 1, 0, 5, &r, &e, 0), -1);
    CHECK_EQ_INT(e.kind, NET_HANDSHAKE);
    CHECK(strstr(e.message, "cannot open the stdio websocket of task 7: websocket "
                            "/v1/tasks/7/websocket/stdio on") != NULL);
    CHECK(strstr(e.message, "the server answered 404, not 101: {\"message\":\"no\"}") != NULL);
    pebble_exec_result_free(&r);

    struct pebble_exec_opts o = {.deadline = NET_NO_DEADLINE};
    CHECK_EQ_INT(pebble_exec_io("/nonexistent/pebble.socket", "7", &o, &r, &e), -1);
    CHECK_EQ_INT(e.kind, NET_CONNECT);
    CHECK_EQ_STR(e.message, "cannot open the control websocket of task 7: cannot connect to "
                            "/nonexistent/pebble.socket: No such file or directory");
    CHECK_EQ_INT(pebble_exec_io("/nonexistent/pebble.socket", "7/../x", &o, &r, &e), -1);
    CHECK_EQ_INT(e.kind, NET_PROTOCOL);
    CHECK(!pebble_task_id_ok("") && !pebble_task_id_ok("a b") && pebble_task_id_ok("42"));
    pebble_exec_result_free(&r);
}

static int close_how; /* 0: the connection, 1: a close frame, 2: a bad frame, 3: too much */

static void sc_close_early(int lfd)
{
    struct hs_ws ctl, io;
    hs_ws_accept(lfd, &ctl);
    hs_ws_accept(lfd, &io);
    hs_ws_send(&io, WS_BINARY, "some", 4);
    if (close_how == 1) {
        hs_ws_send(&io, WS_CLOSE, "\x03\xf3going away", 12);
    } else if (close_how == 2) {
        static const unsigned char mask[4] = {1, 2, 3, 4};
        bytebuf b = {0};
        ws_frame_put(&b, WS_BINARY, 1, "masked", 6, mask);
        hs_write_n(io.fd, b.data, b.len);
        bytebuf_free(&b);
    } else if (close_how == 3) {
        static char big[PEBBLE_EXEC_CHUNK];
        for (int i = 0; i < 5; i++)
            hs_ws_send(&io, WS_BINARY, big, sizeof big);
    }
    close(io.fd);
    io.fd = -1;
    hs_ws_close(&io);
    struct ws_event ev;
    while (hs_ws_next(&ctl, &ev) == 1)
        ;
    hs_ws_close(&ctl);
}

TEST(output_cut_short)
{
    struct pebble_exec_result r = {0};
    net_error e;
    close_how = 0;
    CHECK_EQ_INT(run_exec(sc_close_early, NULL, 0, 0, 5, &r, &e, 0), -1);
    CHECK_EQ_INT(e.kind, NET_IO);
    CHECK_EQ_STR(e.message, "Pebble closed the stdio websocket of task 7 before the end of its stdout");
    CHECK_EQ_MEM(r.out.data, r.out.len, "some", 4);
    pebble_exec_result_free(&r);
    close_how = 1;
    CHECK_EQ_INT(run_exec(sc_close_early, NULL, 0, 0, 5, &r, &e, 0), -1);
    CHECK_EQ_INT(e.kind, NET_IO);
    CHECK_EQ_STR(e.message, "Pebble closed the stdio websocket of task 7 (code 1011: going away) "
                            "before the end of its stdout");
    pebble_exec_result_free(&r);
    close_how = 2;
    CHECK_EQ_INT(run_exec(sc_close_early, NULL, 0, 0, 5, &r, &e, 0), -1);
    CHECK_EQ_INT(e.kind, NET_PROTOCOL);
    CHECK_EQ_STR(e.message, "bad frame on the stdio websocket of task 7: a masked frame from the server");
    pebble_exec_result_free(&r);
    close_how = 3;
    split = 0;
    struct hs_server s;
    hs_start(&s, sc_close_early);
    struct pebble_exec_opts o = {.deadline = net_deadline_after(5), .max_output = 200000};
    CHECK_EQ_INT(pebble_exec_io(s.path, "7", &o, &r, &e), -1);
    CHECK_EQ_INT(hs_finish(&s), 0);
    CHECK_EQ_INT(e.kind, NET_PROTOCOL);
    CHECK_EQ_STR(e.message, "the stdout of task 7 is larger than the limit of 200000 bytes");
    CHECK(r.out.len <= 200000);
    pebble_exec_result_free(&r);
}

TEST(end_command_recognised)
{
#define IS_END(s) pebble_is_end_command((const unsigned char *)(s), strlen(s))
    CHECK(IS_END("{\"command\":\"end\"}"));
    CHECK(IS_END(" {\n\"x\": {\"command\":\"no\"}, \"command\" : \"end\", \"y\":[1,\"]\"]} "));
    CHECK(!IS_END("{\"command\":\"ending\"}"));
    CHECK(!IS_END("{\"command\":\"signal\",\"signal\":{\"name\":\"SIGTERM\"}}"));
    CHECK(!IS_END("{\"command\":\"end\""));
    CHECK(!IS_END("{\"command\":\"end\"} x"));
    CHECK(!IS_END("[\"command\",\"end\"]"));
    CHECK(!IS_END("{\"command\":\"end\",\"command\":\"other\"}"));
    CHECK(!IS_END(""));
#undef IS_END
}

int main(void)
{
    int fds = count_fds();
    RUN(echo_small);
    RUN(several_mib_both_ways_split_stderr);
    RUN(several_mib_without_a_deadline);
    RUN(no_stdin_and_frames_with_the_101);
    RUN(deadline_sends_sigkill);
    RUN(sockets_that_do_not_open);
    RUN(output_cut_short);
    RUN(end_command_recognised);
    int after = count_fds();
    CHECK_EQ_INT(after, fds);
    if (after != fds)
        fprintf(stderr, "FAIL: %d fds open before, %d after\n", fds, after);
    return ctest_summary();
}
