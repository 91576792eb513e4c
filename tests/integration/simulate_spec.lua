-- dispatch --simulate: the template charm, packed and as a source
-- directory, run for events on a simulated unit by the real binary. The
-- charm's own dispatch runs; its hook commands are real processes (links
-- to the binary under test, answering from the session's state), its
-- workload programs go through the dispatch-workload stand-in, its files
-- under a private root. Checked: the state file written, the transcript,
-- the --json record, failure semantics, usage errors, and that the session
-- leaves nothing behind.

local hookenv = require "helpers.hookenv"

local json = require("juju").json
local sys = require "juju.sys"
local quote = hookenv.quote
local ROOT = hookenv.cwd()
local TEMPLATE = ROOT .. "/charm-template/machine"

-- The simulated unit always uses exec for the charm's hook commands: run
-- these once, not once per transport.

local MACHINE = {
  processes = { { command = "systemctl restart nginx",
                  files = { ["/run/nginx.pid"] = "4242\n", ["/proc/4242/cmdline"] = "nginx" } } },
}

describe("dispatch --simulate #integration #once", function()
  local tmp, packed, state

  --- Run dispatch --simulate with the arguments (the state file added
  -- unless no_state).
  local function sim(args, opts)
    local full = { "--simulate" }
    for _, a in ipairs(args) do full[#full + 1] = a end
    if not (opts and opts.no_state) then
      full[#full + 1] = "--state"
      full[#full + 1] = state
    end
    return hookenv.run(full, { env = { TMPDIR = tmp .. "/t" }, cwd = tmp })
  end

  local function read_state() return json.decode(assert(hookenv.read_file(state))) end
  local function write_state(t) hookenv.write_file(state, json.encode(t)) end

  setup(function()
    tmp = hookenv.tmpdir()
    hookenv.sh("mkdir -p " .. quote(tmp .. "/t"))
    packed = tmp .. "/hello-lua.charm"
    local r = hookenv.run({ ROOT .. "/tools/pack.lua", "--charm", TEMPLATE, "--dispatch", hookenv.dispatch_path(),
                            "--out", packed }, { program = "lua5.4", cwd = ROOT })
    assert(r.code == 0, "pack failed: " .. r.stderr)
  end)
  teardown(function() hookenv.rmtree(tmp) end)
  before_each(function()
    state = tmp .. "/state.json"
    write_state(MACHINE)
  end)
  after_each(function()
    -- every session and unpacked charm is removed
    assert.same({}, sys.listdir(tmp .. "/t"))
  end)

  it("runs the packed charm's install: the state file gets what Juju would keep", function()
    local r = sim { packed, "install", "--leader" }
    assert.equal(0, r.code, r.stderr)
    local s = read_state()
    assert.is_true(s.stored.installed)
    assert.equal(8080, s.stored.port)
    assert.same({ { protocol = "tcp", port = 8080 } }, s.opened_ports)
    assert.same({ name = "active", message = "serving on port 8080" }, s.unit_status)
    assert.matches("listen 8080;", s.files["/etc/nginx/sites-enabled/hello-lua"], 1, true)
    assert.equal(8080, s.config.port)   -- the default, from the metadata
  end)

  it("prints a transcript: the event, hook commands, programs, files, status, time", function()
    local r = sim { packed, "install", "--leader" }
    assert.equal(0, r.code, r.stderr)
    local out = r.stdout
    assert.matches("^== install   [%d.]+ ms, ok\n", out)
    assert.matches("\n   hook commands:\n     state%-get %-%-format=json\n", out)
    assert.matches("\n     status%-set %-%-application=False maintenance %-%- \"installing nginx\"\n", out)
    assert.matches("\n     apt%-get update %-q\n", out)
    assert.matches("\n     systemctl restart nginx\n", out)
    assert.matches("\n   files: %+ /etc/nginx/sites%-enabled/hello%-lua, ", out)
    assert.matches("\n   opened ports: 8080/tcp\n", out)
    assert.matches("\n   status: unit active: serving on port 8080\n", out)
  end)

  it("--json gives the run: argv of every hook command and program, as the charm issued them", function()
    local r = sim { packed, "install", "--json" }
    assert.equal(0, r.code, r.stderr)
    local run = json.decode(r.stdout)
    assert.equal("install", run.event_name)
    assert.equal(0, run.code)
    assert.same({ "state-get", "--format=json" }, run.commands[1].argv)
    assert.same({ "apt-get", "update", "-q" }, run.processes[1].argv)
    assert.equal("hooks/install", run.env.JUJU_DISPATCH_PATH)
    assert.equal("hello-lua/0", run.env.JUJU_UNIT_NAME)
    assert.is_true(run.seconds > 0)
  end)

  it("a source directory runs too (this binary as its dispatch): edit Lua, run again", function()
    local r = sim { TEMPLATE, "install" }
    assert.equal(0, r.code, r.stderr)
    assert.is_true(read_state().stored.installed)
  end)

  it("chains: the same state file through config-changed, a relation, an action, rotation", function()
    assert.equal(0, sim({ packed, "install", "--leader" }).code)
    local r = sim { packed, "config-changed", "--config", "port=9000" }
    assert.equal(0, r.code, r.stderr)
    assert.same({ { protocol = "tcp", port = 9000 } }, read_state().opened_ports)

    r = sim { packed, "website-relation-created", "--relate", "website:proxy/0,1" }
    assert.equal(0, r.code, r.stderr)
    local s = read_state()
    assert.same({ "proxy/0", "proxy/1" }, s.relations[1].remote_units)
    r = sim { packed, "website-relation-joined", "--remote-unit", "proxy/1" }
    assert.equal(0, r.code, r.stderr)
    assert.matches("JUJU_REMOTE_UNIT=proxy/1", r.stdout, 1, true)
    s = read_state()
    assert.equal("http://192.0.2.0:9000/", s.relations[1].local_app_data.url)
    local secret = s.secrets[1]
    assert.equal(secret.id, s.relations[1].local_app_data["admin-secret"])
    assert.equal("proxy", secret.grants[tostring(s.relations[1].id)])

    r = sim { packed, "greet", "name=Ada", "--json" }
    assert.equal(0, r.code, r.stderr)
    assert.same({ greeting = "Hello, Ada!", count = "1" }, json.decode(r.stdout).action.results)

    r = sim { packed, "secret-rotate" }
    assert.equal(0, r.code, r.stderr)
    s = read_state()
    assert.is_string(s.secrets[1].revisions["1"].password)
    assert.equal(32, #s.secrets[1].revisions["2"].password)
  end)

  it("a failing hook: exit 1, the error shown, and only what Juju keeps is kept", function()
    local st = {}
    st.processes = { { command = "apt-get install", code = 100, stderr = "E: Unable to locate package nginx\n" } }
    write_state(st)
    local r = sim { packed, "install" }
    assert.equal(1, r.code)
    assert.matches("FAILED (exit status 1)", r.stdout, 1, true)
    assert.matches("error: .*Unable to locate package nginx", r.stdout)
    local s = read_state()
    assert.same({}, s.stored)
    assert.is_nil(s.opened_ports)
    assert.same({ name = "maintenance", message = "installing nginx" }, s.unit_status)
    assert.same(st.processes, s.processes)
  end)

  it("a failing hook keeps the state's files and directories as they were", function()
    local st = { files = { ["/etc/motd"] = "hi\n" }, dirs = { "/srv/data" } }
    st.processes = { { command = "apt-get install", code = 100, stderr = "E: no nginx\n" } }
    write_state(st)
    local r = sim { packed, "install" }
    assert.equal(1, r.code)
    local s = read_state()
    assert.equal("hi\n", s.files["/etc/motd"])
    assert.same({ "/srv/data" }, s.dirs)
  end)

  -- The simulated unit is another machine: a charm's file owners are
  -- checked against its /etc/passwd (the state's), never the host's.
  it("file owners are the simulated machine's: unknown to the host is fine, unknown to its passwd fails",
    function()
      local charm = tmp .. "/owner-charm"
      hookenv.sh("mkdir -p " .. quote(charm .. "/src"))
      hookenv.write_file(charm .. "/charmcraft.yaml", "name: owner-charm\ntype: charm\nsummary: s\n"
        .. "description: d\nbases: [{name: ubuntu, channel: '22.04'}]\n")
      hookenv.write_file(charm .. "/src/charm.lua", [[
local c = require("juju.charm").new()
c:on("install", function()
  require("juju.file").write("/srv/app.conf", "x\n", { owner = "app-user-not-on-host", mode = "0600" })
end)
return c
]])
      write_state({})
      local r = sim { charm, "install" }
      assert.equal(0, r.code, r.stdout .. r.stderr)
      assert.equal("x\n", read_state().files["/srv/app.conf"])
      write_state({ files = { ["/etc/passwd"] = "root:x:0:0:root:/root:/bin/bash\n" } })
      r = sim { charm, "install" }
      assert.equal(1, r.code)
      assert.matches("file.write: no user 'app-user-not-on-host' in /etc/passwd (the file root's)", r.stdout, 1, true)
      -- the traceback through the embedded framework names its frames
      assert.matches("lua/juju/file.lua:%d+: in function 'juju.file.write'", r.stdout)
      assert.is_nil(r.stdout:find("'?'", 1, true), r.stdout)
      assert.is_nil(read_state().files["/srv/app.conf"])
    end)

  it("a path that goes up with '..' is refused before anything is written, exit 2", function()
    for _, st in ipairs {
      { dirs = { "/../../../escaped" } },
      { files = { ["/srv/../../escaped"] = "x" } },
      { processes = { { command = "true", files = { ["/../escaped"] = "x" } } } },
    } do
      write_state(st)
      local r = sim { packed, "install" }
      assert.equal(2, r.code)
      assert.matches("goes up with '..'", r.stderr, 1, true)
    end
    assert.is_nil(sys.listdir(tmp .. "/escaped"))
    assert.is_nil(io.open(tmp .. "/escaped"))
  end)

  it("--out writes elsewhere ('-': stdout), and the input state is left alone", function()
    local before = hookenv.read_file(state)
    local r = sim { packed, "install", "--out", "-" }
    assert.equal(0, r.code, r.stderr)
    assert.is_true(json.decode(r.stdout).stored.installed)
    assert.equal(before, hookenv.read_file(state))
  end)

  it("a state Juju could not be in is refused before the charm runs, exit 2", function()
    write_state { relations = { { id = 1, endpoint = "db", remote_app = "pg" } } }
    local r = sim { packed, "install" }
    assert.equal(2, r.code)
    assert.matches("inconsistent state: relation 1 %(db%): the charm has no endpoint 'db'", r.stderr)
    write_state(MACHINE)
    r = sim { packed, "website-relation-joined", "--relation", "7" }
    assert.equal(2, r.code)
    assert.matches("relation 7", r.stderr, 1, true)
    r = sim { packed, "greet" }
    assert.equal(2, r.code)
    assert.matches("greet", r.stderr, 1, true)
  end)

  it("usage errors say what is wrong, exit 2", function()
    local r = sim({ packed }, { no_state = true })
    assert.equal(2, r.code)
    assert.matches("a charm and an event are needed", r.stderr, 1, true)
    assert.matches("usage: dispatch --simulate", r.stderr, 1, true)
    r = sim { packed, "install", "--bogus" }
    assert.equal(2, r.code)
    assert.matches("unknown option --bogus", r.stderr, 1, true)
    r = sim { tmp .. "/nope.charm", "install" }
    assert.equal(2, r.code)
    assert.matches("no charm at", r.stderr, 1, true)
    r = sim { packed, "no-such-event" }
    assert.equal(2, r.code)
    assert.matches("'no-such-event' is no event Juju sends", r.stderr, 1, true)
    hookenv.write_file(state, "{ not json")
    r = sim { packed, "install" }
    assert.equal(2, r.code)
    assert.matches("cannot read the state", r.stderr, 1, true)
  end)

  it("--trace: the hook's trace under the transcript", function()
    local r = sim { TEMPLATE, "install", "--trace" }
    assert.equal(0, r.code, r.stderr)
    assert.matches("\n     | dispatch%[trace%] state%-get %-%-format=json: exit 0, ", r.stdout)
    assert.matches("\n     | dispatch%[trace%] hook install: 1 handler, 1 reconcile function, 1 collect%-status "
      .. "function; 9 hook commands in ", r.stdout)
  end)

  it("--help prints the usage", function()
    local r = sim({ "--help" }, { no_state = true })
    assert.equal(0, r.code)
    assert.matches("^usage: dispatch %-%-simulate", r.stdout)
  end)

  it("the hook commands outside a session are the ordinary interpreter, not the simulator", function()
    hookenv.sh(("ln -sf %s %s/config-get"):format(quote(hookenv.dispatch_path()), quote(tmp)))
    local r = hookenv.run({ "-e", "io.write('plain')" }, { program = tmp .. "/config-get",
                                                           env = { DISPATCH_SIM_SESSION = false } })
    assert.equal(0, r.code, r.stderr)
    assert.equal("plain", r.stdout)
    r = hookenv.run({}, { program = tmp .. "/config-get", env = { DISPATCH_SIM_SESSION = tmp .. "/none" } })
    assert.equal(1, r.code)
    assert.matches("no simulated unit here", r.stderr, 1, true)
  end)
end)

-- A Kubernetes charm (tests/fixtures/k8s-charm): its container's Pebble is
-- the fake of juju.testing.pebble, reached by the charm's juju.pebble
-- through DISPATCH_PEBBLE_SIM (the session), its state in the state file.
describe("dispatch --simulate, a Kubernetes charm and its container #integration #once", function()
  local K8S = ROOT .. "/tests/fixtures/k8s-charm"
  local tmp, state

  local function sim(args)
    local full = { "--simulate", K8S }
    for _, a in ipairs(args) do full[#full + 1] = a end
    full[#full + 1] = "--state"
    full[#full + 1] = state
    return hookenv.run(full, { env = { TMPDIR = tmp .. "/t" }, cwd = tmp })
  end
  local function read_state() return json.decode(assert(hookenv.read_file(state))) end
  local function write_state(t) hookenv.write_file(state, json.encode(t)) end

  local EXECS = { { command = "nginx -v", stderr = "nginx version: nginx/1.25.3\n" } }

  setup(function()
    tmp = hookenv.tmpdir()
    hookenv.sh("mkdir -p " .. quote(tmp .. "/t"))
  end)
  teardown(function() hookenv.rmtree(tmp) end)
  before_each(function()
    state = tmp .. "/k8s.json"
    write_state { containers = { web = { execs = EXECS } } }
  end)
  after_each(function() assert.same({}, sys.listdir(tmp .. "/t")) end)

  it("pebble-ready: the layer, the plan, the service started, the file pushed, the exec run", function()
    local r = sim { "web-pebble-ready" }
    assert.equal(0, r.code, r.stderr .. r.stdout)
    local web = read_state().containers.web
    assert.same({ "web" }, web.layer_order)
    assert.equal("nginx -g 'daemon off;'", web.plan.services.nginx.command)
    assert.same({ current = "active" }, web.services.nginx)
    assert.same({ content = "server { listen 8080; root /srv/www; }\n", permissions = "644" },
      web.files["/etc/nginx/conf.d/site.conf"])
    assert.same({ "/srv/www" }, web.dirs)            -- the metadata's mount
    assert.same({ name = "active", message = "serving on port 8080" }, read_state().unit_status)
    assert.matches("\n   pebble web:\n     GET /v1/system%-info\n", r.stdout)
    assert.matches("\n     POST /v1/exec   nginx %-t\n", r.stdout)
    assert.matches("\n     POST /v1/files   write /etc/nginx/conf%.d/site%.conf\n", r.stdout)
    assert.matches("\n     POST /v1/layers   add layer web %(combine%)\n", r.stdout)
    assert.matches("\n     POST /v1/services   replan: started nginx\n", r.stdout)
  end)

  it("chains: config-changed rewrites the file and the replan restarts nginx (--json: the changes)", function()
    assert.equal(0, sim({ "web-pebble-ready" }).code)
    local r = sim { "config-changed", "--config", "port=9000", "--json" }
    assert.equal(0, r.code, r.stderr)
    local run = json.decode(r.stdout)
    local replan = run.pebble.web.changes[#run.pebble.web.changes]
    assert.same({ "replan", { "nginx" }, { "nginx" } }, { replan.kind, replan.stopped, replan.started })
    assert.same({ "nginx", "-t" }, run.pebble.web.execs[1].argv)
    local web = read_state().containers.web
    assert.equal("server { listen 9000; root /srv/www; }\n", web.files["/etc/nginx/conf.d/site.conf"].content)
    assert.equal("9000", web.plan.services.nginx.environment.PORT)
  end)

  it("a custom notice: its data fetched from Pebble when the handler reads it", function()
    write_state { containers = { web = { execs = EXECS, layers = { web = { services = { nginx = {
      override = "replace", command = "nginx" } } } }, services = { nginx = { current = "active" } },
      notices = { { id = "4", key = "example.com/reload", last_data = { reason = "rotated" } } } } } }
    local r = sim { "web-pebble-custom-notice", "--notice-key", "example.com/reload" }
    assert.equal(0, r.code, r.stderr .. r.stdout)
    assert.matches("\n     POST /v1/signals   SIGHUP to nginx\n     GET /v1/notices/4\n", r.stdout)
    local s = read_state()
    assert.same({ reloads = 1, reason = "rotated" }, s.stored)
  end)

  it("a failed check: e.check.info says down", function()
    assert.equal(0, sim({ "web-pebble-ready" }).code)
    local r = sim { "web-pebble-check-failed", "--check", "up" }
    assert.equal(0, r.code, r.stderr .. r.stdout)
    assert.same({ name = "blocked", message = "check failed: up:down" }, read_state().unit_status)
  end)

  it("an action runs a command in the container", function()
    assert.equal(0, sim({ "web-pebble-ready" }).code)
    local r = sim { "version", "--json" }
    assert.equal(0, r.code, r.stderr)
    assert.same({ version = "1.25.3" }, json.decode(r.stdout).action.results)
  end)

  it("a container Pebble does not answer: the charm waits, the attempt is shown", function()
    write_state { containers = { web = { can_connect = false } } }
    local r = sim { "config-changed" }
    assert.equal(0, r.code, r.stderr .. r.stdout)
    assert.matches("\n     GET /v1/system%-info   %-> cannot connect\n", r.stdout)
    local s = read_state()
    assert.same({ name = "waiting", message = "waiting for the web container" }, s.unit_status)
    assert.is_false(s.containers.web.can_connect)
  end)

  it("pebble-ready for a container that cannot connect is refused, exit 2", function()
    write_state { containers = { web = { can_connect = false } } }
    local r = sim { "web-pebble-ready" }
    assert.equal(2, r.code)
    assert.matches("Juju sends pebble-ready when Pebble answers", r.stderr, 1, true)
  end)
end)
