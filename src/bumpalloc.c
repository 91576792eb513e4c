/* bumpalloc.c - a bump allocator in front of malloc (see bumpalloc.h). */
#include "bumpalloc.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN ((size_t)alignof(max_align_t))

/* n rounded up to ALIGN; SIZE_MAX when that overflows */
static size_t rounded(size_t n)
{
    return n > SIZE_MAX - (ALIGN - 1) ? SIZE_MAX : (n + ALIGN - 1) & ~(ALIGN - 1);
}

void bumpalloc_init(struct bumpalloc *a, void *buf, size_t size)
{
    a->base = NULL;
    a->size = 0;
    a->used = 0;
    if (buf == NULL)
        return;
    uintptr_t start = (uintptr_t)buf;
    size_t skip = (size_t)((ALIGN - start % ALIGN) % ALIGN);
    if (size <= skip)
        return;
    a->base = (unsigned char *)buf + skip;
    a->size = (size - skip) & ~(ALIGN - 1);
}

int bumpalloc_owns(const struct bumpalloc *a, const void *p)
{
    /* compared as integers: pointers into different objects are not
     * ordered in C */
    uintptr_t q = (uintptr_t)p, b = (uintptr_t)a->base;
    return a->size > 0 && q >= b && q - b < a->size;
}

/* A block of n bytes from the buffer, or NULL when it does not fit. */
static void *take(struct bumpalloc *a, size_t n)
{
    size_t r = rounded(n);
    if (r > a->size - a->used)
        return NULL;
    void *p = a->base + a->used;
    a->used += r;
    return p;
}

void *bumpalloc_lua(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct bumpalloc *a = ud;
    if (ptr == NULL) {
        if (nsize == 0)
            return NULL;
        void *p = take(a, nsize);
        return p != NULL ? p : malloc(nsize);
    }
    if (!bumpalloc_owns(a, ptr)) {
        if (nsize == 0) {
            free(ptr);
            return NULL;
        }
        return realloc(ptr, nsize);
    }
    /* a block of the buffer: the latest one can shrink or grow in place */
    size_t at = (size_t)((unsigned char *)ptr - a->base);
    int latest = at + rounded(osize) == a->used;
    if (nsize == 0) {
        if (latest)
            a->used = at;
        return NULL;
    }
    if (nsize <= osize) {
        if (latest)
            a->used = at + rounded(nsize);
        return ptr;
    }
    if (latest && rounded(nsize) <= a->size - at) {
        a->used = at + rounded(nsize);
        return ptr;
    }
    void *p = take(a, nsize);
    if (p == NULL)
        p = malloc(nsize);
    if (p == NULL)
        return NULL;  /* the block stays as it was */
    memcpy(p, ptr, osize);
    if (latest)
        a->used = at;  /* it moved out: its space is free again */
    return p;
}
