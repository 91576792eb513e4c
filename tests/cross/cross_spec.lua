-- One .charm per architecture (make charm), each checked as Juju would get
-- it and its dispatch run under qemu-user: the manifest names the
-- architecture, dispatch is a static ELF for that machine with mode 0755,
-- and it runs Lua, YAML, JSON, a process and a real hook of the template.
-- Run by tests/cross/run (make check-cross), which packs them first.

local hookenv = require "helpers.hookenv"
local zip = require "helpers.zip"
local lyaml = require "lyaml"

local quote = hookenv.quote
local ARCHES = os.getenv("ARCHES") or "amd64"
local HOST = os.getenv("HOST_ARCH") or "amd64"
local OUT = os.getenv("CHARM_OUT") or "build"

-- ELF e_machine, byte order (1 little, 2 big) and the qemu that runs it
local MACHINE = {
  amd64 = { 62, 1, "qemu-x86_64-static" }, arm64 = { 183, 1, "qemu-aarch64-static" },
  ppc64el = { 21, 1, "qemu-ppc64le-static" }, s390x = { 22, 2, "qemu-s390x-static" },
}

--- Facts from an ELF image: class, byte order, machine, and whether it
-- asks for an interpreter (a PT_INTERP program header: dynamically linked).
local function elf(data)
  assert(data:sub(1, 4) == "\127ELF", "not an ELF file")
  local class, order = data:byte(5), data:byte(6)
  local e = order == 1 and "<" or ">"
  local machine = string.unpack(e .. "I2", data, 19)
  local phoff = string.unpack(e .. "I8", data, 33)
  local phentsize, phnum = string.unpack(e .. "I2I2", data, 55)
  local interp = false
  for i = 0, phnum - 1 do
    if string.unpack(e .. "I4", data, phoff + i * phentsize + 1) == 3 then interp = true end
  end
  return { class = class, order = order, machine = machine, interp = interp }
end

for arch in ARCHES:gmatch("%S+") do
  describe(("the %s charm #cross"):format(arch), function()
    local tmp, archive, dir

    setup(function()
      tmp = hookenv.tmpdir()
      archive = zip.read_file(("%s/hello-lua_%s.charm"):format(OUT, arch))
      dir = tmp .. "/charm"
      hookenv.sh("mkdir -p " .. quote(dir))
      zip.extract(archive, dir)
    end)
    teardown(function() hookenv.rmtree(tmp) end)

    local function run(args, opts)
      opts = opts or {}
      local program = dir .. "/dispatch"
      if arch ~= HOST then
        table.insert(args, 1, program)
        program = MACHINE[arch][3]
      end
      opts.program = program
      return hookenv.run(args, opts)
    end

    it("its manifest names the architecture; dispatch is 0755", function()
      local manifest = lyaml.load(archive.by_name["manifest.yaml"].data)
      assert.same({ arch }, manifest.bases[1].architectures)
      assert.equal("100755", ("%o"):format(archive.by_name.dispatch.mode))
    end)

    it("dispatch is a static 64-bit ELF for the machine", function()
      local f = elf(archive.by_name.dispatch.data)
      assert.equal(2, f.class)
      assert.equal(MACHINE[arch][2], f.order)
      assert.equal(MACHINE[arch][1], f.machine)
      assert.is_false(f.interp)
    end)

    it("runs: its version, Lua, JSON, YAML, a process", function()
      local r = run { "--version" }
      assert.equal(0, r.code, r.stderr)
      assert.matches("^dispatch [%d.]+ %(Lua 5%.4", r.stdout)
      r = run { "-e", [[
        local sys = require "juju.sys"
        local code, out = sys.spawn({ "echo", "spawned" })
        io.write(juju.json.encode{ big = 9007199254740993, f = 0.1, s = "é" }, " ",
                 require("lyaml").load("a: [1, 2]").a[2], " ", code, " ", out,
                 string.pack("=I2", 1):byte(1))
      ]] }
      assert.equal(0, r.code, r.stderr)
      assert.equal('{"big":9007199254740993,"f":0.1,"s":"é"} 2 0 spawned\n' ..
        (MACHINE[arch][2] == 1 and "1" or "0"), r.stdout)
    end)

    it("runs the template's install as Juju would, over exec", function()
      hookenv.reset()
      hookenv.respond("state-get", { stdout = "{}\n" })
      hookenv.respond("config-get", { stdout = '{"port": 8080, "page": "hi"}\n' })
      hookenv.respond("relation-ids", { stdout = "[]\n" })
      hookenv.respond("opened-ports", { stdout = "[]\n" })
      local r = run({}, { cwd = dir, env = {
        JUJU_DISPATCH_PATH = "hooks/install", JUJU_CHARM_DIR = dir, JUJU_UNIT_NAME = "hello-lua/0",
        JUJU_MODEL_NAME = "m", JUJU_MODEL_UUID = "00000000-0000-4000-8000-000000000000",
        DISPATCH_TRANSPORT = "exec", DISPATCH_FILE_ROOT = tmp .. "/root",
        DISPATCH_PROCESS_WRAPPER = "/bin/true",
      } })
      assert.equal(0, r.code, r.stderr)
      local names = {}
      for _, c in ipairs(hookenv.calls()) do names[#names + 1] = c.argv[1] end
      assert.equal("state-get", names[1])
      assert.equal("status-set", names[#names])
      assert.is_true(#names >= 5)
    end)
  end)
end
