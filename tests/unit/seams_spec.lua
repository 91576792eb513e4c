-- The seams the framework and its test harness stand on: the hook's
-- environment through one replaceable function, a runner that may yield,
-- and one set of module internals per Lua state.

local juju = require "juju"
local recorder = require "helpers.recorder"

describe("juju.getenv and juju.set_env #unit", function()
  after_each(function() juju.set_env(nil) end)

  it("read the process environment by default", function()
    assert.equal(os.getenv("PATH"), juju.getenv("PATH"))
    assert.is_nil(juju.getenv("DISPATCH_SURELY_NOT_SET_93"))
  end)

  it("a table stands in for the whole environment", function()
    juju.set_env { JUJU_UNIT_NAME = "app/0", JUJU_RELATION_ID = "db:3" }
    assert.equal("app/0", juju.getenv("JUJU_UNIT_NAME"))
    assert.equal("db:3", juju.getenv("JUJU_RELATION_ID"))
    assert.is_nil(juju.getenv("PATH"))
  end)

  it("a function may answer instead", function()
    local asked = {}
    juju.set_env(function(name)
      asked[#asked + 1] = name
      if name == "JUJU_MODEL_NAME" then return "prod" end
    end)
    assert.equal("prod", juju.getenv("JUJU_MODEL_NAME"))
    assert.is_nil(juju.getenv("HOME"))
    assert.same({ "JUJU_MODEL_NAME", "HOME" }, asked)
  end)

  it("nil puts the process environment back", function()
    juju.set_env {}
    assert.is_nil(juju.getenv("PATH"))
    juju.set_env(nil)
    assert.equal(os.getenv("PATH"), juju.getenv("PATH"))
  end)

  it("refuses what is not an environment", function()
    assert.has_error(function() juju.set_env("JUJU_UNIT_NAME=x") end)
    assert.has_error(function() juju.getenv() end)
    juju.set_env { JUJU_UNIT_NAME = 7 }
    local ok, err = pcall(juju.getenv, "JUJU_UNIT_NAME")
    assert.is_false(ok)
    assert.matches("number for JUJU_UNIT_NAME", err, 1, true)
  end)
end)

describe("a runner that yields #unit", function()
  after_each(function() juju.set_runner(nil) end)

  it("suspends the hook command until resumed with Juju's answer", function()
    juju.set_runner(function(argv, stdin)
      local rc, out = coroutine.yield(argv, stdin)
      return rc, out, ""
    end)
    local co = coroutine.create(function()
      return juju.relation_get(3, { key = "k" }), juju.is_leader()
    end)
    local ok, argv = coroutine.resume(co)
    assert.is_true(ok)
    assert.same({ "relation-get", "--format=json", "-r", "3", "k" }, argv)
    ok, argv = coroutine.resume(co, 0, '"v"\n')
    assert.is_true(ok)
    assert.same({ "is-leader", "--format=json" }, argv)
    local value, leader
    ok, value, leader = coroutine.resume(co, 0, "true\n")
    assert.is_true(ok)
    assert.equal("v", value)
    assert.is_true(leader)
    assert.equal("dead", coroutine.status(co))
  end)

  it("raises juju.Error after the resume, as a direct call would", function()
    juju.set_runner(function() return coroutine.yield() end)
    local co = coroutine.wrap(function() return pcall(juju.config_get) end)
    co()
    local ok, err = co(2, "", "ERROR nope\n")
    assert.is_false(ok)
    assert.equal(juju.Error, getmetatable(err))
    assert.equal(2, err.returncode)
  end)

  it("keeps stdin and the secret files alive while suspended, and removes them after", function()
    local path
    juju.set_runner(function(argv)
      path = argv[#argv]:match("#file=(.*)$")
      coroutine.yield()
      return 0, "secret:x\n", ""
    end)
    local co = coroutine.create(function() return juju.secret_add { password = "pw" } end)
    assert.is_true(coroutine.resume(co))
    local f = assert(io.open(path, "rb"))
    assert.equal("pw", f:read("a"))
    f:close()
    local ok, id = coroutine.resume(co)
    assert.is_true(ok)
    assert.equal("secret:x", id)
    assert.is_nil(io.open(path, "rb"))
  end)

  it("a suspended call that is never resumed releases its files when collected", function()
    local path
    juju.set_runner(function(argv)
      path = argv[#argv]:match("#file=(.*)$")
      coroutine.yield()
    end)
    local co = coroutine.create(function() return juju.secret_add { password = "pw" } end)
    coroutine.resume(co)
    assert.truthy(io.open(path, "rb")):close()
    co = nil   -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.is_nil(io.open(path, "rb"))
  end)
end)

describe("one set of module internals per Lua state #unit", function()
  local rec = recorder.setup(juju)

  it("a stale instance shares juju.Error, juju.json and the runner", function()
    rec:on("relation-get", 2, "", "ERROR x\n")
    package.loaded.juju = nil
    local again = require "juju"
    package.loaded.juju = juju
    collectgarbage()
    collectgarbage()
    assert.are_not.equal(juju, again)
    assert.equal(juju.Error, again.Error)
    assert.equal(juju.json, again.json)
    assert.equal(juju.json, package.loaded["juju.json"])
    local ok, err = pcall(again.relation_get, 3)
    assert.is_false(ok)
    assert.equal(juju.Error, getmetatable(err))
    assert.equal(1, rec:count())
    assert.equal("lua", again.transport())
  end)
end)
