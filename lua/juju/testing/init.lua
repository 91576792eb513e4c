--- Test a charm in process: a state in, an event, a state out.
--
--     local testing = require "juju.testing"
--     local ctx = testing.context{ charm = require("charm") }
--     local out, run = ctx:run("config-changed", { config = { port = 9000 } })
--     assert.equal("active", out.unit_status.name)
--     assert.same({ { protocol = "tcp", port = 9000 } }, out.opened_ports)
--
-- The charm runs as `dispatch` would run it, with `juju.set_env` giving it
-- the event's environment and `juju.set_runner` answering its hook
-- commands from the state (`juju.testing.sim`), so the juju module's argv
-- building and output parsing run for real. Its workload programs
-- (`juju.process`, and so `juju.apt` and `juju.systemd`) are answered from
-- `state.processes` and recorded, and its files (`juju.file`) live in a
-- temporary tree filled from `state.files` and read back into the state
-- after. `run` never changes the state it was given; runs chain
-- (`s = ctx:run("install", s)`).
-- @module juju.testing

local juju = require "juju"
local charm_mod = require "juju.charm"
local file = require "juju.file"
local log = require "juju.log"
local process = require "juju.process"
local sys = require "juju.sys"
local sim_mod = require "juju.testing.sim"
local json = juju.json

local M = {}

local copy = sim_mod.copy

--- The Juju state keys the framework uses (see `juju.state`).
local STATE_PREFIX = require("juju.state").PREFIX
local DEFERRED_KEY = require("juju.state").DEFERRED_KEY

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

