/*
 * pebble_io.c - juju.pebble.io: Pebble's HTTP API and exec's I/O for Lua
 * (see pebble_io.h). Built by luaopen_juju, which makes it
 * `require "juju.pebble.io"`.
 *
 * The arguments are all checked (and raise) before anything is allocated
 * or connected. The response (or the exec's output) lives in a
 * to-be-closed guard while it is pushed, so memory running out there still
 * frees it; http_do and pebble_exec_io close every socket before they
 * return.
 */
#include "pebble_io.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "closer.h"
#include "embedded.h"
#include "http.h"
#include "lauxlib.h"
#include "luaargs.h"
#include "pebble_exec.h"

/* Registry key: the state's juju.pebble.io table. */
static const char REG_PEBBLE_IO = 'p';

#define RESPONSE_MT "juju.pebble.io.Response"
#define EXEC_MT "juju.pebble.io.ExecResult"

/*** Pebble's API over its unix socket, as thin as the wire.
HTTP/1.1 requests (one connection each, `Connection: close`) and the
websocket I/O of a command started with `POST /v1/exec`. The Pebble client
`juju.pebble` builds on these; use it rather than this table.

Failures are returned, not raised: `nil`, a message naming the socket and
what went wrong, and a kind:

* `"connect"`: the socket is missing or refuses (`cannot connect to
  /charm/containers/web/pebble.socket: No such file or directory`)
* `"timeout"`: the time given ran out (`timed out waiting for the response
  from /charm/containers/web/pebble.socket`)
* `"protocol"`: the answer is not HTTP or breaks a limit (`malformed HTTP
  response from ...: invalid HTTP status code (HPE_INVALID_STATUS)`)
* `"handshake"` (exec only): a websocket was refused (`cannot open the stdio
  websocket of task 7: websocket /v1/tasks/7/websocket/stdio on ...: the
  server answered 404, not 101: {...}`)
* `"io"`: a read or write failed, or Pebble closed a connection too early
  (`reading the response from ...: the server closed the connection in the
  middle of the body (10 bytes in)`)

Bad arguments raise.
@module juju.pebble.io
*/

/* ------------------------------------------------------------ helpers */

/* Seconds at idx (a number > 0) as a deadline. */
static int64_t deadline_arg(lua_State *L, int idx, int argn, const char *what)
{
    int isnum = 0;
    lua_Number t = lua_tonumberx(L, idx, &isnum);
    if (lua_type(L, idx) != LUA_TNUMBER || !isnum || !(t > 0))
        luaL_argerror(L, argn, lua_pushfstring(L, "%s must be a number of seconds > 0", what));
    return net_deadline_after((double)t);
}

/* connect_timeout at idx (seconds > 0) in milliseconds, at most
 * PEBBLE_EXEC_OPEN_MS: Pebble gives the websockets no longer. */
static int open_ms_arg(lua_State *L, int idx, int argn)
{
    int isnum = 0;
    lua_Number t = lua_tonumberx(L, idx, &isnum);
    if (lua_type(L, idx) != LUA_TNUMBER || !isnum || !(t > 0))
        luaL_argerror(L, argn, "connect_timeout must be a number of seconds > 0");
    double ms = ceil((double)t * 1000.0);
    return ms < PEBBLE_EXEC_OPEN_MS ? (int)ms : PEBBLE_EXEC_OPEN_MS;
}

static int push_failure(lua_State *L, const net_error *e)
{
    lua_pushnil(L);
    lua_pushstring(L, e->message);
    lua_pushstring(L, net_kind_name(e->kind));
    return 3;
}

static int response_close(lua_State *L)
{
    http_response_free(luaL_checkudata(L, 1, RESPONSE_MT));
    return 0;
}

static int exec_close(lua_State *L)
{
    pebble_exec_result_free(luaL_checkudata(L, 1, EXEC_MT));
    return 0;
}

/* ------------------------------------------------------------ request */

