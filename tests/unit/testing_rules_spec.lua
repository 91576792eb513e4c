-- juju.testing keeps Juju's rules, with Juju's error text: leadership for
-- application data and status, read-only remote bags, secret ownership
-- and grants, relation ids, action results. Some rules the framework
-- checks first, at the charm's line; the simulated Juju checks them all,
-- as the hook commands would.

local charm = require "juju.charm"
local juju = require "juju"
local testing = require "juju.testing"
local on = testing.on

local META = {
  name = "web",
  requires = { db = { interface = "pgsql" } },
  peers = { replicas = { interface = "web-peers" } },
  actions = { backup = {} },
}

local DB = testing.relation{ id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/0" },
                             local_app_data = { url = "http://old" }, local_unit_data = { address = "10.0.0.1" },
                             remote_app_data = { database = "shop" },
                             remote_units_data = { ["pg/0"] = { host = "10.0.0.7" } } }

local APP_ID = "secret:ct0000000000000000a0"
local SHARED_ID = "secret:cs1l5r2d2j3p2c1v4nbg"

local function context(handler, hook)
  local c = charm.new()
  if hook == "backup" then c:on_action(hook, handler) else c:on(hook or "config-changed", handler) end
  return testing.context{ charm = c, metadata = META }
end

local function run(handler, state, event)
  event = event or on.config_changed()
  return context(handler, event.name):run(event, state)
end

local function run_failing(handler, state, event)
  event = event or on.config_changed()
  return context(handler, event.name):run_failing(event, state)
end

--- What a hook command says when it fails: "ERROR ..." and its exit code.
local function refusal(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "the hook command succeeded")
  return { err.returncode, err.stderr }
end

