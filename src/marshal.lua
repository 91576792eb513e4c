--- The pure data mapping half of the `juju` module.
--
-- src/juju.c builds argv, runs the hook command and decodes JSON; this file,
-- compiled into the module, turns Juju's JSON shapes into the tables charm
-- authors see (ops's snake_case field names and defaults), encodes relation
-- and state data for `--file -`, flattens action results, and renders
-- `juju.Error` values as text. Everything here is data in, data out: no I/O.
--
-- Loaded once by luaopen_juju with the C `parse_rfc3339` as its argument.
-- @module juju.marshal

local parse_rfc3339 = ...

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

--- Shapers, keyed by the name in src/juju.c's command table. Each receives
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

function shape.list(d)
  return table_or_empty(d)
end

function shape.state(d, _, key)
  if key == nil then return table_or_empty(d) end
  return d
end

function shape.is_leader(d)
  return d == true
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

--- Render a value as Juju wants it: strings as they are, numbers in their
-- plain decimal form, booleans only where allowed (action results);
-- anything else is refused with its type.
local function data_string(v, booleans)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" or (booleans and t == "boolean") then return tostring(v) end
  return nil, t
end

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t", ["\b"] = "\\b", ["\f"] = "\\f",
}

-- Characters Juju's YAML reader refuses to see raw (C0 controls, DEL, C1
-- controls, the BOM, the non-characters U+FFFE/U+FFFF) or would fold into a
-- space (NEL U+0085, LS U+2028, PS U+2029 are YAML line breaks).
local function needs_escape(cp)
  return cp < 0x20 or (cp >= 0x7f and cp <= 0x9f) or cp == 0xfeff
      or cp == 0xfffe or cp == 0xffff or cp == 0x2028 or cp == 0x2029
end

local function json_string(s)
  if not utf8.len(s) then return nil end
  if not s:find("[%z\1-\31\"\\\127\194\226\239]") then
    return '"' .. s .. '"'
  end
  local out = {}
  for _, cp in utf8.codes(s) do
    local ch = utf8.char(cp)
    if escapes[ch] then
      out[#out + 1] = escapes[ch]
    elseif needs_escape(cp) then
      out[#out + 1] = string.format("\\u%04x", cp)
    else
      out[#out + 1] = ch
    end
  end
  return '"' .. concat(out) .. '"'
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
  local parts = {}
  for i, k in ipairs(keys) do
    local v, bad = data_string(data[k])
    if not v then
      return nil, string.format("value of '%s' must be a string or number, got %s", k, bad)
    end
    local jk, jv = json_string(k), json_string(v)
    if not jk then return nil, string.format("key '%s' is not valid UTF-8", k) end
    if not jv then return nil, string.format("value of '%s' is not valid UTF-8", k) end
    parts[i] = jk .. ": " .. jv
  end
  return "{" .. concat(parts, ", ") .. "}"
end

--- Secret content as a sorted list of {key, value} pairs.
-- Keys become file names inside a private directory, so they may not name
-- anything outside it. Values are strings or numbers; errors never quote them.
function M.secret_content(content)
  local keys, err = sorted_keys(content)
  if not keys then return nil, err end
  local pairs_out = {}
  for i, k in ipairs(keys) do
    if k == "." or k == ".." or k:find("[/#=%z]") then
      return nil, string.format("secret key '%s' is not valid", k)
    end
    local v, bad = data_string(content[k])
    if not v then
      return nil, string.format("value of secret key '%s' must be a string or number, got %s", k, bad)
    end
    pairs_out[i] = { k, v }
  end
  return pairs_out
end

--- Flatten action results into sorted `key=value` arguments.
-- Nested tables become dotted keys; a key produced twice is an error.
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
          return string.format("value of '%s' must be a string, number or boolean, got %s", key, bad)
        end
        if flat[key] ~= nil then
          return string.format("key '%s' is given twice", key)
        end
        flat[key] = s
        order[#order + 1] = key
      end
    end
  end
  local err = walk(results, nil, 1)
  if err then return nil, err end
  sort(order)
  local args = {}
  for i, k in ipairs(order) do args[i] = k .. "=" .. flat[k] end
  return args
end

--- Storage counts as sorted `name=N` arguments.
function M.storage_counts(counts)
  local keys, err = sorted_keys(counts)
  if not keys then return nil, err end
  local args = {}
  for i, k in ipairs(keys) do
    local n = counts[k]
    if math.type(n) ~= "integer" and not (type(n) == "number" and tointeger(n)) then
      return nil, string.format("count of '%s' must be an integer, got %s", k, type(n))
    end
    args[i] = k .. "=" .. tointeger(n)
  end
  return args
end

-- ------------------------------------------------------------------ errors

--- `tostring` of a `juju.Error`.
function M.error_tostring(e)
  local cmd = type(e.cmd) == "table" and concat(e.cmd, " ") or tostring(e.cmd)
  if e.returncode == nil then
    return string.format("command [%s] could not be run: %s", cmd, tostring(e.message))
  end
  if e.signal then
    return string.format("command [%s] was killed by signal %d (returncode %d)",
                         cmd, e.signal, e.returncode)
  end
  if e.message then
    return string.format("command [%s] exited with status %d: %s", cmd, e.returncode, e.message)
  end
  return string.format("command [%s] exited with status %d", cmd, e.returncode)
end

return M