/*** Send one HTTP request to Pebble and read the whole response.
The request carries `Host: localhost`, the headers given, `Content-Length`
when there is a body, and `Connection: close`. The response's body may
come with a `Content-Length`, chunked, or run until Pebble closes; at most
64 KiB of status line and headers and 256 MiB of body are accepted (a
larger `Content-Length` claim fails at once, without reading it).
@tparam string socket_path Pebble's unix socket (`/charm/containers/web/pebble.socket`)
@tparam string method `"GET"`, `"POST"`, ...
@tparam string target the path and query (`"/v1/changes/4/wait?timeout=4.000s"`),
starting with `/`, no spaces
@tparam[opt] table headers name -> string value (not `Host`,
`Content-Length`, `Transfer-Encoding` or `Connection`, which are the
client's)
@tparam[opt] string body sent as it is
@tparam number timeout seconds (> 0) for all of it: connecting, sending,
reading
@treturn[1] int the status code
@treturn[1] table the headers, names lowercased -> value (a repeated
header's values joined with `", "`)
@treturn[1] string the body (`""` for none)
@treturn[2] nil
@treturn[2] string what failed, naming the socket
@treturn[2] string the kind: `"connect"`, `"timeout"`, `"protocol"` or `"io"`
@raise on bad arguments (a method that is not a token, a target without
a leading `/` or with a space, a header name that is not a token, a value
with CR or LF, a header the client sets itself, a timeout that is not a
positive number)
@usage local status, headers, body = io.request(sock, "POST", "/v1/services",
  {["Content-Type"] = "application/json", Accept = "application/json"},
  '{"action":"restart","services":["web"]}', 5)
if not status then error(headers) end
@function request
*/
static int l_request(lua_State *L)
{
    const char *path = luaargs_plain_string(L, 1, 1, "socket_path");
    const char *method = luaargs_plain_string(L, 2, 2, "method");
    const char *target = luaargs_plain_string(L, 3, 3, "target");
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TTABLE);
    const char *body = NULL;
    size_t body_len = 0;
    if (!lua_isnoneornil(L, 5)) {
        if (lua_type(L, 5) != LUA_TSTRING)
            return luaL_argerror(L, 5, lua_pushfstring(L, "body must be a string or nil, not a %s",
                                                       luaL_typename(L, 5)));
        body = lua_tolstring(L, 5, &body_len);
    }
    int64_t deadline = deadline_arg(L, 6, 6, "timeout");
    lua_settop(L, 6);

    /* the headers as name, value pairs; the strings stay in the table */
    size_t n = 0;
    if (lua_istable(L, 4)) {
        lua_pushnil(L);
        while (lua_next(L, 4) != 0) {
            n++;
            lua_pop(L, 1);
        }
    }
    const char **pairs = lua_newuserdatauv(L, (2 * n + 1) * sizeof *pairs, 0);
    size_t i = 0;
    if (n > 0) {
        lua_pushnil(L);
        while (lua_next(L, 4) != 0) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return luaL_argerror(L, 4, lua_pushfstring(L, "headers has a %s key; names are "
                                                           "strings", luaL_typename(L, -2)));
            const char *name = luaargs_plain_string(L, -2, 4, "a header name");
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_argerror(L, 4, lua_pushfstring(L, "header %s must be a string, not a %s",
                                                           name, luaL_typename(L, -1)));
            pairs[2 * i] = name;
            pairs[2 * i + 1] = luaargs_plain_string(L, -1, 4, "a header value");
            i++;
            lua_pop(L, 1);
        }
    }
    struct http_request req = {.method = method, .target = target, .headers = pairs,
                               .nheaders = i, .body = body, .body_len = body_len};
    const char *bad = http_request_invalid(&req, 0);
    if (bad != NULL)
        return luaL_error(L, "bad request %s %s: %s", method, target, bad);

    struct http_response *resp = lua_newuserdatauv(L, sizeof *resp, 0);
    memset(resp, 0, sizeof *resp);
    luaL_setmetatable(L, RESPONSE_MT);
    lua_toclose(L, -1);

    net_error e;
    if (http_do(path, &req, NULL, deadline, resp, &e) != 0)
        return push_failure(L, &e);
    lua_pushinteger(L, resp->status);
    lua_createtable(L, 0, (int)(resp->nheaders < 64 ? resp->nheaders : 64));
    for (size_t h = 0; h < resp->nheaders; h++) {
        lua_pushlstring(L, resp->headers[h].value, resp->headers[h].value_len);
        lua_setfield(L, -2, resp->headers[h].name);
    }
    lua_pushlstring(L, resp->body.data != NULL ? resp->body.data : "", resp->body.len);
    return 3;
}

/* ------------------------------------------------------------ exec */

