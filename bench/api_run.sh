#!/usr/bin/env bash
# REST API latency benchmark: copy the tree for an unprivileged user
# (PostgreSQL refuses root) and run bench/api_latency.pl with its options.
#   bench/api_run.sh [--rate 200] [--duration 120]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$PG_CONFIG" --bindir)
perl_lib=$(dirname "$("$PG_CONFIG" --pgxs)")/../test/perl
run_as=${PG_HA_TEST_USER:-postgres}
work=$(mktemp -d /tmp/pg_ha-apibench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
tar -C "$top" --exclude=.git --exclude=./bench/results -cf - . | tar -C "$work" -xf -
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$run_as" "$work"
	as_user=(runuser -u "$run_as" --)
fi
cd "$work"
"${as_user[@]}" env PATH="$bindir:$PATH" TESTDIR="$work" \
	PG_REGRESS="$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress" \
	perl -I "$perl_lib" -I regress/t bench/api_latency.pl "$@"
