--- Files of the workload: write them atomically with owner and mode,
-- read them, fill in templates.
--
--     local file = require "juju.file"
--     local conf = file.render(TEMPLATE, {port = config.port, root = "/srv/www"})
--     file.write("/etc/app/app.conf", conf, {mode = "0640", group = "www-data"})
--
-- Two seams, for tests and simulated units:
--
-- * a root: absolute paths are taken under a root directory when one is
--   set (@{set_root}, or `DISPATCH_FILE_ROOT` in the hook's environment),
--   so a simulated unit sees the charm write `/etc/app/app.conf` into its
--   own temporary tree. Under a root, owner and group are not applied
--   (the tree belongs to whoever runs the simulation), and their names
--   are checked against the tree's own `/etc/passwd` and `/etc/group`
--   when it has them: the tree stands for another machine, whose users
--   the host's files say nothing about.
-- * a backend: @{set_backend} hands every read, write, `exists`,
--   `make_dirs` and `remove` to a table of functions, such as
--   `juju.testing`'s in-memory tree.
--
-- Normally there is neither, and paths are what they say.
--
-- @module juju.file

local juju = require "juju"
local check = require "juju.private.check"
local sys = require "juju.sys"
local users = require "juju.users"

local M = {}

local EEXIST = 17   -- errno

local raise = check.raise

local type, error, tostring, tonumber = type, error, tostring, tonumber
local math_type = math.type

local function check_path(path, fname)
  if type(path) ~= "string" or path == "" or path:find("\0", 1, true) then
    raise(("bad argument #1 to '%s' (a path expected, got %s)"):format(
      fname, type(path) == "string" and ("'" .. path:gsub("%z", "\\0") .. "'") or type(path)))
  end
end

--- A mode from a number (0420 is 0644) or an octal string ("0644", "644").
local function parse_mode(mode, where)
  local n
  if math_type(mode) == "integer" then
    n = mode
  elseif type(mode) == "string" and mode:find("^[0-7]+$") then
    n = tonumber(mode, 8)
  end
  if n == nil or n < 0 or n > 4095 then
    raise(("bad argument %s (mode: an integer or an octal string up to 7777 expected, got %s)")
      :format(where or "#3 to 'write'", type(mode) == "string" and ("'" .. mode .. "'") or tostring(mode)))
  end
  return n
end

--- A numeric id or a name, checked.
local function check_id(value, key)
  if math_type(value) == "integer" then
    if value < 0 or value >= 0xffffffff then
      raise(("bad argument #3 to 'write' (%s: %d is not an id)"):format(key, value))
    end
    return value
  end
  if type(value) ~= "string" or value == "" then
    raise(("bad argument #3 to 'write' (%s: a name or a numeric id expected, got %s)"):format(
      key, type(value) == "string" and "an empty string" or tostring(value)))
  end
  return value
end

--- The numeric id of a checked id or name (users.uid or users.gid).
local function resolve(value, lookup)
  if math_type(value) == "integer" then return value end
  local id, err = lookup(value)
  if not id then raise("file.write: " .. err) end
  return id
end

--- Under a root: a name is checked against the tree's own database (db,
-- an absolute path on the simulated machine) when the tree has one.
local function in_root_db(value, lookup, db)
  if value == nil or math_type(value) == "integer" then return end
  local real = M.path(db)
  if not sys.exists(real) then return end
  -- named as the charm knows it: /etc/passwd, the root's
  local id, err = lookup(value, real, db)
  if not id then raise("file.write: " .. err .. " (the file root's)") end
end

local root_override

--- Take absolute paths under dir from now on (nil: back to
-- `DISPATCH_FILE_ROOT`, or none).
-- @tparam ?string dir an absolute directory
-- @usage file.set_root(tmpdir)   -- in a test
function M.set_root(dir)
  if dir ~= nil and (type(dir) ~= "string" or dir:sub(1, 1) ~= "/") then
    raise(("bad argument #1 to 'set_root' (an absolute directory expected, got %s)"):format(tostring(dir)))
  end
  root_override = dir and dir:gsub("/+$", "") or nil
