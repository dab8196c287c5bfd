// SPDX-License-Identifier: GPL-2.0-only
#include "bpfutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!pybpf_verbose)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

void bpfutil_quiet_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

int bpfutil_start(size_t *ncpus, struct pybpf_err *err)
{
	int ret;

	bpfutil_quiet_libbpf();
	ret = libbpf_num_possible_cpus();
	if (ret < 0) {
		err_set(err, "cannot count the possible CPUs: %s", strerror(-ret));
		return -1;
	}
	*ncpus = (size_t)ret;
	return 0;
}

void bpfutil_load_failed(struct pybpf_err *err, const char *what, int e)
{
	err_set(err, "cannot load the %s: %s%s", what, strerror(e),
		e == EACCES ? " (hint: the kernel's verifier refused them; -v shows its log)"
			    : bpf_hint_for(e));
}

void bpfutil_sum_percpu(struct bpf_map *map, size_t ncpus, uint64_t *sum, __u32 n)
{
	uint64_t *vals = calloc(ncpus, sizeof(*vals));

	for (__u32 k = 0; vals && k < n; k++) {
		if (bpf_map__lookup_elem(map, &k, sizeof(k), vals, ncpus * sizeof(*vals), 0))
			continue;
		for (size_t c = 0; c < ncpus; c++)
			sum[k] += vals[c];
	}
	free(vals);
}

const char *bpf_hint_for(int err)
{
	if (err == EPERM || err == EACCES)
		return " (hint: run as root, or with CAP_BPF and CAP_PERFMON)";
	return "";
}

struct pybpf_span span_of(__u32 a, __u32 b, __u32 c, __u32 d)
{
	__u32 offs[4] = { a, b, c, d };
	struct pybpf_span sp = { .lo = PYBPF_NO_OFFSET, .hi = 0 };

	for (int i = 0; i < 4; i++) {
		if (offs[i] == PYBPF_NO_OFFSET)
			continue;
		sp.lo = offs[i] < sp.lo ? offs[i] : sp.lo;
		sp.hi = offs[i] > sp.hi ? offs[i] : sp.hi;
	}
	return sp;
}

/* Bytes a map may hold at most: entries times key and value (one value
 * per CPU for per-CPU maps); a ring buffer's size. */
static uint64_t map_bytes(const struct bpf_map *m, size_t ncpus)
{
	uint64_t per = (uint64_t)bpf_map__key_size(m) + bpf_map__value_size(m);

	switch (bpf_map__type(m)) {
	case BPF_MAP_TYPE_RINGBUF:
		return bpf_map__max_entries(m);
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		per = bpf_map__key_size(m) + (uint64_t)bpf_map__value_size(m) * ncpus;
		break;
	default:
		break;
	}
	return per * bpf_map__max_entries(m);
}

uint64_t bpfutil_map_bytes(const struct bpf_object *obj, size_t ncpus)
{
	const struct bpf_map *m;
	uint64_t total = 0;

	bpf_object__for_each_map(m, obj)
		total += map_bytes(m, ncpus);
	return total;
}
