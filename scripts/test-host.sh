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
#            failure when one case is made to fail
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
# give (!0: any but 0) | a line its output must have ('': none) | a line
# within the 5 after that one | what it checks | the runner's options.
# The exit status is the command's, whatever the command printed: a plain
# exit, no final newline, binary output, lines that imitate the status
# marker. A kernel panic or WARNING fails the run whatever the command
# returned, and shows the kernel's lines; a guest past --timeout is killed.
warn_ko=$BUILD_DIR/$kernel/warn_module/warn_on_load.ko
while IFS='|' read -r name want line after what options; do
	args=()
	eval "args=($options)"
	status=0
	run_vm "runner-$name" --timeout 120 "${args[@]}" || status=$?
	if { [[ $want == '!0' ]] && ((status != 0)) || [[ $want == "$status" ]]; } &&
		{ [[ -z $line ]] || grep -A5 -E "$line" "$logs/runner-$name.log" | grep -q -E "$after"; }; then
		pass "runner: $what"
	else
		fail "runner: $what: exit $status (want $want)${line:+, or no \"$line\" then \"$after\"} (see $logs/runner-$name.log)"
	fi
done <<EOF
exit|3|||--exec 'exit 3' exits 3|--exec 'exit 3'
no-newline|3|||--exec 'printf hi; exit 3' exits 3|--exec 'printf hi; exit 3'
binary|4|||--exec 'head -c 65536 /dev/urandom; exit 4' exits 4|--exec 'head -c 65536 /dev/urandom; exit 4'
imitation|5|||a command that prints imitations of the status marker exits 5|--exec 'echo SAMPLE-EXIT-STATUS: 0; echo SAMPLE-EXIT-STATUS-0123456789abcdef: 0; exit 5'
panic|!0|reported problems|Kernel panic|a kernel panic fails the run and its lines are shown|--exec 'echo c > /proc/sysrq-trigger'
warning|!0|reported problems|WARNING:|a kernel WARNING fails the run although the command exits 0|--add '$warn_ko:/root/warn_on_load.ko' --exec 'insmod /root/warn_on_load.ko; exit 0'
timeout|124|did not finish within 15s|did not finish|a guest that runs past --timeout is killed and fails|--timeout 15 --exec 'sleep 600'
EOF

# --- KTAP: the kernel's own parser reads the suite. ----------------------------
# A short run of the suite (the stats cases, both drivers, parity) through
# tools/testing/kunit/kunit.py parse of the kernel tree: it must count what
# scripts/lib/ktap.py counts, and see a failure when one case is made to fail.
ktap_check() {
	local kunit log=$logs/ktap-suite.log bad=$logs/ktap-suite-one-failure.log want out status p f s
	kunit=$(cached_kernel_source)/tools/testing/kunit/kunit.py
	run_vm ktap-suite --exec 'sample-tests --only stats' --timeout 120 </dev/null ||
		{ fail "ktap: the suite's short run failed (see $log)"; return; }
	python3 "$TOP/scripts/lib/ktap.py" count "$log" --counts "$logs/ktap-suite.counts" >/dev/null || true
	read -r _ p f s < <(grep '^total ' "$logs/ktap-suite.counts")
	want=$((p + f + s))
	status=0
	out=$(python3 "$kunit" parse "$log" 2>&1) || status=$?
	if ((status == 0 && want > 0)) && grep -q "Ran $want tests: passed: $want\$" <<<"$out"; then
		pass "ktap: kunit.py parse reads the suite's KTAP: $want tests, all passed"
	else
		fail "ktap: kunit.py parse did not read the suite's $want tests (exit $status)" "$(tail -n 5 <<<"$out")"
	fi
	sed '0,/^    ok 1 /s//    not ok 1 /' "$log" >"$bad"
	status=0
	out=$(python3 "$kunit" parse "$bad" 2>&1) || status=$?
	if ((status != 0)) && grep -q "Ran $want tests: passed: $((want - 1)), failed: 1\$" <<<"$out"; then
		pass "ktap: kunit.py parse reports the one case made to fail"
	else
		fail "ktap: kunit.py parse missed the case made to fail (exit $status)" "$(tail -n 5 <<<"$out")"
	fi
}
ktap_check

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
