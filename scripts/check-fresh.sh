#!/usr/bin/env bash
# `make check-fresh`: the README's quick start on a fresh Debian machine,
# proved in a minimal chroot rather than assumed on a machine that already
# has the tools.
#
#   scripts/check-fresh.sh [SUITE...]    (default: bookworm trixie)
#   FRESH_COLD=1 scripts/check-fresh.sh  with an empty kernel cache
#
# For each Debian suite, as root on the host:
#   base     a pristine `debootstrap --variant=minbase` tree, made once and
#            reused ($CACHE_DIR/fresh/base-SUITE; FRESH_REBASE=1 remakes it)
#   copy     a scratch copy of it in $FRESH_WORK (/var/tmp/...), its root a
#            private mount point, with proc, sys and dev mounted
#   prereqs  only what README.md lists: git, make, ca-certificates, curl
#            (and sudo for the student), the host's extra certificate
#            authorities (update-ca-certificates), and rustup with the stable
#            toolchain, minimal profile, from the host's rustup binary run as
#            rustup-init
#   clone    a fresh clone of this repository's HEAD (commit first)
#   make     `make`, as the README says
#   rust, c  `./scripts/run-qemu.sh --exec 'echo hi > /dev/X; cat /dev/X'`
#            prints hi, for rust_sample and c_sample
#   host     `make test-host`: the ABI check, the runner's self-tests, lint
#   kernels  which kernel the quick start used, and that on Debian 13 it was
#            Debian's own and no kernel was built (default_kernel,
#            lib/kernels.sh)
#
# bookworm runs as a user with passwordless sudo, as most students work (so
# install-deps.sh takes its sudo path); the others run as root, as CI does.
# The host's kernel cache is bound into the chroot at that user's default
# cache path: read-only for the user (its entries must be reused from there,
# another path than where they were built), read-write for root, so that a
# suite whose clang differs (trixie) builds its kernel once and then reuses
# it. FRESH_COLD=1 binds nothing: the chroot builds its kernel from nothing.
#
# One line per step with its time, then one line per suite:
# "fresh bookworm: ok in 312 s", or the failing step and its log's last
# lines. It exits non-zero on any failure and always removes its mounts.

# The steps are functions called through step(), which ShellCheck cannot see.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

((EUID == 0)) || die "check-fresh needs root (debootstrap, chroot, mounts): sudo make check-fresh"
read -ra suites <<<"${*:-$FRESH_SUITES}"
mirror=$FRESH_MIRROR
fresh=$CACHE_DIR/fresh
# The scratch systems, outside the cache that is bound into them.
work=$FRESH_WORK
logs=$BUILD_DIR/check-fresh
mkdir -p "$fresh" "$work" "$logs"
head=$(git -C "$TOP" rev-parse HEAD)
[[ -z $(git -C "$TOP" status --porcelain --untracked-files=no) ]] ||
	say "note: uncommitted changes are not checked; the chroot clones HEAD ($(git -C "$TOP" rev-parse --short HEAD))"

if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap (Debian package): it makes the fresh systems"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >"$logs/debootstrap-install.log" 2>&1 ||
		DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$logs/debootstrap-install.log" 2>&1
	command -v debootstrap >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >>"$logs/debootstrap-install.log" 2>&1 ||
		die "could not install debootstrap; see $logs/debootstrap-install.log"
fi

