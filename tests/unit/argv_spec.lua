-- The exact argv (and stdin) each juju function sends, checked against
-- ops.hookcmds (reference/ops-hookcmds.md 1.2 and 1.4) through the
-- juju.set_runner seam.

local juju = require "juju"
local recorder = require "helpers.recorder"

--- Each case: a label, a function making one call, the argv expected and
-- (optionally) the stdin expected. `stdin = false` means "no stdin" (nil).
local cases = {
  -- actions
  { "action_fail()", function() juju.action_fail() end, { "action-fail" } },
  { "action_fail(msg)", function() juju.action_fail("bad input") end, { "action-fail", "--", "bad input" } },
  { "action_fail('') still sends --", function() juju.action_fail("") end, { "action-fail", "--", "" } },
  { "action_fail(nil)", function() juju.action_fail(nil) end, { "action-fail" } },
  { "action_get()", function() juju.action_get() end, { "action-get", "--format=json" } },
  { "action_get(nil)", function() juju.action_get(nil) end, { "action-get", "--format=json" } },
  { "action_get(dotted key)", function() juju.action_get("a.b") end, { "action-get", "--format=json", "a.b" } },
  { "action_log(msg)", function() juju.action_log("working") end, { "action-log", "--", "working" } },
  { "action_log(msg starting with -)", function() juju.action_log("-v") end, { "action-log", "--", "-v" } },
  { "action_set(flat, sorted)", function() juju.action_set({ foo = "bar", baz = "qux" }) end,
    { "action-set", "baz=qux", "foo=bar" } },
  { "action_set(nested)", function() juju.action_set({ foo = "bar", baz = { baz2 = "qux" } }) end,
    { "action-set", "baz.baz2=qux", "foo=bar" } },
  { "action_set(deep nested)", function() juju.action_set({ a = { b = { c = "d" } } }) end,
    { "action-set", "a.b.c=d" } },
  { "action_set(mixed dotted and nested)", function() juju.action_set({ ["a.b"] = 1, a = { c = 2 }, d = 3 }) end,
    { "action-set", "a.b=1", "a.c=2", "d=3" } },
  { "action_set(numbers and booleans)", function()
      juju.action_set({ i = 42, f = 1.5, t = true, n = false })
    end, { "action-set", "f=1.5", "i=42", "n=false", "t=true" } },
  { "action_set(value with = and spaces kept verbatim)", function() juju.action_set({ k = "a=b c " }) end,
    { "action-set", "k=a=b c " } },
  { "action_set({})", function() juju.action_set({}) end, { "action-set" } },
  { "app_version_set", function() juju.app_version_set("1.2.3") end, { "application-version-set", "--", "1.2.3" } },
  { "app_version_set(-dash)", function() juju.app_version_set("-rc1") end,
    { "application-version-set", "--", "-rc1" } },

  -- ports
  { "open_port(tcp, 8080)", function() juju.open_port("tcp", 8080) end, { "open-port", "8080/tcp" } },
  { "open_port(udp, 53)", function() juju.open_port("udp", 53) end, { "open-port", "53/udp" } },
  { "open_port(icmp)", function() juju.open_port("icmp") end, { "open-port", "icmp" } },
  { "open_port(nil, 80) bare port", function() juju.open_port(nil, 80) end, { "open-port", "80" } },
  { "open_port range", function() juju.open_port("tcp", 8000, { to_port = 8090 }) end,
    { "open-port", "8000-8090/tcp" } },
  { "open_port(nil, port, to_port)", function() juju.open_port(nil, 8000, { to_port = 8090 }) end,
    { "open-port", "8000-8090" } },
  { "open_port endpoints string", function() juju.open_port("tcp", 443, { endpoints = "website" }) end,
    { "open-port", "--endpoints", "website", "443/tcp" } },
  { "open_port endpoints list", function() juju.open_port("tcp", 443, { endpoints = { "public", "website" } }) end,
    { "open-port", "--endpoints", "public,website", "443/tcp" } },
  { "open_port short form (icmp, opts)", function() juju.open_port("icmp", { endpoints = { "a" } }) end,
    { "open-port", "--endpoints", "a", "icmp" } },
  { "open_port range + endpoints", function()
      juju.open_port("udp", 1000, { to_port = 2000, endpoints = { "x", "y" } })
    end, { "open-port", "--endpoints", "x,y", "1000-2000/udp" } },
  { "close_port(tcp, 8080)", function() juju.close_port("tcp", 8080) end, { "close-port", "8080/tcp" } },
  { "close_port(icmp)", function() juju.close_port("icmp") end, { "close-port", "icmp" } },
  { "close_port(nil, 80)", function() juju.close_port(nil, 80) end, { "close-port", "80" } },
  { "close_port range + endpoints", function()
      juju.close_port("tcp", 8000, { to_port = 8001, endpoints = "web" })
    end, { "close-port", "--endpoints", "web", "8000-8001/tcp" } },
  { "close_port endpoints list", function() juju.close_port("tcp", 1, { endpoints = { "a", "b", "c" } }) end,
    { "close-port", "--endpoints", "a,b,c", "1/tcp" } },
  { "opened_ports()", function() juju.opened_ports() end, { "opened-ports", "--format=json" } },
  { "opened_ports{endpoints=false}", function() juju.opened_ports({ endpoints = false }) end,
    { "opened-ports", "--format=json" } },
  { "opened_ports{endpoints=true}: --format after --endpoints", function()
      juju.opened_ports({ endpoints = true })
    end, { "opened-ports", "--endpoints", "--format=json" } },

  -- config, leadership, misc
  { "config_get()", function() juju.config_get() end, { "config-get", "--format=json" } },
  { "config_get('') means all", function() juju.config_get("") end, { "config-get", "--format=json" } },
  { "config_get(key)", function() juju.config_get("port") end, { "config-get", "--format=json", "port" } },
  { "credential_get", function() juju.credential_get() end, { "credential-get", "--format=json" } },
  { "goal_state", function() juju.goal_state() end, { "goal-state", "--format=json" } },
  { "is_leader", function() juju.is_leader() end, { "is-leader", "--format=json" } },
  { "juju_log default level", function() juju.juju_log("hello") end,
    { "juju-log", "--log-level", "INFO", "--", "hello" } },
  { "juju_log level", function() juju.juju_log("dbg", { level = "DEBUG" }) end,
    { "juju-log", "--log-level", "DEBUG", "--", "dbg" } },
  { "juju_log message starting with -", function() juju.juju_log("--x") end,
    { "juju-log", "--log-level", "INFO", "--", "--x" } },
  { "juju_reboot()", function() juju.juju_reboot() end, { "juju-reboot" } },
  { "juju_reboot{now=false}", function() juju.juju_reboot({ now = false }) end, { "juju-reboot" } },
  { "juju_reboot{now=true}", function() juju.juju_reboot({ now = true }) end, { "juju-reboot", "--now" } },
  { "network_get(binding)", function() juju.network_get("db") end, { "network-get", "--format=json", "db" } },
  { "network_get(binding, relation_id)", function() juju.network_get("db", { relation_id = 7 }) end,
    { "network-get", "--format=json", "-r", "7", "db" } },
  { "resource_get: no --format", function() juju.resource_get("image") end, { "resource-get", "image" } },

  -- relations
  { "relation_get()", function() juju.relation_get() end, { "relation-get", "--format=json" } },
  { "relation_get(id)", function() juju.relation_get(3) end, { "relation-get", "--format=json", "-r", "3" } },
  { "relation_get(id, endpoint)", function() juju.relation_get(3, { endpoint = "db" }) end,
    { "relation-get", "--format=json", "-r", "db:3" } },
  { "relation_get key only", function() juju.relation_get(3, { key = "k" }) end,
    { "relation-get", "--format=json", "-r", "3", "k" } },
  { "relation_get unit only uses -", function() juju.relation_get(3, { unit = "db/0" }) end,
    { "relation-get", "--format=json", "-r", "3", "-", "db/0" } },
  { "relation_get key and unit", function() juju.relation_get(3, { key = "k", unit = "db/0" }) end,
    { "relation-get", "--format=json", "-r", "3", "k", "db/0" } },
  { "relation_get app: -r before --app before tail", function()
      juju.relation_get(3, { app = true, key = "k", unit = "mysql" })
    end, { "relation-get", "--format=json", "-r", "3", "--app", "k", "mysql" } },
  { "relation_get app=false", function() juju.relation_get(3, { app = false }) end,
    { "relation-get", "--format=json", "-r", "3" } },
  { "relation_get all options", function()
      juju.relation_get(5, { endpoint = "peers", key = "k", unit = "me/1", app = true })
    end, { "relation-get", "--format=json", "-r", "peers:5", "--app", "k", "me/1" } },
  { "relation_get short form", function() juju.relation_get({ key = "k" }) end,
    { "relation-get", "--format=json", "k" } },
  { "relation_get short form unit", function() juju.relation_get({ unit = "db/1", app = true }) end,
    { "relation-get", "--format=json", "--app", "-", "db/1" } },
  { "relation_get(nil, opts)", function() juju.relation_get(nil, { key = "k" }) end,
    { "relation-get", "--format=json", "k" } },
  { "relation_ids: NAME before --format", function() juju.relation_ids("db") end,
    { "relation-ids", "db", "--format=json" } },
  { "relation_list()", function() juju.relation_list() end, { "relation-list", "--format=json" } },
  { "relation_list(id)", function() juju.relation_list(3) end, { "relation-list", "--format=json", "-r", "3" } },
  { "relation_list app: --app before -r", function() juju.relation_list(3, { app = true }) end,
    { "relation-list", "--format=json", "--app", "-r", "3" } },
  { "relation_list endpoint", function() juju.relation_list(3, { endpoint = "db", app = true }) end,
    { "relation-list", "--format=json", "--app", "-r", "db:3" } },
  { "relation_list short form", function() juju.relation_list({ app = true }) end,
    { "relation-list", "--format=json", "--app" } },
  { "relation_list(nil, opts)", function() juju.relation_list(nil, { app = true }) end,
    { "relation-list", "--format=json", "--app" } },
  { "relation_model_get()", function() juju.relation_model_get() end, { "relation-model-get", "--format=json" } },
  { "relation_model_get(id)", function() juju.relation_model_get(4) end,
    { "relation-model-get", "--format=json", "-r", "4" } },
  { "relation_model_get(id, endpoint)", function() juju.relation_model_get(4, { endpoint = "remote-db" }) end,
    { "relation-model-get", "--format=json", "-r", "remote-db:4" } },
  { "relation_set(data)", function() juju.relation_set({ a = "1" }) end,
    { "relation-set", "--file", "-" }, '{"a": "1"}' },
  { "relation_set(data, id)", function() juju.relation_set({ b = "x", a = "1" }, 3) end,
    { "relation-set", "-r", "3", "--file", "-" }, '{"a": "1", "b": "x"}' },
  { "relation_set app", function() juju.relation_set({ a = "b" }, 3, { app = true }) end,
    { "relation-set", "-r", "3", "--app", "--file", "-" }, '{"a": "b"}' },
  { "relation_set endpoint", function() juju.relation_set({ a = "b" }, 3, { endpoint = "db", app = true }) end,
    { "relation-set", "-r", "db:3", "--app", "--file", "-" }, '{"a": "b"}' },
  { "relation_set short form", function() juju.relation_set({ a = "b" }, { app = true }) end,
    { "relation-set", "--app", "--file", "-" }, '{"a": "b"}' },
  { "relation_set(data, nil, opts)", function() juju.relation_set({ a = "b" }, nil, { app = true }) end,
    { "relation-set", "--app", "--file", "-" }, '{"a": "b"}' },
  { "relation_set empty value deletes (sent as empty string)", function() juju.relation_set({ gone = "" }, 1) end,
    { "relation-set", "-r", "1", "--file", "-" }, '{"gone": ""}' },
  { "relation_set({})", function() juju.relation_set({}, 1) end,
    { "relation-set", "-r", "1", "--file", "-" }, "{}" },
  { "relation_set numbers are converted with tostring", function() juju.relation_set({ i = 42, f = 1.5 }, 1) end,
    { "relation-set", "-r", "1", "--file", "-" }, '{"f": "1.5", "i": "42"}' },

  -- secrets (content args are covered in secrets_spec.lua)
  { "secret_get{id}", function() juju.secret_get({ id = "secret:abc" }) end,
    { "secret-get", "--format=json", "secret:abc" } },
  { "secret_get{label}", function() juju.secret_get({ label = "db" }) end,
    { "secret-get", "--format=json", "--label", "db" } },
  { "secret_get all options", function()
      juju.secret_get({ id = "secret:abc", label = "db", refresh = true, peek = true })
    end, { "secret-get", "--format=json", "secret:abc", "--label", "db", "--refresh", "--peek" } },
  { "secret_get refresh", function() juju.secret_get({ id = "s", refresh = true }) end,
    { "secret-get", "--format=json", "s", "--refresh" } },
  { "secret_get peek=false refresh=false", function() juju.secret_get({ id = "s", peek = false, refresh = false }) end,
    { "secret-get", "--format=json", "s" } },
  { "secret_grant", function() juju.secret_grant("secret:abc", 3) end,
    { "secret-grant", "--relation", "3", "secret:abc" } },
  { "secret_grant unit", function() juju.secret_grant("secret:abc", 3, { unit = "db/0" }) end,
    { "secret-grant", "--relation", "3", "--unit", "db/0", "secret:abc" } },
  { "secret_ids", function() juju.secret_ids() end, { "secret-ids", "--format=json" } },
  { "secret_info_get{id}", function() juju.secret_info_get({ id = "secret:abc" }) end,
    { "secret-info-get", "--format=json", "secret:abc" } },
  { "secret_info_get{label}", function() juju.secret_info_get({ label = "db" }) end,
    { "secret-info-get", "--format=json", "--label", "db" } },
  { "secret_remove", function() juju.secret_remove("secret:abc") end, { "secret-remove", "secret:abc" } },
  { "secret_info_get{id, label}", function() juju.secret_info_get({ id = "secret:abc", label = "db" }) end,
    { "secret-info-get", "--format=json", "secret:abc", "--label", "db" } },
  { "secret_get{label, peek}", function() juju.secret_get({ label = "db", peek = true }) end,
    { "secret-get", "--format=json", "--label", "db", "--peek" } },
  { "status_get{app=false}", function() juju.status_get({ app = false }) end,
    { "status-get", "--include-data", "--format=json", "--application=false" } },
  { "status_set{app=false}", function() juju.status_set("maintenance", "m", { app = false }) end,
    { "status-set", "--application=False", "maintenance", "--", "m" } },
  { "juju_log level ERROR", function() juju.juju_log("bad", { level = "ERROR" }) end,
    { "juju-log", "--log-level", "ERROR", "--", "bad" } },
  { "secret_remove revision", function() juju.secret_remove("secret:abc", { revision = 2 }) end,
    { "secret-remove", "secret:abc", "--revision", "2" } },
  { "secret_revoke relation", function() juju.secret_revoke("secret:abc", { relation_id = 3 }) end,
    { "secret-revoke", "--relation", "3", "secret:abc" } },
  { "secret_revoke app", function() juju.secret_revoke("secret:abc", { app = "mysql" }) end,
    { "secret-revoke", "--app", "mysql", "secret:abc" } },
  { "secret_revoke unit", function() juju.secret_revoke("secret:abc", { unit = "mysql/0" }) end,
    { "secret-revoke", "--unit", "mysql/0", "secret:abc" } },
  { "secret_revoke all options in ops order", function()
      juju.secret_revoke("secret:abc", { unit = "u/0", app = "u", relation_id = 9 })
    end, { "secret-revoke", "--relation", "9", "--app", "u", "--unit", "u/0", "secret:abc" } },
  { "secret_set metadata only", function() juju.secret_set("secret:abc") end,
    { "secret-set", "--owner", "application", "secret:abc" } },
  { "secret_set options before --owner and ID", function()
      juju.secret_set("secret:abc",
        { label = "l", description = "d", expire = "72h", rotate = "daily", owner = "unit" })
    end, { "secret-set", "--label", "l", "--description", "d", "--expire", "72h", "--rotate", "daily",
           "--owner", "unit", "secret:abc" } },

  -- state
  { "state_delete", function() juju.state_delete("k") end, { "state-delete", "k" } },
  { "state_get()", function() juju.state_get() end, { "state-get", "--format=json" } },
  { "state_get(nil)", function() juju.state_get(nil) end, { "state-get", "--format=json" } },
  { "state_get(key)", function() juju.state_get("k") end, { "state-get", "--format=json", "k" } },
  { "state_set", function() juju.state_set({ k = "v", a = "b" }) end,
    { "state-set", "--file", "-" }, '{"a": "b", "k": "v"}' },
  { "state_set numbers", function() juju.state_set({ n = 7 }) end, { "state-set", "--file", "-" }, '{"n": "7"}' },

  -- status
  { "status_get(): lowercase false", function() juju.status_get() end,
    { "status-get", "--include-data", "--format=json", "--application=false" } },
  { "status_get{app=true}: lowercase true", function() juju.status_get({ app = true }) end,
    { "status-get", "--include-data", "--format=json", "--application=true" } },
  { "status_set(status): capitalised False", function() juju.status_set("active") end,
    { "status-set", "--application=False", "active" } },
  { "status_set(status, msg)", function() juju.status_set("blocked", "need db") end,
    { "status-set", "--application=False", "blocked", "--", "need db" } },
  { "status_set app", function() juju.status_set("active", "ready", { app = true }) end,
    { "status-set", "--application=True", "active", "--", "ready" } },
  { "status_set short form", function() juju.status_set("waiting", { app = true }) end,
    { "status-set", "--application=True", "waiting" } },
  { "status_set(status, nil, opts)", function() juju.status_set("waiting", nil, { app = true }) end,
    { "status-set", "--application=True", "waiting" } },
  { "status_set msg starting with -", function() juju.status_set("active", "-x") end,
    { "status-set", "--application=False", "active", "--", "-x" } },

  -- storage
  { "storage_add sorted by name", function() juju.storage_add({ logs = 1, data = 2 }) end,
    { "storage-add", "data=2", "logs=1" } },
  { "storage_get()", function() juju.storage_get() end, { "storage-get", "--format=json" } },
  { "storage_get(id)", function() juju.storage_get("data/0") end, { "storage-get", "--format=json", "-s", "data/0" } },
  { "storage_list()", function() juju.storage_list() end, { "storage-list", "--format=json" } },
  { "storage_list(name)", function() juju.storage_list("data") end, { "storage-list", "--format=json", "data" } },

  -- integral floats are integers on the command line; data values use tostring
  { "relation_get(3.0) sends 3", function() juju.relation_get(3.0) end,
    { "relation-get", "--format=json", "-r", "3" } },
  { "open_port(tcp, 8080.0)", function() juju.open_port("tcp", 8080.0, { to_port = 8081.0 }) end,
    { "open-port", "8080-8081/tcp" } },
  { "secret_remove revision 2.0", function() juju.secret_remove("s", { revision = 2.0 }) end,
    { "secret-remove", "s", "--revision", "2" } },
  { "secret_grant relation 5.0", function() juju.secret_grant("s", 5.0) end,
    { "secret-grant", "--relation", "5", "s" } },
  { "storage_add count 2.0", function() juju.storage_add({ data = 2.0 }) end, { "storage-add", "data=2" } },
  { "network_get relation_id 0", function() juju.network_get("b", { relation_id = 0 }) end,
    { "network-get", "--format=json", "-r", "0", "b" } },
  { "state_set float values with tostring", function() juju.state_set({ a = 2.0, b = -0.25 }) end,
    { "state-set", "--file", "-" }, '{"a": "2.0", "b": "-0.25"}' },
  { "action_set float 2.0 with tostring", function() juju.action_set({ x = 2.0 }) end, { "action-set", "x=2.0" } },
}

