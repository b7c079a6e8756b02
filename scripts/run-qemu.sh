#!/usr/bin/env bash
# Boots the sample kernel in QEMU with both modules loaded.
#
#   ./scripts/run-qemu.sh                 a shell in the VM (leave with exit)
#   ./scripts/run-qemu.sh --exec 'CMD'    run CMD, exit with its status
#   ./scripts/run-qemu.sh --test          run the test suite, exit with its status
#
# Options:
#   --kernel K           boot kernel K (qemu/kernels/): release (the sample's own, small), debug
#                        (KASAN, lockdep, kmemleak, UBSAN, KUnit) or debian
#                        (Debian's own 7.3, x86_64); default: $KERNEL, else
#                        debian on a Debian 13 x86_64 machine, else release
#   --debug              the same as --kernel debug
#   --no-load            do not load the modules
#   --add HOST[:GUEST]   put a file into the guest for this boot (repeatable;
#                        default GUEST path: /root/NAME)
#   --accel kvm|tcg|auto KVM if it works, else TCG (default auto); under TCG the
#                        CPU is qemu/arch/ARCH.conf's TCG_CPU_MODEL, or TCG_CPU=MODEL
#   --print-accel        print what --accel auto chooses here (kvm or tcg), and exit
#   --icount             an instruction clock: TCG with -icount shift=0,sleep=off,
#                        so the guest's time counts executed instructions (1 ns
#                        each) and timing repeats exactly; the CPU model is
#                        pinned (ICOUNT_CPU in qemu/arch/ARCH.conf). Implies --accel tcg.
#   --smp N              N virtual CPUs (default 2)
#   --arch ARCH          boot the x86_64 or arm64 build (default: $ARCH, else
#                        this machine's architecture; ARCH=arm64 works too)
#   --timeout SEC        kill the VM and fail after SEC seconds
#                        (default: none for a shell, 600 otherwise)
#   --gdb                wait for gdb on localhost:$GDB_PORT (1234; see: make gdb)
#   --detectors 'D...'   the detectors this run relies on (default: the kernel's
#                        DETECTORS, qemu/kernels/NAME.conf); one missing or off
#                        fails the run as a set-up error (tests/runner/detectors.tsv)
#   --verdict FILE       also write the verdict to FILE, as JSON (scripts/lib/verdict.py
#                        says what it holds): what other programs read
#
# The run fails, whatever the guest's command returned, if the console shows
# a kernel report (qemu/kernel-reports.txt: a panic, Oops, BUG, WARNING, a
# KASAN, UBSAN, lockdep or kmemleak report); the offending lines are
# printed. It never waits silently: without a sign of life the VM is killed
# when the timeout expires. Exit status, one per verdict: the guest
# command's own (0: pass); 122 a kernel report; 124 a time-out; 125 the
# runner's or the guest's set-up failed (2: bad usage).
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-0}"
}
# bad_usage MESSAGE: before the library is loaded (--arch chooses what it loads).
bad_usage() {
	echo "run-qemu.sh: $1" >&2
	usage 2 >&2
}

# --- The verdict, as data (--verdict FILE). ---------------------------------
verdict_file='' verdict_written=0 started=$(date +%s.%N)
verdict_py=$(cd "$(dirname "$0")" && pwd)/lib/verdict.py
# verdict VERDICT EXIT GUEST_STATUS REASON [FIRST_REPORT [guest-setup]]: says it, writes
# it to the verdict file, and exits with EXIT.
verdict() {
	[[ $1 == pass ]] || echo "run-qemu: $4" >&2
	if [[ -n $verdict_file ]]; then
		python3 "$verdict_py" write "$verdict_file" "$1" "$2" "$3" "$4" "${5:-}" "$started" ${6:+"$6"}
	fi
	verdict_written=1
	exit "$2"
}
# Whatever ends the runner before a verdict (a die, a failed command under
# set -e, a bad option) is the runner's own failure.
# shellcheck disable=SC2317 # a trap
on_exit() {
	local status=$?
	[[ -z ${tmp:-} ]] || rm -rf "$tmp"
	((verdict_written)) || verdict runner-error $((status == 2 ? 2 : 125)) '' \
		"the runner failed before the guest's command ran or finished (exit $status; see above)"
}
trap on_exit EXIT

