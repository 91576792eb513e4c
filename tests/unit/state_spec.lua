-- Stored state (in Juju's state-get/state-set: read at most once, written
-- only when changed, at the end of a successful hook) and defer (kept in
-- stored state, run again first, oldest first, once).

local charm = require "juju.charm"
local testing = require "juju.testing"

local commands = require("helpers.runs").records

local BASE = { leader = true, config = { port = 8080 },
               relations = { { id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/0" } } } }

local function state(t)
  local s = {}
  for k, v in pairs(BASE) do s[k] = v end
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

local function run_with(handler, st, event)
  local c = charm.new()
  c:on(type(event) == "table" and event.name or event or "config-changed", handler)
  return testing.context{ charm = c, app = "web" }:run(event or "config-changed", st or state())
end

local function fail_with(handler, st, event)
  local c = charm.new()
  c:on(type(event) == "table" and event.name or event or "config-changed", handler)
  return testing.context{ charm = c, app = "web" }:run_failing(event or "config-changed", st or state())
end

describe("stored state #unit", function()
  it("survives from one hook to the next, values exact", function()
    local out = run_with(function(e)
      e.state.count = (e.state.count or 0) + 1
      e.state.big = 12345678901234567
      e.state.cfg = { port = 8080, tags = { "a", "b" }, ratio = 2 / 3 }
    end)
    assert.same({ count = 1, big = 12345678901234567, cfg = { port = 8080, tags = { "a", "b" }, ratio = 2 / 3 } },
      out.stored)
    assert.equal("integer", math.type(out.stored.big))
    local out2 = run_with(function(e) e.state.count = e.state.count + 1 end, out)
    assert.equal(2, out2.stored.count)
  end)

  it("is read at most once per hook, and not at all when unused (but for the deferred events)", function()
    local _, run = run_with(function(e)
      local _, _, _ = e.state.a, e.state.b, e.model.state.c
    end)
    assert.equal(1, #commands(run, "state-get"))
  end)

  it("is written only when a value changed, in one state-set", function()
    local st = state { stored = { a = 1, b = { x = 1 } } }
    local _, run = run_with(function(e)
      e.state.a = 1
      local _ = e.state.b.x
    end, st)
    assert.equal(0, #commands(run, "state-set"))
    _, run = run_with(function(e)
      e.state.a = 2
      e.state.b.x = 2   -- changed in place
      e.state.c = "new"
    end, st)
    local sets = commands(run, "state-set")
    assert.equal(1, #sets)
    assert.equal('{"charm.a": "2", "charm.b": "{\\"x\\":2}", "charm.c": "\\"new\\""}', sets[1].stdin)
  end)

  it("nil deletes with state-delete", function()
    local out, run = run_with(function(e) e.state.a = nil end, state { stored = { a = 1, b = 2 } })
    assert.same({ "state-delete", "charm.a" }, commands(run, "state-delete")[1].argv)
    assert.same({ b = 2 }, out.stored)
  end)

  it("pairs sees stored and new values", function()
    local keys
    run_with(function(e)
      e.state.z = true
      keys = {}
      for k in pairs(e.state) do keys[#keys + 1] = k end
      table.sort(keys)
    end, state { stored = { a = 1 } })
    assert.same({ "a", "z" }, keys)
  end)

  it("what JSON cannot hold is refused at the charm's line", function()
    local _, run = fail_with(function(e) e.state.f = print end)
    assert.matches("state_spec.lua:%d+: stored state 'f': cannot encode a value JSON cannot hold: function",
      run.error)
    _, run = fail_with(function(e) e.state.x = 0 / 0 end)
    assert.matches("state_spec.lua:%d+: stored state 'x': .*nan", run.error)
    _, run = fail_with(function(e) e.state.big = string.rep("x", 70000) end)
    assert.matches("is 70002 bytes as JSON; Juju keeps at most 65536", run.error)
  end)

  it("a failing hook writes nothing", function()
    local out = fail_with(function(e)
      e.state.a = 5
      error("no")
    end, state { stored = { a = 1 } })
    assert.same({ a = 1 }, out.stored)
  end)
end)

describe("defer #unit", function()
  local function ready_charm(log)
    local c = charm.new()
    c:on("db-relation-changed", function(e)
      log[#log + 1] = (e.deferred and "again " or "") .. e.name .. " " .. tostring(e.unit)
      if not e.state.ready then e:defer() end
    end)
    c:on("config-changed", function(e)
      log[#log + 1] = "config-changed"
      if e.config.ready then e.state.ready = true end
    end)
    c:on("install", function(e) e:defer() end)
    return testing.context{ charm = c, app = "web" }
  end

  local CHANGED = { name = "db-relation-changed", relation = 3, remote_unit = "pg/0" }

  it("keeps the event in stored state and runs it first on the next hook", function()
    local log = {}
    local ctx = ready_charm(log)
    local out = ctx:run(CHANGED, state())
    assert.equal(1, #out.deferred)
    assert.equal("db-relation-changed", out.deferred[1].event)
    assert.equal("db:3", out.deferred[1].env.JUJU_RELATION_ID)
    local s2 = ctx:run("config-changed", out)   -- not ready: deferred again
    assert.equal(1, #s2.deferred)
    s2.config = { port = 8080, ready = true }
    local s3 = ctx:run("config-changed", s2)    -- becomes ready during config-changed: runs next time
    assert.equal(1, #s3.deferred)
    local s4 = ctx:run("config-changed", s3)
    assert.same({}, s4.deferred)
    assert.same({ "db-relation-changed pg/0", "again db-relation-changed pg/0", "config-changed",
                  "again db-relation-changed pg/0", "config-changed", "again db-relation-changed pg/0",
                  "config-changed" }, log)
  end)

  it("is de-duplicated: the same event deferred twice waits once; FIFO order", function()
    local log = {}
    local ctx = ready_charm(log)
    local s = ctx:run(CHANGED, state())
    s = ctx:run(CHANGED, s)
    assert.equal(1, #s.deferred)
    s.relations[1].remote_units = { "pg/0", "pg/1" }
    s = ctx:run({ name = "db-relation-changed", relation = 3, remote_unit = "pg/1" }, s)
    assert.equal(2, #s.deferred)
    assert.equal("pg/0", s.deferred[1].env.JUJU_REMOTE_UNIT)
    assert.equal("pg/1", s.deferred[2].env.JUJU_REMOTE_UNIT)
  end)

  it("a deferred event whose relation is gone is dropped", function()
    local log = {}
    local ctx = ready_charm(log)
    local s = ctx:run(CHANGED, state())
    s.relations = {}
    s = ctx:run("config-changed", s)
    assert.same({}, s.deferred)
    assert.same({ "db-relation-changed pg/0", "config-changed" }, log)
  end)

  it("a deferred leader-elected is dropped when leadership moved", function()
    local ran = 0
    local c = charm.new()
    c:on("leader-elected", function(e)
      ran = ran + 1
      if ran == 1 then e:defer() end
    end)
    c:on("config-changed", function() end)
    local ctx = testing.context{ charm = c, app = "web" }
    local s = ctx:run("leader-elected", state())
    assert.equal(1, #s.deferred)
    s.leader = false
    s = ctx:run("config-changed", s)
    assert.equal(1, ran)
    assert.same({}, s.deferred)
  end)

  it("actions and stop, remove, secret-rotate, secret-expired cannot be deferred", function()
    for _, ev in ipairs { "stop", "remove" } do
      local _, run = fail_with(function(e) e:defer() end, state(), ev)
      assert.matches("state_spec.lua:%d+: " .. ev .. " cannot be deferred", run.error)
    end
    local _, run = fail_with(function(e) e:defer() end,
      state { secrets = { { id = "secret:cs1l5r2d2j3p2c1v4nbg", owner = "app", content = { a = "b" } } } },
      { name = "secret-rotate", secret = "secret:cs1l5r2d2j3p2c1v4nbg" })
    assert.matches("secret%-rotate cannot be deferred", run.error)
    local c = charm.new()
    c:on_action("go", function(a) a:defer() end)
    _, run = testing.context{ charm = c, app = "web" }:run_failing({ action = "go" }, state())
    assert.matches("action go cannot be deferred", run.error)
  end)

  it("a hook that fails keeps the deferred events as they were", function()
    local c = charm.new()
    c:on("install", function(e) e:defer() end)
    c:on("start", function() error("start failed") end)
    local ctx = testing.context{ charm = c, app = "web" }
    local s = ctx:run("install", state())
    local s2, run = ctx:run_failing("start", s)
    assert.truthy(run.error)
    assert.same(s.deferred, s2.deferred)
  end)
end)
