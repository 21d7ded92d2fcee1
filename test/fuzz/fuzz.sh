#!/bin/bash
# fuzz.sh — `make fuzz`: builds each libFuzzer harness of test/fuzz/ with
# clang, runs it for FUZZ_SECONDS on a scratch copy of its seeds and
# regressions, and reports its executions and the coverage it reached.
# Fails when a harness crashes, naming the file that made it crash.
#
# Usage: fuzz.sh HARNESS…  (api_route api_headers api_body events_http
# events_notify). Environment, set by the Makefile: CLANG, JSONC_CFLAGS,
# JSONC_LIBS, LI_SRCDIR, LI_BUILDDIR, FUZZ_SECONDS (60). FUZZ_COVERAGE=1
# also replays the final corpus through a coverage build and prints the
# line coverage of the parser files (needs llvm-profdata and llvm-cov,
# LLVM_PROFDATA and LLVM_COV name them).
#
# The source tree is only read: builds, corpora and crashes go under
# $LI_BUILDDIR/test/fuzz/ (bin/ and work/), which `make clean` removes.
# A crasher worth keeping is copied by hand into test/fuzz/regressions/.
set -u

src=${LI_SRCDIR:?}/test/fuzz
out=${LI_BUILDDIR:?}/test/fuzz
seconds=${FUZZ_SECONDS:-60}
flags=(-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I"$LI_BUILDDIR" -I"$LI_SRCDIR/fcgi")

die() { echo "make fuzz: $*" >&2; exit 1; }

[ $# -gt 0 ] || die "no harness named"
case $seconds in ''|*[!0-9]*|0) die "FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" ;; esac
[ -n "${CLANG:-}" ] && [ -x "$(command -v "$CLANG")" ] ||
	die "clang not found: install the Debian package clang and run configure again"
mkdir -p "$out/bin" || die "cannot create $out/bin"
probe=$out/bin/probe
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$probe.c"
rm -f "$probe"
{ "$CLANG" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" &&
  "$probe" -runs=1; } > "$probe.log" 2>&1 ||
	die "$CLANG cannot build with -fsanitize=fuzzer (libFuzzer missing? the Debian package clang brings it): $(head -3 "$probe.log")"

# The parser sources each harness is built from, straight from fcgi/.
sources() {
	case $1 in
	api_route) echo api/route.c api/request.c api/strategy.c common/text_check.c ;;
	api_headers|api_body) echo api/request.c api/request_drops.c api/strategy.c common/text_check.c ;;
	events_http) echo events/http_request.c events/sse.c ;;
	events_notify) echo events/notify.c common/text_check.c ;;
	*) return 1 ;;
	esac
}

# build NAME BINARY EXTRA-FLAGS…: one harness with its parser sources.
build() {
	local name=$1 bin=$2 files=() f
	shift 2
	for f in $(sources "$name"); do files+=("$LI_SRCDIR/fcgi/$f"); done
	rm -f "$bin"       # never run what an earlier build left
	# shellcheck disable=SC2086  # JSONC_* are lists of flags
	"$CLANG" "${flags[@]}" "$@" $JSONC_CFLAGS "$src/fuzz_$name.c" "${files[@]}" \
		$JSONC_LIBS -o "$bin"
}

# coverage NAME CORPUS: line coverage of the parser files by CORPUS.
coverage() {
	local name=$1 corpus=$2 bin=$out/bin/cov_$1 prof=$out/work/$1/cov files=() f
	local profdata=${LLVM_PROFDATA:-llvm-profdata-14} cov=${LLVM_COV:-llvm-cov-14}
	build "$name" "$bin" -fprofile-instr-generate -fcoverage-mapping || return 1
	rm -rf "$prof" && mkdir -p "$prof"
	LLVM_PROFILE_FILE="$prof/%p.profraw" "$bin" -runs=0 "$corpus" > "$prof/log" 2>&1 || return 1
	"$profdata" merge -sparse "$prof"/*.profraw -o "$prof/merged.profdata" || return 1
	for f in $(sources "$name"); do files+=("$LI_SRCDIR/fcgi/$f"); done
	"$cov" report "$bin" -instr-profile="$prof/merged.profdata" "${files[@]}"
}

failed=()
summary=()
for name in "$@"; do
	sources "$name" > /dev/null || die "no harness $name"
	bin=$out/bin/fuzz_$name
	work=$out/work/$name
	echo "== $name: building"
	build "$name" "$bin" || { failed+=("$name (does not build)"); continue; }
	rm -rf "$work" && mkdir -p "$work/corpus" "$work/crashes"
	for d in "$src/corpus/$name" "$src/regressions/$name"; do
		[ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$work/corpus/" \;
	done
	dict=()
	[ -f "$src/$name.dict" ] && dict=(-dict="$src/$name.dict")
	echo "== $name: fuzzing for ${seconds}s from $(ls "$work/corpus" | wc -l) seeds"
	"$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$work/crashes/" "${dict[@]}" "$work/corpus" \
		> "$work/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
	last=$(grep -E '(DONE|pulse|NEW|REDUCE|INITED).* cov: ' "$work/log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
	line="$name: ${execs:-?} executions, cov: ${cov:-?} ft: ${ft:-?}, corpus $(ls "$work/corpus" | wc -l) files"
	if [ $rc -ne 0 ] || [ -n "$(ls -A "$work/crashes")" ]; then
		tail -40 "$work/log"
		for f in "$work"/crashes/*; do
			[ -e "$f" ] && echo "make fuzz: $name crashed on $f"
		done
		failed+=("$name")
		line="$line — CRASHED (log: $work/log)"
	fi
	summary+=("$line")
	echo "== $line"
	if [ "${FUZZ_COVERAGE:-0}" = 1 ]; then
		echo "== $name: line coverage of the parser by the final corpus"
		coverage "$name" "$work/corpus" || echo "make fuzz: no coverage report for $name"
	fi
done

echo
echo "make fuzz: ${seconds}s per harness with $("$CLANG" --version | head -1)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "make fuzz: FAILED: ${failed[*]}" >&2
	exit 1
fi
