-- luacheck configuration for the dispatch repo.
std = "lua54"
not_globals = { "string.len", "table.getn" }
exclude_files = { "build/**" }
files["tests/**/*_spec.lua"] = { std = "+busted" }
