--- `dispatch -i`: an interactive Lua prompt in a hook's context.
--
-- In `juju debug-hooks` (or `juju ssh` with the hook environment), run
-- `./dispatch -i` in the charm directory:
--
--     dispatch 0.1.0 (Lua 5.4), unit web/0, in hook config-changed
--     > model:is_leader()
--     true
--     > config
--     { page = "Hello", port = 8080 }
--     > model:relation("db").remote_app_data
--     { host = "10.1.2.3", port = "5432" }
--     > state.port = 9000; flush()
--
-- Expressions print their values (tables readably, keys sorted); a line
-- that is not complete yet (an open `function`, `{`, string...) continues
-- on the next. The names ready: `juju`, `cjson`, `json` (juju.json),
-- `charm` (the charm of `src/charm.lua`, loaded, not run), `ctx` (from
-- `juju.charm.context()`), `model`, `config`, `state`, `status`,
-- `flush()` (write what was changed), `pp(v)` (print readably).
-- @module juju.repl

local juju = require "juju"
local sys = require "juju.sys"

local M = {}

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or repeat
  return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

--- A value as text a person reads: strings quoted, tables with their keys
-- sorted (list items first), nested tables indented, cycles and depth cut.
-- @param v
-- @tparam[opt] table opts `depth` (default 6), `width` (default 100: a
-- table that fits stays on one line)
-- @treturn string
-- @usage print(repl.pretty({ b = 1, a = { 1, 2 } }))   --> { a = { 1, 2 }, b = 1 }
function M.pretty(v, opts)
  opts = opts or {}
  local max_depth, width = opts.depth or 6, opts.width or 100
  local seen = {}
  local function scalar(x)
    local t = type(x)
    if t == "string" then return (("%q"):format(x):gsub("\\\n", "\\n")) end
    if t == "number" and math.type(x) == "float" and x == math.floor(x) and x > -2 ^ 53 and x < 2 ^ 53 then
      return ("%.1f"):format(x)
    end
    return tostring(x)
  end
  local function render(x, depth, indent)
    if type(x) ~= "table" or (getmetatable(x) and getmetatable(x).__tostring) then return scalar(x) end
    if seen[x] then return "<cycle>" end
    if depth > max_depth then return "{...}" end
    seen[x] = true
    local keys, n = {}, #x
    for k in pairs(x) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b)
      if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
      return type(a) < type(b)
    end)
    local items = {}
    for i = 1, n do items[#items + 1] = render(x[i], depth + 1, indent .. "  ") end
    for _, k in ipairs(keys) do
      local key = (is_identifier(k) and not KEYWORDS[k]) and k or ("[" .. scalar(k) .. "]")
      items[#items + 1] = key .. " = " .. render(x[k], depth + 1, indent .. "  ")
    end
    seen[x] = nil
    if #items == 0 then return "{}" end
    local one = "{ " .. table.concat(items, ", ") .. " }"
    if #one + #indent <= width and not one:find("\n", 1, true) then return one end
    return "{\n" .. indent .. "  " .. table.concat(items, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
  end
  return (render(v, 1, ""))
end

--- The names the prompt starts with, in a table whose misses go to _G.
-- @treturn table
function M.environment()
  local env = setmetatable({}, { __index = _G })
  env.juju, env.json = juju, juju.json
  env.cjson = package.loaded.cjson or require("cjson")
  env.pp = function(...)
    local out = {}
    for i = 1, select("#", ...) do out[i] = M.pretty((select(i, ...))) end
    print(table.concat(out, "\t"))
  end
  if juju.getenv("JUJU_UNIT_NAME") then
    local charm_mod = require "juju.charm"
    local ctx = charm_mod.context()
    env.ctx, env.model, env.state, env.status, env.flush = ctx, ctx.model, ctx.state, ctx.status, ctx.flush
    -- config is read (config-get) when first used
    setmetatable(env, { __index = function(_, k)
      if k == "config" then return ctx.config end
      return _G[k]
    end })
  end
  local path = (juju.getenv("JUJU_CHARM_DIR") or ".") .. "/src/charm.lua"
  local f = io.open(path, "r")
  if f then
    f:close()
    local chunk, err = loadfile(path, "t", env)
    local ok, c = false, err
    if chunk then ok, c = pcall(chunk) end
    if ok and require("juju.charm").is_charm(c) then
      env.charm = c
    else
      env.charm_error = tostring(c)
    end
  end
  return env
end

--- Compile a line: as an expression to print first, else as statements.
-- @return the function, or nil and the message ("incomplete" when more
-- lines would complete it)
local function compile(text, env)
  local f = load("return " .. text, "=stdin", "t", env)
  if f then return f end
  local err
  f, err = load(text, "=stdin", "t", env)
  if f then return f end
  if err:find("<eof>$") then return nil, "incomplete" end
  return nil, err
end

--- Evaluate a compiled chunk and write what it returned.
local function evaluate(f, write)
  local results = table.pack(xpcall(f, function(e)
    local text = debug.traceback(type(e) == "string" and e or M.pretty(e), 2)
    -- the prompt's own frames are no help
    return (text:gsub("\n\t%[C%]: in function 'xpcall'.*$", ""))
  end))
  if not results[1] then
    write(tostring(results[2]) .. "\n")
  elseif results.n > 1 then
    local out = {}
    for i = 2, results.n do out[#out + 1] = M.pretty(results[i]) end
    write(table.concat(out, "\t") .. "\n")
  end
end

--- The prompt's loop: read, evaluate, print, until the end of input.
-- @tparam[opt] table opts `env` (the names; default @{environment}),
-- `read` (function(prompt) -> line, nil at the end, false when
-- interrupted; default juju.sys.readline), `write` (default io.write),
-- `banner` (printed first when given)
-- @treturn int 0
-- @usage require("juju.repl").main{ banner = "dispatch" }
function M.main(opts)
  opts = opts or {}
  local env = opts.env or M.environment()
  local read = opts.read or sys.readline
  local write = opts.write or function(s) io.write(s) io.flush() end
  if opts.banner then write(opts.banner .. "\n") end
  while true do
    local line = read("> ")
    if line == nil then break end
    if line then   -- false: Ctrl-C, a fresh prompt
      local text = line
      local f, err = compile(text, env)
      while err == "incomplete" do
        local more = read(">> ")
        if not more then f, err = nil, nil break end
        text = text .. "\n" .. more
        f, err = compile(text, env)
      end
      if text:find("%S") then sys.add_history(text) end
      if f then
        evaluate(f, write)
      elseif err then
        write(err .. "\n")
      end
    end
  end
  write("\n")
  return 0
end

return M
