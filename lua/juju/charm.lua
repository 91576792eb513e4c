--- A charm: handlers for Juju's events, run by `dispatch`.
--
-- `src/charm.lua` builds one and returns it; `dispatch` runs it for the
-- event Juju sent. Loading the file (in a test, say) runs nothing.
--
--     local charm = require "juju.charm"
--     local c = charm.new()
--
--     c:on("install", function(e)
--       e.status:set("maintenance", "installing")
--     end)
--     c:on("website-relation-joined", function(e)
--       e.relation.app_data.url = "http://example.com"
--     end)
--     c:on_action("greet", function(a)
--       a:set_results{ greeting = "hello " .. a.params.name }
--     end)
--     c:reconcile(function(e) ... end)      -- after every event's handlers
--     c:collect_status(function(s) s:add("active") end)
--     return c
--
-- For one event, in order: the events deferred earlier (oldest first),
-- then the event's own handlers (in the order they were registered), then
-- the reconcile functions, then the collect-status functions. When all of
-- them succeeded the buffered relation data, ports and stored state are
-- written, and last the collected status is set. A handler that raises
-- fails the hook (logged with its traceback; in an action, `action-fail`
-- first): nothing buffered is written, and Juju retries the hook. An event
-- the charm has no handler or reconcile function for exits at once,
-- without a hook command.
-- @module juju.charm

local juju = require "juju"
local check = require "juju.private.check"
local event = require "juju.event"
local log = require "juju.log"
local model_mod = require "juju.model"
local state = require "juju.state"
local status = require "juju.status"

local M = {}

local Charm = {}
local charm_mt = { __name = "juju.Charm", __index = Charm }

--- A new charm with no handlers.
-- @treturn Charm
-- @usage local c = charm.new()
function M.new()
  return setmetatable({ _on = {}, _actions = {}, _reconcile = {}, _collect = {} }, charm_mt)
end

--- Is v a charm made by @{new}?
-- @param v
-- @treturn boolean
function M.is_charm(v)
  return getmetatable(v) == charm_mt
end

local function self_check(c, fname) check.self(c, charm_mt, "c", fname) end

