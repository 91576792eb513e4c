-- juju.pebble.io: Pebble's HTTP API and exec's websocket I/O over a unix
-- socket, against build/pebble-stub (tests/helpers/pebble-stub.c), a tiny
-- server started here. Failures come back as nil, a message and a kind;
-- bad arguments raise.

local hookenv = require "helpers.hookenv"

hookenv.juju()
local pio = require "juju.pebble.io"

local STUB = os.getenv("PEBBLE_STUB") or ((os.getenv("BUILD") or "build") .. "/pebble-stub")

describe("juju.pebble.io #unit", function()
  local dir, sock, stub

  setup(function()
    dir = hookenv.tmpdir()
    sock = dir .. "/pebble.socket"
    stub = assert(io.popen(("exec %s %s"):format(hookenv.quote(STUB), hookenv.quote(sock)), "r"))
    assert.equal("ready", stub:read("l"))
  end)

  teardown(function()
    if stub then
      pio.request(sock, "GET", "/exit", nil, nil, 5)
      stub:close()
    end
    if dir then hookenv.rmtree(dir) end
  end)

  it("is the same table from require and from juju", function()
    assert.equal(pio, require("juju.pebble.io"))
    assert.is_function(pio.request)
    assert.is_function(pio.exec_io)
  end)

  describe("request", function()
    it("sends the method, target, headers and body, and returns status, headers, body", function()
      local status, headers, body = pio.request(sock, "POST", "/v1/services?x=1",
        { ["Content-Type"] = "application/json", Accept = "application/json" },
        '{"action":"start"}', 5)
      assert.equal(200, status)
      assert.equal(math.type(status), "integer")
      assert.equal("POST", headers["x-method"])
      assert.equal("/v1/services?x=1", headers["x-target"])
      assert.equal("application/json", headers["x-seen-content-type"])
      assert.equal("application/json", headers["x-seen-accept"])
      assert.equal("a, b", headers["x-multi"])
      assert.equal("18", headers["content-length"])
      assert.equal('{"action":"start"}', body)
    end)

    it("works without headers or body", function()
      local status, headers, body = pio.request(sock, "GET", "/v1/system-info", nil, nil, 5)
      assert.equal(200, status)
      assert.equal("GET", headers["x-method"])
      assert.equal("", body)
    end)

    it("reads a chunked body", function()
      local status, _, body = pio.request(sock, "GET", "/chunked", {}, nil, 5)
      assert.equal(200, status)
      assert.equal("hello, world", body)
    end)

    it("gives kind connect for a missing socket", function()
      local r, msg, kind = pio.request(dir .. "/missing.socket", "GET", "/v1/system-info", nil, nil, 1)
      assert.is_nil(r)
      assert.equal("connect", kind)
      assert.equal("cannot connect to " .. dir .. "/missing.socket: No such file or directory", msg)
    end)

    it("gives kind timeout when Pebble does not answer in time", function()
      local r, msg, kind = pio.request(sock, "GET", "/slow", nil, nil, 0.2)
      assert.is_nil(r)
      assert.equal("timeout", kind)
      assert.equal("timed out waiting for the response from " .. sock, msg)
    end)

    it("raises on bad arguments", function()
      local function raises(pattern, ...)
        local args = table.pack(...)
        local ok, err = pcall(function() return pio.request(table.unpack(args, 1, args.n)) end)
        assert.is_false(ok)
        assert.matches(pattern, tostring(err))
      end
      raises("socket_path must be a string", nil, "GET", "/", nil, nil, 1)
      raises("NUL", "a\0b", "GET", "/", nil, nil, 1)
      raises("method must be a string", sock, 1, "/", nil, nil, 1)
      raises("target must be a string", sock, "GET", nil, nil, nil, 1)
      raises("table expected", sock, "GET", "/", "x", nil, 1)
      raises("body must be a string or nil", sock, "GET", "/", nil, {}, 1)
      raises("timeout must be a number of seconds > 0", sock, "GET", "/", nil, nil, 0)
      raises("timeout must be a number of seconds > 0", sock, "GET", "/", nil, nil, nil)
      raises("timeout must be a number of seconds > 0", sock, "GET", "/", nil, nil, "5")
      raises("timeout must be a number of seconds > 0", sock, "GET", "/", nil, nil, 0 / 0)
      raises("the method is not an HTTP token", sock, "GE T", "/", nil, nil, 1)
      raises("does not start with '/'", sock, "GET", "v1", nil, nil, 1)
      raises("space or a control character", sock, "GET", "/a b", nil, nil, 1)
      raises("set by the client", sock, "GET", "/", { Host = "x" }, nil, 1)
      raises("set by the client", sock, "GET", "/", { ["content-length"] = "1" }, nil, 1)
      raises("set by the client", sock, "GET", "/", { Connection = "keep-alive" }, nil, 1)
      raises("CR or LF", sock, "GET", "/", { X = "a\r\nY: b" }, nil, 1)
      raises("not an HTTP token", sock, "GET", "/", { ["a b"] = "1" }, nil, 1)
      raises("header X must be a string", sock, "GET", "/", { X = 1 }, nil, 1)
      raises("names are strings", sock, "GET", "/", { "x" }, nil, 1)
    end)
  end)

  describe("exec_io", function()
    it("sends stdin and returns stdout, and stderr empty when not split", function()
      local out, err = pio.exec_io(sock, "7", { stdin = "hello\n", timeout = 10 })
      assert.equal("HELLO\n", out)
      assert.equal("", err)
    end)

    it("sends a large stdin while reading the output", function()
      local input = ("abcdefgh"):rep(256 * 1024) -- 2 MiB
      local out, err = pio.exec_io(sock, "8", { stdin = input })
      assert.equal(#input, #out)
      assert.equal(input:upper(), out)
      assert.equal("", err)
    end)

    it("works with no options and no stdin", function()
      local out, err = pio.exec_io(sock, "9")
      assert.equal("", out)
      assert.equal("", err)
    end)

    it("gives kind timeout when the command outlives it", function()
      local out, msg, kind = pio.exec_io(sock, "hang", { stdin = "x", timeout = 0.2 })
      assert.is_nil(out)
      assert.equal("timeout", kind)
      assert.equal("exec task hang on " .. sock .. " timed out; SIGKILL sent", msg)
    end)

    it("connect_timeout bounds the opening of the websockets (at most Pebble's 5 s)", function()
      local t0 = require("juju.sys").monotime()
      local out, msg, kind = pio.exec_io(sock, "noanswer", { connect_timeout = 0.3 })
      local took = require("juju.sys").monotime() - t0
      assert.is_nil(out)
      assert.equal("timeout", kind)
      assert.equal("the control websocket of task noanswer did not open within 300 ms: timed out waiting for the "
        .. "response from " .. sock, msg)
      assert.is_true(took >= 0.3 and took < 2, took)
      -- more than Pebble waits for them is Pebble's 5 s
      out, msg = pio.exec_io(sock, "noanswer", { connect_timeout = 0.2, timeout = 0.1 })
      assert.is_nil(out)
      assert.matches("^exec task noanswer on .* timed out %(SIGKILL could not be sent%)$", msg)
    end)

    it("gives kind connect for a missing socket", function()
      local out, msg, kind = pio.exec_io(dir .. "/missing.socket", "7", { timeout = 1 })
      assert.is_nil(out)
      assert.equal("connect", kind)
      assert.matches("cannot open the control websocket of task 7: cannot connect to .*missing.socket: "
        .. "No such file or directory", msg)
    end)

    it("raises on bad arguments", function()
      local function raises(pattern, ...)
        local args = table.pack(...)
        local ok, err = pcall(function() return pio.exec_io(table.unpack(args, 1, args.n)) end)
        assert.is_false(ok)
        assert.matches(pattern, tostring(err))
      end
      raises("socket_path must be a string", nil, "7")
      raises("task_id must be a string", sock, 7)
      raises("task_id must be 1 to 64", sock, "7/../x")
      raises("task_id must be 1 to 64", sock, "")
      raises("table expected", sock, "7", "opts")
      raises("unknown option 'stdn'", sock, "7", { stdn = "x" })
      raises("stdin must be a string", sock, "7", { stdin = 1 })
      raises("split_stderr must be a boolean", sock, "7", { split_stderr = "yes" })
      raises("timeout must be a number of seconds > 0", sock, "7", { timeout = -1 })
      raises("connect_timeout must be a number of seconds > 0", sock, "7", { connect_timeout = 0 })
      raises("connect_timeout must be a number of seconds > 0", sock, "7", { connect_timeout = "1" })
    end)
  end)
end)
