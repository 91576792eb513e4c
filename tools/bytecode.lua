--- Lua 5.4 bytecode, as `string.dump` writes it: the names of local
-- variables taken out, everything else kept.
--
-- Loading a chunk interns every string in it; the framework's names of
-- locals (each with its scope) are a large part of what `dispatch` spends
-- loading its modules in a hook. Without them a chunk keeps its source
-- name, its line information and its upvalue names, so errors and
-- tracebacks still say `lua/juju/charm.lua:412:`, name upvalues, globals
-- and fields, and name functions reachable from `package.loaded`; what
-- goes is `(local 'x')` in error messages, `in local 'f'` in tracebacks
-- (it reads `in function <file:line>`) and the names `debug.getlocal`
-- gives.
--
-- The format is ldump.c's: a header, then each function as its source,
-- lines, parameters, code, constants, upvalues, nested functions and
-- debug information (line info, absolute line info, local variables,
-- upvalue names), sizes written as 7-bit groups, most significant first,
-- the last one marked with 0x80.
-- @module bytecode

local M = {}

local SIGNATURE = "\27Lua"
local VERSION, FORMAT = 0x54, 0
local LUAC_DATA = "\x19\x93\r\n\x1a\n"
-- constant type tags (lobject.h: the type in the low nibble, the variant above)
local NIL, FALSE, TRUE = 0x00, 0x01, 0x11
local INT, FLOAT = 0x03, 0x13
local SHORT_STRING, LONG_STRING = 0x04, 0x14
local NO_LOCALS = "\x80" -- no local variables

--- The chunk s without the names of its local variables.
-- Raises on anything that is not Lua 5.4 bytecode, naming the byte.
-- @tparam string s what `string.dump(f)` returned
-- @treturn string bytecode that `load` takes, shorter and faster to load
-- @usage
-- local small = bytecode.drop_locals(string.dump(assert(loadfile("x.lua"))))
-- assert(load(small, "@x.lua", "b"))
function M.drop_locals(s)
  local pos, mark = 1, 1 -- the next byte; the first not yet copied out
  local out = {}
  local function fail(what)
    error(("bytecode: %s at byte %d"):format(what, pos), 0)
  end
  local function skip(n)
    if n > #s - pos + 1 then fail("truncated") end
    pos = pos + n
  end
  local function byte()
    local b = s:byte(pos)
    if not b then fail("truncated") end
    pos = pos + 1
    return b
  end
  local function size()
    local x = 0
    repeat
      if x >= 1 << 56 then fail("size too large") end
      local b = byte()
      x = (x << 7) | (b & 0x7f)
    until b & 0x80 ~= 0
    return x
  end
  local function skip_string()
    local n = size() -- 0: no string; else its length + 1
    if n > 0 then skip(n - 1) end
  end

  if s:sub(1, 4) ~= SIGNATURE then fail("not a Lua chunk") end
  pos = 5
  if byte() ~= VERSION or byte() ~= FORMAT then fail("not Lua 5.4 bytecode") end
  if s:sub(pos, pos + #LUAC_DATA - 1) ~= LUAC_DATA then fail("corrupted header") end
  skip(#LUAC_DATA)
  local instruction, integer, number = byte(), byte(), byte()
  skip(integer + number) -- the check values LUAC_INT and LUAC_NUM
  skip(1)                -- the main function's number of upvalues

  local function func()
    skip_string()            -- source (none when it is its parent's)
    size(); size()           -- linedefined, lastlinedefined
    skip(3)                  -- numparams, is_vararg, maxstacksize
    skip(size() * instruction)
    for _ = 1, size() do     -- constants
      local t = byte()
      if t == INT then skip(integer)
      elseif t == FLOAT then skip(number)
      elseif t == SHORT_STRING or t == LONG_STRING then skip_string()
      elseif t ~= NIL and t ~= FALSE and t ~= TRUE then fail(("a constant of type %d"):format(t))
      end
    end
    skip(size() * 3)         -- upvalues: instack, idx, kind
    for _ = 1, size() do func() end
    skip(size())             -- line info, a byte an instruction
    for _ = 1, size() do size(); size() end -- absolute line info: pc, line
    out[#out + 1] = s:sub(mark, pos - 1)
    for _ = 1, size() do skip_string(); size(); size() end -- local variables
    out[#out + 1] = NO_LOCALS
    mark = pos
    for _ = 1, size() do skip_string() end                  -- upvalue names, kept
  end
  func()
  if pos <= #s then fail("trailing data") end
  out[#out + 1] = s:sub(mark)
  return table.concat(out)
end

return M
