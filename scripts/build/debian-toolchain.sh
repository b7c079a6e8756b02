#!/usr/bin/env bash
# Makes sure Debian 13's own toolchain is there to build modules for
# Debian's kernel, and prints where it is: "/" for this machine's own
# packages, or the path of a Debian 13 root that this script made.
#
#   scripts/build/debian-toolchain.sh     (build.sh, for KERNEL=debian)
#
# Why Debian 13's: a module must be built by the compilers that built its
# kernel. Debian's Rust-enabled 7.3 kernel (trixie-backports) was built
# with gcc-14, Debian's rustc 1.85.1, bindgen 0.71.1 and pahole 1.30, all
# from trixie. Older ones do not fail loudly: Debian 12's gcc-12 gives
# another .config, with a different struct layout (debian-kernel.sh
# checks this). So:
#
#   Debian 13 or later   the system's packages, installed like every other
#                        tool (install-deps.sh, before this)
#   anything else        a minimal Debian 13 root made with debootstrap
#                        (root, or sudo), once, in the cache, keyed by its
#                        package list; debian_toolchain_run (lib/debian.sh) runs
#                        commands in it. DEBIAN_TOOLCHAIN=system uses this
#                        machine's own tools anyway (the checks still run).
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/../lib/lib.sh"

if [[ $(debian_toolchain_kind) == system ]]; then
	echo /
	exit 0
fi

# The root's recipe: these packages on a minbase trixie. Its name is a hash
# of the recipe, so a changed list makes a new root.
root=$(debian_toolchain_dir)
log=$root.log
if [[ -f $root/.complete ]]; then
	echo "$root"
	exit 0
fi

sudo=()
((EUID == 0)) || sudo=(sudo)
if ! command -v debootstrap >/dev/null; then
	say "missing debootstrap: makes the Debian 13 root that holds the toolchain of Debian's kernel"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 ||
		die "could not install debootstrap"
fi

start=$(date +%s)
say "making a Debian 13 root with the toolchain of Debian's kernel (gcc-14, rustc, bindgen, pahole), once: about 3 minutes, into $root"
mkdir -p "$CACHE_DIR/roots"
"${sudo[@]}" rm -rf "$root.tmp"
packages=$(
	IFS=,
	echo "${DEBIAN_TOOLCHAIN_PACKAGES[*]}"
)
if ! "${sudo[@]}" debootstrap --variant=minbase --include="$packages" trixie "$root.tmp" "$DEBIAN_MIRROR" >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	die "debootstrap of the Debian 13 root failed (log: $log)"
fi
# Only the toolchain is used from it; the apt lists and package files
# are not.
"${sudo[@]}" rm -rf "$root.tmp/var/cache/apt/archives/"*.deb "$root.tmp/var/lib/apt/lists/"*_Packages
"${sudo[@]}" touch "$root.tmp/.complete"
"${sudo[@]}" mv "$root.tmp" "$root"
# Older roots of other recipes.
for old in "$CACHE_DIR"/roots/trixie-*; do
	[[ $old == "$root" || $old == *.log ]] || "${sudo[@]}" rm -rf "$old"
done
stage_done "debian toolchain" "$start" made "$root"
echo "$root"
