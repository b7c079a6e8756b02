# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# The target architecture: ARCH, spelt as the kernel spells it (x86_64 or
# arm64), and its facts, read once from qemu/arch/ARCH.conf: the kernel
# image, QEMU, the console, the CPU models, the Rust target, Debian's name
# for it, ... Adding an architecture is one new file there, plus code only
# where its behaviour differs.

# conf_read FILE [PREFIX]: each KEY=value line of FILE (a data file)
# becomes the variable PREFIXKEY; quotes around a value are dropped.
conf_read() {
	local file=$1 prefix=${2:-} line key value
	[[ -f $file ]] || die "$file is missing"
	while IFS= read -r line || [[ -n $line ]]; do
		[[ $line =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] || continue
		key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
		[[ $value =~ ^\'(.*)\'$ || $value =~ ^\"(.*)\"$ ]] && value=${BASH_REMATCH[1]}
		printf -v "$prefix$key" '%s' "$value"
	done <"$file"
}

# conf_get FILE KEY: the one value of KEY in FILE (empty if none).
conf_get() {
	local value
	value=$(sed -n "s/^$2=//p" "$1")
	[[ $value =~ ^\'(.*)\'$ || $value =~ ^\"(.*)\"$ ]] && value=${BASH_REMATCH[1]}
	echo "$value"
}

# arch_name NAME: the architecture NAME stands for (x86_64 for x86, amd64
# or x86_64; arm64 for aarch64), by the ALIASES and UNAME_M of the files.
arch_name() {
	local file name
	for file in "$TOP"/qemu/arch/*.conf; do
		name=$(basename "$file" .conf)
		if [[ " $name $(conf_get "$file" ALIASES) $(conf_get "$file" UNAME_M) " == *" $1 "* ]]; then
			echo "$name"
			return
		fi
	done
	return 1
}
arch_names() {
	local file names=()
	for file in "$TOP"/qemu/arch/*.conf; do names+=("$(basename "$file" .conf)"); done
	echo "${names[*]}"
}

# This machine's architecture, and the target's: ARCH (a setting), else
# this machine's, so that a plain `make` on an ARM laptop builds for arm64.
HOST_ARCH=$(arch_name "$(uname -m)") || HOST_ARCH=$(uname -m)
wanted_arch=${ARCH:-$HOST_ARCH}
ARCH=$(arch_name "$wanted_arch") || die "ARCH=$wanted_arch: this sample is for $(arch_names)"
unset wanted_arch
conf_read "$TOP/qemu/arch/$ARCH.conf"
# ARCH goes to Kbuild too (the kernel's own variable).
export ARCH

# Per-clone build output (modules, initramfs, test tools, logs), one
# directory per architecture.
BUILD_DIR=$TOP/build/$ARCH

# The C compiler for the static helpers that run in the guest: cc on this
# machine's own architecture, Debian's cross gcc from another.
GUEST_CC=cc
[[ $ARCH == "$HOST_ARCH" ]] || GUEST_CC=$GNU_TRIPLET-gcc
# The linker of the suite's static musl binary, for cargo, where the
# architecture names one (rustup's own lld links it from any host).
if [[ -n $RUST_LINKER ]]; then
	rust_target_var=${RUST_TARGET^^}
	export "CARGO_TARGET_${rust_target_var//-/_}_LINKER=$RUST_LINKER"
	unset rust_target_var
fi

# The guest's userland, a static busybox: Debian's busybox-static installs
# one in /bin for this machine's own architecture; for another one,
# install-deps.sh takes it from Debian's .deb into the cache.
if [[ $ARCH == "$HOST_ARCH" ]]; then
	BUSYBOX=/bin/busybox
else
	BUSYBOX=$CACHE_DIR/busybox/$DEB_ARCH/busybox
fi
