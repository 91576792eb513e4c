--- build/fake-pebble (tests/pebble) for integration specs: one fake Pebble
-- daemon per call to @{start}, on `<dir>/<container>/pebble.socket` in a
-- fresh temporary directory (so `DISPATCH_PEBBLE_DIR=<dir>` points a
-- charm's `pebble.container(name)` at it), its container filesystem in
-- `<dir>/root` and its request log in `<dir>/log`.
--
-- The daemon is this process's child (started through `io.popen` with
-- `exec`, so the pid the shell prints is the daemon's); @{Fake:stop} sends
-- it SIGTERM by that pid and waits for it. Control and inspection go
-- through `juju.pebble.io` of `juju.so` in this process (the `/fake/`
-- endpoints, and Pebble's own API to read the state a charm left).
-- @module helpers.fakepebble

local hookenv = require "helpers.hookenv"
local cjson = require "cjson"

local quote = hookenv.quote

local M = {}

--- The fake Pebble binary (`BUILD/fake-pebble`).
-- @treturn string
function M.binary()
  return (os.getenv("BUILD") or "build") .. "/fake-pebble"
end

local pio
local function io_module()
  if not pio then
    hookenv.juju()
    pio = require "juju.pebble.io"
  end
  return pio
end

local Fake = {}
Fake.__index = Fake

--- Start a fake Pebble.
-- @tparam[opt] table opts `container` (default "web"), `flags` (a list of
-- extra arguments: `-pebble-2021`, `-change-delay`, `2s`, `-hostile`,
-- `PATH=MODE`, ...), `bin` (a directory put first on the daemon's PATH:
-- exec looks bare command names up there), `dir` (a directory to use
-- instead of a new one; it is not removed by stop)
-- @treturn Fake `dir`, `socket`, `root`, `log_path`, `pid`, `container`
function M.start(opts)
  opts = opts or {}
  local container = opts.container or "web"
  local own = opts.dir == nil
  local dir = opts.dir or hookenv.tmpdir()
  local socket = dir .. "/" .. container .. "/pebble.socket"
  local root = dir .. "/root-" .. container
  local log_path = dir .. "/log-" .. container
  hookenv.sh(("mkdir -p %s %s"):format(quote(dir .. "/" .. container), quote(root)))
  local words = { "exec", "env" }
  if opts.bin then words[#words + 1] = quote("PATH=" .. opts.bin .. ":" .. os.getenv("PATH")) end
  for _, w in ipairs { M.binary(), "-socket", socket, "-root", root, "-log", log_path } do
    words[#words + 1] = quote(w)
  end
  for _, f in ipairs(opts.flags or {}) do words[#words + 1] = quote(f) end
  local errfile = dir .. "/stderr-" .. container
  -- `echo $$` first: the shell's pid, which exec hands to the daemon
  local cmd = ("echo $$; %s 2>%s </dev/null"):format(table.concat(words, " "), quote(errfile))
  local handle = assert(io.popen(cmd, "r"))
  local pid = math.tointeger(tonumber(handle:read("l")))
  local ready = handle:read("l")
  if ready ~= "ready" or not pid then
    handle:close()
    error(("fake-pebble did not start (%s): %s"):format(tostring(ready), hookenv.read_file(errfile) or ""), 2)
  end
  return setmetatable({
    dir = dir, own = own, container = container, socket = socket, root = root, log_path = log_path,
    errfile = errfile, pid = pid, handle = handle,
  }, Fake)
end

--- Stop the daemon (SIGTERM to its pid, then wait for it) and remove its
-- directory (when @{start} made it).
-- @treturn string what the daemon wrote on stderr
function Fake:stop()
  if self.handle then
    os.execute(("kill -TERM %d 2>/dev/null"):format(self.pid))
    self.handle:close() -- waits for the daemon
    self.handle = nil
  end
  local err = hookenv.read_file(self.errfile) or ""
  if self.own then hookenv.rmtree(self.dir) end
  return err
end

--- One request to the fake on its socket (this process's juju.pebble.io).
-- @tparam string method
-- @tparam string target
-- @tparam[opt] table|string body a table is sent as JSON
-- @treturn int the status
-- @treturn table the decoded envelope (or `{raw = body}` when not JSON)
function Fake:request(method, target, body)
  if type(body) == "table" then body = cjson.encode(body) end
  local status, headers, rbody = io_module().request(self.socket, method, target,
    { Accept = "application/json", ["Content-Type"] = body and "application/json" or nil }, body, 10)
  assert(status, ("fake-pebble request %s %s failed: %s"):format(method, target, tostring(headers)))
  local ok, env = pcall(cjson.decode, rbody)
  return status, ok and env or { raw = rbody }
end

--- A control request (`/fake/...`) that must succeed; its result.
-- @tparam string method
-- @tparam string what the endpoint after /fake/ ("hostile", "checks", ...)
-- @tparam[opt] table body
function Fake:control(method, what, body)
  local status, env = self:request(method, "/fake/" .. what, body)
  assert(status == 200, ("/fake/%s answered %d: %s"):format(what, status, cjson.encode(env)))
  return env.result
end

--- Pebble's API, for a result that must be there (a sync 200).
-- @tparam string target "/v1/services", ...
-- @return the result
function Fake:get(target)
  local status, env = self:request("GET", target)
  assert(status == 200, ("GET %s answered %d: %s"):format(target, status, cjson.encode(env)))
  return env.result
end

--- Add a hostile rule (`POST /fake/hostile`).
-- @tparam string path
-- @tparam string mode
-- @tparam[opt] string arg
-- @tparam[opt] int count
function Fake:hostile(path, mode, arg, count)
  self:control("POST", "hostile", { path = path, mode = mode, arg = arg, count = count })
end

--- The names of the fake's hostile modes, sorted (from its refusal of
-- a mode it does not have, which lists them).
-- @treturn {string,...}
function Fake:hostile_modes()
  local status, env = self:request("POST", "/fake/hostile", { path = "/", mode = "no-such-mode" })
  assert(status == 400, "an unknown hostile mode was accepted")
  local list = assert(env.result.message:match("%(modes: ([^)]*)%)"), env.result.message)
  local out = {}
  for name in list:gmatch("[^,%s]+") do out[#out + 1] = name end
  table.sort(out)
  return out
end

--- The size of the request log now: a mark for @{Fake:log}.
-- @treturn int
function Fake:log_mark()
  local f = io.open(self.log_path, "rb")
  if not f then return 0 end
  local size = f:seek("end")
  f:close()
  return size
end

--- The request log's records (decoded), all or after a mark.
-- @tparam[opt] int mark from @{Fake:log_mark}
-- @treturn {table,...}
function Fake:log(mark)
  local out = {}
  local f = io.open(self.log_path, "rb")
  if not f then return out end
  f:seek("set", mark or 0)
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = cjson.decode(line) end
  end
  f:close()
  return out
end

--- The log's records as "METHOD path?query" lines (exec websocket
-- messages as "WS path text|binary").
-- @tparam[opt] int mark
-- @treturn {string,...}
function Fake:requests(mark)
  local out = {}
  for i, r in ipairs(self:log(mark)) do
    if r.method == "WS" then
      out[i] = ("WS %s %s"):format(r.path, r.ws)
    else
      out[i] = r.method .. " " .. r.path .. ((r.query and r.query ~= "") and ("?" .. r.query) or "")
    end
  end
  return out
end

--- A path in the container's filesystem, on this machine.
-- @tparam string path absolute, in the container
-- @treturn string
function Fake:host_path(path)
  return self.root .. path
end

--- Lua run in build/dispatch (`dispatch -e`).
-- @section run

--- What every chunk @{run} runs starts with: `pebble` (juju.pebble), `sys`
-- (juju.sys), `json` (juju.json), `out` (a table: what the chunk leaves
-- there is printed as JSON at the end), `catch(f, ...)` (a pcall that
-- gives `{ok, value}` or `{ok = false, type = <metatable's __name>, text =
-- tostring(err), fields = {the error's plain fields}}`, and `seconds`, the
-- wall time by juju.sys.monotime).
M.PRELUDE = [=[
local pebble = require "juju.pebble"
local sys = require "juju.sys"
local json = juju.json
local out = {}
local function catch(f, ...)
  local t0 = sys.monotime()
  local ok, err = pcall(f, ...)
  local r = { ok = ok, seconds = sys.monotime() - t0 }
  if ok then
    r.value = err
  else
    local mt = getmetatable(err)
    r.type = mt and mt.__name or type(err)
    r.text = tostring(err)
    r.fields = {}
    if type(err) == "table" then
      for k, v in pairs(err) do
        if type(v) ~= "table" and type(v) ~= "function" then r.fields[k] = v end
      end
    end
  end
  return r
end
]=]

--- Run Lua in build/dispatch with `DISPATCH_PEBBLE_DIR` set, after
-- @{PRELUDE}; the chunk's `out`, decoded.
-- @tparam string code
-- @tparam table opts `dir` (DISPATCH_PEBBLE_DIR), `env` (more variables)
-- @treturn table what `out` held
-- @treturn table the run (`code`, `stdout`, `stderr`)
function M.run(code, opts)
  opts = opts or {}
  local env = { DISPATCH_PEBBLE_DIR = opts.dir }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local chunk = M.PRELUDE .. code .. "\nio.write(json.encode(out))\n"
  local r = hookenv.run({ "-e", chunk }, { env = env })
  assert(r.code == 0, ("dispatch -e failed (%d): %s\n%s"):format(r.code, r.stderr, r.stdout))
  return cjson.decode(r.stdout), r
end

M.Fake = Fake
return M
