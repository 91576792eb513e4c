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
local describe_once = hookenv.transport() == "exec" and describe or pending

local MACHINE = {
  processes = { { command = "systemctl restart nginx",
                  files = { ["/run/nginx.pid"] = "4242\n", ["/proc/4242/cmdline"] = "nginx" } } },
}

describe_once("dispatch --simulate #integration", function()
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
