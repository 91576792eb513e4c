-- Hook tracing with the real binary: DISPATCH_TRACE (or the file
-- .dispatch-trace in the charm directory) prints each hook command's argv
-- (secret values redacted), how it ended, its output size and time, and a
-- summary line at the end of the hook, also sent to juju-log at DEBUG when
-- the switch says "log". Off, nothing is printed and nothing is asked.

local hookenv = require "helpers.hookenv"

local quote = hookenv.quote

local CHARM = [[
local charm = require "juju.charm"
local c = charm.new()
c:on("install", function(e) e.state.n = 1 end)
c:on("config-changed", function(e) e:defer() end)
c:reconcile(function(e) local _ = e.config.port end)
c:collect_status(function(s) s:add("active") end)
c:on_action("show", function(a) a:set_results{ password = "hunter2", user = "admin" } end)
return c
]]

local function lines_of(text, prefix)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, #prefix) == prefix then out[#out + 1] = line end
  end
  return out
end

describe("hook tracing #integration", function()
  local dir

  before_each(function()
    hookenv.reset()
    dir = hookenv.tmpdir()
    hookenv.sh("mkdir -p " .. quote(dir .. "/src"))
    hookenv.write_file(dir .. "/src/charm.lua", CHARM)
    hookenv.respond("config-get", { stdout = '{"port": 8080}\n' })
    hookenv.respond("state-get", { stdout = "{}\n" })
  end)
  after_each(function() hookenv.rmtree(dir) end)

  local function hook(event, env)
    local e = {
      JUJU_DISPATCH_PATH = event:find("/") and event or ("hooks/" .. event), JUJU_CHARM_DIR = dir,
      JUJU_UNIT_NAME = "app/0", JUJU_MODEL_NAME = "m", JUJU_MODEL_UUID = "00000000-0000-4000-8000-000000000000",
      JUJU_ACTION_UUID = "1", DISPATCH_TRACE = false,
    }
    for k, v in pairs(env or {}) do e[k] = v end
    return hookenv.run({}, { env = e })
  end

  it("off by default: no trace lines", function()
    local r = hook("install")
    assert.equal(0, r.code, r.stderr)
    assert.same({}, lines_of(r.stderr, "dispatch[trace]"))
  end)

  it("DISPATCH_TRACE=1: a line per hook command, then the summary", function()
    local r = hook("install", { DISPATCH_TRACE = "1" })
    assert.equal(0, r.code, r.stderr)
    local lines = lines_of(r.stderr, "dispatch[trace]")
    local n = hookenv.ncalls()
    assert.equal(n + 1, #lines)
    assert.matches("^dispatch%[trace%] state%-get %-%-format=json: exit 0, 3 B out, 0 B err, [%d.]+ ms$", lines[1])
    assert.matches("^dispatch%[trace%] state%-set %-%-file %-: exit 0, 0 B out, 0 B err, [%d.]+ ms$", lines[n - 1])
    assert.matches("^dispatch%[trace%] hook install: 1 handler, 1 reconcile function, 1 collect%-status function; "
      .. n .. " hook commands in [%d.]+ ms; [%d.]+ ms in all$", lines[#lines])
  end)

  it("an action's results are redacted in the trace, not in what Juju gets", function()
    local r = hook("actions/show", { DISPATCH_TRACE = "1", JUJU_ACTION_NAME = "show" })
    assert.equal(0, r.code, r.stderr)
    local set
    for _, line in ipairs(lines_of(r.stderr, "dispatch[trace] action-set")) do set = line end
    assert.matches("action%-set password=<redacted> user=<redacted>: exit 0", set)
    assert.is_nil(r.stderr:find("hunter2", 1, true))
    local sent
    for _, c in ipairs(hookenv.calls()) do
      if c.argv[1] == "action-set" then sent = c.argv end
    end
    assert.same({ "action-set", "password=hunter2", "user=admin" }, sent)
    assert.matches("dispatch%[trace%] action show: 1 handler, 1 collect%-status function;", r.stderr)
  end)

  it("DISPATCH_TRACE=log: the summary also goes to juju-log at DEBUG", function()
    local r = hook("config-changed", { DISPATCH_TRACE = "log" })
    assert.equal(0, r.code, r.stderr)
    local logged
    for _, c in ipairs(hookenv.calls()) do
      if c.argv[1] == "juju-log" then logged = c.argv end
    end
    assert.same("DEBUG", logged[3])
    assert.matches("^hook config%-changed: 1 handler, 1 reconcile function, 1 collect%-status function; %d+ hook "
      .. "commands in [%d.]+ ms; [%d.]+ ms in all$", logged[#logged])
  end)

  it("the file .dispatch-trace in the charm directory turns it on (Juju's hook environment is fixed)", function()
    hookenv.write_file(dir .. "/.dispatch-trace", "")
    local r = hook("install")
    assert.equal(0, r.code, r.stderr)
    assert.matches("dispatch%[trace%] hook install:", r.stderr)
    hookenv.write_file(dir .. "/.dispatch-trace", "0\n")
    r = hook("install")
    assert.same({}, lines_of(r.stderr, "dispatch[trace]"))
  end)

  it("a failing hook still gets its summary, marked failed, and the error with its traceback", function()
    hookenv.write_file(dir .. "/src/charm.lua",
      'local c = require("juju.charm").new()\nc:on("start", function() error("boom") end)\nreturn c\n')
    local r = hook("start", { DISPATCH_TRACE = "1" })
    assert.equal(1, r.code)
    assert.matches("dispatch%[trace%] hook start: failed; %d+ hook commands? in [%d.]+ ms; [%d.]+ ms in all\n",
      r.stderr)
    assert.matches("charm.lua:2: boom", r.stderr, 1, true)
    assert.matches("stack traceback:", r.stderr, 1, true)
  end)

  it("a failing action under tracing: one traceback, and action-fail with the message", function()
    hookenv.write_file(dir .. "/src/charm.lua",
      'local c = require("juju.charm").new()\nc:on_action("go", function() error("kaput") end)\nreturn c\n')
    local plain = hook("actions/go", { JUJU_ACTION_NAME = "go" })
    local traced = hook("actions/go", { JUJU_ACTION_NAME = "go", DISPATCH_TRACE = "1" })
    for _, r in ipairs { plain, traced } do
      assert.equal(1, r.code)
      assert.equal(1, #lines_of(r.stderr, "stack traceback:"), r.stderr)
      assert.matches("charm.lua:2: kaput", r.stderr, 1, true)
    end
    assert.matches("dispatch%[trace%] action go: failed;", traced.stderr)
    local failed = {}
    for _, c in ipairs(hookenv.calls()) do
      if c.argv[1] == "action-fail" then failed[#failed + 1] = c.argv[#c.argv] end
    end
    assert.equal(2, #failed)
    assert.matches("charm.lua:2: kaput$", failed[2])
  end)

  it("an error object raised by a handler reaches the host as itself under tracing", function()
    hookenv.write_file(dir .. "/src/charm.lua", table.concat({
      'local c = require("juju.charm").new()',
      'c:on("start", function() error(setmetatable({}, { __tostring = function() return "custom-err-77" end })) end)',
      "return c", "" }, "\n"))
    local r = hook("start", { DISPATCH_TRACE = "1" })
    assert.equal(1, r.code)
    assert.matches("custom-err-77", r.stderr, 1, true)
    assert.equal(1, #lines_of(r.stderr, "stack traceback:"), r.stderr)
  end)

  it("an event the charm does not handle: the summary says so, and no hook command is run", function()
    local r = hook("upgrade-charm", { DISPATCH_TRACE = "1" })
    assert.equal(0, r.code, r.stderr)
    -- reconcile handles every event: so use a charm with no reconcile
    hookenv.write_file(dir .. "/src/charm.lua", 'return require("juju.charm").new()\n')
    hookenv.reset()
    r = hook("upgrade-charm", { DISPATCH_TRACE = "1" })
    assert.equal(0, r.code, r.stderr)
    assert.equal(0, hookenv.ncalls())
    assert.matches("^dispatch%[trace%] hook upgrade%-charm: no handler; 0 hook commands in 0.00 ms;", r.stderr)
  end)

  it("juju.trace() is nil when off, and counts when on", function()
    local r = hookenv.run({ "-e", "io.write(tostring(juju.trace()))" }, { env = { DISPATCH_TRACE = false } })
    assert.equal("nil", r.stdout)
    r = hookenv.run({ "-e", "juju.config_get() juju.config_get() local t = juju.trace() "
      .. "io.write(t.commands, ' ', tostring(t.log), ' ', tostring(t.seconds >= t.command_seconds))" },
      { env = { DISPATCH_TRACE = "1" } })
    assert.equal(0, r.code, r.stderr)
    assert.equal("2 false true", r.stdout)
  end)
end)
