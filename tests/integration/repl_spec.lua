-- dispatch -i with the real binary, its input a pipe: expressions print
-- their values, statements run, multi-line chunks continue, errors show
-- their traceback and the prompt goes on; in a hook's context the model,
-- config, stored state and the charm are there, read from Juju (the
-- recording fake hook commands) when first used, and flush() writes.

local hookenv = require "helpers.hookenv"

local quote = hookenv.quote

describe("dispatch -i #integration", function()
  local dir

  before_each(function()
    hookenv.reset()
    dir = hookenv.tmpdir()
    hookenv.sh("mkdir -p " .. quote(dir .. "/src"))
    hookenv.write_file(dir .. "/src/charm.lua", [[
local c = require("juju.charm").new()
c:on("install", function() end)
return c
]])
  end)
  after_each(function() hookenv.rmtree(dir) end)

  local function repl(input, env)
    local e = { JUJU_UNIT_NAME = false, JUJU_DISPATCH_PATH = false }
    for k, v in pairs(env or {}) do e[k] = v end
    return hookenv.run({ "-i" }, { stdin = input, env = e, cwd = dir })
  end

  it("prints expressions, runs statements, continues open chunks, goes on after an error", function()
    local r = repl("x = 6 * 7\nx\nfunction f(a)\n  return a, a * 2\nend\nf(2)\nerror('oops')\n"
      .. "{ 1, 'two', k = { nested = true } }\n'line\\nbreak'\nnil\n")
    assert.equal(0, r.code, r.stderr)
    local lines = {}
    for l in r.stdout:gmatch("[^\n]*") do lines[#lines + 1] = l end
    assert.matches("^dispatch [%d.]+ %(Lua 5%.4%.%d+%)$", lines[1])
    assert.equal("42", lines[2])
    assert.equal("2\t4", lines[3])
    assert.equal("stdin:1: oops", lines[4])
    assert.matches("stack traceback:", r.stdout, 1, true)
    assert.matches('\n{ 1, "two", k = { nested = true } }\n"line\\nbreak"\nnil\n', r.stdout, 1, true)
    assert.is_nil(r.stdout:find("repl.lua", 1, true))
  end)

  it("a syntax error is shown and the prompt goes on", function()
    local r = repl("1 +* 2\n'after'\n")
    assert.equal(0, r.code)
    assert.matches("stdin:1: unexpected symbol near '1'", r.stdout, 1, true)   -- as lua.c says it
    assert.matches('\n"after"\n', r.stdout, 1, true)
  end)

  it("in a hook's context: model, config and state from Juju when first used; flush() writes", function()
    hookenv.respond("config-get", { stdout = '{"port": 8080, "page": "hi"}\n' })
    hookenv.respond("is-leader", { stdout = "true\n" })
    hookenv.respond("state-get", { stdout = '{"charm.port": "8080"}\n' })
    local r = repl("config.port\nmodel:is_leader()\nstate.port\nstate.port = 9000\nflush()\nmodel.unit\n"
      .. "charm ~= nil\n", {
      JUJU_UNIT_NAME = "web/0", JUJU_DISPATCH_PATH = "hooks/config-changed", JUJU_CHARM_DIR = dir,
      JUJU_MODEL_NAME = "m", JUJU_MODEL_UUID = "00000000-0000-4000-8000-000000000000",
    })
    assert.equal(0, r.code, r.stderr)
    assert.matches("^dispatch [%d.]+ %(Lua [%d.]+%), unit web/0, in hooks/config%-changed\n8080\ntrue\n8080\n"
      .. '"web/0"\ntrue\n', r.stdout)
    local names = {}
    for _, c in ipairs(hookenv.calls()) do names[#names + 1] = c.argv[1] end
    assert.same({ "config-get", "is-leader", "state-get", "state-set" }, names)
    local set = hookenv.calls()[4]
    assert.matches('"charm.port": "9000"', set.stdin, 1, true)
  end)

  it("outside a hook: no model, and nothing is asked of Juju", function()
    local r = repl("model\njuju.json.encode{ a = 1 }\n")
    assert.equal(0, r.code, r.stderr)
    assert.matches('\nnil\n"{\\"a\\":1}"\n', r.stdout, 1, true)
    assert.equal(0, hookenv.ncalls())
  end)

  it("-e runs first, then the prompt", function()
    local r = hookenv.run({ "-e", "greeting = 'hi'", "-i" }, { stdin = "greeting\n", cwd = dir })
    assert.equal(0, r.code, r.stderr)
    assert.matches('\n"hi"\n', r.stdout, 1, true)
  end)
end)
