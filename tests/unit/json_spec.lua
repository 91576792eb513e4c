-- juju.json: exact JSON for charms (integers with every digit, floats that
-- read back to themselves, null as nil with a way to write it, arrays and
-- objects explicit for empty tables), and the same number rule for the
-- data hook commands send.

local juju = require "juju"
local json = require "juju.json"
local recorder = require "helpers.recorder"

describe("juju.json #unit", function()
  it("is the same table as juju.json", function()
    assert.equal(juju.json, json)
    for _, name in ipairs { "encode", "decode", "array", "object" } do
      assert.equal("function", type(json[name]), name)
    end
    assert.equal("null", tostring(json.null))
  end)

  describe("encode", function()
    it("indents for people, one item a line, empty containers kept short", function()
      local v = { b = { 1, { x = json.array() } }, a = {}, c = "s" }
      assert.equal('{\n  "a": {},\n  "b": [\n    1,\n    {\n      "x": []\n    }\n  ],\n  "c": "s"\n}',
        json.encode(v, { indent = 2 }))
      assert.same(v.b[1], json.decode(json.encode(v, { indent = 3 })).b[1])
      assert.equal(json.encode(v), json.encode(v, { indent = 0 }))
      assert.equal("[\n\t1\n]", (json.encode({ 1 }, { indent = 1 }):gsub(" ", "\t")))
      assert.has_error(function() json.encode(1, { indnet = 2 }) end,
        "bad argument #2 to 'encode' (unknown option 'indnet')")
      assert.has_error(function() json.encode(1, { indent = 17 }) end)
    end)

    it("takes an empty options table, or one without indent, as compact", function()
      assert.equal('{"a":1}', json.encode({ a = 1 }, {}))
      assert.equal('{"a":1}', json.encode({ a = 1 }, { indent = nil }))
      assert.error_matches(function() json.encode(1, { indent = "2" }) end,
        "bad argument #2 to '[%w.]*encode' %(indent: 0 to 16 spaces%)")
      assert.error_matches(function() json.encode(1, { indent = 1.5 }) end, "indent: 0 to 16 spaces")
    end)

    it("keeps every digit of integers (cjson gives 1.2345678901235e+15)", function()
      assert.equal('{"n":1234567890123456}', json.encode { n = 1234567890123456 })
      assert.equal("9223372036854775807", json.encode(math.maxinteger))
      assert.equal("-9223372036854775808", json.encode(math.mininteger))
    end)

    it("writes floats in the shortest form that reads back to the same number", function()
      local cases = {  -- a list: Lua would turn the float keys 1.0 and 2^53 into integers
        { 0.1, "0.1" }, { 2 / 3, "0.6666666666666666" }, { 1.0, "1.0" }, { -0.0, "-0.0" },
        { 2 ^ 53, "9007199254740992.0" }, { 1e300, "1e+300" }, { 5e-324, "5e-324" },
        { math.pi, "3.141592653589793" },
      }
      for _, case in ipairs(cases) do
        local x, text = case[1], case[2]
        assert.equal(text, json.encode(x))
        assert.equal(string.pack("d", x), string.pack("d", json.decode(text)))
        assert.equal("float", math.type(json.decode(text)))
      end
    end)

    it("round-trips random floats bit for bit", function()
      math.randomseed(42)
      for _ = 1, 2000 do
        local x = string.unpack("d", string.pack("i8", math.random(math.mininteger, math.maxinteger)))
        if x == x and x ~= math.huge and x ~= -math.huge then
          assert.equal(string.pack("d", x), string.pack("d", json.decode(json.encode(x))))
        end
      end
    end)

    it("refuses inf and nan, naming where they are", function()
      local ok, err = pcall(json.encode, { a = { b = { 1, 2, 0 / 0 } } })
      assert.is_false(ok)
      assert.matches("nan", err)
      assert.matches("a.b[3]", err, 1, true)
      ok, err = pcall(json.encode, { x = math.huge })
      assert.is_false(ok)
      assert.matches("inf at 'x'", err, 1, true)
    end)

    it("sorts keys, so the same value always gives the same text", function()
      assert.equal('{"a":1,"b":2,"c":{"x":true,"y":false}}',
        json.encode { c = { y = false, x = true }, b = 2, a = 1 })
    end)

    it("makes sequences arrays and an empty table an object unless marked", function()
      assert.equal("[1,2,3]", json.encode { 1, 2, 3 })
      assert.equal("{}", json.encode {})
      assert.equal("[]", json.encode(json.array {}))
      assert.equal("[]", json.encode(json.array()))
      assert.equal("{}", json.encode(json.object {}))
      assert.equal('{"1":"a","2":"b"}', json.encode(json.object { "a", "b" }))
    end)

    it("writes null for json.null and for holes in a marked array", function()
      assert.equal('{"a":null}', json.encode { a = json.null })
      local t = json.array { 1, 2, 3 }
      t[2] = nil
      assert.equal("[1,null,3]", json.encode(t))
      assert.equal("null", json.encode(nil))
    end)

    it("refuses what JSON cannot hold, saying where", function()
      local bad = {
        { { f = print }, "function at 'f'" },
        { { 1, 2, nil, 4 }, "sparse" },
        { { 1, a = 2 }, "both string and integer keys" },
        { { [1.5] = 1 }, "not a string or integer" },
        { { s = "\255" }, "invalid UTF-8 at 's'" },
      }
      for _, case in ipairs(bad) do
        local ok, err = pcall(json.encode, case[1])
        assert.is_false(ok)
        assert.matches(case[2], err, 1, true)
      end
      local cycle = {}
      cycle.self = cycle
      local ok, err = pcall(json.encode, cycle)
      assert.is_false(ok)
      assert.matches("nested too deeply", err)
    end)

    it("escapes what YAML readers refuse, and writes the rest of UTF-8 raw", function()
      assert.equal('"caf\u{e9} \u{1F600}"', json.encode("caf\u{e9} \u{1F600}"))
      assert.equal('"\\u2028\\u2029\\u0085\\ufeff\\u007f\\n\\t\\"\\\\"',
        json.encode("\u{2028}\u{2029}\u{85}\u{feff}\127\n\t\"\\"))
    end)
  end)

  describe("decode", function()
    it("gives integers as integers, with every digit", function()
      local v = json.decode('{"id": 12345678901234567, "f": 1.0, "e": 1e2}')
      assert.equal(12345678901234567, v.id)
      assert.equal("integer", math.type(v.id))
      assert.equal("float", math.type(v.f))
      assert.equal("float", math.type(v.e))
    end)

    it("gives null as nil, or as json.null when asked", function()
      assert.same({ a = 1 }, json.decode('{"a": 1, "b": null}'))
      local v = json.decode('{"a": 1, "b": null, "l": [null]}', { null = json.null })
      assert.equal(json.null, v.b)
      assert.equal(json.null, v.l[1])
      assert.equal('{"a":1,"b":null,"l":[null]}', json.encode(v))
    end)

    it("lets the last duplicate win, null included (as Go and Python do)", function()
      assert.same({ a = 2 }, json.decode('{"a": 1, "a": 2}'))
      assert.same({}, json.decode('{"a": 1, "a": null}'))
      assert.is_nil(json.decode('{"a": 1, "a": null}').a)
    end)

    it("marks arrays, so an empty one encodes as [] again", function()
      local v = json.decode('{"tags": [], "m": {}}')
      assert.equal('{"m":{},"tags":[]}', json.encode(v))
    end)

    it("refuses invalid JSON with a clear message", function()
      local cases = {
        [""] = "empty input",
        ["{"] = "at the end of the input",
        ['{"a" 1}'] = "expected ':'",
        ["1e400"] = "number out of range",
        ['"\255"'] = "invalid UTF-8",
        ["[1,]"] = "unexpected character",
      }
      for text, why in pairs(cases) do
        local ok, err = pcall(json.decode, text)
        assert.is_false(ok, text)
        assert.matches("invalid JSON", err, 1, true)
        assert.matches(why, err, 1, true)
      end
      assert.has_error(function() json.decode("{}", { nul = 1 }) end)
    end)

    it("turns a lone surrogate escape into U+FFFD, as Go does", function()
      assert.equal("\u{FFFD}x", json.decode('"\\ud800x"'))
      assert.equal("\u{1F600}", json.decode('"\\ud83d\\ude00"'))
    end)
  end)
end)

