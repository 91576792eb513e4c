-- juju.testing consistency: a state (with its event) that Juju could not
-- be in is refused before the charm runs, at the test's line, with a
-- message that says what is wrong. One test per check.

local charm = require "juju.charm"
local testing = require "juju.testing"
local on = testing.on

local META = {
  name = "web",
  provides = { website = { interface = "http" } },
  requires = {
    db = { interface = "pgsql", limit = 1 },
    info = { interface = "juju-info", scope = "container" },
  },
  peers = { replicas = { interface = "web-peers" } },
  ["extra-bindings"] = { metrics = true },
  config = { options = { port = { type = "int", default = 8080 }, name = { type = "string" } } },
  actions = { backup = { params = { level = { type = "integer", minimum = 0 } } } },
  storage = { data = { type = "filesystem" } },
  resources = { tarball = { type = "file", filename = "app.tgz" } },
}

local K8S_META = {
  name = "web",
  containers = { workload = { resource = "workload-image" } },
  resources = { ["workload-image"] = { type = "oci-image" } },
}

local DB = testing.relation{ id = 3, endpoint = "db", remote_app = "pg" }
local OWNED = testing.secret{ id = "secret:ct0000000000000000a0", owner = "app", content = { pass = "a" } }
local SHARED = testing.secret{ id = "secret:cs1l5r2d2j3p2c1v4nbg", granted = true, content = { pass = "b" } }

--- The message a run of event against state raises, with the charm never run.
local function refusal(state, event, meta)
  local ran = false
  local c = charm.new()
  local mark = function() ran = true end
  for _, hook in ipairs { "install", "config-changed", "leader-elected", "leader-settings-changed",
                          "db-relation-changed", "secret-changed", "secret-rotate", "secret-remove",
                          "data-storage-attached", "workload-pebble-ready" } do
    c:on(hook, mark)
  end
  c:on_action("backup", mark)
  local ctx = testing.context{ charm = c, metadata = meta or META }
  local ok, err = pcall(function() ctx:run(event or on.install(), state) end)
  assert.is_false(ok, "the run was not refused")
  assert.is_false(ran, "the charm ran")
  assert.is_string(err)
  local where, msg = err:match("^([^\n]-:%d+): (.*)$")
  assert.matches("testing_consistency_spec%.lua:%d+$", where)   -- at the test's line
  return msg
end

