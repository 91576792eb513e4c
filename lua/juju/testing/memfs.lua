--- An in-memory file tree for `juju.file`, the one `juju.testing` gives a
-- charm: no temporary directories, no system calls, no need to be root to
-- write a file owned by `root`.
--
-- Absolute paths live in the tree; relative ones are the real files (a
-- charm reading its own `templates/site.conf` reads it from the charm
-- directory, as on a unit). The tree starts with the files given and the
-- directories of a fresh Ubuntu machine (@{STANDARD_DIRS}) plus any given;
-- a write needs its directory to exist, as on a real machine.
--
--     local memfs = require "juju.testing.memfs"
--     local tree = memfs.new({ ["/etc/app.conf"] = "x = 1\n" })
--     file.set_backend(tree:backend())
--     ...
--     file.set_backend(nil)
--     local files, dirs = tree:files(), tree:dirs()
-- @module juju.testing.memfs

local M = {}

local EEXIST = 17   -- errno, as juju.sys.mkdir gives it

--- Directories every Ubuntu machine has, so a charm can write
-- `/etc/systemd/system/app.service` without making `/etc/systemd/system`.
M.STANDARD_DIRS = {
  "/", "/etc", "/etc/default", "/etc/systemd", "/etc/systemd/system", "/etc/cron.d", "/etc/logrotate.d",
  "/etc/apt", "/etc/apt/sources.list.d", "/etc/ssl", "/etc/ssl/certs", "/etc/ssl/private", "/home", "/opt",
  "/proc", "/root", "/run", "/srv", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/usr/local/bin",
  "/usr/local/lib", "/usr/share", "/var", "/var/cache", "/var/lib", "/var/log", "/var/tmp",
}

local STANDARD = {}
for _, d in ipairs(M.STANDARD_DIRS) do STANDARD[d] = true end

