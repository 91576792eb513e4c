--- Is a state, with an event, one Juju could be in? Checked before a
-- charm runs, so a test that describes something impossible (a relation on
-- an endpoint the charm does not have, a secret event for a secret the
-- state lacks, a config option of the wrong type) fails with a message
-- saying what, not with a charm behaving oddly.
--
-- @{prepare} checks, then returns the state and event completed as Juju
-- would have them: config with the metadata's defaults, peer relations
-- with this application as the remote one, the event's remote unit,
-- secret label and revision filled in.
-- @module juju.testing.consistency

local event_mod = require "juju.event"
local events = require "juju.testing.events"
local pebble_fake = require "juju.testing.pebble"
local json = require("juju").json
local values = require "juju.private.values"

local M = {}

--- The keys a state may have.
M.STATE_KEYS = {
  config = true, leader = true, relations = true, secrets = true, stored = true, deferred = true,
  juju_state = true, opened_ports = true, storage = true, storage_added = true, resources = true,
  networks = true, model = true, planned_units = true, unit_status = true, app_status = true,
  workload_version = true, processes = true, files = true, dirs = true, trusted = true, containers = true,
  reboot = true,
}

--- The keys whose values are tables (lists or maps).
local TABLE_KEYS = { "config", "relations", "secrets", "stored", "deferred", "juju_state", "opened_ports", "storage",
                     "storage_added", "resources", "networks", "model", "processes", "files", "dirs", "containers" }

local STATUS_NAMES = { maintenance = true, blocked = true, waiting = true, active = true, unknown = true,
                       error = true }

local UNIT = "^[a-z][a-z0-9%-]*/%d+$"
local APP = "^[a-z][a-z0-9%-]*$"

local near, is_list, copy = values.nearest, values.is_list, values.copy

