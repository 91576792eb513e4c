--- Juju's events: their names, and what the environment of each holds.
--
-- Juju runs `dispatch` with `JUJU_DISPATCH_PATH` = `hooks/<event>` or
-- `actions/<action>`, and sets the variables each kind of event needs.
-- @{from_env} reads and checks them (through `juju.getenv`, the seam a
-- test harness replaces), so a missing or malformed variable is an error
-- that names it, before any handler runs.
-- @module juju.event

local check = require "juju.private.check"

local M = {}

--- Events with a fixed name, and the kind each is.
local FIXED = {
  install = true, start = true, stop = true, remove = true, ["config-changed"] = true,
  ["update-status"] = true, ["upgrade-charm"] = true, ["leader-elected"] = true,
  ["leader-settings-changed"] = true, ["collect-metrics"] = true,
  ["pre-series-upgrade"] = true, ["post-series-upgrade"] = true,
  ["secret-changed"] = true, ["secret-expired"] = true, ["secret-remove"] = true,
  ["secret-rotate"] = true,
}

--- Families of events named after an endpoint, a storage or a container:
-- suffix -> kind. The longest suffixes come first so "-pebble-check-failed"
-- is not read as "-failed".
local FAMILIES = {
  { "-relation-created", "relation-created", "relation" },
  { "-relation-joined", "relation-joined", "relation" },
  { "-relation-changed", "relation-changed", "relation" },
  { "-relation-departed", "relation-departed", "relation" },
  { "-relation-broken", "relation-broken", "relation" },
  { "-storage-attached", "storage-attached", "storage" },
  { "-storage-detaching", "storage-detaching", "storage" },
  { "-pebble-ready", "pebble-ready", "container" },
  { "-pebble-custom-notice", "pebble-custom-notice", "container" },
  { "-pebble-check-failed", "pebble-check-failed", "container" },
  { "-pebble-check-recovered", "pebble-check-recovered", "container" },
}

--- Events that cannot be deferred (as in ops): the unit is going away, or
-- the moment has passed.
M.NOT_DEFERRABLE = {
  stop = true, remove = true, ["secret-rotate"] = true, ["secret-expired"] = true,
  ["collect-metrics"] = true, action = true,
}

local NAME = "^[a-z][a-z0-9]*[a-z0-9%-]*$"

--- What an event name means.
-- @tparam string name a hook name ("install", "db-relation-changed",
-- "data-storage-attached", "web-pebble-ready", ...)
-- @treturn[1] table `{name=, kind=, endpoint=|storage=|container=}`
-- @treturn[2] nil when it is no event Juju sends
-- @usage event.parse("db-relation-changed")
-- --> {name = "db-relation-changed", kind = "relation-changed", endpoint = "db"}
function M.parse(name)
  if type(name) ~= "string" then return nil end
  if FIXED[name] then return { name = name, kind = name } end
  for _, f in ipairs(FAMILIES) do
    local suffix, kind, field = f[1], f[2], f[3]
    if #name > #suffix and name:sub(-#suffix) == suffix then
      local prefix = name:sub(1, -#suffix - 1)
      if prefix:match(NAME) then
        local spec = { name = name, kind = kind }
        spec[field == "relation" and "endpoint" or field] = prefix
        return spec
      end
    end
  end
  return nil
end

--- Is name an action name Juju would take ("backup", "do-it", "2fa-reset")?
-- Juju's rule (juju/charm's action name rule):
-- `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`.
-- @param name
-- @treturn boolean
function M.is_action_name(name)
  return type(name) == "string" and name:match("^[a-z0-9]$") ~= nil
    or (type(name) == "string" and name:match("^[a-z0-9][a-z0-9%-]*[a-z0-9]$") ~= nil)
end

--- Split a relation id as Juju writes it ("db:3") into endpoint and number.
-- @tparam string text
-- @treturn[1] string endpoint
-- @treturn[1] int id
-- @treturn[2] nil when it is not of that form
-- @usage local endpoint, id = event.parse_relation_id(os.getenv("JUJU_RELATION_ID"))
function M.parse_relation_id(text)
  if type(text) ~= "string" then return nil end
  local endpoint, num = text:match("^(.*):(%d+)$")
  if not endpoint or endpoint == "" or #num > 18 then return nil end
  return endpoint, math.tointeger(tonumber(num))
