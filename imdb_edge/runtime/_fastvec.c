/* The vectorizer's hot path in C: text -> sorted unique feature ids.
 *
 * The definition is imdb_edge/runtime/vectorizer.py (tokenizer "ascii-split-v1");
 * this file must give exactly the same ids:
 *   1. the text is encoded as UTF-8 with "surrogatepass" (done under the GIL by
 *      CPython itself, exactly as the Python path does);
 *   2. every ASCII whitespace or punctuation byte separates tokens, ASCII letters
 *      are lowercased, every other byte (including NUL and all bytes >= 0x80) is
 *      part of a token;
 *   3. the token "br" is dropped;
 *   4. word n-grams (n = 1..ngram_max) of the remaining tokens are looked up in the
 *      vocabulary; the found feature ids are returned sorted and unique.
 *
 * A Hasher (hash_buckets models, hash "crc32-mix64-v1") has no vocabulary: step 4
 * becomes "every n-gram is hashed into one of N buckets" (token key = zlib CRC-32 of
 * its bytes; unigram hash mix(t1), n-gram hash mix(hash of its (n-1)-gram prefix XOR
 * t_n), mix = the splitmix64 finalizer; bucket = ((hash >> 32) * N) >> 32). It is a
 * Lookup in every other respect: same tokenizer, sort, batches and GIL release.
 *
 * A Lookup is built once from the vocabulary (two open-addressing hash tables:
 * token bytes -> token index and unigram feature, token-index sequence -> n-gram
 * feature) and is read-only afterwards, so calls are thread-safe and run without
 * the GIL. No numpy C API: results are returned as bytearrays of native int64,
 * which the Python side wraps with numpy.frombuffer (no copy).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NGRAM 5
#define MAX_HASH_BUCKETS (1 << 28) /* vectorizer.MAX_HASH_BUCKETS: ids stay int32 */

/* ASCII whitespace (" \t\n\r\v\f") and punctuation (Python's string.punctuation). */
static unsigned char SEPARATOR[256];
static unsigned char LOWER[256];
/* zlib's CRC-32 (reflected polynomial 0xEDB88320), sliced by 8: CRC[k][b] is the CRC of
 * byte b followed by k zero bytes, so 8 (or 4) bytes are folded in at once. */
static uint32_t CRC[8][256];
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
    for (int m = 0; m < 256; m++) {
        int bit = 0;
        while (bit < 8 && !((m >> bit) & 1)) bit++;
        FIRST_SET[m] = (unsigned char)bit;
    }
    const char *seps = " \t\n\r\x0b\x0c!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    for (int c = 0; c < 256; c++) {
        SEPARATOR[c] = 0;
        LOWER[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    for (const char *p = seps; *p; p++) SEPARATOR[(unsigned char)*p] = 1;
}

/* ---- hashing --------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* splitmix64's finalizer: the n-gram mixer of the hashed buckets (crc32-mix64-v1). */
static inline uint64_t splitmix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Four bytes, lowercased, as the little-endian word CRC slicing folds in (any host byte order). */
static inline uint32_t lower_word(const unsigned char *s) {
    return (uint32_t)LOWER[s[0]] | (uint32_t)LOWER[s[1]] << 8 | (uint32_t)LOWER[s[2]] << 16 |
           (uint32_t)LOWER[s[3]] << 24;
}

/* zlib.crc32 of the lowercased bytes s[0..n). The lowercasing is off the CRC's dependency chain. */
static inline uint32_t crc32_lower(const unsigned char *s, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (; n >= 8; s += 8, n -= 8) {
        uint32_t a = c ^ lower_word(s);
        c = CRC[7][a & 0xff] ^ CRC[6][(a >> 8) & 0xff] ^ CRC[5][(a >> 16) & 0xff] ^ CRC[4][a >> 24] ^
            CRC[3][LOWER[s[4]]] ^ CRC[2][LOWER[s[5]]] ^ CRC[1][LOWER[s[6]]] ^ CRC[0][LOWER[s[7]]];
    }
    if (n >= 4) {
        uint32_t a = c ^ lower_word(s);
        c = CRC[3][a & 0xff] ^ CRC[2][(a >> 8) & 0xff] ^ CRC[1][(a >> 16) & 0xff] ^ CRC[0][a >> 24];
        s += 4;
        n -= 4;
    }
    while (n--) c = CRC[0][(c ^ LOWER[*s++]) & 0xff] ^ (c >> 8);
    return ~c;
}

