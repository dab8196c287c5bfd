// SPDX-License-Identifier: GPL-2.0-only
/* linetable.c: the line of every instruction of every code object dumped
 * from real interpreters (tests/unit/fixtures/linetables/, made by its
 * gen.py), and malformed tables: empty, truncated, odd-sized, with varints
 * that do not end and deltas that overflow. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linetable.h"

#define NO_LINE INT32_MIN /* '-' in a fixture: CPython gives no line */

/* One code object of a fixture. */
struct fixture_code {
	char name[128];
	int32_t firstlineno;
	uint8_t *table;
	size_t table_len;
	int32_t *lines; /* per code unit, NO_LINE where CPython has none */
	size_t units;
};

static void fixture_dir(char *path, size_t n)
{
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__ + 1) : 0;

	snprintf(path, n, "%.*sfixtures/linetables", dir, __FILE__);
	if (access(path, R_OK))
		fail_msg("fixtures %s: %s (run from the source tree's top)", path, strerror(errno));
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	fail_msg("bad hex digit '%c'", c);
	return 0;
}

/* "table HEX" into a buffer of exactly the table's size (ASan sees overreads). */
static void parse_table(const char *hex, struct fixture_code *c)
{
	size_t n = strlen(hex);

	assert_int_equal(n % 2, 0);
	c->table_len = n / 2;
	c->table = malloc(c->table_len ? c->table_len : 1);
	assert_non_null(c->table);
	for (size_t i = 0; i < c->table_len; i++)
		c->table[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
}

/* "lines RUN RUN ...", each RUN LINE or LINE*COUNT, LINE a number or '-'. */
static void parse_lines(char *runs, struct fixture_code *c)
{
	size_t at = 0;
	char *save, *tok;

	c->lines = calloc(c->units ? c->units : 1, sizeof(*c->lines));
	assert_non_null(c->lines);
	for (tok = strtok_r(runs, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *star = strchr(tok, '*');
		long count = star ? strtol(star + 1, NULL, 10) : 1;
		int32_t line = tok[0] == '-' ? NO_LINE : (int32_t)strtol(tok, NULL, 10);

		assert_true(count > 0 && at + (size_t)count <= c->units);
		while (count--)
			c->lines[at++] = line;
	}
	assert_int_equal(at, c->units);
}

/* The codes of one fixture file, in *codes (malloc'ed); their number. */
static size_t load_fixture(const char *path, struct fixture_code **codes)
{
	size_t len, n = 0;
	char *text = test_read_file(path, &len), *save, *line;
	struct fixture_code *c = NULL;

	text[len] = '\0';
	*codes = NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "code ", 5)) {
			*codes = realloc(*codes, (n + 1) * sizeof(**codes));
			assert_non_null(*codes);
			c = &(*codes)[n++];
			memset(c, 0, sizeof(*c));
			assert_int_equal(sscanf(line, "code %127s %d %zu", c->name, &c->firstlineno,
						&c->units), 3);
		} else if (!strncmp(line, "table", 5)) {
			assert_non_null(c);
			parse_table(line[5] == ' ' ? line + 6 : "", c);
		} else if (!strncmp(line, "lines ", 6)) {
			assert_non_null(c);
			parse_lines(line + 6, c);
		} else {
			assert_int_equal(line[0], '#');
		}
	}
	free(text);
	for (size_t i = 0; i < n; i++)
		assert_true((*codes)[i].table && (*codes)[i].lines);
	return n;
}

static void free_fixture(struct fixture_code *codes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(codes[i].table);
		free(codes[i].lines);
	}
	free(codes);
}

/* What the profiler wants: CPython's line, or for an instruction without
 * one the line of the closest preceding instruction that has one. */
static int32_t wanted_line(const struct fixture_code *c, size_t unit)
{
	for (size_t i = unit + 1; i-- > 0;) {
		if (c->lines[i] != NO_LINE)
			return c->lines[i];
	}
	return c->firstlineno;
}

