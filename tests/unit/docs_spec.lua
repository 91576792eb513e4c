-- The reference (make doc) covers the whole module: every public name of
-- juju has an entry in src/juju.luadoc, every name of juju.json one in
-- src/json.c, and every entry names something that exists (no stale docs).
-- busted runs from the repository root, so the paths are relative to it.

local juju = require "juju"

--- The whole text of a file of the repository.
local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

--- Does a file or directory exist?
local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- The documented item of one doc comment, as name, kind ("function",
-- "field" or "table") and the comment's text; nil for a comment that
-- documents no item (@module, @section). A @table's own @field lines
-- describe its fields, not names of the module.
local function item_of(text)
  local name = text:match("@function%s+([%w_.]+)")
  if name then return name, "function", text end
  name = text:match("@table%s+([%w_.]+)")
  if name then return name, "table", text end
  name = text:match("@tfield%s+%S+%s+([%w_.]+)") or text:match("@field%s+([%w_.]+)")
  if name then return name, "field", text end
end

--- The doc comments of a Lua (LDoc) file: runs of comment lines that start
-- with `---`.
local function lua_comments(text)
  local comments, current = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^%-%-%-") then
      current = { line }
      comments[#comments + 1] = current
    elseif current and line:match("^%-%-") then
      current[#current + 1] = line
    else
      current = nil
    end
  end
  for i, lines in ipairs(comments) do comments[i] = table.concat(lines, "\n") end
  return comments
end

--- The doc comments of a C file: `/*** ... */` blocks.
local function c_comments(text)
  local comments = {}
  for body in text:gmatch("/%*%*%*(.-)%*/") do comments[#comments + 1] = body end
  return comments
end

--- Documented items by name: {kind = ..., text = ...}. Raises on a name
-- documented twice.
local function documented(comments)
  local items = {}
  for _, comment in ipairs(comments) do
    local name, kind, text = item_of(comment)
    if name then
      assert(items[name] == nil, "documented twice: " .. name)
      items[name] = { kind = kind, text = text }
    end
  end
  return items
end

--- The documentation kinds a value of the module may have.
local function kinds_for(value)
  if type(value) == "function" then return { ["function"] = true } end
  return { field = true, table = true }
end

--- Names of t without a fitting entry in items, sorted.
local function undocumented(t, items)
  local missing = {}
  for name, value in pairs(t) do
    local item = items[name]
    if not (item and kinds_for(value)[item.kind]) then
      missing[#missing + 1] = name
    end
  end
  table.sort(missing)
  return missing
end

--- Names in items that t lacks, or holds as another kind, sorted.
local function stale(t, items)
  local extra = {}
  for name, item in pairs(items) do
    if t[name] == nil or not kinds_for(t[name])[item.kind] then
      extra[#extra + 1] = name
    end
  end
  table.sort(extra)
  return extra
end

-- Functions that are not hook commands (every other function says what it runs).
local HELPERS = {
  parse_rfc3339 = true, set_runner = true, transport = true, getenv = true, set_env = true, trace = true,
}

-- Hook commands whose names are not the function's with '-' for '_'.
local COMMANDS = { app_version_set = "application-version-set" }

describe("the reference covers the module #unit", function()
  local module_items = documented(lua_comments(read("src/juju.luadoc")))
  local json_items = documented(c_comments(read("src/json.c")))

  it("finds the entries it checks", function()
    assert.equal("function", module_items.relation_get.kind)
    assert.equal("table", module_items.Error.kind)
    assert.equal("field", module_items._VERSION.kind)
    assert.equal("function", json_items.encode.kind)
    assert.equal("field", json_items.null.kind)
  end)

  it("documents every public name of juju in src/juju.luadoc", function()
    assert.same({}, undocumented(juju, module_items))
  end)

  it("documents nothing that juju lacks", function()
    assert.same({}, stale(juju, module_items))
  end)

  it("documents every name of juju.json in src/json.c", function()
    assert.equal(juju.json, require("juju.json"))
    assert.same({}, undocumented(juju.json, json_items))
  end)

  it("documents nothing that juju.json lacks", function()
    assert.same({}, stale(juju.json, json_items))
  end)

  it("documents every name of juju.pebble.io in src/pebble_io.c, and nothing more", function()
    local pio = require "juju.pebble.io"
    local items = documented(c_comments(read("src/pebble_io.c")))
    assert.equal("function", items.request.kind)
    assert.same({}, undocumented(pio, items))
    assert.same({}, stale(pio, items))
  end)

  it("gives every function a summary and an example", function()
    local bare = {}
    for name, item in pairs(module_items) do
      if item.kind == "function" and not (item.text:match("^%-%-%-%s*%S") and item.text:find("@usage")) then
        bare[#bare + 1] = name
      end
    end
    table.sort(bare)
    assert.same({}, bare)
  end)

  it("says which hook command each hook command function runs", function()
    local wrong = {}
    for name, item in pairs(module_items) do
      if item.kind == "function" and not HELPERS[name] then
        local runs = "Runs `" .. (COMMANDS[name] or (name:gsub("_", "-")))
        if not (item.text:find(runs .. " ", 1, true) or item.text:find(runs .. "`", 1, true)) then
          wrong[#wrong + 1] = name
        end
      end
    end
    table.sort(wrong)
    assert.same({}, wrong)
  end)

  it("config.ld reads these files, and lua/ exactly when it exists", function()
    -- config.ld is Lua that LDoc runs with only its settings in scope.
    local env = setmetatable({}, { __index = function() return function() end end })
    assert(load(read("config.ld"), "=config.ld", "t", env))()
    local files = {}
    for _, path in ipairs(env.file) do files[path] = true end
    assert.is_true(files["src/juju.luadoc"])
    assert.is_true(files["src/json.c"])
    assert.is_true(files["src/sys.c"])
    assert.is_true(files["src/pebble_io.c"])
    -- LDoc stops on a path that does not exist, and cannot look for one.
    assert.equal(exists("lua"), files["lua"] == true,
      "config.ld must list \"lua\" exactly when lua/ exists")
  end)
end)

-- LDoc drops an item whose summary line holds "--" (it reads a comment
-- there), and documents the wrong thing when a doc comment is not right
-- above its function: so `make doc` once left out four of systemd's nine.
describe("the framework's reference #unit", function()
  local function files()
    local out = {}
    local p = io.popen("ls lua/juju/*.lua lua/juju/testing/*.lua lua/juju/private/*.lua")
    for f in p:lines() do out[#out + 1] = f end
    p:close()
    return out
  end

  it("every doc comment's first line is a summary LDoc keeps (no '--' in it)", function()
    local bad = {}
    for _, f in ipairs(files()) do
      local n = 0
      for line in io.lines(f) do
        n = n + 1
        if line:match("^%-%-%-") and line:sub(4):find("%-%-") then bad[#bad + 1] = f .. ":" .. n end
      end
    end
    assert.same({}, bad)
  end)

  it("every public function of a public module has its doc comment right above it", function()
    local bad = {}
    for _, f in ipairs(files()) do
      if not f:find("/private/") then
        local lines = {}
        for line in io.lines(f) do lines[#lines + 1] = line end
        for i, line in ipairs(lines) do
          local name = line:match("^function M%.([%w_]+)%(")
          if name then
            local j = i - 1
            while j > 0 and lines[j]:match("^%-%-") and not lines[j]:match("^%-%-%-") do j = j - 1 end
            if j == 0 or not lines[j]:match("^%-%-%-") then bad[#bad + 1] = f .. ":" .. i .. " " .. name end
          end
        end
      end
    end
    assert.same({}, bad)
  end)
end)
