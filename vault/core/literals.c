/* Every copy of many long literal strings in a buffer, looking at one 8-byte window in `stride`;
 * and, for the values kept only as keyed hashes, where the runs of token characters that may hold
 * one end (td_run_ends, at the end of this file).
 *
 * tokendeck scan's search for the vault's secrets (vault/core/literals.py, docs/scan.md).
 * The needles are long (24 bytes or more) and random, so a copy of one of length m always holds
 * a window of 8 bytes that starts at a multiple of `stride` (stride = shortest length - 7): the
 * first such window falls at one of the offsets 0 .. stride-1 inside the copy.  Those windows of
 * every needle are kept in a blocked Bloom filter (three bits in one 64-bit word per window) and a
 * hash table; the text is probed at offsets 0, stride, 2*stride, ...  A probe whose bits are not
 * all set is the whole cost (nearly all of them); one whose bits are is looked up, and each
 * candidate is confirmed by comparing the needle whole, so nothing is reported that is not there.
 * Each copy is found once, at its first window.
 *
 * General engines (Hyperscan, Aho-Corasick) look at every byte because they cannot assume long
 * needles; on 1,000 secrets in every form this took 0.15 s of a core for 1 GB, Hyperscan 0.35 s.
 *
 * No allocation while searching, no state written: one set may be searched from many threads.
 * td_clean_files also reads the files themselves (POSIX open and read), so the common case of
 * a scan, a file with no copy, never reaches Python.
 * Plain C11 and POSIX, no intrinsics: built by hatch_build.py when a C compiler is there, loaded
 * with ctypes (no Python API, so one build serves every Python); without it, scan uses Hyperscan. */

#define _POSIX_C_SOURCE 200809L /* open's O_NOFOLLOW and O_CLOEXEC under -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WINDOW 8
#define EMPTY (-1)
#define BINARY (-2) /* td_clean_files: a binary file, skipped (literals.py's BINARY) */

typedef struct {
    uint32_t needle; /* which needle */
    uint32_t offset; /* where the window starts in it */
    int32_t next;    /* the next entry with the same window, or EMPTY */
} entry_t;

typedef struct {
    uint64_t window; /* the 8 bytes */
    int32_t head;    /* its first entry, or EMPTY for a free slot */
} slot_t;

typedef struct {
    uint32_t stride;
    uint32_t count;
    uint32_t longest;    /* the longest needle's length */
    uint8_t *blob;       /* the needles, one after the other */
    uint64_t *starts;    /* where each needle starts in blob */
    uint32_t *lengths;   /* and its length */
    uint64_t *bitmap;    /* 2^bitmap_bits bits: three of a word for each window (bits_of) */
    uint32_t bitmap_bits;
    slot_t *slots;       /* open addressing on the top `slot_bits` bits of the hash */
    uint32_t slot_bits;
    entry_t *entries;
} td_literals;

static inline uint64_t load(const uint8_t *at) {
    uint64_t value;
    memcpy(&value, at, WINDOW); /* one unaligned load */
    return value;
}

static inline uint64_t hash(uint64_t window) {
    uint64_t h = window * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 31) ^ (h >> 47); /* the top bits pick a word and a slot; lower ones, 3 bits */
}

/* Each single bit of a word, looked up (measured: 1.3x faster than three variable shifts). */
static const uint64_t BIT[64] = {
#define B4(n) 1ULL << (n), 1ULL << ((n) + 1), 1ULL << ((n) + 2), 1ULL << ((n) + 3)
    B4(0),  B4(4),  B4(8),  B4(12), B4(16), B4(20), B4(24), B4(28),
    B4(32), B4(36), B4(40), B4(44), B4(48), B4(52), B4(56), B4(60),
#undef B4
};

/* Three bits in one 64-bit word of the bitmap (a blocked Bloom filter): one memory access per
 * probe, and about one probe in 300 goes on to the table (with one bit per window: one in 25). */
static inline uint64_t bits_of(uint64_t h) {
    return BIT[(h >> 8) & 63] | BIT[(h >> 14) & 63] | BIT[(h >> 20) & 63];
}

/* The version of these functions' signatures; literals.py's ABI must equal it. */
int td_abi(void) { return 2; }

void td_free(td_literals *set) {
    if (set == NULL) return;
    free(set->blob);
    free(set->starts);
    free(set->lengths);
    free(set->bitmap);
    free(set->slots);
    free(set->entries);
    free(set);
}

/* The set of `count` needles laid end to end in `blob` (`lengths` of each), searched every
 * `stride` bytes.  NULL when a needle is shorter than stride + 7, the lengths do not add up to
 * `size`, the set is too large, or memory runs out. */
