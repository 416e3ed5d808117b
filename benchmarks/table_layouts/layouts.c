/* Table layouts for the vocabulary lookup, on real n-gram hashes (benchmarks/table_layouts/run.py).
 *
 * Why: loading the 200k-term model spends ~1.1 ms building the kernel's 8 MB table. Two layouts that a model
 * file could store ready-made, or build with sequential writes, are timed against it here, build and lookup:
 *   current  16-byte slots (fingerprint, id + 1), filled in id (frequency) order, sized as _fastvec.c does (the
 *            power of two >= 2 slots per term: 2**19 for 200,000 terms)
 *   gapped   8-byte slots holding only fingerprints, in sorted order with gaps (a linear-probing table whose
 *            runs are sorted); the id of a slot is its rank among occupied slots (occupancy bitmap + counts)
 *   sorted   the current 16-byte layout, filled from fingerprints sorted by value (sequential writes)
 * Every layout must find as many ids (the sorted ones number the terms by value: a file holding them would store
 * the model's weights in that order); the filter in front is the kernel's (4 bits per slot). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BLOCK 64
#define SLACK 256 /* slots past the end, so sorted layouts need no wrap-around */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *fresh(size_t bytes) { /* zeroed pages, huge where possible: as the kernel allocates its table */
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) exit(1);
    if (bytes >= (2u << 20)) madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

static uint64_t *read_u64(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) exit(1);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint64_t *data = malloc(size);
    if (fread(data, 1, size, f) != (size_t)size) exit(1);
    fclose(f);
    *n = size / 8;
    return data;
}

typedef struct { uint64_t key; uint32_t id1, pad; } Slot;

typedef struct {
    int kind; /* 0 current, 1 gapped, 2 sorted */
    int shift;
    size_t bytes;
    Slot *slots;     /* current, sorted */
    uint64_t *keys;  /* gapped */
    uint64_t *occupied;
    uint32_t *before; /* occupied slots before each 64-slot word */
    uint64_t *filter, filter_mask;
} Table;

static void overflow(int bits) { /* a sorted layout ran past its spare slots: more terms than it can hold */
    fprintf(stderr, "a sorted layout of 2**%d slots overflowed its %d spare slots\n", bits, SLACK);
    exit(1);
}

static void filter_add(Table *t, uint64_t h) { t->filter[(h & t->filter_mask) >> 6] |= 1ull << (h & 63); }

static void make_filter(Table *t, int bits) {
    t->filter_mask = (((uint64_t)1 << bits) << 2) - 1;
    t->filter = calloc((t->filter_mask >> 6) + 1, 8);
}

static void build_current(Table *t, const uint64_t *fp, size_t n, int bits) {
    size_t mask = ((size_t)1 << bits) - 1;
    t->kind = 0, t->shift = 64 - bits, t->bytes = (mask + 1) * sizeof(Slot);
    t->slots = fresh(t->bytes);
    make_filter(t, bits);
    for (size_t base = 0; base < n; base += BLOCK) {
        size_t m = n - base < BLOCK ? n - base : BLOCK;
        for (size_t b = 0; b < m; b++) __builtin_prefetch(&t->slots[fp[base + b] >> t->shift], 1);
        for (size_t b = 0; b < m; b++) {
            uint64_t k = fp[base + b];
            size_t i = k >> t->shift;
            while (t->slots[i].id1) i = (i + 1) & mask;
            t->slots[i].key = k, t->slots[i].id1 = (uint32_t)(base + b + 1);
            filter_add(t, k);
        }
    }
}

static void build_sorted(Table *t, const uint64_t *sorted, size_t n, int bits) {
    t->kind = 2, t->shift = 64 - bits, t->bytes = (((size_t)1 << bits) + SLACK) * sizeof(Slot);
    t->slots = fresh(t->bytes);
    make_filter(t, bits);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t home = sorted[i] >> t->shift;
        if (pos < home) pos = home;
        if (pos >= ((size_t)1 << bits) + SLACK - 1) overflow(bits);
        t->slots[pos].key = sorted[i], t->slots[pos].id1 = (uint32_t)(i + 1);
        pos++;
        filter_add(t, sorted[i]);
    }
}

static void build_gapped(Table *t, const uint64_t *sorted, size_t n, int bits) {
    size_t total = ((size_t)1 << bits) + SLACK, words = total / 64 + 1;
    t->kind = 1, t->shift = 64 - bits, t->bytes = total * 8;
    t->keys = fresh(t->bytes);
    t->occupied = calloc(words, 8);
    t->before = malloc(words * 4);
    make_filter(t, bits);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t home = sorted[i] >> t->shift;
        if (pos >= total - 1) overflow(bits); /* the last slot must stay empty: it ends every scan */
        for (; pos < home; pos++) t->keys[pos] = UINT64_MAX; /* an empty slot ends every scan */
        t->keys[pos] = sorted[i];
        t->occupied[pos >> 6] |= 1ull << (pos & 63);
        pos++;
        filter_add(t, sorted[i]);
    }
    for (; pos < total; pos++) t->keys[pos] = UINT64_MAX;
    uint32_t count = 0;
    for (size_t w = 0; w < words; w++) t->before[w] = count, count += __builtin_popcountll(t->occupied[w]);
}

