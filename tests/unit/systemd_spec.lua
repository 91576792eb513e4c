-- juju.systemd through the juju.process seam: the exact systemctl argv,
-- what each exit status means, and unit names checked before anything runs.

local hookenv = require "helpers.hookenv"

hookenv.juju()
local process = require "juju.process"
local systemd = require "juju.systemd"

--- Record argv; answer each call with answer(argv) or success.
local function recording(answer)
  local calls = {}
  process.set_runner(function(argv, opts)
    calls[#calls + 1] = argv
    assert.same({}, opts)
    if answer then return answer(argv) end
    return 0, "", ""
  end)
  return calls
end

local caller_error = require("helpers.mistakes").caller_error

describe("juju.systemd #unit", function()
  after_each(function() process.set_runner(nil) end)

  it("runs systemctl with the verb and the unit", function()
    local calls = recording()
    systemd.start("nginx")
    systemd.stop("nginx.service")
    systemd.restart("app@1")
    systemd.reload("nginx")
    systemd.enable("app")
    systemd.enable("app", { now = true })
    systemd.enable("app", { now = false })
    systemd.disable("apache2")
    systemd.disable("apache2", { now = true })
    systemd.daemon_reload()
    assert.same({
      { "systemctl", "start", "nginx" },
      { "systemctl", "stop", "nginx.service" },
      { "systemctl", "restart", "app@1" },
      { "systemctl", "reload", "nginx" },
      { "systemctl", "enable", "app" },
      { "systemctl", "enable", "--now", "app" },
      { "systemctl", "enable", "app" },
      { "systemctl", "disable", "apache2" },
      { "systemctl", "disable", "--now", "apache2" },
      { "systemctl", "daemon-reload" },
    }, calls)
  end)

  it("a failure raises process.Error with systemctl's reason", function()
    recording(function()
      return 5, "", "Failed to start nosuch.service: Unit nosuch.service not found.\n"
    end)
    local ok, err = pcall(systemd.start, "nosuch")
    assert.is_false(ok)
    assert.equal(process.Error, getmetatable(err))
    assert.equal(5, err.code)
    assert.equal("command [systemctl start nosuch] exited with status 5: " ..
      "Failed to start nosuch.service: Unit nosuch.service not found.", tostring(err))
    assert.has_error(function() systemd.daemon_reload() end)
  end)

  it("is_active: 0 is true, 3 is false, anything else raises", function()
    local status = 0
    local calls = recording(function() return status, "", "" end)
    assert.is_true(systemd.is_active("nginx"))
    status = 3
    assert.is_false(systemd.is_active("nginx"))
    assert.same({ "systemctl", "is-active", "--quiet", "nginx" }, calls[1])
    for _, other in ipairs({ 1, 4, -9 }) do
      status = other
      local ok, err = pcall(systemd.is_active, "nginx")
      assert.is_false(ok)
      assert.equal(process.Error, getmetatable(err))
    end
    process.set_runner(function() return nil, "cannot run systemctl: No such file or directory" end)
    local ok, err = pcall(systemd.is_active, "nginx")
    assert.is_false(ok)
    assert.equal("cannot run systemctl: No such file or directory", err.message)
  end)

  it("is_enabled: 0 is true, 1 is false, anything else raises", function()
    local status = 0
    local calls = recording(function() return status, "", "" end)
    assert.is_true(systemd.is_enabled("app"))
    status = 1
    assert.is_false(systemd.is_enabled("app"))
    assert.same({ "systemctl", "is-enabled", "--quiet", "app" }, calls[2])
    status = 3
    assert.has_error(function() systemd.is_enabled("app") end)
  end)

  it("a status that means no still fails when it came from a timeout", function()
    recording(function() return 3, "", "", true end)
    local ok, err = pcall(systemd.is_active, "app")
    assert.is_false(ok)
    assert.is_true(err.timed_out)
  end)

  it("unit names and options are checked at the caller's line, before anything runs", function()
    local calls = recording()
    caller_error(function() systemd.start("") end, "bad argument #1 to 'start' ('' is not a unit name)")
    caller_error(function() systemd.stop("--all") end, "bad argument #1 to 'stop' ('--all' is not a unit name)")
    caller_error(function() systemd.restart("a\0b") end, "bad argument #1 to 'restart' ('a\\0b' is not a unit name)")
    caller_error(function() systemd.reload(nil) end, "bad argument #1 to 'reload' (unit name expected, got nil)")
    caller_error(function() systemd.enable({ "a" }) end, "unit name expected, got table")
    caller_error(function() systemd.is_active("-x") end, "bad argument #1 to 'is_active'")
    caller_error(function() systemd.is_enabled(7) end, "bad argument #1 to 'is_enabled'")
    caller_error(function() systemd.enable("a", { now = 1 }) end, "option 'now': boolean expected, got number")
    caller_error(function() systemd.disable("a", { force = true }) end, "unknown option 'force'")
    caller_error(function() systemd.enable("a", true) end, "options: table expected, got boolean")
    assert.same({}, calls)
  end)
end)
