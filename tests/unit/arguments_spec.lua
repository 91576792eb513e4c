-- Bad arguments raise a plain Lua error naming the function, before any
-- hook command runs (API.md "Calling convention").

local juju = require "juju"
local recorder = require "helpers.recorder"

--- Each case: label, function name (must appear in the message), a call,
-- and optionally a fragment the message must also contain.
local cases = {
  -- wrong types
  { "action_fail(boolean)", "action_fail", function() juju.action_fail(true) end },
  { "action_get(boolean)", "action_get", function() juju.action_get(true) end },
  { "action_log() missing message", "action_log", function() juju.action_log() end },
  { "action_log(boolean)", "action_log", function() juju.action_log(false) end },
  { "action_set() missing results", "action_set", function() juju.action_set() end },
  { "action_set(string)", "action_set", function() juju.action_set("a=b") end },
  { "action_set value is a function", "action_set", function() juju.action_set({ a = print }) end },
  { "app_version_set()", "app_version_set", function() juju.app_version_set() end },
  { "app_version_set(table)", "app_version_set", function() juju.app_version_set({}) end },
  { "config_get(boolean)", "config_get", function() juju.config_get(true) end },
  { "juju_log()", "juju_log", function() juju.juju_log() end },
  { "juju_log level boolean", "juju_log", function() juju.juju_log("m", { level = true }) end },
  { "juju_reboot now string", "juju_reboot", function() juju.juju_reboot({ now = "yes" }) end },
  { "juju_reboot(number)", "juju_reboot", function() juju.juju_reboot(5) end },
  { "network_get()", "network_get", function() juju.network_get() end },
  { "network_get relation_id string word", "network_get", function()
      juju.network_get("db", { relation_id = "x" })
    end },
  { "relation_get(boolean)", "relation_get", function() juju.relation_get(true) end },
  { "relation_get(1.5)", "relation_get", function() juju.relation_get(1.5) end },
  { "relation_get app string", "relation_get", function() juju.relation_get(3, { app = "yes" }) end },
  { "relation_get key boolean", "relation_get", function() juju.relation_get(3, { key = true }) end },
  { "relation_get options not a table", "relation_get", function() juju.relation_get(3, "k") end },
  { "relation_ids()", "relation_ids", function() juju.relation_ids() end },
  { "relation_list(boolean)", "relation_list", function() juju.relation_list(false) end },
  { "relation_model_get(boolean)", "relation_model_get", function() juju.relation_model_get(true) end },
  { "relation_set()", "relation_set", function() juju.relation_set() end },
  { "relation_set(string)", "relation_set", function() juju.relation_set("a=b") end },
  { "relation_set id boolean", "relation_set", function() juju.relation_set({ a = "b" }, true) end },
  { "resource_get()", "resource_get", function() juju.resource_get() end },
  { "secret_add()", "secret_add", function() juju.secret_add() end },
  { "secret_add(string)", "secret_add", function() juju.secret_add("x") end },
  { "secret_get(string)", "secret_get", function() juju.secret_get("secret:x") end },
  { "secret_get refresh string", "secret_get", function() juju.secret_get({ id = "s", refresh = "yes" }) end },
  { "secret_grant() ", "secret_grant", function() juju.secret_grant() end },
  { "secret_grant without relation_id", "secret_grant", function() juju.secret_grant("s") end },
  { "secret_grant relation_id boolean", "secret_grant", function() juju.secret_grant("s", true) end },
  { "secret_remove()", "secret_remove", function() juju.secret_remove() end },
  { "secret_remove revision string word", "secret_remove", function() juju.secret_remove("s", { revision = "x" }) end },
  { "secret_revoke()", "secret_revoke", function() juju.secret_revoke() end },
  { "secret_set()", "secret_set", function() juju.secret_set() end },
  { "secret_set content string", "secret_set", function() juju.secret_set("s", { content = "x" }) end },
  { "state_delete()", "state_delete", function() juju.state_delete() end },
  { "state_get(boolean)", "state_get", function() juju.state_get(true) end },
  { "state_set()", "state_set", function() juju.state_set() end },
  { "status_get(boolean)", "status_get", function() juju.status_get(true) end },
  { "status_get app string", "status_get", function() juju.status_get({ app = "true" }) end },
  { "status_set()", "status_set", function() juju.status_set() end },
  { "status_set(boolean)", "status_set", function() juju.status_set(true) end },
  { "status_set message boolean", "status_set", function() juju.status_set("active", false) end },
  { "storage_add()", "storage_add", function() juju.storage_add() end },
  { "storage_add(string)", "storage_add", function() juju.storage_add("data=1") end },
  { "storage_add count boolean", "storage_add", function() juju.storage_add({ data = true }) end },
  { "storage_add count 1.5", "storage_add", function() juju.storage_add({ data = 1.5 }) end },
  { "storage_get(boolean)", "storage_get", function() juju.storage_get(true) end },
  { "storage_list(boolean)", "storage_list", function() juju.storage_list(true) end },
  { "open_port port 1.5", "open_port", function() juju.open_port("tcp", 1.5) end },
  { "open_port protocol boolean", "open_port", function() juju.open_port(true, 80) end },
  { "open_port endpoints boolean", "open_port", function() juju.open_port("tcp", 80, { endpoints = true }) end },
  { "open_port endpoints list with a number", "open_port", function()
      juju.open_port("tcp", 80, { endpoints = { "a", {} } })
    end },
  { "opened_ports endpoints string", "opened_ports", function() juju.opened_ports({ endpoints = "yes" }) end },

  -- unknown option keys
  { "juju_log unknown option", "juju_log", function() juju.juju_log("m", { levle = "DEBUG" }) end, "levle" },
  { "juju_reboot unknown option", "juju_reboot", function() juju.juju_reboot({ nwo = true }) end, "nwo" },
  { "network_get unknown option", "network_get", function() juju.network_get("db", { relation = 1 }) end, "relation" },
  { "open_port unknown option", "open_port", function() juju.open_port("tcp", 80, { too_port = 81 }) end, "too_port" },
  { "close_port unknown option", "close_port", function() juju.close_port("tcp", 80, { endpoint = "x" }) end,
    "endpoint" },
  { "opened_ports unknown option", "opened_ports", function() juju.opened_ports({ endpoint = true }) end, "endpoint" },
  { "relation_get unknown option", "relation_get", function() juju.relation_get(3, { kye = "k" }) end, "kye" },
  { "relation_get short form unknown option", "relation_get", function() juju.relation_get({ kye = "k" }) end, "kye" },
  { "relation_list unknown option", "relation_list", function() juju.relation_list(3, { key = "k" }) end, "key" },
  { "relation_model_get unknown option", "relation_model_get", function()
      juju.relation_model_get(3, { app = true })
    end, "app" },
  { "relation_set unknown option", "relation_set", function() juju.relation_set({ a = "b" }, 3, { ap = true }) end,
    "ap" },
  { "secret_add unknown option", "secret_add", function() juju.secret_add({ kk = "v" }, { lable = "l" }) end, "lable" },
  { "secret_get unknown option", "secret_get", function() juju.secret_get({ uri = "s" }) end, "uri" },
  { "secret_grant unknown option", "secret_grant", function() juju.secret_grant("s", 1, { app = "x" }) end, "app" },
  { "secret_info_get unknown option", "secret_info_get", function() juju.secret_info_get({ uri = "s" }) end, "uri" },
  { "secret_remove unknown option", "secret_remove", function() juju.secret_remove("s", { rev = 1 }) end, "rev" },
  { "secret_revoke unknown option", "secret_revoke", function() juju.secret_revoke("s", { relation = 1 }) end,
    "relation" },
  { "secret_set unknown option", "secret_set", function() juju.secret_set("s", { contents = { a = "b" } }) end,
    "contents" },
  { "status_get unknown option", "status_get", function() juju.status_get({ application = true }) end,
    "application" },
  { "status_set unknown option", "status_set", function() juju.status_set("active", "m", { application = true }) end,
    "application" },

  -- documented value errors
  { "relation_get{key='-'}", "relation_get", function() juju.relation_get({ key = "-" }) end },
  { "relation_get(3, {key='-', unit=...})", "relation_get", function()
      juju.relation_get(3, { key = "-", unit = "db/0" })
    end },
  { "open_port() with neither protocol nor port", "open_port", function() juju.open_port() end },
  { "open_port short form with neither", "open_port", function() juju.open_port({ endpoints = "x" }) end },
  { "open_port(nil, nil, opts)", "open_port", function() juju.open_port(nil, nil, { to_port = 9 }) end },
  { "close_port() with neither protocol nor port", "close_port", function() juju.close_port() end },
  { "action_set flattening collision {a={b=1}, ['a.b']=2}", "action_set", function()
      juju.action_set({ a = { b = 1 }, ["a.b"] = 2 })
    end },
  { "action_set deep collision", "action_set", function()
      juju.action_set({ a = { b = { c = 1 } }, ["a.b"] = { c = 2 } })
    end },
  { "relation_set boolean value", "relation_set", function() juju.relation_set({ a = true }, 1) end },
  { "relation_set table value", "relation_set", function() juju.relation_set({ a = { b = "c" } }, 1) end },
  { "relation_set empty key", "relation_set", function() juju.relation_set({ [""] = "x" }, 1) end },
  { "relation_set non-string key", "relation_set", function() juju.relation_set({ "x" }, 1) end },
  { "state_set boolean value", "state_set", function() juju.state_set({ a = false }) end },
  { "state_set table value", "state_set", function() juju.state_set({ a = {} }) end },
  { "state_set non-string key", "state_set", function() juju.state_set({ [1] = "x" }) end },
  { "state_set empty key", "state_set", function() juju.state_set({ [""] = "x" }) end },
  { "relation_set value not valid UTF-8", "relation_set", function() juju.relation_set({ a = "\255" }, 1) end },
  { "state_set key not valid UTF-8", "state_set", function() juju.state_set({ ["\192"] = "x" }) end },
  { "secret_add key with /", "secret_add", function() juju.secret_add({ ["a/b"] = "x" }) end },
  { "secret_add key with #", "secret_add", function() juju.secret_add({ ["a#b"] = "x" }) end },
  { "secret_add key with =", "secret_add", function() juju.secret_add({ ["a=b"] = "x" }) end },
  { "secret_add key .", "secret_add", function() juju.secret_add({ ["."] = "x" }) end },
  { "secret_add key ..", "secret_add", function() juju.secret_add({ [".."] = "x" }) end },
  { "secret_add empty key", "secret_add", function() juju.secret_add({ [""] = "x" }) end },
  { "secret_add boolean value", "secret_add", function() juju.secret_add({ key = true }) end },
  { "secret_add table value", "secret_add", function() juju.secret_add({ key = {} }) end },
  { "secret_set content key with /", "secret_set", function()
      juju.secret_set("s", { content = { ["../../etc/x"] = "x" } })
    end },
  { "secret_add expire boolean", "secret_add", function() juju.secret_add({ key = "v" }, { expire = true }) end },
}

