// SPDX-License-Identifier: Apache-2.0
/* The fuzz input as a NUL-terminated string (malloc'ed; NULL when out of memory), for
 * targets whose API takes text. */
#ifndef HS_FUZZ_TEXT_H
#define HS_FUZZ_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
	}
	return text;
}

#endif
