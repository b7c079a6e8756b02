#!/usr/bin/env bash
# Builds one workshop exercise and checks it in the VM.
#
#   scripts/exercise.sh NAME [--solution]    (make exercise N=NAME [SOLUTION=1])
#   scripts/exercise.sh NAME [--solution] --build-only   build, no VM
#   scripts/exercise.sh NAME --kernel release ...   against that kernel instead
#                                          (make lint: no debug kernel needed)
#   scripts/exercise.sh --list
#
# The module(s) are built from exercises/NAME, the starting point that you
# edit, or with --solution from exercises/NAME with exercises/solutions/NAME
# laid over it. The copy is built in build/exercises/NAME/{start,solution}
# against the kernel that exercises/NAME/exercise.conf names (release unless
# it says KERNEL=debug). Then the VM boots without the sample modules, with
# the exercise's .ko files, its check.sh and its check helper (check-helper.c,
# built static on the host, for $ARCH: lib/arch.sh's GUEST_CC) in /root, and
# runs `sh /root/check.sh`, which
# prints PASS or FAIL with a hint. Exit status: 0 PASS; 1 FAIL (a module
# does not compile, the check failed, the kernel reported a problem or the
# VM timed out); 125 neither: this script or the runner failed, which says
# nothing about the exercise (2: bad usage).
#
# An exercise directory holds either one Kbuild module (a Kbuild file at its
# top) or several, one per subdirectory with a Kbuild file (e.g. c/ and
# rust/). A module that does not compile is a FAIL; the others are still
# checked, so that you see every problem at once.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-0}"
}

exercises=$TOP/exercises
list() {
	local d
	for d in "$exercises"/*/; do
		d=${d%/}
		[[ -f $d/check.sh ]] && basename "$d"
	done
}

# An exit that is not a verdict on the exercise (a die, a failed command
# under set -e) is this script's own failure; bad usage is 2.
decided=0
# shellcheck disable=SC2317 # a trap
on_exit() {
	local status=$?
	((decided)) || exit $((status == 2 ? 2 : 125))
	exit "$status"
}
trap on_exit EXIT
# result 0|1 MESSAGE: the verdict on the exercise.
result() {
	echo "$2"
	decided=1
	exit "$1"
}

name='' solution=0 build_only=0 kernel_arg=''
while (($#)); do
	case $1 in
	--solution) solution=1 ;;
	--kernel)
		kernel_arg=${2?--kernel needs release, debug or debian}
		check_kernel "$kernel_arg"
		shift
		;;
	--build-only) build_only=1 ;;
	--list)
		list
		decided=1
		exit 0
		;;
	-h | --help)
		decided=1
		usage 0
		;;
	-*)
		echo "exercise.sh: unknown option '$1'" >&2
		usage 2 >&2
		;;
	*)
		[[ -z $name ]] || die "one exercise at a time ('$name' and '$1')"
		name=$1
		;;
	esac
	shift
done
if [[ -z $name ]]; then
	echo "usage: scripts/exercise.sh NAME [--solution]; the exercises:" >&2
	list | sed 's/^/  /' >&2
	exit 2
fi
dir=$exercises/$name
if [[ $name == solutions || $name == */* || ! -f $dir/check.sh ]]; then
	echo "exercise.sh: no exercise '$name'; the exercises are:" >&2
	list | sed 's/^/  /' >&2
	exit 2
fi

kernel=${kernel_arg:-$(exercise_kernel "$name")}
"$TOP/scripts/build.sh" need "$kernel" "exercise $name"
kdir=$BUILD_DIR/$kernel/kdir

what=start
((solution)) && what=solution
stage=$BUILD_DIR/exercises/$name/$what
rm -rf "$stage"
mkdir -p "$stage"
cp -r "$dir/." "$stage/src"
if ((solution)); then
	[[ -d $exercises/solutions/$name ]] || die "no solution for '$name' in exercises/solutions/$name"
	cp -r "$exercises/solutions/$name/." "$stage/src/"
fi

# --- Build. -----------------------------------------------------------------
say "building exercise '$name' ($what) against the $kernel kernel"
module_dirs=()
if [[ -f $stage/src/Kbuild ]]; then
	module_dirs=("$stage/src")
else
	for d in "$stage"/src/*/; do
		[[ -f $d/Kbuild ]] && module_dirs+=("${d%/}")
	done
fi
((${#module_dirs[@]})) || die "exercise '$name' has no Kbuild file"

adds=()
build_failed=0
: >"$stage/build.log"
for m in "${module_dirs[@]}"; do
	rel=${m#"$stage/src"}
	rel=exercises/$name${rel}
	log=$stage/build-$(basename "$m").log
	# CLIPPY=1: clippy checks the Rust code as it compiles, as for the sample.
	if kbuild "$kdir" "$m" "" CLIPPY=1 >"$log" 2>&1; then
		for ko in "$m"/*.ko; do
			[[ -f $ko ]] && adds+=(--add "$ko:/root/$(basename "$ko")")
		done
		if grep -q -E "$WARNINGS_RE" "$log"; then
			echo "$rel: built, with warnings:"
			grep -E -A6 "$WARNINGS_RE" "$log" | sed "s|$stage/src|exercises/$name|g"
		fi
	else
		build_failed=1
		echo "$rel: does not compile:"
		grep -v -E '^make(\[[0-9]+\])?: ' "$log" | sed "s|$stage/src|exercises/$name|g" | head -n 60
	fi
	cat "$log" >>"$stage/build.log"
done

if ((build_only)); then
	((build_failed == 0)) || result 1 "exercise $name ($what): does not compile"
	result 0 "exercise $name ($what): built"
fi

if [[ -f $stage/src/check-helper.c ]]; then
	"$GUEST_CC" -static -O2 -Wall -Werror -o "$stage/check-helper" "$stage/src/check-helper.c"
	adds+=(--add "$stage/check-helper:/root/check-helper")
fi
adds+=(--add "$stage/src/check.sh:/root/check.sh")

# --- Check in the VM. -------------------------------------------------------
args=(--no-load --timeout 600 --kernel "$kernel")
say "checking exercise '$name' ($what) in the VM ($kernel kernel)"
"$TOP/scripts/run-qemu.sh" "${args[@]}" "${adds[@]}" --verdict "$stage/verdict.json" \
	--exec 'sh /root/check.sh' >"$stage/vm.log" 2>&1 || true
verdict=$(verdict_get "$stage/verdict.json" verdict)
tr -d '\r' <"$stage/vm.log" >"$stage/vm.txt"
# What the check printed, with the kernel's lines in between, and the runner's
# verdict if it found a kernel report.
sed -n '/^== check /,/^SAMPLE-EXIT-STATUS/p' "$stage/vm.txt" | grep -v '^SAMPLE-EXIT-STATUS'
sed -n '/^run-qemu:/,$p' "$stage/vm.txt"
echo "(full VM log: ${stage#"$TOP/"}/vm.txt)"

# The runner's own failure is no verdict on the exercise.
[[ $verdict != runner-error ]] || die "the VM run failed: $(verdict_get "$stage/verdict.json" reason)"
if ((build_failed == 0)) && [[ $verdict == pass ]]; then
	result 0 "exercise $name ($what): PASS"
fi
if ((build_failed)); then
	result 1 "exercise $name ($what): FAIL (it does not compile, see above)"
fi
result 1 "exercise $name ($what): FAIL (the VM run's verdict: $verdict)"
