// SPDX-License-Identifier: GPL-2.0-only
/* The sampled profile as one self-contained interactive SVG flame graph:
 * a tree merged from every stack (all > process > thread > frames, root
 * at the bottom), warm colours where a frame was mostly on the CPU, blue
 * where it was mostly off it; click to zoom, search, tooltips. The script
 * is inline; nothing is fetched. */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hashindex.h"
#include "strutil.h"

#define FG_WIDTH 1200
#define FG_XPAD 10
#define FG_GRAPH_W (FG_WIDTH - 2 * FG_XPAD)
#define FG_FRAME_H 16
#define FG_TOP 80	/* title, subtitle, legend and search box */
#define FG_BOTTOM 34	/* details line and "Matched:" */
#define FG_CHAR_W 7.23	/* 12 px DejaVu Sans Mono advance; the script measures the real one */
#define FG_MIN_PX 0.1	/* narrower frames are not drawn */
#define FG_MAX_RECTS 200000
#define FG_EM_DASH "\xe2\x80\x94"

/* Sibling order: [truncated] leftmost, frames by name, [off-CPU] rightmost. */
enum fg_kind { FG_ROOT, FG_PROCESS, FG_THREAD, FG_TRUNCATED, FG_FRAME, FG_OFFCPU };

struct fg_node {
	uint64_t cpu, off; /* samples through this node, by kind */
	size_t parent;
	size_t ref;        /* thread or frame index */
	size_t first;      /* children: tree.children[first .. first + nchildren) */
	size_t nchildren;
	enum fg_kind kind;
	unsigned int depth;
};

struct fg_tree {
	const struct sample_profile *p;
	struct fg_node *nodes;
	size_t n, cap;
	struct hash_index index; /* nodes by (parent, kind, ref) */
	size_t *children;
};

/* What gets drawn, and the scale. */
struct fg_view {
	uint64_t total;
	uint64_t min_samples;  /* nodes with fewer are omitted (and so are their subtrees) */
	unsigned int max_depth;
	size_t omitted;
	char *label;           /* scratch label buffer */
	size_t label_cap;
};

static uint64_t node_total(const struct fg_node *n)
{
	return n->cpu + n->off;
}

/* ---- The merged tree ---- */

static uint64_t node_hash(size_t parent, enum fg_kind kind, size_t ref)
{
	uint64_t h = (uint64_t)parent * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)ref * 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)kind;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return h;
}

/* The root is indexed too, harmlessly: no lookup asks for a child of kind FG_ROOT. */
static uint64_t node_hash_at(const void *ctx, size_t i)
{
	const struct fg_node *n = &((const struct fg_tree *)ctx)->nodes[i];

	return node_hash(n->parent, n->kind, n->ref);
}

static long node_new(struct fg_tree *t, size_t parent, enum fg_kind kind, size_t ref)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct fg_node *nodes = realloc(t->nodes, cap * sizeof(*nodes));

		if (!nodes)
			return -ENOMEM;
		t->nodes = nodes;
		t->cap = cap;
	}
	t->nodes[t->n] = (struct fg_node){
		.parent = parent,
		.ref = ref,
		.kind = kind,
		.depth = kind == FG_ROOT ? 0 : t->nodes[parent].depth + 1,
	};
	return (long)t->n++;
}

/* The child of parent with this kind and ref, created if new; -ENOMEM. */
static long node_child(struct fg_tree *t, size_t parent, enum fg_kind kind, size_t ref)
{
	size_t s;
	long idx;

	if (hash_index_reserve(&t->index, t->n, 1024, node_hash_at, t))
		return -ENOMEM;
	s = hash_index_start(&t->index, node_hash(parent, kind, ref));
	for (; t->index.slots[s]; s = hash_index_next(&t->index, s)) {
		const struct fg_node *n = &t->nodes[t->index.slots[s] - 1];

		if (n->parent == parent && n->kind == kind && n->ref == ref)
			return (long)(t->index.slots[s] - 1);
	}
	idx = node_new(t, parent, kind, ref);
	if (idx >= 0)
		t->index.slots[s] = (size_t)idx + 1;
	return idx;
}

