// SPDX-License-Identifier: GPL-2.0-only
#include "hashindex.h"

#include <errno.h>
#include <stdlib.h>

size_t hash_index_start(const struct hash_index *x, uint64_t hash)
{
	return (size_t)hash & (x->cap - 1);
}

size_t hash_index_next(const struct hash_index *x, size_t slot)
{
	return (slot + 1) & (x->cap - 1);
}

int hash_index_reserve(struct hash_index *x, size_t n, size_t first_cap, hash_index_hash_fn hash,
		       const void *ctx)
{
	size_t cap = x->cap ? x->cap * 2 : first_cap;
	size_t *slots;

	if ((n + 1) * 2 <= x->cap)
		return 0;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(x->slots);
	x->slots = slots;
	x->cap = cap;
	for (size_t i = 0; i < n; i++) {
		size_t s = hash_index_start(x, hash(ctx, i));

		while (slots[s])
			s = hash_index_next(x, s);
		slots[s] = i + 1;
	}
	return 0;
}

void hash_index_free(struct hash_index *x)
{
	free(x->slots);
	x->slots = NULL;
	x->cap = 0;
}
