/*
 * bumpalloc.h - a bump allocator in front of malloc, for the Lua state.
 *
 * A hook is short: the interpreter allocates a few thousand small blocks,
 * frees most of them only in lua_close, and exits. Cutting them from one
 * buffer (and making a free a no-op) saves about a quarter of dispatch's
 * start-up instructions and the malloc arena's set-up. Past the buffer,
 * and for every block that did not come from it, blocks are malloc's.
 *
 * bumpalloc_lua has lua_Alloc's contract (ud is the struct bumpalloc):
 * ptr NULL allocates, nsize 0 frees, otherwise it resizes; osize is the
 * block's size whenever ptr is not NULL; it never fails to shrink. Freed
 * space in the buffer is taken back only for the latest block (a
 * temporary string freed at once), so the buffer is a start-up budget,
 * not a heap. Pure C: no lua.h.
 */
#ifndef DISPATCH_BUMPALLOC_H
#define DISPATCH_BUMPALLOC_H

#include <stddef.h>

struct bumpalloc {
    unsigned char *base;  /* the buffer, aligned for any object */
    size_t size;          /* its bytes; 0: every block is malloc's */
    size_t used;          /* bytes handed out from it so far */
};

/* Use buf (size bytes; its start is aligned up as needed) for the first
 * allocations. buf NULL or size 0: malloc only. */
void bumpalloc_init(struct bumpalloc *a, void *buf, size_t size);

/* lua_Alloc: allocate, resize or free one block (see above). */
void *bumpalloc_lua(void *ud, void *ptr, size_t osize, size_t nsize);

/* 1 when p lies in a's buffer. */
int bumpalloc_owns(const struct bumpalloc *a, const void *p);

#endif