/* Walks one step down, counting the stack's samples into the child. */
static long step(struct fg_tree *t, size_t parent, enum fg_kind kind, size_t ref, uint64_t cpu,
		 uint64_t off)
{
	long idx = node_child(t, parent, kind, ref);

	if (idx < 0)
		return idx;
	t->nodes[idx].cpu += cpu;
	t->nodes[idx].off += off;
	return idx;
}

static int tree_add_stack(struct fg_tree *t, const struct sample_stack *st)
{
	uint64_t cpu = st->samples[PYBPF_SAMPLE_CPU], off = st->samples[PYBPF_SAMPLE_OFFCPU];
	size_t first = 0;
	bool truncated = st->truncated;
	long at;

	if (!cpu && !off)
		return 0;
	if (st->thread >= t->p->nthreads)
		return -EINVAL;
	/* Deeper than the sampler ever records: keep the leaf side, as it does.
	 * So the tree is at most all, process, thread, [truncated],
	 * PYBPF_SAMPLE_DEPTH frames and [off-CPU]: PYBPF_SAMPLE_DEPTH + 5 levels. */
	if (st->nframes > PYBPF_SAMPLE_DEPTH) {
		first = st->nframes - PYBPF_SAMPLE_DEPTH;
		truncated = true;
	}
	t->nodes[0].cpu += cpu;
	t->nodes[0].off += off;
	t->nodes[1].cpu += cpu;
	t->nodes[1].off += off;
	at = step(t, 1, FG_THREAD, st->thread, cpu, off);
	if (at >= 0 && truncated)
		at = step(t, (size_t)at, FG_TRUNCATED, 0, cpu, off);
	for (size_t i = first; at >= 0 && i < st->nframes; i++) {
		if (st->frames[i] >= t->p->nframes)
			return -EINVAL;
		at = step(t, (size_t)at, FG_FRAME, st->frames[i], cpu, off);
	}
	if (at >= 0 && off)
		at = step(t, (size_t)at, FG_OFFCPU, 0, 0, off);
	return at < 0 ? (int)at : 0;
}

static int frame_cmp(const struct sample_frame *a, const struct sample_frame *b)
{
	int32_t la = a->line ? a->line : a->firstlineno, lb = b->line ? b->line : b->firstlineno;
	int c = strcmp(a->name, b->name);

	if (!c)
		c = strcmp(a->filename, b->filename);
	if (!c)
		c = (la > lb) - (la < lb);
	return c;
}

static int child_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct fg_tree *t = ctx;
	const struct fg_node *a = &t->nodes[*(const size_t *)pa];
	const struct fg_node *b = &t->nodes[*(const size_t *)pb];

	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	if (a->kind == FG_THREAD) /* in index order, as in every writer */
		return (a->ref > b->ref) - (a->ref < b->ref);
	if (a->kind == FG_FRAME)
		return frame_cmp(&t->p->frames[a->ref], &t->p->frames[b->ref]);
	return 0;
}

/* Lists each node's children, in drawing order. */
static int tree_link_children(struct fg_tree *t)
{
	size_t at = 0;

	t->children = malloc((t->n ? t->n : 1) * sizeof(*t->children));
	if (!t->children)
		return -ENOMEM;
	for (size_t i = 1; i < t->n; i++)
		t->nodes[t->nodes[i].parent].nchildren++;
	for (size_t i = 0; i < t->n; i++) {
		t->nodes[i].first = at;
		at += t->nodes[i].nchildren;
		t->nodes[i].nchildren = 0;
	}
	for (size_t i = 1; i < t->n; i++) {
		struct fg_node *parent = &t->nodes[t->nodes[i].parent];

		t->children[parent->first + parent->nchildren++] = i;
	}
	for (size_t i = 0; i < t->n; i++)
		qsort_r(t->children + t->nodes[i].first, t->nodes[i].nchildren,
			sizeof(*t->children), child_cmp, t);
	return 0;
}

