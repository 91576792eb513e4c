-- juju.testing events: every kind through its constructor in
-- `testing.on`, the handler registered for it runs, and the environment
-- the charm saw is the one Juju 3.6 builds (juju-hook-tools.md §5.2), with
-- the event object the handler got.

local charm = require "juju.charm"
local testing = require "juju.testing"
local on = testing.on

-- A machine charm with every kind of endpoint, storage, actions and config.
local META = {
  name = "web",
  provides = { website = { interface = "http" } },
  requires = {
    db = { interface = "pgsql" },
    info = { interface = "juju-info", scope = "container" },
  },
  peers = { replicas = { interface = "web-peers" } },
  config = { options = { port = { type = "int", default = 8080 } } },
  actions = {
    backup = {
      params = { to = { type = "string", default = "/srv/backup" }, level = { type = "integer" } },
      required = { "level" },
    },
  },
  storage = { data = { type = "filesystem", location = "/srv/data" }, disk = { type = "block" } },
}

-- A Kubernetes charm with a workload container.
local K8S_META = {
  name = "web",
  containers = { workload = { resource = "workload-image" } },
  resources = { ["workload-image"] = { type = "oci-image" } },
}

-- The variables that say which event this is (the rest are the same for every event).
local EVENT_VARS = {
  "JUJU_HOOK_NAME", "JUJU_DISPATCH_PATH", "JUJU_RELATION", "JUJU_RELATION_ID", "JUJU_REMOTE_APP",
  "JUJU_REMOTE_UNIT", "JUJU_DEPARTING_UNIT", "JUJU_SECRET_ID", "JUJU_SECRET_LABEL", "JUJU_SECRET_REVISION",
  "JUJU_STORAGE_ID", "JUJU_STORAGE_LOCATION", "JUJU_STORAGE_KIND", "JUJU_WORKLOAD_NAME", "JUJU_NOTICE_ID",
  "JUJU_NOTICE_TYPE", "JUJU_NOTICE_KEY", "JUJU_PEBBLE_CHECK_NAME", "JUJU_TARGET_BASE", "JUJU_TARGET_SERIES",
  "JUJU_ACTION_NAME", "JUJU_ACTION_UUID", "JUJU_ACTION_TAG",
}

--- The event variables of a run's environment (absent ones absent).
local function event_env(run)
  local out = {}
  for _, k in ipairs(EVENT_VARS) do out[k] = run.env[k] end
  return out
end

--- What a handler can see of its event, as plain data.
local function snapshot(e)
  local s = {
    name = e.name, kind = e.kind, deferred = e.deferred, app = e.app, unit = e.unit,
    departing_unit = e.departing_unit, storage = e.storage, container = e.container and e.container.name,
    notice = e.notice and { id = e.notice.id, type = e.notice.type, key = e.notice.key },
    check = e.check and e.check.name, revision = e.revision, target_base = e.target_base, id = e.id,
  }
  if e.relation then
    s.relation = { id = e.relation.id, endpoint = e.relation.endpoint, broken = e.relation.broken }
  end
  if e.secret then s.secret = { id = e.secret.id, label = e.secret.label } end
  if e.kind == "action" then s.params = e.params end
  return s
end

