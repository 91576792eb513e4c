--- hello-lua-k8s: nginx in the workload container "web", configured
-- through Pebble, serving one page on a port from the config.
--
-- One reconcile function makes the container match the config after any
-- event but update-status (which only reports), stop and remove: the site
-- and the page are pushed, each only when it differs from what the
-- container holds; nginx tests a new site before it is used (a rejected
-- one is taken back); a layer says how to run nginx and how to tell it
-- is healthy; a replan applies it (Pebble restarts nginx when its service
-- changed, and the charm restarts it when only the site did). Then the
-- port is opened and the URL published to related proxies.
--
-- pebble-ready comes whenever a container's Pebble starts: the first
-- time, and again after every restart of the pod or the container, with
-- an empty filesystem and no plan. So nothing here trusts what an
-- earlier hook did to the container: reconcile reads what is there.
--
-- Status is collected at the end of every hook, from the container:
-- blocked on bad config or a site nginx rejects, waiting while Pebble
-- cannot be reached or nginx does not answer its health check,
-- maintenance while nginx is being configured or is not running, active
-- when it runs and answers.
local charm = require "juju.charm"
local file = require "juju.file"
local log = require "juju.log"
local pebble = require "juju.pebble"

local CONTAINER = "web"               -- the container of charmcraft.yaml
local SERVICE = "nginx"               -- the layer's service...
local CHECK = "http"                  -- ...and its health check
local LAYER = "hello-lua-k8s"         -- the layer's label
-- `/charm/bin/pebble notify example.com/hello-lua-k8s/reload [reason=...]`
-- in the workload container asks the charm to reload nginx.
local RELOAD_NOTICE = "example.com/hello-lua-k8s/reload"

-- The nginx image's nginx.conf includes conf.d/*.conf: the image's own
-- default site (port 80) is replaced by this one.
local SITE = "/etc/nginx/conf.d/default.conf"
local ROOT = "/srv/hello-lua-k8s"
local PAGE = ROOT .. "/index.html"

local SITE_TEMPLATE = [[
# Written by the hello-lua-k8s charm: changes are overwritten.
server {
    listen {{port}};
    root {{root}};
    index index.html;
    location / { try_files $uri $uri/ =404; }
    # Pebble's health check (the layer's "http" check) asks here.
    location = /healthz { access_log off; default_type text/plain; return 200 "ok\n"; }
}
]]

local PAGE_TEMPLATE = [[
<!doctype html>
<html><head><meta charset="utf-8"><title>hello-lua-k8s</title></head>
<body><p>{{page}}</p></body></html>
]]

local c = charm.new()

-- ------------------------------------------------------------ helpers

