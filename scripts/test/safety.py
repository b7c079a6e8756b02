#!/usr/bin/env python3
"""`make safety` (run through scripts/safety.sh): the classic kernel bugs,
written into both drivers, measured.

For each row of tests/safety/catalogue.toml and each of its variants (the
bug in C; what a developer writes in Rust; and, where that takes
`unsafe`, the unsafe Rust that does what the C does), in a scratch copy of
the sources: apply the variant's edits and build its module against each
kernel. A variant that compiles boots each kernel in a VM of its own with
the patched module and runs the row's trigger (tests/safety/trigger.c)
against its device. A control boots each kernel with the unpatched
drivers and runs every row's trigger against both devices, each on a
freshly loaded module.

What counts for a row is what the kernel reported after the trigger's
start marker ("safety-trigger: start TAG", written into the kernel's log
as it starts) with a frame of the patched module in the report, else what
the trigger itself saw (it prints that as data: SAFETY-RESULT and
SAFETY-WITNESS lines). A report before the marker is "at load", and is
not the row's. Each measured outcome must be the one tests/safety/
expected.json gives, and must prove that the bug happened: it differs from
the control's outcome for the same trigger on that kernel, or the trigger
measured a witness (the control's must be zero), or the catalogue says why
that kernel shows nothing. Writes build/ARCH/safety/report.json, prints
KTAP, and exits 1 on any failure.

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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import verdict  # noqa: E402 (scripts/lib/verdict.py: the runner's verdict, as data)
from scratch import kbuild, patched_copy  # noqa: E402 (scripts/test/scratch.py)

TOP = Path(__file__).resolve().parent.parent.parent
CATALOGUE = TOP / "tests" / "safety" / "catalogue.toml"
EXPECTED = TOP / "tests" / "safety" / "expected.json"
DOC = TOP / "docs" / "safety.md"
# Each variant's module: its object for Kbuild, its .ko, its device.
C_MODULE = ("src/c_sample.o", "src/c_sample.ko", "c_sample")
RUST_MODULE = ("rust_sample.o", "rust_sample.ko", "rust_sample")
VARIANTS = {"c": C_MODULE, "rust": RUST_MODULE, "unsafe": RUST_MODULE}
LABELS = {"c": "C", "rust": "Rust", "unsafe": "unsafe Rust"}
KERNELS = ("release", "debug")
# KCSAN instruments C only (7.3 builds Rust without it): the C side of the
# rows that say kcsan = true, and its control, run on it too.
KCSAN = "kcsan"
# Seconds a VM may run: boot, the trigger, and on the debug kernel the
# kmemleak scan.
LIMIT = {"release": 180, "debug": 480, KCSAN: 300}
WARNING = re.compile(r"^(warning|error)|: warning:", re.M)
# What the kernel reported, on its own lines ("[   1.234567] ..."), in
# order of precedence: the detectors, then a Rust panic, an Oops, a
# WARNING. A report's block is its lines up to the next report's start.
KERNEL_LINE = re.compile(r"^\[ *\d+\.\d+\] ")
REPORTS = [
    (r"BUG: KASAN: ([\w-]+)", "KASAN: {}"),
    (r"BUG: KCSAN: ([\w-]+)", "KCSAN: {}"),
    (r"UBSAN: ([\w-]+)", "UBSAN: {}"),
    (r"WARNING: (lock held when returning to user space|possible circular locking dependency|possible recursive locking)",
     "lockdep: {}"),
    (r"BUG: (sleeping function called from invalid context|scheduling while atomic)", "atomic sleep: {}"),
    (r"^(unreferenced object)", "kmemleak: {}"),
    (r"rust_kernel: panicked at [^:]+:\d+:\d+:(.*)", "panic:{}"),
    (r"(panicked at .*)", "panic: {}"),
    (r"(BUG: unable to handle|general protection fault|kernel BUG at|Oops: )", "Oops"),
    (r"WARNING: (.*)", "WARNING: {}"),
]
DETECTORS = ("KASAN", "KCSAN", "UBSAN", "lockdep", "atomic sleep", "kmemleak")
QUIET = "nothing visible"
MARKER = re.compile(r"safety-trigger: start (\S+)")
DATA = re.compile(r"SAFETY-(RESULT|WITNESS) (\{.*\})")
BUILD = OUT = Path()
MAKE_VARS = []
TRIGGER = Path()
WITH_KCSAN = False


def catalogue():
    return tomllib.loads(CATALOGUE.read_text())["row"]


def variants_of(row):
    return [v for v in VARIANTS if v in row]


def kernels_of(row, variant):
    return KERNELS + ((KCSAN,) if variant == "c" and row.get("kcsan") and WITH_KCSAN else ())


def build(row, variant, kernel):
    """Builds ROW's VARIANT module for KERNEL: (the .ko or None, the compile outcome)."""
    where = OUT / row["name"] / variant / kernel
    patched_copy(where, [(e["file"], e["old"], e["new"]) for e in row[variant]["edits"]],
                 VARIANTS[variant][0], f"safety row {row['name']} ({variant})")
    status = kbuild(where, BUILD / kernel / "kdir", MAKE_VARS, where / "build.log")
    log = (where / "build.log").read_text()
    ko = where / "out" / VARIANTS[variant][1]
    if status == 0 and ko.exists():
        warnings = [line.strip() for line in log.splitlines() if WARNING.search(line)]
        return ko, {"compiles": True, "warnings": warnings}
    first = re.search(r"^error(?:\[(E\d+)\])?: (.*)$", log, re.M)
    if not first:
        return None, {"compiles": False, "error": "", "message": log.strip().splitlines()[-1] if log.strip() else ""}
    return None, {"compiles": False, "error": first.group(1) or "", "message": first.group(2)}


