-- The real binary against the fake Pebble: build/dispatch runs juju.pebble
-- (lua/juju/pebble.lua over juju.pebble.io, the C HTTP and websocket
-- client) against build/fake-pebble (tests/pebble) on a unix socket, for
-- every client method, with the fake's request log and its container
-- filesystem (-root) as the witnesses. Also a Pebble whose changes take
-- time (-change-delay: /wait answers 504 first) and the Pebble of 2021
-- (-pebble-2021: no /wait, no restart action), and resource hygiene over
-- hundreds of requests in one process.
--
-- Pebble does not depend on the hook-command transport: these run once
-- (#once: the exec pass only).

local hookenv = require "helpers.hookenv"
local fakepebble = require "helpers.fakepebble"
local cjson = require "cjson"

local quote = hookenv.quote

--- The records of the log whose method and path match.
local function records(list, method, path_pattern)
  local out = {}
  for _, r in ipairs(list) do
    if r.method == method and r.path:match(path_pattern) then out[#out + 1] = r end
  end
  return out
end

--- stat(1) of a host path: "mode user group size".
local function stat(path)
  local p = assert(io.popen("stat -c '%a %U %G %s' " .. quote(path) .. " 2>/dev/null"))
  local line = p:read("l")
  p:close()
  return line
end

describe("juju.pebble in build/dispatch against build/fake-pebble #integration #once", function()
  local fake

  -- a fresh Pebble for each test
  before_each(function()
    fake = fakepebble.start { flags = { "-boot-id", "boot-1" } }
  end)
  after_each(function()
    if fake then assert.equal("", fake:stop()) end
    fake = nil
  end)

  local function run(code)
    return fakepebble.run(code, { dir = fake.dir })
  end

  it("system_info and can_connect: what Pebble says of itself", function()
    local out = run [[
      local c = pebble.container("web")
      out.info = c:system_info()
      out.can = { c:can_connect() }
    ]]
    assert.same({ version = "1.26.0", boot_id = "boot-1" }, out.info)
    assert.same({ true }, out.can)
    local log = fake:requests()
    assert.equal("GET /v1/system-info", log[#log])
    assert.same(fake:get("/v1/system-info"), { version = "1.26.0", ["boot-id"] = "boot-1" })
  end)

  it("can_connect is false, with a ConnectionError that says why, when nothing listens", function()
    local empty = hookenv.tmpdir()
    -- a socket file nobody listens on: Pebble gone, its socket left behind
    local stale = fakepebble.start { container = "db", dir = empty }
    os.execute(("kill -KILL %d"):format(stale.pid))
    stale:stop()
    local out = fakepebble.run([[
      for _, name in ipairs { "web", "db" } do
        local ok, err = pebble.container(name):can_connect()
        out[name] = { ok = ok, type = getmetatable(err).__name, kind = err.kind, text = tostring(err),
                      socket = err.socket }
      end
    ]], { dir = empty })
    hookenv.rmtree(empty)
    local web, db = empty .. "/web/pebble.socket", empty .. "/db/pebble.socket"
    assert.same({ ok = false, type = "juju.pebble.ConnectionError", kind = "connect", socket = web,
      text = ("cannot connect to Pebble at %s: cannot connect to %s: No such file or directory "
        .. "(container restarted?)"):format(web, web) }, out.web)
    assert.same({ ok = false, type = "juju.pebble.ConnectionError", kind = "connect", socket = db,
      text = ("cannot connect to Pebble at %s: cannot connect to %s: Connection refused "
        .. "(container restarted?)"):format(db, db) }, out.db)
  end)

  describe("layers and the plan", function()
    it("a table goes as JSON text, YAML text as it is; combine merges; plan() is parsed", function()
      local mark = fake:log_mark()
      local out = run [[
        local c = pebble.container("web")
        c:add_layer("base", {
          summary = "base layer",
          services = {
            app = { override = "replace", command = "/bin/app --port 80", startup = "enabled", after = {},
                    environment = { PORT = 80, MODE = "prod" } },
            db = { override = "replace", command = "/bin/db" },
          },
          checks = { up = { override = "replace", level = "alive", tcp = { port = 80 } } },
        })
        c:add_layer("extra", "services:\n  app:\n    override: merge\n    requires: [db]\n"
          .. "    environment:\n      MODE: staging\n")
        c:add_layer("base", { services = { app = { override = "merge", command = "/bin/app --port 81" } } },
          { combine = true })
        out.plan = c:plan()
      ]]
      local log = fake:log(mark)
      local layers = records(log, "POST", "^/v1/layers$")
      assert.equal(3, #layers)
      for _, r in ipairs(layers) do assert.equal(200, r.status) end
      -- the table went as JSON text (which Pebble's YAML reader takes)
      assert.same({ action = "add", combine = false, label = "base", format = "yaml" },
        { action = layers[1].body.action, combine = layers[1].body.combine, label = layers[1].body.label,
          format = layers[1].body.format })
      local sent = cjson.decode(layers[1].body.layer)
      assert.equal("/bin/app --port 80", sent.services.app.command)
      assert.same({}, sent.services.app.after)            -- a list, even empty
      assert.equal(80, sent.services.app.environment.PORT)
      assert.equal("services:\n  app:\n    override: merge\n    requires: [db]\n    environment:\n"
        .. "      MODE: staging\n", layers[2].body.layer)
      assert.is_true(layers[3].body.combine)
      -- the plan as Pebble combined it, parsed
      assert.same({
        services = {
          app = { override = "merge", command = "/bin/app --port 81", startup = "enabled", requires = { "db" },
                  environment = { PORT = "80", MODE = "staging" } },
          db = { override = "replace", command = "/bin/db" },
        },
        checks = { up = { override = "replace", level = "alive", tcp = { port = 80 } } },
      }, out.plan)
      -- and it is the fake's plan
      assert.matches("command: /bin/app %-%-port 81\n", fake:get("/v1/plan?format=yaml"))
    end)

    it("Pebble's refusals are APIErrors (400) with Pebble's message", function()
      local out = run [[
        local c = pebble.container("web")
        local function try(label, layer, opts)
          local r = catch(c.add_layer, c, label, layer, opts)
          if r.fields then r.fields.socket = nil end
          return r
        end
        c:add_layer("base", { summary = "the first" })
        out.exists = try("base", { services = { x = { override = "replace", command = "x" } } })
        out.no_override = try("l2", { services = { x = { command = "x" } } })
        out.bad_override = try("l3", "services:\n  x:\n    override: sometimes\n    command: x\n")
        out.no_command = try("l4", { services = { x = { override = "replace" } } })
        out.unknown = try("l5", { services = { x = { override = "replace", command = "x", colour = "red" } } })
        out.yaml = try("l6", "services: [1, 2")
      ]]
      local function api_error(message)
        return { code = 400, status = "Bad Request", message = message, method = "POST", target = "/v1/layers" }
      end
      for name, r in pairs(out) do
        assert.is_false(r.ok, name)
        assert.equal("juju.pebble.APIError", r.type, name)
        assert.matches("^Pebble API error on POST /v1/layers: 400 Bad Request: ", r.text, nil, name)
      end
      assert.same(api_error('layer "base" already exists'), out.exists.fields)
      assert.same(api_error('layer "l2" must define "override" for service "x"'), out.no_override.fields)
      assert.same(api_error('layer "l3" has invalid "override" value for service "x"'), out.bad_override.fields)
      assert.same(api_error('plan must define "command" for service "x"'), out.no_command.fields)
      assert.matches("field colour not found", out.unknown.fields.message)
      assert.matches("^cannot parse layer YAML: ", out.yaml.fields.message)
      -- nothing of them reached the plan
      assert.is_nil(fake:get("/v1/plan?format=yaml"):find("\n    x:", 1, true))
    end)
  end)

  describe("services and changes", function()
    it("start, stop, restart, replan and autostart wait for their changes", function()
      local mark = fake:log_mark()
      local out = run [[
        local c = pebble.container("web")
        out.no_defaults = catch(c.autostart, c)
        c:add_layer("svc", { services = {
          s1 = { override = "replace", command = "/bin/s1", startup = "enabled" },
          s2 = { override = "replace", command = "/bin/s2" },
        } })
        local function change(ch) return { kind = ch.kind, status = ch.status, ready = ch.ready, err = ch.err,
                                           tasks = #ch.tasks } end
        out.autostart = change(c:autostart())
        out.after_autostart = {}
        for name, s in pairs(c:services("s1", "s2")) do out.after_autostart[name] = s.current end
        out.start = change(c:start("s2"))
        out.stop = change(c:stop{ "s1", "s2", timeout = 10 })
        out.restart = change(c:restart("s1"))
        out.s1 = c:service("s1").current
        out.s2 = c:service("s2").current
        c:add_layer("svc", { services = { s1 = { override = "merge", environment = { V = "2" } } } },
          { combine = true })
        out.replan = change(c:replan())
        out.none = c:service("nope") == nil
        out.unknown = catch(c.start, c, "nope")
      ]]
      assert.equal("juju.pebble.APIError", out.no_defaults.type)
      assert.same({ 400, "no-default-services" }, { out.no_defaults.fields.code, out.no_defaults.fields.kind })
      assert.same({ kind = "autostart", status = "Done", ready = true, tasks = 1 }, out.autostart)
      assert.same({ s1 = "active", s2 = "inactive" }, out.after_autostart)
      assert.same({ kind = "start", status = "Done", ready = true, tasks = 1 }, out.start)
      assert.same({ kind = "stop", status = "Done", ready = true, tasks = 2 }, out.stop)
      assert.same({ kind = "restart", status = "Done", ready = true, tasks = 1 }, out.restart)
      assert.same({ "active", "inactive" }, { out.s1, out.s2 })
      -- the changed s1 is stopped and started again
      assert.same({ kind = "replan", status = "Done", ready = true, tasks = 2 }, out.replan)
      assert.is_true(out.none)
      assert.equal("juju.pebble.APIError", out.unknown.type)
      assert.equal('service "nope" does not exist', out.unknown.fields.message)
      -- every action was followed by a wait for its change, which was ready
      local log = fake:log(mark)
      local posts = records(log, "POST", "^/v1/services$")
      assert.equal(7, #posts)
      local waits = records(log, "GET", "^/v1/changes/%d+/wait$")
      assert.equal(5, #waits)
      for _, w in ipairs(waits) do
        assert.equal(200, w.status)
        assert.equal("timeout=4.000s", w.query)
      end
      local services = {}
      for _, s in ipairs(fake:get("/v1/services")) do services[s.name] = s.current end
      assert.same({ s1 = "active", s2 = "inactive" }, services)
    end)

    it("a service that does not start is a ChangeError with Pebble's text", function()
      run [[ pebble.container("web"):add_layer("bad", { services = { bad = { override = "replace",
        command = "/bin/bad" } } }) ]]
      fake:control("POST", "services", { name = "bad", ["fail-start"] = true })
      local out = run [[
        local c = pebble.container("web")
        out.err = catch(c.start, c, "bad")
        out.current = c:service("bad").current
      ]]
      assert.equal("juju.pebble.ChangeError", out.err.type)
      assert.matches('^Pebble change %d+ %(Start service "bad"%) failed: cannot perform the following tasks:\n'
        .. '%- Start service "bad" %(cannot start service: exited quickly with code 1%)$', out.err.text)
      assert.equal("error", out.current)
    end)

    it("send_signal reaches the services", function()
      local out = run [[
        local c = pebble.container("web")
        c:add_layer("svc", { services = {
          s1 = { override = "replace", command = "/bin/s1", startup = "enabled" },
          s2 = { override = "replace", command = "/bin/s2" },
        } })
        c:autostart()
        c:send_signal("SIGHUP", "s1")
        c:send_signal("USR1", { "s1" })
        out.stopped = catch(c.send_signal, c, "SIGHUP", "s2")
      ]]
      assert.same({ { signal = "SIGHUP", service = "s1" }, { signal = "SIGUSR1", service = "s1" } },
        fake:control("GET", "signals"))
      assert.equal("juju.pebble.APIError", out.stopped.type)
      assert.equal('cannot send signal to "s2": service is not running', out.stopped.fields.message)
    end)
  end)

  describe("files", function()
    it("push and pull: bytes as they are (NUL, CRLF, all 256 values), permissions, owner, make_dirs", function()
      local out = run [[
        local c = pebble.container("web")
        local all = {}
        for i = 0, 255 do all[#all + 1] = string.char(i) end
        local data = "line\r\nnul\0here\r\n" .. table.concat(all) .. "\n--boundary--\r\n"
        c:push("/etc/app/conf.d/a.bin", data, { make_dirs = true, permissions = "600", user = "nobody",
                                                group = "nogroup" })
        out.same = c:pull("/etc/app/conf.d/a.bin") == data
        out.len = #data
        c:push("/etc/app/b.txt", "", { permissions = 416 })
        out.empty = c:pull("/etc/app/b.txt")
        out.no_dir = catch(c.push, c, "/nowhere/x", "x")
        out.missing = catch(c.pull, c, "/etc/app/none")
        out.a_dir = catch(c.pull, c, "/etc/app")
      ]]
      assert.is_true(out.same)
      local all = {}
      for i = 0, 255 do all[#all + 1] = string.char(i) end
      local host = hookenv.read_file(fake:host_path("/etc/app/conf.d/a.bin"))
      assert.equal("line\r\nnul\0here\r\n" .. table.concat(all) .. "\n--boundary--\r\n", host)
      assert.equal(("600 nobody nogroup %d"):format(out.len), stat(fake:host_path("/etc/app/conf.d/a.bin")))
      assert.equal("640 root root 0", stat(fake:host_path("/etc/app/b.txt")))
      assert.equal("", out.empty)
      assert.equal("juju.pebble.PathError", out.no_dir.type)
      assert.equal("not-found", out.no_dir.fields.kind)
      assert.equal("juju.pebble.PathError", out.missing.type)
      assert.same({ kind = "not-found", path = "/etc/app/none",
                    message = "stat /etc/app/none: no such file or directory" }, out.missing.fields)
      assert.equal("generic-file-error", out.a_dir.fields.kind)
    end)

    it("a 5 MiB file goes up and comes back whole", function()
      local out = run [[
        local c = pebble.container("web")
        local chunk = {}
        for i = 0, 255 do chunk[#chunk + 1] = string.char(i) end
        local big = table.concat(chunk):rep(5 * 1024 * 4)
        out.len = #big
        out.push = catch(c.push, c, "/srv/big.bin", big, { make_dirs = true })
        local back = c:pull("/srv/big.bin")
        out.same = back == big
        out.size = c:list_files("/srv/big.bin")[1].size
      ]]
      assert.equal(5 * 1024 * 1024, out.len)
      assert.is_true(out.push.ok)
      assert.is_true(out.same)
      assert.equal(5 * 1024 * 1024, out.size)
      assert.equal(("644 root root %d"):format(5 * 1024 * 1024), stat(fake:host_path("/srv/big.bin")))
    end)

    it("list_files, exists, is_dir (a missing path: Pebble's 404, handled), make_dir, remove_path", function()
      local mark = fake:log_mark()
      local out = run [[
        local c = pebble.container("web")
        c:make_dir("/data/a/b", { make_parents = true, permissions = "750" })
        c:push("/data/a/b/one.conf", "1")
        c:push("/data/a/b/two.txt", "22")
        out.names = {}
        for _, f in ipairs(c:list_files("/data/a/b")) do out.names[#out.names + 1] = f.name .. ":" .. f.type end
        local conf = c:list_files("/data/a/b", { pattern = "*.conf" })
        out.conf = { #conf, conf[1].path, conf[1].size, conf[1].permissions }
        local itself = c:list_files("/data/a/b", { itself = true })
        out.itself = { #itself, itself[1].type, itself[1].permissions }
        out.exists = { c:exists("/data/a/b/one.conf"), c:exists("/data/nope"), c:exists("/data/a") }
        out.is_dir = { c:is_dir("/data/a"), c:is_dir("/data/a/b/one.conf"), c:is_dir("/nope/nope") }
        out.list_missing = catch(c.list_files, c, "/data/nope")
        out.mkdir_exists = catch(c.make_dir, c, "/data/a")
        out.mkdir_parents_exists = catch(c.make_dir, c, "/data/a", { make_parents = true })
        out.rm_not_empty = catch(c.remove_path, c, "/data/a")
        c:remove_path("/data/a/b/two.txt")
        c:remove_path("/data/a", { recursive = true })
        out.gone = c:exists("/data/a")
        out.rm_missing = catch(c.remove_path, c, "/data/a")
      ]]
      assert.same({ "one.conf:file", "two.txt:file" }, out.names)
      assert.same({ 1, "/data/a/b/one.conf", 1, "644" }, out.conf)
      assert.same({ 1, "directory", "750" }, out.itself)
      assert.same({ true, false, true }, out.exists)
      assert.same({ true, false, false }, out.is_dir)
      assert.equal("juju.pebble.APIError", out.list_missing.type)
      assert.equal(404, out.list_missing.fields.code)
      assert.equal("juju.pebble.PathError", out.mkdir_exists.type)
      assert.is_true(out.mkdir_parents_exists.ok)
      assert.equal("juju.pebble.PathError", out.rm_not_empty.type)
      assert.is_false(out.gone)
      assert.equal("not-found", out.rm_missing.fields.kind)
      assert.is_false(hookenv.exists(fake:host_path("/data/a")))
      -- exists and is_dir asked for the path itself, and took the 404s
      local lists = records(fake:log(mark), "GET", "^/v1/files$")
      local statuses = {}
      for _, r in ipairs(lists) do
        if r.query:match("itself=true") then statuses[#statuses + 1] = r.status end
      end
      assert.same({ 200, 200, 404, 200, 200, 200, 404, 404 }, statuses)
    end)
  end)

  describe("checks and notices", function()
    it("checks and their changes, moved by /fake/checks; start_checks and stop_checks", function()
      local out = run [[
        local c = pebble.container("web")
        c:add_layer("checks", { checks = {
          alive = { override = "replace", level = "alive", tcp = { port = 8080 } },
          ready = { override = "replace", level = "ready", startup = "disabled", http = { url = "http://localhost/" } },
        } })
        local all = c:checks()
        out.before = { all.alive.status, all.alive.level, all.alive.threshold, all.ready.status, all.ready.startup }
        out.alive_only = {}
        for name in pairs(c:checks{ level = "alive" }) do out.alive_only[#out.alive_only + 1] = name end
        out.started = c:start_checks("ready", "alive")
        out.stopped = c:stop_checks{ "ready" }
        out.again = c:stop_checks{ "ready" }
      ]]
      assert.same({ "up", "alive", 3, "inactive", "disabled" }, out.before)
      assert.same({ "alive" }, out.alive_only)
      assert.same({ "ready" }, out.started)
      assert.same({ "ready" }, out.stopped)
      assert.same({}, out.again)
      fake:control("POST", "checks", { name = "alive", status = "down" })
      out = run [[
        local c = pebble.container("web")
        local up = c:checks{ names = { "alive" } }.alive
        out.down = { up.status, up.failures, up.change_id ~= nil }
      ]]
      assert.same({ "down", 3, true }, out.down)
    end)

    it("notify, notices and notice: custom notices and Pebble's change-updates", function()
      local out = run [[
        local c = pebble.container("web")
        c:add_layer("l", { services = { s = { override = "replace", command = "/bin/s" } } })
        c:start("s")
        out.id = c:notify("example.com/backup-done", { path = "/srv/b.tar" })
        out.id2 = c:notify("example.com/backup-done", { path = "/srv/c.tar" }, { repeat_after = 3600 })
        local n = c:notice(out.id)
        out.notice = { id = n.id, type = n.type, key = n.key, occurrences = n.occurrences, data = n.last_data,
                       repeat_after = n.repeat_after, times = type(n.first_occurred) == "number"
                         and n.last_repeated >= n.first_occurred }
        out.custom = {}
        for _, x in ipairs(c:notices{ types = { "custom" }, keys = { "example.com/backup-done" } }) do
          out.custom[#out.custom + 1] = x.key
        end
        out.updates = #c:notices{ types = { "change-update" }, users = "all" } > 0
        out.missing = catch(c.notice, c, "99999")
        out.bad_key = catch(c.notify, c, "not a key")
      ]]
      assert.equal(out.id, out.id2)                 -- the same notice, repeated
      assert.same({ id = out.id, type = "custom", key = "example.com/backup-done", occurrences = 2,
                    data = { path = "/srv/c.tar" }, repeat_after = "1h0m0s", times = true }, out.notice)
      assert.same({ "example.com/backup-done" }, out.custom)
      assert.is_true(out.updates)
      assert.equal("juju.pebble.APIError", out.missing.type)
      assert.same({ 404, "not-found" }, { out.missing.fields.code, out.missing.fields.kind })
      assert.equal("juju.pebble.APIError", out.bad_key.type)
      assert.equal(400, out.bad_key.fields.code)
    end)
  end)

  describe("exec", function()
    it("stdout, stderr merged or split, exit codes, environment, working_dir", function()
      hookenv.sh("mkdir -p " .. quote(fake:host_path("/wd")))
      hookenv.write_file(fake:host_path("/wd/marker"), "")
      local out = run [[
        local c = pebble.container("web")
        out.merged = c:exec({ "sh", "-c", "echo out; echo err >&2" })
        out.split = c:exec({ "sh", "-c", "echo out; echo err >&2" }, { split_stderr = true })
        out.env = c:exec({ "sh", "-c", 'printf "%s|%s" "$GREETING" "$EMPTY"' },
          { environment = { GREETING = "hello world", EMPTY = "" } }).stdout
        out.cwd = c:exec({ "ls" }, { working_dir = "/wd" }).stdout
        local failed = catch(c.exec, c, { "sh", "-c", "echo partial; echo broken >&2; exit 3" },
          { split_stderr = true })
        out.failed = failed
        out.unchecked = c:exec({ "sh", "-c", "exit 4" }, { check = false })
        out.killed = catch(c.exec, c, { "sh", "-c", "kill -TERM $$" })
        out.missing = catch(c.exec, c, { "no-such-program-here" })
        out.no_start = catch(c.exec, c, { "true" }, { working_dir = "/no/such/dir", split_stderr = true })
      ]]
      assert.same({ stdout = "out\nerr\n", stderr = "", code = 0 }, out.merged)
      assert.same({ stdout = "out\n", stderr = "err\n", code = 0 }, out.split)
      assert.equal("hello world|", out.env)
      assert.equal("marker\n", out.cwd)
      assert.equal("juju.pebble.ExecError", out.failed.type)
      assert.same({ code = 3, stdout = "partial\n", stderr = "broken\n", container = "web" }, out.failed.fields)
      assert.equal("command [sh -c echo partial; echo broken >&2; exit 3] exited with status 3 in container web: "
        .. "broken", out.failed.text)
      assert.same({ stdout = "", stderr = "", code = 4 }, out.unchecked)
      assert.equal("juju.pebble.ExecError", out.killed.type)
      assert.equal(128 + 15, out.killed.fields.code)
      assert.equal("juju.pebble.APIError", out.missing.type)
      assert.same({ 400, 'cannot find executable "no-such-program-here"' },
        { out.missing.fields.code, out.missing.fields.message })
      -- found, but it cannot start: Pebble ends the output, the change says why
      assert.equal("juju.pebble.ChangeError", out.no_start.type)
      assert.matches('%(Execute command "true"%) failed: cannot perform the following tasks:\n'
        .. '%- Execute command "true" %(fork/exec [^)]*: no such file or directory%)$', out.no_start.text)
    end)

    it("several MiB of stdin while several MiB come out", function()
      local mark = fake:log_mark()
      local out = run [[
        local c = pebble.container("web")
        local input = {}
        for i = 1, 4 * 1024 * 1024 // 64 do input[i] = ("%063d\n"):format(i) end
        input = table.concat(input)
        -- every line back twice: 8 MiB out for 4 MiB in, stdout and stderr both
        local r = c:exec({ "tee", "/dev/stderr" }, { stdin = input,
          split_stderr = true })
        out.len_in = #input
        out.same_out = r.stdout == input
        out.same_err = r.stderr == input
        local merged = c:exec({ "cat" }, { stdin = input })
        out.same_cat = merged.stdout == input
      ]]
      assert.equal(4 * 1024 * 1024, out.len_in)
      assert.is_true(out.same_out)
      assert.is_true(out.same_err)
      assert.is_true(out.same_cat)
      -- stdin went in binary messages of at most 64 KiB, then the end
      local total, biggest, ends = 0, 0, 0
      for _, r in ipairs(records(fake:log(mark), "WS", "/websocket/stdio$")) do
        if r.ws == "binary" then
          total = total + r.body_len
          biggest = math.max(biggest, r.body_len)
        elseif r.ws == "text" and r.body and r.body.command == "end" then
          ends = ends + 1
        end
      end
      assert.equal(2 * 4 * 1024 * 1024, total)
      assert.equal(64 * 1024, biggest)
      assert.equal(2, ends)
    end)

    it("a timeout: Pebble kills the command and the change fails (ChangeError)", function()
      local out = run [[
        local c = pebble.container("web")
        out.err = catch(c.exec, c, { "sleep", "30" }, { timeout = 0.5 })
      ]]
      assert.equal("juju.pebble.ChangeError", out.err.type)
      assert.matches('failed: cannot perform the following tasks:\n%- Execute command "sleep" %(timed out after 500ms',
        out.err.text)
      assert.is_true(out.err.seconds < 5, out.err.seconds)
    end)

    it("an exec's I/O past its time: SIGKILL on the control websocket, kind timeout", function()
      local mark = fake:log_mark()
      local out = run [[
        local pio = require "juju.pebble.io"
        local c = pebble.container("web")
        -- started without Pebble's timeout: only the client's I/O deadline ends it
        local status, _, body = pio.request(c.socket_path, "POST", "/v1/exec",
          { ["Content-Type"] = "application/json" }, '{"command":["sleep","30"]}', 5)
        local env = json.decode(body)
        local t0 = sys.monotime()
        local stdout, message, kind = pio.exec_io(c.socket_path, env.result["task-id"], { timeout = 0.5 })
        out.io = { stdout = stdout, message = message, kind = kind }
        out.seconds = sys.monotime() - t0
        out.status = status
        out.task = env.result["task-id"]
        local change = c:wait_change(env.change, { timeout = 10 })
        out.exit = change.tasks[1].data["exit-code"]
      ]]
      assert.equal(202, out.status)
      assert.is_nil(out.io.stdout)
      assert.equal("exec task " .. out.task .. " on " .. fake.socket .. " timed out; SIGKILL sent", out.io.message)
      assert.equal("timeout", out.io.kind)
      assert.is_true(out.seconds >= 0.5 and out.seconds < 3, out.seconds)
      assert.equal(128 + 9, out.exit)
      local signals = {}
      for _, r in ipairs(records(fake:log(mark), "WS", "/websocket/control$")) do signals[#signals + 1] = r.body end
      assert.same({ { command = "signal", signal = { name = "SIGKILL" } } }, signals)
    end)
  end)

  it("200 requests and 50 execs in one process (and failures): the same fds, no child left", function()
    local out = run(hookenv.PROBE .. [[
      local c = pebble.container("web")
      c:system_info()
      out.before = probe()
      local failures = 0
      for i = 1, 200 do
        if i % 4 == 0 then
          if not pcall(c.pull, c, "/no/such/file") then failures = failures + 1 end
        elseif i % 4 == 1 then
          c:push("/tmp-hygiene/f", tostring(i), { make_dirs = true })
        else
          c:system_info()
        end
      end
      for i = 1, 50 do
        local r = c:exec({ "sh", "-c", "cat; echo $0 >&2" }, { stdin = tostring(i), split_stderr = i % 2 == 0 })
        assert(r.stdout:sub(1, #tostring(i)) == tostring(i))
      end
      out.after = probe()
      -- and failures half-way: hostile answers, websockets refused after others opened
      local pio = require "juju.pebble.io"
      local quick = pebble.container("web", { timeout = 0.3 })
      local hostile = { { "/v1/plan", "garbage" }, { "/v1/plan", "truncated-chunked" }, { "/v1/plan", "hang" },
        { "/v1/tasks/*/websocket/stdio", "ws-masked" }, { "/v1/tasks/*/websocket/stdio", "close" },
        { "/v1/tasks/*/websocket/stderr", "hang" }, { "/v1/tasks/*/websocket/control", "ws-rsv" } }
      for _, h in ipairs(hostile) do
        assert(pio.request(c.socket_path, "POST", "/fake/hostile", nil,
          json.encode { path = h[1], mode = h[2], count = 1 }, 5) == 200)
        local ok
        if h[1] == "/v1/plan" then
          ok = pcall(quick.plan, quick)
        else
          ok = pcall(quick.exec, quick, { "echo" }, { split_stderr = true })
        end
        if not ok then failures = failures + 1 end
      end
      out.failures = failures
      out.after_failures = probe()
    ]])
    assert.equal(50 + 7, out.failures)
    assert.equal(out.before, out.after_failures)
    assert.matches("zombies=0 children=1$", out.before)  -- the probing shell
    assert.equal(out.before, out.after)
  end)
end)

describe("a Pebble whose changes take time (-change-delay) #integration #once", function()
  local fake

  setup(function()
    fake = fakepebble.start { flags = { "-change-delay", "2500ms" } }
  end)
  teardown(function()
    if fake then assert.equal("", fake:stop()) end
  end)

  it("/wait answers 504 in slices of the client's timeout until the change is ready", function()
    local mark = fake:log_mark()
    local out = fakepebble.run([[
      local c = pebble.container("web", { timeout = 1 })
      c:add_layer("l", { services = { s = { override = "replace", command = "/bin/s" } } })
      local t0 = sys.monotime()
      local change = c:start("s")
      out.seconds = sys.monotime() - t0
      out.change = { change.status, change.ready }
      out.current = c:service("s").current
      out.short = catch(c.stop, c, { "s", timeout = 1.5 })
    ]], { dir = fake.dir })
    assert.same({ "Done", true }, out.change)
    assert.equal("active", out.current)
    assert.is_true(out.seconds >= 2.4 and out.seconds < 6, out.seconds)
    local waits = records(fake:log(mark), "GET", "^/v1/changes/%d+/wait$")
    local first = waits[1].path
    local statuses = {}
    for _, w in ipairs(waits) do
      if w.path == first then statuses[#statuses + 1] = w.status end
    end
    -- slices of a second (the client's timeout less one, at least one)
    assert.equal("timeout=1.000s", waits[1].query)
    assert.is_true(#statuses >= 3, cjson.encode(statuses))
    assert.equal(200, statuses[#statuses])
    for i = 1, #statuses - 1 do assert.equal(504, statuses[i]) end
    -- a change not ready in the time given: a TimeoutError naming it
    assert.equal("juju.pebble.TimeoutError", out.short.type)
    assert.matches("^timed out waiting for change %d+ %(1.5 s%)$", out.short.text)
    assert.is_true(out.short.seconds >= 1.4 and out.short.seconds < 4.5, out.short.seconds)
  end)
end)

describe("the Pebble of 2021 (-pebble-2021) #integration #once", function()
  local fake

  setup(function()
    fake = fakepebble.start { flags = { "-pebble-2021", "-change-delay", "600ms" } }
  end)
  teardown(function()
    if fake then assert.equal("", fake:stop()) end
  end)

  it("changes are polled (no /wait), restart is stop then start, newer endpoints are 404s", function()
    local mark = fake:log_mark()
    local out = fakepebble.run([[
      local c = pebble.container("web", { timeout = 5 })
      c:add_layer("l", { services = {
        a = { override = "replace", command = "/bin/a", startup = "enabled" },
        b = { override = "replace", command = "/bin/b" },
      } })
      out.replan = c:replan().status
      out.restart = c:restart("a", "b").kind
      out.states = { c:service("a").current, c:service("b").current }
      out.exec = catch(c.exec, c, { "true" })
      out.notices = catch(c.notices, c)
      out.checks = catch(c.checks, c)
    ]], { dir = fake.dir })
    assert.equal("Done", out.replan)
    assert.equal("start", out.restart)
    assert.same({ "active", "active" }, out.states)
    for _, k in ipairs { "exec", "notices", "checks" } do
      assert.equal("juju.pebble.APIError", out[k].type, k)
      assert.equal(404, out[k].fields.code, k)
    end
    -- what was asked, in order: each change's /wait once (404), then polls
    local lines = {}
    for _, line in ipairs(fake:requests(mark)) do
      line = line:gsub("/v1/changes/%d+", "/v1/changes/N")
      if lines[#lines] ~= line or not line:match("^GET /v1/changes/N$") then lines[#lines + 1] = line end
    end
    assert.same({
      "POST /v1/layers",
      "POST /v1/services", "GET /v1/changes/N/wait?timeout=4.000s", "GET /v1/changes/N",
      "POST /v1/services",                          -- restart: 400 invalid action
      "GET /v1/services?names=a,b",                 -- which are running
      "POST /v1/services", "GET /v1/changes/N/wait?timeout=4.000s", "GET /v1/changes/N",   -- stop a
      "POST /v1/services", "GET /v1/changes/N/wait?timeout=4.000s", "GET /v1/changes/N",   -- start a, b
      "GET /v1/services?names=a", "GET /v1/services?names=b",
      "POST /v1/exec", "GET /v1/notices", "GET /v1/checks",
    }, lines)
    local posts = records(fake:log(mark), "POST", "^/v1/services$")
    local actions = {}
    for _, p in ipairs(posts) do
      actions[#actions + 1] = ("%s %s %d"):format(p.body.action, table.concat(p.body.services or {}, ","), p.status)
    end
    assert.same({ "replan  202", "restart a,b 400", "stop a 202", "start a,b 202" }, actions)
    -- polling every 0.1 s while a change is Doing (600 ms): each change
    -- asked about more than once, however late the first poll
    local polls = {}
    for _, r in ipairs(records(fake:log(mark), "GET", "^/v1/changes/%d+$")) do
      polls[r.path] = (polls[r.path] or 0) + 1
    end
    local counts = {}
    for _, n in pairs(polls) do counts[#counts + 1] = n end
    assert.equal(3, #counts)
    for _, n in ipairs(counts) do assert.is_true(n >= 2, cjson.encode(polls)) end
  end)
end)
