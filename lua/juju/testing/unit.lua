--- A simulated unit: a charm's real `dispatch`, run for one event against
-- a state file, with real hook commands on `PATH` answered by the
-- simulator (`juju.testing.sim`) and its workload programs by stand-ins.
--
--     dispatch --simulate build/hello-lua.charm install --state state.json
--     dispatch --simulate charm-template/machine config-changed --state state.json --config port=9000
--     dispatch --simulate build/hello-lua.charm greet name=Ada --state state.json
--
-- The charm (a packed `.charm`, unpacked as Juju unpacks it, or a
-- directory) runs exactly as on a unit: its `dispatch` (or, for a source
-- directory without one, this binary) is started with the environment
-- Juju gives the event, no shell, cwd the charm directory. Its hook
-- commands are found on `PATH` in a session directory: links to this
-- binary, which, named so and with `DISPATCH_SIM_SESSION` set, answers one
-- command from the session's state and exits (@{command}). Workload
-- programs go through `DISPATCH_PROCESS_WRAPPER` to the same binary named
-- `dispatch-workload` (@{workload}), which records them and answers as
-- the state's `processes` say. Files live under `DISPATCH_FILE_ROOT`, a
-- tree filled from the state's `files`. A Kubernetes charm's containers
-- (the state's `containers`) are each a fake Pebble (`juju.testing.pebble`)
-- kept in the session: the charm's `juju.pebble` finds
-- `DISPATCH_PEBBLE_SIM` (the session directory) in its environment and
-- sends every request there instead of to a socket, loading and saving
-- the session as the hook commands do.
--
-- The state file is the JSON form of `juju.testing`'s state; the new state
-- is written back to it (or to `--out`), with Juju's rules for a failed
-- hook (only statuses, logs and the workload version kept).
-- @module juju.testing.unit

local juju = require "juju"
local sys = require "juju.sys"
local event_mod = require "juju.event"
local testing = require "juju.testing"
local sim_mod = require "juju.testing.sim"
local events = require "juju.testing.events"
local consistency = require "juju.testing.consistency"
local memfs = require "juju.testing.memfs"
local pebble_fake = require "juju.testing.pebble"
local json = juju.json

local M = {}

local copy = sim_mod.copy

M.USAGE = [[
usage: dispatch --simulate [OPTIONS] CHARM EVENT [KEY=VALUE...]

Run CHARM (a packed .charm or a charm directory) for one EVENT on a
simulated unit: its real dispatch, real hook commands on PATH answered from
a state file by a simulated Juju, workload programs answered by stand-ins,
files under a private root. Prints what happened; writes the new state.

EVENT is a hook name (install, config-changed, website-relation-joined,
data-storage-attached, secret-rotate, ...) or an action the charm declares,
its parameters as KEY=VALUE (values read as JSON when they parse, else
text; --string-args keeps them all text).

The state:
  --state FILE        start from FILE (JSON; a fresh state if it does not
                      exist) and write the new state back to it
  --out FILE          write the new state to FILE instead ('-': stdout)
  --config KEY=VALUE  set a config option first (as `juju config` would)
  --leader / --no-leader
  --relate ENDPOINT:APP[/N,...]
                      add a relation to APP (units APP/N; default APP/0)
                      first, and make it the event's relation
  --remote-data KEY=VALUE
                      set a key in the event's remote unit's data first
The event:
  --relation ID       its relation (N or endpoint:N; default: the only one
                      on the endpoint)
  --remote-unit UNIT  --departing-unit UNIT  --no-remote-unit (an app-level
                      relation-changed)
  --secret ID         --label LABEL  --revision N
  --storage ID        --notice-key KEY  --notice-id ID  --notice-type TYPE
  --check NAME        --base BASE  --id ACTION-ID
The containers (Kubernetes charms): the state's "containers", each a fake
Pebble the charm's juju.pebble reaches (layers, services, files, execs,
checks, notices; see juju.testing.pebble).
The unit:
  --unit NAME         default <charm name>/0
  --juju-version V    default 3.6.0
  --timeout SECONDS   for the hook (default 300)
Output:
  --trace             trace the hook (DISPATCH_TRACE=1 in its environment: each
                      hook command's cost on its stderr, shown after it)
  --json              print the run as JSON instead of the transcript
  --quiet             print nothing (the exit status and the state say)

Exit status: 0 when the hook succeeded, 1 when it failed, 2 for a usage
error or a state Juju could not be in.]]

-- ------------------------------------------------------------ files

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

local function write_json(path, value, sync)
  local ok, err = sys.write_file(path, json.encode(value, { indent = 2 }) .. "\n", { mode = 420, sync = sync })
  if not ok then error(err, 0) end
end

--- Remove a directory tree (no symlink is followed).
local function remove_tree(dir)
  local entries = sys.listdir(dir)
  for _, e in ipairs(entries or {}) do
    local path = dir .. "/" .. e.name
    if e.type == "directory" then remove_tree(path) else os.remove(path) end
  end
  os.remove(dir)
end
M.remove_tree = remove_tree

--- Every file under root: path (from root) -> content, and every directory.
local function read_tree(root)
  local files, dirs = {}, {}
  local function walk(dir, rel)
    for _, e in ipairs(assert(sys.listdir(dir))) do
      local full, r = dir .. "/" .. e.name, rel .. "/" .. e.name
      if e.type == "directory" then
        dirs[#dirs + 1] = r
        walk(full, r)
      elseif e.type == "file" then
        files[r] = assert(read_file(full))
      end
    end
  end
  walk(root, "")
  return files, dirs
end

--- Make the directory path (absolute, in the unit's tree) under root,
-- with its parents; made (a set of paths) skips those already made.
local function make_dirs(root, path, made)
  local sofar = ""
  for part in path:gmatch("[^/]+") do
    sofar = sofar .. "/" .. part
    if not (made and made[sofar]) then
      local ok, err = sys.mkdir(root .. sofar, 493)
      if not ok then error(err, 0) end
      if made then made[sofar] = true end
    end
  end
end

--- Fill root with the state's files and directories, and the standard
-- directories of a machine.
local function fill_tree(root, files, dirs)
  assert(sys.mkdir(root, 493))
  local made = {}
  for _, d in ipairs(memfs.STANDARD_DIRS) do make_dirs(root, d, made) end
  for _, d in ipairs(dirs or {}) do make_dirs(root, d, made) end
  -- (paths were checked with the state: absolute, no "..")
  for path, content in pairs(files or {}) do
    make_dirs(root, path:match("^(.*)/[^/]*$"), made)
    local ok, err = sys.write_file(root .. path, content, { mode = 420, sync = false })
    if not ok then error(err, 0) end
  end
end

-- ------------------------------------------------------------ state files

--- A state as JSON would hold it: lists as arrays even when empty,
-- secret revisions and grants as objects.
local function to_json_state(state)
  local s = copy(state)
  if s.deferred and #s.deferred == 0 then s.deferred = nil end
  for _, key in ipairs { "relations", "secrets", "opened_ports", "storage", "deferred", "processes", "dirs" } do
    if s[key] ~= nil then s[key] = json.array(s[key]) end
  end
  for _, sec in ipairs(s.secrets or {}) do
    sec.revisions = json.object(sec.revisions or {})
    if sec.grants then sec.grants = json.object(sec.grants) end
  end
  for _, r in ipairs(s.relations or {}) do
    r.remote_units = json.array(r.remote_units or {})
  end
  s.containers = pebble_fake.to_json(s.containers)
  return s
end
M.to_json_state = to_json_state

--- Read a state file (a fresh state when there is none).
-- @tparam ?string path
-- @treturn table
function M.read_state(path)
  if path == nil then return {} end
  local text, err = read_file(path)
  if not text then
    if err:find("No such file") then return {} end
    error({ usage = "cannot read the state: " .. err }, 0)
  end
  local ok, state = pcall(json.decode, text)
  if not ok then error({ usage = ("cannot read the state: %s: %s"):format(path, state) }, 0) end
  if type(state) ~= "table" then
    error({ usage = ("cannot read the state: %s holds no JSON object"):format(path) }, 0)
  end
  sim_mod.fix_revisions(state.secrets)
  return state
end

-- ------------------------------------------------------------ the session

--- The session directory of a hook command or stand-in.
local function session_dir(argv0)
  local dir = os.getenv("DISPATCH_SIM_SESSION")
  if dir and dir ~= "" then return dir end
  if argv0 and argv0:find("/") then return argv0:match("^(.*)/bin/[^/]*$") end
end

local function load_session(dir)
  local text, err = read_file(dir .. "/session.json")
  if not text then error("no simulated unit here: " .. err, 0) end
  return json.decode(text)
end

--- A hook command, in a simulated unit's session: answer it from the
-- session's state, keep what changed, exit as Juju's command would.
-- @tparam {string,...} argv as the process got it
-- @treturn int the exit status
function M.command(argv)
  local dir = session_dir(argv[0])
  local ok, session = pcall(load_session, dir or "")
  if not ok then
    io.stderr:write(("%s: %s\n"):format(argv[0], session))
    return 1
  end
  local sim = sim_mod.restore(session.sim)
  local full = { (argv[0]:match("[^/]*$")) }
  for i = 1, #argv do full[i + 1] = argv[i] end
  local stdin = io.stdin:read("a")
  local code, out, err = sim:run(full, stdin)
  session.sim = sim:save()
  write_json(dir .. "/session.json", session, false)
  io.stdout:write(out)
  io.stderr:write(err)
  return code
end

--- A workload program, in a simulated unit's session: record it, do
-- what the state's `processes` say it does (its `files`), answer with its
-- output and exit status (0 and nothing for a program the state does not
-- name).
-- @tparam {string,...} argv `dispatch-workload PROGRAM ARGS...` as the process got it
-- @treturn int the exit status
function M.workload(argv)
  local dir = session_dir(argv[0])
  local ok, session = pcall(load_session, dir or "")
  if not ok then
    io.stderr:write(("dispatch-workload: %s\n"):format(session))
    return 1
  end
  local call = { argv = {}, stdin = io.stdin:read("a") }
  for i = 1, #argv do call.argv[i] = argv[i] end
  if call.stdin == "" then call.stdin = nil end
  local answer = testing.process_answer(session.processes, call.argv)
  local code = 0
  if answer and answer.missing then
    code = 127
    io.stderr:write(("cannot run %s: No such file or directory\n"):format(call.argv[1] or "?"))
  elseif answer then
    code = answer.code or 0
    for path, content in pairs(answer.files or {}) do
      make_dirs(session.root, path:match("^(.*)/[^/]*$"))
      sys.write_file(session.root .. path, content, { mode = 420, sync = false })
    end
    io.stdout:write(answer.stdout or "")
    io.stderr:write(answer.stderr or "")
  end
  call.code = code
  session.calls[#session.calls + 1] = call
  session.calls = json.array(session.calls)
  write_json(dir .. "/session.json", session, false)
  return code
end

-- ------------------------------------------------------------ running

local function fail_usage(msg) error({ usage = msg }, 0) end

--- Where scratch directories go: TMPDIR when set, else /dev/shm (memory:
-- making and removing the session's few hundred entries costs nothing
-- there) when it is a directory we can write, else /tmp.
local function scratch_base()
  local t = os.getenv("TMPDIR")
  if t and t ~= "" then return (t:gsub("/+$", "")) end
  local probe = sys.mkdtemp("/dev/shm/dispatch-probe.")
  if probe then
    os.remove(probe)
    return "/dev/shm"
  end
  return "/tmp"
end

local function charm_root(path)
  local real, err = sys.realpath(path)
  if not real then fail_usage("no charm at " .. path .. ": " .. err:gsub("^realpath [^:]*: ", "")) end
  local entries = sys.listdir(real)
  if entries then return real, nil end
  -- a file: a packed charm
  if not sys.unzip then fail_usage("this dispatch cannot unpack " .. path) end
  local dir = assert(sys.mkdtemp(scratch_base() .. "/dispatch-charm."))
  local ok, uerr = sys.unzip(real, dir)
  if not ok then
    remove_tree(dir)
    fail_usage(("cannot unpack %s: %s"):format(path, uerr))
  end
  return dir, dir
end

local function run_unpacked(root_dir, meta, opts)
  local session
  local ok, out, record = pcall(function()
    local app = opts.unit and opts.unit:match("^(.*)/%d+$") or meta.name
    local unit = opts.unit or (app .. "/0")
    local e = events.from(opts.event)
    local okp, state, ev = pcall(consistency.prepare, opts.state or {}, e, { meta = meta, app = app, unit = unit })
    if not okp then fail_usage(state) end
    local env, hook = events.environment(ev, state, {
      unit = unit, charm_dir = root_dir, juju_version = opts.juju_version or "3.6.0",
    })
    hook.bindings = testing.bindings(meta)

    session = assert(sys.mkdtemp(scratch_base() .. "/dispatch-sim."))
    local self_exe = opts.self or assert(sys.realpath("/proc/self/exe"))
    assert(sys.mkdir(session .. "/bin", 493))
    for _, name in ipairs(sim_mod.commands()) do
      assert(sys.symlink(self_exe, session .. "/bin/" .. name))
    end
    assert(sys.symlink(self_exe, session .. "/bin/dispatch-workload"))
    local root = session .. "/root"
    fill_tree(root, state.files, state.dirs)

    local before = copy(state)
    local files_before, dirs_before = state.files or {}, state.dirs
    local processes = state.processes
    local fake = pebble_fake.new(state.containers, { meta = meta })
    local sim = sim_mod.new(testing.sim_state(state), hook, { take = true })
    write_json(session .. "/session.json", {
      sim = sim:save(), processes = json.array(copy(processes or {})), calls = json.array(), root = root,
      pebble = fake:save(),
    }, false)

    env.PATH = session .. "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env.DISPATCH_TRANSPORT = "exec"
    env.DISPATCH_SIM_SESSION = session
    env.DISPATCH_FILE_ROOT = root
    env.DISPATCH_PROCESS_WRAPPER = session .. "/bin/dispatch-workload"
    env.DISPATCH_PEBBLE_SIM = session
    env.TMPDIR = os.getenv("TMPDIR")
    if opts.trace then env.DISPATCH_TRACE = "1" end
    local dispatch = root_dir .. "/dispatch"
    if not sys.listdir(root_dir) or not io.open(dispatch, "rb") then dispatch = self_exe end
    local t0 = sys.monotime()
    local code, stdout, stderr, timed_out = sys.spawn({ dispatch }, {
      env = env, cwd = root_dir, timeout = opts.timeout or 300,
    })
    local seconds = sys.monotime() - t0
    if code == nil then error(("cannot run %s: %s"):format(dispatch, stdout), 0) end

    local saved = load_session(session)
    sim = sim_mod.restore(saved.sim)
    local succeeded = code == 0
    local after
    if succeeded then
      after = sim:finish(true)
      local files, dirs = read_tree(root)
      local tree = memfs.new(files, dirs)
      after.files = files
      after.dirs = tree:dirs()
      if #after.dirs == 0 then after.dirs = nil end
    else
      -- before is this run's own copy: the sim may take it over
      after = sim:finish(false, testing.sim_state(before))
      after.files, after.dirs = files_before, dirs_before
    end
    after = testing.friendly_stored(after)
    after.processes = processes
    -- the containers keep what Pebble did, whether the hook failed or not
    local pebble_after = pebble_fake.restore(saved.pebble or {})
    local containers = pebble_after:state()
    after.containers = next(containers) and containers or nil
    if next(after.files or {}) == nil then after.files = nil end
    local first_err = stderr:match("[^\n]*%S[^\n]*") or ""
    return after, {
      commands = sim.commands, processes = saved.calls, logs = sim.logs, status_history = sim.status_history,
      pebble = pebble_after:records(),
      action = sim.action, removed_secret_revisions = sim.removed_revisions, event = ev, env = env,
      code = code, stdout = stdout, stderr = stderr, seconds = seconds,
      error = not succeeded and (timed_out and ("the hook timed out after %g s"):format(opts.timeout or 300)
                                  or (first_err ~= "" and first_err or ("exit status " .. code))) or nil,
    }
  end)
  if session then remove_tree(session) end
  if not ok then error(out, 0) end
  return out, record
end

--- The charm's directory (unpacked when packed: the second result is
-- then the directory to remove) and its metadata.
local function open_charm(path)
  local metadata = require "juju.testing.metadata"
  local root_dir, unpacked = charm_root(path)
  local ok, meta = pcall(metadata.load, root_dir)
  if not ok then
    if unpacked then remove_tree(unpacked) end
    fail_usage(meta)
  end
  return root_dir, unpacked, meta
end

--- Run one event on a simulated unit.
-- @tparam table opts `charm` (a `.charm` file or a charm directory),
-- `event` (an event from `juju.testing.on`, or a hook name), `state` (a
-- state table; not changed), `unit` (default `<name>/0`), `juju_version`,
-- `timeout` (seconds, default 300), `self` (this binary's path, for the
-- hook commands: default the running executable)
-- @treturn table the state after
-- @treturn table the run: `commands`, `processes`, `logs`,
-- `status_history`, `action`, `event`, `env`, `code` (dispatch's exit
-- status), `stdout`, `stderr`, `seconds` (the hook's wall time),
-- `error` (when the hook failed)
-- @raise `{usage = message}` for a charm that cannot be found or a state
-- Juju could not be in
-- @usage local out, run = unit.run{ charm = "build/hello-lua.charm", event = "install", state = {} }
function M.run(opts)
  local root_dir, unpacked, meta = open_charm(opts.charm)
  local ok, out, record = pcall(run_unpacked, root_dir, meta, opts)
  if unpacked then remove_tree(unpacked) end
  if not ok then error(out, 0) end
  return out, record
end

-- ------------------------------------------------------------ the command line

local VALUE_FLAGS = {
  ["--state"] = "state", ["--out"] = "out", ["--unit"] = "unit", ["--relation"] = "relation",
  ["--remote-unit"] = "remote_unit", ["--departing-unit"] = "departing_unit", ["--secret"] = "secret",
  ["--label"] = "label", ["--revision"] = "revision", ["--storage"] = "storage", ["--notice-key"] = "notice_key",
  ["--notice-id"] = "notice_id", ["--notice-type"] = "notice_type", ["--check"] = "check", ["--base"] = "base",
  ["--id"] = "id", ["--juju-version"] = "juju_version", ["--timeout"] = "timeout",
}
local LIST_FLAGS = { ["--config"] = "config", ["--relate"] = "relate", ["--remote-data"] = "remote_data" }
local BOOL_FLAGS = {
  ["--json"] = "json", ["--quiet"] = "quiet", ["--leader"] = "leader", ["--no-leader"] = "no_leader",
  ["--no-remote-unit"] = "no_remote_unit", ["--string-args"] = "string_args", ["--help"] = "help",
  ["--trace"] = "trace",
  ["-h"] = "help",
}

local function parse_args(args)
  local o = { config = {}, relate = {}, remote_data = {}, positional = {} }
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^(%-%-[^=]+)=(.*)$")
    name = name or a
    if VALUE_FLAGS[name] or LIST_FLAGS[name] then
      if value == nil then
        i = i + 1
        value = args[i]
        if value == nil then fail_usage(name .. " needs a value") end
      end
      if VALUE_FLAGS[name] then
        o[VALUE_FLAGS[name]] = value
      else
        local list = o[LIST_FLAGS[name]]
        list[#list + 1] = value
      end
    elseif BOOL_FLAGS[name] and value == nil then
      o[BOOL_FLAGS[name]] = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      fail_usage("unknown option " .. a)
    else
      o.positional[#o.positional + 1] = a
    end
    i = i + 1
  end
  return o
end

--- A KEY=VALUE word: the value as JSON when it parses, else text.
local function key_value(word, what, as_text)
  local k, v = word:match("^([^=]+)=(.*)$")
  if not k then fail_usage(("%s: '%s' is not KEY=VALUE"):format(what, word)) end
  if not as_text then
    local okj, decoded = pcall(json.decode, v)
    if okj and decoded ~= nil and (type(decoded) ~= "table" or v:match("^%s*[%[{]")) then return k, decoded end
  end
  return k, v
end

local function only(list, what, pred)
  local found
  for _, x in ipairs(list or {}) do
    if pred(x) then
      if found then fail_usage(("several %s: say which with %s"):format(what[1], what[2])) end
      found = x
    end
  end
  if not found then fail_usage(("the state has no %s (%s)"):format(what[3], what[2])) end
  return found
end

--- The event the command line names, and the state changed as it asks.
local function event_from_args(o, meta, state)
  local name = o.positional[2]
  for _, c in ipairs(o.config) do
    local k, v = key_value(c, "--config")
    state.config = state.config or {}
    state.config[k] = v
  end
  if o.leader then state.leader = true end
  if o.no_leader then state.leader = false end
  local related
  for _, spec in ipairs(o.relate) do
    local endpoint, app, units = spec:match("^([^:]+):([^/]+)/?(.*)$")
    if not endpoint then fail_usage(("--relate %s: ENDPOINT:APP[/N,...] expected"):format(spec)) end
    local max = -1
    for _, r in ipairs(state.relations or {}) do if math.type(r.id) == "integer" then max = math.max(max, r.id) end end
    local r = { id = max + 1, endpoint = endpoint, remote_app = app, remote_units = {} }
    for n in (units ~= "" and units or "0"):gmatch("[^,]+") do r.remote_units[#r.remote_units + 1] = app .. "/" .. n end
    local ep = meta.endpoints[endpoint]
    if ep and ep.role == "peers" then r.remote_app = nil end
    state.relations = state.relations or {}
    state.relations[#state.relations + 1] = r
    related = r
  end

  local spec = event_mod.parse(name)
  if not spec then
    if meta.actions[name] then
      local params = {}
      for i = 3, #o.positional do
        local k, v = key_value(o.positional[i], name, o.string_args)
        params[k] = v
      end
      return events.action(name, params, { id = o.id })
    end
    fail_usage(("'%s' is no event Juju sends, and the charm has no such action"):format(name))
  end
  if #o.positional > 2 then fail_usage(("%s takes no KEY=VALUE parameters"):format(name)) end
  local kind = spec.kind
  if spec.endpoint then
    local r
    if o.relation then
      local _, id = event_mod.parse_relation_id(o.relation)
      id = id or math.tointeger(tonumber(o.relation))
      if not id then fail_usage(("--relation %s: N or endpoint:N expected"):format(o.relation)) end
      r = only(state.relations, { "", "", "relation " .. o.relation }, function(x) return x.id == id end)
    elseif related and related.endpoint == spec.endpoint then
      r = related
    else
      r = only(state.relations, { "relations on " .. spec.endpoint, "--relation", "relation on " .. spec.endpoint
        .. " (add one with --relate " .. spec.endpoint .. ":APP)" }, function(x) return x.endpoint == spec.endpoint end)
    end
    local remote_unit = o.remote_unit
    if o.no_remote_unit then remote_unit = false end
    local ctor = events["relation_" .. kind:match("^relation%-(.*)$")]
    local e = ctor(r.id, { remote_unit = remote_unit, departing_unit = o.departing_unit })
    e.endpoint = spec.endpoint
    if #o.remote_data > 0 then
      local unit = remote_unit or (r.remote_units or {})[1]
      if not unit then fail_usage("--remote-data: the relation has no remote unit") end
      r.remote_units_data = r.remote_units_data or {}
      r.remote_units_data[unit] = r.remote_units_data[unit] or {}
      for _, kv in ipairs(o.remote_data) do
        local k, v = kv:match("^([^=]+)=(.*)$")
        if not k then fail_usage(("--remote-data: '%s' is not KEY=VALUE"):format(kv)) end
        r.remote_units_data[unit][k] = v
      end
    end
    return e
  elseif spec.storage then
    local st = o.storage and { id = o.storage } or only(state.storage, { "storage " .. spec.storage, "--storage",
      "storage " .. spec.storage }, function(x) return x.id:match("^(.*)/") == spec.storage end)
    return events[kind:gsub("%-", "_")](st.id)
  elseif spec.container then
    if kind == "pebble-ready" then return events.pebble_ready(spec.container) end
    if kind == "pebble-custom-notice" then
      if not o.notice_key then fail_usage(name .. " needs --notice-key") end
      return events.pebble_custom_notice(spec.container, { key = o.notice_key, id = o.notice_id,
                                                           type = o.notice_type })
    end
    if not o.check then fail_usage(name .. " needs --check") end
    return events[kind:gsub("%-", "_")](spec.container, o.check)
  elseif kind:match("^secret%-") then
    local sec
    if o.secret then
      sec = { id = o.secret }
    else
      local owned = kind ~= "secret-changed"
      sec = only(state.secrets, { "secrets", "--secret", owned and "secret of this application's"
        or "secret shared with this application" }, function(x)
          return (o.label == nil or x.label == o.label) and ((x.owner ~= nil) == owned)
        end)
    end
    local revision = o.revision and math.tointeger(tonumber(o.revision))
    if o.revision and not revision then fail_usage("--revision: a number expected") end
    return events[kind:gsub("%-", "_")](sec.id, { label = o.label, revision = revision })
  elseif kind == "pre-series-upgrade" then
    return events.pre_series_upgrade { base = o.base }
  end
  return events[(kind:gsub("%-", "_"))]()
end

-- ------------------------------------------------------------ the transcript

local function words(argv)
  local out = {}
  for i, w in ipairs(argv) do
    -- quoted when it must be, a line break as \n (%q writes a backslash
    -- and the line break itself, which would break the transcript's line)
    out[i] = (w == "" or w:find("[%s\"'\\]")) and (("%q"):format(w):gsub("\\\n", "\\n")) or w
  end
  return table.concat(out, " ")
end

local function sorted_names(t)
  local out = {}
  for k in pairs(t or {}) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local function bag_text(bag)
  local keys = {}
  for k in pairs(bag or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = ("%s=%s"):format(k, bag[k]) end
  return table.concat(parts, " ")
end

local function status_text(st)
  if not st then return "unknown" end
  return st.name .. (st.message and st.message ~= "" and (": " .. st.message) or "")
end

--- A word on what a request to a container's Pebble did, for the
-- transcript: the files a POST /v1/files wrote (or the directories it
-- made, the paths it removed), the layer added, what a service change
-- stopped and started, the signal sent, the checks started or stopped,
-- the notice recorded. service_changes: the container's service changes
-- (not execs), in order, taken one by one as their requests come.
local function pebble_note(r, service_changes)
  local b = type(r.body) == "table" and r.body or {}
  local function paths(list)
    local out = {}
    for _, item in ipairs(type(list) == "table" and list or {}) do
      if type(item) == "table" and type(item.path) == "string" then out[#out + 1] = item.path end
    end
    return table.concat(out, ", ")
  end
  local function names(list)
    local out = {}
    for _, n in ipairs(type(list) == "table" and list or {}) do out[#out + 1] = tostring(n) end
    return table.concat(out, ", ")
  end
  if r.method ~= "POST" or not r.status or r.status >= 400 then return nil end
  if r.target == "/v1/files" then
    if b.action == "write" then return "write " .. paths(b.files) end
    if b.action == "make-dirs" then return "make dirs " .. paths(b.dirs) end
    if b.action == "remove" then return "remove " .. paths(b.paths) end
  elseif r.target == "/v1/layers" and type(b.label) == "string" then
    return ("add layer %s%s"):format(b.label, b.combine and " (combine)" or "")
  elseif r.target == "/v1/services" then
    local ch = table.remove(service_changes, 1)
    if not ch then return nil end
    local did = {}
    if ch.stopped and #ch.stopped > 0 then did[#did + 1] = "stopped " .. names(ch.stopped) end
    if ch.started and #ch.started > 0 then did[#did + 1] = "started " .. names(ch.started) end
    if ch.err then did[#did + 1] = "failed: " .. (tostring(ch.err):match("[^\n]*$") or "") end
    return ("%s: %s"):format(ch.kind, #did > 0 and table.concat(did, "; ") or "nothing to do")
  elseif r.target == "/v1/signals" and type(b.signal) == "string" then
    return b.signal .. " to " .. names(b.services)
  elseif r.target == "/v1/checks" and type(b.action) == "string" then
    return b.action .. " " .. names(b.checks)
  elseif r.target == "/v1/notices" and type(b.key) == "string" then
    return "notify " .. b.key
  end
  return nil
end

--- What a person reads of one run.
-- @tparam table before the state before
-- @tparam table after the state after
-- @tparam table run the run record
-- @treturn string
function M.transcript(before, after, run)
  local lines = {}
  local function add(fmt, ...) lines[#lines + 1] = fmt:format(...) end
  local ev = run.event
  local what = ev.kind == "action" and ("action " .. ev.action) or ev.name
  add("== %s   %.1f ms, %s", what, run.seconds * 1000,
    run.code == 0 and "ok" or ("FAILED (exit status " .. tostring(run.code) .. ")"))
  local extra = {}
  for _, k in ipairs { "JUJU_RELATION_ID", "JUJU_REMOTE_UNIT", "JUJU_DEPARTING_UNIT", "JUJU_SECRET_ID",
                       "JUJU_SECRET_LABEL", "JUJU_SECRET_REVISION", "JUJU_STORAGE_ID", "JUJU_WORKLOAD_NAME" } do
    if run.env[k] and run.env[k] ~= "" then extra[#extra + 1] = k .. "=" .. run.env[k] end
  end
  if ev.kind == "action" then
    extra[#extra + 1] = "params " .. json.encode(ev.params or {})
  end
  if #extra > 0 then add("   %s", table.concat(extra, "  ")) end
  if #run.commands > 0 then
    add("   hook commands:")
    for _, c in ipairs(run.commands) do
      add("     %s%s", words(c.argv), c.code ~= 0 and ("   -> exit " .. tostring(c.code)) or "")
    end
  end
  if #run.processes > 0 then
    add("   workload programs:")
    for _, p in ipairs(run.processes) do
      add("     %s%s", words(p.argv), p.code ~= 0 and ("   -> exit " .. tostring(p.code)) or "")
    end
  end
  for _, name in ipairs(sorted_names(run.pebble)) do
    local rec = run.pebble[name]
    if #rec.requests > 0 then
      add("   pebble %s:", name)
      local execs = 0
      local service_changes = {}
      for _, ch in ipairs(rec.changes or {}) do
        if ch.kind ~= "exec" then service_changes[#service_changes + 1] = ch end
      end
      for _, r in ipairs(rec.requests) do
        local note = r.refused and "   -> cannot connect" or (r.status and r.status >= 400 and ("   -> " .. r.status))
          or ""
        if r.method == "POST" and r.target == "/v1/exec" and r.status == 202 then
          execs = execs + 1
          local x = rec.execs[execs]
          if x then note = "   " .. words(x.argv) .. (x.code ~= 0 and ("   -> exit " .. tostring(x.code)) or "") end
        else
          local did = pebble_note(r, service_changes)
          if did then note = "   " .. did end
        end
        add("     %s %s%s", r.method, r.target, note)
      end
    end
  end
  for _, l in ipairs(run.logs) do add("   log %s: %s", l.level, l.message) end
  local changed = {}
  local fb, fa = before.files or {}, after.files or {}
  for path in pairs(fa) do
    if fb[path] ~= fa[path] then changed[#changed + 1] = (fb[path] and "~ " or "+ ") .. path end
  end
  for path in pairs(fb) do if fa[path] == nil then changed[#changed + 1] = "- " .. path end end
  table.sort(changed, function(a, b) return a:sub(3) < b:sub(3) end)
  if #changed > 0 then add("   files: %s", table.concat(changed, ", ")) end
  for _, r in ipairs(after.relations or {}) do
    local old
    for _, o in ipairs(before.relations or {}) do if o.id == r.id then old = o end end
    for _, bag in ipairs { "local_unit_data", "local_app_data" } do
      local a, b = bag_text(r[bag]), bag_text(old and old[bag])
      if a ~= b then add("   relation %s:%d %s: %s", r.endpoint, r.id, bag:gsub("_data$", ""):gsub("_", " "), a) end
    end
  end
  local function ports(list)
    local t = {}
    for _, p in ipairs(list or {}) do t[#t + 1] = sim_mod.port_text(p) end
    table.sort(t)
    return table.concat(t, " ")
  end
  if ports(before.opened_ports) ~= ports(after.opened_ports) then
    add("   opened ports: %s", ports(after.opened_ports) ~= "" and ports(after.opened_ports) or "none")
  end
  local nb = #(before.secrets or {})
  for i, sec in ipairs(after.secrets or {}) do
    local revs = 0
    for _ in pairs(sec.revisions or {}) do revs = revs + 1 end
    local old
    for _, o in ipairs(before.secrets or {}) do if o.id == sec.id then old = o end end
    local old_revs = 0
    for _ in pairs(old and old.revisions or {}) do old_revs = old_revs + 1 end
    if i > nb and not old then
      add("   secret added: %s%s", sec.id, sec.label and (" (" .. sec.label .. ")") or "")
    elseif old and revs ~= old_revs then
      local latest = 0
      for rev in pairs(sec.revisions) do latest = math.max(latest, rev) end
      add("   secret %s: revision %d", sec.id, latest)
    end
    local granted = {}
    for rel, who in pairs(sec.grants or {}) do
      if not (old and old.grants and old.grants[rel] == who) then
        granted[#granted + 1] = ("%s (relation %s)"):format(who, rel)
      end
    end
    table.sort(granted)
    if #granted > 0 then add("   secret %s granted to %s", sec.id, table.concat(granted, ", ")) end
  end
  if run.action then
    if next(run.action.results or {}) then add("   action results: %s", json.encode(run.action.results)) end
    for _, l in ipairs(run.action.logs or {}) do add("   action log: %s", l) end
    if run.action.failure then add("   action failed: %s", run.action.failure) end
  end
  if #(after.deferred or {}) > 0 then
    local names = {}
    for i, d in ipairs(after.deferred) do names[i] = d.event end
    add("   deferred: %s", table.concat(names, ", "))
  end
  if after.workload_version ~= before.workload_version then add("   workload version: %s", after.workload_version) end
  add("   status: unit %s%s", status_text(after.unit_status),
    after.app_status and ("; app " .. status_text(after.app_status)) or "")
  if run.error or (run.env.DISPATCH_TRACE and run.stderr ~= "") then
    if run.error then add("   error: %s", run.error) end
    for line in (run.stderr or ""):gmatch("[^\n]+") do add("     | %s", line) end
  end
  return table.concat(lines, "\n") .. "\n"
end

--- Run the simulated unit from its command line.
-- (`dispatch --simulate ARGS...`)
-- @tparam {string,...} args the arguments after `--simulate`
-- @treturn int the exit status
function M.main(args)
  local ok, code = pcall(function()
    local o = parse_args(args)
    if o.help then
      io.stdout:write(M.USAGE, "\n")
      return 0
    end
    if #o.positional < 2 then fail_usage("a charm and an event are needed") end
    local state = M.read_state(o.state)
    local before
    local timeout = o.timeout and tonumber(o.timeout)
    if o.timeout and not (timeout and timeout > 0) then fail_usage("--timeout: a positive number of seconds") end
    local root_dir, unpacked, meta = open_charm(o.positional[1])
    local okr, out, run = pcall(function()
      local e = event_from_args(o, meta, state)
      before = copy(state)
      return run_unpacked(root_dir, meta, { event = e, state = state, unit = o.unit,
                                            juju_version = o.juju_version, timeout = timeout, trace = o.trace })
    end)
    if unpacked then remove_tree(unpacked) end
    if not okr then error(out, 0) end
    local target = o.out or o.state
    if target == "-" then
      io.stdout:write(json.encode(to_json_state(out), { indent = 2 }), "\n")
    elseif target then
      write_json(target, to_json_state(out), true)
    end
    if o.json then
      local r = copy(run)
      r.commands, r.processes, r.logs = json.array(r.commands), json.array(r.processes), json.array(r.logs)
      r.status_history = json.array(r.status_history)
      r.event = nil
      r.event_name = run.event.name
      io.stdout:write(json.encode(r, { indent = 2 }), "\n")
    elseif not o.quiet and target ~= "-" then
      io.stdout:write(M.transcript(before, out, run))
    end
    return run.code == 0 and 0 or 1
  end)
  if ok then return code end
  if type(code) == "table" and code.usage then
    io.stderr:write("dispatch --simulate: ", tostring(code.usage), "\n")
    if tostring(code.usage):find("needed") then io.stderr:write("\n", M.USAGE, "\n") end
    return 2
  end
  io.stderr:write("dispatch --simulate: ", tostring(code), "\n")
  return 1
end

return M