--- Run an event against a charm with one handler, on `hook` (a hook name,
-- or an action's); the handler must run exactly once.
-- @treturn table what the handler saw (@{snapshot})
-- @treturn table the state after
-- @treturn table the run
local function fire(hook, event, state, ctx_opts)
  local seen = {}
  local c = charm.new()
  local function record(e) seen[#seen + 1] = snapshot(e) end
  if event.kind == "action" then c:on_action(hook, record) else c:on(hook, record) end
  local opts = { charm = c, metadata = META }
  for k, v in pairs(ctx_opts or {}) do opts[k] = v end
  local out, run = testing.context(opts):run(event, state or {})
  assert.equal(1, #seen, hook .. " ran its handler " .. #seen .. " times")
  return seen[1], out, run
end

describe("juju.testing events: the environment of every hook #unit", function()
  it("a machine unit gets the unit, model, charm and Ubuntu variables Juju exports, and nothing else", function()
    local _, _, run = fire("install", on.install(), {})
    local dir = "/var/lib/juju/agents/unit-web-0/charm"
    assert.same({
      CHARM_DIR = dir, JUJU_CHARM_DIR = dir,
      JUJU_CONTEXT_ID = "web/0-install-00000000000000000000000000000000",
      JUJU_HOOK_NAME = "install", JUJU_DISPATCH_PATH = "hooks/install",
      JUJU_UNIT_NAME = "web/0", JUJU_MODEL_NAME = "test-model",
      JUJU_MODEL_UUID = "00000000-0000-4000-8000-000000000000",
      JUJU_API_ADDRESSES = "192.0.2.1:17070", JUJU_VERSION = "3.6.0",
      JUJU_MACHINE_ID = "0", JUJU_AVAILABILITY_ZONE = "", JUJU_PRINCIPAL_UNIT = "",
      JUJU_SLA = "", CLOUD_API_VERSION = "",
      JUJU_CHARM_HTTP_PROXY = "", JUJU_CHARM_HTTPS_PROXY = "", JUJU_CHARM_FTP_PROXY = "", JUJU_CHARM_NO_PROXY = "",
      LANG = "C.UTF-8", DEBIAN_FRONTEND = "noninteractive", APT_LISTCHANGES_FRONTEND = "none",
      TERM = "tmux-256color",
    }, run.env)
  end)

  it("the context's unit, machine, zone and Juju version, and the model's name and uuid, reach the environment",
    function()
    local _, _, run = fire("start", on.start(), {
      model = { name = "prod", uuid = "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70" },
    }, { app = "shop", unit_id = 3, machine_id = "12", availability_zone = "zone-b", juju_version = "3.6.9" })
    assert.same({ "shop/3", "12", "zone-b", "3.6.9", "prod", "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70",
                  "/var/lib/juju/agents/unit-shop-3/charm", "shop/3-start-00000000000000000000000000000000" },
      { run.env.JUJU_UNIT_NAME, run.env.JUJU_MACHINE_ID, run.env.JUJU_AVAILABILITY_ZONE, run.env.JUJU_VERSION,
        run.env.JUJU_MODEL_NAME, run.env.JUJU_MODEL_UUID, run.env.JUJU_CHARM_DIR, run.env.JUJU_CONTEXT_ID })
  end)

  it("a Kubernetes unit gets KUBERNETES_SERVICE_HOST and PORT, and an empty machine id and zone", function()
    local c = charm.new()
    local model_type
    c:on("start", function(e) model_type = e.model.type end)
    local _, run = testing.context{ charm = c, metadata = K8S_META }:run(on.start(), {})
    assert.same({ "10.152.183.1", "443", "", "" }, { run.env.KUBERNETES_SERVICE_HOST,
      run.env.KUBERNETES_SERVICE_PORT, run.env.JUJU_MACHINE_ID, run.env.JUJU_AVAILABILITY_ZONE })
    assert.equal("kubernetes", model_type)
    local _, machine = fire("start", on.start(), {})
    assert.is_nil(machine.KUBERNETES_SERVICE_HOST)
  end)

  it("a subordinate's principal unit is JUJU_PRINCIPAL_UNIT", function()
    local sub = { name = "logger", subordinate = true,
                  requires = { ["juju-info"] = { interface = "juju-info", scope = "container" } } }
    local info = testing.subordinate_relation{ id = 1, endpoint = "juju-info", remote_app = "ubuntu",
                                               remote_unit = "ubuntu/2" }
    local _, _, run = fire("install", on.install(), { relations = { info } },
      { metadata = sub, principal_unit = "ubuntu/2" })
    assert.same({ "ubuntu/2", "logger/0" }, { run.env.JUJU_PRINCIPAL_UNIT, run.env.JUJU_UNIT_NAME })
    -- without principal_unit =, the subordinate relation's remote unit
    _, _, run = fire("install", on.install(), { relations = { info } }, { metadata = sub })
    assert.equal("ubuntu/2", run.env.JUJU_PRINCIPAL_UNIT)
  end)

  it("env = {VAR = value | false} adds or removes variables", function()
    local _, _, run = fire("install", on.install{ env = { JUJU_DEBUG = "1", TERM = false } }, {})
    assert.equal("1", run.env.JUJU_DEBUG)
    assert.is_nil(run.env.TERM)
  end)
end)

describe("juju.testing events: hooks with nothing of their own #unit", function()
  local CASES = {
    { "install", on.install }, { "start", on.start }, { "stop", on.stop }, { "remove", on.remove },
    { "config-changed", on.config_changed }, { "update-status", on.update_status },
    { "upgrade-charm", on.upgrade_charm }, { "post-series-upgrade", on.post_series_upgrade },
    { "collect-metrics", on.collect_metrics },
  }
  for _, case in ipairs(CASES) do
    local hook, make = case[1], case[2]
    it(hook .. ": its handler, JUJU_HOOK_NAME and JUJU_DISPATCH_PATH, no event variables", function()
      local seen, _, run = fire(hook, make(), {})
      assert.same({ name = hook, kind = hook, deferred = false }, seen)
      assert.same({ JUJU_HOOK_NAME = hook, JUJU_DISPATCH_PATH = "hooks/" .. hook }, event_env(run))
    end)
  end

  it("leader-elected comes to the leader", function()
    local seen, _, run = fire("leader-elected", on.leader_elected(), { leader = true })
    assert.same({ name = "leader-elected", kind = "leader-elected", deferred = false }, seen)
    assert.same({ JUJU_HOOK_NAME = "leader-elected", JUJU_DISPATCH_PATH = "hooks/leader-elected" }, event_env(run))
  end)

  it("leader-settings-changed comes to the other units", function()
    local seen, _, run = fire("leader-settings-changed", on.leader_settings_changed(), { leader = false })
    assert.same({ name = "leader-settings-changed", kind = "leader-settings-changed", deferred = false }, seen)
    assert.same({ JUJU_HOOK_NAME = "leader-settings-changed", JUJU_DISPATCH_PATH = "hooks/leader-settings-changed" },
      event_env(run))
  end)

  it("pre-series-upgrade: JUJU_TARGET_BASE and JUJU_TARGET_SERIES, e.target_base", function()
    local seen, _, run = fire("pre-series-upgrade", on.pre_series_upgrade{ base = "ubuntu@22.04" }, {})
    assert.same({ name = "pre-series-upgrade", kind = "pre-series-upgrade", deferred = false,
                  target_base = "ubuntu@22.04" }, seen)
    assert.same({ JUJU_HOOK_NAME = "pre-series-upgrade", JUJU_DISPATCH_PATH = "hooks/pre-series-upgrade",
                  JUJU_TARGET_BASE = "ubuntu@22.04", JUJU_TARGET_SERIES = "jammy" }, event_env(run))
    local _, _, default = fire("pre-series-upgrade", on.pre_series_upgrade(), {})
    assert.same({ "ubuntu@24.04", "noble" }, { default.env.JUJU_TARGET_BASE, default.env.JUJU_TARGET_SERIES })
  end)

  it("a constructor refuses options it does not take", function()
    local ok, err = pcall(on.install, { base = "ubuntu@24.04" })
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'install' (unknown option 'base')", err, 1, true)
  end)
end)

describe("juju.testing events: relations #unit", function()
  local DB = testing.relation{ id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/0", "pg/1" } }
  local PEERS = testing.peer_relation{ id = 4, endpoint = "replicas", app = "web", peers = { "web/1", "web/2" } }
  local INFO = testing.subordinate_relation{ id = 5, endpoint = "info", remote_app = "ubuntu" }

  -- kind, the relation, its remote app, the unit Juju names (nil: none), whether it is broken
  local KINDS = {
    { "created", on.relation_created, nil }, { "joined", on.relation_joined, 1 },
    { "changed", on.relation_changed, 1 }, { "departed", on.relation_departed, 1 },
    { "broken", on.relation_broken, nil },
  }
  local RELATIONS = {
    { "regular", DB, "pg", "pg/0" }, { "peer", PEERS, "web", "web/1" }, { "subordinate", INFO, "ubuntu", "ubuntu/0" },
  }

  for _, r in ipairs(RELATIONS) do
    local label, rel, app, first = r[1], r[2], r[3], r[4]
    for _, k in ipairs(KINDS) do
      local kind, make, wants_unit = k[1], k[2], k[3]
      it(("%s relation-%s: the relation's variables, e.relation, e.app, e.unit"):format(label, kind), function()
        local hook = rel.endpoint .. "-relation-" .. kind
        local unit = wants_unit and first or nil
        local seen, _, run = fire(hook, make(rel), { relations = { DB, PEERS, INFO } })
        assert.same({
          name = hook, kind = "relation-" .. kind, deferred = false, app = app, unit = unit,
          departing_unit = kind == "departed" and first or nil,
          relation = { id = rel.id, endpoint = rel.endpoint, broken = kind == "broken" },
        }, seen)
        assert.same({
          JUJU_HOOK_NAME = hook, JUJU_DISPATCH_PATH = "hooks/" .. hook,
          JUJU_RELATION = rel.endpoint, JUJU_RELATION_ID = rel.endpoint .. ":" .. rel.id, JUJU_REMOTE_APP = app,
          JUJU_REMOTE_UNIT = unit or "",   -- exported empty when Juju names none
          JUJU_DEPARTING_UNIT = kind == "departed" and first or nil,
        }, event_env(run))
      end)
    end
  end

  it("remote_unit names another remote unit", function()
    local seen, _, run = fire("db-relation-joined", on.relation_joined(DB, { remote_unit = "pg/1" }),
      { relations = { DB } })
    assert.equal("pg/1", seen.unit)
    assert.equal("pg/1", run.env.JUJU_REMOTE_UNIT)
  end)

  it("remote_unit = false: a change of the remote application's data, no remote unit", function()
    local seen, _, run = fire("db-relation-changed", on.relation_changed(DB, { remote_unit = false }),
      { relations = { DB } })
    assert.same({ nil, "pg" }, { seen.unit, seen.app })
    assert.same({ "", "pg" }, { run.env.JUJU_REMOTE_UNIT, run.env.JUJU_REMOTE_APP })
  end)

  it("departing_unit: this unit leaving the relation", function()
    local seen, _, run = fire("db-relation-departed", on.relation_departed(DB, { departing_unit = "web/0" }),
      { relations = { DB } })
    assert.same({ "pg/0", "web/0" }, { seen.unit, seen.departing_unit })
    assert.same({ "pg/0", "web/0" }, { run.env.JUJU_REMOTE_UNIT, run.env.JUJU_DEPARTING_UNIT })
  end)

  it("a relation given by its id is looked up in the state", function()
    local seen, _, run = fire("db-relation-changed", on.relation_changed(3), { relations = { DB } })
    assert.same({ "db-relation-changed", "pg", "pg/0" }, { seen.name, seen.app, seen.unit })
    assert.equal("db:3", run.env.JUJU_RELATION_ID)
  end)

  it("the relation's remote app and units come from the state the event runs against", function()
    local moved = testing.relation{ id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/7" } }
    local seen = fire("db-relation-changed", on.relation_changed(3), { relations = { moved } })
    assert.equal("pg/7", seen.unit)
  end)
end)

describe("juju.testing events: secrets #unit", function()
  local SHARED = testing.secret{ id = "secret:cs1l5r2d2j3p2c1v4nbg", label = "db-creds", granted = true,
                                 revisions = { [1] = { pass = "one" }, [2] = { pass = "two" } } }
  local OWNED = testing.secret{ id = "secret:ct0000000000000000a0", owner = "app", label = "admin",
                                revisions = { [1] = { pass = "a" }, [2] = { pass = "b" }, [3] = { pass = "c" } } }
  local UNLABELLED = testing.secret{ id = "secret:ct0000000000000000b0", owner = "unit",
                                     revisions = { [1] = { pass = "x" } } }
  local STATE = { leader = true, secrets = { SHARED, OWNED, UNLABELLED } }

  it("secret-changed: a secret this application reads; no revision", function()
    local seen, _, run = fire("secret-changed", on.secret_changed(SHARED), STATE)
    assert.same({ name = "secret-changed", kind = "secret-changed", deferred = false,
                  secret = { id = SHARED.id, label = "db-creds" } }, seen)
    assert.same({ JUJU_HOOK_NAME = "secret-changed", JUJU_DISPATCH_PATH = "hooks/secret-changed",
                  JUJU_SECRET_ID = SHARED.id, JUJU_SECRET_LABEL = "db-creds" }, event_env(run))
  end)

  it("secret-rotate: a secret this application owns; no revision", function()
    local seen, _, run = fire("secret-rotate", on.secret_rotate(OWNED), STATE)
    assert.same({ name = "secret-rotate", kind = "secret-rotate", deferred = false,
                  secret = { id = OWNED.id, label = "admin" } }, seen)
    assert.same({ JUJU_HOOK_NAME = "secret-rotate", JUJU_DISPATCH_PATH = "hooks/secret-rotate",
                  JUJU_SECRET_ID = OWNED.id, JUJU_SECRET_LABEL = "admin" }, event_env(run))
  end)

  it("secret-expired: the revision, by default the latest", function()
    local seen, _, run = fire("secret-expired", on.secret_expired(OWNED), STATE)
    assert.same({ name = "secret-expired", kind = "secret-expired", deferred = false, revision = 3,
                  secret = { id = OWNED.id, label = "admin" } }, seen)
    assert.same({ JUJU_HOOK_NAME = "secret-expired", JUJU_DISPATCH_PATH = "hooks/secret-expired",
                  JUJU_SECRET_ID = OWNED.id, JUJU_SECRET_LABEL = "admin", JUJU_SECRET_REVISION = "3" }, event_env(run))
    local given = fire("secret-expired", on.secret_expired(OWNED, { revision = 2 }), STATE)
    assert.equal(2, given.revision)
  end)

  it("secret-remove: the revision no one tracks", function()
    local seen, _, run = fire("secret-remove", on.secret_remove(OWNED, { revision = 1 }), STATE)
    assert.same({ name = "secret-remove", kind = "secret-remove", deferred = false, revision = 1,
                  secret = { id = OWNED.id, label = "admin" } }, seen)
    assert.same({ JUJU_HOOK_NAME = "secret-remove", JUJU_DISPATCH_PATH = "hooks/secret-remove",
                  JUJU_SECRET_ID = OWNED.id, JUJU_SECRET_LABEL = "admin", JUJU_SECRET_REVISION = "1" }, event_env(run))
  end)

  it("a secret with no label: JUJU_SECRET_LABEL exported empty, e.secret.label nil", function()
    local seen, _, run = fire("secret-rotate", on.secret_rotate(UNLABELLED), STATE)
    assert.same({ id = UNLABELLED.id }, seen.secret)
    assert.equal("", run.env.JUJU_SECRET_LABEL)
  end)

  it("a secret given by its id, in any of Juju's forms, is the state's", function()
    local seen, _, run = fire("secret-rotate", on.secret_rotate("ct0000000000000000a0"), STATE)
    assert.same({ id = OWNED.id, label = "admin" }, seen.secret)
    assert.equal(OWNED.id, run.env.JUJU_SECRET_ID)
    local labelled = fire("secret-rotate", on.secret_rotate(OWNED.id, { label = "other" }), STATE)
    assert.equal("other", labelled.secret.label)
  end)
end)

describe("juju.testing events: storage #unit", function()
  it("storage-attached: the storage's id, location and kind from the metadata", function()
    local seen, _, run = fire("data-storage-attached", on.storage_attached("data/0"),
      { storage = { { id = "data/0" } } })
    assert.same({ name = "data-storage-attached", kind = "storage-attached", deferred = false,
                  storage = { id = "data/0", name = "data", index = 0, location = "/srv/data", kind = "filesystem" } },
      seen)
    assert.same({ JUJU_HOOK_NAME = "data-storage-attached", JUJU_DISPATCH_PATH = "hooks/data-storage-attached",
                  JUJU_STORAGE_ID = "data/0", JUJU_STORAGE_LOCATION = "/srv/data", JUJU_STORAGE_KIND = "filesystem" },
      event_env(run))
  end)

  it("storage-detaching: a block device, its location from the state", function()
    local disk = { id = "disk/2", location = "/dev/sdc" }
    local seen, _, run = fire("disk-storage-detaching", on.storage_detaching(disk), { storage = { disk } })
    assert.same({ id = "disk/2", name = "disk", index = 2, location = "/dev/sdc", kind = "block" }, seen.storage)
    assert.same({ JUJU_HOOK_NAME = "disk-storage-detaching", JUJU_DISPATCH_PATH = "hooks/disk-storage-detaching",
                  JUJU_STORAGE_ID = "disk/2", JUJU_STORAGE_LOCATION = "/dev/sdc", JUJU_STORAGE_KIND = "block" },
      event_env(run))
  end)

  it("a storage id is name/N", function()
    local ok, err = pcall(on.storage_attached, "data")
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'storage_attached' (a storage id is 'name/N', got data)", err, 1, true)
  end)
end)

describe("juju.testing events: Pebble, on Kubernetes #unit", function()
  local function fire_k8s(hook, event)
    local seen
    local c = charm.new()
    c:on(hook, function(e) seen = snapshot(e) end)
    local _, run = testing.context{ charm = c, metadata = K8S_META }:run(event, { model = { type = "kubernetes" } })
    assert.is_table(seen, hook .. " did not run its handler")
    return seen, run
  end

  it("pebble-ready: JUJU_WORKLOAD_NAME, e.container", function()
    local seen, run = fire_k8s("workload-pebble-ready", on.pebble_ready("workload"))
    assert.same({ name = "workload-pebble-ready", kind = "pebble-ready", deferred = false, container = "workload" },
      seen)
    assert.same({ JUJU_HOOK_NAME = "workload-pebble-ready", JUJU_DISPATCH_PATH = "hooks/workload-pebble-ready",
                  JUJU_WORKLOAD_NAME = "workload" }, event_env(run))
  end)

  it("pebble-custom-notice: JUJU_NOTICE_ID, TYPE and KEY, e.notice", function()
    local seen, run = fire_k8s("workload-pebble-custom-notice",
      on.pebble_custom_notice({ name = "workload" }, { key = "example.com/reload", id = "42" }))
    assert.same({ id = "42", type = "custom", key = "example.com/reload" }, seen.notice)
    assert.same({ JUJU_HOOK_NAME = "workload-pebble-custom-notice",
                  JUJU_DISPATCH_PATH = "hooks/workload-pebble-custom-notice", JUJU_WORKLOAD_NAME = "workload",
                  JUJU_NOTICE_ID = "42", JUJU_NOTICE_TYPE = "custom", JUJU_NOTICE_KEY = "example.com/reload" },
      event_env(run))
  end)

  it("pebble-check-failed and -recovered: JUJU_PEBBLE_CHECK_NAME, e.check", function()
    for _, kind in ipairs { "failed", "recovered" } do
      local hook = "workload-pebble-check-" .. kind
      local seen, run = fire_k8s(hook, on["pebble_check_" .. kind]("workload", "http-alive"))
      assert.same({ name = hook, kind = "pebble-check-" .. kind, deferred = false, container = "workload",
                    check = "http-alive" }, seen)
      assert.same({ JUJU_HOOK_NAME = hook, JUJU_DISPATCH_PATH = "hooks/" .. hook, JUJU_WORKLOAD_NAME = "workload",
                    JUJU_PEBBLE_CHECK_NAME = "http-alive" }, event_env(run))
    end
  end)

  it("a custom notice needs a key", function()
    local ok, err = pcall(on.pebble_custom_notice, "workload", {})
    assert.is_false(ok)
    assert.matches("bad argument #2 to 'pebble_custom_notice' (a notice with a key expected)", err, 1, true)
  end)
end)

describe("juju.testing events: actions #unit", function()
  it("JUJU_HOOK_NAME empty, actions/<name>, JUJU_ACTION_NAME, UUID and TAG; params with the metadata's defaults",
    function()
    local seen, _, run = fire("backup", on.action("backup", { level = 3 }), {})
    assert.same({ name = "backup", kind = "action", deferred = false, id = "1",
                  params = { level = 3, to = "/srv/backup" } }, seen)
    assert.same({ JUJU_HOOK_NAME = "", JUJU_DISPATCH_PATH = "actions/backup", JUJU_ACTION_NAME = "backup",
                  JUJU_ACTION_UUID = "1", JUJU_ACTION_TAG = "action-1" }, event_env(run))
    assert.equal("web/0-backup-00000000000000000000000000000000", run.env.JUJU_CONTEXT_ID)
  end)

  it("the action id, and params that override the defaults", function()
    local seen, _, run = fire("backup", on.action("backup", { level = 1, to = "/mnt" }, { id = "42" }), {})
    assert.same({ level = 1, to = "/mnt" }, seen.params)
    assert.same({ "42", "42", "action-42" }, { seen.id, run.env.JUJU_ACTION_UUID, run.env.JUJU_ACTION_TAG })
    assert.same({ level = 1, to = "/mnt" }, run.action.params)
  end)

  it("params outside the action's schema are an inconsistency, with Juju's reasons", function()
    local c = charm.new()
    c:on_action("backup", function() end)
    local ctx = testing.context{ charm = c, metadata = META }
    local ok, err = pcall(ctx.run, ctx, on.action("backup", { level = "high" }), {})
    assert.is_false(ok)
    assert.matches("inconsistent state: action 'backup': action \"backup\": params.level: ", err, 1, true)
    ok, err = pcall(ctx.run, ctx, on.action("backup"), {})
    assert.is_false(ok)
    assert.matches("inconsistent state: action 'backup': action \"backup\": params.level: required, not given",
      err, 1, true)
  end)

  it("a name Juju would not take is refused by the constructor", function()
    local ok, err = pcall(on.action, "Back_Up")
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'action' (an action name expected, got Back_Up)", err, 1, true)
  end)
end)

describe("juju.testing events: by name #unit", function()
  it("on.event takes a hook name and the event's fields", function()
    local db = testing.relation{ id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/0", "pg/1" } }
    local seen, _, run = fire("db-relation-changed", on.event("db-relation-changed",
      { relation = 3, remote_unit = "pg/1" }), { relations = { db } })
    assert.same({ "relation-changed", "pg/1", 3 }, { seen.kind, seen.unit, seen.relation.id })
    assert.same({ "db:3", "pg/1" }, { run.env.JUJU_RELATION_ID, run.env.JUJU_REMOTE_UNIT })
  end)

  it("a hook name alone runs that hook; an unknown name is refused", function()
    local seen, _, run = fire("upgrade-charm", "upgrade-charm", {})
    assert.equal("upgrade-charm", seen.kind)
    assert.equal("hooks/upgrade-charm", run.env.JUJU_DISPATCH_PATH)
    local ok, err = pcall(on.event, "db-relation-exploded")
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'event' (no Juju event is named 'db-relation-exploded')", err, 1, true)
  end)
end)

describe("juju.testing events: deferred events (state.deferred) #unit", function()
  local DB = testing.relation{ id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/0", "pg/1" } }

  it("testing.deferred keeps an event as the framework does: its name and identifying variables", function()
    assert.same({ event = "db-relation-changed", env = { JUJU_RELATION = "db", JUJU_RELATION_ID = "db:3",
                  JUJU_REMOTE_APP = "pg", JUJU_REMOTE_UNIT = "pg/0" } }, testing.deferred(on.relation_changed(DB)))
    assert.same({ event = "db-relation-departed", env = { JUJU_RELATION = "db", JUJU_RELATION_ID = "db:3",
                  JUJU_REMOTE_APP = "pg", JUJU_REMOTE_UNIT = "pg/1", JUJU_DEPARTING_UNIT = "pg/1" } },
      testing.deferred(on.relation_departed(DB, { remote_unit = "pg/1" })))
    assert.same({ event = "install", env = {} }, testing.deferred(on.install()))
    assert.same({ event = "data-storage-attached", env = { JUJU_STORAGE_ID = "data/0" } },
      testing.deferred(on.storage_attached("data/0")))
    assert.same({ event = "secret-changed", env = { JUJU_SECRET_ID = "secret:cs1l5r2d2j3p2c1v4nbg",
                  JUJU_SECRET_LABEL = "db" } }, testing.deferred(on.secret_changed("secret:cs1l5r2d2j3p2c1v4nbg",
                  { label = "db" })))
  end)

  it("a deferred event runs again before the hook's own, as a deferred event, and is done with", function()
    local order = {}
    local c = charm.new()
    c:on("db-relation-changed", function(e) order[#order + 1] = { e.name, e.deferred, e.unit, e.relation.id } end)
    c:on("update-status", function(e) order[#order + 1] = { e.name, e.deferred } end)
    local out = testing.context{ charm = c, metadata = META }:run(on.update_status(),
      { relations = { DB }, deferred = { testing.deferred(on.relation_changed(DB, { remote_unit = "pg/1" })) } })
    assert.same({ { "db-relation-changed", true, "pg/1", 3 }, { "update-status", false } }, order)
    assert.same({}, out.deferred)
  end)

  it("a deferred event whose relation is gone is dropped without running, and says so at DEBUG", function()
    local ran = false
    local c = charm.new()
    c:on("db-relation-changed", function() ran = true end)
    c:on("update-status", function() end)
    local out, run = testing.context{ charm = c, metadata = META }:run(
      on.update_status{ env = { JUJU_DEBUG = "1" } }, { deferred = { testing.deferred(on.relation_changed(DB)) } })
    assert.is_false(ran)
    assert.same({}, out.deferred)
    assert.same({ { level = "DEBUG", message = "dropping deferred db-relation-changed: its relation is gone" } },
      run.logs)
  end)

  it("what cannot be deferred, and a relation event made from an id, are refused", function()
    for _, case in ipairs {
      { on.action("backup"), "actions cannot be deferred" },
      { on.stop(), "stop cannot be deferred" },
      { on.collect_metrics(), "collect-metrics cannot be deferred" },
      { on.relation_changed(3), "build the event from the relation's table, not its id" },
    } do
      local ok, err = pcall(testing.deferred, case[1])
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'deferred' (" .. case[2] .. ")", err, 1, true)
    end
  end)
end)