td_literals *td_build(const uint8_t *blob, uint64_t size, const uint32_t *lengths, uint32_t count,
                      uint32_t stride) {
    if (count == 0 || stride == 0 || stride > 4096) return NULL;
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        if ((uint64_t)lengths[i] < (uint64_t)stride + WINDOW - 1) return NULL;
        total += lengths[i];
    }
    uint64_t n_entries = (uint64_t)count * stride;
    if (total != size || n_entries > (1ULL << 28)) return NULL;

    td_literals *set = calloc(1, sizeof *set);
    if (set == NULL) return NULL;
    set->stride = stride;
    set->count = count;
    /* 16 bits per window: 1,000 secrets in every form make a bitmap of 512 KB, which stays in
     * the cache (measured: a larger one stops paying once it leaves it) */
    uint32_t bits = 12;
    while ((1ULL << bits) < n_entries * 16) bits++;
    uint32_t slot_bits = 4;
    while ((1ULL << slot_bits) < n_entries * 2) slot_bits++; /* at most half full: probing ends */
    set->bitmap_bits = bits;
    set->slot_bits = slot_bits;
    set->blob = malloc(size);
    set->starts = malloc(count * sizeof *set->starts);
    set->lengths = malloc(count * sizeof *set->lengths);
    set->bitmap = calloc((1ULL << bits) / 64, sizeof *set->bitmap);
    set->slots = malloc((1ULL << slot_bits) * sizeof *set->slots);
    set->entries = malloc(n_entries * sizeof *set->entries);
    if (!set->blob || !set->starts || !set->lengths || !set->bitmap || !set->slots || !set->entries) {
        td_free(set);
        return NULL;
    }
    memcpy(set->blob, blob, size);
    for (uint64_t s = 0; s < (1ULL << slot_bits); s++) set->slots[s].head = EMPTY;

    const uint64_t mask = (1ULL << slot_bits) - 1;
    uint64_t at = 0, e = 0;
    for (uint32_t i = 0; i < count; i++) {
        set->starts[i] = at;
        set->lengths[i] = lengths[i];
        if (lengths[i] > set->longest) set->longest = lengths[i];
        for (uint32_t offset = 0; offset < stride; offset++) {
            uint64_t window = load(set->blob + at + offset);
            uint64_t h = hash(window);
            set->bitmap[h >> (64 - bits + 6)] |= bits_of(h);
            uint64_t s = (h >> (64 - slot_bits)) & mask;
            while (set->slots[s].head != EMPTY && set->slots[s].window != window) s = (s + 1) & mask;
            set->slots[s].window = window;
            set->entries[e] = (entry_t){i, offset, set->slots[s].head};
            set->slots[s].head = (int32_t)e;
            e++;
        }
        at += lengths[i];
    }
    return set;
}

/* Whether the window at `h` may be one of the needles' (all three of its bits are set). */
static inline int maybe(const uint64_t *bitmap, uint32_t shift, uint64_t h) {
    uint64_t want = bits_of(h);
    return (bitmap[h >> shift] & want) == want;
}

/* The needles whose window at `offset` is `window`, compared whole where data[p:] holds that
 * window: each copy is written at `found` while there is room; returns the new count. */
static uint64_t confirm(const td_literals *set, const uint8_t *data, uint64_t n, uint64_t p, uint64_t h,
                        uint32_t *needles, uint64_t *starts, uint64_t capacity, uint64_t found) {
    const uint64_t window = load(data + p), mask = (1ULL << set->slot_bits) - 1;
    uint64_t s = (h >> (64 - set->slot_bits)) & mask;
    while (set->slots[s].head != EMPTY && set->slots[s].window != window) s = (s + 1) & mask;
    for (int32_t e = set->slots[s].head; e != EMPTY; e = set->entries[e].next) {
        const entry_t *entry = &set->entries[e];
        if (p < entry->offset) continue; /* the copy would start before the buffer */
        uint64_t start = p - entry->offset;
        uint32_t length = set->lengths[entry->needle];
        if (length > n - start) continue; /* it would end after it */
        if (memcmp(data + start, set->blob + set->starts[entry->needle], length) != 0) continue;
        if (found < capacity) {
            needles[found] = entry->needle;
            starts[found] = start;
        }
        found++;
    }
    return found;
}

/* Every copy of every needle in data[0:n], as (needle, start) in `needles` and `starts`, at most
 * `capacity` of them; returns how many there are (more than `capacity`: call again with room). */
uint64_t td_find(const td_literals *set, const uint8_t *data, uint64_t n, uint32_t *needles,
                 uint64_t *starts, uint64_t capacity) {
    if (set == NULL || n < WINDOW) return 0;
    const uint64_t stride = set->stride, last = n - WINDOW;
    const uint32_t shift = 64 - set->bitmap_bits + 6;
    const uint64_t *bitmap = set->bitmap;
    uint64_t found = 0;
    for (uint64_t p = 0; p <= last; p += stride) {
        uint64_t h = hash(load(data + p));
        if (maybe(bitmap, shift, h)) found = confirm(set, data, n, p, h, needles, starts, capacity, found);
    }
    return found;
}

/* ---- Whole files: read piece by piece and searched here, for the files with nothing to say ---- */

/* Whether the file at `path` is one the scan reads and finds nothing in: a regular file of user
 * `uid`, at most `max_size` bytes, no NUL byte in its first `probe` bytes, and no copy of a needle.
 * Its size then; BINARY when it is such a file but for a NUL byte in its first `probe` bytes (the
 * scan skips it unread: no more than one piece was read); else -1 (not such a file, an error, a
 * copy, or it changed while read), and the caller opens it again itself to say which.  It is read
 * into `buffer` (`capacity` bytes) a piece at a time, each piece searched while it is in the cache,
 * with the last longest-1 bytes of one kept before the next so a copy across two pieces is whole in
 * one search. */