def reports(lines, module):
    """The kernel's reports in LINES, in the order they appear: each a dict
    with its line's index, its rank in REPORTS, its outcome, its first
    line, and whether a frame of MODULE is in its block."""
    kernel = [(n, KERNEL_LINE.sub("", line)) for n, line in enumerate(lines)
              if KERNEL_LINE.match(line) or line.startswith("unreferenced object")]
    found = []
    for k, (n, text) in enumerate(kernel):
        for rank, (pattern, outcome) in enumerate(REPORTS):
            hit = re.search(pattern, text)
            if hit:
                # A Rust panic says what on the next line.
                detail = " ".join(t for _, t in kernel[k:k + 2]) if outcome.startswith("panic") else text
                found.append({"at": n, "rank": rank, "line": detail.strip(),
                              "outcome": outcome.format(hit.group(1).strip()).split(" in ")[0].rstrip(":")})
                break
    # A Rust panic is followed by the kernel BUG it raises ("kernel BUG
    # at", then "Oops:"), whose stack is the panic's: one report.
    merged = []
    for r in found:
        if merged and r["outcome"] == "Oops" and merged[-1]["outcome"].startswith("panic"):
            continue
        merged.append(r)
    found = merged
    for i, report in enumerate(found):
        end = found[i + 1]["at"] if i + 1 < len(found) else len(lines)
        report["ours"] = f"[{module}]" in "\n".join(lines[report["at"]:end])
    return found


def first_by_precedence(found):
    """Of several reports, the one REPORTS ranks first (a KASAN report
    before the Oops that follows it), else the earliest."""
    return min(found, key=lambda r: (r["rank"], r["at"])) if found else None


def trigger_outcome(result):
    """The outcome that the trigger's SAFETY-RESULT names."""
    kind = result["outcome"]
    if kind == "ok":
        return QUIET
    if kind == "wrong data":
        return "wrong data"
    if kind == "error":
        return f"{result['errno']}, not {result['want']}" if result["want"] else f"{result['call']}: {result['errno']}"
    if kind == "succeeded":
        return f"{result['call']} succeeded, not {result['want']}"
    if kind == "hang":
        return f"hang: {result['call']} did not return"
    return f"{kind}: {result['detail']}"


