#!/usr/bin/env bash
# Boots the sample kernel in QEMU with both modules loaded.
#
#   ./scripts/run-qemu.sh                 a shell in the VM (leave with exit)
#   ./scripts/run-qemu.sh --exec 'CMD'    run CMD, exit with its status
#   ./scripts/run-qemu.sh --test          run the test suite, exit with its status
#
# Options:
#   --kernel K           boot kernel K: release (the sample's own, small), debug
#                        (KASAN, lockdep, kmemleak, UBSAN, KUnit) or debian
#                        (Debian's own 7.3, x86_64); default: $KERNEL, else
#                        debian on a Debian 13 x86_64 machine, else release
#   --debug              the same as --kernel debug
#   --no-load            do not load the modules
#   --add HOST[:GUEST]   put a file into the guest for this boot (repeatable;
#                        default GUEST path: /root/NAME)
#   --accel kvm|tcg|auto KVM if it works, else TCG (default auto); under TCG the
#                        CPU is max,la57=off (arm64: max,pauth-impdef=on), or TCG_CPU=MODEL
#   --icount             an instruction clock: TCG with -icount shift=0,sleep=off,
#                        so the guest's time counts executed instructions (1 ns
#                        each) and timing repeats exactly; the CPU model is
#                        pinned (ICOUNT_CPU in scripts/lib.sh). Implies --accel tcg.
#   --smp N              N virtual CPUs (default 2)
#   --arch ARCH          boot the x86_64 or arm64 build (default: $ARCH, else
#                        this machine's architecture; ARCH=arm64 works too)
#   --timeout SEC        kill the VM and fail after SEC seconds
#                        (default: none for a shell, 600 otherwise)
#   --gdb                wait for gdb on localhost:1234 (see: make gdb)
#
# The run fails, whatever the guest's command returned, if the console shows
# a kernel panic, Oops, BUG, WARNING, or a KASAN, UBSAN, lockdep or kmemleak
# report; the offending lines are printed. It never waits silently: without
# a sign of life the VM is killed when the timeout expires.
set -euo pipefail
# --arch chooses what lib.sh sets up (the build directory, QEMU), so it is
# read before lib.sh is.
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	[[ ${args[i]} != --arch ]] || export ARCH=${args[i + 1]:-}
done
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-0}"
}

variant='' mode=shell cmd='' load=1 accel=auto timeout='' gdb=0 icount=0 cpus=2
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
		variant=${2?--kernel needs release, debug or debian}
		shift
		;;
	--accel)
		accel=${2?--accel needs kvm, tcg or auto}
		shift
		;;
	--timeout)
		timeout=${2?--timeout needs seconds}
		shift
		;;
	--gdb) gdb=1 ;;
	--icount) icount=1 ;;
	--smp)
		cpus=${2?--smp needs a number of CPUs}
		shift
		;;
	--arch)
		[[ -n ${2:-} ]] || die "--arch needs x86_64 or arm64"
		shift
		;;
	-h | --help) usage 0 ;;
	*)
		echo "run-qemu.sh: unknown option '$1'" >&2
		usage 2 >&2
		;;
	esac
	shift
done
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

variant=${variant:-${KERNEL:-$(default_kernel)}}
check_kernel "$variant"

# A kernel is built on first use (a plain `make` builds the default one).
need_variant "$variant" "./scripts/run-qemu.sh --kernel $variant"
kdir=$BUILD_DIR/$variant/kdir
image=$kdir/$KERNEL_IMAGE
base_cpio=$BUILD_DIR/initramfs/base.cpio
modules_cpio=$BUILD_DIR/$variant/modules.cpio
make_cmd="make"
[[ $ARCH == "$HOST_ARCH" ]] || make_cmd="make ARCH=$ARCH"
for f in "$image" "$base_cpio" "$modules_cpio"; do
	[[ -f $f ]] || die "$f is missing: run '$make_cmd' first"
done
command -v "$QEMU_SYSTEM" >/dev/null || die "$QEMU_SYSTEM not found: run '$make_cmd' (it installs $QEMU_PACKAGE)"

tmp=$(mktemp -d -p "${TMPDIR:-/tmp}")
trap 'rm -rf "$tmp"' EXIT

