--- A small zip reader for specs, written from the zip specification
-- (PKWARE's APPNOTE), independently of tools/pack.lua.
--
-- @{read} parses the end of central directory record, every central
-- directory header and every local header, checks that they agree with
-- each other and cover the file without gaps, and checks each entry's
-- CRC-32 (computed here). Only stored entries (method 0) are read; zip64 is
-- refused. @{extract} writes the entries out the way Juju's ziputil does
-- (parent directories made as needed, each entry with the permission bits
-- of its external attributes).
-- @module helpers.zip

local fs = require "helpers.fs"

local M = {}

local CRC = {}
for n = 0, 255 do
  local c = n
  for _ = 1, 8 do
    local low = c & 1
    c = c >> 1
    if low == 1 then c = c ~ 0xEDB88320 end
  end
  CRC[n + 1] = c
end

--- CRC-32 of a string (the zip/PNG/gzip CRC).
-- @tparam string s
-- @treturn int
function M.crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do
    c = CRC[((c ~ s:byte(i)) & 0xFF) + 1] ~ (c >> 8)
  end
  return c ~ 0xFFFFFFFF
end

--- Decode MS-DOS time and date words.
-- @tparam int time
-- @tparam int date
-- @treturn table `{year, month, day, hour, min, sec}`
function M.dos_time(time, date)
  return {
    year = 1980 + (date >> 9), month = (date >> 5) & 0xF, day = date & 0x1F,
    hour = time >> 11, min = (time >> 5) & 0x3F, sec = (time & 0x1F) * 2,
  }
end

local EOCD_SIG, CDH_SIG, LFH_SIG = 0x06054b50, 0x02014b50, 0x04034b50

--- Parse a zip archive held in a string.
-- Raises an error naming the first thing that is wrong.
-- @tparam string data
-- @treturn table `{entries = {entry,...}, by_name = {name = entry},
--   comment = string}`; each entry: `name`, `data`, `crc`, `size`,
--   `method`, `flags`, `made_by` (the high byte: 3 is Unix),
--   `version_made`, `version_needed`, `external` (attributes), `mode` (the
--   Unix mode, `external >> 16`), `time`/`date` (MS-DOS words), `dir`
--   (name ends with /), `offset`
function M.read(data)
  -- The end record: 22 bytes plus a comment, the last thing in the file.
  local eocd
  for pos = #data - 21, math.max(1, #data - 21 - 0xFFFF), -1 do
    if string.unpack("<I4", data, pos) == EOCD_SIG then
      local clen = string.unpack("<I2", data, pos + 20)
      if pos + 22 + clen - 1 == #data then eocd = pos; break end
    end
  end
  assert(eocd, "no end of central directory record")
  local _, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, clen = string.unpack(
    "<I4 I2 I2 I2 I2 I4 I4 I2", data, eocd)
  assert(disk == 0 and cd_disk == 0, "multi-disk archive")
  assert(n_disk == n_total, "entries on this disk differ from the total")
  assert(n_total ~= 0xFFFF and cd_offset ~= 0xFFFFFFFF, "zip64 archive")
  assert(cd_offset + cd_size + 1 == eocd, ("central directory (offset %d, size %d) does not end at the end record (%d)")
    :format(cd_offset, cd_size, eocd - 1))

  local archive = { entries = {}, by_name = {}, comment = data:sub(eocd + 22, eocd + 21 + clen) }
  local pos = cd_offset + 1
  local expect_offset = 0
  for i = 1, n_total do
    local sig, made, needed, flags, method, time, date, crc, csize, usize, nlen, xlen, klen,
      dstart, internal, external, offset, after = string.unpack(
      "<I4 I2 I2 I2 I2 I2 I2 I4 I4 I4 I2 I2 I2 I2 I2 I4 I4", data, pos)
    assert(sig == CDH_SIG, ("central header %d: bad signature"):format(i))
    local name = data:sub(after, after + nlen - 1)
    pos = after + nlen + xlen + klen
    assert(dstart == 0, name .. ": disk start not 0")
    assert(offset == expect_offset, ("%s: local header at %d, expected %d (gap or overlap)")
      :format(name, offset, expect_offset))
    assert(flags & 0x0001 == 0, name .. ": encrypted")
    assert(flags & 0x0008 == 0, name .. ": data descriptor (sizes after the data)")
    assert(method == 0, ("%s: method %d (only stored entries are read here)"):format(name, method))
    assert(csize == usize, name .. ": stored entry with different sizes")

    -- The local header must say the same.
    local lsig, lneeded, lflags, lmethod, ltime, ldate, lcrc, lcsize, lusize, lnlen, lxlen, lafter =
      string.unpack("<I4 I2 I2 I2 I2 I2 I4 I4 I4 I2 I2", data, offset + 1)
    assert(lsig == LFH_SIG, name .. ": bad local header signature")
    local lname = data:sub(lafter, lafter + lnlen - 1)
    assert(lname == name, ("local name %q differs from central name %q"):format(lname, name))
    assert(lneeded == needed and lflags == flags and lmethod == method and ltime == time
      and ldate == date and lcrc == crc and lcsize == csize and lusize == usize,
      name .. ": local header differs from the central header")
    local dpos = lafter + lnlen + lxlen
    local body = data:sub(dpos, dpos + csize - 1)
    assert(#body == csize, name .. ": truncated data")
    assert(M.crc32(body) == crc, ("%s: CRC-32 %08x, header says %08x"):format(name, M.crc32(body), crc))
    expect_offset = dpos - 1 + csize

    local entry = {
      name = name, data = body, crc = crc, size = usize, method = method, flags = flags,
      made_by = made >> 8, version_made = made & 0xFF, version_needed = needed,
      internal = internal, external = external, mode = external >> 16,
      time = time, date = date, dir = name:sub(-1) == "/", offset = offset,
    }
    assert(not archive.by_name[name], "duplicate entry " .. name)
    archive.entries[i] = entry
    archive.by_name[name] = entry
  end
  assert(pos == eocd, "central directory size does not match its headers")
  assert(expect_offset == cd_offset, "bytes between the last entry and the central directory")
  return archive
end

--- Read and parse a zip file.
-- @tparam string path
-- @treturn table as from @{read}
function M.read_file(path)
  return M.read(assert(fs.read(path), "cannot read " .. path))
end

local function sh(cmd)
  assert(os.execute(cmd), "failed: " .. cmd)
end

--- Extract an archive into a directory, as Juju does: parents made as
-- needed, each file and directory given the permission bits of its entry.
-- @tparam table archive from @{read}
-- @tparam string dir an existing directory
function M.extract(archive, dir)
  for _, e in ipairs(archive.entries) do
    assert(not e.name:find("^/") and not ("/" .. e.name .. "/"):find("/%.%./"), "unsafe name " .. e.name)
    local path = dir .. "/" .. e.name:gsub("/$", "")
    local perm = ("%o"):format(e.mode & 0x1FF)
    if e.dir then
      sh(("mkdir -p %s && chmod %s %s"):format(fs.shell_quote(path), perm, fs.shell_quote(path)))
    else
      sh("mkdir -p " .. fs.shell_quote(fs.dirname(path)))
      local f = assert(io.open(path, "wb"))
      assert(f:write(e.data))
      assert(f:close())
      sh(("chmod %s %s"):format(perm, fs.shell_quote(path)))
    end
  end
end

return M
