/*
 * embedded.h - Lua sources compiled into the binary by tools/embed.lua.
 * Each table ends with an entry whose name is NULL.
 */
#ifndef DISPATCH_EMBEDDED_H
#define DISPATCH_EMBEDDED_H

#include <stddef.h>

struct embedded_lua {
    const char *name;       /* module name, e.g. "juju.charm" */
    const char *chunkname;  /* "@lua/juju/charm.lua", for tracebacks */
    const char *source;
    size_t len;
};

/* The module's own Lua (the .lua files in src/): result shaping and data encoding. */
extern const struct embedded_lua embedded_module_lua[];
/* The framework (every .lua file under lua/), installed as package.preload by the host. */
extern const struct embedded_lua embedded_preload_lua[];

#endif