static void table_free(Table *t) {
    munmap(t->kind == 1 ? (void *)t->keys : (void *)t->slots, t->bytes);
    free(t->occupied), free(t->before), free(t->filter);
}

static inline int32_t probe(const Table *t, uint64_t h) {
    size_t i = h >> t->shift;
    if (t->kind == 1) {
        while (t->keys[i] < h) i++;
        uint64_t word = t->occupied[i >> 6];
        if (t->keys[i] != h || !((word >> (i & 63)) & 1)) return -1;
        return (int32_t)(t->before[i >> 6] + __builtin_popcountll(word & ((1ull << (i & 63)) - 1)));
    }
    size_t mask = t->kind == 0 ? ((size_t)1 << (64 - t->shift)) - 1 : SIZE_MAX;
    for (;; i = (i + 1) & mask) {
        if (!t->slots[i].id1) return -1;
        if (t->slots[i].key == h) return (int32_t)(t->slots[i].id1 - 1);
    }
}

/* The kernel's loop: prefetch every home slot, filter without a branch, probe in blocks. */
static size_t lookup(const Table *t, const uint64_t *hashes, size_t n, int32_t *found) {
    uint64_t pending[BLOCK + 8];
    int waiting = 0;
    int32_t *out = found;
    for (size_t j = 0; j < n; j++) {
        uint64_t h = hashes[j], bit = h & t->filter_mask;
        __builtin_prefetch(t->kind == 1 ? (void *)&t->keys[h >> t->shift] : (void *)&t->slots[h >> t->shift]);
        pending[waiting] = h;
        waiting += (t->filter[bit >> 6] >> (bit & 63)) & 1;
        if (waiting >= BLOCK) {
            for (int b = 0; b < waiting; b++) { int32_t id = probe(t, pending[b]); if (id >= 0) *out++ = id; }
            waiting = 0;
        }
    }
    for (int b = 0; b < waiting; b++) { int32_t id = probe(t, pending[b]); if (id >= 0) *out++ = id; }
    return (size_t)(out - found);
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define LAYOUTS 4
static const char *KINDS[LAYOUTS] = {"current 16 B", "gapped 8 B", "gapped 8 B", "sorted 16 B"};

int main(int argc, char **argv) {
    if (argc != 4) return fprintf(stderr, "usage: layouts FINGERPRINTS HASHES OFFSETS\n"), 2;
    size_t n, n_hashes, n_offsets;
    uint64_t *fp = read_u64(argv[1], &n), *hashes = read_u64(argv[2], &n_hashes), *offsets = read_u64(argv[3], &n_offsets);
    uint64_t *sorted = malloc(n * 8);
    memcpy(sorted, fp, n * 8);
    qsort(sorted, n, 8, by_value); /* a file would store them sorted: not timed */
    int32_t *found = malloc(n_hashes * 4);
    int bits = 4;
    while (((size_t)1 << bits) < 2 * n) bits++; /* the kernel's capacity: load <= 0.5 */
    const int layout_bits[LAYOUTS] = {bits, bits - 1, bits, bits};
    const size_t slot_bytes[LAYOUTS] = {16, 8, 8, 16};
    size_t reviews = n_offsets - 1, counts[LAYOUTS] = {0};
    double build[LAYOUTS], look[LAYOUTS];
    for (int k = 0; k < LAYOUTS; k++) build[k] = look[k] = 1e9;
    for (int repeat = 0; repeat < 15; repeat++) {
        Table tables[LAYOUTS];
        for (int v = 0; v < LAYOUTS; v++) { /* order rotates every repeat */
            int k = (v + repeat) % LAYOUTS;
            memset(&tables[k], 0, sizeof(Table));
            double start = now();
            if (k == 0) build_current(&tables[k], fp, n, layout_bits[k]);
            else if (k <= 2) build_gapped(&tables[k], sorted, n, layout_bits[k]);
            else build_sorted(&tables[k], sorted, n, layout_bits[k]);
            double took = now() - start;
            if (took < build[k]) build[k] = took;
        }
        for (int v = 0; v < LAYOUTS; v++) {
            int k = (v + repeat) % LAYOUTS;
            size_t count = 0;
            double start = now();
            for (size_t r = 0; r < reviews; r++)
                count += lookup(&tables[k], hashes + offsets[r], offsets[r + 1] - offsets[r], found);
            double took = now() - start;
            if (took < look[k]) look[k] = took;
            counts[k] = count;
        }
        for (int k = 0; k < LAYOUTS; k++) table_free(&tables[k]);
    }
    printf("%zu fingerprints, %zu reviews, %zu n-gram hashes; best of 15, order rotated\n", n, reviews, n_hashes);
    printf("%-36s %10s %16s %12s %10s\n", "layout", "build ms", "lookup us/review", "vs current", "ids found");
    for (int k = 0; k < LAYOUTS; k++) {
        char name[64];
        snprintf(name, sizeof(name), "%s, 2**%d slots (%zu MB)", KINDS[k], layout_bits[k],
                 (slot_bytes[k] << layout_bits[k]) >> 20);
        printf("%-36s %10.3f %16.3f %11.2fx %10zu\n", name, build[k] * 1e3, look[k] / reviews * 1e6, look[k] / look[0],
               counts[k]);
    }
    for (int k = 1; k < LAYOUTS; k++)
        if (counts[k] != counts[0]) return fprintf(stderr, "layout %d found other ids\n", k), 1;
    return 0;
}
