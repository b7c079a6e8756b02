#!/usr/bin/env python3
"""`make mutants` (run through scripts/mutants.sh): how many small bugs the
suite catches.

For each mutant in tests/mutants/DRIVER.tsv, one at a time, in a scratch
copy of the sources: apply it, build that driver's module against the
cached kernel, boot the VM with the mutant in place of the driver
(run-qemu.sh --add) and run that driver's cases, stopping at the first
failure. A mutant is killed if a case fails, the kernel reports a problem
(the runner's splat detection: KASAN, lockdep, kmemleak, WARNING, ...), or
the run exceeds its time limit. Mutants marked `debug` run on the debug
kernel, with the cases whose name has "capacity" in it. Two mutants run at
a time (one per host core), each VM with one vCPU.

Writes build/mutants/report.json and prints every survivor with its diff.

    scripts/mutants.sh [--driver rust_sample|c_sample] [--only NAME]
"""

import argparse
import difflib
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import ktap  # noqa: E402 (scripts/lib/ktap.py: the project's one KTAP reader)
import verdict  # noqa: E402 (scripts/lib/verdict.py: the runner's verdict, as data)
from scratch import kbuild, patched_copy  # noqa: E402 (scripts/test/scratch.py)

TOP = Path(__file__).resolve().parent.parent.parent
# scripts/mutants.sh says where (build/ARCH, --build-dir) and how Kbuild
# builds against its kernels (--make-vars): main() sets these.
BUILD = OUT = Path()
MAKE_VARS = []
DRIVERS = {"rust_sample": ("rust_sample.o", "rust_sample.ko"), "c_sample": ("src/c_sample.o", "src/c_sample.ko")}
# Seconds a mutant's VM may run: a hang counts as killed (the release
# suite passes in about 30 s; a busy loop in the kernel never ends).
LIMIT = {"release": 150, "debug": 900}
# Seconds a case may run (the release suite takes about 30 s in all).
CASE_LIMIT = {"release": 20, "debug": 120}


def load(driver):
    """The mutants of DRIVER, as dicts."""
    mutants = []
    for line in (TOP / "tests" / "mutants" / f"{driver}.tsv").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        name, kernel, path, old, new, what = fields[:6]
        unescape = lambda s: s.replace("\\n", "\n").replace("\\t", "\t")
        mutants.append({"driver": driver, "name": name, "kernel": kernel, "file": path,
                        "old": unescape(old), "new": unescape(new), "what": what,
                        "equivalent": fields[6] if len(fields) > 6 else None})
    return mutants


def apply(m):
    """A scratch copy of the sources with the mutant applied; its diff."""
    scratch = OUT / m["driver"] / m["name"]
    changed = patched_copy(scratch, [(m["file"], m["old"], m["new"])], DRIVERS[m["driver"]][0],
                           f"mutant {m['driver']}/{m['name']}")
    text, mutated = changed[m["file"]]
    diff = difflib.unified_diff(text.splitlines(True), mutated.splitlines(True), f"a/{m['file']}", f"b/{m['file']}", n=1)
    return scratch, "".join(diff)


def build(m, scratch):
    """Builds the mutant's module; returns the .ko, or None if it does not compile."""
    status = kbuild(scratch, BUILD / m["kernel"] / "kdir", MAKE_VARS, scratch / "build.log")
    ko = scratch / "out" / DRIVERS[m["driver"]][1]
    return ko if status == 0 and ko.exists() else None


def run(m, ko):
    """Boots the VM with the mutant; returns (outcome, why): killed by a
    failed case, a kernel report or a time-out, survived, or error: the
    runner failed, which says nothing about the mutant."""
    driver = m["driver"]
    only = " --only capacity" if m["kernel"] == "debug" else ""
    log = ko.parent.parent / "run.log"
    verdict_file = ko.parent.parent / "verdict.json"
    verdict_file.unlink(missing_ok=True)
    cmd = [str(TOP / "scripts" / "run-qemu.sh"), "--kernel", m["kernel"], "--smp", "1", "--timeout", str(LIMIT[m["kernel"]]),
           "--verdict", str(verdict_file), "--add", f"{ko}:/lib/modules/{driver}.ko",
           "--exec", f"SAMPLE_CASE_TIMEOUT={CASE_LIMIT[m['kernel']]} sample-tests --device {driver} --fail-fast{only}"]
    with open(log, "w") as out:
        subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    v = verdict.read(verdict_file)
    if v["verdict"] == "pass":
        return "survived", "every case passed"
    if v["verdict"] == "kernel-report":
        return "killed", "kernel report: " + (v["first_report"] or "").strip()[:200]
    if v["verdict"] == "timeout":
        return "killed", f"timed out after {LIMIT[m['kernel']]} s"
    if v["verdict"] == "failed":
        _, root = ktap.count(log)
        failure = ktap.first_failure(root) if root else ""
        return "killed", "case failed: " + (failure or f"the suite exited {v['guest_status']}")[:200]
    return "error", f"{v['reason']} (log: {log})"


