// SPDX-License-Identifier: Apache-2.0
/* String tables for enums: an array of names indexed by the enum, turned into a
 * lookup both ways. Strings exist only at the edges (logs, JSON, files on disk); the
 * logic switches on the enum.
 *
 *   static const char *const color_names[] = { [RED] = "red", [BLUE] = "blue" };
 *   const char *s = STRTAB_NAME(color_names, c, "unknown");
 *   int i = STRTAB_FIND(color_names, "blue");   // index, or -EINVAL
 */
#ifndef HS_STRTAB_H
#define HS_STRTAB_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

static inline const char *strtab_name(const char *const *table, size_t n, size_t i, const char *unknown)
{
	return i < n && table[i] ? table[i] : unknown;
}

static inline int strtab_find(const char *const *table, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (table[i] && strcmp(table[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

#define STRTAB_LEN(table) (sizeof(table) / sizeof((table)[0]))
#define STRTAB_NAME(table, i, unknown) strtab_name((table), STRTAB_LEN(table), (size_t)(i), (unknown))
#define STRTAB_FIND(table, s) strtab_find((table), STRTAB_LEN(table), (s))

#endif
