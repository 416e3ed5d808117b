/* The vectorizer's hot path in C: text -> sorted unique feature ids.
 *
 * The definition is imdb_edge/runtime/vectorizer.py (tokenizer "ascii-split-v1",
 * n-gram hash "crc32-mix64-v1"); this file must give exactly the same ids:
 *   1. the text is encoded as UTF-8 with "surrogatepass" (done under the GIL by
 *      CPython itself, exactly as the Python path does);
 *   2. every ASCII whitespace or punctuation byte separates tokens, ASCII letters
 *      are lowercased, every other byte (including NUL and all bytes >= 0x80) is
 *      part of a token;
 *   3. the token "br" is dropped; with negation (tokenizer "ascii-split-neg-v1"), every token after a
 *      negator (no, not, never, nothing, nobody, none, neither, nor, cannot, without, the t of n't, or a token
 *      ending in n\u2019t) up to
 *      the next clause end (. , : ; ! ? <) is marked: its key is the CRC-32 of "~" + the token;
 *   4. every word n-gram (n = 1..ngram_max) gets a 64-bit hash: token key t = zlib
 *      CRC-32 of its bytes; unigram hash mix(t1 ^ CHAIN_SEED), n-gram hash mix(hash of its
 *      (n-1)-gram prefix XOR t_n), mix = the splitmix64 finalizer;
 *   5. the hash becomes a feature id, then the ids are returned sorted and unique:
 *      - Hasher(buckets, ngram_max): bucket ((hash >> 32) * buckets) >> 32;
 *      - Fingerprints(fingerprint_bytes, ngram_max): id i where the hash equals
 *        fingerprint i (the same hash of term i's tokens); other n-grams count for
 *        nothing. The fingerprints sit in an open-addressing table (slot = top bits
 *        of the already uniform hash, linear probing), built once at load.
 *
 * Both are read-only after __init__, so calls are thread-safe and run without the
 * GIL. No numpy C API: results are returned as bytearrays of native int64, which
 * the Python side wraps with numpy.frombuffer (no copy).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define MAX_NGRAM 5
#define MAX_HASH_BUCKETS (1 << 28) /* vectorizer.MAX_HASH_BUCKETS: ids stay int32 */
#define MAX_TERMS 0x7fffffff       /* ids and the padding id (= the term count) stay int32 */
#ifndef FILTER_BITS_PER_SLOT_LOG2
#define FILTER_BITS_PER_SLOT_LOG2 2 /* filter bits: 4 per table slot (2**21 bits, 256 KB, for 200,000 terms) */
#endif
#ifndef SLOTS_PER_TERM_X2
#define SLOTS_PER_TERM_X2 4 /* table capacity: the power of two >= this/2 slots a term (4: load <= 0.5) */
#endif

/* ASCII whitespace (" \t\n\r\v\f") and punctuation (Python's string.punctuation). */
static unsigned char SEPARATOR[256];
static unsigned char LOWER[256];
static unsigned char SAME[256]; /* the identity: terms are hashed as they are (they were tokens already) */
static unsigned char CLAUSE_END[256]; /* bytes that end a negation's scope: . , : ; ! ? < */
/* zlib's CRC-32 (reflected polynomial 0xEDB88320), sliced by 8: CRC[k][b] is the CRC of
 * byte b followed by k zero bytes, so 8 (or 4) bytes are folded in at once. */
static uint32_t CRC[8][256];
/* The CRC register after k zero bytes from the initial 0xFFFFFFFF, k = 0..8. */
static uint32_t CRC_OF_ZEROS[9];
/* The same after the byte '~' (a negated token's key is the CRC-32 of "~" + the token). */
static uint32_t MARKED_OF_ZEROS[9];
/* FIRST_SET[m]: the index of the lowest set bit of the byte m (8 for 0). */
static unsigned char FIRST_SET[256];

static void init_tables(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
        CRC[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int b = 0; b < 256; b++) CRC[k][b] = (CRC[k - 1][b] >> 8) ^ CRC[0][CRC[k - 1][b] & 0xff];
    uint32_t zeros = 0xFFFFFFFFu, marked = CRC[0][(0xFFFFFFFFu ^ (uint32_t)'~') & 0xff] ^ 0x00FFFFFFu;
    for (int k = 0; k <= 8; k++) {
        CRC_OF_ZEROS[k] = zeros;
        MARKED_OF_ZEROS[k] = marked;
        zeros = CRC[0][zeros & 0xff] ^ (zeros >> 8);
        marked = CRC[0][marked & 0xff] ^ (marked >> 8);
    }
    for (int m = 0; m < 256; m++) {
        int bit = 0;
        while (bit < 8 && !((m >> bit) & 1)) bit++;
        FIRST_SET[m] = (unsigned char)bit;
    }
    const char *seps = " \t\n\r\x0b\x0c!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    for (int c = 0; c < 256; c++) {
        SEPARATOR[c] = 0;
        LOWER[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        SAME[c] = (unsigned char)c;
    }
    for (const char *p = seps; *p; p++) SEPARATOR[(unsigned char)*p] = 1;
    for (const char *p = ".,:;!?<"; *p; p++) CLAUSE_END[(unsigned char)*p] = 1;
}

/* ---- hashing --------------------------------------------------------------- */

/* The unigram hash is mix(t ^ CHAIN_SEED): mix(0) = 0, so without the seed a token whose CRC-32 is 0
 * (or an empty term) would make "x y" hash like "y". */
#define CHAIN_SEED 0x9E3779B97F4A7C15ULL

/* splitmix64's finalizer: the n-gram mixer (crc32-mix64-v1). */
static inline uint64_t splitmix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* The hash chain: a one-token sequence hashes to chain_start(its CRC-32), a sequence one token longer to
 * chain_next(its prefix's hash, the next token's CRC-32). Texts and terms both hash through these two. */
static inline uint64_t chain_start(uint64_t key) { return splitmix64(key ^ CHAIN_SEED); }
static inline uint64_t chain_next(uint64_t hash, uint64_t key) { return splitmix64(hash ^ key); }

/* Four bytes, mapped by `map`, as the little-endian word CRC slicing folds in (any host byte order). */
static inline uint32_t mapped_word(const unsigned char *s, const unsigned char *map) {
    return (uint32_t)map[s[0]] | (uint32_t)map[s[1]] << 8 | (uint32_t)map[s[2]] << 16 | (uint32_t)map[s[3]] << 24;
}

/* zlib.crc32 of the bytes s[0..n), each mapped by `map` (LOWER for text, SAME for terms), continuing from the
 * register c (0xFFFFFFFF: from the start). The mapping is off the CRC's dependency chain; inlined with a
 * constant table, it costs the text path nothing. */