describe("numbers in data sent to Juju #unit", function()
  local rec = recorder.setup(juju)

  it("relation data: integers exactly, floats shortest round-trip", function()
    juju.relation_set({ big = 2 ^ 53, pi = math.pi, n = 12345678901234567, half = 0.5 }, 3)
    assert.equal('{"big": "9007199254740992.0", "half": "0.5", "n": "12345678901234567", '
      .. '"pi": "3.141592653589793"}', rec:last().stdin)
  end)

  it("action results: 2/3 is 0.6666666666666666, not 0.66666666666667", function()
    juju.action_set { ratio = 2 / 3, count = 7 }
    assert.same({ "action-set", "count=7", "ratio=0.6666666666666666" }, rec:last().argv)
  end)

  it("state data the same way", function()
    juju.state_set { x = 1e21 }
    assert.equal('{"x": "1e+21"}', rec:last().stdin)
  end)

  it("inf and nan are argument errors, before anything runs", function()
    for _, call in ipairs {
      function() juju.relation_set({ x = math.huge }, 3) end,
      function() juju.relation_set({ x = -math.huge }, 3) end,
      function() juju.relation_set({ x = 0 / 0 }, 3) end,
      function() juju.action_set { x = 0 / 0 } end,
      function() juju.state_set { x = math.huge } end,
    } do
      local ok, err = pcall(call)
      assert.is_false(ok)
      assert.matches("bad argument", err, 1, true)
      assert.matches("not finite", err, 1, true)
    end
    assert.equal(0, rec:count())
  end)
end)
