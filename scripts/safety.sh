#!/usr/bin/env bash
# `make safety`: the classic kernel bugs written into both drivers, and what
# catches each (scripts/test/safety.py has the method;
# tests/safety/catalogue.toml the rows; docs/safety.md the results).
#
#   scripts/safety.sh [--only NAME] [--record]   every row in VMs
#   scripts/safety.sh --compile-only             the Rust side's compile
#                                                outcome only (make test)
#   scripts/safety.sh --docs [--check]           docs/safety.md (make lint)
#
# Needs the release, debug and KCSAN kernels (built on first use; make
# safety is the only user of the KCSAN one) for the VM half, the release
# kernel for --compile-only.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

safety=(/usr/bin/python3 "$TOP/scripts/test/safety.py")
if [[ " $* " == *" --docs "* ]]; then
	exec "${safety[@]}" "$@"
fi
"$TOP/scripts/build.sh" need release "make safety"
if [[ " $* " != *" --compile-only "* ]]; then
	"$TOP/scripts/build.sh" need debug "make safety"
	# The data-race row's C side runs on the KCSAN kernel too (only here),
	# where there is one for ARCH.
	if [[ " $(kernels_for "$ARCH") " == *" kcsan "* ]]; then
		"$TOP/scripts/build.sh" need kcsan "make safety"
		set -- --kcsan "$@"
	fi
fi
# The trigger runs in the guest: static, for $ARCH.
mkdir -p "$BUILD_DIR/safety"
trigger=$BUILD_DIR/safety/safety-trigger
"$GUEST_CC" -static -O2 -Wall -Werror -o "$trigger" "$TOP/tests/safety/trigger.c"
# How Kbuild builds against the project's kernels (kbuild_vars: LLVM).
kbuild_vars "$BUILD_DIR/release/kdir"
exec "${safety[@]}" --build-dir "$BUILD_DIR" --make-vars "${kbuild_vars[*]}" --trigger "$trigger" "$@"
