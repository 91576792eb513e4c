-- juju.testing state: every piece of the state goes in (the charm reads
-- it through the real hook commands) and comes out (what the charm changed
-- is in the state after), and `run` never changes the state it was given.
-- Secrets are in testing_secrets_spec, workload programs and files in
-- testing_workload_spec.

local charm = require "juju.charm"
local juju = require "juju"
local testing = require "juju.testing"
local runs = require "helpers.runs"
local on = testing.on

local META = {
  name = "web",
  provides = { website = { interface = "http" } },
  requires = { db = { interface = "pgsql" } },
  peers = { replicas = { interface = "web-peers" } },
  ["extra-bindings"] = { metrics = true },
  config = { options = {
    port = { type = "int", default = 8080 },
    name = { type = "string" },
    debug = { type = "boolean", default = false },
    ratio = { type = "float", default = 0.5 },
  } },
  storage = {
    data = { type = "filesystem", location = "/srv/data", multiple = { range = "1-3" } },
    disk = { type = "block" },
  },
  resources = { tarball = { type = "file", filename = "app.tgz" }, extra = { type = "file", filename = "x.tgz" } },
}

local DB = testing.relation{
  id = 3, endpoint = "db", remote_app = "pg", remote_units = { "pg/0", "pg/1" },
  local_app_data = { url = "http://old" }, local_unit_data = { address = "10.0.0.1" },
  remote_app_data = { database = "shop" },
  remote_units_data = { ["pg/0"] = { host = "10.0.0.7" }, ["pg/1"] = { host = "10.0.0.8" } },
}

--- A context for a charm with one handler, on hook (default config-changed).
local function context(handler, hook, meta)
  local c = charm.new()
  c:on(hook or "config-changed", handler)
  return testing.context{ charm = c, metadata = meta or META }
end

--- Run handler on an event (default config-changed) against state.
local function run(handler, state, event, meta)
  event = event or on.config_changed()
  return context(handler, event.name, meta):run(event, state or {})
end

--- Run handler expecting the hook to fail.
local function run_failing(handler, state, event, meta)
  event = event or on.config_changed()
  return context(handler, event.name, meta):run_failing(event, state or {})
end

--- The argv of a run's hook commands named name, as strings.
local argv = runs.lines

describe("juju.testing state: config #unit", function()
  it("the metadata's defaults fill what the state does not give, in and out", function()
    local seen
    local out, r = run(function(e)
      local c = e.config
      seen = { c.port, c.name, c.debug, c.ratio }
    end, {})
    assert.same({ 8080, nil, false, 0.5 }, seen)
    assert.same({ port = 8080, debug = false, ratio = 0.5 }, out.config)
    assert.same({ "config-get --format=json" }, argv(r, "config-get"))
  end)

  it("the state's values override the defaults", function()
    local seen
    local out = run(function(e) seen = { e.config.port, e.config.name, e.config.debug } end,
      { config = { port = 9000, name = "shop", debug = true } })
    assert.same({ 9000, "shop", true }, seen)
    assert.same({ port = 9000, name = "shop", debug = true, ratio = 0.5 }, out.config)
  end)

  it("a value of the wrong type is an inconsistency, with the option's type", function()
    local ctx = context(function() end)
    local ok, err = pcall(ctx.run, ctx, on.config_changed(), { config = { port = "80" } })
    assert.is_false(ok)
    assert.matches('inconsistent state: config: config option "port": "80" is not of type int '
      .. "(quoted, so a string)", err, 1, true)
  end)
end)

describe("juju.testing state: leader #unit", function()
  it("is-leader answers from state.leader, which stays as it was", function()
    for _, leader in ipairs { true, false } do
      local seen
      local out, r = run(function(e) seen = e.model:is_leader() end, { leader = leader })
      assert.equal(leader, seen)
      assert.equal(leader, out.leader)
      assert.same({ "is-leader --format=json" }, argv(r, "is-leader"))
    end
  end)

  it("no leader key: not the leader", function()
    local seen
    run(function(e) seen = e.model:is_leader() end, {})
    assert.is_false(seen)
  end)
end)

