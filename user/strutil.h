/* SPDX-License-Identifier: GPL-2.0-only */
/* Strings from the target are untrusted: make them valid UTF-8, and escape
 * control characters before they reach a terminal. */
#ifndef PYBPF_STRUTIL_H
#define PYBPF_STRUTIL_H

#include <stddef.h>

/* A malloc'ed copy of s with each invalid UTF-8 byte replaced by U+FFFD. */
char *utf8_sanitize(const char *s);
/* Writes s into buf (size n, always terminated) with control characters,
 * backslash and DEL escaped as \n, \t, \\ or \xHH. Returns buf. */
char *escape_for_print(const char *s, char *buf, size_t n);

#endif
