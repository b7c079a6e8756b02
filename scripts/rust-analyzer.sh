#!/usr/bin/env bash
# `make rust-analyzer`: writes rust-project.json at the top of the clone, so
# that rust-analyzer (VS Code, Neovim, Emacs, ...) understands rust_sample.rs
# and the exercises: the `kernel`, `pin_init` and `macros` crates of the
# release kernel, its cfgs, and one crate per module.
#
# It is the kernel's own generator (`make -C $KDIR M=$PWD rust-analyzer`),
# run with MO= so that nothing is written into the source tree but the
# result; the copies of the exercises that scripts/exercise.sh builds in
# build/ are left out, so that each module appears once.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

kdir=$BUILD_DIR/$RA_KERNEL/kdir
[[ -d $kdir ]] || die "no $RA_KERNEL kernel yet: run 'make' first"
out=$BUILD_DIR/rust-analyzer
mkdir -p "$out"
kbuild "$kdir" "$TOP" "$out" rust-analyzer >"$out/make.log" 2>&1 || {
	cat "$out/make.log" >&2
	die "the kernel's rust-analyzer target failed"
}
# The module crates come last and nothing depends on them, so dropping some
# leaves every other crate's index (and so every dependency) intact.
python3 - "$out/rust-project.json" "$TOP/rust-project.json" "$BUILD_DIR/" "$TOP/" <<'PY'
import json
import sys

src, dst, build, top = sys.argv[1:]
with open(src) as f:
    project = json.load(f)
crates = project["crates"]
keep = [c for c in crates if not c["root_module"].startswith(build)]
dropped = {id(c) for c in crates} - {id(c) for c in keep}
for i, crate in enumerate(crates):
    if id(crate) in dropped:
        assert all(d["crate"] != i for c in keep for d in c.get("deps", [])), crate
        assert i >= len(keep), "a dropped crate is not at the end"
project["crates"] = keep
with open(dst, "w") as f:
    json.dump(project, f, indent=1)
members = [c["root_module"] for c in keep if c["root_module"].startswith(top)]
print(f"rust-project.json: {len(keep)} crates; the modules:")
for m in members:
    print("  " + m[len(top):])
PY
