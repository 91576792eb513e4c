-- The host, build/dispatch, run as Juju and as an interpreter: --version,
-- -e, FILE.lua, and hook mode with a real charm directory.

local hookenv = require "helpers.hookenv"

--- Make a charm directory with the given files ({relative path = text}).
local function make_charm(files)
  local root = hookenv.tmpdir()
  for rel, text in pairs(files) do
    local dir = rel:match("^(.*)/[^/]+$")
    if dir then hookenv.sh("mkdir -p " .. hookenv.quote(root .. "/" .. dir)) end
    hookenv.write_file(root .. "/" .. rel, text)
  end
  return root
end

-- A charm that reports what it was given and what it can see.
local REPORTING_CHARM = {
  ["src/charm.lua"] = [[
local event, path = ...
local juju = require "juju"
local cjson = require "cjson"
local helper = require "helper"
local libmod = require "libmod"
local pkg = require "pkg"
print("event=" .. tostring(event))
print("path=" .. tostring(path))
print("nargs=" .. select("#", ...))
print("helper=" .. helper.name .. " libmod=" .. libmod.name .. " pkg=" .. pkg.name)
print("package.path=" .. package.path)
print("juju=" .. type(juju.juju_log) .. " cjson=" .. type(cjson.encode))
juju.juju_log("hello from " .. event)
]],
  ["src/helper.lua"] = 'return { name = "src-helper" }\n',
  ["lib/libmod.lua"] = 'return { name = "lib-module" }\n',
  ["lib/pkg/init.lua"] = 'return { name = "lib-pkg" }\n',
}

--- Parse the reporting charm's output into a table.
local function report(stdout)
  local out = {}
  for line in stdout:gmatch("[^\n]+") do
    local k, v = line:match("^([%w.]+)=(.*)$")
    if k then out[k] = v end
  end
  return out
end

