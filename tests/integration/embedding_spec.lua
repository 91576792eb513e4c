-- The embedding: Lua modules under LUA_DIR are compiled into build/dispatch
-- and build/juju.so alike, found through a searcher luaopen_juju installs,
-- and loaded on first use; removing a file removes it from the next build. Builds a private copy with a probe
-- module (LUA_DIR and B pointed at a temporary directory), so it runs once,
-- in the exec pass.

local hookenv = require "helpers.hookenv"

local quote = hookenv.quote

local PROBE = [[
PROBE_LOADS = (PROBE_LOADS or 0) + 1
local M = { name = ..., file = select(2, ...) }
function M.fail()
  error("probe failure")
end
return M
]]

describe("modules embedded from LUA_DIR #integration #once", function()
  local tmp, build

  local function make(...)
    local args = { "make", "-s", "B=" .. quote(build), "LUA_DIR=" .. quote(tmp .. "/lua") }
    for _, target in ipairs { ... } do args[#args + 1] = quote(target) end
    local log = tmp .. "/make.log"
    local ok = os.execute(table.concat(args, " ") .. " >" .. quote(log) .. " 2>&1")
    assert(ok, "make failed:\n" .. (hookenv.read_file(log) or ""))
  end

  local function dispatch(code, env)
    return hookenv.run({ "-e", code }, { program = build .. "/dispatch", env = env })
  end

  local function stock_lua(code)
    return hookenv.run({ "-e", code }, {
      program = "lua5.4",
      env = { JUJU_CPATH = build .. "/?.so", LD_PRELOAD = os.getenv("LD_PRELOAD") or false },
    })
  end

  setup(function()
    tmp = hookenv.tmpdir()
    build = tmp .. "/build"
    hookenv.sh("mkdir -p " .. quote(tmp .. "/lua/juju") .. " " .. quote(tmp .. "/lua/probe"))
    hookenv.write_file(tmp .. "/lua/juju/probe.lua", PROBE)
    hookenv.write_file(tmp .. "/lua/probe/init.lua", PROBE)
    make(build .. "/dispatch", build .. "/juju.so")
  end)

  teardown(function()
    hookenv.rmtree(tmp)
  end)

  it("dispatch finds each, loading a module only when first used", function()
    local r = dispatch([[
      assert(package.loaded["juju.probe"] == nil and package.loaded["probe"] == nil)
      assert(PROBE_LOADS == nil, "loaded before it was required")
      local p = require "juju.probe"
      assert(PROBE_LOADS == nil, "loaded before it was used")
      local name = p.name
      assert(PROBE_LOADS == 1 and name == "juju.probe")
      assert(require("juju.probe").name == "juju.probe" and PROBE_LOADS == 1)
      -- the stand-in and the module are one table: writes go through, pairs sees all
      p.extra = 7
      assert(package.loaded["juju.probe"].extra == 7)
      local keys = {}
      for k in pairs(p) do keys[#keys + 1] = k end
      table.sort(keys)
      assert(table.concat(keys, ",") == "extra,fail,file,name", table.concat(keys, ","))
      local ok, err = pcall(p.fail)
      print(p.name, require("probe").name, err)
    ]])
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    local name, pkg, err = r.stdout:match("^(%S+)\t(%S+)\t(.*)\n$")
    assert.equal("juju.probe", name)
    assert.equal("probe", pkg)
    -- errors and tracebacks name the embedded file and line
    assert.matches("lua/juju/probe.lua:4: probe failure", err, 1, true)
  end)

  it("juju.so carries the same modules, found even before require 'juju'", function()
    local r = stock_lua([[
      package.cpath = os.getenv("JUJU_CPATH") .. ";" .. package.cpath
      local p = require "juju.probe"
      assert(package.loaded.juju, "the juju module was loaded first")
      print(p.name, require("probe").name, PROBE_LOADS)
    ]])
    assert.equal("", r.stderr)
    assert.equal("juju.probe\tprobe\t2\n", r.stdout)
  end)

  it("the embedded module wins over a charm file of the same name, in both builds", function()
    local charm = tmp .. "/charm"
    hookenv.sh("mkdir -p " .. quote(charm .. "/src/juju"))
    hookenv.write_file(charm .. "/src/juju/probe.lua", 'return { name = "shadow" }\n')
    local r = dispatch('print(require("juju.probe").name)', { JUJU_CHARM_DIR = charm })
    assert.equal("juju.probe\n", r.stdout)
    r = stock_lua(([[
      package.cpath = os.getenv("JUJU_CPATH") .. ";" .. package.cpath
      package.path = %q .. "/src/?.lua;" .. package.path
      require "juju"
      print(require("juju.probe").name)
    ]]):format(charm))
    assert.equal("juju.probe\n", r.stdout)
  end)

  it("a module file removed is gone from the next build", function()
    assert(os.remove(tmp .. "/lua/probe/init.lua"))
    make(build .. "/dispatch")
    local r = dispatch([[
      assert(require("juju.probe").name == "juju.probe")
      print(pcall(require, "probe"))
    ]])
    assert.equal("", r.stderr)
    assert.matches("^false\tmodule 'probe' not found", r.stdout)
  end)

  it("a module named juju, or that does not compile, fails the build", function()
    local function embed(root, file, text)
      hookenv.sh("mkdir -p " .. quote(root .. "/" .. file:match("^(.*)/")))
      hookenv.write_file(root .. "/" .. file, text)
      return hookenv.run({ "tools/embed.lua", tmp .. "/out.c", "--", root, root .. "/" .. file },
        { program = "lua5.4" })
    end
    local r = embed(tmp .. "/bad1", "juju/init.lua", "return {}\n")
    assert.equal(1, r.code)
    assert.matches("module name 'juju' cannot be embedded", r.stderr, 1, true)
    r = embed(tmp .. "/bad2", "juju/broken.lua", "return {\n")
    assert.equal(1, r.code)
    assert.matches("broken.lua:2:", r.stderr, 1, true)
  end)

  it("--package NAME DIR names a package's files under NAME, whatever DIR is called", function()
    local pkg, fw = tmp .. "/pkgdir", tmp .. "/fw"
    hookenv.sh("mkdir -p " .. quote(pkg .. "/sub") .. " " .. quote(fw .. "/thing"))
    for _, f in ipairs { "init.lua", "extra.lua", "sub/init.lua" } do
      hookenv.write_file(pkg .. "/" .. f, "return {}\n")
    end
    hookenv.write_file(fw .. "/thing/init.lua", "return {}\n")
    local out = tmp .. "/pkg.c"
    local r = hookenv.run({ "tools/embed.lua", out, "--", fw, fw .. "/thing/init.lua",
      "--package", "mypkg", pkg, pkg .. "/init.lua", pkg .. "/extra.lua", pkg .. "/sub/init.lua" },
      { program = "lua5.4" })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    local names = {}
    for name, chunk in hookenv.read_file(out):gmatch('\n  {"([^"]+)", "@([^"]+)",') do
      names[#names + 1] = name .. "=" .. chunk
    end
    assert.same({
      "thing=" .. fw .. "/thing/init.lua",
      "mypkg=" .. pkg .. "/init.lua",
      "mypkg.extra=" .. pkg .. "/extra.lua",
      "mypkg.sub=" .. pkg .. "/sub/init.lua",
    }, names)
    -- a package module whose name the framework has already: refused
    hookenv.sh("mkdir -p " .. quote(fw .. "/mypkg"))
    hookenv.write_file(fw .. "/mypkg/extra.lua", "return {}\n")
    r = hookenv.run({ "tools/embed.lua", out, "--", fw, fw .. "/mypkg/extra.lua",
      "--package", "mypkg", pkg, pkg .. "/extra.lua" }, { program = "lua5.4" })
    assert.equal(1, r.code)
    assert.matches("both would be module 'mypkg.extra'", r.stderr, 1, true)
    -- a file outside the package's directory, and a package name that is none
    r = hookenv.run({ "tools/embed.lua", out, "--", fw, "--package", "mypkg", pkg, fw .. "/thing/init.lua" },
      { program = "lua5.4" })
    assert.equal(1, r.code)
    assert.matches("is not under " .. pkg, r.stderr, 1, true)
    r = hookenv.run({ "tools/embed.lua", out, "--", fw, "--package", "my..pkg", pkg, pkg .. "/init.lua" },
      { program = "lua5.4" })
    assert.equal(1, r.code)
    assert.matches("--package my..pkg: not a module name", r.stderr, 1, true)
  end)
end)