end

--- The "endpoint:id" text of a relation.
-- @tparam string endpoint
-- @tparam int id
-- @treturn string
function M.format_relation_id(endpoint, id)
  return endpoint .. ":" .. string.format("%d", id)
end

-- ------------------------------------------------------------ environment

--- An error naming a variable: "JUJU_RELATION_ID is missing for
-- db-relation-changed" or "... is malformed (...)".
local function env_error(var, event, what)
  error(("%s %s for %s"):format(var, what, event), 0)
end

--- Read the variables an event needs from getenv, checked.
-- @tparam string dispatch_path `hooks/<event>` or `actions/<action>` (or a
-- bare event name)
-- @tparam function getenv name -> value or nil (`juju.getenv`)
-- @treturn table the event's fields: `name`, `kind` ("action" for
-- actions), and by kind `endpoint`, `relation_id`, `app`, `unit`,
-- `departing_unit`; `storage` {id, name, index, location, kind};
-- `container`, `notice` {id, type, key}, `check`; `secret` {id, label},
-- `revision`; `action`, `action_id`; `target_base`
-- @raise a string naming the variable that is missing or malformed, or
-- the event Juju would not send
function M.from_env(dispatch_path, getenv)
  local function get(var)
    local v = getenv(var)
    if v == "" then return nil end
    return v
  end
  local dir, base = dispatch_path:match("^(.-)/?([^/]+)$")
  if not base then
    error(("JUJU_DISPATCH_PATH is malformed: '%s'"):format(dispatch_path), 0)
  end
  local prefix = dir:match("([^/]*)$")

  local spec
  if prefix == "actions" then
    if not M.is_action_name(base) then
      error(("JUJU_DISPATCH_PATH names no valid action: '%s'"):format(dispatch_path), 0)
    end
    spec = { name = base, kind = "action", action = base }
    local name = get("JUJU_ACTION_NAME")
    if name and name ~= base then
      env_error("JUJU_ACTION_NAME", "action " .. base, ("is malformed ('%s', not '%s')"):format(name, base))
    end
    spec.action_id = get("JUJU_ACTION_UUID")
    if not spec.action_id then env_error("JUJU_ACTION_UUID", "action " .. base, "is missing") end
  else
    spec = M.parse(base)
    if not spec then
      error(("JUJU_DISPATCH_PATH names no event Juju sends: '%s'"):format(dispatch_path), 0)
    end
  end

  local event, kind = spec.name, spec.kind
  local function need(var)
    local v = get(var)
    if v == nil then env_error(var, event, "is missing") end
    return v
  end

  local unit = need("JUJU_UNIT_NAME")
  if not unit:match("^[a-z][a-z0-9%-]*/%d+$") then
    env_error("JUJU_UNIT_NAME", event, ("is malformed ('%s')"):format(unit))
  end

  if spec.endpoint then
    local rel = need("JUJU_RELATION")
    if rel ~= spec.endpoint then
      env_error("JUJU_RELATION", event, ("is malformed ('%s', not '%s')"):format(rel, spec.endpoint))
    end
    local text = need("JUJU_RELATION_ID")
    local endpoint, id = M.parse_relation_id(text)
    if not endpoint or endpoint ~= spec.endpoint then
      env_error("JUJU_RELATION_ID", event, ("is malformed ('%s', want '%s:<number>')"):format(text, spec.endpoint))
    end
    spec.relation_id = id
    spec.app = need("JUJU_REMOTE_APP")
    spec.unit = get("JUJU_REMOTE_UNIT")
    if (kind == "relation-joined" or kind == "relation-departed") and not spec.unit then
      env_error("JUJU_REMOTE_UNIT", event, "is missing")
    end
    if spec.unit and not spec.unit:match("^[a-z][a-z0-9%-]*/%d+$") then
      env_error("JUJU_REMOTE_UNIT", event, ("is malformed ('%s')"):format(spec.unit))
    end
    if kind == "relation-departed" then spec.departing_unit = need("JUJU_DEPARTING_UNIT") end
  elseif spec.storage then
    local id = need("JUJU_STORAGE_ID")
    local name, index = id:match("^(.+)/(%d+)$")
    if name ~= spec.storage then
      env_error("JUJU_STORAGE_ID", event, ("is malformed ('%s', want '%s/<number>')"):format(id, spec.storage))
    end
    spec.storage = {
      id = id, name = name, index = math.tointeger(tonumber(index)),
      location = get("JUJU_STORAGE_LOCATION"), kind = get("JUJU_STORAGE_KIND"),
    }
  elseif spec.container then
    local workload = need("JUJU_WORKLOAD_NAME")
    if workload ~= spec.container then
      env_error("JUJU_WORKLOAD_NAME", event, ("is malformed ('%s', not '%s')"):format(workload, spec.container))
    end
    if kind == "pebble-custom-notice" then
      spec.notice = { id = need("JUJU_NOTICE_ID"), type = need("JUJU_NOTICE_TYPE"), key = need("JUJU_NOTICE_KEY") }
    elseif kind == "pebble-check-failed" or kind == "pebble-check-recovered" then
      spec.check = need("JUJU_PEBBLE_CHECK_NAME")
    end
  elseif kind:match("^secret%-") then
    spec.secret = { id = need("JUJU_SECRET_ID"), label = get("JUJU_SECRET_LABEL") }
    if kind == "secret-remove" or kind == "secret-expired" then
      local rev = need("JUJU_SECRET_REVISION")
      spec.revision = math.tointeger(tonumber(rev))
      if not spec.revision or spec.revision < 1 then
        env_error("JUJU_SECRET_REVISION", event, ("is malformed ('%s')"):format(rev))
      end
    end
  elseif kind == "pre-series-upgrade" then
    spec.target_base = get("JUJU_TARGET_BASE")
  end
  return spec
