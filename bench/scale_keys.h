/* The keys of the scale benchmark: entry i of a filled store is the blob with digest
 * scale_digest(i) in repository scale_repository(i). Shared by the filler (C++) and the load
 * client (C) so that the client can name any entry without a list of 10^7 URLs. The digests
 * are pseudo-random, as real ones are, so that entries spread over the B+tree as a cache
 * filled by pulls would; the repositories are a few hundred, as on a busy edge. */
#ifndef REGISTRY_CACHE_BENCH_SCALE_KEYS_H
#define REGISTRY_CACHE_BENCH_SCALE_KEYS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SCALE_REPOSITORIES 500u
/* Content-Length of every filled entry: the length of the text the `return 200` target
 * sends, so that both answer with the same headers. */
#define SCALE_BLOB_SIZE 64u
#define SCALE_MEDIA_TYPE "application/vnd.oci.image.layer.v1.tar+gzip"

/* splitmix64: a bijection of 64-bit integers with well-mixed output. */
static inline uint64_t scale_mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* "library/app-NNN": at least 16 bytes. */
static inline void scale_repository(uint64_t i, char out[32]) {
    snprintf(out, 32, "library/app-%03u", (unsigned)(scale_mix(i ^ 0x5ca1e) % SCALE_REPOSITORIES));
}

/* "sha256:" and 64 lowercase hex: at least 72 bytes. */
static inline void scale_digest(uint64_t i, char out[72]) {
    static const char hex[] = "0123456789abcdef";
    int k, j;
    memcpy(out, "sha256:", 7);
    for (k = 0; k < 4; ++k) {
        uint64_t word = scale_mix(i * 4 + (uint64_t)k);
        for (j = 0; j < 16; ++j) out[7 + k * 16 + j] = hex[(word >> (60 - 4 * j)) & 0xf];
    }
    out[71] = '\0';
}

#endif
