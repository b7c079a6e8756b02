#!/usr/bin/env bash
# `make test-host`: the host checks that need no debug kernel, one `ok`/`not
# ok` line each, then "N passed, N failed". `make test` runs them first.
#
#   abi      the C header and the Rust ABI agree (tests/abi/print_abi.c
#            against `sample-tests --print-abi`)
#   runner   run-qemu.sh turns an exit status, a panic, a WARNING and a
#            timeout into the right result (four short VM boots)
#   lint     scripts/lint.sh: rustfmt, clippy, hot path, checkpatch, shellcheck
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

need_variant release "make test-host"
logs=$BUILD_DIR/test-logs
mkdir -p "$logs"

say "host checks: the ABI, the VM runner"
cc -Wall -Werror -o "$logs/print_abi" "$TOP/tests/abi/print_abi.c"
if diff -u <("$logs/print_abi") <("$BUILD_DIR/tools/sample-tests" --print-abi) >"$logs/abi.diff"; then
	pass "abi: src/sample_ioctl.h and src/sample_abi.rs agree (numbers, size, offsets)"
else
	fail "abi: src/sample_ioctl.h and src/sample_abi.rs differ" "$(cat "$logs/abi.diff")"
fi

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

say "lint: rustfmt, clippy, hot path, checkpatch, shellcheck"
host_run lint "$TOP/scripts/lint.sh"

summary_line