static int64_t clean_file(const td_literals *set, const char *path, uint32_t uid, uint64_t max_size,
                          uint64_t probe, uint8_t *buffer, uint64_t capacity) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat info;
    int64_t result = -1;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != uid || info.st_size < 0 ||
        (uint64_t)info.st_size > max_size)
        goto done;
    const uint64_t overlap = set->longest - 1;
    uint64_t kept = 0, total = 0;
    int copy = 0; /* a copy was found: -1, once the first `probe` bytes are known to hold no NUL */
    for (;;) {
        ssize_t got = read(fd, buffer + kept, capacity - kept);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) goto done;
        if (got == 0) break;
        uint64_t n = (uint64_t)got;
        if (total < probe && memchr(buffer + kept, 0, n < probe - total ? n : probe - total) != NULL) {
            result = BINARY; /* as the scan decides: a binary before any copy in it */
            goto done;
        }
        total += n;
        if (total > max_size) goto done;
        copy = copy || td_find(set, buffer, kept + n, NULL, NULL, 0) != 0;
        if (copy && total >= probe) goto done;
        uint64_t keep = kept + n < overlap ? kept + n : overlap;
        memmove(buffer, buffer + kept + n - keep, keep);
        kept = keep;
    }
    if (!copy && total == (uint64_t)info.st_size) result = (int64_t)total;
done:
    close(fd);
    return result;
}

/* clean_file for each of `count` paths in `paths` (each ended by a NUL byte, one after another),
 * its answer in `sizes`; returns how many were not a size.  `capacity` must be at least twice the
 * longest needle (else every answer is -1).  Opens, reads and searches without the caller's lock:
 * ctypes releases Python's, so threads scan files side by side. */
uint64_t td_clean_files(const td_literals *set, const char *paths, uint32_t count, uint32_t uid,
                        uint64_t max_size, uint64_t probe, uint8_t *buffer, uint64_t capacity, int64_t *sizes) {
    uint64_t others = 0;
    const int usable = set != NULL && capacity >= 2 * (uint64_t)set->longest;
    for (uint32_t i = 0; i < count; i++) {
        sizes[i] = usable ? clean_file(set, paths, uid, max_size, probe, buffer, capacity) : -1;
        others += sizes[i] < 0;
        paths += strlen(paths) + 1;
    }
    return others;
}

/* ---- Runs of token characters, for the previous values (kept only as keyed hashes) ---- */

/* A-Z a-z 0-9 . _ ~ + / = -: the bytes a token is made of, as scan_match._TOKEN_CHARS says (a test
 * checks every byte against it). */
static const uint8_t TOKEN[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Whether the run data[start:end] may hold a value of one of `lengths` (ascending): one that ends
 * where the run does (or one byte before, at a full stop) and starts where it does or after an
 * "=" or a "/" in it (NAME=value, https://TOKEN@host; scan_match._STARTS, which a test checks). */
static int holds_length(const uint8_t *data, uint64_t start, uint64_t end, const uint32_t *lengths,
                        uint32_t count) {
    for (int stop = 0; stop < 2; stop++) {
        uint64_t last = end - (uint64_t)stop;
        if (stop && data[end - 1] != '.') break;
        for (uint32_t i = 0; i < count && lengths[i] <= last - start; i++) {
            uint64_t begin = last - lengths[i];
            if (begin == start || data[begin - 1] == '=' || data[begin - 1] == '/') return 1;
        }
    }
    return 0;
}

/* Where each maximal run of token characters in data[0:n] ends that may hold a value of one of
 * `lengths` (ascending, the shortest at least 1), in order, into `ends` while there is room;
 * returns how many there are.  A run at least as long as the shortest length holds an offset
 * that is a multiple of it, so only those offsets are looked at first; the bytes of a run found
 * there are read once to find its ends, and the next look is past it.  Prose (short words) costs
 * a byte in every `lengths[0]`; text of long runs (base64) is read whole, once. */
uint64_t td_run_ends(const uint8_t *data, uint64_t n, const uint32_t *lengths, uint32_t count, uint64_t *ends,
                     uint64_t capacity) {
    if (count == 0 || lengths[0] == 0) return 0;
    const uint64_t step = lengths[0];
    uint64_t found = 0, floor = 0;
    for (uint64_t p = 0; p < n;) {
        if (!TOKEN[data[p]]) {
            p += step;
            continue;
        }
        uint64_t start = p, end = p + 1;
        while (start > floor && TOKEN[data[start - 1]]) start--;
        while (end < n && TOKEN[data[end]]) end++;
        if (end - start >= step && holds_length(data, start, end, lengths, count)) {
            if (found < capacity) ends[found] = end;
            found++;
        }
        floor = end;
        p = (end / step + 1) * step; /* data[end] is no token character: the next look is past it */
    }
    return found;
}
