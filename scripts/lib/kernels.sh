# shellcheck shell=bash
# The kernels, by name, and their facts, one file each in qemu/kernels/
# (NAME.conf): where each comes from, its config, its compiler, the
# architectures it is for. KERNEL chooses one (make KERNEL=debian,
# run-qemu.sh --kernel debian); the default is default_kernel's.

# kernel_fact NAME KEY: one fact of kernel NAME.
kernel_fact() { conf_get "$TOP/qemu/kernels/$1.conf" "$2"; }

# Every kernel, in the order of their ORDER facts.
KERNELS=$(for conf in "$TOP"/qemu/kernels/*.conf; do
	name=$(basename "$conf" .conf)
	echo "$(kernel_fact "$name" ORDER) $name"
done | sort -n | cut -d' ' -f2 | paste -sd' ')

check_kernel() { # NAME: dies unless NAME is one of $KERNELS.
	[[ " $KERNELS " == *" $1 "* ]] || die "unknown kernel '$1' ($KERNELS)"
}

# kernels_for ARCH: the kernels that are for ARCH, in order.
kernels_for() {
	local name list=()
	for name in $KERNELS; do
		[[ " $(kernel_fact "$name" ARCHES) " != *" $1 "* ]] || list+=("$name")
	done
	echo "${list[*]}"
}

# test_kernels_for ARCH: those of them that make test and make all-kernels
# take by default (IN_MAKE_TEST=yes): VARIANTS's default.
test_kernels_for() {
	local name list=()
	for name in $(kernels_for "$1"); do
		[[ $(kernel_fact "$name" IN_MAKE_TEST) != yes ]] || list+=("$name")
	done
	echo "${list[*]}"
}

# default_kernel: the kernel of the quick start: Debian's (COMPILER
# debian13) on a Debian 13 machine, where its toolchain is the system's and
# it is ready sooner than a kernel build (README.md has both measured),
# for the architectures it is for; else release.
default_kernel() {
	local name
	if [[ $(debian_toolchain_kind) == system ]]; then
		for name in $(kernels_for "$ARCH"); do
			[[ $(kernel_fact "$name" COMPILER) != debian13 ]] || {
				echo "$name"
				return
			}
		done
	fi
	echo release
}

# kernel_fragments NAME: the config fragments of kernel NAME, in order:
# for each of its FRAGMENTS, qemu/F.config, then qemu/F-ARCH.config where
# there is one.
kernel_fragments() {
	local fragment
	for fragment in $(kernel_fact "$1" FRAGMENTS); do
		echo "$TOP/qemu/$fragment.config"
		[[ ! -f $TOP/qemu/$fragment-$ARCH.config ]] || echo "$TOP/qemu/$fragment-$ARCH.config"
	done
}

# detector_fact NAME COLUMN: a fact of detector NAME from
# tests/runner/detectors.tsv: 2 its config option, 3 the start of its
# report; empty for an unknown detector.
detector_fact() {
	awk -F'\t' -v d="$1" -v c="$2" '!/^#/ && $1 == d { print $c }' "$TOP/tests/runner/detectors.tsv"
}

# exercise_kernel NAME: the kernel exercise NAME runs on, as its
# exercise.conf says (KERNEL=debug), release by default.
exercise_kernel() {
	local kernel
	kernel=$(sed -n 's/^KERNEL=//p' "$TOP/exercises/$1/exercise.conf" 2>/dev/null)
	echo "${kernel:-release}"
}
