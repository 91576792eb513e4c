-- Every hook command function, once, through the real transport (a process
-- or the agent socket) against the recording fake commands: the argv Juju
-- receives (exactly ops's) and the typed result of realistic Juju output.

local hookenv = require "helpers.hookenv"

local juju = hookenv.juju()

-- Seconds since the epoch of the timestamps used below (date -u -d ... +%s).
local T_2024_05_01_10_20_30 = 1714558830
local T_2024_05_01_10_21_00 = 1714558860
local T_2025_12_31_23_59_59 = 1767225599
local T_2025_01_01_06_06_06 = 1735711566
local T_2025_01_02_06_06_06 = 1735797966

--- Call f and return its results packed, with n.
local function pack(f)
  return table.pack(f())
end

--- One case: cmd (the hook command), stdout (Juju's output), call (the
-- juju call), argv (what must be recorded), result (what it returns;
-- nil means "returns nothing"), stdin (the expected fed stdin or nil).
local CASES = {
  {
    name = "action_fail", cmd = "action-fail",
    call = function() return juju.action_fail("backup failed: disk full") end,
    argv = { "action-fail", "--", "backup failed: disk full" },
  },
  {
    name = "action_get (all params)", cmd = "action-get",
    stdout = '{"db":{"host":"10.0.0.1","port":5432},"force":true,"ratio":0.5}\n',
    call = function() return juju.action_get() end,
    argv = { "action-get", "--format=json" },
    result = { db = { host = "10.0.0.1", port = 5432 }, force = true, ratio = 0.5 },
    check = function(r) assert.equal("integer", math.type(r.db.port)) end,
  },
  {
    name = "action_get (dotted key)", cmd = "action-get",
    stdout = '"10.0.0.1"\n',
    call = function() return juju.action_get("db.host") end,
    argv = { "action-get", "--format=json", "db.host" },
    result = "10.0.0.1",
  },
  {
    name = "action_log", cmd = "action-log",
    call = function() return juju.action_log("50% done") end,
    argv = { "action-log", "--", "50% done" },
  },
  {
    name = "action_set", cmd = "action-set",
    call = function()
      return juju.action_set({ result = "ok", size = 42, flag = true,
                               nested = { a = "x", b = { c = 1.5 } } })
    end,
    argv = { "action-set", "flag=true", "nested.a=x", "nested.b.c=1.5",
             "result=ok", "size=42" },
  },
  {
    name = "app_version_set", cmd = "application-version-set",
    call = function() return juju.app_version_set("8.0.36-0ubuntu0.22.04.1") end,
    argv = { "application-version-set", "--", "8.0.36-0ubuntu0.22.04.1" },
  },
  {
    name = "close_port", cmd = "close-port",
    call = function()
      return juju.close_port("tcp", 8080, { to_port = 8090, endpoints = { "web", "admin" } })
    end,
    argv = { "close-port", "--endpoints", "web,admin", "8080-8090/tcp" },
  },
  {
    name = "open_port", cmd = "open-port",
    call = function() return juju.open_port("udp", 53) end,
    argv = { "open-port", "53/udp" },
  },
  {
    name = "open_port (icmp, endpoints string)", cmd = "open-port",
    call = function() return juju.open_port("icmp", nil, { endpoints = "public" }) end,
    argv = { "open-port", "--endpoints", "public", "icmp" },
  },
  {
    name = "opened_ports", cmd = "opened-ports",
    stdout = '["80/tcp","8000-8080/udp","icmp","443"]\n',
    call = function() return juju.opened_ports() end,
    argv = { "opened-ports", "--format=json" },
    result = {
      { protocol = "tcp", port = 80 },
      { protocol = "udp", port = 8000, to_port = 8080 },
      { protocol = "icmp" },
      { protocol = "tcp", port = 443 },
    },
    check = function(r)
      assert.equal("integer", math.type(r[1].port))
      assert.equal("integer", math.type(r[2].to_port))
    end,
  },
  {
    name = "config_get (all)", cmd = "config-get",
    stdout = '{"debug":false,"name":"x","port":8080,"ratio":1.5}\n',
    call = function() return juju.config_get() end,
    argv = { "config-get", "--format=json" },
    result = { debug = false, name = "x", port = 8080, ratio = 1.5 },
    check = function(r)
      assert.equal("integer", math.type(r.port))
      assert.equal("float", math.type(r.ratio))
    end,
  },
  {
    name = "config_get (missing key -> nil)", cmd = "config-get",
    stdout = "null\n",
    call = function() return juju.config_get("nope") end,
    argv = { "config-get", "--format=json", "nope" },
    result = nil, returns = "nil or nothing",
  },
  {
    name = "credential_get", cmd = "credential-get",
    stdout = '{"type":"ec2","name":"aws","region":"us-east-1",'
      .. '"endpoint":"https://ec2.us-east-1.amazonaws.com",'
      .. '"identity-endpoint":"https://iam.amazonaws.com",'
      .. '"storage-endpoint":"https://s3.amazonaws.com",'
      .. '"credential":{"auth-type":"access-key","attrs":{"access-key":"AKIA","secret-key":"sk"},'
      .. '"redacted":["secret-key"]},"cacertificates":["-----BEGIN CERTIFICATE-----"],'
      .. '"skip-tls-verify":true,"is-controller-cloud":true}\n',
    call = function() return juju.credential_get() end,
    argv = { "credential-get", "--format=json" },
    result = {
      type = "ec2", name = "aws", region = "us-east-1",
      endpoint = "https://ec2.us-east-1.amazonaws.com",
      identity_endpoint = "https://iam.amazonaws.com",
      storage_endpoint = "https://s3.amazonaws.com",
      credential = {
        auth_type = "access-key",
        attributes = { ["access-key"] = "AKIA", ["secret-key"] = "sk" },
        redacted = { "secret-key" },
      },
      ca_certificates = { "-----BEGIN CERTIFICATE-----" },
      skip_tls_verify = true, is_controller_cloud = true,
    },
  },
  {
    name = "goal_state", cmd = "goal-state",
    stdout = '{"units":{"app/0":{"status":"active","since":"2024-05-01 10:20:30Z"}},'
      .. '"relations":{"db":{"mysql":{"status":"joined","since":"2024-05-01 10:21:00Z"},'
      .. '"mysql/0":{"status":"joined","since":"2024-05-01 10:21:00.5Z"}}}}\n',
    call = function() return juju.goal_state() end,
    argv = { "goal-state", "--format=json" },
    result = {
      units = { ["app/0"] = { status = "active", since = T_2024_05_01_10_20_30 } },
      relations = { db = {
        mysql = { status = "joined", since = T_2024_05_01_10_21_00 },
        ["mysql/0"] = { status = "joined", since = T_2024_05_01_10_21_00 + 0.5 },
      } },
    },
    check = function(r)
      assert.equal("integer", math.type(r.units["app/0"].since))
      assert.equal("float", math.type(r.relations.db["mysql/0"].since))
    end,
  },
  {
    name = "is_leader", cmd = "is-leader",
    stdout = "true\n",
    call = function() return juju.is_leader() end,
    argv = { "is-leader", "--format=json" },
    result = true,
  },
  {
    name = "is_leader (false)", cmd = "is-leader",
    stdout = "false\n",
    call = function() return juju.is_leader() end,
    argv = { "is-leader", "--format=json" },
    result = false,
  },
  {
    name = "juju_log", cmd = "juju-log",
    call = function() return juju.juju_log("disk almost full", { level = "WARNING" }) end,
    argv = { "juju-log", "--log-level", "WARNING", "--", "disk almost full" },
  },
  {
    name = "juju_log (default level)", cmd = "juju-log",
    call = function() return juju.juju_log("hello") end,
    argv = { "juju-log", "--log-level", "INFO", "--", "hello" },
  },
  {
    name = "juju_reboot", cmd = "juju-reboot",
    call = function() return juju.juju_reboot({ now = true }) end,
    argv = { "juju-reboot", "--now" },
  },
  {
    name = "network_get", cmd = "network-get",
    stdout = '{"bind-addresses":[{"mac-address":"00:16:3e:aa:bb:cc","interface-name":"eth0",'
      .. '"addresses":[{"hostname":"","value":"10.0.0.5","cidr":"10.0.0.0/24"}]}],'
      .. '"egress-subnets":["10.0.0.5/32"],"ingress-addresses":["10.0.0.5"]}\n',
    call = function() return juju.network_get("db", { relation_id = 3 }) end,
    argv = { "network-get", "--format=json", "-r", "3", "db" },
    result = {
      bind_addresses = { {
        mac_address = "00:16:3e:aa:bb:cc", interface_name = "eth0",
        addresses = { { hostname = "", value = "10.0.0.5", cidr = "10.0.0.0/24" } },
      } },
      egress_subnets = { "10.0.0.5/32" },
      ingress_addresses = { "10.0.0.5" },
    },
  },
  {
    name = "relation_get (key and unit)", cmd = "relation-get",
    stdout = '"3306"\n',
    call = function() return juju.relation_get(3, { key = "port", unit = "mysql/0" }) end,
    argv = { "relation-get", "--format=json", "-r", "3", "port", "mysql/0" },
    result = "3306",
  },
  {
    name = "relation_get (app, endpoint ref, unit only)", cmd = "relation-get",
    stdout = '{"database":"app_db","egress-subnets":"10.0.0.7/32"}\n',
    call = function()
      return juju.relation_get(3, { endpoint = "db", unit = "mysql", app = true })
    end,
    argv = { "relation-get", "--format=json", "-r", "db:3", "--app", "-", "mysql" },
    result = { database = "app_db", ["egress-subnets"] = "10.0.0.7/32" },
  },
  {
    name = "relation_ids", cmd = "relation-ids",
    stdout = '["db:10","db:3"]\n',
    call = function() return juju.relation_ids("db") end,
    argv = { "relation-ids", "db", "--format=json" },
    result = { "db:10", "db:3" },
  },
  {
    name = "relation_list", cmd = "relation-list",
    stdout = '["mysql/0","mysql/1"]\n',
    call = function() return juju.relation_list(3) end,
    argv = { "relation-list", "--format=json", "-r", "3" },
    result = { "mysql/0", "mysql/1" },
  },
  {
    name = "relation_list (app)", cmd = "relation-list",
    stdout = '"mysql"\n',
    call = function() return juju.relation_list(7, { endpoint = "db", app = true }) end,
    argv = { "relation-list", "--format=json", "--app", "-r", "db:7" },
    result = "mysql",
  },
  {
    name = "relation_model_get", cmd = "relation-model-get",
    stdout = '{"uuid":"9f5e2b1c-4a8d-4c3e-8f7a-1b2c3d4e5f60"}\n',
    call = function() return juju.relation_model_get(3) end,
    argv = { "relation-model-get", "--format=json", "-r", "3" },
    result = { uuid = "9f5e2b1c-4a8d-4c3e-8f7a-1b2c3d4e5f60" },
  },
  {
    name = "relation_set", cmd = "relation-set",
    call = function()
      return juju.relation_set({ port = 3306, host = "10.0.0.1", gone = "" }, 3, { app = true })
    end,
    argv = { "relation-set", "-r", "3", "--app", "--file", "-" },
    stdin = '{"gone": "", "host": "10.0.0.1", "port": "3306"}',
  },
  {
    name = "relation_set (short form, endpoint ref)", cmd = "relation-set",
    call = function()
      return juju.relation_set({ ratio = 1.5 }, 4, { endpoint = "db" })
    end,
    argv = { "relation-set", "-r", "db:4", "--file", "-" },
    stdin = '{"ratio": "1.5"}',
  },
  {
    name = "resource_get", cmd = "resource-get",
    stdout = "/var/lib/juju/agents/unit-app-0/resources/software/sw.tar.gz",
    call = function() return juju.resource_get("software") end,
    argv = { "resource-get", "software" },
    result = "/var/lib/juju/agents/unit-app-0/resources/software/sw.tar.gz",
  },
  {
    name = "secret_get", cmd = "secret-get",
    stdout = '{"password":"s3cret","username":"admin"}\n',
    call = function() return juju.secret_get({ id = "secret:cjvq7ni5ib4s7cbhghgg", refresh = true }) end,
    argv = { "secret-get", "--format=json", "secret:cjvq7ni5ib4s7cbhghgg", "--refresh" },
    result = { password = "s3cret", username = "admin" },
  },
  {
    name = "secret_get (label, peek)", cmd = "secret-get",
    stdout = '{"token":"abc"}\n',
    call = function() return juju.secret_get({ label = "api", peek = true }) end,
    argv = { "secret-get", "--format=json", "--label", "api", "--peek" },
    result = { token = "abc" },
  },
  {
    name = "secret_grant", cmd = "secret-grant",
    call = function() return juju.secret_grant("secret:cjvq7ni5ib4s7cbhghgg", 3, { unit = "mysql/0" }) end,
    argv = { "secret-grant", "--relation", "3", "--unit", "mysql/0", "secret:cjvq7ni5ib4s7cbhghgg" },
  },
  {
    name = "secret_ids (null -> {})", cmd = "secret-ids",
    stdout = "null\n",
    call = function() return juju.secret_ids() end,
    argv = { "secret-ids", "--format=json" },
    result = {},
  },
  {
    name = "secret_ids", cmd = "secret-ids",
    stdout = '["cjvq7ni5ib4s7cbhghgg","d0a1b2c3d4e5f6g7h8i9"]\n',
    call = function() return juju.secret_ids() end,
    argv = { "secret-ids", "--format=json" },
    result = { "cjvq7ni5ib4s7cbhghgg", "d0a1b2c3d4e5f6g7h8i9" },
  },
  {
    name = "secret_info_get", cmd = "secret-info-get",
    stdout = '{"cjvq7ni5ib4s7cbhghgg":{"revision":2,"label":"db","owner":"application",'
      .. '"description":"creds","rotation":"daily","expiry":"2025-01-01T06:06:06Z",'
      .. '"rotates":"2025-01-02T06:06:06.25Z"}}\n',
    call = function() return juju.secret_info_get({ label = "db" }) end,
    argv = { "secret-info-get", "--format=json", "--label", "db" },
    result = {
      id = "cjvq7ni5ib4s7cbhghgg", label = "db", description = "creds",
      expiry = T_2025_01_01_06_06_06, rotation = "daily",
      rotates = T_2025_01_02_06_06_06 + 0.25, revision = 2,
    },
    check = function(r) assert.equal("integer", math.type(r.revision)) end,
  },
  {
    name = "secret_remove", cmd = "secret-remove",
    call = function() return juju.secret_remove("secret:cjvq7ni5ib4s7cbhghgg", { revision = 2 }) end,
    argv = { "secret-remove", "secret:cjvq7ni5ib4s7cbhghgg", "--revision", "2" },
  },
  {
    name = "secret_revoke", cmd = "secret-revoke",
    call = function()
      return juju.secret_revoke("secret:cjvq7ni5ib4s7cbhghgg", { relation_id = 3, unit = "mysql/0" })
    end,
    argv = { "secret-revoke", "--relation", "3", "--unit", "mysql/0", "secret:cjvq7ni5ib4s7cbhghgg" },
  },
  {
    name = "secret_revoke (app)", cmd = "secret-revoke",
    call = function() return juju.secret_revoke("secret:x", { app = "mysql" }) end,
    argv = { "secret-revoke", "--app", "mysql", "secret:x" },
  },
  {
    name = "state_delete", cmd = "state-delete",
    call = function() return juju.state_delete("counter") end,
    argv = { "state-delete", "counter" },
  },
  {
    name = "state_get (all)", cmd = "state-get",
    stdout = '{"a":"1","b":"two"}\n',
    call = function() return juju.state_get() end,
    argv = { "state-get", "--format=json" },
    result = { a = "1", b = "two" },
  },
  {
    name = "state_get (all, null -> {})", cmd = "state-get",
    stdout = "null\n",
    call = function() return juju.state_get() end,
    argv = { "state-get", "--format=json" },
    result = {},
  },
  {
    name = "state_get (key)", cmd = "state-get",
    stdout = '"1"\n',
    call = function() return juju.state_get("a") end,
    argv = { "state-get", "--format=json", "a" },
    result = "1",
  },
  {
    name = "state_set", cmd = "state-set",
    call = function() return juju.state_set({ b = 2, a = "1" }) end,
    argv = { "state-set", "--file", "-" },
    stdin = '{"a": "1", "b": "2"}',
  },
  {
    name = "status_get (unit)", cmd = "status-get",
    stdout = '{"message":"ready","status":"active","status-data":{}}\n',
    call = function() return juju.status_get() end,
    argv = { "status-get", "--include-data", "--format=json", "--application=false" },
    result = { status = "active", message = "ready", status_data = {} },
  },
  {
    name = "status_set", cmd = "status-set",
    call = function() return juju.status_set("active", "ready") end,
    argv = { "status-set", "--application=False", "active", "--", "ready" },
  },
  {
    name = "status_set (app, no message)", cmd = "status-set",
    call = function() return juju.status_set("blocked", nil, { app = true }) end,
    argv = { "status-set", "--application=True", "blocked" },
  },
  {
    name = "storage_add", cmd = "storage-add",
    call = function() return juju.storage_add({ logs = 1, data = 2 }) end,
    argv = { "storage-add", "data=2", "logs=1" },
  },
  {
    name = "storage_get", cmd = "storage-get",
    stdout = '{"kind":"filesystem","location":"/srv/data"}\n',
    call = function() return juju.storage_get("data/0") end,
    argv = { "storage-get", "--format=json", "-s", "data/0" },
    result = { kind = "filesystem", location = "/srv/data" },
  },
  {
    name = "storage_list", cmd = "storage-list",
    stdout = '["data/0","data/1"]\n',
    call = function() return juju.storage_list("data") end,
    argv = { "storage-list", "--format=json", "data" },
    result = { "data/0", "data/1" },
  },
}

describe("hook command functions over the real transport #integration", function()
  before_each(hookenv.reset)

  for _, case in ipairs(CASES) do
    it(case.name, function()
      if case.stdout then hookenv.respond(case.cmd, { stdout = case.stdout }) end
      local r = pack(case.call)
      assert.equal(1, hookenv.ncalls())
      local rec = hookenv.call(1)
      assert.same(case.argv, rec.argv)
      assert.equal(case.stdin, rec.stdin)
      if case.returns == "nil or nothing" then
        assert.is_nil(r[1])
      elseif case.result == nil then
        assert.equal(0, r.n, "returns nothing")
      else
        assert.equal(1, r.n)
        assert.same(case.result, r[1])
      end
      if case.check then case.check(r[1]) end
    end)
  end

  it("covers every one of the 37 functions", function()
    local names = {
      "action_fail", "action_get", "action_log", "action_set", "app_version_set",
      "close_port", "open_port", "opened_ports", "config_get", "credential_get",
      "goal_state", "is_leader", "juju_log", "juju_reboot", "network_get",
      "relation_get", "relation_ids", "relation_list", "relation_model_get",
      "relation_set", "resource_get", "secret_add", "secret_get", "secret_grant",
      "secret_ids", "secret_info_get", "secret_remove", "secret_revoke",
      "secret_set", "state_delete", "state_get", "state_set", "status_get",
      "status_set", "storage_add", "storage_get", "storage_list",
    }
    assert.equal(37, #names)
    local covered = {}
    for _, case in ipairs(CASES) do covered[case.name:match("^[%w_]+")] = true end
    -- secret_add and secret_set are covered with their files in secrets_spec.
    covered.secret_add, covered.secret_set = true, true
    for _, n in ipairs(names) do
      assert.is_function(juju[n], n)
      assert.is_true(covered[n] or false, n .. " has a case")
    end
  end)

  it("secret_add: argv, files and the URI", function()
    hookenv.respond("secret-add", { stdout = "secret://9f5e2b1c/cjvq7ni5ib4s7cbhghgg\n" })
    local r = pack(function()
      return juju.secret_add({ password = "s3cret" }, {
        label = "db", description = "creds", expire = T_2025_12_31_23_59_59, rotate = "daily",
      })
    end)
    assert.same({ n = 1, "secret://9f5e2b1c/cjvq7ni5ib4s7cbhghgg" }, r)
    local rec = hookenv.call(1)
    local path = rec.argv[#rec.argv]:match("^password#file=(.*)$")
    assert.truthy(path, rec.argv[#rec.argv])
    assert.same({ "secret-add", "--label", "db", "--description", "creds",
                  "--expire", "2025-12-31T23:59:59Z", "--rotate", "daily",
                  "--owner", "application", "password#file=" .. path }, rec.argv)
    assert.equal("s3cret", rec.secrets.password.content)
  end)

  it("secret_set: argv with the ID before the content", function()
    local r = pack(function()
      return juju.secret_set("secret:cjvq7ni5ib4s7cbhghgg", {
        content = { password = "new" }, label = "db2", expire = "72h", owner = "unit",
      })
    end)
    assert.equal(0, r.n)
    local rec = hookenv.call(1)
    local path = rec.argv[#rec.argv]:match("^password#file=(.*)$")
    assert.truthy(path, rec.argv[#rec.argv])
    assert.same({ "secret-set", "--label", "db2", "--expire", "72h", "--owner", "unit",
                  "secret:cjvq7ni5ib4s7cbhghgg", "password#file=" .. path }, rec.argv)
    assert.equal("new", rec.secrets.password.content)
  end)

  it("secret_set: metadata only, no content arguments", function()
    juju.secret_set("secret:x", { description = "d" })
    assert.same({ "secret-set", "--description", "d", "--owner", "application", "secret:x" },
                hookenv.call(1).argv)
  end)
end)

describe("where ops is wrong about Juju, with Juju's real output #integration", function()
  before_each(hookenv.reset)

  it("opened_ports{endpoints=true} parses '8080/tcp (ep1, ep2)' and '(ep1,ep2)'", function()
    hookenv.respond("opened-ports", {
      stdout = '["80/tcp (*)","443/tcp (public, website)","8000-8080/udp (ep1,ep2)","icmp (admin)"]\n',
    })
    local ports = juju.opened_ports({ endpoints = true })
    assert.same({ "opened-ports", "--endpoints", "--format=json" }, hookenv.call(1).argv)
    assert.same({
      { protocol = "tcp", port = 80, endpoints = { "*" } },
      { protocol = "tcp", port = 443, endpoints = { "public", "website" } },
      { protocol = "udp", port = 8000, to_port = 8080, endpoints = { "ep1", "ep2" } },
      { protocol = "icmp", endpoints = { "admin" } },
    }, ports)
  end)

  it("status_get{app=true} reads units nested in application-status", function()
    hookenv.respond("status-get", {
      stdout = '{"application-status":{"message":"","status":"active","status-data":{},'
        .. '"units":{"app/0":{"message":"ready","status":"active","status-data":{}},'
        .. '"app/1":{"message":"installing","status":"maintenance","status-data":{"step":"3"}}}}}\n',
    })
    local st = juju.status_get({ app = true })
    assert.same({ "status-get", "--include-data", "--format=json", "--application=true" },
                hookenv.call(1).argv)
    assert.same({
      status = "active", message = "", status_data = {},
      units = {
        ["app/0"] = { status = "active", message = "ready", status_data = {} },
        ["app/1"] = { status = "maintenance", message = "installing", status_data = { step = "3" } },
      },
    }, st)
  end)
end)
