-- The model's other parts: status (set or collected, ops's priorities),
-- ports (declared, the difference applied), secrets, storage, the
-- workload version; and juju.log.

local charm = require "juju.charm"
local log = require "juju.log"
local testing = require "juju.testing"

local commands = require("helpers.runs").lines

local function state(t)
  local s = { leader = true, config = { port = 8080 },
              relations = { { id = 3, endpoint = "website", remote_app = "proxy", remote_units = { "proxy/0" } } } }
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

local function run_with(handler, st, event, setup)
  local c = charm.new()
  c:on(type(event) == "table" and event.name or event or "config-changed", handler)
  if setup then setup(c) end
  return testing.context{ charm = c, app = "web" }:run(event or "config-changed", st or state())
end

local function fail_with(handler, st, event, setup)
  local c = charm.new()
  c:on(type(event) == "table" and event.name or event or "config-changed", handler)
  if setup then setup(c) end
  return testing.context{ charm = c, app = "web" }:run_failing(event or "config-changed", st or state())
end

describe("status #unit", function()
  it("collected: the most urgent wins, in ops's order; the first added wins a tie", function()
    local cases = {
      { { { "active", "a" }, { "waiting", "w" } }, "waiting", "w" },
      { { { "active" }, { "maintenance", "m" }, { "waiting" } }, "maintenance", "m" },
      { { { "maintenance" }, { "blocked", "b1" }, { "blocked", "b2" } }, "blocked", "b1" },
      { { { "active", "one" }, { "active", "two" } }, "active", "one" },
    }
    for _, case in ipairs(cases) do
      local out = run_with(function() end, state(), nil, function(c)
        c:collect_status(function(s)
          for _, cand in ipairs(case[1]) do s:add(cand[1], cand[2]) end
        end)
      end)
      assert.same({ name = case[2], message = case[3] or "" }, out.unit_status)
    end
  end)

  it("any handler can add during the hook", function()
    local out = run_with(function(e) e.status:add("blocked", "from the handler") end, state(), nil, function(c)
      c:collect_status(function(s) s:add("active") end)
    end)
    assert.same({ name = "blocked", message = "from the handler" }, out.unit_status)
  end)

  it("the app's status is set by the leader only; a non-leader's is dropped without asking more", function()
    local setup = function(c)
      c:collect_status(function(s) s:add_app("active", "3 units"); s:add("active", "me") end)
    end
    local out, run = run_with(function() end, state(), nil, setup)
    assert.same({ name = "active", message = "3 units" }, out.app_status)
    assert.same({ "status-set --application=False active -- me", "status-set --application=True active -- 3 units" },
      commands(run, "status-set"))
    out, run = run_with(function() end, state { leader = false }, nil, setup)
    assert.is_nil(out.app_status)
    assert.same({ "status-set --application=False active -- me" }, commands(run, "status-set"))
  end)

  it("nothing collected, nothing set; set() sets at once", function()
    local _, run = run_with(function(e) e.status:set("maintenance", "installing") end)
    assert.same({ "status-set --application=False maintenance -- installing" }, commands(run, "status-set"))
  end)

  it("the status is set last, after everything else was written", function()
    local _, run = run_with(function(e) e.state.x = 1 end, state(), nil, function(c)
      c:collect_status(function(s) s:add("active") end)
    end)
    assert.equal("status-set", run.commands[#run.commands].argv[1])
    assert.equal("state-set", run.commands[#run.commands - 1].argv[1])
  end)

  it("error and unknown cannot be added; names are checked at the charm's line", function()
    for _, bad in ipairs { "error", "unknown", "Active", 3 } do
      local _, run = fail_with(function(e) e.status:add(bad) end)
      assert.matches("model_spec.lua:%d+: bad argument #1 to 'add' %(maintenance, blocked, waiting or active",
        run.error)
    end
    local _, run = fail_with(function(e) e.status:add("active", 42) end)
    assert.matches("bad argument #2 to 'add' (string expected, got number)", run.error, 1, true)
  end)
end)

describe("ports #unit", function()
  it("opens and closes only the difference, after the handlers", function()
    local st = state { opened_ports = { { protocol = "tcp", port = 80 }, { protocol = "udp", port = 53 } } }
    local out, run = run_with(function(e)
      e.model:set_ports { 80, 443, { port = 8000, to_port = 8090 }, "icmp" }
    end, st)
    assert.is_nil(run.error)
    assert.same({ "opened-ports --format=json", "close-port 53/udp", "open-port icmp", "open-port 443/tcp",
                  "open-port 8000-8090/tcp" },
      (function()
        local t = {}
        for _, c in ipairs(run.commands) do
          if c.argv[1]:match("port") then t[#t + 1] = table.concat(c.argv, " ") end
        end
        return t
      end)())
    local keys = {}
    for _, p in ipairs(out.opened_ports) do keys[#keys + 1] = p.protocol .. (p.port or "") end
    table.sort(keys)
    assert.same({ "icmp", "tcp443", "tcp80", "tcp8000" }, keys)
  end)

  it("the same set again issues nothing but the read", function()
    local st = state { opened_ports = { { protocol = "tcp", port = 80 } } }
    local _, run = run_with(function(e) e.model:set_ports { 80 } end, st)
    assert.same({ "opened-ports --format=json" }, (function()
      local t = {}
      for _, c in ipairs(run.commands) do if c.argv[1]:match("port") then t[#t + 1] = table.concat(c.argv, " ") end end
      return t
    end)())
  end)

  it("bad ports are refused at the charm's line", function()
    for _, bad in ipairs { { 0 }, { 70000 }, { "80" }, { { port = 90, to_port = 80 } },
                           { { port = 1, protocol = "sctp" } } } do
      local _, run = fail_with(function(e) e.model:set_ports(bad) end)
      assert.matches("model_spec.lua:%d+: bad argument #1 to 'set_ports'", run.error)
    end
  end)
end)

describe("secrets #unit", function()
  it("add (app-owned by default, leader only), grant, read back by label", function()
    local uri
    local out, run = run_with(function(e)
      local s = e.model:add_secret({ password = "s3cret" }, { label = "admin" })
      uri = s.id
      s:grant(e.model:relation("website"))
      assert.equal("s3cret", e.model:secret{ label = "admin" }:content().password)
    end)
    assert.is_nil(run.error)
    assert.matches("^secret://", uri)
    assert.equal(1, #out.secrets)
    assert.equal("app", out.secrets[1].owner)
    assert.equal("proxy", out.secrets[1].grants["3"])
    local _, run2 = fail_with(function(e) e.model:add_secret({ password = "x" }) end, state { leader = false })
    assert.matches("model_spec.lua:%d+: add_secret: only the leader can create an application secret", run2.error)
    local _, run3 = run_with(function(e) e.model:add_secret({ password = "x" }, { owner = "unit" }) end,
      state { leader = false })
    assert.is_nil(run3.error)
  end)

  it("content once per hook and mode; refresh moves a consumer to the latest revision", function()
    local st = state { secrets = { { id = "secret:cs1l5r2d2j3p2c1v4nbg", label = "db", granted = true,
                                     revisions = { [1] = { pw = "one" }, [2] = { pw = "two" } }, tracked = 1 } } }
    local seen
    local _, run = run_with(function(e)
      local s = e.model:secret{ id = "secret:cs1l5r2d2j3p2c1v4nbg" }
      seen = { s:content().pw, s:content().pw, s:content{ peek = true }.pw, s:content{ refresh = true }.pw,
               s:content().pw }
    end, st)
    assert.is_nil(run.error)
    assert.same({ "one", "one", "two", "two", "two" }, seen)
    assert.equal(3, #commands(run, "secret-get"))
  end)

  it("secret events give the secret and revision; owners manage revisions", function()
    local st = state { secrets = { { id = "secret:cs1l5r2d2j3p2c1v4nbg", label = "tls", owner = "app",
                                     revisions = { [1] = { key = "a" }, [2] = { key = "b" } } } } }
    local out, run = run_with(function(e)
      assert.equal("tls", e.secret.label)
      e.secret:remove_revision(e.revision)
      e.secret:set_content{ key = "c" }
      e.secret:set_info{ rotate = "monthly" }
    end, st, { name = "secret-remove", secret = "secret:cs1l5r2d2j3p2c1v4nbg", label = "tls", revision = 1 })
    assert.is_nil(run.error)
    local sec = out.secrets[1]
    assert.is_nil(sec.revisions[1])
    assert.same({ key = "c" }, sec.revisions[3])
    assert.equal("monthly", sec.rotate)
  end)

  it("Juju refuses to show a secret nobody granted", function()
    local st = state { secrets = { { id = "secret:cs1l5r2d2j3p2c1v4nbg", revisions = { [1] = { a = "b" } } } } }
    local _, run = fail_with(function(e) e.model:secret{ id = "secret:cs1l5r2d2j3p2c1v4nbg" }:content() end, st)
    assert.matches("secret%-get.*ERROR permission denied", run.error)
  end)

  it("secret methods check how they are called", function()
    local _, run = fail_with(function(e) e.model:secret{ label = "x" }.content() end)
    assert.matches("model_spec.lua:%d+: call it as secret:content%(...%)", run.error)
    _, run = fail_with(function(e) e.model:secret{} end)
    assert.matches("give an id or a label", run.error)
  end)
end)

describe("the rest of the model #unit", function()
  it("unit, app, model name and uuid, type; storage; workload version", function()
    local seen
    local st = state { storage = { { id = "data/0", name = "data", location = "/srv/data", kind = "filesystem" } },
                       model = { name = "prod", uuid = "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70" } }
    local out = run_with(function(e)
      local m = e.model
      seen = { m.unit, m.app, m.name, m.uuid, m.type, m:storage("data")[1].location }
      m:set_workload_version("1.2.3")
    end, st)
    assert.same({ "web/0", "web", "prod", "5d3c8a4e-0c1b-4d7e-9f1a-2b3c4d5e6f70", "machine", "/srv/data" }, seen)
    assert.equal("1.2.3", out.workload_version)
  end)

  it("a storage event gives the storage", function()
    local seen
    run_with(function(e) seen = e.storage end,
      state { storage = { { id = "data/1", name = "data", location = "/srv" } } },
      { name = "data-storage-attached", storage = "data/1" })
    assert.same({ id = "data/1", name = "data", index = 1, location = "/srv", kind = "filesystem" }, seen)
  end)

  it("model methods check how they are called", function()
    local _, run = fail_with(function(e) e.model.is_leader() end)
    assert.matches("call it as model:is_leader", run.error)
  end)
end)

describe("juju.log #unit", function()
  after_each(function() log.set_level(nil) end)

  it("INFO and up by default; DEBUG when JUJU_DEBUG is set or asked for", function()
    local _, run = run_with(function()
      log.debug("quiet")
      log.info("port %d", 8080)
      log.warning("careful")
    end)
    assert.same({ { level = "INFO", message = "port 8080" }, { level = "WARNING", message = "careful" } }, run.logs)
    _, run = run_with(function()
      log.debug("now heard")
    end, state(), { name = "config-changed", env = { JUJU_DEBUG = "1" } })
    assert.same({ { level = "DEBUG", message = "now heard" } }, run.logs)
  end)

  it("splits long messages below Linux's 128 KiB argument limit, between characters", function()
    local text = string.rep("é", 100000)   -- 200,000 bytes
    local parts = log.split(text)
    assert.equal(2, #parts)
    assert.is_true(#parts[1] <= log.MAX_PART)
    assert.equal(text, parts[1] .. parts[2])
    assert.truthy(utf8.len(parts[1]) and utf8.len(parts[2]))
    local _, run = run_with(function() log.info(text) end)
    assert.equal(2, #run.logs)
    assert.equal(text, run.logs[1].message .. run.logs[2].message)
  end)

  it("set_level checks its argument", function()
    assert.has_error(function() log.set_level("LOUD") end)
    log.set_level("error")
    assert.equal("ERROR", log.level())
  end)
end)
