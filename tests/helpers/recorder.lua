--- A fake Juju for the `juju` module's test seam (`juju.set_runner`).
--
-- A recorder is a runner that remembers every call (argv and stdin) and
-- answers each hook command from canned output keyed by the command name
-- (`argv[1]`). The C side still builds argv and stdin, decodes JSON, shapes
-- results and raises errors, so specs see exactly what Juju would be sent.
--
--     local recorder = require "helpers.recorder"
--     local rec = recorder.install(juju, { ["is-leader"] = { 0, "true\n", "" } })
--     assert.is_true(juju.is_leader())
--     assert.same({ "is-leader", "--format=json" }, rec:last().argv)
--
-- Inside a `describe`, @{setup} does the per-test install and uninstall.
--
-- @module helpers.recorder

local M = {}

--- Output a command gets when a spec gives no answer for it: the smallest
-- well-formed Juju output (JSON for `--format=json` commands, nothing for
-- the rest).
M.DEFAULT_STDOUT = {
  ["action-get"] = "{}\n",
  ["config-get"] = "{}\n",
  ["credential-get"] = '{"type":"lxd","name":"localhost"}\n',
  ["goal-state"] = '{"units":{},"relations":{}}\n',
  ["is-leader"] = "true\n",
  ["network-get"] = "{}\n",
  ["opened-ports"] = "[]\n",
  ["relation-get"] = "{}\n",
  ["relation-ids"] = "[]\n",
  ["relation-list"] = "[]\n",
  ["relation-model-get"] = '{"uuid":"0b7a3c1e-0000-4000-8000-000000000000"}\n',
  ["resource-get"] = "/var/lib/juju/agents/unit-app-0/resources/res/file",
  ["secret-add"] = "secret://0b7a3c1e-0000-4000-8000-000000000000/d0vh5m5hrdvs7oe4qrdg\n",
  ["secret-get"] = "{}\n",
  ["secret-ids"] = "null\n",
  ["secret-info-get"] = '{"d0vh5m5hrdvs7oe4qrdg":{"revision":1,"owner":"application"}}\n',
  ["state-get"] = "{}\n",
  ["status-get"] = '{"message":"","status":"unknown","status-data":{}}\n',
  ["storage-get"] = '{"kind":"filesystem","location":"/srv/data"}\n',
  ["storage-list"] = "[]\n",
}

local Recorder = {}
Recorder.__index = Recorder

--- Copy a sequence, so later changes by the module cannot alter a record.
local function copy_list(list)
  local out = {}
  for i = 1, #list do out[i] = list[i] end
  return out
end

--- Answer one call from the canned table.
-- An answer is `{returncode, stdout, stderr}` or a function
-- `(argv, stdin) -> returncode, stdout, stderr`.
local function answer(answers, argv, stdin)
  local canned = answers[argv[1]]
  if type(canned) == "function" then
    return canned(argv, stdin)
  elseif type(canned) == "table" then
    return canned[1], canned[2] or "", canned[3] or ""
  end
  return 0, M.DEFAULT_STDOUT[argv[1]] or "", ""
end

--- Create a recorder.
-- @tparam[opt] table answers command name -> answer (see above)
-- @treturn table the recorder; `rec.runner` is the function to install
function M.new(answers)
  local rec = setmetatable({ calls = {}, answers = answers or {} }, Recorder)
  rec.runner = function(argv, stdin)
    assert(type(argv) == "table", "runner got a non-table argv")
    rec.calls[#rec.calls + 1] = { argv = copy_list(argv), stdin = stdin }
    return answer(rec.answers, argv, stdin)
  end
  return rec
end

--- Create a recorder and install it as the module's runner.
-- @tparam table juju the loaded module
-- @tparam[opt] table answers command name -> answer
-- @treturn table the recorder
function M.install(juju, answers)
  local rec = M.new(answers)
  juju.set_runner(rec.runner)
  return rec
end

--- Give every test of the enclosing busted `describe` an empty recorder
-- as the module's runner, and take it out again after the test. Call it
-- inside `describe`; the spec's own `before_each` hooks registered after
-- it run after the reset, so they can add answers.
-- @tparam table juju the loaded module
-- @treturn table the recorder, one object for the whole block: its calls
-- and answers are emptied before each test
function M.setup(juju)
  -- Required here, not at the top: the rest of this module works without busted.
  local busted = require "busted"
  local rec = M.new()
  busted.before_each(function()
    rec.calls, rec.answers = {}, {}
    juju.set_runner(rec.runner)
  end)
  busted.after_each(function()
    juju.set_runner(nil)
  end)
  return rec
end

--- Number of calls recorded so far.
-- @treturn integer
function Recorder:count()
  return #self.calls
end

--- The most recent call, `{argv = {...}, stdin = s_or_nil}`.
-- @treturn table|nil
function Recorder:last()
  return self.calls[#self.calls]
end

--- Answer command `name` with `returncode, stdout, stderr` from now on.
-- @tparam string name the hook command, e.g. "relation-get"
-- @param rc_or_fn the return code, or a function (argv, stdin) -> rc, out, err
-- @tparam[opt] string stdout
-- @tparam[opt] string stderr
function Recorder:on(name, rc_or_fn, stdout, stderr)
  if type(rc_or_fn) == "function" then
    self.answers[name] = rc_or_fn
  else
    self.answers[name] = { rc_or_fn, stdout or "", stderr or "" }
  end
  return self
end

return M
