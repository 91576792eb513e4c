-- hello-lua's behaviour, one event at a time, through juju.testing: the
-- state before, the event, the state after. Hook commands, workload
-- programs (apt-get, systemctl) and files are all answered and recorded by
-- the harness; nothing touches the machine.

local testing = require "juju.testing"

local ctx = testing.context{ charm = require "charm", app = "hello-lua" }

--- The argv of every workload program a run started, as strings.
local function programs(run)
  local out = {}
  for i, p in ipairs(run.processes) do out[i] = table.concat(p.argv, " ") end
  return out
end

local INSTALLED = {
  unit = "hello-lua/0", leader = true,
  config = { port = 8080, page = "Hello from a Lua charm!" },
  stored = { installed = true },
  files = { ["/etc/nginx/sites-enabled/default"] = "server { listen 80; }\n" },
}

local function with(base, changes)
  local s = {}
  for k, v in pairs(base) do s[k] = v end
  for k, v in pairs(changes or {}) do s[k] = v end
  return s
end

describe("hello-lua", function()
  it("install: installs nginx from apt, says so, remembers it, configures it", function()
    local out, run = ctx:run("install", { config = INSTALLED.config, leader = true })
    assert.is_nil(run.error)
    assert.same({ "apt-get update -q", "apt-get install -y -q -o Dpkg::Options::=--force-confdef "
      .. "-o Dpkg::Options::=--force-confold nginx", "systemctl enable nginx", "systemctl restart nginx" },
      programs(run))
    assert.is_true(out.stored.installed)
    assert.same({ target = "unit", name = "maintenance", message = "installing nginx" }, run.status_history[1])
  end)

  it("config-changed: writes the site and page, replaces the default site, restarts nginx, opens the port", function()
    local out, run = ctx:run("config-changed", INSTALLED)
    assert.is_nil(run.error)
    assert.matches("listen 8080;", out.files["/etc/nginx/sites-enabled/hello-lua"], 1, true)
    assert.matches("<p>Hello from a Lua charm!</p>", out.files["/var/www/hello-lua/index.html"], 1, true)
    assert.is_nil(out.files["/etc/nginx/sites-enabled/default"])
    assert.same({ "systemctl enable nginx", "systemctl restart nginx" }, programs(run))
    assert.same({ { protocol = "tcp", port = 8080 } }, out.opened_ports)
    assert.equal(8080, out.stored.port)
  end)

  it("the page is HTML-escaped", function()
    local out = ctx:run("config-changed", with(INSTALLED, { config = { port = 8080, page = "<b>&</b>" } }))
    assert.matches("<p>&lt;b&gt;&amp;&lt;/b&gt;</p>", out.files["/var/www/hello-lua/index.html"], 1, true)
  end)

  it("nothing changed: no restart, no port commands", function()
    local s = ctx:run("config-changed", INSTALLED)
    local _, run = ctx:run("config-changed", s)
    assert.same({}, programs(run))
    for _, c in ipairs(run.commands) do
      assert.is_nil(c.argv[1]:match("port"), table.concat(c.argv, " "))
    end
  end)

  it("a new port: rewrites the site, restarts, moves the port", function()
    local s = ctx:run("config-changed", INSTALLED)
    s.config = { port = 9000, page = "x" }
    local out, run = ctx:run("config-changed", s)
    assert.same({ "systemctl enable nginx", "systemctl restart nginx" }, programs(run))
    assert.same({ { protocol = "tcp", port = 9000 } }, out.opened_ports)
  end)

  it("status: blocked without a page, active once nginx runs", function()
    local out = ctx:run("config-changed", with(INSTALLED, { config = { port = 8080, page = "" } }))
    assert.same({ name = "blocked", message = "set the 'page' config option" }, out.unit_status)
    out = ctx:run("update-status", out)
    assert.same({ name = "maintenance", message = "nginx is not running" },
      (ctx:run("update-status", with(out, { config = INSTALLED.config }))).unit_status)
    local running = with(out, { config = INSTALLED.config })
    running.files["/run/nginx.pid"] = "1\n"
    running.files["/proc/1"] = ""
    assert.same({ name = "active", message = "serving on port 8080" }, (ctx:run("update-status", running)).unit_status)
  end)

  it("update-status only reports: three hook commands, no program", function()
    local s = ctx:run("config-changed", INSTALLED)
    local _, run = ctx:run("update-status", s)
    assert.same({}, programs(run))
    local names = {}
    for _, c in ipairs(run.commands) do names[#names + 1] = c.argv[1] end
    assert.same({ "state-get", "config-get", "status-set" }, names)
  end)

  it("website relation: the leader publishes the URL and a granted admin secret", function()
    local rel = { id = 4, endpoint = "website", remote_app = "proxy", remote_units = { "proxy/0" } }
    local s = ctx:run("config-changed", with(INSTALLED, { relations = { rel } }))
    local out, run = ctx:run({ name = "website-relation-joined", relation = 4, remote_unit = "proxy/0" }, s)
    assert.is_nil(run.error)
    local r = out.relations[1]
    assert.equal("http://192.0.2.0:8080/", r.local_app_data.url)
    assert.equal("http://192.0.2.0:8080/", r.local_unit_data.url)
    local secret = out.secrets[1]
    assert.equal(secret.id, r.local_app_data["admin-secret"])
    assert.equal("proxy", secret.grants["4"])
    assert.equal(32, #secret.revisions[1].password)
    assert.equal(secret.id, out.stored.admin_secret)
    -- a second relation event reuses the same secret
    local out2 = ctx:run({ name = "website-relation-changed", relation = 4, remote_unit = "proxy/0" }, out)
    assert.equal(1, #out2.secrets)
  end)

  it("a non-leader publishes only its own URL", function()
    local rel = { id = 4, endpoint = "website", remote_app = "proxy", remote_units = { "proxy/0" } }
    local out, run = ctx:run({ name = "website-relation-joined", relation = 4, remote_unit = "proxy/0" },
      with(INSTALLED, { leader = false, relations = { rel } }))
    assert.is_nil(run.error)
    assert.is_nil(out.relations[1].local_app_data)
    assert.equal("http://192.0.2.0:8080/", out.relations[1].local_unit_data.url)
    assert.is_nil(out.secrets)
  end)

  it("greet: a greeting and a count kept across runs", function()
    local out, run = ctx:run({ action = "greet", params = { name = "Ada" } }, INSTALLED)
    assert.same({ greeting = "Hello, Ada!", count = "1" }, run.action.results)
    local _, run2 = ctx:run({ action = "greet", params = { name = "Bob" } }, out)
    assert.equal("2", run2.action.results.count)
  end)

  it("reload: rewrites the page and reloads nginx", function()
    local out, run = ctx:run({ action = "reload" }, INSTALLED)
    assert.is_nil(run.error)
    assert.same({ "systemctl reload nginx" }, programs(run))
    assert.same({ "writing the page and reloading nginx" }, run.action.logs)
    assert.matches("Hello from a Lua charm!", out.files["/var/www/hello-lua/index.html"], 1, true)
  end)

  it("a failing apt install fails the hook, and nothing is remembered", function()
    local out, run = ctx:run("install", { config = INSTALLED.config, processes = {
      { command = "apt-get install", code = 100, stderr = "E: Unable to locate package nginx\n" },
    } })
    assert.matches("Unable to locate package nginx", run.error, 1, true)
    assert.is_nil(out.stored.installed)
  end)

  it("stop and remove end the service", function()
    local _, run = ctx:run("stop", INSTALLED)
    assert.same({ "systemctl stop nginx" }, programs(run))
    _, run = ctx:run("remove", INSTALLED)
    assert.same({ "systemctl disable --now nginx" }, programs(run))
  end)

  it("secret-rotate gives the admin secret a new password", function()
    local s = with(INSTALLED, { secrets = { { id = "secret:cs1l5r2d2j3p2c1v4nbg", label = "admin", owner = "app",
                                             revisions = { [1] = { password = "old" } } } } })
    local out = ctx:run({ name = "secret-rotate", secret = "secret:cs1l5r2d2j3p2c1v4nbg", label = "admin" }, s)
    assert.equal(32, #out.secrets[1].revisions[2].password)
  end)
end)