describe("juju.testing consistency: the state #unit", function()
  it("an unknown key, with the key meant", function()
    assert.equal("inconsistent state: unknown key 'relation' (did you mean 'relations'?)",
      refusal{ relation = {} })
    assert.equal("inconsistent state: unknown key 'mystery'", refusal{ mystery = 1 })
  end)

  it("every problem is listed, '; ' between them", function()
    assert.equal("inconsistent state: unknown key 'configs' (did you mean 'config'?); leader is not a boolean",
      refusal{ configs = {}, leader = 1 })
  end)

  it("a config option the charm does not have", function()
    assert.equal('inconsistent state: config: unknown config option "prot" (options: name, port)',
      refusal{ config = { prot = 80 } })
  end)

  it("a config value of the wrong type", function()
    assert.equal('inconsistent state: config: config option "port": the float 8080.5 is not of type int',
      refusal{ config = { port = 8080.5 } })
  end)

  it("a resource the charm does not declare", function()
    assert.equal("inconsistent state: resources: the charm declares no resource 'nope'",
      refusal{ resources = { nope = "/tmp/x" } })
  end)

  it("a network binding the charm does not have", function()
    assert.equal("inconsistent state: networks: 'nope' is no endpoint or extra binding of the charm",
      refusal{ networks = { nope = {} } })
  end)

  it("a model uuid that is not a UUID, and a model type Juju does not have", function()
    assert.equal("inconsistent state: model: uuid 'abc' is not a UUID", refusal{ model = { uuid = "abc" } })
    assert.equal('inconsistent state: model: type \'openstack\' ("lxd", "machine" or "kubernetes")',
      refusal{ model = { type = "openstack" } })
  end)

  it("a model key the harness does not know", function()
    assert.equal("inconsistent state: model: unknown key 'region' (name, uuid, type, cloud_spec)",
      refusal{ model = { region = "eu" } })
  end)

  it("a container the charm does not declare", function()
    assert.equal("inconsistent state: containers: the charm declares no container 'sidecar'",
      refusal({ containers = { sidecar = {} } }, nil, K8S_META))
  end)

  it("files and directories are absolute paths, files hold text", function()
    assert.equal("inconsistent state: files: 'etc/app.conf' is not an absolute path",
      refusal{ files = { ["etc/app.conf"] = "x" } })
    assert.equal("inconsistent state: files: the content of '/etc/app.conf' is a number (a string expected)",
      refusal{ files = { ["/etc/app.conf"] = 1 } })
    assert.equal("inconsistent state: dirs: 'srv' is not an absolute path", refusal{ dirs = { "srv" } })
  end)

  it("paths that go up with '..' are refused: the simulated unit writes them under a scratch root", function()
    assert.equal("inconsistent state: dirs: '/../x' goes up with '..' (write the path without it)",
      refusal{ dirs = { "/../x" } })
    assert.equal("inconsistent state: files: '/srv/..' goes up with '..' (write the path without it)",
      refusal{ files = { ["/srv/.."] = "x" } })
    assert.equal("inconsistent state: processes[1].files: '/a/../../b' goes up with '..' (write the path "
      .. "without it)", refusal{ processes = { { command = "true", files = { ["/a/../../b"] = "x" } } } })
    assert.equal("inconsistent state: processes[1].files: 'b' is not an absolute path",
      refusal{ processes = { { command = "true", files = { b = "x" } } } })
    -- a name that merely starts with dots is a name
    local out = testing.context{ charm = charm.new(), metadata = META }:run(on.install(),
      { dirs = { "/srv/..hidden", "/srv/.config" } })
    assert.same({ "/srv/..hidden", "/srv/.config" }, out.dirs)
  end)
end)

describe("juju.testing consistency: relations #unit", function()
  it("a relation on an endpoint the metadata lacks, with the endpoint meant", function()
    assert.equal("inconsistent state: relation 3 (dbs): the charm has no endpoint 'dbs' (did you mean 'db'?)",
      refusal{ relations = { testing.relation{ id = 3, endpoint = "dbs", remote_app = "pg" } } })
  end)

  it("two relations with one id", function()
    assert.equal("inconsistent state: relations[2]: id 3 is used twice",
      refusal{ relations = { DB, testing.relation{ id = 3, endpoint = "website", remote_app = "proxy" } } })
  end)

  it("a remote unit not of the remote application", function()
    assert.equal("inconsistent state: relation 3 (db): remote unit 'mysql/0' is not a unit of 'pg'",
      refusal{ relations = { testing.relation{ id = 3, endpoint = "db", remote_app = "pg",
                                               remote_units = { "mysql/0" } } } })
  end)

  it("a peer relation's remote application is this one", function()
    assert.equal("inconsistent state: relation 4 (replicas): a peer relation's remote application is this one "
      .. "('web'), not 'other'; relation 4 (replicas): remote unit 'other/1' is not a unit of 'web'",
      refusal{ relations = { testing.peer_relation{ id = 4, endpoint = "replicas", peers = { "other/1" } } } })
  end)

  it("a subordinate relation has one remote unit, the principal", function()
    assert.equal("inconsistent state: relation 5 (info): a subordinate relation has one remote unit (the principal)",
      refusal{ relations = { testing.relation{ id = 5, endpoint = "info", remote_app = "ubuntu",
                                               remote_units = { "ubuntu/0", "ubuntu/1" } } } })
  end)

  it("this unit is not its own peer", function()
    assert.equal("inconsistent state: relation 4 (replicas): this unit (web/0) is not its own remote unit",
      refusal{ relations = { testing.peer_relation{ id = 4, endpoint = "replicas", app = "web",
                                                    peers = { "web/0" } } } })
  end)

  it("more relations on an endpoint than its limit", function()
    assert.equal("inconsistent state: endpoint 'db' has 2 relations, but its limit is 1",
      refusal{ relations = { DB, testing.relation{ id = 4, endpoint = "db", remote_app = "mysql" } } })
  end)

  it("relation data holds strings", function()
    assert.equal("inconsistent state: relation 3 (db): local_unit_data[\"port\"] is a number: "
      .. "relation data holds strings",
      refusal{ relations = { testing.relation{ id = 3, endpoint = "db", remote_app = "pg",
                                               local_unit_data = { port = 5432 } } } })
  end)

  it("a relation event for a relation the state does not have", function()
    assert.equal("inconsistent state: db-relation-changed: the state has no relation 9",
      refusal({ relations = { DB } }, on.relation_changed(testing.relation{ id = 9, endpoint = "db" })))
  end)

  it("a relation event's remote unit must be in the relation", function()
    assert.equal("inconsistent state: db-relation-changed: pg/5 is not a remote unit of relation 3",
      refusal({ relations = { DB } }, on.relation_changed(DB, { remote_unit = "pg/5" })))
  end)
end)