static int tree_build(struct fg_tree *t, const struct sample_profile *p)
{
	int err = 0;

	*t = (struct fg_tree){ .p = p };
	if (node_new(t, 0, FG_ROOT, 0) < 0 || node_new(t, 0, FG_PROCESS, 0) < 0)
		return -ENOMEM;
	for (size_t i = 0; !err && i < p->nstacks; i++)
		err = tree_add_stack(t, &p->stacks[i]);
	return err ? err : tree_link_children(t);
}

static void tree_free(struct fg_tree *t)
{
	free(t->nodes);
	hash_index_free(&t->index);
	free(t->children);
}

/* ---- What is drawn ---- */

static int u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y) - (x > y);
}

static double px_of(const struct fg_view *v, uint64_t samples)
{
	return (double)samples * FG_GRAPH_W / (double)v->total;
}

/* A node is drawn when it is at least FG_MIN_PX wide; a child is never
 * wider than its parent, so the drawn set is closed towards the root. When
 * more than FG_MAX_RECTS would be drawn, the threshold rises to the size of
 * the FG_MAX_RECTS-th largest (strictly above it on a tie). */
static int view_plan(struct fg_view *v, const struct fg_tree *t)
{
	uint64_t *sizes;
	size_t n = 0;

	v->total = node_total(&t->nodes[0]);
	if (!v->total)
		return 0; /* nothing to draw */
	/* The smallest count still FG_MIN_PX wide. */
	v->min_samples = (uint64_t)((double)v->total * FG_MIN_PX / FG_GRAPH_W) + 1;
	while (v->min_samples > 1 && px_of(v, v->min_samples - 1) >= FG_MIN_PX)
		v->min_samples--;
	for (size_t i = 0; i < t->n; i++)
		n += node_total(&t->nodes[i]) >= v->min_samples;
	if (n > FG_MAX_RECTS) {
		sizes = malloc(n * sizeof(*sizes));
		if (!sizes)
			return -ENOMEM;
		n = 0;
		for (size_t i = 0; i < t->n; i++)
			if (node_total(&t->nodes[i]) >= v->min_samples)
				sizes[n++] = node_total(&t->nodes[i]);
		qsort(sizes, n, sizeof(*sizes), u64_desc);
		v->min_samples = sizes[FG_MAX_RECTS - 1];
		if (sizes[FG_MAX_RECTS] == v->min_samples)
			v->min_samples++;
		free(sizes);
	}
	for (size_t i = 0; i < t->n; i++) {
		if (node_total(&t->nodes[i]) < v->min_samples)
			v->omitted++;
		else if (t->nodes[i].depth > v->max_depth)
			v->max_depth = t->nodes[i].depth;
	}
	return 0;
}

/* ---- XML text ---- */

/* Bytes in the UTF-8 sequence that b starts, 0 if it starts none. */
static size_t utf8_seq_len(unsigned char b)
{
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b < 0xe0)
		return 2;
	if (b >= 0xe0 && b < 0xf0)
		return 3;
	return b >= 0xf0 && b < 0xf5 ? 4 : 0;
}

/* One code point of valid-or-not UTF-8 at s: its length in bytes (1 for a
 * byte that starts no valid sequence, then *cp is U+FFFD). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t len = utf8_seq_len(s[0]);
	uint32_t c = len == 1 ? s[0] : s[0] & (0x7fu >> len);

	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			len = 0;
			break;
		}
		c = c << 6 | (s[i] & 0x3f);
	}
	if (!len || (len == 3 && (c < 0x800 || (c >= 0xd800 && c < 0xe000))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff))) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = c;
	return len;
}

/* Characters the graph shows for code point c: controls are spelled out
 * (\xHH, \u00HH), U+FFFE/U+FFFF (not XML characters) become U+FFFD. */
static unsigned int shown_width(uint32_t c)
{
	if (c < 0x20 || c == 0x7f)
		return 4;
	return c >= 0x80 && c < 0xa0 ? 6 : 1;
}

static size_t shown_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t cells = 0;
	uint32_t c;

	while (*u) {
		u += utf8_next(u, &c);
		cells += shown_width(c);
	}
	return cells;
}