static inline uint32_t crc32_from(uint32_t c, const unsigned char *s, size_t n, const unsigned char *map) {
    for (; n >= 8; s += 8, n -= 8) {
        uint32_t a = c ^ mapped_word(s, map);
        c = CRC[7][a & 0xff] ^ CRC[6][(a >> 8) & 0xff] ^ CRC[5][(a >> 16) & 0xff] ^ CRC[4][a >> 24] ^
            CRC[3][map[s[4]]] ^ CRC[2][map[s[5]]] ^ CRC[1][map[s[6]]] ^ CRC[0][map[s[7]]];
    }
    if (n >= 4) {
        uint32_t a = c ^ mapped_word(s, map);
        c = CRC[3][a & 0xff] ^ CRC[2][(a >> 8) & 0xff] ^ CRC[1][(a >> 16) & 0xff] ^ CRC[0][a >> 24];
        s += 4;
        n -= 4;
    }
    while (n--) c = CRC[0][(c ^ map[*s++]) & 0xff] ^ (c >> 8);
    return ~c;
}

static inline uint32_t crc32_mapped(const unsigned char *s, size_t n, const unsigned char *map) {
    return crc32_from(0xFFFFFFFFu, s, n, map);
}

/* Little-endian uint64 at p, on any host byte order (one load on little-endian hosts). */
static inline uint64_t load_le64(const unsigned char *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
#else
    uint64_t v = 0;
    for (int b = 7; b >= 0; b--) v = v << 8 | p[b];
    return v;
#endif
}

/* ASCII-lowercase the 8 bytes of x at once (LOWER on each byte: only 'A'..'Z' change). */
static inline uint64_t lower8(uint64_t x) {
    const uint64_t low7 = x & 0x7F7F7F7F7F7F7F7FULL;
    const uint64_t from_a = low7 + 0x3F3F3F3F3F3F3F3FULL; /* high bit: the byte's low 7 bits >= 'A' */
    const uint64_t past_z = low7 + 0x2525252525252525ULL; /* high bit: the byte's low 7 bits > 'Z' */
    const uint64_t upper = from_a & ~past_z & ~x & 0x8080808080808080ULL;
    return x | (upper >> 2);
}

/* One slice-by-8 step from the register 0: the CRC register of the 8 bytes of w (little-endian order). */
static inline uint32_t fold8(uint64_t w) {
    return CRC[7][w & 0xff] ^ CRC[6][(w >> 8) & 0xff] ^ CRC[5][(w >> 16) & 0xff] ^ CRC[4][(w >> 24) & 0xff] ^
           CRC[3][(w >> 32) & 0xff] ^ CRC[2][(w >> 40) & 0xff] ^ CRC[1][(w >> 48) & 0xff] ^ CRC[0][w >> 56];
}

/* The register after the lowercased n bytes ending at p + 8 (n = 1..8) from the initial 0xFFFFFFFF, without a
 * loop: the CRC is linear, so it is (the register after n zero bytes) XOR (the register of those bytes from 0),
 * and from 0 leading zero bytes change nothing: the 8 bytes ending there, the ones before the n zeroed, fold
 * in with one slice-by-8 step. */
static inline uint32_t crc_tail(const uint32_t *of_zeros, const unsigned char *p, size_t n) {
    return of_zeros[n] ^ fold8(lower8(load_le64(p)) & (~(uint64_t)0 << (8 * (8 - n))));
}

/* The CRC-32 key of the lowercased token text[start, start + n): zlib.crc32, as crc32_mapped(..., LOWER) gives
 * it (marked: of "~" + the token). Tokens of up to 16 bytes (all but a few) take no branch on their length; the
 * bytes read before the token are in the text and masked off. */
static inline uint32_t key_after(const uint32_t *of_zeros, const unsigned char *text, size_t start, size_t n) {
    size_t end = start + n;
    if (n <= 8 && end >= 8) return ~crc_tail(of_zeros, text + end - 8, n);
    if (n <= 16 && end >= 16) {
        uint32_t c = crc_tail(of_zeros, text + end - 16, n - 8);
        return ~fold8(lower8(load_le64(text + end - 8)) ^ c);
    }
    return crc32_from(of_zeros[0], text + start, n, LOWER);
}

static inline uint32_t token_key(const unsigned char *text, size_t start, size_t n) {
    return key_after(CRC_OF_ZEROS, text, start, n);
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#define PREFETCH_WRITE(p) __builtin_prefetch((p), 1)
#else
#define PREFETCH(p) ((void)0)
#define PREFETCH_WRITE(p) ((void)0)
#endif

/* ---- the fingerprint table --------------------------------------------------- */

/* One slot: a fingerprint and its feature id + 1 (0: the slot is empty, so any 64-bit value, 0 included, can
 * be a fingerprint). Key and id share one 16-byte slot: a probe touches one cache line. */
typedef struct {
    uint64_t key;
    uint32_t id1;
    uint32_t unused;
} Slot;

/* Per-call buffers of the hot path, reused across calls by whoever owns them. */
typedef struct {
    int32_t *found;     /* feature ids found, then sorted and unique in place */
    int32_t *spare;     /* radix sort buffer */
    size_t cap_found;
    uint64_t *marks;    /* the dedupe bitmap, level 0: one bit per feature id; all zero between calls */
    uint64_t *summary;  /* level 1: one bit per level-0 word that has a bit set; all zero between calls */
} Scratch;

/* A Fingerprints table: built once (build_table), read-only afterwards. */
typedef struct {
    Slot *slots;      /* capacity 1 << (64 - shift) */
    size_t slots_bytes;
    uint64_t *filter; /* one bit per value of a hash's low bits, set for each fingerprint: most n-grams that are
                       * not terms stop here, in a bit array small enough for the L2 cache */
    uint64_t filter_mask;
    size_t mask;
    int shift;
} Table;

typedef struct {
    PyObject_HEAD
    int ngram_max;
    Py_ssize_t size;   /* feature count: the padding id */
    uint64_t buckets;  /* a Hasher: the bucket count (= size); 0: a Fingerprints table */
    Table table;       /* a Fingerprints table (slots NULL for a Hasher) */
    int building;      /* Fingerprints.__init__ is building the table (without the GIL) */
    int negation;      /* mark negated tokens (tokenizer ascii-split-neg-v1) */
    Scratch scratch;   /* reused by the calls that hold the GIL throughout (one at a time); others bring their own.
                        * Single-phase init, so free-threaded builds keep the GIL on for this module. */
} Kernel;

/* The first slot of hash h: its top bits (the hash is uniform, so no further mixing). */
static inline size_t home_slot(const Table *t, uint64_t h) { return (size_t)(h >> t->shift); }

static inline int filter_has(const Table *t, uint64_t h) {
    uint64_t bit = h & t->filter_mask;
    return (int)((t->filter[bit >> 6] >> (bit & 63)) & 1);
}

/* The feature id of hash h, or -1. */
static inline int32_t probe(const Table *t, uint64_t h) {
    size_t i = home_slot(t, h);
    for (;;) {
        const Slot *slot = &t->slots[i];
        if (!slot->id1) return -1;
        if (slot->key == h) return (int32_t)(slot->id1 - 1);
        i = (i + 1) & t->mask;
    }
}

/* Zeroed memory for the table; big tables ask for huge pages (fewer page faults to build, fewer TLB misses to
 * probe). Returns NULL without memory. */
static Slot *alloc_slots(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= ((size_t)2 << 20)) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return NULL;
        madvise(p, bytes, MADV_HUGEPAGE); /* advice only: fine if refused */
        return (Slot *)p;
    }
