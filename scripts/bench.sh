#!/usr/bin/env bash
# `make bench`: both drivers against each other and against a pipe, in the
# release VM, and where Rust's extra instructions go (docs/performance.md).
#
#   make bench                     the instruction clock under TCG (KVM: wall)
#   make bench BENCH_CLOCK=wall    the wall clock instead
#   make bench PUBLISH=1           both clocks; refresh docs/performance.md
#                                  and docs/img/ (commit the result)
#   make bench BENCH_ARGS='--reps 5 --sample-ms 100'   sample-bench's options
#   make bench ARCH=arm64          the same for arm64: the ratios (there is no
#                                  price list; PUBLISH is x86_64's)
#
# Steps: gdb and matplotlib (build/install-deps.sh bench); the guest program
# sample-bench (tests/suite/src/bin/sample-bench.rs); two VM boots that
# measure (one vCPU, then two; run-qemu.sh --icount, or the wall clock);
# one boot on the
# instruction clock that single-steps each driver's operations through
# QEMU's gdb stub (scripts/bench/bench_trace.py, the price list); then
# scripts/bench/bench_report.py, which writes build/bench/: bench.json,
# results.md and the charts.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

bench_args=("$@")
for arg in "${bench_args[@]}"; do
	[[ $arg =~ ^[A-Za-z0-9_-]+$ ]] || die "bench.sh: unexpected argument '$arg' (see the top of $0)"
done
out=$BUILD_DIR/bench
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.png "$out"/*.txt

# --- 1. Tools and the guest program. -----------------------------------------
# The published figures are x86_64's; the price list single-steps x86 code.
# (PRICE_LIST in qemu/arch/ARCH.conf).
[[ -z ${PUBLISH:-} || $PRICE_LIST == yes ]] || die "PUBLISH=1: docs/performance.md publishes the figures of an architecture with a price list; run make bench ARCH=$ARCH without it"
trace=0
[[ $PRICE_LIST != yes ]] || trace=1
"$TOP/scripts/build/install-deps.sh" bench
# The figures are the release kernel's (built here first on a machine whose
# quick start took Debian's).
"$TOP/scripts/build.sh" need release "make bench"
((trace == 0)) || command -v gdb >/dev/null || die "gdb is missing (NO_INSTALL is set?): apt-get install gdb"
say "building sample-bench ($ARCH)"
cargo build --quiet --release --locked --target "$RUST_TARGET" \
	--manifest-path "$TOP/tests/suite/Cargo.toml" --target-dir "$BUILD_DIR/cargo" --bin sample-bench
sample_bench=$BUILD_DIR/cargo/$RUST_TARGET/release/sample-bench

# --- 2. Which clocks. ----------------------------------------------------------
# The instruction clock exists under TCG only; under KVM time is the CPU's.
# It is exact, so three short samples per figure are enough; the wall clock
# needs more and longer ones to see through the noise.
accel=$("$TOP/scripts/run-qemu.sh" --kernel release --print-accel)
clock=$BENCH_CLOCK
[[ $clock =~ ^(instructions|wall)$ ]] || die "BENCH_CLOCK must be instructions or wall, not '$clock'"
if [[ $accel == kvm && $clock == instructions ]]; then
	say "KVM: the guest runs on the real CPU, so the clock is the wall clock"
	clock=wall
fi
clocks=("$clock")
[[ -z ${PUBLISH:-} || $clock == wall ]] || clocks+=(wall)

# measure CLOCK: two boots that run sample-bench; their consoles in $out.
# On the instruction clock one vCPU gives the same count to the instruction
# whatever the host does; two vCPUs take turns at moments the host's load
# decides, so the two-CPU streaming has a boot, and a JSON block, of its own.
measure() {
	local clock=$1 opts=() args=("${bench_args[@]}") cpus status
	if [[ $clock == instructions ]]; then
		opts=(--icount)
	elif ((${#args[@]} == 0)); then
		args=(--reps 7 --sample-ms 300)
	fi
	for cpus in 1 2; do
		local run=sample-bench
		((cpus == 1)) || run+=" --two-cpus"
		say "measuring on the $clock clock, $cpus vCPU(s): $run ${args[*]} (its progress follows)"
		set +e
		"$TOP/scripts/run-qemu.sh" --kernel release "${opts[@]}" --smp "$cpus" --timeout 600 \
			--add "$sample_bench:/usr/bin/sample-bench" --exec "$run ${args[*]}" \
			2>"$out/runner-$clock-$cpus.txt" | tr -d '\r' | tee "$out/console-$clock-$cpus.txt" |
			grep --line-buffered -a '^sample-bench: ' >&2
		status=${PIPESTATUS[0]}
		set -e
		((status == 0)) || {
			cat "$out/runner-$clock-$cpus.txt" >&2
			die "the benchmark VM failed (status $status); console in $out/console-$clock-$cpus.txt"
		}
	done
}
for c in "${clocks[@]}"; do
	measure "$c"
done

# --- 3. The price list: each operation single-stepped (x86_64). -------------
price_list() {
	say "counting each function's instructions: gdb single-steps one of each operation"
	port=$((20000 + RANDOM % 10000))
	GDB_PORT=$port "$TOP/scripts/run-qemu.sh" --kernel release --icount --smp 1 --gdb --timeout 300 \
		--add "$sample_bench:/usr/bin/sample-bench" --exec 'sample-bench --trace' \
		>"$out/console-trace.txt" 2>"$out/runner-trace.txt" &
	vm=$!
	for _ in $(seq 100); do
		grep -q 'waiting for gdb' "$out/runner-trace.txt" 2>/dev/null && break
		sleep 0.1
	done
	gdb -q -batch -nx "$BUILD_DIR/release/kdir/vmlinux" -ex "python TRACE_OUT = '$out/trace.json'" \
		-ex "target remote localhost:$port" -x "$TOP/scripts/bench/bench_trace.py" >"$out/gdb.txt" 2>&1 || {
		kill "$vm" 2>/dev/null || true
		tail -n 20 "$out/gdb.txt" >&2
		die "the instruction trace failed; see $out/gdb.txt"
	}
	wait "$vm" || die "the trace VM failed; see $out/runner-trace.txt and $out/console-trace.txt"
	tr -d '\r' <"$out/console-trace.txt" | grep -a '^SAMPLE-BENCH-SYM ' >"$out/module-symbols.txt"
}
if ((trace)); then
	price_list
else
	say "no price list on $ARCH: the single-step trace (scripts/bench/bench_trace.py) reads x86_64's registers"
fi

# --- 4. Facts about the host and the modules, then the report. --------------
facts=$out/host.txt
{
	echo "arch $ARCH"
	echo "accel $accel"
	echo "qemu $("$QEMU_SYSTEM" --version | head -n1)"
	echo "icount_cpu $ICOUNT_CPU"
	echo "host_cpu $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
	echo "host_cpus $(nproc)"
	echo "loadavg $(cut -d' ' -f1 /proc/loadavg)"
	echo "rustc $(rustc --version)"
	echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$facts"
python=/usr/bin/python3
"$python" "$TOP/scripts/bench/bench_report.py" --out "$out" --clocks "${clocks[*]}" \
	--vmlinux "$BUILD_DIR/release/kdir/vmlinux" --nm "llvm-nm$LLVM" --objdump "llvm-objdump$LLVM" \
	--rust-ko "$BUILD_DIR/release/rust_sample.ko" --c-ko "$BUILD_DIR/release/src/c_sample.ko" \
	${PUBLISH:+--publish "$TOP/docs"}
echo "results: $out/bench.json, $out/results.md"
