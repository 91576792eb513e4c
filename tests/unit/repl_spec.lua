-- juju.repl in process: how values print, and the loop with scripted
-- input (continuation lines, Ctrl-C abandoning a chunk, the end of input).

local repl = require "juju.repl"

describe("juju.repl.pretty #unit", function()
  it("prints scalars as Lua would read them back", function()
    assert.equal('"a\\"b\\nc"', repl.pretty('a"b\nc'))
    assert.equal("42", repl.pretty(42))
    assert.equal("1.0", repl.pretty(1.0))
    assert.equal("0.5", repl.pretty(0.5))
    assert.equal("nil", repl.pretty(nil))
    assert.equal("true", repl.pretty(true))
  end)

  it("tables: list items first, then keys sorted; odd keys bracketed", function()
    assert.equal('{ 1, 2, a = 1, b = { c = true } }', repl.pretty { 1, 2, b = { c = true }, a = 1 })
    assert.equal('{ [10] = 3, ["end"] = 1, ["with space"] = 2 }',
      repl.pretty { ["with space"] = 2, ["end"] = 1, [10] = 3 })
    assert.equal("{}", repl.pretty {})
  end)

  it("long tables go on several lines; cycles and depth are cut", function()
    local t = {}
    for i = 1, 30 do t["key" .. i] = i end
    local text = repl.pretty(t)
    assert.matches("^{\n  key1 = 1,\n  key10 = 10,\n", text)
    local cyc = { name = "x" }
    cyc.self = cyc
    assert.equal('{ name = "x", self = <cycle> }', repl.pretty(cyc))
    assert.equal("{ a = { b = {...} } }", repl.pretty({ a = { b = { c = {} } } }, { depth = 2 }))
  end)

  it("a value with __tostring prints as itself", function()
    local v = setmetatable({}, { __tostring = function() return "<thing>" end })
    assert.equal("<thing>", repl.pretty(v))
  end)
end)

describe("juju.repl.main #unit", function()
  local function session(lines)
    local out, i = {}, 0
    local prompts = {}
    repl.main {
      env = setmetatable({}, { __index = _G }),
      read = function(prompt)
        prompts[#prompts + 1] = prompt
        i = i + 1
        return lines[i]
      end,
      write = function(s) out[#out + 1] = s end,
    }
    return table.concat(out), prompts
  end

  it("continues an open chunk with the >> prompt", function()
    local out, prompts = session { "t = {", "  1, 2,", "}", "#t" }
    assert.equal("2\n\n", out)
    assert.same({ "> ", ">> ", ">> ", "> ", "> " }, prompts)
  end)

  it("Ctrl-C (false) abandons the chunk being written", function()
    local out = session { "function f()", false, "'fresh'" }
    assert.equal('"fresh"\n\n', out)
  end)

  it("statements print nothing, expressions their values, all of them", function()
    local out = session { "x = 1", "x, x + 1, nil" }
    assert.equal("1\t2\tnil\n\n", out)
  end)
end)
