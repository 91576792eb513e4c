--- Events for `juju.testing`: a constructor for every kind Juju sends,
-- and the environment Juju would give each.
--
-- A constructor returns a plain table that `Context:run` takes (and that a
-- test may build by hand): `name` and the fields of its kind. Relations,
-- secrets and storage are given as the tables of the state (or their ids);
-- what the event needs from them is read when it runs, so the state decides.
--
--     local on = require("juju.testing").on
--     ctx:run(on.install(), state)
--     ctx:run(on.relation_changed(db, { remote_unit = "postgresql/1" }), state)
--     ctx:run(on.secret_rotate(admin), state)
--     ctx:run(on.action("backup", { to = "/srv/backup" }), state)
--
-- The environment (@{environment}) is the one Juju 3.6 builds
-- (`HookVars`): the unit, model and charm variables of every hook, the
-- kind's own (`JUJU_RELATION_ID`, `JUJU_SECRET_ID`, ...), `JUJU_HOOK_NAME`
-- (empty for actions) and `JUJU_DISPATCH_PATH`.
-- @module juju.testing.events

local event_mod = require "juju.event"

local M = {}

local Event = { __name = "juju.testing.Event" }
Event.__index = Event

--- Is v an event made here (or a table shaped like one)?
local function is_event(v)
  return type(v) == "table" and type(v.name) == "string"
end
M.is_event = is_event

local function new(fields)
  return setmetatable(fields, Event)
end

--- The id of a relation, secret or storage given as its state table or
-- as the id itself.
local function id_of(v, what, fname)
  if type(v) == "table" then
    if v.id == nil then error(("bad argument #1 to '%s' (the %s has no id)"):format(fname, what), 3) end
    return v.id
  end
  if v == nil then error(("bad argument #1 to '%s' (a %s or its id expected)"):format(fname, what), 3) end
  return v
end

local function opts_of(opts, fname, n, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("bad argument #%d to '%s' (options: table expected, got %s)"):format(n, fname, type(opts)), 3)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      error(("bad argument #%d to '%s' (unknown option '%s')"):format(n, fname, tostring(k)), 3)
    end
  end
  return opts
end

local function lua_name(name) return (name:gsub("%-", "_")) end

-- ------------------------------------------------------------ constructors

--- Events with nothing of their own: `install`, `start`, `stop`, `remove`,
-- `config_changed`, `update_status`, `upgrade_charm`, `leader_elected`,
-- `leader_settings_changed`, `post_series_upgrade`, `collect_metrics`.
-- Each takes an optional `{env = {VAR = value|false}}` to add or remove
-- variables.
-- @usage ctx:run(on.config_changed(), state)
-- @function install
for _, name in ipairs { "install", "start", "stop", "remove", "config-changed", "update-status",
                        "upgrade-charm", "leader-elected", "leader-settings-changed",
                        "post-series-upgrade", "collect-metrics" } do
  M[lua_name(name)] = function(opts)
    opts = opts_of(opts, lua_name(name), 1, { env = true })
    return new { name = name, kind = name, env = opts.env }
  end
end

--- pre-series-upgrade, with the base the machine moves to.
-- @tparam[opt] table opts `base` (default "ubuntu@24.04"), `env`
-- @usage on.pre_series_upgrade{ base = "ubuntu@24.04" }
function M.pre_series_upgrade(opts)
  opts = opts_of(opts, "pre_series_upgrade", 1, { base = true, env = true })
  return new { name = "pre-series-upgrade", kind = "pre-series-upgrade", target_base = opts.base or "ubuntu@24.04",
               env = opts.env }
end

local RELATION_OPTS = { remote_unit = true, departing_unit = true, env = true }

local function relation_event(kind, wants_unit)
  local fname = "relation_" .. kind
  return function(rel, opts)
    opts = opts_of(opts, fname, 2, RELATION_OPTS)
    local id = id_of(rel, "relation", fname)
    local e = new {
      kind = "relation-" .. kind, relation = id,
      endpoint = type(rel) == "table" and rel.endpoint or nil,
      remote_unit = opts.remote_unit, departing_unit = opts.departing_unit, env = opts.env,
      wants_unit = wants_unit,
    }
    if type(rel) == "table" then
      e.remote_app, e.first_unit = rel.remote_app, rel.remote_units and rel.remote_units[1]
    end
    if e.endpoint then e.name = e.endpoint .. "-relation-" .. kind end
    return e
  end
end

--- `<endpoint>-relation-created`: the relation exists, no unit has joined.
-- @tparam table|int rel the relation (from the state) or its id
-- @tparam[opt] table opts `env`
-- @usage on.relation_created(db)
M.relation_created = relation_event("created", false)

