/* Compiled core of edgesim.cache.compact.CompactLRUCache: replay a batch of requests through a
 * byte-capacity LRU whose state lives in numpy arrays (passed as buffers).
 *
 * State: open-addressing hash table (int32 slot, -1 empty, -2 tombstone), per-slot key (int32),
 * size (uint32), expiry (uint32 milliseconds, rounded up, saturating at ~49.7 days), prev/next (int32, doubly linked list from LRU head to MRU tail;
 * free slots are chained through next from meta[FREE]), and meta (int64 counters, compact.py).
 * Semantics are exactly those of edgesim.cache.policies.LRUCache.process.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { HEAD, TAIL, USED, COUNT, CAP, TOMBS, HITS, MISSES, STALE_, EVICT, INS, REJ, BHIT, BMISS, FREE };
#define EMPTY (-1)
#define TOMB (-2)

typedef struct {
    int32_t *table; int64_t mask;
    int32_t *keys;
    uint32_t *exp;  /* expiry in whole milliseconds of virtual time, rounded up */
    uint32_t *size;
    int32_t *prev, *nxt;
    int64_t *meta;
} lru_t;

static inline uint32_t expiry_ms(int64_t t_ns, int64_t ttl_ns) {
    int64_t e = t_ns + ttl_ns;
    if (e <= 0) return 0;
    int64_t ms = (e + 999999) / 1000000;
    return ms > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static inline int64_t hash64(int64_t key, int64_t mask) {
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ULL;
    return (int64_t)((h >> 29) & (uint64_t)mask);
}

/* slot of key or -1; *pos = its table position, or the first usable position */
static inline int32_t find(lru_t *c, int64_t key, int64_t *pos) {
    int64_t p = hash64(key, c->mask), first_tomb = -1;
    for (;;) {
        int32_t s = c->table[p];
        if (s == EMPTY) { *pos = first_tomb >= 0 ? first_tomb : p; return -1; }
        if (s == TOMB) { if (first_tomb < 0) first_tomb = p; }
        else if (c->keys[s] == key) { *pos = p; return s; }
        p = (p + 1) & c->mask;
    }
}

static inline void unlink_(lru_t *c, int32_t s) {
    int32_t p = c->prev[s], n = c->nxt[s];
    if (p >= 0) c->nxt[p] = n; else c->meta[HEAD] = n;
    if (n >= 0) c->prev[n] = p; else c->meta[TAIL] = p;
}

static inline void push_mru(lru_t *c, int32_t s) {
    int32_t t = (int32_t)c->meta[TAIL];
    c->prev[s] = t; c->nxt[s] = -1;
    if (t >= 0) c->nxt[t] = s; else c->meta[HEAD] = s;
    c->meta[TAIL] = s;
}

static inline void drop(lru_t *c, int32_t s) {
    int64_t pos;
    find(c, c->keys[s], &pos);
    c->table[pos] = TOMB;
    c->meta[TOMBS] += 1;
    unlink_(c, s);
    c->meta[USED] -= (int64_t)c->size[s];
    c->meta[COUNT] -= 1;
    c->nxt[s] = (int32_t)c->meta[FREE];  /* push on the free chain */
    c->meta[FREE] = s;
}

static PyObject *process(PyObject *self, PyObject *args) {
    Py_buffer b[12];
    Py_ssize_t start;
    int admit = 1;
    if (!PyArg_ParseTuple(args, "w*w*w*w*w*w*w*y*y*y*y*w*n|p",
                          &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6],
                          &b[7], &b[8], &b[9], &b[10], &b[11], &start, &admit))
        return NULL;
    lru_t c;
    c.table = (int32_t *)b[0].buf; c.mask = (int64_t)(b[0].len / 4) - 1;
    c.keys = (int32_t *)b[1].buf; c.size = (uint32_t *)b[2].buf; c.exp = (uint32_t *)b[3].buf;
    c.prev = (int32_t *)b[4].buf; c.nxt = (int32_t *)b[5].buf;
    c.meta = (int64_t *)b[6].buf;
    const int64_t *qk = (const int64_t *)b[7].buf, *qs = (const int64_t *)b[8].buf;
    const int64_t *qt = (const int64_t *)b[9].buf, *qttl = (const int64_t *)b[10].buf;
    uint8_t *out = (uint8_t *)b[11].buf;
    Py_ssize_t n = b[7].len / 8, i = start;
    int64_t table_len = c.mask + 1, cap = c.meta[CAP];
    int64_t *m = c.meta;
    for (; i < n; i++) {
        if (m[FREE] < 0 || (m[COUNT] + m[TOMBS] + 1) * 10 > table_len * 7) break;
        int64_t k = qk[i], sz = qs[i], t = qt[i], pos;
        int32_t s = find(&c, k, &pos);
        if (s >= 0) {
            unlink_(&c, s); push_mru(&c, s);
            if ((int64_t)c.exp[s] * 1000000 > t) { out[i] = 1; m[HITS]++; m[BHIT] += (int64_t)c.size[s]; continue; }
            out[i] = 2; m[STALE_]++;
            if (!admit) continue;  /* look-up only: nothing is fetched or stored */
            m[BMISS] += sz;
            if (sz > cap) { drop(&c, s); m[REJ]++; continue; }
            m[USED] += sz - (int64_t)c.size[s]; c.size[s] = (uint32_t)sz; c.exp[s] = expiry_ms(t, qttl[i]);
            while (m[USED] > cap) { drop(&c, (int32_t)m[HEAD]); m[EVICT]++; }
            m[INS]++;
            continue;
        }
        out[i] = 0; m[MISSES]++;
        if (!admit) continue;
        m[BMISS] += sz;
        if (sz > cap) { m[REJ]++; continue; }
        m[USED] += sz;
        while (m[USED] > cap) { drop(&c, (int32_t)m[HEAD]); m[EVICT]++; }
        find(&c, k, &pos);  /* evictions may have left tombstones on the probe path */
        s = (int32_t)m[FREE];  /* pop the free chain */
        m[FREE] = c.nxt[s];
        c.keys[s] = (int32_t)k; c.size[s] = (uint32_t)sz; c.exp[s] = expiry_ms(t, qttl[i]);
        c.table[pos] = s;
        push_mru(&c, s);
        m[COUNT]++; m[INS]++;
    }
    for (int j = 0; j < 12; j++) PyBuffer_Release(&b[j]);
    return PyLong_FromSsize_t(i);
}