end

--- The variables that identify one event, to keep a deferred event and
-- rebuild it later: only what @{from_env} reads for its kind.
-- @tparam table spec from @{from_env}
-- @treturn table name -> value
function M.identity(spec)
  local vars = {}
  if spec.relation_id then
    vars.JUJU_RELATION = spec.endpoint
    vars.JUJU_RELATION_ID = M.format_relation_id(spec.endpoint, spec.relation_id)
    vars.JUJU_REMOTE_APP = spec.app
    vars.JUJU_REMOTE_UNIT = spec.unit
    vars.JUJU_DEPARTING_UNIT = spec.departing_unit
  end
  if type(spec.storage) == "table" then
    vars.JUJU_STORAGE_ID = spec.storage.id
    vars.JUJU_STORAGE_LOCATION = spec.storage.location
    vars.JUJU_STORAGE_KIND = spec.storage.kind
  end
  if spec.container then
    vars.JUJU_WORKLOAD_NAME = spec.container
    if spec.notice then
      vars.JUJU_NOTICE_ID, vars.JUJU_NOTICE_TYPE, vars.JUJU_NOTICE_KEY =
        spec.notice.id, spec.notice.type, spec.notice.key
    end
    vars.JUJU_PEBBLE_CHECK_NAME = spec.check
  end
  if spec.secret then
    vars.JUJU_SECRET_ID = spec.secret.id
    vars.JUJU_SECRET_LABEL = spec.secret.label
    vars.JUJU_SECRET_REVISION = spec.revision and string.format("%d", spec.revision) or nil
  end
  vars.JUJU_TARGET_BASE = spec.target_base
  return vars
end

--- Check that an event name given to `on` is one Juju sends.
-- @tparam string name
-- @tparam string fname the function being called, for the message
function M.check_name(name, fname)
  check.arg(1, fname, name, "string")
  if M.parse(name) then return end
  local hint = ""
  if name:match("_") then
    hint = (" (Juju's names use '-': '%s')"):format((name:gsub("_", "-")))
  elseif name:match("^actions?/") or name:match("%-action$") then
    hint = " (register actions with on_action)"
  end
  check.raise(("bad argument #1 to '%s' (no Juju event is named '%s'%s)"):format(fname, name, hint))
end

return M