/* FNV-1a over bytes; `lower` applies the tokenizer's ASCII lowercasing on the fly. */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static inline uint64_t hash_bytes(const unsigned char *s, size_t n, int lower) {
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) h = (h ^ (lower ? LOWER[s[i]] : s[i])) * FNV_PRIME;
    return mix64(h ^ n);
}

/* ---- tables ---------------------------------------------------------------- */

/* An n-gram of token indices t0..t(n-1) is the 128-bit key of the digits t+1 (25 bits
 * each, 0 = no token), so keys of different lengths differ and no key is 0. */
#define DIGIT_BITS 25
#define MAX_TOKENS ((1 << DIGIT_BITS) - 2)

typedef struct {
    uint64_t lo, hi;
} GramKey;

static inline GramKey gram_key(const int32_t *ids, int n) {
    uint64_t d[MAX_NGRAM] = {0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) d[i] = (uint64_t)ids[i] + 1;
    GramKey key = {d[0] | d[1] << 25 | d[2] << 50, d[2] >> 14 | d[3] << 11 | d[4] << 36};
    return key;
}

static inline GramKey bigram_key(const int32_t *ids) {
    GramKey key = {((uint64_t)ids[0] + 1) | ((uint64_t)ids[1] + 1) << 25, 0};
    return key;
}

/* Two multiplies; the final fold brings the product's well-mixed high bits down to the
 * low bits that pick the slot (the filter uses the high half). */
static inline uint64_t hash_key(GramKey key) {
    uint64_t x = key.lo ^ ((key.hi * 0x9e3779b97f4a7c15ULL) << 32 | (key.hi * 0x9e3779b97f4a7c15ULL) >> 32);
    uint64_t h = x * 0xff51afd7ed558ccdULL;
    return h ^ (h >> 29);
}

typedef struct {
    uint32_t check;   /* high bits of the hash */
    uint32_t length;
    uint32_t offset;  /* into the token arena */
    int32_t index;    /* token index, -1: empty slot */
    int32_t feature;  /* feature id of the unigram, -1: none */
} TokenSlot;

typedef struct {
    GramKey key;      /* lo == 0: empty slot */
    int32_t feature;  /* -1: not a term, only the prefix of longer ones */
    int32_t prefix;   /* 1: some longer term starts with this n-gram */
} GramSlot;

typedef struct {
    PyObject_HEAD
    int ngram_max;
    Py_ssize_t size;
    unsigned char *arena;
    size_t arena_used, arena_cap;
    TokenSlot *tokens;
    size_t token_mask;
    int32_t token_count;
    GramSlot *grams;
    size_t gram_mask;
    uint64_t *filter; /* one bit per hash value of the n-grams: most absent n-grams stop here, in cache */
    size_t filter_mask;
    PyObject *skipped; /* list of the indices of terms that can never be found (not checked for duplicates) */
    uint64_t buckets;  /* a Hasher: the bucket count (= size); 0: a vocabulary Lookup */
} Lookup;

