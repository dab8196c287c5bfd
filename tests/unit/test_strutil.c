// SPDX-License-Identifier: GPL-2.0-only
/* strutil.c: UTF-8 clean-up of strings read from the target, and escaping
 * for the terminal. The random cases are checked against a second decoder
 * written here from the Unicode table of well-formed byte sequences
 * (Unicode 15, table 3-7). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

#define FFFD "\xef\xbf\xbd"

static void expect_sanitized(const char *in, const char *want)
{
	char *got = utf8_sanitize(in);

	assert_non_null(got);
	if (strcmp(got, want)) {
		char msg[512] = "";
		size_t o = 0;

		for (const unsigned char *p = (const unsigned char *)got; *p && o + 4 < sizeof(msg);
		     p++)
			o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%02x ", *p);
		free(got);
		fail_msg("sanitized to %s", msg);
	}
	free(got);
}

/* ---- utf8_sanitize ---- */

static void test_sanitize_valid_kept(void **state)
{
	static const char *const valid[] = {
		"",
		"plain ascii /usr/lib/python3.9/x.py <module>",
		"\x01\x1f\x7f",                   /* controls are valid UTF-8 */
		"\xc2\x80",                       /* U+0080, the first 2-byte */
		"\xc3\xa9t\xc3\xa9",              /* été */
		"\xdf\xbf",                       /* U+07FF */
		"\xe0\xa0\x80",                   /* U+0800, the first 3-byte */
		"\xe2\x82\xac",                   /* € */
		"\xed\x9f\xbf",                   /* U+D7FF, below the surrogates */
		"\xee\x80\x80",                   /* U+E000, above them */
		"\xef\xbf\xbd\xef\xbf\xbf",       /* U+FFFD U+FFFF */
		"\xf0\x90\x80\x80",               /* U+10000, the first 4-byte */
		"\xf0\x9d\x84\x9e",               /* 𝄞 */
		"\xf4\x8f\xbf\xbf",               /* U+10FFFF, the last */
		"\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x90\x8d.py",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		expect_sanitized(valid[i], valid[i]);
}

static void test_sanitize_invalid_replaced(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		/* Bytes that never start a sequence. */
		{ "a\xff" "b", "a" FFFD "b" },
		{ "\xfe\xf5\xf8", FFFD FFFD FFFD },
		{ "\x80", FFFD },                                 /* lone continuation */
		{ "\xbf\xbf", FFFD FFFD },
		/* Overlong forms. */
		{ "\xc0\x80", FFFD FFFD },                        /* NUL in 2 bytes */
		{ "\xc1\xbf", FFFD FFFD },
		{ "\xe0\x80\x80", FFFD FFFD FFFD },
		{ "\xe0\x9f\xbf", FFFD FFFD FFFD },               /* U+07FF in 3 bytes */
		{ "\xf0\x80\x80\x80", FFFD FFFD FFFD FFFD },
		{ "\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD },      /* U+FFFF in 4 bytes */
		/* Surrogates. */
		{ "\xed\xa0\x80", FFFD FFFD FFFD },               /* U+D800 */
		{ "\xed\xbf\xbf", FFFD FFFD FFFD },               /* U+DFFF */
		{ "\xed\xa0\xbd\xed\xb0\x8d", FFFD FFFD FFFD FFFD FFFD FFFD }, /* CESU-8 pair */
		/* Past U+10FFFF. */
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },
		{ "\xf7\xbf\xbf\xbf", FFFD FFFD FFFD FFFD },
		/* Truncated sequences: at the end, and followed by ASCII or a new start. */
		{ "\xc3", FFFD },
		{ "a\xe2\x82", "a" FFFD FFFD },
		{ "\xf0\x9d\x84", FFFD FFFD FFFD },
		{ "\xe2\x82x", FFFD FFFD "x" },
		{ "\xe2\xc3\xa9", FFFD "\xc3\xa9" },
		{ "\xf0\x9d\xe2\x82\xac", FFFD FFFD "\xe2\x82\xac" },
		/* Good sequences around bad bytes are kept. */
		{ "\xc3\xa9\xff\xc3\xa9", "\xc3\xa9" FFFD "\xc3\xa9" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_sanitized(cases[i].in, cases[i].want);
}

/* Every byte bad: the output is three times as long, and ASan sees the
 * buffer is exactly big enough. */
static void test_sanitize_worst_case(void **state)
{
	enum { N = 1000 };
	char *in = malloc(N + 1), *out;

	(void)state;
	assert_non_null(in);
	memset(in, 0xff, N);
	in[N] = '\0';
	out = utf8_sanitize(in);
	assert_non_null(out);
	assert_int_equal(strlen(out), 3 * N);
	for (size_t i = 0; i < N; i++)
		assert_memory_equal(out + 3 * i, FFFD, 3);
	free(out);
	free(in);
}

/* Length of the well-formed sequence at s (table 3-7), 0 if there is none. */
static size_t ref_seq_len(const unsigned char *s)
{
	static const struct {
		unsigned char lo0, hi0, lo1, hi1;
		size_t len;
	} rows[] = {
		{ 0x00, 0x7f, 0, 0, 1 },
		{ 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 },
		{ 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 },
		{ 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 },
		{ 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0)
			continue;
		if (rows[r].len == 1)
			return 1;
		if (s[1] < rows[r].lo1 || s[1] > rows[r].hi1)
			return 0;
		for (size_t i = 2; i < rows[r].len; i++) {
			if (s[i] < 0x80 || s[i] > 0xbf)
				return 0;
		}
		return rows[r].len;
	}
	return 0;
}

static bool ref_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t len = ref_seq_len(p);

		if (!len)
			return false;
		p += len;
	}
	return true;
}

