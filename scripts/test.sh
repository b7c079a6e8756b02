#!/usr/bin/env bash
# `make test`: every check, ending with one line "N passed, N failed".
#
#   1. host: the C header and the Rust ABI agree; the runner itself works
#      (exit status, panic, WARNING, timeout); lint (scripts/lint.sh); every
#      exercise's solution passes and its starting point fails;
#   2. the guest suite on the release kernel;
#   3. the guest suite on the debug kernel (KASAN, lockdep, kmemleak, UBSAN),
#      with the ring buffer's KUnit tests, which run when rust_sample loads;
#   4. the model-based random tester on the debug kernel, FUZZ_SECONDS
#      (default 60) split between the drivers.
#
# Each guest case counts once per device; a VM run that fails for another
# reason (a kernel report, a crash, a timeout) counts as one more failure.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

passed=0 failed=0 skipped=0
pass() {
	passed=$((passed + 1))
	echo "ok host $1"
}
fail() {
	failed=$((failed + 1))
	echo "not ok host $1${2:+: $2}"
}

logs=$BUILD_DIR/test-logs
mkdir -p "$logs"
runner=$TOP/scripts/run-qemu.sh

# --- 1. Host checks. --------------------------------------------------------
say "host checks"
cc -Wall -Werror -o "$logs/print_abi" "$TOP/tests/abi/print_abi.c"
if diff -u <("$logs/print_abi") <("$BUILD_DIR/tools/sample-tests" --print-abi) >"$logs/abi.diff"; then
	pass "abi: src/sample_ioctl.h and src/sample_abi.rs agree (numbers, size, offsets)"
else
	fail "abi: src/sample_ioctl.h and src/sample_abi.rs differ" "$(cat "$logs/abi.diff")"
fi

# run_vm NAME ARGS...: runs the VM quietly, keeping its output in a log.
run_vm() {
	local name=$1
	shift
	set +e
	"$runner" "$@" >"$logs/$name.log" 2>&1
	local status=$?
	set -e
	return "$status"
}

status=0
run_vm runner-exit --exec 'exit 3' --timeout 120 || status=$?
if ((status == 3)); then
	pass "runner: --exec 'exit 3' exits 3"
else
	fail "runner: --exec 'exit 3' exited $status"
fi

status=0
run_vm runner-panic --exec 'echo c > /proc/sysrq-trigger' --timeout 120 || status=$?
if ((status != 0)) && grep -q 'run-qemu: the kernel reported problems' "$logs/runner-panic.log" &&
	grep -A5 'reported problems' "$logs/runner-panic.log" | grep -q 'Kernel panic'; then
	pass "runner: a kernel panic fails the run and its lines are shown"
else
	fail "runner: a kernel panic was not reported (exit $status; see $logs/runner-panic.log)"
fi

status=0
run_vm runner-warning --add "$BUILD_DIR/release/warn_module/warn_on_load.ko:/root/warn_on_load.ko" \
	--exec 'insmod /root/warn_on_load.ko; exit 0' --timeout 120 || status=$?
if ((status != 0)) && grep -A5 'reported problems' "$logs/runner-warning.log" | grep -q 'WARNING:'; then
	pass "runner: a kernel WARNING fails the run although the command exits 0"
else
	fail "runner: a kernel WARNING was not reported (exit $status; see $logs/runner-warning.log)"
fi

status=0
run_vm runner-timeout --exec 'sleep 600' --timeout 15 || status=$?
if ((status == 124)) && grep -q 'did not finish within 15s' "$logs/runner-timeout.log"; then
	pass "runner: a guest that runs past --timeout is killed and fails"
else
	fail "runner: --timeout did not work (exit $status)"
fi

# count_summary LOG: adds the last "N passed, N failed[, N skipped]" line of
# LOG to the totals and leaves it in $summary (empty if LOG has none). Not
# for a $(...) subshell: the totals would be lost.
count_summary() {
	local p f
	summary=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n1 | tr -d '\r' || true)
	[[ -n $summary ]] || return 0
	read -r p _ f _ <<<"$summary"
	passed=$((passed + p))
	failed=$((failed + f))
	if [[ $summary =~ ([0-9]+)\ skipped ]]; then
		skipped=$((skipped + BASH_REMATCH[1]))
	fi
}

# host_run LABEL SCRIPT: a host-side script that prints ok/not ok lines and
# "N passed, N failed"; its counts join the totals. A script that fails
# without a failed case to show for it counts as one more failure.
host_run() {
	local label=$1 script=$2 status=0 summary
	"$script" >"$logs/$label.log" 2>&1 || status=$?
	grep -a -E '^(ok|not ok) ' "$logs/$label.log" | sed "s/^/[$label] /" || true
	count_summary "$logs/$label.log"
	if ((status != 0)) && [[ -z $summary || $summary == *" 0 failed"* ]]; then
		tail -n 20 "$logs/$label.log" | sed "s/^/[$label] /"
		fail "$label: $script failed (exit $status; log: $logs/$label.log)"
	fi
	return 0
}

say "lint: rustfmt, clippy, hot path, checkpatch, shellcheck"
host_run lint "$TOP/scripts/lint.sh"
say "exercises: every solution passes, every starting point fails"
host_run exercises "$TOP/scripts/check-exercises.sh"

# --- 2 to 4. In the guest. -------------------------------------------------
# guest_run LABEL LOGNAME RUNNER-ARGS...: runs the VM and adds the guest's
# "N passed, N failed" to the totals; a VM run that fails for another reason
# (a kernel report, a crash, a timeout) counts as one more failure.
guest_run() {
	local label=$1 name=$2 status=0 summary=''
	shift 2
	run_vm "$name" "$@" || status=$?
	local log=$logs/$name.log
	# The guest's own result lines, prefixed with where they ran.
	grep -a -E '^(ok|not ok) |^# ' "$log" | tr -d '\r' | sed "s/^/[$label] /" || true
	count_summary "$log"
	[[ -z $summary ]] || echo "[$label] guest: $summary"
	if ((status != 0)) && { [[ -z $summary ]] || grep -q 'run-qemu:' "$log"; }; then
		grep -a -A40 'run-qemu:' "$log" | sed "s/^/[$label] /" || true
		fail "$label: the VM run failed (exit $status; full log: $log)"
	fi
	return 0
}

say "the suite on the release kernel"
guest_run release suite-release --test --timeout 1800

say "the suite on the debug kernel"
guest_run debug suite-debug --debug --test --timeout 2400
# KUnit: the ring's suite runs each time rust_sample loads; count the first.
kunit=$(grep -a -o -E '# rust_sample_ring: pass:[0-9]+ fail:[0-9]+' "$logs/suite-debug.log" | head -n1 || true)
if [[ -n $kunit ]]; then
	kp=$(sed -E 's/.*pass:([0-9]+).*/\1/' <<<"$kunit")
	kf=$(sed -E 's/.*fail:([0-9]+).*/\1/' <<<"$kunit")
	passed=$((passed + kp))
	failed=$((failed + kf))
	echo "[debug] kunit rust_sample_ring: $kp passed, $kf failed"
else
	fail "kunit: no KUnit results for rust_sample_ring in the debug kernel's log"
fi

fuzz_seconds=${FUZZ_SECONDS:-60}
say "the random tester on the debug kernel (${fuzz_seconds}s)"
guest_run fuzz fuzz-debug --debug --timeout $((fuzz_seconds * 2 + 300)) \
	--exec "sample-tests fuzz --seconds $fuzz_seconds"

# Skipped cases (fault injection on the release kernel) are not passes.
if ((skipped > 0)); then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
((failed == 0))
