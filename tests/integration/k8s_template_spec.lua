-- The packed Kubernetes template (charm-template/kubernetes), run as a
-- charm author runs it before deploying: build/hello-lua-k8s.charm is
-- packed here as `make charm` packs it (its Lua compiled), then every event
-- it declares is run with `dispatch --simulate` against a state file, and
-- the state file is checked after each: the container's plan, services,
-- files and checks (the fake Pebble the charm's juju.pebble reaches through
-- DISPATCH_PEBBLE_SIM), the status, ports, relation data, stored state.
--
-- Each test starts from a state file of its own: most from SERVING, the
-- state after the charm's own install and web-pebble-ready on a fresh pod
-- (made once, in setup, by the same binary), so the events do not depend
-- on the order the tests run in.

local hookenv = require "helpers.hookenv"
local zip = require "helpers.zip"
local lyaml = require "lyaml"

local json = require("juju").json
local sys = require "juju.sys"
local quote = hookenv.quote
local ROOT = hookenv.cwd()
local TEMPLATE = ROOT .. "/charm-template/kubernetes"

-- The simulated unit always runs the charm's hook commands over exec: run
-- these once, not once per transport.

local SITE = "/etc/nginx/conf.d/default.conf"
local PAGE = "/srv/hello-lua-k8s/index.html"
local RELOAD = "example.com/hello-lua-k8s/reload"

-- A pod whose web container was just started from the nginx image.
local POD = {
  containers = { web = {
    files = { [SITE] = "server { listen 80; root /usr/share/nginx/html; }\n" },
    execs = {
      { command = "nginx -v", stderr = "nginx version: nginx/1.28.0\n" },
      { command = "nginx -t", stdout = "nginx: configuration file /etc/nginx/nginx.conf test is successful\n" },
    },
  } },
}

