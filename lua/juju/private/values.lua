--- Values as lyaml loads them (or as a test writes them inline): YAML
-- null, sequences and mappings told apart, and shown in messages with
-- their key paths. Shared by `juju.testing.metadata` and `tools/pack.lua`,
-- which check the same charmcraft.yaml.
--
-- Needs only lyaml (`lyaml.functional`), not juju.so: `juju.json.null` is
-- looked up the first time a userdata is checked, so tools/pack.lua runs
-- under a stock lua5.4.
--
-- Not part of the public API (not in `make doc`).
-- @module juju.private.values
-- @local

local functional = require "lyaml.functional"

local M = {}

local type, pairs, tostring, select, next = type, pairs, tostring, select, next
local getmetatable, rawget = getmetatable, rawget
local math_type, concat, sort, format = math.type, table.concat, table.sort, string.format

--- lyaml's null (`lyaml.null`: YAML's `~`, `null` and an empty value).
M.NULL = functional.NULL
-- what marks it: its metatable's _type
local NULL_TYPE = getmetatable(functional.NULL)._type

-- juju.json.null once known; false where juju cannot be loaded.
local json_null

--- Whether v is null: lyaml's, or juju.json.null.
-- @param v
-- @treturn boolean
function M.is_null(v)
  local t = type(v)
  if t == "table" then
    -- lyaml's own test (functional.isnull), without the table it makes
    -- for every value that has no metatable: deep copies call this a lot
    local mt = getmetatable(v)
    return type(mt) == "table" and rawget(mt, "_type") == NULL_TYPE
  end
  if t ~= "userdata" then return false end
  if json_null == nil then
    local ok, juju = pcall(require, "juju")
    json_null = ok and type(juju) == "table" and juju.json and juju.json.null or false
  end
  return v == json_null
end
local is_null = M.is_null

--- Whether v is a sequence: a non-empty array (keys 1..n).
-- @param v
-- @treturn boolean
function M.is_seq(v)
  if type(v) ~= "table" or is_null(v) then return false end
  local n = #v
  if n == 0 then return false end
  for k in pairs(v) do
    if math_type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end
local is_seq = M.is_seq

--- Whether v is a mapping (an empty table counts: YAML's `{}` and `[]`
-- load alike).
-- @param v
-- @treturn boolean
function M.is_map(v)
  return type(v) == "table" and not is_null(v) and not is_seq(v)
end

--- Whether v is a list: a sequence or an empty table.
-- @param v
-- @treturn boolean
function M.is_list(v)
  return type(v) == "table" and not is_null(v) and (next(v) == nil or is_seq(v))
end

-- (a table's copy)
local function copy(v)
  -- only a table is copied, and of the nulls only lyaml's is one
  local mt = getmetatable(v)
  if mt ~= nil and type(mt) == "table" and rawget(mt, "_type") == NULL_TYPE then return v end
  local out = {}
  for k, x in pairs(v) do
    if type(x) == "table" then x = copy(x) end
    out[k] = x
  end
  return out
end

--- A deep copy; null values stay the same value.
-- @param v
-- @return the copy
function M.copy(v)
  if type(v) ~= "table" then return v end
  return copy(v)
end

--- A value as messages show it: `"text"`, `the int 7`, `a list`, `null`.
-- @param v
-- @treturn string
function M.show(v)
  if v == nil or is_null(v) then return "null" end
  if type(v) == "string" then return format("%q", v) end
  if type(v) == "table" then
    if next(v) == nil then return "an empty table" end
    return is_seq(v) and "a list" or "a mapping"
  end
  if math_type(v) == "integer" then return "the int " .. v end
  if math_type(v) == "float" then return "the float " .. tostring(v) end
  return format("the %s %s", type(v), tostring(v))
end

--- The keys of a table, sorted (as text when their types differ).
-- @tparam ?table t nil is an empty table
-- @treturn {any,...}
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

--- The known key closest to key, for a "did you mean" hint: the one at
-- the smallest edit distance, at most 2 (ties: the first by name).
-- @param key what was given (only a string has a hint)
-- @tparam table known the known names as keys
-- @treturn ?string nil when nothing is close
function M.nearest(key, known)
  if type(key) ~= "string" then return nil end
  local best, best_d
  for k in pairs(known) do
    if type(k) == "string" then
      local prev = {}
      for j = 0, #k do prev[j] = j end
      for i = 1, #key do
        local cur = { [0] = i }
        local c = key:byte(i)
        for j = 1, #k do
          cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (c == k:byte(j) and 0 or 1))
        end
        prev = cur
      end
      local d = prev[#k]
      if d <= 2 and (not best_d or d < best_d or (d == best_d and k < best)) then best, best_d = k, d end
    end
  end
  return best
end

--- Join a key path for messages: `keypath("config.options", "port")` is
-- `config.options.port`.
-- @param ... the keys (each shown with tostring)
-- @treturn string
function M.keypath(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  return concat(parts, ".")
end

return M
