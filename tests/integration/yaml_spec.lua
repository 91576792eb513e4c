-- YAML inside the one binary: build/dispatch carries Debian's lua-yaml
-- (lyaml's Lua modules embedded, its C part `yaml` and libyaml linked in),
-- so `require "lyaml"` works with no Lua file or C module on disk. Run
-- from an empty charm directory, where dispatch's package.path finds
-- nothing and its cpath is empty. YAML does not depend on the transport:
-- the exec pass runs it.

local hookenv = require "helpers.hookenv"


describe("YAML in build/dispatch #integration #once", function()
  local root

  setup(function()
    root = hookenv.tmpdir()
  end)

  teardown(function()
    hookenv.rmtree(root)
  end)

  --- Run a chunk in dispatch from the empty charm directory.
  local function dispatch(code)
    return hookenv.run({ "-e", code }, { cwd = root, env = { JUJU_CHARM_DIR = root } })
  end

  --- Run a chunk that must succeed; its stdout.
  local function ok(code)
    local r = dispatch(code)
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    return r.stdout
  end

  it("lyaml and yaml come from the binary, not from files", function()
    local out = ok([[
      print(package.cpath == "", (package.searchpath("lyaml", package.path)),
            (package.searchpath("lyaml.functional", package.path)))
      local lyaml = require "lyaml"
      -- the embedded searcher's stand-in, not a file's module
      print(getmetatable(package.loaded.lyaml).__name)
      print(lyaml.load("a: 1").a)
      print(type(require("yaml").parser), lyaml._VERSION ~= nil)
    ]])
    assert.equal("true\tnil\tnil\nlyaml\n1\nfunction\ttrue\n", out)
  end)

  it("costs nothing until used: require gives a stand-in, the C part stays unloaded", function()
    local out = ok([[
      print(package.loaded.yaml, package.loaded.lyaml)
      local lyaml = require "lyaml"
      print(package.loaded.yaml, package.loaded["lyaml.functional"])
      lyaml.load("x: y")
      print(type(package.loaded.yaml), type(package.loaded["lyaml.functional"]))
    ]])
    assert.equal("nil\tnil\nnil\tnil\ntable\ttable\n", out)
  end)

  it("a good document: nested maps and lists, typed scalars", function()
    local out = ok([==[
      local lyaml = require "lyaml"
      local doc = lyaml.load([[
name: hello
port: 8080
ratio: 0.5
enabled: true
quoted: "8080"
servers:
  - host: a.example
    ports: [80, 443]
  - host: b.example
    tags: {role: backup, weight: 2}
]])
      print(doc.name, doc.port, math.type(doc.port), doc.ratio, math.type(doc.ratio))
      print(doc.enabled, doc.quoted, math.type(doc.quoted))
      print(#doc.servers, doc.servers[1].host, doc.servers[1].ports[1], doc.servers[1].ports[2])
      print(doc.servers[2].host, doc.servers[2].tags.role, doc.servers[2].tags.weight)
      -- and back: dump, then load again, gives the same
      local again = lyaml.load(lyaml.dump({ doc }))
      print(again.servers[2].tags.weight, again.quoted, math.type(again.quoted))
    ]==])
    assert.equal(table.concat({
      "hello\t8080\tinteger\t0.5\tfloat",
      "true\t8080\tnil",
      "2\ta.example\t80\t443",
      "b.example\tbackup\t2",
      "2\t8080\tnil",
    }, "\n") .. "\n", out)
  end)

  it("nulls: ~, null and an empty value are lyaml.null, one value across the modules", function()
    local out = ok([[
      local lyaml = require "lyaml"
      local functional = require "lyaml.functional"
      local doc = lyaml.load("a: ~\nb: null\nc:\nd: [~, 1]\n")
      print(doc.a == lyaml.null, doc.b == lyaml.null, doc.c == lyaml.null, doc.d[1] == lyaml.null)
      print(functional.NULL == lyaml.null, functional.isnull(doc.a), functional.isnull(doc.d[2]))
      print((lyaml.dump({ { n = lyaml.null } }):gsub("\n", "|")))
    ]])
    assert.equal("true\ttrue\ttrue\ttrue\ntrue\ttrue\tfalse\n---|n: ~|...|\n", out)
  end)

  it("lyaml.functional first, lyaml after: still one null", function()
    local out = ok([[
      local NULL = require("lyaml.functional").NULL
      print(require("lyaml").load("k: ~").k == NULL)
    ]])
    assert.equal("true\n", out)
  end)

  it("a syntax error is raised with its line, column and libyaml's reason", function()
    local out = ok([[
      local lyaml = require "lyaml"
      print(select(2, pcall(lyaml.load, "a: [1, 2\nb: 3\n")))
      print(select(2, pcall(lyaml.load, "a: b: c\n")))
      print(select(2, pcall(lyaml.load, "top:\n  x: 1\n y: 2\n")))
    ]])
    assert.equal(table.concat({
      "1:8: did not find expected ',' or ']'",
      "1:4: mapping values are not allowed in this context",
      "3:2: did not find expected key",
    }, "\n") .. "\n", out)
  end)

  it("juju.so under a stock lua5.4: the embedded lyaml with the system's yaml.so", function()
    local function stock_lua(code)
      return hookenv.run({ "-e", code }, {
        program = "lua5.4",
        env = { JUJU_CPATH = os.getenv("JUJU_CPATH"), LD_PRELOAD = os.getenv("LD_PRELOAD") or false },
      })
    end
    -- juju first: lyaml from juju.so, yaml from the system
    local r = stock_lua([[
      package.cpath = os.getenv("JUJU_CPATH") .. ";" .. package.cpath
      require "juju"
      local lyaml = require "lyaml"
      print(getmetatable(lyaml).__name, lyaml.load("a: [1, ~]").a[2] == require("lyaml.functional").NULL)
      print((package.searchpath("yaml", package.cpath):match("/yaml%.so$")))
    ]])
    assert.equal("", r.stderr)
    assert.equal("lyaml\ttrue\n/yaml.so\n", r.stdout)
    -- lyaml first (the Debian files), juju after: one lyaml, one null
    r = stock_lua([[
      local lyaml = require "lyaml"
      package.cpath = os.getenv("JUJU_CPATH") .. ";" .. package.cpath
      require "juju"
      print(getmetatable(lyaml), require("lyaml") == lyaml,
            require("lyaml").load("k: ~").k == require("lyaml.functional").NULL)
    ]])
    assert.equal("", r.stderr)
    assert.equal("nil\ttrue\ttrue\n", r.stdout)
  end)

  it("juju.testing.metadata reads the template charm with the embedded lyaml", function()
    local template = hookenv.cwd() .. "/charm-template/machine"
    local out = ok(([[
      local metadata = require "juju.testing.metadata"
      local meta = metadata.load(%q)
      print(meta.name, meta.endpoints.website.role, meta.endpoints.website.interface,
            meta.endpoints.replicas.role)
      print(meta:config_defaults().port, math.type(meta:config_defaults().port), meta.config.page.type)
      print(meta:check_config{ port = "80" })
      print(meta:action_params("greet", { name = "Ada" }).name, meta:action_params("greet", {}))
      -- no lyaml file nor C module could have been found: the binary's own
      print(type(package.loaded.lyaml), (package.searchpath("lyaml", package.path)), package.cpath)
    ]]):format(template))
    assert.equal(table.concat({
      "hello-lua\tprovides\thttp\tpeers",
      "8080\tinteger\tstring",
      'config option "port": "80" is not of type int (quoted, so a string)',
      'Ada\tnil\taction "greet": params.name: required, not given',
      "table\tnil\t",
    }, "\n") .. "\n", out)
  end)

  it("a broken charmcraft.yaml: dispatch reports the file, line and column", function()
    local charm = root .. "/broken"
    hookenv.sh("mkdir -p " .. hookenv.quote(charm))
    hookenv.write_file(charm .. "/charmcraft.yaml", "name: broken\nconfig:\n  options:\n    port: {type: int\n")
    local r = dispatch(('require("juju.testing.metadata").load(%q)'):format(charm))
    assert.equal(1, r.code)
    local at = charm:gsub("%p", "%%%0") .. "/charmcraft%.yaml:%d+:%d+: "
    assert.matches("^dispatch: " .. at .. "did not find expected ',' or '}'\n", r.stderr)
  end)

  it("an uncaught YAML error fails dispatch with the message and a traceback", function()
    local r = dispatch('require("lyaml").load("x: [1")')
    assert.equal(1, r.code)
    assert.equal("", r.stdout)
    assert.matches("^dispatch: 1:5: did not find expected ',' or ']'\nstack traceback:\n", r.stderr)
    assert.matches("lyaml/init.lua:%d+: in function 'lyaml.load'", r.stderr)
  end)
end)
