#!/usr/bin/env bash
# `make test-host`: the host checks that need no debug kernel, one `ok`/`not
# ok` line each, then "N passed, N failed". `make test` runs them first.
#
#   abi      the C header and the Rust ABI agree (tests/abi/print_abi.c
#            against `sample-tests --print-abi`; for another architecture
#            than this machine's, both built for it and run in its guest)
#   runner   run-qemu.sh turns an exit status (also after output with no
#            final newline, binary output, or a line that imitates the
#            status marker), a panic, a WARNING and a timeout into the
#            right result (seven short VM boots)
#   cache    a kernel cache entry reached by another path, read-only, with
#            the path it was built at hidden, still builds both modules
#            (needs root or passwordless sudo for a private mount namespace;
#            otherwise a skip)
#   ktap     the kernel's tools/testing/kunit/kunit.py parse reads a short
#            run of the suite: the same count as scripts/lib/ktap.py, and a
#            failure when one case is made to fail; the reader's self-test
#            on tests/ktap/ (broken logs fail, here and in kunit.py), and
#            ktap_count failing closed on readers that die or lie
#   lint     scripts/lint.sh: rustfmt, clippy, hot path, checkpatch, shellcheck
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

# The kernel of the quick start (KERNEL, else default_kernel): a fresh
# Debian 13 machine tests Debian's kernel here and builds none.
kernel=$KERNEL
"$TOP/scripts/build.sh" need "$kernel" "make test-host"
logs=$BUILD_DIR/test-logs
mkdir -p "$logs"

# run_vm NAME ARGS...: the VM on that kernel, quietly, its output in
# $logs/NAME.log; returns the runner's status.
run_vm() {
	local name=$1 status=0
	shift
	"$TOP/scripts/run-qemu.sh" --kernel "$kernel" "$@" >"$logs/$name.log" 2>&1 </dev/null || status=$?
	return "$status"
}

say "host checks: the ABI, the VM runner ($ARCH)"
# Both sides print the ABI as they see it for $ARCH; on this machine's own
# architecture they run here, for another one in its guest.
abi_ok="abi: src/sample_ioctl.h and src/sample_abi.rs agree (numbers, size, offsets)"
if [[ $ARCH == "$HOST_ARCH" ]]; then
	cc -Wall -Werror -o "$logs/print_abi" "$TOP/tests/abi/print_abi.c"
	if diff -u <("$logs/print_abi") <("$BUILD_DIR/tools/sample-tests" --print-abi) >"$logs/abi.diff"; then
		pass "$abi_ok"
	else
		fail "abi: src/sample_ioctl.h and src/sample_abi.rs differ" "$(cat "$logs/abi.diff")"
	fi
else
	"$GUEST_CC" -static -Wall -Werror -o "$logs/print_abi" "$TOP/tests/abi/print_abi.c"
	status=0
	run_vm abi --add "$logs/print_abi:/root/print_abi" --timeout 120 \
		--exec '/root/print_abi >/tmp/c.txt && sample-tests --print-abi >/tmp/rust.txt && diff -u /tmp/c.txt /tmp/rust.txt' || status=$?
	if ((status == 0)); then
		pass "$abi_ok, in the $ARCH guest"
	else
		fail "abi: src/sample_ioctl.h and src/sample_abi.rs differ in the $ARCH guest (exit $status)" "see $logs/abi.log"
	fi
fi