describe("juju.testing consistency: secrets #unit", function()
  it("a secret id that is not a secret URI", function()
    assert.equal("inconsistent state: secrets[1]: id secret:XYZ is not a secret URI "
      .. "(secret:<20 characters of 0-9a-v>)", refusal{ secrets = { { id = "secret:XYZ", content = { pass = "a" } } } })
  end)

  it("a tracked revision the secret does not have", function()
    assert.equal("inconsistent state: secret secret:cs1l5r2d2j3p2c1v4nbg: tracked revision 2 is not one of its "
      .. "revisions", refusal{ secrets = { testing.secret{ id = SHARED.id, content = { pass = "b" }, tracked = 2 } } })
  end)

  it("one label on two secrets this application owns", function()
    assert.equal("inconsistent state: secret secret:ct0000000000000000b0: label 'admin' is on two secrets this "
      .. "application owns", refusal{ secrets = {
        testing.secret{ id = OWNED.id, owner = "app", label = "admin", content = { pass = "a" } },
        testing.secret{ id = "secret:ct0000000000000000b0", owner = "unit", label = "admin", content = { pass = "a" } },
      } })
  end)

  it("a grant on a relation the state does not have", function()
    assert.equal("inconsistent state: secret secret:ct0000000000000000a0: granted on relation 9, which the state "
      .. "does not have", refusal{ secrets = { testing.secret{ id = OWNED.id, owner = "app", content = { pass = "a" },
                                                                grants = { [9] = "pg" } } } })
  end)

  it("a secret event for a secret the state does not have", function()
    assert.equal("inconsistent state: secret-changed: the state has no secret secret:cs00000000000000zzzz",
      refusal({ secrets = { SHARED } }, on.secret_changed("secret:cs00000000000000zzzz")))
  end)

  it("secret-changed for a secret this application owns", function()
    assert.equal("inconsistent state: secret-changed: secret secret:ct0000000000000000a0 is this application's own "
      .. "(Juju tells its consumers, not its owner)", refusal({ leader = true, secrets = { OWNED } },
        on.secret_changed(OWNED)))
  end)

  it("secret-rotate for a secret this application does not own", function()
    assert.equal("inconsistent state: secret-rotate: secret secret:cs1l5r2d2j3p2c1v4nbg is not this application's "
      .. "(Juju sends secret-rotate to the owner)", refusal({ secrets = { SHARED } }, on.secret_rotate(SHARED)))
  end)

  it("secret-remove without the revision no one tracks, or with one the secret lacks", function()
    assert.equal("inconsistent state: secret-remove: which revision is no longer tracked? "
      .. "(on.secret_remove(s, { revision = N }))", refusal({ leader = true, secrets = { OWNED } },
        on.secret_remove(OWNED)))
    assert.equal("inconsistent state: secret-remove: secret secret:ct0000000000000000a0 has no revision 4",
      refusal({ leader = true, secrets = { OWNED } }, on.secret_remove(OWNED, { revision = 4 })))
  end)
end)

