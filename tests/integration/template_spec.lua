-- The packed template charm, run as Juju runs it: build/hello-lua.charm
-- (packed here from charm-template/machine with the dispatch under test)
-- is unpacked, and its own dispatch is run for every event its metadata
-- declares, over exec and over the agent socket, against recording fake
-- hook commands. Workload programs (apt-get, systemctl) are recording
-- stand-ins first on PATH; files go under DISPATCH_FILE_ROOT. Each event's
-- exact hook commands are checked.

local hookenv = require "helpers.hookenv"
local zip = require "helpers.zip"
local lyaml = require "lyaml"

local quote = hookenv.quote
local ROOT = hookenv.cwd()

local HOOK_COMMANDS = {}
for name in ([[action-fail action-get action-log action-set application-version-set close-port
  open-port opened-ports config-get credential-get goal-state is-leader juju-log juju-reboot network-get
  relation-get relation-ids relation-list relation-model-get relation-set resource-get secret-add
  secret-get secret-grant secret-ids secret-info-get secret-remove secret-revoke secret-set state-delete
  state-get state-set status-get status-set storage-add storage-get storage-list]]):gmatch("%S+") do
  HOOK_COMMANDS[name] = true
end

--- The unit's stored state as Juju keeps it (JSON text under charm.*).
local STORED = '{"charm.installed": "true", "charm.port": "8080", "charm.admin_secret": "\\"secret:abc\\""}'

local NETWORK = '{"bind-addresses":[],"egress-subnets":["10.1.2.3/32"],"ingress-addresses":["10.1.2.3"]}'

local SITE = "# Written by the hello-lua charm: changes are overwritten.\nserver {\n    listen 8080;\n"
  .. "    listen [::]:8080;\n    root /var/www/hello-lua;\n    index index.html;\n"
  .. "    location / { try_files $uri $uri/ =404; }\n}\n"
local PAGE = '<!doctype html>\n<html><head><meta charset="utf-8"><title>hello-lua</title></head>\n'
  .. "<body><p>Hello</p></body></html>\n"