# The options, read once. The library is loaded after them, for --arch.
detectors=unset variant='' mode=shell cmd='' load=1 accel=auto timeout='' gdb=0 icount=0 cpus=2 print_accel=0
adds=()
while (($#)); do
	case $1 in
	--test) mode='test' ;;
	--exec)
		mode='exec'
		cmd=${2?--exec needs a command}
		shift
		;;
	--no-load) load=0 ;;
	--add)
		adds+=("${2?--add needs HOST[:GUEST]}")
		shift
		;;
	--debug) variant=debug ;;
	--kernel)
		variant=${2?--kernel needs the name of a kernel}
		shift
		;;
	--accel)
		accel=${2?--accel needs kvm, tcg or auto}
		shift
		;;
	--print-accel) print_accel=1 ;;
	--timeout)
		timeout=${2?--timeout needs seconds}
		shift
		;;
	--gdb) gdb=1 ;;
	--detectors)
		detectors=${2?--detectors needs a list (or '')}
		shift
		;;
	--verdict)
		[[ -n ${2:-} ]] || bad_usage "--verdict needs a file"
		verdict_file=$2
		shift
		;;
	--icount) icount=1 ;;
	--smp)
		cpus=${2?--smp needs a number of CPUs}
		shift
		;;
	--arch)
		[[ -n ${2:-} ]] || bad_usage "--arch needs an architecture"
		ARCH=$2
		shift
		;;
	-h | --help) usage 0 ;;
	*) bad_usage "unknown option '$1'" ;;
	esac
	shift
done
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

[[ $accel =~ ^(kvm|tcg|auto)$ ]] || die "--accel must be kvm, tcg or auto, not '$accel'"
[[ -z $timeout || $timeout =~ ^[0-9]+$ ]] || die "--timeout takes whole seconds, not '$timeout'"
[[ $cpus =~ ^[1-8]$ ]] || die "--smp takes 1 to 8 CPUs, not '$cpus'"
if ((icount)); then
	[[ $accel != kvm ]] || die "--icount needs TCG: KVM runs the guest on the real CPU, which has no instruction clock"
	accel=tcg
fi
if [[ -z $timeout && $mode != shell ]]; then
	timeout=600
fi

variant=${variant:-$KERNEL}
check_kernel "$variant"
[[ $detectors != unset ]] || detectors=$(kernel_fact "$variant" DETECTORS)

# A kernel is built on first use (a plain `make` builds the default one),
# by the entry point that `make` uses.
"$TOP/scripts/build.sh" need "$variant" "./scripts/run-qemu.sh --kernel $variant"
kdir=$BUILD_DIR/$variant/kdir
image=$kdir/$KERNEL_IMAGE
base_cpio=$BUILD_DIR/initramfs/base.cpio
modules_cpio=$BUILD_DIR/$variant/modules.cpio
make_cmd="make"
[[ $ARCH == "$HOST_ARCH" ]] || make_cmd="make ARCH=$ARCH"
for f in "$image" "$base_cpio" "$modules_cpio"; do
	[[ -f $f ]] || die "$f is missing: run '$make_cmd' first"
done
# Each detector the run relies on is configured in, or the run is no test.
for detector in $detectors; do
	option=$(detector_fact "$detector" 2)
	[[ -n $option ]] || die "unknown detector '$detector' (tests/runner/detectors.tsv)"
	grep -q "^$option=y" "$kdir/.config" || die "the $variant kernel relies on $detector, but its .config lacks $option=y"
done
command -v "$QEMU_SYSTEM" >/dev/null || die "$QEMU_SYSTEM not found: run '$make_cmd' (it installs $QEMU_PACKAGE)"

# --- QEMU's command line, made here only. ---------------------------------
# qemu_command kvm|tcg|icount: QEMU for $ARCH with that accelerator (icount:
# TCG on the instruction clock), its machine and CPU (qemu/arch/ARCH.conf),
# booting $image, into the array qemu; the caller adds the rest.
# QEMU's option values are comma-separated lists.
# shellcheck disable=SC2054
qemu_command() {
	local machine=$QEMU_MACHINE accel_args cpu
	case $1 in
	kvm) machine=$QEMU_MACHINE_KVM accel_args=(-accel kvm) cpu=$KVM_CPU ;;
	tcg) accel_args=(-accel tcg) cpu=${TCG_CPU:-$TCG_CPU_MODEL} ;;
	icount) accel_args=(-accel tcg -icount shift=0,sleep=off) cpu=$ICOUNT_CPU ;;
	esac
	qemu=("$QEMU_SYSTEM")
	[[ -z $machine ]] || qemu+=(-M "$machine")
	qemu+=("${accel_args[@]}" -cpu "$cpu" -kernel "$image" -display none -no-reboot)
}

