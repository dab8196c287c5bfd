// SPDX-License-Identifier: GPL-2.0-only
/* offsets.c: _Py_DebugOffsets blocks dumped from real CPython 3.13, 3.14 and
 * 3.15 processes (tests/unit/fixtures/debugoffsets/) decode to exactly the
 * table's values; damaged blocks (cookie, version, free-threaded, truncated,
 * absurd offsets) are refused with a message; offsets_for_target on the
 * table versions, on a block in this process's memory, on a gone process,
 * and on a live pyenv 3.13.0 child when that interpreter is installed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "offsets.h"
#include "target.h"

#define PYENV_313 "/root/.pyenv/versions/3.13.0/bin/python3.13"

/* The real blocks: file, minor version, PY_VERSION_HEX, sizeof(_Py_DebugOffsets). */
static const struct real_block {
	const char *file;
	int minor;
	uint64_t version;
	size_t size;
} blocks[] = {
	{ "cpython-3.13.0.bin", 13, 0x030d00f0, 584 },
	{ "cpython-3.13.18.bin", 13, 0x030d12f0, 584 },
	{ "cpython-3.14.10.bin", 14, 0x030e0af0, 760 },
	{ "cpython-3.15.2.bin", 15, 0x030f02f0, 888 },
};

/* Where some members sit in each minor's block: offsetof() in CPython's own
 * headers, written out here independently of user/offsets.c. */
static const struct block_pos {
	int minor;
	uint32_t runtime_size, interpreters_head;
	uint32_t interp_threads_head;
	uint32_t tstate_size, tstate_frame, tstate_thread_id;
	uint32_t frame_size, frame_owner;
	uint32_t code_size, code_name, code_firstlineno;
	uint32_t unicode_size, unicode_data; /* the last size member: ASCII or compact */
} positions[] = {
	{ 13, 24, 40, 72, 152, 184, 192, 224, 264, 272, 288, 312, 536, 560 },
	{ 14, 24, 40, 72, 176, 208, 216, 248, 288, 312, 328, 352, 616, 640 },
	{ 15, 24, 40, 72, 176, 208, 240, 312, 352, 376, 392, 416, 712, 744 },
};

#define FIELDS(X)                                                                                 \
	X(runtime_interp_main) X(interp_threads_head) X(tstate_next) X(tstate_thread_id)           \
	X(tstate_frame) X(cframe_current_frame) X(frame_code) X(frame_owner) X(frame_previous)     \
	X(code_flags) X(code_firstlineno) X(code_filename) X(code_name) X(unicode_state)           \
	X(unicode_length) X(unicode_ascii_data) X(unicode_compact_data) X(pad)

/* ---- helpers ---- */

static const struct block_pos *pos_for(int minor)
{
	for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
		if (positions[i].minor == minor)
			return &positions[i];
	}
	fail_msg("no positions for 3.%d", minor);
	return NULL;
}

/* The fixture, from the directory of this source file. */
static unsigned char *load_block(const char *file, size_t *n)
{
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__ + 1) : 0;

	snprintf(path, sizeof(path), "%.*sfixtures/debugoffsets/%s", dir, __FILE__, file);
	if (access(path, R_OK))
		fail_msg("fixture %s: %s (run from the source tree's top)", path, strerror(errno));
	return (unsigned char *)test_read_file(path, n);
}

static const struct real_block *block_for(int minor)
{
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		if (blocks[i].minor == minor)
			return &blocks[i];
	}
	fail_msg("no block for 3.%d", minor);
	return NULL;
}

static void put_u64(unsigned char *b, uint32_t pos, uint64_t v)
{
	memcpy(b + pos, &v, sizeof(v));
}

