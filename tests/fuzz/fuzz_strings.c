// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: the UTF-8 sanitiser, the escaper and the UCS decoder,
 * on bytes as they come from a target's memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

static void check_terminated(const char *buf, size_t n)
{
	if (!memchr(buf, '\0', n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *t, small[16], big[4096], *raw;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	t = utf8_sanitize(s);
	free(t);
	check_terminated(escape_for_print(s, small, sizeof(small)), sizeof(small));
	check_terminated(escape_for_print(s, big, sizeof(big)), sizeof(big));
	check_terminated(escape_for_print(s, small, 1), 1);
	free(escaped_ndup(s, size / 2));
	free(escaped_dup(s));
	free(s);
	/* Unterminated: escaped_ndup must stop at max. */
	raw = malloc(size ? size : 1);
	if (!raw)
		return 0;
	memcpy(raw, data, size);
	free(escaped_ndup(raw, size));
	for (unsigned int width = 1; width <= 4; width *= 2) {
		check_terminated(ucs_to_utf8(raw, size, width, small, sizeof(small)),
				 sizeof(small));
		check_terminated(ucs_to_utf8(raw, size, width, big, sizeof(big)), sizeof(big));
		check_terminated(ucs_to_utf8(raw, size, width, small, 1), 1);
	}
	free(raw);
	return 0;
}
