--- The pure data mapping half of the `juju` module.
--
-- src/juju.c builds argv, runs the hook command and decodes JSON; this file,
-- compiled into the module, turns Juju's JSON shapes into the tables charm
-- authors see (ops's snake_case field names and defaults), encodes relation
-- and state data for `--file -`, flattens action results, and renders
-- `juju.Error` values as text. Everything here is data in, data out: no I/O.
--
-- Loaded once per Lua state by luaopen_juju, with a table of its C helpers
-- as the argument: `parse_rfc3339`, `format_float` (the shortest text that
-- reads back to the same float) and `encode_object` (a flat table as the
-- JSON object Juju reads on stdin, YAML-safe).
-- @module juju.marshal

local C = ...
local parse_rfc3339, format_float, encode_object = C.parse_rfc3339, C.format_float, C.encode_object

local M = {}

local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local concat, sort = table.concat, table.sort
local tointeger = math.tointeger

--- Shallow map of a sequence (nil gives an empty table).
local function map(list, f)
  local out = {}
  if type(list) == "table" then
    for i, v in ipairs(list) do out[i] = f(v) end
  end
  return out
end

--- Map over the values of a table keyed by name (nil gives an empty table).
local function map_values(t, f)
  local out = {}
  if type(t) == "table" then
    for k, v in pairs(t) do out[k] = f(v) end
  end
  return out
end

--- A table or, when the value is missing, an empty table.
local function table_or_empty(v)
  if type(v) == "table" then return v end
  return {}
end

--- Python truthiness for the "falsy gives None" fields of ops.
local function truthy(v)
  if v == nil or v == false or v == "" or v == 0 then return nil end
  if type(v) == "table" and next(v) == nil then return nil end
  return v
end

local function timestamp(v)
  if type(v) ~= "string" or v == "" then return nil end
  return parse_rfc3339(v)
end

-- ------------------------------------------------------------------ results

--- Shapers, keyed by the name in src/hookcmds.c's table (the simplest,
-- "list", "state" and "is_leader", are done in C). Each receives
-- the decoded JSON value, the options table (or nil) and the first
-- positional argument, and returns what the Lua caller gets.
local shape = {}
M.shape = shape

local function address(a)
  a = table_or_empty(a)
  return {
    hostname = a.hostname or "",
    value = a.value or a.address or "",
    cidr = a.cidr or "",
  }
end

local function bind_address(b)
  b = table_or_empty(b)
  return {
    mac_address = b["mac-address"] or "",
    interface_name = b["interface-name"] or "",
    addresses = map(b.addresses, address),
  }
end

function shape.network(d)
  d = table_or_empty(d)
  return {
    bind_addresses = map(d["bind-addresses"], bind_address),
    egress_subnets = table_or_empty(d["egress-subnets"]),
    ingress_addresses = table_or_empty(d["ingress-addresses"]),
  }
end

function shape.cloud_spec(d)
  d = table_or_empty(d)
  local cred = truthy(d.credential)
  if cred then
    cred = {
      auth_type = cred["auth-type"],
      attributes = table_or_empty(cred.attrs),
      redacted = table_or_empty(cred.redacted),
    }
  end
  return {
    type = d.type,
    name = d.name,
    region = truthy(d.region),
    endpoint = truthy(d.endpoint),
    identity_endpoint = truthy(d["identity-endpoint"]),
    storage_endpoint = truthy(d["storage-endpoint"]),
    credential = cred,
    ca_certificates = table_or_empty(d.cacertificates),
    skip_tls_verify = d["skip-tls-verify"] == true,
    is_controller_cloud = d["is-controller-cloud"] == true,
  }
end

local function goal(g)
  g = table_or_empty(g)
  return { status = g.status, since = timestamp(g.since) }
end

function shape.goal_state(d)
  d = table_or_empty(d)
  return {
    units = map_values(d.units, goal),
    relations = map_values(d.relations, function(r) return map_values(r, goal) end),
  }
end

function shape.secret_info(d)
  if type(d) ~= "table" then return nil end
  -- Juju answers {"<id>": {...}} with one entry; take the smallest key so
  -- the choice is stable should there ever be more.
  local id
  for k in pairs(d) do
    if id == nil or k < id then id = k end
  end
  if id == nil then return nil end
  local v = table_or_empty(d[id])
  return {
    id = id,
    label = v.label,
    description = v.description,
    expiry = timestamp(v.expiry),
    rotation = v.rotation,
    rotates = timestamp(v.rotates),
    revision = v.revision,
  }
end

local function unit_status(d)
  d = table_or_empty(d)
  return {
    status = d.status,
    message = d.message,
    status_data = table_or_empty(d["status-data"]),
  }
end