describe("the packed Kubernetes template on a simulated unit #integration #once", function()
  local tmp, packed, state, serving
  local ran = {}          -- the events run, against the metadata's at the end

  local function read_state() return json.decode(assert(hookenv.read_file(state))) end
  local function write_state(t) hookenv.write_file(state, json.encode(t)) end

  --- dispatch --simulate the packed charm for an event (and options)
  -- against the state file.
  local function sim(args)
    local full = { "--simulate", packed }
    for _, a in ipairs(args) do full[#full + 1] = a end
    full[#full + 1] = "--state"
    full[#full + 1] = state
    ran[args[1]] = true
    return hookenv.run(full, { env = { TMPDIR = tmp .. "/t" }, cwd = tmp })
  end

  --- Run an event that must succeed; the state after, and the transcript.
  local function event(args)
    local r = sim(args)
    assert(r.code == 0, ("%s failed (%d):\n%s%s"):format(args[1], r.code, r.stdout, r.stderr))
    return read_state(), r.stdout
  end

  --- The serving state, with changes (a deep copy through JSON).
  local function from_serving(changes)
    local s = json.decode(serving)
    for k, v in pairs(changes or {}) do s[k] = v end
    write_state(s)
    return s
  end

  setup(function()
    tmp = hookenv.tmpdir()
    hookenv.sh("mkdir -p " .. quote(tmp .. "/t"))
    packed = tmp .. "/hello-lua-k8s.charm"
    local r = hookenv.run({ ROOT .. "/tools/pack.lua", "--charm", TEMPLATE, "--dispatch", hookenv.dispatch_path(),
                            "--out", packed, "--compile" }, { program = "lua5.4", cwd = ROOT })
    assert(r.code == 0, "pack failed: " .. r.stderr)
    state = tmp .. "/serving.json"
    write_state(POD)
    event { "install", "--leader" }
    event { "web-pebble-ready" }
    serving = assert(hookenv.read_file(state))
    state = tmp .. "/state.json"
  end)
  teardown(function() hookenv.rmtree(tmp) end)
  after_each(function()
    assert.same({}, sys.listdir(tmp .. "/t"))     -- every session and unpacked charm removed
  end)

  it("the .charm holds the sidecar metadata: container, image resource, assumes", function()
    local archive = zip.read_file(packed)
    local meta = lyaml.load(archive.by_name["metadata.yaml"].data)
    assert.same({ web = { resource = "web-image" } }, meta.containers)
    assert.equal("oci-image", meta.resources["web-image"].type)
    assert.same({ "k8s-api", "juju >= 3.6" }, meta.assumes)
    assert.is_truthy(archive.by_name[".dispatch/luac/src/charm.lua"])    -- compiled, as make charm does
  end)

  it("install: the container is not up yet, so the unit waits", function()
    write_state { containers = { web = { can_connect = false } } }
    local s, out = event { "install", "--leader" }
    assert.same({ name = "waiting", message = "waiting for Pebble in the web container" }, s.unit_status)
    assert.is_nil(s.opened_ports)
    assert.matches("\n     GET /v1/system%-info   %-> cannot connect\n", out)
  end)

  it("web-pebble-ready: the site, the page, the layer, nginx started, the port opened", function()
    write_state(POD)
    local s, out = event { "web-pebble-ready" }
    local web = s.containers.web
    assert.matches("listen 8080;", web.files[SITE].content, 1, true)
    assert.equal("644", web.files[PAGE].permissions)
    assert.same({ "hello-lua-k8s" }, web.layer_order)
    assert.equal("nginx -g 'daemon off;'", web.plan.services.nginx.command)
    assert.equal("http://localhost:8080/healthz", web.plan.checks.http.http.url)
    assert.same({ current = "active" }, web.services.nginx)
    assert.same({ { protocol = "tcp", port = 8080 } }, s.opened_ports)
    assert.equal("1.28.0", s.workload_version)
    assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
    assert.matches("\n     POST /v1/services   replan: started nginx\n", out)
  end)

  it("config-changed: a new port and page; the replan restarts nginx", function()
    from_serving { config = { port = 9000, page = "Tom & Jerry" } }
    local s, out = event { "config-changed" }
    local web = s.containers.web
    assert.matches("listen 9000;", web.files[SITE].content, 1, true)
    assert.matches("<p>Tom &amp; Jerry</p>", web.files[PAGE].content, 1, true)
    assert.equal("9000", web.plan.services.nginx.environment.PORT)
    assert.same({ { protocol = "tcp", port = 9000 } }, s.opened_ports)
    assert.equal(9000, s.stored.port)
    assert.matches("\n     POST /v1/services   replan: stopped nginx; started nginx\n", out)
  end)

  it("config-changed to a bad port: blocked, the container left alone", function()
    from_serving { config = { port = 70000 } }
    local s = event { "config-changed" }
    assert.same({ name = "blocked", message = "'port' must be between 1 and 65535 (it is 70000)" }, s.unit_status)
    assert.matches("listen 8080;", s.containers.web.files[SITE].content, 1, true)
  end)

  it("config-changed when nginx does not start: blocked, the hook succeeds, the failed change shown", function()
    local st = from_serving { config = { port = 9000 } }
    st.containers.web.services.nginx = { current = "inactive", start_error = "exited quickly with code 1" }
    write_state(st)
    local s, out = event { "config-changed" }
    assert.same({ name = "blocked", message = "nginx failed to start: `pebble logs nginx` in the web container "
      .. "says why" }, s.unit_status)
    assert.equal("error", s.containers.web.services.nginx.current)
    assert.matches('\n     POST /v1/services   replan: failed: %- Start service "nginx" %(exited quickly with '
      .. "code 1%)\n", out)
    assert.matches("\n   log ERROR: nginx did not start: ", out)
  end)

  for _, name in ipairs { "start", "leader-elected", "upgrade-charm" } do
    it(name .. ": reconcile finds the container as it should be", function()
      local before = from_serving()
      local s, out = event { name }
      assert.same(before.containers.web.files, s.containers.web.files)
      assert.same({ current = "active" }, s.containers.web.services.nginx)
      assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
      assert.matches("\n     POST /v1/services   replan: nothing to do\n", out)
      assert.is_nil(out:find("POST /v1/files", 1, true))
    end)
  end

  it("update-status: only asks Pebble", function()
    from_serving()
    local s, out = event { "update-status" }
    assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
    assert.is_nil(out:find("POST ", 1, true))
  end)

  it("update-status with nginx in backoff: waiting", function()
    local st = from_serving()
    st.containers.web.services.nginx.current = "backoff"
    write_state(st)
    local s = event { "update-status" }
    assert.same({ name = "waiting", message = "nginx exited: Pebble is starting it again" }, s.unit_status)
  end)

  for _, name in ipairs { "stop", "remove" } do
    it(name .. ": the pod is going away, nothing is configured", function()
      from_serving { config = { port = 9000 } }
      local s, out = event { name }
      assert.matches("listen 8080;", s.containers.web.files[SITE].content, 1, true)
      assert.is_nil(out:find("POST ", 1, true))
    end)
  end

  it("web-pebble-custom-notice: the reload asked for from the container", function()
    local st = from_serving()
    st.containers.web.notices = { { id = "3", key = RELOAD, last_data = { reason = "rotated" } } }
    write_state(st)
    local s, out = event { "web-pebble-custom-notice", "--notice-key", RELOAD }
    assert.matches("\n     GET /v1/notices/3\n", out)
    assert.matches("\n     POST /v1/signals   SIGHUP to nginx\n", out)
    assert.matches("\n   log INFO: the workload asks for a reload %(rotated%)\n", out)
    assert.equal("active", s.containers.web.services.nginx.current)
  end)

  it("web-pebble-check-failed: nginx restarted, the unit waits", function()
    from_serving()
    local s, out = event { "web-pebble-check-failed", "--check", "http" }
    assert.matches("\n     POST /v1/services   restart: stopped nginx; started nginx\n", out)
    assert.equal("down", s.containers.web.checks.http.status)
    assert.same({ name = "waiting", message = "nginx does not answer on port 8080 (check http down, 3 failures)" },
      s.unit_status)
  end)

  it("web-pebble-check-recovered: active again", function()
    from_serving()
    event { "web-pebble-check-failed", "--check", "http" }
    local s = event { "web-pebble-check-recovered", "--check", "http" }
    assert.equal("up", s.containers.web.checks.http.status)
    assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
  end)

  it("website-relation-created and -joined: the URLs published", function()
    from_serving()
    local s = event { "website-relation-created", "--relate", "website:proxy" }
    local r = s.relations[1]
    assert.equal("http://192.0.2.0:8080/", r.local_unit_data.url)
    assert.equal("http://hello-lua-k8s.test-model.svc.cluster.local:8080/", r.local_app_data.url)
    s = event { "website-relation-joined" }
    assert.equal("http://192.0.2.0:8080/", s.relations[1].local_unit_data.url)
  end)

  for _, kind in ipairs { "changed", "departed" } do
    it("website-relation-" .. kind .. ": the URLs published again", function()
      from_serving()
      event { "website-relation-created", "--relate", "website:proxy" }
      local s, out = event { "website-relation-" .. kind }
      assert.matches("\n     relation%-set %-r 0 %-%-file %-\n", out)
      assert.equal("http://192.0.2.0:8080/", s.relations[1].local_unit_data.url)
      assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
    end)
  end

  it("website-relation-broken: nothing is written to the relation going away", function()
    from_serving()
    event { "website-relation-created", "--relate", "website:proxy" }
    local s, out = event { "website-relation-broken" }
    assert.is_nil(out:find("relation-set", 1, true))
    assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
  end)

  it("greet: the action's results, the count in stored state", function()
    from_serving()
    local r = sim { "greet", "name=Ada", "--json" }
    assert.equal(0, r.code, r.stderr)
    assert.same({ greeting = "Hello, Ada!", count = "1" }, json.decode(r.stdout).action.results)
    assert.equal(1, read_state().stored.greetings)
  end)

  it("check-config: nginx -t in the container", function()
    from_serving()
    local r = sim { "check-config", "--json" }
    assert.equal(0, r.code, r.stderr)
    local run = json.decode(r.stdout)
    assert.equal("true", run.action.results.ok)
    assert.same({ "nginx", "-t" }, run.pebble.web.execs[1].argv)
  end)

  it("check-config when nginx rejects its configuration: the action fails, the hook does not", function()
    local st = from_serving()
    table.insert(st.containers.web.execs, 1, { command = "nginx -t", code = 1, stdout = "nginx: [emerg] no\n" })
    write_state(st)
    local s, out = event { "check-config" }
    assert.matches("\n   action failed: nginx rejects its configuration: nginx: %[emerg%] no\n", out)
    -- a result with a line break stays on its line in the transcript
    assert.truthy(out:find('\n     action-set ok=false "output=nginx: [emerg] no\\n"\n', 1, true))
    assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
  end)

  it("ran every event the metadata declares (relations, container, actions) and the lifecycle", function()
    local archive = zip.read_file(packed)
    local meta = lyaml.load(archive.by_name["metadata.yaml"].data)
    local want = { "install", "start", "config-changed", "upgrade-charm", "leader-elected", "update-status",
                   "stop", "remove" }
    for endpoint in pairs(meta.provides) do
      for _, kind in ipairs { "created", "joined", "changed", "departed", "broken" } do
        want[#want + 1] = endpoint .. "-relation-" .. kind
      end
    end
    for container in pairs(meta.containers) do
      for _, kind in ipairs { "ready", "custom-notice", "check-failed", "check-recovered" } do
        want[#want + 1] = container .. "-pebble-" .. kind
      end
    end
    for action in pairs(lyaml.load(archive.by_name["actions.yaml"].data)) do want[#want + 1] = action end
    local missing = {}
    for _, name in ipairs(want) do
      if not ran[name] then missing[#missing + 1] = name end
    end
    assert.same({}, missing)
  end)
end)
