-- luacheck settings for this charm: plain Lua 5.4, busted in the tests.
std = "lua54"
files["tests/**/*_spec.lua"] = { std = "+busted" }