#endif
    return calloc(bytes / sizeof(Slot), sizeof(Slot));
}

static void free_slots(Slot *slots, size_t bytes) {
    if (!slots) return;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= ((size_t)2 << 20)) {
        munmap(slots, bytes);
        return;
    }
#endif
    free(slots);
}

static void table_free(Table *t) {
    free_slots(t->slots, t->slots_bytes);
    free(t->filter);
    memset(t, 0, sizeof(*t));
}

/* Hash and prefetch in blocks: a block's cache misses overlap instead of queueing one after another. */
#define BLOCK 64

/* Fill the table with n little-endian fingerprints (feature id = position). 0 done, -1 MemoryError, 1 a
 * fingerprint repeats. */
static int build_table(Table *t, const unsigned char *data, size_t n) {
    int bits = 4;
    while (((size_t)1 << bits) * 2 < n * SLOTS_PER_TERM_X2) bits++;
    size_t cap = (size_t)1 << bits;
    if (bits >= 8 * (int)sizeof(size_t) - 5 || cap > SIZE_MAX / sizeof(Slot)) return -1;
    t->slots_bytes = cap * sizeof(Slot);
    t->slots = alloc_slots(t->slots_bytes);
    if (!t->slots) return -1;
    t->mask = cap - 1;
    t->shift = 64 - bits;
    t->filter_mask = ((uint64_t)cap << FILTER_BITS_PER_SLOT_LOG2) - 1;
    t->filter = calloc((size_t)((t->filter_mask >> 6) + 1), sizeof(uint64_t));
    if (!t->filter) return -1;
    uint64_t keys[BLOCK];
    for (size_t base = 0; base < n; base += BLOCK) {
        size_t m = n - base < BLOCK ? n - base : BLOCK;
        for (size_t b = 0; b < m; b++) {
            keys[b] = load_le64(data + 8 * (base + b));
            PREFETCH_WRITE(&t->slots[home_slot(t, keys[b])]);
        }
        for (size_t b = 0; b < m; b++) {
            size_t i = home_slot(t, keys[b]);
            while (t->slots[i].id1) {
                if (t->slots[i].key == keys[b]) return 1;
                i = (i + 1) & t->mask;
            }
            t->slots[i].key = keys[b];
            t->slots[i].id1 = (uint32_t)(base + b + 1);
            t->filter[(keys[b] & t->filter_mask) >> 6] |= (uint64_t)1 << (keys[b] & 63);
        }
    }
    return 0;
}

/* ---- the hot path (no Python objects touched: runs without the GIL) ---------- */

static void scratch_free(Scratch *s) {
    free(s->found);
    free(s->spare);
    free(s->marks);
    free(s->summary);
    memset(s, 0, sizeof(*s));
}

static int scratch_reserve(Scratch *s, size_t tokens, int ngram_max) {
    if (tokens < 16) tokens = 16;
    size_t found = tokens * (size_t)ngram_max;
    if (found > s->cap_found) {
        int32_t *f = realloc(s->found, found * sizeof(int32_t));
        if (!f) return -1;
        s->found = f;
        int32_t *sp = realloc(s->spare, found * sizeof(int32_t));
        if (!sp) return -1;
        s->spare = sp;
        s->cap_found = found;
    }
    return 0;
}

/* The lowest set bit of x != 0. */
static inline int lowest_bit(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int bit = 0;
    while (!(x & 0xff)) {
        x >>= 8;
        bit += 8;
    }
    return bit + FIRST_SET[x & 0xff];
#endif
}

/* Sort ids in [0, size) in place (LSD radix, 6 to 11 bits a pass: no wider than n/2 counters, which
 * costs more to clear and sum than a pass over the n ids) and drop repeats. */
static size_t radix_unique(int32_t *a, int32_t *spare, size_t n, Py_ssize_t size) {
    if (n < 2) return n;
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            int32_t v = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1] > v) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
    } else {
        int bits = 1, widest = 1;
        while (bits < 31 && ((uint64_t)1 << bits) < (uint64_t)size) bits++;
        while (widest < 11 && ((size_t)1 << (widest + 1)) <= n) widest++; /* about n/2 counters a pass */
        if (widest < 6) widest = 6;
        int passes = (bits + widest - 1) / widest;
        int digit = (bits + passes - 1) / passes;
        uint32_t mask = ((uint32_t)1 << digit) - 1;
        uint32_t count[2049];
        int32_t *src = a, *dst = spare;
        for (int pass = 0; pass < passes; pass++) {
            int shift = pass * digit;
            memset(count, 0, sizeof(uint32_t) * (mask + 2));
            for (size_t i = 0; i < n; i++) count[(((uint32_t)src[i] >> shift) & mask) + 1]++;
            for (uint32_t b = 0; b <= mask; b++) count[b + 1] += count[b];
            for (size_t i = 0; i < n; i++) dst[count[((uint32_t)src[i] >> shift) & mask]++] = src[i];
            int32_t *t = src;
            src = dst;
            dst = t;
        }
        if (src != a) memcpy(a, src, n * sizeof(int32_t));
    }
    size_t out = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[out - 1]) a[out++] = a[i];
    return out;
}

/* Vocabularies up to this many features dedupe through a bitmap (level 0 at most 128 KB: random bit sets stay in
 * L1/L2); bigger ones (hashed models with up to 2**28 buckets) sort, which measured faster from 2**21 features
 * on (Hasher, 3,000 reviews: bitmap/radix 0.86 at 200,000 and 0.86 at 2**19, 1.00 at 2**20, 1.17 at 2**21, 1.36
 * at 2**22). */