--- The canonical form of an absolute path: no repeated or trailing
-- slashes, no "." parts, ".." resolved.
local function clean(path)
  if not (path:find("//", 1, true) or path:find("/%.") or (#path > 1 and path:sub(-1) == "/")) then
    return path
  end
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  return "/" .. table.concat(parts, "/")
end

local function parent(path)
  local p = path:match("^(.*)/[^/]*$")
  if p == nil or p == "" then return "/" end   -- "/etc"'s parent is "/", not ""
  return p
end

local Tree = {}
local tree_mt = { __name = "juju.testing.memfs.Tree", __index = Tree }

--- A tree holding files (path -> content) and directories (a list of
-- paths) besides the standard ones and those files' parents.
-- @tparam ?table files absolute path -> content
-- @tparam ?{string,...} dirs absolute paths
-- @treturn Tree
function M.new(files, dirs)
  local t = setmetatable({ content = {}, dirset = {}, writes = {} }, tree_mt)
  for path, content in pairs(files or {}) do
    if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
      error(("files: '%s' is not an absolute path"):format(tostring(path)), 0)
    end
    if type(content) ~= "string" then
      error(("files: the content of '%s' is a %s (a string expected)"):format(path, type(content)), 0)
    end
    local p = clean(path)
    t.content[p] = content
    local d = parent(p)
    while d ~= "/" and not t.dirset[d] do
      t.dirset[d] = true
      d = parent(d)
    end
  end
  for _, d in ipairs(dirs or {}) do
    if type(d) ~= "string" or d:sub(1, 1) ~= "/" then
      error(("dirs: '%s' is not an absolute path"):format(tostring(d)), 0)
    end
    local p = clean(d)
    while p ~= "/" and not t.dirset[p] do
      t.dirset[p] = true
      p = parent(p)
    end
  end
  return t
end

function Tree:is_dir(p)
  return STANDARD[p] or self.dirset[p] or false
end

--- The `juju.file` backend of this tree.
-- @treturn table
function Tree:backend()
  local tree = self
  local content = self.content
  return {
    read = function(path)
      if path:sub(1, 1) ~= "/" then
        local f, err = io.open(path, "rb")
        if not f then return nil, err end
        local text = f:read("a")
        f:close()
        return text
      end
      local p = clean(path)
      local text = content[p]
      if text then return text end
      if tree:is_dir(p) then return nil, path .. ": Is a directory" end
      return nil, path .. ": No such file or directory"
    end,
    write = function(path, text, opts)
      if path:sub(1, 1) ~= "/" then
        return nil, ("cannot write %s: the test harness keeps only absolute paths"):format(path)
      end
      local p = clean(path)
      if tree:is_dir(p) then return nil, ("cannot write %s: Is a directory"):format(path) end
      local dir = parent(p)
      if content[dir] then return nil, ("cannot write %s: Not a directory"):format(path) end
      if not tree:is_dir(dir) then return nil, ("cannot write %s: No such file or directory"):format(path) end
      content[p] = text
      tree.writes[#tree.writes + 1] = {
        path = p, mode = ("%04o"):format(opts.mode or 420), owner = opts.owner, group = opts.group,
      }
      return true
    end,
    exists = function(path)
      if path:sub(1, 1) ~= "/" then
        local f = io.open(path, "r")
        if f then f:close() end
        return f ~= nil
      end
      local p = clean(path)
      return content[p] ~= nil or tree:is_dir(p)
    end,
    mkdir = function(path)
      if path:sub(1, 1) ~= "/" then
        return nil, ("mkdir %s: the test harness keeps only absolute paths"):format(path)
      end
      local p = clean(path)
      if tree:is_dir(p) then return true end
      if content[p] then return nil, ("mkdir %s: File exists"):format(path), EEXIST end
      local dir = parent(p)
      if content[dir] then return nil, ("mkdir %s: Not a directory"):format(path) end
      if not tree:is_dir(dir) then return nil, ("mkdir %s: No such file or directory"):format(path) end
      tree.dirset[p] = true
      return true
    end,
    remove = function(path)
      if path:sub(1, 1) ~= "/" then return nil, path .. ": the test harness keeps only absolute paths" end
      local p = clean(path)
      if content[p] then
        content[p] = nil
        return true
      end
      if tree:is_dir(p) then
        local prefix = p == "/" and "/" or p .. "/"
        for other in pairs(content) do
          if other:sub(1, #prefix) == prefix then return nil, path .. ": Directory not empty" end
        end
        for other in pairs(tree.dirset) do
          if other:sub(1, #prefix) == prefix then return nil, path .. ": Directory not empty" end
        end
        if STANDARD[p] then return nil, path .. ": Device or resource busy" end
        tree.dirset[p] = nil
      end
      return true
    end,
  }
end

--- Put a file in the tree, making its directories (what a workload
-- program does to the machine, in a test).
-- @tparam string path absolute
-- @tparam string content
function Tree:put(path, content)
  local p = clean(path)
  self.content[p] = content
  local d = parent(p)
  while d ~= "/" and not self.dirset[d] and not STANDARD[d] do
    self.dirset[d] = true
    d = parent(d)
  end
end

--- The files now: path -> content (a new table).
-- @treturn table
function Tree:files()
  local out = {}
  for p, text in pairs(self.content) do out[p] = text end
  return out
end

--- The directories made or given that no file implies and that are not
-- standard, sorted (so a state keeps an empty directory the charm made).
-- @treturn {string,...}
function Tree:dirs()
  local implied = {}
  for p in pairs(self.content) do
    local d = parent(p)
    while d ~= "/" and not implied[d] do
      implied[d] = true
      d = parent(d)
    end
  end
  -- a directory's parents are implied by it
  for d in pairs(self.dirset) do
    local up = parent(d)
    while up ~= "/" and not implied[up] do
      implied[up] = true
      up = parent(up)
    end
  end
  local out = {}
  for d in pairs(self.dirset) do
    if not implied[d] and not STANDARD[d] then out[#out + 1] = d end
  end
  table.sort(out)
  return out
end

return M
