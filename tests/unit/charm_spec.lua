-- juju.charm: registering handlers, dispatching events, what a hook
-- writes and when, failures, actions. Run against the simulated Juju
-- (juju.testing) at the hook-command seam.

local charm = require "juju.charm"
local testing = require "juju.testing"

local runs = require "helpers.runs"
local commands, names, count = runs.lines, runs.names, runs.count

local WEBSITE = { id = 3, endpoint = "website", remote_app = "proxy", remote_units = { "proxy/0" },
                  remote_app_data = { host = "proxy.example" },
                  remote_units_data = { ["proxy/0"] = { ip = "10.0.0.9" } } }

local function state(t)
  local s = { leader = true, config = { port = 8080 }, relations = { WEBSITE } }
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

describe("juju.charm: registering #unit", function()
  it("on takes Juju's event names, and says what is wrong with the rest, at the charm's line", function()
    local c = charm.new()
    assert.equal(c, c:on("install", function() end))
    local ok, err = pcall(function() c:on("config_changed", function() end) end)
    assert.is_false(ok)
    assert.matches("charm_spec.lua:%d+: bad argument #1 to 'on' %(no Juju event is named 'config_changed' "
      .. "%(Juju's names use '%-': 'config%-changed'%)%)", err)
    ok, err = pcall(function() c:on("install") end)
    assert.is_false(ok)
    assert.matches("bad argument #2 to 'on' (function expected, got no value)", err, 1, true)
    ok, err = pcall(function() c.on("install", print) end)
    assert.is_false(ok)
    assert.matches("call it as c:on(...), not c.on(...)", err, 1, true)
    ok, err = pcall(function() c:on("actions/backup", print) end)
    assert.is_false(ok)
    assert.matches("register actions with on_action", err, 1, true)
  end)

  it("on_action takes action names once", function()
    local c = charm.new()
    c:on_action("do-backup", function() end)
    assert.has_error(function() c:on_action("do-backup", function() end) end,
      "on_action: action 'do-backup' already has a handler")
    local ok, err = pcall(function() c:on_action("Do_Backup", function() end) end)
    assert.is_false(ok)
    assert.matches("not an action name Juju takes", err, 1, true)
  end)

  it("a file returning a charm runs nothing when loaded", function()
    local ran = false
    local c = charm.new()
    c:on("install", function() ran = true end)
    assert.is_true(charm.is_charm(c))
    assert.is_false(ran)
    assert.is_false(charm.is_charm({}))
  end)

  it("main refuses what is not a charm", function()
    local ok, err = pcall(charm.main, {}, "hooks/install")
    assert.is_false(ok)
    assert.matches("must return a charm made by juju.charm.new", err, 1, true)
  end)
end)

