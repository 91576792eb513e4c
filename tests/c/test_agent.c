/*
 * test_agent.c - the agent socket client (src/agent.c) against real unix
 * sockets: a forked in-test server (tests/c/agentserver.h) that reads our
 * requests with the gob decoder and answers with replies built like Go's
 * net/rpc server, plus hostile servers; and build/fake-agent (Go net/rpc)
 * when $B has it. The server child checks what it received and reports
 * through its exit status. The transport selection (src/transport.c) is
 * tested here too, with the same servers. agent_adopt is tested on a
 * socketpair.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "agentserver.h"
#include "ctest.h"
#include "gob.h"
#include "testutil.h"
#include "transport.h"

#define NEEDS_STDIN "hook tool requires stdin, none supplied"

/* ---------------------------------------------------------------- scenarios */

static void sc_normal(int lfd)
{
    struct srv_conn sc;
    struct req_seen r;
    srv_accept(lfd, &sc);
    EXPECT(read_request(&sc, &r) == 0);
    EXPECT(r.defs == 3 && r.seq == 0);
    EXPECT(strcmp(r.ctx, "ctx-1") == 0 && strcmp(r.dir, "/charm") == 0);
    EXPECT(strcmp(r.cmd, "config-get") == 0 && r.nargs == 2);
    EXPECT(strcmp(r.args[0], "--format=json") == 0 && strcmp(r.args[1], "key") == 0);
    EXPECT(r.stdin_set == 0 && strcmp(r.token, "tok") == 0);
    reply(&sc, r.seq, 0, "\"v\"\n", "warn\n", NULL);
    EXPECT(read_request(&sc, &r) == -1);   /* the client closed */
    srv_close(&sc);
}

static void sc_three(int lfd)
{
    struct srv_conn sc;
    struct req_seen r;
    srv_accept(lfd, &sc);
    for (uint64_t i = 0; i < 3; i++) {
        EXPECT(read_request(&sc, &r) == 0);
        EXPECT(r.seq == i);
        EXPECT(r.defs == (i == 0 ? 3 : 0));   /* the preamble only once */
        char out[32];
        snprintf(out, sizeof out, "call %d\n", (int)i);
        reply(&sc, r.seq, (int64_t)i, out, NULL, NULL);
    }
    EXPECT(read_request(&sc, &r) == -1);
    srv_close(&sc);
}

static void sc_stdin_retry(int lfd)
{
    struct srv_conn sc;
    struct req_seen r;
    srv_accept(lfd, &sc);
    EXPECT(read_request(&sc, &r) == 0);
    EXPECT(r.seq == 0 && r.stdin_set == 0);
    reply(&sc, r.seq, 0, NULL, NULL, NEEDS_STDIN);
    EXPECT(read_request(&sc, &r) == 0);
    EXPECT(r.seq == 1 && r.defs == 0 && r.stdin_set == 1 && r.stdin_len == 0);
    EXPECT(strcmp(r.cmd, "relation-set") == 0 && r.nargs == 2);
    reply(&sc, r.seq, 0, "retried\n", NULL, NULL);
    /* a later call on the same connection carries on from Seq 2 */
    EXPECT(read_request(&sc, &r) == 0);
    EXPECT(r.seq == 2 && r.stdin_set == 0);
    reply(&sc, r.seq, 0, "next\n", NULL, NULL);
    EXPECT(read_request(&sc, &r) == -1);
    srv_close(&sc);
}

static void sc_stdin_presend(int lfd)
{
    struct srv_conn sc;
    struct req_seen r;
    srv_accept(lfd, &sc);
    EXPECT(read_request(&sc, &r) == 0);
    EXPECT(r.stdin_set == 1 && r.stdin_len == 5 && strcmp(r.stdin_head, "a: b\n") == 0);
    reply(&sc, r.seq, 0, NULL, NULL, NULL);
    EXPECT(read_request(&sc, &r) == -1);
    srv_close(&sc);
}

