-- juju.relation and the model's relations: lazy reads, buffered writes
-- sent once per bag after the handlers succeed, read-your-writes, and
-- mistakes (app data as a non-leader, remote bags, broken relations)
-- raised at the charm's line.

local charm = require "juju.charm"
local testing = require "juju.testing"

local commands = require("helpers.runs").records

local function rel(t)
  local r = { id = 3, endpoint = "website", remote_app = "proxy", remote_units = { "proxy/0", "proxy/1" },
              local_unit_data = { old = "x" }, local_app_data = { url = "http://old" },
              remote_app_data = { host = "proxy.example" } }
  for k, v in pairs(t or {}) do r[k] = v end
  return r
end

local function state(t)
  local s = { leader = true, config = { port = 8080 },
              relations = { rel(), rel { id = 9, endpoint = "db", remote_app = "pg", remote_units = { "pg/0" },
                                         local_unit_data = {}, local_app_data = {}, remote_app_data = {} } } }
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

local function run_with(handler, st, event)
  local c = charm.new()
  c:on(event and event.name or "config-changed", handler)
  return testing.context{ charm = c, app = "web" }:run(event or "config-changed", st or state())
end

local function fail_with(handler, st, event)
  local c = charm.new()
  c:on(event and event.name or "config-changed", handler)
  return testing.context{ charm = c, app = "web" }:run_failing(event or "config-changed", st or state())
end

