--- Pebble: the workload containers of a Kubernetes (sidecar) charm.
--
-- Each workload container runs Pebble, a service manager with an HTTP API
-- on a unix socket the charm container sees at
-- `/charm/containers/<name>/pebble.socket`. A @{Client} speaks that API:
-- layers and the plan, services, files, checks, notices, signals and
-- commands run in the container (@{Client:exec}). Handlers reach a
-- container as `e.model:container("web")` (or `e.container` in the
-- container's own events); both are clients of this module.
--
--     local c = e.model:container("web")
--     if not c:can_connect() then return e.status:set("waiting", "waiting for Pebble") end
--     c:push("/etc/nginx/nginx.conf", render(e.config), { make_dirs = true })
--     c:add_layer("web", {
--       services = { nginx = { override = "replace", command = "nginx -g 'daemon off;'",
--                              startup = "enabled" } },
--     }, { combine = true })
--     c:replan()
--     local version = c:exec({ "nginx", "-v" }).stderr:match("nginx/(%S+)")
--
-- **Errors.** Every call that does not get what it asked for raises a
-- table whose metatable says what went wrong (test with `getmetatable(err)
-- == pebble.APIError`, or @{is_error} for any of them; `tostring` gives a
-- sentence): @{ConnectionError} (Pebble cannot be reached),
-- @{TimeoutError}, @{APIError} (Pebble refused: its HTTP status, error
-- kind and message), @{ChangeError} (a change such as a start failed),
-- @{PathError} (one file operation failed), @{ExecError} (a command
-- exited non-zero) and @{ProtocolError} (an answer that is not Pebble's).
-- A mistake in the arguments (a wrong type, an unknown option, a relative
-- path) is a plain error at the charm's line, before Pebble is asked.
--
-- **Seams.** All I/O goes through one transport (@{set_transport}): by
-- default the `juju.pebble.io` C module (HTTP/1.1 and the exec websockets
-- on the unix socket), loaded on first use. `juju.testing` stands a fake
-- Pebble in its place (`juju.testing.pebble`); a simulated unit sets
-- `DISPATCH_PEBBLE_SIM` (a session directory) in the hook's environment,
-- and the same fake then answers from the session's state. The socket
-- directory is `DISPATCH_PEBBLE_DIR` when the hook's environment has it
-- (a test against a Pebble of its own), else `/charm/containers`.
-- @module juju.pebble

local juju = require "juju"
local check = require "juju.private.check"

local M = {}

local json = juju.json
local raise = check.raise
local type, pairs, ipairs, tostring, error, select = type, pairs, ipairs, tostring, error, select
local setmetatable, getmetatable, pcall = setmetatable, getmetatable, pcall
local math_type, concat = math.type, table.concat

--- Where Juju mounts the containers' Pebble sockets in the charm container.
M.SOCKET_DIR = "/charm/containers"

--- Seconds a request may take before @{TimeoutError} (ops's default).
M.TIMEOUT = 5

--- Seconds a service action or an exec waits for its change by default.
M.CHANGE_TIMEOUT = 30

-- ------------------------------------------------------------ errors

--- The first line of text that is not blank, or "".
local function first_line(text)
  for line in (text or ""):gmatch("[^\n]+") do
    if line:find("%S") then return line end
  end
  return ""
end

--- Pebble could not be reached, or the connection broke.
-- `tostring`: `cannot connect to Pebble at /charm/containers/web/pebble.socket:
-- No such file or directory (container restarted?)`.
-- @table ConnectionError
-- @tfield string socket the socket path
-- @tfield string message what the transport said
-- @tfield string kind "connect" (nothing listens: the container is not
-- up, or restarted), "io" (the connection broke), "handshake" (an exec
-- stream could not be opened)
M.ConnectionError = { __name = "juju.pebble.ConnectionError" }
function M.ConnectionError.__tostring(e)
  if e.kind == "connect" then
    return ("cannot connect to Pebble at %s: %s (container restarted?)"):format(e.socket, e.message)
  end
  return ("lost the connection to Pebble at %s: %s"):format(e.socket, e.message)
end

--- Pebble answered with an error.
-- `tostring`: `Pebble API error on POST /v1/services: 400 Bad Request:
-- cannot start services: service "x" does not exist`.
-- @table APIError
-- @tfield int code the HTTP status (400, 404, 500, ...)
-- @tfield string status its text ("Bad Request")
-- @tfield ?string kind Pebble's error kind ("not-found",
-- "permission-denied", "generic-file-error", "no-default-services", ...)
-- @tfield string message Pebble's message
-- @tfield ?table value Pebble's error value, when it gave one
-- @tfield string method the request's method
-- @tfield string target the request's target (path and query)
-- @tfield string socket the socket path
M.APIError = { __name = "juju.pebble.APIError" }
function M.APIError.__tostring(e)
  return ("Pebble API error on %s %s: %d %s: %s"):format(e.method, e.target, e.code, e.status, e.message)
end

--- A change (a service start, a replan, an exec) ended in error.
-- `tostring`: `Pebble change 7 (Start service "web") failed: cannot
-- perform the following tasks: ...`.
-- @table ChangeError
-- @tfield string err the change's error text
-- @tfield table change the change (@{Client:wait_change})
M.ChangeError = { __name = "juju.pebble.ChangeError" }
function M.ChangeError.__tostring(e)
  local c = e.change or {}
  return ("Pebble change %s (%s) failed: %s"):format(tostring(c.id), tostring(c.summary), e.err)
end

--- One file operation failed (a pull, push, make_dir or remove_path).
-- `tostring`: `not-found - stat /etc/app.conf: no such file or directory`
-- (as ops prints it).
-- @table PathError
-- @tfield string kind "not-found", "permission-denied", "generic-file-error"
-- @tfield string message Pebble's message
-- @tfield string path the path
M.PathError = { __name = "juju.pebble.PathError" }
function M.PathError.__tostring(e)
  return ("%s - %s"):format(e.kind, e.message)
end

--- A request, or a wait for a change, ran out of time.
-- `tostring` is the message: `timed out waiting for change 7 (30 s)`,
-- `Pebble at /charm/.../pebble.socket did not answer GET /v1/plan?format=yaml in time: ...`.
-- @table TimeoutError
-- @tfield string message
-- @tfield ?string change_id the change waited for
-- @tfield ?number timeout the seconds it had
M.TimeoutError = { __name = "juju.pebble.TimeoutError" }
function M.TimeoutError.__tostring(e) return e.message end

--- A command run by @{Client:exec} exited non-zero.
-- `tostring`: `command [nginx -t] exited with status 1 in container web:
-- nginx: [emerg] unknown directive "sever"` (the first line of stderr,
-- or of stdout when stderr is empty).
-- @table ExecError
-- @tfield {string,...} command the argv
-- @tfield int code the exit status
-- @tfield string stdout
-- @tfield string stderr ("" unless `split_stderr`)
-- @tfield ?string container the container's name
M.ExecError = { __name = "juju.pebble.ExecError" }
function M.ExecError.__tostring(e)
  local text = ("command [%s] exited with status %s"):format(concat(e.command, " "), tostring(e.code))
  if e.container then text = text .. " in container " .. e.container end
  local line = first_line(e.stderr)
  if line == "" then line = first_line(e.stdout) end
  if line ~= "" then text = text .. ": " .. line end
  return text
end

--- An answer that is not what Pebble sends (not JSON, no envelope, a
-- broken multipart body), or a transport's protocol failure.
-- `tostring`: `Pebble protocol error on GET /v1/plan?format=yaml from
-- /charm/containers/web/pebble.socket: the answer is not a JSON object: ...`
-- (the socket named once: not again when the message names it).
-- @table ProtocolError
-- @tfield string message
-- @tfield ?string method
-- @tfield ?string target
-- @tfield ?string socket the socket path
M.ProtocolError = { __name = "juju.pebble.ProtocolError" }
function M.ProtocolError.__tostring(e)
  local from = ""
  if e.socket and not tostring(e.message):find(e.socket, 1, true) then from = " from " .. e.socket end
  if e.method then
    return ("Pebble protocol error on %s %s%s: %s"):format(e.method, e.target, from, e.message)
  end
  return ("Pebble protocol error%s: %s"):format(from, e.message)
end

local ERRORS = {
  [M.ConnectionError] = true, [M.APIError] = true, [M.ChangeError] = true, [M.PathError] = true,
  [M.TimeoutError] = true, [M.ExecError] = true, [M.ProtocolError] = true,
}

--- Is v one of this module's errors?
-- @param v anything (what pcall caught)
-- @treturn boolean
-- @usage
-- local ok, err = pcall(c.replan, c)
-- if not ok and not pebble.is_error(err) then error(err, 0) end
function M.is_error(v)
  return ERRORS[getmetatable(v)] == true
end

local function new_error(mt, fields)
  return setmetatable(fields, mt)
end

--- A ProtocolError from the Pebble of client c.
local function protocol_error(c, fields)
  fields.socket = c.socket_path
  return new_error(M.ProtocolError, fields)
end

-- ------------------------------------------------------------ the transport

local REASONS = {
  [200] = "OK", [202] = "Accepted", [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [409] = "Conflict", [500] = "Internal Server Error",
  [502] = "Bad Gateway", [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local current = nil      -- what set_transport installed
local real = nil         -- juju.pebble.io, once loaded
local sessions = {}      -- DISPATCH_PEBBLE_SIM dir -> its transport

--- Check a transport table: the functions it must and may have.
local function check_transport(t, fname)
  if type(t) ~= "table" then
    raise(("bad argument #1 to '%s' (a transport table or nil expected, got %s)"):format(fname, type(t)))
  end
  for k, v in pairs(t) do
    if k ~= "request" and k ~= "exec_io" and k ~= "monotime" and k ~= "sleep" then
      raise(("bad argument #1 to '%s' (unknown transport field '%s')"):format(fname, tostring(k)))
    end
    if type(v) ~= "function" then
      raise(("bad argument #1 to '%s' (transport field '%s': function expected, got %s)"):format(fname, k, type(v)))
    end
  end
  if t.request == nil then
    raise(("bad argument #1 to '%s' (a transport needs a request function)"):format(fname))
  end
end

--- Stand a transport in for Pebble's I/O (for tests and simulated units):
-- every request of every client goes to it. The rest still applies: the
-- argument checks, the requests as built, the answers parsed, the errors.
--
-- * `request(socket_path, method, target, headers, body, timeout)` returns
--   `status, headers, body` (an integer; response headers with lowercase
--   names; the body as a string), or `nil, message, kind` with kind one of
--   "connect", "timeout", "protocol", "io";
-- * `exec_io(socket_path, task_id, opts)` (opts: `stdin`, `split_stderr`,
--   `timeout`, `connect_timeout`: seconds the websockets may take to open)
--   returns `stdout, stderr`, or `nil, message, kind` (kinds as above, and
--   "handshake");
-- * optional `monotime()` and `sleep(seconds)`: the clock waiting for a
--   change reads (default `juju.sys`'s), so a fake can make time pass.
--
-- The real transport is the `juju.pebble.io` C module (the same contract),
-- loaded when first needed.
-- @tparam ?table transport the functions, or nil for the real I/O
-- @treturn ?table the transport set before (nil: the real one), to put back
-- @raise when transport is not a table of those functions
-- @usage
-- local prev = pebble.set_transport{
--   request = function(socket, method, target) return 200, {}, '{"type":"sync","result":true}' end,
-- }
-- ...
-- pebble.set_transport(prev)
function M.set_transport(transport)
  if transport ~= nil then check_transport(transport, "set_transport") end
  local prev = current
  current = transport
  return prev
end

--- The transport a request would use now: the one set with
-- @{set_transport}; else, when the hook's environment has
-- `DISPATCH_PEBBLE_SIM`, the simulated unit's (`juju.testing.pebble`);
-- else the real one (`juju.pebble.io`).
-- @treturn table
-- @raise when the real one is needed and this build has no `juju.pebble.io`
-- @usage local t = pebble.transport()
function M.transport()
  if current then return current end
  local sim = juju.getenv("DISPATCH_PEBBLE_SIM")
  if sim ~= nil and sim ~= "" then
    local t = sessions[sim]
    if not t then
      t = require("juju.testing.pebble").session_transport(sim)
      sessions[sim] = t
    end
    return t
  end
  if not real then
    local ok, pio = pcall(require, "juju.pebble.io")
    if not ok then
      error(("juju.pebble: this build has no Pebble I/O (juju.pebble.io): %s"):format(first_line(tostring(pio))), 0)
    end
    real = { request = pio.request, exec_io = pio.exec_io }
  end
  return real
end

local function clock(t)
  local sys = require "juju.sys"
  return t.monotime or sys.monotime, t.sleep or sys.sleep
end

-- ------------------------------------------------------------ helpers

--- Percent-encode a query value or path segment (RFC 3986's unreserved
-- characters, "/" and "," stay as they are).
local function escape(s)
  return (s:gsub("[^%w%-%._~/,]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end

--- A request target from a path and ordered query pairs ({key, value}).
local function build_target(path, query)
  if not query or #query == 0 then return path end
  local parts = {}
  for i, kv in ipairs(query) do parts[i] = escape(kv[1]) .. "=" .. escape(kv[2]) end
  return path .. "?" .. concat(parts, "&")
end

--- A Go duration for a number of seconds, as ops writes it ("4.000s").
local function duration(seconds)
  -- rounded up to the millisecond: never "0.000s" for a time left, which
  -- Pebble reads as no timeout at all (a wait with it waits for ever)
  return ("%.3fs"):format(math.ceil(seconds * 1000 - 1e-6) / 1000)
end

--- Epoch seconds for Pebble's RFC 3339 text (nil for none, or text that
-- is not a time).
local function epoch(text)
  if type(text) ~= "string" then return nil end
  local ok, t = pcall(juju.parse_rfc3339, text)
  if ok then return t end
  return nil
end

local function copy_list(t)
  local out = {}
  for i = 1, #t do out[i] = t[i] end
  return out
end

local function check_path(path, fname, n)
  if type(path) ~= "string" then
    raise(("bad argument #%d to '%s' (an absolute path expected, got %s)"):format(n or 1, fname,
      path == nil and "no value" or type(path)))
  end
  if path:sub(1, 1) ~= "/" or path:find("[%z\r\n]") then
    raise(("bad argument #%d to '%s' (an absolute path without NUL or line breaks expected, got %q)"):format(
      n or 1, fname, path))
  end
end

local function check_id(value, n, fname, key)
  if value ~= nil and (math_type(value) ~= "integer" or value < 0) then
    check.bad_option(n, fname, key, ("an integer >= 0 expected, got %s"):format(tostring(value)))
  end
  return value
end

--- Permissions as Pebble takes them: three octal digits ("644"), from an
-- integer (420) or an octal string ("644", "0644").
local function permissions(value, argn, fname)
  if value == nil then return nil end
  local n
  if math_type(value) == "integer" then
    n = value
  elseif type(value) == "string" and value:find("^0?[0-7][0-7][0-7]$") then
    n = tonumber(value, 8)
  end
  if n == nil or n < 0 or n > 511 then
    check.bad_option(argn, fname, "permissions", ("an integer up to 0777 or an octal string such as \"644\" "
      .. "expected, got %s"):format(type(value) == "string" and ("'" .. value .. "'") or tostring(value)))
  end
  return ("%03o"):format(n)
end

--- What a name is not, for a message: nil for a good name.
local function not_a_name(name)
  if type(name) == "string" and name ~= "" then return nil end
  return name == "" and "an empty string" or name == nil and "no value" or type(name)
end

--- Check that list holds names at 1..#list and no other key but those in
-- allowed (a set, or nil); fail(detail) or fail(nil, key) raises.
local function check_names(list, fail, allowed)
  local len = #list
  for k in pairs(list) do
    if not (allowed and allowed[k]) and (math_type(k) ~= "integer" or k < 1 or k > len) then fail(nil, k) end
  end
  for i = 1, len do
    local bad = not_a_name(list[i])
    if bad then fail(("item %d: a name expected, got %s"):format(i, bad)) end
  end
  return list
end

--- Names given as arguments (strings) from argument number first on, or
-- as one list there, whose `timeout` key (seconds) may come along.
local function names_and_timeout(fname, first, need, ...)
  local n = select("#", ...)
  local names, timeout = {}, nil
  if n == 1 and type((...)) == "table" then
    local t = ...
    check_names(t, function(detail, k)
      if detail == nil then check.bad_option(first, fname, k) end
      raise(("bad argument #%d to '%s' (%s)"):format(first, fname, detail))
    end, { timeout = true })
    if t.timeout ~= nil and type(t.timeout) ~= "number" then
      check.bad_option(first, fname, "timeout", ("number expected, got %s"):format(type(t.timeout)))
    end
    timeout = check.seconds(first, fname, "timeout", t.timeout)
    names = copy_list(t)
  else
    for i = 1, n do
      local name = (select(i, ...))
      local bad = not_a_name(name)
      if bad then raise(("bad argument #%d to '%s' (a name expected, got %s)"):format(first + i - 1, fname, bad)) end
      names[i] = name
    end
  end
  if need and #names == 0 then
    raise(("bad argument #%d to '%s' (at least one name expected)"):format(first, fname))
  end
  return names, timeout
end

--- A list of names in option key of argument n of fname (`checks`'
-- `names`, `notices`' `types` and `keys`).
local function name_list(fname, n, key, list)
  return check_names(list, function(detail, k)
    check.bad_option(n, fname, key, detail or ("a list of names expected, found key %s"):format(tostring(k)))
  end)
end

-- ------------------------------------------------------------ multipart

--- The media type and parameters of a header value such as
-- `multipart/form-data; boundary=xyz` or `form-data; name="files";
-- filename="/a \"b\""` (names lowercased, quoted strings unescaped).
local function media_params(value)
  local mtype, rest = value:match("^%s*([^;%s]*)%s*(.*)$")
  local params = {}
  while rest ~= "" do
    local name, after = rest:match("^;%s*([^=%s;]+)%s*=%s*(.*)$")
    if not name then break end
    local v
    if after:sub(1, 1) == '"' then
      local buf, i = {}, 2
      while i <= #after do
        local ch = after:sub(i, i)
        if ch == "\\" then
          buf[#buf + 1] = after:sub(i + 1, i + 1)
          i = i + 2
        elseif ch == '"' then
          break
        else
          buf[#buf + 1] = ch
          i = i + 1
        end
      end
      v = concat(buf)
      rest = after:sub(i + 1):match("^%s*(.*)$")
    else
      v, rest = after:match("^([^;%s]*)%s*(.*)$")
    end
    params[name:lower()] = v
  end
  return (mtype or ""):lower(), params
end

--- Parse a multipart body (RFC 2046) whose boundary is known: its parts
-- in order, each `{headers = {lowercase name -> value}, name=, filename=,
-- body=}`. The line break is the one the first boundary line ends with
-- (CRLF, or LF as Go's reader also takes); a boundary line may carry
-- trailing spaces; the preamble before the first boundary and the epilogue
-- after the last are skipped. Bytes are kept as they are.
-- @tparam string body
-- @tparam string boundary
-- @treturn[1] {table,...} the parts
-- @treturn[2] nil
-- @treturn[2] string why the body is not multipart
-- @local
function M._parse_multipart(body, boundary)
  if boundary == nil or boundary == "" then return nil, "no boundary" end
  local dash = "--" .. boundary
  local pos
  if body:sub(1, #dash) == dash then
    pos = 1
  else
    local s = body:find("\n" .. dash, 1, true)
    if not s then return nil, "no boundary line" end
    pos = s + 1
  end
  -- What follows a boundary at i: "final", "part" and the index after
  -- its line break, or nil when it is no boundary line.
  local nl
  local function after_delim(i)
    if body:sub(i, i + 1) == "--" then return "final", i + 2 end
    local k = i
    while true do
      local ch = body:sub(k, k)
      if ch ~= " " and ch ~= "\t" then break end
      k = k + 1
    end
    if nl then
      if body:sub(k, k + #nl - 1) == nl then return "part", k + #nl end
      return nil
    end
    if body:sub(k, k + 1) == "\r\n" then nl = "\r\n"; return "part", k + 2 end
    if body:sub(k, k) == "\n" then nl = "\n"; return "part", k + 1 end
    return nil
  end
  local what, i = after_delim(pos + #dash)
  if what == nil then return nil, "a malformed boundary line" end
  local parts = {}
  while what == "part" do
    -- the headers, up to a blank line
    local headers = {}
    while true do
      local e = body:find(nl, i, true)
      if not e then return nil, "a part's headers do not end" end
      local line = body:sub(i, e - 1)
      i = e + #nl
      if line == "" then break end
      local name, value = line:match("^([^:]+):%s*(.-)%s*$")
      if not name then return nil, ("a malformed part header %q"):format(line) end
      headers[name:lower()] = value
    end
    -- the content, up to the next delimiter line
    local delim = nl .. dash
    local search = i
    local content, next_what, next_i
    while true do
      local s = body:find(delim, search, true)
      if not s then return nil, "a part does not end" end
      next_what, next_i = after_delim(s + #delim)
      if next_what then
        content = body:sub(i, s - 1)
        break
      end
      search = s + 1
    end
    local part = { headers = headers, body = content }
    if headers["content-disposition"] then
      local _, params = media_params(headers["content-disposition"])
      part.name, part.filename = params.name, params.filename
    end
    parts[#parts + 1] = part
    what, i = next_what, next_i
  end
  return parts
end

--- A filename as a quoted-string (Go's multipart writer escapes \ and ").
local function quote(s)
  return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end

--- A boundary (32 hex digits, as long as Pebble requires) found in none
-- of the texts.
local function new_boundary(...)
  while true do
    local parts = {}
    for i = 1, 4 do parts[i] = ("%08x"):format(math.random(0, 0x7fffffff)) end
    local b = concat(parts)
    local clash = false
    for i = 1, select("#", ...) do
      if select(i, ...):find(b, 1, true) then clash = true end
    end
    if not clash then return b end
  end
end

-- ------------------------------------------------------------ results

--- Hyphenated keys to snake_case, for Pebble's fixed fields.
local function snake(t)
  local out = {}
  for k, v in pairs(t) do
    if type(k) == "string" then k = k:gsub("%-", "_") end
    out[k] = v
  end
  return out
end

local function parse_task(t)
  local task = snake(t)
  task.spawn_time, task.ready_time = epoch(t["spawn-time"]), epoch(t["ready-time"])
  task.log = task.log or {}
  task.data = t.data or {}
  return task
end

local function parse_change(t)
  local change = snake(t)
  change.spawn_time, change.ready_time = epoch(t["spawn-time"]), epoch(t["ready-time"])
  change.ready = t.ready == true
  local tasks = {}
  for i, task in ipairs(t.tasks or {}) do tasks[i] = parse_task(task) end
  change.tasks = tasks
  if change.err == "" then change.err = nil end
  return change
end

local function parse_file_info(t)
  local info = snake(t)
  info.last_modified = epoch(t["last-modified"])
  return info
end

local function parse_notice(t)
  local n = snake(t)
  n.first_occurred, n.last_occurred, n.last_repeated =
    epoch(t["first-occurred"]), epoch(t["last-occurred"]), epoch(t["last-repeated"])
  n.last_data = t["last-data"] or {}
  return n
end

-- ------------------------------------------------------------ the client

-- A client of one Pebble: one container's socket (documented below, as
-- the Client type).
local Client = {}
local client_mt = { __name = "juju.pebble.Client", __index = Client }

function client_mt.__tostring(c)
  if c.name then return ("juju.pebble.Client(%s)"):format(c.name) end
  return ("juju.pebble.Client(%s)"):format(c.socket_path)
end

local CLIENT_OPTS = { timeout = "number", name = "string" }

--- A client of the Pebble listening on a socket. Nothing is sent until a
-- method is called.
-- @tparam string socket_path
-- @tparam[opt] table opts `timeout` (seconds a request may take, default
-- @{TIMEOUT}), `name` (the container's, for messages)
-- @treturn Client
-- @usage local c = pebble.client("/charm/containers/web/pebble.socket")
function M.client(socket_path, opts)
  check.arg(1, "client", socket_path, "string")
  opts = check.options(2, "client", opts, CLIENT_OPTS)
  check.seconds(2, "client", "timeout", opts.timeout)
  return setmetatable({ socket_path = socket_path, timeout = opts.timeout or M.TIMEOUT, name = opts.name },
    client_mt)
end

--- The client of a workload container, by the name it has in the
-- charm's metadata: its socket is `<dir>/<name>/pebble.socket`, the
-- directory being `DISPATCH_PEBBLE_DIR` from the hook's environment when
-- set, else @{SOCKET_DIR}. Handlers get theirs from `e.model:container(name)`.
-- @tparam string name
-- @tparam[opt] table opts `timeout`
-- @treturn Client with `name`
-- @usage local web = pebble.container("web")
function M.container(name, opts)
  check.arg(1, "container", name, "string")
  if not name:match("^[a-z][a-z0-9%-]*$") then
    raise(("bad argument #1 to 'container' (%q is not a container name)"):format(name))
  end
  opts = check.options(2, "container", opts, { timeout = "number" })
  local dir = juju.getenv("DISPATCH_PEBBLE_DIR")
  if dir == nil or dir == "" then dir = M.SOCKET_DIR end
  return M.client(dir:gsub("/+$", "") .. "/" .. name .. "/pebble.socket",
    { timeout = opts.timeout, name = name })
end

--- Is v a client made by this module?
-- @param v
-- @treturn boolean
-- @usage assert(pebble.is_client(e.container))
function M.is_client(v)
  return getmetatable(v) == client_mt
end

local function self_check(c, fname) check.self(c, client_mt, "container", fname) end

--- The error a transport's failure makes.
local function transport_error(c, message, kind, what)
  message = tostring(message)
  if kind == "timeout" then
    return new_error(M.TimeoutError, {
      message = ("Pebble at %s did not answer %s in time: %s"):format(c.socket_path, what, message),
      socket = c.socket_path,
    })
  elseif kind == "protocol" then
    local method, target = what:match("^(%S+) (.*)$")
    return protocol_error(c, { message = message, method = method or what, target = target or "" })
  end
  return new_error(M.ConnectionError, { socket = c.socket_path, message = message, kind = kind or "io" })
end

-- Send one request; the status, headers and body (raises when the
-- transport failed).
function Client:_send(method, path, query, headers, body, timeout)
  local target = build_target(path, query)
  local status, rheaders, rbody = M.transport().request(self.socket_path, method, target, headers, body,
    timeout or self.timeout)
  if status == nil then
    error(transport_error(self, rheaders, rbody, method .. " " .. target))
  end
  if math_type(status) ~= "integer" or type(rbody) ~= "string" then
    error(protocol_error(self, { method = method, target = target,
      message = ("the transport answered %s (a status and a body expected)"):format(tostring(status)) }))
  end
  return status, rheaders or {}, rbody, target
end

-- The JSON envelope of an answer, or the error it says.
function Client:_envelope(method, target, status, body)
  local ok, env = pcall(json.decode, body)
  if not ok or type(env) ~= "table" then
    if status >= 300 then
      return nil, new_error(M.APIError, {
        code = status, status = REASONS[status] or "", message = first_line(body) ~= "" and first_line(body)
          or ("no message (%s)"):format(ok and "no JSON object" or tostring(env)),
        method = method, target = target, socket = self.socket_path,
      })
    end
    return nil, protocol_error(self, { method = method, target = target,
      message = ("the answer is not a JSON object: %s"):format(ok and type(env) or tostring(env)) })
  end
  if status >= 300 or env.type == "error" then
    local result = type(env.result) == "table" and env.result or {}
    local message = result.message
    if type(message) ~= "string" then message = json.encode(env.result) end
    return nil, new_error(M.APIError, {
      code = status, status = type(env.status) == "string" and env.status or (REASONS[status] or ""),
      kind = type(result.kind) == "string" and result.kind or nil, value = result.value,
      message = message, method = method, target = target, socket = self.socket_path,
    })
  end
  if env.type ~= "sync" and env.type ~= "async" then
    return nil, protocol_error(self, { method = method, target = target,
      message = ("the answer's type is %s (sync, async or error expected)"):format(tostring(env.type)) })
  end
  if env.type == "async" and type(env.change) ~= "string" then
    return nil, protocol_error(self, { method = method, target = target,
      message = "an async answer without a change id" })
  end
  return env
end

-- A JSON request: its result, and the change id of an async answer.
function Client:_call(method, path, query, body)
  local headers = { Accept = "application/json" }
  local text
  if body ~= nil then
    text = json.encode(body)
    headers["Content-Type"] = "application/json"
  end
  local status, _, rbody, target = self:_send(method, path, query, headers, text)
  local env, err = self:_envelope(method, target, status, rbody)
  if not env then error(err) end
  return env.result, env.change
end

--- A client of one Pebble: one container's socket, from @{client} or
-- @{container} (or `e.model:container(name)`, `e.container`). Fields:
-- `socket_path`, `timeout` (seconds a request may take), `name` (the
-- container's, when it is one).
-- @type Client

--- What Pebble says of itself (`GET /v1/system-info`).
-- @treturn table `version`, `boot_id`, `http_address` (when it listens on TCP too)
-- @raise @{ConnectionError} when Pebble cannot be reached; @{APIError}
-- @usage local version = e.container:system_info().version   --> "1.26.0"
function Client:system_info()
  self_check(self, "system_info")
  local result = self:_call("GET", "/v1/system-info")
  if type(result) ~= "table" then
    error(protocol_error(self, { method = "GET", target = "/v1/system-info",
      message = "system-info's result is not an object" }))
  end
  return snake(result)
end

--- Can Pebble be reached right now? True when @{system_info} succeeds.
-- A point in time: the container may restart a moment later, so a
-- handler still meets @{ConnectionError} now and then (let the hook fail,
-- or defer).
-- @treturn boolean
-- @treturn ?table the error when it cannot (a @{ConnectionError},
-- @{APIError}, @{TimeoutError} or @{ProtocolError})
-- @usage if not e.container:can_connect() then return e:defer() end
function Client:can_connect()
  self_check(self, "can_connect")
  local ok, err = pcall(self.system_info, self)
  if ok then return true end
  if M.is_error(err) then return false, err end
  error(err, 0)
end

-- ------------------------------------------------------------ changes

--- Wait for a change to be ready: `GET /v1/changes/{id}/wait` in slices
-- (each at most the client's timeout less a second; Pebble's 504 means
-- "not yet"), or, from an old Pebble without `/wait` (a 404), polling
-- `GET /v1/changes/{id}` every `delay` seconds.
-- @tparam string id the change id
-- @tparam[opt] table opts `timeout` (seconds, default @{CHANGE_TIMEOUT}),
-- `delay` (seconds between polls, default 0.1)
-- @treturn table the change: `id`, `kind`, `summary`, `status` ("Done",
-- "Error", ...), `ready`, `err`, `spawn_time`, `ready_time` (epoch
-- seconds), `tasks` (each `id`, `kind`, `summary`, `status`, `log`,
-- `progress`, `data`), `data`; a change that failed is returned, not raised
-- @raise @{TimeoutError} when it is not ready in time; @{APIError} (a
-- change Pebble does not know); @{ConnectionError}
-- @usage local change = c:wait_change("42", { timeout = 60 })
function Client:wait_change(id, opts)
  self_check(self, "wait_change")
  if math_type(id) == "integer" then id = ("%d"):format(id) end
  check.arg(1, "wait_change", id, "string")
  opts = check.options(2, "wait_change", opts, { timeout = "number", delay = "number" })
  local timeout = opts.timeout or M.CHANGE_TIMEOUT
  if timeout ~= timeout or timeout <= 0 then
    check.bad_option(2, "wait_change", "timeout",
      ("a positive number of seconds expected, got %s"):format(tostring(timeout)))
  end
  local delay = opts.delay or 0.1
  local now, sleep = clock(M.transport())
  local deadline = now() + timeout
  local path = "/v1/changes/" .. escape(id)
  local function timed_out()
    return new_error(M.TimeoutError, { change_id = id, timeout = timeout,
      message = ("timed out waiting for change %s (%g s)"):format(id, timeout) })
  end
  while true do
    local left = deadline - now()
    if left <= 0 then error(timed_out()) end
    local slice = math.min(left, math.max(self.timeout - 1, 1))
    local status, _, body, target = self:_send("GET", path .. "/wait", { { "timeout", duration(slice) } },
      { Accept = "application/json" }, nil, slice + self.timeout)
    if status == 404 then break end          -- an old Pebble: poll
    if status ~= 504 then                    -- 504: not ready yet
      local env, err = self:_envelope("GET", target, status, body)
      if not env then error(err) end
      if type(env.result) ~= "table" then
        error(protocol_error(self, { method = "GET", target = target, message = "the change is not an object" }))
      end
      return parse_change(env.result)
    end
  end
  while true do
    local result = self:_call("GET", path)
    if type(result) ~= "table" then
      error(protocol_error(self, { method = "GET", target = path, message = "the change is not an object" }))
    end
    local change = parse_change(result)
    if change.ready then return change end
    if now() + delay > deadline then error(timed_out()) end
    sleep(delay)
  end
end

-- Wait for a change; raise ChangeError when it failed.
function Client:_wait_ok(id, timeout)
  local change = self:wait_change(id, { timeout = timeout })
  if change.err then error(new_error(M.ChangeError, { err = change.err, change = change })) end
  return change
end

-- ------------------------------------------------------------ layers and the plan

--- Keys under which a layer holds lists (Go's []string: an empty Lua
-- table must go as [] there, never {}).
local LIST_KEYS = {
  services = { after = true, before = true, requires = true },
  ["log-targets"] = { services = true },
}

local function layer_json(layer)
  local out = {}
  for k, v in pairs(layer) do
    local lists = type(k) == "string" and LIST_KEYS[k]
    if lists and type(v) == "table" then
      local section = {}
      for name, entry in pairs(v) do
        if type(entry) == "table" then
          local e = {}
          for field, value in pairs(entry) do
            if lists[field] and type(value) == "table" then value = json.array(copy_list(value)) end
            e[field] = value
          end
          entry = e
        end
        section[name] = entry
      end
      v = section
    end
    out[k] = v
  end
  return json.encode(out)
end

--- Add a layer to the plan (`POST /v1/layers`). The plan changes; the
-- services do not, until @{replan} (or a start).
-- @tparam string label the layer's label
-- @tparam table|string layer Pebble's layer: a table (sent as JSON text,
-- which Pebble's YAML parser reads; `after`, `before`, `requires` and a
-- log target's `services` go as lists even when empty) or YAML (or JSON)
-- text. Keys are Pebble's: `override`, `command`, `startup`,
-- `environment`, `user-id`, `on-check-failure`, ...
-- @tparam[opt] table opts `combine` (boolean): merge into the layer with
-- this label when there is one (default: a second layer with the label is
-- an error)
-- @raise @{APIError} when Pebble refuses the layer (a 400 saying why)
-- @usage
-- c:add_layer("web", {
--   summary = "web layer",
--   services = { web = { override = "replace", command = "/bin/web --port 8080", startup = "enabled",
--                        environment = { LOG_LEVEL = "info" } } },
--   checks = { up = { override = "replace", level = "alive", http = { url = "http://localhost:8080/" } } },
-- }, { combine = true })
function Client:add_layer(label, layer, opts)
  self_check(self, "add_layer")
  check.arg(1, "add_layer", label, "string")
  if label == "" then raise("bad argument #1 to 'add_layer' (the label is empty)") end
  opts = check.options(3, "add_layer", opts, { combine = "boolean" })
  local text
  if type(layer) == "string" then
    text = layer
  elseif type(layer) == "table" then
    local ok, encoded = pcall(layer_json, layer)
    if not ok then raise(("bad argument #2 to 'add_layer' (%s)"):format(tostring(encoded))) end
    text = encoded
  else
    raise(("bad argument #2 to 'add_layer' (a layer table or YAML text expected, got %s)"):format(
      layer == nil and "no value" or type(layer)))
  end
  self:_call("POST", "/v1/layers", nil, {
    action = "add", combine = opts.combine == true, label = label, format = "yaml", layer = text,
  })
end

--- Drop YAML nulls (lyaml.null) from parsed data.
local function without_nulls(v, null)
  if v == null then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = without_nulls(x, null) end
  return out
end

--- The plan: every layer combined (`GET /v1/plan?format=yaml`, parsed).
-- @treturn table `services`, `checks`, `log-targets` as Pebble combined
-- them (keys as in a layer; an empty plan is an empty table)
-- @raise @{ConnectionError}, @{APIError}
-- @usage local cmd = c:plan().services.web.command
function Client:plan()
  self_check(self, "plan")
  local result = self:_call("GET", "/v1/plan", { { "format", "yaml" } })
  if type(result) ~= "string" then
    error(protocol_error(self, { method = "GET", target = "/v1/plan?format=yaml",
      message = "the plan is not YAML text" }))
  end
  local lyaml = require "lyaml"
  local ok, plan = pcall(lyaml.load, result)
  if not ok then
    error(protocol_error(self, { method = "GET", target = "/v1/plan?format=yaml",
      message = "the plan is not YAML: " .. tostring(plan) }))
  end
  plan = without_nulls(plan, lyaml.null)
  if type(plan) ~= "table" then plan = {} end
  return plan
end

-- ------------------------------------------------------------ services

local function parse_service(t)
  local s = snake(t)
  s.current_since = epoch(t["current-since"])
  return s
end

-- Ask Pebble for a service action and wait for its change.
function Client:_service_action(action, names, timeout)
  local services = names and #names > 0 and json.array(copy_list(names)) or nil
  local _, change_id = self:_call("POST", "/v1/services", nil, { action = action, services = services })
  if not change_id then
    error(protocol_error(self, { method = "POST", target = "/v1/services",
      message = ("'%s' answered without a change"):format(action) }))
  end
  return self:_wait_ok(change_id, timeout)
end

--- Start services (and those they require), and wait until they are
-- started. A service already running stays as it is.
-- @tparam string ... the services' names, or one list of them (whose
-- `timeout` key, seconds, replaces @{CHANGE_TIMEOUT})
-- @treturn table the change (@{wait_change})
-- @raise @{ChangeError} when a service does not start; @{APIError} (an
-- unknown service); @{TimeoutError}
-- @usage c:start("web", "worker")
-- c:start{ "web", timeout = 60 }
function Client:start(...)
  self_check(self, "start")
  local names, timeout = names_and_timeout("start", 1, true, ...)
  return self:_service_action("start", names, timeout)
end

--- Stop services (and those that require them), and wait.
-- @tparam string ... names, or one list (with `timeout`)
-- @treturn table the change
-- @usage c:stop("web")
function Client:stop(...)
  self_check(self, "stop")
  local names, timeout = names_and_timeout("stop", 1, true, ...)
  return self:_service_action("stop", names, timeout)
end

--- Restart services (stop them if running, then start), and wait. From
-- an old Pebble without the `restart` action (a 400), as ops does: stop
-- those that are running, then start them all.
-- @tparam string ... names, or one list (with `timeout`)
-- @treturn table the (last) change
-- @usage c:restart("web")
function Client:restart(...)
  self_check(self, "restart")
  local names, timeout = names_and_timeout("restart", 1, true, ...)
  local ok, result = pcall(self._service_action, self, "restart", names, timeout)
  if ok then return result end
  if getmetatable(result) ~= M.APIError or result.code ~= 400 then error(result, 0) end
  local running = {}
  for name, info in pairs(self:services(names)) do
    if info.current == "active" then running[#running + 1] = name end
  end
  table.sort(running)
  if #running > 0 then self:_service_action("stop", running, timeout) end
  return self:_service_action("start", names, timeout)
end

--- Make the services match the plan, and wait: those whose configuration
-- changed are restarted, those with `startup: enabled` started.
-- @tparam[opt] table opts `timeout`
-- @treturn table the change
-- @usage c:add_layer("web", layer, { combine = true }); c:replan()
function Client:replan(opts)
  self_check(self, "replan")
  local names, timeout = names_and_timeout("replan", 1, false, opts or {})
  if #names > 0 then raise("bad argument #1 to 'replan' (replan takes no service names)") end
  return self:_service_action("replan", nil, timeout)
end

--- Start the services with `startup: enabled`, and wait.
-- @tparam[opt] table opts `timeout`
-- @treturn table the change
-- @raise @{APIError} (kind "no-default-services") when there are none
-- @usage c:autostart()
function Client:autostart(opts)
  self_check(self, "autostart")
  local names, timeout = names_and_timeout("autostart", 1, false, opts or {})
  if #names > 0 then raise("bad argument #1 to 'autostart' (autostart takes no service names)") end
  return self:_service_action("autostart", nil, timeout)
end

--- The services and how they are (`GET /v1/services`).
-- @tparam string ... names to ask about, or one list of them (default: all)
-- @treturn table name -> `{name=, startup = "enabled"|"disabled",
-- current = "active"|"inactive"|"error"|"backoff", current_since=}`
-- (names Pebble does not know are left out)
-- @usage if c:services().web.current ~= "active" then c:start("web") end
function Client:services(...)
  self_check(self, "services")
  local names = names_and_timeout("services", 1, false, ...)
  local query = #names > 0 and { { "names", concat(names, ",") } } or nil
  local result = self:_call("GET", "/v1/services", query)
  local out = {}
  for _, t in ipairs(type(result) == "table" and result or {}) do
    if type(t) == "table" and type(t.name) == "string" then out[t.name] = parse_service(t) end
  end
  return out
end

--- One service, or nil when Pebble does not know it.
-- @tparam string name
-- @treturn ?table as in @{services}
-- @usage local web = c:service("web"); if web and web.current == "active" then ... end
function Client:service(name)
  self_check(self, "service")
  check.arg(1, "service", name, "string")
  return self:services(name)[name]
end

--- Send a signal to services' processes (`POST /v1/signals`).
-- @tparam string signal "SIGHUP", "HUP", ...
-- @tparam string ... the services, or one list of them
-- @usage c:send_signal("SIGHUP", "nginx")
function Client:send_signal(signal, ...)
  self_check(self, "send_signal")
  check.arg(1, "send_signal", signal, "string")
  if not signal:match("^%u[%u%d]*$") then
    raise(("bad argument #1 to 'send_signal' (a signal name such as \"SIGHUP\" expected, got %q)"):format(signal))
  end
  if signal:sub(1, 3) ~= "SIG" then signal = "SIG" .. signal end
  local names = names_and_timeout("send_signal", 2, true, ...)
  self:_call("POST", "/v1/signals", nil, { signal = signal, services = json.array(copy_list(names)) })
end

-- ------------------------------------------------------------ files

--- The first per-path result of a files call, raised as a PathError when
-- it failed.
local function path_result(c, result, path, method, target)
  local first = type(result) == "table" and result[1]
  if type(first) ~= "table" then
    error(protocol_error(c, { method = method, target = target, message = "no result for the path" }))
  end
  local e = first.error
  if type(e) == "table" then
    error(new_error(M.PathError, { kind = tostring(e.kind or "generic-file-error"),
      message = tostring(e.message or ""), path = first.path or path }))
  end
end

local FILE_OPTS = {
  make_dirs = "boolean", permissions = "number|string", user = "string", user_id = "number",
  group = "string", group_id = "number",
}

local function owner_fields(t, opts, n, fname)
  t["user-id"] = check_id(opts.user_id, n, fname, "user_id")
  t["group-id"] = check_id(opts.group_id, n, fname, "group_id")
  t.user, t.group = opts.user, opts.group
  return t
end

--- Write a file in the container (`POST /v1/files`, multipart), atomically.
-- @tparam string path absolute
-- @tparam string data the content (any bytes)
-- @tparam[opt] table opts `make_dirs` (make missing parent directories),
-- `permissions` (an octal string such as "600", or an integer; default
-- "644"), `user`, `user_id`, `group`, `group_id` (the owner)
-- @raise @{PathError} (a missing directory, say); @{APIError}
-- @usage c:push("/etc/app/app.conf", text, { make_dirs = true, permissions = "640", user = "app" })
function Client:push(path, data, opts)
  self_check(self, "push")
  check_path(path, "push")
  check.arg(2, "push", data, "string")
  opts = check.options(3, "push", opts, FILE_OPTS)
  local meta = owner_fields({ path = path, ["make-dirs"] = opts.make_dirs or nil,
                              permissions = permissions(opts.permissions, 3, "push") }, opts, 3, "push")
  local request = json.encode { action = "write", files = json.array { meta } }
  local b = new_boundary(data, request)
  local body = concat {
    "--", b, "\r\n",
    'Content-Disposition: form-data; name="request"\r\n',
    "Content-Type: application/json\r\n\r\n",
    request, "\r\n",
    "--", b, "\r\n",
    'Content-Disposition: form-data; name="files"; filename=', quote(path), "\r\n",
    "Content-Type: application/octet-stream\r\n\r\n",
    data, "\r\n",
    "--", b, "--\r\n",
  }
  local status, _, rbody, target = self:_send("POST", "/v1/files", nil, {
    Accept = "application/json", ["Content-Type"] = "multipart/form-data; boundary=" .. b,
  }, body)
  local env, err = self:_envelope("POST", target, status, rbody)
  if not env then error(err) end
  path_result(self, env.result, path, "POST", target)
end

--- Read a file of the container (`GET /v1/files?action=read`, a
-- multipart answer).
-- @tparam string path absolute
-- @treturn string the content (bytes as they are)
-- @raise @{PathError} (kind "not-found" when there is no such file,
-- "generic-file-error" for a directory); @{APIError}; @{ProtocolError}
-- @usage local current = c:pull("/etc/app/app.conf")
function Client:pull(path)
  self_check(self, "pull")
  check_path(path, "pull")
  local status, headers, body, target = self:_send("GET", "/v1/files", { { "action", "read" }, { "path", path } },
    { Accept = "multipart/form-data" })
  local mtype, params = media_params(headers["content-type"] or "")
  if status >= 300 or mtype ~= "multipart/form-data" then
    local env, err = self:_envelope("GET", target, status, body)
    if not env then error(err) end
    error(protocol_error(self, { method = "GET", target = target,
      message = ("the answer is %s, not multipart/form-data"):format(mtype ~= "" and mtype or "untyped") }))
  end
  local parts, why = M._parse_multipart(body, params.boundary)
  if not parts then
    error(protocol_error(self, { method = "GET", target = target,
      message = "a broken multipart answer: " .. why }))
  end
  local content, response
  for _, part in ipairs(parts) do
    if part.name == "files" and part.filename == path and content == nil then
      content = part.body
    elseif part.name == "response" then
      response = part.body
    end
  end
  if not response then
    error(protocol_error(self, { method = "GET", target = target, message = "no response part" }))
  end
  local env, err = self:_envelope("GET", target, 200, response)
  if not env then error(err) end
  path_result(self, env.result, path, "GET", target)
  if content == nil then
    error(protocol_error(self, { method = "GET", target = target, message = "no file part for " .. path }))
  end
  return content
end

--- What is at a path (`GET /v1/files?action=list`): the entries of a
-- directory, or the file (or, with `itself`, the directory) itself.
-- @tparam string path absolute
-- @tparam[opt] table opts `pattern` (a glob on the names: "*.conf"),
-- `itself` (the directory, not its entries)
-- @treturn {table,...} each `path`, `name`, `type` ("file", "directory",
-- "symlink", "socket", "named-pipe", "device", "unknown"), `size` (files),
-- `permissions` ("644"), `last_modified` (epoch seconds), `user_id`,
-- `user`, `group_id`, `group`
-- @raise @{APIError} (code 404 when there is nothing at the path)
-- @usage for _, f in ipairs(c:list_files("/etc/app", { pattern = "*.conf" })) do print(f.name) end
function Client:list_files(path, opts)
  self_check(self, "list_files")
  check_path(path, "list_files")
  opts = check.options(2, "list_files", opts, { pattern = "string", itself = "boolean" })
  local query = { { "action", "list" }, { "path", path } }
  if opts.pattern then query[#query + 1] = { "pattern", opts.pattern } end
  if opts.itself then query[#query + 1] = { "itself", "true" } end
  local result = self:_call("GET", "/v1/files", query)
  local out = {}
  for i, t in ipairs(type(result) == "table" and result or {}) do out[i] = parse_file_info(t) end
  return out
end

--- The entry at a path, or nil when there is none.
local function stat(c, path)
  local ok, result = pcall(c.list_files, c, path, { itself = true })
  if ok then return result[1] end
  if getmetatable(result) == M.APIError and result.code == 404 then return nil end
  error(result, 0)
end

--- Is there anything at a path?
-- @tparam string path absolute
-- @treturn boolean
-- @usage if not c:exists("/var/lib/app/initialized") then initialize(c) end
function Client:exists(path)
  self_check(self, "exists")
  check_path(path, "exists")
  return stat(self, path) ~= nil
end

--- Is a path a directory?
-- @tparam string path absolute
-- @treturn boolean
-- @usage if not c:is_dir("/srv/data") then c:make_dir("/srv/data", { make_parents = true }) end
function Client:is_dir(path)
  self_check(self, "is_dir")
  check_path(path, "is_dir")
  local info = stat(self, path)
  return info ~= nil and info.type == "directory"
end

--- Make a directory (`POST /v1/files`, action make-dirs).
-- @tparam string path absolute
-- @tparam[opt] table opts `make_parents` (also the missing parents, and
-- no error when it exists), `permissions` (default "755"), `user`,
-- `user_id`, `group`, `group_id`
-- @raise @{PathError} (it exists, or its parent does not)
-- @usage c:make_dir("/var/lib/app/cache", { make_parents = true, user = "app" })
function Client:make_dir(path, opts)
  self_check(self, "make_dir")
  check_path(path, "make_dir")
  opts = check.options(2, "make_dir", opts, {
    make_parents = "boolean", permissions = "number|string", user = "string", user_id = "number",
    group = "string", group_id = "number",
  })
  local dir = owner_fields({ path = path, ["make-parents"] = opts.make_parents or nil,
                             permissions = permissions(opts.permissions, 2, "make_dir") }, opts, 2, "make_dir")
  local result = self:_call("POST", "/v1/files", nil, { action = "make-dirs", dirs = json.array { dir } })
  path_result(self, result, path, "POST", "/v1/files")
end

--- Remove a file or an empty directory (`POST /v1/files`, action remove).
-- @tparam string path absolute
-- @tparam[opt] table opts `recursive` (a directory and all it holds; no
-- error when there is nothing there)
-- @raise @{PathError} (not found; a directory not empty)
-- @usage c:remove_path("/var/lib/app/cache", { recursive = true })
function Client:remove_path(path, opts)
  self_check(self, "remove_path")
  check_path(path, "remove_path")
  opts = check.options(2, "remove_path", opts, { recursive = "boolean" })
  local result = self:_call("POST", "/v1/files", nil, {
    action = "remove", paths = json.array { { path = path, recursive = opts.recursive or nil } },
  })
  path_result(self, result, path, "POST", "/v1/files")
end

-- ------------------------------------------------------------ checks

local function parse_check(t)
  return snake(t)
end

--- The health checks and how they are (`GET /v1/checks`).
-- @tparam[opt] table opts `level` ("alive" or "ready"), `names` (a list)
-- @treturn table name -> `{name=, level=, startup=, status = "up"|"down"|"inactive",
-- successes=, failures=, threshold=, change_id=}`
-- @usage if c:checks{ level = "alive" }.http.status == "down" then ... end
function Client:checks(opts)
  self_check(self, "checks")
  opts = check.options(1, "checks", opts, { level = "string", names = "table" })
  if opts.level and opts.level ~= "alive" and opts.level ~= "ready" then
    check.bad_option(1, "checks", "level", ("\"alive\" or \"ready\" expected, got %q"):format(opts.level))
  end
  local query = {}
  if opts.level then query[#query + 1] = { "level", opts.level } end
  for _, name in ipairs(name_list("checks", 1, "names", opts.names or {})) do
    query[#query + 1] = { "names", name }
  end
  local result = self:_call("GET", "/v1/checks", query)
  local out = {}
  for _, t in ipairs(type(result) == "table" and result or {}) do
    if type(t) == "table" and type(t.name) == "string" then out[t.name] = parse_check(t) end
  end
  return out
end

-- Start or stop checks; the names whose state changed.
function Client:_checks_action(action, fname, ...)
  local names = names_and_timeout(fname, 1, true, ...)
  local result = self:_call("POST", "/v1/checks", nil, { action = action, checks = json.array(copy_list(names)) })
  local changed = type(result) == "table" and result.changed
  return type(changed) == "table" and copy_list(changed) or {}
end

--- Start checks that were stopped (Pebble 1.18, Juju 3.6.4).
-- @tparam string ... the checks, or one list of them
-- @treturn {string,...} the checks that were not running (Pebble may say
-- none)
-- @usage c:start_checks("http")
function Client:start_checks(...)
  self_check(self, "start_checks")
  return self:_checks_action("start", "start_checks", ...)
end

--- Stop checks.
-- @tparam string ... the checks, or one list of them
-- @treturn {string,...} the checks that were running
-- @usage c:stop_checks("http")
function Client:stop_checks(...)
  self_check(self, "stop_checks")
  return self:_checks_action("stop", "stop_checks", ...)
end

-- ------------------------------------------------------------ notices

--- Notices (`GET /v1/notices`).
-- @tparam[opt] table filters `types` (a list: "custom", "change-update",
-- ...), `keys` (a list), `users` ("all"), `user_id`, `after` (RFC 3339
-- text: only notices repeated after it)
-- @treturn {table,...} each as @{notice} gives
-- @usage for _, n in ipairs(c:notices{ types = { "custom" }, keys = { "example.com/backup" } }) do ... end
function Client:notices(filters)
  self_check(self, "notices")
  filters = check.options(1, "notices", filters,
    { types = "table", keys = "table", users = "string", user_id = "number", after = "string" })
  local query = {}
  if filters.users then query[#query + 1] = { "users", filters.users } end
  if filters.user_id then query[#query + 1] = { "user-id", ("%d"):format(check_id(filters.user_id, 1, "notices",
    "user_id")) } end
  for _, t in ipairs(name_list("notices", 1, "types", filters.types or {})) do query[#query + 1] = { "types", t } end
  for _, k in ipairs(name_list("notices", 1, "keys", filters.keys or {})) do query[#query + 1] = { "keys", k } end
  if filters.after then query[#query + 1] = { "after", filters.after } end
  local result = self:_call("GET", "/v1/notices", query)
  local out = {}
  for i, t in ipairs(type(result) == "table" and result or {}) do out[i] = parse_notice(t) end
  return out
end

--- One notice (`GET /v1/notices/{id}`).
-- @tparam string id
-- @treturn table `id`, `user_id`, `type`, `key`, `first_occurred`,
-- `last_occurred`, `last_repeated` (epoch seconds), `occurrences`,
-- `last_data` (key -> string), `repeat_after`, `expire_after` (Go durations)
-- @raise @{APIError} (404) when Pebble has no such notice
-- @usage local n = c:notice(e.notice.id); print(n.last_data.path)
function Client:notice(id)
  self_check(self, "notice")
  check.arg(1, "notice", id, "string")
  local result = self:_call("GET", "/v1/notices/" .. escape(id))
  if type(result) ~= "table" then
    error(protocol_error(self, { method = "GET", target = "/v1/notices/" .. id, message = "not a notice" }))
  end
  return parse_notice(result)
end

--- Record a custom notice (`POST /v1/notices`): what `pebble notify`
-- does in the workload, here from the charm.
-- @tparam string key "example.com/path"
-- @tparam[opt] table data key -> string
-- @tparam[opt] table opts `repeat_after` (seconds: a repeat sooner than
-- that is only counted)
-- @treturn string the notice's id
-- @usage local id = c:notify("example.com/backup-done", { path = "/srv/backup/1.tar" })
function Client:notify(key, data, opts)
  self_check(self, "notify")
  check.arg(1, "notify", key, "string")
  check.arg(2, "notify", data, "?table")
  opts = check.options(3, "notify", opts, { repeat_after = "number" })
  check.seconds(3, "notify", "repeat_after", opts.repeat_after)
  local body = { action = "add", type = "custom", key = key,
                 ["repeat-after"] = opts.repeat_after and duration(opts.repeat_after) or nil }
  if data then
    local d = {}
    for k, v in pairs(data) do
      if type(k) ~= "string" or type(v) ~= "string" then
        raise(("bad argument #2 to 'notify' (data: string keys and string values expected, got %s = %s)"):format(
          type(k), type(v)))
      end
      d[k] = v
    end
    body.data = json.object(d)
  end
  local result = self:_call("POST", "/v1/notices", nil, body)
  return type(result) == "table" and result.id or nil
end

-- ------------------------------------------------------------ exec

local EXEC_OPTS = {
  stdin = "string", environment = "table", working_dir = "string", timeout = "number", user = "string",
  user_id = "number", group = "string", group_id = "number", split_stderr = "boolean", check = "boolean",
  service_context = "string",
}

--- Run a command in the container and wait for it (`POST /v1/exec`,
-- its I/O streams, then its change). No shell: `argv[1]` is looked up on
-- the container's `PATH`.
-- @tparam {string,...} argv
-- @tparam[opt] table opts
--
-- * `stdin` (string): fed to the command
-- * `environment` (table): variables (NAME = string)
-- * `working_dir` (string)
-- * `timeout` (seconds): then Pebble kills it (and the change fails)
-- * `user`, `user_id`, `group`, `group_id`: who runs it
-- * `service_context` (string): a service whose environment, user and
--   working directory it gets (what opts give wins)
-- * `split_stderr` (boolean): stderr apart (default: merged into stdout)
-- * `check` (boolean): false to get the result of a non-zero exit
--   instead of an @{ExecError}
-- @treturn table `{stdout = string, stderr = string, code = int}`
-- @raise @{ExecError} when it exits non-zero (unless `check = false`);
-- @{APIError} (no such executable: a 400); @{ChangeError} (it timed
-- out, say); @{ConnectionError}; @{TimeoutError}
-- @usage
-- local r = c:exec({ "nginx", "-t" }, { split_stderr = true, check = false })
-- if r.code ~= 0 then e.status:set("blocked", "bad config: " .. r.stderr) end
-- c:exec({ "psql", "-f", "-" }, { stdin = sql, user = "postgres", timeout = 60 })
function Client:exec(argv, opts)
  self_check(self, "exec")
  local cmd = check.argv(1, "exec", argv)
  opts = check.options(2, "exec", opts, EXEC_OPTS)
  check.seconds(2, "exec", "timeout", opts.timeout)
  local env = check.environment(2, "exec", "environment", opts.environment or {})
  local body = owner_fields({
    command = json.array(copy_list(cmd)), environment = json.object(env), ["working-dir"] = opts.working_dir,
    timeout = opts.timeout and duration(opts.timeout) or nil, ["split-stderr"] = opts.split_stderr == true,
    ["service-context"] = opts.service_context,
  }, opts, 2, "exec")
  -- before Pebble starts the command: a transport that cannot do its I/O
  -- would leave it waiting for websockets that never come
  local t = M.transport()
  if not t.exec_io then error("juju.pebble: the transport has no exec_io", 0) end
  local result, change_id = self:_call("POST", "/v1/exec", nil, body)
  local task_id = type(result) == "table" and result["task-id"] or nil
  if not change_id or type(task_id) ~= "string" then
    error(protocol_error(self, { method = "POST", target = "/v1/exec",
      message = "exec answered without a change and a task id" }))
  end
  -- Opening each websocket is a request: it has the client's timeout.
  local stdout, stderr, kind = t.exec_io(self.socket_path, task_id, {
    stdin = opts.stdin, split_stderr = opts.split_stderr == true,
    timeout = opts.timeout and opts.timeout + 1 or nil, connect_timeout = self.timeout,
  })
  if stdout == nil then
    error(transport_error(self, stderr, kind, "exec " .. concat(cmd, " ")))
  end
  local change = self:_wait_ok(change_id, opts.timeout and opts.timeout + 1 or M.CHANGE_TIMEOUT)
  local task = change.tasks[1]
  local code = task and task.data["exit-code"]
  if math_type(code) ~= "integer" then code = -1 end
  local out = { stdout = stdout, stderr = stderr or "", code = code }
  if code ~= 0 and opts.check ~= false then
    error(new_error(M.ExecError, { command = cmd, code = code, stdout = out.stdout, stderr = out.stderr,
                                   container = self.name }))
  end
  return out
end

-- ------------------------------------------------------------ workload events

--- Fields of a notice that come from Pebble, not the environment.
local NOTICE_LAZY = {
  user_id = true, first_occurred = true, last_occurred = true, last_repeated = true, occurrences = true,
  last_data = true, data = true, repeat_after = true, expire_after = true,
}

--- The notice of a pebble-custom-notice event: `id`, `type` and `key`
-- from the environment; the rest (`last_data`, also as `data`,
-- `occurrences`, `first_occurred`, ...) fetched from Pebble (@{Client:notice})
-- the first time a handler reads one of them.
-- @tparam Client client the event's container
-- @tparam table notice `id`, `type`, `key`
-- @treturn table
-- @local
function M.event_notice(client, notice)
  local n = { id = notice.id, type = notice.type, key = notice.key }
  local fetched = false   -- once: a field Pebble left out stays nil, unasked
  return setmetatable(n, {
    __name = "juju.pebble.Notice",
    __index = function(t, k)
      if fetched or not NOTICE_LAZY[k] then return nil end
      local full = client:notice(t.id)
      fetched = true
      for field in pairs(NOTICE_LAZY) do rawset(t, field, full[field]) end
      rawset(t, "data", full.last_data)
      return rawget(t, k)
    end,
  })
end

--- The check of a pebble-check-failed or -recovered event: `name` from
-- the environment, `info` (as @{Client:checks} gives one, or nil when
-- Pebble no longer has it) fetched the first time it is read.
-- @tparam Client client
-- @tparam string name
-- @treturn table
-- @local
function M.event_check(client, name)
  local fetched = false   -- once: a check Pebble no longer has stays nil, unasked
  return setmetatable({ name = name }, {
    __name = "juju.pebble.CheckEvent",
    __index = function(t, k)
      if fetched or k ~= "info" then return nil end
      local info = client:checks { names = { t.name } }[t.name]
      fetched = true
      rawset(t, "info", info)
      return info
    end,
  })
end

M.Client = Client
return M
