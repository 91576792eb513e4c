-- A Kubernetes charm's hooks run by the real binary against the fake
-- Pebble: build/dispatch runs tests/fixtures/k8s-charm for its workload
-- events (pebble-ready, custom notice, check failed and recovered), its
-- config-changed and its action, with the environment Juju gives them, the
-- recording fake hook commands (over exec and over the agent socket) and
-- DISPATCH_PEBBLE_DIR pointing its container "web" at build/fake-pebble.
-- What the fake ends with (its plan, services, checks, signals, the files
-- under its root, its request log) and the hook commands issued are
-- checked.

local hookenv = require "helpers.hookenv"
local fakepebble = require "helpers.fakepebble"
local cjson = require "cjson"

local quote = hookenv.quote
local K8S = hookenv.cwd() .. "/tests/fixtures/k8s-charm"
local CONF = "/etc/nginx/conf.d/site.conf"

local HOOK_COMMANDS = {}
for name in ([[action-fail action-get action-log action-set application-version-set close-port
  open-port opened-ports config-get credential-get goal-state is-leader juju-log juju-reboot network-get
  relation-get relation-ids relation-list relation-model-get relation-set resource-get secret-add
  secret-get secret-grant secret-ids secret-info-get secret-remove secret-revoke secret-set state-delete
  state-get state-set status-get status-set storage-add storage-get storage-list]]):gmatch("%S+") do
  HOOK_COMMANDS[name] = true
end

-- nginx in the "container": what the charm's exec runs (looked up on the
-- fake's PATH), checking that the configuration it wrote is there.
local NGINX = [[#!/bin/sh
if [ "$1" = -v ]; then echo "nginx version: nginx/1.25.3" >&2; exit 0; fi
echo "nginx: configuration file test is successful" >&2
]]

