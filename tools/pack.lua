--- Pack a Lua charm into a `.charm` that Juju deploys, without charmcraft.
--
-- Usage:
--
--     lua5.4 tools/pack.lua --charm DIR --dispatch PATH --out FILE.charm
--                           [--out-dir DIR] [--arch ARCH] [--platform NAME]
--                           [--name-with-arch] [--tool-version VERSION]
--
-- Reads `DIR/charmcraft.yaml` (with lyaml, Debian's lua-yaml), checks what
-- Juju and charmcraft would refuse, and writes a zip holding:
--
-- * `manifest.yaml` (the base and architecture the charm runs on),
-- * `metadata.yaml` from the metadata keys of charmcraft.yaml,
-- * `config.yaml` from `config:` and `actions.yaml` from `actions:` (each
--   only when present),
-- * `dispatch` (the file given by `--dispatch`) with mode 0755,
-- * `src/` (which must hold `charm.lua`), `lib/` when present, and
--   `README.md`, `LICENSE`, `icon.svg` when present (mode 0644;
--   directories 0755; names starting with a dot are left out).
--
-- No `hooks/` symlinks: every supported Juju (2.9 and later) runs `dispatch`.
--
-- One `.charm` holds one base and one architecture: `--arch` picks the
-- platform (by its build-for architecture); without it, the architecture of
-- the `dispatch` ELF binary, or of this machine for a script. `--platform`
-- picks a platform by name when several build for the same architecture.
-- `--out-dir` writes `DIR/<name>.charm` (`DIR/<name>_<arch>.charm` with
-- `--name-with-arch`, as `make charms` names one charm per architecture).
--
-- The zip is written here (stored entries, CRC-32 in Lua, no `zip`
-- program). Its timestamps are fixed (1980-01-01 00:00:00, or
-- `SOURCE_DATE_EPOCH` when set), entries are in byte order of their names,
-- so the same inputs give a byte-identical `.charm`.
--
-- Every problem found in charmcraft.yaml is reported, one per line, as
-- `FILE: key.path: what is wrong`; the exit status is then 1 (2 for a
-- wrong command line). The charm's metadata, config and actions are
-- checked by the framework's `juju.testing.metadata` (the rules a charm's
-- tests run under), read from `../lua` next to this script; what is about
-- packing (type, base, platforms or bases, parts) is checked here.
--
-- The functions are also a module (`require "tools.pack"`); loading it
-- puts that `lua/` first on `package.path`.
-- @script pack

--- A module this packer needs, or a clear word on what to install.
local function need(module, package)
  local ok, m = pcall(require, module)
  if not ok then
    io.stderr:write(("pack.lua: the Lua module %s is missing: apt-get install %s\n"):format(module, package))
    os.exit(1)
  end
  return m
end

local lyaml = need("lyaml", "lua-yaml")
local lfs = need("lfs", "lua-filesystem")

-- The framework's Lua in this repository (../lua from this file, wherever
-- it is run from), ahead of any other: juju.testing.metadata checks the
-- charm's keys. It needs lyaml, not juju.so (a stock lua5.4 is enough).
do
  local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  local lua_dir = dir .. "/../lua"
  package.path = ("%s/?.lua;%s/?/init.lua;%s"):format(lua_dir, lua_dir, package.path)
end
local metadata = require "juju.testing.metadata"
local values = require "juju.private.values"

local M = {}

local NULL = lyaml.null
local is_seq, is_map, show, keypath, sorted_keys =
  values.is_seq, values.is_map, values.show, values.keypath, values.sorted_keys

--- Zip and CRC-32.
-- @section zip

local CRC_TABLE = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c & 1 == 1 then c = 0xEDB88320 ~ (c >> 1) else c = c >> 1 end
  end
  CRC_TABLE[i] = c
end

--- CRC-32 (ISO-HDLC, as zip uses it) of a string.
-- @tparam string s
-- @tparam[opt] int crc a previous result, to continue over several strings
-- @treturn int the CRC, 0 to 0xFFFFFFFF
function M.crc32(s, crc)
  local T = CRC_TABLE
  local c = (crc or 0) ~ 0xFFFFFFFF
  local n = #s
  local i = 1
  while i + 7 <= n do
    local a, b, d, e, f, g, h, k = s:byte(i, i + 7)
    c = T[(c ~ a) & 0xFF] ~ (c >> 8)
    c = T[(c ~ b) & 0xFF] ~ (c >> 8)
    c = T[(c ~ d) & 0xFF] ~ (c >> 8)
    c = T[(c ~ e) & 0xFF] ~ (c >> 8)
    c = T[(c ~ f) & 0xFF] ~ (c >> 8)
    c = T[(c ~ g) & 0xFF] ~ (c >> 8)
    c = T[(c ~ h) & 0xFF] ~ (c >> 8)
    c = T[(c ~ k) & 0xFF] ~ (c >> 8)
    i = i + 8
  end
  for j = i, n do
    c = T[(c ~ s:byte(j)) & 0xFF] ~ (c >> 8)
  end
  return c ~ 0xFFFFFFFF
