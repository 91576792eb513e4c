--- A charm's metadata, normalized: its endpoints, config options, actions,
-- storage, containers and resources, as the test harness and a simulated
-- unit need them.
--
--     local metadata = require "juju.testing.metadata"
--     local meta = metadata.load("charm-template/machine")
--     print(meta.name, meta.endpoints.website.role)     --> hello-lua  provides
--     print(meta:config_defaults().port)                 --> 8080
--     assert(meta:check_config{ port = 9000 } == nil)
--     local params = assert(meta:action_params("greet", { name = "Ada" }))
--
-- Read from `charmcraft.yaml` (with Debian's lua-yaml, which `dispatch`
-- carries), or from the older `metadata.yaml`, `config.yaml` and
-- `actions.yaml`; @{from_table} takes the same as a Lua table, for metadata
-- given inline in a test. What is read is checked the way Juju and
-- charmcraft check it (`tools/pack.lua` checks a charm with @{check}
-- before packing it): a mistake raises an error naming the file and the
-- key, every mistake found on a line of its own:
--
--     charmcraft.yaml: config.options.port.type: the int 7 is not a type Juju knows (...)
--
-- **The normalized metadata** (`meta` below; plain tables, shared with
-- nothing, free to change):
--
-- * `name` (string, the only key required), `title`, `summary`,
--   `description` (strings or nil), `subordinate` (boolean).
-- * `endpoints[name]`: `role` (`"requires"`, `"provides"` or `"peers"`,
--   the section it is in), `interface`, `scope` (`"global"`, Juju's
--   default, or `"container"`), `limit` (an integer, or nil for none),
--   `optional` (a boolean). `website: http` gives
--   `{role = "provides", interface = "http", scope = "global", optional = false}`.
-- * `extra_bindings[name] = true`.
-- * `config[option]`: `type` (`"string"`, `"int"`, `"float"`,
--   `"boolean"` or `"secret"`), `default` (nil when there is none:
--   `default:` absent, empty or null), `description`.
-- * `actions[name]`: `description`, `params` (`params[p]` is the
--   parameter's JSON schema as written, a table), `required` (the list of
--   required parameter names), `additional_properties` (false only when
--   the action says `additionalProperties: false`: Juju's default is
--   true), `parallel` (a boolean), `execution_group`.
-- * `storage[name]`: `type` (`"filesystem"` or `"block"`), `description`,
--   `location`, `shared`, `read_only` (booleans), `multiple`
--   (`{min =, max =}`: both 1 for a single store, `max` nil when there
--   is no upper bound, as for `range: 2+`), `minimum_size` (in MiB, `1G`
--   is 1024; nil when not given), `properties` (a list, `{"transient"}`
--   or empty).
-- * `containers[name]`: `resource`, `mounts` (a list of
--   `{storage =, location =}`), `uid`, `gid`.
-- * `resources[name]`: `type` (`"file"`, the default, or
--   `"oci-image"`), `filename` (a file's), `description`,
--   `upstream_source`.
-- * `assumes`: the list as written (strings, and `{["any-of"] = {...}}`
--   or `{["all-of"] = {...}}` tables), empty when there is none.
--
-- Not kept: the packing keys of charmcraft.yaml (`type`, `base`,
-- `platforms`, `parts`, ...: known, left to tools/pack.lua), `devices`,
-- `terms`, `links`, `documentation`, `charm-user` (checked for their
-- shape: a mapping, a list of strings, strings) and the old
-- metadata.yaml's `series`, `tags` and the like. Juju's implicit
-- `juju-info` endpoint is not listed.
-- @module juju.testing.metadata

local event_mod = require "juju.event"
local check = require "juju.private.check"
local values = require "juju.private.values"

local M = {}

local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error
local math_type, concat, sort, format = math.type, table.concat, table.sort, string.format

local is_null, is_seq, is_map, is_list = values.is_null, values.is_seq, values.is_map, values.is_list
local copy, show, sorted_keys, keypath = values.copy, values.show, values.sorted_keys, values.keypath

-- ------------------------------------------------------------ names

--- Whether a charm name is one Juju accepts:
-- `^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$` (lower-case letters and
-- digits in words joined by `-`, starting with a letter; every word after
-- the first holds a letter).
-- @param name
-- @treturn boolean
-- @usage assert(metadata.valid_charm_name("hello-lua") and not metadata.valid_charm_name("a-1"))
function M.valid_charm_name(name)
  if type(name) ~= "string" or not name:match("^[a-z][a-z0-9-]*$") or name:find("%-%-") or name:sub(-1) == "-" then
    return false
  end
  local first = true
  for part in name:gmatch("[^-]+") do
    if not first and not part:find("[a-z]") then return false end
    first = false
  end
  return true
end
local valid_charm_name = M.valid_charm_name

--- Endpoint, extra-binding, storage, container and resource names:
-- lower-case words of letters and digits joined by `-` or `_`, starting
-- with a letter (Juju's relation name rule).
local function valid_name(name)
  if type(name) ~= "string" or not name:match("^[a-z][a-z0-9_-]*$") then return false end
  return not name:find("[_-][_-]") and not name:find("[_-]$")
end

--- Whether an action name is one Juju accepts:
-- `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`.
-- @param name
-- @treturn boolean
-- @usage assert(metadata.valid_action_name("back-up") and not metadata.valid_action_name("back_up"))
M.valid_action_name = event_mod.is_action_name
local valid_action_name = M.valid_action_name

--- Config option names: non-empty, printable, no spaces.
local function valid_option_name(name)
  return type(name) == "string" and name:match("^[%w_.-]+$") ~= nil
end

--- Juju's reserved names ("juju", "juju-*"), free for a charm whose own
-- name starts with "juju-".
local function reserved(charm, name)
  if type(charm) == "string" and charm:sub(1, 5) == "juju-" then return nil end
  if name == "juju" then return '"juju" is reserved' end
  if name:sub(1, 5) == "juju-" then return 'the "juju-" prefix is reserved' end
  return nil
end

local NAME_RULE = "lower-case letters and digits in words joined by '-' or '_', starting with a letter"

-- ------------------------------------------------------------ JSON schema

--- The JSON types a Lua value is: a set.
local function json_types(v)
  if is_null(v) then return { null = true } end
  local t = type(v)
  if t == "string" then return { string = true } end
  if t == "boolean" then return { boolean = true } end
  if t == "number" then
    if math_type(v) == "integer" or (v == v and v % 1 == 0 and v ~= math.huge and v ~= -math.huge) then
      return { integer = true, number = true }
    end
    return { number = true }
  end
  if t == "table" then
    if next(v) == nil then return { array = true, object = true } end
    if is_seq(v) then return { array = true } end
    for k in pairs(v) do
      if type(k) ~= "string" then return {} end
    end
    return { object = true }
  end
  return {}
end

--- The JSON type names, for messages.
local function type_name(v)
  if is_null(v) then return "null" end
  local t = type(v)
  if t == "number" then return math_type(v) == "integer" and "integer" or "number" end
  if t == "table" then
    if next(v) == nil then return "empty table" end
    local ts = json_types(v)
    return ts.array and "array" or ts.object and "object" or "table with other keys"
  end
  return t
end

local JSON_TYPES = { string = true, integer = true, number = true, boolean = true,
                     array = true, object = true, null = true }

--- Deep equality of JSON-like values (1 equals 1.0, as in JSON).
local function same(a, b)
  if is_null(a) or is_null(b) then return is_null(a) and is_null(b) end
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, x in pairs(a) do
    if not same(x, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

--- Check value against schema (the subset in @{Metadata:action_params}),
-- adding `path: problem` strings to errs.
local function validate(value, schema, path, errs)
  if not is_map(schema) then return end
  local want = schema.type
  if want ~= nil then
    local list = type(want) == "string" and { want } or want
    local have = json_types(value)
    local ok = false
    for _, t in ipairs(list) do ok = ok or have[t] == true end
    if not ok then
      errs[#errs + 1] = format("%s: expected %s, got %s", path, concat(list, " or "),
        type(value) == "table" and type_name(value) or type_name(value) .. " " .. show(value))
      return
    end
  end
  if is_list(schema.enum) then
    local found = false
    for _, e in ipairs(schema.enum) do found = found or same(e, value) end
    if not found then
      local shown = {}
      for i, e in ipairs(schema.enum) do shown[i] = show(e) end
      errs[#errs + 1] = format("%s: %s is not one of %s", path, show(value), concat(shown, ", "))
    end
  end
  if schema.const ~= nil and not same(schema.const, value) then
    errs[#errs + 1] = format("%s: %s is not %s", path, show(value), show(schema.const))
  end
  if type(value) == "number" then
    local min, max = schema.minimum, schema.maximum
    local xmin, xmax = schema.exclusiveMinimum, schema.exclusiveMaximum
    if type(min) == "number" and (value < min or (xmin == true and value == min)) then
      errs[#errs + 1] = format("%s: %s is below the minimum %s%s", path, tostring(value), tostring(min),
        xmin == true and " (exclusive)" or "")
    end
    if type(max) == "number" and (value > max or (xmax == true and value == max)) then
      errs[#errs + 1] = format("%s: %s is above the maximum %s%s", path, tostring(value), tostring(max),
        xmax == true and " (exclusive)" or "")
    end
    if type(xmin) == "number" and value <= xmin then
      errs[#errs + 1] = format("%s: %s is not above %s", path, tostring(value), tostring(xmin))
    end
    if type(xmax) == "number" and value >= xmax then
      errs[#errs + 1] = format("%s: %s is not below %s", path, tostring(value), tostring(xmax))
    end
  elseif type(value) == "string" then
    local n = utf8.len(value) or #value
    if math_type(schema.minLength) == "integer" and n < schema.minLength then
      errs[#errs + 1] = format("%s: %s is shorter than %d characters", path, show(value), schema.minLength)
    end
    if math_type(schema.maxLength) == "integer" and n > schema.maxLength then
      errs[#errs + 1] = format("%s: %s is longer than %d characters", path, show(value), schema.maxLength)
    end
  elseif type(value) == "table" and not is_null(value) then
    local types = json_types(value)
    if types.array then
      if is_map(schema.items) then
        for i, x in ipairs(value) do validate(x, schema.items, format("%s[%d]", path, i), errs) end
      end
      if math_type(schema.minItems) == "integer" and #value < schema.minItems then
        errs[#errs + 1] = format("%s: %d items, fewer than %d", path, #value, schema.minItems)
      end
      if math_type(schema.maxItems) == "integer" and #value > schema.maxItems then
        errs[#errs + 1] = format("%s: %d items, more than %d", path, #value, schema.maxItems)
      end
    end
    if types.object then
      local props = is_map(schema.properties) and schema.properties or {}
      for _, k in ipairs(sorted_keys(value)) do
        if props[k] ~= nil then
          validate(value[k], props[k], path .. "." .. k, errs)
        elseif schema.additionalProperties == false then
          errs[#errs + 1] = format("%s.%s: not a parameter here (additionalProperties is false)", path, k)
        elseif is_map(schema.additionalProperties) then
          validate(value[k], schema.additionalProperties, path .. "." .. k, errs)
        end
      end
      if is_list(schema.required) then
        for _, k in ipairs(schema.required) do
          if value[k] == nil then errs[#errs + 1] = format("%s.%s: required, not given", path, k) end
        end
      end
    end
  end
end

-- ------------------------------------------------------------ checking

--- Fail with `path: message` in errs.
local function failer(errs)
  return function(path, fmt, ...)
    errs[#errs + 1] = { path = path, msg = fmt:format(...) }
  end
end

--- Report keys of a mapping not in known.
local function unknown_keys(map, known, at, fail, what)
  for _, k in ipairs(sorted_keys(map)) do
    if not known[k] then
      fail(keypath(at, k), "unknown key (%s: %s)", what, concat(sorted_keys(known), ", "))
    end
  end
end

--- The path of key under at (nil at: the top).
local function under(at, key)
  return at and (at .. "." .. key) or key
end

--- A string field that may be absent.
local function opt_string(map, key, at, fail)
  local v = map[key]
  if v == nil or is_null(v) then return nil end
  if type(v) ~= "string" then
    fail(under(at, key), "must be a string (got %s)", show(v))
    return nil
  end
  return v
end

--- A boolean field that may be absent (default false).
local function opt_bool(map, key, at, fail)
  local v = map[key]
  if v == nil or is_null(v) then return false end
  if type(v) ~= "boolean" then
    fail(under(at, key), "must be true or false (got %s)", show(v))
    return false
  end
  return v
end

--- A section that must be a mapping of names (or absent).
local function section(t, key, fail)
  local v = t[key]
  if v == nil or is_null(v) then return {} end
  if not is_map(v) then
    fail(key, "must be a mapping of names (got %s)", show(v))
    return {}
  end
  return v
end

--- The keys of charmcraft.yaml that are the charm's metadata, in the
-- order metadata.yaml has them (charmcraft's `CHARM_METADATA_KEYS`, and
-- `charm-user`): what tools/pack.lua writes into metadata.yaml.
-- @table METADATA_KEYS
M.METADATA_KEYS = {
  "name", "title", "summary", "description", "documentation", "links",
  "assumes", "subordinate", "requires", "provides", "peers", "extra-bindings",
  "storage", "devices", "resources", "containers", "terms", "charm-user",
}

--- The keys of charmcraft.yaml: the metadata, config and actions, and
-- the keys about building and packing the charm (checked by
-- tools/pack.lua, left alone here).
local CHARMCRAFT_KEYS = { config = true, actions = true }
for _, k in ipairs(M.METADATA_KEYS) do CHARMCRAFT_KEYS[k] = true end
for _, k in ipairs {
  "type", "base", "build-base", "bases", "platforms", "parts", "charmhub", "charm-libs", "analysis",
  "extensions",
} do CHARMCRAFT_KEYS[k] = true end

--- Keys only the older metadata.yaml has (Juju reads them, charmcraft.yaml
-- has no place for them).
local LEGACY_KEYS = {}
for _, k in ipairs {
  "series", "min-juju-version", "maintainer", "maintainers", "tags", "categories", "docs",
  "issues", "source", "website", "deployment", "payloads", "format", "revision",
} do LEGACY_KEYS[k] = true end

local ROLES = { "requires", "provides", "peers" }
local ENDPOINT_KEYS = { interface = true, scope = true, limit = true, optional = true, description = true }

local function check_endpoints(t, meta, fail)
  local seen = {}
  for _, role in ipairs(ROLES) do
    local rels = section(t, role, fail)
    for _, name in ipairs(sorted_keys(rels)) do
      local r, at = rels[name], keypath(role, name)
      if is_null(r) then r = {} end -- `db:` with nothing under it: no interface
      -- where the interface is written: `web: http`, or under interface:
      local iat = type(r) == "string" and at or at .. ".interface"
      local ep = { role = role, scope = "global", optional = false }
      if not valid_name(name) then
        fail(at, "not an endpoint name Juju accepts (%s)", NAME_RULE)
      elseif seen[name] then
        fail(at, "the endpoint name is also used in %s", seen[name])
      else
        seen[name] = role
      end
      if type(r) == "string" then
        ep.interface = r
      elseif is_map(r) then
        unknown_keys(r, ENDPOINT_KEYS, at, fail, "an endpoint has")
        ep.interface = r.interface
        if r.scope ~= nil and not is_null(r.scope) then
          if r.scope ~= "global" and r.scope ~= "container" then
            fail(at .. ".scope", "must be global or container (got %s)", show(r.scope))
          else
            ep.scope = r.scope
          end
        end
        if r.limit ~= nil and not is_null(r.limit) then
          if math_type(r.limit) ~= "integer" or r.limit < 0 then
            fail(at .. ".limit", "must be a non-negative int (got %s)", show(r.limit))
          else
            ep.limit = r.limit
          end
        end
        ep.optional = opt_bool(r, "optional", at, fail)
      else
        fail(at, "must be an interface name or a mapping with interface: (got %s)", show(r))
      end
      if not (type(r) == "string" or is_map(r)) then
        ep.interface = nil -- said already
      elseif ep.interface == nil or is_null(ep.interface) then
        fail(at, "has no interface:")
      elseif type(ep.interface) ~= "string" or ep.interface == "" then
        fail(iat, "must be a non-empty string (got %s)", show(ep.interface))
      elseif role ~= "requires" and reserved(meta.name, ep.interface) then
        fail(iat, "Juju refuses this interface for %s: %s", role, reserved(meta.name, ep.interface))
      end
      -- a subordinate's container-scoped requires may use juju-* (juju-info)
      local exempt = meta.subordinate and role == "requires" and ep.scope == "container"
      if valid_name(name) and not exempt and reserved(meta.name, name) then
        fail(at, "Juju refuses this endpoint name: %s", reserved(meta.name, name))
      end
      meta.endpoints[name] = ep
    end
  end
  if meta.subordinate then
    local ok = false
    for _, ep in pairs(meta.endpoints) do
      if ep.role == "requires" and ep.scope == "container" then ok = true end
    end
    if not ok then
      fail("subordinate", 'a subordinate charm needs a "requires" endpoint with scope: container')
    end
  end

  for _, name in ipairs(sorted_keys(section(t, "extra-bindings", fail))) do
    local v, at = t["extra-bindings"][name], keypath("extra-bindings", name)
    if not valid_name(name) then
      fail(at, "not a binding name Juju accepts (%s)", NAME_RULE)
    elseif meta.endpoints[name] then
      fail(at, "%s is an endpoint already (in %s)", name, meta.endpoints[name].role)
    end
    if not (is_null(v) or v == true) then
      fail(at, "must be empty (write `%s:` with nothing after it) (got %s)", name, show(v))
    end
    meta.extra_bindings[name] = true
  end
end

local CONFIG_TYPES = { string = true, int = true, float = true, boolean = true, secret = true }
local OPTION_KEYS = { type = true, default = true, description = true }

--- Whether value is of config type t; nil when fine, else a hint (maybe "").
local function config_type_problem(t, v)
  if t == "string" then
    if type(v) == "string" then return nil end
  elseif t == "secret" then
    if type(v) == "string" then
      if v == "" or v:match("^secret:") then return nil end
      return " (a secret is a secret: URI)"
    end
  elseif t == "int" then
    if math_type(v) == "integer" then return nil end
  elseif t == "float" then
    if type(v) == "number" then return nil end
  elseif type(v) == "boolean" then
    return nil
  end
  if type(v) == "string" and t ~= "string" then return " (quoted, so a string)" end
  return ""
end

local function check_config(t, meta, fail)
  local config = t.config
  if config == nil or is_null(config) then return end
  if not is_map(config) then
    return fail("config", "must be a mapping with options: (got %s)", show(config))
  end
  unknown_keys(config, { options = true }, "config", fail, "config holds only")
  local options = config.options
  if options == nil or is_null(options) then return end
  if not is_map(options) then
    return fail("config.options", "must be a mapping of option names (got %s)", show(options))
  end
  for _, name in ipairs(sorted_keys(options)) do
    local o, at = options[name], keypath("config.options", name)
    if not valid_option_name(name) then
      fail(at, "not an option name (letters, digits, '-', '_' and '.')")
    elseif not is_map(o) then
      fail(at, "must be a mapping with type:, default: and description: (got %s)", show(o))
    else
      unknown_keys(o, OPTION_KEYS, at, fail, "an option has")
      local opt = { description = opt_string(o, "description", at, fail) }
      if o.type == nil or is_null(o.type) then
        fail(at, "has no type: (one of string, int, float, boolean, secret)")
      elseif not CONFIG_TYPES[o.type] then
        fail(at .. ".type", "%s is not a type Juju knows (string, int, float, boolean, secret)", show(o.type))
      else
        opt.type = o.type
        local d = o.default
        if d ~= nil and not is_null(d) then
          local hint = config_type_problem(o.type, d)
          -- a float's default is written as a float (in config.yaml Juju reads 8 as an int)
          if hint == nil and o.type == "float" and math_type(d) == "integer" then
            hint = (" (Juju reads %d as an int: write %d.0)"):format(d, d)
          end
          if hint then
            fail(at .. ".default", "%s is not of type %s%s", show(d), o.type, hint)
          else
            opt.default = d
          end
        end
        meta.config[name] = opt
      end
    end
  end
end

--- Look for JSON-Schema keys Juju refuses ($ref, $schema) anywhere.
local function check_schema_keys(v, at, fail)
  if type(v) ~= "table" or is_null(v) then return end
  for _, k in ipairs(sorted_keys(v)) do
    if k == "$ref" or k == "$schema" then
      fail(keypath(at, k), "Juju refuses the JSON-Schema key %s in actions", k)
    else
      check_schema_keys(v[k], keypath(at, k), fail)
    end
  end
end

--- A parameter's schema: the types known, enum a list, its default valid.
local function check_param(p, at, fail)
  local types = p.type
  if types ~= nil then
    local list = type(types) == "string" and { types } or (is_seq(types) and types or nil)
    if not list then
      fail(at .. ".type", "must be a JSON type or a list of them (got %s)", show(types))
      return
    end
    for _, ty in ipairs(list) do
      if not JSON_TYPES[ty] then
        fail(at .. ".type", "%s is not a JSON type (string, integer, number, boolean, array, object, null)",
          show(ty))
        return
      end
    end
  end
  if p.enum ~= nil and not is_seq(p.enum) then
    fail(at .. ".enum", "must be a non-empty list (got %s)", show(p.enum))
    return
  end
  if p.default ~= nil and not is_null(p.default) then
    local errs = {}
    validate(p.default, p, "default", errs)
    for _, e in ipairs(errs) do fail(at .. "." .. e:match("^[^:]*"), "%s", e:match("^[^:]*: (.*)$")) end
  end
end

local function check_actions(t, meta, fail)
  local actions = t.actions
  if actions == nil or is_null(actions) then return end
  if not is_map(actions) then
    return fail("actions", "must be a mapping of action names (got %s)", show(actions))
  end
  for _, name in ipairs(sorted_keys(actions)) do
    local a, at = actions[name], keypath("actions", name)
    if not valid_action_name(name) then
      fail(at, "Juju refuses this action name: lower-case letters, digits and '-', "
        .. "starting and ending with a letter or digit")
    elseif reserved(meta.name, name) then
      fail(at, "Juju refuses this action name: %s", reserved(meta.name, name))
    end
    if is_null(a) then a = {} end
    if not is_map(a) then
      fail(at, "must be a mapping (description:, params:, required:) (got %s)", show(a))
    else
      local act = {
        description = opt_string(a, "description", at, fail),
        execution_group = opt_string(a, "execution-group", at, fail),
        parallel = opt_bool(a, "parallel", at, fail),
        params = {}, required = {}, additional_properties = true,
      }
      opt_string(a, "title", at, fail)
      local params = a.params
      if params ~= nil and not is_null(params) and not is_map(params) then
        fail(at .. ".params", "must be a mapping of parameter names (got %s)", show(params))
      elseif params ~= nil and not is_null(params) then
        for _, p in ipairs(sorted_keys(params)) do
          local s = params[p]
          if type(p) ~= "string" then
            fail(keypath(at, "params", tostring(p)), "a parameter name must be a string")
          elseif not is_map(s) then
            fail(keypath(at, "params", p), "must be a mapping (type:, description:) (got %s)", show(s))
          else
            check_param(s, keypath(at, "params", p), fail)
            act.params[p] = copy(s)
          end
        end
      end
      local req = a.required
      if req ~= nil and not is_null(req) then
        if not is_list(req) then
          fail(at .. ".required", "must be a list of parameter names (got %s)", show(req))
        else
          for _, p in ipairs(req) do
            if type(p) ~= "string" then
              fail(at .. ".required", "%s is not a parameter name", show(p))
            elseif params == nil or is_null(params) or not is_map(params) or params[p] == nil then
              fail(at .. ".required", "%q is not among the params", p)
            else
              act.required[#act.required + 1] = p
            end
          end
        end
      end
      local extra = a.additionalProperties
      if extra ~= nil and not is_null(extra) then
        if type(extra) ~= "boolean" then
          fail(at .. ".additionalProperties", "must be true or false here (got %s)", show(extra))
        else
          act.additional_properties = extra
        end
      end
      check_schema_keys(a, at, fail)
      meta.actions[name] = act
    end
  end
end

local STORAGE_KEYS = { type = true, description = true, location = true, shared = true,
                       ["read-only"] = true, multiple = true, ["minimum-size"] = true,
                       properties = true }
local SIZE_UNITS = { M = 1, G = 1024, T = 1024 ^ 2, P = 1024 ^ 3, E = 1024 ^ 4, Z = 1024 ^ 5, Y = 1024 ^ 6 }

--- `range:` of multiple: an int m, or "m", "m-n", "m+", "m-".
local function parse_range(v)
  if math_type(v) == "integer" then
    if v > 0 then return v, v end
    return nil
  end
  if type(v) ~= "string" then return nil end
  local m = v:match("^(%d+)$")
  if m then
    m = math.tointeger(tonumber(m))
    if m and m > 0 then return m, m end
    return nil
  end
  local lo, rest = v:match("^(%d+)([-+]%d*)$")
  if not lo then return nil end
  lo = math.tointeger(tonumber(lo))
  if rest == "+" or rest == "-" then return lo, nil end
  if rest:sub(1, 1) ~= "-" then return nil end
  local hi = math.tointeger(tonumber(rest:sub(2)))
  if not hi or hi < 1 or hi < lo then return nil end
  return lo, hi
end

--- `minimum-size:` in MiB: a number with an optional unit M, G, T, P,
-- E, Z, Y (and B or iB after it); M when none.
local function parse_size(v)
  if math_type(v) == "integer" and v >= 0 then return v end
  if type(v) ~= "string" then return nil end
  local num, unit = v:match("^(%d+%.?%d*)%s*([MGTPEZYmgtpezy]?)[iI]?[bB]?$")
  if not num or (unit == "" and v:match("[iIbB]$")) then return nil end
  local mib = tonumber(num) * SIZE_UNITS[unit == "" and "M" or unit:upper()]
  return math.tointeger(math.ceil(mib))
end

local function check_storage(t, meta, fail)
  for _, name in ipairs(sorted_keys(section(t, "storage", fail))) do
    local s, at = t.storage[name], keypath("storage", name)
    if not valid_name(name) then fail(at, "not a storage name Juju accepts (%s)", NAME_RULE) end
    if not is_map(s) then
      fail(at, "must be a mapping with type: (got %s)", show(s))
    else
      unknown_keys(s, STORAGE_KEYS, at, fail, "storage has")
      local st = {
        description = opt_string(s, "description", at, fail),
        location = opt_string(s, "location", at, fail),
        shared = opt_bool(s, "shared", at, fail),
        read_only = opt_bool(s, "read-only", at, fail),
        multiple = { min = 1, max = 1 },
        properties = {},
      }
      if s.type == nil or is_null(s.type) then
        fail(at, "has no type: (filesystem or block)")
      elseif s.type ~= "filesystem" and s.type ~= "block" then
        fail(at .. ".type", "must be filesystem or block (got %s)", show(s.type))
      else
        st.type = s.type
        if st.location and s.type == "block" then
          fail(at .. ".location", "Juju refuses a location for block storage")
        end
      end
      local mult = s.multiple
      if mult ~= nil and not is_null(mult) then
        if not is_map(mult) then
          fail(at .. ".multiple", "must be a mapping with range: (got %s)", show(mult))
        else
          unknown_keys(mult, { range = true }, at .. ".multiple", fail, "multiple has")
          if mult.range ~= nil then
            local lo, hi = parse_range(mult.range)
            if not lo then
              fail(at .. ".multiple.range", "%s is not a count: m, m-n, m+ or m- (m at least 1)", show(mult.range))
            else
              st.multiple = { min = lo, max = hi }
            end
          end
        end
      end
      local size = s["minimum-size"]
      if size ~= nil and not is_null(size) then
        st.minimum_size = parse_size(size)
        if not st.minimum_size then
          fail(at .. ".minimum-size", "%s is not a size (a number with M, G, T, P, E, Z or Y)", show(size))
        end
      end
      local props = s.properties
      if props ~= nil and not is_null(props) then
        if not is_list(props) then
          fail(at .. ".properties", "must be a list (got %s)", show(props))
        else
          for _, p in ipairs(props) do
            if p ~= "transient" then
              fail(at .. ".properties", "%s is not a storage property (only transient)", show(p))
            else
              st.properties[#st.properties + 1] = p
            end
          end
        end
      end
      meta.storage[name] = st
    end
  end
end

local RESOURCE_KEYS = { type = true, filename = true, description = true, ["upstream-source"] = true }

local function check_resources(t, meta, fail)
  for _, name in ipairs(sorted_keys(section(t, "resources", fail))) do
    local r, at = t.resources[name], keypath("resources", name)
    if not valid_name(name) then fail(at, "not a resource name Juju accepts (%s)", NAME_RULE) end
    if is_null(r) then r = {} end
    if not is_map(r) then
      fail(at, "must be a mapping with type: and filename: (got %s)", show(r))
    else
      unknown_keys(r, RESOURCE_KEYS, at, fail, "a resource has")
      local res = {
        type = "file",
        filename = opt_string(r, "filename", at, fail),
        description = opt_string(r, "description", at, fail),
        upstream_source = opt_string(r, "upstream-source", at, fail),
      }
      if r.type ~= nil and not is_null(r.type) then
        if r.type ~= "file" and r.type ~= "oci-image" then
          fail(at .. ".type", "must be file or oci-image (got %s)", show(r.type))
        else
          res.type = r.type
        end
      end
      if res.type == "file" then
        if not res.filename or res.filename == "" then
          fail(at, "a file resource needs filename:")
        elseif res.filename:find("/", 1, true) then
          fail(at .. ".filename", "a file name, not a path (got %s)", show(res.filename))
        end
      end
      meta.resources[name] = res
    end
  end
end

local CONTAINER_KEYS = { resource = true, bases = true, mounts = true, uid = true, gid = true }

local function check_containers(t, meta, fail)
  for _, name in ipairs(sorted_keys(section(t, "containers", fail))) do
    local c, at = t.containers[name], keypath("containers", name)
    if not valid_name(name) then fail(at, "not a container name Juju accepts (%s)", NAME_RULE) end
    if not is_map(c) then
      fail(at, "must be a mapping with resource: or bases: (got %s)", show(c))
    else
      unknown_keys(c, CONTAINER_KEYS, at, fail, "a container has")
      local ct = { resource = opt_string(c, "resource", at, fail), mounts = {} }
      if ct.resource then
        local r = meta.resources[ct.resource]
        if not r then
          fail(at .. ".resource", "no resource %s in resources:", show(ct.resource))
        elseif r.type ~= "oci-image" then
          fail(at .. ".resource", "the resource %s is not an oci-image", show(ct.resource))
        end
      elseif c.bases == nil then
        fail(at, "needs resource: (an oci-image resource) or bases:")
      end
      local mounts = c.mounts
      if mounts ~= nil and not is_null(mounts) then
        if not is_list(mounts) then
          fail(at .. ".mounts", "must be a list of {storage:, location:} (got %s)", show(mounts))
        else
          for i, m in ipairs(mounts) do
            local mat = keypath(at, "mounts", i)
            if not is_map(m) then
              fail(mat, "must be a mapping with storage: and location: (got %s)", show(m))
            else
              unknown_keys(m, { storage = true, location = true }, mat, fail, "a mount has")
              local st, loc = opt_string(m, "storage", mat, fail), opt_string(m, "location", mat, fail)
              if not st then
                fail(mat, "has no storage:")
              elseif not meta.storage[st] and not (is_map(t.storage) and t.storage[st] ~= nil) then
                fail(mat .. ".storage", "no storage %s in storage:", show(st))
              end
              if not loc then fail(mat, "has no location:") end
              ct.mounts[#ct.mounts + 1] = { storage = st, location = loc }
            end
          end
        end
      end
      for _, k in ipairs { "uid", "gid" } do
        local v = c[k]
        if v ~= nil and not is_null(v) then
          if math_type(v) ~= "integer" or v < 0 then
            fail(keypath(at, k), "must be a non-negative int (got %s)", show(v))
          elseif v >= 1000 and v < 10000 then
            fail(keypath(at, k), "%d is in the range Juju reserves (1000-9999)", v)
          else
            ct[k] = v
          end
        end
      end
      meta.containers[name] = ct
    end
  end
end

--- An assumes expression: a feature (string), or any-of/all-of a list.
local function check_assumes(list, at, fail)
  for i, e in ipairs(list) do
    local eat = keypath(at, i)
    if type(e) == "string" then
      if e == "" then fail(eat, "an empty feature") end
    elseif is_map(e) then
      local keys = sorted_keys(e)
      local k = keys[1]
      if #keys ~= 1 or (k ~= "any-of" and k ~= "all-of") then
        fail(eat, "must be a feature or a mapping of any-of: or all-of: (got keys %s)", concat(keys, ", "))
      elseif not is_seq(e[k]) then
        fail(keypath(eat, k), "must be a non-empty list (got %s)", show(e[k]))
      else
        check_assumes(e[k], keypath(eat, k), fail)
      end
    else
      fail(eat, "must be a feature or a mapping of any-of: or all-of: (got %s)", show(e))
    end
  end
end

local Metadata = {}
local metadata_mt = { __name = "juju.testing.Metadata", __index = Metadata }

--- Check a charmcraft.yaml-shaped table: the normalized metadata and the
-- problems, each `{path =, msg =}`. legacy_ok(key) says whether a key
-- of the older metadata.yaml is fine there (it came from that file).
local function normalize(t, legacy_ok)
  local errs = {}
  local fail = failer(errs)
  local meta = setmetatable({
    endpoints = {}, extra_bindings = {}, config = {}, actions = {}, storage = {},
    containers = {}, resources = {}, assumes = {}, subordinate = false,
  }, metadata_mt)
  if not is_map(t) or next(t) == nil then
    fail("(top)", "must be a mapping of keys (name:, summary:, ...) (got %s)", show(t))
    return meta, errs
  end
  for _, k in ipairs(sorted_keys(t)) do
    if type(k) ~= "string" then
      fail(tostring(k), "a key must be a string")
    elseif not CHARMCRAFT_KEYS[k] and not (LEGACY_KEYS[k] and legacy_ok and legacy_ok(k)) then
      fail(k, "unknown key (charmcraft.yaml keys: %s)", concat(sorted_keys(CHARMCRAFT_KEYS), ", "))
    end
  end
  if t.name == nil or is_null(t.name) then
    fail("name", "missing")
  elseif not valid_charm_name(t.name) then
    fail("name", "%s is not a charm name Juju accepts (lower-case letters and digits in words "
      .. "joined by '-', starting with a letter)", show(t.name))
  else
    meta.name = t.name
  end
  meta.title = opt_string(t, "title", nil, fail)
  meta.summary = opt_string(t, "summary", nil, fail)
  meta.description = opt_string(t, "description", nil, fail)
  meta.subordinate = opt_bool(t, "subordinate", nil, fail)
  -- checked, not kept
  opt_string(t, "documentation", nil, fail)
  opt_string(t, "charm-user", nil, fail)
  section(t, "links", fail)
  section(t, "devices", fail)
  if t.terms ~= nil and not is_null(t.terms) then
    if not is_list(t.terms) then
      fail("terms", "must be a list (got %s)", show(t.terms))
    else
      for i, term in ipairs(t.terms) do
        if type(term) ~= "string" then fail(keypath("terms", i), "must be a string (got %s)", show(term)) end
      end
    end
  end
  if t.assumes ~= nil and not is_null(t.assumes) then
    if not is_list(t.assumes) then
      fail("assumes", "must be a list (got %s)", show(t.assumes))
    else
      check_assumes(t.assumes, "assumes", fail)
      meta.assumes = copy(t.assumes)
    end
  end
  check_endpoints(t, meta, fail)
  check_config(t, meta, fail)
  check_actions(t, meta, fail)
  check_storage(t, meta, fail)
  check_resources(t, meta, fail)
  check_containers(t, meta, fail)
  return meta, errs
end

--- Every problem as `path: msg` (or msg alone for an empty path).
local function problem_lines(errs)
  local lines = {}
  for i, e in ipairs(errs) do
    lines[i] = e.path == "" and e.msg or (e.path .. ": " .. e.msg)
  end
  return lines
end

--- The problems as one message: `source: path: msg` per line.
local function message(source_of, errs)
  local lines = {}
  for _, e in ipairs(errs) do
    local source, path = source_of(e.path)
    lines[#lines + 1] = path == "" and (source .. ": " .. e.msg) or (source .. ": " .. path .. ": " .. e.msg)
  end
  return concat(lines, "\n")
end

-- ------------------------------------------------------------ public

--- The metadata from a table shaped like charmcraft.yaml (as lyaml loads
-- it: YAML null is `lyaml.null`; `juju.json.null` works too), for
-- metadata given inline in a test. Raises an error listing every problem,
-- at the caller's line:
-- `metadata: config.options.port.default: "80" is not of type int (...)`.
-- @tparam table t the keys of charmcraft.yaml (`name` is the only one
--   required)
-- @treturn Metadata the normalized metadata (see the module's description)
-- @usage
-- local meta = metadata.from_table{
--   name = "db-client",
--   requires = { db = { interface = "pgsql", limit = 1 } },
--   config = { options = { port = { type = "int", default = 5432 } } },
-- }
-- assert(meta.endpoints.db.role == "requires")
function M.from_table(t)
  local meta, errs = normalize(t)
  if #errs > 0 then
    error(message(function(path) return "metadata", path end, errs), 2)
  end
  return meta
end

--- Check a table shaped like charmcraft.yaml without raising: every
-- problem @{from_table} would raise for, as a list, and the metadata
-- normalized as far as it could be. For a tool that reports the problems
-- its own way: `tools/pack.lua` checks a charm's metadata, config and
-- actions with this (and the keys about packing itself), naming
-- charmcraft.yaml on each line.
-- @tparam table t the keys of charmcraft.yaml, as lyaml loads them (the
--   packing keys, `type`, `base`, `platforms`, `parts`..., are known and
--   left alone)
-- @treturn {string,...} the problems, each `key.path: what is wrong`, in
--   the order found; empty when there are none
-- @treturn Metadata the normalized metadata (see the module's
--   description); where there are problems, what could be read
-- @usage
-- local problems = metadata.check(lyaml.load(text))
-- for _, p in ipairs(problems) do print("charmcraft.yaml: " .. p) end
function M.check(t)
  local meta, errs = normalize(t)
  return problem_lines(errs), meta
end

--- Read a whole file: its text, or nil when it does not exist (any other
-- failure raises).
local function read_file(path)
  local f, err, code = io.open(path, "rb")
  if not f then
    if code == 2 then return nil end
    error(err, 0)
  end
  local text, rerr = f:read("a")
  f:close()
  if not text then error(path .. ": " .. tostring(rerr), 0) end
  return text
end

--- Parse YAML text of a file; a syntax error raises `path:line:column:
-- reason`.
local function parse_yaml(path, text)
  local ok, doc = pcall(require("lyaml").load, text)
  if not ok then error(path .. ":" .. tostring(doc), 0) end
  return doc
end

--- The metadata of the charm in a directory: `dir/charmcraft.yaml`, or the
-- older `metadata.yaml` with `config.yaml` and `actions.yaml` (each
-- optional). A charmcraft.yaml that holds only packing keys (as older
-- charms have it) is read with the older files; a key given in both
-- raises, as charmcraft does. In `config.yaml` (read by Juju itself) an
-- option without `type:` is a string, as Juju has it; in charmcraft.yaml
-- it is an error, as charmcraft has it.
--
-- Raises when neither charmcraft.yaml nor metadata.yaml is there, for a
-- YAML syntax error (`dir/charmcraft.yaml:3:2: did not find expected key`)
-- and for metadata Juju or charmcraft would refuse, naming the file and
-- the key: `dir/config.yaml: options.port.type: the int 7 is not a type ...`.
-- @tparam string dir the charm's directory
-- @treturn Metadata the normalized metadata (see the module's description)
-- @usage
-- local meta = metadata.load(os.getenv("JUJU_CHARM_DIR") or ".")
-- for name, ep in pairs(meta.endpoints) do print(name, ep.role, ep.interface) end
function M.load(dir)
  check.arg(1, "load", dir, "string")
  dir = dir:gsub("(.)/+$", "%1")
  local doc, from = {}, {}
  -- a document must be a mapping; only actions.yaml may be empty
  local function need_map(path, v, may_be_empty)
    if v == nil or is_null(v) then
      if may_be_empty then return {} end
      error(path .. ": the file is empty", 0)
    end
    if not is_map(v) then error(format("%s: the document must be a mapping (got %s)", path, show(v)), 0) end
    return v
  end
  local ccpath = dir .. "/charmcraft.yaml"
  local cctext = read_file(ccpath)
  if cctext then
    for k, v in pairs(need_map(ccpath, parse_yaml(ccpath, cctext))) do
      doc[k], from[k] = v, ccpath
    end
  end
  local mdpath = dir .. "/metadata.yaml"
  local mdtext = read_file(mdpath)
  if not cctext and not mdtext then
    error(format("%s: neither charmcraft.yaml nor metadata.yaml is there", dir), 0)
  end
  local function merge(path, key, v)
    if doc[key] ~= nil then
      error(format("%s: %s is given in %s too: keep it in one of them", path, key, from[key]), 0)
    end
    doc[key], from[key] = v, path
  end
  if mdtext then
    for k, v in pairs(need_map(mdpath, parse_yaml(mdpath, mdtext))) do merge(mdpath, k, v) end
  end
  local cfpath = dir .. "/config.yaml"
  local cftext = read_file(cfpath)
  if cftext then
    local config = need_map(cfpath, parse_yaml(cfpath, cftext))
    -- Juju's own rule for config.yaml: an option without a type is a string
    if is_map(config.options) then
      for _, o in pairs(config.options) do
        if is_map(o) and o.type == nil then o.type = "string" end
      end
    end
    merge(cfpath, "config", config)
  end
  local acpath = dir .. "/actions.yaml"
  local actext = read_file(acpath)
  if actext then merge(acpath, "actions", need_map(acpath, parse_yaml(acpath, actext), true)) end

  local meta, errs = normalize(doc, function(k) return from[k] == mdpath end)
  if #errs > 0 then
    local main = mdtext and mdpath or ccpath
    error(message(function(path)
      local top = path:match("^[^.]+")
      local file = from[top] or main
      if file == cfpath or file == acpath then
        return file, path:sub(#top + 2)   -- config.yaml holds what is under config:
      end
      return file, path
    end, errs), 0)
  end
  return meta
end

--- The config Juju gives a unit that set nothing: each option's default,
-- for the options that have one (`config-get` leaves out an option
-- without a default).
-- @treturn table option name -> default (a new table)
-- @usage
-- local config = meta:config_defaults()
-- for k, v in pairs(overrides) do config[k] = v end
function Metadata:config_defaults()
  check.self(self, metadata_mt, "meta", "config_defaults")
  local out = {}
  for name, o in pairs(self.config) do
    if o.default ~= nil then out[name] = copy(o.default) end
  end
  return out
end

--- Check config values against the options, as `juju config` checks
-- them: every key an option, every value of the option's type (int an
-- integer, float a number, boolean a boolean, string a string, secret a
-- `secret:` URI or ""). A null (`lyaml.null`, `juju.json.null`) means
-- "back to the default" and is fine.
-- @tparam table config option name -> value
-- @treturn ?string nil when fine, else every problem, `; ` between them
-- @usage
-- local problem = meta:check_config{ port = "80" }
-- --> 'config option "port": "80" is not of type int (quoted, so a string)'
function Metadata:check_config(config)
  check.self(self, metadata_mt, "meta", "check_config")
  check.arg(1, "check_config", config, "table")
  local errs = {}
  for _, name in ipairs(sorted_keys(config)) do
    local v, o = config[name], self.config[name]
    if not o then
      local known = sorted_keys(self.config)
      errs[#errs + 1] = format("unknown config option %s (%s)", show(name),
        #known == 0 and "the charm has no config options" or ("options: " .. concat(known, ", ")))
    elseif not is_null(v) then
      local hint = config_type_problem(o.type, v)
      if hint then
        errs[#errs + 1] = format("config option %q: %s is not of type %s%s", name, show(v), o.type, hint)
      end
    end
  end
  if #errs == 0 then return nil end
  return concat(errs, "; ")
end

--- The params an action runs with, as Juju makes them before running it:
-- the params given, checked against the action's schema (Juju refuses the
-- action otherwise), then each absent parameter's declared `default`
-- filled in.
--
-- The JSON-schema subset checked: `type` (string, integer, number,
-- boolean, array, object, null, or a list of them; an integer is a
-- number without a fraction, 2.0 too; an empty table is an array or an
-- object), `enum`, `const`, `required`, `additionalProperties` (false, or
-- a schema), `properties`, `items`, `minimum`, `maximum`,
-- `exclusiveMinimum`, `exclusiveMaximum`, `minLength`, `maxLength`,
-- `minItems`, `maxItems`, at any depth. Other keywords (`pattern`,
-- `format`, `oneOf`, ...) are not checked.
-- @tparam string name the action
-- @tparam[opt] table params what `juju run` would pass (default none)
-- @treturn ?table all the params (a new table), or nil
-- @treturn ?string why not: an unknown action, or every problem with the
--   params (`action "greet": params.name: required, not given`)
-- @usage
-- local params, err = meta:action_params("greet", { name = "Ada" })
-- assert(params, err)
function Metadata:action_params(name, params)
  check.self(self, metadata_mt, "meta", "action_params")
  check.arg(1, "action_params", name, "string")
  check.arg(2, "action_params", params, "?table")
  local action = self.actions[name]
  if not action then
    local known = sorted_keys(self.actions)
    return nil, format("unknown action %s (%s)", show(name),
      #known == 0 and "the charm has no actions" or ("actions: " .. concat(known, ", ")))
  end
  params = params or {}
  local errs = {}
  validate(params, {
    type = "object", properties = action.params, required = action.required,
    additionalProperties = action.additional_properties,
  }, "params", errs)
  if #errs > 0 then
    sort(errs)
    return nil, format("action %q: %s", name, concat(errs, "; "))
  end
  local out = copy(params)
  for p, schema in pairs(action.params) do
    if out[p] == nil and schema.default ~= nil and not is_null(schema.default) then
      out[p] = copy(schema.default)
    end
  end
  return out
end

return M
