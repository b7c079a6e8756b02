#!/usr/bin/env python3
"""`make safety` (run through scripts/safety.sh): the classic kernel bugs,
written into both drivers, measured.

For each row of tests/safety/catalogue.toml, in a scratch copy of the
sources: apply the C side's edits, build c_sample.ko against the release
and the debug kernel (its warnings are kept), and boot each kernel with it
in a VM of its own, running the row's trigger (tests/safety/trigger.c)
against /dev/c_sample; then the same for the Rust side: the error rustc
stops at, or, if it compiles, what its trigger does on both kernels. A
control boots each kernel with the unpatched drivers and runs every
trigger against both devices, each on a freshly loaded module: it must
be quiet. Two VMs run at a time (one per host core), each with one vCPU.

Each outcome is compared with tests/safety/expected.json; a row whose
measured outcome differs fails, by name. Writes build/ARCH/safety/
report.json, prints KTAP, and exits 1 on any failure.

    scripts/safety.sh [--only NAME] [--record]      make safety
    scripts/safety.sh --compile-only               the Rust compile half
                                                   (make test)
    scripts/safety.sh --docs [--check]             docs/safety.md

--record writes the measured outcomes into expected.json (to review and
commit) instead of comparing.
"""

import argparse
import json
import re
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scratch import kbuild, patched_copy  # scripts/test/scratch.py

TOP = Path(__file__).resolve().parent.parent.parent
CATALOGUE = TOP / "tests" / "safety" / "catalogue.toml"
EXPECTED = TOP / "tests" / "safety" / "expected.json"
DOC = TOP / "docs" / "safety.md"
# Each side's module: its object for Kbuild, its .ko, its device.
MODULES = {"c": ("src/c_sample.o", "src/c_sample.ko", "c_sample"),
           "rust": ("rust_sample.o", "rust_sample.ko", "rust_sample")}
KERNELS = ("release", "debug")
# Seconds a VM may run: boot, the trigger (10 s at most, it reports a
# hang itself), and on the debug kernel the kmemleak scan.
LIMIT = {"release": 120, "debug": 360}
WARNING = re.compile(r"^(warning|error)|: warning:", re.M)
# What the kernel reported, on its own lines ("[   1.234567] ..."), first
# match wins: the detectors, then a Rust panic, an Oops, a WARNING.
KERNEL_LINE = r"^\[ *\d+\.\d+\] "
REPORTS = [
    (r"BUG: KASAN: ([\w-]+)", "KASAN: {}"),
    (r"UBSAN: ([\w-]+)", "UBSAN: {}"),
    (r"WARNING: (lock held when returning to user space|possible circular locking dependency|possible recursive locking)",
     "lockdep: {}"),
    (r"BUG: (sleeping function called from invalid context|scheduling while atomic)", "atomic sleep: {}"),
    (r"(unreferenced object)", "kmemleak: {}"),
    (r"rust_kernel: panicked at [^:]+:\d+:\d+:(.*)", "panic:{}"),
    (r"(panicked at .*)", "panic: {}"),
    (r"(BUG: unable to handle|general protection fault|kernel BUG at|Oops: )", "Oops"),
    (r"WARNING: (.*)", "WARNING: {}"),
]
DETECTORS = ("KASAN", "UBSAN", "lockdep", "atomic sleep", "kmemleak")
BUILD = OUT = Path()
MAKE_VARS = []
TRIGGER = Path()


def catalogue():
    return tomllib.loads(CATALOGUE.read_text())["row"]