# The runner's verdicts, one row each: NAME | the exit status it must
# give | the verdict its --verdict file must hold | whether that says the
# guest's set-up failed (guest_setup: True or False) | what the verdict's
# first kernel report must contain ('': nothing asked) | what it checks |
# the runner's options. The exit status is the command's, whatever the
# command printed: a plain exit, no final newline, binary output, lines
# that imitate the status marker. A kernel panic or WARNING fails the run
# whatever the command returned; a guest past --timeout is killed; a
# runner or set-up failure is neither a pass nor the command's failure.
warn_ko=$BUILD_DIR/$kernel/warn_module/warn_on_load.ko
while IFS='|' read -r name want verdict setup report what options; do
	args=()
	eval "args=($options)"
	status=0
	rm -f "$logs/runner-$name.verdict.json"
	run_vm "runner-$name" --timeout 120 --verdict "$logs/runner-$name.verdict.json" "${args[@]}" || status=$?
	got=$(verdict_get "$logs/runner-$name.verdict.json" verdict)
	first=$(verdict_get "$logs/runner-$name.verdict.json" first_report)
	got_setup=$(verdict_get "$logs/runner-$name.verdict.json" guest_setup)
	if ((status == want)) && [[ $got == "$verdict" && $got_setup == "$setup" ]] && { [[ -z $report ]] || [[ $first == *"$report"* ]]; }; then
		pass "runner: $what"
	else
		fail "runner: $what: exit $status (want $want), verdict $got (want $verdict), guest_setup $got_setup (want $setup)${report:+, first report \"$first\" (want \"$report\")} (see $logs/runner-$name.log)"
	fi
done <<EOF
pass|0|pass|False||--exec 'exit 0' exits 0, a pass|--exec 'exit 0'
exit|3|failed|False||--exec 'exit 3' exits 3|--exec 'exit 3'
no-newline|3|failed|False||--exec 'printf hi; exit 3' exits 3|--exec 'printf hi; exit 3'
binary|4|failed|False||--exec 'head -c 65536 /dev/urandom; exit 4' exits 4|--exec 'head -c 65536 /dev/urandom; exit 4'
imitation|5|failed|False||a command that prints imitations of the status marker exits 5|--exec 'echo SAMPLE-EXIT-STATUS: 0; echo SAMPLE-EXIT-STATUS-0123456789abcdef: 0; exit 5'
panic|122|kernel-report|False|Kernel panic|a kernel panic fails the run, as a kernel report|--exec 'echo c > /proc/sysrq-trigger'
warning|122|kernel-report|False|WARNING:|a kernel WARNING fails the run although the command exits 0|--add '$warn_ko:/root/warn_on_load.ko' --exec 'insmod /root/warn_on_load.ko; exit 0'
timeout|124|timeout|False||a guest that runs past --timeout is killed, as a time-out|--timeout 15 --exec 'sleep 600'
setup|125|runner-error|True||a sample module that does not load (here: not a module at all) is the set-up's failure, not the command's|--add '$TOP/Kbuild:/lib/modules/c_sample.ko' --exec 'exit 0'
runner|125|runner-error|False||a runner that cannot start the VM fails as itself|--add /nonexistent --exec 'exit 0'
detector|125|runner-error|False||a run that relies on a detector its kernel lacks fails before it boots|--detectors kmemleak --exec 'exit 0'
EOF