function shape.status(d, opts)
  d = table_or_empty(d)
  if not (opts and opts.app) then
    return unit_status(d)
  end
  -- Juju nests the units inside application-status (ops reads the top
  -- level and always finds nothing); accept both.
  local app = table_or_empty(d["application-status"])
  local result = unit_status(app)
  result.units = map_values(app.units or d.units, unit_status)
  return result
end

function shape.storage(d)
  d = table_or_empty(d)
  return { kind = d.kind, location = d.location }
end

function shape.relation_model(d)
  d = table_or_empty(d)
  return { uuid = d.uuid }
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

--- Parse one entry of `opened-ports`: "8080/tcp", "8000-8090/udp", "icmp",
-- "80", with an optional " (ep1, ep2)" or " (ep1,ep2)" tail.
function M.parse_port(s)
  local spec, list = s:match("^(.-)%s+%((.*)%)%s*$")
  local endpoints
  if spec then
    endpoints = {}
    for item in (list .. ","):gmatch("([^,]*),") do
      item = trim(item)
      if item ~= "" then endpoints[#endpoints + 1] = item end
    end
  else
    spec = trim(s)
  end
  local range, protocol = spec:match("^([^/]*)/(.*)$")
  if not range then range = spec end
  local port = { protocol = protocol or "tcp", endpoints = endpoints }
  if range == "icmp" then
    port.protocol = "icmp"
    return port
  end
  local from, to = range:match("^(%d+)%-(%d+)$")
  if from then
    port.port, port.to_port = tointeger(tonumber(from)), tointeger(tonumber(to))
  else
    port.port = tointeger(tonumber(range))
  end
  return port
end

function shape.ports(d)
  return map(d, M.parse_port)
end

-- ------------------------------------------------------------------ inputs

--- Render a value as Juju wants it: strings as they are, integers
-- exactly, floats in the shortest form that reads back to the same number,
-- booleans only where allowed (action results).
-- @return the text, or nil and what is wrong ("a function", "inf")
local function data_string(v, booleans)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    local text = format_float(v)
    if text then return text end
    return nil, "a number that is not finite (" .. tostring(v) .. ")"
  end
  if booleans and t == "boolean" then return tostring(v) end
  return nil, "a " .. t
end

--- A key as messages show it: NUL bytes written as \0 (a message is C
-- text, and a NUL would cut it short).
local function shown(k)
  return (k:gsub("%z", "\\0"))
end

--- Sorted string keys of a data table, or nil and a reason.
local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      return nil, "keys must be strings, got " .. type(k)
    end
    if k == "" then return nil, "keys must not be empty" end
    keys[#keys + 1] = k
  end
  sort(keys)
  return keys
end

--- Encode relation or state data as the JSON object sent on stdin.
-- @tparam table data string keys to string (or number) values
-- @treturn[1] string `{"k": "v", ...}`, keys sorted
-- @treturn[2] nil
-- @treturn[2] string what is wrong with the data (never its values)
function M.encode_data(data)
  local keys, err = sorted_keys(data)
  if not keys then return nil, err end
  local flat = {}
  for _, k in ipairs(keys) do
    local v, bad = data_string(data[k])
    if not v then
      return nil, string.format("value of '%s' must be a string or number, got %s", shown(k), bad)
    end
    if not utf8.len(k) then return nil, string.format("key '%s' is not valid UTF-8", shown(k)) end
    if not utf8.len(v) then return nil, string.format("value of '%s' is not valid UTF-8", shown(k)) end
    flat[k] = v
  end
  return encode_object(flat)
end

-- Juju's secret key rule, ^[a-z](-?[a-z0-9]){2,}$: a lowercase letter,
-- then at least two letters or digits, each maybe after a single hyphen.
local function secret_key_ok(k)
  if not k:match("^[a-z][a-z0-9%-]*$") or k:find("--", 1, true) or k:sub(-1) == "-" then
    return false
  end
  local _, alnum = k:sub(2):gsub("[a-z0-9]", "")
  return alnum >= 2
end

--- Secret content as a sorted list of {key, value} pairs.
-- Keys follow Juju's rule (which also keeps them plain file names inside
-- the private directory). Values are strings or numbers; errors never
-- quote them.
function M.secret_content(content)
  local keys, err = sorted_keys(content)
  if not keys then return nil, err end
  if #keys == 0 then return nil, "secret content must not be empty" end
  local pairs_out = {}
  for i, k in ipairs(keys) do
    if not secret_key_ok(k) then
      return nil, string.format("secret key '%s' is not valid: Juju wants a lowercase letter, "
        .. "then at least two lowercase letters or digits, with single hyphens between", shown(k))
    end
    local v, bad = data_string(content[k])
    if not v then
      return nil, string.format("value of secret key '%s' must be a string or number, got %s", shown(k), bad)
    end
    pairs_out[i] = { k, v }
  end
  return pairs_out
end

-- Action result keys that Juju sets itself.
local RESERVED = { stdout = true, ["stdout-encoding"] = true, stderr = true, ["stderr-encoding"] = true }

--- Why a dotted action result key is not one Juju takes, or nil.
local function result_key_problem(key)
  for part in (key .. "."):gmatch("([^.]*)%.") do
    if not part:match("^[a-z0-9]$") and not part:match("^[a-z0-9][a-z0-9%-]*[a-z0-9]$") then
      return string.format("result key '%s' must be lowercase letters, digits and hyphens, "
        .. "starting and ending with a letter or digit, in each dotted part", shown(key))
    end
    if RESERVED[part] then
      return string.format("result key '%s' is reserved by Juju", shown(key))
    end
  end
end

--- Flatten action results into sorted `key=value` arguments.
-- Nested tables become dotted keys. Juju splits each argument at its first
-- `=` and applies them in order, so what it would silently lose is an
-- error here: a key given twice, a key that is both a value and a parent
-- (`a` and `a.b`), and keys Juju's rule refuses.
-- @tparam table results
-- @treturn[1] table the arguments
-- @treturn[2] nil
-- @treturn[2] string the reason
function M.flatten_results(results)
  local flat, order = {}, {}
  local function walk(t, prefix, depth)
    if depth > 100 then return "results nest too deeply" end
    for k, v in pairs(t) do
      if type(k) ~= "string" then
        return "result keys must be strings, got " .. type(k)
      end
      if k == "" then return "result keys must not be empty" end
      local key = prefix and (prefix .. "." .. k) or k
      if type(v) == "table" then
        local err = walk(v, key, depth + 1)
        if err then return err end
      else
        local s, bad = data_string(v, true)
        if not s then
          return string.format("value of '%s' must be a string, number or boolean, got %s", shown(key), bad)
        end
        if s:find("%z") then
          return string.format("value of '%s' contains a NUL byte", shown(key))
        end
        local problem = result_key_problem(key)
        if problem then return problem end
        if flat[key] ~= nil then
          return string.format("key '%s' is given twice", shown(key))
        end
        flat[key] = s
        order[#order + 1] = key
      end
    end
  end
  local err = walk(results, nil, 1)
  if err then return nil, err end
  sort(order)
  for _, k in ipairs(order) do
    local dot = k:find(".", 1, true)
    while dot do
      local parent = k:sub(1, dot - 1)
      if flat[parent] ~= nil then
        return nil, string.format("key '%s' is both a value and the parent of '%s' "
          .. "(Juju would keep only one)", parent, k)
      end
      dot = k:find(".", dot + 1, true)
    end
  end
  local args = {}
  for i, k in ipairs(order) do args[i] = k .. "=" .. flat[k] end
  return args
end

--- Storage counts as sorted `name=N` arguments (at least one, each N >= 1).
function M.storage_counts(counts)
  local keys, err = sorted_keys(counts)
  if not keys then return nil, err end
  if #keys == 0 then return nil, "give at least one storage name and count" end
  local args = {}
  for i, k in ipairs(keys) do
    if k:find("[=%z]") then
      return nil, string.format("storage name '%s' is not valid", shown(k))
    end
    local n = counts[k]
    if math.type(n) ~= "integer" and not (type(n) == "number" and tointeger(n)) then
      return nil, string.format("count of '%s' must be an integer, got %s", shown(k), type(n))
    end
    if tointeger(n) < 1 then
      return nil, string.format("count of '%s' must be at least 1, got %d", shown(k), tointeger(n))
    end
    args[i] = k .. "=" .. tointeger(n)
  end
  return args
end

-- ------------------------------------------------------------------ errors

--- The first line of a command's stderr, for messages ("" when none).
local function first_line(text)
  if type(text) ~= "string" then return "" end
  return text:match("^%s*([^\r\n]*)") or ""
end

--- `tostring` of a `juju.Error`: the command and, when it wrote to
-- stderr, the first line of what it said (Juju's reason), so that an
-- uncaught error tells a person why.
function M.error_tostring(e)
  local cmd = type(e.cmd) == "table" and concat(e.cmd, " ") or tostring(e.cmd)
  local said = first_line(e.stderr)
  local text
  if e.returncode == nil and e.started then
    text = string.format("command [%s] did not finish normally: %s", cmd, tostring(e.message))
  elseif e.returncode == nil then
    text = string.format("command [%s] could not be run: %s", cmd, tostring(e.message))
  elseif e.signal then
    text = string.format("command [%s] was killed by signal %d (returncode %d)",
                         cmd, e.signal, e.returncode)
  elseif e.message then
    return string.format("command [%s] exited with status %d: %s", cmd, e.returncode, e.message)
  else
    text = string.format("command [%s] exited with status %d", cmd, e.returncode)
  end
  if said ~= "" then text = text .. ": " .. said end
  return text
end

return M