# --- The per-boot archive: what to run, and the files from --add. ---------
# The exit-status marker's token: new at every boot (qemu/init).
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf 'MODE=%s\nLOAD=%s\nTOKEN=%s\n' "$mode" "$load" "$token" >"$tmp/run.conf"
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

# --- Acceleration: KVM when it really runs a guest (lib.sh), else TCG. ------
if [[ $accel == auto ]]; then
	accel=tcg
	! kvm_works "$image" || accel=kvm
fi
[[ $accel == tcg || $ARCH == "$HOST_ARCH" ]] || die "--accel kvm runs only this machine's own architecture ($HOST_ARCH), not $ARCH"
# The instruction clock: the guest's clock advances 2^0 ns per executed
# instruction, and never while it idles (sleep=off), whatever the host does.
# `-cpu max` differs between QEMU versions, and the kernel patches its code
# for the features it finds, so this mode pins a named model (lib.sh).
if ((icount)); then
	qemu_accel_args icount
else
	qemu_accel_args "$accel"
fi

# --- Boot. ------------------------------------------------------------------
log=$tmp/console.log
append="console=$CONSOLE panic=-1 printk.time=1"
# With the instruction clock the vCPUs run in turns, and the kernel's check
# that their TSCs agree fails; it would then fall back to jiffies (4 ms
# steps). Their TSCs are one counter, QEMU's instruction count. Each boot
# also starts alike: the same date (an RTC on the instruction clock) and
# the same addresses (no address-space randomisation), so that a program's
# buffers, and the copies' alignment, land where they did last time.
# shellcheck disable=SC2054
if ((icount)); then
	append+=" norandmaps"
	[[ $ARCH != x86_64 ]] || append+=" tsc=reliable"
	accel_args+=(-rtc base=2026-01-01T00:00:00,clock=vm)
fi
# x86_64: two CPUs as two sockets: without ACPI the kernel finds CPUs in the
# BIOS's MP table, which lists one CPU per socket. arm64: the virt machine's
# device tree lists them, and PSCI starts them.
smp=$cpus
[[ $ARCH != x86_64 ]] || smp=sockets=$cpus,cores=1,threads=1
qemu=("$QEMU_SYSTEM" "${accel_args[@]}" -smp "$smp" -m 1G
	-kernel "$image" -initrd "$tmp/initrd" -no-reboot -display none)
if ((gdb)); then
	append+=" nokaslr"
	qemu+=(-gdb "tcp:localhost:${GDB_PORT:-1234}" -S)
	say "waiting for gdb on localhost:${GDB_PORT:-1234}: run 'make gdb' in another terminal"
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
# The kernel's own bug reports, on kernel lines only (printk.time=1 gives
# every kernel line a "[    1.234567] " prefix), so that a program's output
# cannot trip them; KASAN and UBSAN reports start with "BUG:" and "UBSAN:".
# kmemleak's report is printed by /init (cat), hence unprefixed. A stack
# dump says "Call Trace:" on x86_64 and "Call trace:" on arm64.
kernel_line='\[ *[0-9]+\.[0-9]+\] '
problem_re="${kernel_line}.*(Kernel panic|Oops|BUG:|WARNING:|general protection fault|UBSAN:|kmemleak: [0-9]+ new suspected|possible recursive locking|circular locking|inconsistent lock state|INFO: task .* blocked|Call [Tt]race:)|${kernel_line} *not ok |^unreferenced object 0x"
problems=$(grep -a -n -E "$problem_re" "$tmp/console.txt" || true)
status=$(grep -a -o -E "SAMPLE-EXIT-STATUS-$token: [0-9]+" "$tmp/console.txt" | tail -n1 | cut -d' ' -f2 || true)

if [[ -n $problems ]]; then
	echo >&2
	echo "run-qemu: the kernel reported problems (console lines):" >&2
	head -n 40 <<<"$problems" | sed 's/^/  /' >&2
	exit 1
fi
if ((qemu_status == 124 || qemu_status == 137)); then
	echo "run-qemu: the VM did not finish within ${timeout}s and was killed" >&2
	exit 124
fi
if [[ -z $status ]]; then
	echo "run-qemu: the guest stopped without reporting an exit status (QEMU exit $qemu_status)" >&2
	tail -n 20 "$tmp/console.txt" | sed 's/^/  /' >&2
	exit 1
fi
exit "$status"