#ifndef BITMAP_MAX_FEATURES
#define BITMAP_MAX_FEATURES ((Py_ssize_t)1 << 20)
#endif
#define SMALL_SORT 32 /* up to this many ids, insertion sort (radix_unique) beats any bitmap */

static inline size_t words_for(size_t bits) { return (bits + 63) / 64; }

/* Sorted unique ids without sorting: set each id's bit (and its word's bit one level up), then read the bits
 * back in increasing order through the level-1 words, clearing as it goes, so the bitmap is all zero again.
 * The level-1 walk costs size/4096 word reads, so it is only used where that is small next to n. */
static size_t bitmap_unique(int32_t *a, size_t n, uint64_t *marks, uint64_t *summary, Py_ssize_t size) {
    for (size_t i = 0; i < n; i++) {
        uint32_t id = (uint32_t)a[i];
        marks[id >> 6] |= (uint64_t)1 << (id & 63);
        summary[id >> 12] |= (uint64_t)1 << ((id >> 6) & 63);
    }
    size_t out = 0, top = words_for(words_for((size_t)size));
    for (size_t w1 = 0; w1 < top; w1++) {
        uint64_t words = summary[w1];
        if (!words) continue;
        summary[w1] = 0;
        do {
            size_t w0 = w1 * 64 + (size_t)lowest_bit(words);
            words &= words - 1;
            uint64_t bits = marks[w0];
            marks[w0] = 0;
            int32_t base = (int32_t)(w0 * 64);
            do {
                a[out++] = base + lowest_bit(bits);
                bits &= bits - 1;
            } while (bits);
        } while (words);
    }
    return out;
}

/* Sort the n ids of s->found in place and drop repeats: through the bitmap where it pays, else radix. */
static size_t sort_unique(Scratch *s, size_t n, Py_ssize_t size) {
    if (n > SMALL_SORT && size <= BITMAP_MAX_FEATURES && words_for(words_for((size_t)size)) <= 8 * n) {
        if (!s->marks || !s->summary) { /* first use (or a calloc that failed before: sort until one works) */
            free(s->marks);
            free(s->summary);
            s->marks = calloc(words_for((size_t)size), sizeof(uint64_t));
            s->summary = calloc(words_for(words_for((size_t)size)), sizeof(uint64_t));
        }
        if (s->marks && s->summary) return bitmap_unique(s->found, n, s->marks, s->summary, size);
    }
    return radix_unique(s->found, s->spare, n, size);
}

/* Bit j set: text[j] is a separator (j = 0..7). */
static inline unsigned separator_mask(const unsigned char *text) {
    return (unsigned)SEPARATOR[text[0]] | (unsigned)SEPARATOR[text[1]] << 1 | (unsigned)SEPARATOR[text[2]] << 2 |
           (unsigned)SEPARATOR[text[3]] << 3 | (unsigned)SEPARATOR[text[4]] << 4 | (unsigned)SEPARATOR[text[5]] << 5 |
           (unsigned)SEPARATOR[text[6]] << 6 | (unsigned)SEPARATOR[text[7]] << 7;
}

/* The one tokenizer of this file: separators split, the stop token "br" is skipped. The text is classified
 * 64 bytes at a time into a separator mask and tokens are taken from its bits, so a token's start and end
 * cost no loop whose exit the CPU must guess (byte-at-a-time loops mispredict about twice a token). */
typedef struct {
    const unsigned char *text;
    size_t len;
    size_t base;     /* the current block is text[base, base + 64) */
    uint64_t seps;   /* bit j: text[base + j] is a separator (or past the end) */
    uint64_t starts; /* bits of the tokens of this block not taken yet */
    int before_sep;  /* text[base - 1] is a separator (or base is 0) */
} Tokenizer;

/* Classify the block at tk->base; 0 (and no tokens) past the end of the text. */
static inline int tokenizer_block(Tokenizer *tk) {
    if (tk->base >= tk->len) {
        tk->starts = 0;
        return 0;
    }
    const unsigned char *p = tk->text + tk->base;
    size_t left = tk->len - tk->base;
    uint64_t seps = 0;
    if (left >= 64) {
        for (int g = 0; g < 8; g++) seps |= (uint64_t)separator_mask(p + 8 * g) << (8 * g);
    } else {
        seps = ~(uint64_t)0 << left;
        for (size_t j = 0; j < left; j++) seps |= (uint64_t)SEPARATOR[p[j]] << j;
    }
    tk->seps = seps;
    tk->starts = ~seps & ((seps << 1) | (uint64_t)tk->before_sep);
    tk->before_sep = (int)(seps >> 63);
    return 1;
}

static inline void tokenizer_init(Tokenizer *tk, const unsigned char *text, size_t len) {
    tk->text = text;
    tk->len = len;
    tk->base = 0;
    tk->before_sep = 1;
    tokenizer_block(tk);
}

/* The next token: 1 and its [start, start + n) span, or 0 at the end. */
static inline int next_token(Tokenizer *tk, size_t *start, size_t *n) {
    for (;;) {
        while (!tk->starts) {
            tk->base += 64;
            if (!tokenizer_block(tk)) return 0;
        }
        int bit = lowest_bit(tk->starts);
        tk->starts &= tk->starts - 1;
        size_t first = tk->base + (size_t)bit;
        uint64_t rest = tk->seps >> bit; /* bit 0 is the token's first byte: not a separator */
        size_t end;
        if (rest) {
            end = first + (size_t)lowest_bit(rest);
        } else { /* the token runs into the next blocks: find its end, then classify from the block holding it */
            end = tk->base + 64;
            while (end < tk->len && !SEPARATOR[tk->text[end]]) end++;
            tk->base = (end / 64) * 64;
            tk->before_sep = 0; /* text[base - 1] is part of this token */
            tokenizer_block(tk);
        }
        if (end - first == 2 && LOWER[tk->text[first]] == 'b' && LOWER[tk->text[first + 1]] == 'r') continue;
        *start = first;
        *n = end - first;
        return 1;
    }
}

static size_t count_tokens(const unsigned char *text, size_t len) {
    Tokenizer tk;
    size_t start, n, count = 0;
    tokenizer_init(&tk, text, len);
    while (next_token(&tk, &start, &n)) count++;
    return count;
}

/* Room for every n-gram of the text: the token bound len/2 + 1 for short texts, the exact count for long ones. */
static int reserve_for(Scratch *s, const unsigned char *text, size_t len, int ngram_max) {
    size_t bound = len < (1 << 16) ? len / 2 + 1 : count_tokens(text, len);
    return scratch_reserve(s, bound, ngram_max);
}

