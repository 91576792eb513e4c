--- User and group ids by name, read from `/etc/passwd` and `/etc/group`.
--
-- The files themselves are read, never the C library's getpwnam or
-- getgrnam: `dispatch` is a static binary and must not need NSS. So a
-- user known only to LDAP or sssd is not found; the system users a
-- package creates (`postgres`, `www-data`, ...) are.
--
--     local users = require "juju.users"
--     local uid = assert(users.uid("postgres"))
--
-- @module juju.users

local M = {}

local type, error, tostring, tonumber, io_open = type, error, tostring, tonumber, io.open

--- The user database read by @{uid} (tests point it at a fixture).
M.passwd_file = "/etc/passwd"

--- The group database read by @{gid} (tests point it at a fixture).
M.group_file = "/etc/group"

--- Find name in a colon-separated database whose id is field 3; messages
-- call the file `shown` (default its path).
local function lookup(path, name, what, shown)
  if type(name) ~= "string" or name == "" then
    error(("bad argument #1 to '%s' (a %s name expected, got %s)"):format(
      what == "user" and "uid" or "gid", what, type(name) == "string" and "an empty string" or type(name)), 3)
  end
  shown = shown or path
  local f, err = io_open(path, "r")
  local text
  if f then
    -- read whole (a few KB): a directory opens, and fails only here
    text, err = f:read("a")
    f:close()
  elseif tostring(err):sub(1, #path + 2) == path .. ": " then
    err = err:sub(#path + 3)    -- io.open's "PATH: why"
  end
  if not text then return nil, ("cannot look up %s '%s': %s: %s"):format(what, name, shown, tostring(err)) end
  local prefix = name .. ":"
  for line in text:gmatch("[^\n]+") do
    -- '#' starts a comment, as for the C library's own reader
    if line:sub(1, #prefix) == prefix and line:sub(1, 1) ~= "#" then
      local digits = line:match("^[^:]*:[^:]*:(%d+):")
      local id = digits and math.tointeger(tonumber(digits))
      if id then return id end
    end
  end
  return nil, ("no %s '%s' in %s"):format(what, name, shown)
end

--- The numeric id of a user.
-- @tparam string name
-- @tparam[opt] string db the passwd file to read (default @{passwd_file})
-- @tparam[opt] string shown what messages call it (default its path)
-- @treturn[1] int the uid
-- @treturn[2] nil when there is no such user (or the file cannot be read)
-- @treturn[2] string why, naming the file: `no user 'pg' in /etc/passwd`
-- @raise when `name` is not a non-empty string
-- @usage local uid = assert(users.uid("www-data"))   -- 33
function M.uid(name, db, shown)
  return lookup(db or M.passwd_file, name, "user", shown)
end

--- The numeric id of a group.
-- @tparam string name
-- @tparam[opt] string db the group file to read (default @{group_file})
-- @tparam[opt] string shown what messages call it (default its path)
-- @treturn[1] int the gid
-- @treturn[2] nil when there is no such group (or the file cannot be read)
-- @treturn[2] string why, naming the file: `no group 'pg' in /etc/group`
-- @raise when `name` is not a non-empty string
-- @usage local gid = assert(users.gid("adm"))   -- 4
function M.gid(name, db, shown)
  return lookup(db or M.group_file, name, "group", shown)
end

return M
