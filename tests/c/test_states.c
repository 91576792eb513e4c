/*
 * test_states.c - two Lua states in one process, each with the juju module
 * (luaopen_juju) talking to the same forked in-test unit agent
 * (tests/c/agentserver.h), keep one agent connection each.
 *
 * The juju module keeps one transport per lua_State in the registry: made
 * by the first luaopen_juju in that state, reused by later ones (a stale
 * `package.loaded.juju = nil; require "juju"` included), freed by __gc when
 * the state closes. Before that (commit b767850: one transport for the
 * whole process, reset by the __gc of any module instance) this test
 * failed, as checked against that commit: the second state's first call
 * went out on the first state's connection (Seq 1, no second connection,
 * so the server's alarm ended it), and closing a state or collecting a
 * stale module instance closed the connection the other was still using.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "agentserver.h"
#include "ctest.h"
#include "testutil.h"

int luaopen_juju(lua_State *L);

/* One is-leader request on sc with Seq seq (and the type definitions only
 * when it is the connection's first), answered "true". */
static void serve_is_leader(struct srv_conn *sc, uint64_t seq)
{
    struct req_seen r;
    EXPECT(read_request(sc, &r) == 0);
    EXPECT(r.seq == seq);
    EXPECT(r.defs == (seq == 0 ? 3 : 0));
    EXPECT(strcmp(r.ctx, "ctx-states") == 0);
    EXPECT(strcmp(r.cmd, "is-leader") == 0);
    EXPECT(r.nargs == 1 && strcmp(r.args[0], "--format=json") == 0);
    reply(sc, r.seq, 0, "true\n", NULL, NULL);
}

/* What the server expects, in this order:
 *   A: state 1's first call (Seq 0)
 *   B: state 2's first call (Seq 0), then EOF when state 2 is closed
 *   A: state 1's second call, Seq 1: the same connection
 *   A: after a stale module instance was collected, Seq 2
 *   A: EOF when state 1 is closed; nobody ever connected a third time */
static void sc_two_states(int lfd)
{
    struct srv_conn a, b;
    struct req_seen r;
    alarm(20);   /* with one connection for both states, B never comes */
    srv_accept(lfd, &a);
    serve_is_leader(&a, 0);
    srv_accept(lfd, &b);
    serve_is_leader(&b, 0);
    EXPECT(read_request(&b, &r) == -1);   /* lua_close of state 2 */
    srv_close(&b);
    serve_is_leader(&a, 1);
    serve_is_leader(&a, 2);
    EXPECT(read_request(&a, &r) == -1);   /* lua_close of state 1 */
    srv_close(&a);
    EXPECT(srv_none_waiting(lfd));
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return NULL;
    luaL_openlibs(L);
    luaL_requiref(L, "juju", luaopen_juju, 1);
    lua_pop(L, 1);
    /* so that require "juju" finds it again once package.loaded forgets it */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_juju);
    lua_setfield(L, -2, "juju");
    lua_pop(L, 1);
    return L;
}

/* Run Lua code; 1 when it ran without error (else the error is printed). */
static int run_lua(lua_State *L, const char *code)
{
    if (luaL_dostring(L, code) == LUA_OK) {
        lua_settop(L, 0);
        return 1;
    }
    fprintf(stderr, "  lua: %s\n", luaL_tolstring(L, -1, NULL));
    lua_settop(L, 0);
    return 0;
}

TEST(two_states_two_connections)
{
    struct server s;
    start_server(&s, 0, sc_two_states);
    setenv("JUJU_CONTEXT_ID", "ctx-states", 1);
    setenv("JUJU_AGENT_SOCKET_NETWORK", "unix", 1);
    setenv("JUJU_AGENT_SOCKET_ADDRESS", s.addr, 1);
    unsetenv("DISPATCH_TRANSPORT");
    unsetenv("JUJU_AGENT_TOKEN");

    lua_State *one = new_state();
    lua_State *two = new_state();
    CHECK(one != NULL && two != NULL);
    if (one != NULL && two != NULL) {
        CHECK(run_lua(one, "assert(juju.transport() == 'socket')"));
        CHECK(run_lua(one, "assert(juju.is_leader() == true)"));
        CHECK(run_lua(two, "assert(juju.is_leader() == true)"));
        lua_close(two);
        two = NULL;
        CHECK(run_lua(one, "assert(juju.is_leader() == true)"));
        /* A stale module instance: forget it everywhere, load it again,
         * collect the old one. The state's connection stays. */
        CHECK(run_lua(one, "package.loaded.juju = nil\n"
                           "local old = juju\n"
                           "juju = nil\n"
                           "local j = require 'juju'\n"
                           "assert(j ~= old)\n"
                           "old = nil\n"
                           "collectgarbage()\n"
                           "collectgarbage()\n"
                           "assert(j.is_leader() == true)\n"));
    }
    if (two != NULL)
        lua_close(two);
    if (one != NULL)
        lua_close(one);
    CHECK_EQ_INT(finish_server(&s), 0);
    unsetenv("JUJU_CONTEXT_ID");
    unsetenv("JUJU_AGENT_SOCKET_NETWORK");
    unsetenv("JUJU_AGENT_SOCKET_ADDRESS");
}

int main(void)
{
    int fds = count_fds();
    RUN(two_states_two_connections);
    ctest_name = "no_fd_leaks";
    CHECK_EQ_INT(count_fds(), fds);
    return ctest_summary();
}