describe("juju.testing consistency: storage #unit", function()
  it("storage the charm does not declare", function()
    assert.equal("inconsistent state: storage cache/0: the charm declares no storage 'cache'",
      refusal{ storage = { { id = "cache/0" } } })
  end)

  it("a storage event for storage the state does not have", function()
    assert.equal("inconsistent state: data-storage-attached: the state has no storage data/1",
      refusal({ storage = { { id = "data/0" } } }, on.storage_attached("data/1")))
  end)
end)

describe("juju.testing consistency: actions #unit", function()
  it("an action the charm does not declare, with the action meant", function()
    assert.equal("inconsistent state: action 'bakup': the charm declares no such action (did you mean 'backup'?)",
      refusal({}, on.action("bakup")))
  end)

  it("params outside the action's schema", function()
    assert.equal('inconsistent state: action \'backup\': action "backup": params.level: -1 is below the minimum 0',
      refusal({}, on.action("backup", { level = -1 })))
  end)
end)

describe("juju.testing consistency: events and the unit #unit", function()
  it("a Pebble event on a machine model", function()
    assert.equal('inconsistent state: workload-pebble-ready: Pebble events come only on Kubernetes '
      .. '(model.type = "kubernetes")', refusal({ model = { type = "lxd" } }, on.pebble_ready("workload"), K8S_META))
  end)

  it("a Pebble event for a container the charm does not declare", function()
    assert.equal("inconsistent state: sidecar-pebble-ready: the charm declares no container 'sidecar'",
      refusal({}, on.pebble_ready("sidecar"), K8S_META))
  end)

  it("leader-elected on a unit that is not the leader", function()
    assert.equal("inconsistent state: leader-elected: Juju sends it to the new leader (leader = true)",
      refusal({ leader = false }, on.leader_elected()))
  end)

  it("leader-settings-changed on the leader", function()
    assert.equal("inconsistent state: leader-settings-changed: Juju sends it only to units that are not the leader",
      refusal({ leader = true }, on.leader_settings_changed()))
  end)

  it("pre-series-upgrade on Kubernetes", function()
    assert.equal("inconsistent state: pre-series-upgrade: only machine charms are upgraded in place",
      refusal({}, on.pre_series_upgrade(), K8S_META))
  end)
end)