describe("the packed template charm #integration", function()
  local tmp, charm, bin, fsroot

  setup(function()
    tmp = hookenv.tmpdir()
    local r = hookenv.run({ ROOT .. "/tools/pack.lua", "--charm", ROOT .. "/charm-template/machine",
                            "--dispatch", hookenv.dispatch_path(), "--out", tmp .. "/hello-lua.charm" },
                          { program = "lua5.4", cwd = ROOT })
    assert(r.code == 0, "pack failed: " .. r.stderr)
    charm = tmp .. "/charm"
    hookenv.sh("mkdir -p " .. quote(charm))
    zip.extract(zip.read_file(tmp .. "/hello-lua.charm"), charm)
    -- workload programs: recording stand-ins first on PATH
    bin = tmp .. "/bin"
    hookenv.sh("mkdir -p " .. quote(bin))
    for _, name in ipairs { "apt-get", "systemctl", "dpkg-query" } do
      hookenv.sh(("ln -s %s %s/%s"):format(quote(os.getenv("FAKECMD")), quote(bin), name))
    end
  end)

  teardown(function() hookenv.rmtree(tmp) end)

  local function fresh_root(configured)
    fsroot = tmp .. "/root"
    if hookenv.exists(fsroot) then hookenv.rmtree(fsroot) end
    hookenv.sh("mkdir -p " .. quote(fsroot))
    if configured then
      hookenv.sh("mkdir -p " .. quote(fsroot .. "/etc/nginx/sites-enabled") .. " "
        .. quote(fsroot .. "/var/www/hello-lua"))
      hookenv.write_file(fsroot .. "/etc/nginx/sites-enabled/hello-lua", SITE)
      hookenv.write_file(fsroot .. "/var/www/hello-lua/index.html", PAGE)
    end
  end

  before_each(function()
    hookenv.reset()
    hookenv.respond("config-get", { stdout = '{"page":"Hello","port":8080}\n' })
    hookenv.respond("state-get", { stdout = STORED .. "\n" })
    hookenv.respond("is-leader", { stdout = "true\n" })
    hookenv.respond("relation-ids", { stdout = '["website:4"]\n' })
    hookenv.respond("network-get", { stdout = NETWORK .. "\n" })
    hookenv.respond("opened-ports", { stdout = '["8080/tcp"]\n' })
    hookenv.respond("action-get", { stdout = '{"name":"Ada"}\n' })
    hookenv.respond("secret-add", { stdout = "secret:new\n" })
    fresh_root(true)
  end)

  --- Run the charm's dispatch for a dispatch path with extra variables;
  -- returns the result, the hook commands and the programs it ran.
  local function dispatch(path, env)
    local e = { JUJU_DISPATCH_PATH = path, JUJU_UNIT_NAME = "hello-lua/0", JUJU_MODEL_NAME = "test",
                JUJU_MODEL_UUID = "00000000-0000-4000-8000-000000000000", JUJU_CHARM_DIR = charm,
                DISPATCH_FILE_ROOT = fsroot, PATH = bin .. ":" .. os.getenv("PATH") }
    for k, v in pairs(env or {}) do e[k] = v end
    local r = hookenv.run({}, { program = charm .. "/dispatch", cwd = charm, env = e })
    local cmds, progs = {}, {}
    for _, argv in ipairs(hookenv.argvs()) do
      local line = table.concat(argv, " ")
      if HOOK_COMMANDS[argv[1]] then cmds[#cmds + 1] = line else progs[#progs + 1] = line end
    end
    return r, cmds, progs
  end

  local RELATION = { JUJU_RELATION = "website", JUJU_RELATION_ID = "website:4", JUJU_REMOTE_APP = "proxy",
                     JUJU_REMOTE_UNIT = "proxy/0" }
  local function rel(extra)
    local t = {}
    for k, v in pairs(RELATION) do t[k] = v end
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  -- What reconcile issues on a configured unit with the website relation:
  -- the stored state and config, the relation, the address, and the URL
  -- published in both bags (the leader's app bag with the secret).
  local RECONCILED = {
    "relation-ids website --format=json", "network-get --format=json website", "is-leader --format=json",
    "relation-set -r 4 --file -", "relation-set -r 4 --app --file -",
  }
  local STATUS = "status-set --application=False maintenance -- nginx is not running"

  local function expect(cmds, list)
    local want = { "state-get --format=json", "config-get --format=json" }
    for _, c in ipairs(list) do want[#want + 1] = c end
    want[#want + 1] = STATUS
    assert.same(want, cmds)
  end

  it("install: apt-get, then the first configuration of nginx", function()
    fresh_root(false)
    hookenv.respond("state-get", { stdout = "{}\n" })
    hookenv.respond("relation-ids", { stdout = "[]\n" })
    hookenv.respond("opened-ports", { stdout = "[]\n" })
    local r, cmds, progs = dispatch("hooks/install")
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.same({ "apt-get update -q", "apt-get install -y -q -o Dpkg::Options::=--force-confdef "
      .. "-o Dpkg::Options::=--force-confold nginx", "systemctl enable nginx", "systemctl restart nginx" }, progs)
    assert.same({
      "state-get --format=json", "status-set --application=False maintenance -- installing nginx",
      "config-get --format=json", "juju-log --log-level INFO -- nginx site changed: restarting nginx on port 8080",
      "relation-ids website --format=json", "opened-ports --format=json", "open-port 8080/tcp",
      "state-set --file -", "status-set --application=False maintenance -- nginx is not running",
    }, cmds)
    assert.equal(SITE, hookenv.read_file(fsroot .. "/etc/nginx/sites-enabled/hello-lua"))
    assert.equal(PAGE, hookenv.read_file(fsroot .. "/var/www/hello-lua/index.html"))
  end)

  -- Events after which reconcile runs on a configured unit: no program, the
  -- same hook commands.
  for _, ev in ipairs { "start", "config-changed", "upgrade-charm", "leader-elected",
                        "leader-settings-changed", "post-series-upgrade" } do
    it(ev .. ": reconcile finds nothing to change", function()
      local r, cmds, progs = dispatch("hooks/" .. ev)
      assert.equal("", r.stderr)
      assert.equal(0, r.code)
      assert.same({}, progs)
      expect(cmds, RECONCILED)
    end)
  end

  it("update-status: reports only (three hook commands)", function()
    local r, cmds, progs = dispatch("hooks/update-status")
    assert.equal(0, r.code)
    assert.same({}, progs)
    assert.same({ "state-get --format=json", "config-get --format=json", STATUS }, cmds)
  end)

  it("stop ends the service", function()
    local r, cmds, progs = dispatch("hooks/stop")
    assert.equal(0, r.code)
    assert.same({ "systemctl stop nginx" }, progs)
    assert.same({ "state-get --format=json", "config-get --format=json", STATUS }, cmds)
  end)

  it("remove disables it", function()
    local r, cmds, progs = dispatch("hooks/remove")
    assert.equal(0, r.code)
    assert.same({ "systemctl disable --now nginx" }, progs)
    assert.same({ "state-get --format=json", "config-get --format=json", STATUS }, cmds)
  end)

  it("pre-series-upgrade runs reconcile too", function()
    local r, cmds = dispatch("hooks/pre-series-upgrade", { JUJU_TARGET_BASE = "ubuntu@24.04" })
    assert.equal(0, r.code)
    expect(cmds, RECONCILED)
  end)

  for _, kind in ipairs { "created", "changed", "departed" } do
    it("website-relation-" .. kind .. ": the URL published again", function()
      local env = rel(kind == "departed" and { JUJU_DEPARTING_UNIT = "proxy/0" } or nil)
      if kind == "created" then env.JUJU_REMOTE_UNIT = nil end
      local r, cmds = dispatch("hooks/website-relation-" .. kind, env)
      assert.equal("", r.stderr)
      assert.equal(0, r.code)
      expect(cmds, RECONCILED)
    end)
  end

  it("website-relation-joined: the leader grants the admin secret", function()
    local r, cmds = dispatch("hooks/website-relation-joined", rel())
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.same({ "state-get --format=json", "is-leader --format=json", "secret-grant --relation 4 secret:abc",
                  "config-get --format=json", "relation-ids website --format=json",
                  "network-get --format=json website", "relation-set -r 4 --file -",
                  "relation-set -r 4 --app --file -", STATUS }, cmds)
    local app = hookenv.call(-2).stdin
    assert.equal('{"admin-secret": "secret:abc", "url": "http://10.1.2.3:8080/"}', app)
  end)

  it("website-relation-broken: the broken relation is not published to", function()
    hookenv.respond("relation-ids", { stdout = "[\"website:4\"]\n" })
    local env = rel()
    env.JUJU_REMOTE_UNIT = nil
    local r, cmds = dispatch("hooks/website-relation-broken", env)
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    expect(cmds, { "relation-ids website --format=json" })
  end)

  for _, kind in ipairs { "created", "joined", "changed", "departed", "broken" } do
    it("replicas-relation-" .. kind .. " (peers): reconcile", function()
      local env = { JUJU_RELATION = "replicas", JUJU_RELATION_ID = "replicas:1", JUJU_REMOTE_APP = "hello-lua",
                    JUJU_REMOTE_UNIT = (kind ~= "created" and kind ~= "broken") and "hello-lua/1" or nil,
                    JUJU_DEPARTING_UNIT = kind == "departed" and "hello-lua/1" or nil }
      local r, cmds = dispatch("hooks/replicas-relation-" .. kind, env)
      assert.equal("", r.stderr)
      assert.equal(0, r.code)
      expect(cmds, RECONCILED)
    end)
  end

  it("secret-rotate: a new password for the admin secret", function()
    local r, cmds = dispatch("hooks/secret-rotate", { JUJU_SECRET_ID = "secret:abc", JUJU_SECRET_LABEL = "admin" })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.equal("state-get --format=json", cmds[1])
    assert.matches("^secret%-set %-%-owner application secret:abc password#file=/.*/password$", cmds[2])
    for _, call in ipairs(hookenv.calls()) do
      if call.argv[1] == "secret-set" then
        assert.matches("^%x+$", call.secrets.password.content)
        assert.equal(32, #call.secrets.password.content)
      end
    end
    expect({ cmds[1], table.unpack(cmds, 3) }, RECONCILED)
  end)

  for _, ev in ipairs { "secret-changed", "secret-remove", "secret-expired" } do
    it(ev .. ": reconcile", function()
      local r, cmds = dispatch("hooks/" .. ev, { JUJU_SECRET_ID = "secret:abc", JUJU_SECRET_REVISION = "2" })
      assert.equal("", r.stderr)
      assert.equal(0, r.code)
      expect(cmds, RECONCILED)
    end)
  end

  it("action greet: the results, and the count kept in stored state", function()
    local r, cmds = dispatch("actions/greet", { JUJU_ACTION_NAME = "greet", JUJU_ACTION_UUID = "7" })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.same({ "state-get --format=json", "action-get --format=json", "action-set count=1 greeting=Hello, Ada!",
                  "config-get --format=json", "state-set --file -", STATUS }, cmds)
  end)

  it("action reload: logs, reloads nginx", function()
    local r, cmds, progs = dispatch("actions/reload", { JUJU_ACTION_NAME = "reload", JUJU_ACTION_UUID = "8" })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.same({ "systemctl reload nginx" }, progs)
    assert.same({ "state-get --format=json", "action-log -- writing the page and reloading nginx",
                  "config-get --format=json", "action-set reloaded=true", STATUS }, cmds)
  end)

  it("a failing program fails the hook with its stderr, and writes nothing", function()
    fresh_root(false)
    hookenv.respond("state-get", { stdout = "{}\n" })
    hookenv.respond("apt-get", { exit = 100, stderr = "E: Unable to locate package nginx\n" })
    local r, cmds = dispatch("hooks/install")
    assert.equal(1, r.code)
    assert.matches("Unable to locate package nginx", r.stderr, 1, true)
    for _, c in ipairs(cmds) do
      assert.is_nil(c:match("^state%-set") or c:match("^open%-port"), c)
    end
    assert.equal("juju-log", cmds[#cmds]:match("^(%S+)"))
  end)

  it("the metadata declares exactly the events run above", function()
    local meta = lyaml.load(assert(hookenv.read_file(charm .. "/metadata.yaml")))
    assert.same({ website = { interface = "http" } }, meta.provides)
    assert.equal("hello_lua_replicas", meta.peers.replicas.interface)
    local actions = lyaml.load(assert(hookenv.read_file(charm .. "/actions.yaml")))
    local names = {}
    for name in pairs(actions) do names[#names + 1] = name end
    table.sort(names)
    assert.same({ "greet", "reload" }, names)
  end)
end)
