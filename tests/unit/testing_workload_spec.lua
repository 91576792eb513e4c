-- juju.testing state: the workload's programs (state.processes, recorded
-- in run.processes) and the machine's files (state.files and state.dirs,
-- an in-memory tree; run.writes).

local charm = require "juju.charm"
local file = require "juju.file"
local process = require "juju.process"
local testing = require "juju.testing"
local on = testing.on

local META = { name = "web" }

local function context(handler)
  local c = charm.new()
  c:on("config-changed", handler)
  return testing.context{ charm = c, metadata = META }
end

local function run(handler, state)
  return context(handler):run(on.config_changed(), state or {})
end

local function run_failing(handler, state)
  return context(handler):run_failing(on.config_changed(), state or {})
end

--- What process.run gave, as plain data (check = false: a failure is a result).
local function result(argv, opts)
  opts = opts or {}
  opts.check = false
  local r = process.run(argv, opts)
  return { code = r.code, stdout = r.stdout, stderr = r.stderr, message = r.message }
end

describe("juju.testing workload programs #unit", function()
  local PROCESSES = {
    { command = "systemctl is-active app", code = 3, stdout = "inactive\n" },
    { command = "systemctl", stdout = "ok\n" },
    { command = "apt-get install", code = 100, stderr = "E: Unable to locate package nosuch\n" },
    { command = "pg_ctl", missing = true },
  }

  it("the first entry whose words start the argv answers, with its code, stdout and stderr", function()
    local seen
    run(function()
      seen = {
        result { "systemctl", "is-active", "app" },
        result { "systemctl", "is-active", "other" },
        result { "systemctl", "restart", "app" },
        result { "apt-get", "install", "-y", "nosuch" },
      }
    end, { processes = PROCESSES })
    assert.same({
      { code = 3, stdout = "inactive\n", stderr = "" },
      { code = 0, stdout = "ok\n", stderr = "" },
      { code = 0, stdout = "ok\n", stderr = "" },
      { code = 100, stdout = "", stderr = "E: Unable to locate package nosuch\n" },
    }, seen)
  end)

  it("words match whole: 'systemctl' does not answer 'systemctl-helper', nor 'apt-get install' 'apt-get'", function()
    local seen
    run(function() seen = { result { "systemctl-helper" }, result { "apt-get", "update" } } end,
      { processes = PROCESSES })
    assert.same({ { code = 0, stdout = "", stderr = "" }, { code = 0, stdout = "", stderr = "" } }, seen)
  end)

  it("a program no entry answers exits 0 with no output", function()
    local seen
    run(function() seen = result { "hostname" } end, {})
    assert.same({ code = 0, stdout = "", stderr = "" }, seen)
  end)

  it("a missing program cannot be run, as when it is not on PATH", function()
    local seen
    local _, r = run(function() seen = result { "pg_ctl", "start" } end, { processes = PROCESSES })
    assert.same({ stdout = "", stderr = "", message = "cannot run pg_ctl: No such file or directory" }, seen)
    assert.same({ { argv = { "pg_ctl", "start" } } }, r.processes)
  end)

  it("a failing program fails the hook with process.Error's message", function()
    local _, r = run_failing(function() process.run({ "apt-get", "install", "-y", "nosuch" }) end,
      { processes = PROCESSES })
    assert.matches("command [apt-get install -y nosuch] exited with status 100: E: Unable to locate package nosuch",
      r.error, 1, true)
  end)

  it("run.processes records each program's argv, stdin, cwd and exit code, in order", function()
    local _, r = run(function()
      process.run({ "systemctl", "restart", "app" })
      process.run({ "psql", "-f", "-" }, { stdin = "SELECT 1;", cwd = "/srv" })
      result { "systemctl", "is-active", "app" }
    end, { processes = PROCESSES })
    assert.same({
      { argv = { "systemctl", "restart", "app" }, code = 0 },
      { argv = { "psql", "-f", "-" }, stdin = "SELECT 1;", cwd = "/srv", code = 0 },
      { argv = { "systemctl", "is-active", "app" }, code = 3 },
    }, r.processes)
  end)

  it("files a program writes are in the tree at once, and in the state after; processes pass through", function()
    local seen
    local state = { processes = { { command = "systemctl start app", files = { ["/run/app/app.pid"] = "4242\n" } } } }
    local out = run(function()
      seen = { file.exists("/run/app/app.pid") }
      process.run({ "systemctl", "start", "app" })
      seen[2] = file.read("/run/app/app.pid")
    end, state)
    assert.same({ false, "4242\n" }, seen)
    assert.same({ ["/run/app/app.pid"] = "4242\n" }, out.files)
    assert.same(state.processes, out.processes)
  end)
end)

