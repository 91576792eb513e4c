--- Argument checks for the framework: programming mistakes are raised at
-- the charm's line, not the framework's.
--
-- Not part of the public API (not in `make doc`).
-- @module juju.private.check
-- @local

local M = {}

local type, tostring, error, getinfo, pairs = type, tostring, error, debug.getinfo, pairs
local math_type = math.type

--- Is this chunk the framework's own (embedded as "@lua/juju/...")?
local function is_framework(source)
  return source:find("^@lua/juju/") ~= nil
end

--- Raise msg, blaming the first frame outside the framework (and outside
-- C functions): the line of the charm that made the mistake.
-- @tparam string msg
function M.raise(msg)
  local level = 2
  local info = getinfo(level, "S")
  while info and (info.what == "C" or is_framework(info.source)) do
    level = level + 1
    info = getinfo(level, "S")
  end
  error(msg, info and level or 1)
end

--- Check that argument n of fname has Lua type want ("table", "string",
-- "function", ...); "?type" allows nil.
-- @tparam int n
-- @tparam string fname
-- @param value
-- @tparam string want
function M.arg(n, fname, value, want)
  local optional = want:sub(1, 1) == "?"
  if optional then
    if value == nil then return end
    want = want:sub(2)
  end
  if type(value) ~= want then
    M.raise(("bad argument #%d to '%s' (%s expected, got %s)"):format(
      n, fname, want, value == nil and "no value" or type(value)))
  end
end

--- Raise a mistake in an option of argument n of fname, as Lua words a
-- bad argument: "bad argument #2 to 'run' (option 'timeout': number
-- expected, got string)"; with no detail, the option is unknown.
-- @tparam int n the argument number of the options
-- @tparam string fname
-- @param key the option
-- @tparam ?string detail what is wrong with its value
function M.bad_option(n, fname, key, detail)
  if detail == nil then
    M.raise(("bad argument #%d to '%s' (unknown option '%s')"):format(n, fname, tostring(key)))
  end
  M.raise(("bad argument #%d to '%s' (option '%s': %s)"):format(n, fname, tostring(key), detail))
end

--- Check an options table against a spec {key = "type"} ("number|string"
-- for either, "any" for a value the caller checks itself); unknown keys
-- and wrong types raise (@{bad_option}).
-- Returns a shallow copy (or an empty table).
-- @tparam int n the argument number of the options
-- @tparam string fname
-- @tparam ?table opts
-- @tparam table spec
-- @treturn table
function M.options(n, fname, opts, spec)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    M.raise(("bad argument #%d to '%s' (options: table expected, got %s)"):format(n, fname, type(opts)))
  end
  local copy = {}
  for key, value in pairs(opts) do
    local want = spec[key]
    if want == nil then M.bad_option(n, fname, key) end
    local t, ok = type(value), want == "any"
    for one in want:gmatch("[^|]+") do ok = ok or one == t end
    if not ok then M.bad_option(n, fname, key, ("%s expected, got %s"):format(want, t)) end
    copy[key] = value
  end
  return copy
end

--- Check a time in seconds, option key of argument n of fname: nil, or
-- a positive finite number. Returns it.
-- @tparam int n
-- @tparam string fname
-- @tparam string key
-- @tparam ?number value (already checked to be a number)
-- @treturn ?number
function M.seconds(n, fname, key, value)
  if value ~= nil and not (value > 0 and value < math.huge) then
    M.bad_option(n, fname, key, ("a positive number of seconds expected, got %s"):format(tostring(value)))
  end
  return value
end

--- Check a command line, argument n of fname: a non-empty list of
-- strings without NUL bytes. Returns a copy of it.
-- @tparam int n
-- @tparam string fname
-- @param argv
-- @treturn {string,...}
function M.argv(n, fname, argv)
  local function bad(what, ...)
    M.raise(("bad argument #%d to '%s' (" .. what .. ")"):format(n, fname, ...))
  end
  if type(argv) ~= "table" then
    bad("argv: a list of strings expected, got %s", argv == nil and "no value" or type(argv))
  end
  local len = #argv
  if len == 0 then bad("argv is empty") end
  local copy, count = {}, 0
  for k, v in pairs(argv) do
    count = count + 1
    if math_type(k) ~= "integer" or k < 1 or k > len then bad("argv is not a list: key %s", tostring(k)) end
    if type(v) ~= "string" then bad("argv[%d] is a %s, not a string", k, type(v)) end
    if v:find("\0", 1, true) then bad("argv[%d] contains a NUL byte", k) end
    copy[k] = v
  end
  if count ~= len then bad("argv has holes") end
  return copy
end

--- Check a table of environment variables, option key of argument n of
-- fname: names are variable names, values strings without NUL bytes or
-- numbers (made strings), or false when allow_false (the caller's way to
-- unset one). Returns name -> string (or false).
-- @tparam int n
-- @tparam string fname
-- @tparam string key the option
-- @tparam table env
-- @tparam ?boolean allow_false
-- @treturn table
function M.environment(n, fname, key, env, allow_false)
  local out = {}
  for name, value in pairs(env) do
    if type(name) ~= "string" or name == "" or name:find("[=%z]") then
      M.bad_option(n, fname, key, ("%s is not a variable name"):format(
        type(name) == "string" and ("'" .. name:gsub("%z", "\\0") .. "'") or type(name)))
    end
    local t = type(value)
    if t == "number" then
      value = tostring(value)
    elseif t == "string" then
      if value:find("\0", 1, true) then M.bad_option(n, fname, key, name .. " contains a NUL byte") end
    elseif not (allow_false and value == false) then
      M.bad_option(n, fname, key, ("%s: string%s expected, got %s"):format(
        name, allow_false and ", number or false" or " or number", t))
    end
    out[name] = value
  end
  return out
end

--- Check that a method was called with ':' on an object of its class:
-- `c.on(...)` for `c:on(...)` is the mistake this names.
-- @param obj what came as self
-- @tparam table mt the class's metatable
-- @tparam string var how the docs name an object of the class ("c")
-- @tparam string fname the method
function M.self(obj, mt, var, fname)
  if getmetatable(obj) ~= mt then
    M.raise(("call it as %s:%s(...), not %s.%s(...)"):format(var, fname, var, fname))
  end
end

--- An __index for objects with methods and lazily computed fields: a
-- method by name, else the field computed once (and kept with rawset).
-- @tparam table methods name -> function
-- @tparam table lazy name -> function(obj) giving the field's value
-- @treturn function
function M.lazy_index(methods, lazy)
  return function(obj, key)
    local method = methods[key]
    if method ~= nil then return method end
    local make = lazy[key]
    if make then
      local value = make(obj)
      rawset(obj, key, value)
      return value
    end
    return nil
  end
end

--- A read-only view of a table: reads go through, writes raise at the
-- charm's line with the given label ("config is read-only").
-- @tparam table data
-- @tparam string name the view's __name
-- @tparam string label how the error names it
-- @treturn table
function M.readonly(data, name, label)
  return setmetatable({}, {
    __name = name,
    __index = data,
    __pairs = function() return next, data, nil end,
    __len = function() return #data end,
    __newindex = function(_, key)
      M.raise(("%s is read-only (writing %s)"):format(label, tostring(key)))
    end,
  })
end

return M
