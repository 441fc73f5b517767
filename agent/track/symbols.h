// SPDX-License-Identifier: Apache-2.0
/* Function symbols of an ELF file found by mangled-name prefix, for uprobes.
 *
 * A query is a mangled-name prefix such as "_ZN2v88internal4Heap8ScavengeE" (up to and
 * including the E that closes the qualified name, so a changed parameter list still
 * matches). A symbol matches if its name is the prefix followed by anything that does
 * not start a longer identifier, which admits the parameter list and the compiler's
 * clone suffixes (".constprop.N", ".isra.N", ".part.N", ".cold"). ".symtab" is read
 * first (Node >= 24.11 hides V8 from .dynsym), then ".dynsym"; matches are deduplicated
 * by address. ".cold" fragments are reported (cold = true) but are not entry points:
 * callers must not put an entry probe on them. */
#ifndef HS_SYMBOLS_H
#define HS_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYM_MAX_MATCHES 4

struct sym_match {
	uint64_t vaddr;     /* st_value */
	uint64_t offset;    /* file offset of the first instruction (what a uprobe wants) */
	uint64_t size;      /* st_size */
	bool clone;         /* name carries a ".suffix" (constprop/isra/part/cold) */
	bool cold;          /* a ".cold" fragment: not an entry point */
	bool from_symtab;   /* found in .symtab (else .dynsym) */
};

struct sym_query {
	const char *prefix;                         /* in */
	int count;                                  /* out: matches found (<= SYM_MAX_MATCHES) */
	struct sym_match match[SYM_MAX_MATCHES];    /* out: non-clone matches first */
};

struct sym_file_info {
	bool has_symtab;
	bool has_dynsym;
	uint64_t function_symbols; /* STT_FUNC symbols seen in both tables */
};

/* Resolve every query against the ELF file at path (any path open(2) accepts, including
 * /proc/PID/exe and /proc/PID/map_files/...). Returns the number of queries with at least
 * one entry-point match (0 = none found, e.g. a stripped binary), or a negative errno
 * with a message in err (the open's errno: file unreadable; -ENOEXEC: not ELF). info
 * may be NULL. */
int symbols_resolve(const char *path, struct sym_query *queries, size_t nqueries,
		    struct sym_file_info *info, char *err, size_t errlen);

/* True if name matches prefix under the rule above; *clone / *cold say which kind
 * (either may be NULL). Exposed for tests. */
bool symbols_name_matches(const char *name, const char *prefix, bool *clone, bool *cold);

/* First entry-point (non-cold) match of a query, or NULL. */
const struct sym_match *symbols_entry(const struct sym_query *q);

#endif
