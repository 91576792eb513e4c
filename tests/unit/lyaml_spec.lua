-- lyaml under a stock lua5.4 with build/juju.so: once juju is loaded, its
-- searcher hands out the lyaml modules embedded in juju.so (lazy
-- stand-ins, like the framework's), while the C part `yaml` is the
-- system's yaml.so, found on package.cpath. lyaml's null must stay one
-- value whichever module is touched first.
local juju = require "juju"

describe("lyaml from juju.so #unit", function()
  local NAMES = { "lyaml", "lyaml.functional", "lyaml.explicit", "lyaml.implicit", "yaml" }
  local saved

  before_each(function()
    assert.truthy(juju.json) -- juju is loaded: its searcher is in place
    saved = {}
    for _, name in ipairs(NAMES) do
      saved[name] = package.loaded[name]
      package.loaded[name] = nil
    end
  end)

  after_each(function()
    for _, name in ipairs(NAMES) do package.loaded[name] = saved[name] end
  end)

  it("require gives the embedded stand-in; the C part comes from the system's yaml.so", function()
    local lyaml = require "lyaml"
    assert.equal("lyaml", getmetatable(lyaml).__name)
    assert.is_nil(package.loaded.yaml, "nothing loaded before first use")
    assert.equal(1, lyaml.load("a: 1").a)
    assert.equal("table", type(package.loaded.yaml))
    assert.matches("/yaml%.so$", package.searchpath("yaml", package.cpath))
    -- the embedded chunk, not the file: the file searcher would give the
    -- module itself, with no metatable
    assert.is_nil(getmetatable(package.loaded.lyaml))
    assert.not_equal(lyaml, package.loaded.lyaml)
    assert.equal(package.loaded.lyaml.load, lyaml.load)
  end)

  it("null is one value: lyaml.null, lyaml.functional.NULL, and what load gives", function()
    local functional = require "lyaml.functional"
    local lyaml = require "lyaml"
    local doc = lyaml.load("a: ~\nb: [null, 1]\nc:\n")
    assert.equal(lyaml.null, functional.NULL)
    assert.equal(lyaml.null, doc.a)
    assert.equal(lyaml.null, doc.b[1])
    assert.equal(lyaml.null, doc.c)
    assert.is_true(functional.isnull(doc.a))
    assert.is_false(functional.isnull(doc.b[2]))
    assert.is_false(functional.isnull(lyaml)) -- a stand-in is not null
    assert.equal("---\nn: ~\n...\n", lyaml.dump({ { n = lyaml.null } }))
  end)

  it("touched through lyaml first, lyaml.functional's NULL is still the same", function()
    local lyaml = require "lyaml"
    local doc = lyaml.load("k: ~")
    assert.equal(require("lyaml.functional").NULL, doc.k)
    assert.equal(require("lyaml.implicit").null("~"), doc.k)
  end)

  it("a syntax error is raised with line and column", function()
    local lyaml = require "lyaml"
    local ok, err = pcall(lyaml.load, "a: b: c\n")
    assert.is_false(ok)
    assert.equal("1:4: mapping values are not allowed in this context", err)
  end)
end)
