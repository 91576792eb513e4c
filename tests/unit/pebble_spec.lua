-- juju.pebble, the client, through a scripted transport: every method's
-- request exactly (method, target, headers, body), every shape of answer
-- (sync, async and the wait for its change in slices, 504 "not yet", 404
-- from an old Pebble, the restart fallback, errors with their kinds,
-- per-path errors, multipart), every error and its text, and the mistakes
-- raised at the caller's line.

local pebble = require "juju.pebble"
local juju = require "juju"
local json = juju.json

local SOCKET = "/charm/containers/web/pebble.socket"
local T1 = "2025-01-02T03:04:05Z"          -- 1735787045
local T1_EPOCH = 1735787045

-- ------------------------------------------------------------ the script

local calls, replies, io_calls, io_replies, now, slept

--- Queue an answer for the next request: status, headers, body (or nil,
-- message, kind).
local function reply(...) replies[#replies + 1] = table.pack(...) end

local JSON = { ["content-type"] = "application/json" }

local function sync(result, status)
  reply(status or 200, JSON, json.encode { type = "sync", ["status-code"] = status or 200, status = "OK",
                                           result = result == nil and json.null or result })
end

local function async(change, result)
  reply(202, JSON, json.encode { type = "async", ["status-code"] = 202, status = "Accepted", change = change,
                                 result = result == nil and json.null or result })
end

local function api_error(code, status, message, kind)
  reply(code, JSON, json.encode { type = "error", ["status-code"] = code, status = status,
                                  result = { message = message, kind = kind } })
end

--- A change as Pebble writes it.
local function change(id, fields)
  local c = { id = id, kind = "start", summary = 'Start service "web"', status = "Done", ready = true,
              ["spawn-time"] = T1, ["ready-time"] = T1, tasks = json.array {} }
  for k, v in pairs(fields or {}) do c[k] = v end
  return c
end

local transport = {
  request = function(socket, method, target, headers, body, timeout)
    calls[#calls + 1] = { socket = socket, method = method, target = target, headers = headers, body = body,
                          timeout = timeout }
    -- a /wait takes the time it was given when it answers 504
    local wait = target:match("/wait%?timeout=([%d.]+)s$")
    local r = table.remove(replies, 1)
    assert(r, "no answer scripted for " .. method .. " " .. target)
    if wait and r[1] == 504 then now = now + tonumber(wait) end
    return table.unpack(r, 1, r.n)
  end,
  exec_io = function(socket, task_id, opts)
    io_calls[#io_calls + 1] = { socket = socket, task_id = task_id, opts = opts }
    local r = table.remove(io_replies, 1) or table.pack("", "")
    return table.unpack(r, 1, r.n)
  end,
  monotime = function() return now end,
  sleep = function(s) now = now + s; slept[#slept + 1] = s end,
}

--- The requests made, as "METHOD target" lines.
local function lines()
  local out = {}
  for i, c in ipairs(calls) do out[i] = c.method .. " " .. c.target end
  return out
end

--- Call fn (a one-line function) and check that it raised a plain error
-- at the caller's line, containing text.
local caller_error = require("helpers.mistakes").caller_error

--- The error fn raised (a table).
local function raised(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "no error")
  return err
end

local c

before_each(function()
  calls, replies, io_calls, io_replies, now, slept = {}, {}, {}, {}, 0, {}
  pebble.set_transport(transport)
  c = pebble.client(SOCKET, { name = "web" })
end)

after_each(function()
  pebble.set_transport(nil)
  juju.set_env(nil)
  assert.same({}, replies, "answers left unused")
end)

-- ------------------------------------------------------------ clients

describe("juju.pebble clients #unit", function()
  it("a container's socket is /charm/containers/<name>/pebble.socket", function()
    juju.set_env {}
    local web = pebble.container("web")
    assert.equal("/charm/containers/web/pebble.socket", web.socket_path)
    assert.equal("web", web.name)
    assert.equal(5, web.timeout)
    assert.equal("juju.pebble.Client(web)", tostring(web))
    assert.is_true(pebble.is_client(web))
    assert.is_false(pebble.is_client({}))
  end)

  it("DISPATCH_PEBBLE_DIR in the hook's environment moves the sockets", function()
    juju.set_env { DISPATCH_PEBBLE_DIR = "/tmp/sim/containers/" }
    assert.equal("/tmp/sim/containers/db/pebble.socket", pebble.container("db").socket_path)
  end)

  it("a client of any socket, with its own timeout", function()
    local x = pebble.client("/run/pebble.socket", { timeout = 2 })
    assert.equal("juju.pebble.Client(/run/pebble.socket)", tostring(x))
    sync { version = "1.26.0", ["boot-id"] = "b" }
    x:system_info()
    assert.equal("/run/pebble.socket", calls[1].socket)
    assert.equal(2, calls[1].timeout)
  end)

  it("mistakes are raised at the caller's line", function()
    caller_error(function() pebble.container("Web") end,
      "bad argument #1 to 'container' (\"Web\" is not a container name)")
    caller_error(function() pebble.client(7) end, "bad argument #1 to 'client' (string expected, got number)")
    caller_error(function() pebble.client(SOCKET, { tiemout = 1 }) end,
      "bad argument #2 to 'client' (unknown option 'tiemout')")
    caller_error(function() pebble.client(SOCKET, { timeout = -1 }) end, "a positive number of seconds expected")
    caller_error(function() c.plan() end, "call it as container:plan(...), not container.plan(...)")
  end)
end)

describe("juju.pebble.set_transport #unit", function()
  it("returns the transport it replaces, and nil puts the real one back", function()
    local other = { request = function() end }
    assert.equal(transport, pebble.set_transport(other))
    assert.equal(other, pebble.transport())
    assert.equal(other, pebble.set_transport(transport))
  end)

  it("refuses what is not a transport", function()
    caller_error(function() pebble.set_transport("x") end, "a transport table or nil expected, got string")
    caller_error(function() pebble.set_transport({}) end, "a transport needs a request function")
    caller_error(function() pebble.set_transport({ request = print, send = print }) end,
      "unknown transport field 'send'")
    caller_error(function() pebble.set_transport({ request = 1 }) end, "transport field 'request': function expected")
  end)

  it("without one (and no simulated unit), the real I/O is juju.pebble.io, loaded when first needed", function()
    pebble.set_transport(nil)
    juju.set_env {}
    local loaded = package.loaded["juju.pebble.io"]
    local fake_io = { request = function() return 200, {}, '{"type":"sync","result":{"version":"9"}}' end,
                      exec_io = function() end }
    package.loaded["juju.pebble.io"] = fake_io
    local ok, info = pcall(c.system_info, c)
    package.loaded["juju.pebble.io"] = loaded
    assert.is_true(ok, tostring(info))
    assert.equal("9", info.version)
    assert.equal(fake_io.request, pebble.transport().request)
  end)
end)

-- ------------------------------------------------------------ requests and answers

describe("juju.pebble requests and answers #unit", function()
  it("system_info: GET /v1/system-info, JSON accepted, snake_case fields", function()
    sync { version = "1.26.0", ["boot-id"] = "4a0c", ["http-address"] = ":4000" }
    assert.same({ version = "1.26.0", boot_id = "4a0c", http_address = ":4000" }, c:system_info())
    assert.same({ socket = SOCKET, method = "GET", target = "/v1/system-info",
                  headers = { Accept = "application/json" }, timeout = 5 }, calls[1])
  end)

  it("can_connect: true when system-info answers; false, with the error, when it cannot or refuses", function()
    sync { version = "1.26.0" }
    assert.is_true(c:can_connect())
    reply(nil, "No such file or directory", "connect")
    local ok, err = c:can_connect()
    assert.is_false(ok)
    assert.equal(pebble.ConnectionError, getmetatable(err))
    api_error(500, "Internal Server Error", "daemon is restarting", "daemon-restart")
    ok, err = c:can_connect()
    assert.is_false(ok)
    assert.equal(pebble.APIError, getmetatable(err))
    reply(nil, "no answer in 5 s", "timeout")
    assert.is_false((c:can_connect()))
    reply(200, JSON, "<html>")
    assert.is_false((c:can_connect()))
  end)

  it("add_layer: POST /v1/layers, the layer as JSON text (lists stay lists when empty)", function()
    sync(true)
    c:add_layer("web", {
      summary = "web",
      services = { web = { override = "replace", command = "web --port 80", startup = "enabled", after = {},
                           requires = { "db" }, environment = { A = "1" } } },
      ["log-targets"] = { loki = { override = "merge", type = "loki", location = "http://l", services = {} } },
    }, { combine = true })
    local call = calls[1]
    assert.same({ "POST /v1/layers" }, lines())
    assert.same({ Accept = "application/json", ["Content-Type"] = "application/json" }, call.headers)
    local body = json.decode(call.body)
    assert.same({ action = "add", combine = true, label = "web", format = "yaml", layer = body.layer }, body)
    assert.equal('{"log-targets":{"loki":{"location":"http://l","override":"merge","services":[],"type":"loki"}},'
      .. '"services":{"web":{"after":[],"command":"web --port 80","environment":{"A":"1"},"override":"replace",'
      .. '"requires":["db"],"startup":"enabled"}},"summary":"web"}', body.layer)
  end)

  it("add_layer: YAML text goes as it is; combine is false unless asked", function()
    sync(true)
    c:add_layer("base", "services:\n  a: {override: replace, command: a}\n")
    assert.equal('{"action":"add","combine":false,"format":"yaml","label":"base",'
      .. '"layer":"services:\\n  a: {override: replace, command: a}\\n"}', calls[1].body)
  end)

  it("add_layer: Pebble's refusal is an APIError", function()
    api_error(400, "Bad Request", 'cannot parse layer YAML: cannot parse layer "x": yaml: unmarshal errors:\n'
      .. "  field comand not found in type plan.Service")
    local err = raised(function() c:add_layer("x", { services = { a = { comand = "a" } } }) end)
    assert.equal(pebble.APIError, getmetatable(err))
    assert.equal(400, err.code)
    assert.matches("field comand not found", err.message, 1, true)
  end)

  it("add_layer mistakes", function()
    caller_error(function() c:add_layer("", {}) end, "bad argument #1 to 'add_layer' (the label is empty)")
    caller_error(function() c:add_layer("x") end,
      "bad argument #2 to 'add_layer' (a layer table or YAML text expected, got no value)")
    caller_error(function() c:add_layer("x", {}, { combine = 1 }) end,
      "bad argument #3 to 'add_layer' (option 'combine': boolean expected, got number)")
    caller_error(function() c:add_layer("x", { services = { a = { command = print } } }) end,
      "bad argument #2 to 'add_layer' (")
  end)

  it("plan: GET /v1/plan?format=yaml, the YAML parsed (nulls dropped; an empty plan is {})", function()
    sync("services:\n  web:\n    override: replace\n    command: web\n    user-id: 10\n    after:\n    - db\n"
      .. "    summary: ~\n")
    assert.same({ services = { web = { override = "replace", command = "web", ["user-id"] = 10, after = { "db" } } } },
      c:plan())
    assert.same({ "GET /v1/plan?format=yaml" }, lines())
    sync "{}\n"
    assert.same({}, c:plan())
  end)

  it("plan: text that is not YAML, or no text, is a ProtocolError", function()
    sync "a: [unclosed"
    assert.equal(pebble.ProtocolError, getmetatable(raised(function() c:plan() end)))
    sync { services = {} }
    assert.matches("the plan is not YAML text", tostring(raised(function() c:plan() end)), 1, true)
  end)
end)

-- ------------------------------------------------------------ services and changes

describe("juju.pebble services and changes #unit", function()
  it("start: POST /v1/services, then the change waited for in a slice of timeout - 1 s", function()
    async("7")
    sync(change("7"))
    local ch = c:start("web", "db")
    assert.same({ "POST /v1/services", "GET /v1/changes/7/wait?timeout=4.000s" }, lines())
    assert.equal('{"action":"start","services":["web","db"]}', calls[1].body)
    assert.same({ Accept = "application/json", ["Content-Type"] = "application/json" }, calls[1].headers)
    assert.same({ Accept = "application/json" }, calls[2].headers)
    assert.equal(9, calls[2].timeout)           -- the slice plus the client's timeout
    assert.equal("7", ch.id)
    assert.equal("Done", ch.status)
    assert.is_true(ch.ready)
    assert.equal(T1_EPOCH, ch.spawn_time)
    assert.equal(T1_EPOCH, ch.ready_time)
  end)

  it("stop, restart, replan, autostart: their actions; names as arguments or one list", function()
    for _, case in ipairs {
      { function() c:stop("web") end, '{"action":"stop","services":["web"]}' },
      { function() c:stop { "a", "b" } end, '{"action":"stop","services":["a","b"]}' },
      { function() c:restart("web") end, '{"action":"restart","services":["web"]}' },
      { function() c:replan() end, '{"action":"replan"}' },
      { function() c:autostart() end, '{"action":"autostart"}' },
    } do
      calls = {}
      async("1")
      sync(change("1"))
      case[1]()
      assert.equal(case[2], calls[1].body)
    end
  end)

  it("a list's timeout bounds the wait", function()
    async("3")
    sync(change("3"))
    c:start { "web", timeout = 2.5 }
    assert.equal("GET /v1/changes/3/wait?timeout=2.500s", lines()[2])
    async("4")
    sync(change("4"))
    c:replan { timeout = 1 }
    assert.equal("GET /v1/changes/4/wait?timeout=1.000s", lines()[4])
  end)

  it("a failed change is a ChangeError with Pebble's err", function()
    async("8")
    sync(change("8", { status = "Error", err = 'cannot perform the following tasks:\n- Start service "web" '
      .. "(cannot start service: exited quickly with code 1)" }))
    local err = raised(function() c:start("web") end)
    assert.equal(pebble.ChangeError, getmetatable(err))
    assert.equal("8", err.change.id)
    assert.equal('Pebble change 8 (Start service "web") failed: cannot perform the following tasks:\n'
      .. '- Start service "web" (cannot start service: exited quickly with code 1)', tostring(err))
  end)

  it("the last slice of a wait is rounded up to the millisecond, never 0.000s (Pebble: no timeout)", function()
    local gateway = '{"type":"error","status-code":504,"status":"Gateway Timeout","result":{"message":"timed out"}}'
    reply(504, JSON, gateway)
    reply(504, JSON, gateway)
    local err = raised(function() c:wait_change("5", { timeout = 4.0004 }) end)
    assert.same({ "GET /v1/changes/5/wait?timeout=4.000s", "GET /v1/changes/5/wait?timeout=0.001s" }, lines())
    assert.equal(pebble.TimeoutError, getmetatable(err))
  end)

  it("504 means not yet: the wait goes on in slices until the deadline, then a TimeoutError", function()
    async("9")
    reply(504, JSON, '{"type":"error","status-code":504,"status":"Gateway Timeout","result":{"message":"timed out"}}')
    reply(504, JSON, '{"type":"error","status-code":504,"status":"Gateway Timeout","result":{"message":"timed out"}}')
    reply(504, JSON, '{"type":"error","status-code":504,"status":"Gateway Timeout","result":{"message":"timed out"}}')
    local err = raised(function() c:start { "web", timeout = 10 } end)
    assert.same({ "POST /v1/services", "GET /v1/changes/9/wait?timeout=4.000s", "GET /v1/changes/9/wait?timeout=4.000s",
                  "GET /v1/changes/9/wait?timeout=2.000s" }, lines())
    assert.equal(pebble.TimeoutError, getmetatable(err))
    assert.equal("9", err.change_id)
    assert.equal("timed out waiting for change 9 (10 s)", tostring(err))
  end)

  it("504 then ready", function()
    reply(504, JSON, '{"type":"error","status-code":504,"status":"Gateway Timeout","result":{"message":"t"}}')
    sync(change("5"))
    assert.equal("5", c:wait_change("5").id)
    assert.equal(2, #calls)
  end)

  it("a client with a short timeout waits in slices of one second", function()
    c = pebble.client(SOCKET, { timeout = 1.5 })
    sync(change("2"))
    c:wait_change(2)
    assert.equal("GET /v1/changes/2/wait?timeout=1.000s", lines()[1])
  end)

  it("404 on /wait means an old Pebble: GET /v1/changes/{id} every delay until ready", function()
    api_error(404, "Not Found", "not found")
    sync(change("6", { status = "Doing", ready = false, ["ready-time"] = json.null }))
    sync(change("6", { status = "Doing", ready = false }))
    sync(change("6"))
    local ch = c:wait_change("6", { delay = 0.5 })
    assert.same({ "GET /v1/changes/6/wait?timeout=4.000s", "GET /v1/changes/6", "GET /v1/changes/6",
                  "GET /v1/changes/6" }, lines())
    assert.same({ 0.5, 0.5 }, slept)
    assert.equal("Done", ch.status)
  end)

  it("polling an old Pebble stops at the deadline", function()
    api_error(404, "Not Found", "not found")
    for _ = 1, 3 do sync(change("6", { status = "Doing", ready = false })) end
    local err = raised(function() c:wait_change("6", { timeout = 1, delay = 0.4 }) end)
    assert.equal("timed out waiting for change 6 (1 s)", tostring(err))
  end)

  it("a change's tasks, with their data and log", function()
    sync(change("10", { tasks = { { id = "20", kind = "exec", summary = "x", status = "Done", log = { "l1" },
                                    progress = { label = "", done = 1, total = 1 }, ["spawn-time"] = T1,
                                    data = { ["exit-code"] = 3 } } } }))
    local ch = c:wait_change("10")
    assert.equal(3, ch.tasks[1].data["exit-code"])
    assert.same({ "l1" }, ch.tasks[1].log)
    assert.equal(T1_EPOCH, ch.tasks[1].spawn_time)
    assert.same({ label = "", done = 1, total = 1 }, ch.tasks[1].progress)
  end)

  it("restart answering 400 is an old Pebble: stop the running ones, then start them all", function()
    api_error(400, "Bad Request", 'invalid action "restart"')
    sync { { name = "web", startup = "enabled", current = "active" },
           { name = "db", startup = "enabled", current = "inactive" } }
    async("2")
    sync(change("2", { kind = "stop" }))
    async("3")
    sync(change("3"))
    local ch = c:restart("web", "db")
    assert.same({ "POST /v1/services", "GET /v1/services?names=web,db", "POST /v1/services",
                  "GET /v1/changes/2/wait?timeout=4.000s", "POST /v1/services",
                  "GET /v1/changes/3/wait?timeout=4.000s" },
      lines())
    assert.equal('{"action":"stop","services":["web"]}', calls[3].body)
    assert.equal('{"action":"start","services":["web","db"]}', calls[5].body)
    assert.equal("3", ch.id)
  end)

  it("restart's other errors are not a fallback", function()
    api_error(500, "Internal Server Error", "boom")
    assert.equal(500, raised(function() c:restart("web") end).code)
  end)

  it("services: GET /v1/services (names joined by commas), by name", function()
    sync { { name = "web", startup = "enabled", current = "active", ["current-since"] = T1 },
           { name = "db", startup = "disabled", current = "inactive" } }
    local s = c:services()
    assert.same({ "GET /v1/services" }, lines())
    assert.same({ name = "web", startup = "enabled", current = "active", current_since = T1_EPOCH }, s.web)
    assert.same({ name = "db", startup = "disabled", current = "inactive" }, s.db)
    sync { { name = "web", startup = "enabled", current = "backoff" } }
    assert.equal("backoff", c:service("web").current)
    assert.equal("GET /v1/services?names=web", lines()[2])
    sync(json.array {})
    assert.is_nil(c:service("nope"))
    sync(json.array {})
    c:services { "a b", "c" }
    assert.equal("GET /v1/services?names=a%20b,c", lines()[4])
  end)

  it("service actions' mistakes", function()
    caller_error(function() c:start() end, "bad argument #1 to 'start' (at least one name expected)")
    caller_error(function() c:stop({}) end, "bad argument #1 to 'stop' (at least one name expected)")
    caller_error(function() c:start("a", 3) end, "bad argument #2 to 'start' (a name expected, got number)")
    caller_error(function() c:start("a", nil, "b") end, "bad argument #2 to 'start' (a name expected, got no value)")
    caller_error(function() c:start { "a", tiemout = 1 } end, "bad argument #1 to 'start' (unknown option 'tiemout')")
    caller_error(function() c:start { "a", timeout = "1" } end,
      "bad argument #1 to 'start' (option 'timeout': number expected")
    caller_error(function() c:replan { "web" } end, "replan takes no service names")
    caller_error(function() c:autostart { "web" } end, "autostart takes no service names")
    caller_error(function() c:restart("") end, "bad argument #1 to 'restart' (a name expected, got an empty string)")
  end)

  it("an async answer without a change, or a sync one where a change is due, is a ProtocolError", function()
    reply(202, JSON, '{"type":"async","status-code":202,"status":"Accepted","result":null}')
    assert.matches("an async answer without a change id", tostring(raised(function() c:start("a") end)), 1, true)
    sync(json.null)
    assert.matches("'start' answered without a change", tostring(raised(function() c:start("a") end)), 1, true)
  end)

  it("send_signal: POST /v1/signals, SIG added when missing", function()
    sync(true)
    c:send_signal("HUP", "nginx", "worker")
    assert.equal('{"services":["nginx","worker"],"signal":"SIGHUP"}', calls[1].body)
    sync(true)
    c:send_signal("SIGUSR1", { "nginx" })
    assert.equal('{"services":["nginx"],"signal":"SIGUSR1"}', calls[2].body)
    caller_error(function() c:send_signal("hup", "x") end, "a signal name such as \"SIGHUP\" expected")
    caller_error(function() c:send_signal("HUP") end, "bad argument #2 to 'send_signal' (at least one name expected)")
    caller_error(function() c:send_signal("HUP", "a", 3) end,
      "bad argument #3 to 'send_signal' (a name expected, got number)")
    caller_error(function() c:send_signal("HUP", { "a", foo = 1 }) end,
      "bad argument #2 to 'send_signal' (unknown option 'foo')")
    caller_error(function() c:send_signal("HUP", { "a", 3 }) end,
      "bad argument #2 to 'send_signal' (item 2: a name expected, got number)")
  end)
end)

-- ------------------------------------------------------------ errors

describe("juju.pebble errors #unit", function()
  it("a connection that cannot be made: ConnectionError with the socket and the hint", function()
    reply(nil, "No such file or directory", "connect")
    local err = raised(function() c:plan() end)
    assert.equal(pebble.ConnectionError, getmetatable(err))
    assert.same({ socket = SOCKET, message = "No such file or directory", kind = "connect" }, err)
    assert.equal("cannot connect to Pebble at /charm/containers/web/pebble.socket: No such file or directory "
      .. "(container restarted?)", tostring(err))
    assert.is_true(pebble.is_error(err))
  end)

  it("a connection that broke: ConnectionError, kind io", function()
    reply(nil, "read: connection reset by peer", "io")
    local err = raised(function() c:plan() end)
    assert.equal("lost the connection to Pebble at /charm/containers/web/pebble.socket: read: connection reset "
      .. "by peer", tostring(err))
  end)

  it("no answer in time: TimeoutError", function()
    reply(nil, "no answer after 5 s", "timeout")
    local err = raised(function() c:plan() end)
    assert.equal(pebble.TimeoutError, getmetatable(err))
    assert.equal("Pebble at /charm/containers/web/pebble.socket did not answer GET /v1/plan?format=yaml in time: "
      .. "no answer after 5 s", tostring(err))
  end)

  it("a malformed HTTP answer: ProtocolError", function()
    reply(nil, "bad status line", "protocol")
    local err = raised(function() c:plan() end)
    assert.equal(pebble.ProtocolError, getmetatable(err))
    assert.equal("Pebble protocol error on GET /v1/plan?format=yaml from " .. SOCKET .. ": bad status line",
      tostring(err))
    assert.equal(SOCKET, err.socket)
    -- a message that names the socket already (the C client's do) does not get it twice
    reply(nil, "malformed HTTP response from " .. SOCKET .. ": invalid constant string", "protocol")
    assert.equal("Pebble protocol error on GET /v1/plan?format=yaml: malformed HTTP response from " .. SOCKET
      .. ": invalid constant string", tostring(raised(function() c:plan() end)))
  end)

  it("an error envelope: APIError with the code, status, kind, message and value", function()
    reply(403, JSON, json.encode { type = "error", ["status-code"] = 403, status = "Forbidden",
                                   result = { message = "access denied", kind = "login-required", value = { x = 1 } } })
    local err = raised(function() c:system_info() end)
    assert.equal(pebble.APIError, getmetatable(err))
    assert.same({ code = 403, status = "Forbidden", kind = "login-required", message = "access denied",
                  value = { x = 1 }, method = "GET", target = "/v1/system-info", socket = SOCKET }, err)
    assert.equal("Pebble API error on GET /v1/system-info: 403 Forbidden: access denied", tostring(err))
  end)

  it("an error status with a body that is not JSON: APIError with its first line", function()
    reply(502, { ["content-type"] = "text/plain" }, "\nbad gateway\nmore")
    local err = raised(function() c:system_info() end)
    assert.equal(502, err.code)
    assert.equal("Bad Gateway", err.status)
    assert.equal("bad gateway", err.message)
    assert.is_nil(err.kind)
  end)

  it("a 2xx answer that is not an envelope: ProtocolError", function()
    reply(200, JSON, "[1, 2]")
    assert.equal("Pebble protocol error on GET /v1/system-info from " .. SOCKET .. ": the answer's type is nil "
      .. "(sync, async or error expected)", tostring(raised(function() c:system_info() end)))
    reply(200, JSON, "not json")
    assert.matches("the answer is not a JSON object: invalid JSON", tostring(raised(function() c:system_info() end)))
    reply(200, JSON, '{"type":"weird"}')
    assert.matches("the answer's type is weird", tostring(raised(function() c:system_info() end)), 1, true)
    reply(200, JSON, '{"type":"sync","result":"x"}')
    assert.matches("system-info's result is not an object", tostring(raised(function() c:system_info() end)), 1, true)
  end)

  it("a transport that answers nonsense: ProtocolError", function()
    reply("200", JSON, "{}")
    assert.matches("the transport answered 200 %(a status and a body expected%)",
      tostring(raised(function() c:system_info() end)))
  end)

  it("a path error, and an exec error, print as ops prints them", function()
    local p = setmetatable({ kind = "not-found", message = "stat /x: no such file or directory", path = "/x" },
      pebble.PathError)
    assert.equal("not-found - stat /x: no such file or directory", tostring(p))
    local e = setmetatable({ command = { "nginx", "-t" }, code = 1, stdout = "", stderr = "\nnginx: [emerg] bad\nx\n",
                             container = "web" }, pebble.ExecError)
    assert.equal("command [nginx -t] exited with status 1 in container web: nginx: [emerg] bad", tostring(e))
    e = setmetatable({ command = { "false" }, code = 1, stdout = "why\n", stderr = "" }, pebble.ExecError)
    assert.equal("command [false] exited with status 1: why", tostring(e))
    assert.is_false(pebble.is_error("x"))
    assert.is_false(pebble.is_error({}))
  end)
end)

-- ------------------------------------------------------------ files

--- A Go-style multipart answer to a read.
local function multipart(boundary, parts, nl)
  nl = nl or "\r\n"
  local out = {}
  for _, p in ipairs(parts) do
    out[#out + 1] = "--" .. boundary .. nl
    for _, h in ipairs(p.headers) do out[#out + 1] = h .. nl end
    out[#out + 1] = nl .. p.body .. nl
  end
  out[#out + 1] = "--" .. boundary .. "--" .. nl
  return table.concat(out)
end

local B = ("9f2c"):rep(15)

local function read_answer(path, content, err, extra)
  local parts = {}
  if content then
    parts[#parts + 1] = { headers = { ('Content-Disposition: form-data; name="files"; filename="%s"'):format(
      path:gsub('[\\"]', "\\%0")), "Content-Type: application/octet-stream" }, body = content }
  end
  parts[#parts + 1] = { headers = { 'Content-Disposition: form-data; name="response"',
                                    "Content-Type: application/json" },
                        body = json.encode { type = "sync", ["status-code"] = 200, status = "OK",
                                             result = { { path = path, error = err } } } .. "\n" }
  for _, p in ipairs(extra or {}) do table.insert(parts, 1, p) end
  reply(200, { ["content-type"] = "multipart/form-data; boundary=" .. B }, multipart(B, parts))
end

describe("juju.pebble files #unit", function()
  it("push: POST /v1/files, multipart: the request part then the file part", function()
    sync { { path = "/etc/app.conf" } }
    c:push("/etc/app.conf", "a = 1\r\n--x\n", { make_dirs = true, permissions = "600", user = "app", user_id = 1001,
                                                group = "app", group_id = 1002 })
    local call = calls[1]
    assert.same({ "POST /v1/files" }, lines())
    local boundary = call.headers["Content-Type"]:match("^multipart/form%-data; boundary=(%x+)$")
    assert.is_string(boundary)
    assert.is_true(#boundary >= 32)
    assert.equal("application/json", call.headers.Accept)
    local request = '{"action":"write","files":[{"group":"app","group-id":1002,"make-dirs":true,'
      .. '"path":"/etc/app.conf","permissions":"600","user":"app","user-id":1001}]}'
    assert.equal("--" .. boundary .. "\r\n"
      .. 'Content-Disposition: form-data; name="request"\r\n'
      .. "Content-Type: application/json\r\n\r\n"
      .. request .. "\r\n"
      .. "--" .. boundary .. "\r\n"
      .. 'Content-Disposition: form-data; name="files"; filename="/etc/app.conf"\r\n'
      .. "Content-Type: application/octet-stream\r\n\r\n"
      .. "a = 1\r\n--x\n\r\n"
      .. "--" .. boundary .. "--\r\n", call.body)
  end)

  it("push: only what was given; permissions from an integer or a 4-digit string; quotes escaped", function()
    sync { { path = '/tmp/a "b"\\c' } }
    c:push('/tmp/a "b"\\c', "", { permissions = 416 })
    local body = calls[1].body
    assert.truthy(body:find('{"action":"write","files":[{"path":"/tmp/a \\"b\\"\\\\c","permissions":"640"}]}', 1,
      true))
    assert.truthy(body:find('filename="/tmp/a \\"b\\"\\\\c"\r\n', 1, true))
    sync { { path = "/x" } }
    c:push("/x", "x", { permissions = "0755" })
    assert.truthy(calls[2].body:find('"permissions":"755"', 1, true))
    sync { { path = "/x" } }
    c:push("/x", "x")
    assert.truthy(calls[3].body:find('{"action":"write","files":[{"path":"/x"}]}', 1, true))
  end)

  it("push: the boundary is in neither the content nor the request", function()
    for _ = 1, 20 do
      sync { { path = "/x" } }
      c:push("/x", "data")
      local call = table.remove(calls)
      local b = call.headers["Content-Type"]:match("boundary=(.*)$")
      local _, n = call.body:gsub(b, "")
      assert.equal(3, n)
    end
  end)

  it("push: a per-path error is a PathError", function()
    sync { { path = "/a/b", error = { kind = "not-found", message = "open /a/b: no such file or directory" } } }
    local err = raised(function() c:push("/a/b", "x") end)
    assert.equal(pebble.PathError, getmetatable(err))
    assert.same({ kind = "not-found", message = "open /a/b: no such file or directory", path = "/a/b" }, err)
  end)

  it("push mistakes", function()
    caller_error(function() c:push("etc/x", "x") end,
      "bad argument #1 to 'push' (an absolute path without NUL or line breaks expected, got \"etc/x\")")
    caller_error(function() c:push("/a\nb", "x") end, "an absolute path without NUL or line breaks expected")
    caller_error(function() c:push("/x", 1) end, "bad argument #2 to 'push' (string expected, got number)")
    caller_error(function() c:push("/x", "x", { permissions = "999" }) end,
      "bad argument #3 to 'push' (option 'permissions': ")
    caller_error(function() c:push("/x", "x", { permissions = 512 }) end,
      "bad argument #3 to 'push' (option 'permissions': ")
    caller_error(function() c:push("/x", "x", { user_id = -1 }) end,
      "bad argument #3 to 'push' (option 'user_id': an integer >= 0 expected, got -1)")
    caller_error(function() c:push("/x", "x", { mode = "644" }) end,
      "bad argument #3 to 'push' (unknown option 'mode')")
  end)

  it("pull: GET /v1/files?action=read, accepting multipart; the file part's bytes", function()
    local content = "bin\0ary\r\n--" .. B:sub(1, 10) .. "\r\n\r\n\255end\r"
    read_answer("/etc/app.conf", content)
    assert.equal(content, c:pull("/etc/app.conf"))
    assert.same({ "GET /v1/files?action=read&path=/etc/app.conf" }, lines())
    assert.same({ Accept = "multipart/form-data" }, calls[1].headers)
  end)

  it("pull: a path with spaces and quotes", function()
    read_answer('/srv/my "file".txt', "x")
    assert.equal("x", c:pull('/srv/my "file".txt'))
    assert.equal("GET /v1/files?action=read&path=/srv/my%20%22file%22.txt", lines()[1])
  end)

  it("pull: the response part's per-path error is a PathError", function()
    read_answer("/nope", nil, { kind = "not-found", message = "stat /nope: no such file or directory" })
    local err = raised(function() c:pull("/nope") end)
    assert.equal(pebble.PathError, getmetatable(err))
    assert.equal("not-found - stat /nope: no such file or directory", tostring(err))
    read_answer("/etc", nil, { kind = "generic-file-error", message = 'can only read a regular file: "/etc"' })
    assert.equal("generic-file-error", raised(function() c:pull("/etc") end).kind)
  end)

  it("pull: an error envelope instead of multipart is an APIError", function()
    api_error(400, "Bad Request", "must accept multipart/form-data")
    assert.equal("must accept multipart/form-data", raised(function() c:pull("/x") end).message)
    sync(true)
    assert.matches("the answer is application/json, not multipart/form%-data",
      tostring(raised(function() c:pull("/x") end)))
  end)

  it("pull: a broken multipart answer is a ProtocolError", function()
    reply(200, { ["content-type"] = "multipart/form-data; boundary=" .. B }, "--" .. B .. "\r\nContent-Disposition: "
      .. 'form-data; name="files"; filename="/x"\r\n\r\nno end')
    assert.matches("a broken multipart answer: a part does not end", tostring(raised(function() c:pull("/x") end)))
    reply(200, { ["content-type"] = "multipart/form-data" }, "x")
    assert.matches("a broken multipart answer: no boundary", tostring(raised(function() c:pull("/x") end)))
    reply(200, { ["content-type"] = "multipart/form-data; boundary=" .. B }, multipart(B, {}))
    assert.matches("no response part", tostring(raised(function() c:pull("/x") end)))
    read_answer("/x", nil, nil)
    assert.matches("no file part for /x", tostring(raised(function() c:pull("/x") end)))
  end)

  it("list_files: GET /v1/files?action=list, with pattern and itself; snake_case, times as epoch seconds", function()
    sync { { path = "/etc/app/a.conf", name = "a.conf", type = "file", size = 12, permissions = "640",
             ["last-modified"] = T1, ["user-id"] = 0, user = "root", ["group-id"] = 33, group = "www-data" } }
    local files = c:list_files("/etc/app", { pattern = "*.conf" })
    assert.same({ "GET /v1/files?action=list&path=/etc/app&pattern=%2A.conf" }, lines())
    assert.same({ { path = "/etc/app/a.conf", name = "a.conf", type = "file", size = 12, permissions = "640",
                    last_modified = T1_EPOCH, user_id = 0, user = "root", group_id = 33, group = "www-data" } }, files)
    sync(json.array {})
    assert.same({}, c:list_files("/etc/app", { itself = true }))
    assert.equal("GET /v1/files?action=list&path=/etc/app&itself=true", lines()[2])
  end)

  it("exists and is_dir: list itself; a 404 is false, other errors raise", function()
    sync { { path = "/srv", name = "srv", type = "directory", permissions = "755" } }
    assert.is_true(c:exists("/srv"))
    sync { { path = "/srv", name = "srv", type = "directory", permissions = "755" } }
    assert.is_true(c:is_dir("/srv"))
    sync { { path = "/f", name = "f", type = "file", permissions = "644" } }
    assert.is_false(c:is_dir("/f"))
    api_error(404, "Not Found", "stat /nope: no such file or directory", "not-found")
    assert.is_false(c:exists("/nope"))
    api_error(404, "Not Found", "stat /nope: no such file or directory", "not-found")
    assert.is_false(c:is_dir("/nope"))
    api_error(403, "Forbidden", "stat /root/x: permission denied", "permission-denied")
    assert.equal(403, raised(function() c:exists("/root/x") end).code)
    for i = 1, 6 do assert.equal("GET /v1/files?action=list&path=" .. ({ "/srv", "/srv", "/f", "/nope", "/nope",
      "/root/x" })[i] .. "&itself=true", lines()[i]) end
  end)

  it("make_dir: POST /v1/files, action make-dirs", function()
    sync { { path = "/srv/a/b" } }
    c:make_dir("/srv/a/b", { make_parents = true, permissions = "700", user = "app", group_id = 7 })
    assert.equal('{"action":"make-dirs","dirs":[{"group-id":7,"make-parents":true,"path":"/srv/a/b",'
      .. '"permissions":"700","user":"app"}]}', calls[1].body)
    sync { { path = "/srv", error = { kind = "generic-file-error", message = "mkdir /srv: file exists" } } }
    assert.equal("generic-file-error - mkdir /srv: file exists", tostring(raised(function() c:make_dir("/srv") end)))
    assert.equal('{"action":"make-dirs","dirs":[{"path":"/srv"}]}', calls[2].body)
  end)

  it("remove_path: POST /v1/files, action remove", function()
    sync { { path = "/srv/a" } }
    c:remove_path("/srv/a", { recursive = true })
    assert.equal('{"action":"remove","paths":[{"path":"/srv/a","recursive":true}]}', calls[1].body)
    sync { { path = "/srv/b",
             error = { kind = "generic-file-error", message = "remove /srv/b: directory not empty" } } }
    assert.equal("generic-file-error", raised(function() c:remove_path("/srv/b") end).kind)
    assert.equal('{"action":"remove","paths":[{"path":"/srv/b"}]}', calls[2].body)
    sync(json.array {})
    assert.matches("no result for the path", tostring(raised(function() c:remove_path("/c") end)))
  end)

  it("file mistakes", function()
    caller_error(function() c:pull(nil) end, "bad argument #1 to 'pull' (an absolute path expected, got no value)")
    caller_error(function() c:list_files("/x", { recursive = true }) end,
      "bad argument #2 to 'list_files' (unknown option 'recursive')")
    caller_error(function() c:make_dir("x") end, "bad argument #1 to 'make_dir'")
    caller_error(function() c:remove_path("/x", { recursive = "yes" }) end,
      "bad argument #2 to 'remove_path' (option 'recursive': boolean expected, got string)")
    caller_error(function() c:exists("x") end, "bad argument #1 to 'exists'")
    caller_error(function() c:is_dir(3) end, "bad argument #1 to 'is_dir'")
  end)
end)

describe("juju.pebble multipart parsing #unit", function()
  local parse = pebble._parse_multipart

  it("parts in order, with their headers, names and filenames; bytes kept", function()
    local body = multipart("b0undary", {
      { headers = { 'Content-Disposition: form-data; name="files"; filename="/a \\"q\\" \\\\b"',
                    "Content-Type: application/octet-stream" }, body = "\0\1\2\r\n\r\n--b0und" },
      { headers = { 'content-disposition: form-data; name="response"' }, body = "{}" },
    })
    local parts = assert(parse(body, "b0undary"))
    assert.equal(2, #parts)
    assert.equal("files", parts[1].name)
    assert.equal('/a "q" \\b', parts[1].filename)
    assert.equal("application/octet-stream", parts[1].headers["content-type"])
    assert.equal("\0\1\2\r\n\r\n--b0und", parts[1].body)
    assert.equal("response", parts[2].name)
    assert.equal("{}", parts[2].body)
  end)

  it("a delimiter needs its line break before it and a line break or -- after it", function()
    local body = "--B\r\n\r\nx--B\r\n--Bx\r\n--B \t\r\n\r\nlast\r\n--B--\r\n"
    local parts = assert(parse(body, "B"))
    assert.same({ "x--B\r\n--Bx", "last" }, { parts[1].body, parts[2].body })
  end)

  it("empty parts, a part with no headers, an empty multipart", function()
    local parts = assert(parse("--B\r\n\r\n\r\n--B\r\n\r\n\r\n--B--", "B"))
    assert.same({ "", "" }, { parts[1].body, parts[2].body })
    assert.same({}, assert(parse("--B--\r\n", "B")))
  end)

  it("content ending in CR, and content that is only CRLF", function()
    local parts = assert(parse("--B\r\n\r\nend\r\r\n--B\r\n\r\n\r\n\r\n--B--\r\n", "B"))
    assert.same({ "end\r", "\r\n" }, { parts[1].body, parts[2].body })
  end)

  it("a preamble and an epilogue are skipped", function()
    local parts = assert(parse("preamble\r\n--B\r\nA: 1\r\n\r\nbody\r\n--B--\r\nepilogue", "B"))
    assert.equal(1, #parts)
    assert.equal("1", parts[1].headers.a)
    assert.equal("body", parts[1].body)
  end)

  it("LF line breaks, as Go's reader also takes", function()
    local parts = assert(parse("--B\nContent-Disposition: form-data; name=x\n\nline\r\n\n--B--\n", "B"))
    assert.equal("x", parts[1].name)
    assert.equal("line\r\n", parts[1].body)
  end)

  it("what is not multipart", function()
    assert.same({ nil, "no boundary" }, { parse("x", nil) })
    assert.same({ nil, "no boundary line" }, { parse("nothing here", "B") })
    assert.same({ nil, "a malformed boundary line" }, { parse("--Bjunk\r\n", "B") })
    assert.same({ nil, "a part's headers do not end" }, { parse("--B\r\nA: 1\r\n", "B") })
    assert.same({ nil, 'a malformed part header "bad"' }, { parse("--B\r\nbad\r\n\r\nx\r\n--B--", "B") })
    assert.same({ nil, "a part does not end" }, { parse("--B\r\n\r\nbody", "B") })
  end)
end)

-- ------------------------------------------------------------ checks and notices

describe("juju.pebble checks and notices #unit", function()
  it("checks: GET /v1/checks with level and names (repeated); by name", function()
    sync { { name = "up", level = "alive", startup = "enabled", status = "down", failures = 3, threshold = 3,
             ["change-id"] = "5" } }
    local checks = c:checks { level = "alive", names = { "up", "db" } }
    assert.same({ "GET /v1/checks?level=alive&names=up&names=db" }, lines())
    assert.same({ name = "up", level = "alive", startup = "enabled", status = "down", failures = 3, threshold = 3,
                  change_id = "5" }, checks.up)
    sync(json.array {})
    assert.same({}, c:checks())
    assert.equal("GET /v1/checks", lines()[2])
    caller_error(function() c:checks { level = "live" } end,
      "bad argument #1 to 'checks' (option 'level': \"alive\" or \"ready\" expected, got \"live\")")
    caller_error(function() c:checks { names = { "a", bogus = 1 } } end,
      "bad argument #1 to 'checks' (option 'names': a list of names expected, found key bogus)")
    caller_error(function() c:checks { names = { "a", timeout = 1 } } end,
      "bad argument #1 to 'checks' (option 'names': a list of names expected, found key timeout)")
    caller_error(function() c:checks { names = { "a", "" } } end,
      "bad argument #1 to 'checks' (option 'names': item 2: a name expected, got an empty string)")
  end)

  it("start_checks and stop_checks: POST /v1/checks; the names changed (Pebble may say null)", function()
    sync { changed = { "up" } }
    assert.same({ "up" }, c:start_checks("up", "db"))
    assert.equal('{"action":"start","checks":["up","db"]}', calls[1].body)
    sync { changed = json.null }
    assert.same({}, c:stop_checks { "up" })
    assert.equal('{"action":"stop","checks":["up"]}', calls[2].body)
    caller_error(function() c:start_checks() end, "bad argument #1 to 'start_checks' (at least one name expected)")
  end)

  it("notices: GET /v1/notices with its filters; notices with snake_case fields", function()
    sync { { id = "3", ["user-id"] = json.null, type = "custom", key = "example.com/a", ["first-occurred"] = T1,
             ["last-occurred"] = T1, ["last-repeated"] = T1, occurrences = 2, ["last-data"] = { k = "v" },
             ["expire-after"] = "168h0m0s" } }
    local list = c:notices { types = { "custom", "change-update" }, keys = { "example.com/a" }, users = "all",
                             user_id = 1000, after = T1 }
    assert.same({ "GET /v1/notices?users=all&user-id=1000&types=custom&types=change-update&keys=example.com/a"
      .. "&after=2025-01-02T03%3A04%3A05Z" }, lines())
    assert.same({ { id = "3", type = "custom", key = "example.com/a", first_occurred = T1_EPOCH,
                    last_occurred = T1_EPOCH, last_repeated = T1_EPOCH, occurrences = 2, last_data = { k = "v" },
                    expire_after = "168h0m0s" } }, list)
    sync(json.array {})
    c:notices()
    assert.equal("GET /v1/notices", lines()[2])
  end)

  it("notice: GET /v1/notices/{id}; an unknown one is a 404 APIError", function()
    sync { id = "4", type = "custom", key = "example.com/b", occurrences = 1 }
    local n = c:notice("4")
    assert.equal("example.com/b", n.key)
    assert.same({}, n.last_data)
    assert.equal("GET /v1/notices/4", lines()[1])
    api_error(404, "Not Found", 'cannot find notice with ID "9"', "not-found")
    local err = raised(function() c:notice("9") end)
    assert.equal(404, err.code)
    assert.equal("not-found", err.kind)
  end)

  it("notify: POST /v1/notices, a custom notice; its id", function()
    sync { id = "12" }
    assert.equal("12", c:notify("example.com/backup", { path = "/b" }, { repeat_after = 3600 }))
    assert.equal('{"action":"add","data":{"path":"/b"},"key":"example.com/backup","repeat-after":"3600.000s",'
      .. '"type":"custom"}', calls[1].body)
    sync { id = "13" }
    c:notify("example.com/x")
    assert.equal('{"action":"add","key":"example.com/x","type":"custom"}', calls[2].body)
    sync { id = "14" }
    c:notify("example.com/x", {})
    assert.equal('{"action":"add","data":{},"key":"example.com/x","type":"custom"}', calls[3].body)
    caller_error(function() c:notify("k", { n = 1 }) end,
      "bad argument #2 to 'notify' (data: string keys and string values expected, got string = number)")
    caller_error(function() c:notify("k", nil, { repeat_after = 0 }) end,
      "bad argument #3 to 'notify' (option 'repeat_after': a positive number of seconds expected, got 0)")
  end)
end)

-- ------------------------------------------------------------ exec

describe("juju.pebble exec #unit", function()
  local function exec_answers(code, opts)
    async("4", { ["task-id"] = "11", environment = {}, ["working-dir"] = "/root" })
    sync(change("4", { kind = "exec", tasks = { { id = "11", kind = "exec", summary = "x", status = "Done",
                                                  data = { ["exit-code"] = code } } } }))
    io_replies[#io_replies + 1] = table.pack((opts or {}).stdout or "out\n", (opts or {}).stderr or "")
  end

  it("a transport without exec_io is refused before Pebble is asked to start anything", function()
    local prev = pebble.set_transport({ request = transport.request, monotime = transport.monotime,
                                        sleep = transport.sleep })
    local ok, err = pcall(c.exec, c, { "true" })
    pebble.set_transport(prev)
    assert.is_false(ok)
    assert.matches("the transport has no exec_io", err, 1, true)
    assert.same({}, lines())
  end)

  it("POST /v1/exec, then exec_io with the task id, then the change (timeout + 1 s); the result", function()
    exec_answers(0, { stdout = "hello\n" })
    local r = c:exec({ "echo", "hello" }, {
      stdin = "in", environment = { LANG = "C", N = 3 }, working_dir = "/srv", timeout = 10, user = "app",
      user_id = 1000, group = "app", group_id = 1000, service_context = "web",
    })
    assert.same({ stdout = "hello\n", stderr = "", code = 0 }, r)
    assert.same({ "POST /v1/exec", "GET /v1/changes/4/wait?timeout=4.000s" }, lines())
    assert.equal('{"command":["echo","hello"],"environment":{"LANG":"C","N":"3"},"group":"app","group-id":1000,'
      .. '"service-context":"web","split-stderr":false,"timeout":"10.000s","user":"app","user-id":1000,'
      .. '"working-dir":"/srv"}', calls[1].body)
    assert.same({ { socket = SOCKET, task_id = "11", opts = { stdin = "in", split_stderr = false, timeout = 11,
                                                              connect_timeout = 5 } } }, io_calls)
  end)

  it("the least a request holds: the command, an empty environment, split-stderr", function()
    exec_answers(0)
    c:exec({ "true" })
    assert.equal('{"command":["true"],"environment":{},"split-stderr":false}', calls[1].body)
    assert.same({ split_stderr = false, connect_timeout = 5 }, io_calls[1].opts)
    -- the websockets open within the client's timeout, as any request
    c = pebble.client(SOCKET, { timeout = 0.5 })
    exec_answers(0)
    c:exec({ "true" })
    assert.equal(0.5, io_calls[2].opts.connect_timeout)
  end)

  it("split_stderr: stderr apart", function()
    exec_answers(0, { stdout = "o", stderr = "e" })
    assert.same({ stdout = "o", stderr = "e", code = 0 }, c:exec({ "x" }, { split_stderr = true }))
    assert.truthy(calls[1].body:find('"split-stderr":true', 1, true))
    assert.is_true(io_calls[1].opts.split_stderr)
  end)

  it("a non-zero exit is an ExecError (unless check = false)", function()
    exec_answers(2, { stdout = "", stderr = "nginx: [emerg] unknown directive\n" })
    local err = raised(function() c:exec({ "nginx", "-t" }, { split_stderr = true }) end)
    assert.equal(pebble.ExecError, getmetatable(err))
    assert.same({ command = { "nginx", "-t" }, code = 2, stdout = "", stderr = "nginx: [emerg] unknown directive\n",
                  container = "web" }, err)
    assert.equal("command [nginx -t] exited with status 2 in container web: nginx: [emerg] unknown directive",
      tostring(err))
    exec_answers(2, { stdout = "merged\n" })
    assert.same({ stdout = "merged\n", stderr = "", code = 2 }, c:exec({ "nginx", "-t" }, { check = false }))
  end)

  it("a change without an exit code gives -1", function()
    async("4", { ["task-id"] = "11" })
    sync(change("4", { kind = "exec" }))
    io_replies[1] = table.pack("", "")
    assert.equal(-1, c:exec({ "x" }, { check = false }).code)
  end)

  it("a failed change (a timeout) is a ChangeError", function()
    async("4", { ["task-id"] = "11" })
    sync(change("4", { kind = "exec", status = "Error", err = "cannot perform the following tasks:\n"
      .. '- Execute command "sleep" (timed out after 1s: context deadline exceeded)' }))
    io_replies[1] = table.pack("", "")
    local err = raised(function() c:exec({ "sleep", "10" }, { timeout = 1 }) end)
    assert.equal(pebble.ChangeError, getmetatable(err))
    assert.equal("GET /v1/changes/4/wait?timeout=2.000s", lines()[2])
  end)

  it("no such executable: Pebble's 400 as an APIError", function()
    api_error(400, "Bad Request", 'cannot find executable "nope"')
    local err = raised(function() c:exec({ "nope" }) end)
    assert.equal('cannot find executable "nope"', err.message)
    assert.same({}, io_calls)
  end)

  it("exec_io's failures: ConnectionError (handshake, io), TimeoutError, ProtocolError", function()
    for _, case in ipairs {
      { "handshake", pebble.ConnectionError, "lost the connection to Pebble at " .. SOCKET .. ": bad handshake" },
      { "timeout", pebble.TimeoutError,
        "Pebble at " .. SOCKET .. " did not answer exec sleep 1 in time: bad handshake" },
      { "protocol", pebble.ProtocolError,
        "Pebble protocol error on exec sleep 1 from " .. SOCKET .. ": bad handshake" },
    } do
      async("4", { ["task-id"] = "11" })
      io_replies[1] = table.pack(nil, "bad handshake", case[1])
      local err = raised(function() c:exec({ "sleep", "1" }) end)
      assert.equal(case[2], getmetatable(err))
      assert.equal(case[3], tostring(err))
    end
  end)

  it("an exec answer without a task id is a ProtocolError", function()
    async("4", {})
    assert.matches("exec answered without a change and a task id", tostring(raised(function() c:exec({ "x" }) end)))
  end)

  it("exec mistakes", function()
    caller_error(function() c:exec("ls") end,
      "bad argument #1 to 'exec' (argv: a list of strings expected, got string)")
    caller_error(function() c:exec({}) end, "bad argument #1 to 'exec' (argv is empty)")
    caller_error(function() c:exec({ "a", 1 }) end,
      "bad argument #1 to 'exec' (argv[2] is a number, not a string)")
    caller_error(function() c:exec({ "a", x = 1 }) end, "bad argument #1 to 'exec' (argv is not a list: key x)")
    caller_error(function() c:exec({ "a" }, { env = {} }) end, "bad argument #2 to 'exec' (unknown option 'env')")
    caller_error(function() c:exec({ "a" }, { environment = { ["A=B"] = "x" } }) end,
      "bad argument #2 to 'exec' (option 'environment': 'A=B' is not a variable name)")
    caller_error(function() c:exec({ "a" }, { environment = { A = true } }) end,
      "bad argument #2 to 'exec' (option 'environment': A: string or number expected, got boolean)")
    caller_error(function() c:exec({ "a" }, { environment = { A = "x\0y" } }) end,
      "bad argument #2 to 'exec' (option 'environment': A contains a NUL byte)")
    caller_error(function() c:exec({ "a" }, { timeout = 0 }) end,
      "bad argument #2 to 'exec' (option 'timeout': a positive number of seconds expected, got 0)")
    caller_error(function() c:exec({ "a" }, { user_id = 1.5 }) end,
      "bad argument #2 to 'exec' (option 'user_id': an integer >= 0 expected, got 1.5)")
  end)
end)

-- ------------------------------------------------------------ workload event views

describe("juju.pebble notices and checks of workload events #unit", function()
  it("a notice has its id, type and key; the rest is fetched once, when first read", function()
    local n = pebble.event_notice(c, { id = "5", type = "custom", key = "example.com/x" })
    assert.equal("5", n.id)
    assert.equal("example.com/x", n.key)
    assert.is_nil(n.nonsense)
    assert.same({}, calls)
    sync { id = "5", type = "custom", key = "example.com/x", occurrences = 4, ["last-data"] = { why = "backup" },
           ["first-occurred"] = T1 }
    assert.same({ why = "backup" }, n.data)
    assert.same({ why = "backup" }, n.last_data)
    assert.equal(4, n.occurrences)
    assert.equal(T1_EPOCH, n.first_occurred)
    assert.same({ "GET /v1/notices/5" }, lines())
  end)

  it("a check has its name; its info is fetched once, when first read", function()
    local ch = pebble.event_check(c, "up")
    assert.equal("up", ch.name)
    assert.same({}, calls)
    sync { { name = "up", status = "down", failures = 3, threshold = 3 } }
    assert.equal("down", ch.info.status)
    assert.equal("down", ch.info.status)
    assert.same({ "GET /v1/checks?names=up" }, lines())
  end)

  it("a field Pebble leaves out, or a check it no longer has, is nil without asking again", function()
    local n = pebble.event_notice(c, { id = "5", type = "custom", key = "example.com/x" })
    sync { id = "5", type = "custom", key = "example.com/x", occurrences = 1 }
    assert.equal(1, n.occurrences)
    assert.is_nil(n.repeat_after)
    assert.is_nil(n.repeat_after)
    assert.is_nil(n.user_id)
    assert.same({ "GET /v1/notices/5" }, lines())
    local ch = pebble.event_check(c, "gone")
    sync {}
    assert.is_nil(ch.info)
    assert.is_nil(ch.info)
    assert.same({ "GET /v1/notices/5", "GET /v1/checks?names=gone" }, lines())
  end)
end)
