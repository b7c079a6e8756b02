"""A driver built with some edits, for make mutants and make safety: a
scratch copy of the sources with the edits applied, and Kbuild's
out-of-tree build of one module from it, as lib/kbuild.sh's kbuild runs it
against the project's kernels."""

import shutil
import subprocess
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
SOURCES = ["rust_sample.rs", "src"]


def patched_copy(where, edits, kbuild_object, who):
    """Copies the sources to WHERE (emptied first), applies EDITS, each a
    (file, old, new) whose old text must occur once in its file, and
    writes a Kbuild for KBUILD_OBJECT alone. WHO names the edits in an
    error. Returns {file: (text before, text after)}."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for src in SOURCES:
        (shutil.copytree if (TOP / src).is_dir() else shutil.copy)(TOP / src, where / src)
    changed = {}
    for file, old, new in edits:
        target = where / file
        text = target.read_text()
        if text.count(old) != 1:
            raise SystemExit(f"{who}: its text occurs {text.count(old)} times in {file}, not once:\n{old}")
        target.write_text(text.replace(old, new))
        changed[file] = (changed.get(file, (text,))[0], target.read_text())
    (where / "Kbuild").write_text(f"obj-m := {kbuild_object}\n")
    return changed


def kbuild(where, kdir, make_vars, log):
    """Builds the module in WHERE against KDIR into WHERE/out, its output
    in LOG; returns make's status."""
    with open(log, "w") as out:
        return subprocess.run(["make", "-C", str(kdir), f"M={where}", f"MO={where}/out", *make_vars],
                              stdout=out, stderr=subprocess.STDOUT).returncode
