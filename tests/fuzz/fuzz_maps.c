// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: /proc/PID/maps lines, and the version guesses made
 * from the file names and paths they give; the same input read as a maps
 * file by maps_read_line with a small buffer (overlong lines skipped). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_lines.h"
#include "target.h"

static void one_line(const char *line)
{
	struct map_entry m;
	int major, minor, micro;
	const char *base;

	python_version_from_name(line, &major, &minor);
	python_micro_from_path(line, 9, &micro);
	if (!map_entry__parse(line, &m))
		return;
	if (!memchr(m.path, '\0', sizeof(m.path)) || !memchr(m.perms, '\0', sizeof(m.perms)))
		abort();
	base = strrchr(m.path, '/');
	base = base ? base + 1 : m.path;
	if (python_version_from_name(base, &major, &minor))
		python_micro_from_path(m.path, minor, &micro);
}

/* Every line returned fits the buffer, is terminated, and has no '\n' but at its end. */
static void read_as_file(const uint8_t *data, size_t size)
{
	char line[64];
	FILE *f = size ? fmemopen((void *)data, size, "r") : NULL;

	if (!f)
		return;
	while (maps_read_line(f, line, sizeof(line))) {
		char *nl;

		if (!memchr(line, '\0', sizeof(line)))
			abort();
		nl = strchr(line, '\n');
		if (nl && nl[1])
			abort();
		one_line(line);
	}
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_each_line(data, size, one_line);
	read_as_file(data, size);
	return 0;
}