describe("juju.charm: dispatching #unit", function()
  it("runs the event's handlers in order, then reconcile, then collect-status", function()
    local order = {}
    local c = charm.new()
    c:on("config-changed", function(e) order[#order + 1] = "first " .. e.name end)
    c:on("config-changed", function() order[#order + 1] = "second" end)
    c:on("install", function() order[#order + 1] = "install" end)
    c:reconcile(function(e) order[#order + 1] = "reconcile " .. e.kind end)
    c:collect_status(function(s) order[#order + 1] = "status"; s:add("active") end)
    local ctx = testing.context{ charm = c, app = "web" }
    local out, run = ctx:run("config-changed", state())
    assert.is_nil(run.error)
    assert.same({ "first config-changed", "second", "reconcile config-changed", "status" }, order)
    assert.same({ name = "active", message = "" }, out.unit_status)
  end)

  it("an event with no handler and no reconcile exits at once, without a hook command", function()
    local c = charm.new()
    c:on("install", function() end)
    c:collect_status(function(s) s:add("active") end)
    local _, run = testing.context{ charm = c, app = "web" }:run("update-status", state())
    assert.is_nil(run.error)
    assert.same({}, run.commands)
  end)

  it("a trivial update-status costs two hook commands (ops issues seven)", function()
    local c = charm.new()
    c:on("update-status", function() end)
    c:collect_status(function(s) s:add("active", "ready") end)
    local _, run = testing.context{ charm = c, app = "web" }:run("update-status", state())
    assert.same({ "state-get --format=json", "status-set --application=False active -- ready" }, commands(run))
  end)

  it("the event carries the model, config, stored state and status", function()
    local seen
    local c = charm.new()
    c:on("start", function(e) seen = { e.name, e.kind, e.model.unit, e.model.app, e.config.port, e.deferred } end)
    testing.context{ charm = c, app = "web" }:run("start", state())
    assert.same({ "start", "start", "web/0", "web", 8080, false }, seen)
  end)

  it("a relation event gives the relation, remote app and unit", function()
    local seen
    local c = charm.new()
    c:on("website-relation-changed", function(e)
      seen = { e.relation.id, e.relation.endpoint, tostring(e.relation), e.app, e.unit,
               e.relation.remote_app_data.host, e.relation:remote_unit_data(e.unit).ip,
               e.relation.units[1], e.relation.app }
    end)
    local _, run = testing.context{ charm = c, app = "web" }:run(
      { name = "website-relation-changed", relation = 3, remote_unit = "proxy/0" }, state())
    assert.is_nil(run.error)
    assert.same({ 3, "website", "website:3", "proxy", "proxy/0", "proxy.example", "10.0.0.9", "proxy/0", "proxy" },
      seen)
    -- the remote app came from the environment: no relation-list --app
    assert.same({ "state-get --format=json", "relation-get --format=json -r 3 --app - proxy",
                  "relation-get --format=json -r 3 - proxy/0", "relation-list --format=json -r 3" }, commands(run))
  end)

  it("config is read once, and read-only", function()
    local c = charm.new()
    c:on("config-changed", function(e)
      local _ = e.config.port + e.model.config.port
      e.config.port = 1
    end)
    local out, run = testing.context{ charm = c, app = "web" }:run_failing("config-changed", state())
    assert.equal(1, count(run, "config-get"))
    assert.matches("charm_spec.lua:%d+: config is read%-only %(writing port%)", run.error)
    assert.same({ port = 8080 }, out.config)
  end)

  it("leadership is asked once per hook", function()
    local c = charm.new()
    c:on("config-changed", function(e)
      assert(e.model:is_leader() and e.model:is_leader())
    end)
    c:reconcile(function(e) assert(e.model:is_leader()) end)
    local _, run = testing.context{ charm = c, app = "web" }:run("config-changed", state())
    assert.equal(1, count(run, "is-leader"))
  end)
end)

describe("juju.charm: failures #unit", function()
  local function failing_charm()
    local c = charm.new()
    c:on("config-changed", function(e)
      e.model:relation("website").app_data.url = "http://new"
      e.state.count = 1
      e.model:set_ports{ 9000 }
      e.status:set("maintenance", "configuring")
      error("boom in the handler")
    end)
    return c
  end

  it("nothing buffered is written; what Juju applies at once stays", function()
    local before = state()
    local out, run = testing.context{ charm = failing_charm(), app = "web" }:run_failing("config-changed", before)
    assert.matches("boom in the handler", run.error)
    for _, name in ipairs(names(run)) do
      assert.is_true(name ~= "relation-set" and name ~= "state-set" and name ~= "open-port", name)
    end
    assert.is_nil(out.relations[1].local_app_data)
    assert.same({}, out.stored)
    assert.same({ name = "maintenance", message = "configuring" }, out.unit_status)
  end)

  it("a failing hook command's error names the command and Juju's reason", function()
    local c = charm.new()
    c:on("config-changed", function(e)
      local _ = e.model:relation("website"):remote_unit_data("stranger/0").ip
    end)
    local _, run = testing.context{ charm = c, app = "web" }:run_failing("config-changed", state())
    assert.matches("command [relation-get --format=json -r 3 - stranger/0] exited with status 1: "
      .. "ERROR permission denied", run.error, 1, true)
  end)

  it("a mistake the framework can see is raised at the charm's line, before Juju is asked", function()
    local c = charm.new()
    c:on("config-changed", function(e) e.status:set_app("active") end)
    local _, run = testing.context{ charm = c, app = "web" }:run_failing("config-changed", state { leader = false })
    assert.matches("charm_spec.lua:%d+: set_app: only the leader can set the application's status", run.error)
    assert.equal(0, count(run, "status-set"))
  end)
end)

describe("juju.charm: actions #unit", function()
  local function greeter()
    local c = charm.new()
    c:on_action("greet", function(a)
      a:log("greeting " .. a.params.name)
      a:set_results { greeting = "hello " .. a.params.name, meta = { length = #a.params.name } }
      if a.params.name == "nobody" then a:fail("no one to greet") end
    end)
    c:on_action("explode", function() error("kaboom") end)
    return c
  end

  it("params, results (nested), log", function()
    local _, run = testing.context{ charm = greeter(), app = "web" }:run(
      { action = "greet", params = { name = "ada" } }, state())
    assert.is_nil(run.error)
    assert.same({ greeting = "hello ada", meta = { length = "3" } }, run.action.results)
    assert.same({ "greeting ada" }, run.action.logs)
    assert.is_nil(run.action.failure)
  end)

  it("fail marks it failed and the handler goes on", function()
    local _, run = testing.context{ charm = greeter(), app = "web" }:run(
      { action = "greet", params = { name = "nobody" } }, state())
    assert.is_nil(run.error)
    assert.equal("no one to greet", run.action.failure)
    assert.equal("hello nobody", run.action.results.greeting)
  end)

  it("an uncaught error fails the action with its message first, then fails the hook", function()
    local _, run = testing.context{ charm = greeter(), app = "web" }:run_failing({ action = "explode" }, state())
    assert.matches("kaboom", run.error)
    assert.matches("stack traceback", run.error)
    assert.matches("charm_spec.lua:%d+: kaboom$", run.action.failure)
  end)

  it("an action without a handler fails with a clear message", function()
    local _, run = testing.context{ charm = greeter(), app = "web" }:run_failing({ action = "unknown-thing" }, state())
    assert.equal("this charm has no handler for action 'unknown-thing'", run.action.failure)
    assert.matches("no handler for action 'unknown%-thing'", run.error)
  end)

  it("action methods on a hook event are a mistake at the charm's line", function()
    local c = charm.new()
    c:on("install", function(e) e:set_results{ a = "b" } end)
    local _, run = testing.context{ charm = c, app = "web" }:run_failing("install", state())
    assert.matches("charm_spec.lua:%d+: set_results: install is not an action", run.error)
  end)
end)
