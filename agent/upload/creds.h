// SPDX-License-Identifier: Apache-2.0
/* S3 credentials: an AWS shared-credentials file ([PROFILE] with aws_access_key_id,
 * aws_secret_access_key, optional aws_session_token; other keys ignored), parsed with
 * inih, or the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 * environment when no file is configured. A file that group or others may access is
 * refused (as the store refuses a loose directory). Messages name the file, the
 * profile and the key, never a secret value. */
#ifndef HS_CREDS_H
#define HS_CREDS_H

#include <limits.h>
#include <stddef.h>

struct s3_creds {
	char access_key[129];
	char secret_key[129];
	char session_token[4097];
	char source[PATH_MAX + 160];   /* "FILE [PROFILE]" or "environment": for messages */
};

/* file "" = the environment. 0, or -errno with err set. */
int creds_load(const char *file, const char *profile, struct s3_creds *out, char *err, size_t errlen);
/* The same from text (tests; no permission check); name is used in messages. */
int creds_parse_string(const char *text, const char *name, const char *profile, struct s3_creds *out,
		       char *err, size_t errlen);
/* Overwrite the secrets in memory. */
void creds_wipe(struct s3_creds *c);

#endif