/* ---- negation scopes (tokenizer ascii-split-neg-v1) --------------------------------- */

/* The token text[start, start + n) is a negator: one of the words below (ASCII case ignored), the "t" of
 * "n't" (the two bytes before it are "n'"), or a token ending in "n\u2019t" (the typographic apostrophe, UTF-8
 * E2 80 99, is part of tokens). */
static int is_negator(const unsigned char *text, size_t start, size_t n) {
    static const unsigned char typographic_nt[5] = {'n', 0xE2, 0x80, 0x99, 't'};
    if (n >= 5 && LOWER[text[start + n - 1]] == 't' && LOWER[text[start + n - 5]] == 'n' &&
        !memcmp(text + start + n - 4, typographic_nt + 1, 3))
        return 1;
    static const char *const words[] = {"no",  "not", "never", "nothing", "nobody", "none",
                                        "neither", "nor", "cannot", "without"};
    if (n == 1)
        return LOWER[text[start]] == 't' && start >= 2 && text[start - 1] == '\'' && LOWER[text[start - 2]] == 'n';
    const unsigned char first = LOWER[text[start]];
    if (n > 7 || (first != 'n' && first != 'c' && first != 'w')) return 0; /* most tokens stop here */
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        const char *word = words[w];
        size_t k = 0;
        while (k < n && word[k] && LOWER[text[start + k]] == (unsigned char)word[k]) k++;
        if (k == n && !word[k]) return 1;
    }
    return 0;
}

/* Where a text is in a negation: the end of the last token, and whether its clause has had a negator. */
typedef struct {
    size_t previous_end;
    int negated;
} Scope;

/* Whether the token text[start, start + n) is marked, and the scope after it: a clause end between the last
 * token and this one closes the scope; a negator opens it for the tokens after it. */
static inline int scope_marks(Scope *scope, const unsigned char *text, size_t start, size_t n) {
    if (scope->negated)
        for (size_t i = scope->previous_end; i < start; i++)
            if (CLAUSE_END[text[i]]) {
                scope->negated = 0;
                break;
            }
    scope->previous_end = start + n;
    int marked = scope->negated;
    if (is_negator(text, start, n)) scope->negated = 1;
    return marked;
}

/* The key of a token: its CRC-32, or with negation marking, the CRC-32 of "~" + the token. */
static inline uint32_t scoped_key(Scope *scope, int negation, const unsigned char *text, size_t start, size_t n) {
    if (negation && scope_marks(scope, text, start, n)) return key_after(MARKED_OF_ZEROS, text, start, n);
    return token_key(text, start, n);
}

/* Probe a block of hashes (their slots prefetched) and append the ids found. */
static inline int32_t *probe_block(const Table *t, const uint64_t *hashes, int count, int32_t *found) {
    for (int b = 0; b < count; b++) {
        int32_t id = probe(t, hashes[b]);
        if (id >= 0) *found++ = id;
    }
    return found;
}

/* The ids of one UTF-8 text into s->found; returns how many (sorted, unique), or -1 without memory. One pass
 * over the tokens: at each token t, the hash of the k-gram ending there is mix(hash of the (k-1)-gram ending at
 * the token before XOR t); a Hasher buckets it at once, a Fingerprints table prefetches its slot and probes
 * it with the rest of its block if the filter lets it through. The prefetch does not wait for the filter (a
 * prefetch of only what passes measured 1.24x slower), and the filter takes no branch (about 58% pass, so a
 * branch mispredicts often; without one the ids take 0.81x the time; both with benchmarks/vectorizer_ab.py). */
static Py_ssize_t text_ids(const Kernel *k, Scratch *s, const unsigned char *text, size_t len) {
    if (reserve_for(s, text, len, k->ngram_max) < 0) return -1;
    uint64_t ending[MAX_NGRAM] = {0}; /* ending[j]: hash of the (j+1)-gram ending at the last token */
    uint64_t pending[BLOCK + MAX_NGRAM];
    int waiting = 0;
    const uint64_t buckets = k->buckets;
    const Table table = k->table, *t = &table; /* a copy: the stores below cannot alias its fields */
    const int ngram_max = k->ngram_max;
    int32_t *found = s->found;
    int levels = 0; /* n-gram lengths ending at the current token: min(tokens so far, ngram_max) */
    const int negation = k->negation;
    Scope scope = {0, 0};
    Tokenizer tk;
    size_t start, n;
    tokenizer_init(&tk, text, len);
    while (next_token(&tk, &start, &n)) {
        uint64_t key = scoped_key(&scope, negation, text, start, n);
        if (levels < ngram_max) levels++;
        for (int j = levels - 1; j > 0; j--) ending[j] = chain_next(ending[j - 1], key);
        ending[0] = chain_start(key);
        if (buckets) {
            for (int j = 0; j < levels; j++) *found++ = (int32_t)(((ending[j] >> 32) * buckets) >> 32);
            continue;
        }
        for (int j = 0; j < levels; j++) { /* no branch on the filter: ~58% pass, no guess would be right */
            PREFETCH(&t->slots[home_slot(t, ending[j])]);
            pending[waiting] = ending[j];
            waiting += filter_has(t, ending[j]);
        }
        if (waiting >= BLOCK) {
            found = probe_block(t, pending, waiting, found);
            waiting = 0;
        }
    }
    found = probe_block(t, pending, waiting, found);
    return (Py_ssize_t)sort_unique(s, (size_t)(found - s->found), k->size);
}

/* ---- text access under the GIL ---------------------------------------------- */

/* UTF-8 bytes of `text` as `.encode("utf-8", "surrogatepass")` gives them. ASCII
 * strings are used in place (*owner = NULL); others get a new bytes object. */
static int text_bytes(PyObject *text, const unsigned char **data, Py_ssize_t *len, PyObject **owner) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "expected str, got %.100s", Py_TYPE(text)->tp_name);
        return -1;
    }
    if (PyUnicode_IS_COMPACT_ASCII(text)) {
        *data = (const unsigned char *)PyUnicode_DATA(text);
        *len = PyUnicode_GET_LENGTH(text);
        *owner = NULL;
        return 0;
    }
    PyObject *encoded = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
    if (!encoded) return -1;
    *data = (const unsigned char *)PyBytes_AS_STRING(encoded);
    *len = PyBytes_GET_SIZE(encoded);
    *owner = encoded;
    return 0;
}

/* ---- Python methods ---------------------------------------------------------- */