describe("juju argv and stdin #unit", function()
  local rec = recorder.setup(juju)

  for _, case in ipairs(cases) do
    local label, call, argv, stdin = case[1], case[2], case[3], case[4]
    it(label, function()
      call()
      assert.equal(1, rec:count())
      assert.same(argv, rec:last().argv)
      if stdin then
        assert.equal(stdin, rec:last().stdin)
      else
        assert.is_nil(rec:last().stdin)
      end
    end)
  end

  it("argv elements are all strings", function()
    juju.relation_get(3, { key = "k", unit = "db/0" })
    juju.open_port("tcp", 80, { to_port = 81 })
    juju.secret_remove("s", { revision = 3 })
    juju.storage_add({ data = 4 })
    for _, call in ipairs(rec.calls) do
      for i, a in ipairs(call.argv) do
        assert.equal("string", type(a), "argv[" .. i .. "] of " .. call.argv[1])
      end
    end
  end)

  it("one call per function call, none cached", function()
    juju.is_leader()
    juju.is_leader()
    juju.config_get()
    juju.config_get()
    assert.equal(4, rec:count())
  end)

  describe("action_set flattening", function()
    local function set_of(argv)
      local s = {}
      for i = 2, #argv do s[argv[i]] = true end
      return s
    end

    it("emits each flattened key exactly once", function()
      juju.action_set({ x = { y = { z = "1" }, w = "2" }, v = "3" })
      local argv = rec:last().argv
      assert.equal("action-set", argv[1])
      assert.equal(4, #argv)
      assert.same({ ["x.y.z=1"] = true, ["x.w=2"] = true, ["v=3"] = true }, set_of(argv))
    end)

    it("keeps key order sorted for equal input regardless of construction", function()
      local a, b = {}, {}
      for _, k in ipairs({ "m", "b", "z", "a" }) do a[k] = k end
      for _, k in ipairs({ "z", "a", "m", "b" }) do b[k] = k end
      juju.action_set(a)
      juju.action_set(b)
      assert.same({ "action-set", "a=a", "b=b", "m=m", "z=z" }, rec.calls[1].argv)
      assert.same(rec.calls[1].argv, rec.calls[2].argv)
    end)
  end)

  describe("relation and state stdin is json.dumps-style JSON", function()
    local function stdin_for(data)
      juju.state_set(data)
      return rec:last().stdin
    end

    it("escapes quotes, backslashes and control characters like Python", function()
      assert.equal('{"k": "a\\"b\\\\c\\nd\\te\\r\\u0001"}', stdin_for({ k = 'a"b\\c\nd\te\r\1' }))
    end)

    it("does not escape /", function()
      assert.equal('{"u": "http://x/y"}', stdin_for({ u = "http://x/y" }))
    end)

    -- Juju reads this stdin with yaml.v2, which refuses \uD800-\uDFFF escapes
    -- (so ops's ensure_ascii surrogate pairs break emoji) and refuses raw DEL,
    -- C1 controls and U+FFFE, and folds a raw NEL into a space. So printable
    -- non-ASCII goes raw and only those characters are escaped.
    it("sends printable non-ASCII as raw UTF-8", function()
      assert.equal('{"k": "caf\u{e9} \u{65e5}"}', stdin_for({ k = "caf\u{e9} \u{65e5}" }))
    end)

    it("never writes a surrogate escape, even outside the BMP", function()
      local s = stdin_for({ k = "\u{1F600}" })
      assert.equal('{"k": "\u{1F600}"}', s)
      assert.is_nil(s:find("\\u[dD][89abAB]"))
    end)

    it("escapes DEL, C1 controls, NEL, LS, PS, the BOM and U+FFFE/U+FFFF", function()
      assert.equal('{"k": "\\u007f\\u0080\\u0085\\u009f\\u2028\\u2029\\ufeff\\ufffe\\uffff"}',
        stdin_for({ k = "\127\u{80}\u{85}\u{9f}\u{2028}\u{2029}\u{feff}\u{fffe}\u{ffff}" }))
    end)

    it("escapes keys the same way and sorts them", function()
      assert.equal('{"a-b": "1", "a.b": "2", "\u{e9}\\u0085": "3"}',
        stdin_for({ ["\u{e9}\u{85}"] = "3", ["a.b"] = "2", ["a-b"] = "1" }))
    end)

    it("refuses data that is not valid UTF-8, naming the key, before running", function()
      local ok, err = pcall(juju.state_set, { k = "\255\254" })
      assert.is_false(ok)
      assert.matches("state_set", err)
      assert.matches("'k'", err)
      assert.equal(0, rec:count())
    end)

    it("relation_set stdin equals state_set stdin for the same data", function()
      local data = { x = "1", y = "two words", z = "" }
      juju.relation_set(data, 1)
      juju.state_set(data)
      assert.equal(rec.calls[1].stdin, rec.calls[2].stdin)
    end)
  end)
end)
