-- The real binary against a hostile Pebble: build/fake-pebble's -hostile
-- modes (a rule added through /fake/hostile before each request) answer
-- build/dispatch's juju.pebble with truncated, oversized, malformed or no
-- replies, slowly or never, and websockets with forbidden frames. Each
-- gives an error of a clear type whose text names the socket, in bounded
-- time: every client here has a 1 s timeout, and the time each call took
-- (juju.sys.monotime, in dispatch) stays under 3 s. The request after a
-- hostile one (the rule used up) works: nothing is left behind.
--
-- Pebble does not depend on the hook-command transport: these run once
-- (#once: the exec pass only).

local fakepebble = require "helpers.fakepebble"


local TIMEOUT = 1     -- the client's, seconds
local BOUND = 3       -- what any failing call may take, seconds

describe("juju.pebble against a hostile Pebble #integration #once", function()
  local fake

  setup(function()
    fake = fakepebble.start()
    -- a service and a file to work on
    fakepebble.run([[
      local c = pebble.container("web")
      c:add_layer("l", { services = { s = { override = "replace", command = "/bin/s", startup = "enabled" } } })
      c:push("/etc/app.conf", ("x"):rep(200), { make_dirs = true })
    ]], { dir = fake.dir })
  end)
  teardown(function()
    if fake then assert.equal("", fake:stop()) end
  end)
  before_each(function() fake:control("DELETE", "hostile") end)

  --- Run one call under a rule used once, then the same call again.
  local function hostile(path, mode, call)
    fake:hostile(path, mode:match("^[^:]+"), mode:match(":(.*)$"), 1)
    return fakepebble.run(([[
      local c = pebble.container("web", { timeout = %d })
      local function call() %s end
      out.first = catch(call)
      out.again = catch(call)
    ]]):format(TIMEOUT, call), { dir = fake.dir })
  end

  --- The failure: its type and a pattern of its text; the text names the
  -- socket; it took less than BOUND; the call after it worked.
  local function check(out, want_type, pattern)
    local r = out.first
    assert.is_false(r.ok, "the hostile call succeeded")
    assert.equal(want_type, r.type, r.text)
    assert.matches(pattern, r.text)
    assert.truthy(r.text:find(fake.socket, 1, true), "the text does not name the socket: " .. r.text)
    assert.is_true(r.seconds < BOUND, ("took %.2f s: %s"):format(r.seconds, r.text))
    assert.is_true(out.again.ok, out.again.text)
    assert.same({}, fake:control("GET", "hostile"))   -- the rule was used
  end

  it("the fake's modes are the ones tested here", function()
    assert.same({ "bad-json", "close", "garbage", "hang", "huge-length", "short-body", "slow", "trickle",
                  "truncated-chunked", "ws-huge-frame", "ws-masked", "ws-rsv" }, fake:hostile_modes())
  end)

  describe("an API request (GET /v1/plan)", function()
    local PLAN = "return c:plan()"
    local cases = {
      { "truncated-chunked", "juju.pebble.ConnectionError", "closed the connection in the middle of the body" },
      { "short-body", "juju.pebble.ConnectionError", "closed the connection in the middle of the body" },
      { "huge-length", "juju.pebble.ProtocolError", "claims a body of 4611686018427387904 bytes" },
      { "bad-json", "juju.pebble.ProtocolError", "the answer is not a JSON object" },
      { "garbage", "juju.pebble.ProtocolError", "malformed HTTP response" },
      { "close", "juju.pebble.ConnectionError", "closed the connection before a whole response" },
      { "hang", "juju.pebble.TimeoutError", "did not answer GET /v1/plan%?format=yaml in time" },
      { "slow:10s", "juju.pebble.TimeoutError", "did not answer GET /v1/plan%?format=yaml in time" },
      { "trickle:50ms", "juju.pebble.TimeoutError", "waiting for the rest of the response" },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. ": " .. case[2]:match("%w+$"), function()
        check(hostile("/v1/plan", case[1], PLAN), case[2], case[3])
      end)
    end

    it("slow and trickle within the timeout: the answer, whole", function()
      for _, mode in ipairs { "slow:300ms", "trickle:1ms" } do
        local out = hostile("/v1/system-info", mode, "return c:system_info().version")
        assert.is_true(out.first.ok, mode .. ": " .. tostring(out.first.text))
        assert.equal("1.26.0", out.first.value)
      end
    end)
  end)

  describe("a wait for a change, a pull and a push", function()
    it("the wait: garbage is a ProtocolError, a hang a TimeoutError after the slice and the timeout", function()
      check(hostile("/v1/changes/*/wait", "garbage", "return c:restart('s')"), "juju.pebble.ProtocolError",
        "on GET /v1/changes/%d+/wait%?timeout=1.000s")
      check(hostile("/v1/changes/*/wait", "hang", "return c:restart('s')"), "juju.pebble.TimeoutError",
        "did not answer GET /v1/changes/%d+/wait")
    end)

    it("a pull cut short, a push whose answer is garbage", function()
      check(hostile("/v1/files", "truncated-chunked", "return c:pull('/etc/app.conf')"),
        "juju.pebble.ConnectionError", "in the middle of the body")
      check(hostile("/v1/files", "garbage", "return c:push('/etc/app.conf', 'y')"), "juju.pebble.ProtocolError",
        "malformed HTTP response")
    end)
  end)

  describe("exec's websockets", function()
    local EXEC = "return c:exec({ 'echo', 'hi' }).stdout"
    for _, ws in ipairs { "control", "stdio", "stderr" } do
      local call = ws == "stderr" and "return c:exec({ 'echo', 'hi' }, { split_stderr = true }).stdout" or EXEC
      local path = "/v1/tasks/*/websocket/" .. ws
      it(ws .. ": a masked frame, reserved bits, a frame of 2^63-1 bytes: ProtocolErrors", function()
        check(hostile(path, "ws-masked", call), "juju.pebble.ProtocolError",
          "bad frame on the " .. ws .. " websocket of task %d+: a masked frame from the server")
        check(hostile(path, "ws-rsv", call), "juju.pebble.ProtocolError",
          "bad frame on the " .. ws .. " websocket of task %d+: a frame with reserved bits set")
        check(hostile(path, "ws-huge-frame", call), "juju.pebble.ProtocolError",
          "bad frame on the " .. ws .. " websocket of task %d+: a message longer than the limit")
      end)

      it(ws .. ": no answer to the upgrade is a TimeoutError within the client's timeout", function()
        check(hostile(path, "hang", call), "juju.pebble.TimeoutError",
          "the " .. ws .. " websocket of task %d+ did not open within 1000 ms")
      end)

      it(ws .. ": a closed connection, garbage", function()
        check(hostile(path, "close", call), "juju.pebble.ConnectionError",
          "cannot open the " .. ws .. " websocket of task %d+: .*closed the connection before a whole response")
        check(hostile(path, "garbage", call), "juju.pebble.ProtocolError",
          "cannot open the " .. ws .. " websocket of task %d+: malformed HTTP response")
      end)
    end
  end)
end)
