-- juju.file and juju.users against real files in a scratch directory:
-- atomic writes with mode and owner, reading, templates, and the
-- passwd/group parsing (fixture files through users.passwd_file and
-- users.group_file).

local hookenv = require "helpers.hookenv"
local fs = require "helpers.fs"
local lfs = require "lfs"

hookenv.juju()
local file = require "juju.file"
local users = require "juju.users"

--- This process's effective uid and gid, from /proc (plain Lua has no getuid).
local function my_ids()
  local status = assert(hookenv.read_file("/proc/self/status"))
  local uid = status:match("\nUid:%s+%d+%s+(%d+)")
  local gid = status:match("\nGid:%s+%d+%s+(%d+)")
  return math.tointeger(tonumber(uid)), math.tointeger(tonumber(gid))
end

local caller_error = require("helpers.mistakes").caller_error

--- The names in a directory, sorted.
local function listing(dir)
  local names = {}
  for name in lfs.dir(dir) do
    if name ~= "." and name ~= ".." then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

local PASSWD = table.concat({
  "root:x:0:0:root:/root:/bin/bash",
  "# a comment:x:9:9",
  "",
  "broken line without fields",
  "post:x:1001:1001::/home/post:/bin/sh",
  "postgres:x:4321:4322:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash",
  "weird:x:notanumber:1:::",
  "+nisuser::::::",
  "postgres:x:9999:9999:a second entry, never read::",
  "nolf:x:77:77::/:/bin/false",
}, "\n")

local GROUP = table.concat({
  "root:x:0:",
  "adm:x:4:syslog,ubuntu",
  "postgres:x:4322:",
  "ssl-cert:x:118:postgres",
}, "\n") .. "\n"

