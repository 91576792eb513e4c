-- Secret content travels in private temporary files (KEY#file=PATH), never
-- on the command line, and the files are gone when the call returns.

local hookenv = require "helpers.hookenv"

local juju = hookenv.juju()
local SOCKET = hookenv.transport() == "socket"
local PRIVATE = "file=0600 dir=0700 abs=1\n"

--- The KEY#file=PATH arguments of an argv: {KEY = PATH}, and how many.
local function file_args(argv)
  local out, n = {}, 0
  for _, a in ipairs(argv) do
    local key, path = a:match("^([^#=]+)#file=(.+)$")
    if key then
      out[key] = path
      n = n + 1
    end
  end
  return out, n
end

--- Assert that no argv element, nor text, contains any of the values.
local function assert_absent(values, where, what)
  for _, v in ipairs(values) do
    assert.is_nil(where:find(v, 1, true), what .. " contains a secret value")
  end
end

describe("secret content #integration", function()
  local tmp, mark, content, values

  before_each(function()
    hookenv.reset()
    tmp = hookenv.tmpdir()
    mark = tmp .. "/pwned"
    content = {
      password = "p@ss w0rd\nline two $(touch " .. mark .. ")",
      ["api-key"] = "k3y-\0-with-nul-and-\u{e9}",
      cert = ("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n")
        :format(("QUJD"):rep(4000)),
    }
    values = { "p@ss w0rd", "k3y-", "QUJDQUJD" }
  end)

  after_each(function()
    hookenv.rmtree(tmp)
  end)

  --- Check one recorded call's secret files and that they are gone now.
  local function check_files(rec)
    local args, n = file_args(rec.argv)
    local nkeys = 0
    for key, value in pairs(content) do
      nkeys = nkeys + 1
      local path = args[key]
      assert.truthy(path, "no " .. key .. "#file= argument")
      assert.equal("/", path:sub(1, 1))
      assert.equal(key, path:match("([^/]+)$"))
      assert.truthy(rec.secrets[key], "the tool could not read " .. key)
      assert.equal(PRIVATE, rec.secrets[key].info)
      assert.is_true(value == rec.secrets[key].content, key .. " content differs")
      assert.is_false(hookenv.exists(path), path .. " still exists")
      assert.is_false(hookenv.exists(path:match("^(.*)/[^/]+$")), "the secret dir still exists")
    end
    assert.equal(nkeys, n)
    for _, a in ipairs(rec.argv) do assert_absent(values, a, "argv") end
    assert.is_false(hookenv.exists(mark), "a shell ran secret content")
  end

  it("secret_add writes private files, passes KEY#file=PATH and removes them", function()
    hookenv.respond("secret-add", { stdout = "secret://9f5e2b1c/cjvq7ni5ib4s7cbhghgg\n" })
    local mark_log = SOCKET and hookenv.agent_log_mark()
    local uri = juju.secret_add(content, { label = "db" })
    assert.equal("secret://9f5e2b1c/cjvq7ni5ib4s7cbhghgg", uri)
    local rec = hookenv.call(1)
    assert.same({ "secret-add", "--label", "db", "--owner", "application" },
                { table.unpack(rec.argv, 1, 5) })
    check_files(rec)
    if SOCKET then
      local log = hookenv.agent_log_since(mark_log)
      assert.equal(1, #log)
      assert.is_false(log[1].stdin_set)
      assert_absent(values, table.concat(log[1].args, "\0"), "the RPC request")
    end
  end)

  it("secret_add failing with exit 1 still removes the files and leaks no value", function()
    hookenv.respond("secret-add", { stderr = 'ERROR key "api-key" not valid\n', exit = 1 })
    local ok, err = pcall(juju.secret_add, content)
    assert.is_false(ok)
    assert.equal(juju.Error, getmetatable(err))
    assert.equal(1, err.returncode)
    assert.equal('ERROR key "api-key" not valid\n', err.stderr)
    local rec = hookenv.call(1)
    assert.same(rec.argv, err.cmd)
    check_files(rec)
    assert_absent(values, tostring(err), "the error text")
    assert_absent(values, table.concat(err.cmd, " "), "err.cmd")
  end)

  it("secret_set sends content the same way, after the ID", function()
    juju.secret_set("secret:cjvq7ni5ib4s7cbhghgg", { content = content, rotate = "weekly" })
    local rec = hookenv.call(1)
    assert.same({ "secret-set", "--rotate", "weekly", "--owner", "application",
                  "secret:cjvq7ni5ib4s7cbhghgg" }, { table.unpack(rec.argv, 1, 6) })
    check_files(rec)
  end)

  it("secret_set failing with exit 1 still removes the files", function()
    hookenv.respond("secret-set", { stderr = "ERROR this unit is not the leader\n", exit = 1 })
    local ok, err = pcall(juju.secret_set, "secret:x", { content = content })
    assert.is_false(ok)
    assert.equal(1, err.returncode)
    check_files(hookenv.call(1))
    assert_absent(values, tostring(err), "the error text")
  end)

  it("secret_add killed by a signal still removes the files", function()
    hookenv.respond("secret-add", { signal = 9 })
    local ok, err = pcall(juju.secret_add, content)
    assert.is_false(ok)
    assert.equal(juju.Error, getmetatable(err))
    check_files(hookenv.call(1))
  end)

  it("bad secret keys are refused before anything is written", function()
    for _, key in ipairs({ "a/b", "a#b", "a=b", ".", "..", "" }) do
      local ok, err = pcall(juju.secret_add, { [key] = "v" })
      assert.is_false(ok, key)
      assert.is_string(err)
    end
    assert.equal(0, hookenv.ncalls())
  end)

  it("a TMPDIR too long for the private directory is a clear error, and nothing runs", function()
    local r = hookenv.run({ "-e", "local ok, err = pcall(juju.secret_add, { password = 'v' })\n"
      .. "io.write(tostring(ok), ' ', tostring(err))" }, { env = { TMPDIR = "/" .. ("a"):rep(5000) } })
    assert.equal(0, r.code, r.stderr)
    assert.equal("false secret_add: cannot create a private directory for secret content: File name too long",
      r.stdout)
    assert.equal(0, hookenv.ncalls())
  end)
end)
