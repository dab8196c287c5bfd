// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: the command line, split on NUL bytes into argv. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[MAX_ARGS + 2];
	struct pybpf_options o;
	struct pybpf_err err;
	int argc = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = "pybpf-prof";
	for (size_t i = 0; i <= size && argc < MAX_ARGS + 1;) {
		argv[argc++] = text + i;
		i += strlen(text + i) + 1;
	}
	argv[argc] = NULL;
	memset(&o, 0, sizeof(o));
	options_parse(argc, argv, &o, &err);
	options_free(&o);
	free(text);
	return 0;
}