describe("juju.file.write #unit", function()
  local dir
  before_each(function() dir = hookenv.tmpdir() end)
  after_each(function()
    hookenv.rmtree(dir)
    users.passwd_file, users.group_file = "/etc/passwd", "/etc/group"
  end)

  it("writes the content with mode 0644 by default", function()
    file.write(dir .. "/a.conf", "port = 80\n\0binary\255")
    assert.equal("port = 80\n\0binary\255", hookenv.read_file(dir .. "/a.conf"))
    assert.equal("644", fs.mode(dir .. "/a.conf"))
    assert.same({ "a.conf" }, listing(dir))
  end)

  it("sets the mode given as an integer or an octal string", function()
    for _, case in ipairs({ { 384, "600" }, { "0640", "640" }, { "755", "755" }, { 0, "0" },
                            { "4750", "4750" } }) do
      file.write(dir .. "/m", "x", { mode = case[1] })
      assert.equal(case[2], fs.mode(dir .. "/m"), tostring(case[1]))
    end
  end)

  it("replaces an existing file (a new inode), leaving no temporary file", function()
    file.write(dir .. "/f", "old", { mode = "0600" })
    local before = lfs.attributes(dir .. "/f", "ino")
    file.write(dir .. "/f", "new")
    assert.equal("new", hookenv.read_file(dir .. "/f"))
    assert.are_not.equal(before, lfs.attributes(dir .. "/f", "ino"))
    assert.equal("644", fs.mode(dir .. "/f"))
    assert.same({ "f" }, listing(dir))
  end)

  it("gives the file the numeric owner and group asked for", function()
    local uid, gid = my_ids()
    file.write(dir .. "/o", "x", { owner = uid, group = gid })
    assert.equal(uid, lfs.attributes(dir .. "/o", "uid"))
    assert.equal(gid, lfs.attributes(dir .. "/o", "gid"))
    if uid == 0 then
      file.write(dir .. "/o", "x", { owner = 65534, group = 65533, mode = "0640" })
      assert.equal(65534, lfs.attributes(dir .. "/o", "uid"))
      assert.equal(65533, lfs.attributes(dir .. "/o", "gid"))
      assert.equal("640", fs.mode(dir .. "/o"))
    end
  end)

  it("looks owner and group names up in the passwd and group files", function()
    hookenv.write_file(dir .. "/passwd", PASSWD)
    hookenv.write_file(dir .. "/group", GROUP)
    users.passwd_file, users.group_file = dir .. "/passwd", dir .. "/group"
    local uid = my_ids()
    if uid == 0 then
      file.write(dir .. "/pg.conf", "x", { owner = "postgres", group = "ssl-cert" })
      assert.equal(4321, lfs.attributes(dir .. "/pg.conf", "uid"))
      assert.equal(118, lfs.attributes(dir .. "/pg.conf", "gid"))
    else
      -- not root: the lookup still happens; the chown is refused
      local ok, err = pcall(file.write, dir .. "/pg.conf", "x", { owner = "postgres" })
      assert.is_false(ok)
      assert.truthy(err:find("cannot give it owner 4321", 1, true), err)
    end
    local err = caller_error(function() file.write(dir .. "/x", "x", { owner = "nobody-here" }) end,
      "no user 'nobody-here' in " .. dir .. "/passwd")
    assert.truthy(err:find("file.write: ", 1, true))
    caller_error(function() file.write(dir .. "/x", "x", { group = "wheel" }) end,
      "no group 'wheel' in " .. dir .. "/group")
    assert.is_nil(hookenv.read_file(dir .. "/x"))
  end)

  it("a failure raises, naming the path and the reason, and leaves nothing behind", function()
    lfs.mkdir(dir .. "/taken")
    local ok, err = pcall(file.write, dir .. "/taken", "x")
    assert.is_false(ok)
    assert.truthy(err:find("cannot write " .. dir .. "/taken: cannot rename the temporary file over it " ..
      "(Is a directory)", 1, true), err)
    assert.same({ "taken" }, listing(dir))
    ok, err = pcall(file.write, dir .. "/no/such/dir/f", "x")
    assert.is_false(ok)
    assert.truthy(err:find("(No such file or directory)", 1, true), err)
  end)

  it("bad arguments are the caller's mistake", function()
    caller_error(function() file.write(nil, "x") end, "bad argument #1 to 'write' (a path expected, got nil)")
    caller_error(function() file.write("", "x") end, "a path expected, got ''")
    caller_error(function() file.write(dir .. "/f", 42) end, "bad argument #2 to 'write' (string expected, got number)")
    caller_error(function() file.write(dir .. "/f", "x", { mode = "0649" }) end, "mode: an integer or an octal string")
    caller_error(function() file.write(dir .. "/f", "x", { mode = 0x1000 }) end, "mode: an integer or an octal string")
    caller_error(function() file.write(dir .. "/f", "x", { mode = 6.5 }) end, "got 6.5")
    caller_error(function() file.write(dir .. "/f", "x", { owner = -1 }) end, "owner: -1 is not an id")
    caller_error(function() file.write(dir .. "/f", "x", { owner = "" }) end, "owner: a name or a numeric id expected")
    caller_error(function() file.write(dir .. "/f", "x", { group = true }) end,
      "group: a name or a numeric id expected")
    caller_error(function() file.write(dir .. "/f", "x", { perms = "0644" }) end, "unknown option 'perms'")
    assert.same({}, listing(dir))
  end)
end)

describe("juju.file.read and exists #unit", function()
  local dir
  before_each(function() dir = hookenv.tmpdir() end)
  after_each(function() hookenv.rmtree(dir) end)

  it("read gives the whole content, or nil and why", function()
    hookenv.write_file(dir .. "/f", "a\0b\n")
    assert.equal("a\0b\n", file.read(dir .. "/f"))
    local content, err = file.read(dir .. "/missing")
    assert.is_nil(content)
    assert.equal(dir .. "/missing: No such file or directory", err)
    caller_error(function() file.read(7) end, "bad argument #1 to 'read'")
  end)

  it("exists sees files and directories, not missing paths or broken links", function()
    hookenv.write_file(dir .. "/f", "")
    assert.is_true(file.exists(dir .. "/f"))
    assert.is_true(file.exists(dir))
    assert.is_false(file.exists(dir .. "/missing"))
    assert.is_false(file.exists(dir .. "/f/under-a-file"))
    assert(lfs.link(dir .. "/missing", dir .. "/broken", true))
    assert.is_false(file.exists(dir .. "/broken"))
    caller_error(function() file.exists("") end, "bad argument #1 to 'exists'")
  end)
end)

