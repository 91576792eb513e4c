--- A fake Pebble, in Lua, for `juju.testing` and simulated units: it
-- stands behind `juju.pebble.set_transport` and answers at the HTTP
-- level (a method, a target, JSON or multipart bodies in; Pebble's
-- envelopes, status codes and multipart answers out), so the client's
-- request building and response parsing run for real.
--
-- Each container of the state is a small Pebble:
--
-- * `can_connect` (default true): false, and every request fails as a
--   missing socket does (a container not up yet, or restarting);
-- * `layers` (label -> a layer table, or YAML text) stacked in
--   `layer_order` (default: the labels sorted), combined into the plan as
--   Pebble combines them (`override: merge | replace`; `add_layer` with
--   `combine`), with Pebble's checks (an unknown field, a missing
--   `override` or `command`, ...) and its error text;
-- * `services` (name -> `{current = "active"|"inactive"|"error"|"backoff",
--   outdated=, start_error=}`): start, stop, restart, replan and
--   autostart change them as Pebble does (dependencies included; a replan
--   restarts services whose configuration changed, `outdated = true`
--   marking one running an older configuration, and starts those with
--   `startup: enabled`); `start_error` (text) makes starting it fail;
-- * `files` (absolute path -> content, or `{content=, permissions = "600",
--   user=, user_id=, group=, group_id=}`) and `dirs` (a list), over the
--   directories of a base image and the metadata's mount locations;
-- * `execs`: what commands answer, the first entry whose `command` words
--   start the argv: `{command = "nginx -t", code = 1, stdout=, stderr=,
--   files = {path = content}, missing = true (no such executable),
--   change_error = "text", run = function(call) ... end}`; `run` gets
--   `{argv, stdin, environment, working_dir, user, user_id, group,
--   group_id, timeout, service_context, container, read(path), write(path,
--   content)}` and returns `code, stdout, stderr` (or a table of them). A
--   command no entry names exits 0 with no output;
-- * `checks` (name -> `{status = "up"|"down"|"inactive", failures=,
--   successes=, threshold=, level=, startup=}`), besides the plan's;
-- * `notices`: a list of `{id=, type = "custom", key=, last_data=,
--   occurrences=, ...}`.
--
-- The state after a run has the same keys (every file as a table, every
-- service of the plan, the checks, the notices) and `plan`, the combined
-- plan (not read back). What the charm asked is recorded per container:
-- `requests` (`{method=, target=, body=, status=}`), `execs` (each call,
-- with its exit `code`) and `changes` (`{id=, kind=, summary=, status=,
-- err=, started=, stopped=}`).
-- @module juju.testing.pebble

local juju = require "juju"
local values = require "juju.private.values"

local M = {}

local json = juju.json
local number_notices
local concat = table.concat