describe("a Kubernetes charm's hooks against build/fake-pebble #integration", function()
  local tmp, bin, fake

  setup(function()
    tmp = hookenv.tmpdir()
    bin = tmp .. "/bin"
    hookenv.sh("mkdir -p " .. quote(bin))
    hookenv.write_file(bin .. "/nginx", NGINX)
    hookenv.sh("chmod 755 " .. quote(bin .. "/nginx"))
  end)
  teardown(function() hookenv.rmtree(tmp) end)

  before_each(function()
    hookenv.reset()
    hookenv.respond("config-get", { stdout = '{"port":8080}\n' })
    hookenv.respond("state-get", { stdout = "{}\n" })
    fake = fakepebble.start { bin = bin }
  end)
  after_each(function()
    if fake then assert.equal("", fake:stop()) end
    fake = nil
  end)

  --- Run the charm's dispatch for a dispatch path, as Juju would on a
  -- Kubernetes unit, the hook commands answering as `canned` says (stdout
  -- by command; the config's port is 8080 and the stored state empty
  -- unless it says otherwise); the result and the hook commands (lines).
  local function dispatch(path, env, canned)
    local e = { JUJU_DISPATCH_PATH = path, JUJU_UNIT_NAME = "hello-k8s/0", JUJU_MODEL_NAME = "test",
                JUJU_MODEL_UUID = "00000000-0000-4000-8000-000000000000", JUJU_CHARM_DIR = K8S,
                JUJU_VERSION = "3.6.4", KUBERNETES_SERVICE_HOST = "10.152.183.1",
                DISPATCH_PEBBLE_DIR = fake.dir }
    for k, v in pairs(env or {}) do e[k] = v end
    hookenv.reset()
    local answers = { ["config-get"] = '{"port":8080}\n', ["state-get"] = "{}\n" }
    for k, v in pairs(canned or {}) do answers[k] = v end
    for name, stdout in pairs(answers) do hookenv.respond(name, { stdout = stdout }) end
    local r = hookenv.run({}, { cwd = K8S, env = e })
    local cmds = {}
    for _, argv in ipairs(hookenv.argvs()) do
      assert.truthy(HOOK_COMMANDS[argv[1]], argv[1])
      cmds[#cmds + 1] = table.concat(argv, " ")
    end
    return r, cmds
  end

  local function workload(path, extra, canned)
    local env = { JUJU_WORKLOAD_NAME = "web" }
    for k, v in pairs(extra or {}) do env[k] = v end
    return dispatch("hooks/" .. path, env, canned)
  end

  local function services()
    local out = {}
    for _, s in ipairs(fake:get("/v1/services")) do out[s.name] = s.current end
    return out
  end

  --- The requests since a mark, with change and task ids as N. Without
  -- the end of an exec's stdin: a frame on the stdio websocket, logged by
  -- the server's reader of that socket in any order with the requests on
  -- other connections, or late, or not at all when the command's end
  -- closes the socket first (these commands read no stdin;
  -- pebble_real_spec checks the end marker with cat and tee).
  local function requests(mark)
    local out = {}
    for _, line in ipairs(fake:requests(mark)) do
      line = line:gsub("/changes/%d+", "/changes/N"):gsub("/tasks/%d+", "/tasks/N")
      if line ~= "WS /v1/tasks/N/websocket/stdio text" then out[#out + 1] = line end
    end
    return out
  end

  local ACTIVE = "status-set --application=False active -- serving on port 8080"

  it("pebble-ready: the site written, checked with nginx -t, the layer added, nginx started", function()
    local r, cmds = workload("web-pebble-ready")
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.same({ "state-get --format=json", "config-get --format=json", ACTIVE }, cmds)
    assert.same({
      "GET /v1/system-info",                                      -- can_connect
      "GET /v1/files?action=read&path=/etc/nginx/conf.d/site.conf",  -- not there yet
      "POST /v1/files",
      "POST /v1/exec", "GET /v1/tasks/N/websocket/control", "GET /v1/tasks/N/websocket/stdio",
      "GET /v1/changes/N/wait?timeout=4.000s",
      "POST /v1/layers",
      "POST /v1/services", "GET /v1/changes/N/wait?timeout=4.000s",  -- replan
      "GET /v1/system-info", "GET /v1/services?names=nginx",         -- the status
    }, requests())
    -- what the container ends with
    assert.equal("server { listen 8080; root /srv/www; }\n", hookenv.read_file(fake:host_path(CONF)))
    local p = assert(io.popen("stat -c %a " .. quote(fake:host_path(CONF))))
    assert.equal("644", p:read("l"))
    p:close()
    assert.equal([[
services:
    nginx:
        startup: enabled
        override: replace
        command: "nginx -g 'daemon off;'"
        environment:
            PORT: "8080"
checks:
    up:
        override: replace
        level: alive
        tcp:
            port: 8080
]], fake:get("/v1/plan?format=yaml"))
    assert.same({ nginx = "active" }, services())
    local exec = fake:log()[4]
    assert.same({ "nginx", "-t" }, exec.body.command)
    local checks = fake:get("/v1/checks")
    assert.same({ "up", "up" }, { checks[1].name, checks[1].status })
  end)

  it("config-changed: a new port rewrites the site and the replan restarts nginx; the same port changes nothing",
    function()
      assert.equal(0, workload("web-pebble-ready").code)
      local mark = fake:log_mark()
      local r, cmds = dispatch("hooks/config-changed")
      assert.equal(0, r.code, r.stderr)
      assert.same({ "state-get --format=json", "config-get --format=json", ACTIVE }, cmds)
      -- the same config: read and compared, no write, no nginx -t; replan restarts nothing
      assert.same({
        "GET /v1/system-info", "GET /v1/files?action=read&path=/etc/nginx/conf.d/site.conf",
        "POST /v1/layers", "POST /v1/services", "GET /v1/changes/N/wait?timeout=4.000s",
        "GET /v1/system-info", "GET /v1/services?names=nginx",
      }, requests(mark))
      local replan = fake:get("/v1/changes?select=all")
      assert.same({}, replan[#replan].tasks)

      mark = fake:log_mark()
      r, cmds = dispatch("hooks/config-changed", nil, { ["config-get"] = '{"port":9000}\n' })
      assert.equal(0, r.code, r.stderr)
      assert.same({ "state-get --format=json", "config-get --format=json",
                    "status-set --application=False active -- serving on port 9000" }, cmds)
      assert.equal("server { listen 9000; root /srv/www; }\n", hookenv.read_file(fake:host_path(CONF)))
      local wrote = 0
      for _, line in ipairs(requests(mark)) do if line == "POST /v1/files" or line == "POST /v1/exec" then
        wrote = wrote + 1 end end
      assert.equal(2, wrote)
      local plan = fake:get("/v1/plan?format=yaml")
      assert.matches('PORT: "9000"', plan)
      assert.matches("port: 9000", plan)
      -- the replan stopped and started nginx (its environment changed)
      local changes = fake:get("/v1/changes?select=all")
      local last = changes[#changes]
      assert.equal("replan", last.kind)
      assert.same({ "stop", "start" }, { last.tasks[1].kind, last.tasks[2].kind })
      assert.same({ nginx = "active" }, services())
    end)

  it("a container that cannot be reached: the charm waits, no Pebble error fails the hook", function()
    local gone = hookenv.tmpdir()           -- no Pebble there
    local r, cmds = dispatch("hooks/config-changed", { DISPATCH_PEBBLE_DIR = gone })
    hookenv.rmtree(gone)
    assert.equal(0, r.code, r.stderr)
    assert.same({ "state-get --format=json",
                  "status-set --application=False waiting -- waiting for the web container" }, cmds)
    assert.same({}, fake:requests())
  end)

  it("a custom notice: its data fetched from Pebble only when the handler reads it", function()
    assert.equal(0, workload("web-pebble-ready").code)
    -- what `pebble notify example.com/reload reason=rotated` does in the workload
    local status, env = fake:request("POST", "/v1/notices", { action = "add", type = "custom",
      key = "example.com/reload", data = { reason = "rotated" } })
    assert.equal(200, status)
    local id = env.result.id
    local mark = fake:log_mark()
    local r, cmds = workload("web-pebble-custom-notice", { JUJU_NOTICE_ID = id, JUJU_NOTICE_TYPE = "custom",
                                                           JUJU_NOTICE_KEY = "example.com/reload" })
    assert.equal(0, r.code, r.stderr)
    assert.same({ "POST /v1/signals", "GET /v1/notices/" .. id, "GET /v1/system-info",
                  "GET /v1/services?names=nginx" }, requests(mark))
    assert.same({ { signal = "SIGHUP", service = "nginx" } }, fake:control("GET", "signals"))
    assert.same({ "state-get --format=json", "config-get --format=json", "state-set --file -", ACTIVE }, cmds)
    local set = hookenv.call(3)
    local stored = {}
    for k, v in pairs(cjson.decode(set.stdin)) do stored[k] = cjson.decode(v) end
    assert.same({ ["charm.reloads"] = 1, ["charm.reason"] = "rotated" }, stored)

    -- another key: the handler reads only e.notice.key (from the environment): Pebble is not asked
    status, env = fake:request("POST", "/v1/notices", { action = "add", type = "custom", key = "example.com/other" })
    assert.equal(200, status)
    mark = fake:log_mark()
    r = workload("web-pebble-custom-notice", { JUJU_NOTICE_ID = env.result.id, JUJU_NOTICE_TYPE = "custom",
                                               JUJU_NOTICE_KEY = "example.com/other" })
    assert.equal(0, r.code, r.stderr)
    assert.same({ "GET /v1/system-info", "GET /v1/services?names=nginx" }, requests(mark))
  end)

  it("a check fails, then recovers: e.check.info fetched from Pebble, the status follows", function()
    assert.equal(0, workload("web-pebble-ready").code)
    fake:control("POST", "checks", { name = "up", status = "down" })
    -- Juju sends check-failed on the change-update notice of the failed perform-check
    local failed = {}
    for _, n in ipairs(fake:get("/v1/notices?types=change-update&users=all")) do
      if n["last-data"] and n["last-data"].kind == "perform-check" and n["last-data"]["check-name"] == "up" then
        failed[#failed + 1] = n
      end
    end
    assert.equal(1, #failed)
    local mark = fake:log_mark()
    local r, cmds = workload("web-pebble-check-failed", { JUJU_PEBBLE_CHECK_NAME = "up" })
    assert.equal(0, r.code, r.stderr)
    assert.same({ "GET /v1/checks?names=up", "GET /v1/system-info", "GET /v1/services?names=nginx" },
      requests(mark))
    assert.same({ "state-get --format=json", "state-set --file -",
                  "status-set --application=False blocked -- check failed: up:down" }, cmds)
    assert.same({ ["charm.failed_check"] = '"up:down"' }, cjson.decode(hookenv.call(2).stdin))

    fake:control("POST", "checks", { name = "up", status = "up" })
    mark = fake:log_mark()
    r, cmds = workload("web-pebble-check-recovered", { JUJU_PEBBLE_CHECK_NAME = "up" },
      { ["state-get"] = cjson.encode { ["charm.failed_check"] = '"up:down"' } .. "\n" })
    assert.equal(0, r.code, r.stderr)
    assert.same({ "GET /v1/checks?names=up", "GET /v1/system-info", "GET /v1/services?names=nginx" },
      requests(mark))
    assert.same({ "state-get --format=json", "config-get --format=json", "state-delete charm.failed_check",
                  ACTIVE }, cmds)
  end)

  it("an action runs nginx -v in the container", function()
    assert.equal(0, workload("web-pebble-ready").code)
    local mark = fake:log_mark()
    local r, cmds = dispatch("actions/version", { JUJU_ACTION_NAME = "version", JUJU_ACTION_UUID = "3" })
    assert.equal(0, r.code, r.stderr)
    assert.same({ "state-get --format=json", "action-set version=1.25.3", "config-get --format=json", ACTIVE },
      cmds)
    local exec = fake:log(mark)[1]
    assert.same({ "POST", "/v1/exec" }, { exec.method, exec.path })
    assert.same({ "nginx", "-v" }, exec.body.command)
    assert.is_true(exec.body["split-stderr"])
  end)

  it("a Pebble that answers garbage fails the hook, with an error that names the socket", function()
    assert.equal(0, workload("web-pebble-ready").code)
    fake:hostile("/v1/layers", "garbage", nil, 1)
    local r, cmds = dispatch("hooks/config-changed")
    assert.equal(1, r.code)
    local said = "Pebble protocol error on POST /v1/layers: malformed HTTP response from " .. fake.socket
      .. ": invalid constant string (HPE_INVALID_CONSTANT)\n"
    -- no status set (the hook failed): the error, to Juju's log and on stderr
    assert.equal(3, #cmds)
    assert.same({ "state-get --format=json", "config-get --format=json" }, { cmds[1], cmds[2] })
    assert.equal("juju-log --log-level ERROR -- " .. said, cmds[3]:sub(1, #said + 30))
    assert.truthy(r.stderr:find(said, 1, true), r.stderr)
  end)
end)