--- `<endpoint>-relation-joined`: a remote unit joined.
-- @tparam table|int rel the relation or its id
-- @tparam[opt] table opts `remote_unit` (default: the relation's first
-- remote unit), `env`
-- @usage on.relation_joined(db, { remote_unit = "postgresql/1" })
M.relation_joined = relation_event("joined", true)

--- `<endpoint>-relation-changed`: a remote unit's data (or the remote
-- app's) changed.
-- @tparam table|int rel the relation or its id
-- @tparam[opt] table opts `remote_unit` (default: the first remote unit;
-- `false` for a change of the remote application's data, which Juju sends
-- with no remote unit), `env`
-- @usage on.relation_changed(db)
M.relation_changed = relation_event("changed", true)

--- `<endpoint>-relation-departed`: a remote unit left (or this one is
-- leaving: `departing_unit` is this unit).
-- @tparam table|int rel the relation or its id
-- @tparam[opt] table opts `remote_unit` (default: the first remote unit),
-- `departing_unit` (default: the remote unit), `env`
-- @usage on.relation_departed(db, { remote_unit = "postgresql/1" })
M.relation_departed = relation_event("departed", true)

--- `<endpoint>-relation-broken`: the relation is being removed.
-- @tparam table|int rel the relation or its id
-- @tparam[opt] table opts `env`
-- @usage on.relation_broken(db)
M.relation_broken = relation_event("broken", false)

local function secret_event(kind, with_revision)
  local fname = lua_name(kind)
  return function(secret, opts)
    opts = opts_of(opts, fname, 2, { revision = with_revision or nil, label = true, env = true })
    local e = new {
      name = kind, kind = kind, secret = id_of(secret, "secret", fname),
      label = opts.label or (type(secret) == "table" and secret.label or nil),
      revision = opts.revision, env = opts.env,
    }
    return e
  end
end

--- secret-changed: a secret this unit reads has a new revision.
-- @tparam table|string secret the secret (from the state) or its id
-- @tparam[opt] table opts `label`, `env`
-- @usage on.secret_changed(creds)
M.secret_changed = secret_event("secret-changed", false)

--- secret-rotate: a secret this unit's app owns is due for rotation.
-- @tparam table|string secret
-- @tparam[opt] table opts `label`, `env`
-- @usage on.secret_rotate(admin)
M.secret_rotate = secret_event("secret-rotate", false)

