-- tools/bytecode.lua: what the build does to the framework's compiled
-- chunks before embedding them.
package.path = "./tools/?.lua;" .. package.path
local bytecode = require "bytecode"

-- Every kind of constant, nested functions, upvalues, a long function
-- (absolute line info), and an error on a known line (14).
local SOURCE = [[
local big, ratio, name = 1 << 40, 2 / 3, "short"
local long = ("a long string constant, longer than forty bytes: %s"):format(name)
local t = {}
t.yes, t.no, t.none = true, false, nil
local function counter(start)
  local n = start
  return function(step)
    n = n + (step or 1)
    return n
  end
end
local function fail(x)
  local y = x * 2
  error("failed at y = " .. y)
end
local function call_fail(x) return (fail(x)) end
local next = counter(big)
next(); next(5)
local lines = {}
]] .. string.rep("lines[#lines + 1] = 1\n", 300) .. [[
return { big = big, ratio = ratio, long = long, yes = t.yes, no = t.no, none = t.none,
         count = next(0), lines = #lines, fail = fail, counter = counter, call_fail = call_fail }
]]

local function compile(src)
  return string.dump(assert(load(src, "@chunk.lua")), false)
end

describe("bytecode.drop_locals #unit", function()
  local full, small

  before_each(function()
    full = compile(SOURCE)
    small = bytecode.drop_locals(full)
  end)

  it("gives a shorter chunk that loads and computes the same", function()
    assert.is_true(#small < #full, #small .. " >= " .. #full)
    local a = assert(load(full, "@chunk.lua", "b"))()
    local b = assert(load(small, "@chunk.lua", "b"))()
    for _, k in ipairs({ "big", "ratio", "long", "yes", "no", "none", "count", "lines" }) do
      assert.equal(a[k], b[k], k)
    end
    assert.equal((1 << 40) + 6, b.count)
    assert.equal(300, b.lines)
    assert.equal(5, b.counter(2)(3))
  end)

  it("keeps the source name and the lines, in errors and tracebacks", function()
    local m = assert(load(small, "@chunk.lua", "b"))()
    local ok, err = pcall(m.fail, 21)
    assert.is_false(ok)
    assert.equal("chunk.lua:14: failed at y = 42", err)
    local _, tb = xpcall(m.fail, debug.traceback, 1)
    assert.matches("chunk.lua:14: in function <chunk.lua:12>", tb, 1, true)
    local info = debug.getinfo(m.fail, "S")
    assert.equal("@chunk.lua", info.source)
    assert.equal(12, info.linedefined)
    assert.equal(15, info.lastlinedefined)
  end)

  it("drops the names of locals, and only them", function()
    local a = assert(load(full, "@chunk.lua", "b"))()
    local b = assert(load(small, "@chunk.lua", "b"))()
    assert.equal("x", debug.getlocal(a.fail, 1))
    assert.is_nil(debug.getlocal(b.fail, 1))
    local inner_a, inner_b = a.counter(0), b.counter(0)
    assert.equal("n", (debug.getupvalue(inner_a, 1)))
    assert.equal("n", (debug.getupvalue(inner_b, 1)))
    -- so a traceback still names an upvalue it calls
    local _, tb = xpcall(b.call_fail, debug.traceback, 1)
    assert.matches("chunk.lua:14: in upvalue 'fail'", tb, 1, true)
    local again = string.dump(load(small, "@chunk.lua", "b"), false)
    assert.equal(small, bytecode.drop_locals(again), "idempotent")
  end)

  it("refuses what is not Lua 5.4 bytecode, naming the byte", function()
    local function err(s)
      local ok, e = pcall(bytecode.drop_locals, s)
      assert.is_false(ok)
      return e
    end
    assert.equal("bytecode: not a Lua chunk at byte 1", err("return 1"))
    assert.equal("bytecode: not Lua 5.4 bytecode at byte 6", err("\27Lua\x53\0"))
    assert.equal("bytecode: corrupted header at byte 7", err(full:sub(1, 6) .. "xxxxxx" .. full:sub(13)))
    assert.matches("^bytecode: truncated at byte %d+$", err(full:sub(1, #full - 3)))
    assert.matches("^bytecode: truncated at byte %d+$", err(full:sub(1, 40)))
    assert.equal("bytecode: trailing data at byte " .. (#full + 1), err(full .. "x"))
  end)
end)
