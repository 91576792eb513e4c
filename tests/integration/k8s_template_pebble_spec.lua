-- The Kubernetes template, packed as make charm packs it, run by its own
-- dispatch for every event its metadata declares, against the Go fake
-- Pebble (build/fake-pebble: the real HTTP, multipart and exec websockets)
-- and the recording fake hook commands, as Juju would run it on a
-- Kubernetes unit. What the container ends with (files, plan, services,
-- signals, changes) and the hook commands issued are checked.

local hookenv = require "helpers.hookenv"
local fakepebble = require "helpers.fakepebble"
local zip = require "helpers.zip"
local cjson = require "cjson"

local quote = hookenv.quote
local ROOT = hookenv.cwd()
local TEMPLATE = ROOT .. "/charm-template/kubernetes"

-- nginx in the "container": what the charm's execs run (found on the
-- fake's PATH). NGINX_T_FAIL in its environment makes `nginx -t` refuse.
local NGINX = [[#!/bin/sh
case "$1" in
  -v) echo "nginx version: nginx/1.28.0" >&2 ;;
  -t) if [ -n "$NGINX_T_FAIL" ]; then echo "nginx: [emerg] bad site" >&2; exit 1; fi
      echo "nginx: configuration file /etc/nginx/nginx.conf test is successful" >&2 ;;
esac
]]

local WEBSITE = "website:1"
local NETWORK = '{"bind-addresses":[],"egress-subnets":["10.1.2.3/32"],"ingress-addresses":["10.1.2.3"]}\n'

