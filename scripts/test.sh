#!/usr/bin/env bash
# `make test`: every check, as one KTAP document (each part a subtest:
# host, exercises, each kernel's suite, KUnit, fuzz; scripts/ktap.py reads
# them), then a breakdown and one line "N passed, N failed".
#
#   1. host: `make test-host` (scripts/test-host.sh: the ABI, the runner's
#      self-tests, lint); every exercise's solution passes and its starting
#      point fails;
#   2. the guest suite on the release kernel;
#   3. the guest suite on the debug kernel (KASAN, lockdep, kmemleak, UBSAN),
#      with the ring buffer's KUnit tests, which run when rust_sample loads;
#   4. the model-based random tester on the debug kernel, FUZZ_SECONDS
#      (default 60) split between the drivers;
#   5. on x86_64, the suite on Debian's own kernel (KERNEL=debian), which
#      this project does not build: the same cases, the same parity.
#
# ARCH=arm64 does the same for arm64 (default: this machine's architecture),
# without 5. VARIANTS chooses the kernels: VARIANTS="release" leaves out 3
# to 5 (and the exercises that need the debug kernel), on either.
#
# Each guest case counts once per device; a VM run that fails for another
# reason (a kernel report, a crash, a timeout) counts as one more failure.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# VARIANTS chooses the kernels (default all of them for this
# architecture); a kernel is built (or fetched) here the first time. The
# parts of a kernel left out are named in the breakdown, not counted.
default_variants="release debug"
[[ $ARCH != x86_64 ]] || default_variants+=" debian"
read -ra variants <<<"${VARIANTS:-$default_variants}"
export VARIANTS="${variants[*]}"
testing() { [[ " ${variants[*]} " == *" $1 "* ]]; }
for variant in "${variants[@]}"; do
	check_kernel "$variant"
	need_variant "$variant" "make test"
done
logs=$BUILD_DIR/test-logs
mkdir -p "$logs"

# The breakdown printed before the closing line: what each part counted.
breakdown=()
counted_p=0 counted_f=0 counted_s=0
# mark LABEL: one breakdown line for what was counted since the last mark.
mark() {
	breakdown+=("$(printf '%-28s %4d passed, %d failed, %d skipped' "$1" \
		$((passed - counted_p)) $((failed - counted_f)) $((skipped - counted_s)))")
	counted_p=$passed counted_f=$failed counted_s=$skipped
}
# mark_suite KERNEL: per driver, its cases, then the parity check and
# anything else the run counted (a failed VM run), from the counts that
# ktap.py wrote for the subtest KERNEL.
mark_suite() {
	local kernel=$1 dev p f s
	for dev in rust_sample c_sample; do
		read -r _ _ p f s < <(grep "^counts $dev " "$logs/$kernel.counts" || echo "counts $dev 0 0 0")
		breakdown+=("$(printf '%-28s %4d passed, %d failed, %d skipped' "$kernel: $dev cases" "$p" "$f" "$s")")
		counted_p=$((counted_p + p)) counted_f=$((counted_f + f)) counted_s=$((counted_s + s))
	done
	mark "$kernel: parity, VM run"
}

# --- 1. Host checks. --------------------------------------------------------
say "host checks (make test-host)"
host_run host "$TOP/scripts/test-host.sh"
mark "host checks"
say "exercises: every solution passes, every starting point fails"
host_run exercises "$TOP/scripts/check-exercises.sh"
mark "exercises"

# --- 2 to 5. In the guest. -------------------------------------------------
# guest_run LABEL LOGNAME RUNNER-ARGS...: runs the VM; the guest's KTAP
# becomes subtest LABEL. A VM run that fails for another reason (a kernel
# report, a crash, a timeout) counts as one more failure, with the
# runner's verdict.
guest_run() {
	local label=$1 name=$2 status=0
	shift 2
	run_vm "$name" "$@" || status=$?
	local log=$logs/$name.log
	ktap_subtest "$label" "$log" || true
	if ((status != 0)) && grep -q 'run-qemu:' "$log"; then
		fail "$label: the VM run failed (exit $status; full log: $log)" "$(grep -a -A40 'run-qemu:' "$log" | tr -d '\r')"
	fi
	return 0
}

if testing release; then
	say "the suite on the release kernel ($ARCH)"
	guest_run release suite-release --kernel release --test --timeout 1800
	mark_suite release
else
	breakdown+=("release: not run (VARIANTS=$VARIANTS)")
fi

if testing debian; then
	say "the suite on Debian's own kernel ($ARCH)"
	guest_run debian suite-debian --kernel debian --test --timeout 1800
	mark_suite debian
else
	breakdown+=("debian: not run (VARIANTS=$VARIANTS)")
fi

if ! testing debug; then
	breakdown+=("debug: not run (VARIANTS=$VARIANTS): suite, KUnit, fuzz")
else
	say "the suite on the debug kernel ($ARCH)"
	guest_run debug suite-debug --debug --test --timeout 2400
	mark_suite debug
	# KUnit: the ring's suite runs each time rust_sample loads, in the
	# kernel's own KTAP; the first run counts.
	ktap_subtest kunit "$logs/suite-debug.log" --kernel --suite rust_sample_ring || true
	mark "debug: KUnit (ring)"

	fuzz_seconds=${FUZZ_SECONDS:-60}
	say "the random tester on the debug kernel (${fuzz_seconds}s)"
	guest_run fuzz fuzz-debug --debug --timeout $((fuzz_seconds * 2 + 300)) \
		--exec "sample-tests fuzz --seconds $fuzz_seconds"
	mark "debug: fuzz"
fi

echo "# breakdown:"
printf '#   %s\n' "${breakdown[@]}"

# Skipped cases (fault injection on the release kernel) are not passes.
summary_line