# --- KTAP: the kernel's own parser reads the suite. ----------------------------
# A short run of the suite (the stats cases, both drivers, parity) through
# tools/testing/kunit/kunit.py parse of the kernel tree: it must count what
# scripts/lib/ktap.py counts, and see a failure when one case is made to fail.
# kunit.py's verdict is its exit status and its JSON report, as `ktap.py
# kunit` writes them: "kunit STATUS PASSED FAILED CRASHED SKIPPED ERRORS".
ktap_check() {
	local tree log=$logs/ktap-suite.log bad=$logs/ktap-suite-one-failure.log verdict=$logs/ktap-suite.kunit status
	tree=$(cached_kernel_source)
	run_vm ktap-suite --exec 'sample-tests --only stats' --timeout 120 </dev/null ||
		{ fail "ktap: the suite's short run failed (see $log)"; return; }
	status=0
	ktap_count "$log" "$logs/ktap-suite.counts" >/dev/null || status=$?
	if ((status != 0)); then
		fail "ktap: scripts/lib/ktap.py does not pass the suite's short run (status $status; see $log)"
		return
	fi
	rm -f "$verdict"
	status=0
	python3 "$TOP/scripts/lib/ktap.py" kunit "$log" --tree "$tree" --counts "$verdict" || status=$?
	if ((status == 0 && ktap_p > 0)) && [[ -f $verdict && $(<"$verdict") == "kunit 0 $ktap_p 0 0 $ktap_s 0" ]]; then
		pass "ktap: kunit.py parse reads the suite's KTAP: $ktap_p tests passed, as scripts/lib/ktap.py counts"
	else
		fail "ktap: kunit.py parse did not read the suite's $ktap_p tests, all passed (exit $status)" "$(cat "$verdict" 2>&1)"
	fi
	sed '0,/^    ok 1 /s//    not ok 1 /' "$log" >"$bad"
	rm -f "$verdict"
	status=0
	python3 "$TOP/scripts/lib/ktap.py" kunit "$bad" --tree "$tree" --counts "$verdict" || status=$?
	if ((status == 1)) && [[ -f $verdict && $(<"$verdict") == "kunit 1 $((ktap_p - 1)) 1 0 $ktap_s 0" ]]; then
		pass "ktap: kunit.py parse reports the one case made to fail"
	else
		fail "ktap: kunit.py parse missed the case made to fail (exit $status)" "$(cat "$verdict" 2>&1)"
	fi
}

