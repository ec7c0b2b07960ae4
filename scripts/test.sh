#!/usr/bin/env bash
# The test command of the README: install what is missing, build, install,
# then run every test (unit tests, pg_regress, TAP with real Consul,
# PostgreSQL and HAProxy) as an unprivileged user, since PostgreSQL
# refuses to run as root.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
run_as=${PG_HA_TEST_USER:-postgres}

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

"$top/scripts/setup.sh"

echo "=== build and install"
make -s PG_CONFIG="$PG_CONFIG"
"${sudo_cmd[@]}" make -s PG_CONFIG="$PG_CONFIG" install

echo "=== unit tests"
make -s PG_CONFIG="$PG_CONFIG" unitcheck

# A short libFuzzer run of each parser of outside data (under a minute);
# longer runs: make fuzz FUZZ_SECONDS=3600 (docs/testing.md).
echo "=== fuzzing, ${FUZZ_SECONDS:-10}s per target"
make -s PG_CONFIG="$PG_CONFIG" FUZZ_SECONDS="${FUZZ_SECONDS:-10}" fuzz

# The servers and the TAP tests run from a copy owned by the test user, so
# that the checkout itself stays untouched (and owned by whoever has it).
if [ "$(id -u)" -eq 0 ]; then
	id "$run_as" >/dev/null 2>&1 || useradd --system --create-home "$run_as"
	as_user=(runuser -u "$run_as" --)
else
	as_user=()
fi
work=$(mktemp -d /tmp/pg_ha-test.XXXXXX)

# Network namespaces of the fault suite (pgha-PID-*) whose test process is
# gone.  The suite removes its own; this is the last resort after a crash.
sweep_namespaces() {
	local ns pid
	for ns in $("${sudo_cmd[@]}" ip netns list 2>/dev/null | awk '$1 ~ /^pgha-[0-9]+-/ {print $1}'); do
		pid=${ns#pgha-}
		pid=${pid%%-*}
		[ -d "/proc/$pid" ] && continue
		echo "test: removing namespace $ns left by a dead test"
		for p in $("${sudo_cmd[@]}" ip netns pids "$ns" 2>/dev/null); do
			"${sudo_cmd[@]}" kill -KILL "$p" 2>/dev/null || true
		done
		"${sudo_cmd[@]}" ip netns del "$ns" || true
	done
}
trap 'rm -rf "$work"; sweep_namespaces' EXIT
tar -C "$top" --exclude=.git --exclude='./regress/tmp_check' --exclude='./fuzz/build' -cf - . | tar -C "$work" -xf -
[ "$(id -u)" -ne 0 ] || chown -R "$run_as" "$work"

echo "=== installcheck (pg_regress and TAP) as $run_as"
status=0
# Each suite's output is also kept, so that a failure ends with its summary.
(cd "$work" && "${as_user[@]}" env PATH="$("$PG_CONFIG" --bindir):$PATH" \
	make -s PG_CONFIG="$PG_CONFIG" installcheck) 2>&1 | tee "$work/installcheck.out" ||
	status=2

# The fault suite needs root for its network namespaces (regress/faults,
# see docs/testing.md); each test drops root for the owner of the copy.
fault_user=$run_as
[ "$(id -u)" -eq 0 ] || fault_user=$(id -un)
echo "=== fault suite (network namespaces) as root, servers as $fault_user"
(cd "$work" && "${sudo_cmd[@]}" env PATH="$("$PG_CONFIG" --bindir):$PATH" \
	PG_HA_TEST_USER="$fault_user" \
	make -s PG_CONFIG="$PG_CONFIG" faultcheck) 2>&1 | tee "$work/faultcheck.out" ||
	status=2

# A short run of the nemesis (regress/nemesis, docs/testing.md): the
# seeded fault campaign with its checker, in synchronous mode (odd seed)
# on one fixed seed so that a failure replays; `make nemesis` runs long
# ones on fresh seeds.
nemesis_seed=${NEMESIS_SEED:-3003}
nemesis_seconds=${NEMESIS_SECONDS:-180}
echo "=== nemesis (seed $nemesis_seed, $nemesis_seconds s) as root, servers as $fault_user"
(cd "$work" && "${sudo_cmd[@]}" env PATH="$("$PG_CONFIG" --bindir):$PATH" \
	PG_HA_TEST_USER="$fault_user" \
	make -s PG_CONFIG="$PG_CONFIG" NEMESIS_SEED="$nemesis_seed" \
	NEMESIS_SECONDS="$nemesis_seconds" nemesis) 2>&1 | tee "$work/nemesis.out" ||
	status=2

# On failure, the logs of the failed test files only, then a summary last:
# a CI that keeps only the end of the output still shows what failed.
if [ "$status" -ne 0 ]; then
	for f in "$work"/regress/regression.diffs; do
		[ -f "$f" ] && { echo "=== $f"; cat "$f"; }
	done
	failed=$(cat "$work"/installcheck.out "$work"/faultcheck.out "$work"/nemesis.out 2>/dev/null |
		sed -n 's|^regress/[a-z]*/\([0-9A-Za-z_]*\)\.pl *(Wstat.*|\1|p' | sort -u)
	for t in $failed; do
		for f in "$work"/tmp_check/log/"$t"_*.log; do
			[ -f "$f" ] || continue
			echo "=== tail of $f"
			tail -n 40 "$f"
		done
		f="$work/tmp_check/log/regress_log_$t"
		[ -f "$f" ] || continue
		echo "=== failed checks in $f, with the lines before each"
		grep -n -B 12 '^\[[0-9:.]*\]([0-9.]*s) not ok' "$f" || tail -n 60 "$f"
	done
	echo "=== summary"
	grep -h -E '^(regress/|#   Failed test|#   at |Dubious|Failed [0-9]+/|  Failed tests?:|  Parse errors|Files=|Result:|make: )' \
		"$work"/installcheck.out "$work"/faultcheck.out "$work"/nemesis.out 2>/dev/null || true
	echo "installcheck failed"
	exit "$status"
fi

# Last, the Debian packages (regress/package, docs/deployment.md): built as
# the caller, then installed as root into three Debian clusters that fail
# over and switch over, then dropped and purged; the pg_ha installed above
# is put back.  PG_HA_PACKAGE_TEST=0 skips it.
if [ "${PG_HA_PACKAGE_TEST:-1}" = 1 ]; then
	echo "=== Debian packages (make deb) and the package test as root"
	make -s deb
	"${sudo_cmd[@]}" env PG_HA_PKG_NO_BUILD=1 "$top/regress/package/test_packages.sh"
fi
