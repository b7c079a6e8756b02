#!/usr/bin/env bash
# `make bench`: measures both drivers against a pipe in the release VM and
# writes build/bench/bench.json, a results table and two charts.
#
#   scripts/bench.sh                   the full run (about 2 minutes under TCG)
#   scripts/bench.sh --quick           a smoke test (2 short repetitions)
#   scripts/bench.sh --reps 5 --sample-ms 300    arguments for sample-bench
#
# Steps: install python3-matplotlib if it is missing (for the charts); time a
# cached `make`; build the guest program sample-bench (tests/suite,
# src/bin/sample-bench.rs); boot the release kernel with it
# (run-qemu.sh --add) and run it; take the JSON it prints between its marker
# lines from the console; add the host's facts (module sizes, source lines,
# `unsafe` blocks, boot and build times, KVM or TCG) and hand everything to
# scripts/bench_report.py, which writes build/bench/bench.json, results.md
# and the charts, copies the charts to docs/img/ and refreshes the results
# block of docs/performance.md.
#
# Environment: BENCH_TIMEOUT (seconds for the VM, default 420),
# BENCH_MAKE_TIMING=0 (skip the timed cached `make`), NO_INSTALL=1 (do not
# install matplotlib: no charts).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

bench_args=("$@")
for arg in "${bench_args[@]}"; do
	[[ $arg =~ ^[A-Za-z0-9_-]+$ ]] || die "bench.sh: unexpected argument '$arg' (see the top of $0)"
done
out=$BUILD_DIR/bench
mkdir -p "$out"
# The Debian package installs matplotlib for the system's Python.
python=/usr/bin/python3

# --- 1. matplotlib, for the charts. ------------------------------------------
if ! "$python" -c 'import matplotlib' 2>/dev/null; then
	if [[ -n ${NO_INSTALL:-} ]]; then
		say "python3-matplotlib is missing and NO_INSTALL is set: no charts"
	else
		say "installing python3-matplotlib (Debian package) for the charts"
		sudo=()
		((EUID == 0)) || sudo=(sudo)
		export DEBIAN_FRONTEND=noninteractive
		if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends python3-matplotlib >"$out/apt.log" 2>&1; then
			"${sudo[@]}" apt-get update -q >>"$out/apt.log" 2>&1 || true
			"${sudo[@]}" apt-get install -y -q --no-install-recommends python3-matplotlib >>"$out/apt.log" 2>&1 ||
				die "installing python3-matplotlib failed; see $out/apt.log"
		fi
	fi
fi
[[ -x $python ]] || die "$python is missing: apt-get install python3"

# --- 2. A cached `make`, timed. ------------------------------------------------
cached_s=null
if [[ ${BENCH_MAKE_TIMING:-1} != 0 ]]; then
	say "timing a cached 'make' (everything is built already)"
	start=$(date +%s%N)
	"${MAKE:-make}" -s -C "$TOP" all 2>"$out/make-cached.log" ||
		die "make failed; see $out/make-cached.log"
	cached_s=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
fi

# --- 3. The guest program. ---------------------------------------------------
say "building sample-bench"
cargo build --quiet --release --locked --target x86_64-unknown-linux-musl \
	--manifest-path "$TOP/tests/suite/Cargo.toml" --target-dir "$BUILD_DIR/cargo" --bin sample-bench
mkdir -p "$BUILD_DIR/tools"
cp "$BUILD_DIR/cargo/x86_64-unknown-linux-musl/release/sample-bench" "$BUILD_DIR/tools/"

# --- 4. The run. ---------------------------------------------------------------
say "running sample-bench ${bench_args[*]} in the release VM (its progress follows)"
loadavg=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s%N)
set +e
"$TOP/scripts/run-qemu.sh" --timeout "${BENCH_TIMEOUT:-420}" \
	--add "$BUILD_DIR/tools/sample-bench:/usr/bin/sample-bench" \
	--exec "sample-bench ${bench_args[*]}" 2>"$out/runner.log" |
	tee "$out/console.log" | tr -d '\r' | grep --line-buffered -a '^sample-bench: ' >&2
status=${PIPESTATUS[0]}
set -e
vm_wall_s=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
tr -d '\r' <"$out/console.log" >"$out/console.txt"
if ((status != 0)); then
	cat "$out/runner.log" >&2
	tail -n 30 "$out/console.txt" >&2
	die "the benchmark VM failed (status $status); console in $out/console.txt"
fi

# KVM or TCG: run-qemu.sh says which on stderr.
accel=$(grep -o -E 'booting the [a-z]+ kernel \((kvm|tcg)' "$out/runner.log" | grep -o -E '(kvm|tcg)$' || true)
accel=${accel:-unknown}

# The guest's JSON, without any kernel message that slipped in between.
sed -n '/^SAMPLE-BENCH-JSON-BEGIN$/,/^SAMPLE-BENCH-JSON-END$/p' "$out/console.txt" |
	sed '1d;$d' | grep -v -E '^\[ *[0-9]+\.[0-9]+\] ' >"$out/guest.json" || true
