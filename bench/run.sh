#!/usr/bin/env bash
# pg_ha failover benchmark: build the writer, copy the tree for an
# unprivileged user (PostgreSQL refuses root), run bench/failover.pl once
# per profile, and print the combined table.  See bench/README.md.
#
#   bench/run.sh [--runs N] [--scenarios kill9,stop,kill9all] [PROFILE...]
#   bench/run.sh compare [bench/compare.pl's options]    (make bench)
#
# PROFILE is `fast` (default) or `default`.  The extension must already
# be installed (make && make install).  Results are copied to
# bench/results/<date>-<time>/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
run_as=${PG_HA_TEST_USER:-postgres}
bindir=$("$PG_CONFIG" --bindir)
pgxs_dir=$(dirname "$("$PG_CONFIG" --pgxs)")/..    # lib/pgxs/src/makefiles/..
perl_lib=$(cd "$pgxs_dir" && pwd)/test/perl

opts=()
profiles=()
mode=failover
if [ "${1:-}" = compare ]; then
	# pg_ha against Patroni (bench/compare.pl): its options pass through
	mode=compare
	shift
	opts=("$@")
	profiles=(compare)
	set --
	command -v gnuplot >/dev/null ||
		echo "warning: no gnuplot (apt-get install gnuplot-nox): no timeline plot" >&2
fi
while [ $# -gt 0 ]; do
	case "$1" in
		--runs|--scenarios|--interval|--warmup-acks)
			[ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
			opts+=("$1" "$2"); shift 2 ;;
		--runs=*|--scenarios=*|--interval=*|--warmup-acks=*)
			opts+=("$1"); shift ;;
		default|fast)
			profiles+=("$1"); shift ;;
		-h|--help)
			sed -n '2,12p' "$0"; exit 0 ;;
		*)
			echo "unknown argument: $1 (profiles: default, fast)" >&2; exit 2 ;;
	esac