describe("juju bad arguments #unit", function()
  local rec = recorder.setup(juju)

  for _, case in ipairs(cases) do
    local label, fname, call, fragment = case[1], case[2], case[3], case[4]
    it(label .. ": raises a string naming " .. fname .. ", runner not called", function()
      local ok, err = pcall(call)
      assert.is_false(ok, "expected an error")
      assert.equal("string", type(err), "expected a plain string error, got " .. tostring(err))
      assert.truthy(err:find(fname, 1, true), err)
      if fragment then
        assert.truthy(err:find(fragment, 1, true), err)
      end
      assert.equal(0, rec:count())
    end)
  end

  it("the unknown option message reads like luaL_argerror", function()
    local ok, err = pcall(juju.relation_get, 3, { kye = "k" })
    assert.is_false(ok)
    assert.truthy(err:find("bad argument #2 to 'relation_get'", 1, true), err)
    assert.truthy(err:find("unknown option 'kye'", 1, true), err)
  end)

  it("every function with options rejects unknown keys (none runs)", function()
    local with_options = {
      function() juju.juju_log("m", { bogus = 1 }) end,
      function() juju.juju_reboot({ bogus = 1 }) end,
      function() juju.network_get("b", { bogus = 1 }) end,
      function() juju.open_port("tcp", 1, { bogus = 1 }) end,
      function() juju.close_port("tcp", 1, { bogus = 1 }) end,
      function() juju.opened_ports({ bogus = 1 }) end,
      function() juju.relation_get(1, { bogus = 1 }) end,
      function() juju.relation_list(1, { bogus = 1 }) end,
      function() juju.relation_model_get(1, { bogus = 1 }) end,
      function() juju.relation_set({}, 1, { bogus = 1 }) end,
      function() juju.secret_add({ kk = "v" }, { bogus = 1 }) end,
      function() juju.secret_get({ bogus = 1 }) end,
      function() juju.secret_grant("s", 1, { bogus = 1 }) end,
      function() juju.secret_info_get({ bogus = 1 }) end,
      function() juju.secret_remove("s", { bogus = 1 }) end,
      function() juju.secret_revoke("s", { bogus = 1 }) end,
      function() juju.secret_set("s", { bogus = 1 }) end,
      function() juju.status_get({ bogus = 1 }) end,
      function() juju.status_set("active", "m", { bogus = 1 }) end,
    }
    for i, f in ipairs(with_options) do
      local ok, err = pcall(f)
      assert.is_false(ok, "case " .. i .. " did not raise")
      assert.truthy(tostring(err):find("bogus", 1, true), tostring(err))
    end
    assert.equal(0, rec:count())
  end)

  it("refuses a NUL byte anywhere on the command line (exec would cut it short)", function()
    local nul_cases = {
      function() juju.juju_log("a\0b") end,
      function() juju.status_set("active", "x\0y") end,
      function() juju.relation_get(1, { key = "k\0" }) end,
      function() juju.action_set({ k = "v\0w" }) end,
      function() juju.open_port("tcp", 80, { endpoints = { "a\0" } }) end,
    }
    for i, f in ipairs(nul_cases) do
      local ok, err = pcall(f)
      assert.is_false(ok, "case " .. i .. " did not raise")
      assert.matches("NUL", tostring(err))
    end
    assert.equal(0, rec:count())
  end)

  it("a good call after bad ones still works", function()
    pcall(juju.relation_get, { key = "-" })
    pcall(juju.action_set, { a = { b = 1 }, ["a.b"] = 2 })
    juju.relation_get(1, { key = "k" })
    assert.equal(1, rec:count())
    assert.same({ "relation-get", "--format=json", "-r", "1", "k" }, rec:last().argv)
  end)
end)