describe("build/dispatch as an interpreter #integration", function()
  local tmp

  before_each(function()
    hookenv.reset()
    tmp = hookenv.tmpdir()
  end)

  after_each(function()
    hookenv.rmtree(tmp)
  end)

  it("--version", function()
    local r = hookenv.run({ "--version" })
    assert.equal(0, r.code)
    assert.matches("^dispatch %d+%.%d+%.%d+ %(Lua 5%.4%.%d+%)\n?$", r.stdout)
  end)

  it("--help gives the usage, hook mode included", function()
    for _, flag in ipairs { "--help", "-h" } do
      local r = hookenv.run({ flag })
      assert.equal(0, r.code)
      assert.equal("", r.stderr)
      assert.matches("usage: dispatch", r.stdout, 1, true)
      assert.matches("JUJU_DISPATCH_PATH", r.stdout, 1, true)
      assert.matches("-e CODE", r.stdout, 1, true)
    end
  end)

  it("an unknown option: exit 1 and the usage on stderr", function()
    local r = hookenv.run({ "--frobnicate" })
    assert.equal(1, r.code)
    assert.matches("unrecognized option '--frobnicate'", r.stderr, 1, true)
    assert.matches("usage: dispatch", r.stderr, 1, true)
  end)

  it("arg is set in -e mode as lua.c sets it", function()
    local r = hookenv.run({ "-e", "print(arg[0], arg[1], #arg)" })
    assert.equal("", r.stderr)
    assert.equal(hookenv.dispatch_path() .. "\t-e\t2\n", r.stdout)
    local script = tmp .. "/s.lua"
    hookenv.write_file(script, "print(arg[0], arg[1])\n")
    r = hookenv.run({ "-e", "print(arg[-1], arg[-2], arg[0])", script, "x" })
    assert.equal("", r.stderr)
    assert.equal("print(arg[-1], arg[-2], arg[0])\t-e\t" .. script .. "\n" .. script .. "\tx\n", r.stdout)
  end)

  it("cjson is still there, loaded when first asked for", function()
    local r = hookenv.run({ "-e", [[
      assert(package.loaded.cjson == cjson)
      print(require("cjson.safe").encode({ 1 }), juju.json.encode({ n = 1234567890123456 }))
    ]] })
    assert.equal("", r.stderr)
    assert.equal('[1]\t{"n":1234567890123456}\n', r.stdout)
  end)

  it("juju and cjson are opened on first use, into the tables require gives", function()
    -- a run that never touches them pays nothing for them: until then the
    -- tables are empty (next finds nothing), then the module fills them
    local r = hookenv.run({ "-e", [[
      local j, c = rawget(_G, "juju"), rawget(_G, "cjson")
      print(next(j) == nil, next(c) == nil, package.loaded.cjson == c)
      print(c.encode({ 1 }), rawget(c, "encode") ~= nil, require("cjson") == c)
      local names = {}
      for k in pairs(j) do names[#names + 1] = k end
      print(#names > 37, rawget(j, "config_get") ~= nil, require("juju") == j, getmetatable(j).__name)
    ]] })
    assert.equal("", r.stderr)
    assert.equal("true\ttrue\ttrue\n[1]\ttrue\ttrue\ntrue\ttrue\ttrue\tjuju.Module\n", r.stdout)
  end)

  it("require finds juju again after package.loaded.juju = nil", function()
    local r = hookenv.run({ "-e", [[
      package.loaded.juju = nil
      local again = require "juju"
      assert(again ~= juju and again.Error == juju.Error)
      print(type(again.config_get))
    ]] })
    assert.equal("", r.stderr)
    assert.equal("function\n", r.stdout)
  end)

  it("-e CODE with the juju and cjson globals", function()
    hookenv.respond("is-leader", { stdout = "true\n" })
    local r = hookenv.run({ "-e", [[
      assert(require("juju") == juju and require("cjson") == cjson)
      print(type(juju.config_get), cjson.encode({ 1, 2 }), juju.is_leader(), _VERSION)
    ]] })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.equal("function\t[1,2]\ttrue\tLua 5.4\n", r.stdout)
    assert.same({ { "is-leader", "--format=json" } }, hookenv.argvs())
  end)

  it("FILE.lua a b sets arg and ...", function()
    local script = tmp .. "/script.lua"
    hookenv.write_file(script, [[
      print(arg[0], arg[1], arg[2], #arg, select("#", ...), ...)
      os.exit(3)
    ]])
    local r = hookenv.run({ script, "a b", "-c" })
    assert.equal("", r.stderr)
    assert.equal(3, r.code)
    assert.equal(script .. "\ta b\t-c\t2\t2\ta b\t-c\n", r.stdout)
  end)

  it("FILE.lua finds modules under JUJU_CHARM_DIR/src and lib", function()
    local root = make_charm(REPORTING_CHARM)
    local script = tmp .. "/script.lua"
    hookenv.write_file(script, 'print(require("helper").name, require("pkg").name)\n')
    local r = hookenv.run({ script }, { env = { JUJU_CHARM_DIR = root } })
    hookenv.rmtree(root)
    assert.equal("", r.stderr)
    assert.equal("src-helper\tlib-pkg\n", r.stdout)
  end)

  it("an error in -e: exit 1, message and traceback on stderr", function()
    local r = hookenv.run({ "-e", "local function f() error('boom-1234') end f()" })
    assert.equal(1, r.code)
    assert.matches("boom-1234", r.stderr, 1, true)
    assert.matches("stack traceback", r.stderr, 1, true)
  end)

  it("an uncaught juju.Error in -e names the command on stderr", function()
    hookenv.respond("config-get", { stderr = "ERROR nope\n", exit = 3 })
    local r = hookenv.run({ "-e", "juju.config_get()" })
    assert.equal(1, r.code)
    assert.matches("command [config-get --format=json] exited with status 3", r.stderr, 1, true)
  end)

  it("a missing FILE.lua: exit 1 with a message", function()
    local r = hookenv.run({ tmp .. "/nope.lua" })
    assert.equal(1, r.code)
    assert.matches("nope.lua", r.stderr, 1, true)
  end)

  -- The Lua state's first megabyte comes from a bump allocator, malloc
  -- after it; DISPATCH_ARENA=0 gives everything to malloc. Either way a
  -- program that churns through many times that, growing and shrinking
  -- tables and strings, computes the same thing.
  it("the same results past the start-up buffer, and with DISPATCH_ARENA=0", function()
    local code = [[
      local t, sum = {}, 0
      for i = 1, 200000 do t[i] = ("item %d"):format(i) end
      for round = 1, 20 do
        local parts = {}
        for i = round, #t, 97 do parts[#parts + 1] = t[i] end
        local s = table.concat(parts, ",")
        sum = sum + #s
        t[round] = s:sub(1, 10)
        collectgarbage("step", 100)
      end
      collectgarbage()
      io.write(sum, " ", #t, " ", t[3], " ", math.floor(collectgarbage("count") / 1024) > 1 and "big" or "small")
    ]]
    local with = hookenv.run({ "-e", code })
    local without = hookenv.run({ "-e", code }, { env = { DISPATCH_ARENA = "0" } })
    assert.equal(0, with.code, with.stderr)
    assert.equal(0, without.code, without.stderr)
    assert.matches("^%d+ 200000 item 3,ite big$", with.stdout)
    assert.equal(with.stdout, without.stdout)
  end)

  -- The collector's first step waits until the arena is used up: past
  -- it, garbage is collected as usual, so a hook that churns through far
  -- more than it keeps stays small without ever calling collectgarbage.
  it("collects a hook's garbage once the arena is used up", function()
    local code = [[
      local peak, kept = 0, {}
      for i = 1, 400000 do
        local s = ("%d:"):format(i):rep(40)        -- about 300 bytes of garbage
        if i % 1000 == 0 then kept[#kept + 1] = s end
        if i % 5000 == 0 then peak = math.max(peak, collectgarbage("count")) end
      end
      io.write(#kept, " ", peak < 16 * 1024 and "bounded" or ("peak " .. peak .. " KB"))
    ]]
    for _, arena in ipairs({ "1", "0" }) do
      local r = hookenv.run({ "-e", code }, { env = { DISPATCH_ARENA = arena } })
      assert.equal(0, r.code, r.stderr)
      assert.equal("400 bounded", r.stdout, "DISPATCH_ARENA=" .. arena)
    end
  end)
end)

describe("build/dispatch in hook mode #integration", function()
  local root, evil

  before_each(function()
    hookenv.reset()
    root = make_charm(REPORTING_CHARM)
    -- Modules that would win if LUA_PATH were honoured, and an init that
    -- would break every run if LUA_INIT were.
    evil = hookenv.tmpdir()
    hookenv.write_file(evil .. "/helper.lua", 'return { name = "EVIL" }\n')
  end)

  after_each(function()
    hookenv.rmtree(root)
    hookenv.rmtree(evil)
  end)

  local function hostile_env(extra)
    local env = {
      LUA_PATH = evil .. "/?.lua;;", LUA_PATH_5_4 = evil .. "/?.lua;;",
      LUA_CPATH = evil .. "/?.so;;", LUA_CPATH_5_4 = evil .. "/?.so;;",
      LUA_INIT = "error('LUA_INIT ran')", LUA_INIT_5_4 = "error('LUA_INIT_5_4 ran')",
    }
    for k, v in pairs(extra) do env[k] = v end
    return env
  end

  local function check_report(r, event, path)
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    local rep = report(r.stdout)
    assert.equal(event, rep.event)
    assert.equal(path, rep.path)
    assert.equal("2", rep.nargs)
    assert.equal("helper=src-helper libmod=lib-module pkg=lib-pkg", r.stdout:match("(helper=[^\n]*)"))
    assert.equal("function cjson=function", rep.juju)
    local pp = rep["package.path"]
    assert.equal(1, pp:find(root .. "/src/?.lua;", 1, true), pp)
    assert.truthy(pp:find(root .. "/src/?/init.lua", 1, true), pp)
    assert.truthy(pp:find(root .. "/lib/?.lua", 1, true), pp)
    assert.truthy(pp:find(root .. "/lib/?/init.lua", 1, true), pp)
    assert.is_nil(pp:find(evil, 1, true), "LUA_PATH leaked into package.path")
    assert.same({ { "juju-log", "--log-level", "INFO", "--", "hello from " .. event } },
                hookenv.argvs())
  end

  it("JUJU_DISPATCH_PATH=hooks/install, charm root from JUJU_CHARM_DIR", function()
    local r = hookenv.run({}, {
      cwd = "/",
      env = hostile_env({ JUJU_CHARM_DIR = root, JUJU_DISPATCH_PATH = "hooks/install" }),
    })
    check_report(r, "install", "hooks/install")
  end)

  it("a relation event", function()
    local r = hookenv.run({}, {
      cwd = root,
      env = hostile_env({ JUJU_CHARM_DIR = root, JUJU_DISPATCH_PATH = "hooks/db-relation-changed" }),
    })
    check_report(r, "db-relation-changed", "hooks/db-relation-changed")
  end)

  it("an action path", function()
    local r = hookenv.run({}, {
      cwd = root,
      env = hostile_env({ JUJU_CHARM_DIR = root, JUJU_DISPATCH_PATH = "actions/backup-now" }),
    })
    check_report(r, "backup-now", "actions/backup-now")
  end)

  it("argv[0] fallback: hooks/install -> ../dispatch, root = the executable's dir", function()
    hookenv.sh(("cp %s %s/dispatch && mkdir %s/hooks && ln -s ../dispatch %s/hooks/install"):format(
      hookenv.quote(hookenv.dispatch_path()), hookenv.quote(root), hookenv.quote(root),
      hookenv.quote(root)))
    local r = hookenv.run({}, {
      program = root .. "/hooks/install",
      cwd = "/",
      env = hostile_env({ JUJU_CHARM_DIR = false, JUJU_DISPATCH_PATH = false }),
    })
    assert.equal("", r.stderr)
    local rep = report(r.stdout)
    assert.equal("install", rep.event)
    assert.matches("hooks/install$", rep.path)
    check_report(r, "install", rep.path)
  end)

  it("an uncaught error: exit 1, traceback on stderr, juju-log ERROR with the message", function()
    hookenv.write_file(root .. "/src/charm.lua", [[
      local function deep() error("charm exploded: 4242") end
      deep()
    ]])
    local r = hookenv.run({}, {
      cwd = root,
      env = hostile_env({ JUJU_CHARM_DIR = root, JUJU_DISPATCH_PATH = "hooks/start" }),
    })
    assert.equal(1, r.code)
    assert.matches("charm exploded: 4242", r.stderr, 1, true)
    assert.matches("stack traceback", r.stderr, 1, true)
    local logs = {}
    for _, argv in ipairs(hookenv.argvs()) do
      if argv[1] == "juju-log" then logs[#logs + 1] = argv end
    end
    assert.equal(1, #logs)
    assert.same({ "juju-log", "--log-level", "ERROR", "--" }, { table.unpack(logs[1], 1, 4) })
    assert.equal(5, #logs[1])
    assert.matches("charm exploded: 4242", logs[1][5], 1, true)
    assert.matches("stack traceback", logs[1][5], 1, true)
  end)

  it("an uncaught juju.Error from a hook command is logged with the command and Juju's reason", function()
    hookenv.write_file(root .. "/src/charm.lua", 'require("juju").relation_get(7)\n')
    hookenv.respond("relation-get", { stderr = "ERROR permission denied\n", exit = 2 })
    local r = hookenv.run({}, {
      cwd = root, env = { JUJU_CHARM_DIR = root, JUJU_DISPATCH_PATH = "hooks/db-relation-changed" },
    })
    assert.equal(1, r.code)
    local text = "command [relation-get --format=json -r 7] exited with status 2: ERROR permission denied"
    assert.matches(text, r.stderr, 1, true)
    local last = hookenv.call(-1).argv
    assert.same({ "juju-log", "--log-level", "ERROR", "--" }, { table.unpack(last, 1, 4) })
    assert.matches(text, last[5], 1, true)
  end)

  it("when juju-log cannot take the error: the error once, first, then one short line", function()
    hookenv.write_file(root .. "/src/charm.lua", 'error("charm exploded: 77")\n')
    hookenv.respond("juju-log", { stderr = "ERROR cannot log: agent gone\nsecond line\n", exit = 1 })
    local r = hookenv.run({}, {
      cwd = root, env = { JUJU_CHARM_DIR = root, JUJU_DISPATCH_PATH = "hooks/start" },
    })
    assert.equal(1, r.code)
    local _, tracebacks = r.stderr:gsub("stack traceback", "")
    assert.equal(1, tracebacks)
    local _, mentions = r.stderr:gsub("charm exploded: 77", "")
    assert.equal(1, mentions)
    local last = r.stderr:match("([^\n]*)\n$")
    assert.equal("dispatch: the error above was not sent to juju-log: ERROR cannot log: agent gone", last)
    assert.is_true(r.stderr:find("charm exploded", 1, true) < r.stderr:find("not sent to juju-log", 1, true))
  end)

  it("a missing src/charm.lua: a clear error, exit 1", function()
    assert(os.remove(root .. "/src/charm.lua"))
    local r = hookenv.run({}, {
      cwd = root, env = { JUJU_CHARM_DIR = root, JUJU_DISPATCH_PATH = "hooks/install" },
    })
    assert.equal(1, r.code)
    assert.matches("charm.lua", r.stderr, 1, true)
    assert.equal("", r.stdout)
  end)
end)