[[ -s $out/guest.json ]] || die "no JSON between the markers in $out/console.txt"

# Guest seconds at which the kernel started /init (printk timestamps).
run_init_s=$(sed -n -E 's/^\[ *([0-9]+\.[0-9]+)\] Run \/init as init process.*/\1/p' "$out/console.txt" | head -n1)

# --- 5. Host facts: modules, sources, build times. ------------------------------
sizer=llvm-size$LLVM
command -v "$sizer" >/dev/null || sizer=size
# size_json KO: {"text": N, "data": N, "bss": N} (Berkeley format).
size_json() {
	"$sizer" "$1" | awk 'NR == 2 { printf "{\"text\": %d, \"data\": %d, \"bss\": %d}", $1, $2, $3 }'
}
# Lines that are neither blank nor only a comment.
code_lines() {
	cat "$@" | grep -c -v -E '^\s*($|//|/\*|\*)'
}
# `unsafe { ... }` blocks outside comments.
unsafe_blocks() {
	cat "$@" | grep -v -E '^\s*//' | grep -o -E '\bunsafe\s*\{' | wc -l
}
rust_src=("$TOP/rust_sample.rs" "$TOP/src/ring.rs")
c_src=("$TOP/src/c_sample.c")
rust_ko=$BUILD_DIR/release/rust_sample.ko
c_ko=$BUILD_DIR/release/src/c_sample.ko
[[ -f $rust_ko && -f $c_ko ]] || die "the release modules are missing: run 'make' first"
# The KUnit tests at the end of src/ring.rs, counted apart.
ring_test_lines=$(awk '/^#\[kunit_tests/ { found = 1 } found { n++ } END { print n + 0 }' "$TOP/src/ring.rs")

# Cold kernel builds: how long each cached kernel took, from its cache entry
# (build.log is created first, .complete touched last).
cold_json=
for variant in release debug; do
	kdir=$(readlink -f "$BUILD_DIR/$variant/kdir" 2>/dev/null) || continue
	[[ -f $kdir/.complete && -f $kdir/build.log ]] || continue
	born=$(stat -c %W "$kdir/build.log")
	((born > 0)) || continue
	secs=$(($(stat -c %Y "$kdir/.complete") - born))
	cold_json+="${cold_json:+, }\"kernel $variant\": {\"seconds\": $secs, \"cache_entry\": \"$(basename "$kdir")\"}"
done
# The cached run's stage lines: [name      ]   Ns  what.
stages_json=$(sed -n -E 's/^\[([^]]*[^] ]) *\] +([0-9]+)s +(.*)$/"\1": \2/p' "$out/make-cached.log" 2>/dev/null | paste -sd, - || true)

cpu_model=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1 | tr -d '\042\134')
qemu_version=$(qemu-system-x86_64 --version | head -n1 | tr -d '\042\134')
cat >"$out/host.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "accel": "$accel",
  "cpu_model": "$cpu_model",
  "host_cpus": $(nproc),
  "loadavg_at_start": $loadavg,
  "qemu": "$qemu_version",
  "rustc": "$(rustc --version)",
  "bench_args": "${bench_args[*]}",
  "boot": {"run_init_s": ${run_init_s:-null}, "vm_wall_s": $vm_wall_s,
           "note": "run_init_s: guest printk time of 'Run /init as init process'; vm_wall_s: the whole run-qemu.sh call, boot and benchmark"},
  "make": {"cached_s": $cached_s, "cached_stages_s": {$stages_json},
           "cold_kernels": {$cold_json},
           "cold_source": "from the kernel cache entries' timestamps: build.log created to .complete touched"},
  "modules": {
    "rust_sample": {"ko": "build/release/rust_sample.ko", "size": $(size_json "$rust_ko"),
                    "sources": ["rust_sample.rs", "src/ring.rs"],
                    "lines": $(cat "${rust_src[@]}" | wc -l), "code_lines": $(code_lines "${rust_src[@]}"),
                    "kunit_test_lines_in_ring_rs": $ring_test_lines,
                    "unsafe_blocks": $(unsafe_blocks "${rust_src[@]}")},
    "c_sample": {"ko": "build/release/src/c_sample.ko", "size": $(size_json "$c_ko"),
                 "sources": ["src/c_sample.c"],
                 "lines": $(cat "${c_src[@]}" | wc -l), "code_lines": $(code_lines "${c_src[@]}")},
    "size_tool": "$sizer"
  }
}
EOF

# --- 6. Report. ------------------------------------------------------------------
"$python" "$TOP/scripts/bench_report.py" "$out/guest.json" "$out/host.json" "$out" --docs "$TOP/docs"
echo
case $accel in
kvm) echo "The guest ran under KVM." ;;
*)
	echo "WARNING: the guest ran under ${accel^^} (software emulation, no KVM): the absolute"
	echo "figures say little about real hardware; read them only as ratios."
	;;
esac
echo "results: $out/bench.json"
