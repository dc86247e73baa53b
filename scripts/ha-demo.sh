#!/usr/bin/env bash
# Herd in high availability with real processes, on loopback only:
#   - a three-member etcd cluster (examples/ha -etcd-only: embedded etcd,
#     client TLS with client certificates);
#   - the example CLI's controller on it (juju bootstrap --etcd-*), and
#     two more controller processes on the same prefix (juju enable-ha);
#   - the seed (shared/seed/juju-workflow-scenarios.txt) as admin and tom,
#     each with a data folder of their own, with the first controller
#     process killed (SIGKILL) midway;
#   - destroy-controller, which stops every controller process.
# Bounded (HERD_DEMO_TIMEOUT seconds, default 50, for etcd; each command
# has its own timeouts) and it stops and removes everything itself, also
# on failure. Run from anywhere: scripts/ha-demo.sh
set -euo pipefail

cd "$(dirname "$0")/.."
LIMIT=${HERD_DEMO_TIMEOUT:-50}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/herd-ha-demo.XXXXXX")
ETCD_PID=

say() { printf '\nha-demo: %s\n' "$*"; }

cleanup() {
	code=$?
	# Whatever is left: the controller processes (kill-controller stops
	# them all and destroys what it can), then etcd, then the files.
	if [ -d "$WORK/admin/controllers/ha" ]; then
		HERD_DATA=$WORK/admin "$WORK/juju" kill-controller ha -y >/dev/null 2>&1 || true
	fi
	for pidf in "$WORK"/admin/controllers/ha/agent.pid "$WORK"/admin/controllers/ha/nodes/*/agent.pid; do
		[ -f "$pidf" ] && kill -9 "$(cat "$pidf")" 2>/dev/null || true
	done
	if [ -n "$ETCD_PID" ]; then
		kill "$ETCD_PID" 2>/dev/null || true
		wait "$ETCD_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
	if [ "$code" = 0 ]; then
		say "done: everything stopped and removed"
	else
		say "FAILED (exit $code); everything stopped and removed"
	fi
	exit "$code"
}
trap cleanup EXIT

say "building the CLI and the etcd launcher"
go build -o "$WORK/juju" ./examples/juju
go build -o "$WORK/ha" ./examples/ha

say "starting a three-member etcd cluster on loopback (TLS) for at most ${LIMIT}s"
"$WORK/ha" -etcd-only "$WORK/etcd" -timeout "${LIMIT}s" &
ETCD_PID=$!
for _ in $(seq 100); do
	[ -s "$WORK/etcd/endpoints" ] && break
	kill -0 "$ETCD_PID" 2>/dev/null || { echo "etcd did not start" >&2; exit 1; }
	sleep 0.2
done
EPS=$(cat "$WORK/etcd/endpoints")
echo "endpoints: $EPS"

export HERD_FAKE_PROVIDER=1
admin() { echo "\$ juju $*" >&2; HERD_DATA=$WORK/admin "$WORK/juju" "$@"; }
tom() { echo "\$ juju $* (tom)" >&2; HERD_DATA=$WORK/tom "$WORK/juju" "$@"; }

say "step 1: bootstrap on etcd, then enable-ha"
admin bootstrap ha localhost-fake --etcd-endpoints "$EPS" --etcd-prefix herd/ha-demo \
	--etcd-ca "$WORK/etcd/ca.pem" --etcd-cert "$WORK/etcd/client.pem" --etcd-key "$WORK/etcd/client-key.pem"
admin enable-ha
admin show-controller ha | grep -A4 api-endpoints

say "steps 2-5 as admin"
printf 'admin-password\nadmin-password\n' | admin change-user-password
TOKEN=$(admin add-user tom | sed -n 's/.*juju register \([^ ]*\).*/\1/p' | head -1)
[ -n "$TOKEN" ] || { echo "no registration token" >&2; exit 1; }
admin create-model lxd-model-1
admin grant --acl=write tom lxd-model-1

PID=$(cat "$WORK/admin/controllers/ha/agent.pid")
say "midway: killing the first controller process (pid $PID) with SIGKILL"
kill -9 "$PID"

say "steps 6-10 as tom, on the controllers left"
printf 'tom-password\ntom-password\n\n' | tom register "$TOKEN"
tom list-controllers
tom list-models
printf 'tom-new-password\ntom-new-password\n' | tom change-user-password
tom deploy mysql mysql-staging
tom wait-for application mysql-staging --timeout 30s
tom status
tom logout

say "admin, still working through the controllers left"
admin list-users
admin destroy-controller ha -y --destroy-all-models