describe("relation data #unit", function()
  it("writes are buffered and sent once per bag, after the handlers", function()
    local out, run = run_with(function(e)
      local r = e.model:relation("website")
      r.unit_data.a = "1"
      r.unit_data.b = "2"
      r.app_data.url = "http://new"
    end)
    assert.is_nil(run.error)
    local sets = commands(run, "relation-set")
    assert.equal(2, #sets)
    assert.same({ "relation-set", "-r", "3", "--file", "-" }, sets[1].argv)
    assert.equal('{"a": "1", "b": "2"}', sets[1].stdin)
    assert.same({ "relation-set", "-r", "3", "--app", "--file", "-" }, sets[2].argv)
    assert.equal('{"url": "http://new"}', sets[2].stdin)
    assert.same({ old = "x", a = "1", b = "2" }, out.relations[1].local_unit_data)
    assert.same({ url = "http://new" }, out.relations[1].local_app_data)
    -- relation-set comes after everything the handler read
    assert.equal("relation-set", run.commands[#run.commands].argv[1])
  end)

  it("reads are lazy (one relation-get per bag) and see the hook's own writes", function()
    local seen
    local _, run = run_with(function(e)
      local r = e.model:relation("website")
      r.unit_data.new = "v"
      seen = { r.unit_data.old, r.unit_data.new, r.unit_data.old }
      r.unit_data.old = nil
      seen[4] = r.unit_data.old
      local keys = {}
      for k in pairs(r.unit_data) do keys[#keys + 1] = k end
      table.sort(keys)
      seen[5] = table.concat(keys, ",")
    end)
    assert.is_nil(run.error)
    assert.same({ "x", "v", "x", nil, "new" }, seen)
    assert.equal(1, #commands(run, "relation-get"))
    assert.equal('{"new": "v", "old": ""}', commands(run, "relation-set")[1].stdin)
  end)

  it("in a bag that was read, only keys whose value changed are sent; nothing when nothing changed", function()
    local _, run = run_with(function(e)
      local r = e.model:relation("website")
      local _ = r.unit_data.old .. r.app_data.url
      r.unit_data.old = "x"
      r.app_data.url = "http://old"
      r.app_data.gone = nil
    end)
    assert.is_nil(run.error)
    assert.equal(0, #commands(run, "relation-set"))
    _, run = run_with(function(e)
      local r = e.model:relation("website")
      local _ = r.unit_data.old
      r.unit_data.old = "x"
      r.unit_data.other = "y"
    end)
    assert.equal('{"other": "y"}', commands(run, "relation-set")[1].stdin)
  end)

  it("a bag written without being read is sent as written (no read just to compare)", function()
    local _, run = run_with(function(e) e.model:relation("website").unit_data.old = "x" end)
    assert.equal(0, #commands(run, "relation-get"))
    assert.equal('{"old": "x"}', commands(run, "relation-set")[1].stdin)
  end)

  it("an empty string deletes, and numbers are written exactly", function()
    local out = run_with(function(e)
      local r = e.model:relation("website")
      r.unit_data.old = ""
      r.unit_data.n = 12345678901234567
      r.unit_data.f = 0.1
      assert.equal("12345678901234567", r.unit_data.n)
    end)
    assert.same({ n = "12345678901234567", f = "0.1" }, out.relations[1].local_unit_data)
  end)

  it("app data as a non-leader is an error at the charm's line", function()
    local _, run = fail_with(function(e) e.model:relation("website").app_data.url = "x" end, state { leader = false })
    assert.matches("relation_spec.lua:%d+: app data of web in relation website:3 can only be written by the "
      .. "leader %(this unit is not%)", run.error)
    assert.equal(0, #commands(run, "relation-set"))
  end)

  it("remote bags are read-only", function()
    local _, run = fail_with(function(e) e.model:relation("website").remote_app_data.host = "evil" end)
    assert.matches("relation_spec.lua:%d+: remote app data in relation website:3 is read%-only %(writing 'host'%)",
      run.error)
    _, run = fail_with(function(e) e.model:relation("website"):remote_unit_data("proxy/0").x = "y" end)
    assert.matches("is read%-only", run.error)
  end)

  it("values must be strings or numbers, keys non-empty strings", function()
    local _, run = fail_with(function(e) e.model:relation("website").unit_data.t = {} end)
    assert.matches("relation_spec.lua:%d+: .*value of 't' must be a string or number, got table", run.error)
    _, run = fail_with(function(e) e.model:relation("website").unit_data[1] = "x" end)
    assert.matches("keys must be non%-empty strings", run.error)
  end)

  it("relations: by endpoint (relation-ids once), by id, and Juju's 'endpoint:id'", function()
    local seen
    local _, run = run_with(function(e)
      local all = e.model:relations("website")
      local again = e.model:relations("website")
      seen = { #all, all[1] == again[1], e.model:relation("website").id, e.model:relation("website", 3).id,
               e.model:relation("website:3") == all[1], e.model:relation("website", 4), #e.model:relations("none") }
    end)
    assert.is_nil(run.error)
    assert.same({ 1, true, 3, 3, true, nil, 0 }, seen)
    assert.equal(2, #commands(run, "relation-ids"))
  end)

  it("an endpoint with several relations needs the id", function()
    local s = state()
    s.relations[3] = rel { id = 4 }
    local _, run = fail_with(function(e) e.model:relation("website") end, s)
    assert.matches("relation_spec.lua:%d+: endpoint 'website' has 2 relations: give the id", run.error)
  end)

  it("the same relation is one object for the hook, so writes from two handlers add up", function()
    local c = charm.new()
    c:on("website-relation-changed", function(e) e.relation.unit_data.a = "1" end)
    c:on("website-relation-changed", function(e) e.model:relation("website").unit_data.b = "2" end)
    local _, run = testing.context{ charm = c, app = "web" }:run(
      { name = "website-relation-changed", relation = 3, remote_unit = "proxy/0" }, state())
    assert.equal(1, #commands(run, "relation-set"))
    assert.equal('{"a": "1", "b": "2"}', commands(run, "relation-set")[1].stdin)
  end)

  it("in relation-broken the relation is marked broken, is not among the relations, and cannot be written", function()
    local seen
    local c = charm.new()
    c:on("website-relation-broken", function(e)
      seen = { e.relation.broken, #e.model:relations("website") }
      e.relation.unit_data.x = "y"
    end)
    local _, run = testing.context{ charm = c, app = "web" }:run_failing(
      { name = "website-relation-broken", relation = 3 }, state())
    assert.same({ true, 0 }, seen)
    assert.matches("relation website:3 is broken: its data can no longer be written", run.error)
  end)

  it("relation-departed gives the departing unit", function()
    local seen
    local c = charm.new()
    c:on("website-relation-departed", function(e) seen = { e.unit, e.departing_unit } end)
    testing.context{ charm = c, app = "web" }:run(
      { name = "website-relation-departed", relation = 3, remote_unit = "proxy/1", departing_unit = "proxy/1" },
      state())
    assert.same({ "proxy/1", "proxy/1" }, seen)
  end)

  it("remote units and app of another relation come from relation-list", function()
    local seen
    local _, run = run_with(function(e)
      local db = e.model:relation("db")
      seen = { db.app, db.units[1], #db.units }
    end)
    assert.same({ "pg", "pg/0", 1 }, seen)
    assert.same({ "relation-list", "--format=json", "--app", "-r", "9" }, commands(run, "relation-list")[1].argv)
  end)
end)
