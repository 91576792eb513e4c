--- A programming mistake raised at the caller's line: the framework's
-- argument checks blame the charm's own line (juju.private.check), and
-- specs check both the line and the words.
-- @module helpers.mistakes

local assert = require "luassert"

local M = {}

--- The plain error fn raised, checked to name fn's own file and line;
-- returns the whole message and the words after "FILE:LINE: ".
-- @tparam function fn
-- @treturn string
-- @treturn string
function M.raised(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "no error")
  assert.equal("string", type(err), "not a plain error: " .. tostring(err))
  local info = debug.getinfo(fn, "S")
  local where = ("%s:%d: "):format(info.short_src:match("[^/]*$"), info.linedefined)
  local at, stop = err:find(where, 1, true)
  assert.truthy(at, "not at the caller's line: " .. err)
  return err, err:sub(stop + 1)
end

--- Check that fn raises, at its own line, an error holding text; the
-- message.
-- @tparam function fn
-- @tparam string text
-- @treturn string
function M.caller_error(fn, text)
  local err = M.raised(fn)
  assert.truthy(err:find(text, 1, true), "expected '" .. text .. "' in: " .. err)
  return err
end

return M