def classify(run, lines, module, tag):
    """What one trigger run showed, from the verdict RUN of its VM and its
    console LINES (or its part of the control's): the outcome, the line
    that shows it, what happened at load, the witnesses, the reports that
    were not its, and the runner's own failure (a runner error is not a
    measurement: the guest's set-up failing, a patched module that does not
    load, is one)."""
    start = next((n for n, line in enumerate(lines) if KERNEL_LINE.match(line)
                  and (m := MARKER.search(line)) and m.group(1) == tag), None)
    found = reports(lines, module)
    before = [r for r in found if start is None or r["at"] < start]
    after = [r for r in found if start is not None and r["at"] > start]
    # KCSAN samples, so whether it reports varies from run to run: its own
    # reports are counted apart (run_trigger), never the outcome.
    sampled = [r for r in after if r["ours"] and r["outcome"].startswith("KCSAN")]
    mine = [r for r in after if r["ours"] and r not in sampled]
    # What the trigger printed, wherever the console put it: by its tag.
    data = [(m.group(1), d) for line in lines if (m := DATA.search(line))
            and (d := json.loads(m.group(2)))["tag"] == tag]
    results = [d for kind, d in data if kind == "RESULT"]
    witnesses = [d for kind, d in data if kind == "WITNESS"]
    out = {"at_load": None, "witness": None, "elsewhere": [r["line"] for r in after if not r["ours"]],
           "witnesses": witnesses, "kcsan": [r["line"] for r in sampled], "runner_error": None}
    if run["verdict"] == "runner-error" and not run.get("guest_setup"):
        out["runner_error"] = run["reason"]
    if before:
        at = first_by_precedence(before)
        out["at_load"] = {"outcome": at["outcome"], "line": at["line"]}
    seen = [w for w in witnesses if w["seen"] > 0]
    if seen:
        out["witness"] = seen[0]
    if mine:
        report = first_by_precedence(mine)
        out.update(outcome=report["outcome"], line=report["line"])
    elif results:
        out.update(outcome=trigger_outcome(results[0]), line=results[0]["detail"])
    elif start is None:
        out.update(outcome="the trigger did not start", line=lines[-1] if lines else "")
    elif run["verdict"] == "timeout":
        out.update(outcome="the VM did not finish", line="killed at its time limit")
    else:
        out.update(outcome=f"no result from the trigger (the VM's verdict: {run['verdict']})",
                   line=lines[-1] if lines else "")
    return out


def boot(kernel, module, ko, command, log, cpus):
    """Boots KERNEL with KO in place of MODULE's (None: the unpatched
    drivers) and the trigger; runs COMMAND; (the runner's verdict, the
    console lines)."""
    verdict_file = log.with_suffix(".verdict.json")
    cmd = [str(TOP / "scripts" / "run-qemu.sh"), "--kernel", kernel, "--smp", str(cpus),
           "--timeout", str(LIMIT[kernel]), "--verdict", str(verdict_file),
           "--add", f"{TRIGGER}:/usr/bin/safety-trigger", "--exec", command]
    if ko:
        cmd[1:1] = ["--add", f"{ko}:/lib/modules/{module}.ko"]
    with open(log, "w") as out:
        subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    return verdict.read(verdict_file), log.read_text(errors="replace").replace("\r", "").splitlines()


# Boots of each trigger on the KCSAN kernel: KCSAN watches one access in a
# few thousand, so each boot is one try, and the report says in how many
# of them it reported the race.
KCSAN_TRIES = 3


def run_trigger(row, variant, kernel, ko):
    """ROW's trigger on KERNEL with the patched module KO: the outcome of
    its first boot, its witness, and on the KCSAN kernel how many boots
    KCSAN reported in."""
    module = VARIANTS[variant][2]
    tag = f"{row['name']}:{variant}:{kernel}"
    runs = []
    for n in range(KCSAN_TRIES if kernel == KCSAN else 1):
        log = OUT / row["name"] / variant / kernel / f"vm{n or ''}.log"
        run, lines = boot(kernel, module, ko, f"safety-trigger -t {tag} /dev/{module} {row['trigger']}", log,
                          row.get("cpus", 1))
        runs.append(classify(run, lines, module, tag) | {"log": str(log)})
    cell = runs[0]
    if kernel == KCSAN:
        reported = [r["kcsan"][0] for r in runs if r["kcsan"]]
        cell["kcsan_sampled"] = {"boots": len(runs), "reported": len(reported),
                                 "line": reported[0] if reported else ""}
    return cell


def measure_variant(row, variant, compile_only):
    """One variant of ROW: its compile outcome and, if it compiles, its runs."""
    result = {}
    ko, result["build"] = build(row, variant, "release")
    if compile_only or ko is None:
        return result
    for kernel in kernels_of(row, variant):
        if kernel != "release":
            ko, built = build(row, variant, kernel)
            if ko is None:
                result[kernel] = {"outcome": "did not compile", "line": built.get("message", ""),
                                  "at_load": None, "witness": None, "witnesses": [], "elsewhere": []}
                continue
        result[kernel] = run_trigger(row, variant, kernel, ko)
    return result


