-- Secret content travels as KEY#file=PATH arguments: one 0600 file per key
-- in a fresh 0700 directory that is gone after the call, error or not; the
-- value never appears on the command line or in errors.

local juju = require "juju"
local recorder = require "helpers.recorder"
local fs = require "helpers.fs"

local VALUE = "s3cret-Value-\u{e9}-42"

--- Split "KEY#file=PATH" into key and path (nil when not a content arg).
local function content_arg(a)
  return a:match("^([^#=]+)#file=(.+)$")
end

--- A runner answer that inspects every content file while the call is in
-- flight and stores what it saw in `seen` (key -> info).
local function inspecting(seen, rc, stdout, stderr)
  return function(argv)
    for _, a in ipairs(argv) do
      local key, path = content_arg(a)
      if key then
        local dir = fs.dirname(path)
        local st = fs.stat({ path, dir })
        seen[key] = {
          path = path,
          dir = dir,
          content = fs.read(path),
          mode = st[path] and st[path].mode,
          dir_mode = st[dir] and st[dir].mode,
          dir_is_dir = st[dir] ~= nil and st[dir].kind == "directory",
        }
      end
    end
    return rc or 0, stdout or "secret://uuid/cxyz\n", stderr or ""
  end
end

--- Assert that no string reachable from v contains needle.
local function assert_nowhere(v, needle, where)
  if type(v) == "string" then
    assert.is_nil(v:find(needle, 1, true), where .. " contains the secret")
  elseif type(v) == "table" then
    for k, x in pairs(v) do
      assert_nowhere(k, needle, where)
      assert_nowhere(x, needle, where .. "." .. tostring(k))
    end
  end
end

--- The argv with content args replaced by "KEY#file=*" (paths vary).
local function normalised(argv)
  local out = {}
  for i, a in ipairs(argv) do
    local key = content_arg(a)
    out[i] = key and (key .. "#file=*") or a
  end
  return out
end

