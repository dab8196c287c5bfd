/* SPDX-License-Identifier: GPL-2.0-only */
/* For the harnesses whose input is a text file: each line, NUL-terminated. */
#ifndef PYBPF_FUZZ_LINES_H
#define PYBPF_FUZZ_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Calls fn on every non-empty line of the size bytes at data. */
static inline void fuzz_each_line(const uint8_t *data, size_t size, void (*fn)(const char *line))
{
	char *text = malloc(size + 1), *line, *save;

	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fn(line);
	free(text);
}

#endif