def build(row, side, kernel):
    """Builds ROW's SIDE module for KERNEL: (the .ko or None, the compile outcome)."""
    where = OUT / row["name"] / side / kernel
    patched_copy(where, [(e["file"], e["old"], e["new"]) for e in row[side]["edits"]], MODULES[side][0],
                 f"safety row {row['name']} ({side})")
    status = kbuild(where, BUILD / kernel / "kdir", MAKE_VARS, where / "build.log")
    log = (where / "build.log").read_text()
    ko = where / "out" / MODULES[side][1]
    if status == 0 and ko.exists():
        warnings = [line.strip() for line in log.splitlines() if WARNING.search(line)]
        return ko, {"compiles": True, "warnings": warnings}
    first = re.search(r"^error(?:\[(E\d+)\])?: (.*)$", log, re.M)
    if not first:
        return None, {"compiles": False, "error": "", "message": log.strip().splitlines()[-1] if log.strip() else ""}
    return None, {"compiles": False, "error": first.group(1) or "", "message": first.group(2)}


def classify(status, console):
    """What a VM run showed: (outcome, the line that shows it)."""
    lines = console.replace("\r", "").splitlines()
    kernel = [re.sub(KERNEL_LINE, "", line) for line in lines if re.match(KERNEL_LINE, line)]
    kernel += [line for line in lines if line.startswith("unreferenced object")]
    for pattern, outcome in REPORTS:
        for n, line in enumerate(kernel):
            found = re.search(pattern, line)
            if found:
                # A Rust panic says what on the next line.
                detail = " ".join(kernel[n:n + 2]) if outcome.startswith("panic") else line
                return outcome.format(found.group(1).strip()).split(" in ")[0].rstrip(":"), detail.strip()
    observed = [line[len("observed: "):] for line in lines if line.startswith("observed: ")]
    if observed:
        what = observed[0]
        for word in ("hang", "wrong data", "wrong result", "killed"):
            if word in what:
                return word.replace("wrong result", "wrong data"), what
        return "wrong data", what
    if status == 124:
        return "hang", "the VM was killed after its time limit"
    if status == 0:
        return "nothing visible", ""
    return f"the VM run failed (exit {status})", lines[-1] if lines else ""


def boot(kernel, module, ko, command, log):
    """Boots KERNEL with KO in place of MODULE's (None: the unpatched
    drivers) and the trigger; runs COMMAND; (status, console)."""
    cmd = [str(TOP / "scripts" / "run-qemu.sh"), "--kernel", kernel, "--smp", "1", "--timeout", str(LIMIT[kernel]),
           "--add", f"{TRIGGER}:/usr/bin/safety-trigger", "--exec", command]
    if ko:
        cmd[1:1] = ["--add", f"{ko}:/lib/modules/{module}.ko"]
    with open(log, "w") as out:
        status = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
    return status, log.read_text(errors="replace")


def run_trigger(row, side, kernel, ko):
    module = MODULES[side][2]
    log = OUT / row["name"] / side / kernel / "vm.log"
    status, console = boot(kernel, module, ko, f"safety-trigger /dev/{module} {row['trigger']}", log)
    outcome, line = classify(status, console)
    return {"outcome": outcome, "line": line}


def measure_side(row, side, compile_only):
    """One side of ROW: its compile outcome and, if it compiles, its runs."""
    result = {}
    ko, result["build"] = build(row, side, "release")
    if compile_only or ko is None:
        return result
    for kernel in KERNELS:
        if kernel != "release":
            ko, built = build(row, side, kernel)
            if ko is None:
                result[kernel] = {"outcome": "did not compile", "line": built.get("message", "")}
                continue
        result[kernel] = run_trigger(row, side, kernel, ko)
    return result


def control(kernel, rows):
    """Every trigger on the unpatched drivers, each on a fresh module: quiet."""
    script = []
    for row in rows:
        for side in ("c", "rust"):
            module = MODULES[side][2]
            script.append(f"rmmod {module} && insmod /lib/modules/{module}.ko && "
                          f"safety-trigger /dev/{module} {row['trigger']} || echo 'control failed: {row['name']} {module}'")
    log = OUT / f"control-{kernel}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    status, console = boot(kernel, None, None, "; ".join(script) + "; ! grep -q . /dev/null", log)
    failed = [line for line in console.splitlines() if line.startswith("control failed")]
    outcome, line = classify(status, console)
    quiet = status == 0 and outcome == "nothing visible" and not failed
    return {"kernel": kernel, "quiet": quiet, "outcome": outcome, "line": line, "failed": failed}


