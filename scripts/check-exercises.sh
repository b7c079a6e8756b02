#!/usr/bin/env bash
# `make check-exercises`: for every workshop exercise, its solution must PASS
# (and build without a warning) and its starting point must FAIL (not
# compiling counts as failing). One `ok`/`not ok` line per check, then
# "N passed, N failed"; exit 0 only if every check passed.
#
#   scripts/check-exercises.sh [NAME...]     (default: every exercise)
#
# VARIANTS (the kernels make test tests; default every kernel for ARCH):
# an exercise whose exercise.conf asks for a kernel not among them is
# reported as skipped.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

if (($#)); then
	names=("$@")
else
	mapfile -t names < <("$TOP/scripts/exercise.sh" --list)
fi

logs=$BUILD_DIR/exercises/logs
mkdir -p "$logs"

read -ra variants <<<"$VARIANTS"
for name in "${names[@]}"; do
	kernel=$(exercise_kernel "$name")
	if [[ " ${variants[*]} " != *" $kernel "* ]]; then
		skip "$name" "it runs on the $kernel kernel, and VARIANTS is '${variants[*]}'"
		continue
	fi
	say "exercise $name"
	log=$logs/$name-solution.log
	status=0
	"$TOP/scripts/exercise.sh" "$name" --solution >"$log" 2>&1 || status=$?
	if ((status == 0)); then
		pass "$name: the solution passes"
	else
		fail "$name: the solution does not pass" "exit $status, see $log"
	fi
	build_log=$BUILD_DIR/exercises/$name/solution/build.log
	if [[ -f $build_log ]] && ! grep -q -E "$WARNINGS_RE" "$build_log"; then
		pass "$name: the solution builds without warnings (CLIPPY=1)"
	else
		fail "$name: the solution builds with warnings" "see $build_log"
	fi

	log=$logs/$name-start.log
	status=0
	"$TOP/scripts/exercise.sh" "$name" >"$log" 2>&1 || status=$?
	# It must fail for the reason the exercise is about: every
	# START_FAILS_WITH line of its exercise.conf appears in the log.
	mapfile -t reasons < <(sed -n 's/^START_FAILS_WITH=//p' "$TOP/exercises/$name/exercise.conf" 2>/dev/null)
	missing=
	for reason in "${reasons[@]}"; do
		grep -q -F -- "$reason" "$log" || missing=$reason
	done
	if ((${#reasons[@]} == 0)); then
		fail "$name: exercises/$name/exercise.conf names no START_FAILS_WITH"
	elif ((status != 1)); then
		# exercise.sh's exit status: 0 PASS, 1 FAIL, else its own failure.
		fail "$name: the starting point does not fail (exercise.sh exit $status, 1 is FAIL)" "see $log"
	elif [[ -n $missing ]]; then
		fail "$name: the starting point fails, but not with '$missing'" "see $log"
	else
		pass "$name: the starting point fails with: ${reasons[*]}"
	fi
done

summary_line
