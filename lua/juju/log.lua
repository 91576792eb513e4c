--- Logging to the unit's log (`juju debug-log`), through `juju-log`.
--
-- Quiet by default: messages below the threshold (INFO, or DEBUG when
-- Juju runs the hook with `JUJU_DEBUG` set) cost nothing, and the
-- framework itself logs only at DEBUG. A message longer than Linux allows
-- in one command-line argument (128 KiB) is sent in parts, split between
-- UTF-8 characters.
--
--     local log = require "juju.log"
--     log.info("serving on port %d", port)
--     log.warning("config 'page' is empty, using the default")
--
-- @module juju.log

local juju = require "juju"
local check = require "juju.private.check"

local M = {}

local LEVELS = { DEBUG = 10, INFO = 20, WARNING = 30, ERROR = 40, CRITICAL = 50 }

--- The longest part of a message sent in one `juju-log` (Linux refuses a
-- single argument of 128 KiB or more).
M.MAX_PART = 131071

local threshold

local function current_threshold()
  if threshold == nil then
    local debug = juju.getenv("JUJU_DEBUG")
    threshold = (debug ~= nil and debug ~= "") and LEVELS.DEBUG or LEVELS.INFO
  end
  return threshold
end

--- Split text into parts of at most max bytes, never inside a UTF-8
-- character.
-- @tparam string text
-- @tparam[opt=MAX_PART] int max
-- @treturn {string,...}
function M.split(text, max)
  max = max or M.MAX_PART
  local parts = {}
  local i, n = 1, #text
  while n - i + 1 > max do
    local j = i + max - 1
    -- back off over continuation bytes (10xxxxxx) so a character stays whole
    while j > i and (text:byte(j + 1) or 0) & 0xC0 == 0x80 do j = j - 1 end
    parts[#parts + 1] = text:sub(i, j)
    i = j + 1
  end
  parts[#parts + 1] = text:sub(i)
  return parts
end

local function emit(level, fmt, ...)
  if LEVELS[level] < current_threshold() then return end
  local text = fmt
  if select("#", ...) > 0 then
    text = string.format(fmt, ...)
  elseif type(fmt) ~= "string" then
    text = tostring(fmt)
  end
  for _, part in ipairs(M.split(text)) do
    juju.juju_log(part, { level = level })
  end
end

--- Log at DEBUG (sent only when the threshold is DEBUG).
-- @tparam string fmt a message, or a `string.format` pattern for the rest
-- @param ... values for fmt
-- @usage log.debug("rendered %d bytes", #text)
function M.debug(fmt, ...) emit("DEBUG", fmt, ...) end

--- Log at INFO.
-- @tparam string fmt
-- @param ...
-- @usage log.info("serving on port %d", port)
function M.info(fmt, ...) emit("INFO", fmt, ...) end

--- Log at WARNING.
-- @tparam string fmt
-- @param ...
-- @usage log.warning("no database yet")
function M.warning(fmt, ...) emit("WARNING", fmt, ...) end

--- Log at ERROR.
-- @tparam string fmt
-- @param ...
-- @usage log.error("cannot reach %s", url)
function M.error(fmt, ...) emit("ERROR", fmt, ...) end

--- Log at CRITICAL.
-- @tparam string fmt
-- @param ...
function M.critical(fmt, ...) emit("CRITICAL", fmt, ...) end

--- Set the lowest level sent to Juju ("DEBUG", "INFO", "WARNING", "ERROR",
-- "CRITICAL"), for the rest of the process; nil goes back to the default.
-- @tparam ?string level
-- @usage log.set_level(config["log-level"])
function M.set_level(level)
  if level == nil then
    threshold = nil
    return
  end
  check.arg(1, "set_level", level, "string")
  local value = LEVELS[level:upper()]
  if not value then
    check.raise(("bad argument #1 to 'set_level' (a level: DEBUG, INFO, WARNING, ERROR or CRITICAL; got '%s')")
      :format(level))
  end
  threshold = value
end

--- The current threshold's name.
-- @treturn string
function M.level()
  local t = current_threshold()
  for name, value in pairs(LEVELS) do
    if value == t then return name end
  end
end

return M
