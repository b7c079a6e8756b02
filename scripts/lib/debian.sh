# shellcheck shell=bash
# Debian 13's toolchain, which builds modules for Debian's kernel
# (KERNEL=debian): the system's own on Debian 13, else a Debian 13 root in
# the cache, made by scripts/build/debian-toolchain.sh.

# debian_toolchain_kind: "system" when this machine's own packages are
# Debian 13's (or DEBIAN_TOOLCHAIN=system), else "root": a Debian 13 root
# made by debian-toolchain.sh.
debian_toolchain_kind() {
	local id version
	if [[ -n ${DEBIAN_TOOLCHAIN:-} ]]; then
		[[ $DEBIAN_TOOLCHAIN =~ ^(system|root)$ ]] || die "DEBIAN_TOOLCHAIN is system or root, not '$DEBIAN_TOOLCHAIN'"
		echo "$DEBIAN_TOOLCHAIN"
		return
	fi
	# The system's name and version, from os-release (ID=debian, VERSION_ID="13").
	id=$(sed -n 's/^ID=//p' /etc/os-release 2>/dev/null | tr -d '"')
	version=$(sed -n 's/^VERSION_ID=//p' /etc/os-release 2>/dev/null | tr -d '"')
	version=${version%%.*}
	if [[ $id == debian && ${version:-0} -ge 13 ]]; then echo system; else echo root; fi
}

# debian_toolchain_dir: where Debian 13's toolchain is: / for the system's,
# else the root that debian-toolchain.sh makes, named by a hash of its
# package list and mirror (it may not exist yet).
# The packages are a fact of Debian's kernel (qemu/kernels/debian.conf).
read -ra DEBIAN_TOOLCHAIN_PACKAGES <<<"$(kernel_fact debian DEBIAN_TOOLCHAIN_PACKAGES)"
debian_toolchain_dir() {
	if [[ $(debian_toolchain_kind) == system ]]; then
		echo /
	else
		echo "$CACHE_DIR/roots/trixie-$(printf '%s\n' "${DEBIAN_TOOLCHAIN_PACKAGES[@]}" "$DEBIAN_MIRROR" | sha256sum | cut -c1-12)"
	fi
}

# debian_toolchain_run ROOT CMD...: CMD with Debian 13's toolchain: here
# when ROOT is /, else chrooted into ROOT, in a mount namespace of its own
# (gone when CMD ends) where this clone, its build directory and the cache
# are at the same paths as outside. CMD runs as the calling user, with a
# clean environment but for RUSTC_FORCE_RUSTC_VERSION (debian-kernel.sh).
debian_toolchain_run() {
	local root=$1
	shift
	if [[ $root == / ]]; then
		"$@"
		return
	fi
	local sudo=() dirs=("$TOP" "$CACHE_DIR")
	((EUID == 0)) || sudo=(sudo)
	[[ $BUILD_DIR == "$TOP"/* ]] || dirs+=("$BUILD_DIR")
	# shellcheck disable=SC2016 # the script's own $1.. expand inside it
	"${sudo[@]}" unshare --mount --propagation private /bin/bash -euc '
		root=$1 user=$2 force=$3 n=$4
		shift 4
		for ((i = 0; i < n; i++)); do
			mkdir -p "$root$1"
			mount --rbind "$1" "$root$1"
			shift
		done
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		exec chroot --userspec="$user" "$root" /usr/bin/env -i HOME=/tmp LANG=C.UTF-8 \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin ${force:+RUSTC_FORCE_RUSTC_VERSION="$force"} "$@"
	' _ "$root" "$(id -u):$(id -g)" "${RUSTC_FORCE_RUSTC_VERSION:-}" "${#dirs[@]}" "${dirs[@]}" "$@"
}

