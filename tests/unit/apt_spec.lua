-- juju.apt through the juju.process seam: the exact commands, the
-- environment, the one update per process, and retries only where
-- another try can help.

local hookenv = require "helpers.hookenv"

hookenv.juju()
local process = require "juju.process"
local sys = require "juju.sys"

local INSTALL = {
  "apt-get", "install", "-y", "-q",
  "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
}
local UPDATE = { "apt-get", "update", "-q" }

local LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 " ..
  "(unattended-upgr)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), " ..
  "is another process using it?\n"
local FETCH = "E: Failed to fetch http://archive.ubuntu.com/ubuntu/pool/main/n/nginx/nginx_1.18.deb  " ..
  "Temporary failure resolving 'archive.ubuntu.com'\nE: Unable to fetch some archives, maybe run " ..
  "apt-get update or try with --fix-missing?\n"

--- Install argv for packages.
local function install_argv(...)
  local argv = table.move(INSTALL, 1, #INSTALL, 1, {})
  for _, p in ipairs({ ... }) do argv[#argv + 1] = p end
  return argv
end

--- A runner that records each call (argv, opts, time) and answers from
-- a list: answers[i] = {code, stdout, stderr}; later calls succeed.
local function recording(answers)
  local calls = {}
  process.set_runner(function(argv, opts)
    calls[#calls + 1] = { argv = argv, opts = opts, at = sys.monotime() }
    return table.unpack(answers[#calls] or { 0, "", "" }, 1, 3)
  end)
  return calls
end

local function argvs(calls)
  local out = {}
  for i, c in ipairs(calls) do out[i] = c.argv end
  return out
end

--- Call fn (one line) and check it raised a plain error at that line.
local caller_error = require("helpers.mistakes").caller_error

describe("juju.apt #unit", function()
  local apt

  before_each(function()
    -- a fresh module: "once per process" starts again
    package.loaded["juju.apt"] = nil
    apt = require "juju.apt"
  end)

  after_each(function() process.set_runner(nil) end)

  it("updates once, then installs, noninteractive, in the process's environment", function()
    local calls = recording({})
    apt.install("nginx")
    assert.same({ UPDATE, install_argv("nginx") }, argvs(calls))
    for _, c in ipairs(calls) do
      assert.equal("noninteractive", c.opts.env.DEBIAN_FRONTEND)
      assert.equal(os.getenv("PATH"), c.opts.env.PATH)
      assert.is_nil(c.opts.stdin)
    end
    apt.install({ "postgresql-14", "postgresql-contrib=14+238", "libc6:i386" })
    assert.same({ UPDATE, install_argv("nginx"),
                  install_argv("postgresql-14", "postgresql-contrib=14+238", "libc6:i386") },
                argvs(calls))
  end)

  it("update = false skips the update, and it still happens once later", function()
    local calls = recording({})
    apt.install("curl", { update = false })
    apt.install("jq")
    apt.install("git")
    assert.same({ install_argv("curl"), UPDATE, install_argv("jq"), install_argv("git") }, argvs(calls))
  end)

  it("tries again while the dpkg lock is held, pausing longer each time", function()
    local calls = recording({ { 0, "", "" }, { 100, "", LOCKED }, { 100, "", LOCKED }, { 0, "", "" } })
    apt.install("nginx", { pause = 0.05 })
    assert.same({ UPDATE, install_argv("nginx"), install_argv("nginx"), install_argv("nginx") }, argvs(calls))
    local first, second = calls[3].at - calls[2].at, calls[4].at - calls[3].at
    assert.is_true(first >= 0.05 and first < 0.1 + 0.05, "first pause " .. first)
    assert.is_true(second >= 0.1 and second < 0.1 + 0.1, "second pause " .. second)
  end)

  it("tries again when a download failed, the update too", function()
    local calls = recording({ { 100, "", "E: Some index files failed to download.\n" }, { 0, "", "" },
                              { 100, "", FETCH }, { 0, "", "" } })
    apt.install("nginx", { pause = 0 })
    assert.same({ UPDATE, UPDATE, install_argv("nginx"), install_argv("nginx") }, argvs(calls))
  end)

  it("raises the last failure when apt keeps failing (1 + retries attempts)", function()
    local calls = recording({ { 0, "", "" }, { 100, "", LOCKED }, { 100, "", LOCKED },
                              { 100, "", "E: Could not get lock /var/lib/dpkg/lock (3rd)\n" } })
    local ok, err = pcall(apt.install, "nginx", { retries = 2, pause = 0 })
    assert.is_false(ok)
    assert.equal(process.Error, getmetatable(err))
    assert.equal(100, err.code)
    assert.same(install_argv("nginx"), err.cmd)
    assert.equal("E: Could not get lock /var/lib/dpkg/lock (3rd)\n", err.stderr)
    assert.equal(4, #calls)
    assert.truthy(tostring(err):find("exited with status 100: E: Could not get lock", 1, true))
  end)

  it("retries = 0 tries once", function()
    local calls = recording({ { 100, "", LOCKED } })
    assert.has_error(function() apt.install("nginx", { retries = 0, update = false }) end)
    assert.equal(1, #calls)
  end)

  it("does not try again what another try cannot fix", function()
    local calls = recording({ { 0, "", "" }, { 100, "", "E: Unable to locate package nginx-typo\n" } })
    local ok, err = pcall(apt.install, "nginx-typo", { pause = 0 })
    assert.is_false(ok)
    assert.equal("command [" .. table.concat(install_argv("nginx-typo"), " ") ..
      "] exited with status 100: E: Unable to locate package nginx-typo", tostring(err))
    assert.equal(2, #calls)
    -- the lock text with another status is not apt's lock failure
    calls = recording({ { 1, "", LOCKED } })
    assert.has_error(function() apt.install("x", { pause = 0 }) end)
    assert.equal(1, #calls)
    -- nor is a program that could not be started
    calls = recording({ { nil, "cannot run apt-get: No such file or directory" } })
    ok, err = pcall(apt.install, "x", { pause = 0 })
    assert.is_false(ok)
    assert.equal("cannot run apt-get: No such file or directory", err.message)
    assert.equal(1, #calls)
  end)

  it("a failed update is not remembered as done", function()
    local calls = recording({ { 100, "", "E: The repository is not signed.\n" } })
    assert.has_error(function() apt.install("nginx", { pause = 0 }) end)
    apt.install("nginx")
    assert.same({ UPDATE, UPDATE, install_argv("nginx") }, argvs(calls))
  end)

  it("remove and purge, retried on the lock", function()
    local calls = recording({ { 100, "", LOCKED } })
    apt.remove("apache2", { pause = 0 })
    apt.remove({ "a", "b" }, { purge = true })
    assert.same({
      { "apt-get", "remove", "-y", "-q", "apache2" },
      { "apt-get", "remove", "-y", "-q", "apache2" },
      { "apt-get", "purge", "-y", "-q", "a", "b" },
    }, argvs(calls))
    assert.equal("noninteractive", calls[3].opts.env.DEBIAN_FRONTEND)
  end)

  it("is_installed reads dpkg's status", function()
    local calls = recording({
      { 0, "install ok installed", "" },
      { 0, "deinstall ok config-files", "" },
      { 1, "", "dpkg-query: no packages found matching nosuch\n" },
      { 2, "", "dpkg-query: error: something else\n" },
    })
    assert.is_true(apt.is_installed("nginx"))
    assert.is_false(apt.is_installed("apache2"))
    assert.is_false(apt.is_installed("nosuch"))
    local ok, err = pcall(apt.is_installed, "libc6:amd64")
    assert.is_false(ok)
    assert.equal(process.Error, getmetatable(err))
    assert.equal(2, err.code)
    assert.same({ "dpkg-query", "-W", "-f=${Status}", "nginx" }, calls[1].argv)
    assert.same({ "dpkg-query", "-W", "-f=${Status}", "libc6:amd64" }, calls[4].argv)
    assert.is_nil(calls[1].opts.env)
  end)

  it("is_installed: a held package is installed, and so is one installed for any architecture", function()
    recording({
      { 0, "hold ok installed", "" },
      -- dpkg-query prints each architecture's status with no separator
      { 0, "deinstall ok config-filesinstall ok installed", "" },
      { 0, "install ok half-installed", "" },
      { 0, "install ok unpacked", "" },
    })
    assert.is_true(apt.is_installed("nginx"))
    assert.is_true(apt.is_installed("libc6"))
    assert.is_false(apt.is_installed("half"))
    assert.is_false(apt.is_installed("unpacked"))
  end)

  it("bad arguments are the caller's mistake", function()
    local calls = recording({})
    caller_error(function() apt.install() end, "a package name or a non-empty list of them expected, got nil")
    caller_error(function() apt.install({}) end, "got an empty table")
    caller_error(function() apt.install("-oAPT::Get::Foo=1") end,
      "package 1: '-oAPT::Get::Foo=1' is not a package name")
    caller_error(function() apt.install({ "a", "b c" }) end, "package 2: 'b c' is not a package name")
    caller_error(function() apt.install({ "a", 5 }) end, "package 2: a number is not a package name")
    caller_error(function() apt.install({ "a", x = "b" }) end, "not a list")
    caller_error(function() apt.install("a", { retry = 2 }) end, "unknown option 'retry'")
    caller_error(function() apt.install("a", { retries = -1 }) end, "retries must be an integer >= 0")
    caller_error(function() apt.install("a", { retries = 1.5 }) end, "retries must be an integer >= 0")
    caller_error(function() apt.install("a", { update = "no" }) end, "option 'update': boolean expected, got string")
    caller_error(function() apt.install("a", { pause = -1 }) end, "pause must be a number of seconds >= 0")
    caller_error(function() apt.remove("a", { update = false }) end, "unknown option 'update'")
    caller_error(function() apt.is_installed("nginx*") end, "'nginx*' is not a package name")
    caller_error(function() apt.is_installed("-a") end, "'-a' is not a package name")
    caller_error(function() apt.is_installed() end, "a nil is not a package name")
    assert.equal(0, #calls)
  end)
end)
