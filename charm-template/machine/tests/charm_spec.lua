-- hello-lua's behaviour through juju.testing: a state before, an event, a
-- state after. The context reads charmcraft.yaml (config defaults, the
-- endpoints and actions a state may use) and loads src/charm.lua as
-- dispatch does. Hook commands, workload programs (apt-get, systemctl) and
-- files are answered and recorded by the harness: nothing touches the
-- machine, and each run takes microseconds.
--
-- Idioms: one behaviour per test; `installed` below is a state reached by
-- running the charm's own install, not written by hand; chained runs for a
-- flow; `run_failing` for a hook that must fail.

local testing = require "juju.testing"
local on = testing.on

local ctx = testing.context{ charm_dir = "." }

--- The argv of every workload program a run started, as strings.
local function programs(run)
  local out = {}
  for i, p in ipairs(run.processes) do out[i] = table.concat(p.argv, " ") end
  return out
end

--- The names of the hook commands a run issued.
local function commands(run)
  local out = {}
  for i, c in ipairs(run.commands) do out[i] = c.argv[1] end
  return out
end

-- A fresh machine with nginx's default site, as Ubuntu's package leaves it,
-- and a systemctl that leaves nginx's pid behind when it restarts nginx.
local MACHINE = {
  leader = true,
  files = { ["/etc/nginx/sites-enabled/default"] = "server { listen 80; }\n" },
  processes = {
    { command = "systemctl restart nginx",
      files = { ["/run/nginx.pid"] = "4242\n", ["/proc/4242/cmdline"] = "nginx" } },
  },
}

--- The state after install: what every later test starts from.
local function installed(changes)
  local s = ctx:run(on.install(), MACHINE)
  for k, v in pairs(changes or {}) do s[k] = v end
  return s
end

describe("install", function()
  it("installs nginx from the archive, then configures and starts it", function()
    local _, run = ctx:run(on.install(), MACHINE)
    assert.same({
      "apt-get update -q",
      "apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold nginx",
      "systemctl enable nginx", "systemctl restart nginx",
    }, programs(run))
  end)

  it("says what it is doing while it installs, and is active after", function()
    local out, run = ctx:run(on.install(), MACHINE)
    assert.same({ target = "unit", name = "maintenance", message = "installing nginx" }, run.status_history[1])
    assert.same({ name = "active", message = "serving on port 8080" }, out.unit_status)
  end)

  it("replaces the default site with its own, on the configured port", function()
    local out = ctx:run(on.install(), MACHINE)
    assert.is_nil(out.files["/etc/nginx/sites-enabled/default"])
    assert.matches("listen 8080;", out.files["/etc/nginx/sites-enabled/hello-lua"], 1, true)
    assert.same({ { protocol = "tcp", port = 8080 } }, out.opened_ports)
  end)

  it("writes its files as root, world-readable", function()
    local _, run = ctx:run(on.install(), MACHINE)
    for _, w in ipairs(run.writes) do
      assert.same({ "0644", "root", "root" }, { w.mode, w.owner, w.group }, w.path)
    end
  end)

  it("a failing apt-get fails the hook, and nothing is remembered", function()
    local machine = testing.sim.copy(MACHINE)
    table.insert(machine.processes, 1,
      { command = "apt-get install", code = 100, stderr = "E: Unable to locate package nginx\n" })
    local out, run = ctx:run_failing(on.install(), machine)
    assert.matches("Unable to locate package nginx", run.error, 1, true)
    assert.same({}, out.stored)
    assert.is_nil(out.opened_ports)
  end)
end)

describe("config-changed", function()
  it("serves the page from the config, HTML-escaped", function()
    local out = ctx:run(on.config_changed(), installed { config = { page = "<b>Tom & Jerry</b>" } })
    assert.matches("<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>", out.files["/var/www/hello-lua/index.html"], 1, true)
  end)

  it("a new port: rewrites the site, restarts nginx, moves the opened port", function()
    local out, run = ctx:run(on.config_changed(), installed { config = { port = 9000 } })
    assert.matches("listen 9000;", out.files["/etc/nginx/sites-enabled/hello-lua"], 1, true)
    assert.same({ "systemctl enable nginx", "systemctl restart nginx" }, programs(run))
    assert.same({ { protocol = "tcp", port = 9000 } }, out.opened_ports)
  end)

  it("nothing changed: no restart, no port commands", function()
    local _, run = ctx:run(on.config_changed(), installed())
    assert.same({}, programs(run))
    for _, name in ipairs(commands(run)) do assert.is_nil(name:match("port"), name) end
  end)

  it("an empty page blocks, and says which option to set", function()
    local out = ctx:run(on.config_changed(), installed { config = { page = "" } })
    assert.same({ name = "blocked", message = "set the 'page' config option" }, out.unit_status)
  end)

  it("a port of the wrong type is a mistake in the test, caught before the charm runs", function()
    assert.has_error(function() ctx:run(on.config_changed(), installed { config = { port = "80" } }) end)
  end)
end)

