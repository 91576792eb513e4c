/*
 * test_bumpalloc.c - the bump allocator with lua_Alloc's contract: blocks
 * aligned for any object, taken from the buffer until it is spent and from
 * malloc after, the latest block shrinking, growing and freed in place,
 * contents kept whenever a block moves, and malloc's blocks given back to
 * malloc (ASan and valgrind see those).
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bumpalloc.h"
#include "ctest.h"

#define ALIGN ((uintptr_t)alignof(max_align_t))

static alignas(max_align_t) unsigned char buffer[4096 + 64];

/* n rounded up to the alignment (16 on amd64, 8 on s390x) */
static size_t up(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

static void *alloc(struct bumpalloc *a, size_t n)
{
    return bumpalloc_lua(a, NULL, 0, n);
}

static void release(struct bumpalloc *a, void *p, size_t n)
{
    CHECK(bumpalloc_lua(a, p, n, 0) == NULL);
}

static void fill(void *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] = (unsigned char)(seed + i * 7);
}

static int filled(const void *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)p)[i] != (unsigned char)(seed + i * 7))
            return 0;
    return 1;
}

TEST(blocks_are_aligned_and_distinct_until_the_buffer_is_spent)
{
    struct bumpalloc a;
    bumpalloc_init(&a, buffer, 4096);
    unsigned char *prev = NULL;
    size_t sizes[] = {1, 3, 16, 17, 40, 100, 7};
    int from_buffer = 0;
    for (int round = 0; round < 100; round++) {
        size_t n = sizes[round % 7];
        unsigned char *p = alloc(&a, n);
        CHECK(p != NULL);
        CHECK((uintptr_t)p % ALIGN == 0);
        if (bumpalloc_owns(&a, p)) {
            from_buffer++;
            CHECK(prev == NULL || p > prev);
            prev = p;
            fill(p, n, (unsigned char)round);
            CHECK(filled(p, n, (unsigned char)round));
        } else {
            /* spent: malloc's, and given back to malloc */
            fill(p, n, 1);
            release(&a, p, n);
        }
    }
    CHECK(from_buffer > 10);
    CHECK(a.used <= a.size);
    /* the next block that does not fit comes from malloc */
    void *big = alloc(&a, 8192);
    CHECK(big != NULL && !bumpalloc_owns(&a, big));
    release(&a, big, 8192);
}

TEST(the_latest_block_is_freed_shrunk_and_grown_in_place)
{
    struct bumpalloc a;
    bumpalloc_init(&a, buffer, 4096);
    void *first = alloc(&a, 24);
    size_t after_first = a.used;
    void *tmp = alloc(&a, 100);
    release(&a, tmp, 100);
    CHECK_EQ_INT(a.used, after_first);      /* a temporary freed at once */
    void *s = alloc(&a, 64);
    CHECK(s == tmp);                         /* its space is used again */
    fill(s, 64, 3);
    CHECK(bumpalloc_lua(&a, s, 64, 200) == s);  /* grows in place */
    CHECK(filled(s, 64, 3));
    CHECK(bumpalloc_lua(&a, s, 200, 10) == s);  /* shrinks in place */
    CHECK(filled(s, 10, 3));
    size_t used = a.used;
    CHECK(alloc(&a, 1) == (unsigned char *)s + up(10));  /* right after the 10 bytes */
    CHECK(a.used == used + up(1));
    (void)first;
}

TEST(an_older_block_moves_to_grow_and_keeps_its_content)
{
    struct bumpalloc a;
    bumpalloc_init(&a, buffer, 4096);
    unsigned char *old = alloc(&a, 32);
    fill(old, 32, 9);
    void *later = alloc(&a, 16);
    unsigned char *moved = bumpalloc_lua(&a, old, 32, 48);
    CHECK(moved != NULL && moved != old);
    CHECK(bumpalloc_owns(&a, moved));
    CHECK(moved > (unsigned char *)later);
    CHECK(filled(moved, 32, 9));
    /* freeing an older block takes nothing back (and does not crash) */
    size_t used = a.used;
    release(&a, later, 16);
    CHECK_EQ_INT(a.used, used);
    /* an older block shrinks in place too */
    CHECK(bumpalloc_lua(&a, old, 32, 8) == old);
}

TEST(a_block_that_outgrows_the_buffer_moves_to_malloc_with_its_content)
{
    struct bumpalloc a;
    bumpalloc_init(&a, buffer, 4096);
    void *keep = alloc(&a, 1000);
    size_t at = a.used;
    unsigned char *last = alloc(&a, 2000);
    fill(last, 2000, 5);
    unsigned char *moved = bumpalloc_lua(&a, last, 2000, 10000);
    CHECK(moved != NULL && !bumpalloc_owns(&a, moved));
    CHECK(filled(moved, 2000, 5));
    CHECK_EQ_INT(a.used, at);                /* the latest moved out: freed */
    /* malloc's block is resized and freed by malloc */
    moved = bumpalloc_lua(&a, moved, 10000, 20000);
    CHECK(moved != NULL && filled(moved, 2000, 5));
    moved = bumpalloc_lua(&a, moved, 20000, 100);
    CHECK(moved != NULL && filled(moved, 100, 5));
    release(&a, moved, 100);
    (void)keep;
}

TEST(no_buffer_means_malloc_for_everything)
{
    struct bumpalloc a;
    bumpalloc_init(&a, NULL, 4096);
    void *p = alloc(&a, 10);
    CHECK(p != NULL && !bumpalloc_owns(&a, p));
    p = bumpalloc_lua(&a, p, 10, 1000);
    CHECK(p != NULL);
    release(&a, p, 1000);
    bumpalloc_init(&a, buffer, 0);
    CHECK_EQ_INT(a.size, 0);
    p = alloc(&a, 10);
    CHECK(p != NULL && !bumpalloc_owns(&a, p));
    release(&a, p, 10);
    CHECK(alloc(&a, 0) == NULL);
}

TEST(a_misaligned_buffer_is_aligned_and_its_tail_unused)
{
    struct bumpalloc a;
    bumpalloc_init(&a, buffer + 3, 1000);
    CHECK((uintptr_t)a.base % ALIGN == 0);
    CHECK(a.base >= buffer + 3 && a.base < buffer + 3 + ALIGN);
    CHECK(a.base + a.size <= buffer + 3 + 1000);
    CHECK_EQ_INT(a.size % ALIGN, 0);
    void *p = alloc(&a, 1);
    CHECK(p == a.base);
    /* a buffer smaller than the alignment skip is no buffer */
    bumpalloc_init(&a, buffer + 1, 2);
    CHECK_EQ_INT(a.size, 0);
}

int main(void)
{
    RUN(blocks_are_aligned_and_distinct_until_the_buffer_is_spent);
    RUN(the_latest_block_is_freed_shrunk_and_grown_in_place);
    RUN(an_older_block_moves_to_grow_and_keeps_its_content);
    RUN(a_block_that_outgrows_the_buffer_moves_to_malloc_with_its_content);
    RUN(no_buffer_means_malloc_for_everything);
    RUN(a_misaligned_buffer_is_aligned_and_its_tail_unused);
    return ctest_summary();
}
