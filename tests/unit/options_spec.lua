-- A mistake in an options table reads the same in every framework module,
-- in Lua's own words for a bad argument, and is raised at the charm's line
-- before anything runs.

local hookenv = require "helpers.hookenv"

hookenv.juju()
local apt = require "juju.apt"
local file = require "juju.file"
local pebble = require "juju.pebble"
local process = require "juju.process"
local systemd = require "juju.systemd"

--- The words of the error fn raised, checked to be plain and at fn's line.
local function mistake(fn)
  local _, words = require("helpers.mistakes").raised(fn)
  return words
end

describe("option mistakes #unit", function()
  local ran

  before_each(function()
    ran = false
    process.set_runner(function() ran = true; return 0, "", "" end)
  end)

  after_each(function()
    process.set_runner(nil)
    assert.is_false(ran, "something ran")
  end)

  it("an unknown option: bad argument #N to 'f' (unknown option 'k')", function()
    local client = pebble.client("/nonexistent/pebble.socket")
    local cases = {
      { "#2 to 'run'", "tiemout", function() process.run({ "true" }, { tiemout = 1 }) end },
      { "#2 to 'install'", "retrys", function() apt.install("nginx", { retrys = 1 }) end },
      { "#2 to 'disable'", "nw", function() systemd.disable("nginx", { nw = true }) end },
      { "#3 to 'write'", "mod", function() file.write("/tmp/x", "x", { mod = "0600" }) end },
      { "#2 to 'client'", "tiemout", function() pebble.client("/x.socket", { tiemout = 1 }) end },
      { "#2 to 'exec'", "env", function() client:exec({ "true" }, { env = {} }) end },
      { "#1 to 'start'", "tiemout", function() client:start { "a", tiemout = 1 } end },
    }
    for _, c in ipairs(cases) do
      assert.equal(("bad argument %s (unknown option '%s')"):format(c[1], c[2]), mistake(c[3]))
    end
  end)

  it("an option of the wrong type: bad argument #N to 'f' (option 'k': t expected, got u)", function()
    local client = pebble.client("/nonexistent/pebble.socket")
    local cases = {
      { "#2 to 'run'", "timeout", "number", function() process.run({ "true" }, { timeout = "1" }) end },
      { "#2 to 'install'", "retries", "number", function() apt.install("nginx", { retries = "3" }) end },
      { "#2 to 'disable'", "now", "boolean", function() systemd.disable("nginx", { now = 1 }) end },
      { "#3 to 'add_layer'", "combine", "boolean", function() client:add_layer("l", {}, { combine = 1 }) end },
    }
    for _, c in ipairs(cases) do
      local got = mistake(c[4])
      assert.equal(("bad argument %s (option '%s': %s expected, got "):format(c[1], c[2], c[3]),
        got:sub(1, #got - #got:match("[^ ]*%)$")))
    end
  end)

  it("options that are not a table", function()
    assert.equal("bad argument #2 to 'run' (options: table expected, got number)",
      mistake(function() process.run({ "true" }, 5) end))
    assert.equal("bad argument #2 to 'client' (options: table expected, got string)",
      mistake(function() pebble.client("/x.socket", "fast") end))
  end)
end)
