-- juju.testing's containers: a fake Pebble (juju.testing.pebble) behind
-- juju.pebble's transport, answering at the HTTP level. The charm's calls
-- run for real through the client; the spec checks what Pebble would do
-- (the plan combined as Pebble combines layers, services, files, exec
-- answers, checks, notices), what the state after holds, what the run
-- records, the workload events' container, notice and check, and the
-- states Juju could not be in.

local charm = require "juju.charm"
local pebble = require "juju.pebble"
local testing = require "juju.testing"
local pebble_fake = require "juju.testing.pebble"
local on = testing.on

local META = {
  name = "web",
  containers = {
    web = { resource = "web-image", mounts = { { storage = "www", location = "/srv/www" } } },
    db = { resource = "db-image" },
  },
  resources = { ["web-image"] = { type = "oci-image" }, ["db-image"] = { type = "oci-image" } },
  storage = { www = { type = "filesystem" } },
}

--- Run fn as the handler of config-changed (on Kubernetes) against a
-- state; what it returned, the state after and the run.
local function run(fn, state)
  local got
  local c = charm.new()
  c:on("config-changed", function(e) got = table.pack(fn(e)) end)
  local out, r = testing.context{ charm = c, metadata = META }:run(on.config_changed(), state or {})
  return got and table.unpack(got, 1, got.n), out, r
end

--- The same, for a handler that raises: the error, the state and run.
local function run_failing(fn, state)
  local c = charm.new()
  c:on("config-changed", fn)
  local out, r = testing.context{ charm = c, metadata = META }:run_failing(on.config_changed(), state or {})
  return r.error, out, r
end

--- The error a call raised (a table).
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "no error")
  return err
end

local function web(e) return e.model:container("web") end

local NGINX = { override = "replace", command = "nginx -g 'daemon off;'", startup = "enabled" }

-- ------------------------------------------------------------ the plan