describe("juju.testing state: relations #unit", function()
  it("every bag reads from the state: this unit's, this app's, the remote app's and each remote unit's", function()
    local seen
    run(function(e)
      local r = e.model:relation("db")
      seen = { r.unit_data.address, r.app_data.url, r.remote_app_data.database,
               r:remote_unit_data("pg/0").host, r:remote_unit_data("pg/1").host, r.app, table.concat(r.units, ",") }
    end, { leader = true, relations = { DB } })
    assert.same({ "10.0.0.1", "http://old", "shop", "10.0.0.7", "10.0.0.8", "pg", "pg/0,pg/1" }, seen)
  end)

  it("writes to this unit's and app's bags come out; the remote bags stay as they were", function()
    local out = run(function(e)
      local r = e.model:relation("db")
      r.unit_data.address = "10.0.0.2"
      r.unit_data.port = 5432
      r.app_data.url = "http://new"
    end, { leader = true, relations = { DB } })
    local rel = out.relations[1]
    assert.same({ address = "10.0.0.2", port = "5432" }, rel.local_unit_data)
    assert.same({ url = "http://new" }, rel.local_app_data)
    assert.same({ database = "shop" }, rel.remote_app_data)
    assert.same({ ["pg/0"] = { host = "10.0.0.7" }, ["pg/1"] = { host = "10.0.0.8" } }, rel.remote_units_data)
    assert.same({ "pg/0", "pg/1" }, rel.remote_units)
  end)

  it("the relations of an endpoint, by id, from relation-ids", function()
    local other = testing.relation{ id = 10, endpoint = "db", remote_app = "mysql" }
    local seen
    local _, r = run(function(e)
      seen = {}
      for _, rel in ipairs(e.model:relations("db")) do seen[#seen + 1] = tostring(rel) .. "=" .. rel.app end
    end, { relations = { other, DB } })
    assert.same({ "db:3=pg", "db:10=mysql" }, seen)
    assert.same({ "relation-ids db --format=json" }, argv(r, "relation-ids"))
  end)

  it("relation-model-get: the remote model's uuid, or this model's when the state gives none", function()
    local cmr = testing.relation{ id = 7, endpoint = "db", remote_app = "offer",
                                  remote_model_uuid = "9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d" }
    local seen
    run(function() seen = { juju.relation_model_get(7).uuid, juju.relation_model_get(3).uuid } end,
      { relations = { cmr, DB }, model = { uuid = "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70" } })
    assert.same({ "9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d", "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70" }, seen)
  end)

  it("a peer relation's remote units are this application's, and its app bag is readable by any unit", function()
    local peers = testing.peer_relation{ id = 4, endpoint = "replicas", app = "web", peers = { "web/1" },
                                         local_app_data = { token = "t" },
                                         remote_units_data = { ["web/1"] = { ready = "yes" } } }
    local seen
    local out = run(function(e)
      local r = e.model:relation("replicas")
      seen = { r.app, r.units[1], r:remote_unit_data("web/1").ready, r.app_data.token }
    end, { leader = false, relations = { peers } })
    assert.same({ "web", "web/1", "yes", "t" }, seen)
    assert.equal("web", out.relations[1].remote_app)
  end)
end)

describe("juju.testing state: stored state #unit", function()
  it("e.state reads state.stored; what the charm sets or deletes comes out", function()
    local seen
    local out = run(function(e)
      seen = { e.state.count, e.state.names[2], e.state.missing }
      e.state.count = e.state.count + 1
      e.state.names = nil
      e.state.config = { port = 80 }
    end, { stored = { count = 1, names = { "a", "b" }, kept = true } })
    assert.same({ 1, "b", nil }, seen)
    assert.same({ count = 2, kept = true, config = { port = 80 } }, out.stored)
  end)

  it("keys of Juju's state the framework does not own pass through as juju_state", function()
    local seen
    local out = run(function() seen = juju.state_get("other-tool") end, { juju_state = { ["other-tool"] = "v1" } })
    assert.equal("v1", seen)
    assert.same({ ["other-tool"] = "v1" }, out.juju_state)
  end)
end)

describe("juju.testing state: deferred #unit", function()
  it("an event the charm defers comes out in state.deferred, as testing.deferred makes it", function()
    local out = run(function(e) e:defer() end, { relations = { DB } },
      on.relation_changed(DB, { remote_unit = "pg/1" }))
    assert.same({ testing.deferred(on.relation_changed(DB, { remote_unit = "pg/1" })) }, out.deferred)
  end)

  it("a deferred event deferred again stays, once", function()
    local c = charm.new()
    local handled = 0
    c:on("config-changed", function(e) handled = handled + 1; e:defer() end)
    c:on("update-status", function() end)
    local ctx = testing.context{ charm = c, metadata = META }
    local s = ctx:run(on.config_changed(), {})
    s = ctx:run(on.update_status(), s)
    s = ctx:run(on.update_status(), s)
    assert.equal(3, handled)
    assert.same({ { event = "config-changed", env = {} } }, s.deferred)
  end)
end)

describe("juju.testing state: opened ports #unit", function()
  it("set_ports closes and opens the difference from state.opened_ports; the result comes out", function()
    local seen
    local out, r = run(function(e)
      seen = juju.opened_ports()
      e.model:set_ports{ 8080, { port = 53, protocol = "udp" }, { port = 9000, to_port = 9010 } }
    end, { opened_ports = { { protocol = "tcp", port = 80 }, { protocol = "tcp", port = 8080 } } })
    assert.same({ { protocol = "tcp", port = 80 }, { protocol = "tcp", port = 8080 } }, seen)
    assert.same({ "close-port 80/tcp" }, argv(r, "close-port"))
    assert.same({ "open-port 9000-9010/tcp", "open-port 53/udp" }, argv(r, "open-port"))
    assert.same({ { protocol = "tcp", port = 8080 }, { protocol = "tcp", port = 9000, to_port = 9010 },
                  { protocol = "udp", port = 53 } }, out.opened_ports)
  end)

  it("ports opened in the hook are not listed until it ends, as in Juju", function()
    local seen
    run(function()
      juju.open_port("tcp", 443)
      seen = juju.opened_ports()
    end, {})
    assert.same({}, seen)
  end)
end)

describe("juju.testing state: storage #unit", function()
  local STORAGE = { { id = "data/0" }, { id = "data/1", location = "/mnt/data1" }, { id = "disk/0" } }

  it("storage-list by name and storage-get answer from state.storage, locations from the metadata", function()
    local seen
    local _, r = run(function(e) seen = { e.model:storage("data"), e.model:storage("disk") } end,
      { storage = STORAGE })
    assert.same({
      { { id = "data/0", name = "data", index = 0, location = "/srv/data", kind = "filesystem" },
        { id = "data/1", name = "data", index = 1, location = "/mnt/data1", kind = "filesystem" } },
      { { id = "disk/0", name = "disk", index = 0, location = "/var/lib/juju/storage/disk/0", kind = "block" } },
    }, seen)
    assert.same({ "storage-list --format=json data", "storage-list --format=json disk" }, argv(r, "storage-list"))
  end)

  it("storage-add: state.storage_added says what the charm asked for; no key when it asked for nothing", function()
    local out = run(function() juju.storage_add({ data = 2 }) end, { storage = STORAGE })
    assert.same({ data = 2 }, out.storage_added)
    assert.same({ "data/0", "data/1", "disk/0" }, { out.storage[1].id, out.storage[2].id, out.storage[3].id })
    local quiet = run(function() end, { storage = STORAGE })
    assert.is_nil(quiet.storage_added)
  end)

  it("storage-get of an id the state lacks is Juju's error", function()
    local _, r = run_failing(function() juju.storage_get("data/5") end, { storage = STORAGE })
    assert.matches('ERROR invalid storage ID "data/5"', r.error, 1, true)
  end)
end)

describe("juju.testing state: resources #unit", function()
  it("resource-get gives the resource's path from state.resources", function()
    local seen
    local _, r = run(function(e) seen = e.model:resource("tarball") end, { resources = { tarball = "/tmp/app.tgz" } })
    assert.equal("/tmp/app.tgz", seen)
    assert.same({ "resource-get tarball" }, argv(r, "resource-get"))
  end)

  it("a declared resource the state does not give cannot be downloaded (Juju's error)", function()
    local _, r = run_failing(function(e) e.model:resource("extra") end, { resources = { tarball = "/tmp/app.tgz" } })
    assert.equal("command [resource-get extra] exited with status 1: "
      .. 'ERROR could not download resource: resource "extra" not found', r.error)
  end)
end)

describe("juju.testing state: networks #unit", function()
  it("network-get answers from state.networks, written with _ for Juju's -", function()
    local seen
    run(function(e) seen = e.model:network("db") end, { networks = { db = {
      bind_addresses = { { interface_name = "eth1", mac_address = "00:16:3e:00:00:01",
                           addresses = { { value = "10.1.0.5", cidr = "10.1.0.0/24" } } } },
      ingress_addresses = { "10.1.0.5" }, egress_subnets = { "10.1.0.0/24" },
    } } })
    assert.same({
      bind_addresses = { { interface_name = "eth1", mac_address = "00:16:3e:00:00:01",
                           addresses = { { hostname = "", value = "10.1.0.5", cidr = "10.1.0.0/24" } } } },
      ingress_addresses = { "10.1.0.5" }, egress_subnets = { "10.1.0.0/24" },
    }, seen)
  end)

  it("a binding the state does not give has the default network (endpoints, extra bindings, juju-info)", function()
    local seen = {}
    run(function(e)
      for _, b in ipairs { "website", "metrics", "juju-info" } do seen[b] = e.model:network(b) end
    end, {})
    local default = {
      bind_addresses = { { interface_name = "eth0", mac_address = "",
                           addresses = { { hostname = "", value = "192.0.2.0", cidr = "192.0.2.0/24" } } } },
      ingress_addresses = { "192.0.2.0" }, egress_subnets = { "192.0.2.0/32" },
    }
    assert.same({ website = default, metrics = default, ["juju-info"] = default }, seen)
  end)

  it("network-get's flags pick values: one bare, several in a map, --primary-address alone", function()
    local sim = testing.sim.new({ networks = { db = {
      bind_addresses = { { addresses = { { value = "10.1.0.4", cidr = "10.1.0.0/24" } } } },
      ingress_addresses = { "10.1.0.5", "10.1.0.6" }, egress_subnets = { "10.1.0.0/24" },
    } } }, { unit = "web/0" })
    local function get(...) return { sim:run({ "network-get", "db", "--format=json", ... }) } end
    assert.same({ 0, '"10.1.0.5"\n', "" }, get("--ingress-address"))
    assert.same({ 0, '"10.1.0.4"\n', "" }, get("--bind-address"))
    assert.same({ 0, '["10.1.0.0/24"]\n', "" }, get("--egress-subnets"))
    assert.same({ 0, '{"bind-address":"10.1.0.4","egress-subnets":["10.1.0.0/24"],"ingress-address":"10.1.0.5"}\n',
                  "" }, get("--bind-address", "--ingress-address", "--egress-subnets"))
    assert.same({ 0, '"10.1.0.4"\n', "" }, get("--primary-address"))
    assert.same({ 2, "", "ERROR --primary-address must be the only flag specified\n" },
      get("--primary-address", "--bind-address"))
  end)

  it("a binding the charm does not have is Juju's error", function()
    local _, r = run_failing(function(e) e.model:network("nope") end, {})
    assert.equal("command [network-get --format=json nope] exited with status 1: "
      .. 'ERROR no network config found for binding "nope"', r.error)
  end)
end)

describe("juju.testing state: model #unit", function()
  it("name, uuid and type from state.model; test defaults otherwise", function()
    local seen = {}
    local function record(e) seen[#seen + 1] = { e.model.name, e.model.uuid, e.model.type } end
    local out = run(record, { model = { name = "prod", uuid = "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70", type = "lxd" } })
    run(record, {})
    assert.same({ { "prod", "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70", "machine" },
                  { "test-model", "00000000-0000-4000-8000-000000000000", "machine" } }, seen)
    assert.same({ name = "prod", uuid = "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70", type = "lxd" }, out.model)
  end)

  it("credential-get gives model.cloud_spec to a trusted application", function()
    local spec = { type = "openstack", name = "serverstack", region = "RegionOne",
                   endpoint = "https://keystone.example:5000/v3",
                   credential = { ["auth-type"] = "userpass", attrs = { username = "admin" },
                                  redacted = { "password" } } }
    local seen
    run(function() seen = juju.credential_get() end, { trusted = true, model = { cloud_spec = spec } })
    assert.same({ type = "openstack", name = "serverstack", region = "RegionOne",
                  endpoint = "https://keystone.example:5000/v3", ca_certificates = {}, skip_tls_verify = false,
                  is_controller_cloud = false,
                  credential = { auth_type = "userpass", attributes = { username = "admin" },
                                 redacted = { "password" } } },
      seen)
  end)

  it("credential-get without trust is Juju's refusal", function()
    local _, r = run_failing(function() juju.credential_get() end,
      { model = { cloud_spec = { type = "lxd", name = "localhost" } } })
    assert.equal("command [credential-get --format=json] exited with status 1: "
      .. "ERROR cannot access cloud credentials: permission denied (the application needs trust)", r.error)
  end)
end)

describe("juju.testing state: planned units, statuses, workload version #unit", function()
  it("planned_units is goal-state's count of this application's units (1 by default)", function()
    local seen = {}
    run(function(e) seen[#seen + 1] = e.model:planned_units() end, { planned_units = 3 })
    run(function(e) seen[#seen + 1] = e.model:planned_units() end, {})
    assert.same({ 3, 1 }, seen)
  end)

  it("status-get reads unit_status and app_status; what the charm sets comes out", function()
    local seen
    local out = run(function(e)
      seen = { juju.status_get(), juju.status_get{ app = true } }
      e.status:set("maintenance", "restarting")
      e.status:set_app("active", "3 units")
    end, { leader = true, unit_status = { name = "active", message = "ready" },
           app_status = { name = "blocked", message = "scale up" } })
    assert.same({ status = "active", message = "ready", status_data = {} }, seen[1])
    assert.same({ status = "blocked", message = "scale up", status_data = {},
                  units = { ["web/0"] = { status = "active", message = "ready", status_data = {} } } }, seen[2])
    assert.same({ name = "maintenance", message = "restarting" }, out.unit_status)
    assert.same({ name = "active", message = "3 units" }, out.app_status)
  end)

  it("collected statuses are set last, the app's only by the leader", function()
    local c = charm.new()
    c:on("update-status", function() end)
    c:collect_status(function(s) s:add("active", "ok"); s:add("waiting", "db"); s:add_app("blocked", "no db") end)
    local ctx = testing.context{ charm = c, metadata = META }
    local out = ctx:run(on.update_status(), { leader = true })
    assert.same({ { name = "waiting", message = "db" }, { name = "blocked", message = "no db" } },
      { out.unit_status, out.app_status })
    local follower = ctx:run(on.update_status(), { leader = false, app_status = { name = "active", message = "" } })
    assert.same({ name = "active", message = "" }, follower.app_status)
  end)

  it("workload_version in, and what the charm sets out", function()
    local out, r = run(function(e) e.model:set_workload_version("2.4.1") end, { workload_version = "2.4.0" })
    assert.equal("2.4.1", out.workload_version)
    assert.same({ "application-version-set -- 2.4.1" }, argv(r, "application-version-set"))
    local same = run(function() end, { workload_version = "2.4.0" })
    assert.equal("2.4.0", same.workload_version)
  end)
end)

describe("juju.testing state: run leaves its input alone, and runs chain #unit", function()
  local function deep_copy(v)
    if type(v) ~= "table" then return v end
    local out = {}
    for k, x in pairs(v) do out[deep_copy(k)] = deep_copy(x) end
    return out
  end

  it("a run that changes everything leaves the state it was given exactly as it was", function()
    local secret = testing.secret{ id = "secret:ct0000000000000000a0", owner = "app", label = "admin",
                                   content = { password = "one" } }
    local state = {
      leader = true, config = { port = 9000 }, relations = { DB }, secrets = { secret },
      stored = { count = 1 }, opened_ports = { { protocol = "tcp", port = 80 } },
      storage = { { id = "data/0" } }, unit_status = { name = "active", message = "" },
      workload_version = "1", files = { ["/etc/app.conf"] = "old" },
      processes = { { command = "systemctl", files = { ["/run/app.pid"] = "1" } } },
    }
    local before = deep_copy(state)
    local out = run(function(e)
      e.state.count = 2
      e.model:relation("db").app_data.url = "http://new"
      e.model:set_ports{ 443 }
      e.model:secret{ label = "admin" }:set_content{ password = "two" }
      e.model:add_secret({ token = "abc" }, { label = "token" })
      e.status:set("maintenance", "busy")
      e.model:set_workload_version("2")
      juju.storage_add({ data = 1 })
      require("juju.file").write("/etc/app.conf", "new")
      require("juju.process").run({ "systemctl", "restart", "app" })
    end, state)
    assert.same(before, state)
    -- and the state after did change, so the comparison above means something
    assert.same({ 2, "http://new", 443, 2, "maintenance", "2", "new" }, {
      out.stored.count, out.relations[1].local_app_data.url, out.opened_ports[1].port, #out.secrets,
      out.unit_status.name, out.workload_version, out.files["/etc/app.conf"] })
  end)

  it("the state after one run is the state before the next", function()
    local c = charm.new()
    c:on("install", function(e) e.state.installed = true; e.model:set_ports{ 80 } end)
    c:on("config-changed", function(e)
      assert(e.state.installed, "install ran first")
      e.model:set_ports{ e.config.port }
    end)
    c:on("start", function(e) e.status:set("active", "port " .. e.model.config.port) end)
    local ctx = testing.context{ charm = c, metadata = META }
    local s = ctx:run(on.install(), { config = { port = 9000 } })
    s = ctx:run(on.config_changed(), s)
    s = ctx:run(on.start(), s)
    assert.same({ installed = true }, s.stored)
    assert.same({ { protocol = "tcp", port = 9000 } }, s.opened_ports)
    assert.same({ name = "active", message = "port 9000" }, s.unit_status)
  end)
end)

describe("juju.testing.unit's transcript #unit", function()
  it("prints ports as Juju does: a one-port range is that port", function()
    local unit = require "juju.testing.unit"
    local record = { event = { name = "install", kind = "install" }, seconds = 0.001, commands = {}, processes = {},
                  pebble = {}, logs = {}, code = 0, env = {} }
    local text = unit.transcript({}, { opened_ports = {
      { protocol = "tcp", port = 80, to_port = 80 }, { protocol = "udp", port = 8000, to_port = 8099 },
      { protocol = "icmp" } } }, record)
    assert.matches("\n   opened ports: 80/tcp 8000-8099/udp icmp\n", text, 1, true)
  end)
end)
