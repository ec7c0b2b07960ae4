#!/usr/bin/env bash
# Run libFuzzer targets built by `make fuzz-build` (see docs/testing.md).
#
#   fuzz/run.sh TARGET...        FUZZ_SECONDS (default 10) each
#   FUZZ_SECONDS=0 fuzz/run.sh   only replay the corpus, no fuzzing
#
# Each target first runs every input of its corpus, fuzz/corpus/<name>/
# without the fuzz_ prefix (crash reproducers included), then mutates them
# for FUZZ_SECONDS.  New inputs go to a scratch directory,
# fuzz/build/corpus/<name>/, never into the repository; crashes, leaks and
# timeouts to fuzz/build/artifacts/.  The full log of a run is
# fuzz/build/<target>.log; one summary line per target is printed.  Exits
# non-zero on the first target that finds something.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

seconds=${FUZZ_SECONDS:-10}
build=fuzz/build

for target in "$@"; do
	name=${target#fuzz_}
	bin=$build/$target
	corpus=fuzz/corpus/$name
	scratch=$build/corpus/$name
	dict=fuzz/dict/$name.dict
	log=$build/$target.log
	[ -x "$bin" ] || { echo "fuzz: $bin is not built (make fuzz-build)" >&2; exit 1; }
	[ -d "$corpus" ] || { echo "fuzz: no corpus $corpus" >&2; exit 1; }
	mkdir -p "$scratch" "$build/artifacts"

	# large enough for a config key of PGHA_CONFIG_LEN and its listing
	case $name in
		consul_response) max_len=32768 ;;
		etcd_json) max_len=32768 ;;
		ctl_yaml) max_len=8192 ;;
		*) max_len=16384 ;;
	esac
	opts=(-max_len=$max_len -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$build/artifacts/$target-")
	[ -f "$dict" ] && opts+=(-dict="$dict")
	if [ "$seconds" -gt 0 ]; then
		opts+=(-max_total_time="$seconds")
	else
		opts+=(-runs=0)
	fi

	status=0
	"$bin" "${opts[@]}" "$scratch" "$corpus" >"$log" 2>&1 || status=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	cov=$(grep -aEo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n1 || true)
	if [ "$status" -ne 0 ]; then
		echo "fuzz: $target FAILED (exit $status); the end of $log:"
		grep -av '^#[0-9]' "$log" | tail -n 40
		ls -1 "$build"/artifacts/"$target"-* 2>/dev/null | sed 's/^/fuzz: reproducer: /'
		echo "fuzz: replay one with: $bin <file>; see docs/testing.md"
		exit "$status"
	fi
	echo "fuzz: $target: ${seconds}s, ${runs:-?} runs (${speed:-?}/s), ${cov:-no coverage line}"
done