/*** The I/O of a command Pebble runs: after `POST /v1/exec` answered with
its `task-id`, open the task's `control`, `stdio` (and `stderr`) websockets,
send stdin and read the output until Pebble ends it. The websockets are
opened at once (Pebble fails the task when they are not all connected
within 5 s); stdin is written while output is read, so neither can block
the other. When the timeout passes first, `SIGKILL` goes to the command
through the control socket and the kind is `"timeout"`. A websocket that
does not open within `connect_timeout` is a `"timeout"` too. The exit code is
not here: wait for the change (`GET /v1/changes/<id>/wait`) after this.
At most 256 MiB of stdout and of stderr are kept.
@tparam string socket_path Pebble's unix socket
@tparam string task_id the `task-id` of the exec's response (1 to 64 of
`A-Z a-z 0-9 . _ -`)
@tparam[opt] table opts `stdin` (string: sent, then the end of input;
nil: the input ends at once), `split_stderr` (boolean: the exec was
started with `"split-stderr": true`, so stderr has its own socket),
`timeout` (seconds > 0; nil: none), `connect_timeout` (seconds > 0 the
websockets may take to open, at most and by default Pebble's own 5 s)
@treturn[1] string stdout (with stderr mixed in when not split)
@treturn[1] string stderr (`""` when not split)
@treturn[2] nil
@treturn[2] string what failed, naming the socket or the task
@treturn[2] string the kind: `"connect"`, `"timeout"`, `"protocol"`,
`"handshake"` or `"io"`
@raise on bad arguments (a task id that is not one, an unknown option, a
wrong type)
@usage local out, err = io.exec_io(sock, result["task-id"],
  {stdin = "hello\n", split_stderr = true, timeout = 30})
@function exec_io
*/
static int l_exec_io(lua_State *L)
{
    const char *path = luaargs_plain_string(L, 1, 1, "socket_path");
    const char *task = luaargs_plain_string(L, 2, 2, "task_id");
    if (!pebble_task_id_ok(task))
        return luaL_argerror(L, 2, "task_id must be 1 to 64 of A-Z a-z 0-9 . _ -");
    struct pebble_exec_opts o = {.deadline = NET_NO_DEADLINE};
    lua_settop(L, 3);
    if (!lua_isnil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        static const char *const keys[] = {"stdin", "split_stderr", "timeout", "connect_timeout", NULL};
        luaargs_check_keys(L, 3, 3, keys);
        /* each value stays on the stack while the I/O runs */
        int t = lua_getfield(L, 3, "stdin");
        if (t == LUA_TSTRING)
            o.stdin_data = lua_tolstring(L, -1, &o.stdin_len);
        else if (t != LUA_TNIL)
            return luaL_argerror(L, 3, lua_pushfstring(L, "stdin must be a string, not a %s",
                                                       luaL_typename(L, -1)));
        t = lua_getfield(L, 3, "split_stderr");
        if (t != LUA_TNIL && t != LUA_TBOOLEAN)
            return luaL_argerror(L, 3, lua_pushfstring(L, "split_stderr must be a boolean, not a %s",
                                                       luaL_typename(L, -1)));
        o.split_stderr = lua_toboolean(L, -1);
        if (lua_getfield(L, 3, "timeout") != LUA_TNIL)
            o.deadline = deadline_arg(L, -1, 3, "timeout");
        if (lua_getfield(L, 3, "connect_timeout") != LUA_TNIL)
            o.open_ms = open_ms_arg(L, -1, 3);
    }

    struct pebble_exec_result *r = lua_newuserdatauv(L, sizeof *r, 0);
    memset(r, 0, sizeof *r);
    luaL_setmetatable(L, EXEC_MT);
    lua_toclose(L, -1);

    net_error e;
    if (pebble_exec_io(path, task, &o, r, &e) != 0)
        return push_failure(L, &e);
    lua_pushlstring(L, r->out.data != NULL ? r->out.data : "", r->out.len);
    lua_pushlstring(L, r->err.data != NULL ? r->err.data : "", r->err.len);
    return 2;
}

/* ------------------------------------------------------------ the table */

void pebble_io_push_module(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_PEBBLE_IO) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    closer_push_metatable(L, RESPONSE_MT, response_close);
    closer_push_metatable(L, EXEC_MT, exec_close);
    lua_pop(L, 2);
    static const luaL_Reg funcs[] = {
        {"request", l_request},
        {"exec_io", l_exec_io},
        {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_PEBBLE_IO);
}

int luaopen_juju_pebble_io(lua_State *L)
{
    luaL_requiref(L, "juju", luaopen_juju, 0);
    lua_pop(L, 1);
    pebble_io_push_module(L);
    return 1;
}
