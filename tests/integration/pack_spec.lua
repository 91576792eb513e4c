-- tools/pack.lua, make charm and make new-charm: a charm directory becomes
-- a .charm (a zip) that Juju accepts, without charmcraft. Each .charm is
-- read back with tests/helpers/zip.lua (and Python's zipfile and unzip -Z
-- where they are installed); the generated YAML files are loaded back with
-- lyaml and compared with charmcraft.yaml; the packed dispatch is extracted
-- and run. Packing does not depend on the transport, so this runs once, in
-- the exec pass.

local hookenv = require "helpers.hookenv"
local fs = require "helpers.fs"
local zip = require "helpers.zip"
local lyaml = require "lyaml"

local quote = hookenv.quote

local ROOT = hookenv.cwd()
local PACK = ROOT .. "/tools/pack.lua"
local FIXTURE = ROOT .. "/tests/fixtures/pack-charm"
local TEMPLATE = ROOT .. "/charm-template/machine"
local K8S_TEMPLATE = ROOT .. "/charm-template/kubernetes"

--- Whether a program is on PATH.
local function have(program)
  return os.execute("command -v " .. quote(program) .. " >/dev/null 2>&1") == true
end

--- Run lua5.4 tools/pack.lua with arguments.
local function pack(args, env)
  local argv = { PACK }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return hookenv.run(argv, { program = "lua5.4", cwd = ROOT, env = env })
end

--- Copy a directory tree to a new temporary directory.
local function copy_tree(src, tmp, name)
  local dst = tmp .. "/" .. name
  hookenv.sh(("cp -R %s %s"):format(quote(src), quote(dst)))
  return dst
end

--- Load a charm's charmcraft.yaml.
local function load_cc(dir)
  return lyaml.load(assert(hookenv.read_file(dir .. "/charmcraft.yaml")))
end

--- Rewrite a charm's charmcraft.yaml through a function of the loaded
-- document (written back with lyaml.dump).
local function edit_cc(dir, f)
  local cc = load_cc(dir)
  f(cc)
  hookenv.write_file(dir .. "/charmcraft.yaml", lyaml.dump({ cc }))
end

--- A copy of a table (one level).
local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

