-- The module's surface: the 37 hook command functions named as in
-- ops.hookcmds, the helpers, and the test seam itself.

local juju = require "juju"
local recorder = require "helpers.recorder"

local FUNCTIONS = {
  "action_fail", "action_get", "action_log", "action_set", "app_version_set",
  "close_port", "open_port", "opened_ports", "config_get", "credential_get", "goal_state",
  "is_leader", "juju_log", "juju_reboot", "network_get", "relation_get", "relation_ids",
  "relation_list", "relation_model_get", "relation_set", "resource_get",
  "secret_add", "secret_get", "secret_grant", "secret_ids", "secret_info_get",
  "secret_remove", "secret_revoke", "secret_set", "state_delete", "state_get", "state_set",
  "status_get", "status_set", "storage_add", "storage_get", "storage_list",
}

describe("juju module surface #unit", function()
  after_each(function()
    juju.set_runner(nil)
  end)

  it("has all 37 hook command functions", function()
    assert.equal(37, #FUNCTIONS)
    for _, name in ipairs(FUNCTIONS) do
      assert.equal("function", type(juju[name]), name)
    end
  end)

  it("has parse_rfc3339, Error, set_runner, transport and a version", function()
    assert.equal("function", type(juju.parse_rfc3339))
    assert.equal("table", type(juju.Error))
    assert.equal("function", type(juju.set_runner))
    assert.equal("function", type(juju.transport))
    assert.equal("string", type(juju._VERSION))
    assert.truthy(juju.version)
  end)

  it("require returns the same module table", function()
    assert.equal(juju, require("juju"))
  end)

  it("transport() is 'lua' while a runner is set, and not after set_runner(nil)", function()
    recorder.install(juju)
    assert.equal("lua", juju.transport())
    juju.set_runner(nil)
    local t = juju.transport()
    assert.is_true(t == "exec" or t == "socket", tostring(t))
  end)

  it("set_runner rejects a non-function", function()
    assert.has_error(function() juju.set_runner("nope") end)
    assert.has_error(function() juju.set_runner({}) end)
  end)

  it("a newly set runner replaces the previous one", function()
    local first = recorder.install(juju)
    local second = recorder.install(juju)
    juju.is_leader()
    assert.equal(0, first:count())
    assert.equal(1, second:count())
  end)

  it("the runner gets a fresh argv table each call (mutating it does not leak)", function()
    local rec = recorder.install(juju)
    rec:on("is-leader", function(argv)
      argv[1] = "mutated"
      argv[3] = "extra"
      return 0, "true\n", ""
    end)
    juju.is_leader()
    juju.is_leader()
    assert.same({ "is-leader", "--format=json" }, rec.calls[2].argv)
  end)
end)