done
[ ${#profiles[@]} -gt 0 ] || profiles=(fast)

[ -f "$("$PG_CONFIG" --pkglibdir)/pg_ha.so" ] ||
	{ echo "pg_ha is not installed: run make && make install first" >&2; exit 1; }
[ -x "${PG_HA_CONSUL:-$top/tools/consul/usr/bin/consul}" ] ||
	{ echo "no consul binary: run scripts/setup.sh (or set PG_HA_CONSUL)" >&2; exit 1; }
[ -f "$perl_lib/PostgreSQL/Test/Cluster.pm" ] ||
	{ echo "no PostgreSQL::Test::Cluster under $perl_lib" >&2; exit 1; }

echo "=== build bench/writer"
make -s -C bench PG_CONFIG="$PG_CONFIG" writer

if [ "$(id -u)" -eq 0 ]; then
	id "$run_as" >/dev/null 2>&1 || useradd --system --create-home "$run_as"
	as_user=(runuser -u "$run_as" --)
else
	as_user=()
fi
work=$(mktemp -d /tmp/pg_ha-bench.XXXXXX)
if [ "${PG_HA_BENCH_KEEP:-0}" = 1 ]; then
	trap 'echo "work copy kept in $work"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi
tar -C "$top" --exclude=.git --exclude='./regress/tmp_check' --exclude='./tmp_check' \
	--exclude='./bench/results' -cf - . | tar -C "$work" -xf -
for p in "${profiles[@]}"; do mkdir -p "$work/bench/results/$p"; done

# A snapshot of the installed PostgreSQL binaries and libraries, pg_ha
# included, so that a `make install` during the benchmark changes nothing
# under it.  PostgreSQL finds its libdir relative to its binary, and pg_ha
# finds pg_ha_ctl beside the postgres binary, so a copy of bindir and
# pkglibdir side by side is a complete, relocated installation (the share
# directory stays the system's).  PG_HA_BENCH_SNAPSHOT=0 uses the installed
# files directly.
run_bindir=$bindir
pkglibdir=$("$PG_CONFIG" --pkglibdir)
if [ "${PG_HA_BENCH_SNAPSHOT:-1}" = 1 ]; then
	if [ "$(cd "$bindir/../lib" 2>/dev/null && pwd -P)" != "$(cd "$pkglibdir" && pwd -P)" ]; then
		echo "warning: pkglibdir is not bindir/../lib: no snapshot, using the installed files" >&2
	else
		for try in 1 2 3 4 5; do
			want=$(cat "$pkglibdir/pg_ha.so" "$bindir/pg_ha_ctl" | md5sum)
			rm -rf "$work/pg" && mkdir -p "$work/pg"
			cp -a "$bindir" "$work/pg/bin" && cp -a "$pkglibdir" "$work/pg/lib"
			got=$(cat "$work/pg/lib/pg_ha.so" "$work/pg/bin/pg_ha_ctl" | md5sum)
			now=$(cat "$pkglibdir/pg_ha.so" "$bindir/pg_ha_ctl" | md5sum)
			[ "$want" = "$got" ] && [ "$got" = "$now" ] && break
			echo "pg_ha was being reinstalled during the snapshot, trying again" >&2
			sleep 2
			[ "$try" -lt 5 ] || { echo "no consistent snapshot of pg_ha" >&2; exit 1; }
		done
		run_bindir="$work/pg/bin"
		[ "$("$run_bindir/pg_config" --pkglibdir)" = "$work/pg/lib" ] ||
			{ echo "the snapshot in $work/pg is not relocatable" >&2; exit 1; }
		echo "=== snapshot of the installed PostgreSQL and pg_ha in $work/pg"
	fi
fi
[ "$(id -u)" -ne 0 ] || chown -R "$run_as" "$work"

stamp=$(date +%Y%m%d-%H%M%S)
head=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$top" diff --quiet HEAD -- src sql 2>/dev/null || head="$head+local changes in src/ or sql/"
echo "=== checkout $head; installed build $(cat "$("$PG_CONFIG" --pkglibdir)/pg_ha.so" "$bindir/pg_ha_ctl" | md5sum | cut -c1-12) (MD5 of pg_ha.so and pg_ha_ctl)"
dest="$top/bench/results/$stamp"
mkdir -p "$dest"
status=0
# The scenario that needs network namespaces (the leader cut off from
# Consul and its peers) runs first, as root (PgHaTest::Netns creates the
# namespaces, then drops to $run_as), unless --scenarios leaves it out or
# PG_HA_BENCH_NETNS=0; the main run includes its runs in its table.
netns_runs=
if [ "$mode" = compare ]; then
	want_netns=1
	prev=
	for o in ${opts[@]+"${opts[@]}"}; do
		case "$o" in
			--scenarios=*) case ",${o#--scenarios=}," in *,partition,*) ;; *) want_netns=0 ;; esac ;;
		esac
		if [ "$prev" = --scenarios ]; then
			case ",$o," in *,partition,*) ;; *) want_netns=0 ;; esac
		fi
		# no scenarios at all (--phases idle,pgbench)
		case "$prev=$o" in
			--phases=*,scenarios*|--phases=scenarios*) ;;
			--phases=*) want_netns=0 ;;
		esac
		case "$o" in
			--phases=*scenarios*) ;;
			--phases=*) want_netns=0 ;;
		esac
		prev=$o
	done
	[ "${PG_HA_BENCH_NETNS:-1}" = 1 ] || want_netns=0
	if [ "$want_netns" = 1 ] && { [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; }; then
		echo "warning: not root (or no ip command): no network namespaces, no partition scenario" >&2
		want_netns=0
	fi
	if [ "$want_netns" = 1 ]; then
		echo "=== partition scenario in network namespaces (bench/compare.pl --netns)"
		res="$work/bench/results/compare_netns"
		mkdir -p "$res"
		chown -R "$run_as" "$res"
		(cd "$work" && env \
			TESTDIR="$res" \
			PATH="$run_bindir:$PATH" \
			PG_HA_TEST_USER="$run_as" \
			PG_REGRESS="$pgxs_dir/test/regress/pg_regress" \
			${PG_HA_CONSUL:+PG_HA_CONSUL="$PG_HA_CONSUL"} \
			perl -I "$perl_lib" -I regress/t bench/compare.pl --netns --results-dir "$res" \
			${opts[@]+"${opts[@]}"}) || status=$?
		[ -f "$res/runs.csv" ] && netns_runs="$res/runs.csv"
		[ -d "$res" ] && cp -r "$res" "$dest/"
	fi
fi

for p in "${profiles[@]}"; do
	echo "=== profile $p"
	res="$work/bench/results/$p"
	if [ "$mode" = compare ]; then
		script_args=(bench/compare.pl --results-dir "$res" ${netns_runs:+--include-runs "$netns_runs"})
	else
		script_args=(bench/failover.pl --profile "$p" --results-dir "$res")
	fi
	(cd "$work" && "${as_user[@]}" env \
		TESTDIR="$res" \
		PATH="$run_bindir:$PATH" \
		PG_REGRESS="$pgxs_dir/test/regress/pg_regress" \
		${PG_HA_CONSUL:+PG_HA_CONSUL="$PG_HA_CONSUL"} \
		perl -I "$perl_lib" -I regress/t "${script_args[@]}" ${opts[@]+"${opts[@]}"}) || status=$?
	[ -d "$res" ] && cp -r "$res" "$dest/"
done

if [ "$mode" = compare ]; then
	# summary.md as compare.pl wrote it, plus where and on what it ran
	{
		cat "$dest/compare/summary.md" 2>/dev/null || echo "(no result)"
		echo
		# when the key changed hands by the agents' logs (bench/key_times.pl)
		# (none without crash runs: --phases idle,pgbench,soak)
		[ "$(wc -l < "$dest/compare/runs.csv" 2>/dev/null || echo 0)" -gt 1 ] &&
			perl bench/key_times.pl "$dest/compare" && echo
		echo "Checkout $head, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	} > "$dest/summary.md"
	if command -v gnuplot >/dev/null && ls "$dest"/compare/timeline_*.dat >/dev/null 2>&1; then
		for p in default fast; do
			ls "$dest"/compare/timeline_*_"$p"_*.dat >/dev/null 2>&1 || continue
			gnuplot -e "dir='$dest/compare'; profile='$p'; out='$dest/failover-timeline-$p.png'" \
				bench/timeline.gp || status=$?
		done
	fi
	echo
	echo "=== results in $dest"
	cat "$dest/summary.md"
	exit "$status"
fi

{
	echo "| scenario | profile | runs | write unavailability median (ms) | max (ms) | old leader streams again, median (s) | max (s) | acknowledged writes lost |"
	echo "|---|---|---|---|---|---|---|---|"
	for p in "${profiles[@]}"; do
		cat "$dest/$p/summary_rows.md" 2>/dev/null || echo "| (no result for profile $p) |"
	done
	echo
	echo "Checkout $head, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s)."
	for p in "${profiles[@]}"; do
		tail -n 1 "$dest/$p/summary.md" 2>/dev/null || true
	done
} > "$dest/summary.md"
echo
echo "=== results in $dest"
cat "$dest/summary.md"
exit "$status"
