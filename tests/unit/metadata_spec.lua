-- juju.testing.metadata: charmcraft.yaml (or metadata.yaml, config.yaml
-- and actions.yaml) read with lyaml into one normalized table, checked
-- the way Juju and charmcraft check it; config defaults and checks; action
-- params as Juju validates and fills them. Files are real, in a scratch
-- directory; the template charm is read as it is in the repository.

local hookenv = require "helpers.hookenv"
local lyaml = require "lyaml"

hookenv.juju()
local metadata = require "juju.testing.metadata"
local json = require("juju").json

local NULL = lyaml.null

--- from_table's error text for t (it must raise).
local function problems(t)
  local ok, err = pcall(metadata.from_table, t)
  assert.is_false(ok, "from_table accepted it")
  assert.equal("string", type(err))
  return err
end

--- A table of charmcraft.yaml keys: name plus the given ones.
local function cc(extra)
  local t = { name = "my-charm" }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

describe("juju.testing.metadata #unit", function()
  describe("from_table", function()
    it("a bare name: everything else empty, nothing subordinate", function()
      local meta = metadata.from_table { name = "my-charm" }
      assert.equal("my-charm", meta.name)
      assert.is_false(meta.subordinate)
      for _, k in ipairs { "endpoints", "extra_bindings", "config", "actions", "storage",
                           "containers", "resources", "assumes" } do
        assert.same({}, meta[k], k)
      end
      assert.is_nil(meta.summary)
    end)

    it("name, summary, title and description as given", function()
      local meta = metadata.from_table { name = "a1-b2", summary = "S", title = "T", description = "D" }
      assert.same({ "a1-b2", "S", "T", "D" }, { meta.name, meta.summary, meta.title, meta.description })
    end)

    it("endpoints: the short form, Juju's defaults, each role", function()
      local meta = metadata.from_table(cc {
        provides = { website = "http" },
        requires = { db = { interface = "pgsql", limit = 1, optional = true } },
        peers = { replicas = { interface = "my_peers" } },
      })
      assert.same({
        website = { role = "provides", interface = "http", scope = "global", optional = false },
        db = { role = "requires", interface = "pgsql", scope = "global", limit = 1, optional = true },
        replicas = { role = "peers", interface = "my_peers", scope = "global", optional = false },
      }, meta.endpoints)
    end)

    it("a subordinate: container scope, and a container-scoped juju-info requires is allowed", function()
      local meta = metadata.from_table(cc {
        subordinate = true,
        requires = { ["juju-info"] = { interface = "juju-info", scope = "container" } },
      })
      assert.is_true(meta.subordinate)
      assert.equal("container", meta.endpoints["juju-info"].scope)
    end)

    it("endpoint mistakes, all reported, one a line", function()
      local err = problems(cc {
        provides = { ["My DB"] = "x", juju = "x", web = { interface = "juju-thing" }, api = { scope = "local" } },
        requires = { web = "http", cache = { interface = "" }, logs = { interface = "l", limit = -1 },
                     up = { interface = "u", optional = "yes" }, down = { interface = "d", colour = 1 } },
        peers = { ["juju-peer"] = "p", odd = 7 },
      })
      for _, want in ipairs {
        'metadata: provides.My DB: not an endpoint name Juju accepts',
        'metadata: provides.juju: Juju refuses this endpoint name: "juju" is reserved',
        'metadata: provides.web.interface: Juju refuses this interface for provides: the "juju-" prefix is reserved',
        'metadata: provides.api.scope: must be global or container (got "local")',
        'metadata: provides.api: has no interface:',
        'metadata: provides.web: the endpoint name is also used in requires',
        'metadata: requires.cache.interface: must be a non-empty string (got "")',
        'metadata: requires.logs.limit: must be a non-negative int (got the int -1)',
        'metadata: requires.up.optional: must be true or false (got "yes")',
        'metadata: requires.down.colour: unknown key (an endpoint has: description, interface, limit, optional, scope)',
        'metadata: peers.juju-peer: Juju refuses this endpoint name: the "juju-" prefix is reserved',
        'metadata: peers.odd: must be an interface name or a mapping with interface: (got the int 7)',
      } do
        assert.matches(want, err, 1, true)
      end
      assert.equal(12, select(2, err:gsub("\n", "")) + 1, err)
    end)

    it("an endpoint with nothing under it has no interface; a reserved short-form interface is named at the endpoint",
      function()
        local err = problems(cc { requires = { db = NULL }, provides = { status = "juju-status", empty = "" } })
        assert.matches("metadata: requires.db: has no interface:", err, 1, true)
        assert.matches('metadata: provides.status: Juju refuses this interface for provides: '
          .. 'the "juju-" prefix is reserved', err, 1, true)
        assert.matches('metadata: provides.empty: must be a non-empty string (got "")', err, 1, true)
        assert.equal(3, select(2, err:gsub("\n", "")) + 1, err)
      end)

    it("a subordinate without a container-scoped requires; a juju-* requires of a principal", function()
      assert.matches('metadata: subordinate: a subordinate charm needs a "requires" endpoint with scope: container',
        problems(cc { subordinate = true, requires = { db = "pgsql" } }), 1, true)
      assert.matches('requires.juju-info: Juju refuses this endpoint name: the "juju-" prefix is reserved',
        problems(cc { requires = { ["juju-info"] = { interface = "juju-info", scope = "container" } } }), 1, true)
      -- a charm named juju-* may use the names
      assert.truthy(metadata.from_table { name = "juju-thing", provides = { juju = "juju" } })
    end)

    it("extra-bindings: names, as lyaml loads `public:` (null) or true", function()
      local meta = metadata.from_table(cc { ["extra-bindings"] = { public = NULL, admin = true } })
      assert.same({ public = true, admin = true }, meta.extra_bindings)
      local err = problems(cc { provides = { web = "http" },
                                ["extra-bindings"] = { web = NULL, x = "y", ["A"] = NULL } })
      assert.matches("extra-bindings.web: web is an endpoint already (in provides)", err, 1, true)
      assert.matches('extra-bindings.x: must be empty (write `x:` with nothing after it) (got "y")', err, 1, true)
      assert.matches("extra-bindings.A: not a binding name Juju accepts", err, 1, true)
    end)

    it("config: types, defaults (none when absent or null), descriptions", function()
      local meta = metadata.from_table(cc { config = { options = {
        port = { type = "int", default = 8080, description = "the port" },
        ratio = { type = "float", default = 0.5 },
        debug = { type = "boolean", default = false },
        name = { type = "string" },
        empty = { type = "string", default = "" },
        token = { type = "secret", default = NULL },
        key = { type = "secret", default = "secret:abc" },
        ["log.level-x_y"] = { type = "string", default = "info" },
      } } })
      assert.same({ type = "int", default = 8080, description = "the port" }, meta.config.port)
      assert.same({ type = "float", default = 0.5 }, meta.config.ratio)
      assert.same({ type = "boolean", default = false }, meta.config.debug)
      assert.same({ type = "string" }, meta.config.name)
      assert.same({ type = "string", default = "" }, meta.config.empty)
      assert.same({ type = "secret" }, meta.config.token)
      assert.equal("secret:abc", meta.config.key.default)
      assert.equal("info", meta.config["log.level-x_y"].default)
    end)

    it("config mistakes: types, defaults of another type, unknown keys", function()
      local err = problems(cc { config = { options = {
        port = { type = 7 },
        count = { type = "integer" },
        quoted = { type = "int", default = "80" },
        whole = { type = "float", default = 1 },
        secret = { type = "secret", default = "hunter2" },
        flag = { type = "boolean", default = "yes" },
        typo = { type = "string", defualt = "x" },
        bare = { default = 1 },
        words = { type = "string", description = 5 },
        ["with space"] = { type = "string" },
        null = NULL,
      } }, })
      for _, want in ipairs {
        "metadata: config.options.port.type: the int 7 is not a type Juju knows (string, int, float, boolean, secret)",
        'config.options.count.type: "integer" is not a type Juju knows',
        'config.options.quoted.default: "80" is not of type int (quoted, so a string)',
        "config.options.whole.default: the int 1 is not of type float (Juju reads 1 as an int: write 1.0)",
        'config.options.secret.default: "hunter2" is not of type secret (a secret is a secret: URI)',
        'config.options.flag.default: "yes" is not of type boolean (quoted, so a string)',
        "config.options.typo.defualt: unknown key (an option has: default, description, type)",
        "config.options.bare: has no type: (one of string, int, float, boolean, secret)",
        "config.options.words.description: must be a string (got the int 5)",
        "config.options.with space: not an option name",
        "config.options.null: must be a mapping with type:, default: and description: (got null)",
      } do
        assert.matches(want, err, 1, true)
      end
      assert.matches("config.other: unknown key (config holds only: options)",
        problems(cc { config = { other = {} } }), 1, true)
      assert.matches("config.options: must be a mapping of option names (got a list)",
        problems(cc { config = { options = { "port" } } }), 1, true)
    end)

    it("actions: params, required, additionalProperties (true unless false), an empty action", function()
      local meta = metadata.from_table(cc { actions = {
        greet = { description = "Say hello.", params = { name = { type = "string" } }, required = { "name" } },
        strict = { params = { n = { type = "integer", default = 1 } }, additionalProperties = false,
                   parallel = true, ["execution-group"] = "g" },
        reload = NULL,
        ["2fa"] = {},
      } })
      assert.same({ description = "Say hello.", params = { name = { type = "string" } }, required = { "name" },
                    additional_properties = true, parallel = false }, meta.actions.greet)
      assert.same({ params = { n = { type = "integer", default = 1 } }, required = {},
                    additional_properties = false, parallel = true, execution_group = "g" }, meta.actions.strict)
      assert.same({ params = {}, required = {}, additional_properties = true, parallel = false }, meta.actions.reload)
      assert.truthy(meta.actions["2fa"])
    end)

    it("action mistakes: names, params, required, schema keys Juju refuses, defaults", function()
      local err = problems(cc { actions = {
        Greet = {},
        ["juju-run"] = {},
        ["-x"] = {},
        a = { params = { "p" } },
        b = { params = { p = "string" }, required = { "q" } },
        c = { required = "p", params = { p = {} } },
        d = { params = { p = { ["$ref"] = "#/x" } } },
        e = { params = { p = { type = "int" } } },
        f = { params = { p = { type = "integer", default = "1" } } },
        g = { params = { p = { enum = { "a", "b" }, default = "c" } } },
        h = { additionalProperties = "no", description = 3 },
        i = 5,
      } })
      for _, want in ipairs {
        "actions.Greet: Juju refuses this action name: lower-case letters, digits and '-'",
        'actions.juju-run: Juju refuses this action name: the "juju-" prefix is reserved',
        "actions.-x: Juju refuses this action name",
        "actions.a.params: must be a mapping of parameter names (got a list)",
        'actions.b.params.p: must be a mapping (type:, description:) (got "string")',
        'actions.b.required: "q" is not among the params',
        'actions.c.required: must be a list of parameter names (got "p")',
        "actions.d.params.p.$ref: Juju refuses the JSON-Schema key $ref in actions",
        'actions.e.params.p.type: "int" is not a JSON type',
        'actions.f.params.p.default: expected integer, got string "1"',
        'actions.g.params.p.default: "c" is not one of "a", "b"',
        'actions.h.additionalProperties: must be true or false here (got "no")',
        "actions.h.description: must be a string (got the int 3)",
        "actions.i: must be a mapping (description:, params:, required:) (got the int 5)",
      } do
        assert.matches(want, err, 1, true)
      end
    end)

    it("storage: types, locations, counts, sizes, properties", function()
      local meta = metadata.from_table(cc { storage = {
        data = { type = "filesystem", location = "/srv/data", description = "D", shared = true },
        disks = { type = "block", multiple = { range = "1-3" }, ["read-only"] = true },
        logs = { type = "filesystem", multiple = { range = "2+" }, ["minimum-size"] = "1G",
                 properties = { "transient" } },
        three = { type = "filesystem", multiple = { range = 3 }, ["minimum-size"] = 512 },
      } })
      assert.same({ type = "filesystem", location = "/srv/data", description = "D", shared = true,
                    read_only = false, multiple = { min = 1, max = 1 }, properties = {} }, meta.storage.data)
      assert.same({ min = 1, max = 3 }, meta.storage.disks.multiple)
      assert.is_true(meta.storage.disks.read_only)
      assert.same({ min = 2 }, meta.storage.logs.multiple)
      assert.equal(1024, meta.storage.logs.minimum_size)
      assert.same({ "transient" }, meta.storage.logs.properties)
      assert.same({ min = 3, max = 3 }, meta.storage.three.multiple)
      assert.equal(512, meta.storage.three.minimum_size)
    end)

    it("storage mistakes", function()
      local err = problems(cc { storage = {
        a = { location = "/x" },
        b = { type = "tmpfs" },
        c = { type = "block", location = "/dev/x" },
        d = { type = "filesystem", multiple = { range = "0" } },
        e = { type = "filesystem", multiple = { range = "3-1" } },
        f = { type = "filesystem", ["minimum-size"] = "lots" },
        g = { type = "filesystem", properties = { "fast" } },
        h = { type = "filesystem", locaton = "/x" },
        i = "filesystem",
      } })
      for _, want in ipairs {
        "storage.a: has no type: (filesystem or block)",
        'storage.b.type: must be filesystem or block (got "tmpfs")',
        "storage.c.location: Juju refuses a location for block storage",
        'storage.d.multiple.range: "0" is not a count: m, m-n, m+ or m- (m at least 1)',
        'storage.e.multiple.range: "3-1" is not a count',
        'storage.f.minimum-size: "lots" is not a size',
        'storage.g.properties: "fast" is not a storage property (only transient)',
        "storage.h.locaton: unknown key (storage has: ",
        'storage.i: must be a mapping with type: (got "filesystem")',
      } do
        assert.matches(want, err, 1, true)
      end
    end)

    it("resources and containers: an oci-image per container, mounts of declared storage", function()
      local meta = metadata.from_table(cc {
        resources = {
          image = { type = "oci-image", description = "the app", ["upstream-source"] = "nginx:1" },
          blob = { type = "file", filename = "blob.tar" },
          plain = { filename = "x.bin" },
        },
        storage = { data = { type = "filesystem" } },
        containers = {
          app = { resource = "image", mounts = { { storage = "data", location = "/data" } }, uid = 584792 },
          side = { bases = { { name = "ubuntu", channel = "22.04" } } },
        },
      })
      assert.same({ type = "oci-image", description = "the app", upstream_source = "nginx:1" }, meta.resources.image)
      assert.same({ type = "file", filename = "blob.tar" }, meta.resources.blob)
      assert.equal("file", meta.resources.plain.type)
      assert.same({ resource = "image", mounts = { { storage = "data", location = "/data" } }, uid = 584792 },
        meta.containers.app)
      assert.same({ mounts = {} }, meta.containers.side)
    end)

    it("resource and container mistakes", function()
      local err = problems(cc {
        resources = { blob = { type = "file" }, path = { filename = "a/b" }, odd = { type = "deb" },
                      f = { filename = "f", type = "file" } },
        storage = { data = { type = "filesystem" } },
        containers = {
          a = { resource = "nope" },
          b = { resource = "f" },
          c = {},
          d = { resource = "nope", mounts = { { storage = "logs", location = "/l" }, { location = "/x" }, "m" } },
          e = { bases = {}, uid = 1000, gid = -1 },
        },
      })
      for _, want in ipairs {
        "resources.blob: a file resource needs filename:",
        'resources.path.filename: a file name, not a path (got "a/b")',
        'resources.odd.type: must be file or oci-image (got "deb")',
        'containers.a.resource: no resource "nope" in resources:',
        'containers.b.resource: the resource "f" is not an oci-image',
        "containers.c: needs resource: (an oci-image resource) or bases:",
        'containers.d.mounts.1.storage: no storage "logs" in storage:',
        "containers.d.mounts.2: has no storage:",
        'containers.d.mounts.3: must be a mapping with storage: and location: (got "m")',
        "containers.e.uid: 1000 is in the range Juju reserves (1000-9999)",
        "containers.e.gid: must be a non-negative int (got the int -1)",
      } do
        assert.matches(want, err, 1, true)
      end
    end)

    it("assumes: the list as written; nonsense refused", function()
      local assumes = { "juju >= 3.1", { ["any-of"] = { "k8s-api", { ["all-of"] = { "a", "b" } } } } }
      local meta = metadata.from_table(cc { assumes = assumes })
      assert.same(assumes, meta.assumes)
      assert.not_equal(assumes, meta.assumes)
      local err = problems(cc { assumes = { 7, { ["one-of"] = { "x" } }, { ["any-of"] = "x" } } })
      assert.matches("assumes.1: must be a feature or a mapping of any-of: or all-of: (got the int 7)", err, 1, true)
      assert.matches("assumes.2: must be a feature or a mapping of any-of: or all-of: (got keys one-of)", err, 1, true)
      assert.matches('assumes.3.any-of: must be a non-empty list (got "x")', err, 1, true)
    end)

    it("the top: a mapping, with a name, of keys charmcraft or Juju know", function()
      assert.matches("metadata: (top): must be a mapping", problems({}), 1, true)
      assert.matches("metadata: (top): must be a mapping", problems({ "name" }), 1, true)
      assert.matches("metadata: name: missing", problems({ summary = "x" }), 1, true)
      assert.matches('metadata: name: "My_Charm" is not a charm name Juju accepts',
        problems({ name = "My_Charm" }), 1, true)
      assert.matches("metadata: name: \"a-1\" is not a charm name", problems({ name = "a-1" }), 1, true)
      assert.matches("metadata: provide: unknown key (charmcraft.yaml keys: ", problems(cc { provide = {} }), 1, true)
      assert.matches("metadata: summary: must be a string (got the int 1)", problems(cc { summary = 1 }), 1, true)
      assert.matches("metadata: subordinate: must be true or false", problems(cc { subordinate = "no" }), 1, true)
      assert.matches("metadata: requires: must be a mapping of names (got a list)",
        problems(cc { requires = { "db" } }), 1, true)
      -- packing keys are read and left alone; the old metadata.yaml's have
      -- no place in charmcraft.yaml
      assert.truthy(metadata.from_table(cc { type = "charm", base = "ubuntu@24.04", platforms = {} }))
      assert.matches("metadata: series: unknown key (charmcraft.yaml keys: ",
        problems(cc { series = { "jammy" } }), 1, true)
    end)

    it("the keys checked but not kept: documentation, charm-user, links, devices, terms", function()
      local meta = metadata.from_table(cc { documentation = "https://x.invalid", ["charm-user"] = "non-root",
                                            links = { source = "https://x.invalid" }, devices = {},
                                            terms = { "t-1" } })
      assert.is_nil(meta.links)
      local err = problems(cc { documentation = 1, ["charm-user"] = true, links = { "x" }, devices = "gpu",
                                terms = { "ok", 2 } })
      for _, want in ipairs {
        "metadata: documentation: must be a string (got the int 1)",
        "metadata: charm-user: must be a string (got the boolean true)",
        "metadata: links: must be a mapping of names (got a list)",
        'metadata: devices: must be a mapping of names (got "gpu")',
        "metadata: terms.2: must be a string (got the int 2)",
      } do
        assert.matches(want, err, 1, true)
      end
      assert.matches('metadata: terms: must be a list (got "t")', problems(cc { terms = "t" }), 1, true)
    end)

    it("raises at the caller's line", function()
      local ok, err = pcall(function() metadata.from_table { name = 7 } end)
      assert.is_false(ok)
      assert.matches("^.-metadata_spec%.lua:%d+: metadata: name: the int 7 is not a charm name", err)
    end)

    it("json.null counts as null too", function()
      local meta = metadata.from_table(cc { config = { options = { x = { type = "int", default = json.null } } },
                                            ["extra-bindings"] = { b = json.null } })
      assert.is_nil(meta.config.x.default)
      assert.is_true(meta.extra_bindings.b)
    end)

    it("shares no table with its input", function()
      local params = { name = { type = "string", enum = { "a" } } }
      local t = cc { actions = { greet = { params = params } } }
      local meta = metadata.from_table(t)
      meta.actions.greet.params.name.enum[1] = "changed"
      assert.equal("a", params.name.enum[1])
    end)
  end)

  describe("check", function()
    it("every problem as a list of `key.path: message`, without raising, and what could be read", function()
      local problems_, meta = metadata.check(cc {
        provides = { web = "http" },
        config = { options = { port = { type = "int", default = "80" } } },
        actions = { Bad = {} },
      })
      assert.same({
        'config.options.port.default: "80" is not of type int (quoted, so a string)',
        "actions.Bad: Juju refuses this action name: lower-case letters, digits and '-', "
          .. "starting and ending with a letter or digit",
      }, problems_)
      assert.equal("my-charm", meta.name)
      assert.equal("http", meta.endpoints.web.interface)
    end)

    it("an empty list when all is well; the packing keys are known", function()
      local problems_, meta = metadata.check(cc { type = "charm", base = "ubuntu@24.04", platforms = { amd64 = NULL },
                                                  parts = {} })
      assert.same({}, problems_)
      assert.equal("my-charm", meta.name)
    end)

    it("not a table: the top", function()
      assert.same({ "(top): must be a mapping of keys (name:, summary:, ...) (got null)" }, (metadata.check(nil)))
    end)
  end)

  describe("valid_charm_name and valid_action_name", function()
    it("follow Juju's rules", function()
      for _, ok in ipairs { "a", "hello-lua", "a1", "x-1a", "pg14" } do
        assert.is_true(metadata.valid_charm_name(ok), ok)
      end
      for _, bad in ipairs { "", "1a", "a-", "-a", "a--b", "a-1", "A", "a_b", 7 } do
        assert.is_false(metadata.valid_charm_name(bad), bad)
      end
      for _, ok in ipairs { "a", "1", "greet", "back-up", "x2", "2fa" } do
        assert.is_true(metadata.valid_action_name(ok), ok)
      end
      for _, bad in ipairs { "", "-a", "a-", "A", "a_b", "a b", 7 } do
        assert.is_false(metadata.valid_action_name(bad), bad)
      end
    end)
  end)

  describe("load", function()
    local tmp

    before_each(function()
      tmp = hookenv.tmpdir()
    end)

    after_each(function()
      hookenv.rmtree(tmp)
    end)

    local function write(name, text)
      hookenv.write_file(tmp .. "/" .. name, text)
    end

    local function load_error()
      local ok, err = pcall(metadata.load, tmp)
      assert.is_false(ok, "load accepted it")
      return err
    end

    it("the template charm, as the repository has it", function()
      local meta = metadata.load("charm-template/machine")
      assert.equal("hello-lua", meta.name)
      assert.equal("Hello Lua", meta.title)
      assert.is_false(meta.subordinate)
      assert.same({
        website = { role = "provides", interface = "http", scope = "global", optional = false },
        replicas = { role = "peers", interface = "hello_lua_replicas", scope = "global", optional = false },
      }, meta.endpoints)
      assert.same({ type = "int", default = 8080, description = "TCP port nginx listens on (opened with open-port)." },
        meta.config.port)
      assert.equal("Hello from a Lua charm!", meta.config.page.default)
      assert.same({ "name" }, meta.actions.greet.required)
      assert.same({ type = "string", description = "Who to greet." }, meta.actions.greet.params.name)
      assert.same({}, meta.actions.reload.params)
      assert.same({}, meta.storage)
    end)

    it("the pack fixture, which tools/pack.lua packs, loads too", function()
      local meta = metadata.load("tests/fixtures/pack-charm")
      assert.equal("pack-fixture", meta.name)
      assert.same({ role = "requires", interface = "postgresql_client", scope = "global", limit = 1, optional = true },
        meta.endpoints.database)
      assert.equal(1024, meta.storage.data.minimum_size)
      assert.equal("yes", meta.config.greeting.default)
      assert.equal("backups", meta.actions["backup-2"].execution_group)
    end)

    it("a trailing slash is fine", function()
      assert.equal("hello-lua", metadata.load("charm-template/machine/").name)
    end)

    it("the older trio: metadata.yaml, config.yaml (no type: a string), actions.yaml", function()
      write("metadata.yaml", [[
name: old-charm
summary: An old one.
description: Still deployed.
requires:
  db:
    interface: mysql
    limit: 1
provides:
  website: http
extra-bindings:
  public:
storage:
  data:
    type: filesystem
    location: /srv
series: [focal]
]])
      write("config.yaml", [[
options:
  port:
    type: int
    default: 80
  greeting:
    default: hi
    description: no type, so a string
]])
      write("actions.yaml", [[
backup:
  description: Back up.
  params:
    target:
      type: string
      default: /backups
  additionalProperties: false
]])
      local meta = metadata.load(tmp)
      assert.equal("old-charm", meta.name)
      assert.same({ role = "requires", interface = "mysql", scope = "global", limit = 1, optional = false },
        meta.endpoints.db)
      assert.equal("http", meta.endpoints.website.interface)
      assert.same({ public = true }, meta.extra_bindings)
      assert.equal("/srv", meta.storage.data.location)
      assert.same({ type = "string", default = "hi", description = "no type, so a string" }, meta.config.greeting)
      assert.same({ port = 80, greeting = "hi" }, meta:config_defaults())
      assert.is_false(meta.actions.backup.additional_properties)
      assert.same({ target = "/backups" }, meta:action_params("backup"))
    end)

    it("metadata.yaml alone: config.yaml and actions.yaml are optional", function()
      write("metadata.yaml", "name: lone\n")
      local meta = metadata.load(tmp)
      assert.equal("lone", meta.name)
      assert.same({}, meta.config)
      assert.same({}, meta.actions)
    end)

    it("a charmcraft.yaml of packing keys only, with the older files beside it", function()
      write("charmcraft.yaml", "type: charm\nbases:\n  - name: ubuntu\n    channel: '22.04'\n")
      write("metadata.yaml", "name: mixed\npeers:\n  cluster: mixed_peers\n")
      write("config.yaml", "options:\n  debug:\n    type: boolean\n    default: false\n")
      local meta = metadata.load(tmp)
      assert.equal("mixed", meta.name)
      assert.equal("peers", meta.endpoints.cluster.role)
      assert.same({ debug = false }, meta:config_defaults())
    end)

    it("keys of the older metadata.yaml only there, not in charmcraft.yaml", function()
      write("charmcraft.yaml", "name: x\nseries: [jammy]\n")
      local at = tmp:gsub("%p", "%%%0") .. "/charmcraft%.yaml: "
      assert.matches("^" .. at .. "series: unknown key %(charmcraft%.yaml keys: ", load_error())
    end)

    it("a key in charmcraft.yaml and in metadata.yaml (or config.yaml) is refused", function()
      write("charmcraft.yaml", "name: one\nconfig:\n  options: {}\n")
      write("metadata.yaml", "name: two\n")
      assert.equal(tmp .. "/metadata.yaml: name is given in " .. tmp .. "/charmcraft.yaml too: keep it in one of them",
        load_error())
      os.remove(tmp .. "/metadata.yaml")
      write("config.yaml", "options: {}\n")
      assert.equal(tmp .. "/config.yaml: config is given in " .. tmp .. "/charmcraft.yaml too: keep it in one of them",
        load_error())
    end)

    it("neither charmcraft.yaml nor metadata.yaml: an error naming the directory", function()
      write("config.yaml", "options: {}\n")
      assert.equal(tmp .. ": neither charmcraft.yaml nor metadata.yaml is there", load_error())
      assert.has_error(function() metadata.load(tmp .. "/missing") end,
        tmp .. "/missing: neither charmcraft.yaml nor metadata.yaml is there")
    end)

    it("a YAML syntax error: the file, line and column, and libyaml's reason", function()
      write("charmcraft.yaml", "name: x\nconfig:\n  options:\n    port: [1, 2\n")
      assert.matches("^" .. tmp:gsub("%p", "%%%0") .. "/charmcraft%.yaml:%d+:%d+: did not find expected ',' or ']'$",
        load_error())
      os.remove(tmp .. "/charmcraft.yaml")
      write("metadata.yaml", "name: x\n")
      write("actions.yaml", "a:\n  b: c: d\n")
      assert.equal(tmp .. "/actions.yaml:2:6: mapping values are not allowed in this context", load_error())
    end)

    it("a wrong shape: the file and the key, as that file has it", function()
      write("charmcraft.yaml", "name: x\nconfig:\n  options:\n    port:\n      type: 7\n")
      assert.equal(tmp .. "/charmcraft.yaml: config.options.port.type: the int 7 is not a type Juju knows "
        .. "(string, int, float, boolean, secret)", load_error())
      os.remove(tmp .. "/charmcraft.yaml")
      write("metadata.yaml", "name: x\nrequires:\n  db: {scope: global}\n")
      write("config.yaml", "options:\n  port:\n    type: 7\n")
      write("actions.yaml", "Bad: {}\n")
      local err = load_error()
      assert.matches(tmp .. "/metadata.yaml: requires.db: has no interface:", err, 1, true)
      assert.matches(tmp .. "/config.yaml: options.port.type: the int 7 is not a type Juju knows", err, 1, true)
      assert.matches(tmp .. "/actions.yaml: Bad: Juju refuses this action name", err, 1, true)
    end)

    it("a document that is not a mapping; an empty file (but an empty actions.yaml is no actions)", function()
      write("charmcraft.yaml", "- name\n- x\n")
      assert.equal(tmp .. "/charmcraft.yaml: the document must be a mapping (got a list)", load_error())
      os.remove(tmp .. "/charmcraft.yaml")
      write("metadata.yaml", "")
      assert.equal(tmp .. "/metadata.yaml: the file is empty", load_error())
      write("metadata.yaml", "{}\n")
      assert.equal(tmp .. "/metadata.yaml: (top): must be a mapping of keys (name:, summary:, ...) "
        .. "(got an empty table)", load_error())
      write("metadata.yaml", "name: x\n")
      write("config.yaml", "# nothing\n")
      assert.equal(tmp .. "/config.yaml: the file is empty", load_error())
      os.remove(tmp .. "/config.yaml")
      write("actions.yaml", "# none yet\n")
      assert.same({}, metadata.load(tmp).actions)
    end)

    it("a charmcraft.yaml that cannot be read is an error, not a missing file", function()
      hookenv.sh("mkdir " .. hookenv.quote(tmp .. "/charmcraft.yaml"))
      assert.equal(tmp .. "/charmcraft.yaml: Is a directory", load_error())
    end)

    it("wants a directory name", function()
      assert.has_error(function() metadata.load(nil) end)
    end)
  end)

  describe("meta:config_defaults", function()
    local meta = metadata.from_table(cc { config = { options = {
      port = { type = "int", default = 8080 },
      name = { type = "string" },
      off = { type = "boolean", default = false },
    } } })

    it("the defaults, options without one left out, a new table each time", function()
      local d = meta:config_defaults()
      assert.same({ port = 8080, off = false }, d)
      d.port = 1
      assert.equal(8080, meta:config_defaults().port)
    end)

    it("called with . is a mistake named as such", function()
      assert.has_error(function() meta.config_defaults() end,
        "call it as meta:config_defaults(...), not meta.config_defaults(...)")
    end)
  end)

  describe("meta:check_config", function()
    local meta = metadata.from_table(cc { config = { options = {
      port = { type = "int" }, ratio = { type = "float" }, debug = { type = "boolean" },
      name = { type = "string" }, token = { type = "secret" },
    } } })

    it("nil when every key is an option and every value of its type", function()
      assert.is_nil(meta:check_config {})
      assert.is_nil(meta:check_config { port = 80, ratio = 1, debug = true, name = "x", token = "secret:abc" })
      assert.is_nil(meta:check_config { ratio = 0.25, token = "" })
      assert.is_nil(meta:check_config { port = NULL, name = json.null })
    end)

    it("an unknown option", function()
      assert.equal('unknown config option "prot" (options: debug, name, port, ratio, token)',
        meta:check_config { prot = 80 })
      assert.equal('unknown config option "x" (the charm has no config options)',
        metadata.from_table(cc()):check_config { x = 1 })
    end)

    it("a value of another type, for each type; every problem at once", function()
      assert.equal('config option "port": the float 1.5 is not of type int', meta:check_config { port = 1.5 })
      assert.equal('config option "port": "80" is not of type int (quoted, so a string)',
        meta:check_config { port = "80" })
      assert.equal('config option "ratio": "x" is not of type float (quoted, so a string)',
        meta:check_config { ratio = "x" })
      assert.equal('config option "debug": "true" is not of type boolean (quoted, so a string)',
        meta:check_config { debug = "true" })
      assert.equal('config option "name": the int 5 is not of type string', meta:check_config { name = 5 })
      assert.equal('config option "token": "abc" is not of type secret (a secret is a secret: URI)',
        meta:check_config { token = "abc" })
      assert.equal('config option "debug": the int 1 is not of type boolean; '
        .. 'config option "port": a list is not of type int', meta:check_config { debug = 1, port = { 1 } })
    end)

    it("wants a table", function()
      assert.has_error(function() meta:check_config("port=80") end,
        "bad argument #1 to 'check_config' (table expected, got string)")
    end)
  end)

  describe("meta:action_params", function()
    local meta = metadata.from_table(cc { actions = {
      greet = { params = { name = { type = "string", minLength = 1 },
                           greeting = { type = "string", default = "Hello" },
                           times = { type = "integer", minimum = 1, maximum = 3, default = 1 } },
                required = { "name" } },
      strict = { params = { level = { enum = { "low", "high" } } }, additionalProperties = false },
      nested = { params = {
        target = { type = "object", properties = { host = { type = "string" }, port = { type = "integer" } },
                   required = { "host" }, additionalProperties = false },
        tags = { type = "array", items = { type = "string" }, maxItems = 2 },
        ratio = { type = { "number", "null" }, exclusiveMinimum = 0 },
        flag = { type = "boolean" },
      } },
      reload = NULL,
    } })

    it("the params given, with the declared defaults filled in; a new table", function()
      local given = { name = "Ada" }
      local params = assert(meta:action_params("greet", given))
      assert.same({ name = "Ada", greeting = "Hello", times = 1 }, params)
      assert.same({ name = "Ada" }, given)
      assert.same({ name = "Ada", greeting = "Hi", times = 3 },
        meta:action_params("greet", { name = "Ada", greeting = "Hi", times = 3 }))
      assert.same({}, meta:action_params("reload"))
      assert.same({}, meta:action_params("reload", {}))
    end)

    it("extra params are fine unless additionalProperties is false", function()
      assert.same({ name = "Ada", greeting = "Hello", times = 1, extra = true },
        meta:action_params("greet", { name = "Ada", extra = true }))
      local params, err = meta:action_params("strict", { level = "low", extra = 1 })
      assert.is_nil(params)
      assert.equal('action "strict": params.extra: not a parameter here (additionalProperties is false)', err)
    end)

    it("required, types, bounds and enums, every problem at once", function()
      local params, err = meta:action_params("greet", {})
      assert.is_nil(params)
      assert.equal('action "greet": params.name: required, not given', err)
      assert.equal('action "greet": params.name: "" is shorter than 1 characters',
        select(2, meta:action_params("greet", { name = "" })))
      assert.equal('action "greet": params.name: expected string, got integer the int 5; '
        .. "params.times: 4 is above the maximum 3",
        select(2, meta:action_params("greet", { name = 5, times = 4 })))
      assert.equal('action "greet": params.times: expected integer, got number the float 1.5',
        select(2, meta:action_params("greet", { name = "x", times = 1.5 })))
      assert.equal('action "greet": params.times: 0 is below the minimum 1',
        select(2, meta:action_params("greet", { name = "x", times = 0 })))
      assert.equal('action "strict": params.level: "mid" is not one of "low", "high"',
        select(2, meta:action_params("strict", { level = "mid" })))
    end)

    it("an integral float is an integer, as in JSON", function()
      assert.equal(2.0, meta:action_params("greet", { name = "x", times = 2.0 }).times)
    end)

    it("objects and arrays, at depth; a list of types; exclusive bounds", function()
      assert.truthy(meta:action_params("nested", { target = { host = "h", port = 1 }, tags = { "a" },
                                                   ratio = json.null, flag = false }))
      assert.truthy(meta:action_params("nested", { tags = {}, ratio = 0.5 }))
      local _, err = meta:action_params("nested", {
        target = { port = "80", user = "u" }, tags = { "a", 2, "c" }, ratio = 0, flag = "no",
      })
      assert.equal('action "nested": '
        .. 'params.flag: expected boolean, got string "no"; '
        .. "params.ratio: 0 is not above 0; "
        .. "params.tags: 3 items, more than 2; "
        .. "params.tags[2]: expected string, got integer the int 2; "
        .. "params.target.host: required, not given; "
        .. 'params.target.port: expected integer, got string "80"; '
        .. "params.target.user: not a parameter here (additionalProperties is false)", err)
      assert.equal('action "nested": params.target: expected object, got array',
        select(2, meta:action_params("nested", { target = { "h" } })))
      assert.equal('action "nested": params: expected object, got table with other keys',
        select(2, meta:action_params("nested", { [1] = "x", y = 2 })))
    end)

    it("an unknown action", function()
      local params, err = meta:action_params("great", {})
      assert.is_nil(params)
      assert.equal('unknown action "great" (actions: greet, nested, reload, strict)', err)
      assert.equal('unknown action "x" (the charm has no actions)',
        select(2, metadata.from_table(cc()):action_params("x")))
    end)

    it("wants a name and, when given, a table", function()
      assert.has_error(function() meta:action_params() end,
        "bad argument #1 to 'action_params' (string expected, got no value)")
      assert.has_error(function() meta:action_params("greet", "name=Ada") end,
        "bad argument #2 to 'action_params' (table expected, got string)")
    end)
  end)
end)