describe("juju.testing files #unit", function()
  it("state.files are the machine's files: read, replaced, added, removed; the state after has the tree", function()
    local seen
    local out = run(function()
      seen = { file.read("/etc/app/app.conf"), file.exists("/etc/app"), file.exists("/etc/app/other") }
      file.write("/etc/app/app.conf", "port = 9000\n")
      file.write("/etc/app/extra.conf", "x = 1\n")
      file.remove("/etc/app/old.conf")
    end, { files = { ["/etc/app/app.conf"] = "port = 80\n", ["/etc/app/old.conf"] = "" } })
    assert.same({ "port = 80\n", true, false }, seen)
    assert.same({ ["/etc/app/app.conf"] = "port = 9000\n", ["/etc/app/extra.conf"] = "x = 1\n" }, out.files)
    assert.is_nil(out.dirs)
  end)

  it("a write needs its directory, as on a machine", function()
    local _, r = run_failing(function() file.write("/etc/app/app.conf", "x") end)
    assert.matches("testing_workload_spec.lua:%d+: cannot write /etc/app/app.conf: No such file or directory",
      r.error)
  end)

  it("a fresh machine's directories are there: /etc/systemd/system, /var/lib, /usr/local/bin, /tmp", function()
    local out = run(function()
      for _, d in ipairs { "/etc/systemd/system", "/var/lib", "/usr/local/bin", "/tmp" } do
        file.write(d .. "/f", d)
      end
    end)
    assert.same({ ["/etc/systemd/system/f"] = "/etc/systemd/system", ["/var/lib/f"] = "/var/lib",
                  ["/usr/local/bin/f"] = "/usr/local/bin", ["/tmp/f"] = "/tmp" }, out.files)
  end)

  it("directories the charm makes, and state.dirs, are kept when empty", function()
    local out = run(function()
      file.make_dirs("/srv/app/cache")
      file.write("/var/lib/given/data", "d")
    end, { dirs = { "/var/lib/given", "/opt/empty" } })
    assert.same({ "/opt/empty", "/srv/app/cache" }, out.dirs)
    assert.same({ ["/var/lib/given/data"] = "d" }, out.files)
  end)

  it("a new directory and file at the top of the tree", function()
    local out = run(function()
      file.make_dirs("/data/app")
      file.write("/marker", "m")
    end)
    assert.same({ "/data/app" }, out.dirs)
    assert.same({ ["/marker"] = "m" }, out.files)
  end)

  it("run.writes records each write's path, mode, owner and group (default 0644, the hook's owner)", function()
    local _, r = run(function()
      file.write("/etc/app.conf", "a")
      file.write("/etc/app.key", "k", { mode = "0600", owner = "app", group = "app" })
      file.write("/usr/local/bin/tool", "#!/bin/sh\n", { mode = 493, owner = 0 })
    end)
    assert.same({
      { path = "/etc/app.conf", mode = "0644" },
      { path = "/etc/app.key", mode = "0600", owner = "app", group = "app" },
      { path = "/usr/local/bin/tool", mode = "0755", owner = 0 },
    }, r.writes)
  end)

  it("the tree says what a machine would: a directory is not a file, a file is not a directory", function()
    local seen
    run(function()
      seen = {
        { file.read("/etc") }, { file.read("/etc/nope") },
        { pcall(file.write, "/etc", "x") }, { pcall(file.write, "/etc/hosts/x", "x") },
        { file.remove("/etc") }, { file.remove("/srv/full") }, { pcall(file.make_dirs, "/etc/hosts/sub") },
      }
    end, { files = { ["/etc/hosts"] = "127.0.0.1 localhost\n", ["/srv/full/f"] = "" } })
    assert.same({ nil, "/etc: Is a directory" }, seen[1])
    assert.same({ nil, "/etc/nope: No such file or directory" }, seen[2])
    assert.same({ false, "cannot write /etc: Is a directory" }, { seen[3][1], seen[3][2]:match("cannot.*") })
    assert.same({ false, "cannot write /etc/hosts/x: Not a directory" },
      { seen[4][1], seen[4][2]:match("cannot.*") })
    assert.same({ nil, "/etc: Directory not empty" }, seen[5])
    assert.same({ nil, "/srv/full: Directory not empty" }, seen[6])
    -- as on a machine (file_spec: make_dirs under a file): the path asked for is not a directory
    assert.same({ false, "mkdir /etc/hosts/sub: Not a directory" }, { seen[7][1], seen[7][2]:match("mkdir.*") })
  end)

  it("a machine's own directories cannot be removed; an empty one the charm made can", function()
    local seen
    local out = run(function()
      seen = { { file.remove("/tmp") } }
      file.make_dirs("/srv/gone")
      seen[2] = { file.remove("/srv/gone") }
    end)
    assert.same({ { nil, "/tmp: Device or resource busy" }, { true } }, seen)
    assert.is_nil(out.dirs)
  end)

  it("relative paths are the real files (the charm's own, from its directory); they cannot be written", function()
    local f = assert(io.open("tests/unit/testing_workload_spec.lua", "rb"))
    local real = f:read("a")
    f:close()
    local seen
    run(function()
      seen = { file.read("tests/unit/testing_workload_spec.lua"), file.exists("tests/unit"),
               file.exists("tests/nope"), { pcall(file.write, "relative.txt", "x") } }
    end)
    assert.equal(real, seen[1])
    assert.same({ true, false, false }, { seen[2], seen[3], seen[4][1] })
    assert.matches("cannot write relative.txt: the test harness keeps only absolute paths", seen[4][2], 1, true)
  end)

  it("a failed hook leaves the files as they were", function()
    local files = { ["/etc/app.conf"] = "old" }
    local out = run_failing(function()
      file.write("/etc/app.conf", "new")
      error("then it broke")
    end, { files = files, dirs = { "/srv/app" } })
    assert.same({ ["/etc/app.conf"] = "old" }, out.files)
    assert.same({ "/srv/app" }, out.dirs)
  end)
end)
