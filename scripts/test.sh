#!/usr/bin/env bash
# `make test`: every check, as one KTAP document (each part a subtest:
# host, exercises, each kernel's suite, KUnit, fuzz; scripts/lib/ktap.py
# reads them), then a breakdown and one line "N passed, N failed".
#
#   1. host: `make test-host` (scripts/test-host.sh: the ABI, the runner's
#      self-tests, lint); every exercise's solution passes and its starting
#      point fails; each make safety row's Rust side compiles, or is refused
#      with the error docs/safety.md gives;
#   2. for each kernel in VARIANTS (default: every kernel for ARCH, in
#      their order: release, debian on x86_64, debug), the guest suite, and
#      what the kernel's EXTRA_TESTS name (qemu/kernels/NAME.conf): on the
#      debug kernel (KASAN, lockdep, kmemleak, UBSAN) the ring buffer's
#      KUnit tests, which run when rust_sample loads, and the model-based
#      random tester for FUZZ_SECONDS, split between the drivers.
#
# ARCH=arm64 does the same for arm64 (default: this machine's
# architecture). VARIANTS=release leaves out the other kernels (and the
# exercises that need the debug kernel).
#
# Each guest case counts once per device; a VM run that fails for another
# reason (a kernel report, a crash, a timeout) counts as one more failure.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

# The kernels (VARIANTS, a setting); each is built (or fetched) here the
# first time. The kernels left out are named in the breakdown, not counted.
read -ra variants <<<"$VARIANTS"
for variant in "${variants[@]}"; do
	check_kernel "$variant"
	"$TOP/scripts/build.sh" need "$variant" "make test"
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
# host_script LABEL SCRIPT [ARGS...]: a host-side script that prints KTAP,
# as subtest LABEL.
host_script() {
	local label=$1 script=$2 status=0
	shift 2
	"$script" "$@" >"$logs/$label.log" 2>&1 || status=$?
	ktap_script "$label" "$logs/$label.log" "$status" "$script"
}
say "host checks (make test-host)"
host_script host "$TOP/scripts/test-host.sh"
mark "host checks"
say "exercises: every solution passes, every starting point fails"
host_script exercises "$TOP/scripts/check-exercises.sh"
mark "exercises"
# make safety's compile half: each row's Rust side compiles, or fails with
# the error code docs/safety.md gives (one module build per row, against
# the release kernel); the VM half is make safety's own.
if [[ " ${variants[*]} " == *" release "* ]]; then
	say "safety: each row's Rust side, compiled (make safety's compile half)"
	host_script safety "$TOP/scripts/safety.sh" --compile-only
	mark "safety: Rust compile half"
else
	breakdown+=("safety: not run (VARIANTS=${variants[*]}: it builds against the release kernel)")
fi

# --- 2. In the guest. --------------------------------------------------------
# guest_run LABEL LOGNAME 'CASE...' RUNNER-ARGS...: runs the VM; the
# guest's KTAP becomes subtest LABEL, in which each CASE must run, not
# skip, on each device (REQUIRED_CASES). A run whose verdict (run-qemu.sh
# --verdict) is not a pass counts as one more failure, unless it is a
# failed command whose KTAP shows the failed cases: a kernel report, a
# time-out, the runner's own failure, or a command that failed with no
# failed case.
guest_run() {
	local label=$1 log=$logs/$2.log verdict=$logs/$2.verdict.json required=$3 v
	shift 3
	rm -f "$verdict"
	"$TOP/scripts/run-qemu.sh" --verdict "$verdict" "$@" >"$log" 2>&1 || true
	ktap_subtest "$label" "$log" --require "$required" || true
	v=$(verdict_get "$verdict" verdict)
	if [[ $v != pass ]] && ! [[ $v == failed && $ktap_f -gt 0 ]]; then
		fail "$label: the VM run's verdict is $v: $(verdict_get "$verdict" reason) (full log: $log)" \
			"first kernel report: $(verdict_get "$verdict" first_report)"
	fi
	return 0
}

# detector_fires KERNEL DETECTOR: on KERNEL, a module that makes DETECTOR
# fire (tests/runner/warn_module/fire_detector.c) must fail the run as a
# kernel report, whose first line is that detector's
# (tests/runner/detectors.tsv): proof that the detector works, and that the
# runner sees it.
detector_fires() {
	local kernel=$1 detector=$2 name=detector-$1-$2 want got first unload=true
	want=$(detector_fact "$detector" 3)
	# The kmemleak module stays loaded: its removal orphans its list.
	[[ $detector != kmemleak ]] || unload='rmmod fire_detector'

	rm -f "$logs/$name.verdict.json"
	"$TOP/scripts/run-qemu.sh" --kernel "$kernel" --timeout 300 --verdict "$logs/$name.verdict.json" \
		--add "$BUILD_DIR/$kernel/warn_module/fire_detector.ko:/root/fire_detector.ko" \
		--exec "insmod /root/fire_detector.ko detector=$detector; $unload; exit 0" >"$logs/$name.log" 2>&1 || true
	got=$(verdict_get "$logs/$name.verdict.json" verdict)
	first=$(verdict_get "$logs/$name.verdict.json" first_report)
	if [[ -n $want && $got == kernel-report && $first == *"$want"* ]]; then
		pass "$kernel: $detector fires and fails the run: $want"
	else
		fail "$kernel: $detector did not fail the run with '$want' (verdict $got, first report '$first'; log: $logs/$name.log)"
	fi
}

for kernel in $KERNELS; do
	if [[ " ${variants[*]} " != *" $kernel "* ]]; then
		[[ " $(kernel_fact "$kernel" ARCHES) " != *" $ARCH "* ]] ||
			[[ $(kernel_fact "$kernel" IN_MAKE_TEST) != yes ]] ||
			breakdown+=("$kernel: not run (VARIANTS=${variants[*]})")
		continue
	fi
	say "the suite on the $kernel kernel ($ARCH)"
	guest_run "$kernel" "suite-$kernel" "$(kernel_fact "$kernel" REQUIRED_CASES)" --kernel "$kernel" --test --timeout "$(kernel_fact "$kernel" SUITE_TIMEOUT)"
	mark_suite "$kernel"
	detectors=$(kernel_fact "$kernel" DETECTORS)
	if [[ -n $detectors ]]; then
		say "each detector the $kernel kernel relies on, made to fire"
		for detector in $detectors; do
			detector_fires "$kernel" "$detector"
		done
		mark "$kernel: detectors fire"
	fi
	extra=$(kernel_fact "$kernel" EXTRA_TESTS)
	if [[ " $extra " == *" kunit "* ]]; then
		# KUnit: the ring's suite runs each time rust_sample loads, in the
		# kernel's own KTAP; the first run counts.
		ktap_subtest kunit "$logs/suite-$kernel.log" --kernel --suite rust_sample_ring || true
		mark "$kernel: KUnit (ring)"
	fi
	if [[ " $extra " == *" fuzz "* ]]; then
		say "the random tester on the $kernel kernel (${FUZZ_SECONDS}s)"
		guest_run fuzz "fuzz-$kernel" '' --kernel "$kernel" --timeout $((FUZZ_SECONDS * 2 + 300)) \
			--exec "sample-tests fuzz --seconds $FUZZ_SECONDS"
		mark "$kernel: fuzz"
	fi
done

echo "# breakdown:"
printf '#   %s\n' "${breakdown[@]}"

# Skipped cases (fault injection on the release kernel) are not passes.
summary_line
