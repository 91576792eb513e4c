-- The host owns its signals: a parent that ignores SIGCHLD cannot break hook
-- commands, and a stop signal during a hook command removes the secret
-- files and ends the child before dispatch dies of that signal.

local hookenv = require "helpers.hookenv"

local quote = hookenv.quote
local SIGNALS = { TERM = 15, INT = 2, HUP = 1 }

--- Poll for cond() for up to seconds; true when it held.
local function wait_for(cond, seconds)
  for _ = 1, seconds * 50 do
    if cond() then return true end
    hookenv.sh("sleep 0.02")
  end
  return cond()
end

--- The entries of a directory (without . and ..).
local function entries(dir)
  local out = {}
  for name in require("lfs").dir(dir) do
    if name ~= "." and name ~= ".." then out[#out + 1] = name end
  end
  return out
end

describe("a parent that ignores SIGCHLD #integration", function()
  local sigrun = assert(os.getenv("SIGRUN"), "SIGRUN is not set (run through make)")

  before_each(hookenv.reset)

  it("does not break dispatch: the command runs once and its result is read", function()
    hookenv.respond("is-leader", { stdout = "true\n" })
    local r = hookenv.run({ "-i", "CHLD", "-b", "TERM", "--", hookenv.dispatch_path(), "-e", [[
      juju.relation_set({ a = "b" }, 3)
      print(juju.is_leader())
    ]] }, { program = sigrun })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.equal("true\n", r.stdout)
    -- before the fix, relation-set ran and was then reported as never started
    assert.same({ { "relation-set", "-r", "3", "--file", "-" }, { "is-leader", "--format=json" } },
      hookenv.argvs())
  end)

  it("juju.so in a foreign host refuses to run what it could not report on", function()
    if hookenv.transport() ~= "exec" then return end   -- only exec starts children
    local cpath = os.getenv("JUJU_CPATH") or "./build/?.so"
    local r = hookenv.run({ "-i", "CHLD", "--", "lua5.4", "-e", [[
      package.cpath = os.getenv("JUJU_CPATH") .. ";" .. package.cpath
      local juju = require "juju"
      local ok, err = pcall(juju.relation_set, { a = "b" }, 3)
      assert(not ok and getmetatable(err) == juju.Error, tostring(err))
      assert(err.returncode == nil and not err.started, "reported as run")
      io.write(err.message)
    ]] }, { program = sigrun, env = { JUJU_CPATH = cpath, LD_PRELOAD = os.getenv("LD_PRELOAD") or false } })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.matches("SIGCHLD is ignored", r.stdout, 1, true)
    assert.equal(0, hookenv.ncalls(), "the command must not have run")
  end)
end)

describe("a stop signal during a hook command #integration", function()
  local tmp

  before_each(function()
    hookenv.reset()
    tmp = hookenv.tmpdir()
    assert(require("lfs").mkdir(tmp .. "/secrets"))
  end)

  after_each(function()
    hookenv.rmtree(tmp)
  end)

  --- Start dispatch running secret_add in the background (its TMPDIR our
  -- secrets dir), wait until the fake secret-add is sleeping, send sig.
  -- @treturn int the status the shell saw, 128 + the signal number
  local function stop_during_secret_add(sig)
    local socket = hookenv.transport() == "socket"
    local mark = socket and hookenv.agent_log_mark()
    -- The agent runs one call at a time: keep its command short there,
    -- but long enough for a loaded machine to get the signal in first.
    hookenv.respond("secret-add", { stdout = "secret:x\n", sleep = socket and 3 or 30 })
    hookenv.sh(("(TMPDIR=%s %s -e %s 2>%s & echo $! > %s; wait $!; echo $? > %s) >/dev/null 2>&1 &"):format(
      quote(tmp .. "/secrets"), quote(hookenv.dispatch_path()),
      quote('juju.secret_add{password = "s3cret-plaintext"}'), quote(tmp .. "/stderr"),
      quote(tmp .. "/pid"), quote(tmp .. "/status")))
    local sleeping = hookenv.fake_dir() .. "/calls/000001.sleeping"
    assert.is_true(wait_for(function() return hookenv.exists(sleeping) end, 10),
      "the fake secret-add never started")
    local pid = assert(hookenv.read_file(tmp .. "/pid")):match("%d+")
    -- the secret is on disk while the command runs
    assert.equal(1, #entries(tmp .. "/secrets"))
    hookenv.sh("kill -" .. sig .. " " .. pid)
    assert.is_true(wait_for(function() return hookenv.exists(tmp .. "/status") end, 10),
      "dispatch did not stop")
    local status
    wait_for(function()
      status = math.tointeger(tonumber(hookenv.read_file(tmp .. "/status") or ""))
      return status ~= nil
    end, 2)
    if socket then
      -- the agent finishes the call on its own: let it, so that later
      -- specs see only their own calls in its log
      assert.is_true(wait_for(function() return #hookenv.agent_log_since(mark) > 0 end, 10))
    end
    return status
  end

  for name, num in pairs(SIGNALS) do
    it("SIG" .. name .. ": removes the secret files, ends the child, dies of the signal", function()
      local status = stop_during_secret_add(name)
      assert.equal(128 + num, status)
      assert.same({}, entries(tmp .. "/secrets"))
      if hookenv.transport() == "exec" then
        -- the child was dispatch's own: it is gone, not left sleeping
        local child = hookenv.read_file(hookenv.fake_dir() .. "/calls/000001.pid"):match("%d+")
        assert.is_false(hookenv.exists("/proc/" .. child), "secret-add still running")
      end
      assert.equal("", hookenv.read_file(tmp .. "/stderr"))
    end)
  end
end)