static size_t capacity_for(size_t count) {
    size_t cap = 16;
    while (cap < count * 2) cap <<= 1;
    return cap;
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

static inline const TokenSlot *probe_token(const Lookup *lk, uint64_t h, const unsigned char *s, size_t n, int lower) {
    uint32_t check = (uint32_t)(h >> 32);
    size_t i = (size_t)h & lk->token_mask;
    for (;;) {
        const TokenSlot *slot = &lk->tokens[i];
        if (slot->index < 0) return NULL;
        if (slot->check == check && slot->length == n) {
            const unsigned char *k = lk->arena + slot->offset;
            size_t j = 0;
            if (lower) {
                while (j < n && k[j] == LOWER[s[j]]) j++;
            } else {
                while (j < n && k[j] == s[j]) j++;
            }
            if (j == n) return slot;
        }
        i = (i + 1) & lk->token_mask;
    }
}

static int grow_tokens(Lookup *lk, size_t cap) {
    TokenSlot *grown = malloc(cap * sizeof(TokenSlot));
    if (!grown) return -1;
    for (size_t k = 0; k < cap; k++) grown[k].index = -1;
    if (lk->tokens) {
        for (size_t k = 0; k <= lk->token_mask; k++) {
            const TokenSlot *old = &lk->tokens[k];
            if (old->index < 0) continue;
            uint64_t h = hash_bytes(lk->arena + old->offset, old->length, 0);
            size_t at = (size_t)h & (cap - 1);
            while (grown[at].index >= 0) at = (at + 1) & (cap - 1);
            grown[at] = *old;
        }
        free(lk->tokens);
    }
    lk->tokens = grown;
    lk->token_mask = cap - 1;
    return 0;
}

/* The slot of token `s` (exact bytes), added if new. */
static TokenSlot *add_token(Lookup *lk, const unsigned char *s, size_t n) {
    uint64_t h = hash_bytes(s, n, 0);
    const TokenSlot *found = probe_token(lk, h, s, n, 0);
    if (found) return (TokenSlot *)found;
    if (lk->token_count >= MAX_TOKENS || lk->arena_used + n > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "the vocabulary has too many distinct tokens for the native lookup");
        return NULL;
    }
    if ((size_t)lk->token_count * 2 + 2 > lk->token_mask && grow_tokens(lk, (lk->token_mask + 1) * 2) < 0) {
        PyErr_NoMemory();
        return NULL;
    }
    if (lk->arena_used + n > lk->arena_cap) {
        size_t cap = lk->arena_cap ? lk->arena_cap : 1 << 16;
        while (cap < lk->arena_used + n) cap *= 2;
        unsigned char *grown = realloc(lk->arena, cap);
        if (!grown) {
            PyErr_NoMemory();
            return NULL;
        }
        lk->arena = grown;
        lk->arena_cap = cap;
    }
    memcpy(lk->arena + lk->arena_used, s, n);
    size_t i = (size_t)h & lk->token_mask;
    while (lk->tokens[i].index >= 0) i = (i + 1) & lk->token_mask;
    TokenSlot *slot = &lk->tokens[i];
    slot->check = (uint32_t)(h >> 32);
    slot->offset = (uint32_t)lk->arena_used;
    slot->length = (uint32_t)n;
    slot->index = lk->token_count++;
    slot->feature = -1;
    lk->arena_used += n;
    return slot;
}

static inline int filter_has(const Lookup *lk, uint64_t h) {
    size_t bit = (size_t)(h >> 32) & lk->filter_mask;
    return (int)((lk->filter[bit >> 6] >> (bit & 63)) & 1);
}

static inline const GramSlot *probe_gram(const Lookup *lk, uint64_t h, GramKey key) {
    size_t i = (size_t)h & lk->gram_mask;
    for (;;) {
        const GramSlot *slot = &lk->grams[i];
        if (slot->key.lo == 0) return NULL;
        if (slot->key.lo == key.lo && slot->key.hi == key.hi) return slot;
        i = (i + 1) & lk->gram_mask;
    }
}

/* The token indices of an n-gram key (the inverse of gram_key); returns n. */
static int gram_tokens(GramKey key, int32_t ids[MAX_NGRAM]) {
    const uint64_t m = ((uint64_t)1 << DIGIT_BITS) - 1;
    uint64_t d[MAX_NGRAM] = {key.lo & m, (key.lo >> 25) & m, ((key.lo >> 50) | (key.hi << 14)) & m, (key.hi >> 11) & m,
                             (key.hi >> 36) & m};
    int n = 0;
    while (n < MAX_NGRAM && d[n]) {
        ids[n] = (int32_t)d[n] - 1;
        n++;
    }
    return n;
}