--- The version system-info reports (Juju 3.6's Pebble).
M.VERSION = "1.26.0"

--- The time every timestamp shows.
M.TIME = "2025-01-01T00:00:00Z"

--- Directories every container has (an Ubuntu-based image's).
M.BASE_DIRS = {
  "/", "/bin", "/dev", "/etc", "/home", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/tmp", "/usr",
  "/usr/bin", "/usr/lib", "/usr/local", "/usr/local/bin", "/usr/sbin", "/usr/share", "/var", "/var/cache",
  "/var/lib", "/var/log", "/var/tmp",
}
local BASE = {}
for _, d in ipairs(M.BASE_DIRS) do BASE[d] = true end

--- The keys a container of the state may have.
M.CONTAINER_KEYS = {
  can_connect = true, layers = true, layer_order = true, plan = true, services = true, files = true, dirs = true,
  execs = true, checks = true, notices = true,
}

local REASONS = {
  [200] = "OK", [202] = "Accepted", [400] = "Bad Request", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [500] = "Internal Server Error", [504] = "Gateway Timeout",
}

-- ------------------------------------------------------------ utilities

local copy, sorted_keys, is_list, near = values.copy, values.sorted_keys, values.is_list, values.nearest

--- Deep equality of plain data.
local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function clean(path)
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." then parts[#parts] = nil elseif part ~= "." then parts[#parts + 1] = part end
  end
  return "/" .. concat(parts, "/")
end

local function parent(path)
  local p = path:match("^(.*)/[^/]*$")
  if p == nil or p == "" then return "/" end
  return p
end

local function basename(path)
  if path == "/" then return "/" end
  return path:match("([^/]*)$")
end

--- Does argv start with the words of prefix?
local function matches(argv, prefix)
  local i = 0
  for word in prefix:gmatch("%S+") do
    i = i + 1
    if argv[i] ~= word then return false end
  end
  return i > 0
end

local function unescape(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- A target's path and its query (name -> list of values).
local function parse_target(target)
  local path, q = target:match("^([^?]*)%??(.*)$")
  local query = {}
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = unescape(k), unescape(v)
    query[k] = query[k] or {}
    query[k][#query[k] + 1] = v
  end
  return path, query
end

--- The values of a query parameter, commas splitting them as Pebble's
-- MultiCommaSeparatedList does.
local function query_list(query, name)
  local out = {}
  for _, v in ipairs(query[name] or {}) do
    for item in v:gmatch("[^,]+") do out[#out + 1] = item end
  end
  return out
end

--- Seconds of a Go duration ("1.5s", "2m", "1h30m").
local function seconds(text)
  if type(text) ~= "string" then return nil end
  local total, rest = 0, text
  local units = { h = 3600, m = 60, s = 1, ms = 0.001, us = 1e-6, ["µs"] = 1e-6, ns = 1e-9 }
  if rest == "0" then return 0 end
  while rest ~= "" do
    local num, unit, after = rest:match("^([%d%.]+)(%a+)(.*)$")
    if not num or not units[unit] or not tonumber(num) then return nil end
    total = total + tonumber(num) * units[unit]
    rest = after
  end
  return total
end

--- A glob (Go's path.Match) as an anchored Lua pattern.
local function glob_pattern(glob)
  local out, i = { "^" }, 1
  while i <= #glob do
    local ch = glob:sub(i, i)
    if ch == "*" then
      out[#out + 1] = "[^/]*"
    elseif ch == "?" then
      out[#out + 1] = "[^/]"
    elseif ch == "[" then
      local close = glob:find("]", i + 2, true)
      if not close then return nil end
      local class = glob:sub(i + 1, close - 1):gsub("^!", "^"):gsub("([%%%.%(%)%+%*%?%$])", "%%%1")
      out[#out + 1] = "[" .. class .. "]"
      i = close
    elseif ch == "\\" then
      i = i + 1
      out[#out + 1] = "%" .. glob:sub(i, i)
    else
      out[#out + 1] = ch:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
    end
    i = i + 1
  end
  out[#out + 1] = "$"
  return concat(out)
end

-- ------------------------------------------------------------ layers and the plan

local FIELDS = {
  ["plan.Layer"] = {
    summary = "string", description = "string", services = "section plan.Service", checks = "section plan.Check",
    ["log-targets"] = "section plan.LogTarget",
  },
  ["plan.Service"] = {
    summary = "string", description = "string", startup = "string", override = "string", command = "string",
    after = "list", before = "list", requires = "list", environment = "map", ["user-id"] = "int", user = "string",
    ["group-id"] = "int", group = "string", ["working-dir"] = "string", ["on-success"] = "string",
    ["on-failure"] = "string", ["on-check-failure"] = "map", ["backoff-delay"] = "duration",
    ["backoff-factor"] = "number", ["backoff-limit"] = "duration", ["kill-delay"] = "duration",
  },
  ["plan.Check"] = {
    override = "string", level = "string", startup = "string", period = "duration", timeout = "duration",
    threshold = "int", http = "object plan.HTTPCheck", tcp = "object plan.TCPCheck", exec = "object plan.ExecCheck",
  },
  ["plan.HTTPCheck"] = { url = "string", headers = "map" },
  ["plan.TCPCheck"] = { port = "int", host = "string" },
  ["plan.ExecCheck"] = {
    command = "string", ["service-context"] = "string", environment = "map", ["user-id"] = "int", user = "string",
    ["group-id"] = "int", group = "string", ["working-dir"] = "string",
  },
  ["plan.LogTarget"] = { type = "string", location = "string", services = "list", override = "string",
                         labels = "map" },
}

local function yaml_kind(v)
  if type(v) == "table" then return is_list(v) and next(v) ~= nil and "!!seq" or "!!map" end
  if type(v) == "string" then return "!!str" end
  if math.type(v) == "integer" then return "!!int" end
  if type(v) == "number" then return "!!float" end
  return "!!bool"
end

--- Check a value against a Go type of the plan (as yaml.v3 with
-- KnownFields would); a normalized copy, or nil and the error.
local function decode_as(v, gotype, where)
  local kind, arg = gotype:match("^(%S+)%s*(.*)$")
  local function bad(go)
    return nil, ("cannot unmarshal %s into %s%s"):format(yaml_kind(v), where, go)
  end
  if kind == "string" then
    if type(v) == "string" then return v end
    if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
    return bad("string")
  elseif kind == "int" then
    if math.type(v) == "integer" then return v end
    return bad("int")
  elseif kind == "number" then
    if type(v) == "number" then return v end
    return bad("float64")
  elseif kind == "duration" then
    if type(v) == "string" and seconds(v) then return v end
    return nil, ("invalid duration %s"):format(tostring(v))
  elseif kind == "list" then
    if type(v) ~= "table" or not is_list(v) then return bad("[]string") end
    local out = {}
    for i, x in ipairs(v) do
      if type(x) == "table" then return bad("[]string") end
      out[i] = tostring(x)
    end
    return out
  elseif kind == "map" then
    if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then return bad("map[string]string") end
    local out = {}
    for k, x in pairs(v) do
      if type(x) == "table" then return bad("map[string]string") end
      out[tostring(k)] = tostring(x)
    end
    return out
  elseif kind == "section" then
    if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then return bad("map[string]*" .. arg) end
    local out = {}
    for name, entry in pairs(v) do
      local e, err = decode_as(entry, "object " .. arg, "")
      if not e then return nil, err end
      out[tostring(name)] = e
    end
    return out
  elseif kind == "object" then
    if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then return bad(arg) end
    local fields = FIELDS[arg]
    local out = {}
    for k, x in pairs(v) do
      local ft = fields[k]
      if not ft then return nil, ("field %s not found in type %s"):format(tostring(k), arg) end
      local val, err = decode_as(x, ft, "")
      if val == nil then return nil, err end
      if type(val) ~= "table" or next(val) ~= nil or not (ft == "list" or ft == "map") then out[k] = val end
    end
    return out
  end
  error("unknown type " .. gotype)
end

--- Strip lyaml's null markers.
local function without(v, null)
  if v == null then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = without(x, null) end
  return out
end

--- Parse a layer (a table, or YAML or JSON text) as Pebble's ParseLayer
-- does: the layer, or nil and Pebble's message.
-- @tparam string label
-- @param layer
-- @treturn ?table
-- @treturn ?string
-- @usage local layer, err = pebble_fake.parse_layer("web", "services:\n  web: {override: replace, command: web}\n")
function M.parse_layer(label, layer)
  local data = layer
  if type(layer) == "string" then
    local ok, parsed
    if layer:match("^%s*{") then ok, parsed = pcall(json.decode, layer) end
    if not ok then
      local lyaml = require "lyaml"
      ok, parsed = pcall(lyaml.load, layer)
      if ok then parsed = without(parsed, lyaml.null) end
    end
    if not ok then return nil, ("cannot parse layer %q: %s"):format(label, tostring(parsed)) end
    data = parsed or {}
  end
  if type(data) ~= "table" then
    return nil, ("cannot parse layer %q: yaml: unmarshal errors:\n  cannot unmarshal %s into plan.Layer"):format(
      label, yaml_kind(data))
  end
  local parsed, err = decode_as(data, "object plan.Layer", "")
  if not parsed then
    return nil, ("cannot parse layer %q: yaml: unmarshal errors:\n  %s"):format(label, err)
  end
  for _, section in ipairs { "services", "checks", "log-targets" } do
    for name in pairs(parsed[section] or {}) do
      if name == "" then return nil, ("cannot use empty string as %s name"):format(section:gsub("s$", "")) end
    end
  end
  for name in pairs(parsed.services or {}) do
    if name == "pebble" then return nil, ("cannot use reserved service name %q"):format(name) end
    if name:sub(1, 1) == "-" then
      return nil, ('cannot use service name %q: starting with "-" not allowed'):format(name)
    end
  end
  return parsed
end

local SERVICE_LISTS = { after = true, before = true, requires = true }
local SERVICE_MAPS = { environment = true, ["on-check-failure"] = true }

--- Merge b's fields into a (Pebble's Service.Merge and friends): lists
-- appended, maps merged, set values win; `override` is a's.
local function merge_into(a, b, lists, maps)
  for k, v in pairs(b) do
    if k ~= "override" then
      if lists[k] then
        local l = a[k] or {}
        for _, x in ipairs(v) do l[#l + 1] = x end
        a[k] = l
      elseif maps[k] then
        local m = a[k] or {}
        for mk, mv in pairs(v) do m[mk] = mv end
        a[k] = m
      elseif type(v) == "table" then        -- a check's http, tcp, exec
        local sub = a[k] or {}
        merge_into(sub, v, {}, { headers = true, environment = true })
        a[k] = sub
      elseif v ~= "" then
        a[k] = v
      end
    end
  end
  return a
end

local SECTIONS = {
  { "services", "service", SERVICE_LISTS, SERVICE_MAPS },
  { "checks", "check", {}, {} },
  { "log-targets", "log target", { services = true }, { labels = true } },
}

local ACTIONS = { [""] = true, restart = true, shutdown = true, ignore = true, ["success-shutdown"] = true,
                  ["failure-shutdown"] = true }

--- Check a combined plan as CombineLayers does; nil or the message.
local function validate_plan(plan)
  for _, name in ipairs(sorted_keys(plan.services)) do
    local s = plan.services[name]
    if (s.command or "") == "" then return ('plan must define "command" for service %q'):format(name) end
    for _, field in ipairs { "on-success", "on-failure" } do
      if s[field] and not ACTIONS[s[field]] then
        return ("plan service %q %s action %q invalid"):format(name, field, s[field])
      end
    end
    for _, action in pairs(s["on-check-failure"] or {}) do
      if not ACTIONS[action] then return ("plan service %q on-check-failure action %q invalid"):format(name, action) end
    end
  end
  for _, name in ipairs(sorted_keys(plan.checks)) do
    local c = plan.checks[name]
    if c.level and c.level ~= "" and c.level ~= "alive" and c.level ~= "ready" then
      return ('plan check %q level must be "alive" or "ready"'):format(name)
    end
    local n = 0
    if c.http then
      if (c.http.url or "") == "" then return ('plan must set "url" for http check %q'):format(name) end
      n = n + 1
    end
    if c.tcp then
      if (c.tcp.port or 0) == 0 then return ('plan must set "port" for tcp check %q'):format(name) end
      n = n + 1
    end
    if c.exec then
      if (c.exec.command or "") == "" then return ('plan must set "command" for exec check %q'):format(name) end
      n = n + 1
    end
    if n ~= 1 then return ('plan must specify one of "http", "tcp", or "exec" for check %q'):format(name) end
  end
  for _, name in ipairs(sorted_keys(plan["log-targets"])) do
    local t = plan["log-targets"][name]
    if t.type ~= "loki" and t.type ~= "syslog" then
      if (t.type or "") == "" then
        return ('plan must define "type" ("loki" or "syslog") for log target %q'):format(name)
      end
      return ('log target %q has unsupported type %q, must be "loki" or "syslog"'):format(name, t.type)
    end
    for _, s in ipairs(t.services or {}) do
      local bare = s:gsub("^%-", "")
      if bare ~= "all" and not plan.services[bare] then
        return ("log target %q specifies unknown service %q"):format(name, bare)
      end
    end
    if (t.location or "") == "" then return ('plan must define "location" for log target %q'):format(name) end
  end
  return nil
end

--- Combine layers (a list of `{label=, layer=}`, in order) as Pebble's
-- CombineLayers does: the plan, or nil and Pebble's message.
-- @tparam {table,...} stack
-- @treturn ?table the plan: `services`, `checks`, `log-targets` (and
-- the last layer's `summary` and `description`)
-- @treturn ?string
-- @usage
-- local plan = pebble_fake.combine{ { label = "base", layer = base }, { label = "charm", layer = charm } }
function M.combine(stack)
  local plan = { services = {}, checks = {}, ["log-targets"] = {} }
  for _, entry in ipairs(stack) do
    local label, layer = entry.label, entry.layer
    plan.summary, plan.description = layer.summary, layer.description
    for _, sec in ipairs(SECTIONS) do
      local key, what, lists, maps = sec[1], sec[2], sec[3], sec[4]
      for _, name in ipairs(sorted_keys(layer[key])) do
        local item = layer[key][name]
        local override = item.override
        if override == "merge" and plan[key][name] then
          plan[key][name] = merge_into(copy(plan[key][name]), item, lists, maps)
        elseif override == "merge" or override == "replace" then
          plan[key][name] = copy(item)
        elseif override == nil or override == "" then
          return nil, ('layer %q must define "override" for %s %q'):format(label, what, name)
        else
          return nil, ('layer %q has invalid "override" value for %s %q'):format(label, what, name)
        end
      end
    end
  end
  local err = validate_plan(plan)
  if err then return nil, err end
  return plan
end

--- The order services start in (stop: reversed, with those that require
-- them): Pebble's StartOrder and StopOrder, ties broken by name.
local function order(services, names, stop)
  local set, pending = {}, {}
  for i, n in ipairs(names) do pending[i] = n end
  local requiredby = {}
  if stop then
    for name, s in pairs(services) do
      for _, r in ipairs(s.requires or {}) do
        requiredby[r] = requiredby[r] or {}
        table.insert(requiredby[r], name)
      end
    end
  end
  local i = 1
  while i <= #pending do
    local name = pending[i]
    if not set[name] then
      local s = services[name]
      if not s then return nil, ("service %q does not exist"):format(name) end
      set[name] = true
      for _, n in ipairs(stop and (requiredby[name] or {}) or (s.requires or {})) do pending[#pending + 1] = n end
    end
    i = i + 1
  end
  -- edges: a -> b when a must come before b
  local before, indeg = {}, {}
  for name in pairs(set) do before[name], indeg[name] = {}, 0 end
  local function edge(a, b)
    if set[a] and set[b] and not before[a][b] then
      before[a][b] = true
      indeg[b] = indeg[b] + 1
    end
  end
  for name in pairs(set) do
    local s = services[name]
    for _, a in ipairs(s.after or {}) do if stop then edge(name, a) else edge(a, name) end end
    for _, b in ipairs(s.before or {}) do if stop then edge(b, name) else edge(name, b) end end
  end
  local out = {}
  while true do
    local ready = {}
    for name in pairs(set) do if indeg[name] == 0 then ready[#ready + 1] = name end end
    if #ready == 0 then break end
    table.sort(ready)
    local name = ready[1]
    out[#out + 1] = name
    set[name] = nil
    for b in pairs(before[name]) do indeg[b] = indeg[b] - 1 end
  end
  if next(set) then
    return nil, ("services in before/after loop: %s"):format(concat(sorted_keys(set), ", "))
  end
  return out
end

-- ------------------------------------------------------------ state in

-- Give the notices of a list that have no id one (after the highest
-- numeric id), in order; ids as text. The list, changed.
function number_notices(list)
  local max = 0
  for _, n in ipairs(list) do
    if type(n) == "table" and n.id ~= nil then max = math.max(max, math.tointeger(tonumber(n.id)) or 0) end
  end
  for _, n in ipairs(list) do
    if type(n) == "table" then
      if n.id == nil then
        max = max + 1
        n.id = ("%d"):format(max)
      end
      n.id = tostring(n.id)
    end
  end
  return list
end

--- Check one container of a state; its problems appended to `problems`
-- (each "containers.<name>: ..."), and the container as the fake holds it
-- (plain data), or nil when it cannot be used.
local function load_container(name, st, meta, problems)
  local where = "containers." .. tostring(name)
  local n0 = #problems
  local function problem(fmt, ...) problems[#problems + 1] = where .. ": " .. fmt:format(...) end
  if type(st) ~= "table" then
    problem("not a table")
    return nil
  end
  for k in pairs(st) do
    if not M.CONTAINER_KEYS[k] then
      local hint = near(k, M.CONTAINER_KEYS)
      problem("unknown key '%s'%s", tostring(k), hint and (" (did you mean '" .. hint .. "'?)") or "")
    end
  end
  for _, k in ipairs { "layers", "services", "files", "checks" } do
    if st[k] ~= nil and (type(st[k]) ~= "table" or (next(st[k]) ~= nil and is_list(st[k]))) then
      problem("%s is not a table of names", k)
      return nil
    end
  end
  for _, k in ipairs { "layer_order", "dirs", "execs", "notices" } do
    if st[k] ~= nil and not is_list(st[k]) then
      problem("%s is not a list", k)
      return nil
    end
  end
  if st.can_connect ~= nil and type(st.can_connect) ~= "boolean" then problem("can_connect is not a boolean") end
  local c = {
    name = name, can_connect = st.can_connect ~= false, layers = {}, order = {}, services = {}, files = {},
    dirs = {}, execs = {}, checks = {}, notices = {}, changes = {}, pending = {},
    seq = { change = 0, task = 0, notice = 0 },
  }
  -- layers, in order
  for label, layer in pairs(st.layers or {}) do
    local parsed, err = M.parse_layer(tostring(label), layer)
    if not parsed then problem("layers.%s: %s", tostring(label), err) else c.layers[label] = parsed end
  end
  if st.layer_order then
    local seen = {}
    for _, label in ipairs(st.layer_order) do
      if not (st.layers or {})[label] then problem("layer_order names '%s', which is not in layers", tostring(label))
      elseif seen[label] then problem("layer_order names '%s' twice", label) end
      seen[label] = true
      c.order[#c.order + 1] = label
    end
    for label in pairs(st.layers or {}) do
      if not seen[label] then problem("layer_order leaves out layer '%s'", tostring(label)) end
    end
  else
    c.order = sorted_keys(st.layers)
  end
  local plan
  if #problems == n0 then
    local stack = {}
    for _, label in ipairs(c.order) do stack[#stack + 1] = { label = label, layer = c.layers[label] } end
    local err
    plan, err = M.combine(stack)
    if not plan then problem("layers: %s", err) end
  end
  plan = plan or { services = {}, checks = {}, ["log-targets"] = {} }
  c.plan = plan   -- combined once: plan_of keeps it until the layers change
  -- services
  local CURRENT = { active = true, inactive = true, error = true, backoff = true }
  for sname, s in pairs(st.services or {}) do
    if type(s) ~= "table" then
      problem("services.%s is not a table", tostring(sname))
    else
      for k in pairs(s) do
        if k ~= "current" and k ~= "outdated" and k ~= "start_error" and k ~= "startup" and k ~= "name" then
          problem("services.%s: unknown key '%s' (current, outdated, start_error)", tostring(sname), tostring(k))
        end
      end
      if s.current ~= nil and not CURRENT[s.current] then
        problem("services.%s: current '%s' (active, inactive, error or backoff)", tostring(sname), tostring(s.current))
      end
      if not plan.services[sname] then
        problem("services.%s: the plan has no service '%s' (give it a layer)", tostring(sname), tostring(sname))
      end
      local entry = { current = s.current or "inactive", start_error = s.start_error }
      if entry.current == "active" then
        entry.running = s.outdated and { outdated = true } or copy(plan.services[sname])
      end
      c.services[sname] = entry
    end
  end
  -- files and directories
  local function add_dirs(path)
    local d = path
    while d ~= "/" and not c.dirs[d] and not BASE[d] do
      c.dirs[d] = {}
      d = parent(d)
    end
  end
  for path, f in pairs(st.files or {}) do
    if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
      problem("files: '%s' is not an absolute path", tostring(path))
    else
      local entry
      if type(f) == "string" then
        entry = { content = f }
      elseif type(f) == "table" and type(f.content) == "string" then
        entry = copy(f)
        for k in pairs(f) do
          if k ~= "content" and k ~= "permissions" and k ~= "user" and k ~= "user_id" and k ~= "group"
             and k ~= "group_id" then
            problem("files[%q]: unknown key '%s'", path, tostring(k))
          end
        end
        local perm = f.permissions
        if perm ~= nil and not (type(perm) == "string" and perm:match("^[0-7][0-7][0-7]$")) then
          problem("files[%q]: permissions %s (three octal digits, such as \"644\")", path, tostring(f.permissions))
        end
      else
        problem("files[%q] is a %s (the content, or {content = ...})", path, type(f))
      end
      if entry then
        local p = clean(path)
        c.files[p] = entry
        add_dirs(parent(p))
      end
    end
  end
  for _, d in ipairs(st.dirs or {}) do
    if type(d) ~= "string" or d:sub(1, 1) ~= "/" then
      problem("dirs: '%s' is not an absolute path", tostring(d))
    else
      add_dirs(clean(d))
    end
  end
  local ct = meta and meta.containers and meta.containers[name]
  for _, m in ipairs(ct and ct.mounts or {}) do
    if m.location then add_dirs(clean(m.location)) end
  end
  -- execs
  for i, e in ipairs(st.execs or {}) do
    if type(e) ~= "table" or type(e.command) ~= "string" or not e.command:find("%S") then
      problem("execs[%d] has no command (the words an argv starts with)", i)
    else
      if e.code ~= nil and math.type(e.code) ~= "integer" then problem("execs[%d]: code is not an integer", i) end
      if e.run ~= nil and type(e.run) ~= "function" then problem("execs[%d]: run is not a function", i) end
      c.execs[#c.execs + 1] = e
    end
  end
  -- checks
  local STATUS = { up = true, down = true, inactive = true }
  for cname, ch in pairs(st.checks or {}) do
    if type(ch) ~= "table" then
      problem("checks.%s is not a table", tostring(cname))
    else
      if ch.status ~= nil and not STATUS[ch.status] then
        problem("checks.%s: status '%s' (up, down or inactive)", tostring(cname), tostring(ch.status))
      end
      c.checks[cname] = copy(ch)
    end
  end
  -- notices
  local ids = {}
  local numbered = number_notices(copy(st.notices or {}))
  for i, n in ipairs(numbered) do
    if type(n) ~= "table" or type(n.key) ~= "string" then
      problem("notices[%d] has no key", i)
    else
      n.type = n.type or "custom"
      if ids[n.id] then problem("notices: id %s is used twice", n.id) end
      ids[n.id] = true
      c.seq.notice = math.max(c.seq.notice, math.tointeger(tonumber(n.id)) or 0)
      c.notices[#c.notices + 1] = n
    end
  end
  return c
end

--- Check the containers of a state.
-- @tparam table containers name -> container state
-- @tparam ?table meta the charm's metadata (its `containers`)
-- @treturn {string,...} the problems ("containers.web: ...")
-- @usage for _, p in ipairs(pebble_fake.check(state.containers, meta)) do print(p) end
function M.check(containers, meta)
  local problems = {}
  for _, name in ipairs(sorted_keys(containers)) do
    if type(name) ~= "string" then
      problems[#problems + 1] = ("containers: '%s' is not a container name"):format(tostring(name))
    else
      if meta and not meta.containers[name] then
        problems[#problems + 1] = ("containers: the charm declares no container '%s'"):format(name)
      end
      load_container(name, containers[name], meta, problems)
    end
  end
  return problems
end

--- Complete a state for a workload event, as Juju would have it: the
-- event's container is there (and can connect, for pebble-ready); a
-- custom notice is one of its notices (added when missing, its id
-- filled in); a check is one it has (added when the container has no
-- layers), down for check-failed (failures at its threshold), up for
-- check-recovered.
-- @tparam table state (changed)
-- @tparam table e the event (changed: `notice.id`)
-- @tparam {string,...} problems (appended to)
-- @usage pebble_fake.complete_event(state, event, problems)   -- as juju.testing.consistency does
function M.complete_event(state, e, problems)
  state.containers = state.containers or {}
  local c = state.containers[e.container]
  if c == nil then
    c = {}
    state.containers[e.container] = c
  end
  if type(c) ~= "table" then return end
  if e.kind == "pebble-ready" and c.can_connect == false then
    problems[#problems + 1] = ("%s: Juju sends pebble-ready when Pebble answers (containers.%s.can_connect "
      .. "is false)"):format(e.name, e.container)
  elseif e.kind == "pebble-custom-notice" then
    c.notices = number_notices(c.notices or {})
    local found
    for _, n in ipairs(c.notices) do
      if type(n) == "table" and (e.notice.id ~= nil and tostring(n.id) == e.notice.id
          or e.notice.id == nil and n.key == e.notice.key and (n.type or "custom") == e.notice.type) then
        found = n
      end
    end
    if found then
      if found.key ~= e.notice.key then
        problems[#problems + 1] = ("%s: notice %s has key '%s', not '%s'"):format(e.name, tostring(found.id),
          tostring(found.key), e.notice.key)
      end
      e.notice.id = tostring(found.id)
    else
      local max = 0
      for _, n in ipairs(c.notices) do
        if type(n) == "table" then max = math.max(max, math.tointeger(tonumber(n.id)) or 0) end
      end
      e.notice.id = e.notice.id or tostring(max + 1)
      c.notices[#c.notices + 1] = { id = e.notice.id, type = e.notice.type, key = e.notice.key, occurrences = 1 }
    end
  elseif e.kind == "pebble-check-failed" or e.kind == "pebble-check-recovered" then
    c.checks = c.checks or {}
    if type(c.checks) ~= "table" then return end
    local in_plan = false
    for label, layer in pairs(type(c.layers) == "table" and c.layers or {}) do
      local parsed = M.parse_layer(tostring(label), layer)
      if parsed and parsed.checks and parsed.checks[e.check] then in_plan = true end
    end
    if not in_plan and c.checks[e.check] == nil and next(c.layers or {}) ~= nil then
      problems[#problems + 1] = ("%s: container '%s' has no check '%s' (in its layers or checks)"):format(
        e.name, e.container, e.check)
      return
    end
    -- the check is as the event says: down after a failure, up after a recovery
    local st = type(c.checks[e.check]) == "table" and c.checks[e.check] or {}
    local failed = e.kind == "pebble-check-failed"
    if failed and st.status ~= "down" then
      st.status, st.failures = "down", math.max(st.failures or 0, st.threshold or 3)
    elseif not failed and st.status ~= "up" then
      st.status, st.failures = "up", 0
    end
    c.checks[e.check] = st
  end
end

-- ------------------------------------------------------------ the fake

local Fake = {}
local fake_mt = { __name = "juju.testing.pebble.Fake", __index = Fake }

--- A fake Pebble for the containers of a state (checked with @{check}
-- first: what cannot be used is left out).
-- @tparam ?table containers name -> container state
-- @tparam[opt] table opts `meta` (the charm's metadata: mount locations)
-- @treturn Fake
-- @usage
-- local fake = pebble_fake.new({ web = { layers = { base = layer } } })
-- local prev = require("juju.pebble").set_transport(fake:transport())
function M.new(containers, opts)
  opts = opts or {}
  local self = setmetatable({ containers = {}, recorded = {}, clock = 0 }, fake_mt)
  for _, name in ipairs(sorted_keys(containers)) do
    local c = load_container(name, containers[name], opts.meta, {})
    if c then self.containers[name] = c end
  end
  return self
end

--- The plan of a container, combined from its layers (cached).
local function plan_of(c)
  if c.plan == nil then
    local stack = {}
    for _, label in ipairs(c.order) do stack[#stack + 1] = { label = label, layer = c.layers[label] } end
    c.plan = M.combine(stack) or { services = {}, checks = {}, ["log-targets"] = {} }
  end
  return c.plan
end

-- The record of a container's requests (made when first needed).
function Fake:record(name)
  local r = self.recorded[name]
  if not r then
    r = { requests = {}, execs = {}, changes = {} }
    self.recorded[name] = r
  end
  return r
end

-- ------------------------------------------------------------ answers

local JSON_HEADERS = { ["content-type"] = "application/json" }

local function answer(status, envelope)
  return status, { ["content-type"] = "application/json" }, json.encode(envelope)
end

local function sync(result)
  if result == nil then result = json.null end
  return answer(200, { type = "sync", ["status-code"] = 200, status = "OK", result = result })
end

local function async(change_id, result)
  if result == nil then result = json.null end
  return answer(202, { type = "async", ["status-code"] = 202, status = "Accepted", change = change_id,
                       result = result })
end

local function api_error(code, message, kind)
  return answer(code, { type = "error", ["status-code"] = code, status = REASONS[code] or "",
                        result = { message = message, kind = kind } })
end

local function bad_request(fmt, ...) return api_error(400, fmt:format(...)) end

--- A new change (ready at once unless `doing`).
local function new_change(c, kind, summary, tasks, err, doing)
  c.seq.change = c.seq.change + 1
  local id = ("%d"):format(c.seq.change)
  local change = {
    id = id, kind = kind, summary = summary, status = doing and "Doing" or (err and "Error" or "Done"),
    ready = not doing, err = err, ["spawn-time"] = M.TIME, ["ready-time"] = (not doing) and M.TIME or nil,
    tasks = tasks or {},
  }
  c.changes[id] = change
  return change
end

local function new_task(c, kind, summary, status, log)
  c.seq.task = c.seq.task + 1
  return {
    id = ("%d"):format(c.seq.task), kind = kind, summary = summary, status = status or "Done",
    log = log or {}, progress = { label = "", done = 1, total = 1 }, ["spawn-time"] = M.TIME,
    ["ready-time"] = M.TIME, data = {},
  }
end

local function change_json(change)
  local t = copy(change)
  local tasks = {}
  for i, task in ipairs(change.tasks) do
    local tt = copy(task)
    tt.log = json.array(tt.log or {})
    tt.data = json.object(tt.data or {})
    tasks[i] = tt
  end
  t.tasks = json.array(tasks)
  return t
end

local function title(action) return action:sub(1, 1):upper() .. action:sub(2) end

-- ------------------------------------------------------------ services

local function service_info(c, name)
  local plan = plan_of(c)
  local cfg = plan.services[name] or {}
  local st = c.services[name] or {}
  local info = {
    name = name, startup = cfg.startup == "enabled" and "enabled" or "disabled",
    current = st.current or "inactive", ["current-since"] = M.TIME,
  }
  if st.current == "active" and st.running and not same(st.running, cfg) then info.outdated = true end
  return info
end

--- Start services (in order): tasks, the first error, the names started.
local function do_start(c, names, tasks, started)
  local plan = plan_of(c)
  local failed
  for _, name in ipairs(names) do
    local st = c.services[name] or { current = "inactive" }
    c.services[name] = st
    local summary = ("Start service %q"):format(name)
    if failed then
      tasks[#tasks + 1] = new_task(c, "start", summary, "Hold")
    elseif st.current == "active" then
      tasks[#tasks + 1] = new_task(c, "start", summary, "Done", { M.TIME .. " INFO Service " .. ("%q"):format(name)
        .. " already started." })
    elseif st.start_error then
      tasks[#tasks + 1] = new_task(c, "start", summary, "Error", { M.TIME .. " ERROR " .. st.start_error })
      st.current = "error"
      failed = ("- %s (%s)"):format(summary, st.start_error)
    else
      tasks[#tasks + 1] = new_task(c, "start", summary)
      st.current, st.running = "active", copy(plan.services[name])
      started[#started + 1] = name
    end
  end
  return failed
end

local function do_stop(c, names, tasks, stopped)
  for _, name in ipairs(names) do
    local st = c.services[name]
    local summary = ("Stop service %q"):format(name)
    if st and (st.current == "active" or st.current == "backoff") then
      st.current = "inactive"
      stopped[#stopped + 1] = name
      tasks[#tasks + 1] = new_task(c, "stop", summary)
    else
      tasks[#tasks + 1] = new_task(c, "stop", summary, "Done", { M.TIME .. " INFO Service " .. ("%q"):format(name)
        .. " already stopped." })
    end
  end
end

local function post_services(self, c, req)
  local action, names = req.action, req.services or {}
  if type(action) ~= "string" then return bad_request("invalid action %q", tostring(action)) end
  local plan = plan_of(c)
  if action == "replan" or action == "autostart" then
    if #names ~= 0 then return bad_request("%s accepts no service names", action) end
  elseif action == "start" or action == "stop" or action == "restart" then
    if #names == 0 then return bad_request("must specify services for %s action", action) end
  else
    return bad_request("invalid action %q", action)
  end
  if action == "autostart" then
    for _, name in ipairs(sorted_keys(plan.services)) do
      if plan.services[name].startup == "enabled" then names[#names + 1] = name end
    end
    if #names == 0 then return api_error(400, "no default services", "no-default-services") end
  end
  local tasks, started, stopped = {}, {}, {}
  local err, lanes, stop_lanes
  if action == "start" or action == "autostart" then
    lanes, err = order(plan.services, names, false)
    if not lanes then return bad_request("cannot %s services: %s", action, err) end
    err = do_start(c, lanes, tasks, started)
  elseif action == "stop" then
    lanes, err = order(plan.services, names, true)
    if not lanes then return bad_request("cannot %s services: %s", action, err) end
    do_stop(c, lanes, tasks, stopped)
  elseif action == "restart" then
    stop_lanes, err = order(plan.services, names, true)
    if not stop_lanes then return bad_request("cannot restart services: %s", err) end
    local wanted = {}
    for _, n in ipairs(names) do wanted[n] = true end
    local only = {}
    for _, n in ipairs(stop_lanes) do if wanted[n] then only[#only + 1] = n end end
    lanes, err = order(plan.services, names, false)
    if not lanes then return bad_request("cannot restart services: %s", err) end
    do_stop(c, only, tasks, stopped)
    err = do_start(c, lanes, tasks, started)
  else -- replan
    local restart, stop = {}, {}
    for _, name in ipairs(sorted_keys(c.services)) do
      local st = c.services[name]
      if st.running then
        local cfg = plan.services[name]
        if not cfg or not same(cfg, st.running) then
          restart[name] = true
          stop[#stop + 1] = name
        end
      end
    end
    local start = {}
    for _, name in ipairs(sorted_keys(plan.services)) do
      if restart[name] or plan.services[name].startup == "enabled" then start[#start + 1] = name end
    end
    local known = {}
    for _, n in ipairs(stop) do if plan.services[n] then known[#known + 1] = n end end
    stop_lanes, err = order(plan.services, known, true)
    if not stop_lanes then return bad_request("cannot replan services: %s", err) end
    for _, n in ipairs(stop) do
      if not plan.services[n] then stop_lanes[#stop_lanes + 1] = n end   -- gone from the plan: stopped too
    end
    lanes, err = order(plan.services, start, false)
    if not lanes then return bad_request("cannot replan services: %s", err) end
    do_stop(c, stop_lanes, tasks, stopped)
    for _, n in ipairs(stop_lanes) do
      if not plan.services[n] then c.services[n] = nil end
    end
    err = do_start(c, lanes, tasks, started)
    names = {}
    local seen = {}
    for _, n in ipairs(stop_lanes) do if not seen[n] then seen[n] = true; names[#names + 1] = n end end
    for _, n in ipairs(lanes) do if not seen[n] then seen[n] = true; names[#names + 1] = n end end
    table.sort(names)
  end
  local summary
  if #tasks == 0 then
    summary = ("%s - no services"):format(title(action))
  elseif #names == 1 then
    summary = ("%s service %q"):format(title(action), names[1])
  else
    summary = ("%s service %q and %d more"):format(title(action), names[1], #names - 1)
  end
  local change = new_change(c, action, summary, tasks,
    err and ("cannot perform the following tasks:\n" .. err) or nil)
  local rec = self:record(c.name)
  rec.changes[#rec.changes + 1] = { id = change.id, kind = action, summary = summary, status = change.status,
                                    err = change.err, started = started, stopped = stopped }
  return async(change.id)
end

-- ------------------------------------------------------------ files

local function is_dir(c, p) return BASE[p] or c.dirs[p] ~= nil end

local function file_info(c, path)
  local f = c.files[path]
  local meta = f or c.dirs[path] or {}
  local info = {
    path = path, name = basename(path), type = f and "file" or "directory",
    permissions = meta.permissions or (f and "644" or "755"), ["last-modified"] = M.TIME,
    ["user-id"] = meta.user_id or 0, user = meta.user or "root",
    ["group-id"] = meta.group_id or 0, group = meta.group or "root",
  }
  if f then info.size = #f.content end
  return info
end

local function children(c, dir)
  local out = {}
  for p in pairs(c.files) do if p ~= dir and parent(p) == dir then out[#out + 1] = p end end
  for p in pairs(c.dirs) do if p ~= dir and parent(p) == dir then out[#out + 1] = p end end
  for p in pairs(BASE) do if p ~= dir and parent(p) == dir and not c.dirs[p] then out[#out + 1] = p end end
  table.sort(out)
  return out
end

local function list_files(c, query)
  local path = (query.path or {})[1] or ""
  if path == "" then return bad_request("must specify path") end
  if path:sub(1, 1) ~= "/" then return bad_request("path must be absolute, got %q", path) end
  local itself = (query.itself or {})[1]
  if itself and itself ~= "true" and itself ~= "false" and itself ~= "" then
    return bad_request('itself parameter must be "true" or "false"')
  end
  local p = clean(path)
  if not c.files[p] and not is_dir(c, p) then
    return api_error(404, ("stat %s: no such file or directory"):format(path), "not-found")
  end
  local entries
  if c.files[p] or itself == "true" then entries = { p } else entries = children(c, p) end
  local pattern = (query.pattern or {})[1]
  local lua_pattern = pattern and pattern ~= "" and glob_pattern(pattern)
  if pattern and pattern ~= "" and not lua_pattern then
    return bad_request("syntax error in pattern")
  end
  local out = {}
  for _, e in ipairs(entries) do
    if not lua_pattern or basename(e):match(lua_pattern) then out[#out + 1] = file_info(c, e) end
  end
  return sync(json.array(out))
end

local function path_error(kind, message) return { kind = kind, message = message } end

--- Make a directory and its parents (mkdir -p), with their metadata.
local function make_all(c, p, meta)
  local missing = {}
  local d = p
  while not is_dir(c, d) do
    if c.files[d] then return path_error("generic-file-error", ("mkdir %s: not a directory"):format(d)) end
    missing[#missing + 1] = d
    d = parent(d)
  end
  for i = #missing, 1, -1 do c.dirs[missing[i]] = copy(meta) end
  return nil
end

local function owner(item)
  return { user = item.user ~= "" and item.user or nil, user_id = item["user-id"],
           group = item.group ~= "" and item.group or nil, group_id = item["group-id"] }
end

--- The permissions of a file request (default when absent), or nil and
-- Pebble's error.
local function parse_permissions(text, default)
  if text == nil or text == "" then return default end
  if type(text) ~= "string" or not text:match("^[0-7][0-7][0-7]$") then
    return nil, path_error("generic-file-error", ("permissions must be a 3-digit octal string, got %q"):format(
      tostring(text)))
  end
  return text
end

--- A request's path, cleaned, or nil and Pebble's error for one that is
-- not absolute.
local function abs_path(path)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    return nil, path_error("generic-file-error", ("paths must be absolute, got %q"):format(tostring(path)))
  end
  return clean(path)
end

local function write_file(self, c, item, content)
  local rec = self:record(c.name)
  local path = item.path
  local p, bad = abs_path(path)
  if not p then return bad end
  local meta = owner(item)
  if item["make-dirs"] then
    local err = make_all(c, parent(p), { user = meta.user, user_id = meta.user_id, group = meta.group,
                                         group_id = meta.group_id })
    if err then return err end
  end
  local perm, bad_perm = parse_permissions(item.permissions, "644")
  if not perm then return bad_perm end
  if not is_dir(c, parent(p)) then
    return path_error("not-found", ("open %s: no such file or directory"):format(path))
  end
  if is_dir(c, p) then return path_error("generic-file-error", ("open %s: is a directory"):format(path)) end
  c.files[p] = { content = content, permissions = perm, user = meta.user, user_id = meta.user_id,
                 group = meta.group, group_id = meta.group_id }
  rec.writes = rec.writes or {}
  rec.writes[#rec.writes + 1] = { path = p, permissions = perm, user = meta.user, user_id = meta.user_id,
                                  group = meta.group, group_id = meta.group_id }
  return nil
end

local function post_files_multipart(self, c, body, boundary)
  if #(boundary or "") < 32 then return bad_request("invalid boundary %q", tostring(boundary)) end
  local parts, why = require("juju.pebble")._parse_multipart(body, boundary)
  if not parts then return bad_request("cannot read request metadata: %s", why) end
  if #parts == 0 or parts[1].name ~= "request" then
    return bad_request('metadata field name must be "request", got %q', parts[1] and parts[1].name or "")
  end
  local ok, req = pcall(json.decode, parts[1].body)
  if not ok or type(req) ~= "table" then return bad_request("cannot decode request metadata: %s", tostring(req)) end
  if req.action ~= "write" then return bad_request('multipart action must be "write", got %q', tostring(req.action)) end
  if type(req.files) ~= "table" or #req.files == 0 then return bad_request("must specify one or more files") end
  local infos = {}
  for _, f in ipairs(req.files) do infos[f.path] = f end
  local errors = {}
  for i = 2, #parts do
    local part = parts[i]
    if part.name ~= "files" then return bad_request('field name must be "files", got %q', tostring(part.name)) end
    local info = infos[part.filename]
    if not info then return bad_request("no metadata for path %q", tostring(part.filename)) end
    errors[part.filename] = write_file(self, c, info, part.body) or false
  end
  local result = {}
  for i, f in ipairs(req.files) do
    local err = errors[f.path]
    if err == nil then err = path_error("generic-file-error", ("no file content for path %q"):format(f.path)) end
    result[i] = { path = f.path, error = err or nil }
  end
  local status, headers, text = sync(json.array(result))
  return status, headers, text, req
end

local function make_dirs(c, dirs)
  local result = {}
  for i, d in ipairs(dirs or {}) do
    local path = d.path
    local p, err = abs_path(path)
    if p then
      local perm, bad_perm = parse_permissions(d.permissions, "755")
      local meta = owner(d)
      meta.permissions = perm
      if not perm then
        err = bad_perm
      elseif d["make-parents"] then
        err = make_all(c, p, meta)
      elseif is_dir(c, p) or c.files[p] then
        err = path_error("generic-file-error", ("mkdir %s: file exists"):format(path))
      elseif not is_dir(c, parent(p)) then
        err = path_error("not-found", ("mkdir %s: no such file or directory"):format(path))
      else
        c.dirs[p] = meta
      end
    end
    result[i] = { path = path, error = err }
  end
  return sync(json.array(result))
end

local function remove_paths(c, paths)
  local result = {}
  for i, item in ipairs(paths or {}) do
    local path = item.path
    local p, err = abs_path(path)
    if p then
      if c.files[p] then
        c.files[p] = nil
      elseif is_dir(c, p) then
        local prefix = p == "/" and "/" or p .. "/"
        local inside = {}
        for q in pairs(c.files) do if q:sub(1, #prefix) == prefix then inside[#inside + 1] = q end end
        for q in pairs(c.dirs) do if q:sub(1, #prefix) == prefix then inside[#inside + 1] = q end end
        if #inside > 0 and not item.recursive then
          err = path_error("generic-file-error", ("remove %s: directory not empty"):format(path))
        elseif BASE[p] then
          err = path_error("generic-file-error", ("remove %s: device or resource busy"):format(path))
        else
          for _, q in ipairs(inside) do c.files[q], c.dirs[q] = nil, nil end
          c.dirs[p] = nil
        end
      elseif not item.recursive then
        err = path_error("not-found", ("remove %s: no such file or directory"):format(path))
      end
    end
    result[i] = { path = path, error = err }
  end
  return sync(json.array(result))
end

local BOUNDARY = ("7d3fa2c91b"):rep(6)

--- A Go-style multipart answer to a read (boundary: 60 hex digits).
local function read_files(c, paths)
  local boundary = BOUNDARY
  for _, path in ipairs(paths) do
    local p = abs_path(path)
    local f = p and c.files[p]
    while f and f.content:find(boundary, 1, true) do boundary = boundary:sub(2) .. boundary:sub(1, 1) end
  end
  local out, result = {}, {}
  for i, path in ipairs(paths) do
    local p, err = abs_path(path)   -- err: not absolute
    if p and c.files[p] then
      out[#out + 1] = ("--%s\r\nContent-Disposition: form-data; name=\"files\"; filename=\"%s\"\r\n"
        .. "Content-Type: application/octet-stream\r\n\r\n"):format(boundary, path:gsub('[\\"]', "\\%0"))
      out[#out + 1] = c.files[p].content
      out[#out + 1] = "\r\n"
    elseif p and is_dir(c, p) then
      err = path_error("generic-file-error", ("can only read a regular file: %q"):format(path))
    elseif p then
      err = path_error("not-found", ("stat %s: no such file or directory"):format(path))
    end
    result[i] = { path = path, error = err }
  end
  out[#out + 1] = ("--%s\r\nContent-Disposition: form-data; name=\"response\"\r\n"
    .. "Content-Type: application/json\r\n\r\n"):format(boundary)
  out[#out + 1] = json.encode { type = "sync", ["status-code"] = 200, status = "OK", result = json.array(result) }
  out[#out + 1] = "\n\r\n--" .. boundary .. "--\r\n"
  return 200, { ["content-type"] = "multipart/form-data; boundary=" .. boundary }, concat(out)
end

-- ------------------------------------------------------------ checks and notices

local function check_infos(c)
  local plan = plan_of(c)
  local out = {}
  for name, cfg in pairs(plan.checks) do
    local st = c.checks[name] or {}
    out[name] = {
      name = name, level = cfg.level ~= "" and cfg.level or nil, startup = cfg.startup or st.startup or "enabled",
      status = st.status or "up", failures = st.failures or 0, threshold = cfg.threshold or st.threshold or 3,
      successes = st.successes,
    }
  end
  for name, st in pairs(c.checks) do
    if not out[name] then
      out[name] = { name = name, level = st.level, startup = st.startup or "enabled", status = st.status or "up",
                    failures = st.failures or 0, threshold = st.threshold or 3, successes = st.successes }
    end
  end
  return out
end

local function notice_json(n)
  return {
    id = n.id, ["user-id"] = n.user_id, type = n.type or "custom", key = n.key,
    ["first-occurred"] = n.first_occurred or M.TIME, ["last-occurred"] = n.last_occurred or M.TIME,
    ["last-repeated"] = n.last_repeated or M.TIME, occurrences = n.occurrences or 1,
    ["last-data"] = n.last_data and json.object(copy(n.last_data)) or nil, ["repeat-after"] = n.repeat_after,
    ["expire-after"] = n.expire_after or "168h0m0s",
  }
end

local function valid_key(key)
  return type(key) == "string" and #key <= 256
    and key:match("^[a-z0-9]+[a-z0-9%-]*%.[a-z0-9%.%-]*[a-z0-9]/[a-z0-9][a-z0-9%._/%-]*$") ~= nil
end

local function add_notice(c, req)
  if req.action ~= "add" then return bad_request("invalid action %q", tostring(req.action)) end
  if req.type ~= "custom" then
    return bad_request('invalid type %q (can only add "custom" notices)', tostring(req.type))
  end
  if not valid_key(req.key) then
    return bad_request('invalid key %q (must be in "example.com/path" format)', tostring(req.key))
  end
  local data = {}
  for k, v in pairs(req.data or {}) do data[k] = v end
  for _, n in ipairs(c.notices) do
    if n.type == "custom" and n.key == req.key and n.user_id == nil then
      n.occurrences = (n.occurrences or 1) + 1
      n.last_data = data
      n.repeat_after = req["repeat-after"] or n.repeat_after
      return sync { id = n.id }
    end
  end
  c.seq.notice = c.seq.notice + 1
  local id = ("%d"):format(c.seq.notice)
  c.notices[#c.notices + 1] = { id = id, type = "custom", key = req.key, occurrences = 1, last_data = data,
                                repeat_after = req["repeat-after"] }
  return sync { id = id }
end

-- ------------------------------------------------------------ exec

local function find_exec(c, argv)
  for _, e in ipairs(c.execs) do
    if matches(argv, e.command) then return e end
  end
end

local function post_exec(c, req)
  local argv = req.command
  if type(argv) ~= "table" or #argv == 0 then return bad_request("must specify command") end
  local e = find_exec(c, argv)
  if e and e.missing then
    return bad_request("cannot find executable %q", tostring(argv[1]))
  end
  -- a service context gives its environment, user and working directory;
  -- what the request says wins (Pebble's MergeServiceContext)
  local env, ctx = {}, {}
  local context = req["service-context"]
  if context then
    local svc = plan_of(c).services[context]
    if not svc then return bad_request("context service %q not found", context) end
    for k, v in pairs(svc.environment or {}) do env[k] = v end
    ctx = { user = svc.user, user_id = svc["user-id"], group = svc.group, group_id = svc["group-id"],
            working_dir = svc["working-dir"] }
  end
  for k, v in pairs(req.environment or {}) do env[k] = v end
  local function pick(v, default)
    if v == nil or v == "" then return default end
    return v
  end
  local task = new_task(c, "exec", ("Execute command %q"):format(argv[1]), "Doing")
  task["ready-time"] = nil
  local change = new_change(c, "exec", ("Execute command %q"):format(argv[1]), { task }, nil, true)
  local call = {
    argv = copy(argv), environment = env, working_dir = pick(req["working-dir"], ctx.working_dir),
    timeout = seconds(req.timeout), user = pick(req.user, ctx.user), user_id = pick(req["user-id"], ctx.user_id),
    group = pick(req.group, ctx.group), group_id = pick(req["group-id"], ctx.group_id),
    split_stderr = req["split-stderr"] == true, service_context = context,
  }
  c.pending[task.id] = { change = change.id, call = call }
  return async(change.id, { ["task-id"] = task.id, environment = json.object(copy(env)),
                            ["working-dir"] = call.working_dir or "/root" })
end

--- Answer exec_io for a task: run the command as the container's
-- `execs` say, finish its change.
-- @usage local stdout, stderr = fake:exec_io("/charm/containers/web/pebble.socket", "7", { stdin = "" })
function Fake:exec_io(socket, task_id, opts)
  local name = socket:match("([^/]+)/pebble%.socket$")
  local c = self.containers[name]
  if not c or not c.can_connect then return nil, "No such file or directory", "connect" end
  local p = c.pending[task_id]
  if not p then return nil, ("websocket: bad handshake (task %s not found)"):format(tostring(task_id)), "handshake" end
  c.pending[task_id] = nil
  local call = p.call
  call.stdin = opts and opts.stdin
  local e = find_exec(c, call.argv)
  local code, stdout, stderr, change_error = 0, "", "", nil
  if e then
    if e.run then
      local ctx = copy(call)
      ctx.container = c.name
      ctx.read = function(path)
        local f = c.files[clean(path)]
        return f and f.content
      end
      ctx.write = function(path, content)
        local q = clean(path)
        make_all(c, parent(q), {})
        c.files[q] = { content = content }
      end
      local a, b, d = e.run(ctx)
      if type(a) == "table" then a, b, d = a.code, a.stdout, a.stderr end
      code, stdout, stderr = a or 0, b or "", d or ""
    else
      code, stdout, stderr = e.code or 0, e.stdout or "", e.stderr or ""
    end
    for path, content in pairs(e.files or {}) do
      local q = clean(path)
      make_all(c, parent(q), {})
      c.files[q] = { content = content }
    end
    change_error = e.change_error
  end
  if not call.split_stderr then
    stdout, stderr = stdout .. stderr, ""
  end
  local change = c.changes[p.change]
  local task = change.tasks[1]
  task.data["exit-code"] = code
  task["ready-time"] = M.TIME
  change.ready, change["ready-time"] = true, M.TIME
  if change_error then
    task.status, change.status = "Error", "Error"
    change.err = ("cannot perform the following tasks:\n- %s (%s)"):format(task.summary, change_error)
  else
    task.status, change.status = "Done", "Done"
  end
  local rec = self:record(c.name)
  local entry = copy(call)
  entry.code = code
  rec.execs[#rec.execs + 1] = entry
  rec.changes[#rec.changes + 1] = { id = change.id, kind = "exec", summary = change.summary, status = change.status,
                                    err = change.err }
  return stdout, stderr
end

-- ------------------------------------------------------------ requests

local function decode_body(body)
  if body == nil or body == "" then return nil end
  local ok, t = pcall(json.decode, body)
  if ok then return t end
  return nil
end

-- Answer a request to a container that can connect: Pebble's routes.
function Fake:route(c, method, path, query, headers, body)
  local function post_json()
    local req = decode_body(body)
    if type(req) ~= "table" then return nil, bad_request("cannot decode request body: %s", "not a JSON object") end
    return req
  end
  if path == "/v1/system-info" and method == "GET" then
    return sync { version = M.VERSION, ["boot-id"] = ("%08x-0000-4000-8000-000000000000"):format(#c.name),
                  ["http-address"] = "" }
  elseif path == "/v1/plan" and method == "GET" then
    local format = (query.format or {})[1] or ""
    if format ~= "yaml" then return bad_request("invalid format %q", format) end
    return sync(M.plan_yaml(plan_of(c)))
  elseif path == "/v1/layers" and method == "POST" then
    local req, err = post_json()
    if not req then return err end
    if req.action ~= "add" then return bad_request("invalid action %q", tostring(req.action)) end
    if (req.label or "") == "" then return bad_request("label must be set") end
    if req.format ~= "yaml" then return bad_request("invalid format %q", tostring(req.format)) end
    local layer, perr = M.parse_layer(req.label, req.layer or "")
    if not layer then return bad_request("cannot parse layer YAML: %s", perr) end
    local label = req.label
    local layers, order_ = copy(c.layers), copy(c.order)
    if layers[label] then
      if not req.combine then return bad_request("layer %q already exists", label) end
      local combined, cerr = M.combine { { label = label, layer = layers[label] }, { label = label, layer = layer } }
      if not combined then return bad_request("%s", cerr) end
      local merged = {}
      for _, sec in ipairs { "services", "checks", "log-targets" } do
        if next(combined[sec]) then merged[sec] = combined[sec] end
      end
      merged.summary, merged.description = layer.summary or layers[label].summary,
        layer.description or layers[label].description
      layers[label] = merged
    else
      layers[label] = layer
      order_[#order_ + 1] = label
    end
    local stack = {}
    for _, l in ipairs(order_) do stack[#stack + 1] = { label = l, layer = layers[l] } end
    local plan, cerr = M.combine(stack)
    if not plan then return bad_request("%s", cerr) end
    c.layers, c.order, c.plan = layers, order_, plan
    return sync(true)
  elseif path == "/v1/services" and method == "GET" then
    local names = query_list(query, "names")
    local plan = plan_of(c)
    local out = {}
    if #names == 0 then names = sorted_keys(plan.services) end
    for _, n in ipairs(names) do
      if plan.services[n] then out[#out + 1] = service_info(c, n) end
    end
    return sync(json.array(out))
  elseif path == "/v1/services" and method == "POST" then
    local req, err = post_json()
    if not req then return err end
    return post_services(self, c, req)
  elseif path:match("^/v1/changes/[^/]+$") and method == "GET" then
    local id = path:match("^/v1/changes/([^/]+)$")
    local change = c.changes[id]
    if not change then return api_error(404, ("cannot find change with id %q"):format(id)) end
    return sync(change_json(change))
  elseif path:match("^/v1/changes/[^/]+/wait$") and method == "GET" then
    local id = path:match("^/v1/changes/([^/]+)/wait$")
    local change = c.changes[id]
    if not change then return api_error(404, ("cannot find change with id %q"):format(id)) end
    if not change.ready then
      local wait = seconds((query.timeout or {})[1]) or 30
      self.clock = self.clock + wait
      return api_error(504, ("timed out waiting for change after %s"):format((query.timeout or { "?" })[1]))
    end
    return sync(change_json(change))
  elseif path == "/v1/files" and method == "GET" then
    local action = (query.action or {})[1]
    if action == "read" then
      local paths = query.path or {}
      if #paths == 0 then return bad_request("must specify one or more paths") end
      if (headers.Accept or headers.accept) ~= "multipart/form-data" then
        return bad_request("must accept multipart/form-data")
      end
      return read_files(c, paths)
    elseif action == "list" then
      return list_files(c, query)
    end
    return bad_request("invalid action %q", tostring(action or ""))
  elseif path == "/v1/files" and method == "POST" then
    local ctype = headers["Content-Type"] or headers["content-type"] or ""
    local mtype = ctype:match("^%s*([^;%s]+)") or ""
    if mtype == "multipart/form-data" then
      local boundary = ctype:match("boundary=\"([^\"]*)\"") or ctype:match("boundary=([^;%s]+)")
      return post_files_multipart(self, c, body or "", boundary)
    elseif mtype == "application/json" then
      local req, err = post_json()
      if not req then return err end
      if req.action == "make-dirs" then return make_dirs(c, req.dirs) end
      if req.action == "remove" then return remove_paths(c, req.paths) end
      if req.action == "write" then return bad_request('must use multipart with "write" action') end
      return bad_request("invalid action %q", tostring(req.action))
    end
    return bad_request("invalid media type %q", mtype)
  elseif path == "/v1/checks" and method == "GET" then
    local level = (query.level or {})[1]
    local names = query_list(query, "names")
    local wanted
    if #names > 0 then
      wanted = {}
      for _, n in ipairs(names) do wanted[n] = true end
    end
    local infos = check_infos(c)
    local out = {}
    for _, n in ipairs(sorted_keys(infos)) do
      local info = infos[n]
      if (not wanted or wanted[n]) and (not level or level == "" or info.level == level) then out[#out + 1] = info end
    end
    return sync(json.array(out))
  elseif path == "/v1/checks" and method == "POST" then
    local req, err = post_json()
    if not req then return err end
    if req.action ~= "start" and req.action ~= "stop" then
      return bad_request("invalid action %q", tostring(req.action))
    end
    local infos = check_infos(c)
    local changed = {}
    for _, n in ipairs(req.checks or {}) do
      if not infos[n] then return bad_request("cannot find check %q", n) end
    end
    for _, n in ipairs(req.checks or {}) do
      local st = c.checks[n] or {}
      c.checks[n] = st
      local status = infos[n].status
      if req.action == "stop" and status ~= "inactive" then
        st.status = "inactive"
        changed[#changed + 1] = n
      elseif req.action == "start" and status == "inactive" then
        st.status, st.failures = "up", 0
        changed[#changed + 1] = n
      end
    end
    return sync { changed = json.array(changed) }
  elseif path == "/v1/notices" and method == "GET" then
    local types, keys = query_list(query, "types"), query_list(query, "keys")
    local function member(list, v)
      if #list == 0 then return true end
      for _, x in ipairs(list) do if x == v then return true end end
      return false
    end
    local out = {}
    for _, n in ipairs(c.notices) do
      if member(types, n.type or "custom") and member(keys, n.key) then out[#out + 1] = notice_json(n) end
    end
    return sync(json.array(out))
  elseif path:match("^/v1/notices/[^/]+$") and method == "GET" then
    local id = path:match("^/v1/notices/([^/]+)$")
    for _, n in ipairs(c.notices) do
      if n.id == id then return sync(notice_json(n)) end
    end
    return api_error(404, ("cannot find notice with ID %q"):format(id), "not-found")
  elseif path == "/v1/notices" and method == "POST" then
    local req, err = post_json()
    if not req then return err end
    return add_notice(c, req)
  elseif path == "/v1/signals" and method == "POST" then
    local req, err = post_json()
    if not req then return err end
    if type(req.signal) ~= "string" or not req.signal:match("^SIG[A-Z0-9]+$") then
      return bad_request("invalid signal name %q", tostring(req.signal))
    end
    local plan = plan_of(c)
    for _, n in ipairs(req.services or {}) do
      local st = c.services[n]
      if not plan.services[n] or not st or st.current ~= "active" then
        return bad_request("cannot send signal to %q: service is not running", n)
      end
    end
    return sync(true)
  elseif path == "/v1/exec" and method == "POST" then
    local req, err = post_json()
    if not req then return err end
    return post_exec(c, req)
  end
  for _, known in ipairs { "^/v1/system%-info$", "^/v1/plan$", "^/v1/layers$", "^/v1/services$", "^/v1/files$",
                           "^/v1/checks$", "^/v1/notices$", "^/v1/signals$", "^/v1/exec$", "^/v1/changes/" } do
    if path:match(known) then return api_error(405, "method not allowed") end
  end
  return api_error(404, "invalid API endpoint requested")
end

--- Answer one request as Pebble would (the transport's `request`).
-- @tparam string socket the socket path: `<dir>/<container>/pebble.socket`
-- @tparam string method
-- @tparam string target
-- @tparam ?table headers
-- @tparam ?string body
-- @return status, headers, body; or nil, message, kind
-- @usage
-- local status, headers, body = fake:request("/charm/containers/web/pebble.socket", "GET",
--   "/v1/plan?format=yaml")
function Fake:request(socket, method, target, headers, body)
  local name = socket:match("([^/]+)/pebble%.socket$")
  local c = name and self.containers[name]
  local entry = { method = method, target = target }
  if name then
    local rec = self:record(name)
    rec.requests[#rec.requests + 1] = entry
  end
  if not c or not c.can_connect then
    entry.refused = true
    return nil, "No such file or directory", "connect"
  end
  local path, query = parse_target(target)
  local status, rheaders, rbody, parsed = self:route(c, method, path, query, headers or {}, body)
  entry.status = status
  entry.body = parsed or decode_body(body)
  return status, rheaders or JSON_HEADERS, rbody
end

--- The transport functions of this fake, for `juju.pebble.set_transport`
-- (with a clock that only moves when a wait times out).
-- @treturn table `request`, `exec_io`, `monotime`, `sleep`
-- @usage local prev = require("juju.pebble").set_transport(fake:transport())
function Fake:transport()
  return {
    request = function(...) return self:request(...) end,
    exec_io = function(...) return self:exec_io(...) end,
    monotime = function() return self.clock end,
    sleep = function(s) self.clock = self.clock + s end,
  }
end

-- ------------------------------------------------------------ state out

--- The plan as Pebble's GET /v1/plan writes it (YAML; "{}" when empty).
-- @tparam table plan
-- @treturn string
-- @usage local text = pebble_fake.plan_yaml(plan)   --> "services:\n  web:\n ..."
function M.plan_yaml(plan)
  local doc = {}
  for _, sec in ipairs { "services", "checks", "log-targets" } do
    if plan[sec] and next(plan[sec]) then doc[sec] = plan[sec] end
  end
  if next(doc) == nil then return "{}\n" end
  local text = require("lyaml").dump { doc }
  return (text:gsub("^%-%-%-%s*\n", ""):gsub("%.%.%.%s*$", ""))
end

--- The containers now, as a state holds them (see the module's summary).
-- @treturn table name -> container state
-- @usage local after = fake:state().web.services.nginx.current   --> "active"
function Fake:state()
  local out = {}
  for name, c in pairs(self.containers) do
    local plan = plan_of(c)
    local services = {}
    for sname in pairs(plan.services) do services[sname] = { current = "inactive" } end
    for sname, st in pairs(c.services) do
      local s = { current = st.current, start_error = st.start_error }
      if st.current == "active" and st.running and not same(st.running, plan.services[sname]) then s.outdated = true end
      services[sname] = s
    end
    local files = {}
    for p, f in pairs(c.files) do
      files[p] = { content = f.content, permissions = f.permissions or "644", user = f.user, user_id = f.user_id,
                   group = f.group, group_id = f.group_id }
    end
    local implied = {}
    for p in pairs(c.files) do implied[parent(p)] = true end
    for d in pairs(c.dirs) do implied[parent(d)] = true end
    local dirs = {}
    for d in pairs(c.dirs) do if not implied[d] then dirs[#dirs + 1] = d end end
    table.sort(dirs)
    local checks = {}
    for cname, info in pairs(check_infos(c)) do
      checks[cname] = { status = info.status, failures = info.failures, successes = info.successes }
    end
    local layers = {}
    for label, l in pairs(c.layers) do layers[label] = copy(l) end
    out[name] = {
      can_connect = c.can_connect, layers = layers, layer_order = copy(c.order), plan = copy(plan),
      services = services, files = files, dirs = dirs, execs = copy(c.execs), checks = checks,
      notices = copy(c.notices),
    }
  end
  return out
end

--- What the charm asked of each container: name -> `{requests=, execs=,
-- changes=, writes=}`.
-- @treturn table
-- @usage for _, r in ipairs(fake:records().web.requests) do print(r.method, r.target, r.status) end
function Fake:records()
  return self.recorded
end

--- Everything the fake holds, as plain data JSON can keep (for a
-- simulated unit's session, between processes).
-- @treturn table
-- @usage session.pebble = fake:save()
function Fake:save()
  local containers = {}
  for name, c in pairs(self.containers) do
    local t = copy(c)
    t.plan = nil
    t.execs = {}
    for i, e in ipairs(c.execs) do
      local x = {}
      for k, v in pairs(e) do if type(v) ~= "function" then x[k] = v end end
      t.execs[i] = x
    end
    containers[name] = t
  end
  return { containers = containers, records = self.recorded, clock = self.clock }
end

--- A fake from @{Fake:save}'s data (as JSON gave it back).
-- @tparam table data
-- @treturn Fake
-- @usage local fake = pebble_fake.restore(session.pebble)
function M.restore(data)
  data = copy(data)      -- plain tables: no JSON marks on lists that will grow
  local self = setmetatable({ containers = {}, recorded = data.records or {}, clock = data.clock or 0 }, fake_mt)
  for name, c in pairs(data.containers or {}) do
    for _, k in ipairs { "layers", "services", "files", "dirs", "checks", "changes", "pending" } do
      c[k] = c[k] or {}
    end
    for _, k in ipairs { "order", "execs", "notices" } do c[k] = c[k] or {} end
    c.seq = c.seq or { change = 0, task = 0, notice = 0 }
    self.containers[name] = c
  end
  return self
end

--- Mark a container state's lists and maps for JSON (a state file):
-- lists stay lists, empty maps objects.
-- @tparam ?table containers
-- @treturn ?table a copy
-- @usage local text = json.encode(pebble_fake.to_json(state.containers))
function M.to_json(containers)
  if containers == nil then return nil end
  local out = {}
  for name, c in pairs(containers) do
    local t = copy(c)
    for _, k in ipairs { "layer_order", "dirs", "execs", "notices" } do
      if t[k] then t[k] = json.array(t[k]) end
    end
    for _, k in ipairs { "layers", "services", "files", "checks" } do
      if t[k] then t[k] = json.object(t[k]) end
    end
    out[name] = t
  end
  return json.object(out)
end

-- ------------------------------------------------------------ the simulated unit

--- The transport of a simulated unit (`DISPATCH_PEBBLE_SIM`): each call
-- loads the session (`<dir>/session.json`, key `pebble`), answers with
-- the fake, and saves it, as the hook commands do with theirs.
-- @tparam string dir the session directory
-- @treturn table a transport
-- @usage pebble.set_transport(pebble_fake.session_transport(os.getenv("DISPATCH_PEBBLE_SIM")))
function M.session_transport(dir)
  local sys = require "juju.sys"
  local path = dir .. "/session.json"
  local clock = 0
  local function with_fake(fn)
    local f, err = io.open(path, "rb")
    if not f then return nil, "no simulated unit here: " .. tostring(err), "connect" end
    local text = f:read("a")
    f:close()
    local session = json.decode(text)
    local fake = M.restore(session.pebble or {})
    fake.clock = clock
    local r = table.pack(fn(fake))
    clock = fake.clock
    session.pebble = fake:save()
    local ok, werr = sys.write_file(path, json.encode(session), { mode = 420, sync = false })
    if not ok then error(werr, 0) end
    return table.unpack(r, 1, r.n)
  end
  return {
    request = function(...)
      local args = table.pack(...)
      return with_fake(function(fake) return fake:request(table.unpack(args, 1, args.n)) end)
    end,
    exec_io = function(...)
      local args = table.pack(...)
      return with_fake(function(fake) return fake:exec_io(table.unpack(args, 1, args.n)) end)
    end,
    monotime = function() return clock end,
    sleep = function(s) clock = clock + s end,
  }
end

return M
