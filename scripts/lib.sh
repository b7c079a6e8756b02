# shellcheck shell=bash
# Shared helpers for the build scripts: paths, the cache location and
# progress lines. Sourced, never run.

# The project's top directory, wherever the script was started from.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TOP

# The kernel version the sample is written for.
KERNEL_VERSION=${KERNEL_VERSION:-7.3}

# Expensive builds (kernel source, kernels) live outside the clone so that a
# new clone reuses them. Every entry is keyed by what went into it.
CACHE_DIR=${SAMPLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-kmod-sample}

# Per-clone build output (modules' initramfs, test tools).
BUILD_DIR=${BUILD_DIR:-$TOP/build}

# LLVM suffix: LLVM=-19 selects clang-19, ld.lld-19, ... (Kbuild's convention).
LLVM=${LLVM:--19}

# rustup's tools and what `cargo install` adds (bindgen) live here; a
# non-login shell may lack it, and it may not exist yet when this is sourced.
if [[ :$PATH: != *:${CARGO_HOME:-$HOME/.cargo}/bin:* ]]; then
	PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
fi

# The Rust toolchain for the kernels, the modules and the test suite, pinned.
# rustc 1.85.0 is kernel 7.3's minimum and is built on LLVM 19, the LLVM of
# Debian 12's clang-19. With rustc and clang on one LLVM the kernel inlines
# its small C helpers into Rust code (CONFIG_RUST_INLINE_HELPERS in
# qemu/kernel.config), as C inlines them from its headers. To use another
# toolchain, set RUSTUP_TOOLCHAIN, and LLVM= to a clang of the same LLVM.
RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-1.85.0}

# The guest's userland: Debian's busybox-static installs a static busybox here.
BUSYBOX=/bin/busybox

export KERNEL_VERSION CACHE_DIR BUILD_DIR LLVM RUSTUP_TOOLCHAIN BUSYBOX

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# stage NAME START_SECONDS SOURCE: one progress line per build stage.
stage_done() {
	local name=$1 start=$2 source=$3
	printf '[%-18s] %4ss  %s\n' "$name" "$(($(date +%s) - start))" "$source" >&2
}

# need_variant VARIANT WHY: builds that kernel (cached), its modules and the
# initramfs when this clone lacks them. A plain `make` builds the release
# kernel only; the debug kernel is built the first time WHY needs it, and
# every later `make` keeps its modules current (build.sh).
need_variant() {
	local variant=$1 why=$2
	[[ -f $BUILD_DIR/$variant/modules.cpio && -f $BUILD_DIR/initramfs/base.cpio ]] && return 0
	say "$why needs the $variant kernel, which this clone has not built yet: building it"
	VARIANTS=$variant KERNEL_WHY=$why "$TOP/scripts/build.sh" all >&2
}

# --- Counting results (test.sh, test-host.sh, lint.sh, check-exercises.sh).
# Each prints one "ok ..."/"not ok ..."/"skip ..." line per check, keeps
# logs in $logs and ends with summary_line: "N passed, N failed". These
# helpers keep the totals. RESULT_PREFIX goes before every name (test.sh
# and test-host.sh: "host ", so that make test's lines say where they ran).
passed=0 failed=0 skipped=0
RESULT_PREFIX=${RESULT_PREFIX-}
pass() {
	passed=$((passed + 1))
	echo "ok $RESULT_PREFIX$1"
}
fail() {
	failed=$((failed + 1))
	echo "not ok $RESULT_PREFIX$1${2:+: $2}"
}
skip() {
	skipped=$((skipped + 1))
	echo "skip $RESULT_PREFIX$1: $2"
}

# run_vm NAME ARGS...: runs the VM quietly, keeping its output in $logs/NAME.log.
# shellcheck disable=SC2154 # $logs: set by the test script
run_vm() {
	local name=$1
	shift
	set +e
	"$TOP/scripts/run-qemu.sh" "$@" >"$logs/$name.log" 2>&1
	local status=$?
	set -e
	return "$status"
}

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
	grep -a -E '^(\[[a-z-]+\] )*(ok|not ok|skip) ' "$logs/$label.log" | sed "s/^/[$label] /" || true
	count_summary "$logs/$label.log"
	if ((status != 0)) && [[ -z $summary || $summary == *" 0 failed"* ]]; then
		tail -n 20 "$logs/$label.log" | sed "s/^/[$label] /"
		fail "$label: $script failed (exit $status; log: $logs/$label.log)"
	fi
	return 0
}

# summary_line: the closing line; skips are not passes.
summary_line() {
	if ((skipped > 0)); then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	((failed == 0))
}

# The CPU model the instruction clock (run-qemu.sh --icount, make bench)
# shows the guest: QEMU's versioned baseline model, which every QEMU release
# defines alike (unlike `max`, and the `qemu64` alias, which follow the QEMU
# version), plus SMEP and SMAP, which every x86 of the last decade has and
# which put stac/clac around each user copy.
export ICOUNT_CPU=qemu64-v1,+smep,+smap

# kvm_works BZIMAGE: whether KVM really runs a guest. Some machines have a
# /dev/kvm whose guests hang before printing anything (nested
# virtualisation). A short probe boot of BZIMAGE tells; the answer is kept
# for this host until it reboots. Used by run-qemu.sh and bench.sh.
kvm_works() {
	[[ -r /dev/kvm && -w /dev/kvm ]] || return 1
	local stamp probe_log
	stamp=/tmp/rust-kmod-sample-kvm-probe.$(id -u)
	if [[ -f $stamp ]]; then
		[[ $(cat "$stamp") == ok ]]
		return
	fi
	say "probing KVM (a guest that shows no sign of life within 5 s means TCG)"
	probe_log=$(mktemp)
	qemu-system-x86_64 -accel kvm -cpu host -m 256 -kernel "$1" \
		-append "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1" \
		-display none -monitor none -no-reboot \
		-serial "file:$probe_log" </dev/null >/dev/null 2>&1 &
	local pid=$! verdict=broken
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
	rm -f "$probe_log"
	echo "$verdict" >"$stamp"
	[[ $verdict == ok ]]
}

# --- Building modules and checking the logs (build.sh, exercise.sh, lint.sh,
# rust-analyzer.sh, check-exercises.sh). --------------------------------------

# A compiler or Kbuild warning or error in a build log.
export WARNINGS_RE='^(warning|error)|: warning:'

# kbuild KDIR DIR OUT [ARGS...]: Kbuild's out-of-tree build of DIR (M=)
# against the kernel build KDIR, into OUT (MO=; "" builds in DIR itself),
# with this project's LLVM.
kbuild() {
	local kdir=$1 dir=$2 out=$3
	shift 3
	make -C "$kdir" M="$dir" ${out:+"MO=$out"} LLVM="$LLVM" "$@"
}

# cached_kernel_source: the release kernel's source tree in the cache, for
# make lint and make fmt (its .rustfmt.toml, checkpatch.pl); they never
# download one.
cached_kernel_source() {
	local src
	src=$(readlink -f "$BUILD_DIR/release/kdir/source" 2>/dev/null || true)
	if [[ -z $src || ! -f $src/.rustfmt.toml ]]; then
		die "no kernel tree in the cache for this clone: run 'make' first"
	fi
	echo "$src"
}

# rust_sources: the Rust files that rustfmt checks (make lint, make fmt),
# one per line.
rust_sources() {
	(cd "$TOP" && ls rust_sample.rs src/*.rs && find exercises -name '*.rs' | sort)
}
