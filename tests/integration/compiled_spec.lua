-- A packed charm's Lua, compiled at pack time (tools/pack.lua --compile):
-- dispatch loads the chunk instead of parsing the source while the two
-- match, and the source whenever they do not (an edit on the unit, a
-- damaged or foreign chunk). Errors name src/charm.lua either way. Runs
-- once, in the exec pass.

local hookenv = require "helpers.hookenv"
local zip = require "helpers.zip"

local quote = hookenv.quote
local ROOT = hookenv.cwd()

local CHARMCRAFT = [[
type: charm
name: compiled-probe
summary: A charm whose Lua is compiled when packed.
description: Used by the tests of dispatch.
base: ubuntu@24.04
platforms:
  amd64:
parts:
  charm:
    plugin: dump
    source: .
]]

-- The charm says where its code came from: the chunk name of a function
-- defined in it ("@src/..." compiled, "@/full/path/src/..." parsed).
local CHARM = [[
local juju = require "juju"
local helper = require "helper"
juju.juju_log(debug.getinfo(1, "S").source .. " " .. helper.where() .. " " .. helper.version)
if os.getenv("PROBE_FAIL") then error("probe failure") end
]]

local HELPER = [[
local M = { version = "v1" }
function M.where() return debug.getinfo(1, "S").source end
return M
]]

describe("compiled charm Lua #integration #once", function()
  local tmp, charm

  local function pack(dir, compile)
    local args = { ROOT .. "/tools/pack.lua", "--charm", dir, "--dispatch", hookenv.dispatch_path(),
                   "--out", tmp .. "/probe.charm" }
    if compile then args[#args + 1] = "--compile" end
    return hookenv.run(args, { program = "lua5.4", cwd = ROOT })
  end

  local function unpack_charm()
    charm = tmp .. "/charm"
    if hookenv.exists(charm) then hookenv.rmtree(charm) end
    hookenv.sh("mkdir -p " .. quote(charm))
    zip.extract(zip.read_file(tmp .. "/probe.charm"), charm)
  end

  --- Run the unpacked charm's install hook; returns the result and what it logged.
  local function install(env)
    hookenv.reset()
    local e = { JUJU_DISPATCH_PATH = "hooks/install", JUJU_CHARM_DIR = charm }
    for k, v in pairs(env or {}) do e[k] = v end
    local r = hookenv.run({}, { program = charm .. "/dispatch", cwd = "/", env = e })
    local calls = hookenv.argvs()
    return r, calls[1] and calls[1][5]
  end

  before_each(function()
    tmp = hookenv.tmpdir()
    local src = tmp .. "/src-charm"
    hookenv.sh("mkdir -p " .. quote(src .. "/src"))
    hookenv.write_file(src .. "/charmcraft.yaml", CHARMCRAFT)
    hookenv.write_file(src .. "/src/charm.lua", CHARM)
    hookenv.write_file(src .. "/src/helper.lua", HELPER)
    local r = pack(src, true)
    assert(r.code == 0, r.stderr)
    unpack_charm()
  end)

  after_each(function() hookenv.rmtree(tmp) end)

  it("packs each Lua file's chunk next to it", function()
    local names = {}
    for _, e in ipairs(zip.read_file(tmp .. "/probe.charm").entries) do names[#names + 1] = e.name end
    table.sort(names)
    assert.is_truthy(table.concat(names, " "):find(".dispatch/luac/src/charm.lua .dispatch/luac/src/helper.lua",
      1, true))
  end)

  it("loads the compiled chunks while they match the source", function()
    local r, logged = install()
    assert.equal("", r.stderr)
    assert.equal("@src/charm.lua @src/helper.lua v1", logged)
  end)

  it("an edit on the unit wins at once: the edited file is parsed, the other stays compiled", function()
    local helper = charm .. "/src/helper.lua"
    hookenv.write_file(helper, (hookenv.read_file(helper):gsub("v1", "v2")))
    local r, logged = install()
    assert.equal("", r.stderr)
    assert.equal("@src/charm.lua @" .. charm .. "/src/helper.lua v2", logged)
  end)

  it("a damaged or foreign chunk falls back to the source", function()
    local chunk = charm .. "/.dispatch/luac/src/charm.lua"
    local good = hookenv.read_file(chunk)
    for _, bad in ipairs {
      "",                                            -- empty
      good:sub(1, 10),                               -- cut inside the header
      "XLUAC" .. good:sub(6),                        -- not our magic
      good:sub(1, 22) .. "not Lua bytecode at all",  -- header right, chunk not Lua's
      good:sub(1, #good - 20),                       -- truncated chunk
    } do
      hookenv.write_file(chunk, bad)
      local r, logged = install()
      assert.equal("", r.stderr)
      assert.equal("@" .. charm .. "/src/charm.lua @src/helper.lua v1", logged)
    end
    os.remove(chunk)
    local r, logged = install()
    assert.equal(0, r.code)
    assert.equal("@" .. charm .. "/src/charm.lua @src/helper.lua v1", logged)
  end)

  it("errors still name the file and line", function()
    local r = install { PROBE_FAIL = "1" }
    assert.equal(1, r.code)
    assert.matches("src/charm.lua:4: probe failure", r.stderr, 1, true)
    assert.matches("stack traceback", r.stderr, 1, true)
  end)

  it("without --compile there are no chunks, and the source runs", function()
    local r = pack(tmp .. "/src-charm", false)
    assert.equal(0, r.code)
    unpack_charm()
    assert.is_false(hookenv.exists(charm .. "/.dispatch"))
    local _, logged = install()
    assert.equal("@" .. charm .. "/src/charm.lua @" .. charm .. "/src/helper.lua v1", logged)
  end)

  it("a syntax error fails the pack, naming the file and line", function()
    hookenv.write_file(tmp .. "/src-charm/src/helper.lua", "return {\n")
    local r = pack(tmp .. "/src-charm", false)
    assert.equal(1, r.code)
    assert.matches("src/helper.lua:2:", r.stderr, 1, true)
  end)
end)