def one(m):
    start = time.time()
    scratch, diff = apply(m)
    ko = build(m, scratch)
    if ko is None:
        result = {"outcome": "does not compile"}
    else:
        outcome, why = run(m, ko)
        result = {"outcome": outcome, "why": why}
    result.update({k: m[k] for k in ("name", "kernel", "what", "equivalent")}, diff=diff,
                  seconds=round(time.time() - start))
    print(f"{m['driver']:11} {m['name']:28} {result['outcome']:16} {result['seconds']:4} s  {result.get('why', '')[:90]}", flush=True)
    return result


def main():
    global BUILD, OUT, MAKE_VARS
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True, help="build/ARCH")
    p.add_argument("--make-vars", default="", help="Kbuild's variables for the kernels, such as LLVM=-19")
    p.add_argument("--driver", choices=list(DRIVERS))
    p.add_argument("--only")
    args = p.parse_args()
    BUILD = Path(args.build_dir)
    OUT = BUILD / "mutants"
    MAKE_VARS = args.make_vars.split()
    mutants = [m for d in DRIVERS if args.driver in (None, d) for m in load(d)
               if args.only is None or args.only in m["name"]]
    if not mutants:
        # Nothing tested is no pass.
        print(f"mutants: no mutant matches --driver {args.driver} --only {args.only}", file=sys.stderr)
        return 2
    start = time.time()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, mutants))
    report = {}
    for driver in DRIVERS:
        mine = [r for m, r in zip(mutants, results) if m["driver"] == driver]
        if not mine:
            continue
        errors = [r for r in mine if r["outcome"] == "error"]
        compiled = [r for r in mine if r["outcome"] not in ("does not compile", "error")]
        killed = [r for r in compiled if r["outcome"] == "killed"]
        equivalent = [r for r in compiled if r["outcome"] == "survived" and r["equivalent"]]
        survivors = [r for r in compiled if r["outcome"] == "survived" and not r["equivalent"]]
        denominator = len(compiled) - len(equivalent)
        report[driver] = {
            "total": len(compiled), "killed": len(killed),
            "equivalent": [{"name": r["name"], "why": r["equivalent"]} for r in equivalent],
            "survivors": [{"name": r["name"], "what": r["what"], "diff": r["diff"]} for r in survivors],
            "did_not_compile": [r["name"] for r in mine if r["outcome"] == "does not compile"],
            "errors": [{"name": r["name"], "why": r["why"]} for r in errors],
            "score": round(len(killed) / denominator, 4) if denominator else None,
            "mutants": mine,
        }
    report["seconds"] = round(time.time() - start)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print()
    for driver, r in report.items():
        if driver == "seconds":
            continue
        print(f"{driver}: {r['killed']} of {r['total']} killed, {len(r['equivalent'])} equivalent, "
              f"score {r['score']}; {len(r['did_not_compile'])} did not compile; {len(r['errors'])} errors")
        for e in r["errors"]:
            print(f"  error {e['name']}: {e['why']} (not counted: the run says nothing about the mutant)")
        for s in r["survivors"]:
            print(f"  survivor {s['name']}: {s['what']}\n" + "".join("    " + l for l in s["diff"].splitlines(True)))
    print(f"{report['seconds']} s; report: {OUT / 'report.json'}")
    # A survivor or an error fails the run: an error leaves a mutant untested.
    return 0 if all(not r["survivors"] and not r["errors"] for k, r in report.items() if k != "seconds") else 1


if __name__ == "__main__":
    sys.exit(main())
