// SPDX-License-Identifier: GPL-2.0-only
/* The progress line: carriage return, text, then "erase to end of line"
 * (ESC [ K) so a shorter text leaves nothing of a longer one behind. */
#include "progress.h"

#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"

#define ERASE_LINE "\r\033[K"
#define SECONDS_MAX 1e12 /* past any run; keeps the conversion to an integer defined */

/* The line pybpf_warn erases before it writes. */
static struct progress *warn_target;

static void erase_before_warn(void)
{
	if (warn_target)
		progress_clear(warn_target);
}

void progress_init(struct progress *p, FILE *f)
{
	p->f = f;
	p->shown = false;
	p->active = isatty(fileno(f)) == 1;
	if (p->active) {
		warn_target = p;
		pybpf_before_warn = erase_before_warn;
	}
}

/* Bytes of text that fit in one row of the terminal (all when unknown),
 * never ending inside a UTF-8 character. */
static size_t fitting_length(const struct progress *p, const char *text)
{
	size_t len = strlen(text);
	struct winsize ws;

	if (ioctl(fileno(p->f), TIOCGWINSZ, &ws) || !ws.ws_col || len < ws.ws_col)
		return len;
	len = ws.ws_col - 1; /* the last column would wrap on some terminals */
	while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
		len--;
	return len;
}

void progress_show(struct progress *p, const char *text)
{
	if (!p->active)
		return;
	fprintf(p->f, "\r%.*s\033[K", (int)fitting_length(p, text), text);
	fflush(p->f);
	p->shown = true;
}

void progress_clear(struct progress *p)
{
	if (!p->active || !p->shown)
		return;
	fputs(ERASE_LINE, p->f);
	fflush(p->f);
	p->shown = false;
}

void progress_end(struct progress *p)
{
	progress_clear(p);
	if (warn_target == p) {
		warn_target = NULL;
		pybpf_before_warn = NULL;
	}
	p->active = false;
}

/* Whole seconds of s (negative and NaN: 0), rounded up or down. */
static uint64_t whole_seconds(double s, bool up)
{
	uint64_t v;

	if (!(s > 0))
		return 0;
	if (s > SECONDS_MAX)
		s = SECONDS_MAX;
	v = (uint64_t)s;
	return up && (double)v < s ? v + 1 : v;
}

void progress_format(char *buf, size_t n, double seconds, bool has_duration, size_t procs,
		     uint64_t count, bool sampling)
{
	const char *counted = sampling ? (count == 1 ? "sample" : "samples")
				       : (count == 1 ? "call counted" : "calls counted");

	snprintf(buf, n, "pybpf-prof: %" PRIu64 " s %s, %zu process%s %s, %" PRIu64 " %s",
		 whole_seconds(seconds, has_duration), has_duration ? "left" : "so far", procs,
		 procs == 1 ? "" : "es", sampling ? "sampled" : "traced", count, counted);
}
