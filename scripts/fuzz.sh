#!/usr/bin/env bash
# `make fuzz`: the model-based random tester (tests/suite/src/fuzz.rs) on the
# debug kernel, against both drivers, for DURATION seconds in all (default
# 120). SEED=N replays a single-process run that failed.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

"$TOP/scripts/build.sh" need debug "make fuzz"
duration=${DURATION:?}
[[ $duration =~ ^[0-9]+$ ]] || die "DURATION must be whole seconds, not '$duration'"
args="--seconds $duration"
if [[ -n ${SEED:-} ]]; then
	args+=" --seed $SEED"
fi
# Allow for boot, a slow debug kernel and the final kmemleak scan.
exec "$TOP/scripts/run-qemu.sh" --kernel debug --timeout $((duration * 2 + 300)) \
	--exec "sample-tests fuzz $args"
