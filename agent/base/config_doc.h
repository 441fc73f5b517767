// SPDX-License-Identifier: Apache-2.0
/* The configuration reference, written from the key table (config.c) and one text per
 * key (config_doc.c): heapsnap.ini(5) and docs/configuration.md are its output. */
#ifndef HS_CONFIG_DOC_H
#define HS_CONFIG_DOC_H

#include <stddef.h>
#include <stdio.h>

enum config_doc_format { CONFIG_DOC_MAN, CONFIG_DOC_MARKDOWN };

/* 0 when every key of the table has a text and every text a key; else a negative
 * errno and the first mismatch in msg. */
int config_doc_check(char *msg, size_t msglen);

/* The whole reference in FORMAT: 0, or a negative errno (-ENOENT/-EINVAL: the check
 * above failed; -EIO: a write failed). */
int config_doc_write(FILE *out, enum config_doc_format format);

#endif