/* Writes s escaped for XML text and attributes, at most max shown characters. */
static void put_xml(FILE *f, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t cells = 0, len;
	uint32_t c;

	while (*u) {
		len = utf8_next(u, &c);
		cells += shown_width(c);
		if (cells > max)
			return;
		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", (unsigned int)c);
		else if (is_invisible_control(c))
			fprintf(f, "\\u%04x", (unsigned int)c);
		else if (c == 0xfffd || c == 0xfffe || c == 0xffff)
			fputs("\xef\xbf\xbd", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c == '\'')
			fputs("&#39;", f);
		else
			fwrite(u, 1, len, f);
		u += len;
	}
}

/* How much of s fits in width px: all of it (SIZE_MAX), or the first
 * characters to show before "..", 0 when not even 3 characters fit. */
static size_t fitting(const char *s, double width)
{
	double room = (width - 6) / FG_CHAR_W;
	size_t fit = room > 0 ? (size_t)room : 0;

	if (shown_len(s) <= fit)
		return SIZE_MAX;
	return fit >= 3 ? fit - 2 : 0;
}

/* Writes s cut to fit width px, ending in ".." when cut. */
static void put_fitted(FILE *f, const char *s, size_t fit)
{
	put_xml(f, s, fit);
	if (fit != SIZE_MAX)
		fputs("..", f);
}

/* ---- Labels and colours ---- */

static int label_printf(struct fg_view *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int label_printf(struct fg_view *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(v->label, v->label_cap, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < v->label_cap)
			return 0;
		free(v->label);
		v->label_cap = (size_t)n + 1;
		v->label = malloc(v->label_cap);
		if (!v->label) {
			v->label_cap = 0;
			return -ENOMEM;
		}
	}
}

/* The node's label in v->label, and the name its colour is hashed from
 * (at most 64 bytes of it are read). */
static int node_label(struct fg_view *v, const struct fg_tree *t, const struct fg_node *n,
		      const char **key)
{
	const struct sample_profile *p = t->p;
	const struct sample_thread *th;
	const struct sample_frame *fr;

	switch (n->kind) {
	case FG_ROOT:
		*key = "all";
		return label_printf(v, "all");
	case FG_PROCESS:
		*key = p->comm;
		return label_printf(v, "%.*s %d", (int)strnlen(p->comm, sizeof(p->comm)), p->comm,
				    p->pid);
	case FG_THREAD:
		th = &p->threads[n->ref];
		*key = th->name;
		return label_printf(v, "%.*s (%" PRIu32 ")",
				    (int)strnlen(th->name, sizeof(th->name)), th->name, th->tid);
	case FG_TRUNCATED:
		*key = "[truncated]";
		return label_printf(v, "[truncated]");
	case FG_OFFCPU:
		*key = "[off-CPU]";
		return label_printf(v, "[off-CPU]");
	case FG_FRAME:
		break;
	}
	fr = &p->frames[n->ref];
	*key = fr->name;
	return label_printf(v, "%s (%s:%" PRId32 ")", fr->name, fr->filename,
			    fr->line ? fr->line : fr->firstlineno);
}

/* FNV-1a: the same name gets the same colour in every graph. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < 64 && s[i]; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void put_fill(FILE *f, const struct fg_node *n, const char *key)
{
	uint32_t h = name_hash(key);
	unsigned int v1 = h & 0xff, v2 = h >> 8 & 0xff, v3 = h >> 16 & 0xff;

	if (n->kind == FG_OFFCPU || n->off > n->cpu) /* blue: mostly waiting */
		fprintf(f, "rgb(%u,%u,%u)", 60 + v1 * 60 / 255, 110 + v3 * 70 / 255,
			200 + v2 * 55 / 255);
	else /* red to yellow: mostly running */
		fprintf(f, "rgb(%u,%u,%u)", 205 + v3 * 50 / 255, v1 * 230 / 255, v2 * 55 / 255);
}

/* ---- The SVG ---- */

static double node_y(const struct fg_view *v, const struct fg_node *n)
{
	return FG_TOP + (double)(v->max_depth - n->depth) * FG_FRAME_H;
}