def control(kernel, rows):
    """Every trigger on the unpatched drivers, each on a freshly loaded
    module, in one VM with 2 CPUs: each trigger's outcome and witnesses,
    keyed by (row, module)."""
    modules = ("c_sample",) if kernel == KCSAN else ("c_sample", "rust_sample")
    script, tags = [], {}
    for row in rows:
        if kernel == KCSAN and not row.get("kcsan"):
            continue
        for module in modules:
            tag = f"control:{row['name']}:{module}:{kernel}"
            tags[(row["name"], module)] = tag
            # A trigger may unload the module (step u): load it again.
            script.append(f"{{ rmmod {module} 2>/dev/null; insmod /lib/modules/{module}.ko && "
                          f"safety-trigger -t {tag} /dev/{module} {row['trigger']}; }}")
    log = OUT / f"control-{kernel}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    limit_cmd = "; ".join(script) + "; true"
    run, lines = boot(kernel, None, None, limit_cmd, log, 2)
    # Each trigger's part of the console: from its marker to the next one.
    starts = sorted((n, tag) for n, line in enumerate(lines) if KERNEL_LINE.match(line)
                    and (m := MARKER.search(line)) and (tag := m.group(1)) in tags.values())
    parts = {}
    for i, (n, tag) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(lines)
        parts[tag] = lines[n:end]
    # Each trigger's kernel lines, with every line the programs printed
    # (classify picks its own by tag).
    printed = [line for line in lines if DATA.search(line)]
    measured = {(name, module): classify(run, parts.get(tag, []) + printed, module, tag)
                for (name, module), tag in tags.items()}
    return {"kernel": kernel, "verdict": run, "log": str(log), "runs": measured}


# The suite's cases where two tasks meet in the C driver (blocked callers
# whose wait conditions read the queue unlocked, concurrent writers and
# readers), run ROUNDS times on the KCSAN kernel against the unpatched C
# driver: KCSAN samples, so each round is one more try.
KCSAN_CASES = ("blocked", "wakes", "two_readers", "writers_to")
KCSAN_ROUNDS = 10


def kcsan_suite():
    """The unpatched C driver under the suite's concurrent cases on the
    KCSAN kernel: how many KCSAN reports name it, in how many tries."""
    # Each run's verdict is its exit status, printed as data.
    runs = " ".join(f"sample-tests --device c_sample --only {case}; echo \"SAFETY-SUITE {case} $?\";"
                    for case in KCSAN_CASES)
    command = f"for round in $(seq {KCSAN_ROUNDS}); do {runs} done; true"
    log = OUT / "kcsan-suite.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    run, lines = boot(KCSAN, None, None, command, log, 2)
    found = [r for r in reports(lines, "c_sample") if r["outcome"].startswith("KCSAN")]
    statuses = [int(m.group(1)) for line in lines if (m := re.match(r"^SAFETY-SUITE \S+ (\d+)$", line))]
    return {"verdict": run, "tries": KCSAN_ROUNDS * len(KCSAN_CASES), "runs": statuses,
            "reports": [r["line"] for r in found if r["ours"]],
            "elsewhere": [r["line"] for r in found if not r["ours"]]}


def control_faults(ctl):
    """What makes a control fail: a trigger that was not quiet, a witness
    seen on the unpatched driver, or a report anywhere."""
    faults = []
    if ctl["verdict"]["verdict"] != "pass":
        faults.append(f"the VM's verdict is {ctl['verdict']['verdict']}: {ctl['verdict']['reason']} "
                      f"(log: {ctl['log']})")
    for (name, module), run in ctl["runs"].items():
        if run["outcome"] != QUIET:
            faults.append(f"{name} on {module}: {run['outcome']}: {run['line']}")
        if run["witness"]:
            faults.append(f"{name} on {module}: a witness on the unpatched driver: {run['witness']['example']}")
        faults += [f"{name} on {module}: KCSAN: {line}" for line in run.get("kcsan", [])]
        faults += [f"{name} on {module}: a report: {line}" for line in run["elsewhere"]]
    return faults


