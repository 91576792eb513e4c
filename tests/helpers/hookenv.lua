--- Integration test helpers: the recording fake hook commands and the host.
--
-- The suite runs under `tests/helpers/with-transport exec|socket`, which
-- exports `FAKE_HOOK_DIR` (where `build/fakecmd` records calls and reads
-- canned responses), `FAKE_BIN` (a directory of symlinks named after every
-- hook command), `TEST_TRANSPORT` and, for the socket, `AGENT_LOG`.
-- The agent keeps its own copy of that environment, so tests never move
-- `FAKE_HOOK_DIR`: they empty it between tests instead (@{reset}).
--
-- Shell strings appear only in this test helper, always built with
-- @{quote}; the code under test never goes through a shell.
-- @module helpers.hookenv

local lfs = require "lfs"
local fs = require "helpers.fs"

local M = {}

--- Quote one word for /bin/sh (@{helpers.fs.shell_quote}).
M.quote = fs.shell_quote

--- Read a whole file, or nil when it cannot be opened (@{helpers.fs.read}).
M.read_file = fs.read

--- Write a whole file (created or truncated).
-- @tparam string path
-- @tparam string data
function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

--- Whether a path exists (any kind of file, symlinks not followed).
-- @tparam string path
-- @treturn boolean
function M.exists(path)
  return lfs.symlinkattributes(path) ~= nil
end

--- Run a shell command line and fail loudly when it fails.
-- @tparam string cmdline
local function sh(cmdline)
  local ok, how, code = os.execute(cmdline)
  if not ok then
    error(("shell command failed (%s %s): %s"):format(how, code, cmdline), 2)
  end
end
M.sh = sh

--- Lua to run inside build/dispatch that defines `probe()`: its own open
-- fds (juju.sys.listdir of /proc/self/fd, no child: no race with a
-- child's half-closed pipe) and its children and zombies (through a shell
-- whose parent, $PPID, is dispatch), as "fds=N zombies=N children=N".
-- Garbage is collected first: what Lua dropped is closed then.
M.PROBE = [=[
local function probe()
  collectgarbage()
  local fds = #require("juju.sys").listdir("/proc/self/fd") - 1   -- less listdir's own
  local p = assert(io.popen("ps --ppid $PPID -o stat= | grep -c '^Z'; ps --ppid $PPID -o pid= | wc -l"))
  local zombies, children = p:read("n", "n")
  p:close()
  return ("fds=%d zombies=%d children=%d"):format(fds, zombies, children)
end
]=]

--- Make a fresh temporary directory.
-- @treturn string its absolute path
function M.tmpdir()
  for _ = 1, 100 do
    local dir = ("/tmp/dispatch-it.%d.%06d"):format(M.self_pid(), math.random(0, 999999))
    if lfs.mkdir(dir) then return dir end
  end
  error("cannot make a temporary directory")
end

--- Remove a file tree (only paths under /tmp, as a guard).
-- Symlinks are removed, never followed.
-- @tparam string path
function M.rmtree(path)
  assert(path:match("^/tmp/[^/]"), "refusing to remove " .. path)
  local mode = lfs.symlinkattributes(path, "mode")
  if mode == "directory" then
    for name in lfs.dir(path) do
      if name ~= "." and name ~= ".." then M.rmtree(path .. "/" .. name) end
    end
    assert(lfs.rmdir(path))
  elseif mode then
    assert(os.remove(path))
  end
end

--- Remove everything inside a directory, keeping the directory.
-- @tparam string dir
local function empty_dir(dir)
  if lfs.attributes(dir, "mode") ~= "directory" then
    assert(lfs.mkdir(dir))
    return
  end
  for name in lfs.dir(dir) do
    if name ~= "." and name ~= ".." then
      local p = dir .. "/" .. name
      if lfs.symlinkattributes(p, "mode") == "directory" then
        sh("rm -rf " .. M.quote(p))
      else
        assert(os.remove(p))
      end
    end
  end
end

--- The environment the suite runs in.
-- @section env

--- The fake hook directory (`FAKE_HOOK_DIR`).
-- @treturn string
function M.fake_dir()
  return assert(os.getenv("FAKE_HOOK_DIR"),
    "FAKE_HOOK_DIR is not set: run the suite under tests/helpers/with-transport")
end

--- The directory of hook command symlinks (`FAKE_BIN`).
-- @treturn string
function M.fake_bin()
  return assert(os.getenv("FAKE_BIN"), "FAKE_BIN is not set")
end

--- "exec" or "socket" (`TEST_TRANSPORT`).
-- @treturn string
function M.transport()
  return os.getenv("TEST_TRANSPORT") or "exec"
end