static int put_node(FILE *f, struct fg_view *v, const struct fg_tree *t, size_t idx, uint64_t x)
{
	const struct fg_node *n = &t->nodes[idx];
	uint64_t total = node_total(n);
	double px = FG_XPAD + px_of(v, x), width = px_of(v, total);
	const char *key;
	size_t fit;
	int err = node_label(v, t, n, &key);

	if (err)
		return err;
	fprintf(f, "<g class=\"f\" data-x=\"%" PRIu64 "\" data-n=\"%" PRIu64 "\" data-d=\"%u\">"
		   "<title>", x, total, n->depth);
	put_xml(f, v->label, SIZE_MAX);
	fprintf(f, " " FG_EM_DASH " %" PRIu64 " samples (%.1f%%), cpu %" PRIu64 ", off-CPU %" PRIu64
		   "</title><rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"",
		total, 100.0 * (double)total / (double)v->total, n->cpu, n->off, px, node_y(v, n),
		width, FG_FRAME_H - 1);
	put_fill(f, n, key);
	fputs("\"/>", f);
	fit = fitting(v->label, width);
	if (fit) { /* no empty <text>: the script adds one when a zoom makes room */
		fprintf(f, "<text x=\"%.2f\" y=\"%.0f\">", px + 3, node_y(v, n) + 11);
		put_fitted(f, v->label, fit);
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
	for (size_t i = 0; i < n->nchildren; i++) {
		size_t child = t->children[n->first + i];

		/* An omitted child keeps its place: its samples stay in the parent's width. */
		if (node_total(&t->nodes[child]) >= v->min_samples) {
			err = put_node(f, v, t, child, x);
			if (err)
				return err;
		}
		x += node_total(&t->nodes[child]);
	}
	return 0;
}

/* Zoom, search, details and label fitting. Each frame's extent is in
 * samples (data-x, data-n) and its depth in data-d, so the script lays
 * frames out again from exact figures; the label is its <title> up to the
 * last " — ". Sets data-pybpf-ready="1" on the root once set up. */
static const char fg_script[] =
	"(function () {\n"
	"\"use strict\";\n"
	"var svg = document.documentElement, NS = svg.namespaceURI;\n"
	"var X0 = Number(svg.getAttribute(\"data-x0\"));\n"
	"var GW = Number(svg.getAttribute(\"data-gw\"));\n"
	"var MATCH = \"rgb(230,0,230)\";\n"
	"var details = document.getElementById(\"details\");\n"
	"var matched = document.getElementById(\"matched\");\n"
	"var unzoomBtn = document.getElementById(\"unzoom\");\n"
	"var input = document.getElementById(\"search\");\n"
	"var layer = document.getElementById(\"frames\");\n"
	"var frames = [], zoomed = null, term = \"\";\n"
	"\n"
	"function charWidth() {\n"
	"\tvar t = document.createElementNS(NS, \"text\"), w;\n"
	"\tt.textContent = \"MMMMMMMMMMMMMMMMMMMM\";\n"
	"\tlayer.appendChild(t);\n"
	"\tw = t.getComputedTextLength() / 20;\n"
	"\tlayer.removeChild(t);\n"
	"\treturn w > 1 ? w : Number(svg.getAttribute(\"data-char-w\"));\n"
	"}\n"
	"var CHAR_W = charWidth();\n"
	"\n"
	"function fit(r, width) {\n"
	"\tvar room = Math.floor((width - 6) / CHAR_W);\n"
	"\tif (r.chars.length <= room)\n"
	"\t\treturn r.label;\n"
	"\treturn room < 3 ? \"\" : r.chars.slice(0, room - 2).join(\"\") + \"..\";\n"
	"}\n"
	"\n"
	"/* The label of r, drawn at x in a frame w wide; a <text> is made on demand. */\n"
	"function setText(r, x, w) {\n"
	"\tvar s = fit(r, w);\n"
	"\tif (!r.text) {\n"
	"\t\tif (!s)\n"
	"\t\t\treturn;\n"
	"\t\tr.text = document.createElementNS(NS, \"text\");\n"
	"\t\tr.text.setAttribute(\"y\", String(Number(r.rect.getAttribute(\"y\")) + 11));\n"
	"\t\tr.g.appendChild(r.text);\n"
	"\t}\n"
	"\tr.text.setAttribute(\"x\", (x + 3).toFixed(2));\n"
	"\tr.text.textContent = s;\n"
	"}\n"
	"\n"
	"/* z is shown full width: its ancestors too (faded), its descendants\n"
	"   scaled, everything else hidden. */\n"
	"function layout(z) {\n"
	"\tvar scale = GW / z.n;\n"
	"\tframes.forEach(function (r) {\n"
	"\t\tvar below = r.d >= z.d && r.x >= z.x && r.x + r.n <= z.x + z.n;\n"
	"\t\tvar above = r.d < z.d && r.x <= z.x && r.x + r.n >= z.x + z.n;\n"
	"\t\tvar x, w;\n"
	"\t\tr.shown = below || above;\n"
	"\t\tr.g.classList.toggle(\"hidden\", !r.shown);\n"
	"\t\tr.g.classList.toggle(\"a\", above);\n"
	"\t\tif (!r.shown)\n"
	"\t\t\treturn;\n"
	"\t\tx = above ? X0 : X0 + (r.x - z.x) * scale;\n"
	"\t\tw = above ? GW : r.n * scale;\n"
	"\t\tr.rect.setAttribute(\"x\", x.toFixed(2));\n"
	"\t\tr.rect.setAttribute(\"width\", w.toFixed(2));\n"
	"\t\tsetText(r, x, w);\n"
	"\t});\n"
	"}\n"
	"\n"
	"function zoom(r) {\n"
	"\tzoomed = r;\n"
	"\tlayout(r);\n"
	"\tunzoomBtn.classList.toggle(\"hidden\", r === frames[0]);\n"
	"\tsearch(term);\n"
	"}\n"
	"\n"
	"function pattern(s) {\n"
	"\ttry {\n"
	"\t\treturn new RegExp(s);\n"
	"\t} catch (e) {\n"
	"\t\treturn new RegExp(s.replace(/[.*+?^${}()|[\\]\\\\]/g, \"\\\\$&\"));\n"
	"\t}\n"
	"}\n"
	"\n"
	"/* Matched: the share of the shown samples under a matching frame, a\n"
	"   matching frame inside another counted once. */\n"
	"function search(s) {\n"
	"\tvar re = s ? pattern(s) : null, spans = [], end = -1, sum = 0;\n"
	"\tterm = s;\n"
	"\tframes.forEach(function (r) {\n"
	"\t\tvar hit = re !== null && re.test(r.label);\n"
	"\t\tif (hit !== r.hit)\n"
	"\t\t\tr.rect.setAttribute(\"fill\", hit ? MATCH : r.fill);\n"
	"\t\tr.hit = hit;\n"
	"\t\tif (hit && r.shown)\n"
	"\t\t\tspans.push([Math.max(r.x, zoomed.x), Math.min(r.x + r.n, zoomed.x + zoomed.n)]);\n"
	"\t});\n"
	"\tspans.sort(function (a, b) { return a[0] - b[0]; });\n"
	"\tspans.forEach(function (sp) {\n"
	"\t\tif (sp[1] > end) {\n"
	"\t\t\tsum += sp[1] - Math.max(sp[0], end);\n"
	"\t\t\tend = sp[1];\n"
	"\t\t}\n"
	"\t});\n"
	"\tmatched.textContent = re ? \"Matched: \" + (100 * sum / zoomed.n).toFixed(1) + \"%\"\n"
	"\t\t: \" \";\n"
	"}\n"
	"\n"
	"function frameOf(e) {\n"
	"\tvar g = e.target.closest ? e.target.closest(\"g.f\") : null;\n"
	"\treturn g ? frames[Number(g.getAttribute(\"data-i\"))] : null;\n"
	"}\n"
	"\n"
	"Array.prototype.forEach.call(layer.querySelectorAll(\"g.f\"), function (g, i) {\n"
	"\tvar kids = g.children, title = kids[0].textContent;\n"
	"\tvar r = { g: g, rect: kids[1], text: kids[2] || null,\n"
	"\t\tlabel: title.slice(0, title.lastIndexOf(\" \\u2014 \")),\n"
	"\t\tx: Number(g.getAttribute(\"data-x\")),\n"
	"\t\tn: Number(g.getAttribute(\"data-n\")), d: Number(g.getAttribute(\"data-d\")),\n"
	"\t\tshown: true, hit: false };\n"
	"\tr.chars = Array.from(r.label);\n"
	"\tr.fill = r.rect.getAttribute(\"fill\");\n"
	"\tg.setAttribute(\"data-i\", String(i));\n"
	"\tframes.push(r);\n"
	"});\n"
	"zoomed = frames[0] || null;\n"
	"/* Labels were cut for the writer's estimate of the font: cut again if it is off. */\n"
	"if (Math.abs(CHAR_W - Number(svg.getAttribute(\"data-char-w\"))) > 0.01 * CHAR_W) {\n"
	"\tframes.forEach(function (r) {\n"
	"\t\tvar a = r.rect.attributes;\n"
	"\t\tsetText(r, Number(a.x.value), Number(a.width.value));\n"
	"\t});\n"
	"}\n"
	"layer.addEventListener(\"click\", function (e) {\n"
	"\tvar r = frameOf(e);\n"
	"\tif (r)\n"
	"\t\tzoom(r);\n"
	"});\n"
	"layer.addEventListener(\"mouseover\", function (e) {\n"
	"\tvar r = frameOf(e);\n"
	"\tdetails.textContent = r ? r.g.firstChild.textContent : \" \";\n"
	"});\n"
	"layer.addEventListener(\"mouseout\", function () { details.textContent = \" \"; });\n"
	"unzoomBtn.addEventListener(\"click\", function () { zoom(frames[0]); });\n"
	"input.addEventListener(\"input\", function () {\n"
	"\tif (zoomed)\n"
	"\t\tsearch(input.value);\n"
	"});\n"
	"window.addEventListener(\"keydown\", function (e) {\n"
	"\tif ((e.ctrlKey || e.metaKey) && (e.key === \"f\" || e.key === \"F\")) {\n"
	"\t\te.preventDefault();\n"
	"\t\tinput.focus();\n"
	"\t\tinput.select();\n"
	"\t} else if (e.key === \"Escape\" && document.activeElement === input) {\n"
	"\t\tinput.value = \"\";\n"
	"\t\tif (zoomed)\n"
	"\t\t\tsearch(\"\");\n"
	"\t}\n"
	"});\n"
	"svg.setAttribute(\"data-pybpf-ready\", \"1\");\n"
	"})();\n";

static const char fg_style[] =
	"text { font-family: monospace; font-size: 12px; fill: #000; }\n"
	"#title { font-family: sans-serif; font-size: 17px; }\n"
	"#subtitle, .help { fill: #555; }\n"
	"#unzoom { cursor: pointer; fill: #036; text-decoration: underline; }\n"
	".f { cursor: pointer; }\n"
	".f text { pointer-events: none; }\n"
	".f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	".f.a { opacity: 0.5; }\n"
	".hidden { display: none; }\n"
	"#search { width: 100%; box-sizing: border-box; font: 12px monospace; }\n";

struct fg_legend_item {
	const char *fill, *what;
};

static void put_legend(FILE *f)
{
	static const struct fg_legend_item items[] = {
		{ "rgb(235,120,25)", "mostly on CPU" },
		{ "rgb(90,145,228)", "mostly off CPU (sleeping, blocked, waiting)" },
		{ "rgb(230,0,230)", "search match" },
	};
	double x = FG_XPAD;

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		fprintf(f, "<rect x=\"%.0f\" y=\"54\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			   "<text x=\"%.0f\" y=\"64\">%s</text>\n",
			x, items[i].fill, x + 16, items[i].what);
		x += 16 + FG_CHAR_W * (double)strlen(items[i].what) + 14;
	}
	fprintf(f, "<text class=\"help\" x=\"%.0f\" y=\"64\">click: zoom</text>\n", x);
}

