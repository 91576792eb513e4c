-- juju.pebble in the real binary: a machine charm's hook never loads it;
-- a Kubernetes charm's container loads it when first touched; without
-- juju.pebble.io in the build (the C layer comes separately) the real
-- transport says so.

local hookenv = require "helpers.hookenv"


--- Run Lua in dispatch's interpreter with a hook's environment and a
-- runner answering every hook command with nothing.
local function hook(event, body)
  return hookenv.run({ "-e", ([[
    local charm = require "juju.charm"
    juju.set_env { JUJU_UNIT_NAME = "app/0", JUJU_DISPATCH_PATH = "hooks/%s", JUJU_WORKLOAD_NAME = "web",
                   KUBERNETES_SERVICE_HOST = "10.0.0.1" }
    juju.set_runner(function() return 0, "{}", "" end)
    local c = charm.new()
    c:on("%s", function(e) %s end)
    c:dispatch()
    io.write(tostring(package.loaded["juju.pebble"] ~= nil))
  ]]):format(event, event, body) })
end

describe("juju.pebble in dispatch #integration #once", function()
  it("an event without a container loads no Pebble code, even when the handler looks for one", function()
    local r = hook("update-status", "assert(e.container == nil and e.notice == nil and e.check == nil)")
    assert.equal(0, r.code, r.stderr)
    assert.equal("false", r.stdout)
  end)

  it("a workload event loads it when the handler reads e.container", function()
    local r = hook("web-pebble-ready", "assert(e.container.name == 'web')")
    assert.equal(0, r.code, r.stderr)
    assert.equal("true", r.stdout)
    r = hook("web-pebble-ready", "")
    assert.equal("false", r.stdout)
  end)

  it("without juju.pebble.io in the build, a request says so", function()
    local r = hookenv.run({ "-e", [[
      local ok = pcall(require, "juju.pebble.io")
      if ok then io.write("has io") return end
      local pebble = require "juju.pebble"
      local okc, err = pcall(pebble.container("web").plan, pebble.container("web"))
      io.write(tostring(okc), " ", tostring(err))
    ]] })
    assert.equal(0, r.code, r.stderr)
    if r.stdout ~= "has io" then
      assert.matches("^false juju.pebble: this build has no Pebble I/O %(juju.pebble.io%)", r.stdout)
    end
  end)
end)
