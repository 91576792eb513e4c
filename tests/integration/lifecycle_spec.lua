-- Many calls in one process leak nothing: the fd count and the set of
-- children are the same after 1,000 calls as after the first one (the
-- first call may open the agent connection, which is kept on purpose).

local hookenv = require "helpers.hookenv"

local juju = hookenv.juju()

local N = 1000
-- Under check-asan every tool juju.so starts from busted inherits the ASan
-- runtime through LD_PRELOAD and starts several times slower; the
-- in-process loop then runs fewer calls (build/dispatch still runs N).
local N_IN_PROCESS = os.getenv("DISPATCH_ASAN_OPTIONS") and N // 4 or N

local PROBE = hookenv.PROBE

describe("1,000 calls in one process #integration", function()
  before_each(hookenv.reset)

  it("build/dispatch: same fds, same children, no zombies", function()
    hookenv.respond("config-get", { stdout = '{"name":"x","port":8080}\n' })
    local r = hookenv.run({ "-e", PROBE .. ([[
      assert(juju.config_get().port == 8080)
      local before = probe()
      for _ = 1, %d do
        local c = juju.config_get()
        assert(c.name == "x" and math.type(c.port) == "integer")
      end
      local after = probe()
      print(before)
      print(after)
    ]]):format(N) })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    local before, after = r.stdout:match("^([^\n]+)\n([^\n]+)\n$")
    assert.truthy(before, r.stdout)
    assert.matches("zombies=0 children=1$", before) -- the probing shell
    assert.equal(before, after)
    assert.equal(N + 1, hookenv.ncalls())
    assert.same({ "config-get", "--format=json" }, hookenv.call(N + 1).argv)
  end)

  it("build/dispatch: failing calls leak nothing either", function()
    hookenv.respond("relation-get", { stdout = "x", stderr = "ERROR relation not found\n", exit = 2 })
    local r = hookenv.run({ "-e", PROBE .. ([[
      local function fail()
        local ok, err = pcall(juju.relation_get, 3)
        assert(not ok and err.returncode == 2 and err.stderr == "ERROR relation not found\n")
      end
      fail()
      local before = probe()
      for _ = 1, %d do fail() end
      print(before)
      print(probe())
    ]]):format(N // 10) })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    local before, after = r.stdout:match("^([^\n]+)\n([^\n]+)\n$")
    assert.truthy(before, r.stdout)
    assert.matches("zombies=0", before)
    assert.equal(before, after)
  end)

  it("juju.so in this process: same fds, no children left", function()
    hookenv.respond("is-leader", { stdout = "false\n" })
    assert.is_false(juju.is_leader())
    local fds_before = hookenv.fds()
    local children_before = hookenv.children()
    for _ = 1, N_IN_PROCESS do assert.is_false(juju.is_leader()) end
    assert.same(fds_before, hookenv.fds())
    assert.same(children_before, hookenv.children())
    assert.same({}, hookenv.children())
    assert.equal(N_IN_PROCESS + 1, hookenv.ncalls())
  end)
end)