--- The process runner of one run: answers from the state's `processes`
-- (the first entry whose `command` prefixes the argv; else exit 0 with no
-- output) and records every call.
local function process_runner(answers, record)
  return function(argv, opts)
    local call = { argv = copy(argv), stdin = opts and opts.stdin, cwd = opts and opts.cwd }
    record[#record + 1] = call
    for _, a in ipairs(answers or {}) do
      if matches(argv, a.command) then
        call.code = a.code or 0
        if a.missing then return nil, "cannot run " .. argv[1] .. ": No such file or directory" end
        return call.code, a.stdout or "", a.stderr or "", false
      end
    end
    call.code = 0
    return 0, "", "", false
  end
end

-- ------------------------------------------------------------ files

--- A fresh directory for one run's file tree, filled from files, and
-- made juju.file's root.
local function make_tree(files)
  local base = (os.getenv("TMPDIR") or "/tmp"):gsub("/+$", "")
  local root = assert(sys.mkdtemp(base .. "/juju-testing."))
  file.set_root(root)
  for path, content in pairs(files or {}) do
    if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
      error(("state.files: '%s' is not an absolute path"):format(tostring(path)), 4)
    end
    local dir = path:match("^(.*)/[^/]*$")
    if dir ~= "" then file.make_dirs(dir) end
    file.write(path, content)
  end
  return root
end

--- Every regular file under root, path -> content; the tree is removed.
local function read_tree(root)
  local out = {}
  local function walk(dir, rel)
    for _, entry in ipairs(assert(sys.listdir(dir))) do
      local full, r = dir .. "/" .. entry.name, rel .. "/" .. entry.name
      if entry.type == "directory" then
        walk(full, r)
      elseif entry.type == "file" then
        local f = assert(io.open(full, "rb"))
        out[r] = f:read("a")
        f:close()
      end
      os.remove(full)
    end
  end
  walk(root, "")
  os.remove(root)
  return out
end

local Context = {}
local context_mt = { __name = "juju.testing.Context", __index = Context }

--- A test context for a charm.
-- @tparam table opts `charm` (a charm from juju.charm.new), `unit`
-- (default "<app>/0", app from `app` or "charm")
-- @treturn Context
function M.context(opts)
  assert(type(opts) == "table", "testing.context wants a table")
  assert(charm_mod.is_charm(opts.charm), "testing.context needs charm = a charm made by juju.charm.new()")
  return setmetatable({ charm = opts.charm, app = opts.app or "charm" }, context_mt)
end

--- The raw Juju state map from the friendly `stored` and `deferred`.
local function raw_state(state)
  local raw = {}
  for k, v in pairs(state.stored or {}) do raw[STATE_PREFIX .. k] = json.encode(v) end
  if state.deferred and #state.deferred > 0 then
    raw[DEFERRED_KEY] = json.encode(json.array(copy(state.deferred)))
  end
  for k, v in pairs(state.juju_state or {}) do raw[k] = v end
  return raw
end

local function friendly_state(out)
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

local function relation_by_id(state, id)
  for _, r in ipairs(state.relations or {}) do
    if r.id == id then return r end
  end
  error(("the event names relation %s, which the state does not have"):format(tostring(id)), 3)
end

--- The environment Juju would give the event.
local function event_env(ctx, state, ev)
  local unit = state.unit or (ctx.app .. "/0")
  local env = {
    JUJU_UNIT_NAME = unit, JUJU_MODEL_NAME = (state.model or {}).name or "test-model",
    JUJU_MODEL_UUID = (state.model or {}).uuid or "00000000-0000-4000-8000-000000000000",
    JUJU_VERSION = "3.6.0", JUJU_CHARM_DIR = "/var/lib/juju/agents/unit-x/charm",
  }
  local ctxinfo = { unit = unit }
  local spec = require("juju.event").parse(ev.name)
  if ev.action then
    env.JUJU_ACTION_NAME = ev.action
    env.JUJU_ACTION_UUID = ev.id or "1"
    ctxinfo.action = { name = ev.action, params = ev.params or {} }
  elseif spec and spec.endpoint then
    local r = relation_by_id(state, ev.relation)
    env.JUJU_RELATION = r.endpoint
    env.JUJU_RELATION_ID = r.endpoint .. ":" .. r.id
    env.JUJU_REMOTE_APP = r.remote_app
    env.JUJU_REMOTE_UNIT = ev.remote_unit
    env.JUJU_DEPARTING_UNIT = ev.departing_unit
    ctxinfo.relation_id = r.id
    ctxinfo.remote_unit, ctxinfo.remote_app = ev.remote_unit, r.remote_app
  elseif spec and spec.storage then
    env.JUJU_STORAGE_ID = ev.storage
    ctxinfo.storage_id = ev.storage
  elseif spec and spec.container then
    env.JUJU_WORKLOAD_NAME = spec.container
    if ev.notice then
      env.JUJU_NOTICE_ID, env.JUJU_NOTICE_TYPE, env.JUJU_NOTICE_KEY = ev.notice.id, ev.notice.type, ev.notice.key
    end
    env.JUJU_PEBBLE_CHECK_NAME = ev.check
  elseif spec and ev.name:match("^secret%-") then
    env.JUJU_SECRET_ID = ev.secret
    env.JUJU_SECRET_LABEL = ev.label
    env.JUJU_SECRET_REVISION = ev.revision and string.format("%d", ev.revision) or nil
  end
  for k, v in pairs(ev.env or {}) do env[k] = v or nil end
  return env, ctxinfo
end

--- Run one event against a state.
-- @tparam string|table event an event name ("install"), or a table:
-- `name`, and by kind `relation` (id), `remote_unit`, `departing_unit`,
-- `storage` (id), `secret` (id), `label`, `revision`, `notice`, `check`;
-- for an action `action` (its name) and `params`; `env` adds or removes
-- (false) variables
-- @tparam table state the state before (never changed)
-- @treturn table the state after
-- @treturn table the run: `commands` (each `{argv=, stdin=, code=}`),
-- `processes` (each workload program run: `{argv=, stdin=, cwd=, code=}`),
-- `logs` (`{level=, message=}`), `status_history`, `action` (`results`,
-- `logs`, `failure`), `error` (what the charm raised, as text, or nil)
function Context:run(event, state)
  local ev = type(event) == "string" and { name = event } or copy(event)
  if ev.action then ev.name = ev.action end
  local before = copy(state or {})
  local input = copy(before)
  input.stored = raw_state(before)
  input.deferred, input.juju_state = nil, nil
  local env, ctxinfo = event_env(self, before, ev)
  local sim = sim_mod.new(input, ctxinfo)

  local processes = {}
  juju.set_runner(sim:runner())
  juju.set_env(env)
  process.set_runner(process_runner(before.processes, processes))
  local root = make_tree(before.files)
  log.set_level(nil)   -- the threshold follows the event's JUJU_DEBUG
  local path = (ev.action and "actions/" or "hooks/") .. ev.name
  local ok, err = pcall(charm_mod.main, self.charm, path)
  file.set_root(nil)
  process.set_runner(nil)
  juju.set_env(nil)
  juju.set_runner(nil)
  local files = read_tree(root)

  local out = friendly_state(sim:finish(ok))
  out.files = ok and files or copy(before.files)
  out.processes = before.processes
  local run = {
    commands = sim.commands, logs = sim.logs, status_history = sim.status_history,
    action = sim.action, processes = processes, error = not ok and tostring(err) or nil,
  }
  return out, run
end

M.sim = sim_mod
return M
