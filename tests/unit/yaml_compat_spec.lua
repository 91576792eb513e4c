-- Juju reads `relation-set --file -` and `state-set --file -` with go-yaml
-- (yaml.v2), a port of libyaml. lyaml (Debian's lua-yaml) binds libyaml
-- itself, so it stands in for Juju's reader here: whatever the module sends
-- must load back to exactly the data the charm gave.
local juju = require "juju"
local lyaml = require "lyaml"
local recorder = require "helpers.recorder"

describe("relation and state stdin reads back through a YAML parser #unit", function()
  local rec = recorder.setup(juju)

  local tricky = {
    plain = "hello",
    empty = "",
    quotes = 'say "hi" and \'bye\'',
    slashes = "a/b\\c",
    -- (no NUL: lyaml hands strings to Lua up to the first NUL; Go keeps it)
    controls = "\1\7\8\t\n\11\12\13\27\31",
    del = "\127",
    latin = "caf\u{e9} na\u{ef}ve",
    c1 = "\u{80}\u{85}\u{9f}",
    nel_inside = "line\u{85}next",
    bom = "\u{feff}x",
    noncharacters = "\u{fffe}\u{ffff}",
    separators = "a\u{2028}b\u{2029}c",
    cjk = "\u{65e5}\u{672c}",
    emoji = "\u{1F600}\u{1F680}",
    astral_top = "\u{10FFFD}",
    yaml_lookalikes = "- a: [b, {c}] # not a comment &anchor *alias !tag |",
    number_like = "0x1F",
    bool_like = "yes",
    null_like = "~",
  }

  it("every tricky value loads back unchanged", function()
    juju.state_set(tricky)
    local loaded = lyaml.load(rec:last().stdin)
    assert.same(tricky, loaded)
  end)

  it("keys load back unchanged too", function()
    local data = {}
    for k, v in pairs(tricky) do data[v ~= "" and v or k] = k end
    juju.relation_set(data, 1)
    assert.same(data, lyaml.load(rec:last().stdin))
  end)

  it("ops's ensure_ascii form would not load (why we differ from ops)", function()
    assert.has_error(function() lyaml.load('{"k": "\\ud83d\\ude00"}') end)
  end)
end)
