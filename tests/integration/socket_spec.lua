-- Over the agent socket only: what the fake agent logged about each RPC.

local hookenv = require "helpers.hookenv"

local juju = hookenv.juju()

local NO_STDIN = "hook tool requires stdin, none supplied"

local describe_socket = hookenv.transport() == "socket" and describe or pending

describe_socket("the agent socket transport #integration", function()
  local mark

  before_each(function()
    hookenv.reset()
    mark = hookenv.agent_log_mark()
  end)

  it("juju.transport() says socket", function()
    assert.equal("socket", juju.transport())
  end)

  it("one RPC per call, with the context id and this process's absolute dir", function()
    hookenv.respond("config-get", { stdout = "{}\n" })
    hookenv.respond("is-leader", { stdout = "true\n" })
    hookenv.respond("state-get", { stdout = "null\n" })
    juju.config_get()
    juju.is_leader()
    juju.state_get()
    juju.juju_log("x")
    local log = hookenv.agent_log_since(mark)
    local cwd = hookenv.cwd()
    assert.equal(4, #log)
    local want = {
      { "config-get", { "--format=json" } },
      { "is-leader", { "--format=json" } },
      { "state-get", { "--format=json" } },
      { "juju-log", { "--log-level", "INFO", "--", "x" } },
    }
    for i, rec in ipairs(log) do
      assert.equal(want[i][1], rec.command)
      assert.same(want[i][2], rec.args)
      assert.equal(os.getenv("JUJU_CONTEXT_ID"), rec.context)
      assert.equal(cwd, rec.dir)
      assert.is_false(rec.stdin_set)
      assert.equal("", rec.error)
    end
    assert.equal(4, hookenv.ncalls())
  end)

  it("relation_set pre-sends stdin on the first attempt", function()
    juju.relation_set({ a = "1" }, 3)
    local log = hookenv.agent_log_since(mark)
    assert.equal(1, #log)
    assert.equal("relation-set", log[1].command)
    assert.same({ "-r", "3", "--file", "-" }, log[1].args)
    assert.is_true(log[1].stdin_set)
    assert.equal(#'{"a": "1"}', log[1].stdin_len)
    assert.equal("", log[1].error)
    assert.equal('{"a": "1"}', hookenv.call(1).stdin)
  end)

  it("a command that reads stdin it was not fed is retried exactly once", function()
    -- "--file=-" makes Juju's command read stdin; config_get does not feed any.
    hookenv.respond("config-get", { stdout = '"v"\n' })
    assert.equal("v", juju.config_get("--file=-"))
    local log = hookenv.agent_log_since(mark)
    assert.equal(2, #log)
    assert.is_false(log[1].stdin_set)
    assert.equal(NO_STDIN, log[1].error)
    assert.is_true(log[2].stdin_set)
    assert.equal("", log[2].error)
    for _, rec in ipairs(log) do
      assert.equal("config-get", rec.command)
      assert.same({ "--format=json", "--file=-" }, rec.args)
    end
    -- The tool ran once, on the retry, with the (empty) stdin now set.
    assert.equal(1, hookenv.ncalls())
    assert.equal(log[2].stdin_len, #hookenv.call(1).stdin)
  end)

  it("build/dispatch uses the socket too, with its own cwd as dir", function()
    local tmp = hookenv.tmpdir()
    hookenv.respond("config-get", { stdout = "{}\n" })
    local r = hookenv.run({ "-e", "juju.config_get() juju.relation_set({k = 'v'}, 1) print(juju.transport())" },
                          { cwd = tmp })
    local real = io.popen("cd " .. hookenv.quote(tmp) .. " && pwd -P"):read("l")
    hookenv.rmtree(tmp)
    assert.equal("", r.stderr)
    assert.equal("socket\n", r.stdout)
    local log = hookenv.agent_log_since(mark)
    assert.equal(2, #log)
    assert.equal(real, log[1].dir)
    assert.equal(real, log[2].dir)
    assert.is_true(log[2].stdin_set)
  end)

  it("a stale module instance never closes the state's connection (busted's insulation does this)", function()
    hookenv.respond("is-leader", { stdout = "true\n" })
    local r = hookenv.run({ "-e", [[
      juju.is_leader()
      package.loaded.juju = nil
      local again = require "juju"
      assert(again ~= juju, "a new module table")
      assert(again.Error == juju.Error and again.json == juju.json, "one Error and json per state")
      collectgarbage(); collectgarbage()
      again.is_leader()
      juju = nil
      collectgarbage(); collectgarbage()
      again.is_leader()
    ]] })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    local log = hookenv.agent_log_since(mark)
    assert.equal(3, #log)
    -- one connection for all three calls: no reconnect after a collection
    assert.equal(log[1].conn, log[2].conn)
    assert.equal(log[1].conn, log[3].conn)
  end)

  it("the same holds for juju.so in a stock lua5.4 (this process)", function()
    hookenv.respond("is-leader", { stdout = "true\n" })
    juju.is_leader()
    package.loaded.juju = nil
    local again = require "juju"
    collectgarbage()
    collectgarbage()
    again.is_leader()
    package.loaded.juju = juju
    local log = hookenv.agent_log_since(mark)
    assert.equal(2, #log)
    assert.equal(log[1].conn, log[2].conn)
  end)
end)