def proof(row, variant, kernel, cell, controls):
    """Why CELL shows the bug happened, or None: its outcome differs from
    the control's, a witness, or the catalogue's reason for silence."""
    ctl = controls.get(kernel, {}).get("runs", {}).get((row["name"], VARIANTS[variant][2]))
    if ctl is None:
        return None
    if cell["outcome"] != ctl["outcome"]:
        return "differs from its control"
    if cell["witness"] and not ctl["witness"]:
        w = cell["witness"]
        return f"witness: {w['seen']} {w['unit']} in {w['tries']} tries"
    silent = row.get("silent", {})
    if f"{variant} {kernel}" in silent or kernel in silent:
        return "silent, as the catalogue says why"
    return None


def summary(row, measured, controls):
    """The row as report.json holds it."""
    out = {"name": row["name"], "class": row["class"], "lesson": row["lesson"]}
    for variant in variants_of(row):
        if variant not in measured:
            continue
        m = measured[variant]
        side = {"what": row[variant]["what"], "compiles": m["build"]["compiles"]}
        if variant == "c":
            side["warnings"] = len(m["build"].get("warnings", []))
            side["warning_lines"] = m["build"].get("warnings", [])
        if variant == "rust":
            side["needs"] = row["rust"]["needs"]
        if m["build"]["compiles"]:
            side["runtime"] = {k: m[k]["outcome"] for k in kernels_of(row, variant) if k in m}
            side["cells"] = {k: {**m[k], "proof": proof(row, variant, k, m[k], controls)}
                             for k in kernels_of(row, variant) if k in m}
            side["witness"] = {k: bool(m[k]["witness"]) for k in kernels_of(row, variant) if k in m}
            side["sampled"] = {k: m[k]["kcsan_sampled"] for k in kernels_of(row, variant)
                               if "kcsan_sampled" in m.get(k, {})}
        else:
            side["error"] = m["build"]["error"]
            side["message"] = m["build"]["message"]
        out[variant] = side
    return out


# The fields compared with expected.json: what is measured, not the lines.
COMPARED = ("compiles", "warnings", "error", "message", "runtime", "witness")


def differences(got, want, compile_only):
    diffs = []
    for variant in VARIANTS:
        if variant not in got:
            continue
        for field in COMPARED:
            if compile_only and (variant == "c" or field in ("runtime", "witness")):
                continue
            if got[variant].get(field) != want.get(variant, {}).get(field):
                diffs.append(f"{variant} {field}: measured {got[variant].get(field)!r}, "
                             f"expected {want.get(variant, {}).get(field)!r}")
    return diffs


def unproven(got):
    """The cells of a measured row that do not show their bug happened."""
    return [f"{variant} on the {kernel} kernel: {cell['outcome']}, as its control, with no witness, and the "
            f"catalogue gives no reason"
            for variant in VARIANTS if variant in got
            for kernel, cell in got[variant].get("cells", {}).items() if cell["proof"] is None]


def runner_errors(got):
    """The cells of a measured row whose VM gave no measurement: the runner
    failed (listed apart: they fail the run, but say nothing of the row)."""
    return [f"{variant} on the {kernel} kernel: {cell['runner_error']} (log: {cell['log']})"
            for variant in VARIANTS if variant in got
            for kernel, cell in got[variant].get("cells", {}).items() if cell.get("runner_error")]


def expected_of(report_row):
    """What expected.json keeps of a measured row: the compared fields, and
    how often KCSAN reported (sampled, so shown, never compared)."""
    return {v: {f: report_row[v][f] for f in COMPARED if f in report_row[v]}
            | ({"sampled": report_row[v]["sampled"]} if report_row[v].get("sampled") else {})
            for v in VARIANTS if v in report_row}


def ktap(results):
    """KTAP: one result per (name, faults, note): the rows, the controls."""
    lines, failed = ["KTAP version 1", f"1..{len(results)}"], 0
    for n, (name, faults, note) in enumerate(results, 1):
        lines += [f"# {f}" for f in faults]
        lines.append(f"{'not ok' if faults else 'ok'} {n} {name}: {note}")
        failed += bool(faults)
    print("\n".join(lines), flush=True)
    return failed


def cell_text(cell):
    text = cell["outcome"]
    if cell.get("witness"):
        w = cell["witness"]
        text += f"; witness: {w['seen']} {w['unit']} in {w['tries']}"
    if cell.get("at_load"):
        text = f"at load: {cell['at_load']['outcome']}; then {text}"
    return text


