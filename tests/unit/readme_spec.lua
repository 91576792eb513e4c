-- The README's examples run: the charm of "Write a charm in Lua" under
-- juju.testing, the test of "Test your charm" against it, the metadata
-- example (on the template charm, which the README's charm is made
-- from), and the juju module snippet.

local testing = require "juju.testing"

--- The ```lua blocks of the README, in order.
local function lua_blocks()
  local f = assert(io.open("README.md", "rb"))
  local text = f:read("a")
  f:close()
  local blocks = {}
  for block in text:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = block end
  return blocks
end

describe("the README's examples #unit", function()
  local blocks = lua_blocks()

  it("has the five examples", function()
    assert.equal(5, #blocks)
  end)

  it("the charm loads, and runs install, config-changed, a relation and an action", function()
    local c = assert(load(blocks[1], "=README charm"))()
    local ctx = testing.context{ charm = c, app = "my-app" }
    local s = ctx:run("install", { config = { port = 8080 }, leader = true })
    assert.is_true(s.stored.installed)
    local rel = { id = 1, endpoint = "website", remote_app = "proxy", remote_units = { "proxy/0" } }
    s.relations = { rel }
    s = ctx:run("config-changed", s)
    assert.equal("http://example.com:8080", s.relations[1].local_app_data.url)
    assert.matches("listen 8080;", s.files["/etc/nginx/sites-enabled/my-app"], 1, true)
    s = ctx:run(testing.on.relation_joined(rel), s)
    assert.equal("proxy", s.secrets[1].grants["1"])
    local _, arun = ctx:run({ action = "greet", params = { name = "Ada" } }, s)
    assert.same({ greeting = "Hello, Ada!" }, arun.action.results)
    assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
  end)

  it("the Kubernetes charm configures its container, reloads on a notice, and says how it is", function()
    local c = assert(load(blocks[2], "=README k8s charm"))()
    local ctx = testing.context{ charm = c, metadata = {
      name = "web", containers = { web = { resource = "img" } }, resources = { img = { type = "oci-image" } },
      config = { options = { port = { type = "int", default = 8080 } } },
    } }
    local s, run = ctx:run(testing.on.pebble_ready("web"), { containers = { web = {} } })
    local web = s.containers.web
    assert.equal("server { listen 8080; root /srv/www; }\n", web.files["/etc/nginx/conf.d/site.conf"].content)
    assert.same({ "nginx", "-t" }, run.pebble.web.execs[1].argv)
    assert.equal("active", web.services.nginx.current)
    assert.same({ name = "active", message = "" }, s.unit_status)
    s.config = { port = 9000 }
    s, run = ctx:run(testing.on.config_changed(), s)
    assert.same({ "nginx" }, run.pebble.web.changes[#run.pebble.web.changes].stopped)
    local _, nrun = ctx:run(testing.on.pebble_custom_notice("web", { key = "example.com/reload" }), s)
    assert.equal("/v1/signals", nrun.pebble.web.requests[1].target)
    s.containers.web.can_connect = false
    local down = ctx:run(testing.on.update_status(), s)
    assert.same({ name = "waiting", message = "waiting for Pebble" }, down.unit_status)
  end)

  it("the test example passes against that charm (its context given the charm and a metadata)", function()
    local c = assert(load(blocks[1], "=README charm"))()
    local passed = false
    local asked
    local stand_in = setmetatable({
      context = function(opts)
        asked = opts
        return testing.context{ charm = c, metadata = {
          name = "my-app", provides = { website = { interface = "http" } },
          config = { options = { port = { type = "int", default = 8080 } } },
          actions = { greet = { params = { name = { type = "string" } } } },
        } }
      end,
    }, { __index = testing })
    local env = setmetatable({
      require = function(name)
        if name == "juju.testing" then return stand_in end
        return require(name)
      end,
      it = function(_, fn) fn(); passed = true end,
      assert = assert,
    }, { __index = _G })
    assert(load(blocks[3], "=README test", "t", env))()
    assert.is_true(passed)
    assert.same({ charm_dir = "." }, asked)
  end)

  it("the state file example is a state the template could be in", function()
    local f = assert(io.open("README.md", "rb"))
    local text = f:read("a")
    f:close()
    local example = assert(text:match("```json\n(.-)```"))
    local state = require("juju").json.decode(example)
    require("juju.testing.sim").fix_revisions(state.secrets)
    local meta = require("juju.testing.metadata").load("charm-template/machine")
    local prepared = require("juju.testing.consistency").prepare(state, testing.on.update_status(),
      { meta = meta, app = "hello-lua", unit = "hello-lua/0" })
    assert.equal(9000, prepared.config.port)
    assert.equal("proxy", prepared.secrets[1].grants["0"])
  end)

  it("the metadata example holds for the template charm", function()
    local metadata = require "juju.testing.metadata"
    local dirs = {}
    local env = setmetatable({
      require = function(name)
        if name ~= "juju.testing.metadata" then return require(name) end
        return { load = function(dir)
          dirs[#dirs + 1] = dir
          return metadata.load("charm-template/machine")
        end }
      end,
    }, { __index = _G })
    assert(load(blocks[4], "=README metadata", "t", env))()
    assert.same({ "." }, dirs)
  end)

  it("the juju module snippet runs", function()
    local juju = require "juju"
    local logged
    juju.set_runner(function(argv)
      if argv[1] == "juju-log" then logged = argv[#argv] return 0, "", "" end
      return 2, "", "ERROR invalid value \"db:7\" for flag -r: relation not found\n"
    end)
    assert(load(blocks[5], "=README juju"))()
    juju.set_runner(nil)
    assert.matches("^no relation 7: command %[relation%-get", logged)
    assert.matches("relation not found$", logged)
  end)
end)
