-- juju.event: every event Juju sends, read from the environment Juju sets
-- for it, with a clear error naming a missing or malformed variable.

local event = require "juju.event"

--- getenv over a table (false: unset).
local function env_of(t)
  return function(name) return t[name] or nil end
end

local CORE = { JUJU_UNIT_NAME = "web/0", JUJU_MODEL_NAME = "m", JUJU_MODEL_UUID = "u" }

local function with(extra)
  local t = {}
  for k, v in pairs(CORE) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local function from(path, extra)
  return event.from_env(path, env_of(with(extra)))
end

local function fails(path, extra, fragment)
  local ok, err = pcall(event.from_env, path, env_of(with(extra)))
  assert.is_false(ok, path .. " should fail")
  assert.matches(fragment, err, 1, true)
end

describe("juju.event #unit", function()
  describe("parse", function()
    it("knows every fixed event", function()
      for _, name in ipairs {
        "install", "start", "stop", "remove", "config-changed", "update-status", "upgrade-charm",
        "leader-elected", "leader-settings-changed", "collect-metrics", "pre-series-upgrade",
        "post-series-upgrade", "secret-changed", "secret-expired", "secret-remove", "secret-rotate",
      } do
        assert.same({ name = name, kind = name }, event.parse(name))
      end
    end)

    it("reads relation, storage and workload events, endpoints with dashes included", function()
      assert.same({ name = "db-relation-changed", kind = "relation-changed", endpoint = "db" },
        event.parse("db-relation-changed"))
      assert.same({ name = "my-relation-relation-broken", kind = "relation-broken", endpoint = "my-relation" },
        event.parse("my-relation-relation-broken"))
      assert.same({ name = "data-storage-attached", kind = "storage-attached", storage = "data" },
        event.parse("data-storage-attached"))
      assert.same({ name = "web-pebble-check-failed", kind = "pebble-check-failed", container = "web" },
        event.parse("web-pebble-check-failed"))
      assert.same({ name = "web-pebble-custom-notice", kind = "pebble-custom-notice", container = "web" },
        event.parse("web-pebble-custom-notice"))
      for _, kind in ipairs { "created", "joined", "changed", "departed", "broken" } do
        assert.equal("relation-" .. kind, event.parse("x-relation-" .. kind).kind)
      end
    end)

    it("refuses what Juju never sends", function()
      for _, name in ipairs { "", "instal", "config_changed", "-relation-joined", "relation-joined",
                              "db-relation-exploded", "Install" } do
        assert.is_nil(event.parse(name), name)
      end
    end)

    it("relation ids both ways", function()
      assert.same({ "db", 3 }, { event.parse_relation_id("db:3") })
      assert.same({ "my-db", 12 }, { event.parse_relation_id("my-db:12") })
      assert.is_nil(event.parse_relation_id("db"))
      assert.is_nil(event.parse_relation_id(":3"))
      assert.is_nil(event.parse_relation_id("db:x"))
      assert.equal("db:3", event.format_relation_id("db", 3))
    end)
  end)

  describe("from_env", function()
    it("a fixed event needs only the unit", function()
      assert.same({ name = "install", kind = "install" }, from("hooks/install"))
      assert.same({ name = "start", kind = "start" }, from("start"))
    end)

    it("relation events: endpoint, integer id, remote app and unit", function()
      local e = from("hooks/db-relation-changed", { JUJU_RELATION = "db", JUJU_RELATION_ID = "db:7",
                                                   JUJU_REMOTE_APP = "pg", JUJU_REMOTE_UNIT = "pg/1" })
      assert.same({ name = "db-relation-changed", kind = "relation-changed", endpoint = "db",
                    relation_id = 7, app = "pg", unit = "pg/1" }, e)
      assert.equal("integer", math.type(e.relation_id))
    end)

    it("app-level relation-changed and relation-broken have no remote unit", function()
      assert.is_nil(from("hooks/db-relation-changed", { JUJU_RELATION = "db", JUJU_RELATION_ID = "db:7",
                                                        JUJU_REMOTE_APP = "pg" }).unit)
      assert.is_nil(from("hooks/db-relation-broken", { JUJU_RELATION = "db", JUJU_RELATION_ID = "db:7",
                                                       JUJU_REMOTE_APP = "pg" }).unit)
    end)

    it("relation-departed names the departing unit", function()
      local e = from("hooks/db-relation-departed", { JUJU_RELATION = "db", JUJU_RELATION_ID = "db:7",
        JUJU_REMOTE_APP = "pg", JUJU_REMOTE_UNIT = "pg/1", JUJU_DEPARTING_UNIT = "pg/1" })
      assert.equal("pg/1", e.departing_unit)
    end)

    it("a missing or malformed relation variable is named", function()
      local rel = { JUJU_RELATION = "db", JUJU_RELATION_ID = "db:7", JUJU_REMOTE_APP = "pg", JUJU_REMOTE_UNIT = "pg/0" }
      local function without(name, value)
        local t = {}
        for k, v in pairs(rel) do t[k] = v end
        t[name] = value
        return t
      end
      fails("hooks/db-relation-joined", without("JUJU_RELATION"), "JUJU_RELATION is missing for db-relation-joined")
      fails("hooks/db-relation-joined", without("JUJU_RELATION_ID"), "JUJU_RELATION_ID is missing")
      fails("hooks/db-relation-joined", without("JUJU_RELATION_ID", "7"), "JUJU_RELATION_ID is malformed ('7'")
      fails("hooks/db-relation-joined", without("JUJU_RELATION_ID", "web:7"), "JUJU_RELATION_ID is malformed")
      fails("hooks/db-relation-joined", without("JUJU_RELATION", "web"), "JUJU_RELATION is malformed")
      fails("hooks/db-relation-joined", without("JUJU_REMOTE_APP"), "JUJU_REMOTE_APP is missing")
      fails("hooks/db-relation-joined", without("JUJU_REMOTE_UNIT"), "JUJU_REMOTE_UNIT is missing")
      fails("hooks/db-relation-joined", without("JUJU_REMOTE_UNIT", "pg"), "JUJU_REMOTE_UNIT is malformed")
      fails("hooks/db-relation-departed", rel, "JUJU_DEPARTING_UNIT is missing")
    end)

    it("the unit name is required and checked", function()
      fails("hooks/install", { JUJU_UNIT_NAME = false }, "JUJU_UNIT_NAME is missing for install")
      local ok, err = pcall(event.from_env, "hooks/install", env_of { JUJU_UNIT_NAME = "web" })
      assert.is_false(ok)
      assert.matches("JUJU_UNIT_NAME is malformed ('web')", err, 1, true)
      -- an empty variable counts as missing
      ok, err = pcall(event.from_env, "hooks/install", env_of { JUJU_UNIT_NAME = "" })
      assert.is_false(ok)
      assert.matches("JUJU_UNIT_NAME is missing", err, 1, true)
    end)

    it("storage events: id, name, index and location", function()
      local e = from("hooks/data-storage-attached", { JUJU_STORAGE_ID = "data/2", JUJU_STORAGE_LOCATION = "/srv",
                                                      JUJU_STORAGE_KIND = "filesystem" })
      assert.same({ id = "data/2", name = "data", index = 2, location = "/srv", kind = "filesystem" }, e.storage)
      fails("hooks/data-storage-attached", {}, "JUJU_STORAGE_ID is missing")
      fails("hooks/data-storage-detaching", { JUJU_STORAGE_ID = "logs/0" }, "JUJU_STORAGE_ID is malformed")
    end)

    it("workload events: container, notice, check", function()
      assert.equal("web", from("hooks/web-pebble-ready", { JUJU_WORKLOAD_NAME = "web" }).container)
      local n = from("hooks/web-pebble-custom-notice", { JUJU_WORKLOAD_NAME = "web", JUJU_NOTICE_ID = "12",
        JUJU_NOTICE_TYPE = "custom", JUJU_NOTICE_KEY = "example.com/reload" })
      assert.same({ id = "12", type = "custom", key = "example.com/reload" }, n.notice)
      assert.equal("http", from("hooks/web-pebble-check-failed", { JUJU_WORKLOAD_NAME = "web",
                                                                   JUJU_PEBBLE_CHECK_NAME = "http" }).check)
      fails("hooks/web-pebble-ready", {}, "JUJU_WORKLOAD_NAME is missing")
      fails("hooks/web-pebble-ready", { JUJU_WORKLOAD_NAME = "db" }, "JUJU_WORKLOAD_NAME is malformed")
      fails("hooks/web-pebble-custom-notice", { JUJU_WORKLOAD_NAME = "web", JUJU_NOTICE_ID = "1",
                                                JUJU_NOTICE_TYPE = "custom" }, "JUJU_NOTICE_KEY is missing")
      fails("hooks/web-pebble-check-recovered", { JUJU_WORKLOAD_NAME = "web" }, "JUJU_PEBBLE_CHECK_NAME is missing")
    end)

    it("secret events: id, label, and the revision for remove and expired", function()
      local e = from("hooks/secret-changed", { JUJU_SECRET_ID = "secret:abc", JUJU_SECRET_LABEL = "db" })
      assert.same({ id = "secret:abc", label = "db" }, e.secret)
      local removed = from("hooks/secret-remove", { JUJU_SECRET_ID = "secret:abc", JUJU_SECRET_REVISION = "3" })
      assert.equal(3, removed.revision)
      fails("hooks/secret-rotate", {}, "JUJU_SECRET_ID is missing")
      fails("hooks/secret-expired", { JUJU_SECRET_ID = "secret:abc" }, "JUJU_SECRET_REVISION is missing")
      fails("hooks/secret-remove", { JUJU_SECRET_ID = "s", JUJU_SECRET_REVISION = "x" },
        "JUJU_SECRET_REVISION is malformed")
    end)

    it("actions: name and id", function()
      local e = from("actions/do-backup", { JUJU_ACTION_NAME = "do-backup", JUJU_ACTION_UUID = "42" })
      assert.same({ name = "do-backup", kind = "action", action = "do-backup", action_id = "42" }, e)
      fails("actions/do-backup", { JUJU_ACTION_NAME = "other", JUJU_ACTION_UUID = "1" },
        "JUJU_ACTION_NAME is malformed")
      fails("actions/do-backup", {}, "JUJU_ACTION_UUID is missing")
    end)

    it("action names follow Juju's rule, the one charmcraft.yaml is checked with", function()
      local metadata = require "juju.testing.metadata"
      for _, ok in ipairs { "a", "1", "greet", "back-up", "x2", "2fa-reset" } do
        assert.is_true(event.is_action_name(ok), ok)
        assert.is_true(metadata.valid_action_name(ok), ok)
      end
      for _, bad in ipairs { "", "-a", "a-", "A", "a_b", "a b", 7 } do
        assert.is_false(event.is_action_name(bad), tostring(bad))
      end
      assert.equal("2fa-reset", from("actions/2fa-reset", { JUJU_ACTION_NAME = "2fa-reset", JUJU_ACTION_UUID = "3" })
        .action)
      -- and the harness and on_action take it too
      assert.equal("2fa-reset", require("juju.testing").on.action("2fa-reset").action)
      require("juju.charm").new():on_action("2fa-reset", function() end)
    end)

    it("pre-series-upgrade gives the target base", function()
      assert.equal("ubuntu@24.04", from("hooks/pre-series-upgrade", { JUJU_TARGET_BASE = "ubuntu@24.04" }).target_base)
    end)

    it("an unknown event or a bad dispatch path is an error naming it", function()
      fails("hooks/explode", {}, "names no event Juju sends: 'hooks/explode'")
      fails("actions/Bad_Name", {}, "names no valid action")
    end)

    it("identity keeps only what names the event, and rebuilds it", function()
      local env = with { JUJU_RELATION = "db", JUJU_RELATION_ID = "db:7", JUJU_REMOTE_APP = "pg",
                         JUJU_REMOTE_UNIT = "pg/1" }
      local spec = event.from_env("hooks/db-relation-changed", env_of(env))
      local id = event.identity(spec)
      assert.same({ JUJU_RELATION = "db", JUJU_RELATION_ID = "db:7", JUJU_REMOTE_APP = "pg",
                    JUJU_REMOTE_UNIT = "pg/1" }, id)
      local again = event.from_env("hooks/db-relation-changed", env_of(with(id)))
      assert.same(spec, again)
    end)
  end)
end)
