// SPDX-License-Identifier: GPL-2.0-only
#include "testlimits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define MAX_CAP (1u << 20)

static uint64_t maps_memlock; /* bytes, over every object noted */

uint32_t testlimits_parse_entries(const char *s)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > MAX_CAP)
		return 0;
	return (uint32_t)v;
}

static bool is_hash(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

void testlimits_cap_maps(struct bpf_object *obj)
{
	uint32_t cap = testlimits_parse_entries(getenv("PYBPF_TEST_MAP_ENTRIES"));
	struct bpf_map *m;

	if (!cap)
		return;
	bpf_object__for_each_map(m, obj) {
		if (is_hash(bpf_map__type(m)) && bpf_map__max_entries(m) > cap)
			bpf_map__set_max_entries(m, cap);
	}
}

/* The value of the line "<field>:\t<value>" in text, or NULL. */
static const char *field_value(const char *text, const char *field)
{
	size_t n = strlen(field);

	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, field, n) && p[n] == ':')
			return p + n + 1;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

long testlimits_peak_rss_kb(const char *status)
{
	const char *v = field_value(status, "VmHWM");
	char *end;
	long kb;

	if (!v)
		return -1;
	errno = 0;
	kb = strtol(v, &end, 10);
	if (errno || end == v || kb < 0 || strncmp(end, " kB", 3))
		return -1;
	return kb;
}

long long testlimits_memlock(const char *fdinfo)
{
	const char *v = field_value(fdinfo, "memlock");
	char *end;
	long long b;

	if (!v)
		return -1;
	errno = 0;
	b = strtoll(v, &end, 10);
	if (errno || end == v || b < 0)
		return -1;
	return b;
}

/* The first bytes of a /proc file, NUL-terminated; 0 or -1. */
static int read_proc(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static bool peak_rss_wanted(void)
{
	const char *v = getenv("PYBPF_TEST_PEAK_RSS");

	return v && !strcmp(v, "1");
}

void testlimits_note_maps(const struct bpf_object *obj)
{
	const struct bpf_map *m;
	char path[64], buf[1024];
	long long b;

	if (!peak_rss_wanted())
		return;
	bpf_object__for_each_map(m, obj) {
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bpf_map__fd(m));
		if (bpf_map__fd(m) >= 0 && !read_proc(path, buf, sizeof(buf)) &&
		    (b = testlimits_memlock(buf)) > 0)
			maps_memlock += (uint64_t)b;
	}
}

void testlimits_report(FILE *out)
{
	char buf[4096];
	long kb = -1;

	if (!peak_rss_wanted())
		return;
	if (!read_proc("/proc/self/status", buf, sizeof(buf)))
		kb = testlimits_peak_rss_kb(buf);
	fprintf(out, "pybpf-prof: test: peak RSS %ld kB, BPF maps %llu bytes (memlock)\n", kb,
		(unsigned long long)maps_memlock);
}