# kvm_works: whether KVM really runs a guest. It needs this machine's own
# architecture, and some machines have a /dev/kvm whose guests hang before
# printing anything (nested virtualisation). A short probe boot tells; the
# answer is kept for this host and architecture until it reboots.
kvm_works() {
	[[ $ARCH == "$HOST_ARCH" && -r /dev/kvm && -w /dev/kvm ]] || return 1
	local stamp probe_log qemu verdict
	stamp=/tmp/rust-kmod-sample-kvm-probe.$ARCH.$(id -u)
	if [[ -f $stamp ]]; then
		[[ $(cat "$stamp") == ok ]]
		return
	fi
	say "probing KVM (a guest that shows no sign of life within 5 s means TCG)"
	probe_log=$(mktemp)
	qemu_command kvm
	# In a subshell whose messages go nowhere: bash would report the killed
	# probe ("Aborted") on its own.
	verdict=$(
		"${qemu[@]}" -m 256 -append "console=$CONSOLE earlycon panic=-1" \
			-monitor none -serial "file:$probe_log" </dev/null >/dev/null 2>&1 &
		pid=$! verdict=broken
		for _ in $(seq 50); do
			if grep -q 'Linux version' "$probe_log" 2>/dev/null; then
				verdict=ok
				break
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		echo "$verdict"
	) 2>/dev/null
	rm -f "$probe_log"
	echo "$verdict" >"$stamp"
	[[ $verdict == ok ]]
}

# --- Acceleration: KVM when it really runs a guest, else TCG. -------------
if [[ $accel == auto ]]; then
	accel=tcg
	! kvm_works || accel=kvm
fi
if ((print_accel)); then
	echo "$accel"
	exit 0
fi
[[ $accel == tcg || $ARCH == "$HOST_ARCH" ]] || die "--accel kvm runs only this machine's own architecture ($HOST_ARCH), not $ARCH"

tmp=$(mktemp -d -p "${TMPDIR:-/tmp}")