describe("juju.testing containers: layers and the plan #unit", function()
  it("add_layer then plan: the plan as Pebble combines it", function()
    local plan, out = run(function(e)
      web(e):add_layer("charm", { services = { nginx = NGINX } })
      return web(e):plan()
    end, { containers = { web = {} } })
    assert.same({ services = { nginx = NGINX } }, plan)
    assert.same({ charm = { services = { nginx = NGINX } } }, out.containers.web.layers)
    assert.same({ "charm" }, out.containers.web.layer_order)
    assert.same(NGINX, out.containers.web.plan.services.nginx)
  end)

  it("override merge: set fields win, lists are appended, maps merged; replace replaces", function()
    local base = {
      services = {
        app = { override = "replace", command = "app", startup = "enabled", after = { "db" },
                environment = { A = "1", B = "2" }, user = "app" },
        db = { override = "replace", command = "db" },
        old = { override = "replace", command = "old", environment = { X = "1" } },
      },
      checks = { up = { override = "replace", level = "alive",
                        http = { url = "http://localhost/", headers = { a = "1" } } } },
    }
    local plan = run(function(e)
      web(e):add_layer("charm", {
        services = {
          app = { override = "merge", command = "app --v2", after = { "cache" }, environment = { B = "3", C = "4" } },
          cache = { override = "merge", command = "cache" },
          old = { override = "replace", command = "new" },
        },
        checks = { up = { override = "merge", http = { headers = { b = "2" } }, threshold = 5 } },
      })
      return web(e):plan()
    end, { containers = { web = { layers = { base = base } } } })
    assert.same({ override = "replace", command = "app --v2", startup = "enabled", after = { "db", "cache" },
                  environment = { A = "1", B = "3", C = "4" }, user = "app" }, plan.services.app)
    assert.same({ override = "merge", command = "cache" }, plan.services.cache)
    assert.same({ override = "replace", command = "new" }, plan.services.old)
    assert.same({ override = "replace", level = "alive", threshold = 5,
                  http = { url = "http://localhost/", headers = { a = "1", b = "2" } } }, plan.checks.up)
  end)

  it("layers stack in layer_order (default: labels sorted)", function()
    local function cmd(order)
      return (run(function(e) return web(e):plan().services.a.command end, { containers = { web = {
        layers = { one = { services = { a = { override = "replace", command = "one" } } },
                   two = { services = { a = { override = "replace", command = "two" } } } },
        layer_order = order } } }))
    end
    assert.equal("two", cmd(nil))
    assert.equal("one", cmd({ "two", "one" }))
  end)

  it("a layer may be YAML text in the state, and add_layer may send YAML", function()
    local plan, out = run(function(e)
      web(e):add_layer("more", "services:\n  b:\n    override: replace\n    command: b\n")
      return web(e):plan()
    end, { containers = { web = { layers = { base = "services:\n  a: {override: replace, command: a}\n" } } } })
    assert.same({ "a", "b" }, { plan.services.a.command, plan.services.b.command })
    assert.same({ services = { a = { override = "replace", command = "a" } } }, out.containers.web.layers.base)
  end)

  it("combine: the same label merges into its layer; without combine it is an error", function()
    local plan, out = run(function(e)
      web(e):add_layer("charm", { services = { app = { override = "merge", environment = { B = "2" } } } },
        { combine = true })
      local err = raised(web(e).add_layer, web(e), "charm", { services = {} })
      assert.equal(400, err.code)
      assert.equal('layer "charm" already exists', err.message)
      return web(e):plan()
    end, { containers = { web = { layers = { charm = { services = {
      app = { override = "replace", command = "app", environment = { A = "1" } } } } } } } })
    assert.same({ A = "1", B = "2" }, plan.services.app.environment)
    assert.same({ A = "1", B = "2" }, out.containers.web.layers.charm.services.app.environment)
    assert.same({ "charm" }, out.containers.web.layer_order)
  end)

  it("Pebble's refusals, in Pebble's words", function()
    local cases = {
      { { services = { a = { comand = "a", override = "replace" } } },
        'cannot parse layer YAML: cannot parse layer "x": yaml: unmarshal errors:\n  field comand not found in '
          .. "type plan.Service" },
      { { services = { a = { command = "a" } } }, 'layer "x" must define "override" for service "a"' },
      { { services = { a = { command = "a", override = "add" } } },
        'layer "x" has invalid "override" value for service "a"' },
      { { services = { a = { override = "replace" } } }, 'plan must define "command" for service "a"' },
      { { services = { a = { override = "replace", command = "a", after = "b" } } },
        'cannot parse layer YAML: cannot parse layer "x": yaml: unmarshal errors:\n'
          .. "  cannot unmarshal !!str into []string" },
      { { checks = { c = { override = "replace", http = { url = "u" }, tcp = { port = 1 } } } },
        'plan must specify one of "http", "tcp", or "exec" for check "c"' },
      { { checks = { c = { override = "replace", level = "live", tcp = { port = 1 } } } },
        'plan check "c" level must be "alive" or "ready"' },
      { { ["log-targets"] = { l = { override = "replace", type = "loki", location = "x", services = { "nope" } } } },
        'log target "l" specifies unknown service "nope"' },
      { { services = { pebble = { override = "replace", command = "x" } } },
        'cannot parse layer YAML: cannot use reserved service name "pebble"' },
    }
    for _, case in ipairs(cases) do
      local err = run(function(e) return raised(web(e).add_layer, web(e), "x", case[1]) end,
        { containers = { web = {} } })
      assert.equal(pebble.APIError, getmetatable(err))
      assert.equal(case[2], err.message)
    end
  end)

  it("plan of a container with no layers is empty", function()
    assert.same({}, (run(function(e) return web(e):plan() end, { containers = { web = {} } })))
  end)
end)

-- ------------------------------------------------------------ services

