#!/usr/bin/env bash
# `make fmt`: fixes what scripts/lint.sh checks and a tool can fix by itself.
#
#   rustfmt      rust_sample.rs, src/*.rs and the exercises' .rs files, with
#                the kernel source's .rustfmt.toml (as the kernel's `make rustfmt`)
#   cargo fmt    tests/suite
#
# What needs a person is only reported, by scripts/lint.sh: clippy's
# warnings, checkpatch's (C style; the kernel's clang-format is not applied,
# because checkpatch, not clang-format, is the kernel's reference), and
# ShellCheck's.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"
cd "$TOP"

ksrc=$(cached_kernel_source)
mapfile -t rust_files < <(rust_sources)

sums() { find "${rust_files[@]}" tests/suite/src -name '*.rs' -exec md5sum {} + | sort; }
before=$(sums)
rustfmt --edition 2021 --config-path "$ksrc/.rustfmt.toml" "${rust_files[@]}"
cargo fmt --manifest-path tests/suite/Cargo.toml
after=$(sums)
if [[ $before == "$after" ]]; then
	echo "fmt: nothing to change"
else
	echo "fmt: reformatted:"
	diff <(echo "$before") <(echo "$after") | sed -n 's/^> [0-9a-f]*  /  /p' || true
fi
