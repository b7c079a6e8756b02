#!/usr/bin/env bash
# `make mutants`: the suite's mutation score (scripts/test/mutants.py has the
# method; tests/mutants/*.tsv the mutants; docs/hardening.md the results).
#
#   scripts/mutants.sh [--driver rust_sample|c_sample] [--only NAME]
#
# Needs both kernels (built on first use) and a current `make` (the suite
# in the initramfs). Not part of `make test`: it boots one VM per mutant.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

"$TOP/scripts/build.sh" need release "make mutants"
"$TOP/scripts/build.sh" need debug "make mutants"
# Where the kernels are, and how Kbuild builds against them (kbuild_vars:
# the project's kernels, built with LLVM).
kbuild_vars "$BUILD_DIR/release/kdir"
exec /usr/bin/python3 "$TOP/scripts/test/mutants.py" --build-dir "$BUILD_DIR" \
	--make-vars "${kbuild_vars[*]}" "$@"
