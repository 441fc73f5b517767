// SPDX-License-Identifier: Apache-2.0
/* The Alertmanager sink: turns events into alerts (am_alerts.h) and pushes them with
 * POST /api/v2/alerts to every configured Alertmanager through the sender.
 *   trigger (reason leak)      HeapsnapLeakSuspected   } resolved when the process exits;
 *   trigger (other reasons)    HeapsnapMemoryGrowth    } a later capture_done adds its
 *                                                        snapshot_id, top growth, retainer
 *   capture_failed             HeapsnapCaptureFailed   } resolved by the next incident's
 *   capture_refused            HeapsnapCaptureRefused  } capture_done (not a baseline's)
 *                                                        of the process, or its exit
 * HeapsnapLeakSuspected is also resolved when the leak heuristic's verdict drops
 * (alert_condition_ended TRIGGER_LEAK: the post-GC heap floor no longer rises).
 * Labels: alertname, host, pid, app, container (when there is one), severity. */
#ifndef HS_ALERTMANAGER_H
#define HS_ALERTMANAGER_H

#include "alert/alert.h"
#include "export/sender.h"

struct am_sink;

/* urls: space-separated base URLs ("http://am:9093"); each gets /api/v2/alerts. */
struct am_sink *am_sink_new(struct sender *s, const char *urls, const struct http_auth *auth,
			    unsigned resend_s, const char *generator_url, char *err, size_t errlen);
void am_sink_free(struct am_sink *a);
/* The alerter sink (events and process lifecycle) and the sender's tick. */
struct alert_sink am_sink_ops(struct am_sink *a);
void am_sink_tick(void *ctx, int64_t now_mono_ms);

#endif