def note(report_row):
    parts = []
    for variant in VARIANTS:
        side = report_row.get(variant)
        if side is None:
            continue
        if not side["compiles"]:
            parts.append(f"{LABELS[variant]}: {side.get('error')}: {side.get('message')}")
        elif side.get("cells"):
            parts.append(f"{LABELS[variant]}: " + ", ".join(f"{k} {cell_text(c)}" for k, c in side["cells"].items()))
        else:
            parts.append(f"{LABELS[variant]}: compiles")
    return "; ".join(parts)


def main():
    global BUILD, OUT, MAKE_VARS, TRIGGER, WITH_KCSAN, KERNELS
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", help="build/ARCH")
    p.add_argument("--make-vars", default="", help="Kbuild's variables for the kernels, such as LLVM=-19")
    p.add_argument("--trigger", help="the trigger program, built for the guest")
    p.add_argument("--only", help="the rows whose name contains this")
    p.add_argument("--kcsan", action="store_true", help="run the kcsan rows on the KCSAN kernel too")
    p.add_argument("--kernels", default=" ".join(KERNELS), help="the kernels to boot (default: release debug)")
    p.add_argument("--jobs", type=int, default=2, help="VMs at a time (default 2, one per host core)")
    p.add_argument("--compile-only", action="store_true", help="only the Rust variants' compile outcome")
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
    WITH_KCSAN = args.kcsan
    KERNELS = tuple(args.kernels.split())
    rows = [r for r in catalogue() if args.only is None or args.only in r["name"]]
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    start = time.time()

    jobs = [(row, v) for row in rows for v in variants_of(row) if not args.compile_only or v != "c"]
    kcsan_rows = WITH_KCSAN and any(r.get("kcsan") for r in rows)
    control_kernels = [] if args.compile_only else list(KERNELS) + ([KCSAN] if kcsan_rows else [])
    def measure(job):
        return measure_variant(job[0], job[1], args.compile_only)
    # The rows whose bug is a race (cpus > 1) need their VM's CPUs to run
    # at once, so they run last, one VM at a time, with nothing beside them.
    races = [j for j in jobs if j[0].get("cpus", 1) > 1 and not args.compile_only]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        controls_f = [pool.submit(control, k, rows) for k in control_kernels]
        suite_f = pool.submit(kcsan_suite) if kcsan_rows and not args.compile_only else None
        done = dict(zip(map(id, jobs), pool.map(lambda j: None if j in races else measure(j), jobs)))
        controls = [f.result() for f in controls_f]
        suite = suite_f.result() if suite_f else None
    done.update({id(j): measure(j) for j in races})
    measured = [done[id(j)] for j in jobs]
    by_kernel = {c["kernel"]: c for c in controls}
    by_row = {}
    for (row, variant), m in zip(jobs, measured):
        by_row.setdefault(row["name"], {})[variant] = m
    report = [summary(row, by_row[row["name"]], by_kernel) for row in rows]
    results, errors = [], []
    for r in report:
        want = expected.get(r["name"])
        failed_runs = runner_errors(r)
        errors += [f"{r['name']}: {e}" for e in failed_runs]
        if failed_runs:
            diffs = [f"runner error, not a measurement: {e}" for e in failed_runs]
        elif args.record:
            diffs = [] if args.compile_only else unproven(r)
        elif want is None:
            diffs = ["no expected outcome in tests/safety/expected.json"]
        else:
            diffs = differences(r, want, args.compile_only) + ([] if args.compile_only else unproven(r))
        results.append((r["name"], diffs, note(r)))
    OUT.mkdir(parents=True, exist_ok=True)
    name = "report-compile.json" if args.compile_only else "report.json"
    (OUT / name).write_text(json.dumps({
        "seconds": round(time.time() - start), "rows": report,
        "controls": [{"kernel": c["kernel"], "verdict": c["verdict"], "faults": control_faults(c),
                      "runs": {f"{n} {m}": run for (n, m), run in c["runs"].items()}} for c in controls],
        "kcsan_suite": suite,
    }, indent=1) + "\n")
    if args.record and not args.compile_only:
        # A row whose VM gave no measurement keeps what it had.
        expected.update({r["name"]: expected_of(r) for r in report if not runner_errors(r)})
        EXPECTED.write_text(json.dumps(expected, indent=1) + "\n")
    results += [(f"control on the {c['kernel']} kernel", control_faults(c),
                 "every trigger is quiet on the unpatched drivers, with no witness") for c in controls]
    if suite:
        faults = [f"KCSAN: {line}" for line in suite["reports"]]
        if suite["verdict"]["verdict"] != "pass":
            faults.append(f"the VM's verdict is {suite['verdict']['verdict']}: {suite['verdict']['reason']}")
        if len(suite["runs"]) != suite["tries"] or any(suite["runs"]):
            faults.append(f"the suite's runs did not all pass: {suite['runs']} (see {OUT / 'kcsan-suite.log'})")
        results.append(("the unpatched C driver on the KCSAN kernel", faults,
                        f"the suite's concurrent cases, {suite['tries']} runs: {len(suite['reports'])} KCSAN reports"
                        f" name c_sample ({len(suite['elsewhere'])} elsewhere)"))
    failed = ktap(results)
    if errors:
        print(f"# {len(errors)} runner errors (no measurement; they fail the run):")
        print("\n".join(f"#   {e}" for e in errors))
    print(f"# {round(time.time() - start)} s; report: {OUT / name}")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def docs(check):
    """docs/safety.md: the catalogue and its expected outcomes, as tables."""
    rows, expected = catalogue(), json.loads(EXPECTED.read_text())
    text = DOC_HEAD
    text += ("| # | class | C: release kernel | C: debug kernel | Rust, as a developer writes it | Rust needs "
             "| unsafe Rust, doing what C does |\n|---|---|---|---|---|---|---|\n")
    for n, row in enumerate(rows, 1):
        want = expected[row["name"]]
        c = want["c"]

        def cell(variant, kernel):
            side = want.get(variant, {})
            outcome = side.get("runtime", {}).get(kernel, "")
            if side.get("witness", {}).get(kernel):
                outcome += " (witness)"
            return outcome

        def rust(variant):
            side = want.get(variant)
            if side is None:
                return ""
            if not side["compiles"]:
                return f"refused: {side['error']}: {side['message']}"
            return "compiles; " + ", ".join(f"{k}: {cell(variant, k)}" for k in side["runtime"])
        c_release, c_debug = cell("c", "release"), cell("c", "debug")
        if "kcsan" in c.get("runtime", {}):
            s = c.get("sampled", {}).get("kcsan", {})
            c_debug += (f"; KCSAN kernel: {cell('c', 'kcsan')}, and KCSAN reported the race in "
                        f"{s.get('reported', 0)} of {s.get('boots', 0)} boots")
        if not c["compiles"]:
            c_release = c_debug = "does not compile"
        text += (f"| {n} | {row['class']} | {c_release} | {c_debug} | {rust('rust')} | {row['rust']['needs']} | "
                 f"{rust('unsafe') or '(not needed)'} |\n")
    text += "\n" + counts(rows, expected) + "\n## The rows\n"
    for n, row in enumerate(rows, 1):
        text += (f"\n### {n}. {row['class']}: `{row['name']}`\n\n{row['lesson']}\n\n"
                 f"- **C**: {row['c']['what']}.\n- **Rust** (needs: {row['rust']['needs']}): {row['rust']['what']}.\n")
        if "unsafe" in row:
            text += f"- **unsafe Rust**: {row['unsafe']['what']}.\n"
        text += f"- **Trigger**: `safety-trigger DEVICE {row['trigger']}`"
        text += f" (on {row['cpus']} CPUs)\n" if row.get("cpus", 1) > 1 else "\n"
        for where, why in row.get("silent", {}).items():
            variant, _, kernel = where.rpartition(" ")
            text += f"- **Silent on the {kernel} kernel{f' ({LABELS[variant]})' if variant else ''}**: {why}.\n"
        for variant in variants_of(row):
            text += f"\n{LABELS[variant]}:\n\n```diff\n"
            for edit in row[variant]["edits"]:
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

    def runtime(name, variant, kernel):
        return expected[name].get(variant, {}).get("runtime", {}).get(kernel, "")

    def witness(name, variant, kernel):
        return expected[name].get(variant, {}).get("witness", {}).get(kernel, False)
    c_compiles = sum(expected[r["name"]]["c"]["compiles"] for r in rows)
    release = sum(runtime(r["name"], "c", "release") != QUIET for r in rows)
    release_witness = sum(runtime(r["name"], "c", "release") == QUIET and witness(r["name"], "c", "release")
                          for r in rows)
    debug = sum(runtime(r["name"], "c", "debug").startswith(DETECTORS) for r in rows)
    nothing = sum(not runtime(r["name"], "c", "debug").startswith(DETECTORS)
                  and not expected[r["name"]]["c"].get("sampled", {}).get("kcsan", {}).get("reported")
                  and runtime(r["name"], "c", "release") == QUIET for r in rows)
    refused = sum(not expected[r["name"]]["rust"]["compiles"] for r in rows)
    stopped = sum(expected[r["name"]]["rust"]["compiles"]
                  and all(v.startswith("panic") or v.startswith("at load: panic")
                          for v in expected[r["name"]]["rust"]["runtime"].values()) for r in rows)
    forget = sum(expected[r["name"]]["rust"]["compiles"] and r["rust"]["needs"] == "forget" for r in rows)
    unsafe_rows = [r for r in rows if "unsafe" in r]
    unsafe_debug = sum(runtime(r["name"], "unsafe", "debug").startswith(DETECTORS) for r in unsafe_rows)
    return (f"In numbers: C compiles {c_compiles} of {n}; the release kernel shows {release}, and a witness "
            f"measures {release_witness} more that show nothing; the debug kernel's detectors catch {debug}; "
            f"no detector catches {nothing}. Rust, as a developer writes it, is refused at compile time in "
            f"{refused}, stopped at run time in {stopped} (a panic, which is a kernel BUG), and does not help in "
            f"{n - refused - stopped} ({forget} of which take an explicit `core::mem::forget`). Where writing "
            f"the bug takes `unsafe` ({len(unsafe_rows)} rows), the unsafe Rust that does what the C does "
            f"compiles in each, and the debug kernel's detectors catch {unsafe_debug} of them.\n")