# --- The per-boot archive: what to run, and the files from --add. ---------
# The exit-status marker's token: new at every boot (qemu/init).
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf "MODE=%s\nLOAD=%s\nTOKEN=%s\nDETECTORS='%s'\n" "$mode" "$load" "$token" "$detectors" >"$tmp/run.conf"
printf '%s\n' "$cmd" >"$tmp/cmd"
{
	echo "file /etc/sample/run.conf $tmp/run.conf 0644 0 0"
	echo "file /etc/sample/cmd $tmp/cmd 0644 0 0"
	declare -A made_dirs=()
	for spec in "${adds[@]}"; do
		host=${spec%%:*}
		guest=${spec#*:}
		[[ $spec == *:* ]] || guest=/root/$(basename "$host")
		[[ -f $host ]] || die "--add $spec: no such file '$host'"
		[[ $guest == /* ]] || die "--add $spec: the guest path must be absolute"
		dir=$(dirname "$guest")
		parts=
		IFS=/ read -ra components <<<"${dir#/}"
		for part in "${components[@]}"; do
			parts+=/$part
			[[ -n ${made_dirs[$parts]:-} ]] && continue
			made_dirs[$parts]=1
			echo "dir $parts 0755 0 0"
		done
		mode_bits=0644
		[[ -x $host ]] && mode_bits=0755
		echo "file $guest $(realpath "$host") $mode_bits 0 0"
	done
} >"$tmp/extra.list"
"$kdir/usr/gen_init_cpio" -o "$tmp/extra.cpio" "$tmp/extra.list"
cat "$base_cpio" "$modules_cpio" "$tmp/extra.cpio" >"$tmp/initrd"

# The instruction clock: the guest's clock advances 2^0 ns per executed
# instruction, and never while it idles (sleep=off), whatever the host does.
# `-cpu max` differs between QEMU versions, and the kernel patches its code
# for the features it finds, so this mode pins a named model (ICOUNT_CPU).
if ((icount)); then
	qemu_command icount
else
	qemu_command "$accel"
fi

# --- Boot. ------------------------------------------------------------------
log=$tmp/console.log
append="console=$CONSOLE panic=-1 printk.time=1"
# On the instruction clock each boot starts alike: the same date (an RTC
# on the instruction clock) and the same addresses (no address-space
# randomisation), so that a program's buffers, and the copies' alignment,
# land where they did last time; plus what the architecture needs there
# (ICOUNT_APPEND: x86_64's TSCs).
# shellcheck disable=SC2054
if ((icount)); then
	append+=" norandmaps"
	[[ -z $ICOUNT_APPEND ]] || append+=" $ICOUNT_APPEND"
	qemu+=(-rtc base=2026-01-01T00:00:00,clock=vm)
fi
# The CPUs as the architecture lays them out (SMP_LAYOUT).
# shellcheck disable=SC2059 # the layout is the format
qemu+=(-smp "$(printf "$SMP_LAYOUT" "$cpus")" -m 1G -initrd "$tmp/initrd")
if ((gdb)); then
	append+=" nokaslr"
	qemu+=(-gdb "tcp:localhost:$GDB_PORT" -S)
	say "waiting for gdb on localhost:$GDB_PORT: run 'make gdb' in another terminal"
fi
qemu+=(-append "$append")
clock=
((icount == 0)) || clock=", instruction clock, CPU $ICOUNT_CPU"
say "booting the $ARCH $variant kernel ($accel$clock${timeout:+, timeout ${timeout}s})"

# QEMU's option values are comma-separated lists.
# shellcheck disable=SC2054
if [[ $mode == shell ]]; then
	# The serial console and QEMU's monitor share the terminal (Ctrl-A X quits).
	qemu+=(-chardev "stdio,id=con,mux=on,signal=off,logfile=$log"
		-serial chardev:con -mon chardev=con,mode=readline)
	stdin=/dev/stdin
else
	qemu+=(-chardev "stdio,id=con,signal=off,logfile=$log" -serial chardev:con -monitor none)
	stdin=/dev/null
fi

set +e
if [[ -n $timeout ]]; then
	timeout --foreground -k 5 "$timeout" "${qemu[@]}" <"$stdin"
else
	"${qemu[@]}" <"$stdin"
fi
qemu_status=$?
set -e

# --- Verdict. ---------------------------------------------------------------
tr -d '\r' <"$log" >"$tmp/console.txt"
# The kernel's own bug reports (qemu/kernel-reports.txt), on kernel lines
# only (printk.time=1 gives every kernel line a "[    1.234567] " prefix),
# so that a program's output cannot trip them; plus a KUnit test that
# failed, and kmemleak's report, which /init prints (cat), hence unprefixed.
kernel_line='\[ *[0-9]+\.[0-9]+\] '
reports=$(grep -v -e '^#' -e '^$' "$TOP/qemu/kernel-reports.txt")
problems=$({
	grep -a -n -E "$kernel_line" "$tmp/console.txt" | grep -a -F -e "$reports"
	grep -a -n -E "${kernel_line} *not ok |^unreferenced object 0x" "$tmp/console.txt"
} | sort -t: -k1,1n -u || true)
status=$(grep -a -o -E "SAMPLE-EXIT-STATUS-$token: [0-9]+" "$tmp/console.txt" | tail -n1 | cut -d' ' -f2 || true)
setup_error=$(grep -a -o -E "SAMPLE-SETUP-ERROR-$token: .*" "$tmp/console.txt" | head -n1 | cut -d' ' -f2- || true)

if [[ -n $problems ]]; then
	echo >&2
	echo "run-qemu: the kernel reported problems (console lines):" >&2
	head -n 40 <<<"$problems" | sed 's/^/  /' >&2
	verdict kernel-report 122 "$status" "the kernel reported problems" "$(head -n1 <<<"$problems" | cut -d: -f2-)"
fi
if ((qemu_status == 124 || qemu_status == 137)); then
	verdict timeout 124 '' "the VM did not finish within ${timeout}s and was killed"
fi
if [[ -n $setup_error ]]; then
	verdict runner-error 125 '' "the guest's set-up failed: $setup_error" '' guest-setup
fi
if [[ -z $status ]]; then
	tail -n 20 "$tmp/console.txt" | sed 's/^/  /' >&2
	verdict runner-error 125 '' "the guest stopped without reporting an exit status (QEMU exit $qemu_status)"
fi
if ((status == 0)); then
	verdict pass 0 0 "the guest's command succeeded"
fi
verdict failed "$status" "$status" "the guest's command exited $status"
