// SPDX-License-Identifier: Apache-2.0
// Validates Kubernetes manifests offline against the Kubernetes API schema, as the
// npm package kubernetes-models (generated from the API's OpenAPI spec) and
// @kubernetes-models/prometheus-operator (the operator's CRDs) encode it: types,
// required fields, enums, formats. They accept unknown fields (an API server with
// strict field validation refuses them): a misspelt optional field passes here.
//   node k8s_validate.mjs FILE...   prints one line per object; exit 1 on any error
import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const models = {
	"v1/Namespace": core.Namespace, "v1/ConfigMap": core.ConfigMap, "v1/Secret": core.Secret,
	"v1/ServiceAccount": core.ServiceAccount, "apps/v1/DaemonSet": apps.DaemonSet,
	"monitoring.coreos.com/v1/PodMonitor": monitoring.PodMonitor,
};

let bad = 0;
for (const file of process.argv.slice(2)) {
	for (const doc of yaml.loadAll(readFileSync(file, "utf8"))) {
		if (!doc) continue;
		const id = `${file}: ${doc.kind}/${doc.metadata?.name}`;
		const Model = models[`${doc.apiVersion}/${doc.kind}`];
		if (!Model) { console.log(`${id}: no schema for ${doc.apiVersion} ${doc.kind}`); bad++; continue; }
		try {
			new Model(doc).validate();
			console.log(`${id}: valid (${doc.apiVersion})`);
		} catch (e) {
			console.log(`${id}: INVALID: ${e.message}`);
			bad++;
		}
	}
}
process.exit(bad ? 1 : 0);
