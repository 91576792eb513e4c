--- Workload processes: run a program without a shell, and know how it went.
--
-- `argv[1]` is looked up on `PATH` (the `PATH` the program gets, so a
-- directory of stand-ins put first on it through `opts.env` wins) and every
-- argument reaches the program exactly as given: no shell ever parses
-- anything. A program that exits non-zero, is killed, runs out of time or
-- cannot be started raises a @{Error} (unless `check = false`).
--
-- Every run goes through one seam, @{set_runner}, which is how
-- @{juju.apt}, @{juju.systemd} and a charm's own commands are tested. A
-- simulated unit (`dispatch --simulate`) sets `DISPATCH_PROCESS_WRAPPER`
-- in the hook's environment instead: each program is then started as
-- `WRAPPER argv...`, a stand-in that records it and answers as the state
-- says.
--
--     local process = require "juju.process"
--     local r = process.run({"nginx", "-t"}, {timeout = 30})
--     local version = process.run({"nginx", "-v"}).stderr:match("nginx/(%S+)")
--
-- @module juju.process

local juju = require "juju"
local check = require "juju.private.check"
local sys = require "juju.sys"

local M = {}

local raise = check.raise

local type, pairs, error, tostring = type, pairs, error, tostring
local math_type = math.type

--- The error raised when a program fails.
-- `process.Error` is the metatable of the raised table: test with
-- `getmetatable(err) == process.Error`. `tostring(err)` names the command
-- and what happened, then the first line it wrote to stderr:
--
-- * `command [systemctl start nginx] exited with status 5: Failed to start nginx.service: ...`
-- * `command [sleep 30] timed out after 2 s (killed by signal 15)`
-- * `command [pg_ctl stop] was killed by signal 9`
-- * `command [nosuch] could not be run: cannot run nosuch: No such file or directory`
-- @table Error
-- @tfield {string,...} cmd the argv
-- @tfield ?int code the exit status (nil when killed or not started)
-- @tfield ?int signal the signal that killed it
-- @tfield boolean timed_out whether the timeout ended it
-- @tfield ?number timeout the time limit it had, in seconds
-- @tfield string stdout what it wrote to stdout ("" when not started)
-- @tfield string stderr what it wrote to stderr
-- @tfield ?string message why it could not be started
M.Error = { __name = "juju.process.Error" }

--- The first line of text that is not blank, or "".
local function first_line(text)
  for line in text:gmatch("[^\n]+") do
    if line:find("%S") then return line end
  end
  return ""
end

function M.Error.__tostring(e)
  local what
  if e.message then
    what = "could not be run: " .. e.message
  elseif e.timed_out then
    what = ("timed out after %s s (%s)"):format(
      e.timeout and ("%g"):format(e.timeout) or "?",
      e.signal and ("killed by signal " .. e.signal) or ("exited with status " .. tostring(e.code)))
  elseif e.signal then
    what = "was killed by signal " .. e.signal
  else
    what = "exited with status " .. tostring(e.code)
  end
  local text = ("command [%s] %s"):format(table.concat(e.cmd, " "), what)
  local line = first_line(e.stderr or "")
  if line ~= "" then text = text .. ": " .. line end
  return text
end

--- The real runner: spawn the program, through the wrapper named by
-- `DISPATCH_PROCESS_WRAPPER` when the hook's environment has one (a
-- simulated unit's stand-in, which answers for the workload's programs).
local function default_runner(argv, opts)
  local wrapper = juju.getenv("DISPATCH_PROCESS_WRAPPER")
  if wrapper ~= nil and wrapper ~= "" then
    local wrapped = { wrapper }
    for i = 1, #argv do wrapped[i + 1] = argv[i] end
    argv = wrapped
  end
  return sys.spawn(argv, opts)
end
local current_runner = nil