end

--- The earliest time a zip entry can carry (the MS-DOS epoch), in seconds
-- since 1970 (UTC).
M.ZIP_EPOCH = 315532800

--- MS-DOS time and date words of a UTC time (2-second resolution).
-- @tparam int t seconds since 1970; clamped to 1980-01-01..2107-12-31
-- @treturn int time word
-- @treturn int date word
function M.dos_datetime(t)
  if t < M.ZIP_EPOCH then t = M.ZIP_EPOCH end
  local d = os.date("!*t", t)
  if d.year > 2107 then
    d = { year = 2107, month = 12, day = 31, hour = 23, min = 59, sec = 58 }
  end
  local time = (d.hour << 11) | (d.min << 5) | (d.sec // 2)
  local date = ((d.year - 1980) << 9) | (d.month << 5) | d.day
  return time, date
end

local LIMIT32 = 0xFFFFFFFF

--- Build a zip archive (APPNOTE 6.3: stored entries, no zip64, no data
-- descriptors, made by "Unix" so that the external attributes carry the
-- mode, as Juju and unzip read them).
-- @tparam {table,...} entries in the order to write them; each
--   `{name = "src/charm.lua", data = "...", mode = 420}` (mode: permission
--   bits), or `{name = "src/", dir = true, mode = 493}` for a directory
-- @tparam[opt] int mtime seconds since 1970 for every entry (default
--   @{ZIP_EPOCH})
-- @treturn string|nil the archive
-- @treturn string the reason when it cannot be written (over 4 GiB, over
--   65535 entries)
function M.zip(entries, mtime)
  local time, date = M.dos_datetime(mtime or M.ZIP_EPOCH)
  if #entries > 0xFFFF then
    return nil, ("%d entries: a zip without zip64 holds at most 65535"):format(#entries)
  end
  local out, central = {}, {}
  local offset = 0
  for _, e in ipairs(entries) do
    local name, data = e.name, e.data or ""
    if e.dir then
      assert(name:sub(-1) == "/" and data == "", "a directory entry ends with / and holds nothing")
    end
    if #data >= LIMIT32 then
      return nil, ("%s is %d bytes: zip entries here stay below 4 GiB"):format(name, #data)
    end
    if #name > 0xFFFF then return nil, "entry name too long: " .. name:sub(1, 60) end
    local crc = M.crc32(data)
    local flags = name:find("[\128-\255]") and 0x0800 or 0 -- names are UTF-8
    local unix = (e.dir and 0x4000 or 0x8000) | (e.mode & 0xFFF)
    local external = (unix << 16) | (e.dir and 0x10 or 0)
    local lh = string.pack("<I4 I2 I2 I2 I2 I2 I4 I4 I4 I2 I2",
      0x04034b50, 10, flags, 0, time, date, crc, #data, #data, #name, 0)
    central[#central + 1] = string.pack("<I4 I2 I2 I2 I2 I2 I2 I4 I4 I4 I2 I2 I2 I2 I2 I4 I4",
      0x02014b50, (3 << 8) | 20, 10, flags, 0, time, date, crc, #data, #data, #name,
      0, 0, 0, 0, external, offset) .. name
    out[#out + 1] = lh .. name
    out[#out + 1] = data
    offset = offset + #lh + #name + #data
    if offset > LIMIT32 then
      return nil, "the archive would pass 4 GiB: a zip without zip64 stays below"
    end
  end
  local cd = table.concat(central)
  if offset + #cd > LIMIT32 then
    return nil, "the archive would pass 4 GiB: a zip without zip64 stays below"
  end
  out[#out + 1] = cd
  out[#out + 1] = string.pack("<I4 I2 I2 I2 I2 I4 I4 I2",
    0x06054b50, 0, 0, #entries, #entries, #cd, offset, 0)
  return table.concat(out)
end

--- YAML in and out.
-- @section yaml

--- Keys under which an empty table is an empty sequence when written back
-- (`required: []`); anywhere else it is an empty mapping (`params: {}`).
local SEQUENCE_KEYS = {
  required = true, enum = true, assumes = true, terms = true, tags = true,
  categories = true, mounts = true, properties = true, ["build-on"] = true,
  ["build-for"] = true, prime = true, stage = true, allOf = true, anyOf = true,
  oneOf = true, examples = true, architectures = true, bases = true,
}

local EMPTY = {} -- the raw key that makes an empty ordered map a mapping for lyaml

--- A mapping that lyaml.dump writes in a given key order.
-- lyaml walks a mapping with `pairs`; the `__pairs` metamethod fixes its
-- order (Lua's own is not even stable from run to run).
-- @tparam table map the keys and values
-- @tparam[opt] {string,...} first keys that come first, in this order; the
--   rest follow sorted
-- @treturn table
local function ordered(map, first)
  local keys, seen = {}, {}
  for _, k in ipairs(first or {}) do
    if map[k] ~= nil then keys[#keys + 1] = k; seen[k] = true end
  end
  local rest = {}
  for k in pairs(map) do
    if not seen[k] then rest[#rest + 1] = k end
  end
  table.sort(rest, function(a, b)
    if type(a) == type(b) and type(a) ~= "boolean" then return a < b end
    return tostring(a) < tostring(b)
  end)
  table.move(rest, 1, #rest, #keys + 1, keys)
  local raw = {}
  for _, k in ipairs(keys) do raw[k] = map[k] end
  if #keys == 0 then raw[EMPTY] = true end
  return setmetatable(raw, {
    __pairs = function(t)
      local i = 0
      return function()
        i = i + 1
        local k = keys[i]
        if k ~= nil then return k, rawget(t, k) end
      end, t, nil
    end,
  })
end

--- Turn a value loaded by lyaml into one lyaml.dump writes back the same,
-- mapping keys sorted.
-- @param v the value
-- @tparam[opt] string key the key it is found under
-- @return the value to dump
local function dumpable(v, key)
  if type(v) ~= "table" or v == NULL then return v end
  if is_seq(v) then
    local out = {}
    for i, x in ipairs(v) do out[i] = dumpable(x) end
    return out
  end
  if next(v) == nil and SEQUENCE_KEYS[key] then return {} end
  local out = {}
  for k, x in pairs(v) do out[k] = dumpable(x, k) end
  return ordered(out)
end
M.dumpable = dumpable

--- Whether two loaded YAML values are equal (an integer is not a float).
-- @param a
-- @param b
-- @treturn boolean
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return a == b and math.type(a) == math.type(b) end
  if type(a) ~= "table" or a == NULL or b == NULL then return a == b end
  for k, x in pairs(a) do
    if k ~= EMPTY and not same(x, b[k]) then return false end
  end
  for k in pairs(b) do
    if k ~= EMPTY and a[k] == nil then return false end
  end
  return true
end
M.same = same

--- Write one document with lyaml.dump and check that it loads back equal.
-- @param doc the document (as built with `ordered` and `dumpable`)
-- @param expect what loading it must give
-- @tparam string what the file name, for the error
-- @treturn string the YAML text
local function dump(doc, expect, what)
  local text = lyaml.dump({ doc })
  local ok, back = pcall(lyaml.load, text)
  if not ok or not same(back, expect) then
    error(("%s does not load back as written (%s); please report this charmcraft.yaml")
      :format(what, ok and "different content" or tostring(back)), 0)
  end
  return text
end

--- Read a YAML file with lyaml.
-- @tparam string path
-- @treturn table|nil the document
-- @treturn string the reason it could not be read, naming the file
function M.read_yaml(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  local ok, doc = pcall(lyaml.load, text)
  if not ok then
    return nil, ("%s:%s"):format(path, tostring(doc))
  end
  return doc
end

--- charmcraft.yaml.
-- @section charmcraft

--- The architectures Juju and charmcraft name, and the ELF machine of each.
M.ARCHES = { amd64 = 62, arm64 = 183, armhf = 40, ppc64el = 21, riscv64 = 243, s390x = 22 }

--- `uname -m` names of the same.
local UNAME_ARCH = {
  x86_64 = "amd64", aarch64 = "arm64", armv7l = "armhf", armv8l = "armhf",
  ppc64le = "ppc64el", riscv64 = "riscv64", s390x = "s390x",
}

--- Ubuntu releases `base:` accepts (`bases:` is for the older ones).
M.BASES = { ["22.04"] = true, ["24.04"] = true, ["26.04"] = true }

--- The errors of one check, as `key.path: message` strings.
-- @tparam[opt] {string,...} list where to add them (default a new list)
-- @treturn {string,...} the list
-- @treturn function `fail(path, fmt, ...)` adds one
local function new_errors(list)
  list = list or {}
  return list, function(path, fmt, ...)
    list[#list + 1] = path .. ": " .. fmt:format(...)
  end
end

--- Parse `ubuntu@24.04` into its channel.
local function base_channel(s)
  return type(s) == "string" and s:match("^ubuntu@(%d%d%.%d%d)$") or nil
end

--- Parse a build-for entry: `amd64` or `ubuntu@24.04:amd64`.
-- @treturn string|nil the architecture
-- @treturn string|nil the channel, when the entry names a base
local function parse_target(s)
  if type(s) ~= "string" then return nil end
  local base, arch = s:match("^([^:]+):([^:]+)$")
  if base then
    local ch = base_channel(base)
    if not ch then return nil end
    return arch, ch
  end
  return s, nil
end

--- Check base/platforms (or the deprecated bases) and list the targets.
-- @treturn {table,...} `{platform =, channel =, arch =}` per target
local function check_targets(cc, fail)
  local targets = {}
  if cc.bases ~= nil then
    if cc.base ~= nil or cc.platforms ~= nil then
      fail("bases", "is deprecated and cannot go with base: or platforms:; remove it")
    end
    if not is_seq(cc.bases) then
      fail("bases", "must be a list (and is deprecated: use base: and platforms:)")
      return targets
    end
    for i, entry in ipairs(cc.bases) do
      local runs = is_map(entry) and (entry["run-on"] or { entry }) or {}
      if not is_map(entry) then fail(keypath("bases", i), "must be a mapping (and bases: is deprecated)") end
      for j, b in ipairs(is_seq(runs) and runs or {}) do
        local at = entry["run-on"] and keypath("bases", i, "run-on", j) or keypath("bases", i)
        local ch = is_map(b) and b.channel
        if math.type(ch) == "float" then ch = ("%.2f"):format(ch) end -- channel: 24.04 unquoted
        if not is_map(b) or b.name ~= "ubuntu" or type(ch) ~= "string" then
          fail(at, "must be name: ubuntu, channel: \"22.04\" (and is deprecated)")
        elseif ch >= "24.04" then
          fail(at, "bases: is deprecated and not accepted for ubuntu %s: write base: ubuntu@%s and platforms: "
            .. "(e.g. amd64:) instead", ch, ch)
        else
          local arches = b.architectures
          if arches == nil then arches = { "amd64" } end
          for _, arch in ipairs(is_seq(arches) and arches or {}) do
            if not M.ARCHES[arch] then
              fail(at .. ".architectures", "unknown architecture %s", show(arch))
            else
              targets[#targets + 1] = { platform = "bases." .. i, channel = ch, arch = arch }
            end
          end
        end
      end
    end
    return targets
  end

  local top
  if cc.base == nil then
    top = nil
  elseif not base_channel(cc.base) or not M.BASES[base_channel(cc.base)] then
    fail("base", "%s is not a base charmcraft builds for (ubuntu@22.04, ubuntu@24.04, ubuntu@26.04)", show(cc.base))
    top = false
  else
    top = base_channel(cc.base)
  end
  local platforms = cc.platforms
  if platforms == nil then
    fail("platforms", "missing (e.g. platforms: {amd64: })")
    if top == nil then fail("base", "missing (e.g. base: ubuntu@24.04)") end
    return targets
  end
  if not is_map(platforms) or next(platforms) == nil then
    fail("platforms", "must be a non-empty mapping of platform names (e.g. amd64:)")
    return targets
  end
  local needs_base = false
  for _, name in ipairs(sorted_keys(platforms)) do
    local p, at = platforms[name], keypath("platforms", name)
    local arch, ch
    if p == NULL then
      arch, ch = parse_target(name)
      if not arch or not M.ARCHES[arch] then
        fail(at, "a platform without build-on/build-for must be named after an architecture "
          .. "(amd64, arm64, armhf, ppc64el, riscv64, s390x) or be BASE:ARCH")
        arch = nil
      end
    elseif not is_map(p) then
      fail(at, "must be empty or hold build-on: and build-for: (got %s)", show(p))
    else
      local bon, bfor = p["build-on"], p["build-for"]
      if not is_seq(bon) then fail(at .. ".build-on", "must be a non-empty list") end
      if not is_seq(bfor) or #bfor ~= 1 then
        fail(at .. ".build-for", "must be a list of exactly one target (one architecture per .charm)")
      else
        arch, ch = parse_target(bfor[1])
        if not arch or not M.ARCHES[arch] then
          fail(at .. ".build-for", "%s is not an architecture (amd64, arm64, ...) or BASE:ARCH", show(bfor[1]))
          arch = nil
        end
      end
    end
    if ch and not M.BASES[ch] then
      fail(at, "ubuntu@%s is not a base charmcraft builds for", ch)
      arch = nil
    end
    if arch then
      if not ch then needs_base = true end
      targets[#targets + 1] = { platform = name, channel = ch or top, arch = arch }
    end
  end
  if needs_base and top == nil then
    fail("base", "missing (e.g. base: ubuntu@24.04)")
  end
  return targets
end

--- Check a loaded charmcraft.yaml: its metadata, config and actions with
-- `juju.testing.metadata` (`metadata.check`: names, endpoints,
-- option types and defaults, action names and schemas, storage,
-- resources, containers, unknown keys), then what packing needs: `type:
-- charm`, no extensions, a summary and a description (charmcraft asks
-- for both), `parts` a mapping, and the base and platforms (or the
-- deprecated bases).
-- @tparam table cc the document
-- @treturn {string,...} the problems, each `key.path: message` (empty when
--   none)
-- @treturn {table,...} the targets `{platform =, channel =, arch =}`
function M.check(cc)
  local errs, fail = new_errors(metadata.check(cc))
  if not is_map(cc) or next(cc) == nil then return errs, {} end
  if cc.type == nil then
    fail("type", "missing (type: charm)")
  elseif cc.type ~= "charm" then
    fail("type", "%s: only type: charm is packed here", show(cc.type))
  end
  if cc.extensions ~= nil then
    fail("extensions", "charmcraft extensions are not supported by this packer")
  end
  for _, k in ipairs { "summary", "description" } do
    if cc[k] == nil or cc[k] == NULL then
      fail(k, "missing")
    elseif type(cc[k]) == "string" and cc[k]:match("^%s*$") then
      fail(k, "must be a non-empty string")
    end -- another type: said by metadata.check
  end
  if cc.parts ~= nil and not is_map(cc.parts) then
    fail("parts", "must be a mapping of part names (got %s)", show(cc.parts))
  end
  local targets = check_targets(cc, fail)
  return errs, targets
end

--- The generated files.
-- @section files

--- metadata.yaml of a checked charmcraft.yaml.
-- @tparam table cc
-- @treturn string YAML
function M.metadata_yaml(cc)
  local doc, expect = {}, {}
  for _, k in ipairs(metadata.METADATA_KEYS) do
    if cc[k] ~= nil then doc[k] = dumpable(cc[k], k); expect[k] = cc[k] end
  end
  return dump(ordered(doc, metadata.METADATA_KEYS), expect, "metadata.yaml")
end

--- config.yaml of a checked charmcraft.yaml (its `config:`).
-- @tparam table cc
-- @treturn string YAML
function M.config_yaml(cc)
  local options = {}
  for name, o in pairs(cc.config.options or {}) do
    local opt = {}
    for k, v in pairs(o) do opt[k] = dumpable(v, k) end
    options[name] = ordered(opt, { "type", "default", "description" })
  end
  return dump(ordered({ options = ordered(options) }), { options = cc.config.options or {} }, "config.yaml")
end

--- actions.yaml of a checked charmcraft.yaml (its `actions:`).
-- @tparam table cc
-- @treturn string YAML
function M.actions_yaml(cc)
  local actions = {}
  for name, a in pairs(cc.actions) do
    if a == NULL then
      actions[name] = NULL
    else
      local spec = {}
      for k, v in pairs(a) do spec[k] = dumpable(v, k) end
      actions[name] = ordered(spec, { "description", "params", "required" })
    end
  end
  return dump(ordered(actions), cc.actions, "actions.yaml")
end

--- manifest.yaml for one target.
-- @tparam table target `{channel =, arch =}`
-- @tparam string version what goes in charmcraft-version
-- @tparam int started seconds since 1970 (charmcraft-started-at)
-- @treturn string YAML
function M.manifest_yaml(target, version, started)
  local at = os.date("!%Y-%m-%dT%H:%M:%S.000000Z", started)
  local bases = { { name = "ubuntu", channel = target.channel, architectures = { target.arch } } }
  local analysis = { attributes = {
    { name = "language", result = "unknown" }, { name = "framework", result = "unknown" },
  } }
  local expect = {
    ["charmcraft-version"] = version, ["charmcraft-started-at"] = at,
    bases = bases, analysis = analysis,
  }
  local doc = ordered({
    ["charmcraft-version"] = version,
    ["charmcraft-started-at"] = at,
    bases = { ordered(bases[1], { "name", "channel", "architectures" }) },
    analysis = ordered({ attributes = {
      ordered(analysis.attributes[1], { "name", "result" }),
      ordered(analysis.attributes[2], { "name", "result" }),
    } }),
  }, { "charmcraft-version", "charmcraft-started-at", "bases", "analysis" })
  return dump(doc, expect, "manifest.yaml")
end

--- Packing.
-- @section pack

--- Read a whole file.
local function slurp(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local data = f:read("a")
  f:close()
  if not data then return nil, path .. ": cannot read" end
  return data
end

--- The architecture of an ELF binary, "script" for a `#!` script.
-- @tparam string data the file's content
-- @treturn string|nil architecture name (or "script")
-- @treturn string why not, when neither
function M.binary_arch(data)
  if data:sub(1, 2) == "#!" then return "script" end
  if data:sub(1, 4) ~= "\127ELF" or #data < 20 then
    return nil, "neither an ELF executable nor a #! script"
  end
  local little = data:byte(6) == 1
  local machine = string.unpack(little and "<I2" or ">I2", data, 19)
  for arch, m in pairs(M.ARCHES) do
    if m == machine and (arch ~= "ppc64el" or little) then return arch end
  end
  return nil, ("an ELF for machine %d, which is no architecture Juju runs"):format(machine)
end

--- This machine's architecture, in Juju's words.
-- @treturn string|nil
function M.host_arch()
  local p = io.popen("uname -m 2>/dev/null")
  local m = p and p:read("l")
  if p then p:close() end
  return m and UNAME_ARCH[m]
end

--- Collect the files of a directory tree as zip entries.
-- @tparam string root the charm directory
-- @tparam string rel the directory under it ("src")
-- @tparam table entries where to add them
-- @tparam function fail error reporter
local function add_tree(root, rel, entries, fail)
  entries[#entries + 1] = { name = rel .. "/", dir = true, mode = 493 }
  local names = {}
  for name in lfs.dir(root .. "/" .. rel) do
    if name:sub(1, 1) ~= "." then names[#names + 1] = name end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local path, sub = root .. "/" .. rel .. "/" .. name, rel .. "/" .. name
    if name:find("[%c\\]") then
      fail(sub, "a name with a control character or backslash cannot go into a .charm")
    else
      local link = lfs.symlinkattributes(path, "mode")
      local mode = lfs.attributes(path, "mode")
      if mode == "directory" and link == "link" then
        fail(sub, "a symlink to a directory: copy the directory instead")
      elseif mode == "directory" then
        add_tree(root, sub, entries, fail)
      elseif mode == "file" then
        local data, err = slurp(path)
        if not data then fail(sub, "%s", err) else entries[#entries + 1] = { name = sub, data = data, mode = 420 } end
      else
        fail(sub, "%s: only files and directories go into a .charm", mode or "a broken symlink")
      end
    end
  end
end

--- The header of a compiled chunk: "DLUAC" 0x01, the FNV-1a 64-bit hash
-- of the source and its length, little-endian (src/charmload.h reads it).
-- @tparam string source
-- @treturn string
function M.compiled_header(source)
  local h = -3750763034362895579   -- 0xcbf29ce484222325
  for i = 1, #source do
    h = (h ~ source:byte(i)) * 0x100000001b3
  end
  return "DLUAC\1" .. string.pack("<i8<I8", h, #source)
end

--- Pack a charm directory.
-- @tparam table opts `charm` (directory), `dispatch` (path), `out` (file)
--   or `out_dir` (directory), optional `arch`, `platform`,
--   `tool_version`, `mtime` (seconds since 1970; default
--   `SOURCE_DATE_EPOCH` or @{ZIP_EPOCH}), `compile` (true: add each Lua
--   file's chunk, compiled by this Lua, for dispatch to load instead of
--   parsing the source: only for a dispatch built with this same Lua)
-- @treturn table|nil `{path =, name =, arch =, channel =, entries =, size =}`
-- @treturn {string,...} the problems, each naming its file
function M.pack(opts)
  local charm = opts.charm:gsub("(.)/+$", "%1")
  local ccpath = charm .. "/charmcraft.yaml"
  local errs = {}
  local function add(file, list)
    for _, e in ipairs(list) do errs[#errs + 1] = file .. ": " .. e end
  end

  if lfs.attributes(charm, "mode") ~= "directory" then
    return nil, { charm .. ": not a directory" }
  end
  local cc, err = M.read_yaml(ccpath)
  if err then return nil, { err } end
  local problems, targets = M.check(cc)
  add(ccpath, problems)
  for _, legacy in ipairs { "metadata.yaml", "config.yaml", "actions.yaml" } do
    if lfs.attributes(charm .. "/" .. legacy, "mode") then
      errs[#errs + 1] = ("%s/%s: not read: its keys belong in charmcraft.yaml (remove this file)")
        :format(charm, legacy)
    end
  end

  -- dispatch, and the architecture it runs on
  local dispatch, derr = slurp(opts.dispatch)
  local darch
  if not dispatch then
    errs[#errs + 1] = "dispatch: " .. tostring(derr)
  elseif lfs.attributes(opts.dispatch, "mode") ~= "file" then
    errs[#errs + 1] = opts.dispatch .. ": not a regular file"
  else
    darch, derr = M.binary_arch(dispatch)
    if not darch then errs[#errs + 1] = opts.dispatch .. ": " .. derr end
  end
  local arch = opts.arch or (darch ~= "script" and darch) or M.host_arch() or "amd64"
  if not M.ARCHES[arch] then
    errs[#errs + 1] = ("--arch %s: not an architecture (%s)"):format(arch, table.concat(sorted_keys(M.ARCHES), ", "))
  elseif darch and darch ~= "script" and darch ~= arch then
    errs[#errs + 1] = ("%s: an ELF for %s, but the charm is packed for %s"):format(opts.dispatch, darch, arch)
  end

  -- the one target this .charm is for
  local target
  if #problems == 0 then
    local found, names = {}, {}
    for _, t in ipairs(targets) do
      if t.arch == arch and (not opts.platform or t.platform == opts.platform) then
        found[#found + 1] = t
        names[#names + 1] = t.platform
      end
    end
    if #found == 1 then
      target = found[1]
    elseif #found == 0 then
      local all = {}
      for _, t in ipairs(targets) do all[#all + 1] = t.platform .. " (" .. t.arch .. ")" end
      errs[#errs + 1] = ("%s: platforms: none builds for %s%s (platforms: %s)"):format(
        ccpath, arch, opts.platform and (" named " .. opts.platform) or "", table.concat(all, ", "))
    else
      errs[#errs + 1] = ("%s: platforms: %s all build for %s: choose one with --platform"):format(
        ccpath, table.concat(names, ", "), arch)
    end
  end

  -- the charm's own files
  local entries = {}
  local ffail = function(path, fmt, ...) errs[#errs + 1] = charm .. "/" .. path .. ": " .. fmt:format(...) end
  if lfs.attributes(charm .. "/src/charm.lua", "mode") ~= "file" then
    ffail("src/charm.lua", "missing: dispatch runs src/charm.lua for every event")
  else
    add_tree(charm, "src", entries, ffail)
  end
  if lfs.attributes(charm .. "/lib", "mode") == "directory" then add_tree(charm, "lib", entries, ffail) end
  -- every Lua file must compile (a syntax error fails the pack, not a
  -- hook); with --compile its chunk goes in as well (see src/charmload.h)
  local compiled = {}
  for _, e in ipairs(entries) do
    if not e.dir and e.name:match("%.lua$") then
      local chunk, cerr = load(e.data, "@" .. e.name)
      if not chunk then
        errs[#errs + 1] = charm .. "/" .. tostring(cerr)
      elseif opts.compile then
        compiled[#compiled + 1] = { name = ".dispatch/luac/" .. e.name, mode = 420,
                                    data = M.compiled_header(e.data) .. string.dump(chunk, false) }
      end
    end
  end
  if #compiled > 0 then
    local dirs = {}
    for _, c in ipairs(compiled) do
      local dir = c.name:match("^(.*)/[^/]*$")
      while dir and not dirs[dir] do
        dirs[dir] = true
        entries[#entries + 1] = { name = dir .. "/", dir = true, mode = 493 }
        dir = dir:match("^(.*)/[^/]*$")
      end
      entries[#entries + 1] = c
    end
  end
  for _, name in ipairs { "README.md", "LICENSE", "icon.svg" } do
    local mode = lfs.attributes(charm .. "/" .. name, "mode")
    if mode == "file" then
      local data, rerr = slurp(charm .. "/" .. name)
      if data then entries[#entries + 1] = { name = name, data = data, mode = 420 } else ffail(name, "%s", rerr) end
    elseif mode then
      ffail(name, "not a regular file")
    end
  end
  if #errs > 0 then return nil, errs end

  local mtime = opts.mtime
  if not mtime then
    local sde = os.getenv("SOURCE_DATE_EPOCH")
    mtime = sde and math.tointeger(tonumber(sde)) or M.ZIP_EPOCH
  end
  local ok, gen = pcall(function()
    local files = {
      { name = "manifest.yaml", data = M.manifest_yaml(target, opts.tool_version or "dispatch-pack", mtime) },
      { name = "metadata.yaml", data = M.metadata_yaml(cc) },
    }
    -- `config:` or `actions:` with nothing under it (null) is none, as for metadata.check
    if is_map(cc.config) then files[#files + 1] = { name = "config.yaml", data = M.config_yaml(cc) } end
    if is_map(cc.actions) then files[#files + 1] = { name = "actions.yaml", data = M.actions_yaml(cc) } end
    return files
  end)
  if not ok then return nil, { ccpath .. ": " .. tostring(gen) } end
  for _, f in ipairs(gen) do
    f.mode = 420
    entries[#entries + 1] = f
  end
  entries[#entries + 1] = { name = "dispatch", data = dispatch, mode = 493 }
  table.sort(entries, function(a, b) return a.name < b.name end)

  local zip, zerr = M.zip(entries, mtime)
  if not zip then return nil, { charm .. ": " .. zerr } end
  local out = opts.out or ((opts.out_dir or ".") .. "/" .. cc.name
    .. (opts.name_with_arch and ("_" .. target.arch) or "") .. ".charm")
  local tmp = out .. ".tmp"
  local f, oerr = io.open(tmp, "wb")
  if not f then return nil, { tostring(oerr) } end
  local wok, werr = f:write(zip)
  local cok, cerr = f:close()
  if not (wok and cok) then
    os.remove(tmp)
    return nil, { ("%s: %s"):format(tmp, tostring(werr or cerr)) }
  end
  local rok, rerr = os.rename(tmp, out)
  if not rok then
    os.remove(tmp)
    return nil, { tostring(rerr) }
  end
  return {
    path = out, name = cc.name, arch = target.arch, channel = target.channel,
    entries = #entries, size = #zip,
  }, {}
end

local USAGE = [[
usage: lua5.4 tools/pack.lua --charm DIR --dispatch PATH (--out FILE.charm | --out-dir DIR)
                             [--arch ARCH] [--platform NAME] [--tool-version VERSION] [--compile]
                             [--name-with-arch]
       lua5.4 tools/pack.lua --charm DIR --list-arches
]]

--- The command line.
-- @tparam {string,...} argv
-- @treturn int the exit status
function M.main(argv)
  local opts = {}
  local flags = {
    ["--charm"] = "charm", ["--dispatch"] = "dispatch", ["--out"] = "out", ["--out-dir"] = "out_dir",
    ["--arch"] = "arch", ["--platform"] = "platform", ["--tool-version"] = "tool_version",
  }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      return 0
    end
    if a == "--compile" or a == "--name-with-arch" or a == "--list-arches" then
      opts[a:sub(3):gsub("%-", "_")] = true
      i = i + 1
      goto next_arg
    end
    local key, value = flags[a], argv[i + 1]
    if not key or value == nil then
      io.stderr:write(("pack.lua: %s\n%s"):format(key and (a .. " needs a value") or ("unknown argument " .. a), USAGE))
      return 2
    end
    opts[key] = value
    i = i + 2
    ::next_arg::
  end
  if opts.list_arches and opts.charm then
    -- the architectures the charm's platforms build for, one a line
    local path = opts.charm .. "/charmcraft.yaml"
    local cc, rerr = M.read_yaml(path)
    if not cc then
      io.stderr:write("pack.lua: ", path, ": ", tostring(rerr), "\n")
      return 1
    end
    local errs, targets = M.check(cc)
    if #errs > 0 then
      for _, e in ipairs(errs) do io.stderr:write("pack.lua: ", path, ": ", e, "\n") end
      return 1
    end
    local seen = {}
    for _, t in ipairs(targets) do
      if not seen[t.arch] then
        seen[t.arch] = true
        io.stdout:write(t.arch, "\n")
      end
    end
    return 0
  end
  if not opts.charm or not opts.dispatch or not (opts.out or opts.out_dir) then
    io.stderr:write(USAGE)
    return 2
  end
  local result, errs = M.pack(opts)
  if not result then
    for _, e in ipairs(errs) do io.stderr:write("pack.lua: ", e, "\n") end
    io.stderr:write(("pack.lua: %s not packed (%d problem%s)\n"):format(opts.charm, #errs, #errs == 1 and "" or "s"))
    return 1
  end
  io.stdout:write(("packed %s: %s for ubuntu@%s/%s, %d entries, %d bytes\n"):format(
    result.path, result.name, result.channel, result.arch, result.entries, result.size))
  return 0
end

local modname = ...
if modname ~= "tools.pack" and modname ~= "pack" then
  os.exit(M.main(arg))
end
return M