/* Every unit of every code object; returns the units checked. */
static size_t check_codes(const char *file, int minor, const struct fixture_code *codes, size_t n)
{
	size_t checked = 0;

	for (size_t k = 0; k < n; k++) {
		const struct fixture_code *c = &codes[k];

		for (size_t i = 0; i < c->units; i++, checked++) {
			int32_t want = wanted_line(c, i);
			int32_t got = linetable_line(minor, c->table, c->table_len, c->firstlineno,
						     (int32_t)i);

			if (got != want)
				fail_msg("%s: %s (line %d) unit %zu: got line %d, want %d", file,
					 c->name, c->firstlineno, i, got, want);
		}
		assert_int_equal(linetable_line(minor, c->table, c->table_len, c->firstlineno, -1),
				 c->firstlineno);
	}
	return checked;
}

/* Every prefix of every table, asked for its last unit (the whole prefix is
 * walked): read within its bytes (ASan checks), and never negative. */
static void check_truncations(const struct fixture_code *codes, size_t n, int minor)
{
	for (size_t k = 0; k < n; k++) {
		const struct fixture_code *c = &codes[k];

		for (size_t len = 0; len < c->table_len; len++) {
			uint8_t *prefix = malloc(len ? len : 1);

			assert_non_null(prefix);
			memcpy(prefix, c->table, len);
			assert_true(linetable_line(minor, prefix, len, c->firstlineno,
						   (int32_t)c->units) >= 0);
			free(prefix);
		}
	}
}

static int minor_of(const char *file)
{
	int major, minor;

	if (sscanf(file, "cpython-%d.%d.", &major, &minor) != 2 || major != 3)
		fail_msg("fixture %s: no version in its name", file);
	return minor;
}

static void test_real_tables(void **state)
{
	char dir[4096], path[4400];
	bool seen[16] = { false };
	size_t files = 0, units = 0;
	struct dirent *e;
	DIR *d;

	(void)state;
	fixture_dir(dir, sizeof(dir));
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		struct fixture_code *codes;
		size_t n, len = strlen(e->d_name);
		int minor;

		if (strncmp(e->d_name, "cpython-", 8) || len < 4 ||
		    strcmp(e->d_name + len - 4, ".txt"))
			continue;
		minor = minor_of(e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = load_fixture(path, &codes);
		assert_true(n >= 15);
		units += check_codes(e->d_name, minor, codes, n);
		check_truncations(codes, n, minor);
		free_fixture(codes, n);
		seen[minor & 15] = true;
		files++;
	}
	closedir(d);
	/* Every format, and every minor the profiler supports. */
	for (int minor = 9; minor <= 15; minor++) {
		if (!seen[minor])
			fail_msg("no line table fixture for 3.%d", minor);
	}
	assert_true(files >= 7);
	print_message("%zu fixture files, %zu instructions checked\n", files, units);
}

/* ---- malformed tables ---- */

static void test_empty_table(void **state)
{
	static const uint8_t byte = 0xff;

	(void)state;
	for (int minor = 9; minor <= 15; minor++) {
		assert_int_equal(linetable_line(minor, NULL, 0, 42, 0), 42);
		/* A NULL table has no bytes, whatever n says. */
		assert_int_equal(linetable_line(minor, NULL, 100, 42, 7), 42);
		assert_int_equal(linetable_line(minor, &byte, 0, 42, 1000), 42);
		assert_int_equal(linetable_line(minor, &byte, 0, 42, INT32_MAX), 42);
		assert_int_equal(linetable_line(minor, &byte, 1, 42, -1), 42);
		assert_int_equal(linetable_line(minor, NULL, 0, -5, -1), 0); /* never negative */
	}
}