--- Escape text for HTML.
local function html(text)
  return (text:gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

--- The first line of text that is not blank, or "".
local function first_line(text)
  for line in (text or ""):gmatch("[^\n]+") do
    if line:find("%S") then return line end
  end
  return ""
end

--- What is wrong with the config, or nil. Juju checks the types.
local function config_problem(config)
  local port = config.port
  if math.type(port) ~= "integer" or port < 1 or port > 65535 then
    return ("'port' must be between 1 and 65535 (it is %s)"):format(tostring(port))
  end
  if (config.page or "") == "" then return "set the 'page' config option" end
  return nil
end

--- The layer: how Pebble runs nginx, and how it tells nginx is healthy.
local function layer(port)
  return {
    summary = "hello-lua-k8s: nginx serving one page",
    services = {
      [SERVICE] = {
        override = "replace",
        summary = "nginx",
        command = "nginx -g 'daemon off;'",
        startup = "enabled",
        -- nginx reads no variable, but the environment is part of the
        -- service: a new port changes the service, so the replan restarts
        -- nginx; and a command run with exec's service_context sees it.
        environment = { PORT = tostring(port) },
      },
    },
    checks = {
      [CHECK] = {
        override = "replace",
        -- Juju probes the pod with Pebble's health: "ready" checks decide
        -- whether Kubernetes sends the pod traffic, while a failing
        -- "alive" check makes it restart the whole container.
        level = "ready",
        period = "10s",
        threshold = 3,
        http = { url = ("http://localhost:%d/healthz"):format(port) },
      },
    },
  }
end

--- A file of the container, or nil when there is none.
local function pull(web, path)
  local ok, content = pcall(web.pull, web, path)
  if ok then return content end
  if getmetatable(content) == pebble.PathError and content.kind == "not-found" then return nil end
  error(content, 0)
end

--- Run `nginx -t` in the container: nil when nginx accepts its
-- configuration, else why not; and what nginx said.
local function nginx_test(web)
  local ok, r = pcall(web.exec, web, { "nginx", "-t" }, { check = false })
  if not ok then
    -- no nginx in the image: Pebble refuses the exec
    if getmetatable(r) == pebble.APIError and r.code == 400 then
      return ("the %s image cannot run nginx: %s"):format(CONTAINER, r.message), ""
    end
    error(r, 0)
  end
  if r.code == 0 then return nil, r.stdout end
  return "nginx rejects its configuration: " .. first_line(r.stdout), r.stdout
end

--- Did a change stop a service? (A replan restarting one stops it first.)
local function stopped(change, name)
  local summary = ("Stop service %q"):format(name)
  for _, task in ipairs(change.tasks) do
    if task.kind == "stop" and task.summary == summary then return true end
  end
  return false
end

--- Run fn(...) as far as the workload lets it: the container going away
-- (its next pebble-ready redoes everything) and nginx not starting (the
-- status says so) are logged, not raised, so that a workload's trouble
-- does not fail the hook. True and fn's result, or false.
local function as_far_as_possible(fn, ...)
  local ok, result = pcall(fn, ...)
  if ok then return true, result end
  local kind = getmetatable(result)
  if kind == pebble.ConnectionError then
    log.info("lost Pebble in the %s container: %s", CONTAINER, tostring(result))
  elseif kind == pebble.ChangeError then
    log.error("nginx did not start: %s", tostring(result))
  else
    error(result, 0)
  end
  return false
end

--- The workload's version, from `nginx -v` (which says it on stderr).
local function set_workload_version(e, web)
  local ok, r = pcall(web.exec, web, { "nginx", "-v" }, { split_stderr = true, check = false })
  if not ok then
    if not pebble.is_error(r) then error(r, 0) end
    return log.warning("cannot ask nginx its version: %s", tostring(r))
  end
  local version = (r.stderr .. r.stdout):match("nginx/(%S+)")
  if version then e.model:set_workload_version(version) end
end

-- ------------------------------------------------------------ configuring

--- Make the container serve the config: files, layer, replan. True when
-- nginx is set up for the config (whether it started is the status's
-- business); false when nginx rejected the new site, which is then taken
-- back so that nginx keeps serving the one it had.
local function configure(e, web)
  local port = e.config.port
  local site = file.render(SITE_TEMPLATE, { port = port, root = ROOT })
  local page = file.render(PAGE_TEMPLATE, { page = html(e.config.page) })
  local old_site, old_page = pull(web, SITE), pull(web, PAGE)
  if old_site ~= site or old_page ~= page then
    e.status:set("maintenance", "configuring nginx")
  end
  if old_page ~= page then
    web:push(PAGE, page, { make_dirs = true, permissions = "644" })
  end
  if old_site ~= site then
    web:push(SITE, site, { make_dirs = true, permissions = "644" })
    local problem = nginx_test(web)
    if problem then
      if old_site then web:push(SITE, old_site, { permissions = "644" }) else web:remove_path(SITE) end
      log.error("%s: the site for port %d is taken back", problem, port)
      e.state.rejected = problem
      return false
    end
  end
  e.state.rejected = nil

  local before = web:service(SERVICE)     -- nil until the first layer
  web:add_layer(LAYER, layer(port), { combine = true })
  local change = web:replan()             -- starts nginx, or restarts it when its service changed
  if old_site ~= site and before and before.current == "active" and not stopped(change, SERVICE) then
    log.info("nginx's site changed: restarting nginx")
    web:restart(SERVICE)
  end
  return true
end

--- Publish the URL nginx serves to the related proxies: each unit its
-- pod's address, the leader the application's Kubernetes service (one
-- name for all the units: <app>.<model>.svc.cluster.local).
local function publish(e)
  local port = e.state.port
  local relations = e.model:relations("website")
  if not port or #relations == 0 then return end
  local address = e.model:network("website").ingress_addresses[1]
  if address and address:find(":", 1, true) then address = "[" .. address .. "]" end
  local unit_url = address and ("http://%s:%d/"):format(address, port)
  local app_url = ("http://%s.%s.svc.cluster.local:%d/"):format(e.model.app, e.model.name, port)
  for _, r in ipairs(relations) do
    r.unit_data.url = unit_url or app_url
    if e.model:is_leader() then r.app_data.url = app_url end
  end
end

-- ------------------------------------------------------------ events

c:on(CONTAINER .. "-pebble-ready", function(e)
  -- A Pebble just started: a new container, maybe from a new image.
  -- Reconcile (below) configures it from scratch; its version is asked here.
  set_workload_version(e, e.container)
end)

c:on("upgrade-charm", function(e)
  -- A new charm may bring a new site or layer: reconcile applies them.
  local web = e.model:container(CONTAINER)
  if web:can_connect() then set_workload_version(e, web) end
end)

--- The reload the workload asked for: nginx -t first, as `nginx -s
-- reload` does, then SIGHUP (nginx re-reads its files; the requests in
-- flight finish on the old workers).
local function reload(e, web)
  local reason = e.notice.data.reason            -- the notice's data, asked of Pebble now
  log.info("the workload asks for a reload%s", reason and (" (" .. reason .. ")") or "")
  local nginx = web:service(SERVICE)
  if not nginx or nginx.current ~= "active" then
    return log.info("nginx is not running: nothing to reload")
  end
  local problem = nginx_test(web)
  if problem then return log.warning("not reloading nginx: %s", problem) end
  web:send_signal("SIGHUP", SERVICE)
end

c:on(CONTAINER .. "-pebble-custom-notice", function(e)
  if e.notice.key ~= RELOAD_NOTICE then
    return log.debug("ignoring notice %s (%s)", e.notice.id, e.notice.key)
  end
  if e.container:can_connect() then as_far_as_possible(reload, e, e.container) end
end)

--- Restart nginx while its check is still down (the event may come
-- late: the check is read as it is now).
local function recover(e, web)
  local info = e.check.info
  if not info or info.status ~= "down" then
    return log.info("check %s failed, and is %s now", CHECK, info and info.status or "gone")
  end
  log.warning("nginx does not answer its health check (%d failures): restarting it", info.failures or 0)
  if web:service(SERVICE) then web:restart(SERVICE) end
end

c:on(CONTAINER .. "-pebble-check-failed", function(e)
  if e.check.name == CHECK and e.container:can_connect() then as_far_as_possible(recover, e, e.container) end
end)

c:on(CONTAINER .. "-pebble-check-recovered", function(e)
  if e.check.name == CHECK then log.info("nginx answers its health check again") end
end)

c:on_action("greet", function(a)
  local n = (a.state.greetings or 0) + 1
  a.state.greetings = n
  a:set_results{ greeting = "Hello, " .. a.params.name .. "!", count = n }
end)

c:on_action("check-config", function(a)
  local web = a.model:container(CONTAINER)
  local up, why = web:can_connect()
  if not up then
    return a:fail(("cannot reach Pebble in the %s container: %s"):format(CONTAINER, tostring(why)))
  end
  local problem, output = nginx_test(web)
  a:set_results{ ok = problem == nil, output = output }
  if problem then a:fail(problem) end
end)

--- Make the container match the config, after whatever happened.
c:reconcile(function(e)
  -- update-status only reports (collect_status below); stop and remove:
  -- the pod is going away
  if e.name == "update-status" or e.name == "stop" or e.name == "remove" then return end
  if not config_problem(e.config) then
    local web = e.model:container(CONTAINER)
    if web:can_connect() then                    -- else pebble-ready will come
      local ok, configured = as_far_as_possible(configure, e, web)
      if ok and configured and e.state.port ~= e.config.port then
        e.model:set_ports{ e.config.port }
        e.state.port = e.config.port
      end
    end
  end
  publish(e)
end)

--- The status of a container Pebble answers for.
local function workload_status(web, port)
  local nginx = web:service(SERVICE)
  if not nginx then return "maintenance", "nginx is not configured yet" end
  if nginx.current == "error" then
    return "blocked", ("nginx failed to start: `pebble logs %s` in the %s container says why"):format(
      SERVICE, CONTAINER)
  elseif nginx.current == "backoff" then
    return "waiting", "nginx exited: Pebble is starting it again"
  elseif nginx.current ~= "active" then
    return "maintenance", "nginx is not running"
  end
  local check = web:checks{ names = { CHECK } }[CHECK]
  if check and check.status == "down" then
    return "waiting", ("nginx does not answer on port %d (check %s down, %d failures)"):format(
      port, CHECK, check.failures or 0)
  end
  return "active", ("serving on port %d"):format(port)
end

c:collect_status(function(s)
  local model = s.model
  local problem = config_problem(model.config) or model.state.rejected
  if problem then return s:add("blocked", problem) end
  local web = model:container(CONTAINER)
  local waiting = ("waiting for Pebble in the %s container"):format(CONTAINER)
  if not web:can_connect() then return s:add("waiting", waiting) end
  local ok, name, message = pcall(workload_status, web, model.state.port or model.config.port)
  if not ok then
    if getmetatable(name) ~= pebble.ConnectionError then error(name, 0) end
    name, message = "waiting", waiting
  end
  s:add(name, message)
end)

return c
