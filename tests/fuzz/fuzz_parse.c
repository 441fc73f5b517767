// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the snapshot parser: any bytes must give a snapshot or an
 * error, never a crash, a leak or a hang. Inputs that parse are also run through
 * dominators, the summary, the diff against themselves, the leak report and last
 * the summary's consuming dominators. */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "snapshot/diff.h"
#include "snapshot/dominators.h"
#include "snapshot/parse.h"
#include "snapshot/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct hs_snapshot *s = NULL;
	if (hs_snapshot_parse_mem(data, size, 0, &s, err, sizeof(err)) < 0)
		return 0;
	struct hs_dominators *dom = NULL;
	if (hs_dominators_compute(s, &dom, err, sizeof(err)) == 0) {
		struct hs_summary sum;
		if (hs_summary_compute(s, dom, &sum, err, sizeof(err)) == 0) {
			json_decref(hs_summary_to_json(&sum, 0));
			hs_summary_free(&sum);
		}
		hs_dominators_free(dom);
	}
	struct hs_diff d;
	if (hs_diff_compute(s, s, &d, err, sizeof(err)) == 0) {
		json_decref(hs_diff_to_json(&d, 0));
		hs_diff_free(&d);
	}
	json_decref(hs_report_compute(s, s, err, sizeof(err)));
	/* `heapsnap summary`'s route: dominators that free the edges as they go */
	if (hs_dominators_compute_consume(s, &dom, err, sizeof(err)) == 0) {
		struct hs_summary sum;
		if (hs_summary_compute(s, dom, &sum, err, sizeof(err)) == 0)
			hs_summary_free(&sum);
		hs_dominators_free(dom);
	}
	hs_snapshot_free(s);
	return 0;
}
