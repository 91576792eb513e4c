--- Debian packages: install and remove with `apt-get`, ask `dpkg-query`.
--
-- Every command runs through @{juju.process} (so its runner seam catches
-- them), with `DEBIAN_FRONTEND=noninteractive` and dpkg told to keep
-- existing configuration files without asking. apt that fails because
-- another process holds the dpkg lock (unattended-upgrades, often, right
-- after a machine boots) or because a download failed is tried again
-- after a pause that grows; any other failure raises at once.
--
--     local apt = require "juju.apt"
--     apt.install({"nginx", "ssl-cert"})
--     if not apt.is_installed("certbot") then apt.install("certbot") end
--
-- @module juju.apt

local check = require "juju.private.check"
local process = require "juju.process"
local sys = require "juju.sys"

local M = {}

local raise = check.raise

local type, pairs, ipairs, error = type, pairs, ipairs, error

-- The environment every apt command gets on top of the process's.
local ENV = { DEBIAN_FRONTEND = "noninteractive" }

--- What `apt-get` says (exit status 100) when another process holds a lock.
local LOCKED = {
  "Could not get lock",
  "Unable to acquire the dpkg frontend lock",
  "Unable to lock the administration directory",
  "Unable to lock directory",
}

--- What it says when a download failed.
local FETCH_FAILED = {
  "Failed to fetch",
  "Unable to fetch some archives",
  "Some index files failed to download",
  "Temporary failure resolving",
  "Could not resolve",
  "Could not connect to",
  "Connection timed out",
}

--- Whether apt ran `apt-get update` already in this process.
local updated = false

--- Would trying again help? "lock", "fetch" or nil.
local function transient(err)
  if err.code ~= 100 then return nil end
  for _, text in ipairs(LOCKED) do
    if err.stderr:find(text, 1, true) then return "lock" end
  end
  for _, text in ipairs(FETCH_FAILED) do
    if err.stderr:find(text, 1, true) then return "fetch" end
  end
  return nil
end

--- Run an apt command, trying again while it fails for a transient reason.
local function apt_run(argv, retries, pause)
  for attempt = 1, retries + 1 do
    local ok, res = pcall(process.run, argv, { env = ENV })
    if ok then return res end
    if getmetatable(res) ~= process.Error or attempt > retries or not transient(res) then
      error(res, 0)
    end
    sys.sleep(pause * attempt)
  end
end

--- Package names as a list: one name or a non-empty list of them.
local function package_list(packages, fname)
  local list = type(packages) == "string" and { packages } or packages
  if type(list) ~= "table" or #list == 0 then
    raise(("bad argument #1 to '%s' (a package name or a non-empty list of them expected, got %s)")
      :format(fname, type(list) == "table" and "an empty table" or type(packages)))
  end
  local n = 0
  for _ in pairs(list) do n = n + 1 end
  if n ~= #list then raise(("bad argument #1 to '%s' (not a list)"):format(fname)) end
  for i, name in ipairs(list) do
    if type(name) ~= "string" or name == "" or name:find("^%-") or name:find("[%s%z]") then
      raise(("bad argument #1 to '%s' (package %d: %s is not a package name)"):format(
        fname, i, type(name) == "string" and ("'" .. name .. "'") or ("a " .. type(name))))
    end
  end
  return list
end

--- The retry options: retries and pause.
local function retry_options(opts, fname, extra)
  if opts == nil then return 3, 5, {} end
  local spec = { retries = "number", pause = "number" }
  for k, want in pairs(extra) do spec[k] = want end
  check.options(2, fname, opts, spec)
  local retries, pause = opts.retries or 3, opts.pause or 5
  if math.type(retries) ~= "integer" or retries < 0 then
    raise(("bad argument #2 to '%s' (retries must be an integer >= 0)"):format(fname))
  end
  if not (pause >= 0 and pause < math.huge) then
    raise(("bad argument #2 to '%s' (pause must be a number of seconds >= 0)"):format(fname))
  end
  return retries, pause, opts
end

local INSTALL = {
  "apt-get", "install", "-y", "-q",
  "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
}

--- Install packages (and what they depend on).
-- First `apt-get update`, once per process (the package lists stay fresh
-- enough for one hook), then `apt-get install -y -q -o
-- Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
-- PACKAGES...`. Each is tried again, after a pause of `pause`, then
-- 2 × `pause`, ... seconds, when it fails because the dpkg lock is held or
-- a download failed.
-- @tparam string|{string,...} packages names, optionally with `=version`,
-- `/release` or `:arch`
-- @tparam[opt] table opts `update` (false: no `apt-get update`),
-- `retries` (how many times to try again, default 3), `pause` (seconds
-- before the first retry, default 5)
-- @raise a @{juju.process.Error} when apt keeps failing (the last
-- failure); a plain error at the caller's line for bad arguments
-- @usage
-- apt.install("nginx")
-- apt.install({"postgresql-14", "postgresql-contrib"}, {retries = 10})
function M.install(packages, opts)
  local list = package_list(packages, "install")
  local retries, pause
  retries, pause, opts = retry_options(opts, "install", { update = "boolean" })
  if opts.update ~= false and not updated then
    apt_run({ "apt-get", "update", "-q" }, retries, pause)
    updated = true
  end
  apt_run(table.move(list, 1, #list, #INSTALL + 1, table.move(INSTALL, 1, #INSTALL, 1, {})),
    retries, pause)
end

--- Remove packages (`apt-get remove -y -q`, or `purge` to remove their
-- configuration files too), trying again as @{install} does.
-- @tparam string|{string,...} packages
-- @tparam[opt] table opts `purge` (boolean), `retries`, `pause` (as for
-- @{install})
-- @raise a @{juju.process.Error} when apt keeps failing; a plain error at
-- the caller's line for bad arguments
-- @usage apt.remove("apache2", {purge = true})
function M.remove(packages, opts)
  local list = package_list(packages, "remove")
  local retries, pause
  retries, pause, opts = retry_options(opts, "remove", { purge = "boolean" })
  local argv = { "apt-get", opts.purge and "purge" or "remove", "-y", "-q" }
  apt_run(table.move(list, 1, #list, #argv + 1, argv), retries, pause)
end

--- Is a package installed? (`dpkg-query -W -f=${Status} PACKAGE` says
-- `install ok installed`.) A package dpkg has never heard of is not.
-- @tparam string package a package name, optionally with `:arch`
-- @treturn boolean
-- @raise a @{juju.process.Error} when dpkg-query fails otherwise; a plain
-- error at the caller's line for a bad name (patterns are not names)
-- @usage if not apt.is_installed("nginx") then apt.install("nginx") end
function M.is_installed(package)
  if type(package) ~= "string" or not package:find("^%w[%w+.%-]*$") and
      not package:find("^%w[%w+.%-]*:[%w%-]+$") then
    raise(("bad argument #1 to 'is_installed' (%s is not a package name)"):format(
      type(package) == "string" and ("'" .. package .. "'") or ("a " .. type(package))))
  end
  local ok, res = pcall(process.run, { "dpkg-query", "-W", "-f=${Status}", package })
  -- "<want> ok installed" (want: install, or hold for a held package),
  -- once per architecture and with nothing between them
  if ok then return res.stdout:find(" ok installed", 1, true) ~= nil end
  -- status 1: "dpkg-query: no packages found matching PACKAGE"
  if getmetatable(res) == process.Error and res.code == 1 and not res.timed_out then
    return false
  end
  error(res, 0)
end

return M