/* The slot of `key`, added (feature -1) if absent; also marks it in the filter. */
static GramSlot *gram_slot(Lookup *lk, GramKey key, uint64_t h, int *added) {
    size_t i = (size_t)h & lk->gram_mask;
    while (lk->grams[i].key.lo != 0) {
        if (lk->grams[i].key.lo == key.lo && lk->grams[i].key.hi == key.hi) {
            *added = 0;
            return &lk->grams[i];
        }
        i = (i + 1) & lk->gram_mask;
    }
    lk->grams[i].key = key;
    lk->grams[i].feature = -1;
    lk->grams[i].prefix = 0;
    size_t bit = (size_t)(h >> 32) & lk->filter_mask;
    lk->filter[bit >> 6] |= (uint64_t)1 << (bit & 63);
    *added = 1;
    return &lk->grams[i];
}

typedef struct {
    GramKey key;
    int32_t feature;
} PendingGram;

/* Build the n-gram table and its filter at their final size. Returns 1 on a duplicate term.
 * Every proper prefix (2 tokens or more) of a term is in the table too, flagged `prefix`
 * (feature -1 unless it is a term itself): a text's k-gram is looked up only where its
 * (k-1)-gram prefix was found so flagged, which skips most trigram windows. */
static int build_grams(Lookup *lk, const PendingGram *pending, size_t count) {
    size_t prefixes = 0;
    int32_t ids[MAX_NGRAM];
    for (size_t k = 0; k < count; k++) {
        int n = gram_tokens(pending[k].key, ids);
        if (n > 2) prefixes += (size_t)(n - 2);
    }
    size_t cap = capacity_for(count + prefixes);
    size_t bits = 64;
    while (bits < count * 8) bits <<= 1;
    lk->grams = calloc(cap, sizeof(GramSlot));
    lk->filter = calloc(bits / 64, sizeof(uint64_t));
    if (!lk->grams || !lk->filter) {
        PyErr_NoMemory();
        return -1;
    }
    lk->gram_mask = cap - 1;
    lk->filter_mask = bits - 1;
    uint64_t hashes[64];
    for (size_t k = 0; k < count; k++) {
        if (k % 64 == 0) { /* hash and prefetch the next block: the inserts' cache misses then overlap */
            for (size_t b = 0; b < 64 && k + b < count; b++) {
                hashes[b] = hash_key(pending[k + b].key);
                PREFETCH(&lk->grams[(size_t)hashes[b] & lk->gram_mask]);
            }
        }
        int added;
        GramSlot *slot = gram_slot(lk, pending[k].key, hashes[k % 64], &added);
        if (!added) return 1;
        slot->feature = pending[k].feature;
    }
    for (size_t k = 0; k < count; k++) {
        for (int n = gram_tokens(pending[k].key, ids) - 1; n >= 2; n--) {
            GramKey prefix = gram_key(ids, n);
            int added;
            GramSlot *slot = gram_slot(lk, prefix, hash_key(prefix), &added);
            if (slot->prefix) break; /* its own prefixes are flagged already */
            slot->prefix = 1;
        }
    }
    return 0;
}

/* ---- the hot path (no Python objects touched: runs without the GIL) ---------- */

/* Hash lookups are done in blocks: hash and prefetch a block, then probe it, so the
 * cache misses of one block overlap instead of queueing one after another. */
#define BLOCK 64

typedef struct {
    int32_t *token_ids; /* per token: token index or -1 (unknown) */
    int32_t *found;     /* feature ids found, then sorted in place */
    int32_t *spare;     /* radix sort buffer */
    uint8_t *ok;        /* per position: the n-gram starting there is the prefix of some longer term */
    size_t cap_tokens, cap_found;
} Scratch;

static void scratch_free(Scratch *s) {
    free(s->token_ids);
    free(s->found);
    free(s->spare);
    free(s->ok);
    memset(s, 0, sizeof(*s));
}