root='' step_pid=''
mounts_under_root() { awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r; }
kill_chroot() { # Every process whose root directory is the scratch root.
	local p
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/root" 2>/dev/null) == "$root" ]] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	return 0
}
unmount_all() { # Every mount under the scratch root, deepest first.
	[[ -n $root ]] || return 0
	local m
	kill_chroot
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done < <(mounts_under_root)
}
remove_root() { # Deletes the scratch root, never what is mounted into it.
	unmount_all
	[[ -z $(mounts_under_root) ]] || die "still mounted under $root, not deleting it: $(mounts_under_root | tr '\n' ' ')"
	rm -rf "$root"
}
cleanup() {
	if [[ -n $step_pid ]]; then
		kill "$step_pid" 2>/dev/null || true
	fi
	unmount_all
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# step SUITE NAME CMD...: runs CMD logged, and prints one line with its
# time; on a failure it sets failed_step, and later steps do nothing. It
# is called as a plain command, never in an `if` or `&&` (where bash
# turns `set -e` off, for the whole function), so that CMD, in a
# subshell of its own with `set -e` on, stops at its first failed
# command. On an interrupt, cleanup() kills whatever runs in the chroot.
failed_step=''
declare -A step_seconds=()
step() {
	local suite=$1 name=$2 start status=0
	shift 2
	[[ -z $failed_step ]] || return 0
	local log=$logs/$suite-$name.log
	start=$(date +%s)
	("$@") >"$log" 2>&1 </dev/null &
	step_pid=$!
	wait "$step_pid" || status=$?
	step_pid=''
	step_seconds[$name]=$(($(date +%s) - start))
	printf '[%-8s %-8s] %4ss  %s\n' "$suite" "$name" "${step_seconds[$name]}" \
		"$( ((status == 0)) && echo ok || echo "FAILED (exit $status, log: $log)")"
	if ((status != 0)); then
		failed_step=$name
		tail -n 25 "$log" | sed 's/^/    /'
	fi
	return 0
}

# home_of USER: USER's home directory in the chroot.
home_of() { if [[ $1 == root ]]; then echo /root; else echo "/home/$1"; fi; }

# in_chroot USER CMD: CMD in a login shell of USER in the chroot, with a clean
# environment, as on a new machine.
in_chroot() {
	local user=$1 cmd=$2 home
	home=$(home_of "$user")
	chroot "$root" /usr/bin/env -i HOME="$home" USER="$user" LOGNAME="$user" TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/usr/sbin/runuser -u "$user" -- /bin/bash -lc "$cmd"
}

make_base() { # SUITE: the pristine minbase tree, once.
	local suite=$1 base=$fresh/base-$1
	if [[ -d $base && -z ${FRESH_REBASE:-} ]]; then
		echo "reusing $base"
		return 0
	fi
	rm -rf "$base" "$base.tmp"
	debootstrap --variant=minbase "$suite" "$base.tmp" "$mirror"
	mv "$base.tmp" "$base"
}

setup_copy() { # SUITE USER: a scratch copy of the base, mounted.
	local suite=$1 user=$2 home
	home=$(home_of "$user")
	remove_root
	cp -a "$fresh/base-$suite" "$root"
	# Its root a mount point of its own, private, as on a real machine: mounts
	# made inside (the suite's mount-namespace test) stay inside.
	mount --bind "$root" "$root"
	mount --make-private "$root"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --rbind /dev "$root/dev"
	mount --make-rslave "$root/dev"
	# What a real install has: the suite's updates and security fixes.
	cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# sudo looks its host name up.
	echo "127.0.1.1 $(hostname)" >>"$root/etc/hosts"
	if [[ $user != root ]]; then
		chroot "$root" useradd --create-home --shell /bin/bash "$user"
	fi
	if [[ -z ${FRESH_COLD:-} ]]; then
		local cache=$root$home/.cache/rust-kmod-sample
		mkdir -p "$cache" "$CACHE_DIR"
		mount --bind "$CACHE_DIR" "$cache"
		if [[ $user != root ]]; then
			mount -o remount,bind,ro "$cache"
			chroot "$root" chown "$user:$user" "$home/.cache"
		fi
	fi
}

prereqs() { # USER: the README's prerequisites, nothing more.
	local user=$1
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		/bin/sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends git make ca-certificates curl sudo'
	# This network's proxy (like a company's) signs with its own authority.
	cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
	chroot "$root" update-ca-certificates
	if [[ $user != root ]]; then
		echo "$user ALL=(ALL) NOPASSWD:ALL" >"$root/etc/sudoers.d/$user"
		chmod 0440 "$root/etc/sudoers.d/$user"
	fi
	local rustup
	rustup=$(command -v rustup) || die "the host has no rustup binary to copy in"
	install -m 0755 "$(realpath "$rustup")" "$root/usr/local/bin/rustup-init"
	in_chroot "$user" 'rustup-init -y --profile minimal --default-toolchain stable'
}

clone() { # USER
	local user=$1 home
	home=$(home_of "$user")
	git clone -q --no-local "$TOP" "$root$home/rust-kmod-sample"
	git -C "$root$home/rust-kmod-sample" checkout -q "$head"
	chroot "$root" chown -R "$user:$user" "$home/rust-kmod-sample"
}

# quick_start USER DEVICE: the README's first command prints "hi" back,
# and the runner's verdict (its exit status: 0 only when the guest's
# command succeeded and the kernel reported nothing) is a pass.
quick_start() {
	local user=$1 dev=$2 out status=0
	out=$logs/$suite-$dev.console
	in_chroot "$user" "cd ~/rust-kmod-sample && ./scripts/run-qemu.sh --timeout 300 --exec 'echo hi > /dev/$dev; cat /dev/$dev'" >"$out" 2>&1 || status=$?
	cat "$out"
	((status == 0)) || { echo "check-fresh: the runner's verdict is a failure (exit $status)"; return 1; }
	tr -d '\r' <"$out" | grep -qx hi || { echo "check-fresh: no line 'hi' came back from /dev/$dev"; return 1; }
}

# kernels_used SUITE USER: the quick start's kernel is the one default_kernel
# picks there (Debian's on Debian 13), and on Debian 13 nothing, make
# test-host included, built a kernel. Read from the stage times that make
# and make test-host wrote as data (STAGES_FILE: NAME, seconds, result).
kernels_used() {
	local suite=$1 user=$2 home kernels
	home=$root$(home_of "$user")
	kernels=$(cat "$home/stages-make.tsv" "$home/stages-host.tsv" |
		awk -F'\t' '$1 ~ /^kernel / { print $1 "\t" $3 }' | sort -u)
	echo "$kernels"
	case $suite in
	bookworm)
		grep -q -x -P 'kernel release\t(built|cached)' <<<"$kernels" ||
			{ echo "check-fresh: the quick start did not use the release kernel"; return 1; }
		;;
	*)
		grep -q -x -P 'kernel debian\t(prepared|cached)' <<<"$kernels" ||
			{ echo "check-fresh: the quick start did not use Debian's kernel"; return 1; }
		! grep -q -x -P 'kernel (release|debug)\tbuilt' <<<"$kernels" ||
			{ echo "check-fresh: a kernel was built on Debian 13"; return 1; }
		;;
	esac
}