def summary(row, measured):
    """The row as report.json holds it."""
    c, rust = measured["c"], measured["rust"]
    out = {"name": row["name"], "class": row["class"], "lesson": row["lesson"],
           "c": {"what": row["c"]["what"], "compiles": c["build"]["compiles"],
                 "warnings": len(c["build"].get("warnings", [])), "warning_lines": c["build"].get("warnings", [])},
           "rust": {"what": row["rust"]["what"], "compiles": rust["build"]["compiles"], "needs": row["rust"]["needs"]}}
    for kernel in KERNELS:
        if kernel in c:
            out["c"][kernel] = c[kernel]["outcome"]
            out["c"][kernel + "_line"] = c[kernel]["line"]
    if rust["build"]["compiles"]:
        out["rust"]["runtime"] = {k: rust[k]["outcome"] for k in KERNELS if k in rust}
        out["rust"]["runtime_lines"] = {k: rust[k]["line"] for k in KERNELS if k in rust}
    else:
        out["rust"]["error"] = rust["build"]["error"]
        out["rust"]["message"] = rust["build"]["message"]
    return out


# The fields compared with expected.json: what is measured, not the lines.
COMPARED = {"c": ("compiles", "warnings", "release", "debug"), "rust": ("compiles", "error", "message", "runtime")}


def differences(got, want, compile_only):
    diffs = []
    for side, fields in COMPARED.items():
        for field in fields:
            if compile_only and (side == "c" or field == "runtime"):
                continue
            if got[side].get(field) != want[side].get(field):
                diffs.append(f"{side} {field}: measured {got[side].get(field)!r}, expected {want[side].get(field)!r}")
    return diffs


def expected_of(report_row):
    return {side: {f: report_row[side][f] for f in fields if f in report_row[side]} for side, fields in COMPARED.items()}


def ktap(results, controls):
    """KTAP: one result per row, then one per control."""
    lines, failed = ["KTAP version 1", f"1..{len(results) + len(controls)}"], 0
    for n, (name, diffs, note) in enumerate(results, 1):
        lines += [f"# {d}" for d in diffs]
        lines.append(f"{'not ok' if diffs else 'ok'} {n} {name}: {note}")
        failed += bool(diffs)
    for n, c in enumerate(controls, len(results) + 1):
        if not c["quiet"]:
            lines += [f"# {c['outcome']}: {c['line']}"] + [f"# {f}" for f in c["failed"]]
        lines.append(f"{'ok' if c['quiet'] else 'not ok'} {n} control on the {c['kernel']} kernel: every trigger is quiet on the unpatched drivers")
        failed += not c["quiet"]
    print("\n".join(lines), flush=True)
    return failed


def note(report_row):
    rust = report_row["rust"]
    if not rust["compiles"]:
        r = f"Rust: {rust['error']}: {rust['message']}"
    else:
        r = "Rust: " + ", ".join(f"{k} {v}" for k, v in rust.get("runtime", {}).items()) if rust.get("runtime") else "Rust: compiles"
    c = report_row["c"]
    cs = f"C: release {c['release']}, debug {c['debug']}; " if "release" in c else ""
    return cs + r