describe("juju.testing rules: relation data #unit", function()
  it("a non-leader writing its application's bag: the framework's error at the charm's line", function()
    local out, r = run_failing(function(e) e.model:relation("db").app_data.url = "http://new" end,
      { leader = false, relations = { DB } })
    assert.matches("^[^\n]*testing_rules_spec%.lua:%d+: app data of web in relation db:3 can only be written by "
      .. "the leader %(this unit is not%)", r.error)
    assert.same({ url = "http://old" }, out.relations[1].local_app_data)
  end)

  it("a non-leader's relation-set --app: Juju's 'cannot write relation settings'", function()
    local seen
    run(function() seen = refusal(juju.relation_set, { url = "x" }, 3, { app = true }) end,
      { leader = false, relations = { DB } })
    assert.same({ 1, "ERROR cannot write relation settings\n" }, seen)
  end)

  it("a non-leader reading its application's bag: permission denied (a peer relation's is readable)", function()
    local seen
    run(function()
      seen = { refusal(juju.relation_get, 3, { unit = "web", app = true }),
               juju.relation_get(4, { unit = "web", app = true }) }
    end, { leader = false, relations = { DB, testing.peer_relation{ id = 4, endpoint = "replicas", app = "web",
                                                                     local_app_data = { token = "t" } } } })
    assert.same({ { 1, "ERROR permission denied\n" }, { token = "t" } }, seen)
  end)

  it("the remote bags are read-only, at the charm's line", function()
    for _, write in ipairs {
      { function(r) r.remote_app_data.database = "other" end, "remote app data in relation db:3" },
      { function(r) r:remote_unit_data("pg/0").host = "x" end, "remote unit data of pg/0 in relation db:3" },
    } do
      local _, r = run_failing(function(e) write[1](e.model:relation("db")) end, { leader = true, relations = { DB } })
      assert.matches("testing_rules_spec.lua:%d+: " .. write[2]:gsub("%p", "%%%0") .. " is read%-only", r.error)
    end
  end)

  it("a unit not in the relation cannot be read: permission denied", function()
    local seen
    run(function() seen = refusal(juju.relation_get, 3, { unit = "pg/9" }) end, { relations = { DB } })
    assert.same({ 1, "ERROR permission denied\n" }, seen)
  end)

  it("an empty string deletes a key, through the framework and through relation-set", function()
    local out, r = run(function(e)
      local rel = e.model:relation("db")
      rel.unit_data.address = ""
      rel.app_data.url = nil
    end, { leader = true, relations = { DB } })
    assert.same({}, out.relations[1].local_unit_data)
    assert.same({}, out.relations[1].local_app_data)
    assert.same({ '{"address": ""}', '{"url": ""}' }, { r.commands[#r.commands - 1].stdin,
                                                         r.commands[#r.commands].stdin })
    local direct = run(function() juju.relation_set({ address = "", port = "80" }, 3) end, { relations = { DB } })
    assert.same({ port = "80" }, direct.relations[1].local_unit_data)
  end)

  it("a relation-broken hook's relation cannot be written, and relation-ids leaves it out", function()
    local seen
    local _, r = run_failing(function(e)
      seen = { #e.model:relations("db"), juju.relation_ids("db") }
      e.relation.unit_data.address = "x"
    end, { relations = { DB } }, on.relation_broken(DB))
    assert.same({ 0, {} }, seen)
    assert.matches("testing_rules_spec.lua:%d+: relation db:3 is broken: its data can no longer be written", r.error)
  end)
end)

describe("juju.testing rules: relation ids #unit", function()
  it("an id the unit is not in: Juju's 'relation not found', for every command that takes -r", function()
    local seen
    run(function()
      seen = {
        refusal(juju.relation_get, 99, { unit = "pg/0" }), refusal(juju.relation_set, { a = "b" }, 99),
        refusal(juju.relation_list, 99), refusal(juju.relation_model_get, 99),
        refusal(juju.network_get, "db", { relation_id = 99 }),
        refusal(juju.secret_grant, APP_ID, 99), refusal(juju.secret_revoke, APP_ID, { relation_id = 99 }),
      }
    end, { leader = true, relations = { DB },
           secrets = { testing.secret{ id = APP_ID, owner = "app", content = { pass = "x" } } } })
    for i, s in ipairs(seen) do
      assert.same({ 2, 'ERROR invalid value "99" for flag -r: relation not found\n' }, s, "command " .. i)
    end
  end)

  it("an id given as Juju writes it, endpoint:N, works; so does the endpoint's relation by number", function()
    local seen
    run(function(e)
      seen = { juju.relation_get("db:3", { unit = "pg/0" }).host, e.model:relation("db:3").id,
               e.model:relation("db", 99) }
    end, { relations = { DB } })
    assert.same({ "10.0.0.7", 3, nil }, seen)
  end)
end)

describe("juju.testing rules: status #unit", function()
  it("status-set --application by a non-leader: 'this unit is not the leader'; the framework says so first", function()
    local seen
    local _, r = run_failing(function(e)
      seen = { refusal(juju.status_set, "active", "x", { app = true }), refusal(juju.status_get, { app = true }) }
      e.status:set_app("active")
    end, { leader = false })
    assert.same({ { 1, "ERROR this unit is not the leader\n" },
                  { 1, "ERROR finding application status: this unit is not the leader\n" } }, seen)
    assert.matches("testing_rules_spec.lua:%d+: set_app: only the leader can set the application's status "
      .. "%(this unit is not%)", r.error)
  end)

  it("a collected app status from a non-leader is dropped, not an error", function()
    local c = charm.new()
    c:on("update-status", function() end)
    c:collect_status(function(s) s:add_app("active", "x") end)
    local out, r = testing.context{ charm = c, metadata = META }:run(on.update_status(), { leader = false })
    assert.is_nil(out.app_status)
    assert.same({}, r.status_history)
  end)
end)

describe("juju.testing rules: secrets #unit", function()
  local function secrets(...)
    return { leader = true, relations = { DB }, secrets = { ... } }
  end
  local OWNED = testing.secret{ id = APP_ID, owner = "app", label = "admin", content = { pass = "a" } }

  it("a secret nobody granted this application: permission denied", function()
    local seen
    run(function() seen = refusal(juju.secret_get, { id = SHARED_ID }) end,
      secrets(testing.secret{ id = SHARED_ID, content = { pass = "theirs" } }))
    assert.same({ 1, "ERROR permission denied\n" }, seen)
  end)

  it("a secret granted to another application only: permission denied", function()
    local seen
    run(function() seen = refusal(juju.secret_get, { id = SHARED_ID }) end,
      secrets(testing.secret{ id = SHARED_ID, content = { pass = "theirs" }, grants = { [3] = "pg" } }))
    assert.same({ 1, "ERROR permission denied\n" }, seen)
  end)

  it("an unknown secret, id or label: not found", function()
    local seen
    run(function()
      seen = { refusal(juju.secret_get, { id = "secret:cs00000000000000zzzz" }),
               refusal(juju.secret_get, { label = "nope" }), refusal(juju.secret_info_get, { label = "nope" }) }
    end, secrets(OWNED))
    assert.same({ { 1, 'ERROR secret "secret:cs00000000000000zzzz" not found\n' },
                  { 1, 'ERROR secret "nope" not found\n' }, { 1, 'ERROR secret "nope" not found\n' } }, seen)
  end)

  it("another application's secret cannot be changed, granted or inspected by this one: not found", function()
    local seen
    run(function()
      seen = { refusal(juju.secret_set, SHARED_ID, { content = { pass = "mine" } }),
               refusal(juju.secret_grant, SHARED_ID, 3), refusal(juju.secret_remove, SHARED_ID),
               refusal(juju.secret_info_get, { id = SHARED_ID }) }
    end, secrets(testing.secret{ id = SHARED_ID, granted = true, content = { pass = "theirs" } }))
    local nf = { 1, 'ERROR secret "' .. SHARED_ID .. '" not found\n' }
    assert.same({ nf, nf, nf, nf }, seen)
  end)

  it("an application's secret is the leader's to change: 'this unit is not the leader'", function()
    local seen
    local state = secrets(OWNED)
    state.leader = false
    run(function()
      seen = { refusal(juju.secret_set, APP_ID, { content = { pass = "b" } }), refusal(juju.secret_grant, APP_ID, 3),
               refusal(juju.secret_revoke, APP_ID, { relation_id = 3 }), refusal(juju.secret_remove, APP_ID),
               refusal(juju.secret_add, { pass = "c" }) }
    end, state)
    local nl = { 1, "ERROR this unit is not the leader\n" }
    assert.same({ nl, nl, nl, nl, nl }, seen)
  end)

  it("another unit's secret is not this unit's", function()
    local seen
    run(function() seen = refusal(juju.secret_set, APP_ID, { content = { pass = "b" } }) end,
      secrets(testing.secret{ id = APP_ID, owner = "unit", owner_unit = "web/1", content = { pass = "a" } }))
    assert.same({ 1, 'ERROR secret "' .. APP_ID .. '" not found\n' }, seen)
  end)

  it("a label is one secret's among those this application owns", function()
    local seen
    run(function() seen = refusal(juju.secret_add, { pass = "c" }, { label = "admin" }) end, secrets(OWNED))
    assert.same({ 1, 'ERROR secret with label "admin" already exists\n' }, seen)
  end)

  it("a unit granted on a relation must be of the related application", function()
    local seen
    run(function() seen = refusal(juju.secret_grant, APP_ID, 3, { unit = "mysql/0" }) end, secrets(OWNED))
    assert.same({ 1, 'ERROR cannot specify unit "mysql/0" in relation to application "pg"\n' }, seen)
  end)

  it("removing a revision the secret does not have", function()
    local seen
    run(function() seen = refusal(juju.secret_remove, APP_ID, { revision = 7 }) end, secrets(OWNED))
    assert.same({ 1, 'ERROR secret revision 7 for "' .. APP_ID .. '" not found\n' }, seen)
  end)
end)

describe("juju.testing rules: actions #unit", function()
  it("result keys outside Juju's rule are refused before anything runs", function()
    local _, r = run_failing(function(a) a:set_results{ Bad_Key = "x" } end, {}, on.action("backup"))
    assert.matches("bad argument #1 to 'action_set'", r.error, 1, true)
    assert.matches("Bad_Key", r.error, 1, true)
  end)

  it("and the simulated Juju refuses them with Juju's text, as action-set would", function()
    local sim = testing.sim.new({}, { unit = "web/0", action = { name = "backup" } })
    assert.same({ 2, "", 'ERROR key "Bad_Key" must start and end with lowercase alphanumeric, and contain only '
      .. "lowercase alphanumeric and hyphens\n" }, { sim:run({ "action-set", "Bad_Key=x" }) })
    assert.same({ 2, "", 'ERROR cannot set reserved action key "stdout"\n' }, { sim:run({ "action-set", "stdout=x" }) })
    assert.same({ 2, "", 'ERROR argument "novalue" must be of the form key...=value\n' },
      { sim:run({ "action-set", "novalue" }) })
    assert.same({}, sim.action.results)
  end)

  it("the action commands outside an action: not running an action", function()
    local seen
    run(function() seen = { refusal(juju.action_get), refusal(juju.action_log, "x") } end, {})
    assert.same({ { 1, "ERROR not running an action\n" }, { 1, "ERROR not running an action\n" } }, seen)
  end)

  it("juju-reboot: not in an action; in a hook, the state after says when", function()
    local _, r = run(function() pcall(juju.juju_reboot) end, {}, on.action("backup"))
    assert.same({ "juju-reboot" }, r.commands[#r.commands].argv)
    assert.equal(1, r.commands[#r.commands].code)
    local sim = testing.sim.new({}, { unit = "web/0", action = { name = "backup" } })
    assert.same({ 1, "", "ERROR juju-reboot is not supported when running an action.\n" },
      { sim:run({ "juju-reboot" }) })
    local later = run(function() juju.juju_reboot() end, {})
    local now = run(function() juju.juju_reboot{ now = true } end, {})
    assert.same({ "after-hook", "now" }, { later.reboot, now.reboot })
  end)
end)
