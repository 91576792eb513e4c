--- Unit and application status.
--
-- Set it directly (`e.status:set("maintenance", "installing nginx")` runs
-- `status-set` at once, so a person watching `juju status` sees the
-- progress), or let the charm collect it: every handler, and the
-- functions given to `c:collect_status`, may add candidates, and when the
-- hook's handlers are done the most urgent one is set, in ops's order:
-- blocked > maintenance > waiting > active (the first added wins a tie).
-- Application status is set the same way from `add_app`, by the leader
-- only; a non-leader's app candidates are dropped without asking Juju.
--
--     c:collect_status(function(s)
--       if not s.model.config.page then s:add("blocked", "set 'page'") end
--       s:add("active", "serving on " .. s.model.config.port)
--     end)
--
-- @module juju.status

local juju = require "juju"
local check = require "juju.private.check"

local M = {}

--- Juju's statuses a charm can set, by priority (higher wins).
M.PRIORITY = { blocked = 4, maintenance = 3, waiting = 2, active = 1 }

local Status = {}
local status_mt = { __name = "juju.Status", __index = Status }

--- A collector for one hook.
-- @tparam table hook the hook's shared state (its `model`)
-- @treturn Status
function M.new(hook)
  return setmetatable({ model = hook.model, _unit = {}, _app = {} }, status_mt)
end

local function candidate(name, message, fname)
  if type(name) ~= "string" or not M.PRIORITY[name] then
    local hint = ""
    if name == "error" or name == "unknown" then hint = ": Juju sets that one itself" end
    check.raise(("bad argument #1 to '%s' (maintenance, blocked, waiting or active expected, got %s%s)")
      :format(fname, type(name) == "string" and ("'" .. name .. "'") or type(name), hint))
  end
  if message ~= nil and type(message) ~= "string" then
    check.raise(("bad argument #2 to '%s' (string expected, got %s)"):format(fname, type(message)))
  end
  return { name = name, message = message or "" }
end

local function self_check(s, fname) check.self(s, status_mt, "status", fname) end

--- Add a candidate for the unit's status.
-- @tparam string name maintenance, blocked, waiting or active
-- @tparam[opt] string message
-- @usage s:add("blocked", "needs a database relation")
function Status:add(name, message)
  self_check(self, "add")
  self._unit[#self._unit + 1] = candidate(name, message, "add")
end

--- Add a candidate for the application's status (used when the unit is
-- the leader).
-- @tparam string name
-- @tparam[opt] string message
-- @usage s:add_app("active", "3 units serving")
function Status:add_app(name, message)
  self_check(self, "add_app")
  self._app[#self._app + 1] = candidate(name, message, "add_app")
end

--- Set the unit's status now (`status-set`).
-- @tparam string name
-- @tparam[opt] string message
-- @usage e.status:set("maintenance", "installing nginx")
function Status:set(name, message)
  self_check(self, "set")
  local c = candidate(name, message, "set")
  juju.status_set(c.name, c.message)
end

--- Set the application's status now (leader only).
-- @tparam string name
-- @tparam[opt] string message
function Status:set_app(name, message)
  self_check(self, "set_app")
  local c = candidate(name, message, "set_app")
  if not self.model:is_leader() then
    check.raise("set_app: only the leader can set the application's status (this unit is not)")
  end
  juju.status_set(c.name, c.message, { app = true })
end

--- The most urgent of a list of candidates (the first wins a tie).
-- @tparam {table,...} list `{name=, message=}` items
-- @treturn ?table
function M.pick(list)
  local best
  for _, c in ipairs(list) do
    if best == nil or M.PRIORITY[c.name] > M.PRIORITY[best.name] then best = c end
  end
  return best
end

--- Set what was collected: the unit's most urgent candidate, and the
-- application's when this unit leads. Called by the framework.
-- @local
function Status:_commit()
  local unit = M.pick(self._unit)
  if unit then juju.status_set(unit.name, unit.message) end
  local app = M.pick(self._app)
  if app and self.model:is_leader() then
    juju.status_set(app.name, app.message, { app = true })
  end
end

M.Status = Status
return M