describe("juju secret content files #unit", function()
  local rec = recorder.setup(juju)
  local seen

  before_each(function()
    seen = {}
    rec:on("secret-add", inspecting(seen))
    rec:on("secret-set", inspecting(seen))
  end)

  describe("secret_add", function()
    it("passes KEY#file=/abs/path after --owner application", function()
      local uri = juju.secret_add({ password = VALUE })
      assert.equal("secret://uuid/cxyz", uri)
      local argv = rec:last().argv
      assert.same({ "secret-add", "--owner", "application", "password#file=*" }, normalised(argv))
      local info = seen.password
      assert.truthy(info, "runner saw no content file")
      assert.equal("/", info.path:sub(1, 1), "path is not absolute: " .. info.path)
      assert.equal("password", fs.basename(info.path))
      assert.is_nil(rec:last().stdin)
    end)

    it("the file holds the value, mode 0600, in a 0700 directory, during the call", function()
      juju.secret_add({ password = VALUE })
      local info = seen.password
      assert.equal(VALUE, info.content)
      assert.equal("600", info.mode)
      assert.is_true(info.dir_is_dir)
      assert.equal("700", info.dir_mode)
    end)

    it("the file and its directory are gone after the call", function()
      juju.secret_add({ password = VALUE })
      local info = seen.password
      assert.is_false(fs.exists(info.path))
      assert.is_false(fs.exists(info.dir))
    end)

    it("several keys: one file each, same fresh directory, all removed", function()
      juju.secret_add({ username = "admin", password = VALUE, ["api-token"] = "t0k" })
      local argv = rec:last().argv
      assert.equal(6, #argv)
      assert.same({ "secret-add", "--owner", "application" }, { argv[1], argv[2], argv[3] })
      local keys = {}
      for i = 4, 6 do keys[#keys + 1] = (content_arg(argv[i])) end
      table.sort(keys)
      assert.same({ "api-token", "password", "username" }, keys)
      assert.equal("admin", seen.username.content)
      assert.equal(VALUE, seen.password.content)
      assert.equal("t0k", seen["api-token"].content)
      assert.equal(seen.username.dir, seen.password.dir)
      assert.equal(seen.username.dir, seen["api-token"].dir)
      for _, info in pairs(seen) do
        assert.equal("600", info.mode)
        assert.is_false(fs.exists(info.path))
      end
      assert.is_false(fs.exists(seen.username.dir))
    end)

    it("each call gets a fresh directory", function()
      juju.secret_add({ key = "one" })
      local first = seen.key.dir
      juju.secret_add({ key = "two" })
      assert.are_not.equal(first, seen.key.dir)
      assert.equal("two", seen.key.content)
    end)

    it("content is written byte for byte (newlines, NUL, UTF-8, trailing =)", function()
      local raw = "line1\nline2\r\n\0tail==\u{1F600}"
      juju.secret_add({ cert = raw })
      assert.equal(raw, seen.cert.content)
    end)

    it("numbers are written with tostring", function()
      juju.secret_add({ port = 5432, ratio = 1.5 })
      assert.equal("5432", seen.port.content)
      assert.equal("1.5", seen.ratio.content)
    end)

    it("options come first in ops order, --owner always present", function()
      juju.secret_add({ key = "v" },
        { label = "db", description = "the db", expire = "72h", rotate = "weekly", owner = "unit" })
      assert.same({ "secret-add", "--label", "db", "--description", "the db", "--expire", "72h",
                    "--rotate", "weekly", "--owner", "unit", "key#file=*" }, normalised(rec:last().argv))
    end)

    it("expire as a number is RFC 3339 UTC with Z", function()
      juju.secret_add({ key = "v" }, { expire = 1767225599 })
      assert.same({ "secret-add", "--expire", "2025-12-31T23:59:59Z", "--owner", "application", "key#file=*" },
        normalised(rec:last().argv))
    end)

    it("expire as a float with a fraction carries microseconds", function()
      juju.secret_add({ key = "v" }, { expire = 1767225599.5 })
      assert.equal("2025-12-31T23:59:59.500000Z", rec:last().argv[3])
    end)

    it("expire as an integral float has no fraction", function()
      juju.secret_add({ key = "v" }, { expire = 1767225599.0 })
      assert.equal("2025-12-31T23:59:59Z", rec:last().argv[3])
    end)

    it("expire at the epoch and across a leap day", function()
      juju.secret_add({ key = "v" }, { expire = 0 })
      assert.equal("1970-01-01T00:00:00Z", rec:last().argv[3])
      juju.secret_add({ key = "v" }, { expire = 1709164800 + 86399 })
      assert.equal("2024-02-29T23:59:59Z", rec:last().argv[3])
    end)

    it("rotate alone", function()
      juju.secret_add({ key = "v" }, { rotate = "monthly" })
      assert.same({ "secret-add", "--rotate", "monthly", "--owner", "application", "key#file=*" },
        normalised(rec:last().argv))
    end)

    it("expire as a string is sent verbatim", function()
      juju.secret_add({ key = "v" }, { expire = "24h" })
      assert.equal("24h", rec:last().argv[3])
      juju.secret_add({ key = "v" }, { expire = "2030-01-01T00:00:00+02:00" })
      assert.equal("2030-01-01T00:00:00+02:00", rec:last().argv[3])
    end)

    it("the value never appears in argv", function()
      juju.secret_add({ password = VALUE }, { label = "l" })
      assert_nowhere(rec:last().argv, VALUE, "argv")
      assert_nowhere(rec:last().argv, "s3cret", "argv")
    end)
  end)

  describe("secret_set", function()
    it("ID after the options, content args last", function()
      juju.secret_set("secret:abc", { content = { password = VALUE }, label = "l", rotate = "daily" })
      assert.same({ "secret-set", "--label", "l", "--rotate", "daily", "--owner", "application", "secret:abc",
                    "password#file=*" }, normalised(rec:last().argv))
      assert.equal(VALUE, seen.password.content)
      assert.equal("600", seen.password.mode)
      assert.equal("700", seen.password.dir_mode)
      assert.is_false(fs.exists(seen.password.path))
      assert.is_false(fs.exists(seen.password.dir))
      assert.is_nil(rec:last().stdin)
    end)

    it("expire number and description", function()
      juju.secret_set("secret:abc", { description = "d", expire = 1767225599 })
      assert.same({ "secret-set", "--description", "d", "--expire", "2025-12-31T23:59:59Z",
                    "--owner", "application", "secret:abc" }, rec:last().argv)
    end)

    it("owner unit", function()
      juju.secret_set("secret:abc", { owner = "unit", content = { key1 = "a" } })
      assert.same({ "secret-set", "--owner", "unit", "secret:abc", "key1#file=*" }, normalised(rec:last().argv))
    end)
  end)

  describe("cleanup on failure", function()
    it("after a non-zero exit, files and directory are gone and the error hides the value", function()
      rec:on("secret-add", inspecting(seen, 1, "", "ERROR key \"password\" not valid\n"))
      local ok, err = pcall(juju.secret_add, { password = VALUE })
      assert.is_false(ok)
      assert.equal(juju.Error, getmetatable(err))
      assert.equal(1, err.returncode)
      assert.equal(VALUE, seen.password.content)
      assert.is_false(fs.exists(seen.password.path))
      assert.is_false(fs.exists(seen.password.dir))
      assert_nowhere(err, VALUE, "err")
      assert_nowhere(err, "s3cret", "err")
      assert.is_nil(tostring(err):find("s3cret", 1, true))
      assert.truthy(tostring(err):find("secret-add", 1, true))
    end)

    it("after a signal, files and directory are gone", function()
      rec:on("secret-set", inspecting(seen, -9))
      local ok, err = pcall(juju.secret_set, "secret:abc", { content = { password = VALUE } })
      assert.is_false(ok)
      assert.equal(9, err.signal)
      assert.is_false(fs.exists(seen.password.dir))
      assert_nowhere(err, VALUE, "err")
    end)

    it("after a command that cannot start, files and directory are gone", function()
      local probe = inspecting(seen)
      rec:on("secret-add", function(argv)
        probe(argv)
        return nil, "secret-add: No such file or directory"
      end)
      local ok, err = pcall(juju.secret_add, { password = VALUE })
      assert.is_false(ok)
      assert.is_nil(err.returncode)
      assert.is_false(fs.exists(seen.password.dir))
      assert_nowhere(err, VALUE, "err")
    end)

    it("after the runner raises a Lua error, files and directory are gone", function()
      local probe = inspecting(seen)
      rec:on("secret-add", function(argv)
        probe(argv)
        error("runner failed")
      end)
      local ok = pcall(juju.secret_add, { password = VALUE })
      assert.is_false(ok)
      assert.truthy(seen.password)
      assert.is_false(fs.exists(seen.password.path))
      assert.is_false(fs.exists(seen.password.dir))
    end)

    it("a bad key raises before any file is written or the runner runs", function()
      local ok, err = pcall(juju.secret_add, { good = VALUE, ["bad/key"] = "x" })
      assert.is_false(ok)
      assert.equal("string", type(err))
      assert.equal(0, rec:count())
      assert.is_nil(err:find(VALUE, 1, true))
    end)
  end)
end)
