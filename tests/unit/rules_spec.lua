-- What Juju 3.6 refuses or silently mangles, refused here first as argument
-- errors (before anything runs), and the relation id forms Juju reads.

local juju = require "juju"
local recorder = require "helpers.recorder"

describe("Juju's rules, checked before anything runs #unit", function()
  local rec = recorder.setup(juju)

  --- Require f to raise a plain argument error containing each fragment,
  -- with nothing sent to Juju.
  local function refused(f, ...)
    local ok, err = pcall(f)
    assert.is_false(ok, "expected an argument error")
    assert.equal("string", type(err))
    assert.matches("bad argument", err, 1, true)
    for _, fragment in ipairs { ... } do
      assert.matches(fragment, err, 1, true)
    end
    assert.equal(0, rec:count())
  end

  describe("NUL bytes, in every string parameter", function()
    it("the endpoint option (lua_pushfstring stopped at the NUL and sent -r db:3)", function()
      refused(function() juju.relation_get(3, { endpoint = "db\0evil" }) end, "endpoint", "NUL")
      refused(function() juju.relation_list(3, { endpoint = "db\0" }) end, "NUL")
      refused(function() juju.relation_model_get(3, { endpoint = "\0" }) end, "NUL")
      refused(function() juju.relation_set({ a = "b" }, 3, { endpoint = "db\0x" }) end, "NUL")
    end)

    it("positional strings, options, expire text, unit names and secret ids", function()
      refused(function() juju.config_get("k\0") end, "NUL")
      refused(function() juju.relation_get(3, { unit = "app/0\0" }) end, "NUL")
      refused(function() juju.secret_get { id = "secret:\0" } end, "NUL")
      refused(function() juju.secret_add({ password = "x" }, { expire = "72h\0" }) end, "expire")
      refused(function() juju.secret_add({ password = "x" }, { label = "a\0b" }) end, "NUL")
      refused(function() juju.storage_add { ["data\0"] = 1 } end, "not valid")
      refused(function() juju.network_get("db", { relation_id = "db:3\0" }) end, "relation id")
    end)

    it("secret values may hold NUL bytes: they go in files, not argv", function()
      juju.secret_add { password = "a\0b" }
      assert.equal(1, rec:count())
    end)
  end)

  describe("relation ids", function()
    it("take the 'endpoint:id' text relation_ids returns, sent as given", function()
      juju.relation_get("db:3")
      assert.same({ "relation-get", "--format=json", "-r", "db:3" }, rec:last().argv)
      juju.relation_set({ a = "b" }, "db:12", { app = true })
      assert.same({ "relation-set", "-r", "db:12", "--app", "--file", "-" }, rec:last().argv)
      juju.network_get("web", { relation_id = "website:7" })
      assert.same({ "network-get", "--format=json", "-r", "website:7", "web" }, rec:last().argv)
      juju.secret_grant("secret:abc", "db:3")
      assert.same({ "secret-grant", "--relation", "db:3", "secret:abc" }, rec:last().argv)
    end)

    it("round-trip from relation_ids", function()
      rec:on("relation-ids", 0, '["db:10","db:3"]\n')
      for _, id in ipairs(juju.relation_ids("db")) do juju.relation_list(id) end
      assert.same({ "relation-list", "--format=json", "-r", "db:3" }, rec:last().argv)
    end)

    it("take digits as text as the integer", function()
      juju.relation_get("3", { endpoint = "db" })
      assert.same({ "relation-get", "--format=json", "-r", "db:3" }, rec:last().argv)
    end)

    it("refuse text Juju cannot read, and an endpoint given twice", function()
      refused(function() juju.relation_get("db") end, "relation id", "'db'")
      refused(function() juju.relation_get("db:") end, "relation id")
      refused(function() juju.relation_get("db:x") end, "relation id")
      refused(function() juju.relation_get(-1) end, "relation id")
      refused(function() juju.relation_get("db:3", { endpoint = "db" }) end, "given twice")
    end)
  end)

  describe("values Juju takes", function()
    it("status_set: maintenance, blocked, waiting, active", function()
      for _, s in ipairs { "maintenance", "blocked", "waiting", "active" } do
        juju.status_set(s)
      end
      assert.equal(4, rec:count())
      rec.calls = {}
      refused(function() juju.status_set("error") end, "maintenance, blocked, waiting or active", "'error'")
      refused(function() juju.status_set("Active") end, "status")
      refused(function() juju.status_set("unknown") end, "status")
    end)

    it("juju_log: Juju's levels, in any case", function()
      for _, level in ipairs { "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "debug" } do
        juju.juju_log("m", { level = level })
      end
      assert.same({ "juju-log", "--log-level", "debug", "--", "m" }, rec:last().argv)
      rec.calls = {}
      refused(function() juju.juju_log("m", { level = "LOUD" }) end, "level", "'LOUD'")
    end)

    it("secret rotate policies and owners", function()
      refused(function() juju.secret_add({ password = "x" }, { rotate = "fortnightly" }) end, "rotate")
      refused(function() juju.secret_add({ password = "x" }, { owner = "model" }) end, "application or unit")
      refused(function() juju.secret_set("secret:a", { rotate = "Daily" }) end, "rotate")
    end)

    it("expire: RFC 3339, 2006-01-02T15:04:05, or a Go duration; not '3d'", function()
      for _, ok in ipairs { "72h", "1h30m", "1.5h", "300ms", "2025-12-31T23:59:59Z",
                            "2025-12-31T23:59:59+02:00", "2025-12-31T23:59:59" } do
        juju.secret_add({ password = "x" }, { expire = ok })
        assert.same(ok, rec:last().argv[3])
      end
      rec.calls = {}
      for _, bad in ipairs { "3d", "tomorrow", "", "h", "-1h", "2025-12-31", "0", "0s", "0.0h", "1.2.3h",
                             "2025-12-31T23:59:59z" } do
        refused(function() juju.secret_add({ password = "x" }, { expire = bad }) end, "Go duration")
      end
    end)

    it("ports: 1-65535, ranges upwards, icmp without a port", function()
      juju.open_port("tcp", 1)
      juju.open_port("udp", 65535)
      juju.open_port("TCP", 80)
      assert.same({ "open-port", "80/TCP" }, rec:last().argv)
      rec.calls = {}
      refused(function() juju.open_port("tcp", 0) end, "1 to 65535")
      refused(function() juju.open_port("tcp", 65536) end, "1 to 65535")
      refused(function() juju.open_port("tcp", 80, { to_port = 70000 }) end, "to_port")
      refused(function() juju.open_port("tcp", 90, { to_port = 80 }) end, "below")
      refused(function() juju.open_port("icmp", 8) end, "icmp takes no port")
      refused(function() juju.open_port("sctp", 80) end, "tcp, udp or icmp")
      refused(function() juju.open_port("tcp") end, "'port' is required")
      refused(function() juju.close_port(nil, nil, { to_port = 80 }) end, "protocol or a port")
    end)
  end)

  describe("arguments that would do nothing, or something else", function()
    it("an endpoint without a relation id", function()
      refused(function() juju.relation_get { endpoint = "db" } end, "only used with a relation id")
      refused(function() juju.relation_set({ a = "b" }, { endpoint = "db" }) end, "relation id")
    end)

    it("storage_add with no storage, or a count below 1", function()
      refused(function() juju.storage_add {} end, "at least one")
      refused(function() juju.storage_add { data = 0 } end, "at least 1")
      refused(function() juju.storage_add { data = -2 } end, "at least 1")
    end)

    it("a table where a function takes no options", function()
      refused(function() juju.action_fail {} end, "'message' must be a string")
      refused(function() juju.action_get { key = "x" } end, "'key' must be a string")
    end)
  end)

  describe("action_set, as Juju applies it", function()
    it("a key that is both a value and a parent would lose data in Juju", function()
      refused(function() juju.action_set { a = "x", ["a.b"] = "y" } end, "'a'", "'a.b'", "parent")
      refused(function() juju.action_set { a = { b = { c = 1 } }, ["a.b"] = 2 } end, "parent")
    end)

    it("keys follow Juju's rule: lowercase letters, digits and inner hyphens per part", function()
      juju.action_set { foo = 1, ["500"] = 2, ["foo-bar"] = { baz = 3 }, a = { ["1"] = 4 } }
      assert.same({ "action-set", "500=2", "a.1=4", "foo=1", "foo-bar.baz=3" }, rec:last().argv)
      rec.calls = {}
      for _, bad in ipairs { "-foo", "foo-", "foo_bar", "Foo", "a=b", "a b", "a..b", ".a" } do
        refused(function() juju.action_set { [bad] = "v" } end, "result key")
      end
      refused(function() juju.action_set { x = { Bad = 1 } } end, "'x.Bad'")
    end)

    it("Juju's own keys are reserved", function()
      for _, key in ipairs { "stdout", "stderr", "stdout-encoding", "stderr-encoding" } do
        refused(function() juju.action_set { [key] = "v" } end, "reserved")
      end
    end)

    it("a value with a NUL byte would be cut short on the command line", function()
      refused(function() juju.action_set { k = "a\0b" } end, "NUL")
    end)
  end)

  describe("secret content", function()
    it("keys follow Juju's rule ^[a-z](-?[a-z0-9]){2,}$", function()
      juju.secret_add { abc = "1", ["db-pass2"] = "2", ["a-b-c"] = "3" }
      assert.equal(1, rec:count())
      rec.calls = {}
      for _, bad in ipairs { "ab", "1ab", "Abc", "a--bc", "abc-", "a_bc", "a.bc", "../x", "a#b", "a=b" } do
        refused(function() juju.secret_add { [bad] = "v" } end, "secret key")
      end
    end)

    it("secret_add{} is an error; an empty content for secret_set changes metadata only", function()
      refused(function() juju.secret_add {} end, "must not be empty")
      juju.secret_set("secret:a", { content = {}, label = "l" })
      assert.same({ "secret-set", "--label", "l", "--owner", "application", "secret:a" }, rec:last().argv)
    end)

    it("a key too long for a file name names the argument it came in", function()
      local long = "k" .. string.rep("x", 5000)
      refused(function() juju.secret_add { [long] = "v" } end, "#1", "too long")
      refused(function() juju.secret_set("secret:a", { content = { [long] = "v" } }) end, "#2", "too long")
    end)
  end)
end)

describe("the runner's return codes #unit", function()
  after_each(function() juju.set_runner(nil) end)

  local function with_code(code)
    juju.set_runner(function() return code, "", "" end)
    return pcall(juju.is_leader)
  end

  it("0 to 255 are exit statuses, -1 to -255 signals", function()
    local ok, err = with_code(255)
    assert.is_false(ok)
    assert.equal(255, err.returncode)
    assert.is_nil(err.signal)
    ok, err = with_code(-255)
    assert.is_false(ok)
    assert.equal(-255, err.returncode)
    assert.equal(255, err.signal)
  end)

  it("anything else is the runner's mistake, not a signal (math.mininteger was undefined behaviour)", function()
    for _, code in ipairs { math.mininteger, math.tointeger(-2 ^ 40), -256, 256, math.maxinteger } do
      local ok, err = with_code(code)
      assert.is_false(ok)
      assert.equal("string", type(err), tostring(code))
      assert.matches("juju runner returned returncode", err, 1, true)
    end
  end)

  it("a whole float is taken as the integer; a fraction, a string or a boolean is refused", function()
    juju.set_runner(function() return 0.0, "true\n", "" end)
    assert.is_true(juju.is_leader())
    for _, code in ipairs { 1.5, "0", true } do
      local ok, err = with_code(code)
      assert.is_false(ok)
      assert.matches("integer returncode", err, 1, true)
    end
  end)
end)
