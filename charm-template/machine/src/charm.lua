--- hello-lua: nginx serving one page, on a port from the config.
--
-- One reconcile function makes the unit match its config after any event:
-- the page and nginx's site are written (atomically, only when they
-- change), nginx is restarted when its site changed, the port is opened,
-- and the URL is published to related proxies. The leader creates an
-- admin credential once, as a Juju secret, and grants it to each related
-- application. Status is collected at the end of every hook.
local charm = require "juju.charm"
local apt = require "juju.apt"
local file = require "juju.file"
local log = require "juju.log"
local systemd = require "juju.systemd"

local SITE = "/etc/nginx/sites-enabled/hello-lua"
local DEFAULT_SITE = "/etc/nginx/sites-enabled/default"
local WWW = "/var/www/hello-lua"
local PAGE = WWW .. "/index.html"
local PID_FILE = "/run/nginx.pid"

local SITE_TEMPLATE = [[
# Written by the hello-lua charm: changes are overwritten.
server {
    listen {{port}};
    listen [::]:{{port}};
    root {{root}};
    index index.html;
    location / { try_files $uri $uri/ =404; }
}
]]

local PAGE_TEMPLATE = [[
<!doctype html>
<html><head><meta charset="utf-8"><title>hello-lua</title></head>
<body><p>{{page}}</p></body></html>
]]

local c = charm.new()

--- Escape text for HTML.
local function html(text)
  return (text:gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

--- Write path when its content differs; true when it changed.
local function write_if_changed(path, content)
  if file.read(path) == content then return false end
  file.write(path, content, { mode = "0644", owner = "root", group = "root" })
  return true
end

--- A random password: hex of bytes from the kernel.
local function random_hex(n)
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(n)
  f:close()
  return (bytes:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end))
end

--- Is nginx running? Its pid file names a live process: no program is
-- run, so update-status stays cheap.
local function nginx_running()
  local pid = (file.read(PID_FILE) or ""):match("^%s*(%d+)")
  return pid ~= nil and file.exists("/proc/" .. pid)
end

local function port_of(config)
  return math.tointeger(config.port) or 8080
end

c:on("install", function(e)
  e.status:set("maintenance", "installing nginx")
  apt.install("nginx")
  e.state.installed = true
end)

c:on("stop", function()
  systemd.stop("nginx")
end)

c:on("remove", function()
  systemd.disable("nginx", { now = true })
end)

--- The leader's admin credential, made once and kept as a Juju secret.
local function admin_secret(e)
  if e.state.admin_secret then return e.model:secret{ id = e.state.admin_secret } end
  local s = e.model:add_secret({ password = random_hex(16) },
    { label = "admin", description = "hello-lua admin password", rotate = "monthly" })
  e.state.admin_secret = s.id
  return s
end

c:on("website-relation-joined", function(e)
  if e.model:is_leader() then admin_secret(e):grant(e.relation) end
end)

c:on("secret-rotate", function(e)
  e.secret:set_content{ password = random_hex(16) }
end)

c:on_action("greet", function(a)
  local n = (a.state.greetings or 0) + 1
  a.state.greetings = n
  a:set_results{ greeting = "Hello, " .. a.params.name .. "!", count = n }
end)

c:on_action("reload", function(a)
  a:log("writing the page and reloading nginx")
  file.make_dirs(WWW)
  write_if_changed(PAGE, file.render(PAGE_TEMPLATE, { page = html(a.config.page or "") }))
  systemd.reload("nginx")
  a:set_results{ reloaded = true }
end)

--- Make the unit match the config, after whatever happened.
c:reconcile(function(e)
  -- before install, nothing to configure; stop and remove end the service;
  -- update-status only reports (collect_status below)
  if not e.state.installed or e.name == "stop" or e.name == "remove" or e.name == "update-status" then
    return
  end
  local port = port_of(e.config)
  file.make_dirs(WWW)
  file.make_dirs("/etc/nginx/sites-enabled")
  local site_changed = write_if_changed(SITE, file.render(SITE_TEMPLATE, { port = port, root = WWW }))
  write_if_changed(PAGE, file.render(PAGE_TEMPLATE, { page = html(e.config.page or "") }))
  if file.exists(DEFAULT_SITE) then
    file.remove(DEFAULT_SITE)
    site_changed = true
  end
  if site_changed then
    log.info("nginx site changed: restarting nginx on port %d", port)
    systemd.enable("nginx")
    systemd.restart("nginx")
  end
  if e.state.port ~= port then
    e.model:set_ports{ port }
    e.state.port = port
  end

  local relations = e.model:relations("website")
  if #relations > 0 then
    local address = e.model:network("website").ingress_addresses[1] or "localhost"
    local url = ("http://%s:%d/"):format(address, port)
    for _, r in ipairs(relations) do
      r.unit_data.url = url
      if e.model:is_leader() then
        r.app_data.url = url
        r.app_data["admin-secret"] = admin_secret(e).id
      end
    end
  end
end)

c:collect_status(function(s)
  local config = s.model.config
  if not s.model.state.installed then
    s:add("maintenance", "waiting for install")
  elseif (config.page or "") == "" then
    s:add("blocked", "set the 'page' config option")
  elseif not nginx_running() then
    s:add("maintenance", "nginx is not running")
  else
    s:add("active", ("serving on port %d"):format(port_of(config)))
  end
end)

return c
