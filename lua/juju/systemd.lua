--- systemd services: start, stop, enable, and ask, with `systemctl`.
--
-- Every command runs through @{juju.process} (so its runner seam catches
-- them, and a failure raises a @{juju.process.Error} whose message carries
-- systemctl's first line of complaint). A unit name is used as given
-- (`nginx` means `nginx.service` to systemctl); one that is empty, starts
-- with `-` (systemctl would read an option) or holds a NUL byte is a
-- plain error at the caller's line.
--
--     local systemd = require "juju.systemd"
--     file.write("/etc/systemd/system/app.service", unit_text)
--     systemd.daemon_reload()
--     systemd.enable("app", {now = true})
--     if not systemd.is_active("app") then status.blocked("app is down") end
--
-- @module juju.systemd

local check = require "juju.private.check"
local process = require "juju.process"

local M = {}

local raise = check.raise

local type, error = type, error

local function check_unit(unit, fname)
  if type(unit) ~= "string" then
    raise(("bad argument #1 to '%s' (unit name expected, got %s)"):format(fname, type(unit)))
  end
  if unit == "" or unit:find("^%-") or unit:find("\0", 1, true) then
    raise(("bad argument #1 to '%s' ('%s' is not a unit name)"):format(fname, (unit:gsub("%z", "\\0"))))
  end
end

--- Check an options table that may only hold `now`.
local function now_option(opts, fname)
  return check.options(2, fname, opts, { now = "boolean" }).now == true
end

local function verb(name)
  return function(unit)
    check_unit(unit, name)
    process.run({ "systemctl", name, unit })
  end
end

--- Start a unit (`systemctl start UNIT`).
-- @tparam string unit
-- @raise a @{juju.process.Error} when systemctl fails
-- @usage systemd.start("nginx")
-- @function start
M.start = verb("start")

--- Stop a unit (`systemctl stop UNIT`).
-- @tparam string unit
-- @raise a @{juju.process.Error} when systemctl fails
-- @usage systemd.stop("nginx")
-- @function stop
M.stop = verb("stop")

--- Restart a unit, starting it if it was not running
-- (`systemctl restart UNIT`).
-- @tparam string unit
-- @raise a @{juju.process.Error} when systemctl fails
-- @usage systemd.restart("nginx")
-- @function restart
M.restart = verb("restart")

--- Ask a unit to reload its configuration (`systemctl reload UNIT`).
-- @tparam string unit
-- @raise a @{juju.process.Error} when systemctl fails (also when the unit
-- cannot reload: use @{restart} for those)
-- @usage systemd.reload("nginx")
-- @function reload
M.reload = verb("reload")

-- systemctl ACTION [--now] UNIT, for enable and disable.
local function at_boot(action, unit, opts)
  check_unit(unit, action)
  if now_option(opts, action) then
    process.run({ "systemctl", action, "--now", unit })
  else
    process.run({ "systemctl", action, unit })
  end
end

--- Enable a unit to start at boot.
-- (`systemctl enable [--now] UNIT`)
-- @tparam string unit
-- @tparam[opt] table opts `now` (true: start it now too)
-- @raise a @{juju.process.Error} when systemctl fails
-- @usage systemd.enable("app", {now = true})
function M.enable(unit, opts)
  at_boot("enable", unit, opts)
end

--- Keep a unit from starting at boot.
-- (`systemctl disable [--now] UNIT`)
-- @tparam string unit
-- @tparam[opt] table opts `now` (true: stop it now too)
-- @raise a @{juju.process.Error} when systemctl fails
-- @usage systemd.disable("apache2", {now = true})
function M.disable(unit, opts)
  at_boot("disable", unit, opts)
end

-- Ask systemctl; true on status 0, false on the status that means no.
local function ask(args, no)
  local ok, res = pcall(process.run, args)
  if ok then return true end
  if getmetatable(res) == process.Error and res.code == no and not res.timed_out then
    return false
  end
  error(res, 0)
end

--- Is a unit running?
-- (`systemctl is-active --quiet UNIT`: status 0 is yes, 3 is no: inactive,
-- failed, or no such unit.)
-- @tparam string unit
-- @treturn boolean
-- @raise a @{juju.process.Error} for any other status
-- @usage if not systemd.is_active("app") then systemd.start("app") end
function M.is_active(unit)
  check_unit(unit, "is_active")
  return ask({ "systemctl", "is-active", "--quiet", unit }, 3)
end

--- Will a unit start at boot?
-- (`systemctl is-enabled --quiet UNIT`: status 0 is yes (enabled, static,
-- alias, ...), 1 is no (disabled, masked, or no such unit).)
-- @tparam string unit
-- @treturn boolean
-- @raise a @{juju.process.Error} for any other status
-- @usage if not systemd.is_enabled("app") then systemd.enable("app") end
function M.is_enabled(unit)
  check_unit(unit, "is_enabled")
  return ask({ "systemctl", "is-enabled", "--quiet", unit }, 1)
end

--- Make systemd read unit files again, after writing or changing one
-- (`systemctl daemon-reload`).
-- @raise a @{juju.process.Error} when systemctl fails
-- @usage
-- file.write("/etc/systemd/system/app.service", text)
-- systemd.daemon_reload()
function M.daemon_reload()
  process.run({ "systemctl", "daemon-reload" })
end

return M