end

--- Where a path really is: under the root for an absolute path, when
-- there is one.
-- @tparam string path
-- @treturn string
-- @usage local real = file.path("/etc/app/app.conf")
function M.path(path)
  check_path(path, "path")
  local root = root_override
  if root == nil then
    root = juju.getenv("DISPATCH_FILE_ROOT") or ""
    root = root:gsub("/+$", "")
  end
  if root ~= "" and path:sub(1, 1) == "/" then return root .. path end
  return path
end

local backend = nil

--- Hand every file operation to a backend (nil: the real files again).
-- The backend is a table of functions, each given the path as the charm
-- wrote it (arguments already checked):
--
-- * `read(path)` -> content, or nil and why
-- * `write(path, content, opts)` -> true, or nil and why; `opts.mode` is
--   an integer or nil, `opts.owner` and `opts.group` a name, an id or nil
-- * `exists(path)` -> boolean
-- * `mkdir(path, mode)` -> true (also when it is a directory already), or
--   nil and why
-- * `remove(path)` -> true (also when there is nothing), or nil and why
-- @tparam ?table b
-- @usage file.set_backend(memory_tree)   -- in a test harness
function M.set_backend(b)
  if b ~= nil then
    if type(b) ~= "table" then
      raise(("bad argument #1 to 'set_backend' (table or nil expected, got %s)"):format(type(b)))
    end
    for _, fn in ipairs { "read", "write", "exists", "mkdir", "remove" } do
      if type(b[fn]) ~= "function" then
        raise(("bad argument #1 to 'set_backend' (no function '%s')"):format(fn))
      end
    end
  end
  backend = b
end