static void test_lnotab_39(void **state)
{
	/* Bytes 0-1 on the first line, 2-5 one line on, then 4 lines back at 6. */
	static const uint8_t t[] = { 2, 1, 4, 0xfc };
	/* An odd trailing byte is half a pair: ignored. */
	static const uint8_t odd[] = { 2, 1, 4 };

	(void)state;
	assert_int_equal(linetable_line(9, t, sizeof(t), 10, 0), 10);
	assert_int_equal(linetable_line(9, t, sizeof(t), 10, 1), 11);
	assert_int_equal(linetable_line(9, t, sizeof(t), 10, 2), 11);
	assert_int_equal(linetable_line(9, t, sizeof(t), 10, 3), 7);
	assert_int_equal(linetable_line(9, t, sizeof(t), 10, 1000), 7);
	assert_int_equal(linetable_line(9, odd, sizeof(odd), 10, 5), 11);
	/* 3.8 and older wrote the same format. */
	assert_int_equal(linetable_line(8, t, sizeof(t), 10, 3), 7);
}

static void test_linetable_310(void **state)
{
	/* Units 0-1 +2 lines, 2-3 no line, 4-5 +1 line; then a large jump made
	 * of a zero-length range. */
	static const uint8_t t[] = { 4, 2, 4, 0x80, 4, 1, 0, 127, 2, 3 };
	static const uint8_t no_line_first[] = { 4, 0x80, 2, 5 };

	(void)state;
	assert_int_equal(linetable_line(10, t, sizeof(t), 7, 0), 9);
	assert_int_equal(linetable_line(10, t, sizeof(t), 7, 1), 9);
	assert_int_equal(linetable_line(10, t, sizeof(t), 7, 2), 9); /* no line: the one before */
	assert_int_equal(linetable_line(10, t, sizeof(t), 7, 3), 9);
	assert_int_equal(linetable_line(10, t, sizeof(t), 7, 4), 10);
	assert_int_equal(linetable_line(10, t, sizeof(t), 7, 6), 140);
	assert_int_equal(linetable_line(10, t, sizeof(t), 7, 7), 140); /* past the end */
	assert_int_equal(linetable_line(10, no_line_first, sizeof(no_line_first), 7, 0), 7);
	assert_int_equal(linetable_line(10, no_line_first, sizeof(no_line_first), 7, 2), 12);
	/* Truncated in the middle of a pair. */
	assert_int_equal(linetable_line(10, t, 3, 7, 5), 9);
}

/* Location table entry bytes: kind (0-15) and length in code units (1-8). */
#define LOC(kind, units) ((uint8_t)(0x80 | (kind) << 3 | ((units) - 1)))

static void test_locations_311(void **state)
{
	/* Short form (kind 2, 3 units, column byte), no location (2 units),
	 * one-line +2 (1 unit, 2 column bytes), no-column form -3 (svarint 7). */
	static const uint8_t t[] = { LOC(2, 3), 0x11, LOC(15, 2), LOC(12, 1), 4, 9,
				     LOC(13, 2), 7 };
	/* A two-chunk varint: +100 = 200 = 0x08 | 0x40, then 3 (200 >> 6). */
	static const uint8_t long_form[] = { LOC(14, 1), 0x48, 3, 0, 0, 0, LOC(10, 1), 0, 0 };
	/* Bytes that start no entry before the first one are skipped. */
	static const uint8_t garbage[] = { 0x01, 0x7f, LOC(11, 1), 0, 0 };

	(void)state;
	assert_int_equal(linetable_line(11, t, sizeof(t), 20, 0), 20);
	assert_int_equal(linetable_line(11, t, sizeof(t), 20, 2), 20);
	assert_int_equal(linetable_line(11, t, sizeof(t), 20, 3), 20); /* no location */
	assert_int_equal(linetable_line(11, t, sizeof(t), 20, 4), 20);
	assert_int_equal(linetable_line(11, t, sizeof(t), 20, 5), 22);
	assert_int_equal(linetable_line(11, t, sizeof(t), 20, 6), 19);
	assert_int_equal(linetable_line(11, t, sizeof(t), 20, 7), 19);
	assert_int_equal(linetable_line(11, t, sizeof(t), 20, 8), 19); /* past the end */
	assert_int_equal(linetable_line(15, long_form, sizeof(long_form), 1, 0), 101);
	assert_int_equal(linetable_line(15, long_form, sizeof(long_form), 1, 1), 101);
	assert_int_equal(linetable_line(12, garbage, sizeof(garbage), 5, 0), 6);
}