static void Kernel_dealloc(Kernel *self) {
    scratch_free(&self->scratch);
    table_free(&self->table);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int already_initialized(const Kernel *self) {
    if (!self->table.slots && !self->buckets) return 0;
    PyErr_Format(PyExc_RuntimeError, "%s is already initialized", Py_TYPE(self)->tp_name);
    return 1;
}

/* 0 with a RuntimeError where __init__ never ran (nothing to read). */
static int ready(const Kernel *self) {
    if (self->table.slots || self->buckets) return 1;
    PyErr_Format(PyExc_RuntimeError, "%s is not initialized", Py_TYPE(self)->tp_name);
    return 0;
}

/* An int argument within [low, high], or a ValueError that names it. */
static int int_in_range(PyObject *value, const char *name, long long low, long long high, long long *out) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow || v < low || v > high) {
        PyErr_Format(PyExc_ValueError, "%s must be between %lld and %lld, got %R", name, low, high, value);
        return -1;
    }
    *out = v;
    return 0;
}

/* Hasher(buckets: int, ngram_max: int): feature id = hashed n-gram bucket in [0, buckets). */
static int Hasher_init(Kernel *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"buckets", "ngram_max", "negation", NULL};
    PyObject *buckets, *ngram_max;
    long long b, n;
    int negation = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!|$p", kwlist, &PyLong_Type, &buckets, &PyLong_Type,
                                     &ngram_max, &negation))
        return -1;
    if (int_in_range(buckets, "buckets", 1, MAX_HASH_BUCKETS, &b) < 0) return -1;
    if (int_in_range(ngram_max, "ngram_max", 1, MAX_NGRAM, &n) < 0) return -1;
    if (already_initialized(self)) return -1;
    self->buckets = (uint64_t)b;
    self->size = (Py_ssize_t)b;
    self->ngram_max = (int)n;
    self->negation = negation;
    return 0;
}

/* Fingerprints(fingerprint_bytes: bytes, ngram_max: int): feature id i is the n-gram whose hash is fingerprint i
 * (fingerprint_bytes: little-endian uint64, in feature-id order). */
static int Fingerprints_init(Kernel *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"fingerprint_bytes", "ngram_max", "negation", NULL};
    Py_buffer view;
    PyObject *ngram_max;
    long long n;
    int negation = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*O!|$p", kwlist, &view, &PyLong_Type, &ngram_max, &negation))
        return -1;
    int rc = -1;
    if (int_in_range(ngram_max, "ngram_max", 1, MAX_NGRAM, &n) < 0) goto done;
    if (view.len % 8) {
        PyErr_Format(PyExc_ValueError, "fingerprint_bytes must be 8-byte fingerprints, got %zd bytes", view.len);
        goto done;
    }
    Py_ssize_t terms = view.len / 8;
    if (terms < 1 || terms > MAX_TERMS) {
        PyErr_Format(PyExc_ValueError, "fingerprint_bytes must hold between 1 and %d fingerprints, got %zd",
                     MAX_TERMS, terms);
        goto done;
    }
    if (already_initialized(self)) goto done;
    if (self->building) {
        PyErr_Format(PyExc_RuntimeError, "%s is being initialized by another thread", Py_TYPE(self)->tp_name);
        goto done;
    }
    /* Built without the GIL (the caller can create the onnxruntime session meanwhile) into a table of its own:
     * no other thread sees a half-built one; `view` keeps the fingerprints alive. */
    Table table;
    memset(&table, 0, sizeof(table));
    int built;
    self->building = 1;
    Py_BEGIN_ALLOW_THREADS
    built = build_table(&table, (const unsigned char *)view.buf, (size_t)terms);
    Py_END_ALLOW_THREADS
    self->building = 0;
    if (!built) {
        self->table = table;
    } else {
        table_free(&table);
        if (built < 0)
            PyErr_NoMemory();
        else
            PyErr_SetString(PyExc_ValueError, "the vocabulary has two terms with the same fingerprint");
        goto done;
    }
    self->size = terms;
    self->ngram_max = (int)n;
    self->negation = negation;
    rc = 0;
done:
    PyBuffer_Release(&view);
    return rc;
}

/* Texts shorter than this are done holding the GIL (releasing it would cost more than it gives), with the
 * kernel's own scratch. */
#define SHORT_TEXT 4096

static PyObject *ids_bytearray(const int32_t *ids, size_t n) {
    PyObject *out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(n * sizeof(int64_t)));
    if (!out) return NULL;
    int64_t *dst = (int64_t *)PyByteArray_AS_STRING(out);
    for (size_t i = 0; i < n; i++) dst[i] = ids[i];
    return out;
}

/* ids(text) -> bytearray of int64: the sorted unique feature ids of one text. */
static PyObject *Kernel_ids(Kernel *self, PyObject *text) {
    if (!ready(self)) return NULL;
    const unsigned char *data;
    Py_ssize_t len;
    PyObject *owner;
    if (text_bytes(text, &data, &len, &owner) < 0) return NULL;
    if (len < SHORT_TEXT) {
        Py_ssize_t count = text_ids(self, &self->scratch, data, (size_t)len);
        Py_XDECREF(owner);
        return count < 0 ? PyErr_NoMemory() : ids_bytearray(self->scratch.found, (size_t)count);
    }
    Scratch s = {0};
    Py_ssize_t count;
    Py_BEGIN_ALLOW_THREADS
    count = text_ids(self, &s, data, (size_t)len);
    Py_END_ALLOW_THREADS
    Py_XDECREF(owner);
    PyObject *out = count < 0 ? PyErr_NoMemory() : ids_bytearray(s.found, (size_t)count);
    scratch_free(&s);
    return out;
}

typedef struct {
    const unsigned char **data;
    Py_ssize_t *len;
    PyObject **owners;
    Py_ssize_t n;
} Batch;

static void batch_free(Batch *b) {
    if (b->owners)
        for (Py_ssize_t i = 0; i < b->n; i++) Py_XDECREF(b->owners[i]);
    free(b->data);
    free(b->len);
    free(b->owners);
}

static int batch_collect(PyObject *texts, Batch *b) {
    memset(b, 0, sizeof(*b));
    PyObject *seq = PySequence_Fast(texts, "expected a sequence of str");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    b->data = malloc(sizeof(*b->data) * (size_t)(n + 1));
    b->len = malloc(sizeof(*b->len) * (size_t)(n + 1));
    b->owners = calloc((size_t)(n + 1), sizeof(*b->owners));
    if (!b->data || !b->len || !b->owners) {
        Py_DECREF(seq);
        batch_free(b);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (text_bytes(PySequence_Fast_GET_ITEM(seq, i), &b->data[i], &b->len[i], &b->owners[i]) < 0) {
            b->n = i;
            Py_DECREF(seq);
            batch_free(b);
            return -1;
        }
        b->n = i + 1;
    }
    /* ASCII texts are used in place: keep them alive through the sequence. */
    for (Py_ssize_t i = 0; i < n; i++)
        if (!b->owners[i]) {
            b->owners[i] = PySequence_Fast_GET_ITEM(seq, i);
            Py_INCREF(b->owners[i]);
        }
    Py_DECREF(seq);
    return 0;
}