DOC_HEAD = """# Memory safety, shown: the classic kernel bugs in both drivers

<!-- Generated by scripts/test/safety.py --docs from tests/safety/catalogue.toml
and tests/safety/expected.json: edit those, then run make docs. -->

Each row is one class of bug that is behind many kernel CVEs, written into
the drivers' own code: in C, the bug itself; in Rust, the closest thing a
developer would write while trying to do the same; and where that takes
`unsafe`, the unsafe Rust that does compile and does what the C does.
`make safety` applies each variant to a scratch copy, builds it against
the release and the debug kernel, and boots each kernel with the patched
module and the row's trigger program
([tests/safety/trigger.c](../tests/safety/trigger.c)), in a VM of its own.
Every trigger also runs on the unpatched drivers (the control). What each
row does is measured, and compared with what is written here: a row that
behaves otherwise fails `make safety`. The Rust variants' compile outcome
is checked by `make test` too.

A row must show that its bug happened, on each kernel: its outcome differs
from the control's, or the trigger measured a *witness*, or the row says
why that kernel shows nothing (that is then the lesson). The witnesses
measure what no detector reports: a torn snapshot of the counters (a data
race), a capacity beyond the maximum (a double fetch), the kernel memory
lost (a leak); on the unpatched drivers each must be zero. A kernel report
counts for a row only after the trigger's start marker and with a frame of
the patched module in it; a report before the marker is shown as *at
load*.

How to read it. **C: release kernel**: what a user would see on a
production-like kernel: *nothing visible*, *wrong data* (the trigger saw an
answer that is not the queue's), an errno other than the one the contract
gives, a *hang* (the trigger names the call that did not return within
10 s), an *Oops*. **C: debug kernel**: which of its detectors (KASAN,
UBSAN, lockdep, kmemleak, the atomic-sleep check) reports it, else what
happened. **Rust**: *refused* with rustc's error code, or, if it compiles,
what it does on each kernel; a Rust *panic* is a kernel BUG: an Oops, and
the lock it held stays held. **Rust needs**: what it takes to write the
bug in Rust at all: *none*, the safe `core::mem::forget`, or *unsafe*.

KASAN instruments Rust code in 7.3, so the debug kernel sees the unsafe
Rust's memory errors as it sees C's. KCSAN (data races) and KMSAN
(uninitialised memory) instrument C only (scripts/Makefile.lib), and each
needs a kernel of its own (they exclude KASAN). `make safety` builds a
KCSAN kernel for the data race (row 4, C only); KCSAN samples accesses, so
it reports a race with some probability per try. KMSAN is not built here:
in C it would catch the uninitialised field copied to user space (row 6).

"""


if __name__ == "__main__":
    sys.exit(main())