static int scratch_reserve(Scratch *s, size_t tokens, int ngram_max) {
    if (tokens < 16) tokens = 16;
    if (tokens > s->cap_tokens) {
        int32_t *t = realloc(s->token_ids, tokens * sizeof(int32_t));
        if (!t) return -1;
        s->token_ids = t;
        uint8_t *ok = realloc(s->ok, tokens);
        if (!ok) return -1;
        s->ok = ok;
        s->cap_tokens = tokens;
    }
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

/* Sort ids in [0, size) in place (LSD radix, 6 to 11 bits a pass: no wider than n/2 counters, which
 * costs more to clear and sum than a pass over the n ids) and drop repeats. */
static size_t sort_unique(int32_t *a, int32_t *spare, size_t n, Py_ssize_t size) {
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

/* Bit j set: text[j] is a separator (j = 0..7). */
static inline unsigned separator_mask(const unsigned char *text) {
    return (unsigned)SEPARATOR[text[0]] | (unsigned)SEPARATOR[text[1]] << 1 | (unsigned)SEPARATOR[text[2]] << 2 |
           (unsigned)SEPARATOR[text[3]] << 3 | (unsigned)SEPARATOR[text[4]] << 4 | (unsigned)SEPARATOR[text[5]] << 5 |
           (unsigned)SEPARATOR[text[6]] << 6 | (unsigned)SEPARATOR[text[7]] << 7;
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

/* Room for every token of the text and its n-grams: the bound len/2 + 1 for short texts, the exact count for
 * long ones. */
static int reserve_for(Scratch *s, const unsigned char *text, size_t len, int ngram_max) {
    size_t bound = len < (1 << 16) ? len / 2 + 1 : count_tokens(text, len);
    return scratch_reserve(s, bound, ngram_max);
}

/* The vocabulary's feature ids of one UTF-8 text into s->found; returns how many (sorted, unique), or -1
 * without memory. */
static Py_ssize_t vocabulary_ids(const Lookup *lk, Scratch *s, const unsigned char *text, size_t len) {
    if (reserve_for(s, text, len, lk->ngram_max) < 0) return -1;
    size_t tokens = 0, found = 0;
    Tokenizer tk;
    tokenizer_init(&tk, text, len);
    size_t starts[BLOCK], lengths[BLOCK];
    uint64_t hashes[BLOCK];
    int more = 1;
    while (more) {
        int block = 0;
        while (block < BLOCK) {
            size_t first, n;
            if (!next_token(&tk, &first, &n)) {
                more = 0;
                break;
            }
            starts[block] = first;
            lengths[block] = n;
            hashes[block] = hash_bytes(text + first, n, 1);
            PREFETCH(&lk->tokens[(size_t)hashes[block] & lk->token_mask]);
            block++;
        }
        for (int b = 0; b < block; b++) {
            const TokenSlot *slot = probe_token(lk, hashes[b], text + starts[b], lengths[b], 1);
            s->token_ids[tokens++] = slot ? slot->index : -1;
            if (slot && slot->feature >= 0) s->found[found++] = slot->feature;
        }
    }
    if (lk->grams) {
        GramKey keys[BLOCK];
        size_t at[BLOCK];
        for (int n = 2; n <= lk->ngram_max; n++) {
            size_t t = 0;
            while (t + (size_t)n <= tokens) {
                int block = 0;
                for (; block < BLOCK && t + (size_t)n <= tokens; t++) {
                    const int32_t *window = s->token_ids + t;
                    /* a bigram needs both tokens known; a longer n-gram needs its (n-1)-gram prefix found
                     * as the prefix of some term (ok[t], from the previous n) and its last token known */
                    int candidate = n == 2 ? (window[0] >= 0 && window[1] >= 0) : (s->ok[t] && window[n - 1] >= 0);
                    s->ok[t] = 0;
                    if (!candidate) continue;
                    GramKey key = n == 2 ? bigram_key(window) : gram_key(window, n);
                    uint64_t h = hash_key(key);
                    if (!filter_has(lk, h)) continue;
                    PREFETCH(&lk->grams[(size_t)h & lk->gram_mask]);
                    keys[block] = key;
                    hashes[block] = h;
                    at[block] = t;
                    block++;
                }
                for (int b = 0; b < block; b++) {
                    const GramSlot *slot = probe_gram(lk, hashes[b], keys[b]);
                    if (!slot) continue;
                    if (slot->feature >= 0) s->found[found++] = slot->feature;
                    s->ok[at[b]] = (uint8_t)slot->prefix;
                }
            }
        }
    }
    return (Py_ssize_t)sort_unique(s->found, s->spare, found, lk->size);
}

/* The hashed buckets of one UTF-8 text into s->found, like vocabulary_ids. One pass: at each token t, the
 * hash of the k-gram ending there is mix(hash of the (k-1)-gram ending at the token before XOR t). */
static Py_ssize_t hashed_ids(const Lookup *lk, Scratch *s, const unsigned char *text, size_t len) {
    if (reserve_for(s, text, len, lk->ngram_max) < 0) return -1;
    uint64_t ending[MAX_NGRAM] = {0}; /* ending[k]: hash of the (k+1)-gram ending at the last token */
    const uint64_t buckets = lk->buckets;
    const int ngram_max = lk->ngram_max;
    int32_t *found = s->found;
    int levels = 0; /* n-gram lengths ending at the current token: min(tokens so far, ngram_max) */
    Tokenizer tk;
    size_t start, n;
    tokenizer_init(&tk, text, len);
    while (next_token(&tk, &start, &n)) {
        uint64_t key = crc32_lower(text + start, n);
        if (levels < ngram_max) levels++;
        for (int k = levels - 1; k > 0; k--) ending[k] = splitmix64(ending[k - 1] ^ key);
        ending[0] = splitmix64(key);
        for (int k = 0; k < levels; k++) *found++ = (int32_t)(((ending[k] >> 32) * buckets) >> 32);
    }
    return (Py_ssize_t)sort_unique(s->found, s->spare, (size_t)(found - s->found), lk->size);
}

/* The ids of one UTF-8 text (vocabulary features or hashed buckets) into s->found; see vocabulary_ids. */
static Py_ssize_t text_ids(const Lookup *lk, Scratch *s, const unsigned char *text, size_t len) {
    return lk->buckets ? hashed_ids(lk, s, text, len) : vocabulary_ids(lk, s, text, len);
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

static void Lookup_dealloc(Lookup *self) {
    free(self->arena);
    free(self->tokens);
    free(self->grams);
    free(self->filter);
    Py_XDECREF(self->skipped);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int already_initialized(const Lookup *self) {
    if (!self->tokens && !self->buckets) return 0;
    PyErr_Format(PyExc_RuntimeError, "%s is already initialized", Py_TYPE(self)->tp_name);
    return 1;
}

/* 0 with a RuntimeError where __init__ never ran (no tables to read). */
static int ready(const Lookup *self) {
    if (self->tokens || self->buckets) return 1;
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
static int Hasher_init(Lookup *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"buckets", "ngram_max", NULL};
    PyObject *buckets, *ngram_max;
    long long b, n;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!", kwlist, &PyLong_Type, &buckets, &PyLong_Type, &ngram_max))
        return -1;
    if (int_in_range(buckets, "buckets", 1, MAX_HASH_BUCKETS, &b) < 0) return -1;
    if (int_in_range(ngram_max, "ngram_max", 1, MAX_NGRAM, &n) < 0) return -1;
    if (already_initialized(self)) return -1;
    self->buckets = (uint64_t)b;
    self->size = (Py_ssize_t)b;
    self->ngram_max = (int)n;
    return 0;
}

static int duplicate_term(void) {
    PyErr_SetString(PyExc_ValueError, "the vocabulary has duplicate terms");
    return -1;
}

/* Lookup(vocabulary: list[str], ngram_max: int): feature id i is vocabulary[i]. */
static int Lookup_init(Lookup *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"vocabulary", "ngram_max", NULL};
    PyObject *vocabulary;
    int ngram_max;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!i", kwlist, &PyList_Type, &vocabulary, &ngram_max)) return -1;
    if (ngram_max < 1 || ngram_max > MAX_NGRAM) {
        PyErr_Format(PyExc_ValueError, "ngram_max must be between 1 and %d", MAX_NGRAM);
        return -1;
    }
    if (already_initialized(self)) return -1;
    Py_ssize_t size = PyList_GET_SIZE(vocabulary);
    if (size >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "vocabulary too large");
        return -1;
    }
    self->ngram_max = ngram_max;
    self->size = size;
    if (grow_tokens(self, 1024) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    self->skipped = PyList_New(0);
    if (!self->skipped) return -1;
    PendingGram *pending = NULL;
    size_t pending_count = 0, pending_cap = 0;
    int rc = -1;
    for (Py_ssize_t f = 0; f < size; f++) {
        const unsigned char *term;
        Py_ssize_t len;
        PyObject *owner;
        if (text_bytes(PyList_GET_ITEM(vocabulary, f), &term, &len, &owner) < 0) goto done;
        /* Split on single spaces, like bytes.split(b" "). A term with an empty part
         * or more parts than ngram_max can never be found: it is skipped. */
        int32_t ids[MAX_NGRAM];
        TokenSlot *slot = NULL;
        int n = 0, usable = 1;
        Py_ssize_t start = 0;
        for (Py_ssize_t i = 0; i <= len; i++) {
            if (i < len && term[i] != ' ') continue;
            if (i == start || n == ngram_max) {
                usable = 0;
                break;
            }
            slot = add_token(self, term + start, (size_t)(i - start));
            if (!slot) {
                Py_XDECREF(owner);
                goto done;
            }
            ids[n++] = slot->index;
            start = i + 1;
        }
        Py_XDECREF(owner);
        if (!usable) {
            PyObject *index = PyLong_FromSsize_t(f);
            if (!index || PyList_Append(self->skipped, index) < 0) {
                Py_XDECREF(index);
                goto done;
            }
            Py_DECREF(index);
            continue;
        }
        if (n == 1) {
            if (slot->feature >= 0) {
                duplicate_term();
                goto done;
            }
            slot->feature = (int32_t)f;
            continue;
        }
        if (pending_count == pending_cap) {
            pending_cap = pending_cap ? pending_cap * 2 : 1024;
            PendingGram *grown = realloc(pending, pending_cap * sizeof(PendingGram));
            if (!grown) {
                PyErr_NoMemory();
                goto done;
            }
            pending = grown;
        }
        pending[pending_count].key = gram_key(ids, n);
        pending[pending_count].feature = (int32_t)f;
        pending_count++;
    }
    if (ngram_max > 1) {
        int built = build_grams(self, pending, pending_count);
        if (built < 0) goto done;
        if (built > 0) {
            duplicate_term();
            goto done;
        }
    }
    rc = 0;
done:
    free(pending);
    return rc;
}

static PyObject *ids_bytearray(const int32_t *ids, size_t n) {
    PyObject *out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(n * sizeof(int64_t)));
    if (!out) return NULL;
    int64_t *dst = (int64_t *)PyByteArray_AS_STRING(out);
    for (size_t i = 0; i < n; i++) dst[i] = ids[i];
    return out;
}

/* ids(text) -> bytearray of int64: the sorted unique feature ids of one text. */
static PyObject *Lookup_ids(Lookup *self, PyObject *text) {
    if (!ready(self)) return NULL;
    const unsigned char *data;
    Py_ssize_t len;
    PyObject *owner;
    if (text_bytes(text, &data, &len, &owner) < 0) return NULL;
    Scratch s = {0};
    Py_ssize_t count;
    if (len < 4096) { /* a short text: releasing the GIL would cost more than it gives */
        count = text_ids(self, &s, data, (size_t)len);
    } else {
        Py_BEGIN_ALLOW_THREADS
        count = text_ids(self, &s, data, (size_t)len);
        Py_END_ALLOW_THREADS
    }
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
static int batch_rows(const Lookup *lk, const Batch *b, int64_t **flat_out, int64_t *offsets) {
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
static PyObject *Lookup_ragged(Lookup *self, PyObject *texts) {
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

/* padded(texts, min_length) -> (bytearray of int64 (n, width), width); pad id = vocabulary size.
 * The rows are computed without the GIL, then written once, straight into the result. */
static PyObject *Lookup_padded(Lookup *self, PyObject *args) {
    if (!ready(self)) return NULL;
    PyObject *texts;
    Py_ssize_t min_length = 1;
    if (!PyArg_ParseTuple(args, "O|n", &texts, &min_length)) return NULL;
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
    free(offsets);
    free(flat);
    if (!data) return NULL;
    return Py_BuildValue("(Nn)", data, width);
}

/* tokens(text) -> list[bytes]: the token sequence, for tests against the definition. */
static PyObject *Lookup_tokens(Lookup *self, PyObject *text) {
    const unsigned char *data;
    Py_ssize_t len;
    PyObject *owner;
    if (text_bytes(text, &data, &len, &owner) < 0) return NULL;
    PyObject *out = PyList_New(0);
    Tokenizer tk;
    size_t start, n;
    tokenizer_init(&tk, data, (size_t)len);
    while (out && next_token(&tk, &start, &n)) {
        PyObject *token = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
        if (!token) {
            Py_CLEAR(out);
            break;
        }
        unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(token);
        for (size_t k = 0; k < n; k++) dst[k] = LOWER[data[start + k]];
        if (PyList_Append(out, token) < 0) Py_CLEAR(out);
        Py_DECREF(token);
    }
    Py_XDECREF(owner);
    return out;
}

static PyMethodDef Lookup_methods[] = {
    {"ids", (PyCFunction)Lookup_ids, METH_O, "ids(text) -> bytearray of int64 feature ids (sorted, unique)"},
    {"ragged", (PyCFunction)Lookup_ragged, METH_O, "ragged(texts) -> (ids, offsets) as int64 bytearrays"},
    {"padded", (PyCFunction)Lookup_padded, METH_VARARGS, "padded(texts, min_length) -> (int64 bytearray, width)"},
    {"tokens", (PyCFunction)Lookup_tokens, METH_O, "tokens(text) -> list of token bytes"},
    {NULL, NULL, 0, NULL},
};

static PyObject *Lookup_skipped(Lookup *self, void *closure) {
    (void)closure;
    if (!self->skipped) return PyList_New(0);
    return PyList_GetSlice(self->skipped, 0, PyList_GET_SIZE(self->skipped));
}

static PyGetSetDef Lookup_getset[] = {
    {"skipped", (getter)Lookup_skipped, NULL, "indices of terms that no text can match (empty part, too many words)",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject LookupType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "imdb_edge.runtime._fastvec.Lookup",
    .tp_basicsize = sizeof(Lookup),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Lookup(vocabulary, ngram_max): the vectorizer's tables, built once, read-only afterwards.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Lookup_init,
    .tp_dealloc = (destructor)Lookup_dealloc,
    .tp_methods = Lookup_methods,
    .tp_getset = Lookup_getset,
};

/* A subtype of Lookup: its methods, with hashed_ids for vocabulary_ids (skipped is always empty). */
static PyTypeObject HasherType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "imdb_edge.runtime._fastvec.Hasher",
    .tp_basicsize = sizeof(Lookup),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Hasher(buckets, ngram_max): hashed n-gram buckets (crc32-mix64-v1) with Lookup's methods.",
    .tp_init = (initproc)Hasher_init,
};

static struct PyModuleDef fastvec_module = {
    PyModuleDef_HEAD_INIT, "_fastvec", "Native hot path of imdb_edge.runtime.vectorizer.", -1, NULL,
};

PyMODINIT_FUNC PyInit__fastvec(void) {
    init_tables();
    HasherType.tp_base = &LookupType;
    if (PyType_Ready(&LookupType) < 0 || PyType_Ready(&HasherType) < 0) return NULL;
    PyObject *m = PyModule_Create(&fastvec_module);
    if (!m) return NULL;
    Py_INCREF(&LookupType);
    if (PyModule_AddObject(m, "Lookup", (PyObject *)&LookupType) < 0) {
        Py_DECREF(&LookupType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&HasherType);
    if (PyModule_AddObject(m, "Hasher", (PyObject *)&HasherType) < 0) {
        Py_DECREF(&HasherType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAX_NGRAM", MAX_NGRAM) < 0 ||
        PyModule_AddIntConstant(m, "MAX_HASH_BUCKETS", MAX_HASH_BUCKETS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
