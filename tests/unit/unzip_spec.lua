-- juju.sys.unzip: a charm packed by tools/pack.lua (stored entries), zips
-- with deflated entries (made here, and by the `zip` program), and the
-- refusals, which come back as nil, a message naming the entry, and the
-- errno (so `assert(sys.unzip(...))` raises the message), with the
-- destination left empty; bad arguments raise at once.

local hookenv = require "helpers.hookenv"
local fs = require "helpers.fs"
local ziphelp = require "helpers.zip"

hookenv.juju()
local sys = require "juju.sys"

local ROOT = hookenv.cwd()
local EINVAL, ENOTEMPTY = 22, 39

--- Whether a program is on PATH.
local function have(program)
  return os.execute("command -v " .. hookenv.quote(program) .. " >/dev/null 2>&1") == true
end

--- Every path under dir, sorted, as "d name mode", "f name mode" or
-- "l name -> target" lines.
local function tree(dir)
  local p = assert(io.popen(("cd %s && find . -mindepth 1 -printf '%%y %%P %%m %%l\\n' | sort")
    :format(hookenv.quote(dir))))
  local out = {}
  for line in p:lines() do
    local kind, name, mode, target = line:match("^(%a) (%S+) (%d+) ?(.*)$")
    if kind == "l" then
      out[#out + 1] = ("l %s -> %s"):format(name, target)
    else
      out[#out + 1] = ("%s %s %s"):format(kind, name, mode)
    end
  end
  p:close()
  return out
end

--- The names in a directory, sorted.
local function names(dir)
  local list = {}
  for _, e in ipairs(assert(sys.listdir(dir))) do list[#list + 1] = e.name end
  table.sort(list)
  return list
end

--- A raw deflate stream of data made of stored blocks (BTYPE 00, at most
-- 65535 bytes each): method 8 as inflate reads it, without a compressor.
local function deflate_stored(data)
  local out, pos = {}, 1
  repeat
    local chunk = data:sub(pos, pos + 65534)
    pos = pos + #chunk
    local final = pos > #data and 1 or 0
    out[#out + 1] = string.pack("<I1 I2 I2", final, #chunk, (~#chunk) & 0xFFFF) .. chunk
  until pos > #data
  return table.concat(out)
end

--- A zip of entries `{name=, data=, mode= (the whole Unix st_mode), deflate=}`
-- written by hand (APPNOTE: local headers, central directory, end record).
local function zip(entries)
  local out, central, offset = {}, {}, 0
  for _, e in ipairs(entries) do
    local data = e.data or ""
    local packed = e.deflate and deflate_stored(data) or data
    local method = e.deflate and 8 or 0
    local crc = e.crc or ziphelp.crc32(data)
    local lh = string.pack("<I4 I2 I2 I2 I2 I2 I4 I4 I4 I2 I2",
      0x04034b50, 20, 0, method, 0, 0x21, crc, #packed, #data, #e.name, 0) .. e.name
    central[#central + 1] = string.pack("<I4 I2 I2 I2 I2 I2 I2 I4 I4 I4 I2 I2 I2 I2 I2 I4 I4",
      0x02014b50, (3 << 8) | 20, 20, 0, method, 0, 0x21, crc, #packed, #data, #e.name,
      0, 0, 0, 0, (e.mode or 0x81A4) << 16, offset) .. e.name
    out[#out + 1] = lh .. packed
    offset = offset + #lh + #packed
  end
  local cd = table.concat(central)
  return table.concat(out) .. cd .. string.pack("<I4 I2 I2 I2 I2 I4 I4 I2",
    0x06054b50, 0, 0, #entries, #entries, #cd, offset, 0)
end

describe("juju.sys.unzip #unit", function()
  local tmp, dest

  before_each(function()
    tmp = hookenv.tmpdir()
    dest = assert(sys.mkdtemp(tmp .. "/dest."))
  end)

  after_each(function()
    hookenv.rmtree(tmp)
  end)

  --- Write a zip to tmp/in.zip; its path.
  local function zip_file(entries)
    local path = tmp .. "/in.zip"
    hookenv.write_file(path, type(entries) == "string" and entries or zip(entries))
    return path
  end

  it("extracts a charm packed by tools/pack.lua: dispatch 0755 byte for byte, the rest 0644", function()
    local charm = tmp .. "/template.charm"
    local dispatch = hookenv.dispatch_path()
    local r = hookenv.run({ ROOT .. "/tools/pack.lua", "--charm", ROOT .. "/charm-template/machine",
      "--dispatch", dispatch, "--out", charm, "--compile" }, { program = "lua5.4", cwd = ROOT })
    assert.equal("", r.stderr)
    assert.equal(0, r.code)
    assert.is_true(sys.unzip(charm, dest))
    assert.equal(fs.read(dispatch), fs.read(dest .. "/dispatch"))
    assert.equal(fs.read(ROOT .. "/charm-template/machine/src/charm.lua"), fs.read(dest .. "/src/charm.lua"))
    -- every entry of the archive is there, and nothing else
    local archive = ziphelp.read_file(charm)
    local want = {}
    for _, e in ipairs(archive.entries) do
      local name = e.name:gsub("/$", "")
      want[#want + 1] = ("%s %s %s"):format(e.dir and "d" or "f", name, e.name == "dispatch" and "755"
        or e.dir and "755" or "644")
    end
    table.sort(want)
    assert.same(want, tree(dest))
    assert.truthy(fs.read(dest .. "/metadata.yaml"):find("name:", 1, true))
  end)

  it("extracts deflated entries, symlinks that stay inside, and modes", function()
    local big = fs.pattern(200000, "%07d,")
    local path = zip_file {
      { name = "bin/run", data = "#!/bin/sh\n", mode = 0x81ED, deflate = true },   -- 0100755
      { name = "data/big.txt", data = big, mode = 0x81A0, deflate = true },        -- 0100640
      { name = "data/", mode = 0x41C0 },                                           -- 040700
      { name = "setuid", data = "x", mode = 0x8DED },                              -- 0106755
      { name = "hooks/install", data = "../bin/run", mode = 0xA1FF },              -- 0120777
    }
    assert.is_true(sys.unzip(path, dest))
    assert.same({
      "d bin 755", "d data 700", "d hooks 755", "f bin/run 755", "f data/big.txt 640",
      "f setuid 755", "l hooks/install -> ../bin/run",
    }, tree(dest))
    assert.equal(big, fs.read(dest .. "/data/big.txt"))
    assert.equal("#!/bin/sh\n", fs.read(dest .. "/hooks/install"))
  end)

  it("extracts what the zip program makes (deflated, extra fields, data descriptors)", function()
    if not have("zip") then
      pending("no zip program (apt-get install zip, or make deps-test)")
      return
    end
    local src = tmp .. "/src"
    hookenv.sh(("mkdir -p %s/lib && cd %s && printf '#!/bin/sh\\n' > run && chmod 755 run"
      .. " && printf 'payload\\n%%.0s' $(seq 2000) > lib/data && chmod 640 lib/data"
      .. " && ln -s data lib/link"):format(hookenv.quote(src), hookenv.quote(src)))
    local want = { "d lib 755", "f lib/data 640", "f run 755", "l lib/link -> data" }
    hookenv.sh(("cd %s && zip -q -r -y %s ."):format(hookenv.quote(src), hookenv.quote(tmp .. "/a.zip")))
    assert.is_true(sys.unzip(tmp .. "/a.zip", dest))
    assert.same(want, tree(dest))
    assert.equal(fs.read(src .. "/lib/data"), fs.read(dest .. "/lib/data"))
    -- streamed to a pipe, zip writes data descriptors (and follows the link)
    local dest2 = assert(sys.mkdtemp(tmp .. "/dest."))
    hookenv.sh(("cd %s && zip -q -r - . | cat > %s"):format(hookenv.quote(src), hookenv.quote(tmp .. "/b.zip")))
    assert.is_true(sys.unzip(tmp .. "/b.zip", dest2))
    assert.same({ "d lib 755", "f lib/data 640", "f lib/link 640", "f run 755" }, tree(dest2))
  end)

  describe("refuses", function()
    local cases = {
      { "an absolute name", { { name = "/etc/passwd", data = "x" } },
        [["/etc/passwd" from %s: its name is an absolute path]] },
      { "a .. component", { { name = "a/../../evil", data = "x" } },
        [["a/../../evil" from %s: its name has a ".." component]] },
      { "a backslash", { { name = "..\\evil", data = "x" } },
        [["..\\evil" from %s: its name holds a backslash]] },
      { "a NUL byte", { { name = "a\0b", data = "x" } },
        [["a\x00b" from %s: its name holds a NUL byte]] },
      { "two entries for one path", { { name = "a", data = "1" }, { name = "a", data = "2" } },
        [["a" from %s: another entry has the same path ("a")]] },
      { "a file where a directory is needed", { { name = "f", data = "1" }, { name = "f/g", data = "2" } },
        [["f/g" from %s: "f" is a file in the archive, not a directory]] },
      { "a symlink that leaves", { { name = "ok", data = "1" }, { name = "l", data = "../x", mode = 0xA1FF } },
        [["l" from %s: its symlink target "../x" leads outside the destination]] },
      { "an absolute symlink", { { name = "l", data = "/etc", mode = 0xA1FF } },
        [["l" from %s: its symlink target "/etc" is absolute]] },
      { "a wrong CRC-32, after extracting others", {
          { name = "a/b/c", data = "fine", deflate = true }, { name = "bad", data = "data", crc = 1 } },
        ([["bad" from %%s: its data is damaged (CRC-32 %08x, not 00000001)]]):format(ziphelp.crc32("data")) },
      { "a device", { { name = "dev", data = "", mode = 0x2180 } },
        [["dev" from %s: it is not a file, directory or symlink (mode 020600)]] },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. ", and leaves the destination empty", function()
        local path = zip_file(case[2])
        local ok, err, errno = sys.unzip(path, dest)
        assert.is_nil(ok)
        assert.equal("cannot extract " .. case[3]:format(path), err)
        assert.equal(EINVAL, errno)
        assert.same({}, names(dest))
        assert.same({ "dest." .. dest:match("dest%.(.*)$"), "in.zip" }, names(tmp))
      end)
    end

    it("what is not a zip archive", function()
      local path = zip_file(("not a zip "):rep(10))
      local ok, err, errno = sys.unzip(path, dest)
      assert.is_nil(ok)
      assert.equal(("cannot extract %s: it is not a zip archive (no end of central directory record)")
        :format(path), err)
      assert.equal(EINVAL, errno)
    end)

    it("a destination that is not empty, or missing, and a missing archive", function()
      local path = zip_file { { name = "a", data = "1" } }
      hookenv.write_file(dest .. "/mine", "keep")
      local ok, err, errno = sys.unzip(path, dest)
      assert.is_nil(ok)
      assert.equal(("cannot extract %s into %s: it is not empty"):format(path, dest), err)
      assert.equal(ENOTEMPTY, errno)
      assert.same({ "mine" }, names(dest))
      ok, err, errno = sys.unzip(path, tmp .. "/missing")
      assert.is_nil(ok)
      assert.equal(("cannot extract %s into %s/missing: cannot open it (No such file or directory)")
        :format(path, tmp), err)
      assert.equal(2, errno)
      ok, err = sys.unzip(tmp .. "/missing.zip", dest)
      assert.is_nil(ok)
      assert.equal(("cannot extract %s/missing.zip: cannot open it (No such file or directory)")
        :format(tmp), err)
    end)

    it("bad arguments, with an error", function()
      assert.has_error(function() sys.unzip(nil, dest) end,
        "bad argument #1 to 'unzip' (zip_path must be a string, not a nil)")
      assert.has_error(function() sys.unzip("a\0b", dest) end,
        "bad argument #1 to 'unzip' (zip_path contains a NUL byte)")
      assert.has_error(function() sys.unzip("x.zip", 42) end,
        "bad argument #2 to 'unzip' (dest_dir must be a string, not a number)")
    end)
  end)
end)