# --- KTAP: the reader's own checks. ------------------------------------------
# scripts/lib/ktap.py selftest: each log in tests/ktap/ (small ones, each
# broken in one way on purpose, and good ones) gets the verdict and counts
# that tests/ktap/index gives, and none that kunit.py parse finds wrong
# passes. Then the shell side: ktap_count counts a reader that dies, or
# that leaves its counts missing, incomplete or at odds with its exit
# status, as one failure, and never takes an earlier run's counts.
ktap_selftest() {
	local tree log=$logs/ktap-selftest.log status=0 fake=$logs/ktap-fake-reader.py counts=$logs/ktap-fake.counts
	local want what source got wrong=()
	tree=$(cached_kernel_source)
	python3 "$TOP/scripts/lib/ktap.py" selftest "$TOP/tests/ktap" --tree "$tree" >"$log" 2>&1 || status=$?
	if ((status == 0)); then
		pass "ktap: scripts/lib/ktap.py selftest: each log in tests/ktap/ gets its verdict and counts, and none that kunit.py finds wrong passes"
	else
		fail "ktap: scripts/lib/ktap.py selftest failed (exit $status; see $log)" "$(grep -B2 '^not ok' "$log" | tail -n 30)"
	fi
	# Each row: what ktap_count must give ("STATUS P F S"), the reader, and
	# the one line of Python it is (none: the real one, on a good log).
	while IFS='|' read -r want what source; do
		[[ -z $source ]] || printf '%s\n' "$source" >"$fake"
		echo "total 9 0 0" >"$counts" # an earlier run's, all passed
		got=$(
			[[ -z $source ]] || ktap_reader=$fake
			status=0
			ktap_count "$TOP/tests/ktap/good-only-stats.log" "$counts" >/dev/null 2>&1 || status=$?
			echo "$status $ktap_p $ktap_f $ktap_s"
		)
		[[ $got == "$want" ]] || wrong+=("$what: $got, want $want")
	done <<'EOF'
0 9 0 0|the reader, on a good log|
3 0 1 0|a reader that exits 0 and writes no counts|pass
3 0 1 0|a reader that dies|raise RuntimeError("the reader died")
3 0 1 0|counts without their total|import sys; open(sys.argv[sys.argv.index("--counts") + 1], "w").write("counts rust_sample 4 0 0\n")
3 0 1 0|a total cut short|import sys; open(sys.argv[sys.argv.index("--counts") + 1], "w").write("total 9 0\n")
3 0 1 0|exit 1, with counts that say all passed|import sys; open(sys.argv[sys.argv.index("--counts") + 1], "w").write("total 9 0 0\n"); sys.exit(1)
3 0 1 0|exit 0, with counts that say one failed|import sys; open(sys.argv[sys.argv.index("--counts") + 1], "w").write("total 8 1 0\n")
EOF
	if ((${#wrong[@]} == 0)); then
		pass "ktap: ktap_count counts a reader that dies, or leaves its counts missing, incomplete or at odds with its exit status, as one failure"
	else
		fail "ktap: ktap_count trusts a reader that failed" "$(printf '%s\n' "${wrong[@]}")"
	fi
}
ktap_check
ktap_selftest

# --- The kernel cache, moved. ------------------------------------------------
# In a private mount namespace: the cache is bound read-only at another path,
# an empty tmpfs hides the path it was built at, and the modules are built
# against the entry there, as the user, with `make -C KDIR M=...`.
moved_cache_build() {
	local entry=$1 out=$2 moved=$3 user kbuild_vars vars
	user=$(id -un)
	# The compilers as kbuild chooses them (lib/kbuild.sh); Debian's tree sets its
	# own ARCH, which comes later and wins.
	kbuild_vars "$entry"
	vars=(ARCH="$ARCH" "${kbuild_vars[@]}")
	local as_root=()
	((EUID == 0)) || as_root=(sudo -n)
	# shellcheck disable=SC2016 # the script's own $1.. expand inside it
	"${as_root[@]}" unshare -m --propagation private /bin/bash -euc '
		cache=$1 entry=$2 out=$3 moved=$4 user=$5 module=$6
		shift 6
		mount --bind "$cache" "$moved"
		mount -o remount,bind,ro "$moved"
		mount -t tmpfs hidden "$cache"
		exec runuser -u "$user" -- "$@" -C "$moved/${entry#"$cache"/}" M="$module" MO="$out"
	' _ "$CACHE_DIR" "$entry" "$out" "$moved" "$user" "$TOP" \
		env PATH="$PATH" HOME="$HOME" RUSTUP_TOOLCHAIN="$RUSTUP_TOOLCHAIN" make "${vars[@]}"
}
entry=$(readlink -f "$BUILD_DIR/$kernel/kdir")
cache=$(readlink -f "$CACHE_DIR")
if [[ $entry != "$cache"/kernels/* ]]; then
	skip "cache: a moved cache entry still builds the modules" "the $kernel kernel is not in the cache ($entry)"
elif [[ -f $entry/../toolchain.env && $(debian_toolchain_dir) != / ]]; then
	skip "cache: a moved cache entry still builds the modules" "Debian's tree here is built in a Debian 13 root, which sees the cache at its own path only"
elif ((EUID != 0)) && ! sudo -n true 2>/dev/null; then
	skip "cache: a moved cache entry still builds the modules" "needs root or passwordless sudo (a private mount namespace)"
else
	moved=$(mktemp -d) out=$(mktemp -d)
	status=0
	CACHE_DIR=$cache moved_cache_build "$entry" "$out" "$moved" >"$logs/cache-moved.log" 2>&1 || status=$?
	if ((status == 0)) && [[ -f $out/rust_sample.ko && -f $out/src/c_sample.ko ]]; then
		pass "cache: a kernel entry bound read-only at another path, its old path hidden, still builds both modules"
	else
		fail "cache: a moved kernel entry did not build the modules (exit $status)" "$(tail -n 5 "$logs/cache-moved.log")"
	fi
	rm -rf "$moved" "$out"
fi

say "lint: rustfmt, clippy, hot path, checkpatch, shellcheck"
status=0
"$TOP/scripts/lint.sh" >"$logs/lint.log" 2>&1 || status=$?
ktap_script lint "$logs/lint.log" "$status" "$TOP/scripts/lint.sh"

summary_line
