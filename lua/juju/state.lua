--- Stored state: values that survive from one hook to the next.
--
--     e.state.installed_version = "1.2.3"
--     e.state.peers = { "a/1", "a/2" }
--     local n = (e.state.restarts or 0) + 1
--     e.state.restarts = n
--
-- Kept in Juju itself (`state-get`/`state-set`), so it survives a
-- Kubernetes pod being replaced and a charm upgrade, unlike a file on the
-- unit. Values are anything JSON holds (strings, numbers, booleans,
-- tables), kept exactly (integers keep every digit). State is read at
-- most once per hook, when first used, and written at the end of a
-- successful hook, only the keys whose value changed (tables changed in
-- place included). A hook that fails writes nothing.
-- @module juju.state

local juju = require "juju"
local check = require "juju.private.check"

local M = {}

--- Juju key prefix of the charm's values, and the key of the deferred
-- events (framework-owned).
M.PREFIX = "charm."
M.DEFERRED_KEY = "juju.deferred"

--- Juju's limits on one key and one value.
M.MAX_KEY = 256
M.MAX_VALUE = 65536

local json = juju.json

local function encode(value, key)
  local ok, text = pcall(json.encode, value)
  if not ok then
    check.raise(("stored state '%s': %s"):format(key, text))
  end
  if #text > M.MAX_VALUE then
    check.raise(("stored state '%s' is %d bytes as JSON; Juju keeps at most %d"):format(key, #text, M.MAX_VALUE))
  end
  return text
end

--- The store of one hook: the raw texts as read, the decoded values in use.
-- @treturn table store with `proxy` (what charms see), `flush()`,
-- `deferred()` and `set_deferred(list)`
function M.new()
  local store = { raw = nil, values = {}, decoded = {} }

  local function raw()
    if store.raw == nil then store.raw = juju.state_get() or {} end
    return store.raw
  end

  local function value_of(key)
    if store.decoded[key] then return store.values[key] end
    local text = raw()[M.PREFIX .. key]
    local v = nil
    if text ~= nil then
      local ok, decoded = pcall(json.decode, text)
      if not ok then
        error(("stored state '%s' holds text that is not JSON (%s): was it written without "
          .. "juju.state?"):format(key, decoded), 0)
      end
      v = decoded
    end
    store.values[key] = v
    store.decoded[key] = true
    return v
  end

  store.proxy = setmetatable({}, {
    __name = "juju.State",
    __index = function(_, key)
      if type(key) ~= "string" then return nil end
      return value_of(key)
    end,
    __newindex = function(_, key, value)
      if type(key) ~= "string" or key == "" then
        check.raise(("stored state keys must be non-empty strings, got %s"):format(type(key)))
      end
      if #M.PREFIX + #key > M.MAX_KEY then
        check.raise(("stored state key '%s...' is longer than Juju allows"):format(key:sub(1, 40)))
      end
      if value ~= nil then encode(value, key) end
      raw()
      store.values[key] = value
      store.decoded[key] = true
    end,
    __pairs = function()
      local all = {}
      for k in pairs(raw()) do
        if k:sub(1, #M.PREFIX) == M.PREFIX then
          local key = k:sub(#M.PREFIX + 1)
          all[key] = value_of(key)
        end
      end
      for k, v in pairs(store.values) do all[k] = v end
      return next, all, nil
    end,
  })

  --- The deferred events, as stored (a list; decoded once).
  function store.deferred()
    if store.stored_deferred then return store.stored_deferred end
    local text = raw()[M.DEFERRED_KEY]
    local list = {}
    if text ~= nil then
      local ok, decoded = pcall(json.decode, text)
      if not ok or type(decoded) ~= "table" then
        error(("the deferred events in Juju's state (%s) are not a JSON list"):format(M.DEFERRED_KEY), 0)
      end
      list = decoded
    end
    store.stored_deferred = list
    return list
  end

  --- Replace the deferred events (written at flush).
  function store.set_deferred(list)
    raw()
    store.deferred_list = list
  end

  --- Write what changed: one state-set for every changed key, one
  -- state-delete per removed key. Nothing when nothing was touched.
  function store.flush()
    if store.raw == nil then return end
    local changed, any = {}, false
    local deletes = {}
    for key in pairs(store.decoded) do
      local full = M.PREFIX .. key
      local value = store.values[key]
      if value == nil then
        if store.raw[full] ~= nil then deletes[#deletes + 1] = full end
      else
        local text = encode(value, key)
        if text ~= store.raw[full] then
          changed[full] = text
          any = true
        end
      end
    end
    if store.deferred_list then
      local list = store.deferred_list
      local old = store.raw[M.DEFERRED_KEY]
      if #list == 0 then
        if old ~= nil then deletes[#deletes + 1] = M.DEFERRED_KEY end
      else
        local text = json.encode(json.array(list))
        if text ~= old then
          changed[M.DEFERRED_KEY] = text
          any = true
        end
      end
    end
    if any then juju.state_set(changed) end
    table.sort(deletes)
    for _, key in ipairs(deletes) do juju.state_delete(key) end
  end

  return store
end

return M
