/* charmload.c - the charm's Lua, compiled when it can be (see charmload.h). */
#include "charmload.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "embedded.h"
#include "lauxlib.h"

#define MAGIC "DLUAC\x01"
#define MAGIC_LEN 6
#define HEADER_LEN (MAGIC_LEN + 8 + 8)
#define CACHE_DIR "/.dispatch/luac/"

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Read a whole file into a new userdata pushed on the stack (GC-owned, so
 * a Lua error cannot leak it); its length in *len. 0, or an errno (nothing
 * pushed). The buffer is allocated before the file is opened: the only
 * Lua call that may raise happens with no fd held. */
static int read_file(lua_State *L, const char *path, size_t *len)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    if (!S_ISREG(st.st_mode))
        return EISDIR;
    size_t size = (size_t)st.st_size;
    char *buf = lua_newuserdatauv(L, size + 1, 0);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        lua_pop(L, 1);
        return e;
    }
    size_t got = fread(buf, 1, size, f);
    int more = fgetc(f) != EOF;   /* it grew since stat: not a stable file */
    int bad = ferror(f);
    fclose(f);
    if (bad || more || got != size) {
        lua_pop(L, 1);
        return EIO;
    }
    *len = got;
    return 0;
}

/* The chunk compiled from src (srclen bytes) for root-relative rel, pushed,
 * when root/.dispatch/luac/rel exists and matches; else nothing pushed. */
static int load_compiled(lua_State *L, const char *root, const char *rel,
                         const char *src, size_t srclen)
{
    lua_pushfstring(L, "%s" CACHE_DIR "%s", root, rel);
    size_t len = 0;
    int err = read_file(L, lua_tostring(L, -1), &len);
    lua_remove(L, err ? -1 : -2);   /* the path */
    if (err)
        return 0;
    const unsigned char *bc = lua_touserdata(L, -1);
    if (len <= HEADER_LEN || memcmp(bc, MAGIC, MAGIC_LEN) != 0 ||
        le64(bc + MAGIC_LEN) != fnv1a64((const unsigned char *)src, srclen) ||
        le64(bc + MAGIC_LEN + 8) != (uint64_t)srclen) {
        lua_pop(L, 1);
        return 0;
    }
    int status = luaL_loadbufferx(L, (const char *)bc + HEADER_LEN, len - HEADER_LEN, rel, "b");
    lua_remove(L, -2);   /* the bytes */
    if (status != LUA_OK) {
        lua_pop(L, 1);   /* another Lua's bytecode: the source it is */
        return 0;
    }
    return 1;
}

int charm_loadfile(lua_State *L, const char *root, const char *path)
{
    size_t len = 0;
    int err = read_file(L, path, &len);
    if (err) {
        lua_pushfstring(L, "cannot open %s: %s", path, strerror(err));
        return LUA_ERRFILE;
    }
    int buf = lua_gettop(L);
    const char *src = lua_touserdata(L, buf);
    size_t rootlen = strlen(root);
    if (strncmp(path, root, rootlen) == 0 && path[rootlen] == '/' &&
        load_compiled(L, root, path + rootlen + 1, src, len)) {
        lua_remove(L, buf);
        return LUA_OK;
    }
    /* the source, named as luaL_loadfile names it; a leading #! line is
     * skipped as lua.c does */
    size_t skip = 0;
    if (len > 0 && src[0] == '#')
        while (skip < len && src[skip] != '\n')
            skip++;
    lua_pushfstring(L, "@%s", path);
    int status = luaL_loadbufferx(L, src + skip, len - skip, lua_tostring(L, -1), NULL);
    lua_remove(L, -2);   /* the name */
    lua_remove(L, buf);
    return status;
}

/* package.searchers entry: (name) -> loader, path | message. */
static int charm_searcher(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *root = lua_tostring(L, lua_upvalueindex(1));
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2))
        return 1;   /* the message: where it looked */
    const char *path = lua_tostring(L, -2);
    if (charm_loadfile(L, root, path) != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, path,
                          lua_tostring(L, -1));
    lua_pushstring(L, path);
    return 2;
}

void charm_install_searcher(lua_State *L, const char *root)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    /* Lua's file searcher: the first after package.preload's that is not
     * the framework's embedded one */
    lua_Integer i = 2;
    for (;; i++) {
        if (lua_rawgeti(L, -1, i) == LUA_TNIL || lua_tocfunction(L, -1) != embedded_searcher) {
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
    }
    lua_pushstring(L, root);
    lua_pushcclosure(L, charm_searcher, 1);
    lua_rawseti(L, -2, i);
    lua_pop(L, 2);
}