describe("tools/pack.lua #integration #once", function()
  local tmp, charm, out, dispatch

  before_each(function()
    hookenv.reset()
    tmp = hookenv.tmpdir()
    charm = copy_tree(FIXTURE, tmp, "charm")
    out = tmp .. "/out.charm"
    dispatch = hookenv.dispatch_path()
  end)

  after_each(function()
    hookenv.rmtree(tmp)
  end)

  local function pack_ok(extra, env)
    local args = { "--charm", charm, "--dispatch", dispatch, "--out", out }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    local r = pack(args, env)
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    return zip.read_file(out), r
  end

  local function yaml_entry(archive, name)
    local e = assert(archive.by_name[name], "no " .. name .. " in the .charm")
    return lyaml.load(e.data)
  end

  it("holds the charm's files, the generated YAML and dispatch, and nothing else", function()
    hookenv.write_file(charm .. "/src/.hidden.lua", "return 1\n")
    hookenv.sh("mkdir -p " .. quote(charm .. "/hooks") .. " " .. quote(charm .. "/tests"))
    hookenv.write_file(charm .. "/tests/test.lua", "return 1\n")
    local archive = pack_ok()
    local names = {}
    for _, e in ipairs(archive.entries) do names[#names + 1] = e.name end
    assert.same({
      "LICENSE", "README.md", "actions.yaml", "config.yaml", "dispatch", "icon.svg",
      "lib/", "lib/fixturelib.lua", "manifest.yaml", "metadata.yaml", "src/", "src/charm.lua",
    }, names)
    assert.equal(hookenv.read_file(dispatch), archive.by_name.dispatch.data)
    for _, name in ipairs { "src/charm.lua", "lib/fixturelib.lua", "README.md", "LICENSE", "icon.svg" } do
      assert.equal(hookenv.read_file(charm .. "/" .. name), archive.by_name[name].data, name)
    end
  end)

  it("dispatch is 0755, files 0644, directories 0755, all made by Unix, stored", function()
    local archive = pack_ok()
    for _, e in ipairs(archive.entries) do
      assert.equal(3, e.made_by, e.name)
      assert.equal(0, e.method, e.name)
      if e.name == "dispatch" then
        assert.equal("100755", ("%o"):format(e.mode))
      elseif e.dir then
        assert.equal("40755", ("%o"):format(e.mode), e.name)
        assert.equal(0x10, e.external & 0x10, e.name)
      else
        assert.equal("100644", ("%o"):format(e.mode), e.name)
      end
    end
  end)

  it("manifest.yaml: the base and architecture, analysis unknown", function()
    local m = yaml_entry(pack_ok(), "manifest.yaml")
    assert.same({ { name = "ubuntu", channel = "24.04", architectures = { "amd64" } } }, m.bases)
    assert.same({ attributes = {
      { name = "language", result = "unknown" }, { name = "framework", result = "unknown" },
    } }, m.analysis)
    assert.equal("string", type(m["charmcraft-version"]))
    assert.equal("1980-01-01T00:00:00.000000Z", m["charmcraft-started-at"])
    local n = 0
    for _ in pairs(m) do n = n + 1 end
    assert.equal(4, n)
  end)

  it("metadata.yaml: exactly the metadata keys of charmcraft.yaml, values unchanged", function()
    local cc = load_cc(charm)
    local meta = yaml_entry(pack_ok(), "metadata.yaml")
    local expect = copy(cc)
    for _, k in ipairs { "type", "base", "platforms", "parts", "config", "actions" } do expect[k] = nil end
    assert.same(expect, meta)
    assert.equal("pack-fixture", meta.name)
    assert.equal("prometheus_scrape", meta.provides.metrics)
    assert.equal(lyaml.null, meta["extra-bindings"].public)
  end)

  it("config.yaml and actions.yaml: config: and actions: as written, types kept", function()
    local cc = load_cc(charm)
    local archive = pack_ok()
    local config = yaml_entry(archive, "config.yaml")
    assert.same({ options = cc.config.options }, config)
    assert.equal("integer", math.type(config.options.port.default))
    assert.equal("float", math.type(config.options.ratio.default))
    assert.equal("yes", config.options.greeting.default)
    assert.same(cc.actions, yaml_entry(archive, "actions.yaml"))
    -- an empty mapping stays a mapping, a list stays a list
    assert.matches("\n  params: {}\n", archive.by_name["actions.yaml"].data, 1, true)
    assert.matches("\n  required:\n  %- name\n", archive.by_name["actions.yaml"].data)
  end)

  it("no config: and no actions: -> no config.yaml and no actions.yaml", function()
    edit_cc(charm, function(cc) cc.config = nil; cc.actions = nil end)
    local archive = pack_ok()
    assert.is_nil(archive.by_name["config.yaml"])
    assert.is_nil(archive.by_name["actions.yaml"])
    assert.truthy(archive.by_name["metadata.yaml"])
  end)

  it("the same input gives a byte-identical .charm, whatever the files' times", function()
    pack_ok()
    local first = hookenv.read_file(out)
    hookenv.sh("touch -d '2001-02-03 04:05:06' " .. quote(charm) .. "/src/charm.lua " .. quote(charm) .. "/README.md")
    out = tmp .. "/again.charm"
    local archive = pack_ok()
    assert.equal(first, hookenv.read_file(out))
    for _, e in ipairs(archive.entries) do
      assert.same({ year = 1980, month = 1, day = 1, hour = 0, min = 0, sec = 0 }, zip.dos_time(e.time, e.date))
    end
  end)

  it("SOURCE_DATE_EPOCH sets the entries' times and charmcraft-started-at", function()
    local archive = pack_ok(nil, { SOURCE_DATE_EPOCH = "1700000000" }) -- 2023-11-14 22:13:20 UTC
    for _, e in ipairs(archive.entries) do
      assert.same({ year = 2023, month = 11, day = 14, hour = 22, min = 13, sec = 20 }, zip.dos_time(e.time, e.date))
    end
    assert.equal("2023-11-14T22:13:20.000000Z", yaml_entry(archive, "manifest.yaml")["charmcraft-started-at"])
  end)

  local it_python = have("python3") and it or pending
  local it_unzip = have("unzip") and it or pending

  it_python("Python's zipfile accepts it: lists it, tests every CRC, reads Unix modes", function()
    pack_ok()
    local r = hookenv.run({ "-m", "zipfile", "-t", out }, { program = "python3" })
    assert.equal(0, r.code, r.stderr)
    assert.matches("Done testing", r.stdout, 1, true)
    r = hookenv.run({ "-m", "zipfile", "-l", out }, { program = "python3" })
    assert.equal(0, r.code, r.stderr)
    assert.matches("\ndispatch%s+1980%-01%-01 00:00:00%s+%d+\n", r.stdout)
    r = hookenv.run({ "-c", [[
import sys, zipfile
for i in zipfile.ZipFile(sys.argv[1]).infolist():
    print(i.filename, i.create_system, oct(i.external_attr >> 16))
]], out }, { program = "python3" })
    assert.equal(0, r.code, r.stderr)
    assert.matches("\ndispatch 3 0o100755\n", r.stdout, 1, true)
    assert.matches("\nsrc/ 3 0o40755\n", r.stdout, 1, true)
    assert.matches("\nsrc/charm.lua 3 0o100644\n", r.stdout, 1, true)
  end)

  it_unzip("unzip accepts it: unzip -t, and unzip -Z shows dispatch executable", function()
    pack_ok()
    local r = hookenv.run({ "-t", out }, { program = "unzip" })
    assert.equal(0, r.code, r.stdout .. r.stderr)
    assert.matches("No errors detected", r.stdout, 1, true)
    r = hookenv.run({ "-Z", out }, { program = "unzip" })
    assert.equal(0, r.code, r.stderr)
    assert.matches("\n%-rwxr%-xr%-x  [%d.]+ unx +%d+ b%- stor 80%-Jan%-01 00:00 dispatch\n", r.stdout)
    assert.matches("\ndrwxr%-xr%-x  [%d.]+ unx +0 b%- stor 80%-Jan%-01 00:00 src/\n", r.stdout)
  end)

  it("the extracted charm's dispatch runs: --version, and install in hook mode", function()
    local archive = pack_ok()
    local unit = tmp .. "/unit"
    assert(require("lfs").mkdir(unit))
    zip.extract(archive, unit)
    assert.equal("755", fs.mode(unit .. "/dispatch"))
    assert.equal("644", fs.mode(unit .. "/src/charm.lua"))

    local r = hookenv.run({ "--version" }, { program = unit .. "/dispatch" })
    assert.equal(0, r.code)
    assert.matches("^dispatch %d+%.%d+%.%d+ %(Lua 5%.4%.%d+%)\n?$", r.stdout)

    hookenv.reset()
    r = hookenv.run({}, {
      program = unit .. "/dispatch", cwd = unit,
      env = { JUJU_CHARM_DIR = unit, JUJU_DISPATCH_PATH = "hooks/install" },
    })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.same({ { "juju-log", "--log-level", "INFO", "--", "pack-fixture: install (lib ok)" } },
                hookenv.argvs())
  end)

  it("runs under a stock lua5.4 from any directory: the framework's Lua found next to it, juju.so not needed",
    function()
      local trap = 'package.preload.juju = function() io.stderr:write("juju required\\n"); error("no juju.so") end'
      edit_cc(charm, function(cc) cc.requires.database = lyaml.null end)
      local r = hookenv.run({ "-e", trap, PACK, "--charm", charm, "--dispatch", dispatch, "--out", out },
                            { program = "lua5.4", cwd = tmp })
      assert.equal(1, r.code)
      assert.matches(charm .. "/charmcraft.yaml: requires.database: has no interface:\n", r.stderr, 1, true)
      assert.not_matches("juju required", r.stderr, 1, true)
      edit_cc(charm, function(cc) cc.requires.database = { interface = "postgresql_client" } end)
      r = hookenv.run({ "-e", trap, PACK, "--charm", charm, "--dispatch", dispatch, "--out", out },
                      { program = "lua5.4", cwd = tmp })
      assert.equal("", r.stderr)
      assert.equal(0, r.code)
      assert.truthy(zip.read_file(out).by_name["metadata.yaml"])
    end)

  it("--out-dir writes DIR/<name>.charm", function()
    local r = pack({ "--charm", charm, "--dispatch", dispatch, "--out-dir", tmp })
    assert.equal(0, r.code, r.stderr)
    assert.matches("packed " .. tmp .. "/pack-fixture.charm: pack-fixture for ubuntu@24.04/amd64",
                   r.stdout, 1, true)
    assert.truthy(zip.read_file(tmp .. "/pack-fixture.charm").by_name["dispatch"])
  end)

  it("the platform is chosen by architecture; dispatch must be built for it", function()
    edit_cc(charm, function(cc)
      cc.platforms = { arm64 = lyaml.null, amd64 = lyaml.null }
    end)
    local archive = pack_ok()
    assert.same({ "amd64" }, yaml_entry(archive, "manifest.yaml").bases[1].architectures)

    local r = pack({ "--charm", charm, "--dispatch", dispatch, "--out", out, "--arch", "arm64" })
    assert.equal(1, r.code)
    assert.matches(dispatch .. ": an ELF for amd64, but the charm is packed for arm64", r.stderr, 1, true)

    edit_cc(charm, function(cc) cc.platforms = { arm64 = lyaml.null } end)
    r = pack({ "--charm", charm, "--dispatch", dispatch, "--out", tmp .. "/x.charm" })
    assert.equal(1, r.code)
    assert.matches("charmcraft.yaml: platforms: none builds for amd64 (platforms: arm64 (arm64))",
                   r.stderr, 1, true)
    assert.is_false(fs.exists(tmp .. "/x.charm"))
  end)

  it("multi-base platforms: the platform's own base goes into the manifest", function()
    edit_cc(charm, function(cc)
      cc.base = nil
      cc.platforms = {
        jammy = { ["build-on"] = { "ubuntu@22.04:amd64" }, ["build-for"] = { "ubuntu@22.04:amd64" } },
      }
    end)
    local m = yaml_entry(pack_ok(), "manifest.yaml")
    assert.same({ { name = "ubuntu", channel = "22.04", architectures = { "amd64" } } }, m.bases)
  end)

  it("a script dispatch is packed for the platform asked for", function()
    dispatch = tmp .. "/dispatch.sh"
    hookenv.write_file(dispatch, "#!/bin/sh\nexit 0\n")
    edit_cc(charm, function(cc) cc.platforms = { arm64 = lyaml.null } end)
    local archive = pack_ok({ "--arch", "arm64" })
    assert.same({ "arm64" }, yaml_entry(archive, "manifest.yaml").bases[1].architectures)
    assert.equal("100755", ("%o"):format(archive.by_name.dispatch.mode))
  end)

  describe("refuses what Juju or charmcraft would, naming the file and key", function()
    --- Pack after an edit and expect every message in `want` on stderr,
    -- exit 1 and no .charm.
    local function refuses(f, want)
      edit_cc(charm, f)
      local r = pack({ "--charm", charm, "--dispatch", dispatch, "--out", out })
      assert.equal(1, r.code, r.stderr)
      assert.equal("", r.stdout)
      for _, w in ipairs(type(want) == "table" and want or { want }) do
        assert.matches(charm .. "/charmcraft.yaml: " .. w, r.stderr, 1, true)
      end
      assert.matches("not packed", r.stderr, 1, true)
      assert.is_false(fs.exists(out))
      assert.is_false(fs.exists(out .. ".tmp"))
      return r
    end

    it("missing name, summary, description", function()
      refuses(function(cc) cc.name, cc.summary, cc.description = nil, nil, nil end,
              { "name: missing", "summary: missing", "description: missing" })
    end)

    it("missing base, missing platforms", function()
      refuses(function(cc) cc.base = nil end, "base: missing (e.g. base: ubuntu@24.04)")
      refuses(function(cc) cc.base = "ubuntu@24.04"; cc.platforms = nil end,
              "platforms: missing (e.g. platforms: {amd64: })")
    end)

    it("a base charmcraft does not build for", function()
      refuses(function(cc) cc.base = "ubuntu@23.10" end, 'base: "ubuntu@23.10" is not a base charmcraft builds for')
    end)

    it("bases: (deprecated) for 24.04", function()
      refuses(function(cc)
        cc.base, cc.platforms = nil, nil
        cc.bases = { { name = "ubuntu", channel = "24.04" } }
      end, "bases.1: bases: is deprecated and not accepted for ubuntu 24.04: write base: ubuntu@24.04")
      refuses(function(cc)
        cc.bases = { { ["build-on"] = { { name = "ubuntu", channel = "24.04" } },
                       ["run-on"] = { { name = "ubuntu", channel = "24.04" } } } }
      end, "bases.1.run-on.1: bases: is deprecated and not accepted for ubuntu 24.04")
    end)

    it("bases: for 22.04 is still read (deprecated, not refused)", function()
      edit_cc(charm, function(cc)
        cc.base, cc.platforms = nil, nil
        cc.bases = { { name = "ubuntu", channel = "22.04" } }
      end)
      local m = yaml_entry(pack_ok(), "manifest.yaml")
      assert.same({ { name = "ubuntu", channel = "22.04", architectures = { "amd64" } } }, m.bases)
    end)

    it("a config option without a type", function()
      refuses(function(cc) cc.config.options.port.type = nil end,
              "config.options.port: has no type: (one of string, int, float, boolean, secret)")
    end)

    it("a config type Juju does not know", function()
      refuses(function(cc) cc.config.options.port.type = "integer" end,
              'config.options.port.type: "integer" is not a type Juju knows (string, int, float, boolean, secret)')
    end)

    it("defaults of the wrong type", function()
      refuses(function(cc)
        cc.config.options.port.default = "8080"
        cc.config.options.ratio.default = 1
        cc.config.options.verbose.default = "false"
        cc.config.options.greeting.default = 42
        cc.config.options["api-key"].default = "hunter2"
      end, {
        'config.options.port.default: "8080" is not of type int (quoted, so a string)',
        "config.options.ratio.default: the int 1 is not of type float (Juju reads 1 as an int: write 1.0)",
        'config.options.verbose.default: "false" is not of type boolean',
        "config.options.greeting.default: the int 42 is not of type string",
        'config.options.api-key.default: "hunter2" is not of type secret (a secret is a secret: URI)',
      })
    end)

    it("action names Juju refuses", function()
      for _, bad in ipairs { "Greet", "greet_now", "-greet", "greet-", "juju-run", "hello world" } do
        refuses(function(cc) cc.actions = { [bad] = { description = "x" } } end,
                "actions." .. bad .. ": Juju refuses this action name")
      end
    end)

    it("an action whose required names no param, or whose params are not a mapping", function()
      refuses(function(cc) cc.actions.greet.required = { "name", "nobody" } end,
              'actions.greet.required: "nobody" is not among the params')
      refuses(function(cc) cc.actions.greet.params = { "name" } end,
              "actions.greet.params: must be a mapping of parameter names (got a list)")
    end)

    it("a relation without an interface", function()
      refuses(function(cc)
        cc.provides.website = { limit = 1 }
        cc.requires.database = lyaml.null
      end, { "provides.website: has no interface:", "requires.database: has no interface:" })
    end)

    it("one endpoint name in two sections, and a reserved one", function()
      refuses(function(cc) cc.peers.website = { interface = "http" } end,
              "peers.website: the endpoint name is also used in provides")
      refuses(function(cc) cc.requires["juju-info"] = { interface = "juju-info" } end,
              'requires.juju-info: Juju refuses this endpoint name: the "juju-" prefix is reserved')
      refuses(function(cc) cc.provides.status = "juju-status"; cc.peers.ring = { interface = "juju" } end,
              { 'provides.status: Juju refuses this interface for provides: the "juju-" prefix is reserved',
                'peers.ring.interface: Juju refuses this interface for peers: "juju" is reserved' })
    end)

    it("a subordinate may require juju-info with container scope (Juju allows it)", function()
      edit_cc(charm, function(cc)
        cc.subordinate = true
        cc.requires["juju-info"] = { interface = "juju-info", scope = "container" }
      end)
      local meta = yaml_entry(pack_ok(), "metadata.yaml")
      assert.same({ interface = "juju-info", scope = "container" }, meta.requires["juju-info"])
      assert.is_true(meta.subordinate)
    end)

    it("storage, resources and containers as Juju checks them (juju.testing.metadata's rules)", function()
      refuses(function(cc)
        cc.storage.data.type = "tmpfs"
        cc.resources = { image = { type = "oci-image" }, blob = { type = "file" } }
        cc.containers = { app = { resource = "blob" } }
      end, {
        'storage.data.type: must be filesystem or block (got "tmpfs")',
        "resources.blob: a file resource needs filename:",
        'containers.app.resource: the resource "blob" is not an oci-image',
      })
    end)

    it("a summary that is not a string, a blank description, parts not a mapping", function()
      refuses(function(cc) cc.summary = 7; cc.description = "  "; cc.parts = { "charm" } end, {
        "summary: must be a string (got the int 7)",
        "description: must be a non-empty string",
        "parts: must be a mapping of part names (got a list)",
      })
    end)

    it("unknown top-level keys", function()
      refuses(function(cc) cc.series = { "noble" }; cc.maintainer = "me" end,
              { "maintainer: unknown key", "series: unknown key" })
    end)

    it("a name Juju refuses, a type that is not charm", function()
      refuses(function(cc) cc.name = "Pack_Fixture" end, 'name: "Pack_Fixture" is not a charm name Juju accepts')
      refuses(function(cc) cc.type = "bundle" end, 'type: "bundle": only type: charm is packed here')
    end)

    it("a YAML syntax error, with its line", function()
      hookenv.write_file(charm .. "/charmcraft.yaml", "name: x\nsummary: [unclosed\n")
      local r = pack({ "--charm", charm, "--dispatch", dispatch, "--out", out })
      assert.equal(1, r.code)
      local at = r.stderr:match("^pack%.lua: (.-):%d+:%d+: ")
      assert.equal(charm .. "/charmcraft.yaml", at, r.stderr)
    end)

    it("a charm without src/charm.lua, and old metadata.yaml files", function()
      assert(os.remove(charm .. "/src/charm.lua"))
      hookenv.write_file(charm .. "/metadata.yaml", "name: old\n")
      local r = pack({ "--charm", charm, "--dispatch", dispatch, "--out", out })
      assert.equal(1, r.code)
      assert.matches(charm .. "/src/charm.lua: missing", r.stderr, 1, true)
      assert.matches(charm .. "/metadata.yaml: not read: its keys belong in charmcraft.yaml", r.stderr, 1, true)
    end)

    it("a dispatch that is not an executable", function()
      dispatch = tmp .. "/notes.txt"
      hookenv.write_file(dispatch, "hello\n")
      local r = pack({ "--charm", charm, "--dispatch", dispatch, "--out", out })
      assert.equal(1, r.code)
      assert.matches(dispatch .. ": neither an ELF executable nor a #! script", r.stderr, 1, true)
    end)

    it("a wrong command line: usage, exit 2", function()
      local r = pack({ "--charm", charm })
      assert.equal(2, r.code)
      assert.matches("usage: lua5.4 tools/pack.lua", r.stderr, 1, true)
      r = pack({ "--bogus", "x" })
      assert.equal(2, r.code)
      assert.matches("unknown argument --bogus", r.stderr, 1, true)
    end)
  end)
end)

describe("tools/pack.lua as a module #integration #once", function()
  local pack_mod

  setup(function()
    package.path = ROOT .. "/?.lua;" .. package.path
    pack_mod = require "tools.pack"
  end)

  it("crc32 gives the check value of CRC-32/ISO-HDLC, and agrees with the reader's", function()
    assert.equal(0xCBF43926, pack_mod.crc32("123456789"))
    assert.equal(0, pack_mod.crc32(""))
    local s = {}
    for i = 1, 1000 do s[i] = string.char((i * 7) % 256) end
    s = table.concat(s)
    assert.equal(zip.crc32(s), pack_mod.crc32(s))
    assert.equal(zip.crc32(s), pack_mod.crc32(s:sub(501), pack_mod.crc32(s:sub(1, 500))))
  end)

  it("zip refuses an entry of 4 GiB and more than 65535 entries", function()
    local huge = setmetatable({}, { __len = function() return 0xFFFFFFFF end })
    local data, err = pack_mod.zip({ { name = "big", data = huge, mode = 420 } })
    assert.is_nil(data)
    assert.matches("big is 4294967295 bytes: zip entries here stay below 4 GiB", err, 1, true)
    local many = {}
    for i = 1, 65536 do many[i] = { name = "f" .. i, data = "", mode = 420 } end
    data, err = pack_mod.zip(many)
    assert.is_nil(data)
    assert.matches("65536 entries", err, 1, true)
  end)

  it("zip writes what the reader reads back, UTF-8 names flagged", function()
    local data = assert(pack_mod.zip({
      { name = "d/", dir = true, mode = 493 },
      { name = "d/h\xc3\xa9llo.txt", data = "hi\n", mode = 420 },
      { name = "x", data = "", mode = 493 },
    }, 1700000000))
    local a = zip.read(data)
    assert.equal(3, #a.entries)
    assert.equal(0x0800, a.by_name["d/h\xc3\xa9llo.txt"].flags)
    assert.equal(0, a.by_name["x"].flags)
    assert.equal("hi\n", a.by_name["d/h\xc3\xa9llo.txt"].data)
    assert.equal("", a.comment)
  end)
end)

describe("the template and make #integration #once", function()
  local tmp

  before_each(function()
    hookenv.reset()
    tmp = hookenv.tmpdir()
  end)

  after_each(function()
    hookenv.rmtree(tmp)
  end)

  --- Run make in the source tree; returns its output, failing on an error.
  local function make(args)
    local words = { "make", "-s", "--no-print-directory", "-C", quote(ROOT) }
    for _, a in ipairs(args) do words[#words + 1] = quote(a) end
    local log = tmp .. "/make.log"
    local ok = os.execute(table.concat(words, " ") .. " >" .. quote(log) .. " 2>&1")
    return ok == true, hookenv.read_file(log) or ""
  end

  it("the template packs to what its charmcraft.yaml declares", function()
    local charm = copy_tree(TEMPLATE, tmp, "machine")
    local r = pack({ "--charm", charm, "--dispatch", hookenv.dispatch_path(), "--out-dir", tmp })
    assert.equal(0, r.code, r.stderr)
    local archive = zip.read_file(tmp .. "/hello-lua.charm")
    local meta = lyaml.load(archive.by_name["metadata.yaml"].data)
    assert.equal("hello-lua", meta.name)
    assert.equal("http", meta.provides.website.interface)
    assert.is_table(meta.peers)
    local config = lyaml.load(archive.by_name["config.yaml"].data).options
    assert.same({ "int", 8080 }, { config.port.type, config.port.default })
    assert.equal("integer", math.type(config.port.default))
    assert.equal("string", config.page.type)
    assert.equal("string", type(config.page.default))
    local actions = lyaml.load(archive.by_name["actions.yaml"].data)
    assert.equal("string", actions.greet.params.name.type)
    assert.same({ "name" }, actions.greet.required)
    local manifest = lyaml.load(archive.by_name["manifest.yaml"].data)
    assert.same({ { name = "ubuntu", channel = "24.04", architectures = { "amd64" } } }, manifest.bases)
    local cc = load_cc(charm)
    assert.equal("make", cc.parts.dispatch.plugin)
    assert.same({ ["bin/dispatch"] = "dispatch" }, cc.parts.dispatch.organize)
    assert.equal("dump", cc.parts.charm.plugin)
  end)

  it("the Kubernetes template packs as a sidecar charm: its container, image resource and assumes", function()
    local r = pack({ "--charm", K8S_TEMPLATE, "--dispatch", hookenv.dispatch_path(), "--out-dir", tmp })
    assert.equal(0, r.code, r.stderr)
    local archive = zip.read_file(tmp .. "/hello-lua-k8s.charm")
    local meta = lyaml.load(archive.by_name["metadata.yaml"].data)
    assert.equal("hello-lua-k8s", meta.name)
    assert.same({ web = { resource = "web-image" } }, meta.containers)
    assert.same({ type = "oci-image", ["upstream-source"] = "docker.io/library/nginx:1.28" },
      { type = meta.resources["web-image"].type, ["upstream-source"] = meta.resources["web-image"]["upstream-source"] })
    assert.same({ "k8s-api", "juju >= 3.6" }, meta.assumes)
    assert.equal("http", meta.provides.website.interface)
    local actions = lyaml.load(archive.by_name["actions.yaml"].data)
    assert.same({ "name" }, actions.greet.required)
    assert.is_string(actions["check-config"].description)
    local manifest = lyaml.load(archive.by_name["manifest.yaml"].data)
    assert.same({ { name = "ubuntu", channel = "24.04", architectures = { "amd64" } } }, manifest.bases)
    assert.equal("100755", ("%o"):format(archive.by_name.dispatch.mode))
    local cc = load_cc(K8S_TEMPLATE)
    assert.same({ "amd64", "arm64", "ppc64el", "s390x" }, (function()
      local arches = {}
      for a in pairs(cc.platforms) do arches[#arches + 1] = a end
      table.sort(arches)
      return arches
    end)())
    assert.same(load_cc(TEMPLATE).parts, cc.parts)      -- built the same way as the machine template
  end)

  it("both templates' charmcraft parts build-packages are the packages `make` needs", function()
    local makefile = assert(hookenv.read_file(ROOT .. "/Makefile"))
    local text = makefile:match("\nBUILD_PKGS%s*:=%s*(.-[^\\])\n")
    local wanted = {}
    for pkg in text:gsub("\\\n", " "):gmatch("%S+") do
      if pkg ~= "build-essential" then wanted[#wanted + 1] = pkg end
    end
    table.sort(wanted)
    for _, dir in ipairs { TEMPLATE, K8S_TEMPLATE } do
      local declared = {}
      for _, pkg in ipairs(load_cc(dir).parts.dispatch["build-packages"]) do
        if pkg ~= "gcc" and pkg ~= "make" then declared[#declared + 1] = pkg end
      end
      table.sort(declared)
      assert.same(wanted, declared, dir)
    end
  end)

  it("make charm CHARM=dir packs with a stripped dispatch and says how long it took", function()
    local charm = copy_tree(FIXTURE, tmp, "charm")
    local ok, log = make({ "charm", "CHARM=" .. charm, "CHARM_OUT=" .. tmp .. "/out" })
    assert(ok, log)
    -- the fixture builds for amd64 only: one charm, named for it
    assert.matches("packed " .. tmp .. "/out/pack-fixture_amd64.charm", log, 1, true)
    assert.matches("make charm: packed amd64 in %d+ ms", log)
    local archive = zip.read_file(tmp .. "/out/pack-fixture_amd64.charm")
    local packed = archive.by_name.dispatch.data
    assert.equal(hookenv.read_file(ROOT .. "/build/charm/amd64/dispatch"), packed)
    assert.equal("\127ELF", packed:sub(1, 4))
    assert.is_true(#packed < #assert(hookenv.read_file(ROOT .. "/build/dispatch")))
    assert.equal("100755", ("%o"):format(archive.by_name.dispatch.mode))
    -- ARCHES leaving out every architecture the charm builds for is an error
    ok, log = make({ "charm", "CHARM=" .. charm, "CHARM_OUT=" .. tmp .. "/out", "ARCHES=s390x" })
    assert.is_false(ok)
    assert.matches("make charm: " .. charm .. " builds for amd64, none of ARCHES (s390x)", log, 1, true)
  end)

  it("pack.lua --list-arches names the architectures the platforms build for", function()
    local r = hookenv.run({ PACK, "--charm", ROOT .. "/charm-template/machine", "--list-arches" },
      { program = "lua5.4", cwd = ROOT })
    assert.equal(0, r.code, r.stderr)
    assert.equal("amd64\narm64\nppc64el\ns390x\n", r.stdout)
  end)

  it("make new-charm: a renamed copy of the template that packs", function()
    local dir = tmp .. "/my-charm"
    local ok, log = make({ "new-charm", "NAME=my-web-app", "DIR=" .. dir })
    assert(ok, log)
    assert.matches("Next steps", log, 1, true)
    assert.matches("charm CHARM=" .. dir, log, 1, true)
    local cc = load_cc(dir)
    assert.equal("my-web-app", cc.name)
    assert.equal("My Web App", cc.title)
    assert.equal("my_web_app_replicas", cc.peers.replicas.interface)
    local grep = hookenv.run({ "-rlI", "-e", "hello-lua", "-e", "hello_lua", "-e", "Hello Lua", dir },
                             { program = "grep" })
    assert.equal("", grep.stdout)

    local r = pack({ "--charm", dir, "--dispatch", hookenv.dispatch_path(), "--out-dir", tmp })
    assert.equal(0, r.code, r.stderr)
    local meta = lyaml.load(zip.read_file(tmp .. "/my-web-app.charm").by_name["metadata.yaml"].data)
    assert.equal("my-web-app", meta.name)
  end)

  it("make new-charm TEMPLATE=kubernetes: a renamed copy of the Kubernetes template, its tests passing", function()
    local dir = tmp .. "/my-site"
    local ok, log = make({ "new-charm", "NAME=my-site", "DIR=" .. dir, "TEMPLATE=kubernetes" })
    assert(ok, log)
    assert.matches("from " .. K8S_TEMPLATE, log, 1, true)
    assert.matches("--resource IMAGE-RESOURCE=IMAGE", log, 1, true)
    local cc = load_cc(dir)
    assert.same({ "my-site", "My Site" }, { cc.name, cc.title })
    assert.same({ web = { resource = "web-image" } }, cc.containers)
    local grep = hookenv.run({ "-rlI", "-e", "hello-lua", "-e", "hello_lua", "-e", "Hello Lua", dir },
                             { program = "grep" })
    assert.equal("", grep.stdout)
    assert.matches('local RELOAD_NOTICE = "example.com/my-site/reload"',
      assert(hookenv.read_file(dir .. "/src/charm.lua")), 1, true)
    -- its own tests, renamed too, pass as a charm author runs them
    local busted = hookenv.run({ "/usr/bin/busted", "--cpath=" .. (os.getenv("JUJU_CPATH") or ROOT .. "/build/?.so") },
                               { program = "lua5.4", cwd = dir,
                                 -- under check-asan juju.so needs the sanitizer runtime first
                                 env = { LD_PRELOAD = os.getenv("LD_PRELOAD") or false,
                                         ASAN_OPTIONS = os.getenv("ASAN_OPTIONS") or false } })
    assert.equal(0, busted.code, busted.stdout .. busted.stderr)
    local r = pack({ "--charm", dir, "--dispatch", hookenv.dispatch_path(), "--out-dir", tmp })
    assert.equal(0, r.code, r.stderr)
  end)

  it("make new-charm TEMPLATE=machine is the default; another word is a template directory", function()
    local ok, log = make({ "new-charm", "NAME=plain", "DIR=" .. tmp .. "/plain", "TEMPLATE=machine" })
    assert(ok, log)
    assert.same({}, load_cc(tmp .. "/plain").containers or {})
    ok, log = make({ "new-charm", "NAME=other", "DIR=" .. tmp .. "/other", "TEMPLATE=" .. tmp .. "/plain" })
    assert(ok, log)
    assert.equal("other", load_cc(tmp .. "/other").name)
    ok, log = make({ "new-charm", "NAME=none", "DIR=" .. tmp .. "/none", "TEMPLATE=windows" })
    assert.is_false(ok)
    assert.matches("no template at windows (machine, kubernetes, or a charm directory)", log, 1, true)
  end)

  it("make new-charm refuses a bad name, a non-empty directory, missing arguments", function()
    local ok, log = make({ "new-charm", "NAME=My_Charm", "DIR=" .. tmp .. "/a" })
    assert.is_false(ok)
    assert.matches("'My_Charm' is not a charm name Juju accepts", log, 1, true)
    assert.is_false(fs.exists(tmp .. "/a"))
    hookenv.write_file(tmp .. "/keep", "x")
    ok, log = make({ "new-charm", "NAME=ok-charm", "DIR=" .. tmp })
    assert.is_false(ok)
    assert.matches("exists and is not empty", log, 1, true)
    ok, log = make({ "new-charm", "NAME=ok-charm" })
    assert.is_false(ok)
    assert.matches("usage: make new-charm NAME=my-charm DIR=../my-charm", log, 1, true)
  end)
end)
