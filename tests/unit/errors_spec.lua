-- juju.Error: non-zero exits, signals, commands that cannot start, and
-- output that is not JSON (the juju.Error fields in src/juju.luadoc).

local juju = require "juju"
local recorder = require "helpers.recorder"

--- Call f, require it to raise, and return the raised value.
local function raised(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return err
end

describe("juju.Error #unit", function()
  local rec = recorder.setup(juju)

  describe("non-zero exit", function()
    it("raises a table with the juju.Error metatable and every field", function()
      rec:on("relation-get", 2, "partial out\n", "ERROR relation not found\n")
      local err = raised(juju.relation_get, 3)
      assert.equal("table", type(err))
      assert.equal(juju.Error, getmetatable(err))
      assert.equal(2, err.returncode)
      assert.equal("integer", math.type(err.returncode))
      assert.same({ "relation-get", "--format=json", "-r", "3" }, err.cmd)
      assert.equal("partial out\n", err.stdout)
      assert.equal("ERROR relation not found\n", err.stderr)
      assert.is_nil(err.signal)
    end)

    it("tostring reads like ops's str(Error), with Juju's reason: the first line of stderr", function()
      rec:on("relation-get", 2, "", "ERROR permission denied\nmore detail\n")
      local err = raised(juju.relation_get, 3)
      assert.equal("command [relation-get --format=json -r 3] exited with status 2: ERROR permission denied",
        tostring(err))
    end)

    it("tostring for another command and status", function()
      rec:on("status-set", 1, "", "ERROR this unit is not the leader\n")
      local err = raised(juju.status_set, "active", "ready", { app = true })
      assert.equal("command [status-set --application=True active -- ready] exited with status 1: "
        .. "ERROR this unit is not the leader", tostring(err))
      assert.same({ "status-set", "--application=True", "active", "--", "ready" }, err.cmd)
    end)

    it("tostring without stderr is the command and status alone", function()
      rec:on("relation-get", 2, "", "")
      assert.equal("command [relation-get --format=json -r 3] exited with status 2",
        tostring(raised(juju.relation_get, 3)))
      rec:on("relation-get", 2, "", "\n  \n")
      assert.equal("command [relation-get --format=json -r 3] exited with status 2",
        tostring(raised(juju.relation_get, 3)))
    end)

    it("tostring of a signal death adds what the command said", function()
      rec:on("config-get", -9, "", "fatal: out of memory\n")
      assert.equal("command [config-get --format=json] was killed by signal 9 (returncode -9): "
        .. "fatal: out of memory", tostring(raised(juju.config_get)))
    end)

    it("commands with no result raise too", function()
      rec:on("juju-log", 1, "", "boom")
      local err = raised(juju.juju_log, "hi")
      assert.equal(juju.Error, getmetatable(err))
      assert.equal(1, err.returncode)
    end)

    it("commands with stdin raise with the argv (not the data) in cmd", function()
      rec:on("relation-set", 1, "", "ERROR cannot write relation settings\n")
      local err = raised(juju.relation_set, { password = "hunter2" }, 4, { app = true })
      assert.same({ "relation-set", "-r", "4", "--app", "--file", "-" }, err.cmd)
      assert.is_nil(tostring(err):find("hunter2", 1, true))
    end)

    it("stdout/stderr are exact, binary-safe", function()
      rec:on("config-get", 1, "a\0b\r\n", "\255\254 err\n")
      local err = raised(juju.config_get)
      assert.equal("a\0b\r\n", err.stdout)
      assert.equal("\255\254 err\n", err.stderr)
    end)

    it("a non-zero exit is an error even when stdout is valid JSON", function()
      rec:on("is-leader", 1, "true\n", "")
      local err = raised(juju.is_leader)
      assert.equal(1, err.returncode)
    end)

    it("err.cmd is a plain sequence of strings", function()
      rec:on("open-port", 1, "", "")
      local err = raised(juju.open_port, "tcp", 8080, { endpoints = { "a", "b" } })
      assert.same({ "open-port", "--endpoints", "a,b", "8080/tcp" }, err.cmd)
      for _, a in ipairs(err.cmd) do assert.equal("string", type(a)) end
    end)

    it("error() with the table keeps it catchable by identity of metatable after rethrow", function()
      rec:on("state-get", 3, "", "")
      local ok, err = pcall(function()
        local ok2, inner = pcall(juju.state_get, "k")
        assert(not ok2)
        error(inner, 0)
      end)
      assert.is_false(ok)
      assert.equal(juju.Error, getmetatable(err))
      assert.equal(3, err.returncode)
    end)
  end)

  describe("killed by a signal", function()
    it("returncode is minus the signal number and signal is set", function()
      rec:on("is-leader", -9, "", "")
      local err = raised(juju.is_leader)
      assert.equal(juju.Error, getmetatable(err))
      assert.equal(-9, err.returncode)
      assert.equal("integer", math.type(err.returncode))
      assert.equal(9, err.signal)
      assert.equal("integer", math.type(err.signal))
      assert.same({ "is-leader", "--format=json" }, err.cmd)
    end)

    it("tostring names the command and the signal", function()
      rec:on("config-get", -15, "", "")
      local s = tostring(raised(juju.config_get, "port"))
      assert.truthy(s:find("config-get --format=json port", 1, true), s)
      assert.truthy(s:find("killed by signal 15", 1, true), s)
    end)
  end)

  describe("cannot be started", function()
    it("runner returning nil, message gives returncode nil and a message", function()
      rec:on("is-leader", function() return nil, "is-leader: No such file or directory" end)
      local err = raised(juju.is_leader)
      assert.equal(juju.Error, getmetatable(err))
      assert.is_nil(err.returncode)
      assert.equal("string", type(err.message))
      assert.truthy(err.message:find("No such file or directory", 1, true), err.message)
      assert.same({ "is-leader", "--format=json" }, err.cmd)
    end)

    it("tostring includes the command and why", function()
      rec:on("state-get", function() return nil, "No such file or directory" end)
      local s = tostring(raised(juju.state_get, "k"))
      assert.truthy(s:find("state-get --format=json k", 1, true), s)
      assert.truthy(s:find("No such file or directory", 1, true), s)
    end)
  end)

  describe("output that is not valid JSON", function()
    it("says 'empty output' plainly when there was none", function()
      rec:on("config-get", 0, "", "")
      local err = raised(juju.config_get)
      assert.equal("empty output (JSON was expected)", err.message)
      assert.equal("command [config-get --format=json] exited with status 0: empty output (JSON was expected)",
        tostring(err))
    end)

    it("says where the JSON went wrong", function()
      rec:on("config-get", 0, '{"a": tru}', "")
      assert.equal("output is not valid JSON (invalid literal at byte 7 ('t'))", raised(juju.config_get).message)
    end)

    local bad = {
      ["smart format instead of JSON"] = "True\n",
      ["truncated object"] = '{"a":',
      ["trailing garbage"] = "{} x\n",
      ["empty output"] = "",
      ["single quotes"] = "{'a': 1}",
      ["bare word"] = "nope",
    }
    for label, out in pairs(bad) do
      it("raises juju.Error with returncode 0: " .. label, function()
        rec:on("config-get", 0, out, "")
        local err = raised(juju.config_get)
        assert.equal("table", type(err))
        assert.equal(juju.Error, getmetatable(err))
        assert.equal(0, err.returncode)
        assert.equal("string", type(err.message))
        assert.is_true(#err.message > 0)
        assert.same({ "config-get", "--format=json" }, err.cmd)
        assert.truthy(tostring(err):find("config-get", 1, true))
      end)
    end
  end)

  describe("hostile output", function()
    it("deeply nested JSON raises juju.Error instead of crashing", function()
      local n = 100000
      rec:on("action-get", 0, string.rep("[", n) .. string.rep("]", n))
      local err = raised(juju.action_get)
      assert.equal(juju.Error, getmetatable(err))
      assert.equal(0, err.returncode)
    end)

    it("large output decodes fully", function()
      local units = {}
      for i = 1, 20000 do units[i] = string.format('"app/%d"', i - 1) end
      rec:on("relation-list", 0, "[" .. table.concat(units, ",") .. "]\n")
      local list = juju.relation_list(1)
      assert.equal(20000, #list)
      assert.equal("app/19999", list[20000])
    end)

    it("\\u0000 in a JSON string gives an embedded NUL", function()
      rec:on("action-get", 0, '"a\\u0000b"')
      assert.equal("a\0b", juju.action_get("k"))
    end)
  end)

  describe("a runner that raises", function()
    it("propagates the runner's error", function()
      rec:on("is-leader", function() error("runner exploded") end)
      local ok, err = pcall(juju.is_leader)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("runner exploded", 1, true))
    end)
  end)

  describe("juju.Error itself", function()
    it("is a table with __tostring", function()
      assert.equal("table", type(juju.Error))
      assert.equal("function", type(juju.Error.__tostring))
    end)
  end)
end)
