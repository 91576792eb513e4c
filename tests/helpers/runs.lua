--- What a juju.testing run issued, in the shapes specs compare.
--
--     local runs = require "helpers.runs"
--     local _, run = ctx:run("config-changed", state)
--     assert.same({ "config-get --format=json" }, runs.lines(run, "config-get"))
--
-- @module helpers.runs

local M = {}

--- The hook command records (`{argv=, stdin=, code=}`), all or one command's.
-- @tparam table run
-- @tparam[opt] string name e.g. "relation-set"
-- @treturn {table,...}
function M.records(run, name)
  local out = {}
  for _, c in ipairs(run.commands) do
    if name == nil or c.argv[1] == name then out[#out + 1] = c end
  end
  return out
end

--- The same, each argv joined with spaces.
-- @tparam table run
-- @tparam[opt] string name
-- @treturn {string,...}
function M.lines(run, name)
  local out = {}
  for i, c in ipairs(M.records(run, name)) do out[i] = table.concat(c.argv, " ") end
  return out
end

--- The command names, in order.
-- @tparam table run
-- @treturn {string,...}
function M.names(run)
  local out = {}
  for i, c in ipairs(run.commands) do out[i] = c.argv[1] end
  return out
end

--- How many times a command ran.
-- @tparam table run
-- @tparam string name
-- @treturn int
function M.count(run, name)
  return #M.records(run, name)
end

return M