/* All rows of a batch, flat, with offsets (n + 1 of them). No GIL needed. */
static int batch_rows(const Kernel *lk, const Batch *b, int64_t **flat_out, int64_t *offsets) {
    Scratch s = {0};
    size_t cap = 1024, used = 0;
    int64_t *flat = malloc(cap * sizeof(int64_t));
    if (!flat) return -1;
    offsets[0] = 0;
    for (Py_ssize_t i = 0; i < b->n; i++) {
        Py_ssize_t found = text_ids(lk, &s, b->data[i], (size_t)b->len[i]);
        if (found < 0) goto fail;
        size_t count = (size_t)found;
        if (used + count > cap) {
            while (used + count > cap) cap *= 2;
            int64_t *grown = realloc(flat, cap * sizeof(int64_t));
            if (!grown) goto fail;
            flat = grown;
        }
        for (size_t k = 0; k < count; k++) flat[used + k] = s.found[k];
        used += count;
        offsets[i + 1] = (int64_t)used;
    }
    scratch_free(&s);
    *flat_out = flat;
    return 0;
fail:
    scratch_free(&s);
    free(flat);
    return -1;
}

/* ragged(texts) -> (ids, offsets) bytearrays of int64; text i owns ids[offsets[i]:offsets[i+1]]. */
static PyObject *Kernel_ragged(Kernel *self, PyObject *texts) {
    if (!ready(self)) return NULL;
    Batch b;
    if (batch_collect(texts, &b) < 0) return NULL;
    PyObject *offsets = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)((size_t)(b.n + 1) * sizeof(int64_t)));
    if (!offsets) {
        batch_free(&b);
        return NULL;
    }
    int64_t *off = (int64_t *)PyByteArray_AS_STRING(offsets);
    int64_t *flat = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = batch_rows(self, &b, &flat, off);
    Py_END_ALLOW_THREADS
    batch_free(&b);
    if (rc < 0) {
        Py_DECREF(offsets);
        return PyErr_NoMemory();
    }
    PyObject *ids = PyByteArray_FromStringAndSize((const char *)flat, (Py_ssize_t)(off[b.n] * (int64_t)sizeof(int64_t)));
    free(flat);
    if (!ids) {
        Py_DECREF(offsets);
        return NULL;
    }
    return Py_BuildValue("(NN)", ids, offsets);
}

/* (rows, width), or (rows, width, lengths) when lengths is not NULL, stealing the references to rows and
 * lengths; built directly (no format string: this is per review). */
static PyObject *rows_and_width(PyObject *rows, Py_ssize_t width, PyObject *lengths) {
    PyObject *w = PyLong_FromSsize_t(width);
    PyObject *pair = w ? PyTuple_New(lengths ? 3 : 2) : NULL;
    if (!pair) {
        Py_DECREF(rows);
        Py_XDECREF(lengths);
        Py_XDECREF(w);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, rows);
    PyTuple_SET_ITEM(pair, 1, w);
    if (lengths) PyTuple_SET_ITEM(pair, 2, lengths);
    return pair;
}

/* A bytearray of n int64 row lengths (offsets[i + 1] - offsets[i]); NULL with an exception on error. */
static PyObject *row_lengths(const int64_t *offsets, Py_ssize_t n) {
    PyObject *lengths = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(sizeof(int64_t) * (size_t)n));
    if (!lengths) return NULL;
    int64_t *out = (int64_t *)PyByteArray_AS_STRING(lengths);
    for (Py_ssize_t i = 0; i < n; i++) out[i] = offsets[i + 1] - offsets[i];
    return lengths;
}

/* padded([text], min_length) of one short text, holding the GIL with the kernel's scratch: the ids go
 * straight into the result. None (new reference) for a long text, NULL with an exception on error. */
static PyObject *padded_one(Kernel *self, PyObject *text, Py_ssize_t min_length, int with_lengths) {
    const unsigned char *data;
    Py_ssize_t len;
    PyObject *owner;
    if (text_bytes(text, &data, &len, &owner) < 0) return NULL;
    if (len >= SHORT_TEXT) {
        Py_XDECREF(owner);
        Py_RETURN_NONE;
    }
    Py_ssize_t count = text_ids(self, &self->scratch, data, (size_t)len);
    Py_XDECREF(owner);
    if (count < 0) return PyErr_NoMemory();
    Py_ssize_t width = count > min_length ? count : min_length;
    if (width > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(int64_t)) return PyErr_NoMemory();
    PyObject *row = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(sizeof(int64_t) * (size_t)width));
    if (!row) return NULL;
    int64_t *out = (int64_t *)PyByteArray_AS_STRING(row);
    const int32_t *found = self->scratch.found;
    for (Py_ssize_t i = 0; i < count; i++) out[i] = found[i];
    for (Py_ssize_t i = count; i < width; i++) out[i] = (int64_t)self->size;
    PyObject *lengths = NULL;
    if (with_lengths) {
        int64_t offsets[2] = {0, (int64_t)count};
        lengths = row_lengths(offsets, 1);
        if (!lengths) {
            Py_DECREF(row);
            return NULL;
        }
    }
    return rows_and_width(row, width, lengths);
}

/* padded(texts, min_length, lengths=0) -> (bytearray of int64 (n, width), width); pad id = vocabulary
 * size. With lengths true, also a bytearray of each row's id count before padding (the terms the model
 * knows), as n int64: counting them again in numpy cost more than a short text's whole vectorizing.
 * The rows are computed without the GIL, then written once, straight into the result. */