--- Check a data bag: string keys to string values.
local function check_bag(problems, where, bag)
  if bag == nil then return end
  if type(bag) ~= "table" then
    problems[#problems + 1] = ("%s is a %s (a table of strings expected)"):format(where, type(bag))
    return
  end
  for k, v in pairs(bag) do
    if type(k) ~= "string" or type(v) ~= "string" then
      problems[#problems + 1] = ("%s[%s] is a %s: relation data holds strings"):format(where,
        type(k) == "string" and ("%q"):format(k) or tostring(k), type(v))
    end
  end
end

-- ------------------------------------------------------------ state

local function check_relations(problems, state, meta, app, unit)
  local seen = {}
  local per_endpoint = {}
  for i, r in ipairs(state.relations or {}) do
    local where = ("relations[%d]"):format(i)
    if type(r) ~= "table" then
      problems[#problems + 1] = where .. " is not a table"
      goto continue
    end
    if math.type(r.id) ~= "integer" or r.id < 0 then
      problems[#problems + 1] = ("%s: id %s is not a relation id (an integer >= 0)"):format(where, tostring(r.id))
    elseif seen[r.id] then
      problems[#problems + 1] = ("%s: id %d is used twice"):format(where, r.id)
    end
    seen[r.id or where] = true
    where = ("relation %s (%s)"):format(tostring(r.id), tostring(r.endpoint))
    if type(r.endpoint) ~= "string" then
      problems[#problems + 1] = where .. ": no endpoint"
      goto continue
    end
    per_endpoint[r.endpoint] = (per_endpoint[r.endpoint] or 0) + 1
    local ep = meta and meta.endpoints[r.endpoint]
    if meta and not ep then
      local hint = near(r.endpoint, meta.endpoints)
      problems[#problems + 1] = ("%s: the charm has no endpoint '%s'%s"):format(where, r.endpoint,
        hint and (" (did you mean '" .. hint .. "'?)") or "")
    end
    local kind = r.kind
    if ep then
      kind = ep.role == "peers" and "peer"
        or ((ep.scope == "container" or meta.subordinate) and ep.role == "requires") and "subordinate"
        or "regular"
      if r.kind ~= nil and r.kind ~= kind then
        problems[#problems + 1] = ("%s: kind '%s', but the metadata makes it a %s relation"):format(where,
          tostring(r.kind), kind)
      end
    end
    r.kind = kind or "regular"
    if r.kind == "peer" then
      if r.remote_app ~= nil and r.remote_app ~= app then
        problems[#problems + 1] = ("%s: a peer relation's remote application is this one ('%s'), not '%s'")
          :format(where, app, tostring(r.remote_app))
      end
      r.remote_app = app
    elseif type(r.remote_app) ~= "string" or not r.remote_app:match(APP) then
      problems[#problems + 1] = ("%s: remote_app %s is not an application name"):format(where,
        r.remote_app == nil and "is missing, so" or ("'" .. tostring(r.remote_app) .. "'"))
    end
    if r.remote_units ~= nil and not is_list(r.remote_units) then
      problems[#problems + 1] = where .. ": remote_units is not a list of unit names"
    else
      local units = {}
      for _, u in ipairs(r.remote_units or {}) do
        if type(u) ~= "string" or not u:match(UNIT) then
          problems[#problems + 1] = ("%s: remote unit '%s' is not a unit name"):format(where, tostring(u))
        elseif r.remote_app and u:match("^(.*)/") ~= r.remote_app then
          problems[#problems + 1] = ("%s: remote unit '%s' is not a unit of '%s'"):format(where, u, r.remote_app)
        elseif u == unit then
          problems[#problems + 1] = ("%s: this unit (%s) is not its own remote unit"):format(where, u)
        end
        units[u] = true
      end
      if r.kind == "subordinate" and #(r.remote_units or {}) > 1 then
        problems[#problems + 1] = where .. ": a subordinate relation has one remote unit (the principal)"
      end
      for u, bag in pairs(r.remote_units_data or {}) do
        if not units[u] then
          problems[#problems + 1] = ("%s: remote_units_data has '%s', which is not in remote_units"):format(
            where, tostring(u))
        end
        check_bag(problems, ("%s: remote_units_data[%q]"):format(where, tostring(u)), bag)
      end
    end
    for _, bag in ipairs { "local_app_data", "local_unit_data", "remote_app_data" } do
      check_bag(problems, where .. ": " .. bag, r[bag])
    end
    ::continue::
  end
  if meta then
    for name, n in pairs(per_endpoint) do
      local ep = meta.endpoints[name]
      if ep and ep.limit and n > ep.limit then
        problems[#problems + 1] = ("endpoint '%s' has %d relations, but its limit is %d"):format(name, n, ep.limit)
      end
    end
  end
end

local function secret_owned(sec) return sec.owner == "app" or sec.owner == "unit" end

local function check_secrets(problems, state, relations)
  local ids, labels = {}, {}
  for i, sec in ipairs(state.secrets or {}) do
    local where = ("secrets[%d]"):format(i)
    if type(sec) ~= "table" then
      problems[#problems + 1] = where .. " is not a table"
      goto continue
    end
    if type(sec.id) ~= "string" or not (sec.id:match("^secret:[0-9a-v]+$") or sec.id:match("^secret://[^/]*/[0-9a-v]+$")
                                         or sec.id:match("^[0-9a-v]+$")) then
      problems[#problems + 1] = ("%s: id %s is not a secret URI (secret:<20 characters of 0-9a-v>)"):format(where,
        tostring(sec.id))
    else
      local bare = sec.id:match("([0-9a-v]+)$")
      if ids[bare] then problems[#problems + 1] = ("%s: secret %s is there twice"):format(where, sec.id) end
      ids[bare] = true
      where = "secret " .. sec.id
    end
    if sec.owner ~= nil and sec.owner ~= "app" and sec.owner ~= "unit" then
      problems[#problems + 1] = ("%s: owner '%s' (\"app\", \"unit\", or none for a secret another application "
        .. "shared with this one)"):format(where, tostring(sec.owner))
    end
    if sec.content ~= nil then
      if sec.revisions ~= nil then
        problems[#problems + 1] = where .. ": give content or revisions, not both"
      else
        sec.revisions = { [1] = sec.content }
      end
      sec.content = nil
    end
    if type(sec.revisions) ~= "table" or next(sec.revisions) == nil then
      problems[#problems + 1] = where .. ": no content (content = {...}, or revisions = {[1] = {...}, ...})"
    else
      local fixed = {}
      for rev, content in pairs(sec.revisions) do
        local n = math.tointeger(tonumber(rev))
        if not n or n < 1 then
          problems[#problems + 1] = ("%s: revision %s is not a positive integer"):format(where, tostring(rev))
        else
          fixed[n] = content
          if type(content) ~= "table" then
            problems[#problems + 1] = ("%s: revision %d is a %s (a table of strings expected)"):format(where, n,
              type(content))
          else
            for k, v in pairs(content) do
              if type(k) ~= "string" or type(v) ~= "string" then
                problems[#problems + 1] = ("%s: revision %d: %s holds a %s (secret content is strings)"):format(
                  where, n, tostring(k), type(v))
              end
            end
          end
        end
      end
      sec.revisions = fixed
    end
    if sec.tracked ~= nil and (math.type(sec.tracked) ~= "integer" or not (sec.revisions or {})[sec.tracked]) then
      problems[#problems + 1] = ("%s: tracked revision %s is not one of its revisions"):format(where,
        tostring(sec.tracked))
    end
    if secret_owned(sec) and sec.label then
      if labels[sec.label] then
        problems[#problems + 1] = ("%s: label '%s' is on two secrets this application owns"):format(where, sec.label)
      end
      labels[sec.label] = true
    end
    local grants = sec.grants ~= nil and {} or nil
    for rel, who in pairs(sec.grants or {}) do
      local id = math.tointeger(tonumber(rel))
      if not id or not relations[id] then
        problems[#problems + 1] = ("%s: granted on relation %s, which the state does not have"):format(where,
          tostring(rel))
      else
        -- keyed by the relation id as text, as the simulator (and JSON) keep it
        grants[("%d"):format(id)] = who
      end
    end
    sec.grants = grants
    ::continue::
  end
end

--- Whether path is one a unit's file tree can hold: absolute, and with no
-- ".." (which would leave the tree: the simulated unit writes these under
-- a scratch root). Says what is wrong in problems otherwise.
local function path_ok(problems, where, path)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    problems[#problems + 1] = ("%s: '%s' is not an absolute path"):format(where, tostring(path))
    return false
  end
  if ("/" .. path .. "/"):find("/%.%./") then
    problems[#problems + 1] = ("%s: '%s' goes up with '..' (write the path without it)"):format(where, path)
    return false
  end
  return true
end

local function check_simple(problems, state, meta)
  if state.config ~= nil then
    if type(state.config) ~= "table" then
      problems[#problems + 1] = "config is not a table"
    else
      for k, v in pairs(state.config) do
        local t = type(v)
        if type(k) ~= "string" or (t ~= "string" and t ~= "number" and t ~= "boolean") then
          problems[#problems + 1] = ("config[%s] is a %s (a string, number or boolean expected)"):format(
            tostring(k), t)
        end
      end
      if meta then
        local msg = meta:check_config(state.config)
        if msg then problems[#problems + 1] = "config: " .. msg end
      end
    end
  end
  if state.leader ~= nil and type(state.leader) ~= "boolean" then
    problems[#problems + 1] = "leader is not a boolean"
  end
  if state.trusted ~= nil and type(state.trusted) ~= "boolean" then
    problems[#problems + 1] = "trusted is not a boolean"
  end
  -- string keys and values JSON can hold: when one encoding of the whole
  -- says so, each value need not be tried (to name the ones at fault)
  local stored = state.stored   -- a table or nil (checked above)
  local all_strings = true
  for k in pairs(stored or {}) do
    if type(k) ~= "string" then all_strings = false end
  end
  if stored ~= nil and not (all_strings and pcall(json.encode, stored)) then
    for k, v in pairs(stored) do
      if type(k) ~= "string" or not pcall(json.encode, v) then
        problems[#problems + 1] = ("stored[%s] cannot be kept (a string key and a JSON value expected)"):format(
          tostring(k))
      end
    end
  end
  for i, d in ipairs(state.deferred or {}) do
    if type(d) ~= "table" or not event_mod.parse(d.event) or type(d.env or {}) ~= "table" then
      problems[#problems + 1] = ("deferred[%d] is not a deferred event ({event = <hook name>, env = {...}}: "
        .. "make one with juju.testing.deferred)"):format(i)
    end
  end
  for i, p in ipairs(state.opened_ports or {}) do
    local ok = type(p) == "table" and (p.protocol == "icmp" and p.port == nil
      or (p.protocol == "tcp" or p.protocol == "udp") and math.type(p.port) == "integer" and p.port >= 1
         and p.port <= 65535 and (p.to_port == nil or math.type(p.to_port) == "integer" and p.to_port >= p.port
         and p.to_port <= 65535))
    if not ok then
      problems[#problems + 1] = ("opened_ports[%d] is not a port ({protocol = \"tcp\"|\"udp\", port = 1..65535"
        .. "[, to_port = ...]} or {protocol = \"icmp\"})"):format(i)
    end
  end
  local storage_ids = {}
  for i, st in ipairs(state.storage or {}) do
    local name = type(st) == "table" and type(st.id) == "string" and st.id:match("^([a-z][a-z0-9%-]*)/%d+$")
    if not name then
      problems[#problems + 1] = ("storage[%d]: id %s is not a storage id (name/N)"):format(i,
        tostring(type(st) == "table" and st.id or st))
    else
      if storage_ids[st.id] then problems[#problems + 1] = ("storage %s is there twice"):format(st.id) end
      storage_ids[st.id] = true
      local decl = meta and meta.storage[name]
      if meta and not decl then
        problems[#problems + 1] = ("storage %s: the charm declares no storage '%s'"):format(st.id, name)
      end
      st.kind = st.kind or (decl and decl.type) or "filesystem"
      if st.kind ~= "filesystem" and st.kind ~= "block" then
        problems[#problems + 1] = ("storage %s: kind '%s' (filesystem or block)"):format(st.id, tostring(st.kind))
      end
      st.location = st.location or (decl and decl.location) or ("/var/lib/juju/storage/" .. st.id)
    end
  end
  for name, path in pairs(state.resources or {}) do
    if type(path) ~= "string" then
      problems[#problems + 1] = ("resources[%s] is a %s (the path of the resource's file expected)"):format(
        tostring(name), type(path))
    end
    if meta and not meta.resources[name] then
      problems[#problems + 1] = ("resources: the charm declares no resource '%s'"):format(tostring(name))
    end
  end
  for binding in pairs(state.networks or {}) do
    if meta and not meta.endpoints[binding] and not meta.extra_bindings[binding] and binding ~= "juju-info" then
      problems[#problems + 1] = ("networks: '%s' is no endpoint or extra binding of the charm"):format(
        tostring(binding))
    end
  end
  for _, which in ipairs { "unit_status", "app_status" } do
    local st = state[which]
    if st ~= nil and (type(st) ~= "table" or not STATUS_NAMES[st.name]
                      or (st.message ~= nil and type(st.message) ~= "string")) then
      problems[#problems + 1] = ("%s is not a status ({name = \"active\"|\"blocked\"|..., message = ...})")
        :format(which)
    end
  end
  if state.planned_units ~= nil and (math.type(state.planned_units) ~= "integer" or state.planned_units < 0) then
    problems[#problems + 1] = "planned_units is not a count"
  end
  if state.workload_version ~= nil and type(state.workload_version) ~= "string" then
    problems[#problems + 1] = "workload_version is not a string"
  end
  local model = state.model
  if model ~= nil then
    if type(model) ~= "table" then
      problems[#problems + 1] = "model is not a table"
    else
      for k in pairs(model) do
        if k ~= "name" and k ~= "uuid" and k ~= "type" and k ~= "cloud_spec" then
          problems[#problems + 1] = ("model: unknown key '%s' (name, uuid, type, cloud_spec)"):format(tostring(k))
        end
      end
      if model.uuid ~= nil and (type(model.uuid) ~= "string"
          or not model.uuid:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$")) then
        problems[#problems + 1] = ("model: uuid '%s' is not a UUID"):format(tostring(model.uuid))
      end
      if model.type ~= nil and model.type ~= "kubernetes" and model.type ~= "lxd" and model.type ~= "machine" then
        problems[#problems + 1] = ("model: type '%s' (\"lxd\", \"machine\" or \"kubernetes\")"):format(
          tostring(model.type))
      end
    end
  end
  for path, content in pairs(state.files or {}) do
    if path_ok(problems, "files", path) and type(content) ~= "string" then
      problems[#problems + 1] = ("files: the content of '%s' is a %s (a string expected)"):format(path,
        type(content))
    end
  end
  if state.dirs ~= nil and not is_list(state.dirs) then
    problems[#problems + 1] = "dirs is not a list of absolute paths"
  end
  for _, d in ipairs(state.dirs or {}) do path_ok(problems, "dirs", d) end
  for i, p in ipairs(state.processes or {}) do
    if type(p) ~= "table" or type(p.command) ~= "string" or not p.command:find("%S") then
      problems[#problems + 1] = ("processes[%d] has no command (the words an argv starts with)"):format(i)
    elseif type(p.files) == "table" then
      for path in pairs(p.files) do path_ok(problems, ("processes[%d].files"):format(i), path) end
    end
  end
  for _, p in ipairs(pebble_fake.check(state.containers or {}, meta)) do problems[#problems + 1] = p end
end

-- ------------------------------------------------------------ event

local find = events.find

local function bare(id) return type(id) == "string" and id:match("([0-9a-v]+)$") or nil end

local function check_event(problems, e, state, meta)
  local kind = e.kind
  if kind == "action" then
    if meta then
      if not meta.actions[e.action] then
        local hint = near(e.action, meta.actions)
        problems[#problems + 1] = ("action '%s': the charm declares no such action%s"):format(e.action,
          hint and (" (did you mean '" .. hint .. "'?)") or "")
      else
        local params, msg = meta:action_params(e.action, e.params or {})
        if not params then
          problems[#problems + 1] = ("action '%s': %s"):format(e.action, msg)
        else
          e.params = params
        end
      end
    end
    return
  end
  if kind:match("^relation%-") then
    local r = find(state.relations, e.relation)
    if not r then
      problems[#problems + 1] = ("%s: the state has no relation %s"):format(e.name or kind, tostring(e.relation))
      return
    end
    if e.endpoint and e.endpoint ~= r.endpoint then
      problems[#problems + 1] = ("%s: relation %d is on endpoint '%s'"):format(e.name, r.id, r.endpoint)
    end
    e.endpoint = r.endpoint
    e.name = r.endpoint .. "-" .. kind
    local units = r.remote_units or {}
    if e.wants_unit and e.remote_unit == nil then
      e.remote_unit = units[1]
      if e.remote_unit == nil and kind ~= "relation-changed" then
        problems[#problems + 1] = ("%s: relation %d has no remote unit (give remote_units, or remote_unit =)")
          :format(e.name, r.id)
      end
    end
    if e.remote_unit and kind ~= "relation-departed" then
      local found = false
      for _, u in ipairs(units) do found = found or u == e.remote_unit end
      if not found then
        problems[#problems + 1] = ("%s: %s is not a remote unit of relation %d"):format(e.name, e.remote_unit, r.id)
      end
    end
    if not e.wants_unit and e.remote_unit then
      problems[#problems + 1] = ("%s: Juju names no remote unit for this event"):format(e.name)
    end
    if kind == "relation-departed" then
      e.departing_unit = e.departing_unit or e.remote_unit
    elseif e.departing_unit then
      problems[#problems + 1] = ("%s: only relation-departed has a departing unit"):format(e.name)
    end
    return
  end
  if kind:match("^secret%-") then
    local sec
    for _, s in ipairs(state.secrets or {}) do
      if bare(s.id) == bare(e.secret) then sec = s end
    end
    if not sec then
      problems[#problems + 1] = ("%s: the state has no secret %s"):format(kind, tostring(e.secret))
      return
    end
    e.secret = sec.id
    local owned = secret_owned(sec)
    if kind == "secret-changed" and owned then
      problems[#problems + 1] = ("secret-changed: secret %s is this application's own (Juju tells its "
        .. "consumers, not its owner)"):format(sec.id)
    elseif kind ~= "secret-changed" and not owned then
      problems[#problems + 1] = ("%s: secret %s is not this application's (Juju sends %s to the owner)"):format(
        kind, sec.id, kind)
    end
    e.label = e.label or sec.label
    if kind == "secret-expired" or kind == "secret-remove" then
      local latest = 0
      for rev in pairs(sec.revisions or {}) do latest = math.max(latest, rev) end
      if e.revision == nil and kind == "secret-expired" then e.revision = latest end
      if e.revision == nil then
        problems[#problems + 1] = "secret-remove: which revision is no longer tracked? (on.secret_remove(s, "
          .. "{ revision = N }))"
      elseif not (sec.revisions or {})[e.revision] then
        problems[#problems + 1] = ("%s: secret %s has no revision %s"):format(kind, sec.id, tostring(e.revision))
      end
    end
    return
  end
  if kind:match("^storage%-") then
    local st = find(state.storage, e.storage)
    if not st then
      problems[#problems + 1] = ("%s: the state has no storage %s"):format(e.name, tostring(e.storage))
    end
    return
  end
  if kind:match("^pebble%-") then
    if meta and not meta.containers[e.container] then
      problems[#problems + 1] = ("%s: the charm declares no container '%s'"):format(e.name, e.container)
    end
    if ((state.model or {}).type or "lxd") ~= "kubernetes" then
      problems[#problems + 1] = ("%s: Pebble events come only on Kubernetes (model.type = \"kubernetes\")")
        :format(e.name)
    end
    if #problems == 0 then pebble_fake.complete_event(state, e, problems) end
    return
  end
  if kind == "leader-elected" and not state.leader then
    problems[#problems + 1] = "leader-elected: Juju sends it to the new leader (leader = true)"
  elseif kind == "leader-settings-changed" and state.leader then
    problems[#problems + 1] = "leader-settings-changed: Juju sends it only to units that are not the leader"
  elseif kind == "pre-series-upgrade" and ((state.model or {}).type == "kubernetes") then
    problems[#problems + 1] = "pre-series-upgrade: only machine charms are upgraded in place"
  end
end

--- Check a state and an event; the completed copies, or an error.
-- @tparam table state the test's state (not changed)
-- @tparam table e the event (`juju.testing.events.from`; not changed)
-- @tparam table opts `meta` (from `juju.testing.metadata`, or nil to check
-- only what needs none), `app`, `unit`
-- @treturn table the state, completed
-- @treturn table the event, completed
-- @raise "inconsistent state: ..." listing every problem found (level 0:
-- the caller places it)
function M.prepare(state, e, opts)
  local problems = {}
  if type(state) ~= "table" then error(("a state (a table) expected, got %s"):format(type(state)), 0) end
  for k in pairs(state) do
    if not M.STATE_KEYS[k] then
      local hint = near(k, M.STATE_KEYS)
      problems[#problems + 1] = ("unknown key '%s'%s"):format(tostring(k),
        hint and (" (did you mean '" .. hint .. "'?)") or "")
    end
  end
  -- the pieces that are tables: anything else would stop the checks below short
  local misshapen = false
  for _, k in ipairs(TABLE_KEYS) do
    if state[k] ~= nil and type(state[k]) ~= "table" then
      problems[#problems + 1] = ("%s is not a table"):format(k)
      misshapen = true
    end
  end
  if misshapen then error("inconsistent state: " .. table.concat(problems, "; "), 0) end
  -- one deep copy, the run's own; files are strings, shared (the file
  -- tree copies the map, and never changes it)
  local s = {}
  for k, v in pairs(state) do s[k] = k == "files" and v or copy(v) end
  local ev = copy(e)
  setmetatable(ev, getmetatable(e))
  local meta = opts.meta
  if meta then
    local config = meta:config_defaults()
    for k, v in pairs(s.config or {}) do config[k] = v end
    s.config = config
  end
  s.model = s.model or {}
  s.model.name = s.model.name or "test-model"
  s.model.uuid = s.model.uuid or "00000000-0000-4000-8000-000000000000"
  s.model.type = s.model.type or ((meta and next(meta.containers)) and "kubernetes" or "lxd")
  check_simple(problems, s, meta)
  check_relations(problems, s, meta, opts.app, opts.unit)
  local relations = {}
  for _, r in ipairs(s.relations or {}) do if type(r) == "table" and r.id then relations[r.id] = r end end
  check_secrets(problems, s, relations)
  if #problems == 0 then check_event(problems, ev, s, meta) end
  if #problems > 0 then
    error("inconsistent state: " .. table.concat(problems, "; "), 0)
  end
  return s, ev
end

return M