static void expect_offsets(const struct pybpf_offsets *got, const struct pybpf_offsets *want,
			   const char *what)
{
#define CHECK(f)                                                                                  \
	if (got->f != want->f)                                                                    \
		fail_msg("%s: " #f " is 0x%llx, the table says 0x%llx", what,                     \
			 (unsigned long long)got->f, (unsigned long long)want->f);
	FIELDS(CHECK)
#undef CHECK
	if (got->code_ptr_mask != want->code_ptr_mask)
		fail_msg("%s: code_ptr_mask is 0x%llx, the table says 0x%llx", what,
			 (unsigned long long)got->code_ptr_mask,
			 (unsigned long long)want->code_ptr_mask);
	assert_memory_equal(got, want, sizeof(*got));
}

/* Parsing must fail with a message holding each of the given phrases, and
 * leave out as it was. */
static void expect_refused(const unsigned char *b, size_t n, int major, int minor,
			   const char *what, const char *phrase1, const char *phrase2)
{
	struct pybpf_offsets out, before;
	struct pybpf_err err;

	memset(&out, 0xa5, sizeof(out));
	before = out;
	memset(&err, 0, sizeof(err));
	if (offsets_from_debug(b, n, major, minor, &out, &err) != -1)
		fail_msg("%s: accepted", what);
	if (!strstr(err.msg, phrase1) || (phrase2 && !strstr(err.msg, phrase2)))
		fail_msg("%s: message '%s' lacks '%s'%s%s", what, err.msg, phrase1,
			 phrase2 ? " or " : "", phrase2 ? phrase2 : "");
	assert_memory_equal(&out, &before, sizeof(out));
}

/* ---- real blocks ---- */

static void test_real_blocks(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		const struct pybpf_offsets *want = offsets_for(3, blocks[i].minor);
		struct pybpf_offsets out;
		struct pybpf_err err = { "" };
		unsigned char *b, *big;
		uint64_t version;
		size_t n;

		b = load_block(blocks[i].file, &n);
		assert_int_equal(n, blocks[i].size);
		assert_memory_equal(b, "xdebugpy", 8);
		memcpy(&version, b + 8, sizeof(version));
		assert_int_equal(version, blocks[i].version);
		assert_non_null(want);

		memset(&out, 0xa5, sizeof(out));
		if (offsets_from_debug(b, n, 3, blocks[i].minor, &out, &err))
			fail_msg("%s: %s", blocks[i].file, err.msg);
		expect_offsets(&out, want, blocks[i].file);

		/* More bytes than the block (a bigger read) change nothing. */
		big = calloc(1, n + 4096);
		assert_non_null(big);
		memcpy(big, b, n);
		memset(&out, 0xa5, sizeof(out));
		assert_int_equal(offsets_from_debug(big, n + 4096, 3, blocks[i].minor, &out, &err),
				 0);
		expect_offsets(&out, want, blocks[i].file);
		free(big);
		free(b);
	}
}

/* The values come from the block (not the table) for the fields it has. */
static void test_values_from_block(void **state)
{
	(void)state;
	for (int minor = 13; minor <= 15; minor++) {
		const struct block_pos *p = pos_for(minor);
		struct pybpf_offsets out, want = *offsets_for(3, minor);
		struct pybpf_err err = { "" };
		unsigned char *b;
		size_t n;

		b = load_block(block_for(minor)->file, &n);
		put_u64(b, p->interpreters_head, 0x300);
		put_u64(b, p->interp_threads_head, 0x1d00);
		put_u64(b, p->tstate_thread_id, 0x60);
		put_u64(b, p->frame_owner, 0x47);
		put_u64(b, p->code_name, 0x80);
		put_u64(b, p->unicode_data, 0x30);
		want.runtime_interp_main = 0x308; /* interpreters.main follows head */
		want.interp_threads_head = 0x1d00;
		want.tstate_thread_id = 0x60;
		want.frame_owner = 0x47;
		want.code_name = 0x80;
		if (minor == 15)
			want.unicode_compact_data = 0x30;
		else
			want.unicode_ascii_data = 0x30;
		if (offsets_from_debug(b, n, 3, minor, &out, &err))
			fail_msg("3.%d: %s", minor, err.msg);
		expect_offsets(&out, &want, block_for(minor)->file);
		free(b);
	}
}

