-- juju.process in the real build/dispatch with real programs: stdin and
-- both outputs byte for byte (8 MiB each), the environment, the working
-- directory, a timeout, missing programs, failures, nothing leaked after
-- 200 runs, and stand-ins found first on PATH. Hook commands play no part,
-- so both transport passes run the same thing.

local hookenv = require "helpers.hookenv"
local lfs = require "lfs"

local MiB = 1024 * 1024

--- Run Lua in build/dispatch with juju.process (and juju.sys) loaded.
-- @treturn table `{code, stdout, stderr}`
local function dispatch(code, opts)
  local prelude = 'local process = require "juju.process"; local sys = require "juju.sys"\n'
  return hookenv.run({ "-e", prelude .. code }, opts)
end

local pattern = require("helpers.fs").pattern

describe("juju.process in build/dispatch #integration #once", function()
  local tmp
  before_each(function() tmp = hookenv.tmpdir() end)
  after_each(function() hookenv.rmtree(tmp) end)

  it("feeds stdin and captures stdout and stderr, no shell in between", function()
    local r = dispatch([[
      local res = process.run({"sh", "-c", 'cat; printf "%s|" "$@" >&2; exit 0', "sh", "a b", "$(x)", "*"},
                              {stdin = "line 1\nline 2\0after nul"})
      io.write(cjson.encode({res.code, res.stdout, res.stderr, res.timed_out}))
    ]])
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.same({ 0, "line 1\nline 2\0after nul", "a b|$(x)|*|", false }, require("cjson").decode(r.stdout))
  end)

  it("8 MiB on stdout and 8 MiB on stderr at once, with 8 MiB of stdin, byte for byte", function()
    local out, err, input = pattern(8 * MiB, "%07d,"), pattern(8 * MiB, "E%06x\n"), pattern(8 * MiB, "i%07d")
    hookenv.write_file(tmp .. "/out", out)
    hookenv.write_file(tmp .. "/err", err)
    hookenv.write_file(tmp .. "/in", input)
    local r = dispatch(([[
      local function read(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
      local dir = %q
      local input = read(dir .. "/in")
      -- both outputs written at once (a reader that finished one before the
      -- other would deadlock), while stdin is fed and copied to a file
      local res = process.run({"sh", "-c", 'cat "$1/out" & cat "$1/err" >&2 & cat > "$1/got-in"; wait', "sh", dir},
                              {stdin = input})
      assert(#res.stdout == %d and #res.stderr == %d, "sizes " .. #res.stdout .. " " .. #res.stderr)
      assert(res.stdout == read(dir .. "/out"), "stdout differs")
      assert(res.stderr == read(dir .. "/err"), "stderr differs")
      print("ok")
    ]]):format(tmp, 8 * MiB, 8 * MiB))
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.equal("ok\n", r.stdout)
    local got = hookenv.read_file(tmp .. "/got-in")
    assert.equal(#input, #got)
    assert.is_true(input == got, "stdin differs")
  end)

  it("env adds to the environment, clear_env empties it", function()
    local r = dispatch([[
      local a = process.run({"sh", "-c", 'printf "%s|%s|%s" "$X" "$PORT" "${HOME-unset}"'},
                            {env = {X = "y z", PORT = 8080, HOME = false}}).stdout
      local b = process.run({"/usr/bin/env"}, {clear_env = true, env = {ONLY = "this"}}).stdout
      io.write(a, "\n", b)
    ]], { env = { X = "inherited" } })
    assert.equal("", r.stderr)
    assert.equal("y z|8080|unset\nONLY=this\n", r.stdout)
    -- and without env, the program inherits dispatch's environment
    r = dispatch([[io.write(process.run({"sh", "-c", 'printf %s "$X"'}).stdout)]], { env = { X = "inherited" } })
    assert.equal("inherited", r.stdout)
  end)

  it("cwd is the program's working directory; a missing one cannot start", function()
    local real = assert(io.popen("cd " .. hookenv.quote(tmp) .. " && pwd -P")):read("l")
    local r = dispatch(([[
      io.write(process.run({"pwd", "-P"}, {cwd = %q}).stdout)
      local ok, err = pcall(process.run, {"pwd"}, {cwd = %q})
      io.write(tostring(ok), "|", tostring(err))
    ]]):format(tmp, tmp .. "/missing"))
    assert.equal("", r.stderr)
    assert.equal(real .. "\nfalse|command [pwd] could not be run: cannot run pwd: cannot enter " ..
      "working directory " .. tmp .. "/missing (No such file or directory)", r.stdout)
  end)

  it("a timeout ends `sleep 30` within a fraction of a second of the limit", function()
    local r = dispatch([[
      local t0 = sys.monotime()
      local ok, err = pcall(process.run, {"sleep", "30"}, {timeout = 0.5})
      local took = sys.monotime() - t0
      assert(not ok and getmetatable(err) == process.Error)
      io.write(("%s|%s|%s|%.3f|%s"):format(tostring(err.timed_out), tostring(err.signal),
        tostring(err.code), took, tostring(err)))
    ]])
    assert.equal("", r.stderr)
    local timed_out, signal, code, took, text = r.stdout:match("^(%a+)|(%d+)|(%a+)|([%d.]+)|(.*)$")
    assert.equal("true", timed_out)
    assert.equal("15", signal)
    assert.equal("nil", code)
    took = tonumber(took)
    assert.is_true(took >= 0.5 and took < 0.8, "took " .. tostring(took))
    assert.equal("command [sleep 30] timed out after 0.5 s (killed by signal 15)", text)
  end)

  it("a missing program and a non-zero exit raise process.Error", function()
    local r = dispatch([[
      local ok, err = pcall(process.run, {"no-such-program-for-dispatch-tests", "--x"})
      print(getmetatable(err) == process.Error, err.code, err.message)
      ok, err = pcall(process.run, {"sh", "-c", "echo out; echo 'E: it broke' >&2; echo more >&2; exit 3"})
      print(getmetatable(err) == process.Error, err.code, err.stdout == "out\n", tostring(err))
      local res = process.run({"sh", "-c", "exit 3"}, {check = false})
      print(res.code)
    ]])
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.equal(table.concat({
      "true\tnil\tcannot run no-such-program-for-dispatch-tests: No such file or directory",
      "true\t3\ttrue\tcommand [sh -c echo out; echo 'E: it broke' >&2; echo more >&2; exit 3] " ..
        "exited with status 3: E: it broke",
      "3",
    }, "\n") .. "\n", r.stdout)
  end)

  it("an uncaught process.Error fails the hook with its message", function()
    local r = dispatch([[process.run({"false"})]])
    assert.equal(1, r.code)
    assert.truthy(r.stderr:find("command [false] exited with status 1", 1, true), r.stderr)
  end)

  it("200 runs leave no fd and no child behind", function()
    local r = dispatch(hookenv.PROBE .. [[
      process.run({"true"})
      local before = probe()
      for i = 1, 200 do
        local k = i % 5
        if k == 0 then
          assert(process.run({"cat"}, {stdin = "x", env = {A = "b"}}).stdout == "x")
        elseif k == 1 then
          assert(not pcall(process.run, {"sh", "-c", "echo e >&2; exit 2"}))
        elseif k == 2 then
          assert(not pcall(process.run, {"no-such-program-for-dispatch-tests"}))
        elseif k == 3 then
          assert(not pcall(process.run, {"sleep", "5"}, {timeout = 0.01}))
        else
          assert(not pcall(process.run, {"true"}, {cwd = "/nonexistent-dir-for-dispatch"}))
        end
      end
      print(before)
      print(probe())
    ]])
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    local before, after = r.stdout:match("^([^\n]+)\n([^\n]+)\n$")
    assert.truthy(before, r.stdout)
    assert.matches("zombies=0 children=1$", before) -- the probing shell
    assert.equal(before, after)
  end)

  it("finds stand-ins put first on PATH, through opts.env and through dispatch's own PATH", function()
    assert(lfs.mkdir(tmp .. "/bin"))
    hookenv.write_file(tmp .. "/bin/systemctl",
      '#!/bin/sh\nprintf "%s\\n" "$*" >> "$(dirname "$0")/../calls"\n[ "$1" != is-active ] || exit 3\n')
    hookenv.sh("chmod 755 " .. hookenv.quote(tmp .. "/bin/systemctl"))
    local path = tmp .. "/bin:" .. os.getenv("PATH")
    -- dispatch's own PATH lacks the stand-ins: only opts.env's PATH has them
    local r = dispatch(([[
      process.run({"systemctl", "start", "via-env"}, {env = {PATH = %q}})
      local res = process.run({"systemctl", "start", "x"}, {clear_env = true, env = {PATH = %q}, check = false})
      print(res.message)
    ]]):format(path, tmp .. "/nothing-here"))
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.equal("cannot run systemctl: No such file or directory\n", r.stdout)
    assert.equal("start via-env\n", hookenv.read_file(tmp .. "/calls"))
    -- first on dispatch's own PATH: what juju.systemd runs
    r = dispatch([[
      local systemd = require "juju.systemd"
      systemd.start("app")
      systemd.enable("app", {now = true})
      print(systemd.is_active("app"))
    ]], { env = { PATH = path } })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.equal("false\n", r.stdout)
    assert.equal("start via-env\nstart app\nenable --now app\nis-active --quiet app\n",
      hookenv.read_file(tmp .. "/calls"))
  end)
end)