describe("the Kubernetes template against build/fake-pebble #integration", function()
  local tmp, charm, bin, fake, meta

  setup(function()
    tmp = hookenv.tmpdir()
    local r = hookenv.run({ ROOT .. "/tools/pack.lua", "--charm", TEMPLATE, "--dispatch", hookenv.dispatch_path(),
                            "--out", tmp .. "/k8s.charm", "--compile" }, { program = "lua5.4", cwd = ROOT })
    assert(r.code == 0, "pack failed: " .. r.stderr)
    charm = tmp .. "/charm"
    hookenv.sh("mkdir -p " .. quote(charm))
    zip.extract(zip.read_file(tmp .. "/k8s.charm"), charm)
    bin = tmp .. "/bin"
    hookenv.sh("mkdir -p " .. quote(bin))
    hookenv.write_file(bin .. "/nginx", NGINX)
    hookenv.sh("chmod 755 " .. quote(bin .. "/nginx"))
    meta = require("juju.testing.metadata").load(TEMPLATE)
  end)
  teardown(function() hookenv.rmtree(tmp) end)

  before_each(function() fake = fakepebble.start { bin = bin } end)
  after_each(function()
    if fake then assert.equal("", fake:stop()) end
    fake = nil
  end)

  --- Run the charm's dispatch for a dispatch path as Juju would on a
  -- Kubernetes unit; the result and the hook commands' argv.
  local function dispatch(path, env, canned)
    local e = { JUJU_DISPATCH_PATH = path, JUJU_UNIT_NAME = "hello-lua-k8s/0", JUJU_MODEL_NAME = "test",
                JUJU_MODEL_UUID = "00000000-0000-4000-8000-000000000000", JUJU_CHARM_DIR = charm,
                JUJU_VERSION = "3.6.4", KUBERNETES_SERVICE_HOST = "10.152.183.1", DISPATCH_PEBBLE_DIR = fake.dir }
    for k, v in pairs(env or {}) do e[k] = v end
    hookenv.reset()
    local answers = {
      ["config-get"] = '{"port": 8080, "page": "Hello"}\n', ["state-get"] = "{}\n", ["is-leader"] = "true\n",
      ["relation-ids"] = "[]\n", ["network-get"] = NETWORK, ["relation-list"] = '["proxy/0"]\n',
      ["opened-ports"] = "[]\n", ["action-get"] = '{"name": "Ada"}\n',
    }
    for k, v in pairs(canned or {}) do answers[k] = v end
    for name, stdout in pairs(answers) do hookenv.respond(name, { stdout = stdout }) end
    local r = hookenv.run({}, { cwd = charm, env = e })
    return r, hookenv.argvs()
  end

  local function relation(kind, extra)
    local env = { JUJU_RELATION = "website", JUJU_RELATION_ID = WEBSITE, JUJU_REMOTE_APP = "proxy",
                  JUJU_REMOTE_UNIT = "proxy/0" }
    if kind == "departed" then env.JUJU_DEPARTING_UNIT = "proxy/0" end
    if kind == "created" or kind == "broken" then env.JUJU_REMOTE_UNIT = nil end
    for k, v in pairs(extra or {}) do env[k] = v end
    return dispatch("hooks/website-relation-" .. kind, env, { ["relation-ids"] = '["' .. WEBSITE .. '"]\n' })
  end

  local function services()
    local out = {}
    for _, s in ipairs(fake:get("/v1/services")) do out[s.name] = s.current end
    return out
  end

  --- The last status set: "name: message" (argv: status-set FLAGS name -- message).
  local function status_set(argvs)
    for i = #argvs, 1, -1 do
      local a = argvs[i]
      if a[1] == "status-set" then return a[#a - 2] .. ": " .. a[#a] end
    end
  end

  local function ready()
    local r, argvs = dispatch("hooks/web-pebble-ready", { JUJU_WORKLOAD_NAME = "web" })
    assert.equal(0, r.code, r.stderr)
    return r, argvs
  end

  it("pebble-ready: the site and page pushed, the layer added, nginx started, active", function()
    local _, argvs = ready()
    assert.equal("active: serving on port 8080", status_set(argvs))
    assert.matches("listen 8080", hookenv.read_file(fake:host_path("/etc/nginx/conf.d/default.conf")))
    assert.matches("Hello", hookenv.read_file(fake:host_path("/srv/hello-lua-k8s/index.html")))
    local plan = fake:get("/v1/plan?format=yaml")
    assert.matches("nginx:", plan)
    assert.matches("command: \"?nginx %-g 'daemon off;'", plan)
    assert.same({ nginx = "active" }, services())
    -- the workload version, from nginx -v
    local version
    for _, a in ipairs(argvs) do if a[1] == "application-version-set" then version = a[#a] end end
    assert.equal("1.28.0", version)
  end)

  it("config-changed with a new port: the site rewritten, nginx restarted, the port moved", function()
    ready()
    local r, argvs = dispatch("hooks/config-changed", nil, { ["config-get"] = '{"port": 9000, "page": "Hi"}\n' })
    assert.equal(0, r.code, r.stderr)
    assert.equal("active: serving on port 9000", status_set(argvs))
    assert.matches("listen 9000", hookenv.read_file(fake:host_path("/etc/nginx/conf.d/default.conf")))
    assert.matches("Hi", hookenv.read_file(fake:host_path("/srv/hello-lua-k8s/index.html")))
    local opened
    for _, a in ipairs(argvs) do if a[1] == "open-port" then opened = a[#a] end end
    assert.equal("9000/tcp", opened)
    assert.matches('PORT: "9000"', fake:get("/v1/plan?format=yaml"))
    assert.same({ nginx = "active" }, services())
  end)

  it("a custom notice asking for a reload: nginx -t, then SIGHUP to nginx", function()
    ready()
    local status, env = fake:request("POST", "/v1/notices", { action = "add", type = "custom",
      key = "example.com/hello-lua-k8s/reload", data = { reason = "new certificate" } })
    assert.equal(200, status)
    local r = dispatch("hooks/web-pebble-custom-notice", {
      JUJU_WORKLOAD_NAME = "web", JUJU_NOTICE_ID = env.result.id, JUJU_NOTICE_TYPE = "custom",
      JUJU_NOTICE_KEY = "example.com/hello-lua-k8s/reload" })
    assert.equal(0, r.code, r.stderr)
    assert.same({ { signal = "SIGHUP", service = "nginx" } }, fake:control("GET", "signals"))
  end)

  it("check-failed with the check still down: nginx restarted; check-recovered: active again", function()
    ready()
    fake:control("POST", "checks", { name = "http", status = "down", failures = 3 })
    local before = #fake:get("/v1/changes?select=all")
    local r, argvs = dispatch("hooks/web-pebble-check-failed",
      { JUJU_WORKLOAD_NAME = "web", JUJU_PEBBLE_CHECK_NAME = "http" })
    assert.equal(0, r.code, r.stderr)
    local changes = fake:get("/v1/changes?select=all")
    assert.is_true(#changes > before)
    assert.matches("^waiting: nginx does not answer on port 8080", status_set(argvs))
    fake:control("POST", "checks", { name = "http", status = "up" })
    r, argvs = dispatch("hooks/web-pebble-check-recovered",
      { JUJU_WORKLOAD_NAME = "web", JUJU_PEBBLE_CHECK_NAME = "http" })
    assert.equal(0, r.code, r.stderr)
    assert.equal("active: serving on port 8080", status_set(argvs))
  end)

  it("the website relation: the URLs published, the leader's the service's", function()
    ready()
    for _, kind in ipairs { "created", "joined", "changed" } do
      local r, argvs = relation(kind)
      assert.equal(0, r.code, kind .. ": " .. r.stderr)
      local sets = {}
      for _, a in ipairs(argvs) do if a[1] == "relation-set" then sets[#sets + 1] = a end end
      assert.is_true(#sets >= 1, kind)
    end
    for _, kind in ipairs { "departed", "broken" } do
      local r = relation(kind)
      assert.equal(0, r.code, kind .. ": " .. r.stderr)
    end
  end)

  it("the actions: greet, and check-config running nginx -t in the container", function()
    ready()
    local r, argvs = dispatch("actions/greet", { JUJU_ACTION_NAME = "greet", JUJU_ACTION_UUID = "3" })
    assert.equal(0, r.code, r.stderr)
    local set
    for _, a in ipairs(argvs) do if a[1] == "action-set" then set = table.concat(a, " ") end end
    assert.matches("Hello, Ada!", set, 1, true)
    local mark = fake:log_mark()
    r = dispatch("actions/check-config", { JUJU_ACTION_NAME = "check-config", JUJU_ACTION_UUID = "4" })
    assert.equal(0, r.code, r.stderr)
    local exec
    for _, e in ipairs(fake:log(mark)) do if e.path == "/v1/exec" then exec = e end end
    assert.same({ "nginx", "-t" }, exec.body.command)
  end)

  it("update-status only reports: no change to the container", function()
    ready()
    local mark = fake:log_mark()
    local r, argvs = dispatch("hooks/update-status")
    assert.equal(0, r.code, r.stderr)
    -- (an exec's end of stdin, from ready(), may be logged late: a frame, not a request)
    for _, e in ipairs(fake:log(mark)) do
      if e.method ~= "WS" then assert.equal("GET", e.method, cjson.encode(e)) end
    end
    assert.equal("active: serving on port 8080", status_set(argvs))
  end)

  it("every event the metadata declares runs through the real binary without failing", function()
    ready()
    local env_for = {
      ["web-pebble-ready"] = { JUJU_WORKLOAD_NAME = "web" },
      ["web-pebble-check-failed"] = { JUJU_WORKLOAD_NAME = "web", JUJU_PEBBLE_CHECK_NAME = "http" },
      ["web-pebble-check-recovered"] = { JUJU_WORKLOAD_NAME = "web", JUJU_PEBBLE_CHECK_NAME = "http" },
    }
    local status, notice = fake:request("POST", "/v1/notices", { action = "add", type = "custom",
      key = "example.com/other" })
    assert.equal(200, status)
    env_for["web-pebble-custom-notice"] = { JUJU_WORKLOAD_NAME = "web", JUJU_NOTICE_ID = notice.result.id,
                                            JUJU_NOTICE_TYPE = "custom", JUJU_NOTICE_KEY = "example.com/other" }
    local events = { "install", "leader-elected", "config-changed", "start", "upgrade-charm", "update-status",
                     "stop", "remove" }
    for name in pairs(env_for) do events[#events + 1] = name end
    for _, ev in ipairs(events) do
      local r = dispatch("hooks/" .. ev, env_for[ev])
      assert.equal(0, r.code, ev .. ": " .. r.stderr)
    end
    for _, kind in ipairs { "created", "joined", "changed", "departed", "broken" } do
      assert.equal(0, relation(kind).code, kind)
    end
    for action in pairs(meta.actions) do
      local r = dispatch("actions/" .. action, { JUJU_ACTION_NAME = action, JUJU_ACTION_UUID = "9" })
      assert.equal(0, r.code, action .. ": " .. r.stderr)
    end
  end)
end)