describe("juju.file's root, make_dirs and remove #unit", function()
  local juju = require "juju"
  local tmp

  before_each(function() tmp = hookenv.tmpdir() end)
  after_each(function()
    file.set_root(nil)
    juju.set_env(nil)
    hookenv.rmtree(tmp)
  end)

  it("takes absolute paths under the root set, relative ones as they are", function()
    file.set_root(tmp)
    assert.equal(tmp .. "/etc/app.conf", file.path("/etc/app.conf"))
    assert.equal("app.conf", file.path("app.conf"))
    file.make_dirs("/etc/app/conf.d")
    file.write("/etc/app/conf.d/x.conf", "x = 1\n")
    assert.equal("x = 1\n", hookenv.read_file(tmp .. "/etc/app/conf.d/x.conf"))
    assert.equal("x = 1\n", file.read("/etc/app/conf.d/x.conf"))
    assert.is_true(file.exists("/etc/app"))
    assert.is_false(file.exists("/etc/passwd"))   -- the host's is not under the root
  end)

  -- The tree stands for another machine: the host's users say nothing
  -- about it, the tree's own files do when it has them.
  it("under a root, checks owner and group names against the tree's own files", function()
    file.set_root(tmp)
    file.make_dirs("/srv")
    -- no /etc/passwd in the tree: any name goes (the host has no such user)
    file.write("/srv/a", "a", { owner = "no-such-user-on-the-host", group = "nor-such-group" })
    assert.equal("a", hookenv.read_file(tmp .. "/srv/a"))
    file.make_dirs("/etc")
    file.write("/etc/passwd", PASSWD)
    file.write("/etc/group", GROUP)
    file.write("/srv/b", "b", { owner = "postgres", group = "ssl-cert" })
    assert.equal("b", hookenv.read_file(tmp .. "/srv/b"))
    caller_error(function() file.write("/srv/c", "c", { owner = "root", group = "www-data" }) end,
      "file.write: no group 'www-data' in /etc/group (the file root's)")
    caller_error(function() file.write("/srv/c", "c", { owner = "no-such-user-on-the-host" }) end,
      "file.write: no user 'no-such-user-on-the-host' in /etc/passwd (the file root's)")
    assert.is_nil(hookenv.read_file(tmp .. "/srv/c"))
    -- a passwd that cannot be read says so, named as the charm knows it
    file.remove("/etc/passwd")
    file.make_dirs("/etc/passwd")
    caller_error(function() file.write("/srv/c", "c", { owner = "root" }) end,
      "file.write: cannot look up user 'root': /etc/passwd: Is a directory (the file root's)")
  end)

  it("the root can come from DISPATCH_FILE_ROOT, read through the env seam", function()
    juju.set_env { DISPATCH_FILE_ROOT = tmp .. "/" }
    assert.equal(tmp .. "/srv/x", file.path("/srv/x"))
    juju.set_env {}
    assert.equal("/srv/x", file.path("/srv/x"))
  end)

  it("make_dirs makes the missing parents, and an existing tree is fine", function()
    file.set_root(tmp)
    file.make_dirs("/a/b/c", { mode = "0700" })
    file.make_dirs("/a/b/c")
    assert.equal("directory", lfs.attributes(tmp .. "/a/b/c", "mode"))
    assert.equal("rwx------", lfs.attributes(tmp .. "/a/b/c", "permissions"))
    hookenv.write_file(tmp .. "/a/file", "")
    local ok, err = pcall(file.make_dirs, "/a/file/sub")
    assert.is_false(ok)
    assert.matches("mkdir " .. tmp .. "/a/file/sub: Not a directory", err, 1, true)
    -- a file where the directory should be is not that directory
    ok, err = pcall(file.make_dirs, "/a/file")
    assert.is_false(ok)
    assert.matches("mkdir " .. tmp .. "/a/file: File exists", err, 1, true)
  end)

  it("exists: any kind of file, a FIFO without opening it (that would wait for a writer)", function()
    file.set_root(tmp)
    hookenv.sh("mkfifo " .. hookenv.quote(tmp .. "/fifo") .. " && ln -s nowhere " .. hookenv.quote(tmp .. "/broken"))
    assert.is_true(file.exists("/fifo"))
    assert.is_true(file.exists("/"))
    assert.is_false(file.exists("/broken"))
    assert.is_false(file.exists("/nothing"))
    assert.is_false(file.exists("/fifo/under"))
  end)

  it("remove removes, and a missing file is nothing to do", function()
    file.set_root(tmp)
    file.write("/gone", "x")
    assert.is_true(file.remove("/gone"))
    assert.is_false(file.exists("/gone"))
    assert.is_true(file.remove("/gone"))
    file.make_dirs("/dir/inside")
    local ok, err = file.remove("/dir")
    assert.is_nil(ok)
    assert.matches("Directory not empty", err, 1, true)
  end)

  it("set_root wants an absolute directory", function()
    caller_error(function() file.set_root("relative") end, "an absolute directory expected")
  end)
end)

