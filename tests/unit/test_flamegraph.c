// SPDX-License-Identifier: GPL-2.0-only
/* output_flamegraph.c: the SVG is well-formed XML (xmllint), every frame
 * of the merged tree has its <title> with its figures, widths and places
 * are proportional to samples, colours tell CPU from off-CPU, narrow frames
 * and over-deep stacks are bounded. PYBPF_FLAMEGRAPH_SVG=path keeps the
 * main test's SVG there (tests/integration/svg_screenshot.py renders it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "sampleprof_fixture.h"

#define CPU PYBPF_SAMPLE_CPU
#define OFF PYBPF_SAMPLE_OFFCPU
#define EM " \xe2\x80\x94 "
#define GROUP "<g class=\"f\""
#define GRAPH_W 1180.0
#define X0 10.0
/* The frame with the odd names, as the graph shows it. */
#define ODD "odd&lt;&amp;&quot;&#39;&gt;\\x02\\u0085\xef\xbf\xbd (&lt;&amp;&quot;&#39;&gt;.py:6)"

/* Writes p as a flame graph into a temporary file (or keep_path) and
 * returns its text; *path gets the file's name. */
static char *write_svg(const struct sample_profile *p, const char *keep_path, char *path,
		       size_t *len)
{
	FILE *f;
	int fd;

	if (keep_path) {
		snprintf(path, 256, "%s", keep_path);
		f = fopen(path, "w");
	} else {
		snprintf(path, 256, "/tmp/pybpf-flamegraph-XXXXXX.svg");
		fd = mkstemps(path, 4);
		assert_true(fd >= 0);
		f = fdopen(fd, "w");
	}
	assert_non_null(f);
	assert_int_equal(output_flamegraph.write(f, p), 0);
	assert_int_equal(fclose(f), 0);
	return test_read_file(path, len);
}

