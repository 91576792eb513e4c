-- juju.parse_rfc3339: ops's parse_rfc3339 (reference/ops-hookcmds.md 1.3):
-- date, T/t/space, time, optional fraction rounded to microseconds and
-- clamped at 999999, zone Z/z/+HH:MM/-HH:MM; integer when no fraction.

local juju = require "juju"

local Y2025_END = 1767225599 -- 2025-12-31T23:59:59Z
local Y2025 = 1735689600 -- 2025-01-01T00:00:00Z

--- Fractional part of t as a float, exact for t near N (N integral).
local function frac_of(t, n)
  return t - n
end

describe("juju.parse_rfc3339 #unit", function()
  describe("valid input", function()
    local valid = {
      { "2025-12-31T23:59:59Z", Y2025_END },
      { "2025-12-31t23:59:59z", Y2025_END },
      { "2025-12-31 23:59:59Z", Y2025_END },
      { "2026-01-04 06:29:46Z", 1767508186 },
      { "2025-01-01T02:00:00+02:00", Y2025 },
      { "2024-12-31T18:30:00-05:30", Y2025 },
      { "2025-01-01T00:00:00+00:00", Y2025 },
      { "2025-01-01T00:00:00-00:00", Y2025 },
      { "1970-01-01T00:00:00Z", 0 },
      { "1969-12-31T23:59:59Z", -1 },
      { "2024-02-29T00:00:00Z", 1709164800 },
      { "2000-02-29T12:00:00Z", 951825600 },
      { "2038-01-19T03:14:08Z", 2147483648 },
    }
    for _, case in ipairs(valid) do
      local text, want = case[1], case[2]
      it(text .. " -> integer " .. want, function()
        local got = juju.parse_rfc3339(text)
        assert.equal(want, got)
        assert.equal("integer", math.type(got))
      end)
    end

    it("a fraction gives a float", function()
      local got = juju.parse_rfc3339("2025-12-31T23:59:59.5Z")
      assert.equal("float", math.type(got))
      assert.equal(Y2025_END + 0.5, got)
    end)

    it("a zero fraction still gives a float", function()
      local got = juju.parse_rfc3339("2025-12-31T23:59:59.000Z")
      assert.equal("float", math.type(got))
      assert.equal(Y2025_END, got)
    end)

    it("microseconds are kept", function()
      local got = juju.parse_rfc3339("2025-01-01T00:00:00.123456Z")
      assert.is_true(math.abs(frac_of(got, Y2025) - 0.123456) < 2e-7)
    end)

    it("more than six digits are rounded to microseconds", function()
      local up = juju.parse_rfc3339("2025-01-01T00:00:00.1234567Z")
      assert.is_true(math.abs(frac_of(up, Y2025) - 0.123457) < 2e-7, string.format("%.9f", frac_of(up, Y2025)))
      local down = juju.parse_rfc3339("2025-01-01T00:00:00.123456249Z")
      assert.is_true(math.abs(frac_of(down, Y2025) - 0.123456) < 2e-7, string.format("%.9f", frac_of(down, Y2025)))
    end)

    it("rounding never carries into the next second (clamped at .999999)", function()
      local got = juju.parse_rfc3339("2025-01-01T00:00:00.9999999Z")
      local f = frac_of(got, Y2025)
      assert.is_true(f < 1, string.format("%.9f", f))
      assert.is_true(math.abs(f - 0.999999) < 2e-7, string.format("%.9f", f))
    end)

    it("a fraction with an offset", function()
      local got = juju.parse_rfc3339("2025-01-01T01:00:00.25+01:00")
      assert.equal(Y2025 + 0.25, got)
    end)

    it("a fraction before the epoch", function()
      assert.equal(-0.5, juju.parse_rfc3339("1969-12-31T23:59:59.5Z"))
    end)
  end)

  describe("invalid input raises", function()
    local invalid = {
      "",
      "not a date",
      "2025-12-31",
      "2025-12-31T23:59:59",
      "2025-12-31T23:59Z",
      "2025-12-31X23:59:59Z",
      "2025-12-31T23:59:59+0200",
      "2025-12-31T23:59:59+02",
      "2025-12-31T23:59:59 Z",
      "2025-12-31T23:59:59Zjunk",
      "2025-12-31T23:59:59.Z",
      " 2025-12-31T23:59:59Z",
      "25-12-31T23:59:59Z",
      "2025-13-01T00:00:00Z",
      "2025-00-10T00:00:00Z",
      "2025-02-30T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2025-01-00T00:00:00Z",
      "2025-12-31T24:00:00Z",
      "2025-12-31T23:60:00Z",
      "2025-12-31T23:59:60Z",
      "2025-12-31T23:59:59UTC",
    }
    for _, text in ipairs(invalid) do
      it(string.format("%q", text), function()
        assert.has_error(function() juju.parse_rfc3339(text) end)
      end)
    end

    it("a non-string argument", function()
      assert.has_error(function() juju.parse_rfc3339(nil) end)
      assert.has_error(function() juju.parse_rfc3339({}) end)
    end)
  end)
end)