results=()
status=0
for suite in "${suites[@]}"; do
	user=root
	[[ $suite == bookworm ]] && user=student
	root=$work/$suite
	start=$(date +%s)
	say "fresh $suite (as $user${FRESH_COLD:+, cold kernel cache}; commit ${head:0:7})"
	failed_step=''
	step "$suite" base make_base "$suite"
	step "$suite" copy setup_copy "$suite" "$user"
	step "$suite" prereqs prereqs "$user"
	step "$suite" clone clone "$user"
	step "$suite" make in_chroot "$user" 'cd ~/rust-kmod-sample && STAGES_FILE=~/stages-make.tsv make'
	step "$suite" rust quick_start "$user" rust_sample
	step "$suite" c quick_start "$user" c_sample
	step "$suite" host in_chroot "$user" 'cd ~/rust-kmod-sample && STAGES_FILE=~/stages-host.tsv make test-host'
	step "$suite" kernels kernels_used "$suite" "$user"
	if [[ -z $failed_step ]]; then
		results+=("fresh $suite: ok in $(($(date +%s) - start)) s (make and the first VM run, the quick start: $((step_seconds[make] + step_seconds[rust])) s)")
		# The stage times of `make`, for the README's timings.
		sed "s/^/    $suite make: /" "$root$(home_of "$user")/stages-make.tsv"
		remove_root
	else
		results+=("fresh $suite: FAILED at step '$failed_step' after $(($(date +%s) - start)) s (log: $logs/$suite-$failed_step.log; the chroot is kept in $root)")
		unmount_all
		status=1
	fi
done
printf '%s\n' "${results[@]}"
exit "$status"
