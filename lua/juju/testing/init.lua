--- Test a charm in process: a state in, an event, a state out.
--
--     local testing = require "juju.testing"
--     local on = testing.on
--     local ctx = testing.context{ charm_dir = "." }   -- charmcraft.yaml, src/charm.lua
--
--     it("opens the configured port", function()
--       local out = ctx:run(on.config_changed(), { config = { port = 9000 }, stored = { installed = true } })
--       assert.same({ { protocol = "tcp", port = 9000 } }, out.opened_ports)
--     end)
--
-- The charm runs as `dispatch` runs it, through `juju.charm.main`, with
-- the environment Juju would set (`juju.set_env`) and its hook commands
-- answered from the state by a simulated Juju (`juju.testing.sim`, behind
-- `juju.set_runner`), so the juju module's argv building and output
-- parsing run for real and Juju's rules hold, with Juju's error text. Its
-- workload programs (`juju.process`, and so `juju.apt` and
-- `juju.systemd`) are answered from `state.processes`, and its files
-- (`juju.file`) live in an in-memory tree filled from `state.files`.
--
-- `run` never changes the state it was given, and returns a new one, so
-- runs chain: `s = ctx:run(on.install(), s); s = ctx:run(on.start(), s)`.
-- Before running, the state and the event are checked against the
-- charm's metadata (`juju.testing.consistency`): an impossible state is an
-- error that says what is wrong.
--
-- **The state** (every key optional):
--
-- * `config`: option -> value (the metadata's defaults fill the rest)
-- * `leader`: boolean
-- * `relations`: a list of `{id=, endpoint=, remote_app=, remote_units=,
--   local_app_data=, local_unit_data=, remote_app_data=,
--   remote_units_data = {[unit] = bag}, remote_model_uuid=}`; the kind
--   (regular, peer, subordinate) comes from the metadata (@{relation},
--   @{peer_relation} and @{subordinate_relation} fill in defaults)
-- * `secrets`: a list of `{id=, owner = "app"|"unit"|nil, label=,
--   content = {...} | revisions = {[1] = {...}, ...}, tracked=, description=,
--   expire=, rotate=, grants = {["<relation id>"] = app or unit}}` (@{secret});
--   no owner: another application's secret, which this one may read when
--   `granted` (`true`, or this app's or unit's name) or when a grant names
--   it; `owner_unit`: the unit owning a unit-owned secret (default this one)
-- * `stored`: the charm's stored state (`e.state`), key -> value
-- * `deferred`: deferred events, oldest first (@{deferred})
-- * `opened_ports`: `{ {protocol = "tcp", port = 80, to_port=, endpoints=}, ... }`
-- * `storage`: `{ {id = "data/0", kind=, location=}, ... }`
-- * `resources`: name -> path of the resource's file
-- * `networks`: binding -> `{bind_addresses=, ingress_addresses=, egress_subnets=}`
-- * `model`: `{name=, uuid=, type = "lxd"|"machine"|"kubernetes", cloud_spec=}`;
--   `trusted`: whether the app may read its cloud credential
-- * `planned_units`, `unit_status`, `app_status` (`{name=, message=}`),
--   `workload_version`
-- * `processes`: what workload programs answer: `{ {command = "systemctl
--   is-active", code = 3, stdout=, stderr=, missing=, files=}, ... }` (the
--   first entry whose words start the argv; anything else exits 0 with no
--   output); `files` (path -> content) are written when it runs, as the
--   program would (`/run/app.pid` by `systemctl start app`)
-- * `files`: absolute path -> content; `dirs`: directories besides those
--   of a fresh machine and the files' own
-- * `containers` (Kubernetes charms): name -> a workload container, which
--   a fake Pebble (`juju.testing.pebble`) runs for the charm's
--   `juju.pebble` calls: `can_connect` (default true; a container the
--   metadata declares but the state leaves out cannot be reached),
--   `layers` (label -> layer) and `layer_order`, `services` (name ->
--   `{current=, outdated=, start_error=}`), `files` (path -> content or
--   `{content=, permissions=, user=, group=, ...}`), `dirs`, `execs` (what
--   commands answer: `{command = "nginx -t", code=, stdout=, stderr=}` or
--   `{command=, run = function(call) ... end}`), `checks` (name ->
--   `{status=, failures=}`), `notices` (a list). The state after adds
--   `plan` (the layers combined) and keeps what Pebble did even when the
--   hook failed (Pebble has no rollback)
--
-- The state after also has `storage_added` and `reboot` when the charm
-- asked for them.
-- @module juju.testing

local juju = require "juju"
local charm_mod = require "juju.charm"
local file = require "juju.file"
local log = require "juju.log"
local process = require "juju.process"
local event_mod = require "juju.event"
local state_mod = require "juju.state"
local sim_mod = require "juju.testing.sim"
local events = require "juju.testing.events"
local consistency = require "juju.testing.consistency"
local memfs = require "juju.testing.memfs"
local pebble = require "juju.pebble"
local pebble_fake = require "juju.testing.pebble"
local json = juju.json

local M = {}

local copy = sim_mod.copy

--- Event constructors: `on.install()`, `on.relation_changed(rel)`,
-- `on.action("backup", params)`, ... (see `juju.testing.events`).
M.on = events

local STATE_PREFIX = state_mod.PREFIX
local DEFERRED_KEY = state_mod.DEFERRED_KEY

-- ------------------------------------------------------------ processes

--- Does argv start with the words of prefix ("systemctl restart")?
local function matches(argv, prefix)
  local i = 0
  for word in prefix:gmatch("%S+") do
    i = i + 1
    if argv[i] ~= word then return false end
  end
  return true
end

--- The answer a state's `processes` gives an argv: the first entry whose
-- command starts it, or nil.
-- @tparam {table,...} answers
-- @tparam {string,...} argv
-- @treturn ?table
function M.process_answer(answers, argv)
  for _, a in ipairs(answers or {}) do
    if matches(argv, a.command) then return a end
  end
end

--- The process runner of one run: answers from the state's `processes`
-- (writing the `files` an answer says the program writes into the tree)
-- and records every call.
local function process_runner(answers, record, fs)
  return function(argv, opts)
    local call = { argv = copy(argv), stdin = opts and opts.stdin, cwd = opts and opts.cwd }
    record[#record + 1] = call
    local a = M.process_answer(answers, argv)
    if a and a.missing then
      return nil, "cannot run " .. argv[1] .. ": No such file or directory"
    end
    for path, content in pairs(a and a.files or {}) do fs:put(path, content) end
    call.code = a and a.code or 0
    return call.code, a and a.stdout or "", a and a.stderr or "", false
  end
end

-- ------------------------------------------------------------ state forms

--- The raw Juju state map from the friendly `stored` and `deferred`.
-- @tparam table state
-- @treturn table key -> string
function M.raw_stored(state)
  local raw = {}
  for k, v in pairs(state.stored or {}) do raw[STATE_PREFIX .. k] = json.encode(v) end
  if state.deferred and #state.deferred > 0 then
    raw[DEFERRED_KEY] = json.encode(json.array(copy(state.deferred)))
  end
  for k, v in pairs(state.juju_state or {}) do raw[k] = v end
  return raw
end

--- Split a raw Juju state map back into `stored`, `deferred` and
-- `juju_state` (keys the framework does not own).
-- @tparam table out a state whose `stored` is the raw map (changed)
-- @treturn table out
function M.friendly_stored(out)
  local stored, deferred, other = {}, {}, {}
  for k, v in pairs(out.stored or {}) do
    if k == DEFERRED_KEY then
      deferred = json.decode(v)
    elseif k:sub(1, #STATE_PREFIX) == STATE_PREFIX then
      stored[k:sub(#STATE_PREFIX + 1)] = json.decode(v)
    else
      other[k] = v
    end
  end
  out.stored, out.deferred = stored, deferred
  out.juju_state = next(other) and other or nil
  return out
end

--- The simulator's form of a state from `consistency.prepare` (changed in
-- place, and returned): `stored` as Juju keeps it (@{raw_stored}, the
-- deferred events in it), and without what the simulator does not hold
-- (`files`, `dirs`, `processes`, `containers`: each driver keeps those).
-- Both drivers (`ctx:run` and `dispatch --simulate`) make the state they
-- start from, and the one a failed hook leaves, this way.
-- @tparam table s
-- @treturn table s
-- @local
function M.sim_state(s)
  s.files, s.dirs, s.processes, s.containers = nil, nil, nil, nil
  s.stored = M.raw_stored(s)
  s.deferred, s.juju_state = nil, nil
  return s
end

--- The bindings a charm's hooks may name (`network-get`): its endpoints,
-- its extra bindings and `juju-info`.
-- @tparam table meta from `juju.testing.metadata`
-- @treturn table name -> true
-- @local
function M.bindings(meta)
  local out = { ["juju-info"] = true }
  for name in pairs(meta.endpoints) do out[name] = true end
  for name in pairs(meta.extra_bindings) do out[name] = true end
  return out
end

-- ------------------------------------------------------------ builders

--- A relation for a state, with defaults: remote units `<remote_app>/0`,
-- empty data bags.
-- @tparam table fields `id` (required), `endpoint` (required),
-- `remote_app` (default "remote"), `remote_units`, the data bags
-- @treturn table
-- @usage local db = testing.relation{ id = 1, endpoint = "db", remote_app = "postgresql" }
function M.relation(fields)
  if type(fields) ~= "table" or fields.id == nil or type(fields.endpoint) ~= "string" then
    error("bad argument #1 to 'relation' (a table with id and endpoint expected)", 2)
  end
  local r = copy(fields)
  r.remote_app = r.remote_app or "remote"
  r.remote_units = r.remote_units or { r.remote_app .. "/0" }
  for _, bag in ipairs { "local_app_data", "local_unit_data", "remote_app_data" } do r[bag] = r[bag] or {} end
  r.remote_units_data = r.remote_units_data or {}
  for _, u in ipairs(r.remote_units) do r.remote_units_data[u] = r.remote_units_data[u] or {} end
  return r
end

--- A peer relation: the remote units are this application's other units.
-- @tparam table fields `id`, `endpoint`, `app` (this application, for
-- the default peers), `peers` (default: none), the data bags
-- @treturn table
-- @usage local peers = testing.peer_relation{ id = 2, endpoint = "replicas", app = "web", peers = { "web/1" } }
function M.peer_relation(fields)
  if type(fields) ~= "table" or fields.id == nil or type(fields.endpoint) ~= "string" then
    error("bad argument #1 to 'peer_relation' (a table with id and endpoint expected)", 2)
  end
  local r = copy(fields)
  r.remote_units = r.remote_units or r.peers or {}
  r.remote_app = r.app or r.remote_app or (r.remote_units[1] and r.remote_units[1]:match("^(.*)/"))
  r.peers, r.app = nil, nil
  r.kind = "peer"
  for _, bag in ipairs { "local_app_data", "local_unit_data" } do r[bag] = r[bag] or {} end
  r.remote_units_data = r.remote_units_data or {}
  for _, u in ipairs(r.remote_units) do r.remote_units_data[u] = r.remote_units_data[u] or {} end
  return r
end

--- A subordinate relation: one remote unit, the principal.
-- @tparam table fields `id`, `endpoint`, `remote_app` (default "principal"),
-- `remote_unit` (default `<remote_app>/0`), the data bags
-- @treturn table
-- @usage local info = testing.subordinate_relation{ id = 3, endpoint = "juju-info", remote_app = "ubuntu" }
function M.subordinate_relation(fields)
  if type(fields) ~= "table" or fields.id == nil or type(fields.endpoint) ~= "string" then
    error("bad argument #1 to 'subordinate_relation' (a table with id and endpoint expected)", 2)
  end
  local r = copy(fields)
  r.remote_app = r.remote_app or "principal"
  r.remote_units = { r.remote_unit or (r.remote_app .. "/0") }
  r.remote_unit = nil
  r.kind = "subordinate"
  return M.relation(r)
end

local secret_counter = 0

--- A secret for a state.
-- @tparam table fields `id` (default: made up from a counter), `content`
-- (or `revisions`), `owner`, `label`, ...
-- @treturn table
-- @usage local creds = testing.secret{ owner = nil, content = { password = "s3cret" }, label = "db" }
function M.secret(fields)
  if type(fields) ~= "table" then error("bad argument #1 to 'secret' (table expected)", 2) end
  local s = copy(fields)
  if s.id == nil then
    secret_counter = secret_counter + 1
    s.id = ("secret:%020d"):format(secret_counter)
  end
  return s
end

--- A deferred event for `state.deferred`, as the framework keeps it.
-- @tparam table e an event from `on` (relation events built from the
-- relation's table, so its endpoint and remote application are known)
-- @treturn table `{event = name, env = {...}}`
-- @usage local s = { deferred = { testing.deferred(on.relation_changed(db)) }, relations = { db } }
function M.deferred(e)
  e = events.from(e)
  if e.kind == "action" then error("bad argument #1 to 'deferred' (actions cannot be deferred)", 2) end
  if event_mod.NOT_DEFERRABLE[e.kind] then
    error(("bad argument #1 to 'deferred' (%s cannot be deferred)"):format(e.kind), 2)
  end
  local spec = { name = e.name }
  if e.relation ~= nil then
    if not e.endpoint or not e.remote_app then
      error("bad argument #1 to 'deferred' (build the event from the relation's table, not its id)", 2)
    end
    local unit = e.remote_unit
    if unit == nil and e.wants_unit then unit = e.first_unit end
    spec.relation_id, spec.endpoint, spec.app = e.relation, e.endpoint, e.remote_app
    spec.unit = unit or nil
    spec.departing_unit = e.kind == "relation-departed" and (e.departing_unit or unit) or nil
  elseif e.storage then
    spec.storage = { id = e.storage }
  elseif e.secret then
    spec.secret = { id = e.secret, label = e.label }
    spec.revision = e.revision
  end
  spec.container, spec.notice, spec.check, spec.target_base = e.container, e.notice, e.check, e.target_base
  if spec.notice and spec.notice.id == nil then
    spec.notice = { id = "1", type = spec.notice.type, key = spec.notice.key }
  end
  return { event = e.name, env = event_mod.identity(spec) }
end

-- ------------------------------------------------------------ context

local Context = {}
local context_mt = { __name = "juju.testing.Context", __index = Context }

local added_paths = {}

--- Load a charm directory's src/charm.lua as dispatch does (src/ and lib/
-- on the module path) and get its charm, without running it.
local function load_charm(dir)
  if not added_paths[dir] then
    added_paths[dir] = true
    package.path = ("%s/src/?.lua;%s/src/?/init.lua;%s/lib/?.lua;%s/lib/?/init.lua;"):format(dir, dir, dir, dir)
      .. package.path
  end
  local path = dir .. "/src/charm.lua"
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  local c = chunk()
  if not charm_mod.is_charm(c) then
    error(("%s must end with `return charm` (a charm made by juju.charm.new()), got %s"):format(path, type(c)), 0)
  end
  return c
end

--- A test context for a charm.
-- @tparam table opts
--
-- * `charm_dir`: the charm's directory: its metadata from
--   `charmcraft.yaml` (or `metadata.yaml`, `config.yaml`, `actions.yaml`),
--   its charm from `src/charm.lua` (default: "." when neither `charm` nor
--   `metadata` is given)
-- * `charm`: the charm (from `juju.charm.new()`), instead of loading it
-- * `metadata`: the metadata as a table shaped like charmcraft.yaml,
--   instead of reading it (none at all: the state is checked only for
--   what needs no metadata)
-- * `app` (default: the metadata's name, or "charm"), `unit_id` (default 0)
-- * `juju_version` (default "3.6.0"), `machine_id`, `availability_zone`,
--   `principal_unit` (for a subordinate)
-- @treturn Context
-- @usage
-- local ctx = testing.context{ charm_dir = "." }
-- local ctx = testing.context{ charm = my_charm,
--                              metadata = { name = "web", provides = { site = { interface = "http" } } } }
function M.context(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(("bad argument #1 to 'context' (table expected, got %s)"):format(type(opts)), 2)
  end
  opts = opts or {}
  local dir = opts.charm_dir
  if dir == nil and opts.charm == nil and opts.metadata == nil then dir = "." end
  if dir ~= nil then dir = tostring(dir):gsub("/+$", "") end
  local meta
  if opts.metadata ~= nil then
    meta = require("juju.testing.metadata").from_table(opts.metadata)
  elseif dir ~= nil then
    local ok, m = pcall(require("juju.testing.metadata").load, dir)
    if not ok then error(m, 2) end
    meta = m
  end
  local c = opts.charm
  if c == nil then
    if dir == nil then error("bad argument #1 to 'context' (charm = or charm_dir = expected)", 2) end
    local ok, loaded = pcall(load_charm, dir)
    if not ok then error(loaded, 2) end
    c = loaded
  elseif not charm_mod.is_charm(c) then
    error("bad argument #1 to 'context' (charm: a charm made by juju.charm.new() expected)", 2)
  end
  local app = opts.app or (meta and meta.name) or "charm"
  local unit_id = opts.unit_id or 0
  local charm_dir = "/var/lib/juju/agents/unit-" .. app .. "-" .. unit_id .. "/charm"
  return setmetatable({
    charm = c, metadata = meta, app = app, unit = app .. "/" .. unit_id, on = events,
    env_opts = {
      unit = app .. "/" .. unit_id, charm_dir = charm_dir, juju_version = opts.juju_version or "3.6.0",
      machine_id = opts.machine_id, availability_zone = opts.availability_zone,
      principal_unit = opts.principal_unit,
    },
  }, context_mt)
end

--- The error `run` raises when the hook failed: `message` (what the
-- charm raised), `traceback`, and the `state` and `run` after it (Juju
-- keeps only the status and logs of a failed hook). `tostring` gives the
-- message and the traceback.
-- @table HookFailed
M.HookFailed = { __name = "juju.testing.HookFailed" }
M.HookFailed.__tostring = function(e)
  return "the hook failed: " .. e.message .. (e.traceback and ("\n" .. e.traceback) or "")
end

local function run(self, event, state)
  local e = events.from(event)
  local s, ev = consistency.prepare(state or {}, e, { meta = self.metadata, app = self.app, unit = self.unit })
  local env, hook = events.environment(ev, s, self.env_opts)
  if self.metadata then hook.bindings = M.bindings(self.metadata) end

  local files, dirs, processes = s.files, s.dirs, s.processes
  local fake = pebble_fake.new(s.containers, { meta = self.metadata })
  local sim = sim_mod.new(M.sim_state(s), hook, { take = true })
  local tree = memfs.new(files, dirs)
  local calls = {}

  juju.set_runner(sim:runner())
  juju.set_env(env)
  process.set_runner(process_runner(processes, calls, tree))
  file.set_backend(tree:backend())
  local prev_pebble = pebble.set_transport(fake:transport())
  log.set_level(nil)   -- the threshold follows the event's JUJU_DEBUG
  local traceback
  local ok, err = xpcall(charm_mod.main, function(why)
    traceback = debug.traceback(nil, 2)
    return why
  end, self.charm, env.JUJU_DISPATCH_PATH)
  pebble.set_transport(prev_pebble)
  file.set_backend(nil)
  process.set_runner(nil)
  juju.set_env(nil)
  juju.set_runner(nil)

  local out
  if ok then
    out = sim:finish(true)
  else
    local before = consistency.prepare(state or {}, e, { meta = self.metadata, app = self.app, unit = self.unit })
    out = sim:finish(false, M.sim_state(before))
  end
  out = M.friendly_stored(out)
  if ok then
    out.files, out.dirs = tree:files(), tree:dirs()
    if #out.dirs == 0 then out.dirs = nil end
  else
    out.files, out.dirs = copy(files), dirs
  end
  out.processes = processes
  -- Pebble keeps what it did whether the hook failed or not
  local containers = fake:state()
  out.containers = next(containers) and containers or nil
  local record = {
    commands = sim.commands, logs = sim.logs, status_history = sim.status_history,
    action = sim.action, processes = calls, writes = tree.writes,
    removed_secret_revisions = sim.removed_revisions, event = ev, env = env, pebble = fake:records(),
    error = not ok and tostring(err) or nil,
  }
  if not ok then
    return nil, setmetatable({ message = tostring(err), traceback = traceback, state = out, run = record },
      M.HookFailed)
  end
  return out, record
end

--- Run one event against a state.
-- @tparam table|string event from @{on} (or a hook name, for an event
-- that needs nothing more: `"install"`)
-- @tparam table state the state before (never changed)
-- @treturn table the state after
-- @treturn table what happened: `commands` (each hook command: `{argv=,
-- stdin=, code=}`), `processes` (each workload program: `{argv=, stdin=,
-- cwd=, code=}`), `logs` (juju-log lines: `{level=, message=}`),
-- `status_history` (`{target = "unit"|"app", name=, message=}`),
-- `action` (`name`, `params`, `results`, `logs`, `failure`), `writes`
-- (each file written: `{path=, mode = "0644", owner=, group=}`),
-- `removed_secret_revisions`, `event` and `env` (as the charm saw them),
-- `pebble` (per container: `requests` (`{method=, target=, body=,
-- status=}`), `execs` (each command run: `argv`, `stdin`, `environment`,
-- ..., `code`), `changes` (`{kind=, summary=, status=, err=, started=,
-- stopped=}`), `writes` (each file pushed, with its permissions and owner))
-- @raise @{HookFailed} when the hook failed (the charm raised); an
-- "inconsistent state: ..." message when the state or event could not be
-- (both at the test's line)
-- @usage
-- local out, run = ctx:run(on.config_changed(), { config = { port = 9000 } })
-- assert.same({ "systemctl restart app" }, ...)
function Context:run(event, state)
  if getmetatable(self) ~= context_mt then error("use ctx:run(event, state), with a colon", 2) end
  local ok, out, record = pcall(run, self, event, state)
  if not ok then error(out, 2) end
  if out == nil then error(record, 2) end
  return out, record
end

--- Run an event that should make the hook fail (the charm raises).
-- @tparam table|string event
-- @tparam table state
-- @treturn table the state after (what Juju keeps of a failed hook:
-- statuses, logs, the workload version; not relation data, stored state,
-- ports, secrets or files)
-- @treturn table what happened, with `error`: the charm's message
-- @raise when the hook succeeded
-- @usage
-- local out, run = ctx:run_failing(on.install(), { processes = { { command = "apt-get install", code = 100 } } })
-- assert.matches("exited with status 100", run.error)
function Context:run_failing(event, state)
  if getmetatable(self) ~= context_mt then error("use ctx:run_failing(event, state), with a colon", 2) end
  local ok, out, record = pcall(run, self, event, state)
  if not ok then error(out, 2) end
  if out ~= nil then error(("expected %s to fail, but the hook succeeded"):format(record.event.name), 2) end
  return record.state, record.run
end

M.sim = sim_mod
return M