static void test_truncated_varint(void **state)
{
	/* The varint's continuation bit promises a byte the table lacks. */
	static const uint8_t cut[] = { LOC(13, 1), 0x44 };
	uint8_t endless[1 + 100];

	(void)state;
	assert_int_equal(linetable_line(11, cut, sizeof(cut), 10, 0), 12);
	assert_int_equal(linetable_line(11, cut, 1, 10, 0), 10);
	assert_int_equal(linetable_line(11, cut, sizeof(cut), 10, 5), 12);

	/* A varint that never ends: read up to its bound; positive and huge. */
	endless[0] = LOC(14, 1);
	memset(endless + 1, 0x7e, sizeof(endless) - 1);
	assert_int_equal(linetable_line(13, endless, sizeof(endless), 10, 0), INT32_MAX);
	/* Odd: negative and huge, which gives no line below 0. */
	memset(endless + 1, 0x7f, sizeof(endless) - 1);
	assert_int_equal(linetable_line(13, endless, sizeof(endless), 10, 0), 0);
}

static void test_huge_deltas(void **state)
{
	enum { PAIRS = 40000, ENTRIES = 4096, ENTRY = 8 };
	uint8_t *t = malloc(2 * PAIRS), *loc = malloc(ENTRIES * ENTRY);

	(void)state;
	assert_non_null(t);
	assert_non_null(loc);
	/* 3.9/3.10: 40000 jumps of +127 (from INT32_MAX - 10) or of -128/-127. */
	for (int i = 0; i < PAIRS; i++)
		t[2 * i] = 0, t[2 * i + 1] = 127;
	assert_int_equal(linetable_line(9, t, 2 * PAIRS, 1, 0), 1 + 127 * PAIRS);
	assert_int_equal(linetable_line(9, t, 2 * PAIRS, INT32_MAX - 10, 0), INT32_MAX);
	for (int i = 0; i < PAIRS; i++)
		t[2 * i] = 1, t[2 * i + 1] = 0x81;
	assert_int_equal(linetable_line(10, t, 2 * PAIRS, 100, PAIRS), 0);
	for (int i = 0; i < PAIRS; i++)
		t[2 * i] = 255, t[2 * i + 1] = 0x80;
	assert_int_equal(linetable_line(9, t, 2 * PAIRS, 50, INT32_MAX), 0);

	/* 3.11+: thousands of entries each moving the line by about 2^35 up,
	 * then as far down: held within bounds, no overflow (UBSan checks). */
	for (int i = 0; i < ENTRIES; i++) {
		uint8_t *e = loc + i * ENTRY;

		e[0] = LOC(14, 1);
		memset(e + 1, i < ENTRIES / 2 ? 0x7e : 0x7f, 5);
		e[6] = 0x3f; /* the last chunk */
		e[7] = 0;
	}
	assert_int_equal(linetable_line(14, loc, ENTRIES * ENTRY, 1, ENTRIES / 2 - 1), INT32_MAX);
	assert_int_equal(linetable_line(14, loc, ENTRIES * ENTRY, 1, ENTRIES), 0);
	assert_true(linetable_line(14, loc, ENTRIES * ENTRY, 1, INT32_MAX) >= 0);
	free(t);
	free(loc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_tables),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_lnotab_39),
		cmocka_unit_test(test_linetable_310),
		cmocka_unit_test(test_locations_311),
		cmocka_unit_test(test_truncated_varint),
		cmocka_unit_test(test_huge_deltas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