def main():
    global BUILD, OUT, MAKE_VARS, TRIGGER
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", help="build/ARCH")
    p.add_argument("--make-vars", default="", help="Kbuild's variables for the kernels, such as LLVM=-19")
    p.add_argument("--trigger", help="the trigger program, built for the guest")
    p.add_argument("--only", help="the rows whose name contains this")
    p.add_argument("--jobs", type=int, default=2, help="VMs at a time (default 2, one per host core)")
    p.add_argument("--compile-only", action="store_true", help="only the Rust side's compile outcome")
    p.add_argument("--record", action="store_true", help="write the measured outcomes into expected.json")
    p.add_argument("--docs", action="store_true", help="write docs/safety.md from the catalogue and expected.json")
    p.add_argument("--check", action="store_true", help="with --docs: fail if docs/safety.md is not current")
    args = p.parse_args()
    if args.docs:
        return docs(args.check)
    BUILD = Path(args.build_dir)
    OUT = BUILD / "safety"
    MAKE_VARS = args.make_vars.split()
    TRIGGER = Path(args.trigger or "")
    rows = [r for r in catalogue() if args.only is None or args.only in r["name"]]
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    start = time.time()

    def measure(job):
        row, side = job
        return measure_side(row, side, args.compile_only)

    sides = ("rust",) if args.compile_only else ("c", "rust")
    jobs = [(row, side) for row in rows for side in sides]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        measured = list(pool.map(measure, jobs))
        controls = [] if args.compile_only else list(pool.map(lambda k: control(k, rows), KERNELS))
    by_row = {}
    for (row, side), m in zip(jobs, measured):
        by_row.setdefault(row["name"], {"c": {"build": {"compiles": None}}})[side] = m
    report = [summary(row, by_row[row["name"]]) for row in rows]
    results = []
    for r in report:
        want = expected.get(r["name"])
        diffs = ["no expected outcome in tests/safety/expected.json"] if want is None and not args.record else (
            [] if args.record else differences(r, want, args.compile_only))
        results.append((r["name"], diffs, note(r) if not args.compile_only else
                        (f"Rust does not compile: {r['rust']['error']} {r['rust']['message']}" if not r["rust"]["compiles"]
                         else "Rust compiles")))
    OUT.mkdir(parents=True, exist_ok=True)
    name = "report-compile.json" if args.compile_only else "report.json"
    (OUT / name).write_text(json.dumps({"seconds": round(time.time() - start), "rows": report,
                                        "controls": controls}, indent=1) + "\n")
    if args.record:
        expected.update({r["name"]: expected_of(r) for r in report})
        EXPECTED.write_text(json.dumps(expected, indent=1) + "\n")
    failed = ktap(results, controls)
    print(f"# {round(time.time() - start)} s; report: {OUT / name}")
    print(f"{len(results) + len(controls) - failed} passed, {failed} failed")
    return 1 if failed else 0