static void sc_rpc_error(int lfd)
{
    struct srv_conn sc;
    struct req_seen r;
    srv_accept(lfd, &sc);
    EXPECT(read_request(&sc, &r) == 0);
    reply(&sc, r.seq, 0, NULL, NULL, "bad request: unknown command: nope");
    EXPECT(read_request(&sc, &r) == 0);
    EXPECT(r.seq == 1);
    reply(&sc, r.seq, 0, "fine\n", NULL, NULL);
    EXPECT(read_request(&sc, &r) == -1);
    srv_close(&sc);
}

static void sc_close_mid_reply(int lfd)
{
    struct srv_conn sc;
    struct req_seen r;
    srv_accept(lfd, &sc);
    EXPECT(read_request(&sc, &r) == 0);
    struct gob_reply g = { 0 };
    bytebuf_append(&g.out, "never\n", 6);
    bytebuf b = { 0 };
    gob_put_jujuc_reply(&b, 68, 1, 69, 1, r.seq, &g);
    write_all(sc.fd, b.data, b.len / 2);
    bytebuf_free(&b);
    gob_reply_free(&g);
    srv_close(&sc);
    /* the client's next connection is a fresh stream */
    srv_accept(lfd, &sc);
    EXPECT(read_request(&sc, &r) == 0);
    EXPECT(r.seq == 0 && r.defs == 3);
    reply(&sc, r.seq, 0, "again\n", NULL, NULL);
    EXPECT(read_request(&sc, &r) == -1);
    srv_close(&sc);
}

/* Bytes a hostile server answers with, one connection each. */
static const char *const hostile[] = {
    "\xfc\x40\x00\x00\x00\xff\x87",                       /* a 1 GiB message */
    "\xf7\x01\x02\x03\x04\x05\x06\x07\x08\x09",           /* a 9-byte length */
    "\x03\xff\x90\x00",                                   /* value of an undefined type */
    "garbage garbage garbage garbage",
    "\x3a\xff\x87\x03\x01\x01",                           /* truncated, then closed */
    "",                                                   /* closed without a word */
};
#define NHOSTILE (sizeof hostile / sizeof hostile[0])

static void sc_hostile(int lfd)
{
    struct srv_conn sc;
    struct req_seen r;
    for (size_t i = 0; i < NHOSTILE + 2; i++) {
        srv_accept(lfd, &sc);
        EXPECT(read_request(&sc, &r) == 0);
        if (i < NHOSTILE) {
            write_all(sc.fd, hostile[i], strlen(hostile[i]));
        } else if (i == NHOSTILE) {
            reply(&sc, r.seq + 5, 0, "wrong seq\n", NULL, NULL);    /* Seq mismatch */
        } else {
            reply(&sc, r.seq, INT64_C(1) << 40, NULL, NULL, NULL);  /* Code not an int */
        }
        srv_close(&sc);
    }
}

static void sc_gone(int lfd)
{
    struct srv_conn sc;
    srv_accept(lfd, &sc);
    srv_close(&sc);   /* before reading anything: the client's send fails */
}

/* ---------------------------------------------------------------- harness */

static const char *const cg_args[] = { "--format=json", "key" };
static const struct agent_request config_get = {
    .context_id = "ctx-1", .dir = "/charm", .command = "config-get",
    .args = cg_args, .nargs = 2, .token = "tok",
};

/* A client on a fresh in-test server running scenario fn. */
static agent_conn *serve(struct server *s, int abstract, void (*fn)(int))
{
    start_server(s, abstract, fn);
    return agent_open(s->addr, NULL, 0);
}

/* Close the client, then the server's verdict (0 when all it checked held). */
static int close_and_finish(struct server *s, agent_conn *c)
{
    agent_close(c);
    return finish_server(s);
}

/* One call that must go through (agent_call 0) and exit with code and
 * exactly stdout out (NULL: no stdout). Prints what it got when not. */