--- Run handler for an event. Several handlers for one event run in the
-- order they were added.
-- @tparam string name Juju's name for the event: "install",
-- "config-changed", "db-relation-changed", "data-storage-attached",
-- "secret-changed", "web-pebble-ready", ...
-- @tparam function handler called with the @{Event}
-- @raise when name is no event Juju sends, or handler is not a function
-- @usage c:on("config-changed", function(e) configure(e.model.config) end)
function Charm:on(name, handler)
  self_check(self, "on")
  event.check_name(name, "on")
  check.arg(2, "on", handler, "function")
  local list = self._on[name] or {}
  list[#list + 1] = handler
  self._on[name] = list
  return self
end

--- Run handler for an action.
-- @tparam string name the action's name in charmcraft.yaml
-- @tparam function handler called with the @{Event} (an action: `params`,
-- `set_results`, `log`, `fail`)
-- @usage c:on_action("greet", function(a) a:set_results{ greeting = "hi " .. a.params.name } end)
function Charm:on_action(name, handler)
  self_check(self, "on_action")
  check.arg(1, "on_action", name, "string")
  if not event.is_action_name(name) then
    check.raise(("bad argument #1 to 'on_action' ('%s' is not an action name Juju takes)"):format(name))
  end
  check.arg(2, "on_action", handler, "function")
  if self._actions[name] then
    check.raise(("on_action: action '%s' already has a handler"):format(name))
  end
  self._actions[name] = handler
  return self
end

--- Run fn after the handlers of every event (not actions): the place for
-- a holistic "make the unit match the config and relations" function.
-- @tparam function fn called with the @{Event}
-- @usage c:reconcile(function(e) render(e.model.config); e.model:set_ports{ e.model.config.port } end)
function Charm:reconcile(fn)
  self_check(self, "reconcile")
  check.arg(1, "reconcile", fn, "function")
  self._reconcile[#self._reconcile + 1] = fn
  return self
end

--- Run fn when the handlers are done, to add status candidates (see
-- `juju.status`).
-- @tparam function fn called with the status collector
-- @usage c:collect_status(function(s) s:add("active", "ready") end)
function Charm:collect_status(fn)
  self_check(self, "collect_status")
  check.arg(1, "collect_status", fn, "function")
  self._collect[#self._collect + 1] = fn
  return self
end

-- ------------------------------------------------------------ events

--- What a handler gets.
-- Every event has `name` ("db-relation-changed"), `kind`
-- ("relation-changed"), `model` (`juju.model`), `config` (the model's
-- config), `state` (stored state, `juju.state`), `status` (`juju.status`),
-- and `deferred` (true when it is a deferred event run again). By kind:
--
-- * relation events: `relation` (`juju.relation`), `app` (the remote
--   application), `unit` (the remote unit, when there is one),
--   `departing_unit` (relation-departed);
-- * storage events: `storage` (`{id, name, index, location, kind}`);
-- * secret events: `secret` (`juju.secret`), `revision` (secret-remove and
--   secret-expired);
-- * workload events: `container` (the container's `juju.pebble` client,
--   with its `name`), `notice` (pebble-custom-notice: `id`, `type`, `key`
--   from Juju; `last_data` (also `data`), `occurrences`, ... fetched
--   from Pebble when first read), `check` (pebble-check-failed and
--   -recovered: `name`; `info`, its state, fetched when first read);
-- * pre-series-upgrade: `target_base`;
-- * actions: `params`, `id`, and the methods `set_results`, `log`, `fail`.
-- @type Event
local Event = {}
local event_mt = { __name = "juju.Event" }

local EVENT_LAZY = {
  config = function(e) return e.model.config end,
  state = function(e) return e.model.state end,
  params = function(e)
    if e.kind ~= "action" then return nil end
    return juju.action_get() or {}
  end,
  -- workload events: the container (a juju.pebble client), made when first
  -- read, so an event that never touches it loads no Pebble code
  container = function(e)
    local name = rawget(e, "_container")
    if name then return e.model:container(name) end
  end,
  notice = function(e)
    local notice = rawget(e, "_notice")
    if notice then return require("juju.pebble").event_notice(e.container, notice) end
  end,
  check = function(e)
    local name = rawget(e, "_check")
    if name then return require("juju.pebble").event_check(e.container, name) end
  end,
}

event_mt.__index = check.lazy_index(Event, EVENT_LAZY)

function event_mt.__tostring(e)
  return ("juju.Event(%s)"):format(e.name)
end

local function event_check(e, fname) check.self(e, event_mt, "e", fname) end

--- Run this event again at the start of the next hook (before that
-- hook's own event). A deferred event is kept in stored state, once:
-- deferring an event that is already waiting does not add it twice.
-- @raise for actions, stop, remove, secret-rotate, secret-expired and
-- collect-metrics, which cannot wait
-- @usage if not db_ready then return e:defer() end
function Event:defer()
  event_check(self, "defer")
  if event.NOT_DEFERRABLE[self.kind] then
    check.raise(("%s cannot be deferred"):format(self.kind == "action" and ("action " .. self.name) or self.name))
  end
  rawset(self, "_defer", true)
end

local function action_check(a, fname)
  event_check(a, fname)
  if a.kind ~= "action" then
    check.raise(("%s: %s is not an action"):format(fname, a.name))
  end
end

--- Set the action's results (nested tables become dotted keys; keys must
-- be lowercase letters, digits and hyphens).
-- @tparam table results
-- @usage a:set_results{ greeting = "hi", stats = { served = 12 } }
function Event:set_results(results)
  action_check(self, "set_results")
  check.arg(1, "set_results", results, "table")
  juju.action_set(results)
end

--- Send a progress message to the person running the action.
-- @tparam string message
-- @usage a:log("backing up 3 databases")
function Event:log(message)
  action_check(self, "log")
  check.arg(1, "log", message, "string")
  juju.action_log(message)
end

--- Mark the action failed (the handler goes on; results set still show).
-- @tparam[opt] string message
-- @usage return a:fail("no backup location configured")
function Event:fail(message)
  action_check(self, "fail")
  check.arg(1, "fail", message, "?string")
  juju.action_fail(message or "action failed")
end

local function new_event(hook, spec, deferred)
  local e = setmetatable({
    name = spec.name, kind = spec.kind, model = hook.model, status = hook.status,
    deferred = deferred or false,
    app = spec.app, unit = spec.unit, departing_unit = spec.departing_unit,
    storage = spec.storage, _container = spec.container, _notice = spec.notice, _check = spec.check,
    revision = spec.revision, target_base = spec.target_base, id = spec.action_id,
  }, event_mt)
  if spec.relation_id then
    e.relation = hook.model:_relation(spec.endpoint, spec.relation_id,
      { app = spec.app, broken = spec.kind == "relation-broken" })
  end
  if spec.secret then
    e.secret = require("juju.secret").new(hook, spec.secret)
  end
  return e
end

-- ------------------------------------------------------------ dispatch

--- The variables that identify an event (so they are taken from a
-- deferred entry, never from the current hook's environment).
local IDENTITY = {
  JUJU_RELATION = true, JUJU_RELATION_ID = true, JUJU_REMOTE_APP = true, JUJU_REMOTE_UNIT = true,
  JUJU_DEPARTING_UNIT = true, JUJU_STORAGE_ID = true, JUJU_STORAGE_LOCATION = true,
  JUJU_STORAGE_KIND = true, JUJU_WORKLOAD_NAME = true, JUJU_NOTICE_ID = true,
  JUJU_NOTICE_TYPE = true, JUJU_NOTICE_KEY = true, JUJU_PEBBLE_CHECK_NAME = true,
  JUJU_SECRET_ID = true, JUJU_SECRET_LABEL = true, JUJU_SECRET_REVISION = true,
  JUJU_TARGET_BASE = true,
}

local function same_entry(a, b)
  if a.event ~= b.event then return false end
  for k, v in pairs(a.env) do if b.env[k] ~= v then return false end end
  for k, v in pairs(b.env) do if a.env[k] ~= v then return false end end
  return true
end

local function add_entry(list, entry)
  for _, other in ipairs(list) do
    if same_entry(other, entry) then return end
  end
  list[#list + 1] = entry
end

--- Run the handlers of one event; true when one of them deferred it.
local function run_handlers(c, e, handlers, with_reconcile)
  for _, h in ipairs(handlers or {}) do h(e) end
  if with_reconcile then
    for _, fn in ipairs(c._reconcile) do fn(e) end
  end
  return rawget(e, "_defer") == true
end

--- Is a deferred event still meaningful? A relation that is gone, or
-- leadership that moved, makes it moot.
local function still_relevant(hook, spec)
  if spec.relation_id and spec.kind ~= "relation-broken" and spec.kind ~= "relation-departed" then
    local found = false
    for _, r in ipairs(hook.model:relations(spec.endpoint)) do
      if r.id == spec.relation_id then found = true end
    end
    if not found then return false, "its relation is gone" end
  end
  if spec.kind == "leader-elected" and not hook.model:is_leader() then
    return false, "this unit is no longer the leader"
  end
  return true
end

local function replay(c, hook, getenv)
  local queue = hook.store.deferred()
  if #queue == 0 then return {}, 0 end
  local replayed = 0
  local keep = {}
  for _, entry in ipairs(queue) do
    local overlay = function(name)
      if IDENTITY[name] then return entry.env[name] end
      return getenv(name)
    end
    local ok, spec = pcall(event.from_env, "hooks/" .. tostring(entry.event), overlay)
    if not ok then
      log.debug("dropping deferred %s: %s", tostring(entry.event), spec)
    else
      local relevant, why = still_relevant(hook, spec)
      if not relevant then
        log.debug("dropping deferred %s: %s", spec.name, why)
      else
        local e = new_event(hook, spec, true)
        replayed = replayed + 1
        if run_handlers(c, e, c._on[spec.name], false) then add_entry(keep, entry) end
      end
    end
  end
  return keep, replayed
end

local function flush(hook)
  local ids = {}
  for id in pairs(hook.relations) do ids[#ids + 1] = id end
  table.sort(ids)
  for _, id in ipairs(ids) do hook.relations[id]:_flush() end
  hook.model:_flush_ports()
  hook.store.flush()
end

--- The hook's shared state: what the model, relations, secrets, status
-- and stored state of one dispatch share.
local function new_hook(spec, getenv)
  local hook = { getenv = getenv, spec = spec, relations = {} }
  if spec.kind == "relation-broken" then hook.broken_id = spec.relation_id end
  hook.store = state.new()
  hook.model = model_mod.new(hook)
  hook.status = status.new(hook)
  return hook
end

--- Run one event; what ran, for a trace: `replayed`, `handlers`,
-- `reconcile`, `collect` (counts).
local function run(c, spec, getenv)
  local hook = new_hook(spec, getenv)
  local handlers = spec.kind == "action" and { c._actions[spec.action] } or c._on[spec.name]
  -- collect-metrics runs in a restricted context: no replay (and it cannot defer)
  local queue, replayed = {}, 0
  if spec.kind ~= "collect-metrics" then queue, replayed = replay(c, hook, getenv) end

  local e = new_event(hook, spec, false)
  if run_handlers(c, e, handlers, spec.kind ~= "action") then
    add_entry(queue, { event = spec.name, env = event.identity(spec) })
  end
  if spec.kind ~= "collect-metrics" then
    local before = hook.store.deferred()
    local changed = #before ~= #queue
    for i = 1, #queue do
      if not changed and not same_entry(before[i], queue[i]) then changed = true end
    end
    if changed then hook.store.set_deferred(queue) end
  end

  for _, fn in ipairs(c._collect) do fn(hook.status) end
  flush(hook)
  hook.status:_commit()
  return { replayed = replayed, handlers = handlers and #handlers or 0,
           reconcile = spec.kind ~= "action" and #c._reconcile or 0, collect = #c._collect }
end

--- The trace's summary line (juju.trace() is on): the event, what ran,
-- the hook commands and the time; to stderr, and to juju-log at DEBUG
-- when the trace says so.
local function trace_summary(trace, spec, ran, failed)
  local parts = {}
  local function count(n, what)
    if n and n > 0 then parts[#parts + 1] = ("%d %s"):format(n, what .. (n == 1 and "" or "s")) end
  end
  if ran then
    count(ran.replayed, "deferred event")
    count(ran.handlers, "handler")
    count(ran.reconcile, "reconcile function")
    count(ran.collect, "collect-status function")
  end
  local now = juju.trace() or trace
  local line = ("%s %s: %s; %d hook command%s in %.2f ms; %.2f ms in all"):format(
    spec.kind == "action" and "action" or "hook", spec.name,
    #parts > 0 and table.concat(parts, ", ") or (failed and "failed" or "no handler"),
    now.commands, now.commands == 1 and "" or "s", now.command_seconds * 1000, now.seconds * 1000)
  io.stderr:write("dispatch[trace] ", line, "\n")
  if now.log then pcall(juju.juju_log, line, { level = "DEBUG" }) end
end

--- run, and the trace's summary when tracing.
local function run_traced(c, spec, getenv)
  local trace = juju.trace()
  if not trace then return run(c, spec, getenv) end
  -- closed after the caller's message handler has seen the error where it
  -- happened, so the error (a table stays a table) and its one traceback
  -- are the caller's, as without tracing
  local ran
  local _ <close> = setmetatable({}, { __close = function(_, err)
    trace_summary(trace, spec, ran, err ~= nil)
  end })
  ran = run(c, spec, getenv)
  return ran
end

--- Run the charm for the event Juju sent. This is what `dispatch` calls
-- when `src/charm.lua` returns a charm; tests and harnesses may call it
-- with their own environment (`juju.set_env`) and hook commands
-- (`juju.set_runner`).
-- @tparam Charm c
-- @tparam[opt] string dispatch_path `hooks/<event>` or `actions/<name>`
-- (default `JUJU_DISPATCH_PATH`)
-- @raise what a handler raised (the hook fails); for an action, after
-- `action-fail` with the message
function M.main(c, dispatch_path)
  if getmetatable(c) ~= charm_mt then
    error(("src/charm.lua must return a charm made by juju.charm.new() (or nothing), got %s")
      :format(type(c)), 0)
  end
  local getenv = juju.getenv
  dispatch_path = dispatch_path or getenv("JUJU_DISPATCH_PATH")
  if dispatch_path == nil or dispatch_path == "" then
    error("JUJU_DISPATCH_PATH is missing: dispatch runs charms inside a Juju hook", 0)
  end
  local spec = event.from_env(dispatch_path, getenv)

  if spec.kind == "action" then
    if not c._actions[spec.action] then
      local msg = ("this charm has no handler for action '%s'"):format(spec.action)
      juju.action_fail(msg)
      error(msg, 0)
    end
    -- Fail the action where the error happens (its message is what the
    -- person running it sees), keep the traceback for the unit's log.
    local ok, err = xpcall(run_traced, function(why)
      local text = tostring(why)
      pcall(juju.action_fail, (text:match("^[^\n]*")))
      return debug.traceback(text, 2)
    end, c, spec, getenv)
    if not ok then error(err, 0) end
    return
  end
  if not c._on[spec.name] and #c._reconcile == 0 then
    local trace = juju.trace()
    if trace then trace_summary(trace, spec, nil, false) end
    return
  end
  run_traced(c, spec, getenv)
end

--- The model, stored state and status of the unit this process runs
-- for, without an event: for `dispatch -i` (in `juju debug-hooks` or
-- `juju ssh`) and for scripts run with `juju exec`. Nothing is asked of
-- Juju until it is read; writes are buffered as in a hook, until
-- `ctx:flush()`.
-- @treturn table `model`, `state` (stored state), `status`, `config`
-- (read on first use), and `flush()` (relation data, ports and stored state
-- written, the collected status set)
-- @usage
-- local ctx = charm.context()
-- print(ctx.model:is_leader(), ctx.config.port)
-- ctx.model:relation("db").unit_data.ready = "true"
-- ctx.flush()
function M.context()
  local getenv = juju.getenv
  local hook = new_hook({ name = "context", kind = "context" }, getenv)
  local ctx = { model = hook.model, state = hook.store.proxy, status = hook.status }
  function ctx.flush()
    flush(hook)
    hook.status:_commit()
  end
  -- config: asked of Juju when first read (the model keeps it)
  return setmetatable(ctx, { __index = function(_, k)
    if k == "config" then return hook.model.config end
  end })
end

--- Method form of @{main}.
-- @tparam[opt] string dispatch_path
function Charm:dispatch(dispatch_path)
  self_check(self, "dispatch")
  return M.main(self, dispatch_path)
end

return M
