-- Result shaping: Juju's real JSON output in, ops-shaped Lua values out
-- (reference/ops-hookcmds.md 1.3 and 1.4, API.md "Values").

local juju = require "juju"
local recorder = require "helpers.recorder"
local canned = require "helpers.canned"

local SINCE_1 = 1714558830 -- 2024-05-01 10:20:30Z
local SINCE_2 = 1767508186 -- 2026-01-04 06:29:46Z

describe("juju result shaping #unit", function()
  local rec = recorder.setup(juju)

  describe("commands with no result", function()
    local calls = {
      action_fail = function() return juju.action_fail("x") end,
      action_log = function() return juju.action_log("x") end,
      action_set = function() return juju.action_set({ a = "b" }) end,
      app_version_set = function() return juju.app_version_set("1") end,
      close_port = function() return juju.close_port("tcp", 1) end,
      open_port = function() return juju.open_port("tcp", 1) end,
      juju_log = function() return juju.juju_log("x") end,
      juju_reboot = function() return juju.juju_reboot() end,
      relation_set = function() return juju.relation_set({ a = "b" }, 1) end,
      secret_grant = function() return juju.secret_grant("s", 1) end,
      secret_remove = function() return juju.secret_remove("s") end,
      secret_revoke = function() return juju.secret_revoke("s", { relation_id = 1 }) end,
      secret_set = function() return juju.secret_set("s", { label = "l" }) end,
      state_delete = function() return juju.state_delete("k") end,
      state_set = function() return juju.state_set({ k = "v" }) end,
      status_set = function() return juju.status_set("active") end,
      storage_add = function() return juju.storage_add({ data = 1 }) end,
    }
    for name, call in pairs(calls) do
      it(name .. " returns nothing, even if Juju prints something", function()
        rec.answers = setmetatable({}, { __index = function() return { 0, "noise\n", "" } end })
        assert.equal(0, select("#", call()))
        assert.equal(1, rec:count())
      end)
    end
  end)

  describe("JSON decoding", function()
    it("integers are Lua integers, floats are floats", function()
      rec:on("config-get", 0, canned.config_all)
      local cfg = juju.config_get()
      assert.same({ debug = false, name = "x", port = 8080, ratio = 1.5, ["log-level"] = "info" }, cfg)
      assert.equal("integer", math.type(cfg.port))
      assert.equal("float", math.type(cfg.ratio))
    end)

    it("negative and zero integers stay integers", function()
      rec:on("config-get", 0, '{"a":-5,"b":0,"c":-0.5}')
      local cfg = juju.config_get()
      assert.equal(-5, cfg.a)
      assert.equal("integer", math.type(cfg.a))
      assert.equal("integer", math.type(cfg.b))
      assert.equal(-0.5, cfg.c)
    end)

    it("integers beyond 2^53 keep every digit", function()
      rec:on("config-get", 0, '{"big":9007199254740993,"max":9223372036854775807}')
      local cfg = juju.config_get()
      assert.equal("integer", math.type(cfg.big))
      assert.equal(9007199254740993, cfg.big)
      assert.equal(math.maxinteger, cfg.max)
    end)

    it("1.0 and 1e3 are floats (JSON fraction/exponent)", function()
      rec:on("config-get", 0, '{"a":1.0,"b":1e3,"c":2.5E-1}')
      local cfg = juju.config_get()
      assert.equal("float", math.type(cfg.a))
      assert.equal("float", math.type(cfg.b))
      assert.equal(1000.0, cfg.b)
      assert.equal(0.25, cfg.c)
    end)

    it("null object members become absent keys", function()
      rec:on("config-get", 0, '{"set":"v","unset":null}')
      local cfg = juju.config_get()
      assert.same({ set = "v" }, cfg)
      assert.is_nil(cfg.unset)
    end)

    it("a top-level null becomes nil (config-get of a missing key)", function()
      rec:on("config-get", 0, "null\n")
      assert.is_nil(juju.config_get("missing"))
    end)

    it("a single scalar value (config-get KEY)", function()
      rec:on("config-get", 0, "false\n")
      assert.is_false(juju.config_get("debug"))
      rec:on("config-get", 0, "8080\n")
      local port = juju.config_get("port")
      assert.equal(8080, port)
      assert.equal("integer", math.type(port))
    end)

    it("string escapes decode to UTF-8, including surrogate pairs", function()
      rec:on("action-get", 0, '{"s":"caf\\u00e9 \\ud83d\\ude00 \\u003c\\u003e\\u0026 a\\/b \\"q\\" \\\\ \\n\\t"}\n')
      local v = juju.action_get()
      assert.equal('café \u{1F600} <>& a/b "q" \\ \n\t', v.s)
    end)

    it("arrays become sequences, nested values keep their types", function()
      rec:on("action-get", 0, '{"list":[1,"two",true,{"x":[]}],"empty":{}}\n')
      local v = juju.action_get()
      assert.same({ list = { 1, "two", true, { x = {} } }, empty = {} }, v)
      assert.equal("integer", math.type(v.list[1]))
    end)

    it("action_get with a key returns any JSON value", function()
      rec:on("action-get", 0, '"just text"\n')
      assert.equal("just text", juju.action_get("a.b"))
      rec:on("action-get", 0, "null\n")
      assert.is_nil(juju.action_get("missing"))
      rec:on("action-get", 0, '{"c":3}\n')
      assert.same({ c = 3 }, juju.action_get("a"))
    end)

    it("whitespace around the document is fine", function()
      rec:on("is-leader", 0, "  \n true \n\n")
      assert.is_true(juju.is_leader())
    end)
  end)

  describe("simple results", function()
    it("is_leader: true and false", function()
      rec:on("is-leader", 0, "true\n")
      assert.is_true(juju.is_leader())
      rec:on("is-leader", 0, "false\n")
      assert.is_false(juju.is_leader())
    end)

    it("relation_get: all data, keys kept verbatim", function()
      rec:on("relation-get", 0, canned.relation_unit_data)
      assert.same({
        ["egress-subnets"] = "10.0.0.7/32",
        ["ingress-address"] = "10.0.0.7",
        ["private-address"] = "10.0.0.7",
        port = "3306",
      }, juju.relation_get(3, { unit = "mysql/0" }))
    end)

    it("relation_get with a key returns the string, missing key nil", function()
      rec:on("relation-get", 0, '"3306"\n')
      assert.equal("3306", juju.relation_get(3, { key = "port" }))
      rec:on("relation-get", 0, "null\n")
      assert.is_nil(juju.relation_get(3, { key = "nope" }))
    end)

    it("relation_ids: list of endpoint:id strings", function()
      rec:on("relation-ids", 0, '["db:10","db:3"]\n')
      assert.same({ "db:10", "db:3" }, juju.relation_ids("db"))
      rec:on("relation-ids", 0, "[]\n")
      assert.same({}, juju.relation_ids("db"))
    end)

    it("relation_list: units, or the app name with app=true", function()
      rec:on("relation-list", 0, '["mysql/0","mysql/1"]\n')
      assert.same({ "mysql/0", "mysql/1" }, juju.relation_list(3))
      rec:on("relation-list", 0, '"mysql"\n')
      assert.equal("mysql", juju.relation_list(3, { app = true }))
    end)

    it("relation_model_get: {uuid=}", function()
      rec:on("relation-model-get", 0, '{"uuid":"a1b2"}\n')
      assert.same({ uuid = "a1b2" }, juju.relation_model_get(3))
    end)

    it("resource_get: stdout stripped (Juju prints no newline; tolerate one)", function()
      rec:on("resource-get", 0, "/var/lib/juju/res/image/file")
      assert.equal("/var/lib/juju/res/image/file", juju.resource_get("image"))
      rec:on("resource-get", 0, "  /tmp/x y\n")
      assert.equal("/tmp/x y", juju.resource_get("image"))
    end)

    it("secret_add: the URI, stripped", function()
      rec:on("secret-add", 0, "secret://uuid/d0vh5m5hrdvs7oe4qrdg\n")
      assert.equal("secret://uuid/d0vh5m5hrdvs7oe4qrdg", juju.secret_add({ pass = "x" }))
    end)

    it("secret_get: table of strings", function()
      rec:on("secret-get", 0, '{"password":"s3cret","username":"admin"}\n')
      assert.same({ password = "s3cret", username = "admin" }, juju.secret_get({ id = "secret:x" }))
    end)

    it("secret_ids: list, and null -> {}", function()
      rec:on("secret-ids", 0, '["d0vh5m5hrdvs7oe4qrdg","d0vh5m5hrdvs7oe4qre0"]\n')
      assert.same({ "d0vh5m5hrdvs7oe4qrdg", "d0vh5m5hrdvs7oe4qre0" }, juju.secret_ids())
      rec:on("secret-ids", 0, "null\n")
      assert.same({}, juju.secret_ids())
    end)

    it("state_get(): all keys; null -> {}", function()
      rec:on("state-get", 0, '{"a":"1","b":"two"}\n')
      assert.same({ a = "1", b = "two" }, juju.state_get())
      rec:on("state-get", 0, "null\n")
      assert.same({}, juju.state_get())
      rec:on("state-get", 0, "{}\n")
      assert.same({}, juju.state_get())
    end)

    it("state_get(key): the string; a missing key is nil", function()
      rec:on("state-get", 0, '"1"\n')
      assert.equal("1", juju.state_get("a"))
      rec:on("state-get", 0, "null\n")
      assert.is_nil(juju.state_get("missing"))
    end)

    it("storage_get: {kind=, location=}", function()
      rec:on("storage-get", 0, canned.storage)
      assert.same({ kind = "filesystem", location = "/srv/data" }, juju.storage_get("data/0"))
    end)

    it("storage_list: list of name/N", function()
      rec:on("storage-list", 0, '["data/0","logs/1"]\n')
      assert.same({ "data/0", "logs/1" }, juju.storage_list())
    end)
  end)

  describe("status_get", function()
    it("unit status with status_data", function()
      rec:on("status-get", 0, canned.status_unit)
      assert.same({ status = "active", message = "ready", status_data = {} }, juju.status_get())
    end)

    it("status_data keys kept verbatim, values typed", function()
      rec:on("status-get", 0, '{"message":"m","status":"blocked","status-data":{"foo-bar":1,"n":{"x":"y"}}}\n')
      local st = juju.status_get()
      assert.same({ status = "blocked", message = "m", status_data = { ["foo-bar"] = 1, n = { x = "y" } } }, st)
      assert.equal("integer", math.type(st.status_data["foo-bar"]))
    end)

    it("app status with no units anywhere: units = {}", function()
      rec:on("status-get", 0, '{"application-status":{"message":"","status":"active","status-data":{}}}\n')
      assert.same({ status = "active", message = "", status_data = {}, units = {} }, juju.status_get({ app = true }))
    end)

    it("app status: units at the top level (ops's own test shape) are read too", function()
      rec:on("status-get", 0, canned.status_app_top_level_units)
      assert.same({
        status = "blocked", message = "m", status_data = {},
        units = { ["app/1"] = { status = "waiting", message = "", status_data = { k = 1 } } },
      }, juju.status_get({ app = true }))
    end)
  end)

  describe("opened_ports", function()
    it("parses Juju's plain list (ops upstream cases)", function()
      rec:on("opened-ports", 0, '["8080/tcp","icmp","8081-8090/udp","80"]\n')
      local ports = juju.opened_ports()
      assert.same({
        { protocol = "tcp", port = 8080 },
        { protocol = "icmp" },
        { protocol = "udp", port = 8081, to_port = 8090 },
        { protocol = "tcp", port = 80 },
      }, ports)
      assert.equal("integer", math.type(ports[1].port))
      assert.equal("integer", math.type(ports[3].to_port))
      for _, p in ipairs(ports) do assert.is_nil(p.endpoints) end
    end)

    it("parses the real Juju sample", function()
      rec:on("opened-ports", 0, canned.opened_ports)
      assert.same({
        { protocol = "tcp", port = 80 },
        { protocol = "udp", port = 8000, to_port = 8080 },
        { protocol = "icmp" },
      }, juju.opened_ports())
    end)

    it("an empty list", function()
      rec:on("opened-ports", 0, "[]\n")
      assert.same({}, juju.opened_ports())
    end)

    it("endpoints without a space: (ep1,ep2) (ops upstream case)", function()
      rec:on("opened-ports", 0, '["8080/tcp (ep1,ep2)"]\n')
      assert.same({ { protocol = "tcp", port = 8080, endpoints = { "ep1", "ep2" } } },
        juju.opened_ports({ endpoints = true }))
    end)

    it("all endpoints: (*)", function()
      rec:on("opened-ports", 0, '["icmp (*)","8000-8080/udp (web)"]\n')
      assert.same({
        { protocol = "icmp", endpoints = { "*" } },
        { protocol = "udp", port = 8000, to_port = 8080, endpoints = { "web" } },
      }, juju.opened_ports({ endpoints = true }))
    end)
  end)

  describe("goal_state", function()
    it("units and relations with since as epoch seconds ('since' has a space)", function()
      rec:on("goal-state", 0, canned.goal_state)
      local gs = juju.goal_state()
      assert.same({
        units = { ["app/0"] = { status = "active", since = SINCE_1 } },
        relations = {
          db = {
            mysql = { status = "joined", since = SINCE_1 },
            ["mysql/0"] = { status = "joined", since = SINCE_2 },
          },
        },
      }, gs)
      assert.equal("integer", math.type(gs.units["app/0"].since))
    end)

    it("a fractional since is a float", function()
      rec:on("goal-state", 0, '{"units":{"a/0":{"status":"active","since":"2024-05-01 10:20:30.25Z"}}}\n')
      local since = juju.goal_state().units["a/0"].since
      assert.equal("float", math.type(since))
      assert.equal(SINCE_1 + 0.25, since)
    end)

    it("missing units/relations are {} and a missing since is nil (omitempty)", function()
      rec:on("goal-state", 0, '{"units":{"a/0":{"status":"allocating"}}}\n')
      assert.same({ units = { ["a/0"] = { status = "allocating" } }, relations = {} }, juju.goal_state())
      rec:on("goal-state", 0, "{}\n")
      assert.same({ units = {}, relations = {} }, juju.goal_state())
    end)
  end)

  describe("network_get", function()
    it("maps Juju's keys to ops's snake_case fields", function()
      rec:on("network-get", 0, canned.network)
      assert.same({
        bind_addresses = { {
          mac_address = "00:16:3e:aa:bb:cc",
          interface_name = "eth0",
          addresses = { { hostname = "", value = "10.0.0.5", cidr = "10.0.0.0/24" } },
        } },
        egress_subnets = { "10.0.0.5/32" },
        ingress_addresses = { "10.0.0.5" },
      }, juju.network_get("db"))
    end)

    it("defaults: '' for missing strings, {} for missing lists, address fallback for value", function()
      rec:on("network-get", 0, '{"bind-addresses":[{"addresses":[{"address":"10.1.1.1"}]},{"addresses":null}]}\n')
      assert.same({
        bind_addresses = {
          { mac_address = "", interface_name = "", addresses = { { hostname = "", value = "10.1.1.1", cidr = "" } } },
          { mac_address = "", interface_name = "", addresses = {} },
        },
        egress_subnets = {},
        ingress_addresses = {},
      }, juju.network_get("db"))
    end)

    it("value wins over the legacy address key", function()
      rec:on("network-get", 0, '{"bind-addresses":[{"addresses":[{"value":"10.0.0.1","address":"10.9.9.9"}]}]}\n')
      assert.equal("10.0.0.1", juju.network_get("db").bind_addresses[1].addresses[1].value)
    end)

    it("an empty object", function()
      rec:on("network-get", 0, "{}\n")
      assert.same({ bind_addresses = {}, egress_subnets = {}, ingress_addresses = {} }, juju.network_get("db"))
    end)
  end)

  describe("credential_get", function()
    it("maps every CloudSpec field; attribute keys stay verbatim", function()
      rec:on("credential-get", 0, canned.credential)
      assert.same({
        type = "ec2",
        name = "aws",
        region = "us-east-1",
        endpoint = "https://ec2.us-east-1.amazonaws.com",
        identity_endpoint = "https://iam.amazonaws.com",
        storage_endpoint = "https://s3.amazonaws.com",
        credential = {
          auth_type = "access-key",
          attributes = { ["access-key"] = "AKIA", ["secret-key"] = "s3cr3t" },
          redacted = { "secret-key" },
        },
        ca_certificates = { "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" },
        skip_tls_verify = true,
        is_controller_cloud = true,
      }, juju.credential_get())
    end)

    it("defaults for a minimal spec (omitempty fields absent)", function()
      rec:on("credential-get", 0, canned.credential_minimal)
      local spec = juju.credential_get()
      assert.equal("kubernetes", spec.type)
      assert.equal("microk8s", spec.name)
      assert.is_nil(spec.region)
      assert.is_nil(spec.endpoint)
      assert.is_nil(spec.credential)
      assert.same({}, spec.ca_certificates)
      assert.is_false(spec.skip_tls_verify)
      assert.is_false(spec.is_controller_cloud)
    end)

    it("credential defaults: attrs null -> {}, redacted missing -> {}", function()
      rec:on("credential-get", 0, '{"type":"t","name":"n","credential":{"auth-type":"userpass","attrs":null}}\n')
      assert.same({ auth_type = "userpass", attributes = {}, redacted = {} }, juju.credential_get().credential)
    end)

    it("empty region and endpoint are nil (ops: falsy gives None)", function()
      rec:on("credential-get", 0, '{"type":"t","name":"n","region":"","endpoint":""}\n')
      local spec = juju.credential_get()
      assert.is_nil(spec.region)
      assert.is_nil(spec.endpoint)
    end)
  end)

  describe("secret_info_get", function()
    it("builds SecretInfo from the entry keyed by id, timestamps as epoch seconds", function()
      rec:on("secret-info-get", 0, canned.secret_info)
      local info = juju.secret_info_get({ id = "d0vh5m5hrdvs7oe4qrdg" })
      assert.same({
        id = "d0vh5m5hrdvs7oe4qrdg",
        label = "db-pass",
        description = "database password",
        rotation = "daily",
        expiry = 1735711566,
        rotates = 1767225599,
        revision = 2,
      }, info)
      assert.equal("integer", math.type(info.revision))
      assert.equal("integer", math.type(info.expiry))
    end)

    it("missing expiry/rotates/rotation are nil; Juju's owner and access are not fields", function()
      rec:on("secret-info-get", 0, '{"cabc":{"revision":1,"label":"l","owner":"unit",'
        .. '"access":[{"target":"app","scope":"relation-1","role":"view"}]}}\n')
      local info = juju.secret_info_get({ label = "l" })
      assert.equal("cabc", info.id)
      assert.equal(1, info.revision)
      assert.equal("l", info.label)
      assert.is_nil(info.expiry)
      assert.is_nil(info.rotates)
      assert.is_nil(info.rotation)
      assert.is_nil(info.owner)
      assert.is_nil(info.access)
    end)

    it("a fractional expiry is a float", function()
      rec:on("secret-info-get", 0, '{"cabc":{"revision":1,"expiry":"2025-01-01T06:06:06.5Z"}}\n')
      local info = juju.secret_info_get({ id = "cabc" })
      assert.equal("float", math.type(info.expiry))
      assert.equal(1735711566.5, info.expiry)
    end)
  end)

  describe("where ops is wrong and Juju wins", function()
    it("opened_ports{endpoints=true} parses Juju's ', ' separated endpoints", function()
      rec:on("opened-ports", 0, canned.opened_ports_endpoints)
      local ports = juju.opened_ports({ endpoints = true })
      assert.same({
        { protocol = "tcp", port = 80, endpoints = { "*" } },
        { protocol = "tcp", port = 443, endpoints = { "public", "website" } },
      }, ports)
      assert.equal("integer", math.type(ports[2].port))
    end)

    it("opened_ports: '8080/tcp (ep1, ep2)' -> tcp 8080 with two endpoints", function()
      rec:on("opened-ports", 0, '["8080/tcp (ep1, ep2)","8081-8090/udp (a, b, c)"]\n')
      assert.same({
        { protocol = "tcp", port = 8080, endpoints = { "ep1", "ep2" } },
        { protocol = "udp", port = 8081, to_port = 8090, endpoints = { "a", "b", "c" } },
      }, juju.opened_ports({ endpoints = true }))
    end)

    it("status_get{app=true} reads units nested in application-status", function()
      rec:on("status-get", 0, canned.status_app)
      assert.same({
        status = "active",
        message = "",
        status_data = {},
        units = { ["app/0"] = { status = "active", message = "ready", status_data = {} } },
      }, juju.status_get({ app = true }))
    end)
  end)
end)
