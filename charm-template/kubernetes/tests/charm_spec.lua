-- hello-lua-k8s's behaviour through juju.testing: a state before, an
-- event, a state after. The context reads charmcraft.yaml (config
-- defaults, the container, the endpoints and actions a state may use) and
-- loads src/charm.lua as dispatch does. The workload container is a fake
-- Pebble (the state's `containers.web`) that answers the charm's
-- juju.pebble at the HTTP level: its layers combine into a plan, replans
-- start and restart services as Pebble does, files are pushed and pulled,
-- commands answer as `execs` says. Nothing touches a cluster, and each run
-- takes a fraction of a millisecond.
--
-- Idioms: one behaviour per test; `serving()` below is a state reached by
-- running the charm's own pebble-ready on a fresh container, not written by
-- hand; chained runs for a flow; `run_failing` only for a hook that must
-- fail (none here: a workload's trouble is a status, not a failed hook).

local testing = require "juju.testing"
local on = testing.on

local ctx = testing.context{ charm_dir = "." }

local SITE = "/etc/nginx/conf.d/default.conf"
local PAGE = "/srv/hello-lua-k8s/index.html"
local RELOAD = "example.com/hello-lua-k8s/reload"

-- A container just started from the nginx image: its own default site,
-- and nginx answering `nginx -v` (on stderr, as nginx does) and `nginx -t`.
local function fresh_container()
  return {
    files = { [SITE] = "server { listen 80; root /usr/share/nginx/html; }\n" },
    execs = {
      { command = "nginx -v", stderr = "nginx version: nginx/1.28.0\n" },
      { command = "nginx -t", stdout = "nginx: configuration file /etc/nginx/nginx.conf test is successful\n" },
    },
  }
end

--- The state of a pod whose Pebble just started.
local function new_pod(changes)
  local s = { leader = true, containers = { web = fresh_container() } }
  for k, v in pairs(changes or {}) do s[k] = v end
  return s
end

--- The state once the charm configured the pod (its own pebble-ready).
local function serving(changes)
  local s = ctx:run(on.pebble_ready("web"), new_pod())
  for k, v in pairs(changes or {}) do s[k] = v end
  return s
end

--- What the charm asked of the container's Pebble in a run.
local function pebble_record(run)
  return run.pebble.web or { requests = {}, execs = {}, changes = {} }
end

--- "METHOD target" of every request to the container, query left out.
local function requests(run)
  local out = {}
  for i, r in ipairs(pebble_record(run).requests) do out[i] = r.method .. " " .. r.target:match("^[^?]*") end
  return out
end

--- The commands run in the container, as strings.
local function execs(run)
  local out = {}
  for i, x in ipairs(pebble_record(run).execs) do out[i] = table.concat(x.argv, " ") end
  return out
end

--- The paths pushed to the container, in order.
local function pushed(run)
  local out = {}
  for i, w in ipairs(pebble_record(run).writes or {}) do out[i] = w.path end
  return out
end

--- The service changes (not execs): "kind: -stopped +started".
local function service_changes(run)
  local out = {}
  for _, ch in ipairs(pebble_record(run).changes) do
    if ch.kind ~= "exec" then
      out[#out + 1] = ("%s: -%s +%s"):format(ch.kind, table.concat(ch.stopped or {}, ","),
        table.concat(ch.started or {}, ","))
    end
  end
  return out
end

--- The signals sent, as "SIGNAL service,...".
local function signals(run)
  local out = {}
  for _, r in ipairs(pebble_record(run).requests) do
    if r.target == "/v1/signals" then out[#out + 1] = r.body.signal .. " " .. table.concat(r.body.services, ",") end
  end
  return out
end

--- The names of the hook commands a run issued.
local function commands(run)
  local out = {}
  for i, c in ipairs(run.commands) do out[i] = c.argv[1] end
  return out
end

--- The juju-log lines at a level.
local function logs(run, level)
  local out = {}
  for _, l in ipairs(run.logs) do
    if l.level == level then out[#out + 1] = l.message end
  end
  return out
end

local function content(s, path)
  local f = s.containers.web.files[path]
  return f and f.content
end

describe("web-pebble-ready", function()
  it("pushes the site and the page, then starts nginx with its layer", function()
    local out, run = ctx:run(on.pebble_ready("web"), new_pod())
    assert.same({ PAGE, SITE }, pushed(run))
    assert.matches("listen 8080;", content(out, SITE), 1, true)
    assert.matches("<p>Hello from a Lua charm on Kubernetes!</p>", content(out, PAGE), 1, true)
    assert.same({ "replan: - +nginx" }, service_changes(run))
    assert.same({ current = "active" }, out.containers.web.services.nginx)
  end)

  it("the layer: nginx in the foreground, its port in the environment, a health check on that port", function()
    local plan = serving().containers.web.plan
    assert.same({ override = "replace", summary = "nginx", command = "nginx -g 'daemon off;'",
                  startup = "enabled", environment = { PORT = "8080" } }, plan.services.nginx)
    assert.same({ override = "replace", level = "ready", period = "10s", threshold = 3,
                  http = { url = "http://localhost:8080/healthz" } }, plan.checks.http)
    assert.same({ "hello-lua-k8s" }, serving().containers.web.layer_order)
  end)

  it("the site answers the health check and serves the page's directory", function()
    local site = content(serving(), SITE)
    assert.matches("root /srv/hello-lua-k8s;", site, 1, true)
    assert.matches('location = /healthz { access_log off; default_type text/plain; return 200 "ok\\n"; }', site,
      1, true)
  end)

  it("asks nginx its version, and tests the new site before using it", function()
    local out, run = ctx:run(on.pebble_ready("web"), new_pod())
    assert.same({ "nginx -v", "nginx -t" }, execs(run))
    assert.equal("1.28.0", out.workload_version)
  end)

  it("writes its files world-readable", function()
    local _, run = ctx:run(on.pebble_ready("web"), new_pod())
    for _, w in ipairs(run.pebble.web.writes) do assert.equal("644", w.permissions, w.path) end
  end)

  it("says it is configuring, then opens the port and is active", function()
    local out, run = ctx:run(on.pebble_ready("web"), new_pod())
    assert.same({ target = "unit", name = "maintenance", message = "configuring nginx" }, run.status_history[1])
    assert.same({ { protocol = "tcp", port = 8080 } }, out.opened_ports)
    assert.same({ name = "active", message = "serving on port 8080" }, out.unit_status)
  end)

  it("again on the same container: nothing pushed, nginx left running", function()
    local out, run = ctx:run(on.pebble_ready("web"), serving())
    assert.same({}, pushed(run))
    assert.same({ "replan: - +" }, service_changes(run))
    assert.same({ "nginx -v" }, execs(run))
    assert.same({ name = "active", message = "serving on port 8080" }, out.unit_status)
  end)

  it("a new pod: the empty container is configured from scratch", function()
    local s = serving()
    s.containers = { web = fresh_container() }      -- the pod was rescheduled
    local out, run = ctx:run(on.pebble_ready("web"), s)
    assert.same({ PAGE, SITE }, pushed(run))
    assert.same({ "replan: - +nginx" }, service_changes(run))
    assert.same({ name = "active", message = "serving on port 8080" }, out.unit_status)
    for _, name in ipairs(commands(run)) do assert.is_nil(name:match("port"), name) end   -- still open
  end)
end)

describe("when the workload is not right", function()
  it("Pebble not up yet: the charm waits, having asked nothing more than whether it answers", function()
    local out, run = ctx:run(on.config_changed(), { containers = { web = { can_connect = false } } })
    assert.same({ name = "waiting", message = "waiting for Pebble in the web container" }, out.unit_status)
    assert.same({ "GET /v1/system-info", "GET /v1/system-info" }, requests(run))
    assert.same({ "state-get", "config-get", "relation-ids", "status-set" }, commands(run))
  end)

  it("a container the state leaves out cannot be reached either: install waits", function()
    local out = ctx:run(on.install(), {})
    assert.same({ name = "waiting", message = "waiting for Pebble in the web container" }, out.unit_status)
    assert.is_nil(out.opened_ports)
  end)

  it("a site nginx rejects is taken back: blocked with nginx's words, nginx untouched", function()
    local s = serving { config = { port = 9000 } }
    table.insert(s.containers.web.execs, 1, { command = "nginx -t", code = 1,
      stdout = "nginx: [emerg] bind() to 0.0.0.0:9000 failed (13: Permission denied)\n"
        .. "nginx: configuration file /etc/nginx/nginx.conf test failed\n" })
    local out, run = ctx:run(on.config_changed(), s)
    assert.same({ name = "blocked", message = "nginx rejects its configuration: nginx: [emerg] bind() to "
      .. "0.0.0.0:9000 failed (13: Permission denied)" }, out.unit_status)
    assert.matches("listen 8080;", content(out, SITE), 1, true)
    assert.same({ SITE, SITE }, pushed(run))           -- the new site, then the old one back
    assert.same({}, service_changes(run))
    assert.equal("8080", out.containers.web.plan.services.nginx.environment.PORT)
    assert.same({ { protocol = "tcp", port = 8080 } }, out.opened_ports)
  end)

  it("once nginx accepts the site, the block is lifted", function()
    local s = serving { config = { port = 9000 } }
    table.insert(s.containers.web.execs, 1, { command = "nginx -t", code = 1, stdout = "nginx: [emerg] no\n" })
    s = ctx:run(on.config_changed(), s)
    table.remove(s.containers.web.execs, 1)
    local out = ctx:run(on.config_changed(), s)
    assert.same({ name = "active", message = "serving on port 9000" }, out.unit_status)
    assert.is_nil(out.stored.rejected)
  end)

  it("an image without nginx: blocked, saying so; nothing is started", function()
    local pod = new_pod()
    pod.containers.web.execs = { { command = "nginx", missing = true } }
    local out, run = ctx:run(on.pebble_ready("web"), pod)
    assert.same({ name = "blocked", message = 'the web image cannot run nginx: cannot find executable "nginx"' },
      out.unit_status)
    assert.equal("server { listen 80; root /usr/share/nginx/html; }\n", content(out, SITE))
    assert.is_nil(out.containers.web.plan.services.nginx)
    assert.equal(1, #logs(run, "WARNING"))               -- and no version
  end)

  it("nginx does not start: blocked, pointing at its logs; the hook succeeds", function()
    local s = serving { config = { port = 9000 } }
    s.containers.web.services.nginx = { current = "inactive", start_error = "exited quickly with code 1" }
    local out, run = ctx:run(on.config_changed(), s)
    assert.same({ name = "blocked", message = "nginx failed to start: `pebble logs nginx` in the web container "
      .. "says why" }, out.unit_status)
    assert.matches("nginx did not start: .*exited quickly with code 1", logs(run, "ERROR")[1])
    assert.same({ { protocol = "tcp", port = 8080 } }, out.opened_ports)   -- 9000 is not served
  end)
end)

describe("config-changed", function()
  it("a new port: new site, layer and check; the replan restarts nginx, once", function()
    local out, run = ctx:run(on.config_changed(), serving { config = { port = 9000 } })
    assert.matches("listen 9000;", content(out, SITE), 1, true)
    assert.same({ "replan: -nginx +nginx" }, service_changes(run))
    local plan = out.containers.web.plan
    assert.equal("9000", plan.services.nginx.environment.PORT)
    assert.equal("http://localhost:9000/healthz", plan.checks.http.http.url)
    assert.same({ { protocol = "tcp", port = 9000 } }, out.opened_ports)
    assert.same({ name = "active", message = "serving on port 9000" }, out.unit_status)
  end)

  it("a new page: pushed, HTML-escaped, and nginx serves it without a restart", function()
    local out, run = ctx:run(on.config_changed(), serving { config = { page = "<b>Tom & Jerry</b>" } })
    assert.same({ PAGE }, pushed(run))
    assert.matches("<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>", content(out, PAGE), 1, true)
    assert.same({ "replan: - +" }, service_changes(run))
    assert.same({}, execs(run))                          -- the site did not change: no nginx -t
  end)

  it("nothing changed: no file written, nginx left alone, no port command", function()
    local _, run = ctx:run(on.config_changed(), serving())
    assert.same({}, pushed(run))
    assert.same({ "replan: - +" }, service_changes(run))
    assert.same({ "state-get", "config-get", "relation-ids", "status-set" }, commands(run))
  end)

  it("a site changed behind the charm's back is put back, and nginx restarted to read it", function()
    local s = serving()
    s.containers.web.files[SITE] = { content = "server { listen 8080; autoindex on; }\n", permissions = "644" }
    local out, run = ctx:run(on.config_changed(), s)
    assert.same({ SITE }, pushed(run))
    assert.matches("root /srv/hello-lua-k8s;", content(out, SITE), 1, true)
    assert.same({ "replan: - +", "restart: -nginx +nginx" }, service_changes(run))
  end)

  it("a port out of range blocks, and the container is left as it is", function()
    local out, run = ctx:run(on.config_changed(), serving { config = { port = 0 } })
    assert.same({ name = "blocked", message = "'port' must be between 1 and 65535 (it is 0)" }, out.unit_status)
    assert.same({}, requests(run))
    assert.same({ { protocol = "tcp", port = 8080 } }, out.opened_ports)
  end)

  it("an empty page blocks, and says which option to set", function()
    local out = ctx:run(on.config_changed(), serving { config = { page = "" } })
    assert.same({ name = "blocked", message = "set the 'page' config option" }, out.unit_status)
    assert.matches("Hello from a Lua charm on Kubernetes!", content(out, PAGE), 1, true)
  end)
end)

describe("the reload notice", function()
  local function with_notice(s, data)
    s.containers.web.notices = { { id = "7", key = RELOAD, last_data = data } }
    return s
  end

  it("tests nginx's configuration, then signals nginx to reload it", function()
    local s = with_notice(serving(), { reason = "certificates renewed" })
    local _, run = ctx:run(on.pebble_custom_notice("web", { key = RELOAD }), s)
    assert.same({ "nginx -t" }, execs(run))
    assert.same({ "SIGHUP nginx" }, signals(run))
    assert.same({ "the workload asks for a reload (certificates renewed)" }, logs(run, "INFO"))
  end)

  it("its data is read from Pebble, when the handler asks", function()
    local _, run = ctx:run(on.pebble_custom_notice("web", { key = RELOAD }), with_notice(serving(), {}))
    local reqs = requests(run)
    assert.equal("GET /v1/system-info", reqs[1])
    assert.equal("GET /v1/notices/7", reqs[2])
    assert.same({ "the workload asks for a reload" }, logs(run, "INFO"))
  end)

  it("a configuration nginx rejects is not reloaded: no signal, a warning", function()
    local s = serving()
    table.insert(s.containers.web.execs, 1, { command = "nginx -t", code = 1,
      stdout = 'nginx: [emerg] unknown directive "sever" in /etc/nginx/conf.d/extra.conf:1\n' })
    local _, run = ctx:run(on.pebble_custom_notice("web", { key = RELOAD }), s)
    assert.same({}, signals(run))
    assert.same({ 'not reloading nginx: nginx rejects its configuration: nginx: [emerg] unknown directive "sever" '
      .. "in /etc/nginx/conf.d/extra.conf:1" }, logs(run, "WARNING"))
  end)

  it("nginx not running: nothing to reload, and reconcile starts it", function()
    local s = serving()
    s.containers.web.services.nginx.current = "inactive"
    local out, run = ctx:run(on.pebble_custom_notice("web", { key = RELOAD }), s)
    assert.same({}, signals(run))
    assert.same({ "replan: - +nginx" }, service_changes(run))
    assert.equal("active", out.containers.web.services.nginx.current)
  end)

  it("another key is not for this charm: nothing is done", function()
    local _, run = ctx:run(on.pebble_custom_notice("web", { key = "example.com/backup-done" }), serving())
    assert.same({}, signals(run))
    assert.same({}, execs(run))
  end)
end)

describe("the health check", function()
  it("failed: nginx is restarted, and the unit waits for it to answer", function()
    local out, run = ctx:run(on.pebble_check_failed("web", "http"), serving())
    assert.same({ "restart: -nginx +nginx", "replan: - +" }, service_changes(run))
    assert.same({ "nginx does not answer its health check (3 failures): restarting it" }, logs(run, "WARNING"))
    assert.same({ name = "waiting", message = "nginx does not answer on port 8080 (check http down, 3 failures)" },
      out.unit_status)
  end)

  it("failed, and nginx does not start again: blocked, pointing at its logs; the hook succeeds", function()
    local s = serving()
    s.containers.web.services.nginx.start_error = "exited quickly with code 1"
    local out, run = ctx:run(on.pebble_check_failed("web", "http"), s)
    assert.same({ name = "blocked", message = "nginx failed to start: `pebble logs nginx` in the web container "
      .. "says why" }, out.unit_status)
    assert.matches("nginx did not start: .*exited quickly with code 1", logs(run, "ERROR")[1])
  end)

  it("recovered: active again", function()
    local s = ctx:run(on.pebble_check_failed("web", "http"), serving())
    local out, run = ctx:run(on.pebble_check_recovered("web", "http"), s)
    assert.same({ name = "active", message = "serving on port 8080" }, out.unit_status)
    assert.same({ "replan: - +" }, service_changes(run))
    assert.same({ "nginx answers its health check again" }, logs(run, "INFO"))
  end)
end)

describe("update-status", function()
  it("only reports: asks Pebble how nginx is, changes nothing", function()
    local _, run = ctx:run(on.update_status(), serving())
    assert.same({ "GET /v1/system-info", "GET /v1/services", "GET /v1/checks" }, requests(run))
    assert.same({ "state-get", "config-get", "status-set" }, commands(run))
  end)

  it("nginx exiting and started again by Pebble: waiting", function()
    local s = serving()
    s.containers.web.services.nginx.current = "backoff"
    local out = ctx:run(on.update_status(), s)
    assert.same({ name = "waiting", message = "nginx exited: Pebble is starting it again" }, out.unit_status)
  end)

  it("nginx stopped: maintenance", function()
    local s = serving()
    s.containers.web.services.nginx.current = "inactive"
    assert.same({ name = "maintenance", message = "nginx is not running" }, ctx:run(on.update_status(), s).unit_status)
  end)

  it("the container restarting: waiting for Pebble", function()
    local s = serving()
    s.containers.web.can_connect = false
    local out = ctx:run(on.update_status(), s)
    assert.same({ name = "waiting", message = "waiting for Pebble in the web container" }, out.unit_status)
  end)
end)

describe("upgrade-charm", function()
  it("asks nginx its version again, and changes nothing that is right", function()
    local s = serving()
    s.containers.web.execs[1].stderr = "nginx version: nginx/1.29.1\n"
    local out, run = ctx:run(on.upgrade_charm(), s)
    assert.equal("1.29.1", out.workload_version)
    assert.same({}, pushed(run))
    assert.same({ "replan: - +" }, service_changes(run))
  end)

  it("a layer from an older charm is replaced, and the replan restarts nginx with it", function()
    local s = serving()
    local old = s.containers.web.layers["hello-lua-k8s"]
    old.services.nginx.command = "nginx -g 'daemon off; worker_processes 1;'"
    s.containers.web.services.nginx = { current = "active" }   -- running that layer
    local out, run = ctx:run(on.upgrade_charm(), s)
    assert.same({ "replan: -nginx +nginx" }, service_changes(run))
    assert.equal("nginx -g 'daemon off;'", out.containers.web.plan.services.nginx.command)
  end)
end)

describe("the website relation", function()
  local proxy = testing.relation { id = 4, endpoint = "website", remote_app = "proxy" }

  it("the leader publishes the application's service URL, each unit its own", function()
    local out = ctx:run(on.relation_joined(proxy), serving { relations = { proxy } })
    local r = out.relations[1]
    assert.equal("http://hello-lua-k8s.test-model.svc.cluster.local:8080/", r.local_app_data.url)
    assert.equal("http://192.0.2.0:8080/", r.local_unit_data.url)
  end)

  it("a non-leader publishes only its own URL", function()
    local out = ctx:run(on.relation_joined(proxy), serving { leader = false, relations = { proxy } })
    assert.same({}, out.relations[1].local_app_data)
    assert.equal("http://192.0.2.0:8080/", out.relations[1].local_unit_data.url)
  end)

  it("an IPv6 pod address is written in brackets", function()
    local s = serving { relations = { proxy }, networks = { website = { ingress_addresses = { "fd00::7" } } } }
    local out = ctx:run(on.relation_changed(proxy), s)
    assert.equal("http://[fd00::7]:8080/", out.relations[1].local_unit_data.url)
  end)

  it("nothing is published before nginx serves; pebble-ready publishes it", function()
    local s = ctx:run(on.relation_joined(proxy),
      { leader = true, relations = { proxy }, containers = { web = { can_connect = false } } })
    assert.same({}, s.relations[1].local_unit_data)
    s.containers = { web = fresh_container() }
    local out = ctx:run(on.pebble_ready("web"), s)
    assert.equal("http://192.0.2.0:8080/", out.relations[1].local_unit_data.url)
  end)

  it("a new port is published", function()
    local out = ctx:run(on.config_changed(), serving { relations = { proxy }, config = { port = 9000 } })
    assert.equal("http://hello-lua-k8s.test-model.svc.cluster.local:9000/", out.relations[1].local_app_data.url)
  end)
end)

describe("actions", function()
  it("greet: a greeting, and a count kept across runs", function()
    local s, run = ctx:run(on.action("greet", { name = "Ada" }), serving())
    assert.same({ greeting = "Hello, Ada!", count = "1" }, run.action.results)
    local _, run2 = ctx:run(on.action("greet", { name = "Bob" }), s)
    assert.equal("2", run2.action.results.count)
  end)

  it("greet needs a name, as its schema says: Juju would not run it", function()
    assert.has_error(function() ctx:run(on.action("greet"), serving()) end)
  end)

  it("check-config: nginx -t in the container, its output in the results", function()
    local _, run = ctx:run(on.action("check-config"), serving())
    assert.same({ "nginx -t" }, execs(run))
    assert.same({ ok = "true", output = "nginx: configuration file /etc/nginx/nginx.conf test is successful\n" },
      run.action.results)
    assert.is_nil(run.action.failure)
  end)

  it("check-config fails with nginx's complaint", function()
    local s = serving()
    table.insert(s.containers.web.execs, 1, { command = "nginx -t", code = 1, stdout = "nginx: [emerg] no\n" })
    local _, run = ctx:run(on.action("check-config"), s)
    assert.equal("nginx rejects its configuration: nginx: [emerg] no", run.action.failure)
    assert.equal("false", run.action.results.ok)
  end)

  it("check-config fails when Pebble cannot be reached", function()
    local s = serving()
    s.containers.web.can_connect = false
    local _, run = ctx:run(on.action("check-config"), s)
    assert.matches("^cannot reach Pebble in the web container: cannot connect to Pebble", run.action.failure)
  end)
end)