/* Random byte strings, drawn mostly from the bytes where UTF-8 has edges. */
static void test_sanitize_random(void **state)
{
	static const unsigned char edges[] = {
		'a', '/', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
		0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
	};
	unsigned int seed = 12345;
	char in[48], want[48 * 3 + 1];

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(rand_r(&seed) % 40), o = 0;
		char *got, *again;

		for (size_t i = 0; i < n; i++) {
			int r = rand_r(&seed) >> 4, pick = r >> 2;

			in[i] = (char)(r % 4 ? edges[pick % sizeof(edges)] : 1 + pick % 255);
		}
		in[n] = '\0';
		for (const unsigned char *p = (const unsigned char *)in; *p;) {
			size_t len = ref_seq_len(p);

			if (len) {
				memcpy(want + o, p, len);
				o += len;
				p += len;
			} else {
				memcpy(want + o, FFFD, 3);
				o += 3;
				p++;
			}
		}
		want[o] = '\0';
		got = utf8_sanitize(in);
		assert_non_null(got);
		assert_string_equal(got, want);
		assert_true(ref_valid(got));
		/* Clean input comes back unchanged. */
		again = utf8_sanitize(got);
		assert_non_null(again);
		assert_string_equal(again, got);
		free(again);
		free(got);
	}
}

/* ---- escape_for_print ---- */

static void expect_escaped(const char *in, const char *want)
{
	char buf[256];

	memset(buf, 0xaa, sizeof(buf));
	assert_ptr_equal(escape_for_print(in, buf, sizeof(buf)), buf);
	assert_string_equal(buf, want);
}

