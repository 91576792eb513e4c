-- Which transport build/dispatch picks, and what it does when the agent
-- socket is not usable. These set their own environment per run, so they
-- run the same whichever transport the rest of the suite is using.

local hookenv = require "helpers.hookenv"

local FALLBACK_NOTE = "agent socket .* unreachable"

--- The environment of a hook whose agent socket is at address.
-- @tparam string|false mode DISPATCH_TRANSPORT (false: unset, auto mode)
local function socket_env(mode, context, address)
  return {
    DISPATCH_TRANSPORT = mode,
    JUJU_CONTEXT_ID = context,
    JUJU_AGENT_SOCKET_NETWORK = "unix",
    JUJU_AGENT_SOCKET_ADDRESS = address,
  }
end

describe("transport selection #integration", function()
  local tmp

  before_each(function()
    hookenv.reset()
    tmp = hookenv.tmpdir()
    hookenv.respond("config-get", { stdout = '{"a": 1}\n' })
  end)

  after_each(function()
    hookenv.rmtree(tmp)
  end)

  local function logs_matching(pattern)
    local found = {}
    for _, argv in ipairs(hookenv.argvs()) do
      if argv[1] == "juju-log" and (argv[5] or ""):find(pattern) then
        found[#found + 1] = argv
      end
    end
    return found
  end

  it("auto mode with an unreachable socket falls back to exec and says so once at DEBUG", function()
    local r = hookenv.run({ "-e", [[
      assert(juju.config_get().a == 1)
      assert(juju.config_get().a == 1)
      print(juju.transport())]] },
      { env = socket_env(false, "unit-test/0-install-1", tmp .. "/no-such.socket") })
    assert.equal(0, r.code, r.stderr)
    assert.equal("exec\n", r.stdout)
    local notes = logs_matching(FALLBACK_NOTE)
    assert.equal(1, #notes)
    assert.same({ "juju-log", "--log-level", "DEBUG", "--" }, { table.unpack(notes[1], 1, 4) })
    assert.matches("no%-such%.socket", notes[1][5])
    local configs = 0
    for _, argv in ipairs(hookenv.argvs()) do
      if argv[1] == "config-get" then configs = configs + 1 end
    end
    assert.equal(2, configs)
  end)

  it("auto mode without the socket variables uses exec and logs nothing", function()
    local r = hookenv.run({ "-e", "assert(juju.config_get().a == 1) print(juju.transport())" },
      { env = { DISPATCH_TRANSPORT = false, JUJU_AGENT_SOCKET_ADDRESS = false,
                JUJU_AGENT_SOCKET_NETWORK = false } })
    assert.equal(0, r.code, r.stderr)
    assert.equal("exec\n", r.stdout)
    assert.same({ { "config-get", "--format=json" } }, hookenv.argvs())
  end)

  it("a tcp agent (legacy pod-spec operator) stays on exec", function()
    local r = hookenv.run({ "-e", "assert(juju.config_get().a == 1) print(juju.transport())" },
      { env = { DISPATCH_TRANSPORT = false, JUJU_CONTEXT_ID = "x",
                JUJU_AGENT_SOCKET_NETWORK = "tcp", JUJU_AGENT_SOCKET_ADDRESS = "127.0.0.1:1" } })
    assert.equal(0, r.code, r.stderr)
    assert.equal("exec\n", r.stdout)
    assert.equal(0, #logs_matching(FALLBACK_NOTE))
  end)

  it("DISPATCH_TRANSPORT=socket with no agent is an error like jujuc's, not a fallback", function()
    local r = hookenv.run({ "-e", [[
      local ok, err = pcall(juju.config_get)
      assert(not ok and getmetatable(err) == juju.Error)
      io.write(err.returncode, "|", err.stderr)]] },
      { env = socket_env("socket", "unit-test/0-install-1", tmp .. "/no-such.socket") })
    assert.equal(0, r.code, r.stderr)
    assert.matches("^1|ERROR cannot connect to unit agent at .*no%-such%.socket: .*\n$", r.stdout)
    assert.equal(0, hookenv.ncalls())
  end)

  it("DISPATCH_TRANSPORT=exec ignores a working socket", function()
    local r = hookenv.run({ "-e", "assert(juju.config_get().a == 1) print(juju.transport())" },
      { env = { DISPATCH_TRANSPORT = "exec" } })
    assert.equal(0, r.code, r.stderr)
    assert.equal("exec\n", r.stdout)
    assert.equal(1, hookenv.ncalls())
  end)
end)

describe("an agent that drops the connection mid-call #integration", function()
  local tmp, agent_pid

  before_each(function()
    hookenv.reset()
    tmp = hookenv.tmpdir()
    hookenv.respond("config-get", { stdout = '{"a": 1}\n' })
    -- Its own agent: the second call overall is dropped without a reply.
    local pidfile = tmp .. "/pid"
    hookenv.sh(string.format(
      "%s -socket %s -bin %s -context drop-test -close-on-call 2 -log %s > %s 2>&1 & echo $! > %s",
      hookenv.quote(os.getenv("FAKE_AGENT")), hookenv.quote(tmp .. "/a.socket"),
      hookenv.quote(hookenv.fake_bin()), hookenv.quote(tmp .. "/agent.log"),
      hookenv.quote(tmp .. "/agent.out"), hookenv.quote(pidfile)))
    for _ = 1, 200 do
      if (hookenv.read_file(tmp .. "/agent.out") or ""):find("ready") then break end
      os.execute("sleep 0.02")
    end
    agent_pid = hookenv.read_file(pidfile):match("%d+")
  end)

  after_each(function()
    os.execute("kill " .. agent_pid .. " 2>/dev/null")
    hookenv.rmtree(tmp)
  end)

  it("gives a clean error for that call and a fresh connection for the next", function()
    local r = hookenv.run({ "-e", [[
      assert(juju.config_get().a == 1)
      local ok, err = pcall(juju.config_get)
      assert(not ok and getmetatable(err) == juju.Error, tostring(err))
      io.write(err.returncode, "|", err.stderr)
      assert(juju.config_get().a == 1)
      assert(juju.config_get().a == 1)]] },
      { env = socket_env("socket", "drop-test", tmp .. "/a.socket") })
    assert.equal(0, r.code, r.stderr)
    assert.matches("^1|ERROR .*\n$", r.stdout)
    local log = hookenv.read_file(tmp .. "/agent.log")
    local n = select(2, log:gsub("\n", "\n"))
    assert.equal(4, n)
    assert.equal(3, hookenv.ncalls())
  end)
end)
