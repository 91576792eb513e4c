-- make bench §8, the dispatch side: N rounds of {can_connect, add_layer,
-- replan (waiting for its change)} and M execs of `true` against a Pebble
-- socket, timed inside this process; prints the line go-pebble-client
-- prints, so tests/bench/run compares the two.
local pebble = require "juju.pebble"
local sys = require "juju.sys"

local socket, n, m = arg[1], tonumber(arg[2]) or 100, tonumber(arg[3]) or 100
local c = pebble.client(socket)
local layer = { summary = "bench", services = { web = { override = "replace", command = "/bin/true",
                                                        startup = "enabled" } } }
local t0 = sys.monotime()
for _ = 1, n do
  assert(c:can_connect())
  c:add_layer("bench", layer, { combine = true })
  c:replan()
end
local t1 = sys.monotime()
for _ = 1, m do c:exec({ "true" }) end
local t2 = sys.monotime()
io.write(("rounds=%d round_seconds=%.6f execs=%d exec_seconds=%.6f seconds=%.6f\n"):format(
  n, t1 - t0, m, t2 - t1, t2 - t0))