describe("juju.file.render #unit", function()
  it("fills in placeholders, spaces allowed, numbers as Lua writes them", function()
    assert.equal("listen 8080;\nroot /srv/www;\nratio 0.5 100%\n",
      file.render("listen {{port}};\nroot {{ root }};\nratio {{r}} {{pct}}\n",
        { port = 8080, root = "/srv/www", r = 0.5, pct = "100%" }))
    assert.equal("a.b-c_d", file.render("{{a.b}}-{{c_d}}", { ["a.b"] = "a.b", c_d = "c_d" }))
  end)

  it("leaves other braces alone, and values are not rendered again", function()
    assert.equal("{ } {{}} {{ a b }} {x} {{{y}}}",
      file.render("{ } {{}} {{ a b }} {x} {{{{y}}}}", { y = "{y}" }))
    assert.equal("{{b}}", file.render("{{a}}", { a = "{{b}}", b = "no" }))
  end)

  it("names a placeholder without a value, at the caller's line", function()
    caller_error(function() file.render("port {{port}} host {{host}}", { port = 1 }) end,
      "render: no value for the placeholder {{host}}")
    caller_error(function() file.render("{{on}}", { on = true }) end,
      "render: the value for {{on}} is a boolean (a string or a number expected)")
    caller_error(function() file.render(nil, {}) end, "bad argument #1 to 'render' (string expected, got nil)")
    caller_error(function() file.render("x") end, "bad argument #2 to 'render' (table expected, got nil)")
  end)
end)

describe("juju.users #unit", function()
  local dir
  before_each(function()
    dir = hookenv.tmpdir()
    hookenv.write_file(dir .. "/passwd", PASSWD)
    hookenv.write_file(dir .. "/group", GROUP)
    users.passwd_file, users.group_file = dir .. "/passwd", dir .. "/group"
  end)
  after_each(function()
    hookenv.rmtree(dir)
    users.passwd_file, users.group_file = "/etc/passwd", "/etc/group"
  end)

  it("a database that cannot be read is an error naming it, not a raised one", function()
    local id, err = users.uid("root", dir)   -- a directory
    assert.is_nil(id)
    assert.equal("cannot look up user 'root': " .. dir .. ": Is a directory", err)
    id, err = users.gid("adm", dir .. "/none")
    assert.is_nil(id)
    assert.equal("cannot look up group 'adm': " .. dir .. "/none: No such file or directory", err)
  end)

  it("reads ids by exact name; the first entry wins", function()
    assert.equal(0, users.uid("root"))
    assert.equal(4321, users.uid("postgres"))
    assert.equal(1001, users.uid("post"))
    assert.equal(77, users.uid("nolf"))
    assert.equal(4, users.gid("adm"))
    assert.equal(118, users.gid("ssl-cert"))
  end)

  it("an unknown name, a comment, a broken entry: nil and the file looked in", function()
    for _, name in ipairs({ "postgre", "postgres2", "# a comment", "broken line without fields",
                            "weird", "+nisuser", "syslog" }) do
      local id, err = users.uid(name)
      assert.is_nil(id, name)
      assert.equal("no user '" .. name .. "' in " .. dir .. "/passwd", err)
    end
    local id, err = users.gid("wheel")
    assert.is_nil(id)
    assert.equal("no group 'wheel' in " .. dir .. "/group", err)
  end)

  it("a file that cannot be read says so", function()
    users.passwd_file = dir .. "/none"
    local id, err = users.uid("root")
    assert.is_nil(id)
    assert.equal("cannot look up user 'root': " .. dir .. "/none: No such file or directory", err)
  end)

  it("reads the real files by default", function()
    users.passwd_file, users.group_file = "/etc/passwd", "/etc/group"
    assert.equal(0, users.uid("root"))
    assert.equal(0, users.gid("root"))
  end)

  it("a name must be a non-empty string", function()
    assert.has_error(function() users.uid("") end,
      "bad argument #1 to 'uid' (a user name expected, got an empty string)")
    assert.has_error(function() users.gid(4) end, "bad argument #1 to 'gid' (a group name expected, got number)")
  end)
end)