/* ---- refusals ---- */

static void test_bad_header(void **state)
{
	unsigned char *b13, *b14;
	size_t n13, n14;

	(void)state;
	b13 = load_block("cpython-3.13.0.bin", &n13);
	b14 = load_block("cpython-3.14.10.bin", &n14);

	b13[0] = 'y';
	expect_refused(b13, n13, 3, 13, "bad cookie", "_Py_DebugOffsets has the wrong cookie",
		       "not a CPython 3.13+ runtime");
	memset(b13, 0, 8);
	expect_refused(b13, n13, 3, 13, "zero cookie", "wrong cookie", NULL);
	memcpy(b13, "xdebugpy", 8);

	/* Another minor's block, either way round. */
	expect_refused(b14, n14, 3, 13, "3.14 block as 3.13", "for version 0x030e0af0",
		       "not 3.13");
	expect_refused(b13, n13, 3, 14, "3.13 block as 3.14", "for version 0x030d00f0",
		       "not 3.14");
	/* A version with no layout here, and versions without the block. */
	put_u64(b14, 8, 0x031000a0);
	expect_refused(b14, n14, 3, 16, "3.16", "CPython 3.16", "not supported");
	expect_refused(b13, n13, 3, 12, "3.12", "no known _Py_DebugOffsets layout",
		       "not supported");
	expect_refused(b13, n13, 4, 13, "4.13", "not supported", NULL);
	put_u64(b14, 8, 0x030e0af0);

	/* Free-threaded: refused in a sentence; other values are garbage. */
	put_u64(b14, 16, 1);
	expect_refused(b14, n14, 3, 14, "free_threaded=1", "free-threaded build",
		       "not supported");
	put_u64(b14, 16, 0x100);
	expect_refused(b14, n14, 3, 14, "free_threaded=256", "free_threaded = 256",
		       "memory layout unknown");
	free(b13);
	free(b14);
}

static void test_truncated(void **state)
{
	static const size_t cut[] = { 0, 7, 8, 23 };
	unsigned char *b;
	size_t n;

	(void)state;
	b = load_block("cpython-3.15.2.bin", &n);
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
		expect_refused(b, cut[i], 3, 15, "header cut", "truncated",
			       "memory layout unknown");
	expect_refused(b, 24, 3, 15, "header only", "888 bytes, only 24 were read", NULL);
	expect_refused(b, n - 1, 3, 15, "last byte missing", "only 887 were read",
		       "memory layout unknown");
	free(b);
}

