-- What crosses the process boundary, byte for byte: big outputs, big
-- stdin, hostile arguments, stdin when not fed, and inherited fds.

local hookenv = require "helpers.hookenv"

local juju = hookenv.juju()
-- Over the socket the agent, not this process, starts the tool: which fds
-- the tool gets is then up to the agent, so fd checks are for exec only.
local EXEC = hookenv.transport() == "exec"

local pattern = require("helpers.fs").pattern

local MiB = 1024 * 1024

describe("large outputs and inputs #integration", function()
  before_each(hookenv.reset)

  it("8 MiB on stdout and 8 MiB on stderr at once, exit 1, byte for byte", function()
    local value = pattern(8 * MiB, "%07d,")
    local stdout = '"' .. value .. '"\n'
    local stderr = pattern(8 * MiB, "E%06x\n")
    hookenv.respond("config-get", { stdout = stdout, stderr = stderr, exit = 1 })
    local ok, err = pcall(juju.config_get, "blob")
    assert.is_false(ok)
    assert.equal(1, err.returncode)
    assert.same({ "config-get", "--format=json", "blob" }, err.cmd)
    -- Compare lengths first: a mismatch message of 8 MiB helps nobody.
    assert.equal(#stdout, #err.stdout)
    assert.equal(#stderr, #err.stderr)
    assert.is_true(stdout == err.stdout, "stdout differs")
    assert.is_true(stderr == err.stderr, "stderr differs")
  end)

  it("an 8 MiB JSON string value decodes intact (with 8 MiB of stderr)", function()
    local value = pattern(8 * MiB, "%07d;")
    hookenv.respond("config-get", { stdout = '"' .. value .. '"\n', stderr = pattern(8 * MiB, "w%07d") })
    local got = juju.config_get("blob")
    assert.equal(#value, #got)
    assert.is_true(value == got, "value differs")
  end)

  it("4 MiB of relation data through stdin", function()
    local blob = pattern(4 * MiB, "r%06d.")
    juju.relation_set({ blob = blob, other = "x" }, 3)
    local rec = hookenv.call(1)
    assert.same({ "relation-set", "-r", "3", "--file", "-" }, rec.argv)
    local expected = '{"blob": "' .. blob .. '", "other": "x"}'
    assert.equal(#expected, #rec.stdin)
    assert.is_true(expected == rec.stdin, "stdin differs")
  end)

  it("fed stdin comes back through a tool that echoes it", function()
    hookenv.respond("state-set", { echo = true })
    juju.state_set({ k = "v" })
    assert.equal('{"k": "v"}', hookenv.call(1).stdin)
  end)

  -- JSON that Juju's YAML reader takes as written: printable non-ASCII raw
  -- (yaml.v2 refuses the surrogate-pair escapes Python's ensure_ascii makes),
  -- control characters and NEL escaped.
  it("relation data is JSON that Juju's YAML reader accepts", function()
    juju.relation_set({ k = 'say "hi"\n\tnow \u{e9} and a/b \u{1F600} \1 \u{85} back\\slash' }, 1)
    assert.equal('{"k": "say \\"hi\\"\\n\\tnow \u{e9} and a/b \u{1F600} \\u0001 \\u0085 back\\\\slash"}',
                 hookenv.call(1).stdin)
  end)
end)

describe("arguments arrive verbatim, never through a shell #integration", function()
  local tmp, mark

  before_each(function()
    hookenv.reset()
    tmp = hookenv.tmpdir()
    mark = tmp .. "/pwned"
  end)

  after_each(function()
    hookenv.rmtree(tmp)
  end)

  it("through juju.so in this process", function()
    local evil = ("it's \"quoted\" $(touch %s) `touch %s`; touch %s\nsecond line\ttab \\ end")
      :format(mark, mark, mark)
    juju.juju_log(evil, { level = "DEBUG" })
    juju.juju_log("-- --log-level ERROR")
    juju.status_set("maintenance", "--application=True -- $(touch " .. mark .. ")")
    hookenv.respond("relation-get", { stdout = '"v"\n' })
    juju.relation_get(3, { key = "-dash key 'q'", unit = "--unit/0 $(touch " .. mark .. ")" })
    hookenv.respond("config-get", { stdout = "null\n" })
    juju.config_get("--all")
    juju.action_log("  spaces  around  ")
    juju.action_fail("")
    juju.app_version_set("-v")
    juju.action_set({ msg = "a=b c;$(touch " .. mark .. ")" })
    assert.same({
      { "juju-log", "--log-level", "DEBUG", "--", evil },
      { "juju-log", "--log-level", "INFO", "--", "-- --log-level ERROR" },
      { "status-set", "--application=False", "maintenance", "--",
        "--application=True -- $(touch " .. mark .. ")" },
      { "relation-get", "--format=json", "-r", "3", "-dash key 'q'",
        "--unit/0 $(touch " .. mark .. ")" },
      { "config-get", "--format=json", "--all" },
      { "action-log", "--", "  spaces  around  " },
      { "action-fail", "--", "" },
      { "application-version-set", "--", "-v" },
      { "action-set", "msg=a=b c;$(touch " .. mark .. ")" },
    }, hookenv.argvs())
    assert.is_false(hookenv.exists(mark), "a shell ran an argument")
  end)

  it("through build/dispatch", function()
    local evil = ("'\"$(touch %s)\"' -- --now\n\\$HOME"):format(mark)
    local r = hookenv.run({ "-e", "juju.juju_log(os.getenv('MSG'), {level = 'WARNING'})" },
                          { env = { MSG = evil } })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.same({ { "juju-log", "--log-level", "WARNING", "--", evil } }, hookenv.argvs())
    assert.is_false(hookenv.exists(mark), "a shell ran an argument")
  end)
end)

describe("the child's stdin and fds #integration", function()
  before_each(hookenv.reset)

  it("stdin is /dev/null when nothing is fed", function()
    hookenv.respond("config-get", { stdout = "{}\n" })
    hookenv.respond("relation-get", { stdout = '"v"\n' })
    assert.same({}, juju.config_get())
    juju.juju_log("x")
    assert.equal("v", juju.relation_get(1, { key = "k", unit = "u/0" }))
    for _, rec in ipairs(hookenv.calls()) do
      assert.is_nil(rec.stdin, rec.argv[1] .. " got stdin")
    end
  end)

  it("the child has only fds 0, 1 and 2", function()
    hookenv.respond("is-leader", { stdout = "true\n" })
    assert.is_true(juju.is_leader())
    if EXEC then assert.equal("0 1 2", hookenv.call(1).fds) end
  end)

  it("files Lua opened (no O_CLOEXEC) do not reach the child", function()
    local held = {}
    for i = 1, 3 do held[i] = assert(io.open("/dev/null", "r")) end
    local ok, err = pcall(juju.juju_log, "x")
    for _, f in ipairs(held) do f:close() end
    assert(ok, err)
    if EXEC then assert.equal("0 1 2", hookenv.call(1).fds) end
  end)

  it("build/dispatch passes on neither inherited fds nor its script's files", function()
    local r = hookenv.run({ "-e", [[
      local f = assert(io.open("/dev/null"))
      juju.juju_log("fds")
      f:close()
    ]] }, { prelude = "exec 7</dev/null 9>/dev/null;" })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    local rec = hookenv.call(1)
    assert.same({ "juju-log", "--log-level", "INFO", "--", "fds" }, rec.argv)
    assert.is_nil(rec.stdin)
    if EXEC then assert.equal("0 1 2", rec.fds) end
  end)

  it("build/dispatch run with its own stdin does not hand it to the tool", function()
    hookenv.respond("config-get", { stdout = "{}\n" })
    local r = hookenv.run({ "-e", "juju.config_get()" }, { stdin = "hook stdin\n" })
    assert.equal(0, r.code, r.stderr)
    assert.is_nil(hookenv.call(1).stdin)
  end)
end)