/* xmllint --noout on path, which is then removed (skips without xmllint). */
static void check_xml_and_remove(const char *path)
{
	char cmd[512];
	int rc;

	if (system("command -v xmllint >/dev/null 2>&1")) {
		unlink(path);
		fprintf(stderr, "xmllint not found (package libxml2-utils): XML check skipped\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
	rc = system(cmd);
	unlink(path);
	assert_int_equal(rc, 0);
}

static double distance(double a, double b)
{
	return a > b ? a - b : b - a;
}

static void header(struct sample_profile *p)
{
	p->pid = 4242;
	snprintf(p->comm, sizeof(p->comm), "python3");
	snprintf(p->python_version, sizeof(p->python_version), "3.12.1");
	snprintf(p->build, sizeof(p->build), "shared");
	snprintf(p->binary, sizeof(p->binary), "/usr/lib/libpython3.12.so.1.0");
	p->mode = SAMPLE_MODE_WALL;
	p->hz = 99;
	p->wall_seconds = 1.0;
}

/* Two threads; main -> fact -> fact -> fact (recursion), main -> wait
 * (off-CPU); a worker whose names need escaping, one stack truncated. */
static void build_profile(struct sample_profile *p)
{
	size_t main_ = frame(p, "app.py", 1, "main", 10);
	size_t fact22 = frame(p, "app.py", 20, "fact", 22);
	size_t fact0 = frame(p, "app.py", 20, "fact", 0);
	size_t wait = frame(p, "app.py", 30, "wait", 31);
	size_t odd = frame(p, "<&\"'>.py", 5, "odd<&\"'>\x02\xc2\x85\xef\xbf\xbe", 6);
	size_t t0 = thread(p, 100, "MainThread");
	size_t t1 = thread(p, 101, "Worker<&\"'>\x01");
	size_t rec[] = { main_, fact22, fact22, fact0 }, two[] = { main_, fact22 };
	size_t sleeping[] = { main_, wait };

	header(p);
	assert_int_equal(sample_profile_add(p, t0, rec, 4, false, CPU, 60, 0), 0);
	assert_int_equal(sample_profile_add(p, t0, two, 2, false, CPU, 20, 0), 0);
	assert_int_equal(sample_profile_add(p, t0, sleeping, 2, false, OFF, 10, 0), 0);
	assert_int_equal(sample_profile_add(p, t1, &odd, 1, true, CPU, 5, 0), 0);
	assert_int_equal(sample_profile_add(p, t1, &odd, 1, false, OFF, 5, 0), 0);
}

/* build_profile() into p, drawn: the SVG's text, its file's name in path. */
static char *draw_profile(struct sample_profile *p, const char *keep_path, char *path,
			  size_t *len)
{
	sample_profile_init(p);
	build_profile(p);
	return write_svg(p, keep_path, path, len);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

struct drawn {
	uint64_t x, n;
	unsigned int d;
	double rx, rw;
	unsigned int r, g, b;
};

/* Parses the frame group starting at s. */
static void parse_frame(const char *s, struct drawn *f)
{
	const char *rect = strstr(s, "<rect ");

	assert_int_equal(sscanf(s, "<g class=\"f\" data-x=\"%" SCNu64 "\" data-n=\"%" SCNu64
				   "\" data-d=\"%u\">", &f->x, &f->n, &f->d), 3);
	assert_non_null(rect);
	assert_int_equal(sscanf(rect, "<rect x=\"%lf\" y=\"%*f\" width=\"%lf\" height=\"%*d\" "
				      "fill=\"rgb(%u,%u,%u)\"",
				&f->rx, &f->rw, &f->r, &f->g, &f->b), 5);
}

/* The frame whose title starts with title (exactly one). */
static void find_frame(const char *svg, const char *title, struct drawn *f)
{
	char needle[512];
	const char *t, *g;

	snprintf(needle, sizeof(needle), "<title>%s", title);
	assert_int_equal(count(svg, needle), 1);
	t = strstr(svg, needle);
	for (g = t; g > svg && strncmp(g, "<g class=\"f\"", 12); g--)
		;
	parse_frame(g, f);
}

static bool warm(const struct drawn *f)
{
	return f->r >= 205 && f->b <= 55;
}

static bool blue(const struct drawn *f)
{
	return f->b >= 200 && f->r <= 120;
}

static void test_titles_and_escaping(void **state)
{
	static const char *const titles[] = {
		"<title>pybpf-prof: python3 4242" EM "wall, 99 Hz, 100 samples</title>",
		"<title>all" EM "100 samples (100.0%), cpu 85, off-CPU 15</title>",
		"<title>python3 4242" EM "100 samples (100.0%), cpu 85, off-CPU 15</title>",
		"<title>MainThread (100)" EM "90 samples (90.0%), cpu 80, off-CPU 10</title>",
		"<title>main (app.py:10)" EM "90 samples (90.0%), cpu 80, off-CPU 10</title>",
		"<title>fact (app.py:22)" EM "80 samples (80.0%), cpu 80, off-CPU 0</title>",
		"<title>fact (app.py:22)" EM "60 samples (60.0%), cpu 60, off-CPU 0</title>",
		/* line 0: the function's first line */
		"<title>fact (app.py:20)" EM "60 samples (60.0%), cpu 60, off-CPU 0</title>",
		"<title>wait (app.py:31)" EM "10 samples (10.0%), cpu 0, off-CPU 10</title>",
		"<title>[off-CPU]" EM "10 samples (10.0%), cpu 0, off-CPU 10</title>",
		"<title>Worker&lt;&amp;&quot;&#39;&gt;\\x01 (101)" EM
		"10 samples (10.0%), cpu 5, off-CPU 5</title>",
		"<title>[truncated]" EM "5 samples (5.0%), cpu 5, off-CPU 0</title>",
		/* C1 control spelled out, U+FFFE (no XML character) replaced */
		"<title>" ODD EM "5 samples (5.0%), cpu 5, off-CPU 0</title>",
		"<title>" ODD EM "5 samples (5.0%), cpu 0, off-CPU 5</title>",
		"<title>[off-CPU]" EM "5 samples (5.0%), cpu 0, off-CPU 5</title>",
	};
	struct sample_profile p;
	char path[256];
	size_t len;
	char *svg;

	(void)state;
	svg = draw_profile(&p, getenv("PYBPF_FLAMEGRAPH_SVG"), path, &len);
	if (!getenv("PYBPF_FLAMEGRAPH_SVG"))
		unlink(path);
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
		if (!strstr(svg, titles[i]))
			fail_msg("missing %s", titles[i]);
	}
	assert_int_equal(count(svg, "<g class=\"f\""), 14);
	assert_int_equal(count(svg, "<title>"), 15);
	/* Nothing unescaped from the target, no control character. */
	assert_null(strstr(svg, "<&"));
	for (size_t i = 0; i < len; i++)
		assert_false((unsigned char)svg[i] < 0x20 && svg[i] != '\n' && svg[i] != '\t');
	assert_non_null(strstr(svg, "data-pybpf-ready"));
	assert_null(strstr(svg, "http://www.w3.org/1999/xlink"));
	free(svg);
	sample_profile_free(&p);
}

static void test_well_formed(void **state)
{
	struct sample_profile p;
	char path[256];
	size_t len;
	char *svg;

	(void)state;
	svg = draw_profile(&p, NULL, path, &len);
	free(svg);
	sample_profile_free(&p);
	check_xml_and_remove(path);
}

/* Every rectangle is as wide as its samples and starts where its samples
 * start, children in their parent; nested recursion one level per call. */
/* Frames at one depth do not overlap; each lies inside one at the depth below. */
static void assert_nested(const struct drawn *all, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t parents = 0;

		for (size_t j = 0; j < n; j++) {
			if (j != i && all[j].d == all[i].d)
				assert_true(all[j].x + all[j].n <= all[i].x ||
					    all[i].x + all[i].n <= all[j].x);
			parents += all[j].d + 1 == all[i].d && all[j].x <= all[i].x &&
				   all[i].x + all[i].n <= all[j].x + all[j].n;
		}
		assert_int_equal(parents, all[i].d ? 1 : 0);
	}
}

static void test_widths_proportional(void **state)
{
	struct sample_profile p;
	struct drawn all[14], parent, child;
	char path[256];
	size_t len, n = 0;
	char *svg;

	(void)state;
	svg = draw_profile(&p, NULL, path, &len);
	unlink(path);
	for (const char *s = strstr(svg, GROUP); s; s = strstr(s + 1, GROUP)) {
		struct drawn *f = &all[n++];

		assert_true(n <= 14);
		parse_frame(s, f);
		assert_true(distance(f->rw, (double)f->n * GRAPH_W / 100) < 0.006);
		assert_true(distance(f->rx, X0 + (double)f->x * GRAPH_W / 100) < 0.006);
	}
	assert_int_equal(n, 14);
	assert_nested(all, n);
	find_frame(svg, "fact (app.py:22)" EM "80 samples", &parent);
	find_frame(svg, "fact (app.py:22)" EM "60 samples", &child);
	assert_int_equal(child.d, parent.d + 1);
	assert_int_equal(parent.d, 4); /* all, process, thread, main */
	assert_true(child.x >= parent.x && child.x + child.n <= parent.x + parent.n);
	find_frame(svg, "[truncated]", &child);
	assert_int_equal(child.d, 3);
	free(svg);
	sample_profile_free(&p);
}

static void test_colours(void **state)
{
	struct sample_profile p;
	struct drawn f;
	char path[256];
	size_t len;
	char *svg;

	(void)state;
	svg = draw_profile(&p, NULL, path, &len);
	unlink(path);
	find_frame(svg, "main (app.py:10)", &f);
	assert_true(warm(&f));
	find_frame(svg, "wait (app.py:31)", &f);
	assert_true(blue(&f));
	find_frame(svg, "[off-CPU]" EM "10 samples", &f);
	assert_true(blue(&f));
	find_frame(svg, "[off-CPU]" EM "5 samples", &f);
	assert_true(blue(&f));
	/* Equal shares count as CPU; the legend names both colours. */
	find_frame(svg, "Worker", &f);
	assert_true(warm(&f));
	assert_non_null(strstr(svg, "mostly on CPU"));
	assert_non_null(strstr(svg, "mostly off CPU"));
	free(svg);
	sample_profile_free(&p);
}

/* A stack worth 1 sample in 100001 is 0.012 px wide: its thread and frame
 * are left out, said in a comment; the other thread is drawn. */
static void test_narrow_frames_omitted(void **state)
{
	size_t big[] = { 0 }, tiny[] = { 1 };
	struct sample_profile p;
	char path[256];
	size_t len;
	char *svg;

	(void)state;
	sample_profile_init(&p);
	header(&p);
	assert_int_equal(frame(&p, "a.py", 1, "busy", 2), 0);
	assert_int_equal(frame(&p, "a.py", 5, "rare", 6), 1);
	thread(&p, 1, "MainThread");
	thread(&p, 2, "Other");
	assert_int_equal(sample_profile_add(&p, 0, big, 1, false, CPU, 100000, 0), 0);
	assert_int_equal(sample_profile_add(&p, 1, tiny, 1, false, CPU, 1, 0), 0);
	svg = write_svg(&p, NULL, path, &len);
	unlink(path);
	assert_non_null(strstr(svg, "<title>busy (a.py:2)"));
	assert_null(strstr(svg, "<title>rare"));
	assert_null(strstr(svg, "<title>Other"));
	assert_non_null(strstr(svg, "<!-- Written by pybpf-prof. 2 frames are omitted"));
	assert_int_equal(count(svg, "<g class=\"f\""), 4);
	free(svg);
	sample_profile_free(&p);
}

/* A stack deeper than the sampler keeps (the model does not cut it) is
 * drawn truncated at PYBPF_SAMPLE_DEPTH frames, leaf side kept. */
static void test_depth_capped(void **state)
{
	enum { DEEP = PYBPF_SAMPLE_DEPTH + 50 };
	size_t frames[DEEP];
	struct sample_profile p;
	unsigned int max_d = 0;
	struct drawn f;
	char path[256], name[32];
	size_t len;
	char *svg;

	(void)state;
	sample_profile_init(&p);
	header(&p);
	for (int i = 0; i < DEEP; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		frames[i] = frame(&p, "deep.py", i + 1, name, 0);
	}
	thread(&p, 1, "MainThread");
	assert_int_equal(sample_profile_add(&p, 0, frames, DEEP, false, OFF, 3, 0), 0);
	svg = write_svg(&p, NULL, path, &len);
	unlink(path);
	for (const char *s = strstr(svg, GROUP); s; s = strstr(s + 1, GROUP)) {
		parse_frame(s, &f);
		max_d = f.d > max_d ? f.d : max_d;
	}
	assert_int_equal(max_d, PYBPF_SAMPLE_DEPTH + 4); /* the [off-CPU] leaf */
	assert_non_null(strstr(svg, "<title>[truncated]"));
	assert_null(strstr(svg, "<title>f49 "));
	find_frame(svg, "f50 ", &f);
	assert_int_equal(f.d, 4);
	find_frame(svg, "[off-CPU]", &f);
	assert_int_equal(f.d, PYBPF_SAMPLE_DEPTH + 4);
	free(svg);
	sample_profile_free(&p);
}

/* 1600 stacks of PYBPF_SAMPLE_DEPTH frames, each under its own root-side
 * frame, all wide enough: 204803 frames, more than the 200000 drawn. The
 * widest are kept, whole chains (one count per chain: a tie is cut whole). */
static void test_rectangles_capped(void **state)
{
	enum { STACKS = 1600, CAP = 200000 };
	size_t frames[PYBPF_SAMPLE_DEPTH], drawn = 0, omitted = 0;
	uint64_t narrowest_drawn = UINT64_MAX;
	struct sample_profile p;
	char path[256], name[32], *line = NULL;
	size_t cap = 0;
	struct drawn f;
	FILE *svg;
	int fd;

	(void)state;
	sample_profile_init(&p);
	header(&p);
	thread(&p, 1, "MainThread");
	for (int i = 1; i < PYBPF_SAMPLE_DEPTH; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		frames[i] = frame(&p, "chain.py", i, name, 0);
	}
	for (int s = 0; s < STACKS; s++) {
		snprintf(name, sizeof(name), "top%d", s);
		frames[0] = frame(&p, "top.py", s + 1, name, 0);
		assert_int_equal(sample_profile_add(&p, 0, frames, PYBPF_SAMPLE_DEPTH, false, CPU,
						    1000 + (uint64_t)s, 0), 0);
	}
	snprintf(path, sizeof(path), "/tmp/pybpf-flamegraph-XXXXXX.svg");
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	svg = fdopen(fd, "w+");
	assert_non_null(svg);
	assert_int_equal(output_flamegraph.write(svg, &p), 0);
	rewind(svg);
	while (getline(&line, &cap, svg) > 0) {
		if (!strncmp(line, "<g class=\"f\"", 12)) {
			parse_frame(line, &f);
			drawn++;
			if (f.n < narrowest_drawn)
				narrowest_drawn = f.n;
		}
		sscanf(line, "<!-- Written by pybpf-prof. %zu frames are omitted", &omitted);
	}
	free(line);
	fclose(svg);
	unlink(path);
	sample_profile_free(&p);
	assert_true(drawn <= CAP && drawn > CAP - PYBPF_SAMPLE_DEPTH);
	assert_int_equal(drawn % PYBPF_SAMPLE_DEPTH, 3); /* all, process, thread + whole chains */
	assert_int_equal(drawn + omitted, 3 + (size_t)STACKS * PYBPF_SAMPLE_DEPTH);
	/* The widest stacks are the ones drawn. */
	assert_int_equal(narrowest_drawn, 1000 + STACKS - (drawn - 3) / PYBPF_SAMPLE_DEPTH);
}

static void test_empty_profile(void **state)
{
	struct sample_profile p;
	char path[256];
	size_t len;
	char *svg;

	(void)state;
	sample_profile_init(&p);
	header(&p);
	svg = write_svg(&p, NULL, path, &len);
	assert_non_null(strstr(svg, "No samples"));
	assert_non_null(strstr(svg, "wall, 99 Hz, 0 samples</title>"));
	assert_null(strstr(svg, "<g class=\"f\""));
	assert_non_null(strstr(svg, "</svg>\n"));
	free(svg);
	sample_profile_free(&p);
	check_xml_and_remove(path);
}

/* A full disk is said as such (ENOSPC), not as a generic I/O error. */
static void test_stream_error(void **state)
{
	struct sample_profile p;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (!f)
		skip();
	sample_profile_init(&p);
	header(&p);
	errno = 0;
	assert_int_equal(output_flamegraph.write(f, &p), -ENOSPC);
	fclose(f);
	sample_profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_titles_and_escaping),
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_widths_proportional),
		cmocka_unit_test(test_colours),
		cmocka_unit_test(test_narrow_frames_omitted),
		cmocka_unit_test(test_depth_capped),
		cmocka_unit_test(test_rectangles_capped),
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_stream_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