static void test_absurd_offsets(void **state)
{
	const struct {
		int minor;
		const char *what;
		size_t pos_off; /* offsetof(struct block_pos, member) */
		uint64_t value;
		const char *phrase;
	} cases[] = {
		{ 13, "huge frame offset", offsetof(struct block_pos, tstate_frame), 1ull << 40,
		  "thread_state.current_frame = 1099511627776, outside" },
		{ 14, "offset -1", offsetof(struct block_pos, code_name), UINT64_MAX,
		  "code_object.name = 18446744073709551615, outside" },
		{ 15, "misaligned pointer", offsetof(struct block_pos, interp_threads_head), 0x1cac,
		  "interpreter_state.threads_head = 7340, misaligned" },
		{ 13, "misaligned int", offsetof(struct block_pos, code_firstlineno), 0x46,
		  "code_object.firstlineno = 70, misaligned" },
		/* A field just past its structure's end. */
		{ 14, "int at the end", offsetof(struct block_pos, code_firstlineno), 216,
		  "code_object.firstlineno = 216, outside the 216-byte" },
		{ 15, "owner at the end", offsetof(struct block_pos, frame_owner), 0x58,
		  "interpreter_frame.owner = 88, outside the 88-byte" },
		/* head inside, but interpreters.main after it past _PyRuntimeState. */
		{ 13, "main past the runtime", offsetof(struct block_pos, interpreters_head),
		  0x452b8 - 8, "runtime_state.interpreters_head" },
		{ 15, "ASCII data past the str", offsetof(struct block_pos, unicode_data), 0x48,
		  "unicode_object.compactunicodeobject_size = 72, outside" },
		/* Structure sizes. */
		{ 13, "huge runtime", offsetof(struct block_pos, runtime_size), 1ull << 40,
		  "runtime_state.size = 1099511627776, not a plausible size" },
		{ 14, "zero-sized str", offsetof(struct block_pos, unicode_size), 0,
		  "unicode_object.size = 0, not a plausible size" },
		{ 15, "5 MiB thread state", offsetof(struct block_pos, tstate_size), 5u << 20,
		  "thread_state.size = 5242880" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct block_pos *p = pos_for(cases[i].minor);
		uint32_t pos;
		unsigned char *b;
		size_t n;

		memcpy(&pos, (const char *)p + cases[i].pos_off, sizeof(pos));
		b = load_block(block_for(cases[i].minor)->file, &n);
		put_u64(b, pos, cases[i].value);
		expect_refused(b, n, 3, cases[i].minor, cases[i].what, cases[i].phrase,
			       "memory layout unknown");
		free(b);
	}
}

/* Offsets inside their structures, but too far apart for the BPF side's
 * one read per object. */
static void test_spread_fields(void **state)
{
	const struct block_pos *p = pos_for(15);
	unsigned char *b;
	size_t n;

	(void)state;
	b = load_block("cpython-3.15.2.bin", &n);
	put_u64(b, p->tstate_size, 0x2000);
	put_u64(b, p->tstate_thread_id, 0x1000);
	expect_refused(b, n, 3, 15, "thread_id far from current_frame",
		       "spreads the thread state fields over 4032 bytes", "memory layout unknown");
	free(b);

	b = load_block("cpython-3.14.10.bin", &n);
	put_u64(b, pos_for(14)->code_size, 0x1000);
	put_u64(b, pos_for(14)->code_name, 0x800);
	expect_refused(b, n, 3, 14, "co_name far from co_flags", "the code object fields", NULL);
	free(b);
}

/* ---- offsets_for_target ---- */

static void test_target_table_versions(void **state)
{
	struct python_target t;
	struct pybpf_offsets out;
	struct pybpf_err err;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.pid = getpid();
	t.major = 3;
	for (t.minor = 9; t.minor <= 12; t.minor++) {
		memset(&out, 0xa5, sizeof(out));
		snprintf(t.version, sizeof(t.version), "3.%d", t.minor);
		/* No memory is read: the address is never mapped. */
		t.runtime_addr = 0;
		if (offsets_for_target(&t, &out, &err))
			fail_msg("3.%d: %s", t.minor, err.msg);
		expect_offsets(&out, offsets_for(3, t.minor), t.version);
	}

	const struct {
		int major, minor;
		const char *version;
	} bad[] = { { 3, 8, "3.8.18" }, { 3, 16, "3.16.0" }, { 2, 7, "2.7" }, { 3, 99, "3.99" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[96];

		t.major = bad[i].major;
		t.minor = bad[i].minor;
		snprintf(t.version, sizeof(t.version), "%s", bad[i].version);
		memset(&err, 0, sizeof(err));
		assert_int_equal(offsets_for_target(&t, &out, &err), -1);
		snprintf(want, sizeof(want), "PID %d: CPython %s is not supported", t.pid,
			 bad[i].version);
		assert_string_equal(err.msg, want);
	}
}

/* A block in this process's memory stands for a target's &_PyRuntime. */
static void test_target_own_memory(void **state)
{
	struct python_target t;
	struct pybpf_offsets out;
	struct pybpf_err err;
	char want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		unsigned char *b;
		size_t n;

		b = load_block(blocks[i].file, &n);
		memset(&t, 0, sizeof(t));
		t.pid = getpid();
		t.major = 3;
		t.minor = blocks[i].minor;
		snprintf(t.version, sizeof(t.version), "3.%d", t.minor);
		t.runtime_addr = (uint64_t)(uintptr_t)b;
		memset(&out, 0xa5, sizeof(out));
		if (offsets_for_target(&t, &out, &err))
			fail_msg("%s: %s", blocks[i].file, err.msg);
		expect_offsets(&out, offsets_for(3, t.minor), blocks[i].file);

		/* The parser's refusals name the process. */
		b[1] = 'X';
		memset(&err, 0, sizeof(err));
		assert_int_equal(offsets_for_target(&t, &out, &err), -1);
		snprintf(want, sizeof(want), "PID %d: _Py_DebugOffsets has the wrong cookie", t.pid);
		if (strncmp(err.msg, want, strlen(want)))
			fail_msg("'%s' does not start with '%s'", err.msg, want);
		free(b);
	}
}

static void test_target_unreadable(void **state)
{
	struct python_target t;
	struct pybpf_offsets out, before;
	struct pybpf_err err;
	char want[128];

	(void)state;
	memset(&t, 0, sizeof(t));
	t.major = 3;
	t.minor = 14;
	snprintf(t.version, sizeof(t.version), "3.14.10");
	t.runtime_addr = 0xb176a0;
	memset(&out, 0xa5, sizeof(out));
	before = out;

	t.pid = gone_pid();
	assert_int_equal(offsets_for_target(&t, &out, &err), -1);
	snprintf(want, sizeof(want), "PID %d: cannot read the _Py_DebugOffsets of CPython "
		 "3.14.10 at 0xb176a0: the process is gone", t.pid);
	assert_string_equal(err.msg, want);

	/* Page 0 of this process: mapped nowhere. */
	t.pid = getpid();
	t.runtime_addr = 0;
	assert_int_equal(offsets_for_target(&t, &out, &err), -1);
	snprintf(want, sizeof(want), "PID %d: cannot read the _Py_DebugOffsets of CPython "
		 "3.14.10 at 0x0: ", t.pid);
	if (strncmp(err.msg, want, strlen(want)))
		fail_msg("'%s' does not start with '%s'", err.msg, want);
	assert_memory_equal(&out, &before, sizeof(out));
}

/* A live pyenv 3.13.0: found by inspect, read from its memory. */
static void test_target_live_313(void **state)
{
	struct python_target t;
	struct pybpf_offsets out;
	struct pybpf_err err = { "" }, ierr = { "" };
	int ret, iret, status;
	char line[64] = "";
	pid_t pid;

	(void)state;
	if (access(PYENV_313, X_OK)) {
		print_message("skipped: no pyenv CPython 3.13.0 at %s\n", PYENV_313);
		skip();
	}
	pid = spawn_python(PYENV_313, "import signal; print('ready', flush=True); signal.pause()",
			   line, sizeof(line));
	if (strcmp(line, "ready\n")) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("%s did not start: '%s'", PYENV_313, line);
	}

	memset(&out, 0xa5, sizeof(out));
	iret = python_target__inspect(pid, &t, &ierr);
	ret = iret ? -1 : offsets_for_target(&t, &out, &err);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	if (iret)
		fail_msg("inspect of %s: %s", PYENV_313, ierr.msg);
	assert_int_equal(t.minor, 13);
	if (ret && geteuid() != 0 && strstr(err.msg, "needs root")) {
		print_message("skipped: %s\n", err.msg);
		skip();
	}
	if (ret)
		fail_msg("%s", err.msg);
	expect_offsets(&out, offsets_for(3, 13), "live pyenv 3.13.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_blocks),
		cmocka_unit_test(test_values_from_block),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_absurd_offsets),
		cmocka_unit_test(test_spread_fields),
		cmocka_unit_test(test_target_table_versions),
		cmocka_unit_test(test_target_own_memory),
		cmocka_unit_test(test_target_unreadable),
		cmocka_unit_test(test_target_live_313),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