--- secret-expired: a revision of an owned secret expired.
-- @tparam table|string secret
-- @tparam[opt] table opts `revision` (default: the secret's latest), `label`, `env`
-- @usage on.secret_expired(admin, { revision = 2 })
M.secret_expired = secret_event("secret-expired", true)

--- secret-remove: no one tracks a revision of an owned secret any more.
-- @tparam table|string secret
-- @tparam table opts `revision` (the revision no one tracks: required), `label`, `env`
-- @usage on.secret_remove(admin, { revision = 1 })
M.secret_remove = secret_event("secret-remove", true)

local function storage_event(kind)
  local fname = "storage_" .. kind
  return function(storage, opts)
    opts = opts_of(opts, fname, 2, { env = true })
    local id = id_of(storage, "storage", fname)
    local name = type(id) == "string" and id:match("^(.+)/%d+$")
    if not name then error(("bad argument #1 to '%s' (a storage id is 'name/N', got %s)"):format(fname,
      tostring(id)), 2) end
    return new { name = name .. "-storage-" .. kind, kind = "storage-" .. kind, storage = id, env = opts.env }
  end
end

--- `<name>-storage-attached`.
-- @tparam table|string storage the storage (from the state) or its id ("data/0")
-- @tparam[opt] table opts `env`
-- @usage on.storage_attached("data/0")
M.storage_attached = storage_event("attached")

--- `<name>-storage-detaching`.
-- @tparam table|string storage
-- @tparam[opt] table opts `env`
-- @usage on.storage_detaching("data/0")
M.storage_detaching = storage_event("detaching")

local function container_name(c, fname)
  local name = type(c) == "table" and c.name or c
  if type(name) ~= "string" then
    error(("bad argument #1 to '%s' (a container or its name expected)"):format(fname), 3)
  end
  return name
end

--- `<container>-pebble-ready`.
-- @tparam table|string container the container (from the state) or its name
-- @tparam[opt] table opts `env`
-- @usage on.pebble_ready("web")
function M.pebble_ready(container, opts)
  opts = opts_of(opts, "pebble_ready", 2, { env = true })
  local name = container_name(container, "pebble_ready")
  return new { name = name .. "-pebble-ready", kind = "pebble-ready", container = name, env = opts.env }
end

--- `<container>-pebble-custom-notice`.
-- @tparam table|string container
-- @tparam table notice `key`, `id` (default: the id of the container's
-- notice with that key in the state, or a new notice's), `type` (default
-- "custom")
-- @tparam[opt] table opts `env`
-- @usage on.pebble_custom_notice("web", { key = "example.com/reload" })
function M.pebble_custom_notice(container, notice, opts)
  opts = opts_of(opts, "pebble_custom_notice", 3, { env = true })
  local name = container_name(container, "pebble_custom_notice")
  if type(notice) ~= "table" or type(notice.key) ~= "string" then
    error("bad argument #2 to 'pebble_custom_notice' (a notice with a key expected)", 2)
  end
  return new { name = name .. "-pebble-custom-notice", kind = "pebble-custom-notice", container = name,
               notice = { id = notice.id and tostring(notice.id), type = notice.type or "custom", key = notice.key },
               env = opts.env }
end

local function check_event(kind)
  local fname = lua_name(kind)
  return function(container, check_name, opts)
    opts = opts_of(opts, fname, 3, { env = true })
    local name = container_name(container, fname)
    if type(check_name) == "table" then check_name = check_name.name end
    if type(check_name) ~= "string" then
      error(("bad argument #2 to '%s' (a check name expected)"):format(fname), 2)
    end
    return new { name = name .. "-" .. kind, kind = kind, container = name, check = check_name, env = opts.env }
  end
end

--- `<container>-pebble-check-failed`.
-- @tparam table|string container
-- @tparam string check the check's name
-- @tparam[opt] table opts `env`
-- @usage on.pebble_check_failed("web", "http-alive")
M.pebble_check_failed = check_event("pebble-check-failed")

--- `<container>-pebble-check-recovered`.
-- @tparam table|string container
-- @tparam string check
-- @tparam[opt] table opts `env`
-- @usage on.pebble_check_recovered("web", "http-alive")
M.pebble_check_recovered = check_event("pebble-check-recovered")

--- An action.
-- @tparam string name the action
-- @tparam[opt] table params its parameters (the metadata's defaults are
-- added, and the whole checked against its schema, as Juju does)
-- @tparam[opt] table opts `id` (the action id, default "1"), `env`
-- @usage ctx:run(on.action("greet", { name = "Ada" }), state)
function M.action(name, params, opts)
  if type(name) ~= "string" or not event_mod.is_action_name(name) then
    error(("bad argument #1 to 'action' (an action name expected, got %s)"):format(tostring(name)), 2)
  end
  if params ~= nil and type(params) ~= "table" then
    error(("bad argument #2 to 'action' (table expected, got %s)"):format(type(params)), 2)
  end
  opts = opts_of(opts, "action", 3, { id = true, env = true })
  return new { name = name, kind = "action", action = name, params = params or {}, id = opts.id,
               env = opts.env }
end

--- Any event by its Juju name, with its fields as a table (what the
-- constructors make): for names a constructor cannot know in advance.
-- @tparam string name
-- @tparam[opt] table fields
-- @usage on.event("db-relation-changed", { relation = 3, remote_unit = "pg/0" })
function M.event(name, fields)
  local e = {}
  for k, v in pairs(fields or {}) do e[k] = v end
  e.name = name
  if not e.action then
    local spec = event_mod.parse(name)
    if not spec then error(("bad argument #1 to 'event' (no Juju event is named '%s')"):format(tostring(name)), 2) end
    e.kind = spec.kind
    e.endpoint = e.endpoint or spec.endpoint
    if spec.kind == "relation-joined" or spec.kind == "relation-changed" or spec.kind == "relation-departed" then
      e.wants_unit = e.wants_unit == nil and true or e.wants_unit
    end
  else
    e.kind = "action"
  end
  return new(e)
end

--- An event from what a test gave: an event table, or a name.
-- @param v
-- @treturn table
function M.from(v)
  if type(v) == "string" then return M.event(v) end
  if type(v) ~= "table" then
    error(("an event (from juju.testing.on) or an event name expected, got %s"):format(type(v)), 0)
  end
  if v.action and not v.kind then return M.action(v.action, v.params, { id = v.id, env = v.env }) end
  if getmetatable(v) == Event then return v end
  return M.event(v.name, v)
end

-- ------------------------------------------------------------ environment

--- The entry of a state's list (relations, storage, ...) with the given id.
-- @tparam ?table list
-- @param id
-- @treturn ?table the entry, or nil
function M.find(list, id)
  for _, x in ipairs(list or {}) do
    if x.id == id then return x end
  end
end
local find = M.find

--- The series Juju 3.6 names beside `JUJU_TARGET_BASE` (`GetSeriesFromBase`).
M.SERIES = {
  ["ubuntu@18.04"] = "bionic", ["ubuntu@20.04"] = "focal", ["ubuntu@22.04"] = "jammy",
  ["ubuntu@24.04"] = "noble", ["ubuntu@24.10"] = "oracular",
  ["centos@7"] = "centos7", ["centos@9"] = "centos9",
}

--- A subordinate's principal: the remote unit of its subordinate
-- relation, or "" (Juju exports it empty for a principal).
local function principal_of(state)
  for _, r in ipairs(state.relations or {}) do
    if r.kind == "subordinate" and r.remote_units and r.remote_units[1] then return r.remote_units[1] end
  end
  return ""
end

--- The environment Juju would give an event, and what the simulator
-- needs to know of it.
-- @tparam table e an event (@{from})
-- @tparam table state the state the event runs against (checked already)
-- @tparam table opts `unit`, `charm_dir`, `juju_version`, `machine_id`,
-- `availability_zone`, `principal_unit`
-- @treturn table name -> value
-- @treturn table the simulator's hook context (`juju.testing.sim.new`)
function M.environment(e, state, opts)
  local unit = opts.unit
  local model = state.model or {}
  local name = e.name
  local is_action = e.kind == "action"
  local hex = ("%032x"):format(0)
  local env = {
    JUJU_CHARM_DIR = opts.charm_dir, CHARM_DIR = opts.charm_dir,
    JUJU_CONTEXT_ID = ("%s-%s-%s"):format(unit, name, hex),
    JUJU_HOOK_NAME = is_action and "" or name,
    JUJU_UNIT_NAME = unit,
    JUJU_MODEL_UUID = model.uuid, JUJU_MODEL_NAME = model.name,
    JUJU_API_ADDRESSES = "192.0.2.1:17070",
    JUJU_VERSION = opts.juju_version,
    JUJU_PRINCIPAL_UNIT = opts.principal_unit or principal_of(state),
    JUJU_CHARM_HTTP_PROXY = "", JUJU_CHARM_HTTPS_PROXY = "", JUJU_CHARM_FTP_PROXY = "", JUJU_CHARM_NO_PROXY = "",
    LANG = "C.UTF-8", DEBIAN_FRONTEND = "noninteractive", APT_LISTCHANGES_FRONTEND = "none",
    TERM = "tmux-256color",
    JUJU_DISPATCH_PATH = (is_action and "actions/" or "hooks/") .. name,
  }
  -- HookVars exports these on every hook, empty when there is nothing
  env.JUJU_SLA, env.CLOUD_API_VERSION = "", ""
  if model.type == "kubernetes" then
    env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT = "10.152.183.1", "443"
    env.JUJU_MACHINE_ID, env.JUJU_AVAILABILITY_ZONE = "", ""
  else
    env.JUJU_MACHINE_ID = opts.machine_id or "0"
    env.JUJU_AVAILABILITY_ZONE = opts.availability_zone or ""
  end
  local ctx = { unit = unit, model_uuid = model.uuid, juju_version = opts.juju_version }
  if is_action then
    local id = e.id or "1"
    env.JUJU_ACTION_NAME, env.JUJU_ACTION_UUID, env.JUJU_ACTION_TAG = e.action, id, "action-" .. id
    ctx.action = { name = e.action, params = e.params or {} }
  elseif e.relation ~= nil then
    local r = find(state.relations, e.relation)
    env.JUJU_RELATION = r.endpoint
    env.JUJU_RELATION_ID = event_mod.format_relation_id(r.endpoint, r.id)
    env.JUJU_REMOTE_APP = r.remote_app
    env.JUJU_REMOTE_UNIT = e.remote_unit or ""   -- exported empty when there is none
    env.JUJU_DEPARTING_UNIT = e.departing_unit
    ctx.relation_id, ctx.remote_unit, ctx.remote_app = r.id, e.remote_unit or nil, r.remote_app
    ctx.broken = e.kind == "relation-broken" or nil
  elseif e.storage then
    local st = find(state.storage, e.storage)
    env.JUJU_STORAGE_ID, env.JUJU_STORAGE_LOCATION, env.JUJU_STORAGE_KIND = st.id, st.location, st.kind
    ctx.storage_id = st.id
  elseif e.container then
    env.JUJU_WORKLOAD_NAME = e.container
    if e.notice then
      env.JUJU_NOTICE_ID, env.JUJU_NOTICE_TYPE, env.JUJU_NOTICE_KEY = e.notice.id, e.notice.type, e.notice.key
    end
    env.JUJU_PEBBLE_CHECK_NAME = e.check
  elseif e.secret then
    env.JUJU_SECRET_ID = e.secret
    env.JUJU_SECRET_LABEL = e.label or ""
    if (e.kind == "secret-remove" or e.kind == "secret-expired") and e.revision then
      env.JUJU_SECRET_REVISION = ("%d"):format(e.revision)
    end
  elseif e.target_base then
    env.JUJU_TARGET_BASE = e.target_base
    env.JUJU_TARGET_SERIES = M.SERIES[e.target_base]
  end
  for k, v in pairs(e.env or {}) do env[k] = v or nil end
  return env, ctx
end

return M
