-- juju.testing state: secrets. Owned by the app, by the unit, or another
-- application's shared with this one; content or revisions; the revision
-- a reader tracks, --refresh and --peek; grants and revokes; labels;
-- removed revisions (run.removed_secret_revisions).

local charm = require "juju.charm"
local juju = require "juju"
local testing = require "juju.testing"
local runs = require "helpers.runs"
local on = testing.on

local META = {
  name = "web",
  requires = { db = { interface = "pgsql" } },
  provides = { website = { interface = "http" } },
}

local DB = testing.relation{ id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/0", "pg/1" } }

local APP_ID = "secret:ct0000000000000000a0"
local UNIT_ID = "secret:ct0000000000000000b0"
local SHARED_ID = "secret:cs1l5r2d2j3p2c1v4nbg"

--- A state with one secret (fields over the defaults given) and the db relation.
local function with_secret(fields, state)
  local s = { leader = true, relations = { DB } }
  for k, v in pairs(state or {}) do s[k] = v end
  s.secrets = { testing.secret(fields) }
  return s
end

local function context(handler, hook, opts)
  local c = charm.new()
  c:on(hook or "config-changed", handler)
  local o = { charm = c, metadata = META }
  for k, v in pairs(opts or {}) do o[k] = v end
  return testing.context(o)
end

local function run(handler, state, event, opts)
  event = event or on.config_changed()
  return context(handler, event.name, opts):run(event, state)
end

--- The argv of a run's hook commands named name, as strings.
local argv = runs.lines

describe("juju.testing secrets: owners #unit", function()
  it("an app-owned secret: the leader reads it, and secret-ids and secret-info-get list it", function()
    local seen
    run(function(e)
      local s = e.model:secret{ id = APP_ID }
      seen = { s:content().password, juju.secret_ids(), s:info() }
    end, with_secret{ id = APP_ID, owner = "app", label = "admin", rotate = "monthly",
                      content = { password = "s3cret" } })
    assert.same({ "s3cret", { "ct0000000000000000a0" },
                  { id = "ct0000000000000000a0", label = "admin", revision = 1, rotation = "monthly" } }, seen)
  end)

  it("a unit-owned secret is this unit's, leader or not", function()
    local seen
    local out = run(function(e)
      local s = e.model:secret{ label = "token" }
      seen = s:content().token
      s:set_content{ token = "new" }
    end, with_secret({ id = UNIT_ID, owner = "unit", label = "token", content = { token = "old" } },
                     { leader = false }))
    assert.equal("old", seen)
    assert.same({ [1] = { token = "old" }, [2] = { token = "new" } }, out.secrets[1].revisions)
  end)

  it("no owner: another application's secret, readable when granted, and not listed as this app's", function()
    local seen
    run(function(e) seen = { e.model:secret{ id = SHARED_ID }:content().pass, juju.secret_ids() } end,
      with_secret{ id = SHARED_ID, granted = true, content = { pass = "theirs" } })
    assert.same({ "theirs", {} }, seen)
  end)

  it("content is revision 1; revisions give several; the state after always has revisions", function()
    local out = run(function() end, with_secret{ id = APP_ID, owner = "app", content = { alpha = "1" } })
    assert.same({ [1] = { alpha = "1" } }, out.secrets[1].revisions)
    assert.is_nil(out.secrets[1].content)
    local many = run(function() end, with_secret{ id = APP_ID, owner = "app",
                                                  revisions = { [2] = { alpha = "2" }, [5] = { alpha = "5" } } })
    assert.same({ [2] = { alpha = "2" }, [5] = { alpha = "5" } }, many.secrets[1].revisions)
  end)
end)

describe("juju.testing secrets: the revision a reader tracks #unit", function()
  local REVS = { [1] = { pass = "one" }, [2] = { pass = "two" }, [3] = { pass = "three" } }

  it("a consumer reads its tracked revision; peek shows the latest without moving; refresh moves", function()
    local seen
    local out, r = run(function()
      seen = { juju.secret_get{ id = SHARED_ID }.pass, juju.secret_get{ id = SHARED_ID, peek = true }.pass,
               juju.secret_get{ id = SHARED_ID }.pass, juju.secret_get{ id = SHARED_ID, refresh = true }.pass,
               juju.secret_get{ id = SHARED_ID }.pass }
    end, with_secret{ id = SHARED_ID, granted = true, revisions = REVS, tracked = 1 })
    assert.same({ "one", "three", "one", "three", "three" }, seen)
    assert.equal(3, out.secrets[1].tracked)
    assert.same({
      "secret-get --format=json " .. SHARED_ID, "secret-get --format=json " .. SHARED_ID .. " --peek",
      "secret-get --format=json " .. SHARED_ID, "secret-get --format=json " .. SHARED_ID .. " --refresh",
      "secret-get --format=json " .. SHARED_ID }, argv(r, "secret-get"))
  end)

  it("a first read tracks the latest revision, and the state after remembers it", function()
    local out = run(function() juju.secret_get{ id = SHARED_ID } end,
      with_secret{ id = SHARED_ID, granted = true, revisions = REVS })
    assert.equal(3, out.secrets[1].tracked)
  end)

  it("peek alone tracks nothing new: the next run still reads the tracked revision", function()
    local c = charm.new()
    local seen = {}
    c:on("config-changed", function() seen[#seen + 1] = juju.secret_get{ id = SHARED_ID, peek = true }.pass end)
    c:on("update-status", function() seen[#seen + 1] = juju.secret_get{ id = SHARED_ID }.pass end)
    local ctx = testing.context{ charm = c, metadata = META }
    local s = ctx:run(on.config_changed(), with_secret{ id = SHARED_ID, granted = true, revisions = REVS,
                                                        tracked = 2 })
    ctx:run(on.update_status(), s)
    assert.same({ "three", "two" }, seen)
  end)

  it("owners track revisions too in Juju 3.6 (since 3.1.7): set_content is read back after a refresh", function()
    local seen
    local out = run(function(e)
      local s = e.model:secret{ id = APP_ID }
      seen = { s:content().pass }
      s:set_content{ pass = "four" }
      seen[2] = juju.secret_get{ id = APP_ID }.pass
      seen[3] = juju.secret_get{ id = APP_ID, peek = true }.pass
      seen[4] = juju.secret_get{ id = APP_ID, refresh = true }.pass
    end, with_secret{ id = APP_ID, owner = "app", revisions = REVS, tracked = 2 })
    assert.same({ "two", "two", "four", "four" }, seen)
    assert.equal(4, out.secrets[1].tracked)
  end)

  it("before Juju 3.1.7 an owner always read the latest revision", function()
    local seen
    run(function() seen = juju.secret_get{ id = APP_ID }.pass end,
      with_secret{ id = APP_ID, owner = "app", revisions = REVS, tracked = 2 }, nil, { juju_version = "3.1.6" })
    assert.equal("three", seen)
  end)
end)

describe("juju.testing secrets: creating and changing #unit", function()
  it("add_secret: a new secret in the state after, owned by the app, revision 1, in this model", function()
    local uri
    local out = run(function(e)
      uri = e.model:add_secret({ password = "pw1" }, { label = "admin", description = "the admin password",
                                                       rotate = "weekly" }).id
    end, { leader = true, model = { uuid = "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70" } })
    assert.matches("^secret://5d3c8a4e%-0c1b%-4d7e%-9f1a%-2b3c4d5e6f70/[0-9a-v]+$", uri)
    assert.equal(20, #uri:match("[0-9a-v]+$"))
    assert.same({ id = uri, owner = "app", label = "admin", description = "the admin password", rotate = "weekly",
                  revisions = { [1] = { password = "pw1" } }, grants = {} }, out.secrets[1])
  end)

  it("set_content adds a revision; set_info changes label, description, rotation and expiry", function()
    local out = run(function(e)
      local s = e.model:secret{ id = APP_ID }
      s:set_content{ pass = "two" }
      s:set_info{ label = "renamed", description = "d", rotate = "daily", expire = "2030-01-01T00:00:00Z" }
    end, with_secret{ id = APP_ID, owner = "app", label = "admin", content = { pass = "one" } })
    local sec = out.secrets[1]
    assert.same({ [1] = { pass = "one" }, [2] = { pass = "two" } }, sec.revisions)
    assert.same({ "renamed", "d", "daily", "2030-01-01T00:00:00Z" }, { sec.label, sec.description, sec.rotate,
                                                                       sec.expire })
  end)

  it("a secret found by its label, then changed through it", function()
    local out = run(function(e) e.model:secret{ label = "admin" }:set_content{ pass = "two" } end,
      with_secret{ id = APP_ID, owner = "app", label = "admin", content = { pass = "one" } })
    assert.same({ pass = "two" }, out.secrets[1].revisions[2])
  end)

  it("a consumer that names a secret by id and label has that label from then on", function()
    local c = charm.new()
    c:on("config-changed", function(e) e.model:secret{ id = SHARED_ID, label = "db-creds" }:content() end)
    local seen
    c:on("update-status", function(e) seen = e.model:secret{ label = "db-creds" }:content().pass end)
    local ctx = testing.context{ charm = c, metadata = META }
    local s = ctx:run(on.config_changed(), with_secret{ id = SHARED_ID, granted = true, content = { pass = "p" } })
    assert.equal("db-creds", s.secrets[1].label)
    ctx:run(on.update_status(), s)
    assert.equal("p", seen)
  end)

  it("secret-remove of a revision: gone from the state, recorded in run.removed_secret_revisions", function()
    local out, r = run(function(e) e.secret:remove_revision(e.revision) end,
      with_secret{ id = APP_ID, owner = "app", revisions = { [1] = { pass = "1" }, [2] = { pass = "2" } } },
      on.secret_remove(APP_ID, { revision = 1 }))
    assert.same({ [2] = { pass = "2" } }, out.secrets[1].revisions)
    assert.same({ { id = APP_ID, revision = 1 } }, r.removed_secret_revisions)
    assert.same({ "secret-remove " .. APP_ID .. " --revision 1" }, argv(r, "secret-remove"))
  end)

  it("removing all revisions removes the secret", function()
    local out, r = run(function(e) e.model:secret{ id = APP_ID }:remove_all_revisions() end,
      with_secret{ id = APP_ID, owner = "app", content = { pass = "1" } })
    assert.same({}, out.secrets)
    assert.same({}, r.removed_secret_revisions)
  end)
end)

describe("juju.testing secrets: grants #unit", function()
  it("grant on a relation gives the remote application, or one of its units, keyed by the relation id", function()
    local out, r = run(function(e)
      local s = e.model:secret{ id = APP_ID }
      s:grant(e.model:relation("db"), { unit = "pg/1" })
    end, with_secret{ id = APP_ID, owner = "app", content = { pass = "1" } })
    assert.same({ ["3"] = "pg/1" }, out.secrets[1].grants)
    assert.same({ "secret-grant --relation 3 --unit pg/1 " .. APP_ID }, argv(r, "secret-grant"))
    local app = run(function(e) e.model:secret{ id = APP_ID }:grant(e.model:relation("db")) end,
      with_secret{ id = APP_ID, owner = "app", content = { pass = "1" } })
    assert.same({ ["3"] = "pg" }, app.secrets[1].grants)
  end)

  it("a grant the state gives by relation id comes out keyed as the simulator keeps it, once", function()
    local out = run(function(e) e.model:secret{ id = APP_ID }:grant(e.model:relation("db")) end,
      with_secret{ id = APP_ID, owner = "app", content = { pass = "1" }, grants = { [3] = "pg" } })
    assert.same({ ["3"] = "pg" }, out.secrets[1].grants)
  end)

  it("revoke on the relation removes the grant, however the state keyed it", function()
    for _, grants in ipairs { { [3] = "pg" }, { ["3"] = "pg" } } do
      local out, r = run(function(e) e.model:secret{ id = APP_ID }:revoke(e.model:relation("db")) end,
        with_secret{ id = APP_ID, owner = "app", content = { pass = "1" }, grants = grants })
      assert.same({}, out.secrets[1].grants)
      assert.same({ "secret-revoke --relation 3 " .. APP_ID }, argv(r, "secret-revoke"))
    end
  end)

  it("a grant in the state naming this application lets it read another application's secret", function()
    local seen
    run(function(e) seen = e.model:secret{ id = SHARED_ID }:content().pass end,
      with_secret{ id = SHARED_ID, content = { pass = "granted" }, grants = { [3] = "web" } })
    assert.equal("granted", seen)
  end)
end)