static PyObject *Kernel_padded(Kernel *self, PyObject *args) {
    if (!ready(self)) return NULL;
    PyObject *texts;
    Py_ssize_t min_length = 1;
    int with_lengths = 0;
    if (!PyArg_ParseTuple(args, "O|np", &texts, &min_length, &with_lengths)) return NULL;
    if ((PyList_CheckExact(texts) || PyTuple_CheckExact(texts)) && Py_SIZE(texts) == 1) {
        PyObject *one = PyList_CheckExact(texts) ? PyList_GET_ITEM(texts, 0) : PyTuple_GET_ITEM(texts, 0);
        PyObject *row = padded_one(self, one, min_length, with_lengths);
        if (row != Py_None) return row;
        Py_DECREF(row); /* a long text: the batch path below releases the GIL */
    }
    Batch b;
    if (batch_collect(texts, &b) < 0) return NULL;
    int64_t *offsets = malloc(sizeof(int64_t) * (size_t)(b.n + 1));
    if (!offsets) {
        batch_free(&b);
        return PyErr_NoMemory();
    }
    int64_t *flat = NULL;
    Py_ssize_t width = min_length > 0 ? min_length : 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = batch_rows(self, &b, &flat, offsets);
    Py_END_ALLOW_THREADS
    Py_ssize_t n = b.n;
    batch_free(&b);
    PyObject *data = NULL;
    if (rc < 0) {
        PyErr_NoMemory();
    } else {
        for (Py_ssize_t i = 0; i < n; i++)
            if (offsets[i + 1] - offsets[i] > width) width = (Py_ssize_t)(offsets[i + 1] - offsets[i]);
        if (n && width > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(int64_t) / n)
            PyErr_NoMemory(); /* a min_length no memory could hold */
        else
            data = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(sizeof(int64_t) * (size_t)(n * width)));
    }
    if (data) {
        int64_t *out = (int64_t *)PyByteArray_AS_STRING(data);
        int64_t pad = (int64_t)self->size;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t *row = out + i * width;
            Py_ssize_t count = (Py_ssize_t)(offsets[i + 1] - offsets[i]);
            memcpy(row, flat + offsets[i], sizeof(int64_t) * (size_t)count);
            for (Py_ssize_t k = count; k < width; k++) row[k] = pad;
        }
        Py_END_ALLOW_THREADS
    }
    PyObject *lengths = NULL;
    if (data && with_lengths) {
        lengths = row_lengths(offsets, n);
        if (!lengths) Py_CLEAR(data);
    }
    free(offsets);
    free(flat);
    if (!data) return NULL;
    return rows_and_width(data, width, lengths);
}

/* tokens(text) -> list[bytes]: the token sequence, for tests against the definition. */
static PyObject *Kernel_tokens(Kernel *self, PyObject *text) {
    const unsigned char *data;
    Py_ssize_t len;
    PyObject *owner;
    if (text_bytes(text, &data, &len, &owner) < 0) return NULL;
    PyObject *out = PyList_New(0);
    Scope scope = {0, 0};
    Tokenizer tk;
    size_t start, n;
    tokenizer_init(&tk, data, (size_t)len);
    while (out && next_token(&tk, &start, &n)) {
        size_t mark = self->negation && scope_marks(&scope, data, start, n);
        PyObject *token = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(mark + n));
        if (!token) {
            Py_CLEAR(out);
            break;
        }
        unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(token);
        if (mark) *dst++ = '~';
        for (size_t k = 0; k < n; k++) dst[k] = LOWER[data[start + k]];
        if (PyList_Append(out, token) < 0) Py_CLEAR(out);
        Py_DECREF(token);
    }
    Py_XDECREF(owner);
    return out;
}

static PyMethodDef Kernel_methods[] = {
    {"ids", (PyCFunction)Kernel_ids, METH_O, "ids(text) -> bytearray of int64 feature ids (sorted, unique)"},
    {"ragged", (PyCFunction)Kernel_ragged, METH_O, "ragged(texts) -> (ids, offsets) as int64 bytearrays"},
    {"padded", (PyCFunction)Kernel_padded, METH_VARARGS,
     "padded(texts, min_length=1, lengths=False) -> (int64 bytearray, width[, int64 bytearray of row lengths])"},
    {"tokens", (PyCFunction)Kernel_tokens, METH_O, "tokens(text) -> list of token bytes"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject HasherType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "imdb_edge.runtime._fastvec.Hasher",
    .tp_basicsize = sizeof(Kernel),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Hasher(buckets, ngram_max, *, negation=False): feature ids of hashed n-gram buckets "
              "(crc32-mix64-v1).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Hasher_init,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_methods = Kernel_methods,
};

static PyTypeObject FingerprintsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "imdb_edge.runtime._fastvec.Fingerprints",
    .tp_basicsize = sizeof(Kernel),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Fingerprints(fingerprint_bytes, ngram_max, *, negation=False): feature ids of a vocabulary given "
              "as its terms' 64-bit fingerprints (little-endian, feature-id order); built once, read-only "
              "afterwards.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Fingerprints_init,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_methods = Kernel_methods,
};

/* term_fingerprints(blob): the fingerprint of each term of blob (terms joined by '\n', tokens by ' '),
 * as little-endian uint64 bytes: the hash chain a text's n-gram of those tokens gets. */
static PyObject *term_fingerprints(PyObject *module, PyObject *arg) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *p = view.buf, *end = p + view.len;
    Py_ssize_t terms = 1;
    for (const unsigned char *q = p; q < end; q++) terms += *q == '\n';
    PyObject *out = PyBytes_FromStringAndSize(NULL, terms * 8);
    if (!out) {
        PyBuffer_Release(&view);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    uint64_t h = 0;
    int first = 1;
    const unsigned char *token = p;
    for (const unsigned char *q = p;; q++) {
        if (q == end || *q == ' ' || *q == '\n') {
            uint64_t key = crc32_mapped(token, (size_t)(q - token), SAME);
            h = first ? chain_start(key) : chain_next(h, key);
            first = 0;
            token = q + 1;
            if (q == end || *q == '\n') {
                for (int b = 0; b < 8; b++) *dst++ = (unsigned char)(h >> (8 * b));
                first = 1;
            }
            if (q == end) break;
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return out;
}

static PyMethodDef module_methods[] = {
    {"term_fingerprints", term_fingerprints, METH_O,
     "term_fingerprints(blob): fingerprints (little-endian uint64 bytes) of the terms of blob, joined by newlines."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastvec_module = {
    PyModuleDef_HEAD_INIT, "_fastvec", "Native hot path of imdb_edge.runtime.vectorizer.", -1, module_methods,
};

static int add_type(PyObject *m, const char *name, PyTypeObject *type) {
    if (PyType_Ready(type) < 0) return -1;
    Py_INCREF(type);
    if (PyModule_AddObject(m, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__fastvec(void) {
    init_tables();
    PyObject *m = PyModule_Create(&fastvec_module);
    if (!m) return NULL;
    if (add_type(m, "Hasher", &HasherType) < 0 || add_type(m, "Fingerprints", &FingerprintsType) < 0 ||
        PyModule_AddIntConstant(m, "MAX_NGRAM", MAX_NGRAM) < 0 ||
        PyModule_AddIntConstant(m, "MAX_HASH_BUCKETS", MAX_HASH_BUCKETS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