static int call_gives(agent_conn *c, const struct agent_request *r, int64_t code, const char *out)
{
    outcome o = { 0 };
    int rc = agent_call(c, r, &o);
    int ok = rc == 0 && o.kind == OUTCOME_EXITED && o.code == code &&
             (out == NULL ? o.out.len == 0 : o.out.data != NULL && strcmp(o.out.data, out) == 0);
    if (!ok)
        fprintf(stderr, "  %s: rc %d, kind %d, code %lld, stdout \"%s\", stderr \"%s\"\n",
                r->command, rc, (int)o.kind, (long long)o.code, o.out.data ? o.out.data : "",
                o.err.data ? o.err.data : "");
    outcome_free(&o);
    return ok;
}

static int err_is(const outcome *o, const char *prefix)
{
    return o->err.data != NULL && strncmp(o->err.data, prefix, strlen(prefix)) == 0 &&
           o->err.data[o->err.len - 1] == '\n';
}

/* ---------------------------------------------------------------- tests */

static void normal_reply_on(int abstract)
{
    struct server s;
    start_server(&s, abstract, sc_normal);
    char err[256] = "";
    agent_conn *c = agent_open(s.addr, err, sizeof err);
    CHECK(c != NULL);
    if (c == NULL) {
        fprintf(stderr, "  open %s: %s\n", s.addr, err);
        finish_server(&s);
        return;
    }
    outcome o = { 0 };
    CHECK_EQ_INT(agent_call(c, &config_get, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.out.data, "\"v\"\n");
    CHECK_EQ_STR(o.err.data, "warn\n");
    CHECK(agent_alive(c));
    outcome_free(&o);
    agent_close(c);
    CHECK_EQ_INT(finish_server(&s), 0);
}

TEST(normal_reply_path_socket) { normal_reply_on(0); }
TEST(normal_reply_abstract_socket) { normal_reply_on(1); }

TEST(three_calls_one_connection)
{
    struct server s;
    agent_conn *c = serve(&s, 0, sc_three);
    CHECK(c != NULL);
    for (int i = 0; c && i < 3; i++) {
        char want[32];
        snprintf(want, sizeof want, "call %d\n", i);
        CHECK(call_gives(c, &config_get, i, want));
    }
    CHECK_EQ_INT(close_and_finish(&s, c), 0);
}

TEST(stdin_retry)
{
    struct server s;
    agent_conn *c = serve(&s, 0, sc_stdin_retry);
    static const char *const args[] = { "--file", "-" };
    struct agent_request r = { .context_id = "c", .dir = "/d", .command = "relation-set",
                               .args = args, .nargs = 2 };
    CHECK(call_gives(c, &r, 0, "retried\n"));
    CHECK(call_gives(c, &config_get, 0, "next\n"));
    CHECK_EQ_INT(close_and_finish(&s, c), 0);
}

TEST(stdin_presend)
{
    struct server s;
    agent_conn *c = serve(&s, 1, sc_stdin_presend);
    struct agent_request r = { .context_id = "c", .dir = "/d", .command = "relation-set",
                               .stdin_data = "a: b\n", .stdin_len = 5 };
    CHECK(call_gives(c, &r, 0, NULL));
    CHECK_EQ_INT(close_and_finish(&s, c), 0);
}

TEST(rpc_error_is_exit_1)
{
    struct server s;
    agent_conn *c = serve(&s, 0, sc_rpc_error);
    outcome o = { 0 };
    CHECK_EQ_INT(agent_call(c, &config_get, &o), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 1);
    CHECK_EQ_STR(o.err.data, "ERROR bad request: unknown command: nope\n");
    CHECK_EQ_INT(o.out.len, 0);
    CHECK(agent_alive(c));
    outcome_free(&o);
    CHECK(call_gives(c, &config_get, 0, "fine\n"));
    CHECK_EQ_INT(close_and_finish(&s, c), 0);
}

TEST(server_closes_mid_reply)
{
    struct server s;
    agent_conn *c = serve(&s, 0, sc_close_mid_reply);
    outcome o = { 0 };
    CHECK_EQ_INT(agent_call(c, &config_get, &o), -1);
    CHECK_EQ_INT(o.code, 1);
    CHECK(err_is(&o, "ERROR "));
    CHECK(!agent_alive(c));
    outcome_free(&o);
    /* a dead connection refuses further calls */
    CHECK_EQ_INT(agent_call(c, &config_get, &o), -1);
    outcome_free(&o);
    agent_close(c);
    c = agent_open(s.addr, NULL, 0);
    CHECK(call_gives(c, &config_get, 0, "again\n"));
    CHECK_EQ_INT(close_and_finish(&s, c), 0);
}

TEST(hostile_replies)
{
    struct server s;
    start_server(&s, 0, sc_hostile);
    for (size_t i = 0; i < NHOSTILE + 2; i++) {
        agent_conn *c = agent_open(s.addr, NULL, 0);
        CHECK(c != NULL);
        outcome o = { 0 };
        CHECK_EQ_INT(agent_call(c, &config_get, &o), -1);
        CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
        CHECK_EQ_INT(o.code, 1);
        CHECK(err_is(&o, "ERROR "));
        CHECK(!agent_alive(c));
        outcome_free(&o);
        agent_close(c);
    }
    CHECK_EQ_INT(finish_server(&s), 0);
}

TEST(peer_gone_is_not_sigpipe)
{
    struct server s;
    start_server(&s, 0, sc_gone);
    agent_conn *c = agent_open(s.addr, NULL, 0);
    CHECK_EQ_INT(finish_server(&s), 0);   /* it has closed by now */
    size_t n = 4 << 20;
    char *big = calloc(1, n);
    struct agent_request r = config_get;
    r.stdin_data = big;
    r.stdin_len = n;
    outcome o = { 0 };
    CHECK_EQ_INT(agent_call(c, &r, &o), -1);   /* EPIPE/ECONNRESET, and we are alive */
    CHECK(err_is(&o, "ERROR "));
    outcome_free(&o);
    free(big);
    agent_close(c);
}

TEST(open_errors)
{
    char err[256] = "";
    CHECK(agent_open("/nonexistent/dir/agent.socket", err, sizeof err) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
    char longpath[200];
    memset(longpath, 'x', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    err[0] = '\0';
    CHECK(agent_open(longpath, err, sizeof err) == NULL);
    CHECK(strstr(err, "too long") != NULL);
    longpath[0] = '@';
    CHECK(agent_open(longpath, err, sizeof err) == NULL);
    CHECK(strstr(err, "too long") != NULL);
    char name[64];
    snprintf(name, sizeof name, "@dispatch-test-nobody-%d", (int)getpid());
    CHECK(agent_open(name, err, sizeof err) == NULL);
    CHECK(strstr(err, "refused") != NULL);
    CHECK(agent_open("", err, sizeof err) == NULL);
    CHECK(agent_open(NULL, NULL, 0) == NULL);
    agent_close(NULL);
}

/* An already connected socket: the reply is waiting before the request
 * goes out; the request arrives whole; closing closes the adopted fd. */
TEST(adopt_a_connected_socket)
{
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct srv_conn peer = { .fd = sv[1], .types = gob_types_new() };
    reply(&peer, 0, 7, "adopted\n", NULL, NULL);
    agent_conn *c = agent_adopt(sv[0]);
    CHECK(c != NULL && agent_alive(c));
    CHECK(call_gives(c, &config_get, 7, "adopted\n"));
    struct req_seen r;
    CHECK_EQ_INT(read_request(&peer, &r), 0);
    CHECK(r.defs == 3 && r.seq == 0 && strcmp(r.cmd, "config-get") == 0);
    CHECK(strcmp(r.ctx, "ctx-1") == 0 && strcmp(r.token, "tok") == 0);
    agent_close(c);
    CHECK_EQ_INT(read_request(&peer, &r), -1);   /* our end is closed */
    CHECK_EQ_INT(fcntl(sv[0], F_GETFD), -1);
    srv_close(&peer);
}

/* ---------------------------------------------------------------- transport */

static char expect_dir[4096];   /* set before the fork; the child reads it */

static void sc_transport(int lfd)
{
    struct srv_conn sc;
    struct req_seen r;
    srv_accept(lfd, &sc);
    for (uint64_t i = 0; i < 2; i++) {
        EXPECT(read_request(&sc, &r) == 0);
        EXPECT(r.seq == i && strcmp(r.ctx, "ctx-t") == 0 && strcmp(r.token, "tk") == 0);
        EXPECT(strcmp(r.dir, expect_dir) == 0);
        EXPECT(strcmp(r.cmd, "is-leader") == 0 && r.nargs == 1);
        EXPECT(strcmp(r.args[0], "--format=json") == 0);
        reply(&sc, r.seq, 0, "true\n", NULL, NULL);
    }
    /* the third call finds the connection gone; the fourth reconnects */
    EXPECT(read_request(&sc, &r) == 0);
    srv_close(&sc);
    srv_accept(lfd, &sc);
    EXPECT(read_request(&sc, &r) == 0);
    EXPECT(r.seq == 0 && r.defs == 3 && r.stdin_set == 1 && strcmp(r.stdin_head, "in") == 0);
    reply(&sc, r.seq, 4, "again\n", NULL, NULL);
    srv_close(&sc);
}

/* The transport under test; clear_env makes sure there is one. */
static transport *tp;

static void clear_env(void)
{
    if (tp == NULL)
        tp = transport_new();
    unsetenv("DISPATCH_TRANSPORT");
    unsetenv("JUJU_CONTEXT_ID");
    unsetenv("JUJU_AGENT_SOCKET_ADDRESS");
    unsetenv("JUJU_AGENT_SOCKET_NETWORK");
    unsetenv("JUJU_AGENT_TOKEN");
    transport_reset(tp);
}

static const char *const echo_argv[] = { "sh", "-c", "echo exec:$0", NULL };

TEST(transport_selection)
{
    clear_env();
    CHECK_EQ_STR(transport_name(tp), "exec");
    outcome o = { 0 };
    const char *note = "x";
    CHECK_EQ_INT(transport_run(tp, echo_argv, NULL, 0, &o, &note), 0);
    CHECK_EQ_STR(o.out.data, "exec:sh\n");
    CHECK(note == NULL);
    outcome_free(&o);

    setenv("JUJU_CONTEXT_ID", "ctx-t", 1);
    setenv("JUJU_AGENT_SOCKET_ADDRESS", "@dispatch-test-nothing-here", 1);
    setenv("JUJU_AGENT_SOCKET_NETWORK", "tcp", 1);
    transport_reset(tp);
    CHECK_EQ_STR(transport_name(tp), "exec");      /* tcp/TLS stays on jujuc */
    setenv("JUJU_AGENT_SOCKET_NETWORK", "unix", 1);
    CHECK_EQ_STR(transport_name(tp), "exec");      /* chosen until reset */
    transport_reset(tp);
    CHECK_EQ_STR(transport_name(tp), "socket");
    setenv("DISPATCH_TRANSPORT", "exec", 1);
    transport_reset(tp);
    CHECK_EQ_STR(transport_name(tp), "exec");
    clear_env();
}

TEST(transport_falls_back_once)
{
    clear_env();
    setenv("JUJU_CONTEXT_ID", "ctx-t", 1);
    setenv("JUJU_AGENT_SOCKET_ADDRESS", "@dispatch-test-nothing-here", 1);
    setenv("JUJU_AGENT_SOCKET_NETWORK", "unix", 1);
    outcome o = { 0 };
    const char *note = NULL;
    CHECK_EQ_INT(transport_run(tp, echo_argv, NULL, 0, &o, &note), 0);
    CHECK_EQ_STR(o.out.data, "exec:sh\n");
    CHECK(note != NULL && strstr(note, "@dispatch-test-nothing-here") != NULL);
    CHECK_EQ_STR(transport_name(tp), "exec");
    outcome_free(&o);
    CHECK_EQ_INT(transport_run(tp, echo_argv, NULL, 0, &o, &note), 0);
    CHECK(note == NULL);
    outcome_free(&o);

    /* forced: an error outcome, no fallback */
    setenv("DISPATCH_TRANSPORT", "socket", 1);
    transport_reset(tp);
    CHECK_EQ_INT(transport_run(tp, echo_argv, NULL, 0, &o, &note), 0);
    CHECK_EQ_INT(o.kind, OUTCOME_EXITED);
    CHECK_EQ_INT(o.code, 1);
    CHECK(err_is(&o, "ERROR cannot connect to unit agent at @dispatch-test-nothing-here: "));
    CHECK_EQ_INT(o.out.len, 0);
    CHECK_EQ_STR(transport_name(tp), "socket");
    outcome_free(&o);
    unsetenv("JUJU_CONTEXT_ID");
    CHECK_EQ_INT(transport_run(tp, echo_argv, NULL, 0, &o, &note), 0);
    CHECK_EQ_STR(o.err.data, "ERROR JUJU_CONTEXT_ID not set\n");
    outcome_free(&o);
    clear_env();
}

TEST(transport_over_the_socket)
{
    clear_env();
    char *cwd = getcwd(NULL, 0);
    char *real = realpath(cwd, NULL);
    snprintf(expect_dir, sizeof expect_dir, "%s", real);
    free(cwd);
    free(real);
    struct server s;
    start_server(&s, 0, sc_transport);
    setenv("JUJU_CONTEXT_ID", "ctx-t", 1);
    setenv("JUJU_AGENT_SOCKET_ADDRESS", s.addr, 1);
    setenv("JUJU_AGENT_SOCKET_NETWORK", "unix", 1);
    setenv("JUJU_AGENT_TOKEN", "tk", 1);
    static const char *const argv[] = { "/usr/bin/is-leader", "--format=json", NULL };
    outcome o = { 0 };
    const char *note = NULL;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(transport_run(tp, argv, NULL, 0, &o, &note), 0);
        CHECK_EQ_STR(o.out.data, "true\n");
        CHECK(note == NULL);
        outcome_free(&o);
    }
    CHECK_EQ_STR(transport_name(tp), "socket");
    CHECK_EQ_INT(transport_run(tp, argv, NULL, 0, &o, &note), 0);
    CHECK_EQ_INT(o.code, 1);
    CHECK(err_is(&o, "ERROR "));
    outcome_free(&o);
    CHECK_EQ_INT(transport_run(tp, argv, "in", 2, &o, &note), 0);
    CHECK_EQ_INT(o.code, 4);
    CHECK_EQ_STR(o.out.data, "again\n");
    outcome_free(&o);
    CHECK_EQ_INT(finish_server(&s), 0);
    clear_env();
}

/* Two transports, two connections: freeing one leaves the other's alone
 * (its next call is Seq 1 on the same connection, not a reconnect). */
static void sc_two_transports(int lfd)
{
    struct srv_conn one, two;
    struct req_seen r;
    srv_accept(lfd, &one);
    EXPECT(read_request(&one, &r) == 0 && r.seq == 0);
    reply(&one, r.seq, 0, "one\n", NULL, NULL);
    srv_accept(lfd, &two);
    EXPECT(read_request(&two, &r) == 0 && r.seq == 0);
    reply(&two, r.seq, 0, "two\n", NULL, NULL);
    EXPECT(read_request(&two, &r) != 0);          /* closed by transport_free */
    srv_close(&two);
    EXPECT(read_request(&one, &r) == 0 && r.seq == 1);
    reply(&one, r.seq, 0, "one again\n", NULL, NULL);
    srv_close(&one);
}

TEST(two_transports_are_independent)
{
    clear_env();
    struct server s;
    start_server(&s, 0, sc_two_transports);
    setenv("JUJU_CONTEXT_ID", "ctx-t", 1);
    setenv("JUJU_AGENT_SOCKET_ADDRESS", s.addr, 1);
    setenv("JUJU_AGENT_SOCKET_NETWORK", "unix", 1);
    static const char *const argv[] = { "is-leader", NULL };
    transport *other = transport_new();
    CHECK(other != NULL);
    outcome o = { 0 };
    CHECK_EQ_INT(transport_run(tp, argv, NULL, 0, &o, NULL), 0);
    CHECK_EQ_STR(o.out.data, "one\n");
    outcome_free(&o);
    CHECK_EQ_INT(transport_run(other, argv, NULL, 0, &o, NULL), 0);
    CHECK_EQ_STR(o.out.data, "two\n");
    outcome_free(&o);
    transport_free(other);
    CHECK_EQ_INT(transport_run(tp, argv, NULL, 0, &o, NULL), 0);
    CHECK_EQ_STR(o.out.data, "one again\n");
    outcome_free(&o);
    clear_env();
    CHECK_EQ_INT(finish_server(&s), 0);
}

/* ---------------------------------------------------------------- Go agent */

static void write_script(const char *dir, const char *name, const char *body)
{
    char path[PATH_MAX], text[512];
    pathf(path, "%s/%s", dir, name);
    snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
    if (write_text(path, text, 0755) != 0)
        abort();
}

TEST(against_go_fake_agent)
{
    char bin[PATH_MAX];
    pathf(bin, "%s/fake-agent", build_dir());
    if (access(bin, X_OK) != 0) {
        printf("(skipping the Go fake agent: %s not built)\n", bin);
        return;
    }
    char dir[PATH_MAX];
    if (make_tmpdir(dir, sizeof dir, "test_agent") != 0)
        abort();
    write_script(dir, "is-leader", "echo True");
    write_script(dir, "relation-set", "printf 'stdin=['; cat; printf ']'; echo oops >&2; exit 3");
    char sock[300];
    snprintf(sock, sizeof sock, "@dispatch-test-fake-%d", (int)getpid());

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        execl(bin, bin, "-socket", sock, "-bin", dir, "-context", "ctx-9", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char ready[16] = "";
    ssize_t n = read(pfd[0], ready, sizeof ready - 1);
    CHECK(n == 6 && strcmp(ready, "ready\n") == 0);

    agent_conn *c = agent_open(sock, NULL, 0);
    CHECK(c != NULL);
    struct agent_request r = { .context_id = "ctx-9", .dir = dir, .command = "is-leader" };
    for (int i = 0; c && i < 3; i++)
        CHECK(call_gives(c, &r, 0, "True\n"));
    /* --file - with no stdin: the server asks, we retry with empty stdin */
    static const char *const args[] = { "--file", "-" };
    struct agent_request rs = { .context_id = "ctx-9", .dir = dir, .command = "relation-set",
                                .args = args, .nargs = 2 };
    outcome o = { 0 };
    CHECK_EQ_INT(agent_call(c, &rs, &o), 0);
    CHECK_EQ_INT(o.code, 3);
    CHECK_EQ_STR(o.out.data, "stdin=[]");
    CHECK_EQ_STR(o.err.data, "oops\n");
    outcome_free(&o);
    rs.stdin_data = "k: v\n";
    rs.stdin_len = 5;
    CHECK(call_gives(c, &rs, 3, "stdin=[k: v\n]"));
    /* a wrong context id is an RPC error: exit 1, "ERROR bad request: ..." */
    r.context_id = "other";
    CHECK_EQ_INT(agent_call(c, &r, &o), 0);
    CHECK_EQ_INT(o.code, 1);
    CHECK(err_is(&o, "ERROR bad request: wrong context ID"));
    outcome_free(&o);
    agent_close(c);

    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    close(pfd[0]);
    remove_tree(dir);
}

int main(void)
{
    int fds = count_fds();
    RUN(normal_reply_path_socket);
    RUN(normal_reply_abstract_socket);
    RUN(three_calls_one_connection);
    RUN(stdin_retry);
    RUN(stdin_presend);
    RUN(rpc_error_is_exit_1);
    RUN(server_closes_mid_reply);
    RUN(hostile_replies);
    RUN(peer_gone_is_not_sigpipe);
    RUN(open_errors);
    RUN(adopt_a_connected_socket);
    RUN(against_go_fake_agent);
    RUN(transport_selection);
    RUN(transport_falls_back_once);
    RUN(transport_over_the_socket);
    RUN(two_transports_are_independent);
    transport_free(tp);
    ctest_name = "no_fd_leaks";
    CHECK_EQ_INT(count_fds(), fds);
    return ctest_summary();
}
