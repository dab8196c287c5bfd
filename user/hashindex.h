/* SPDX-License-Identifier: GPL-2.0-only */
/* An open-addressing index over an array of items: each slot holds an
 * item's position + 1 (0 is empty), probed linearly, kept at most half full.
 * Lookups, which know the items' keys, stay with the array's owner. */
#ifndef PYBPF_HASHINDEX_H
#define PYBPF_HASHINDEX_H

#include <stddef.h>
#include <stdint.h>

struct hash_index {
	size_t *slots;
	size_t cap; /* a power of two, or 0 before the first item */
};

/* The hash of item i of the array ctx. */
typedef uint64_t (*hash_index_hash_fn)(const void *ctx, size_t i);

/* Keeps room for item n (items 0..n-1 are in the index): when it would be
 * over half full, a table twice the size (first_cap at first) with the items
 * added again. 0, or -ENOMEM with the index unchanged. */
int hash_index_reserve(struct hash_index *x, size_t n, size_t first_cap, hash_index_hash_fn hash,
		       const void *ctx);
/* The first slot for hash, and the one after slot, to probe in turn. */
size_t hash_index_start(const struct hash_index *x, uint64_t hash);
size_t hash_index_next(const struct hash_index *x, size_t slot);
void hash_index_free(struct hash_index *x);

#endif
