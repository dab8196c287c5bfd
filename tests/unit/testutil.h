/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers shared by the unit tests (include after cmocka.h). */
#ifndef PYBPF_TESTUTIL_H
#define PYBPF_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file at path, malloc'ed (one spare byte at the end); fails the test otherwise. */
static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#endif
