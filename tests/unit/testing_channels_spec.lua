-- juju.testing side channels: what a run records besides the state after
-- (run.commands, run.processes, run.logs, run.status_history, run.action,
-- run.event and run.env), and how a failed hook is reported: run.error,
-- the HookFailed error ctx:run raises, and ctx:run_failing.

local charm = require "juju.charm"
local juju = require "juju"
local log = require "juju.log"
local process = require "juju.process"
local testing = require "juju.testing"
local on = testing.on

local META = {
  name = "web",
  requires = { db = { interface = "pgsql" } },
  actions = {
    backup = { params = { to = { type = "string", default = "/srv/backup" } } },
    explode = {},
    orphan = {},
  },
}

local DB = testing.relation{ id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/0" },
                             local_unit_data = { old = "x" } }

local function context(handlers, actions)
  local c = charm.new()
  for hook, fn in pairs(handlers or {}) do c:on(hook, fn) end
  for name, fn in pairs(actions or {}) do c:on_action(name, fn) end
  return testing.context{ charm = c, metadata = META }
end

describe("juju.testing run.commands #unit", function()
  it("every hook command's argv as the C module built it, its stdin and exit code, in order", function()
    local ctx = context{ ["config-changed"] = function(e)
      e.model:is_leader()
      local _ = e.config.port
      e.model:relation("db").unit_data.address = "10.0.0.1"
      pcall(juju.relation_get, 99)
    end }
    local _, r = ctx:run(on.config_changed(), { leader = true, relations = { DB } })
    assert.same({
      { argv = { "state-get", "--format=json" }, code = 0 },   -- the framework's deferred events
      { argv = { "is-leader", "--format=json" }, code = 0 },
      { argv = { "config-get", "--format=json" }, code = 0 },
      { argv = { "relation-ids", "db", "--format=json" }, code = 0 },
      { argv = { "relation-get", "--format=json", "-r", "99" }, code = 2 },   -- relation not found
      { argv = { "relation-set", "-r", "3", "--file", "-" }, stdin = '{"address": "10.0.0.1"}', code = 0 },
    }, r.commands)
  end)

  it("a command Juju does not have is 127, command not found", function()
    local sim = testing.sim.new({}, { unit = "web/0" })
    assert.same({ 127, "", "leader-deposed: command not found\n" }, { sim:run({ "leader-deposed" }) })
    assert.same({ { argv = { "leader-deposed" }, code = 127 } }, sim.commands)
  end)
end)

describe("juju.testing run.processes #unit", function()
  it("every workload program the charm started", function()
    local ctx = context{ install = function()
      process.run({ "apt-get", "install", "-y", "nginx" })
      process.run({ "tee", "/tmp/x" }, { stdin = "data", check = false })
    end }
    local _, r = ctx:run(on.install(), { processes = { { command = "tee", code = 1 } } })
    assert.same({ { argv = { "apt-get", "install", "-y", "nginx" }, code = 0 },
                  { argv = { "tee", "/tmp/x" }, stdin = "data", code = 1 } }, r.processes)
  end)
end)

