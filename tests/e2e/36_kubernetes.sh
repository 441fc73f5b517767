#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/kubernetes/ against the Kubernetes API schema, offline: every manifest is
# validated with the npm packages kubernetes-models 5.1 (the API's OpenAPI schema,
# Kubernetes 1.3x) and @kubernetes-models/prometheus-operator 6 (the PodMonitor CRD),
# installed by make test-deps with the other npm test peers; the validator first has to
# reject a broken DaemonSet. Then what the schema cannot know, checked against the
# code: the capabilities are heapsnapd.c's table, the ConfigMap's heapsnap.ini parses
# with the agent's own parser, the Secret is mounted 0600 as a file (the agent opens
# credentials with O_NOFOLLOW), every node is tolerated, hostPID, the scrape port.
# No cluster: what only a cluster checks is in docs/kubernetes.md.
source "$(dirname "$0")/lib.sh"
K8S=$ROOT/deploy/kubernetes
MODELS=$ROOT/tests/e2e/realapps/node_modules
unavailable() { if [ "${CI:-}" = true ]; then fail "$*"; else skip "$*"; fi; }

[ -e "$MODELS/kubernetes-models/package.json" ] && [ -e "$MODELS/@kubernetes-models/prometheus-operator/package.json" ] ||
	unavailable "kubernetes-models missing: run 'make test-deps'"
# The validator beside a node_modules link, so its imports resolve to the test peers.
cp "$ROOT/tests/e2e/k8s_validate.mjs" "$T/k8s_validate.mjs" && ln -s "$MODELS" "$T/node_modules"
validate() { nodetool "$T/k8s_validate.mjs" "$@"; }

# The validator can fail: a DaemonSet with a port that is no number and no containers.
sed -e 's/containerPort: 9837/containerPort: metrics-port/' "$K8S/daemonset.yaml" > "$T/bad.yaml"
validate "$T/bad.yaml" > "$T/bad.out" && { cat "$T/bad.out"; fail "a DaemonSet with containerPort: metrics-port validated"; }
grep -q 'containerPort must be integer' "$T/bad.out" || { cat "$T/bad.out"; fail "the broken DaemonSet failed for another reason"; }
pass "the validator rejects a broken DaemonSet"

mapfile -t files < <(find "$K8S" -name '*.yaml' | sort)
[ ${#files[@]} -ge 5 ] || fail "expected the namespace, config, secret, DaemonSet and PodMonitor: ${files[*]}"
validate "${files[@]}" | tee "$T/valid.out" || fail "a manifest does not validate"
for k in Namespace ConfigMap Secret DaemonSet PodMonitor; do
	grep -q ": $k/.*: valid" "$T/valid.out" || fail "no valid $k"
done
pass "every manifest validates against the Kubernetes API schema"

# What the schema cannot know, read from the DaemonSet as JSON.
nodetool -e '
  const yaml = require(process.argv[1] + "/node_modules/js-yaml");
  const fs = require("fs");
  const ds = yaml.load(fs.readFileSync(process.argv[2], "utf8"));
  process.stdout.write(JSON.stringify(ds));' "$T" "$K8S/daemonset.yaml" > "$T/ds.json"
q() { nodetool -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const v = (new Function("d", "return " + process.argv[2]))(d);
	process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));' "$T/ds.json" "$1"; }
[ "$(q d.spec.template.spec.hostPID)" = true ] || fail "hostPID is not true"
[ "$(q 'd.spec.template.spec.tolerations.filter(t => t.operator === "Exists" && !t.key && !t.effect).length')" = 1 ] ||
	fail "no toleration for every taint (operator: Exists, no key, no effect)"
want=$(grep -o '{ CAP_[A-Z_]*,' "$ROOT/agent/daemon/heapsnapd.c" | sed 's/{ CAP_//; s/,//' | sort | tr '\n' ' ')
have=$(q 'd.spec.template.spec.containers[0].securityContext.capabilities.add.sort().join(" ") + " "')
[ "$want" = "$have" ] || fail "capabilities: heapsnapd.c keeps '$want', the DaemonSet adds '$have'"
[ "$(q 'd.spec.template.spec.containers[0].securityContext.capabilities.drop.join()')" = ALL ] || fail "capabilities not dropped first"
[ "$(q d.spec.template.spec.containers[0].securityContext.privileged)" = false ] || fail "privileged"
[ "$(q 'd.spec.template.spec.volumes.find(v => v.secret).secret.defaultMode')" = 384 ] || fail "the Secret is not mounted 0600"
[ -n "$(q 'd.spec.template.spec.containers[0].volumeMounts.find(m => m.name === "s3").subPath || ""')" ] ||
	fail "the Secret is mounted as a directory: the agent (O_NOFOLLOW) refuses its symlinks"
port=$(q 'd.spec.template.spec.containers[0].ports.find(p => p.name === "metrics").containerPort')
[ "$(q 'd.spec.template.metadata.annotations["prometheus.io/port"]')" = "$port" ] || fail "scrape annotation port != $port"
[ "$(q 'd.spec.template.metadata.annotations["prometheus.io/scrape"]')" = true ] || fail "no prometheus.io/scrape"
[ -n "$(q 'd.spec.template.spec.containers[0].resources.limits.memory')" ] || fail "no memory limit"
for p in /sys/kernel/btf /sys/fs/cgroup /sys/fs/bpf /var/lib/heapsnap /run/heapsnap; do
	[ "$(q "d.spec.template.spec.volumes.filter(v => v.hostPath && v.hostPath.path === '$p').length")" = 1 ] || fail "no hostPath $p"
done
pass "hostPID, tolerations, heapsnapd.c's capabilities, 0600 Secret file, scrape port $port, memory limit, host paths"

# The ConfigMap's heapsnap.ini with the agent's own parser (the CLI loads it, exit 2 on
# any error), and its listen address is the scrape port.
nodetool -e '
  const yaml = require(process.argv[1] + "/node_modules/js-yaml");
  const cm = yaml.load(require("fs").readFileSync(process.argv[2], "utf8"));
  process.stdout.write(cm.data["heapsnap.ini"]);' "$T" "$K8S/configmap.yaml" > "$T/heapsnap.ini"
mkdir -m 700 "$T/store"
"$HEAPSNAP" -c "$T/heapsnap.ini" --store "$T/store" list > "$T/list.out" 2>&1 || { cat "$T/list.out"; fail "the ConfigMap's heapsnap.ini does not load"; }
grep -q "^listen = 0.0.0.0:$port\$" "$T/heapsnap.ini" || fail "[metrics] listen is not 0.0.0.0:$port"
cred=$(sed -n 's/^credentials_file = //p' "$T/heapsnap.ini")
[ "$cred" = "$(q 'd.spec.template.spec.containers[0].volumeMounts.find(m => m.name === "s3").mountPath')" ] ||
	fail "credentials_file $cred is not where the Secret is mounted"
pass "the ConfigMap's heapsnap.ini loads; listen and credentials_file match the DaemonSet"
