--- Small file-system probes for specs (plain Lua has no stat).
-- Each probe runs one short `stat`/`test` through `io.popen`; paths are
-- single-quoted for the shell.
-- @module helpers.fs

local M = {}

--- Quote one word for /bin/sh.
-- @param s any bytes except NUL (numbers are turned into strings)
-- @treturn string the word in single quotes
function M.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Run a shell command and return its output without the trailing newline.
local function capture(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  p:close()
  return (out:gsub("\n$", ""))
end

--- `stat` several paths with one process.
-- @tparam {string,...} paths
-- @treturn table path -> `{mode = "600", kind = "regular file"}`; missing
-- paths are absent
function M.stat(paths)
  local quoted = {}
  for i, p in ipairs(paths) do quoted[i] = M.shell_quote(p) end
  local out = capture("stat -c '%n|%a|%F' " .. table.concat(quoted, " ") .. " 2>/dev/null")
  local result = {}
  for line in (out .. "\n"):gmatch("([^\n]*)\n") do
    local name, mode, kind = line:match("^(.*)|(%d+)|([^|]*)$")
    if name then result[name] = { mode = mode, kind = kind } end
  end
  return result
end

--- Permission bits of a path in octal, as `stat -c %a` prints them ("600").
-- @tparam string path
-- @treturn string|nil nil when the path does not exist
function M.mode(path)
  local st = M.stat({ path })[path]
  return st and st.mode
end

--- Whether `path` is a directory.
-- @tparam string path
-- @treturn boolean
function M.is_dir(path)
  local st = M.stat({ path })[path]
  return st ~= nil and st.kind == "directory"
end

--- Whether anything (file or directory) exists at `path`, without a
-- process: renaming a path onto itself succeeds only if it exists.
-- @tparam string path
-- @treturn boolean
function M.exists(path)
  return os.rename(path, path) == true
end

--- Whole content of a file, or nil when it cannot be opened.
-- @tparam string path
-- @treturn string|nil
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("a")
  f:close()
  return data
end

--- Directory part of a path ("/a/b/c" -> "/a/b").
-- @tparam string path
-- @treturn string
function M.dirname(path)
  return (path:match("^(.*)/[^/]*$"))
end

--- Last component of a path ("/a/b/c" -> "c").
-- @tparam string path
-- @treturn string
function M.basename(path)
  return (path:match("([^/]*)$"))
end

--- n bytes of text that differ everywhere (so a lost, repeated or
-- reordered chunk shows), from a per-position counter written with fmt.
-- @tparam int n
-- @tparam string fmt a string.format pattern of one integer ("%07d,")
-- @treturn string
function M.pattern(n, fmt)
  local parts, size, i = {}, 0, 0
  while size < n do
    i = i + 1
    local s = fmt:format(i)
    parts[#parts + 1] = s
    size = size + #s
  end
  return table.concat(parts):sub(1, n)
end

return M