static int put_header(FILE *f, struct fg_view *v, const struct sample_profile *p, int height)
{
	const struct sample_losses *l = &p->losses;
	uint64_t lost = l->no_tstate + l->read_errors + l->stacks_full + l->counts_full;
	int err;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" data-x0=\"%d\" data-gw=\"%d\" "
		   "data-char-w=\"%.2f\">\n",
		FG_WIDTH, height, FG_WIDTH, height, FG_XPAD, FG_GRAPH_W, FG_CHAR_W);
	err = label_printf(v, "pybpf-prof: %.*s %d " FG_EM_DASH " %s, %u Hz, %" PRIu64 " samples",
			   (int)strnlen(p->comm, sizeof(p->comm)), p->comm, p->pid,
			   sample_mode_name(p->mode), p->hz, v->total);
	if (err)
		return err;
	fputs("<title>", f);
	put_xml(f, v->label, SIZE_MAX);
	fprintf(f, "</title>\n<!-- Written by pybpf-prof. %zu frames are omitted: narrower than "
		   "%.1f px, or beyond the %d widest; their samples are in their parents' "
		   "widths. -->\n",
		v->omitted, FG_MIN_PX, FG_MAX_RECTS);
	fprintf(f, "<defs><linearGradient id=\"background\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
		   "<stop offset=\"5%%\" stop-color=\"#f8f8f8\"/><stop offset=\"95%%\" "
		   "stop-color=\"#e6e6e6\"/></linearGradient></defs>\n<style>\n%s</style>\n"
		   "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#background)\"/>\n"
		   "<text id=\"title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">",
		fg_style, FG_WIDTH, height, FG_WIDTH / 2);
	put_xml(f, v->label, SIZE_MAX);
	err = label_printf(v, "CPython %.*s (%.*s, %.*s), %.2f s sampled, %" PRIu64
			      " samples not in any stack",
			   (int)strnlen(p->python_version, sizeof(p->python_version)),
			   p->python_version, (int)strnlen(p->build, sizeof(p->build)), p->build,
			   (int)strnlen(p->binary, sizeof(p->binary)), p->binary, p->wall_seconds,
			   lost);
	if (err)
		return err;
	fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"44\" text-anchor=\"middle\">",
		FG_WIDTH / 2);
	put_fitted(f, v->label, fitting(v->label, FG_GRAPH_W));
	fprintf(f, "</text>\n<text id=\"unzoom\" class=\"hidden\" x=\"%d\" y=\"24\">"
		   "Reset Zoom</text>\n", FG_XPAD);
	put_legend(f);
	fprintf(f, "<foreignObject x=\"%d\" y=\"50\" width=\"260\" height=\"22\">"
		   "<input xmlns=\"http://www.w3.org/1999/xhtml\" id=\"search\" type=\"search\" "
		   "placeholder=\"Search (regex), Ctrl-F\"/></foreignObject>\n",
		FG_WIDTH - FG_XPAD - 260);
	return 0;
}

static void put_footer(FILE *f, int height)
{
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
		   "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n"
		   "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n",
		FG_XPAD, height - 12, FG_WIDTH - FG_XPAD, height - 12, fg_script);
}

static int flamegraph_write(FILE *f, const struct sample_profile *p)
{
	struct fg_view v = { 0 };
	struct fg_tree t;
	int height, err;

	errno = 0;
	err = tree_build(&t, p);

	if (!err)
		err = view_plan(&v, &t);
	height = FG_TOP + (int)(v.max_depth + 1) * FG_FRAME_H + FG_BOTTOM;
	if (!err)
		err = put_header(f, &v, p, height);
	if (!err) {
		fputs("<g id=\"frames\">\n", f);
		if (v.total)
			err = put_node(f, &v, &t, 0, 0);
		else
			fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
				   "No samples</text>\n", FG_WIDTH / 2, FG_TOP + 12);
		fputs("</g>\n", f);
	}
	if (!err)
		put_footer(f, height);
	tree_free(&t);
	free(v.label);
	if (!err)
		err = output_stream_error(f);
	return err;
}

const struct sample_writer output_flamegraph = {
	.format = "flamegraph",
	.write = flamegraph_write,
};