static void test_escape(void **state)
{
	(void)state;
	expect_escaped("", "");
	expect_escaped("plain text: (x) [y] {z} ~", "plain text: (x) [y] {z} ~");
	expect_escaped("a\nb", "a\\nb");
	expect_escaped("\t", "\\t");
	expect_escaped("C:\\dir\\f.py", "C:\\\\dir\\\\f.py");
	expect_escaped("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	expect_escaped("\x7f", "\\x7f");
	expect_escaped("\x01\x1f\r\b\a", "\\x01\\x1f\\x0d\\x08\\x07");
	expect_escaped(" ~", " ~");                            /* 0x20 and 0x7e are printable */
	/* Valid UTF-8 passes through. */
	expect_escaped("\xc3\xa9t\xc3\xa9 \xe2\x82\xac", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac");
	expect_escaped("\x80\xff", "\\x80\\xff"); /* invalid UTF-8 never reaches the terminal raw */
}

/* Valid UTF-8 that a terminal acts on or reorders: escaped as \uHHHH,
 * whole, and never cut by truncation; its neighbours are kept. */
static void test_escape_invisible(void **state)
{
	char buf[16];

	(void)state;
	expect_escaped("\xc2\x9b" "2J", "\\u009b2J");    /* C1 CSI */
	expect_escaped("\xc2\x80\xc2\x9f", "\\u0080\\u009f");
	expect_escaped("a\xe2\x80\xae" "b", "a\\u202eb"); /* RIGHT-TO-LEFT OVERRIDE */
	expect_escaped("\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9",
		       "\\u202a\\u2066\\u2069");
	expect_escaped("\xe2\x80\xa8\xe2\x80\xa9", "\\u2028\\u2029");
	/* Their neighbours are ordinary text. */
	expect_escaped("\xc2\xa0\xe2\x80\xa9x", "\xc2\xa0\\u2029x");
	expect_escaped("\xe2\x80\xaf\xe2\x81\xaa", "\xe2\x80\xaf\xe2\x81\xaa");
	escape_for_print("\xe2\x80\xae", buf, 6);
	assert_string_equal(buf, "");
	escape_for_print("\xe2\x80\xae", buf, 7);
	assert_string_equal(buf, "\\u202e");
}

static void test_utf8_char(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(utf8_char("A", &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(utf8_char("\xc2\x9b", &cp), 2);
	assert_int_equal(cp, 0x9b);
	assert_true(is_invisible_control(cp));
	assert_int_equal(utf8_char("\xe2\x81\xa8", &cp), 3);
	assert_int_equal(cp, 0x2068);
	assert_true(is_invisible_control(cp));
	assert_int_equal(utf8_char("\xf0\x9f\x98\x80", &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_false(is_invisible_control(cp));
	assert_int_equal(utf8_char("\x9b", &cp), 0);	      /* a lone continuation byte */
	assert_int_equal(utf8_char("\xe2\x80", &cp), 0);      /* cut short */
	assert_int_equal(utf8_char("\xc0\xaf", &cp), 0);      /* overlong */
	assert_false(is_invisible_control(0x7f));	      /* C0/DEL are escaped as bytes */
	assert_false(is_invisible_control(0xa0));
	assert_false(is_invisible_control(0x2027));
}

/* Each piece of the escaped form of s: its length, in order. */
static size_t piece_len(unsigned char c)
{
	if (c == '\n' || c == '\t' || c == '\\')
		return 2;
	if (c < 0x20 || c == 0x7f)
		return 4;
	return 1;
}

/* With every buffer size, the result is the longest run of whole pieces
 * that fits with its terminator, and nothing is written past n. */
static void test_escape_truncation(void **state)
{
	static const char in[] = "ab\ncd\x1b\\e\tf\x7fg\x01";
	char full[128], buf[128];
	size_t full_len;

	(void)state;
	escape_for_print(in, full, sizeof(full));
	assert_string_equal(full, "ab\\ncd\\x1b\\\\e\\tf\\x7fg\\x01");
	full_len = strlen(full);
	for (size_t n = 1; n <= full_len + 2; n++) {
		size_t want = 0;

		for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
			if (want + piece_len(*p) + 1 > n)
				break;
			want += piece_len(*p);
		}
		memset(buf, 0xaa, sizeof(buf));
		assert_ptr_equal(escape_for_print(in, buf, n), buf);
		assert_int_equal(strlen(buf), want);
		assert_memory_equal(buf, full, want);
		for (size_t i = n; i < sizeof(buf); i++)
			assert_int_equal((unsigned char)buf[i], 0xaa);
	}
	/* Some sizes by hand. */
	escape_for_print("\x1b", buf, 4);
	assert_string_equal(buf, "");
	escape_for_print("\x1b", buf, 5);
	assert_string_equal(buf, "\\x1b");
	escape_for_print("a\n", buf, 3);
	assert_string_equal(buf, "a");
	escape_for_print("a\n", buf, 4);
	assert_string_equal(buf, "a\\n");
	escape_for_print("abc", buf, 1);
	assert_string_equal(buf, "");
	/* Size 0: nothing written at all. */
	memset(buf, 0xaa, sizeof(buf));
	assert_ptr_equal(escape_for_print("abc", buf, 0), buf);
	assert_int_equal((unsigned char)buf[0], 0xaa);
}

/* The malloc'ed forms: the whole escaped string however long, and no byte
 * read past max of a field that fills its array unterminated. */
static void test_escaped_dup(void **state)
{
	static const char field[4] = { 'a', '\n', '\x1b', 'b' }; /* no terminator */
	char long_in[300], *got;

	(void)state;
	memset(long_in, '\x01', sizeof(long_in) - 1);
	long_in[sizeof(long_in) - 1] = '\0';
	got = escaped_dup(long_in);
	assert_non_null(got);
	assert_int_equal(strlen(got), 4 * (sizeof(long_in) - 1));
	assert_memory_equal(got, "\\x01\\x01", 8);
	free(got);
	got = escaped_ndup(field, sizeof(field));
	assert_non_null(got);
	assert_string_equal(got, "a\\n\\x1bb");
	free(got);
	got = escaped_ndup("a\tbc", 2);
	assert_non_null(got);
	assert_string_equal(got, "a\\t");
	free(got);
	got = escaped_dup("");
	assert_non_null(got);
	assert_string_equal(got, "");
	free(got);
}

/* CPython's str storage, as the evalframe backend copies it, decoded the
 * way Python's own str.encode("utf-8") does (expected bytes from Python). */
static void test_ucs_decoding(void **state)
{
	const uint8_t latin1[] = { 'c', 0xe9, 'l', 0xe8, 'b', 'r', 'e' };          /* "célèbre" */
	const uint8_t ucs2[] = { 0xb1, 0x03, 0xb2, 0x03, '_', 0 };                     /* "αβ_" */
	const uint8_t ucs4[] = { 0x00, 0xf6, 0x01, 0, 'x', 0, 0, 0 };                /* U+1F600 "x" */
	const uint8_t surrogate[] = { 0x00, 0xd8, 'a', 0 };                          /* lone surrogate */
	char buf[32];

	(void)state;
	assert_string_equal(ucs_to_utf8(latin1, sizeof(latin1), 1, buf, sizeof(buf)),
			    "c\xc3\xa9l\xc3\xa8" "bre");
	assert_string_equal(ucs_to_utf8(ucs2, sizeof(ucs2), 2, buf, sizeof(buf)),
			    "\xce\xb1\xce\xb2_");
	assert_string_equal(ucs_to_utf8(ucs4, sizeof(ucs4), 4, buf, sizeof(buf)),
			    "\xf0\x9f\x98\x80x");
	assert_string_equal(ucs_to_utf8(surrogate, sizeof(surrogate), 2, buf, sizeof(buf)),
			    "\xef\xbf\xbd" "a");
	/* A partial unit at the end (a truncated copy) is dropped. */
	assert_string_equal(ucs_to_utf8(ucs2, 5, 2, buf, sizeof(buf)), "\xce\xb1\xce\xb2");
	/* Truncated at a whole character, always terminated. */
	assert_string_equal(ucs_to_utf8(ucs2, sizeof(ucs2), 2, buf, 4), "\xce\xb1");
	assert_string_equal(ucs_to_utf8(ucs4, sizeof(ucs4), 4, buf, 4), "");
	/* Unknown widths decode to nothing. */
	assert_string_equal(ucs_to_utf8(ucs2, sizeof(ucs2), 3, buf, sizeof(buf)), "");
	/* Out-of-range code points become U+FFFD. */
	const uint8_t big[] = { 0xff, 0xff, 0xff, 0x7f };
	assert_string_equal(ucs_to_utf8(big, sizeof(big), 4, buf, sizeof(buf)), "\xef\xbf\xbd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize_valid_kept),
		cmocka_unit_test(test_sanitize_invalid_replaced),
		cmocka_unit_test(test_sanitize_worst_case),
		cmocka_unit_test(test_sanitize_random),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_truncation),
		cmocka_unit_test(test_escape_invisible),
		cmocka_unit_test(test_utf8_char),
		cmocka_unit_test(test_escaped_dup),
		cmocka_unit_test(test_ucs_decoding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
