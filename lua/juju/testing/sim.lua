--- A simulated Juju: answers hook commands from a state, as a unit agent
-- would, with Juju's rules and Juju's error text.
--
-- It stands where Juju stands: behind `juju.set_runner` in process (so the
-- C module's argv building and output parsing run for real), or behind
-- real hook commands on PATH for a simulated unit. It takes argv (and
-- stdin) and returns exit code, stdout and stderr, with `--format=json`
-- output as Juju prints it.
--
-- Writes that Juju applies when a hook succeeds (relation data, stored
-- state, ports, secrets, storage) go to a working copy that the hook's own
-- reads see; @{Sim:finish} keeps them only for a successful hook. What
-- Juju applies at once (status, logs, the workload version, action logs
-- and results) is kept either way.
--
-- The state is plain tables (see `juju.testing` for its shape); the
-- simulator never changes the one it was given.
-- @module juju.testing.sim

local json = require("juju").json

local M = {}

-- ------------------------------------------------------------ utilities

-- (the copy of plain data)
local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in next, v do
    if type(x) == "table" then x = copy(x) end
    out[k] = x
  end
  local mt = getmetatable(v)
  if mt then setmetatable(out, mt) end
  return out
end
--- A deep copy of plain data (tables, strings, numbers, booleans).
-- @function copy
M.copy = copy

--- JSON as Go's json.Marshal writes it: compact, keys sorted, <, > and &
-- escaped, and a newline.
local function go_json(v)
  local text = json.encode(v)
  text = text:gsub("[<>&]", { ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026" })
  return text .. "\n"
end
M.go_json = go_json

local function ok(out) return 0, out or "", "" end
local function fail(code, msg) return code, "", "ERROR " .. msg .. "\n" end

--- Go's %q of a list of strings, as Juju's "unrecognized args" prints it.
local function quoted_list(list)
  local parts = {}
  for i, s in ipairs(list) do parts[i] = string.format("%q", s) end
  return "[" .. table.concat(parts, " ") .. "]"
end

--- Parse argv[2..] against a spec: `flags` {name = "value"|"bool",
-- aliases name = "=other"}, `max` positionals. Returns flags, positionals,
-- or nil and Juju's message (exit 2).
local function parse(argv, spec)
  local flags, pos = {}, {}
  local i, n = 2, #argv
  local only_pos = false
  while i <= n do
    local a = argv[i]
    if only_pos or a == "-" or a:sub(1, 1) ~= "-" then
      pos[#pos + 1] = a
    elseif a == "--" then
      only_pos = true
    else
      local name, value = a:match("^(%-%-?[^=]+)=(.*)$")
      name = name or a
      local kind = spec.flags and spec.flags[name]
      if type(kind) == "string" and kind:sub(1, 1) == "=" then
        name = kind:sub(2)
        kind = spec.flags[name]
      end
      if kind == nil then
        return nil, "flag provided but not defined: " .. (a:match("^[^=]*"))
      end
      if kind == "bool" then
        flags[name] = value == nil or value == "true" or value == "True"
      else
        if value == nil then
          i = i + 1
          if i > n then return nil, "flag needs an argument: " .. name end
          value = argv[i]
        end
        flags[name] = value
      end
    end
    i = i + 1
  end
  if spec.max and #pos > spec.max then
    local extra = {}
    for j = spec.max + 1, #pos do extra[#extra + 1] = pos[j] end
    return nil, "unrecognized args: " .. quoted_list(extra)
  end
  return flags, pos
end

local JSON_ONLY = { ["--format"] = "value", ["-o"] = "value", ["--output"] = "=-o" }

local function with_format(flags)
  local t = { ["--format"] = "value" }
  for k, v in pairs(flags or {}) do t[k] = v end
  return t
end

--- Juju's message for an output format it does not know, or nil.
-- (The simulator answers in JSON whatever the format: the juju module always
-- asks for it.)
local function bad_format(argv)
  for i = 2, #argv do
    local f = argv[i]:match("^%-%-format=(.*)$") or (argv[i] == "--format" and argv[i + 1])
    if f and f ~= "json" and f ~= "yaml" and f ~= "smart" then
      return ("invalid value %q for flag --format: unknown format %q"):format(f, f)
    end
  end
end

-- ------------------------------------------------------------ the simulator

local Sim = {}
local sim_mt = { __name = "juju.testing.Sim", __index = Sim }

--- A simulator for one hook.
-- @tparam table state the state before the hook (copied, never changed)
-- @tparam table ctx the hook's context: `unit` ("app/0"), `relation_id`
-- (the hook's relation), `broken` (true in its relation-broken hook),
-- `remote_unit`, `remote_app`, `action` (`{name=,
-- params=}` in an action), `storage_id`, `bindings` (known binding names,
-- or nil for any), `model_uuid`, `juju_version` (default 3.6.0: owners
-- track secret revisions from 3.1.7 and 3.3.1 on)
-- @tparam[opt] table opts `take`: the state is the simulator's to change
-- (a private copy), so it is not copied again
-- @treturn Sim
function M.new(state, ctx, opts)
  local s = setmetatable({
    work = (opts and opts.take) and state or copy(state), ctx = ctx or {}, immediate = {},
    commands = {}, logs = {}, status_history = {}, action = nil, secret_seq = 0, removed_revisions = {},
  }, sim_mt)
  if s.ctx.action then
    s.action = { name = s.ctx.action.name, params = copy(s.ctx.action.params or {}),
                 results = {}, logs = {}, failure = nil }
  end
  s.opened_at_start = copy(state.opened_ports or {})
  return s
end

local function unit_app(unit)
  return (unit:match("^(.*)/%d+$"))
end

function Sim:unit() return self.ctx.unit or self.work.unit end
function Sim:app() return unit_app(self:unit()) end

--- A change Juju makes at once: to the working copy, and kept to apply
-- to the state before the hook should the hook fail.
function Sim:now(field, value)
  self.work[field] = copy(value)
  self.immediate[field] = copy(value)
end

function Sim:relation(id_text)
  local text = id_text
  if text == nil then
    if self.ctx.relation_id == nil then return nil, 2, "no relation id specified" end
    text = tostring(self.ctx.relation_id)
  end
  local num = text:match("(%d+)$")
  local id = num and math.tointeger(tonumber(num))
  local flagged = ("invalid value %q for flag -r: "):format(text)
  if not id or (text:find(":") and not text:match("^[^:]*:%d+$")) then
    return nil, 2, flagged .. "invalid relation id"
  end
  for _, r in ipairs(self.work.relations or {}) do
    if r.id == id then return r end
  end
  return nil, 2, flagged .. "relation not found"
end

local function is_leader(s) return s.work.leader == true end

-- ------------------------------------------------------------ commands

local C = {}

C["is-leader"] = function(s, argv)
  local flags, err = parse(argv, { flags = JSON_ONLY, max = 0 })
  if not flags then return fail(2, err) end
  return ok(go_json(is_leader(s)))
end

C["config-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["-a"] = "bool", ["--all"] = "=-a" }, max = 1 })
  if not flags then return fail(2, pos) end
  local config = s.work.config or {}
  if pos[1] then
    if flags["-a"] then return fail(2, ("cannot use argument --all together with key %q"):format(pos[1])) end
    local v = config[pos[1]]
    if v == nil then return ok("null\n") end
    return ok(go_json(v))
  end
  return ok(go_json(json.object(copy(config))))
end

C["juju-log"] = function(s, argv)
  local flags, pos = parse(argv, { flags = { ["--log-level"] = "value", ["-l"] = "=--log-level",
                                             ["--debug"] = "bool", ["--format"] = "value" } })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "no message specified") end
  local level = (flags["--debug"] and "DEBUG") or (flags["--log-level"] or "INFO"):upper()
  if level == "WARN" then level = "WARNING" end
  local known = { TRACE = 1, DEBUG = 1, INFO = 1, WARNING = 1, ERROR = 1, CRITICAL = 1 }
  if not known[level] then level = "INFO" end
  s.logs[#s.logs + 1] = { level = level, message = table.concat(pos, " ") }
  return ok()
end

local STATUSES = { maintenance = true, blocked = true, waiting = true, active = true }

C["status-set"] = function(s, argv)
  local flags, pos = parse(argv, { flags = { ["--application"] = "bool" }, max = 2 })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "invalid args, require <status> [message]") end
  if not STATUSES[pos[1]] then
    return fail(2, ("invalid status %q, expected one of [maintenance blocked waiting active]"):format(pos[1]))
  end
  local st = { name = pos[1], message = pos[2] or "" }
  if flags["--application"] then
    if not is_leader(s) then return fail(1, "this unit is not the leader") end
    s:now("app_status", st)
    s.status_history[#s.status_history + 1] = { target = "app", name = st.name, message = st.message }
  else
    s:now("unit_status", st)
    s.status_history[#s.status_history + 1] = { target = "unit", name = st.name, message = st.message }
  end
  return ok()
end

local function status_json(st)
  st = st or { name = "unknown", message = "" }
  return { status = st.name, message = st.message or "", ["status-data"] = json.object(copy(st.data or {})) }
end

C["status-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["--include-data"] = "bool", ["--application"] = "bool" },
                                   max = 0 })
  if not flags then return fail(2, pos) end
  if flags["--application"] then
    if not is_leader(s) then return fail(1, "finding application status: this unit is not the leader") end
    local app = status_json(s.work.app_status)
    app.units = { [s:unit()] = status_json(s.work.unit_status) }
    return ok(go_json({ ["application-status"] = app }))
  end
  local st = status_json(s.work.unit_status)
  if not flags["--include-data"] then st = { status = st.status } end
  return ok(go_json(st))
end

C["application-version-set"] = function(s, argv)
  local flags, pos = parse(argv, { max = 1 })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "no version specified") end
  s:now("workload_version", pos[1])
  return ok()
end

-- ports

local function parse_port(text)
  text = text:lower()
  if text == "icmp" then return { protocol = "icmp" } end
  local range, proto = text:match("^([^/]+)/?(.*)$")
  if not range then return nil, "no port or range specified" end
  proto = proto ~= "" and proto or "tcp"
  if proto ~= "tcp" and proto ~= "udp" and proto ~= "icmp" then
    return nil, ("invalid protocol %q, expected \"tcp\", \"udp\", or \"icmp\""):format(proto)
  end
  local a, b = range:match("^(%d+)%-(%d+)$")
  a = a or range:match("^(%d+)$")
  b = b or a
  if not a then return nil, ("invalid port range %s"):format(text) end
  a, b = math.tointeger(tonumber(a)), math.tointeger(tonumber(b))
  if a < 0 or b > 65535 then
    return nil, ("port range bounds must be between 0 and 65535, got %d-%d"):format(a, b)
  end
  if a > b then return nil, ("invalid port range %s"):format(text) end
  return { protocol = proto, port = a, to_port = b ~= a and b or nil }
end

local function port_key(p)
  if p.protocol == "icmp" then return "icmp" end
  return ("%s/%d-%d"):format(p.protocol, p.port, p.to_port or p.port)
end

local function port_command(opening)
  return function(s, argv)
    local flags, pos = parse(argv, { flags = { ["--endpoints"] = "value", ["--format"] = "value" }, max = 1 })
    if not flags then return fail(2, pos) end
    if #pos == 0 then return fail(2, "no port or range specified") end
    local p, err = parse_port(pos[1])
    if not p then return fail(2, err) end
    if flags["--endpoints"] then
      local eps = {}
      for e in flags["--endpoints"]:gmatch("[^,]+") do eps[#eps + 1] = e:match("^%s*(.-)%s*$") end
      p.endpoints = eps
    end
    local list = s.work.opened_ports or {}
    local key = port_key(p)
    local kept = {}
    for _, q in ipairs(list) do
      if port_key(q) ~= key then kept[#kept + 1] = q end
    end
    if opening then kept[#kept + 1] = p end
    s.work.opened_ports = kept
    return ok()
  end
end
C["open-port"] = port_command(true)
C["close-port"] = port_command(false)

--- A port as Juju prints it: `80/tcp`, `8000-8099/udp`, `icmp`.
-- @tparam table p `{protocol=, port=, to_port=}`
-- @treturn string
local function port_text(p)
  if p.protocol == "icmp" then return "icmp" end
  if p.to_port and p.to_port ~= p.port then return ("%d-%d/%s"):format(p.port, p.to_port, p.protocol) end
  return ("%d/%s"):format(p.port, p.protocol)
end
M.port_text = port_text

C["opened-ports"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["--endpoints"] = "bool" }, max = 0 })
  if not flags then return fail(2, pos) end
  -- ports opened in this hook are not shown until it commits
  local list = copy(s.opened_at_start)
  table.sort(list, function(a, b)
    if a.protocol ~= b.protocol then return a.protocol < b.protocol end
    if (a.port or 0) ~= (b.port or 0) then return (a.port or 0) < (b.port or 0) end
    return (a.to_port or a.port or 0) < (b.to_port or b.port or 0)
  end)
  local out = {}
  for _, p in ipairs(list) do
    local t = port_text(p)
    if flags["--endpoints"] then
      t = t .. " (" .. (p.endpoints and table.concat(p.endpoints, ", ") or "*") .. ")"
    end
    out[#out + 1] = t
  end
  return ok(go_json(json.array(out)))
end

-- relations

--- The bag a relation-get target names, or nil and Juju's message.
local function bag_for(s, r, target, app)
  local me, myapp = s:unit(), s:app()
  if app then
    local name = unit_app(target) or target
    if name == myapp then
      if not is_leader(s) and r.kind ~= "peer" then return nil, 1, "permission denied" end
      r.local_app_data = r.local_app_data or {}
      return r.local_app_data
    end
    if name ~= r.remote_app then return nil, 1, "permission denied" end
    r.remote_app_data = r.remote_app_data or {}
    return r.remote_app_data
  end
  if not target:match("^[a-z][a-z0-9%-]*/%d+$") then
    if target:match("^[a-z][a-z0-9%-]*$") then
      return nil, 2, ("expected unit name, got application name %q"):format(target)
    end
    return nil, 2, ("invalid unit name %q"):format(target)
  end
  if target == me then
    r.local_unit_data = r.local_unit_data or {}
    return r.local_unit_data
  end
  for _, u in ipairs(r.remote_units or {}) do
    if u == target then
      r.remote_units_data = r.remote_units_data or {}
      r.remote_units_data[u] = r.remote_units_data[u] or {}
      return r.remote_units_data[u]
    end
  end
  return nil, 1, "permission denied"
end

C["relation-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["-r"] = "value", ["--relation"] = "=-r",
                                                         ["--app"] = "bool" }, max = 2 })
  if not flags then return fail(2, pos) end
  local r, code, err = s:relation(flags["-r"])
  if not r then return fail(code, err) end
  local key, target = pos[1], pos[2]
  if key == "-" then key = nil end
  local app = flags["--app"]
  if target == nil then
    if s.ctx.remote_unit then
      target = s.ctx.remote_unit
    elseif s.ctx.remote_app then
      target, app = s.ctx.remote_app, true
    else
      return fail(2, "no unit or application specified")
    end
  end
  local bag, bcode, berr = bag_for(s, r, target, app)
  if not bag then return fail(bcode, berr) end
  if key then
    local v = bag[key]
    if v == nil then return ok("null\n") end
    return ok(go_json(v))
  end
  return ok(go_json(json.object(copy(bag))))
end

--- The data a relation-set or state-set got, or nil and Juju's message.
-- (`--file`, stdin "-" or a path, then key=value arguments.)
local function read_settings(flags, pos, stdin, trim)
  local data = {}
  local file = flags["--file"]
  if file then
    local text = stdin
    if file ~= "-" then
      local f = io.open(file, "rb")
      if not f then return nil, ("open %s: no such file or directory"):format(file) end
      text = f:read("a")
      f:close()
    end
    if text == nil then return nil, "hook tool requires stdin, none supplied" end
    if text:match("^%s*$") then text = "{}" end
    local okd, decoded = pcall(json.decode, text)
    if not okd or type(decoded) ~= "table" then
      return nil, "cannot parse settings: the simulator reads JSON (Juju reads YAML): " .. tostring(decoded)
    end
    for k, v in pairs(decoded) do
      if type(v) == "table" then return nil, "cannot unmarshal !!map into string" end
      data[k] = type(v) == "string" and v or json.encode(v)
    end
  end
  local seen = {}
  for _, arg in ipairs(pos) do
    if arg ~= "" then
      local k, v = arg:match("^([^=]*)=(.*)$")
      if not k then return nil, ("expected \"key=value\", got %q"):format(arg) end
      if trim then k, v = k:match("^%s*(.-)%s*$"), v:match("^%s*(.-)%s*$") end
      if seen[k] then return nil, ("key %q specified more than once"):format(k) end
      seen[k] = true
      data[k] = v
    end
  end
  return data
end

C["relation-set"] = function(s, argv, stdin)
  local flags, pos = parse(argv, { flags = { ["-r"] = "value", ["--relation"] = "=-r", ["--app"] = "bool",
                                             ["--file"] = "value", ["--format"] = "value" } })
  if not flags then return fail(2, pos) end
  local r, code, err = s:relation(flags["-r"])
  if not r then return fail(code, err) end
  local data, derr = read_settings(flags, pos, stdin, true)
  if not data then return fail(2, derr) end
  local bag
  if flags["--app"] then
    if not is_leader(s) then return fail(1, "cannot write relation settings") end
    r.local_app_data = r.local_app_data or {}
    bag = r.local_app_data
  else
    r.local_unit_data = r.local_unit_data or {}
    bag = r.local_unit_data
  end
  for k, v in pairs(data) do
    if v == "" then bag[k] = nil else bag[k] = v end
  end
  return ok()
end

C["relation-ids"] = function(s, argv)
  local flags, pos = parse(argv, { flags = JSON_ONLY, max = 1 })
  if not flags then return fail(2, pos) end
  local endpoint = pos[1]
  if endpoint == nil then
    local r = s.ctx.relation_id and s:relation(nil)
    if not r then return fail(2, "no endpoint name specified") end
    endpoint = r.endpoint
  end
  local out = {}
  for _, r in ipairs(s.work.relations or {}) do
    -- Juju leaves out the relation being broken
    local broken = s.ctx.broken and r.id == s.ctx.relation_id
    if r.endpoint == endpoint and not broken then out[#out + 1] = endpoint .. ":" .. r.id end
  end
  table.sort(out)
  return ok(go_json(json.array(out)))
end

C["relation-list"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["-r"] = "value", ["--relation"] = "=-r",
                                                         ["--app"] = "bool" }, max = 0 })
  if not flags then return fail(2, pos) end
  local r, code, err = s:relation(flags["-r"])
  if not r then return fail(code, err) end
  if flags["--app"] then return ok(go_json(r.remote_app or "")) end
  local units = copy(r.remote_units or {})
  table.sort(units)
  return ok(go_json(json.array(units)))
end

C["relation-model-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["-r"] = "value", ["--relation"] = "=-r" }, max = 0 })
  if not flags then return fail(2, pos) end
  local r, code, err = s:relation(flags["-r"])
  if not r then return fail(code, err) end
  return ok(go_json({ uuid = r.remote_model_uuid or (s.work.model or {}).uuid or s.ctx.model_uuid or "" }))
end

--- A network as Juju prints it: the state may say bind_addresses for
-- bind-addresses (and so on, at every level).
local function hyphenated(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    out[type(k) == "string" and k:gsub("_", "-") or k] = hyphenated(x)
  end
  return out
end

C["network-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["-r"] = "value", ["--relation"] = "=-r",
    ["--bind-address"] = "bool", ["--ingress-address"] = "bool", ["--egress-subnets"] = "bool",
    ["--primary-address"] = "bool" }, max = 1 })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "no arguments specified") end
  if flags["-r"] then
    local r, code, err = s:relation(flags["-r"])
    if not r then return fail(code, err) end
  end
  local binding = pos[1]
  local nets = s.work.networks or {}
  local net = nets[binding]
  if net == nil then
    if s.ctx.bindings and not s.ctx.bindings[binding] then
      return fail(1, ("no network config found for binding %q"):format(binding))
    end
    net = {
      ["bind-addresses"] = { { ["mac-address"] = "", ["interface-name"] = "eth0",
        addresses = { { hostname = "", value = "192.0.2.0", cidr = "192.0.2.0/24" } } } },
      ["egress-subnets"] = { "192.0.2.0/32" }, ["ingress-addresses"] = { "192.0.2.0" },
    }
  end
  net = hyphenated(net)
  -- the flags pick values: one flag prints it bare, several a map of them
  local bind = (((net["bind-addresses"] or {})[1] or {}).addresses or {})[1]
  bind = bind and (bind.value or bind.address)
  if flags["--primary-address"] then
    if flags["--bind-address"] or flags["--ingress-address"] or flags["--egress-subnets"] then
      return fail(2, "--primary-address must be the only flag specified")
    end
    if not bind then return fail(1, ("no addresses attached to space for binding %q"):format(binding)) end
    return ok(go_json(bind))
  end
  local picked, n, only = {}, 0, nil
  for _, f in ipairs { { "--bind-address", "bind-address" }, { "--ingress-address", "ingress-address" },
                       { "--egress-subnets", "egress-subnets" } } do
    if flags[f[1]] then
      local v
      if f[2] == "bind-address" then
        v = bind or ""
      elseif f[2] == "ingress-address" then
        v = (net["ingress-addresses"] or {})[1] or ""
      else
        v = json.array(copy(net["egress-subnets"] or {}))
      end
      picked[f[2]], n, only = v, n + 1, v
    end
  end
  if n == 1 then return ok(go_json(only)) end
  if n > 1 then return ok(go_json(picked)) end
  return ok(go_json(net))
end

-- stored state

C["state-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["--strict"] = "bool" }, max = 1 })
  if not flags then return fail(2, pos) end
  local stored = s.work.stored or {}
  local key = pos[1]
  if key == nil or key == "-" then return ok(go_json(json.object(copy(stored)))) end
  local v = stored[key]
  if v == nil then
    if flags["--strict"] then return fail(1, ("%q not found"):format(key)) end
    return ok("null\n")
  end
  return ok(go_json(v))
end

C["state-set"] = function(s, argv, stdin)
  local flags, pos = parse(argv, { flags = { ["--file"] = "value" } })
  if not flags then return fail(2, pos) end
  local data, err = read_settings(flags, pos, stdin, true)
  if not data then return fail(2, err) end
  s.work.stored = s.work.stored or {}
  for k, v in pairs(data) do
    if #k > 256 then return fail(1, ("key %q exceeds the 256 byte limit"):format(k:sub(1, 20))) end
    if #v > 65536 then return fail(1, ("value for key %q exceeds the 64 KiB limit"):format(k)) end
    s.work.stored[k] = v
  end
  return ok()
end

C["state-delete"] = function(s, argv)
  local flags, pos = parse(argv, { max = 1 })
  if not flags then return fail(2, pos) end
  if pos[1] and s.work.stored then s.work.stored[pos[1]] = nil end
  return ok()
end

-- actions

local function need_action(s)
  if not s.action then return fail(1, "not running an action") end
end

C["action-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format(), max = 1 })
  if not flags then return fail(2, pos) end
  local code, out, err = need_action(s)
  if code then return code, out, err end
  local v = s.action.params
  if pos[1] then
    for part in pos[1]:gmatch("[^.]+") do
      if type(v) ~= "table" then v = nil break end
      v = v[part]
    end
  end
  if v == nil then return ok("null\n") end
  if type(v) == "table" and next(v) == nil then return ok("{}\n") end
  return ok(go_json(v))
end

local RESERVED = { stdout = true, ["stdout-encoding"] = true, stderr = true, ["stderr-encoding"] = true }

C["action-set"] = function(s, argv)
  local code, out, err = need_action(s)
  if code then return code, out, err end
  local pairs_ = {}
  for i = 2, #argv do
    local k, v = argv[i]:match("^([^=]*)=(.*)$")
    if not k then return fail(2, ("argument %q must be of the form key...=value"):format(argv[i])) end
    for part in (k .. "."):gmatch("([^.]*)%.") do
      if not (part:match("^[a-z0-9]$") or part:match("^[a-z0-9][a-z0-9%-]*[a-z0-9]$")) then
        return fail(2, ("key %q must start and end with lowercase alphanumeric, and contain only "
          .. "lowercase alphanumeric and hyphens"):format(part))
      end
    end
    local first = k:match("^[^.]*")
    if RESERVED[first] then return fail(2, ("cannot set reserved action key %q"):format(first)) end
    pairs_[#pairs_ + 1] = { k, v }
  end
  for _, kv in ipairs(pairs_) do
    local t = s.action.results
    local parts = {}
    for part in kv[1]:gmatch("[^.]+") do parts[#parts + 1] = part end
    for i = 1, #parts - 1 do
      if type(t[parts[i]]) ~= "table" then t[parts[i]] = {} end
      t = t[parts[i]]
    end
    t[parts[#parts]] = kv[2]
  end
  return ok()
end

C["action-log"] = function(s, argv)
  local code, out, err = need_action(s)
  if code then return code, out, err end
  local _, pos = parse(argv, {})
  if #pos == 0 then return fail(2, "no message specified") end
  s.action.logs[#s.action.logs + 1] = table.concat(pos, " ")
  return ok()
end

C["action-fail"] = function(s, argv)
  local code, out, err = need_action(s)
  if code then return code, out, err end
  local flags, pos = parse(argv, { max = 1 })
  if not flags then return fail(2, pos) end
  s.action.failure = pos[1] or "action failed without reason given, check action for errors"
  return ok()
end

-- misc

C["resource-get"] = function(s, argv)
  local flags, pos = parse(argv, { max = 1 })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "missing required resource name") end
  local path = (s.work.resources or {})[pos[1]]
  if path == nil then
    return fail(1, ("could not download resource: resource %q not found"):format(pos[1]))
  end
  return ok(path)
end

C["credential-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format(), max = 0 })
  if not flags then return fail(2, pos) end
  local spec = (s.work.model or {}).cloud_spec
  if not s.work.trusted or spec == nil then
    return fail(1, "cannot access cloud credentials: permission denied (the application needs trust)")
  end
  return ok(go_json(spec))
end

C["goal-state"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format(), max = 0 })
  if not flags then return fail(2, pos) end
  local app = s:app()
  local units = {}
  for i = 0, (s.work.planned_units or 1) - 1 do
    units[app .. "/" .. i] = { status = "active" }
  end
  local rels = {}
  for _, r in ipairs(s.work.relations or {}) do
    local ep = rels[r.endpoint] or {}
    if r.remote_app then ep[r.remote_app] = { status = "joined" } end
    for _, u in ipairs(r.remote_units or {}) do ep[u] = { status = "joined" } end
    rels[r.endpoint] = ep
  end
  return ok(go_json({ units = units, relations = json.object(rels) }))
end

C["juju-reboot"] = function(s, argv)
  local flags, pos = parse(argv, { flags = { ["--now"] = "bool" }, max = 0 })
  if not flags then return fail(2, pos) end
  if s.action then return fail(1, "juju-reboot is not supported when running an action.") end
  s.work.reboot = flags["--now"] and "now" or "after-hook"
  return ok()
end

-- storage

C["storage-list"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format(), max = 1 })
  if not flags then return fail(2, pos) end
  local out = {}
  for _, st in ipairs(s.work.storage or {}) do
    -- the state's storage has ids ("data/0"); the name is the part before the "/"
    local name = st.name or (type(st.id) == "string" and st.id:match("^(.-)/%d+$"))
    if pos[1] == nil or name == pos[1] then out[#out + 1] = st.id end
  end
  table.sort(out)
  return ok(go_json(json.array(out)))
end

C["storage-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["-s"] = "value" }, max = 1 })
  if not flags then return fail(2, pos) end
  local id = flags["-s"] or s.ctx.storage_id
  if not id then return fail(2, "no storage instance specified") end
  for _, st in ipairs(s.work.storage or {}) do
    if st.id == id then
      local info = { kind = st.kind or "filesystem", location = st.location or "" }
      if pos[1] then
        if info[pos[1]] == nil then return fail(1, ("invalid storage attribute %q"):format(pos[1])) end
        return ok(go_json(info[pos[1]]))
      end
      return ok(go_json(info))
    end
  end
  return fail(2, ("invalid storage ID %q"):format(id))
end

C["storage-add"] = function(s, argv)
  local _, pos = parse(argv, {})
  if #pos == 0 then return fail(2, "storage add requires a storage directive") end
  s.work.storage_added = s.work.storage_added or {}
  for _, arg in ipairs(pos) do
    local name, count = arg:match("^([^=]+)=?(.*)$")
    if count ~= "" and not count:match("^%d+$") then
      return fail(2, ("only count can be specified for %q"):format(name))
    end
    s.work.storage_added[name] = (s.work.storage_added[name] or 0) + (tonumber(count) or 1)
  end
  return ok()
end

-- secrets

local XID = "0123456789abcdefghijklmnopqrstuv"

--- A new secret URI: a 20-character xid in base32, deterministic per run.
function Sim:new_secret_id()
  self.secret_seq = self.secret_seq + 1
  local uuid = (self.work.model or {}).uuid or self.ctx.model_uuid or "00000000-0000-4000-8000-000000000000"
  -- 100 bits from FNV-1a of the model, the unit and a count: the same
  -- state gives the same ids, run after run
  local seed = ("%s/%s/%d/%d"):format(uuid, self:unit() or "", #(self.work.secrets or {}), self.secret_seq)
  local chars = {}
  local h = -3750763034362895579   -- the FNV-1a 64-bit offset basis
  for round = 1, 2 do
    for i = 1, #seed do h = (h ~ seed:byte(i)) * 1099511628211 end
    h = (h ~ round) * 1099511628211
    local n = h
    for _ = 1, 10 do
      local d = n & 31
      chars[#chars + 1] = XID:sub(d + 1, d + 1)
      n = n >> 5
    end
  end
  return "secret://" .. uuid .. "/" .. table.concat(chars)
end

local function bare_id(id)
  return id and (id:match("([0-9a-v]+)$") or id)
end

--- Find a secret by id (any form) or label; owned says whether only
-- secrets this unit or its app owns count.
function Sim:find_secret(id, label)
  for _, sec in ipairs(self.work.secrets or {}) do
    if (id and bare_id(sec.id) == bare_id(id)) or (not id and label and sec.label == label) then
      return sec
    end
  end
end

local function owns(s, sec)
  if sec.owner == "app" then return true end
  if sec.owner == "unit" then return sec.owner_unit == nil or sec.owner_unit == s:unit() end
  return false
end

--- Does a secret's owner read the revision it tracks, as consumers do
-- (Juju 3.1.7, and 3.3.1 on; before, owners always read the latest)?
local function owners_track(version)
  local major, minor, patch = tostring(version or "3.6.0"):match("^(%d+)%.(%d+)%.?(%d*)")
  major, minor, patch = tonumber(major) or 3, tonumber(minor) or 6, tonumber(patch) or 0
  if major ~= 3 then return major > 3 end
  if minor == 1 then return patch >= 7 end
  return minor > 3 or (minor == 3 and patch >= 1)
end

local function latest(sec)
  local n = 0
  for rev in pairs(sec.revisions or {}) do if rev > n then n = rev end end
  return n
end

--- Read the key#file=PATH arguments (values may be base64 with #base64).
local function secret_args(pos)
  local content = {}
  for _, arg in ipairs(pos) do
    local key, value = arg:match("^([^=#]+)(.*)$")
    local rest = value or ""
    local file = rest:match("^#file=(.*)$")
    if file then
      local f = io.open(file, "rb")
      if not f then return nil, ("open %s: no such file or directory"):format(file) end
      content[key] = f:read("a")
      f:close()
    else
      local v = rest:match("^=(.+)$")
      if not v then return nil, ("key value %q not valid"):format(arg) end
      content[key] = v
    end
    if not (key:match("^[a-z][a-z0-9%-]*$") and not key:find("--", 1, true) and key:sub(-1) ~= "-"
            and #key:gsub("[^a-z0-9]", "") >= 3) then
      return nil, ("key %q not valid"):format(key)
    end
  end
  return content
end

local SECRET_FLAGS = { ["--label"] = "value", ["--description"] = "value", ["--expire"] = "value",
                       ["--rotate"] = "value", ["--owner"] = "value", ["--file"] = "value" }

C["secret-add"] = function(s, argv)
  local flags, pos = parse(argv, { flags = SECRET_FLAGS })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "missing secret value or filename") end
  local content, err = secret_args(pos)
  if not content then return fail(2, err) end
  local owner = flags["--owner"] or "application"
  if owner ~= "application" and owner ~= "unit" then
    return fail(2, ("secret owner %q not valid"):format(owner))
  end
  owner = owner == "application" and "app" or "unit"
  if owner == "app" and not is_leader(s) then return fail(1, "this unit is not the leader") end
  if flags["--label"] then
    for _, other in ipairs(s.work.secrets or {}) do
      if other.label == flags["--label"] and owns(s, other) then
        return fail(1, ("secret with label %q already exists"):format(flags["--label"]))
      end
    end
  end
  local sec = {
    id = s:new_secret_id(), label = flags["--label"], description = flags["--description"],
    expire = flags["--expire"], rotate = flags["--rotate"], owner = owner,
    owner_unit = owner == "unit" and s:unit() or nil,
    revisions = { [1] = content }, grants = {},
  }
  s.work.secrets = s.work.secrets or {}
  s.work.secrets[#s.work.secrets + 1] = sec
  return ok(sec.id .. "\n")
end

C["secret-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["--label"] = "value", ["--refresh"] = "bool",
                                                         ["--peek"] = "bool" }, max = 2 })
  if not flags then return fail(2, pos) end
  local id, key = pos[1], pos[2]
  if not id and not flags["--label"] then return fail(2, "require either a secret URI or label") end
  if flags["--refresh"] and flags["--peek"] then return fail(2, "specify one of --peek or --refresh but not both") end
  local sec = s:find_secret(id, flags["--label"])
  if not sec then return fail(1, ("secret %q not found"):format(id or flags["--label"])) end
  local rev
  if owns(s, sec) and not owners_track(s.ctx.juju_version) then
    rev = latest(sec)
  else
    if not owns(s, sec) then
      -- another application's secret: readable once granted to this
      -- application or unit (`granted`, or a grant naming it)
      local granted = sec.granted == true or sec.granted == s:app() or sec.granted == s:unit()
      for _, g in pairs(sec.grants or {}) do
        if g == true or g == s:app() or g == s:unit() then granted = true end
      end
      if not granted then return fail(1, "permission denied") end
      -- a consumer names the secret: its label from now on
      if id and flags["--label"] then sec.label = flags["--label"] end
    end
    if flags["--refresh"] or sec.tracked == nil then sec.tracked = latest(sec) end
    rev = flags["--peek"] and latest(sec) or sec.tracked
  end
  local content = (sec.revisions or {})[rev] or {}
  if key then
    if content[key] == nil then return fail(1, ("secret key value %q not found"):format(key)) end
    return ok(go_json(content[key]))
  end
  return ok(go_json(json.object(copy(content))))
end

local function owned_secret(s, id, label)
  local sec = s:find_secret(id, label)
  if not sec or not owns(s, sec) then
    return nil, fail(1, ("secret %q not found"):format(id or label or ""))
  end
  if sec.owner == "app" and not is_leader(s) then return nil, fail(1, "this unit is not the leader") end
  return sec
end

C["secret-set"] = function(s, argv)
  local flags, pos = parse(argv, { flags = SECRET_FLAGS })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "missing secret URI") end
  local id = table.remove(pos, 1)
  local sec, code, out, err = owned_secret(s, id)
  if not sec then return code, out, err end
  if #pos > 0 then
    local content, cerr = secret_args(pos)
    if not content then return fail(2, cerr) end
    sec.revisions[latest(sec) + 1] = content
  end
  for flag, field in pairs { ["--label"] = "label", ["--description"] = "description",
                             ["--expire"] = "expire", ["--rotate"] = "rotate" } do
    if flags[flag] then sec[field] = flags[flag] end
  end
  return ok()
end

C["secret-remove"] = function(s, argv)
  local flags, pos = parse(argv, { flags = { ["--revision"] = "value" }, max = 1 })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "missing secret URI") end
  local sec, code, out, err = owned_secret(s, pos[1])
  if not sec then return code, out, err end
  local rev = math.tointeger(tonumber(flags["--revision"] or "0")) or 0
  if rev > 0 then
    if not sec.revisions[rev] then
      return fail(1, ("secret revision %d for %q not found"):format(rev, pos[1]))
    end
    sec.revisions[rev] = nil
    s.removed_revisions[#s.removed_revisions + 1] = { id = sec.id, revision = rev }
  else
    for i, other in ipairs(s.work.secrets) do
      if other == sec then table.remove(s.work.secrets, i) break end
    end
  end
  return ok()
end

C["secret-grant"] = function(s, argv)
  local flags, pos = parse(argv, { flags = { ["-r"] = "value", ["--relation"] = "=-r", ["--unit"] = "value" },
                                   max = 1 })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "missing secret URI") end
  local sec, code, out, err = owned_secret(s, pos[1])
  if not sec then return code, out, err end
  local r, rcode, rerr = s:relation(flags["-r"])
  if not r then return fail(rcode, rerr) end
  local unit = flags["--unit"]
  if unit and unit_app(unit) ~= r.remote_app then
    return fail(1, ("cannot specify unit %q in relation to application %q"):format(unit, r.remote_app or ""))
  end
  sec.grants = sec.grants or {}
  sec.grants[r.id] = nil   -- the state may key it by the number; the simulator keeps text
  sec.grants[tostring(r.id)] = unit or r.remote_app
  return ok()
end

C["secret-revoke"] = function(s, argv)
  local flags, pos = parse(argv, { flags = { ["-r"] = "value", ["--relation"] = "=-r", ["--unit"] = "value",
                                             ["--app"] = "value", ["--application"] = "=--app" }, max = 1 })
  if not flags then return fail(2, pos) end
  if #pos == 0 then return fail(2, "missing secret URI") end
  if not flags["-r"] and not flags["--app"] and not flags["--unit"] then
    return fail(2, "missing relation or application or unit")
  end
  local sec, code, out, err = owned_secret(s, pos[1])
  if not sec then return code, out, err end
  local rel
  if flags["-r"] then
    local r, rcode, rerr = s:relation(flags["-r"])
    if not r then return fail(rcode, rerr) end
    rel = tostring(r.id)
  end
  for k, who in pairs(sec.grants or {}) do
    if (rel and tostring(k) == rel) or who == flags["--unit"] or who == flags["--app"] then
      sec.grants[k] = nil
    end
  end
  return ok()
end

C["secret-ids"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format(), max = 0 })
  if not flags then return fail(2, pos) end
  local out = {}
  for _, sec in ipairs(s.work.secrets or {}) do
    if owns(s, sec) then out[#out + 1] = bare_id(sec.id) end
  end
  if #out == 0 then return ok("null\n") end
  return ok(go_json(out))
end

C["secret-info-get"] = function(s, argv)
  local flags, pos = parse(argv, { flags = with_format { ["--label"] = "value" }, max = 1 })
  if not flags then return fail(2, pos) end
  if pos[1] and flags["--label"] then return fail(2, "specify either a secret URI or label but not both") end
  local sec = s:find_secret(pos[1], flags["--label"])
  if not sec or not owns(s, sec) then
    return fail(1, ("secret %q not found"):format(pos[1] or flags["--label"] or ""))
  end
  local info = { revision = latest(sec), label = sec.label, owner = sec.owner == "app" and "application" or "unit",
                 description = sec.description, rotation = sec.rotate }
  return ok(go_json({ [bare_id(sec.id)] = info }))
end

-- ------------------------------------------------------------ running

--- Answer one hook command.
-- @tparam {string,...} argv the command and its arguments
-- @tparam ?string stdin what it was fed
-- @treturn int exit code
-- @treturn string stdout
-- @treturn string stderr
function Sim:run(argv, stdin)
  local name = argv[1]:match("[^/]*$")
  local record = { argv = copy(argv), stdin = stdin }
  self.commands[#self.commands + 1] = record
  local handler = C[name]
  local code, out, err
  local bad = bad_format(argv)
  if handler == nil then
    code, out, err = 127, "", name .. ": command not found\n"
  elseif bad then
    code, out, err = fail(2, bad)
  else
    code, out, err = handler(self, argv, stdin)
  end
  record.code = code
  return code, out, err
end

--- The runner to hand to `juju.set_runner`.
-- @treturn function (argv, stdin) -> code, stdout, stderr
function Sim:runner()
  return function(argv, stdin) return self:run(argv, stdin) end
end

--- The state after the hook: everything when it succeeded, else the
-- state before it with only what Juju applies at once (status, workload
-- version).
-- @tparam boolean succeeded
-- @tparam ?table before when the hook failed: the state it started from
-- (a copy the simulator may change)
-- @treturn table the state (the simulator's own: not copied)
function Sim:finish(succeeded, before)
  if succeeded then return self.work end
  assert(type(before) == "table", "Sim:finish(false, before): the state before the hook is needed")
  for field, value in pairs(self.immediate) do before[field] = copy(value) end
  return before
end

--- What a simulator knows, as plain data JSON can hold: to keep it
-- between processes (a simulated unit answers each hook command in a new
-- process). Secret revisions become string keys.
-- @treturn table
function Sim:save()
  local function secrets_out(list)
    if list == nil then return nil end
    local out = {}
    for i, sec in ipairs(list or {}) do
      local c = copy(sec)
      c.revisions = json.object(c.revisions or {})
      c.grants = json.object(c.grants or {})
      out[i] = c
    end
    return json.array(out)
  end
  local work = copy(self.work)
  work.secrets = secrets_out(work.secrets)
  local immediate = copy(self.immediate)
  return {
    work = work, ctx = self.ctx, immediate = json.object(immediate), commands = json.array(self.commands),
    logs = json.array(self.logs), status_history = json.array(self.status_history), action = self.action,
    secret_seq = self.secret_seq, removed_revisions = json.array(self.removed_revisions),
    opened_at_start = json.array(self.opened_at_start),
  }
end

--- The integer revisions of secrets that came through JSON.
-- @tparam {table,...} secrets (changed)
function M.fix_revisions(secrets)
  for _, sec in ipairs(secrets or {}) do
    local revs = {}
    for k, v in pairs(sec.revisions or {}) do revs[math.tointeger(tonumber(k)) or k] = v end
    sec.revisions = revs
  end
end

--- A simulator from @{Sim:save}'s data.
-- @tparam table t
-- @treturn Sim
function M.restore(t)
  M.fix_revisions(t.work.secrets)
  return setmetatable({
    work = t.work, ctx = t.ctx or {}, immediate = t.immediate or {}, commands = t.commands or {},
    logs = t.logs or {}, status_history = t.status_history or {}, action = t.action,
    secret_seq = t.secret_seq or 0, removed_revisions = t.removed_revisions or {},
    opened_at_start = t.opened_at_start or {},
  }, sim_mt)
end

--- The names of the hook commands the simulator answers.
-- @treturn {string,...}
function M.commands()
  local out = {}
  for name in pairs(C) do out[#out + 1] = name end
  table.sort(out)
  return out
end

return M
