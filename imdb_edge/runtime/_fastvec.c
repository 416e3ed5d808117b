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

/* ASCII whitespace (" \t\n\r\v\f") and punctuation (Python's string.punctuation). */
static unsigned char SEPARATOR[256];
static unsigned char LOWER[256];

static void init_tables(void) {
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

/* FNV-1a over bytes; `lower` applies the tokenizer's ASCII lowercasing on the fly. */
static inline uint64_t hash_bytes(const unsigned char *s, size_t n, int lower) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= lower ? LOWER[s[i]] : s[i];
        h *= 0x100000001b3ULL;
    }
    return mix64(h ^ n);
}

static inline uint64_t hash_ids(const int32_t *ids, int n) {
    uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < n; i++) h = mix64(h ^ ((uint64_t)(uint32_t)ids[i] + 0x632be59bd9b4e019ULL));
    return h;
}

/* ---- tables ---------------------------------------------------------------- */

typedef struct {
    uint64_t hash;
    size_t offset;   /* into the token arena */
    uint32_t length;
    int32_t index;   /* token index, -1: empty slot */
    int32_t feature; /* feature id of the unigram, -1: none */
} TokenSlot;

typedef struct {
    int32_t ids[MAX_NGRAM];
    int32_t n;       /* 0: empty slot */
    int32_t feature;
    uint32_t check;  /* high bits of the hash, to skip most key comparisons */
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
} Lookup;

static size_t capacity_for(size_t count) {
    size_t cap = 16;
    while (cap < count * 2) cap <<= 1;
    return cap;
}

