#!/usr/bin/env bash
# `make mutants`: the suite's mutation score (scripts/mutants.py has the
# method; tests/mutants/*.tsv the mutants; docs/hardening.md the results).
#
#   scripts/mutants.sh [--driver rust_sample|c_sample] [--only NAME]
#
# Needs both kernels (built on first use) and a current `make` (the suite
# in the initramfs). Not part of `make test`: it boots one VM per mutant.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

need_variant release "make mutants"
need_variant debug "make mutants"
exec /usr/bin/python3 "$TOP/scripts/mutants.py" "$@"
