-- make bench §6: juju.testing in process. The template's update-status and
-- config-changed as state transitions (ctx:run), against a baseline in the
-- same process: the same charm run by juju.charm.main with the hook
-- commands answered by a canned function (the framework's own cost, with no
-- simulator, no consistency check, no state copies). Prints µs per run,
-- runs per second and the ratio; never fails on a number.
local testing = require "juju.testing"
local juju = require "juju"
local charm_mod = require "juju.charm"
local sys = require "juju.sys"

local N = tonumber(arg[1]) or 3000
local ROUNDS = tonumber(arg[2]) or 5
local ctx = testing.context{ charm_dir = "charm-template/machine" }
local on = testing.on

local installed = ctx:run(on.install(), { leader = true })

local function best(fn)
  local b = math.huge
  for _ = 1, ROUNDS do
    local t0 = sys.monotime()
    for _ = 1, N do fn() end
    b = math.min(b, (sys.monotime() - t0) / N)
  end
  return b
end

-- the baseline: the framework alone, every hook command answered at once
local canned = {
  ["state-get"] = '{"charm.installed":"true","charm.port":"8080"}\n',
  ["config-get"] = '{"page":"Hello","port":8080}\n',
}
local env = { JUJU_UNIT_NAME = "hello-lua/0", JUJU_MODEL_NAME = "m", JUJU_DISPATCH_PATH = "hooks/update-status",
              JUJU_MODEL_UUID = "00000000-0000-4000-8000-000000000000" }
local function bare()
  juju.set_runner(function(argv) return 0, canned[argv[1]] or "", "" end)
  juju.set_env(env)
  charm_mod.main(ctx.charm, "hooks/update-status")
  juju.set_env(nil)
  juju.set_runner(nil)
end

for _, ev in ipairs { "update_status", "config_changed" } do
  local event = on[ev]()
  local t = best(function() ctx:run(event, installed) end)
  print(("   ctx:run(on.%s(), state): %.1f µs/run, %d runs/s"):format(ev, t * 1e6, math.floor(1 / t)))
end
local t_harness = best(function() ctx:run(on.update_status(), installed) end)
local t_bare = best(bare)
print(("   the bare framework (canned answers): %.1f µs/run"):format(t_bare * 1e6))
print(("   ratio harness/bare framework, update-status: %.2f   (target: harness <= 100 µs a run; "
  .. "Scenario about 2,100 µs)"):format(t_harness / t_bare))