def docs(check):
    """docs/safety.md: the catalogue and its expected outcomes, as tables."""
    rows, expected = catalogue(), json.loads(EXPECTED.read_text())
    text = DOC_HEAD
    text += "| # | class | C: compiles | C: release kernel | C: debug kernel | Rust | Rust needs |\n|---|---|---|---|---|---|---|\n"
    for n, row in enumerate(rows, 1):
        want = expected[row["name"]]
        c, rust = want["c"], want["rust"]
        if rust["compiles"]:
            r = "compiles; " + ", ".join(f"{k}: {v}" for k, v in rust["runtime"].items())
        else:
            r = f"refused: {rust['error']}: {rust['message']}"
        compiles = "no" if not c["compiles"] else f"yes, {c['warnings'] or 'no'} warning{'s' * (c['warnings'] != 1)}"
        text += (f"| {n} | {row['class']} | {compiles} | {c.get('release', '')} | "
                 f"{c.get('debug', '')} | {r} | {row['rust']['needs']} |\n")
    text += "\n" + counts(rows, expected) + "\n## The rows\n"
    for n, row in enumerate(rows, 1):
        text += (f"\n### {n}. {row['class']}: `{row['name']}`\n\n{row['lesson']}\n\n"
                 f"- **C**: {row['c']['what']}.\n- **Rust** (needs: {row['rust']['needs']}): {row['rust']['what']}.\n"
                 f"- **Trigger**: `safety-trigger DEVICE {row['trigger']}`\n")
        for side, label in (("c", "C"), ("rust", "Rust")):
            text += f"\n{label}:\n\n```diff\n"
            for edit in row[side]["edits"]:
                text += f"--- {edit['file']}\n"
                text += "".join(f"-{line}\n" for line in edit["old"].split("\n"))
                text += "".join(f"+{line}\n" for line in edit["new"].split("\n"))
            text += "```\n"
    if check:
        if not DOC.exists() or DOC.read_text() != text:
            print("docs/safety.md is out of date: run make docs", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


def counts(rows, expected):
    """The summary, counted from the expected outcomes."""
    n = len(rows)
    c_compiles = sum(expected[r["name"]]["c"]["compiles"] for r in rows)
    release = sum(expected[r["name"]]["c"].get("release", "nothing visible") != "nothing visible" for r in rows)
    debug = sum(expected[r["name"]]["c"].get("debug", "").startswith(DETECTORS) for r in rows)
    nothing = sum(expected[r["name"]]["c"].get("release") == "nothing visible"
                  and expected[r["name"]]["c"].get("debug") == "nothing visible" for r in rows)
    refused = sum(not expected[r["name"]]["rust"]["compiles"] for r in rows)
    forget = sum(expected[r["name"]]["rust"]["compiles"] and r["rust"]["needs"] == "forget" for r in rows)
    stopped = sum(expected[r["name"]]["rust"]["compiles"]
                  and all(v.startswith("panic") for v in expected[r["name"]]["rust"]["runtime"].values()) for r in rows)
    return (f"In numbers: C compiles {c_compiles} of {n}; the release kernel shows {release}; the debug kernel's "
            f"detectors catch {debug}; nothing catches {nothing}. Rust refuses {refused} at compile time, stops "
            f"{stopped} at run time (a panic, which is a kernel BUG), and does not help in {n - refused - stopped}"
            f" ({forget} of which take an explicit `core::mem::forget`).\n")


DOC_HEAD = """# Memory safety, shown: the classic kernel bugs in both drivers

<!-- Generated by scripts/test/safety.py --docs from tests/safety/catalogue.toml
and tests/safety/expected.json: edit those, then run make docs. -->

Each row is one class of bug that is behind many kernel CVEs, written into
the drivers' own code: in C, the bug itself; in Rust, the closest thing a
developer would write while trying to do the same. `make safety` applies
each row to a scratch copy, builds it against the release and the debug
kernel, and boots each kernel with the patched module and the row's
trigger program ([tests/safety/trigger.c](../tests/safety/trigger.c)), in
a VM of its own; every trigger also runs on the unpatched drivers, where
it must be quiet. What each row does is measured, and compared with what
is written here: a row that behaves otherwise fails `make safety`. The Rust
side's compile outcome is checked by `make test` too.

How to read it. **C: release kernel**: what a user would see on a
production-like kernel: *nothing visible*, *wrong data* (the trigger saw
an answer that is not the queue's), a *hang* (the trigger's call did not
return within 10 s), an *Oops*. **C: debug kernel**: which of its
detectors (KASAN, UBSAN, lockdep, kmemleak, the atomic-sleep check)
reports it, else what happened. **Rust**: *refused* with rustc's error
code, or, if it compiles, what it does on each kernel; a Rust *panic* is a
kernel BUG: an Oops, and the lock it held stays held. **Rust needs**: what
it takes to write the bug in Rust at all: *none*, the safe
`core::mem::forget`, or *unsafe*.

KCSAN (data races) and KMSAN (uninitialised memory) each need a kernel of
their own, since they exclude KASAN, and only KASAN instruments Rust code
in 7.3, so neither is built here. In C, KCSAN would catch the data race
(row 4), and KMSAN the uninitialised field copied to user space (row 6).

"""


if __name__ == "__main__":
    sys.exit(main())