describe("juju.testing run.logs #unit", function()
  it("juju-log lines with their levels; DEBUG only when JUJU_DEBUG is set", function()
    local handler = function()
      log.debug("detail %d", 1)
      log.info("starting")
      log.warning("port %d is low", 80)
      log.error("no database")
      log.critical("giving up")
    end
    local _, r = context{ install = handler }:run(on.install(), {})
    assert.same({
      { level = "INFO", message = "starting" }, { level = "WARNING", message = "port 80 is low" },
      { level = "ERROR", message = "no database" }, { level = "CRITICAL", message = "giving up" },
    }, r.logs)
    assert.same({ "juju-log", "--log-level", "WARNING", "--", "port 80 is low" }, r.commands[3].argv)
    local _, debug = context{ install = handler }:run(on.install{ env = { JUJU_DEBUG = "1" } }, {})
    assert.same({ level = "DEBUG", message = "detail 1" }, debug.logs[1])
    assert.equal(5, #debug.logs)
  end)

  it("logs are kept when the hook fails", function()
    local _, r = context{ install = function()
      log.info("before")
      error("broken")
    end }:run_failing(on.install(), {})
    assert.same({ { level = "INFO", message = "before" } }, r.logs)
  end)
end)

describe("juju.testing run.status_history #unit", function()
  it("every status set, unit and app, in order, the collected one last", function()
    local c = charm.new()
    c:on("install", function(e)
      e.status:set("maintenance", "installing")
      e.status:set_app("waiting", "units installing")
      e.status:set("maintenance", "configuring")
    end)
    c:collect_status(function(s) s:add("active", "ready") end)
    local out, r = testing.context{ charm = c, metadata = META }:run(on.install(), { leader = true })
    assert.same({
      { target = "unit", name = "maintenance", message = "installing" },
      { target = "app", name = "waiting", message = "units installing" },
      { target = "unit", name = "maintenance", message = "configuring" },
      { target = "unit", name = "active", message = "ready" },
    }, r.status_history)
    assert.same({ name = "active", message = "ready" }, out.unit_status)
  end)
end)

describe("juju.testing run.action #unit", function()
  it("the action's name, params, results (nested), logs; no failure", function()
    local ctx = context(nil, { backup = function(a)
      a:log("copying")
      a:set_results{ path = a.params.to .. "/db.tar", stats = { tables = 3, bytes = 1024 } }
      a:log("done")
    end })
    local _, r = ctx:run(on.action("backup"), {})
    assert.same({ name = "backup", params = { to = "/srv/backup" },
                  results = { path = "/srv/backup/db.tar", stats = { tables = "3", bytes = "1024" } },
                  logs = { "copying", "done" } }, r.action)
    local set
    for _, c in ipairs(r.commands) do if c.argv[1] == "action-set" then set = c.argv end end
    assert.same({ "action-set", "path=/srv/backup/db.tar", "stats.bytes=1024", "stats.tables=3" }, set)
  end)

  it("a:fail marks the action failed and the hook still succeeds, results kept", function()
    local ctx = context(nil, { backup = function(a)
      a:set_results{ partial = "yes" }
      a:fail("disk full")
    end })
    local _, r = ctx:run(on.action("backup"), {})
    assert.same({ "disk full", { partial = "yes" } }, { r.action.failure, r.action.results })
    assert.is_nil(r.error)
  end)

  it("a handler that raises fails the action with the error's first line, and the hook", function()
    local ctx = context(nil, { explode = function() error("boom\nmore detail", 0) end })
    local _, r = ctx:run_failing(on.action("explode"), {})
    assert.equal("boom", r.action.failure)
    assert.same({ "action-fail", "--", "boom" }, r.commands[#r.commands].argv)
    assert.matches("^boom\nmore detail\nstack traceback:", r.error)
  end)

  it("an action the charm has no handler for fails, saying so", function()
    local _, r = context(nil, { backup = function() end }):run_failing(on.action("orphan"), {})
    assert.equal("this charm has no handler for action 'orphan'", r.action.failure)
    assert.equal("this charm has no handler for action 'orphan'", r.error)
  end)

  it("no action: run.action is nil", function()
    local _, r = context{ install = function() end }:run(on.install(), {})
    assert.is_nil(r.action)
  end)
end)

describe("juju.testing run.event and run.env #unit", function()
  it("the event as completed against the state, and the environment the charm ran with", function()
    local _, r = context{ ["db-relation-changed"] = function() end }:run(on.relation_changed(3), { relations = { DB } })
    assert.same({ "db-relation-changed", "relation-changed", 3, "db", "pg/0" },
      { r.event.name, r.event.kind, r.event.relation, r.event.endpoint, r.event.remote_unit })
    assert.equal("hooks/db-relation-changed", r.env.JUJU_DISPATCH_PATH)
  end)
end)

describe("juju.testing failed hooks #unit", function()
  local function breaking(e)
    e.status:set("maintenance", "trying")
    e.model:set_workload_version("2.0")
    e.state.count = 99
    e.model:relation("db").unit_data.address = "10.0.0.9"
    e.model:set_ports{ 443 }
    juju.open_port("tcp", 8443)
    error("the database is gone")
  end
  local STATE = { leader = true, relations = { DB }, stored = { count = 1 }, opened_ports = {},
                  unit_status = { name = "active", message = "" }, workload_version = "1.0" }

  it("ctx:run raises HookFailed: the message at the charm's line, a traceback, the state and run after", function()
    local ctx = context{ ["config-changed"] = breaking }
    local ok, err = pcall(ctx.run, ctx, on.config_changed(), STATE)
    assert.is_false(ok)
    assert.equal(testing.HookFailed, getmetatable(err))
    assert.matches("^[^\n]*testing_channels_spec%.lua:%d+: the database is gone$", err.message)
    assert.matches("^stack traceback:\n", err.traceback)
    assert.matches("testing_channels_spec.lua:%d+: in", err.traceback)
    assert.equal(err.message, err.run.error)
    assert.equal("the hook failed: " .. err.message .. "\n" .. err.traceback, tostring(err))
    -- what Juju keeps of a failed hook: the status and workload version (set at once), nothing else
    assert.same({ name = "maintenance", message = "trying" }, err.state.unit_status)
    assert.equal("2.0", err.state.workload_version)
    assert.same({ count = 1 }, err.state.stored)
    assert.same({ old = "x" }, err.state.relations[1].local_unit_data)
    assert.same({}, err.state.opened_ports)
  end)

  it("ctx:run_failing returns that state and run", function()
    local out, r = context{ ["config-changed"] = breaking }:run_failing(on.config_changed(), STATE)
    assert.matches("testing_channels_spec%.lua:%d+: the database is gone$", r.error)
    assert.same({ name = "maintenance", message = "trying" }, out.unit_status)
    assert.same({ count = 1 }, out.stored)
    assert.same({ { target = "unit", name = "maintenance", message = "trying" } }, r.status_history)
  end)

  it("ctx:run_failing raises, at the test's line, when the hook succeeded", function()
    local ctx = context{ ["config-changed"] = function() end }
    local ok, err = pcall(function() ctx:run_failing(on.config_changed(), {}) end)
    assert.is_false(ok)
    assert.matches("^[^\n]*testing_channels_spec%.lua:%d+: expected config%-changed to fail, but the hook succeeded$",
      err)
  end)

  it("a run that succeeds has no run.error", function()
    local _, r = context{ ["config-changed"] = function() end }:run(on.config_changed(), {})
    assert.is_nil(r.error)
  end)

  it("an inconsistent state is raised at the test's line, before the charm runs", function()
    local ran = false
    local ctx = context{ ["config-changed"] = function() ran = true end }
    local ok, err = pcall(function() ctx:run(on.config_changed(), { leader = "yes" }) end)
    assert.is_false(ok)
    assert.matches("^[^\n]*testing_channels_spec%.lua:%d+: inconsistent state: leader is not a boolean$", err)
    assert.is_false(ran)
    ok, err = pcall(function() ctx.run(on.config_changed(), {}) end)
    assert.is_false(ok)
    assert.matches("use ctx:run(event, state), with a colon", err, 1, true)
  end)
end)