/* find(table, keys, key) -> (slot, pos) */
static PyObject *py_find(PyObject *self, PyObject *args) {
    Py_buffer bt, bk; long long key;
    if (!PyArg_ParseTuple(args, "y*y*L", &bt, &bk, &key)) return NULL;
    lru_t c; c.table = (int32_t *)bt.buf; c.mask = (int64_t)(bt.len / 4) - 1; c.keys = (int32_t *)bk.buf;
    int64_t pos; int32_t s = find(&c, (int64_t)key, &pos);
    PyBuffer_Release(&bt); PyBuffer_Release(&bk);
    return Py_BuildValue("(iL)", (int)s, (long long)pos);
}

/* rehash(table, keys, head, nxt): rebuild the table from the linked list */
static PyObject *py_rehash(PyObject *self, PyObject *args) {
    Py_buffer bt, bk, bn; long long head;
    if (!PyArg_ParseTuple(args, "w*y*Ly*", &bt, &bk, &head, &bn)) return NULL;
    int32_t *table = (int32_t *)bt.buf; int64_t mask = (int64_t)(bt.len / 4) - 1;
    const int32_t *keys = (const int32_t *)bk.buf; const int32_t *nxt = (const int32_t *)bn.buf;
    for (int64_t p = 0; p <= mask; p++) table[p] = EMPTY;
    for (int64_t s = head; s >= 0; s = nxt[s]) {
        int64_t p = hash64(keys[s], mask);
        while (table[p] != EMPTY) p = (p + 1) & mask;
        table[p] = (int32_t)s;
    }
    PyBuffer_Release(&bt); PyBuffer_Release(&bk); PyBuffer_Release(&bn);
    Py_RETURN_NONE;
}

/* drop(table, keys, size, prev, nxt, meta, slot) and touch(prev, nxt, meta, slot) */
static PyObject *py_drop(PyObject *self, PyObject *args) {
    Py_buffer b[6]; int slot;
    if (!PyArg_ParseTuple(args, "w*y*y*w*w*w*i", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &slot))
        return NULL;
    lru_t c;
    c.table = (int32_t *)b[0].buf; c.mask = (int64_t)(b[0].len / 4) - 1;
    c.keys = (int32_t *)b[1].buf; c.size = (uint32_t *)b[2].buf;
    c.prev = (int32_t *)b[3].buf; c.nxt = (int32_t *)b[4].buf;
    c.meta = (int64_t *)b[5].buf;
    drop(&c, slot);
    for (int j = 0; j < 6; j++) PyBuffer_Release(&b[j]);
    Py_RETURN_NONE;
}

static PyObject *py_touch(PyObject *self, PyObject *args) {
    Py_buffer bp, bn, bm; int slot;
    if (!PyArg_ParseTuple(args, "w*w*w*i", &bp, &bn, &bm, &slot)) return NULL;
    lru_t c; c.prev = (int32_t *)bp.buf; c.nxt = (int32_t *)bn.buf; c.meta = (int64_t *)bm.buf;
    unlink_(&c, slot); push_mru(&c, slot);
    PyBuffer_Release(&bp); PyBuffer_Release(&bn); PyBuffer_Release(&bm);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"process", process, METH_VARARGS, "Replay requests; return the index where it stopped."},
    {"find", py_find, METH_VARARGS, "(slot, position) of a key."},
    {"rehash", py_rehash, METH_VARARGS, "Rebuild the hash table."},
    {"drop", py_drop, METH_VARARGS, "Remove a slot."},
    {"touch", py_touch, METH_VARARGS, "Move a slot to the MRU end."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_lru", "Compiled LRU replay.", -1, methods};

PyMODINIT_FUNC PyInit__lru(void) { return PyModule_Create(&module); }