describe("juju.testing containers: services #unit", function()
  local LAYERS = { base = { services = {
    app = { override = "replace", command = "app", startup = "enabled", requires = { "db" }, after = { "db" } },
    db = { override = "replace", command = "db" },
    worker = { override = "replace", command = "worker", after = { "app" } },
  } } }

  it("start starts what a service requires first; services reports them", function()
    local s, out, r = run(function(e)
      web(e):start("app")
      return web(e):services()
    end, { containers = { web = { layers = LAYERS } } })
    assert.same({ "active", "active", "inactive" }, { s.app.current, s.db.current, s.worker.current })
    assert.same({ "enabled", "disabled" }, { s.app.startup, s.db.startup })
    assert.same({ db = { current = "active" }, app = { current = "active" }, worker = { current = "inactive" } },
      out.containers.web.services)
    assert.same({ { id = "1", kind = "start", summary = 'Start service "app"', status = "Done",
                    started = { "db", "app" }, stopped = {} } }, r.pebble.web.changes)
  end)

  it("stop stops what requires a service too; a stopped service stays stopped", function()
    local _, out, r = run(function(e)
      web(e):stop("db")
      web(e):stop("db")
    end, { containers = { web = { layers = LAYERS,
                                  services = { app = { current = "active" }, db = { current = "active" } } } } })
    local services = out.containers.web.services
    assert.same({ "inactive", "inactive" }, { services.app.current, services.db.current })
    assert.same({ "app", "db" }, r.pebble.web.changes[1].stopped)
    assert.same({}, r.pebble.web.changes[2].stopped)
  end)

  it("replan starts the enabled services and restarts those whose configuration changed", function()
    local _, out, r = run(function(e)
      web(e):replan()
      web(e):add_layer("charm", { services = { db = { override = "merge", environment = { V = "2" } } } })
      web(e):replan()
      web(e):replan()
    end, { containers = { web = { layers = LAYERS, services = { db = { current = "active" } } } } })
    local changes = r.pebble.web.changes
    assert.same({ { "app" }, {} }, { changes[1].started, changes[1].stopped })
    -- db changed; app requires it, so it stops first and starts after (as Pebble's StopOrder has it)
    assert.same({ { "db", "app" }, { "app", "db" } }, { changes[2].started, changes[2].stopped })
    assert.same({ {}, {} }, { changes[3].started, changes[3].stopped })
    assert.equal('Replan service "app" and 1 more', changes[2].summary)
    -- app is enabled: a (no-op) start of it and of db, which it requires
    assert.equal('Replan service "app" and 1 more', changes[3].summary)
    assert.is_nil(out.containers.web.services.db.outdated)
  end)

  it("a layer added without a replan leaves the service outdated, in the state after and the next run", function()
    local _, out = run(function(e)
      web(e):add_layer("charm", { services = { db = { override = "merge", command = "db --v2" } } })
      assert.is_true(web(e):service("db").outdated)
    end, { containers = { web = { layers = LAYERS, services = { db = { current = "active" } } } } })
    assert.is_true(out.containers.web.services.db.outdated)
    local _, out2, r2 = run(function(e) web(e):replan() end, out)
    assert.same({ "db" }, r2.pebble.web.changes[1].stopped)
    assert.is_nil(out2.containers.web.services.db.outdated)
  end)

  it("restart stops and starts; autostart starts the enabled ones, and with none it is an APIError", function()
    local _, out, r = run(function(e)
      web(e):restart("db")
      web(e):autostart()
    end, { containers = { web = { layers = LAYERS, services = { db = { current = "active" } } } } })
    assert.same({ { "db" }, { "db" } }, { r.pebble.web.changes[1].stopped, r.pebble.web.changes[1].started })
    assert.same({ "app" }, r.pebble.web.changes[2].started)
    assert.equal("active", out.containers.web.services.app.current)
    local err = run(function(e) return raised(web(e).autostart, web(e)) end, { containers = { web = { layers = {
      base = { services = { db = { override = "replace", command = "db" } } } } } } })
    assert.same({ 400, "no-default-services", "no default services" }, { err.code, err.kind, err.message })
  end)

  it("a service that fails to start: a ChangeError, the service in error", function()
    local err, out = run(function(e) return raised(web(e).start, web(e), "db") end,
      { containers = { web = { layers = LAYERS,
                               services = { db = { start_error = "exited quickly with code 1" } } } } })
    assert.equal(pebble.ChangeError, getmetatable(err))
    assert.equal('cannot perform the following tasks:\n- Start service "db" (exited quickly with code 1)', err.err)
    assert.equal("error", out.containers.web.services.db.current)
  end)

  it("an unknown service, a dependency loop", function()
    local err = run(function(e) return raised(web(e).start, web(e), "nope") end,
      { containers = { web = { layers = LAYERS } } })
    assert.equal('cannot start services: service "nope" does not exist', err.message)
    err = run(function(e) return raised(web(e).start, web(e), "a") end,
      { containers = { web = { layers = { l = { services = {
      a = { override = "replace", command = "a", requires = { "b" }, after = { "b" } },
      b = { override = "replace", command = "b", after = { "a" } } } } } } } })
    assert.equal("cannot start services: services in before/after loop: a, b", err.message)
  end)

  it("send_signal reaches running services only", function()
    local err = run(function(e)
      web(e):send_signal("SIGHUP", "db")
      return raised(web(e).send_signal, web(e), "SIGHUP", "app")
    end, { containers = { web = { layers = LAYERS, services = { db = { current = "active" } } } } })
    assert.equal('cannot send signal to "app": service is not running', err.message)
  end)
end)

-- ------------------------------------------------------------ files

describe("juju.testing containers: files #unit", function()
  it("push then pull, list, exists; the state after holds each file with its metadata", function()
    local got, out, r = run(function(e)
      local w = web(e)
      w:push("/etc/app/app.conf", "a = 1\n", { make_dirs = true, permissions = "600", user = "app", group = "app" })
      return { w:pull("/etc/app/app.conf"), w:exists("/etc/app"), w:is_dir("/etc/app"), w:list_files("/etc/app"),
               w:pull("/etc/seed") }
    end, { containers = { web = { files = { ["/etc/seed"] = "seed" } } } })
    assert.equal("a = 1\n", got[1])
    assert.is_true(got[2])
    assert.is_true(got[3])
    assert.same({ { path = "/etc/app/app.conf", name = "app.conf", type = "file", size = 6, permissions = "600",
                    last_modified = 1735689600, user_id = 0, user = "app", group_id = 0, group = "app" } }, got[4])
    assert.equal("seed", got[5])
    assert.same({ ["/etc/seed"] = { content = "seed", permissions = "644" },
                  ["/etc/app/app.conf"] = { content = "a = 1\n", permissions = "600", user = "app", group = "app" } },
      out.containers.web.files)
    assert.same({ { path = "/etc/app/app.conf", permissions = "600", user = "app", group = "app" } },
      r.pebble.web.writes)
  end)

  it("Pebble's per-path errors: a missing directory, a directory read, a missing file", function()
    local errs = run(function(e)
      local w = web(e)
      return { raised(w.push, w, "/nope/x", "x"), raised(w.pull, w, "/etc"), raised(w.pull, w, "/etc/none"),
               raised(w.list_files, w, "/none") }
    end, { containers = { web = {} } })
    assert.same({ "not-found", "open /nope/x: no such file or directory" }, { errs[1].kind, errs[1].message })
    assert.same({ "generic-file-error", 'can only read a regular file: "/etc"' }, { errs[2].kind, errs[2].message })
    assert.same({ "not-found", "stat /etc/none: no such file or directory" }, { errs[3].kind, errs[3].message })
    assert.same({ 404, "not-found" }, { errs[4].code, errs[4].kind })
  end)

  it("binary content survives the multipart trip both ways", function()
    local data = "\0\1\255\r\n--" .. ("7d3fa2c91b"):rep(6) .. "\r\n\r\n"
    local got = run(function(e)
      web(e):push("/bin/blob", data)
      return web(e):pull("/bin/blob")
    end, { containers = { web = {} } })
    assert.equal(data, got)
  end)

  it("make_dir and remove_path as a filesystem does; the mount locations are there", function()
    local got, out = run(function(e)
      local w = web(e)
      w:make_dir("/srv/www/a/b", { make_parents = true })
      w:make_dir("/srv/www/c", { permissions = "700" })
      local exists = raised(w.make_dir, w, "/srv/www/c")
      local no_parent = raised(w.make_dir, w, "/x/y")
      w:push("/srv/www/a/b/f", "f")
      local not_empty = raised(w.remove_path, w, "/srv/www/a")
      w:remove_path("/srv/www/a", { recursive = true })
      local gone = raised(w.remove_path, w, "/srv/www/a")
      w:remove_path("/srv/www/a", { recursive = true })
      return { exists.message, no_parent.kind, not_empty.message, gone.kind }
    end, { containers = { web = {} } })
    assert.same({ "mkdir /srv/www/c: file exists", "not-found", "remove /srv/www/a: directory not empty", "not-found" },
      got)
    assert.same({ "/srv/www/c" }, out.containers.web.dirs)
  end)

  it("list_files with a pattern, and itself", function()
    local names = run(function(e)
      local out = {}
      for _, f in ipairs(web(e):list_files("/etc/app", { pattern = "*.conf" })) do out[#out + 1] = f.name end
      out[#out + 1] = web(e):list_files("/etc/app", { itself = true })[1].type
      return out
    end, { containers = { web = { files = { ["/etc/app/a.conf"] = "", ["/etc/app/b.txt"] = "", ["/etc/app/c.conf"] = "",
                                            ["/etc/app/sub/d.conf"] = "" } } } })
    assert.same({ "a.conf", "c.conf", "directory" }, names)
  end)
end)

-- ------------------------------------------------------------ exec

describe("juju.testing containers: exec #unit", function()
  it("answered by the first entry whose words start the argv; recorded with what the charm gave", function()
    local got, _, r = run(function(e)
      local w = web(e)
      return { w:exec({ "nginx", "-v" }, { split_stderr = true }), w:exec({ "nginx", "-t" }, { check = false }),
               w:exec({ "true" }, { environment = { A = "1" }, working_dir = "/srv", user = "app", timeout = 5,
                                   stdin = "in" }) }
    end, { containers = { web = { execs = {
      { command = "nginx -v", stderr = "nginx version: nginx/1.25.3\n" },
      { command = "nginx", code = 1, stdout = "out\n", stderr = "bad\n" },
    } } } })
    assert.same({ stdout = "", stderr = "nginx version: nginx/1.25.3\n", code = 0 }, got[1])
    assert.same({ stdout = "out\nbad\n", stderr = "", code = 1 }, got[2])
    assert.same({ stdout = "", stderr = "", code = 0 }, got[3])
    assert.same({ argv = { "true" }, environment = { A = "1" }, working_dir = "/srv", user = "app", timeout = 5,
                  stdin = "in", split_stderr = false, code = 0 }, r.pebble.web.execs[3])
    assert.same({ "nginx", "-v" }, r.pebble.web.execs[1].argv)
  end)

  it("a service context gives the service's environment, user and working directory; the request's win", function()
    local _, _, r = run(function(e)
      web(e):exec({ "env" }, { service_context = "app", environment = { B = "request" } })
      web(e):exec({ "env" }, { service_context = "app", working_dir = "/tmp", user = "root" })
    end, { containers = { web = { layers = { l = { services = { app = {
      override = "replace", command = "app", environment = { A = "service", B = "service" }, user = "app",
      ["working-dir"] = "/srv/app" } } } } } } })
    local x = r.pebble.web.execs
    assert.same({ { A = "service", B = "request" }, "/srv/app", "app" },
      { x[1].environment, x[1].working_dir, x[1].user })
    assert.same({ "/tmp", "root", "app" }, { x[2].working_dir, x[2].user, x[2].service_context })
    local err = run(function(e) return raised(web(e).exec, web(e), { "env" }, { service_context = "nope" }) end,
      { containers = { web = {} } })
    assert.equal('context service "nope" not found', err.message)
  end)

  it("a non-zero exit raises an ExecError naming the container", function()
    local err = run(function(e) return raised(web(e).exec, web(e), { "false" }) end,
      { containers = { web = { execs = { { command = "false", code = 1 } } } } })
    assert.equal(pebble.ExecError, getmetatable(err))
    assert.equal("command [false] exited with status 1 in container web", tostring(err))
  end)

  it("a function answers with what it computes from the argv, stdin and environment, and may write files", function()
    local got, out = run(function(e)
      return web(e):exec({ "tr", "a-z", "A-Z" }, { stdin = "hello", environment = { X = "y" } }).stdout
    end, { containers = { web = { execs = { { command = "tr", run = function(call)
      call.write("/tmp/seen", call.argv[2] .. " " .. call.environment.X)
      return 0, call.stdin:upper() .. (call.read("/tmp/seen") and "" or "?")
    end } } } } })
    assert.equal("HELLO", got)
    assert.equal("a-z y", out.containers.web.files["/tmp/seen"].content)
  end)

  it("missing: Pebble's 'cannot find executable'; change_error: a ChangeError; files: written", function()
    local got, out = run(function(e)
      local w = web(e)
      return { raised(w.exec, w, { "psql" }).message, raised(w.exec, w, { "sleep", "9" }, { timeout = 1 }).err,
               w:exec({ "backup" }).code }
    end, { containers = { web = { execs = {
      { command = "psql", missing = true },
      { command = "sleep", change_error = "timed out after 1s: context deadline exceeded" },
      { command = "backup", files = { ["/srv/backup/1.tar"] = "tar" } },
    } } } })
    assert.same({ 'cannot find executable "psql"', "cannot perform the following tasks:\n"
      .. '- Execute command "sleep" (timed out after 1s: context deadline exceeded)', 0 }, got)
    assert.equal("tar", out.containers.web.files["/srv/backup/1.tar"].content)
  end)
end)

-- ------------------------------------------------------------ checks and notices

describe("juju.testing containers: checks and notices #unit", function()
  local LAYER = { checks = { up = { override = "replace", level = "alive", tcp = { port = 80 } },
                             ready = { override = "replace", level = "ready", http = { url = "http://l/" } } } }

  it("the plan's checks, with the state's status; stop and start them", function()
    local got, out = run(function(e)
      local w = web(e)
      local before = w:checks()
      local alive = w:checks { level = "alive" }
      local stopped = w:stop_checks("up", "ready")
      local started = w:start_checks("up")
      return { before, alive, stopped, started }
    end, { containers = { web = { layers = { l = LAYER }, checks = { up = { status = "down", failures = 4 } } } } })
    assert.same({ name = "up", level = "alive", startup = "enabled", status = "down", failures = 4, threshold = 3 },
      got[1].up)
    assert.equal("up", got[1].ready.status)
    assert.same({ "up" }, (function() local k = {} for n in pairs(got[2]) do k[#k + 1] = n end return k end)())
    assert.same({ "up", "ready" }, got[3])
    assert.same({ "up" }, got[4])
    assert.same({ up = { status = "up", failures = 0 }, ready = { status = "inactive", failures = 0 } },
      out.containers.web.checks)
  end)

  it("notify adds a custom notice, and a repeat counts; notices and notice read them", function()
    local got, out = run(function(e)
      local w = web(e)
      local id = w:notify("example.com/done", { n = "1" })
      local again = w:notify("example.com/done", { n = "2" })
      local other = w:notify("example.com/other")
      return { id, again, other, w:notice(id).occurrences, #w:notices(), #w:notices { keys = { "example.com/other" } },
               raised(w.notify, w, "bad key").message }
    end, { containers = { web = { notices = { { key = "example.com/seed" } } } } })
    assert.same({ "2", "2", "3", 2, 3, 1, 'invalid key "bad key" (must be in "example.com/path" format)' }, got)
    assert.same({ id = "2", type = "custom", key = "example.com/done", occurrences = 2, last_data = { n = "2" } },
      out.containers.web.notices[2])
  end)
end)

-- ------------------------------------------------------------ workload events

describe("juju.testing containers: workload events #unit", function()
  local function fire(event, state, handler)
    local seen
    local c = charm.new()
    c:on(event.name, function(e) seen = handler(e) end)
    local out, r = testing.context{ charm = c, metadata = META }:run(event, state)
    return seen, out, r
  end

  it("pebble-ready: e.container is the container's client; the event's container is added when missing", function()
    local seen, out = fire(on.pebble_ready("web"), {}, function(e)
      return { e.container.name, e.container.socket_path, pebble.is_client(e.container),
               e.container == e.model:container("web"), e.container:can_connect() }
    end)
    assert.same({ "web", "/charm/containers/web/pebble.socket", true, true, true }, seen)
    assert.is_true(out.containers.web.can_connect)
  end)

  it("a declared container the state leaves out cannot be reached", function()
    local seen = fire(on.pebble_ready("web"), {}, function(e)
      local ok, err = e.model:container("db"):can_connect()
      return { ok, getmetatable(err) == pebble.ConnectionError }
    end)
    assert.same({ false, true }, seen)
  end)

  it("can_connect = false: every call is a ConnectionError, and the attempt is recorded", function()
    local seen, _, r = fire(on.update_status(), { containers = { web = { can_connect = false } } }, function(e)
      return tostring(raised(e.model:container("web").plan, e.model:container("web")))
    end)
    assert.equal("cannot connect to Pebble at /charm/containers/web/pebble.socket: No such file or directory "
      .. "(container restarted?)", seen)
    assert.same({ { method = "GET", target = "/v1/plan?format=yaml", refused = true } }, r.pebble.web.requests)
  end)

  it("pebble-custom-notice: id, type and key from Juju; data fetched when read", function()
    local seen, out, r = fire(on.pebble_custom_notice("web", { key = "example.com/backup" }), { containers = { web = {
      notices = { { id = "7", key = "example.com/backup", last_data = { path = "/b/1.tar" }, occurrences = 2 } } } } },
      function(e)
        local before = #e.model:container("web"):notices()
        return { e.notice.id, e.notice.type, e.notice.key, e.notice.data.path, e.notice.occurrences, before }
      end)
    assert.same({ "7", "custom", "example.com/backup", "/b/1.tar", 2, 1 }, seen)
    assert.equal("7", r.env.JUJU_NOTICE_ID)
    assert.equal("GET /v1/notices/7", r.pebble.web.requests[2].method .. " " .. r.pebble.web.requests[2].target)
    assert.equal(1, #out.containers.web.notices)
  end)

  it("pebble-custom-notice for a notice the state lacks: it is added, with the next id", function()
    local seen, out = fire(on.pebble_custom_notice("web", { key = "example.com/new" }), { containers = { web = {
      notices = { { id = "3", key = "example.com/old" } } } } },
      function(e) return { e.notice.id, e.notice.occurrences } end)
    assert.same({ "4", 1 }, seen)
    assert.equal("example.com/new", out.containers.web.notices[2].key)
  end)

  it("pebble-check-failed and -recovered: e.check.name; info fetched when read, as the event says", function()
    local seen = fire(on.pebble_check_failed("web", "up"), {}, function(e)
      return { e.check.name, e.check.info.status, e.check.info.failures }
    end)
    assert.same({ "up", "down", 3 }, seen)
    seen = fire(on.pebble_check_recovered("web", "up"), { containers = { web = { layers = { l = {
      checks = { up = { override = "replace", tcp = { port = 1 } } } } }, checks = { up = { status = "down" } } } } },
      function(e) return e.check.info.status end)
    assert.equal("up", seen)
  end)

  it("a deferred custom notice runs again with its notice", function()
    local c = charm.new()
    local keys = {}
    c:on("web-pebble-custom-notice", function(e) keys[#keys + 1] = e.notice.key end)
    c:on("update-status", function() end)
    local ev = on.pebble_custom_notice("web", { key = "example.com/x", id = "2" })
    testing.context{ charm = c, metadata = META }:run(on.update_status(), { deferred = { testing.deferred(ev) },
      containers = { web = { notices = { { id = "2", key = "example.com/x" } } } } })
    assert.same({ "example.com/x" }, keys)
  end)

  it("the machine paths load no Pebble: an event without a container makes no client", function()
    local seen = fire(on.update_status(), {}, function(e) return { e.container, e.notice, e.check } end)
    assert.same({}, seen)
  end)
end)

-- ------------------------------------------------------------ runs

describe("juju.testing containers: runs #unit", function()
  it("the run records each request: method, target, JSON body, status", function()
    local _, _, r = run(function(e)
      web(e):add_layer("l", { services = { a = { override = "replace", command = "a" } } })
      web(e):start("a")
    end, { containers = { web = {} } })
    local req = r.pebble.web.requests
    assert.same({ "POST", "/v1/layers", 200 }, { req[1].method, req[1].target, req[1].status })
    assert.equal("add", req[1].body.action)
    assert.same({ action = "start", services = { "a" } }, req[2].body)
    assert.equal(202, req[2].status)
    assert.equal("/v1/changes/1/wait?timeout=4.000s", req[3].target)
  end)

  it("a failed hook keeps what Pebble did (Pebble has no rollback)", function()
    local err, out = run_failing(function(e)
      web(e):push("/etc/x", "x")
      error("boom")
    end, { containers = { web = {} } })
    assert.matches("boom", err)
    assert.equal("x", out.containers.web.files["/etc/x"].content)
  end)

  it("runs chain: the state after is a state in", function()
    local _, s = run(function(e)
      web(e):add_layer("l", { services = { a = { override = "replace", command = "a", startup = "enabled" } } })
      web(e):replan()
      web(e):push("/etc/a", "1", { permissions = "600" })
    end, { containers = { web = {} } })
    local got = run(function(e)
      return { web(e):services().a.current, web(e):pull("/etc/a"), web(e):plan().services.a.command }
    end, s)
    assert.same({ "active", "1", "a" }, got)
  end)

  it("the transport is put back after the run", function()
    local before = pebble.set_transport(nil)
    pebble.set_transport(before)
    run(function() end, {})
    assert.equal(before, pebble.set_transport(before))
  end)
end)

-- ------------------------------------------------------------ consistency

describe("juju.testing containers: states Juju could not be in #unit", function()
  local function refusal(state, event)
    local ctx = testing.context{ charm = charm.new(), metadata = META }
    local ok, err = pcall(ctx.run, ctx, event or on.update_status(), state)
    assert.is_false(ok, "no refusal")
    return tostring(err):gsub("^.-inconsistent state: ", "")
  end

  it("each mistake, named", function()
    assert.equal("containers: the charm declares no container 'side'", refusal{ containers = { side = {} } })
    assert.equal("containers.web: unknown key 'layer' (did you mean 'layers'?)",
      refusal{ containers = { web = { layer = {} } } })
    assert.equal("containers.web: can_connect is not a boolean",
      refusal{ containers = { web = { can_connect = "yes" } } })
    assert.equal('containers.web: layers: layer "l" must define "override" for service "a"',
      refusal{ containers = { web = { layers = { l = { services = { a = { command = "a" } } } } } } })
    assert.equal("containers.web: layer_order leaves out layer 'b'", refusal{ containers = { web = {
      layers = { a = {}, b = {} }, layer_order = { "a" } } } })
    assert.equal("containers.web: services.x: the plan has no service 'x' (give it a layer)",
      refusal{ containers = { web = { services = { x = { current = "active" } } } } })
    assert.equal("containers.web: files: 'etc/x' is not an absolute path",
      refusal{ containers = { web = { files = { ["etc/x"] = "" } } } })
    assert.equal('containers.web: files["/x"]: permissions 644 (three octal digits, such as "644")',
      refusal{ containers = { web = { files = { ["/x"] = { content = "", permissions = 644 } } } } })
    assert.equal("containers.web: execs[1] has no command (the words an argv starts with)",
      refusal{ containers = { web = { execs = { { code = 1 } } } } })
    assert.equal("containers.web: checks.up: status 'ok' (up, down or inactive)",
      refusal{ containers = { web = { checks = { up = { status = "ok" } } } } })
    assert.equal("containers.web: notices[1] has no key", refusal{ containers = { web = { notices = { {} } } } })
    assert.equal("containers.web: notices: id 1 is used twice", refusal{ containers = { web = { notices = {
      { id = "1", key = "example.com/a" }, { id = 1, key = "example.com/b" } } } } })
  end)

  it("pebble-ready for a container that cannot connect; a check event for a check the plan lacks", function()
    assert.equal("web-pebble-ready: Juju sends pebble-ready when Pebble answers (containers.web.can_connect is false)",
      refusal({ containers = { web = { can_connect = false } } }, on.pebble_ready("web")))
    assert.equal("web-pebble-check-failed: container 'web' has no check 'nope' (in its layers or checks)",
      refusal({ containers = { web = { layers = { l = {} } } } }, on.pebble_check_failed("web", "nope")))
  end)

  it("juju.testing.pebble.check says the same without a run", function()
    assert.same({ "containers.web: can_connect is not a boolean" },
      pebble_fake.check({ web = { can_connect = 1 } }, nil))
  end)
end)
