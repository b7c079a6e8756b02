#!/usr/bin/env bash
# Puts a pristine Linux source tree in the cache and prints its path.
#
# Where the source comes from, first match wins:
#   1. KERNEL_SRC=/path/to/tree or KERNEL_SRC=/path/to/linux-*.tar.{xz,gz}
#   2. kernel.org's tarball, checked against kernel.org's sha256sums.asc
#   3. Debian's linux-source-$KERNEL_VERSION package (trixie-backports),
#      fetched with a private apt configuration: the system's own apt sources
#      are never touched.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/../lib/lib.sh"

src_root=$CACHE_DIR/src
mkdir -p "$src_root"

# A tree given by the user is used in place, as it is.
if [[ -n ${KERNEL_SRC:-} && -d ${KERNEL_SRC:-} ]]; then
	[[ -f $KERNEL_SRC/Makefile && -d $KERNEL_SRC/rust/kernel ]] ||
		die "KERNEL_SRC=$KERNEL_SRC is not a Linux source tree with Rust support"
	cd "$KERNEL_SRC" && pwd
	exit 0
fi

unpack() { # TARBALL NAME: unpack into $src_root/NAME, atomically.
	local tarball=$1 name=$2 tmp
	tmp=$(mktemp -d -p "$src_root")
	say "unpacking $(basename "$tarball")"
	tar -xf "$tarball" -C "$tmp"
	# The tarball holds one top directory; whatever it is called, it becomes NAME.
	mv "$tmp"/*/ "$tmp/tree"
	# Record what the tree was made from, for the kernel build cache's key.
	echo "$(basename "$tarball") $(sha256sum <"$tarball" | cut -c1-64)" >"$tmp/tree/.sample-source-id"
	mv "$tmp/tree" "$src_root/$name"
	rmdir "$tmp"
}

if [[ -n ${KERNEL_SRC:-} ]]; then
	[[ -f $KERNEL_SRC ]] || die "KERNEL_SRC=$KERNEL_SRC: no such file or directory"
	name=user-$(sha256sum "$KERNEL_SRC" | cut -c1-16)
	[[ -d $src_root/$name ]] || unpack "$KERNEL_SRC" "$name"
	echo "$src_root/$name"
	exit 0
fi

# Already fetched by an earlier run or another clone?
for name in "kernel.org-$KERNEL_VERSION" "debian-$KERNEL_VERSION"; do
	if [[ -f $src_root/$name/Makefile ]]; then
		echo "$src_root/$name"
		exit 0
	fi
done

dl=$CACHE_DIR/downloads
mkdir -p "$dl"

# 2. kernel.org, when it answers within a few seconds.
major=${KERNEL_VERSION%%.*}
base=https://cdn.kernel.org/pub/linux/kernel/v$major.x
tarball=linux-$KERNEL_VERSION.tar.xz
if curl -fsS --connect-timeout 5 -o "$dl/sha256sums.asc" "$base/sha256sums.asc" 2>/dev/null; then
	say "fetching $tarball from kernel.org"
	curl -fS --connect-timeout 10 -o "$dl/$tarball" "$base/$tarball"
	want=$(awk -v f="$tarball" '$2 == f { print $1 }' "$dl/sha256sums.asc")
	[[ -n $want ]] || die "kernel.org's sha256sums.asc does not list $tarball"
	echo "$want  $dl/$tarball" | sha256sum -c --quiet ||
		die "$tarball does not match kernel.org's sha256"
	unpack "$dl/$tarball" "kernel.org-$KERNEL_VERSION"
	echo "$src_root/kernel.org-$KERNEL_VERSION"
	exit 0
fi
say "kernel.org is not reachable; using Debian's linux-source-$KERNEL_VERSION"

# 3. Debian's package, through a private apt configuration (lib/apt.sh).
say "apt-get update (private config, trixie-backports)"
private_apt "" update -qq >/dev/null
# apt-get prints its progress on stdout, which is this script's answer: keep
# it on stderr.
(cd "$dl" && private_apt "" download "linux-source-$KERNEL_VERSION") >&2
debs=("$dl"/linux-source-"$KERNEL_VERSION"_*.deb)
deb=${debs[-1]}
[[ -f $deb ]] || die "could not download linux-source-$KERNEL_VERSION"

# The .deb carries /usr/src/linux-source-X.Y.tar.xz; take it out without dpkg -i.
ex=$(mktemp -d -p "$dl")
dpkg-deb -x "$deb" "$ex"
inner=$(find "$ex/usr/src" -maxdepth 1 -name "linux-source-$KERNEL_VERSION.tar.*" | head -n1)
[[ -f $inner ]] || die "$(basename "$deb") holds no linux-source-$KERNEL_VERSION tarball"
unpack "$inner" "debian-$KERNEL_VERSION"
rm -rf "$ex"
echo "$src_root/debian-$KERNEL_VERSION"
