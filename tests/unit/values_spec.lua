-- juju.private.values: the helpers the harness and pack.lua share.
local values = require "juju.private.values"

describe("juju.private.values #unit", function()
  describe("nearest", function()
    local known = { endpoints = true, relations = true, secrets = true, config = true }

    it("names the known key within two edits", function()
      assert.equal("relations", values.nearest("relation", known))
      assert.equal("secrets", values.nearest("secerts", known))
      assert.equal("config", values.nearest("confg", known))
    end)

    it("has no hint for a key far from every known one, or for a non-string", function()
      assert.is_nil(values.nearest("storage", known))
      assert.is_nil(values.nearest(42, known))
      assert.is_nil(values.nearest("x", {}))
    end)

    it("prefers the closest, and breaks ties by name whatever the table order", function()
      assert.equal("port", values.nearest("port", { port = true, ports = true }))
      for _ = 1, 20 do
        local t = {}
        for _, k in ipairs { "cab", "bab", "dab", "aab" } do t[k] = true end
        assert.equal("aab", values.nearest("xab", t))
      end
    end)

    it("skips known keys that are not strings", function()
      assert.equal("ab", values.nearest("abc", { [1] = true, ab = true }))
    end)
  end)

  describe("is_null", function()
    it("is true for lyaml's null and juju.json.null, false for anything else", function()
      assert.is_true(values.is_null(require("lyaml").null))
      assert.is_true(values.is_null(require("juju").json.null))
      for _, v in ipairs { {}, { 1 }, "null", 0, false, setmetatable({}, { _type = "other" }) } do
        assert.is_false(values.is_null(v))
      end
      assert.is_false(values.is_null(nil))
    end)

    it("is false, not an error, for a table whose metatable is protected", function()
      assert.is_false(values.is_null(setmetatable({}, { __metatable = false })))
      assert.is_false(values.is_null(setmetatable({}, { __metatable = "locked" })))
    end)
  end)

  describe("sorted_keys", function()
    it("sorts strings and numbers in their own order, mixed types as text", function()
      assert.same({ "a", "b", "c" }, values.sorted_keys { c = 1, a = 1, b = 1 })
      assert.same({ 2, 10 }, values.sorted_keys { [10] = 1, [2] = 1 })
    end)

    it("takes nil as an empty table", function()
      assert.same({}, values.sorted_keys(nil))
    end)
  end)
end)
