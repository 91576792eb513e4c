-- juju.process and the juju.sys table under it, in this process: the seam
-- (set_runner) sees exactly what would run; without it, real programs run
-- through juju.sys.spawn.

local hookenv = require "helpers.hookenv"

hookenv.juju()
local process = require "juju.process"
local sys = require "juju.sys"

--- Call fn (a one-line function) and check that it raised a plain error
-- naming the line fn was written on (the caller's line), containing text.
local caller_error = require("helpers.mistakes").caller_error

--- A runner that records calls and answers from a list (or a function).
local function recording(answers)
  local calls = {}
  local runner = function(argv, opts)
    calls[#calls + 1] = { argv = argv, opts = opts }
    local a = type(answers) == "function" and answers(argv, opts) or answers[#calls] or { 0, "", "" }
    return table.unpack(a, 1, 4)
  end
  return runner, calls
end

--- The keys of a table, sorted.
local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

describe("juju.process.run through the seam #unit", function()
  after_each(function() process.set_runner(nil) end)

  it("passes a copy of argv and only spawn's options", function()
    local runner, calls = recording({ { 0, "out", "err" } })
    process.set_runner(runner)
    local argv = { "systemctl", "start", "a b", "$(touch x)" }
    local r = process.run(argv, { stdin = "in", cwd = "/srv", timeout = 2.5, check = true })
    assert.same({ "systemctl", "start", "a b", "$(touch x)" }, calls[1].argv)
    assert.are_not.equal(argv, calls[1].argv)
    assert.same({ stdin = "in", cwd = "/srv", timeout = 2.5 }, calls[1].opts)
    assert.same({ code = 0, stdout = "out", stderr = "err", timed_out = false }, r)
  end)

  it("inherits the environment when no env is given", function()
    local runner, calls = recording({})
    process.set_runner(runner)
    process.run({ "true" })
    assert.same({}, calls[1].opts)
    assert.is_nil(calls[1].opts.env)
  end)

  it("env adds to, changes and removes from this process's environment", function()
    local runner, calls = recording({})
    process.set_runner(runner)
    process.run({ "env" }, { env = { DEBIAN_FRONTEND = "noninteractive", PORT = 8080, HOME = false } })
    local env = calls[1].opts.env
    local expected = sys.environ()
    expected.DEBIAN_FRONTEND = "noninteractive"
    expected.PORT = "8080"
    expected.HOME = nil
    assert.same(expected, env)
    assert.equal(os.getenv("PATH"), env.PATH)
  end)

  it("clear_env starts from an empty environment", function()
    local runner, calls = recording({})
    process.set_runner(runner)
    process.run({ "env" }, { clear_env = true, env = { PATH = "/stand-ins:/usr/bin", N = 1.5 } })
    assert.same({ PATH = "/stand-ins:/usr/bin", N = "1.5" }, calls[1].opts.env)
    process.run({ "env" }, { clear_env = true })
    assert.same({}, calls[2].opts.env)
  end)

  it("raises process.Error on a non-zero exit, with everything known", function()
    process.set_runner(recording({ { 5, "partial", "\n  \nFailed to start app.service: no such unit\nmore\n" } }))
    local ok, err = pcall(process.run, { "systemctl", "start", "app" })
    assert.is_false(ok)
    assert.equal(process.Error, getmetatable(err))
    assert.same({ "systemctl", "start", "app" }, err.cmd)
    assert.equal(5, err.code)
    assert.is_nil(err.signal)
    assert.is_false(err.timed_out)
    assert.equal("partial", err.stdout)
    assert.equal("command [systemctl start app] exited with status 5: " ..
      "Failed to start app.service: no such unit", tostring(err))
  end)

  it("raises when killed, naming the signal", function()
    process.set_runner(recording({ { -9, "", "" } }))
    local ok, err = pcall(process.run, { "pg_ctl", "stop" })
    assert.is_false(ok)
    assert.is_nil(err.code)
    assert.equal(9, err.signal)
    assert.equal("command [pg_ctl stop] was killed by signal 9", tostring(err))
  end)

  it("raises on a timeout, naming the limit", function()
    process.set_runner(recording({ { -15, "so far", "", true } }))
    local ok, err = pcall(process.run, { "sleep", "30" }, { timeout = 2 })
    assert.is_false(ok)
    assert.is_true(err.timed_out)
    assert.equal(15, err.signal)
    assert.equal(2, err.timeout)
    assert.equal("so far", err.stdout)
    assert.equal("command [sleep 30] timed out after 2 s (killed by signal 15)", tostring(err))
    -- a timeout is a failure even when the program's own status was 0
    process.set_runner(recording({ { 0, "", "", true } }))
    ok, err = pcall(process.run, { "x" }, { timeout = 0.5 })
    assert.is_false(ok)
    assert.equal("command [x] timed out after 0.5 s (exited with status 0)", tostring(err))
  end)

  it("raises when the program cannot be started", function()
    process.set_runner(recording({ { nil, "cannot run nosuch: No such file or directory" } }))
    local ok, err = pcall(process.run, { "nosuch", "-v" })
    assert.is_false(ok)
    assert.equal(process.Error, getmetatable(err))
    assert.is_nil(err.code)
    assert.equal("cannot run nosuch: No such file or directory", err.message)
    assert.equal("", err.stdout)
    assert.equal("command [nosuch -v] could not be run: cannot run nosuch: No such file or directory",
      tostring(err))
  end)

  it("check = false returns the result of a failure instead", function()
    process.set_runner(recording({ { 3, "", "inactive\n" }, { -9, "", "" }, { nil, "gone" } }))
    assert.same({ code = 3, stdout = "", stderr = "inactive\n", timed_out = false },
      process.run({ "systemctl", "is-active", "x" }, { check = false }))
    assert.same({ signal = 9, stdout = "", stderr = "", timed_out = false },
      process.run({ "x" }, { check = false }))
    assert.same({ stdout = "", stderr = "", timed_out = false, message = "gone" },
      process.run({ "x" }, { check = false }))
  end)

  it("runner() gives the real runner, then the one set, so a harness can chain", function()
    local real = process.runner()
    assert.is_function(real)
    local seen = {}
    process.set_runner(function(argv, opts)
      seen[#seen + 1] = argv[1]
      return real(argv, opts)
    end)
    assert.are_not.equal(real, process.runner())
    assert.equal("chained\n", process.run({ "echo", "chained" }).stdout)
    assert.same({ "echo" }, seen)
    process.set_runner(nil)
    assert.equal(real, process.runner())
  end)

  it("DISPATCH_PROCESS_WRAPPER in the hook's environment starts every program through it", function()
    local juju = require "juju"
    juju.set_env { DISPATCH_PROCESS_WRAPPER = "/bin/echo" }
    local ok, r = pcall(process.run, { "systemctl", "restart", "a b" })
    juju.set_env(nil)
    assert(ok, r)
    assert.equal("systemctl restart a b\n", r.stdout)
    juju.set_env { DISPATCH_PROCESS_WRAPPER = "" }
    ok, r = pcall(process.run, { "echo", "direct" })
    juju.set_env(nil)
    assert(ok, r)
    assert.equal("direct\n", r.stdout)
  end)

  it("a runner that answers nonsense is an error", function()
    process.set_runner(function() return "zero" end)
    assert.has_error(function() process.run({ "x" }) end,
      "process runner returned zero (an integer or nil expected)")
    process.set_runner(function() return 0, 42 end)
    assert.has_error(function() process.run({ "x" }) end)
  end)
end)

describe("juju.process programming mistakes, at the caller's line #unit", function()
  after_each(function() process.set_runner(nil) end)

  it("argv must be a non-empty list of strings", function()
    local runner, calls = recording({})
    process.set_runner(runner)
    caller_error(function() process.run("ls -l") end, "argv: a list of strings expected, got string")
    caller_error(function() process.run() end, "argv: a list of strings expected, got no value")
    caller_error(function() process.run({}) end, "argv is empty")
    caller_error(function() process.run({ "ls", 7 }) end, "argv[2] is a number, not a string")
    caller_error(function() process.run({ "ls", "-l", x = 1 }) end, "argv is not a list: key x")
    caller_error(function() process.run({ "ls", [3] = "x" }) end, "argv")
    caller_error(function() process.run({ "ls", "a\0b" }) end, "argv[2] contains a NUL byte")
    assert.equal(0, #calls)
  end)

  it("options are checked: names, types, values", function()
    local runner, calls = recording({})
    process.set_runner(runner)
    caller_error(function() process.run({ "ls" }, "x") end, "options: table expected, got string")
    caller_error(function() process.run({ "ls" }, { input = "x" }) end, "unknown option 'input'")
    caller_error(function() process.run({ "ls" }, { stdin = 5 }) end, "option 'stdin': string expected, got number")
    caller_error(function() process.run({ "ls" }, { check = "no" }) end, "option 'check': boolean expected")
    caller_error(function() process.run({ "ls" }, { env = "A=b" }) end, "option 'env': table expected")
    caller_error(function() process.run({ "ls" }, { timeout = 0 }) end,
      "option 'timeout': a positive number of seconds expected")
    caller_error(function() process.run({ "ls" }, { timeout = -1 }) end,
      "option 'timeout': a positive number of seconds expected")
    caller_error(function() process.run({ "ls" }, { timeout = 0 / 0 }) end,
      "option 'timeout': a positive number of seconds expected")
    caller_error(function() process.run({ "ls" }, { timeout = math.huge }) end, "option 'timeout': a positive")
    caller_error(function() process.run({ "ls" }, { cwd = "" }) end, "option 'cwd': a directory expected")
    caller_error(function() process.run({ "ls" }, { env = { ["A=B"] = "x" } }) end,
      "bad argument #2 to 'run' (option 'env': 'A=B' is not a variable name)")
    caller_error(function() process.run({ "ls" }, { env = { [1] = "x" } }) end,
      "(option 'env': number is not a variable name)")
    caller_error(function() process.run({ "ls" }, { env = { A = {} } }) end,
      "(option 'env': A: string, number or false expected, got table)")
    caller_error(function() process.run({ "ls" }, { env = { A = true } }) end, "got boolean")
    caller_error(function() process.run({ "ls" }, { env = { A = "x\0y" } }) end,
      "(option 'env': A contains a NUL byte)")
    caller_error(function() process.set_runner("sys.spawn") end, "function or nil expected, got string")
    assert.equal(0, #calls)
  end)
end)

describe("juju.process.run with real programs (no seam) #unit", function()
  it("runs without a shell: arguments arrive verbatim", function()
    local r = process.run({ "printf", "%s|", "a b", "$(echo no)", "*", "'q'" })
    assert.equal("a b|$(echo no)|*|'q'|", r.stdout)
  end)

  it("feeds stdin and captures both outputs", function()
    local r = process.run({ "sh", "-c", "cat; echo to-err >&2; exit 4" }, { stdin = "in\0put", check = false })
    assert.same({ code = 4, stdout = "in\0put", stderr = "to-err\n", timed_out = false }, r)
  end)

  it("reports a real missing program and a real timeout", function()
    local ok, err = pcall(process.run, { "no-such-program-for-dispatch-tests" })
    assert.is_false(ok)
    assert.equal("cannot run no-such-program-for-dispatch-tests: No such file or directory", err.message)
    local t0 = sys.monotime()
    ok, err = pcall(process.run, { "sleep", "30" }, { timeout = 0.2 })
    local took = sys.monotime() - t0
    assert.is_false(ok)
    assert.is_true(err.timed_out)
    assert.equal(15, err.signal)
    assert.is_true(took >= 0.2 and took < 0.7, "took " .. took)
  end)
end)

describe("juju.sys #unit", function()
  it("is the same table from require and across loads", function()
    assert.equal(sys, require("juju.sys"))
    assert.same({ "add_history", "environ", "exists", "listdir", "mkdir", "mkdtemp", "monotime", "readline", "realpath",
                  "sleep", "spawn", "symlink", "unzip", "write_file" }, keys(sys))
  end)

  it("mkdtemp, mkdir and listdir", function()
    local dir = assert(sys.mkdtemp("/tmp/juju-sys-spec."))
    assert.matches("^/tmp/juju%-sys%-spec%.", dir)
    assert.is_true(sys.mkdir(dir .. "/sub"))
    assert.is_true(sys.mkdir(dir .. "/sub"))            -- already there: fine
    assert(io.open(dir .. "/file", "w")):close()
    local entries = sys.listdir(dir)
    table.sort(entries, function(a, b) return a.name < b.name end)
    assert.same({ { name = "file", type = "file" }, { name = "sub", type = "directory" } }, entries)
    local ok, err, errno = sys.mkdir(dir .. "/no/such/parent")
    assert.is_nil(ok)
    assert.matches("mkdir " .. dir .. "/no/such/parent: No such file or directory", err, 1, true)
    assert.equal(2, errno)
    local none, why = sys.listdir(dir .. "/missing")
    assert.is_nil(none)
    assert.matches("opendir .*: No such file or directory", why)
    assert.is_nil((sys.mkdtemp("/nonexistent-dir/x.")))
    os.remove(dir .. "/file")
    os.remove(dir .. "/sub")
    os.remove(dir)
  end)

  it("spawn returns code, stdout, stderr, timed_out", function()
    local code, out, err, timed_out = sys.spawn({ "sh", "-c", "printf o; printf e >&2; exit 3" })
    assert.same({ 3, "o", "e", false }, { code, out, err, timed_out })
    code, out, err, timed_out = sys.spawn({ "sh", "-c", "printf x; kill -9 $$" })
    assert.same({ -9, "x", "", false }, { code, out, err, timed_out })
    code, out, err, timed_out = sys.spawn({ "sleep", "10" }, { timeout = 0.1 })
    assert.same({ -15, "", "", true }, { code, out, err, timed_out })
  end)

  it("spawn's env is the whole environment, and its PATH finds the program", function()
    local code, out = sys.spawn({ "env" }, { env = { A = "1" } })
    assert.equal(0, code)
    assert.equal("A=1\n", out)
    local r = { sys.spawn({ "env" }, { env = { PATH = "/nonexistent-dir-for-dispatch" } }) }
    assert.same({ nil, "cannot run env: No such file or directory", 2 }, r)
  end)

  it("spawn gives nil, message, errno when it cannot start", function()
    local r = { sys.spawn({ "true" }, { cwd = "/nonexistent-dir-for-dispatch" }) }
    assert.same({ nil, "cannot run true: cannot enter working directory /nonexistent-dir-for-dispatch " ..
      "(No such file or directory)", 2 }, r)
  end)

  it("spawn checks its arguments", function()
    assert.has_error(function() sys.spawn({}) end, "bad argument #1 to 'spawn' (argv is empty)")
    assert.has_error(function() sys.spawn({ "ls", 1 }) end,
      "bad argument #1 to 'spawn' (argv[2] must be a string, not a number)")
    assert.has_error(function() sys.spawn({ "l\0s" }) end,
      "bad argument #1 to 'spawn' (argv[1] contains a NUL byte)")
    assert.has_error(function() sys.spawn({ "ls" }, { check = false }) end,
      "bad argument #2 to 'spawn' (unknown option 'check')")
    assert.has_error(function() sys.spawn({ "ls" }, { timeout = -1 }) end,
      "bad argument #2 to 'spawn' (timeout must be a positive number of seconds)")
    assert.has_error(function() sys.spawn({ "ls" }, { env = { ["A=B"] = "x" } }) end,
      "bad argument #2 to 'spawn' (env name 'A=B' is empty or has a '=')")
    assert.has_error(function() sys.spawn({ "ls" }, { env = { A = 1 } }) end,
      "bad argument #2 to 'spawn' (env value of A must be a string, not a number)")
  end)

  it("leaves no fd and no child behind, errors included", function()
    collectgarbage()
    local before = hookenv.fds()
    for i = 1, 100 do
      if i % 4 == 0 then
        pcall(sys.spawn, { "ls" }, { env = { A = {} } })
      elseif i % 4 == 1 then
        sys.spawn({ "cat" }, { stdin = "x", timeout = 5 })
      elseif i % 4 == 2 then
        sys.spawn({ "sleep", "5" }, { timeout = 0.01 })
      else
        sys.spawn({ "no-such-program-for-dispatch-tests" })
      end
    end
    collectgarbage()
    assert.same(before, hookenv.fds())
    assert.same({}, hookenv.children())
  end)

  it("environ is this process's environment", function()
    local env = sys.environ()
    assert.equal(os.getenv("PATH"), env.PATH)
    assert.equal(os.getenv("HOME"), env.HOME)
  end)

  it("monotime goes forward and sleep sleeps", function()
    local t0 = sys.monotime()
    sys.sleep(0.05)
    local t1 = sys.monotime()
    assert.is_true(t1 - t0 >= 0.05 and t1 - t0 < 0.5, tostring(t1 - t0))
    sys.sleep(0)
    assert.has_error(function() sys.sleep(-1) end)
    assert.has_error(function() sys.sleep(0 / 0) end)
  end)

  it("write_file gives true, or nil, message, errno", function()
    local dir = hookenv.tmpdir()
    assert.is_true(sys.write_file(dir .. "/f", "data", { mode = 384 }))
    assert.equal("data", hookenv.read_file(dir .. "/f"))
    local r = { sys.write_file(dir .. "/missing/f", "x") }
    assert.same({ nil, "cannot write " .. dir .. "/missing/f: cannot create a temporary file in " ..
      dir .. "/missing (No such file or directory)", 2 }, r)
    assert.has_error(function() sys.write_file(dir .. "/f", "x", { mode = 8192 }) end,
      "bad argument #3 to 'write_file' (mode must be an integer from 0 to 4095)")
    assert.has_error(function() sys.write_file(dir .. "/f", "x", { owner = "root" }) end,
      "bad argument #3 to 'write_file' (unknown option 'owner')")
    -- sync = false: scratch files, replaced whole all the same
    assert.is_true(sys.write_file(dir .. "/f", "scratch", { sync = false }))
    assert.equal("scratch", hookenv.read_file(dir .. "/f"))
    assert.has_error(function() sys.write_file(dir .. "/f", "x", { sync = "no" }) end,
      "bad argument #3 to 'write_file' (sync: a boolean expected, got string)")
    hookenv.rmtree(dir)
  end)
end)