describe("juju.testing consistency: the shape of each piece of state #unit", function()
  local S = "secret:ct0000000000000000a0"
  -- state, event (default install), the message after "inconsistent state: "
  local CASES = {
    { { relations = { "db" } }, nil, "relations[1] is not a table" },
    { { relations = { { id = -1, endpoint = "db", remote_app = "pg" } } }, nil,
      "relations[1]: id -1 is not a relation id (an integer >= 0)" },
    { { relations = { { id = 3, remote_app = "pg" } } }, nil, "relation 3 (nil): no endpoint" },
    { { relations = { testing.peer_relation{ id = 3, endpoint = "db", app = "web" } } }, nil,
      "relation 3 (db): kind 'peer', but the metadata makes it a regular relation" },
    { { relations = { { id = 3, endpoint = "db" } } }, nil,
      "relation 3 (db): remote_app is missing, so is not an application name" },
    { { relations = { { id = 3, endpoint = "db", remote_app = "pg", remote_units = { x = "pg/0" } } } }, nil,
      "relation 3 (db): remote_units is not a list of unit names" },
    { { relations = { { id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg" } } } }, nil,
      "relation 3 (db): remote unit 'pg' is not a unit name" },
    { { relations = { { id = 3, endpoint = "db", remote_app = "pg", remote_units_data = { ["pg/1"] = {} } } } },
      nil,
      "relation 3 (db): remote_units_data has 'pg/1', which is not in remote_units" },
    { { secrets = { "x" } }, nil, "secrets[1] is not a table" },
    { { secrets = { { id = S, content = { pass = "a" } }, { id = "ct0000000000000000a0", content = { pass = "a" } } } },
      nil, "secrets[2]: secret ct0000000000000000a0 is there twice" },
    { { secrets = { { id = S, owner = "model", content = { pass = "a" } } } }, nil,
      "secret " .. S .. ": owner 'model' (\"app\", \"unit\", or none for a secret another application shared "
      .. "with this one)" },
    { { secrets = { { id = S, content = { pass = "a" }, revisions = { { pass = "b" } } } } }, nil,
      "secret " .. S .. ": give content or revisions, not both" },
    { { secrets = { { id = S } } }, nil, "secret " .. S .. ": no content (content = {...}, or revisions = "
      .. "{[1] = {...}, ...})" },
    { { secrets = { { id = S, revisions = { [0] = { pass = "a" } } } } }, nil,
      "secret " .. S .. ": revision 0 is not a positive integer" },
    { { secrets = { { id = S, revisions = { "text" } } } }, nil,
      "secret " .. S .. ": revision 1 is a string (a table of strings expected)" },
    { { secrets = { { id = S, content = { pass = 1 } } } }, nil,
      "secret " .. S .. ": revision 1: pass holds a number (secret content is strings)" },
    { { config = "port=80" }, nil, "config is not a table" },
    { { config = { port = { 80 } } }, nil,
      "config[port] is a table (a string, number or boolean expected); config: config option \"port\": "
      .. "a list is not of type int" },
    { { trusted = "yes" }, nil, "trusted is not a boolean" },
    { { stored = { f = print } }, nil, "stored[f] cannot be kept (a string key and a JSON value expected)" },
    { { stored = { "a list" } }, nil, "stored[1] cannot be kept (a string key and a JSON value expected)" },
    { { stored = { ok = { 1, 2 }, bad = { x = 0 / 0 } } }, nil,
      "stored[bad] cannot be kept (a string key and a JSON value expected)" },
    { { deferred = { { event = "nothing" } } }, nil,
      "deferred[1] is not a deferred event ({event = <hook name>, env = {...}}: make one with juju.testing.deferred)" },
    { { opened_ports = { { protocol = "tcp", port = 0 } } }, nil,
      "opened_ports[1] is not a port ({protocol = \"tcp\"|\"udp\", port = 1..65535[, to_port = ...]} or "
      .. "{protocol = \"icmp\"})" },
    { { storage = { { id = "data" } } }, nil, "storage[1]: id data is not a storage id (name/N)" },
    { { storage = { { id = "data/0" }, { id = "data/0" } } }, nil, "storage data/0 is there twice" },
    { { storage = { { id = "data/0", kind = "tape" } } }, nil, "storage data/0: kind 'tape' (filesystem or block)" },
    { { resources = { tarball = 1 } }, nil,
      "resources[tarball] is a number (the path of the resource's file expected)" },
    { { app_status = { name = "fine" } }, nil,
      "app_status is not a status ({name = \"active\"|\"blocked\"|..., message = ...})" },
    { { planned_units = -1 }, nil, "planned_units is not a count" },
    { { workload_version = 2 }, nil, "workload_version is not a string" },
    { { model = "prod" }, nil, "model is not a table" },
    { { relations = "db", secrets = 1 }, nil, "relations is not a table; secrets is not a table" },
    { { dirs = { srv = "/srv" } }, nil, "dirs is not a list of absolute paths" },
    { { processes = { { code = 1 } } }, nil, "processes[1] has no command (the words an argv starts with)" },
    { { processes = { { command = " " } } }, nil, "processes[1] has no command (the words an argv starts with)" },
    { { relations = { DB } }, on.relation_changed(testing.relation{ id = 3, endpoint = "website" }),
      "website-relation-changed: relation 3 is on endpoint 'db'" },
    { { relations = { DB } }, on.relation_created(DB, { remote_unit = "pg/0" }),
      "db-relation-created: Juju names no remote unit for this event" },
    { { relations = { DB } }, on.relation_changed(DB, { departing_unit = "pg/0" }),
      "db-relation-changed: only relation-departed has a departing unit" },
    { { relations = { testing.relation{ id = 3, endpoint = "db", remote_app = "pg", remote_units = {} } } },
      on.relation_joined(3),
      "db-relation-joined: relation 3 has no remote unit (give remote_units, or remote_unit =)" },
  }
  for i, case in ipairs(CASES) do
    local state, event, message = case[1], case[2], case[3]
    it(("%d: %s"):format(i, message:sub(1, 60)), function()
      assert.equal("inconsistent state: " .. message, refusal(state, event))
    end)
  end
end)
