--- Relations and their data bags.
--
-- A relation has an integer `id`, its `endpoint` (this charm's side), the
-- remote application `app`, and the remote `units`. Each side of it has
-- data bags: one per unit and one per application.
--
--     local r = e.relation                    -- in a relation event
--     local host = r.remote_app_data.host     -- read: one relation-get, then cached
--     r.unit_data.address = "10.0.0.7"        -- write: buffered
--     r.app_data.url = "http://..."           -- the leader only
--
-- Reads are lazy and cached for the hook. Writes are buffered, read back
-- at once (read-your-writes), and sent when every handler has succeeded:
-- one `relation-set` per changed bag. An empty string or nil deletes a
-- key. Writing the application's bag as a non-leader, writing a remote
-- bag, or writing to a relation that is being broken is an error at the
-- line that does it.
-- @module juju.relation

local juju = require "juju"
local check = require "juju.private.check"
local event = require "juju.event"

local M = {}

local Relation = {}
local relation_mt = { __name = "juju.Relation", __index = Relation }

function relation_mt.__tostring(r)
  return event.format_relation_id(r.endpoint, r.id)
end

-- ------------------------------------------------------------ bags

--- The text a value is stored as: strings as they are, numbers exactly
-- (as juju.json writes them); "" and nil delete.
local function stored(value, label, key)
  local t = type(value)
  if value == nil or value == "" then return false end
  if t == "string" then return value end
  if t == "number" then return juju.json.encode(value) end
  check.raise(("%s: value of '%s' must be a string or number, got %s"):format(label, tostring(key), t))
end

--- A data bag: a proxy reading `data` (loaded lazily by load()) overlaid
-- with buffered `writes` (key -> text, or false for deleted).
local function new_bag(spec)
  local state = {
    loaded = nil,           -- key -> text, once read
    writes = {},            -- key -> text | false
    dirty = false,
  }
  local function data()
    if state.loaded == nil then state.loaded = spec.load() end
    return state.loaded
  end
  local function get(key)
    local w = state.writes[key]
    if w ~= nil then return w or nil end
    return data()[key]
  end
  local proxy = setmetatable({}, {
    __name = spec.writable and "juju.RelationData" or "juju.RemoteRelationData",
    __index = function(_, key) return get(key) end,
    __newindex = function(_, key, value)
      if not spec.writable then
        check.raise(("%s is read-only (writing '%s')"):format(spec.label, tostring(key)))
      end
      if type(key) ~= "string" or key == "" then
        check.raise(("%s: keys must be non-empty strings, got %s"):format(spec.label, type(key)))
      end
      spec.may_write()
      state.writes[key] = stored(value, spec.label, key)
      state.dirty = true
    end,
    __pairs = function()
      local all = {}
      for k, v in pairs(data()) do all[k] = v end
      for k, v in pairs(state.writes) do all[k] = v or nil end
      return next, all, nil
    end,
    __tostring = function() return spec.label end,
  })
  return proxy, state
end

-- ------------------------------------------------------------ relation

--- A relation of this unit (made by the model; charms get them from
-- events and `model:relations`).
-- @tparam table hook the hook's shared state (model internals)
-- @tparam string endpoint
-- @tparam int id
-- @tparam[opt] table known fields known from the event: `app`, `broken`
-- @treturn Relation
function M.new(hook, endpoint, id, known)
  known = known or {}
  local r = setmetatable({
    id = id, endpoint = endpoint, broken = known.broken or false,
    _hook = hook, _app = known.app, _units = nil, _bags = {}, _states = {},
  }, relation_mt)
  return r
end

local function ref(r)
  return event.format_relation_id(r.endpoint, r.id)
end

--- The remote application's name.
-- (From the event, or `relation-list --app`.)
-- @treturn ?string nil when the remote side has no application yet
function Relation:remote_app()
  if self._app == nil then
    self._app = juju.relation_list(self.id, { app = true }) or false
    if self._app == "" then self._app = false end
  end
  return self._app or nil
end

--- The remote units now in the relation (relation-list, once per hook).
-- @treturn {string,...}
function Relation:remote_units()
  if self._units == nil then self._units = juju.relation_list(self.id) end
  return self._units
end

--- Which bag: local unit, local app, remote app, or a remote unit.
local function bag(r, key, spec)
  local b = r._bags[key]
  if b then return b end
  local hook = r._hook
  spec.label = spec.label .. " in relation " .. ref(r)
  spec.may_write = function()
    if r.broken then
      check.raise(("relation %s is broken: its data can no longer be written"):format(ref(r)))
    end
    if spec.app and not hook.model:is_leader() then
      check.raise(("%s can only be written by the leader (this unit is not)"):format(spec.label))
    end
  end
  local state
  b, state = new_bag(spec)
  r._bags[key] = b
  if spec.writable then
    r._states[key] = { state = state, app = spec.app }
  end
  return b
end

local function getter(r, target, app)
  return function()
    if target == nil then return {} end
    return juju.relation_get(r.id, { unit = target, app = app }) or {}
  end
end

-- The bags read as fields: r.unit_data, r.app_data, r.remote_app_data.
local FIELDS = {
  unit_data = function(r)
    local me = r._hook.model.unit
    return bag(r, "unit", { label = "unit data of " .. me, writable = true, load = getter(r, me, false) })
  end,
  app_data = function(r)
    local app = r._hook.model.app
    return bag(r, "app", { label = "app data of " .. app, writable = true, app = true,
                           load = getter(r, app, true) })
  end,
  remote_app_data = function(r)
    local app = r:remote_app()
    return bag(r, "remote-app", { label = "remote app data", load = getter(r, app, true) })
  end,
}

function relation_mt.__index(r, key)
  local method = Relation[key]
  if method ~= nil then return method end
  local field = FIELDS[key]
  if field then return field(r) end
  if key == "app" then return r:remote_app() end
  if key == "units" then return r:remote_units() end
  return nil
end

--- A remote unit's bag (read-only).
-- @tparam string unit e.g. "postgresql/0"
-- @treturn table
-- @usage local addr = e.relation:remote_unit_data(e.unit).address
function Relation:remote_unit_data(unit)
  check.arg(1, "remote_unit_data", unit, "string")
  return bag(self, "unit:" .. unit, { label = "remote unit data of " .. unit, load = getter(self, unit, false) })
end

--- The relation's "endpoint:id" text, as Juju writes it.
-- @treturn string
function Relation:juju_id()
  return ref(self)
end

--- Send the buffered writes: one relation-set per bag with changes, only
-- the keys whose text changed (when the bag was read), "" for deletions.
-- Called by the framework after every handler succeeded.
-- @local
function Relation:_flush()
  for _, kind in ipairs { "unit", "app" } do
    local entry = self._states[kind]
    if entry and entry.state.dirty then
      local loaded = entry.state.loaded
      local out, any = {}, false
      for key, value in pairs(entry.state.writes) do
        local text = value or ""
        if loaded == nil or (loaded[key] or "") ~= text then
          out[key] = text
          any = true
        end
      end
      if any then
        juju.relation_set(out, self.id, { app = entry.app })
      end
    end
  end
end

M.Relation = Relation
return M
