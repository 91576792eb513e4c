-- Hook command failures as the charm sees them: juju.Error tables built
-- from real exits, real signals and a command that is not there.

local hookenv = require "helpers.hookenv"

local juju = hookenv.juju()
local SOCKET = hookenv.transport() == "socket"

--- Call f, expecting it to raise; return the error value.
local function catch(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return err
end

describe("hook command errors #integration", function()
  before_each(hookenv.reset)

  it("a non-zero exit raises juju.Error with everything exactly as written", function()
    local stdout = "partial output\n\tstill \"output\"\n"
    local stderr = 'ERROR invalid value "3" for flag -r: relation not found\n'
    hookenv.respond("relation-get", { stdout = stdout, stderr = stderr, exit = 2 })
    local err = catch(juju.relation_get, 3)
    assert.equal(juju.Error, getmetatable(err))
    assert.equal(2, err.returncode)
    assert.equal("integer", math.type(err.returncode))
    assert.same({ "relation-get", "--format=json", "-r", "3" }, err.cmd)
    assert.equal(stdout, err.stdout)
    assert.equal(stderr, err.stderr)
    assert.is_nil(err.signal)
    assert.equal("command [relation-get --format=json -r 3] exited with status 2: "
      .. 'ERROR invalid value "3" for flag -r: relation not found', tostring(err))
    assert.equal(1, hookenv.ncalls())
  end)

  it("exit 1 from a command with no output gives empty strings", function()
    hookenv.respond("status-set", { exit = 1 })
    local err = catch(juju.status_set, "active", "ok")
    assert.equal(1, err.returncode)
    assert.equal("", err.stdout)
    assert.equal("", err.stderr)
    assert.same({ "status-set", "--application=False", "active", "--", "ok" }, err.cmd)
    assert.matches("status-set", tostring(err), 1, true)
  end)

  it("a command killed by a signal", function()
    hookenv.respond("config-get", { stdout = "{\"half\":", stderr = "dying\n", signal = 15 })
    local err = catch(juju.config_get)
    assert.equal(juju.Error, getmetatable(err))
    assert.same({ "config-get", "--format=json" }, err.cmd)
    assert.equal("{\"half\":", err.stdout)
    assert.equal("dying\n", err.stderr)
    if SOCKET then
      -- Juju's agent runs the tool itself and reports Go's ExitCode(): -1.
      assert.equal(-1, err.returncode)
      assert.matches("config-get --format=json", tostring(err), 1, true)
    else
      assert.equal(-15, err.returncode)
      assert.equal(15, err.signal)
      local text = tostring(err)
      assert.matches("config-get --format=json", text, 1, true)
      assert.matches("killed by signal 15", text, 1, true)
    end
  end)

  it("a command that does not exist", function()
    local restore = hookenv.remove_tool("secret-ids")
    local ok, err = pcall(juju.secret_ids)
    restore()
    assert.is_false(ok)
    assert.equal(juju.Error, getmetatable(err))
    assert.same({ "secret-ids", "--format=json" }, err.cmd)
    assert.matches("secret-ids", tostring(err), 1, true)
    if SOCKET then
      -- The agent answers with an RPC error, which jujuc prints and exits 1.
      assert.equal(1, err.returncode)
      assert.equal("ERROR bad request: unknown command: secret-ids\n", err.stderr)
    else
      assert.is_nil(err.returncode)
      assert.matches("No such file or directory", err.message, 1, true)
      assert.matches("not running inside a Juju hook?", err.message, 1, true)
      assert.matches("secret-ids", tostring(err), 1, true)
    end
    assert.equal(0, hookenv.ncalls())
    -- The command is back and works again.
    hookenv.respond("secret-ids", { stdout = "[]\n" })
    assert.same({}, juju.secret_ids())
  end)

  it("output that is not JSON is a juju.Error with returncode 0", function()
    hookenv.respond("config-get", { stdout = "debug: true\n" })
    local err = catch(juju.config_get)
    assert.equal(juju.Error, getmetatable(err))
    assert.equal(0, err.returncode)
    assert.is_string(err.message)
    assert.equal("debug: true\n", err.stdout)
    assert.matches("config-get", tostring(err), 1, true)
  end)

  it("bad arguments fail before any command runs", function()
    local ok, err = pcall(juju.relation_get, 3, { kye = "x" })
    assert.is_false(ok)
    assert.is_string(err)
    assert.matches("relation_get", err, 1, true)
    ok = pcall(juju.relation_get, { key = "-" })
    assert.is_false(ok)
    ok = pcall(juju.open_port)
    assert.is_false(ok)
    assert.equal(0, hookenv.ncalls())
  end)
end)