describe("update-status", function()
  it("only reports: three hook commands, no program", function()
    local _, run = ctx:run(on.update_status(), installed())
    assert.same({}, programs(run))
    assert.same({ "state-get", "config-get", "status-set" }, commands(run))
  end)

  it("notices nginx is gone", function()
    local s = installed()
    s.files["/run/nginx.pid"] = nil
    local out = ctx:run(on.update_status(), s)
    assert.same({ name = "maintenance", message = "nginx is not running" }, out.unit_status)
  end)
end)

describe("the website relation", function()
  local proxy = testing.relation { id = 4, endpoint = "website", remote_app = "proxy" }

  it("the leader publishes the URL and a granted admin secret", function()
    local out = ctx:run(on.relation_joined(proxy), installed { relations = { proxy } })
    local r = out.relations[1]
    assert.equal("http://192.0.2.0:8080/", r.local_app_data.url)
    assert.equal("http://192.0.2.0:8080/", r.local_unit_data.url)
    local secret = out.secrets[1]
    assert.equal(secret.id, r.local_app_data["admin-secret"])
    assert.equal("proxy", secret.grants["4"])
    assert.equal(32, #secret.revisions[1].password)
  end)

  it("joined then changed: one secret, made once", function()
    local s = ctx:run(on.relation_joined(proxy), installed { relations = { proxy } })
    s = ctx:run(on.relation_changed(proxy), s)
    assert.equal(1, #s.secrets)
    assert.equal(s.secrets[1].id, s.stored.admin_secret)
  end)

  it("a non-leader publishes only its own URL, and makes no secret", function()
    local out = ctx:run(on.relation_joined(proxy), installed { leader = false, relations = { proxy } })
    assert.same({}, out.relations[1].local_app_data)
    assert.equal("http://192.0.2.0:8080/", out.relations[1].local_unit_data.url)
    assert.is_nil(out.secrets)
  end)

  it("uses the address Juju gives the endpoint", function()
    local s = installed { relations = { proxy },
                          networks = { website = { ingress_addresses = { "10.1.2.3" } } } }
    local out = ctx:run(on.relation_changed(proxy), s)
    assert.equal("http://10.1.2.3:8080/", out.relations[1].local_unit_data.url)
  end)
end)

describe("secret-rotate", function()
  it("gives the admin secret a new password", function()
    local admin = testing.secret { owner = "app", label = "admin", content = { password = "old" } }
    local out = ctx:run(on.secret_rotate(admin), installed { secrets = { admin } })
    assert.equal("old", out.secrets[1].revisions[1].password)
    assert.equal(32, #out.secrets[1].revisions[2].password)
  end)
end)

describe("actions", function()
  it("greet: a greeting, and a count kept across runs", function()
    local s, run = ctx:run(on.action("greet", { name = "Ada" }), installed())
    assert.same({ greeting = "Hello, Ada!", count = "1" }, run.action.results)
    local _, run2 = ctx:run(on.action("greet", { name = "Bob" }), s)
    assert.equal("2", run2.action.results.count)
  end)

  it("greet needs a name, as its schema says: Juju would not run it", function()
    assert.has_error(function() ctx:run(on.action("greet"), installed()) end)
  end)

  it("reload: rewrites the page and reloads nginx", function()
    local out, run = ctx:run(on.action("reload"), installed())
    assert.same({ "systemctl reload nginx" }, programs(run))
    assert.same({ "writing the page and reloading nginx" }, run.action.logs)
    assert.matches("Hello from a Lua charm!", out.files["/var/www/hello-lua/index.html"], 1, true)
  end)
end)

describe("stop and remove", function()
  it("stop stops nginx", function()
    local _, run = ctx:run(on.stop(), installed())
    assert.same({ "systemctl stop nginx" }, programs(run))
  end)

  it("remove disables it", function()
    local _, run = ctx:run(on.remove(), installed())
    assert.same({ "systemctl disable --now nginx" }, programs(run))
  end)
end)