--- The host binary under test (`DISPATCH`, default build/dispatch).
-- @treturn string an absolute path
function M.dispatch_path()
  local p = os.getenv("DISPATCH")
  if p then return p end
  local pwd = assert(io.popen("pwd -P")):read("l")
  return pwd .. "/build/dispatch"
end

--- Load `juju.so` from `JUJU_CPATH` (default ./build/?.so) into this Lua.
-- @treturn table the juju module
function M.juju()
  local cpath = os.getenv("JUJU_CPATH") or "./build/?.so"
  if not package.cpath:find(cpath, 1, true) then
    package.cpath = cpath .. ";" .. package.cpath
  end
  return require "juju"
end

--- The physical current directory (what getcwd(3) returns).
-- @treturn string
function M.cwd()
  local p = assert(io.popen("pwd -P"))
  local d = p:read("l")
  p:close()
  return d
end

--- The fake hook commands: responses and call records.
-- @section fake

--- Forget every recorded call and canned response.
function M.reset()
  local dir = M.fake_dir()
  empty_dir(dir .. "/calls")
  empty_dir(dir .. "/responses")
end

--- Set the canned response of a hook command.
-- @tparam string cmd the command name, e.g. "config-get"
-- @tparam table r fields: `stdout`, `stderr` (strings), `exit`, `signal`
--   (numbers), `echo` (true: echo fed stdin to stdout), `sleep` (seconds to
--   wait before answering; `calls/N.sleeping` appears when the wait starts)
-- @tparam[opt] int k only for that command's k-th call (from 1)
function M.respond(cmd, r, k)
  local base = M.fake_dir() .. "/responses/" .. cmd .. (k and ("." .. k) or "")
  if r.stdout then M.write_file(base .. ".stdout", r.stdout) end
  if r.stderr then M.write_file(base .. ".stderr", r.stderr) end
  if r.exit then M.write_file(base .. ".exit", ("%d\n"):format(r.exit)) end
  if r.signal then M.write_file(base .. ".signal", ("%d\n"):format(r.signal)) end
  if r.echo then M.write_file(base .. ".echo", "") end
  if r.sleep then M.write_file(base .. ".sleep", tostring(r.sleep)) end
end

--- How many hook command calls were recorded.
-- @treturn int
function M.ncalls()
  local s = M.read_file(M.fake_dir() .. "/calls/counter")
  if not s then return 0 end
  return assert(math.tointeger(tonumber(s:match("%d+"))), "bad counter: " .. s)
end