/* Token index of `s` (already lowercase-exact), or -1; with `lower`, s is raw text. */
static inline const TokenSlot *find_token(const Lookup *lk, const unsigned char *s, size_t n, int lower) {
    uint64_t h = hash_bytes(s, n, lower);
    size_t i = (size_t)h & lk->token_mask;
    for (;;) {
        const TokenSlot *slot = &lk->tokens[i];
        if (slot->index < 0) return NULL;
        if (slot->hash == h && slot->length == n) {
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

static int add_token(Lookup *lk, const unsigned char *s, size_t n, int32_t *index_out) {
    const TokenSlot *found = find_token(lk, s, n, 0);
    if (found) {
        *index_out = found->index;
        return 0;
    }
    if (n > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "vocabulary term too long");
        return -1;
    }
    if (lk->arena_used + n > lk->arena_cap) {
        size_t cap = lk->arena_cap ? lk->arena_cap : 1 << 16;
        while (cap < lk->arena_used + n) cap *= 2;
        unsigned char *grown = realloc(lk->arena, cap);
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        lk->arena = grown;
        lk->arena_cap = cap;
    }
    memcpy(lk->arena + lk->arena_used, s, n);
    uint64_t h = hash_bytes(s, n, 0);
    size_t i = (size_t)h & lk->token_mask;
    while (lk->tokens[i].index >= 0) i = (i + 1) & lk->token_mask;
    TokenSlot *slot = &lk->tokens[i];
    slot->hash = h;
    slot->offset = lk->arena_used;
    slot->length = (uint32_t)n;
    slot->index = lk->token_count++;
    slot->feature = -1;
    lk->arena_used += n;
    *index_out = slot->index;
    return 0;
}

static inline int32_t find_gram(const Lookup *lk, const int32_t *ids, int n) {
    uint64_t h = hash_ids(ids, n);
    uint32_t check = (uint32_t)(h >> 32);
    size_t i = (size_t)h & lk->gram_mask;
    for (;;) {
        const GramSlot *slot = &lk->grams[i];
        if (slot->n == 0) return -1;
        if (slot->check == check && slot->n == n && memcmp(slot->ids, ids, sizeof(int32_t) * (size_t)n) == 0)
            return slot->feature;
        i = (i + 1) & lk->gram_mask;
    }
}

/* Returns 1 if the n-gram was already present (a duplicate term), 0 if added. */
static int add_gram(Lookup *lk, const int32_t *ids, int n, int32_t feature) {
    if (find_gram(lk, ids, n) >= 0) return 1;
    uint64_t h = hash_ids(ids, n);
    size_t i = (size_t)h & lk->gram_mask;
    while (lk->grams[i].n != 0) i = (i + 1) & lk->gram_mask;
    GramSlot *slot = &lk->grams[i];
    memcpy(slot->ids, ids, sizeof(int32_t) * (size_t)n);
    slot->n = n;
    slot->feature = feature;
    slot->check = (uint32_t)(h >> 32);
    return 0;
}

/* ---- the hot path (no Python objects touched: runs without the GIL) ---------- */

typedef struct {
    int32_t *token_ids; /* per token: token index or -1 (unknown) */
    int32_t *found;     /* feature ids found, then sorted in place */
    int32_t *spare;     /* radix sort buffer */
    size_t cap_tokens, cap_found;
} Scratch;

static void scratch_free(Scratch *s) {
    free(s->token_ids);
    free(s->found);
    free(s->spare);
    memset(s, 0, sizeof(*s));
}

/* Room for a text of `n` bytes: at most n/2+1 tokens, ngram_max features each. */
static int scratch_reserve(Scratch *s, size_t n, int ngram_max) {
    size_t tokens = n / 2 + 1;
    if (tokens > s->cap_tokens) {
        int32_t *t = realloc(s->token_ids, tokens * sizeof(int32_t));
        if (!t) return -1;
        s->token_ids = t;
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

/* Sort non-negative ids in place (LSD radix, 8 bits a pass) and drop repeats. */
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
        int32_t *src = a, *dst = spare;
        for (int shift = 0; shift < 32 && ((uint64_t)(size > 0 ? size - 1 : 0) >> shift) != 0; shift += 8) {
            size_t count[257] = {0};
            for (size_t i = 0; i < n; i++) count[(((uint32_t)src[i] >> shift) & 0xFF) + 1]++;
            for (int b = 0; b < 256; b++) count[b + 1] += count[b];
            for (size_t i = 0; i < n; i++) dst[count[((uint32_t)src[i] >> shift) & 0xFF]++] = src[i];
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

/* The next token at or after *pos: 1 and its [start, start + n) span, or 0 at the end.
 * The one tokenizer of this file: separators split, the stop token "br" is skipped. */
static inline int next_token(const unsigned char *text, size_t len, size_t *pos, size_t *start, size_t *n) {
    size_t i = *pos;
    for (;;) {
        while (i < len && SEPARATOR[text[i]]) i++;
        if (i >= len) {
            *pos = i;
            return 0;
        }
        size_t first = i;
        while (i < len && !SEPARATOR[text[i]]) i++;
        if (i - first == 2 && LOWER[text[first]] == 'b' && LOWER[text[first + 1]] == 'r') continue;
        *pos = i;
        *start = first;
        *n = i - first;
        return 1;
    }
}

/* Feature ids of one UTF-8 text into s->found; returns how many (sorted, unique). */
static size_t text_ids(const Lookup *lk, Scratch *s, const unsigned char *text, size_t len) {
    size_t tokens = 0, found = 0;
    size_t pos = 0, start, n;
    while (next_token(text, len, &pos, &start, &n)) {
        const TokenSlot *slot = find_token(lk, text + start, n, 1);
        s->token_ids[tokens++] = slot ? slot->index : -1;
        if (slot && slot->feature >= 0) s->found[found++] = slot->feature;
    }
    for (int n = 2; n <= lk->ngram_max; n++) {
        for (size_t t = 0; t + (size_t)n <= tokens; t++) {
            const int32_t *window = s->token_ids + t;
            int known = 1;
            for (int k = 0; k < n; k++)
                if (window[k] < 0) {
                    known = 0;
                    break;
                }
            if (!known) continue;
            int32_t feature = find_gram(lk, window, n);
            if (feature >= 0) s->found[found++] = feature;
        }
    }
    return sort_unique(s->found, s->spare, found, lk->size);
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
    Py_TYPE(self)->tp_free((PyObject *)self);
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
    if (self->tokens) {
        PyErr_SetString(PyExc_RuntimeError, "Lookup is already initialized");
        return -1;
    }
    Py_ssize_t size = PyList_GET_SIZE(vocabulary);
    if (size >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "vocabulary too large");
        return -1;
    }
    self->ngram_max = ngram_max;
    self->size = size;
    /* Every term adds at most ngram_max tokens, but nearly all tokens repeat. */
    size_t token_cap = capacity_for((size_t)size + 16);
    self->tokens = malloc(token_cap * sizeof(TokenSlot));
    self->grams = calloc(capacity_for((size_t)size + 16), sizeof(GramSlot));
    if (!self->tokens || !self->grams) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < token_cap; i++) self->tokens[i].index = -1;
    self->token_mask = token_cap - 1;
    self->gram_mask = capacity_for((size_t)size + 16) - 1;

    for (Py_ssize_t f = 0; f < size; f++) {
        const unsigned char *term;
        Py_ssize_t len;
        PyObject *owner;
        if (text_bytes(PyList_GET_ITEM(vocabulary, f), &term, &len, &owner) < 0) return -1;
        /* Split on single spaces, like bytes.split(b" "). A term with an empty part
         * or more parts than ngram_max can never be found: it is skipped. */
        int32_t ids[MAX_NGRAM];
        int n = 0, usable = 1;
        Py_ssize_t start = 0;
        for (Py_ssize_t i = 0; i <= len && usable; i++) {
            if (i < len && term[i] != ' ') continue;
            if (i == start || n == ngram_max) {
                usable = 0;
                break;
            }
            /* Grow the token table before it is more than half full. */
            if ((size_t)self->token_count * 2 + 2 > self->token_mask) {
                size_t cap = (self->token_mask + 1) * 2;
                TokenSlot *grown = malloc(cap * sizeof(TokenSlot));
                if (!grown) {
                    Py_XDECREF(owner);
                    PyErr_NoMemory();
                    return -1;
                }
                for (size_t k = 0; k < cap; k++) grown[k].index = -1;
                for (size_t k = 0; k <= self->token_mask; k++) {
                    if (self->tokens[k].index < 0) continue;
                    size_t at = (size_t)self->tokens[k].hash & (cap - 1);
                    while (grown[at].index >= 0) at = (at + 1) & (cap - 1);
                    grown[at] = self->tokens[k];
                }
                free(self->tokens);
                self->tokens = grown;
                self->token_mask = cap - 1;
            }
            if (add_token(self, term + start, (size_t)(i - start), &ids[n]) < 0) {
                Py_XDECREF(owner);
                return -1;
            }
            n++;
            start = i + 1;
        }
        Py_XDECREF(owner);
        if (!usable) continue;
        int duplicate;
        if (n == 1) {
            TokenSlot *slot = (TokenSlot *)find_token(self, term, (size_t)len, 0); /* added just above */
            duplicate = slot->feature >= 0;
            if (!duplicate) slot->feature = (int32_t)f;
        } else {
            duplicate = add_gram(self, ids, n, (int32_t)f);
        }
        if (duplicate) {
            PyErr_SetString(PyExc_ValueError, "the vocabulary has duplicate terms");
            return -1;
        }
    }
    return 0;
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
    const unsigned char *data;
    Py_ssize_t len;
    PyObject *owner;
    if (text_bytes(text, &data, &len, &owner) < 0) return NULL;
    Scratch s = {0};
    int32_t small_tokens[256], small_found[768], small_spare[768];
    size_t count = 0;
    int failed = 0;
    if ((size_t)len / 2 + 1 <= 256 && self->ngram_max <= 3) { /* short texts: no allocation */
        s.token_ids = small_tokens;
        s.found = small_found;
        s.spare = small_spare;
        count = text_ids(self, &s, data, (size_t)len);
    } else {
        Py_BEGIN_ALLOW_THREADS
        if (scratch_reserve(&s, (size_t)len, self->ngram_max) < 0)
            failed = 1;
        else
            count = text_ids(self, &s, data, (size_t)len);
        Py_END_ALLOW_THREADS
    }
    Py_XDECREF(owner);
    if (failed) {
        scratch_free(&s);
        return PyErr_NoMemory();
    }
    PyObject *out = ids_bytearray(s.found, count);
    if (s.token_ids != small_tokens) scratch_free(&s);
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
        if (scratch_reserve(&s, (size_t)b->len[i], lk->ngram_max) < 0) goto fail;
        size_t count = text_ids(lk, &s, b->data[i], (size_t)b->len[i]);
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

/* padded(texts, min_length) -> (bytearray of int64 (n, width), width); pad id = vocabulary size. */
static PyObject *Lookup_padded(Lookup *self, PyObject *args) {
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
    int64_t *out = NULL;
    Py_ssize_t width = min_length > 0 ? min_length : 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = batch_rows(self, &b, &flat, offsets);
    if (rc == 0) {
        for (Py_ssize_t i = 0; i < b.n; i++)
            if (offsets[i + 1] - offsets[i] > width) width = (Py_ssize_t)(offsets[i + 1] - offsets[i]);
        out = malloc(sizeof(int64_t) * (size_t)(b.n * width + 1));
        if (!out) {
            rc = -1;
        } else {
            int64_t pad = (int64_t)self->size;
            for (Py_ssize_t i = 0; i < b.n; i++) {
                int64_t *row = out + i * width;
                Py_ssize_t count = (Py_ssize_t)(offsets[i + 1] - offsets[i]);
                memcpy(row, flat + offsets[i], sizeof(int64_t) * (size_t)count);
                for (Py_ssize_t k = count; k < width; k++) row[k] = pad;
            }
        }
    }
    Py_END_ALLOW_THREADS
    Py_ssize_t n = b.n;
    batch_free(&b);
    free(offsets);
    free(flat);
    if (rc < 0) {
        free(out);
        return PyErr_NoMemory();
    }
    PyObject *data = PyByteArray_FromStringAndSize((const char *)out, (Py_ssize_t)(sizeof(int64_t) * (size_t)(n * width)));
    free(out);
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
    size_t pos = 0, start, n;
    while (out && next_token(data, (size_t)len, &pos, &start, &n)) {
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

static PyTypeObject LookupType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "imdb_edge.runtime._fastvec.Lookup",
    .tp_basicsize = sizeof(Lookup),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Lookup(vocabulary, ngram_max): the vectorizer's tables, built once, read-only afterwards.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Lookup_init,
    .tp_dealloc = (destructor)Lookup_dealloc,
    .tp_methods = Lookup_methods,
};

static struct PyModuleDef fastvec_module = {
    PyModuleDef_HEAD_INIT, "_fastvec", "Native hot path of imdb_edge.runtime.vectorizer.", -1, NULL,
};

PyMODINIT_FUNC PyInit__fastvec(void) {
    init_tables();
    if (PyType_Ready(&LookupType) < 0) return NULL;
    PyObject *m = PyModule_Create(&fastvec_module);
    if (!m) return NULL;
    Py_INCREF(&LookupType);
    if (PyModule_AddObject(m, "Lookup", (PyObject *)&LookupType) < 0) {
        Py_DECREF(&LookupType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAX_NGRAM", MAX_NGRAM) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