--- Stand a function in for running programs (for tests and simulated
-- units): every @{run} (and so every @{juju.apt} and @{juju.systemd} call)
-- calls it instead of starting a process. Everything else still applies:
-- argument checks, the environment merge, the result and the errors.
-- The function gets the argv (a copy) and the options as `juju.sys.spawn`
-- takes them: `stdin`, `env` (the whole environment when one was asked for,
-- else nil: inherit), `cwd`, `timeout` (seconds). It returns what
-- `juju.sys.spawn` returns: the exit status (minus the signal when
-- killed), stdout, stderr and whether it timed out; or nil and a message
-- when the program could not be started.
-- @tparam ?func fn the runner, or nil for the real one
-- @raise when `fn` is neither a function nor nil
-- @usage
-- local calls = {}
-- process.set_runner(function(argv, opts)
--   calls[#calls + 1] = argv
--   if argv[1] == "systemctl" then return 0, "", "" end
--   return nil, "cannot run " .. argv[1] .. ": not in this test"
-- end)
-- process.set_runner(nil)
function M.set_runner(fn)
  if fn ~= nil and type(fn) ~= "function" then
    raise(("bad argument #1 to 'set_runner' (function or nil expected, got %s)"):format(type(fn)))
  end
  current_runner = fn
end

--- The runner in use: the one given to @{set_runner}, or the real one
-- (`juju.sys.spawn`), so a harness can wrap it and pass calls on.
-- @treturn func
-- @usage
-- local real = process.runner()
-- process.set_runner(function(argv, opts)
--   print("running " .. table.concat(argv, " "))
--   return real(argv, opts)
-- end)
function M.runner()
  return current_runner or default_runner
end

local OPTIONS = {
  stdin = "string", env = "table", clear_env = "boolean", cwd = "string",
  timeout = "number", check = "boolean",
}

--- Check the options of run; the spawn options they make.
local function spawn_options(opts, fname)
  if opts == nil then return {} end
  check.options(2, fname, opts, OPTIONS)
  check.seconds(2, fname, "timeout", opts.timeout)
  if opts.cwd and (opts.cwd == "" or opts.cwd:find("\0", 1, true)) then
    check.bad_option(2, fname, "cwd", "a directory expected, got an empty string or one with a NUL byte")
  end
  local so = { stdin = opts.stdin, cwd = opts.cwd, timeout = opts.timeout }
  if opts.env ~= nil or opts.clear_env then
    local env = opts.clear_env and {} or sys.environ()
    for name, value in pairs(check.environment(2, fname, "env", opts.env or {}, true)) do
      env[name] = value or nil
    end
    so.env = env
  end
  return so
end

--- Run a program and wait for it.
-- @tparam {string,...} argv the program (looked up on `PATH`) and its
-- arguments, each passed as it is
-- @tparam[opt] table opts
--
-- * `stdin` (string): fed to the program (default: `/dev/null`)
-- * `env` (table): variables to add or change (NAME = string or number),
--   or to remove (NAME = false), in this process's environment; the
--   program's `PATH` is the one its name is looked up on
-- * `clear_env` (boolean): start from an empty environment instead
-- * `cwd` (string): its working directory (one that does not exist: it
--   cannot be started)
-- * `timeout` (number): seconds it gets; then it and what it started get
--   SIGTERM, and SIGKILL a second later (default: no limit)
-- * `check` (boolean): false to get the result of a failed run instead of
--   an error
-- @treturn table `{code = int|nil, signal = int|nil, timed_out = boolean,
-- stdout = string, stderr = string}`; with `check = false`, a program
-- that could not be started gives `code = nil` and `message`
-- @raise a @{Error} when the program exits non-zero, is killed, times out
-- or cannot be started (unless `check = false`); a plain error, at the
-- caller's line, for a bad argv or option
-- @usage
-- local r = process.run({"pg_isready", "-h", host}, {check = false, timeout = 5})
-- if r.code ~= 0 then status.waiting("database not ready") end
-- process.run({"myapp-admin", "import", "-"}, {stdin = data, env = {LC_ALL = "C"}})
function M.run(argv, opts)
  local cmd = check.argv(1, "run", argv)
  local so = spawn_options(opts, "run")
  local copy = table.move(cmd, 1, #cmd, 1, {})
  local code, stdout, stderr, timed_out = M.runner()(copy, so)

  local result
  if code == nil then
    result = { stdout = "", stderr = "", timed_out = false, message = tostring(stdout) }
  elseif math_type(code) == "integer" then
    if stdout ~= nil and type(stdout) ~= "string" or stderr ~= nil and type(stderr) ~= "string" then
      error(("process runner returned a %s stdout and a %s stderr (strings expected)"):format(
        type(stdout), type(stderr)), 2)
    end
    result = {
      code = code >= 0 and code or nil,
      signal = code < 0 and -code or nil,
      stdout = stdout or "",
      stderr = stderr or "",
      timed_out = timed_out == true,
    }
  else
    error(("process runner returned %s (an integer or nil expected)"):format(tostring(code)), 2)
  end

  local failed = result.code ~= 0 or result.timed_out
  if failed and (opts == nil or opts.check ~= false) then
    error(setmetatable({
      cmd = cmd,
      code = result.code,
      signal = result.signal,
      timed_out = result.timed_out,
      timeout = result.timed_out and so.timeout or nil,
      stdout = result.stdout,
      stderr = result.stderr,
      message = result.message,
    }, M.Error))
  end
  return result
end

return M