--- Make a directory and its missing parents.
-- @tparam string path
-- @tparam[opt] table opts `mode` (default 0755, the umask applies)
-- @raise when a directory cannot be made
-- @usage file.make_dirs("/var/www/app")
function M.make_dirs(path, opts)
  check_path(path, "make_dirs")
  opts = check.options(2, "make_dirs", opts, { mode = "number|string" })
  local mode = opts.mode and parse_mode(opts.mode, "#2 to 'make_dirs'") or 493   -- 0755
  local mkdir = sys.mkdir
  local real = path
  if backend then
    mkdir = backend.mkdir
  else
    real = M.path(path)
  end
  local sofar = real:sub(1, 1) == "/" and "" or "."
  local parts = {}
  for part in real:gmatch("[^/]+") do parts[#parts + 1] = part end
  for i, part in ipairs(parts) do
    sofar = sofar .. "/" .. part
    local ok, err, errno = mkdir(sofar, mode)
    -- a file where a parent should be: the next step says "Not a directory"
    -- under the path asked for; at the end it is the error itself
    if not ok and not (errno == EEXIST and i < #parts) then error(err, 2) end
  end
end

--- Remove a file (nothing to do when there is none).
-- @tparam string path
-- @treturn[1] true
-- @treturn[2] nil
-- @treturn[2] string why
-- @usage file.remove("/etc/nginx/sites-enabled/default")
function M.remove(path)
  check_path(path, "remove")
  if backend then return backend.remove(path) end
  local ok, err, errno = os.remove(M.path(path))
  if ok or errno == 2 then return true end
  return nil, err
end

--- Replace a file atomically: readers see the old content or the new,
-- never a part, and a failure leaves the old file as it was. The new file
-- gets exactly the mode given (the umask plays no part) and the owner and
-- group given (default: the hook's, root). Owner and group names are
-- looked up in `/etc/passwd` and `/etc/group` (@{juju.users}).
-- @tparam string path
-- @tparam string content
-- @tparam[opt] table opts `mode` (an integer, or an octal string such as
-- `"0640"`; default 0644), `owner` and `group` (names or numeric ids)
-- @raise when the file cannot be written (`cannot write PATH: ...
-- (Permission denied)`); for an unknown owner or group, naming the file it
-- was looked for in; at the caller's line for bad arguments
-- @usage
-- file.write("/etc/app/secret.conf", text, {mode = "0600", owner = "app", group = "app"})
-- file.write("/srv/www/index.html", html)
function M.write(path, content, opts)
  check_path(path, "write")
  if type(content) ~= "string" then
    raise(("bad argument #2 to 'write' (string expected, got %s)"):format(type(content)))
  end
  local wopts = {}
  if opts ~= nil then
    opts = check.options(3, "write", opts, { mode = "any", owner = "any", group = "any" })
    if opts.mode ~= nil then wopts.mode = parse_mode(opts.mode) end
    if opts.owner ~= nil then wopts.owner = check_id(opts.owner, "owner") end
    if opts.group ~= nil then wopts.group = check_id(opts.group, "group") end
  end
  local ok, err
  if backend then
    ok, err = backend.write(path, content, wopts)
  else
    local real = M.path(path)
    -- under a root (a simulated unit) the tree is not the machine's: the
    -- names are checked, the ids not applied
    local rooted = real ~= path
    local uid, gid
    if rooted then
      in_root_db(wopts.owner, users.uid, "/etc/passwd")
      in_root_db(wopts.group, users.gid, "/etc/group")
    else
      uid = wopts.owner ~= nil and resolve(wopts.owner, users.uid) or nil
      gid = wopts.group ~= nil and resolve(wopts.group, users.gid) or nil
    end
    -- (nor is a rooted file synced: a simulated machine's files need no durability)
    ok, err = sys.write_file(real, content, { mode = wopts.mode, uid = uid, gid = gid, sync = not rooted })
  end
  if not ok then error(err, 2) end
end

--- Read a whole file.
-- @tparam string path
-- @treturn[1] string its content
-- @treturn[2] nil when it cannot be read
-- @treturn[2] string why (`PATH: No such file or directory`)
-- @raise at the caller's line when `path` is not a path
-- @usage local pem = file.read("/etc/app/cert.pem") or ""
function M.read(path)
  check_path(path, "read")
  if backend then return backend.read(path) end
  local f, err = io.open(M.path(path), "rb")
  if not f then return nil, err end
  local content, rerr = f:read("a")
  f:close()
  if content == nil then return nil, path .. ": " .. tostring(rerr) end
  return content
end

--- Does a file exist? Any kind of file counts (a directory too); a broken
-- symlink does not.
-- @tparam string path
-- @treturn boolean
-- @raise at the caller's line when `path` is not a path
-- @usage if not file.exists("/etc/app/app.conf") then configure() end
function M.exists(path)
  check_path(path, "exists")
  if backend then return backend.exists(path) == true end
  return sys.exists(M.path(path))   -- a stat: a FIFO is not opened (that would wait)
end

--- Fill in a template: each `{{name}}` (spaces inside the braces allowed)
-- becomes `values[name]`. Names are letters, digits, `_`, `.` and `-`.
-- Other text, including a lone `{` or `}`, stays as it is.
-- @tparam string template
-- @tparam table values name -> string or number
-- @treturn string
-- @raise naming the placeholder, when a placeholder has no value or a
-- value is neither a string nor a number (at the caller's line)
-- @usage
-- file.render("listen {{port}};\nroot {{ root }};\n", {port = 80, root = "/srv"})
-- --> "listen 80;\nroot /srv;\n"
function M.render(template, values)
  if type(template) ~= "string" then
    raise(("bad argument #1 to 'render' (string expected, got %s)"):format(type(template)))
  end
  if type(values) ~= "table" then
    raise(("bad argument #2 to 'render' (table expected, got %s)"):format(type(values)))
  end
  return (template:gsub("{{%s*([%w_%.%-]+)%s*}}", function(name)
    local v = values[name]
    if v == nil then
      raise(("render: no value for the placeholder {{%s}}"):format(name))
    end
    local t = type(v)
    if t == "number" then return tostring(v) end
    if t ~= "string" then
      raise(("render: the value for {{%s}} is a %s (a string or a number expected)"):format(name, t))
    end
    return v
  end))
end

return M