--- Split NUL-terminated elements.
-- @tparam string s
-- @treturn {string,...}
local function split_nul(s)
  local out = {}
  for elem in s:gmatch("([^\0]*)\0") do out[#out + 1] = elem end
  return out
end

--- One recorded call.
-- @tparam int n the call number, from 1 (negative: from the end, -1 last)
-- @treturn table `{n=, argv={...}, stdin=string|nil, fds="0 1 2",
--   secrets={KEY={content=, info=}}}`
function M.call(n)
  if n < 0 then n = M.ncalls() + 1 + n end
  local dir = M.fake_dir() .. "/calls/"
  local base = ("%06d"):format(n)
  local argv = M.read_file(dir .. base .. ".argv")
  assert(argv, ("no recorded call %d (%d calls recorded)"):format(n, M.ncalls()))
  local fds = M.read_file(dir .. base .. ".fds")
  local rec = {
    n = n,
    argv = split_nul(argv),
    stdin = M.read_file(dir .. base .. ".stdin"),
    fds = fds and (fds:gsub("^%s+", ""):gsub("%s+$", "")),
    secrets = {},
  }
  local prefix = base .. ".secret."
  for name in lfs.dir(dir) do
    if name:sub(1, #prefix) == prefix and not name:match("%.info$") then
      local key = name:sub(#prefix + 1)
      rec.secrets[key] = {
        content = M.read_file(dir .. name),
        info = M.read_file(dir .. name .. ".info"),
      }
    end
  end
  return rec
end

--- Every recorded call, in order.
-- @treturn {table,...} as from @{call}
function M.calls()
  local out = {}
  for i = 1, M.ncalls() do out[i] = M.call(i) end
  return out
end

--- The argv of every recorded call, in order.
-- @treturn {{string,...},...}
function M.argvs()
  local out = {}
  for i, c in ipairs(M.calls()) do out[i] = c.argv end
  return out
end

--- Remove a hook command from `FAKE_BIN`, as if Juju had no such command.
-- @tparam string cmd
-- @treturn function restores the command
function M.remove_tool(cmd)
  local path = M.fake_bin() .. "/" .. cmd
  local target = assert(lfs.symlinkattributes(path, "target"), "not a symlink: " .. path)
  assert(os.remove(path))
  return function()
    if not M.exists(path) then
      assert(lfs.link(target, path, true))
    end
  end
end

--- The agent's call log (socket transport).
-- @section agent

--- The current size of `AGENT_LOG`, to read only what comes after.
-- @treturn int
function M.agent_log_mark()
  local path = assert(os.getenv("AGENT_LOG"), "AGENT_LOG is not set")
  return lfs.attributes(path, "size") or 0
end

--- The records the agent logged since a mark, decoded.
-- @tparam int mark from @{agent_log_mark}
-- @treturn {table,...}
function M.agent_log_since(mark)
  local cjson = require "cjson"
  local f = assert(io.open(assert(os.getenv("AGENT_LOG")), "rb"))
  f:seek("set", mark)
  local out = {}
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = cjson.decode(line) end
  end
  f:close()
  return out
end

--- Processes.
-- @section proc

local SANITIZER_MARKS = {
  "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
  "runtime error:",
}

--- Run a program (build/dispatch by default) and capture what it does.
-- The environment is this process's (so the transport and fake hook
-- commands are inherited), minus `LD_PRELOAD`, plus `opts.env`. Under
-- check-asan `DISPATCH_ASAN_OPTIONS` becomes the child's `ASAN_OPTIONS`,
-- and any sanitizer report on its stderr raises an error.
-- @tparam {string,...} args the arguments (not including the program)
-- @tparam[opt] table opts `program` (path), `env` ({NAME = value, or false
--   to unset}), `cwd`, `stdin` (string; default /dev/null), `prelude`
--   (shell text run before the program in the same shell, e.g. to open
--   an extra fd)
-- @treturn table `{code=int, stdout=string, stderr=string}`; code is
--   128+N when the program was killed by signal N
function M.run(args, opts)
  opts = opts or {}
  local tmp = M.tmpdir()
  local words = { "env", "-u", "LD_PRELOAD" }
  local env = {}
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local asan = os.getenv("DISPATCH_ASAN_OPTIONS")
  if asan and env.ASAN_OPTIONS == nil then env.ASAN_OPTIONS = asan end
  local names = {}
  for k in pairs(env) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    if env[k] == false then
      words[#words + 1] = "-u"
      words[#words + 1] = M.quote(k)
    end
  end
  for _, k in ipairs(names) do
    if env[k] ~= false then words[#words + 1] = M.quote(k .. "=" .. env[k]) end
  end
  words[#words + 1] = M.quote(opts.program or M.dispatch_path())
  for _, a in ipairs(args) do words[#words + 1] = M.quote(a) end
  local stdin = "/dev/null"
  if opts.stdin then
    stdin = tmp .. "/stdin"
    M.write_file(stdin, opts.stdin)
  end
  local cmdline = ("cd %s && %s %s <%s >%s 2>%s; echo $? >%s"):format(
    M.quote(opts.cwd or "."), opts.prelude or "", table.concat(words, " "),
    M.quote(stdin), M.quote(tmp .. "/stdout"), M.quote(tmp .. "/stderr"),
    M.quote(tmp .. "/rc"))
  sh(cmdline)
  local r = {
    code = math.tointeger(tonumber(M.read_file(tmp .. "/rc"))),
    stdout = M.read_file(tmp .. "/stdout"),
    stderr = M.read_file(tmp .. "/stderr"),
  }
  M.rmtree(tmp)
  for _, mark in ipairs(SANITIZER_MARKS) do
    if r.stderr:find(mark, 1, true) then
      error("sanitizer report from " .. (opts.program or "dispatch") .. ":\n" .. r.stderr, 2)
    end
  end
  return r
end

--- This process's id.
-- @treturn int
function M.self_pid()
  local stat = assert(M.read_file("/proc/self/stat"))
  return math.tointeger(tonumber(stat:match("^(%d+)")))
end

--- The open fd numbers of a process, sorted.
-- @tparam[opt] int pid default this process
-- @treturn {int,...}
function M.fds(pid)
  local out = {}
  for name in lfs.dir(("/proc/%s/fd"):format(pid or "self")) do
    local n = math.tointeger(tonumber(name))
    if n then out[#out + 1] = n end
  end
  table.sort(out)
  return out
end

--- The child processes of a process (all its threads), with their states.
-- @tparam[opt] int pid default this process
-- @treturn {{pid=int, state=string},...} state is the one-letter
--   /proc state, "Z" for a zombie
function M.children(pid)
  pid = pid or M.self_pid()
  local out = {}
  for tid in lfs.dir(("/proc/%d/task"):format(pid)) do
    if tid:match("^%d+$") then
      local list = M.read_file(("/proc/%d/task/%s/children"):format(pid, tid)) or ""
      for cpid in list:gmatch("%d+") do
        local stat = M.read_file(("/proc/%s/stat"):format(cpid)) or ""
        out[#out + 1] = {
          pid = math.tointeger(tonumber(cpid)),
          state = stat:match("%) (%a)") or "?",
        }
      end
    end
  end
  return out
end

return M
