#!/usr/bin/env python3
"""The host side of `make bench` (scripts/bench.sh), after the VMs ran.

Reads from OUT: console-CLOCK-CPUS.txt (sample-bench's SAMPLE-BENCH-RESULT
lines, per clock and number of vCPUs), trace.json (bench_trace.py's instruction
addresses), module-symbols.txt (the modules' /proc/kallsyms lines) and
host.txt. Writes OUT/bench.json, OUT/results.md and the charts; with
--publish DOCS, also the results block of DOCS/performance.md,
DOCS/bench.json and the charts in DOCS/img/.
"""

import argparse
import bisect
import json
import re
import shutil
import statistics
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

DEVICES = ["rust_sample", "c_sample"]
TARGETS = DEVICES + ["pipe"]
CHUNKS = ["64", "4096", "65536"]
COLOURS = {"rust_sample": "#b7410e", "c_sample": "#3465a4", "pipe": "#888a85"}
# What a figure is called on each clock: per operation, and for streaming.
UNITS = {
    "instructions": ("instructions per operation", "bytes per 1,000 instructions", 1e3),
    "wall": ("ns per operation", "MiB/s", 1e9 / 2**20),
}


# --- The measurements -------------------------------------------------------


def read_results(console, clock):
    """{benchmark: {target: [value per repetition]}}: per-operation cost, or
    bytes per unit of time for streaming; and the guest's facts."""
    per_op, per_time = 1.0, UNITS[clock][2]
    results, guest = defaultdict(lambda: defaultdict(list)), {}
    for line in console.read_text(errors="replace").splitlines():
        fields = line.split()
        if fields[:1] == ["SAMPLE-BENCH-GUEST"]:
            guest = dict(f.split("=", 1) for f in fields[1:])
        elif fields[:1] == ["SAMPLE-BENCH-RESULT"] and len(fields) == 5:
            bench, target, count, ns = fields[1], fields[2], int(fields[3]), int(fields[4])
            value = count / ns * per_time if bench.startswith("stream") else ns / count * per_op
            results[bench][target].append(value)
    if not results:
        raise SystemExit(f"bench_report: no results in {console}")
    return results, guest


def summary(results):
    return {
        bench: {t: {"median": statistics.median(v), "min": min(v), "max": max(v), "samples": v} for t, v in by.items()}
        for bench, by in results.items()
    }


def ratios(results, cpus):
    """Medians' ratios. Latency: < 1 favours the numerator; throughput: > 1."""
    med = {b: {t: statistics.median(v) for t, v in by.items()} for b, by in results.items()}
    out = {}
    if cpus == 1:
        out["rust_over_c_latency"] = med["roundtrip"]["rust_sample"] / med["roundtrip"]["c_sample"]
        out["rust_over_c_get_stats"] = med["get_stats"]["rust_sample"] / med["get_stats"]["c_sample"]
        out["rust_over_pipe_latency"] = med["roundtrip"]["rust_sample"] / med["roundtrip"]["pipe"]
    for chunk in CHUNKS:
        s = med[f"stream-{cpus}cpu-{chunk}"]
        out[f"rust_over_c_throughput_{chunk}"] = s["rust_sample"] / s["c_sample"]
        out[f"rust_over_pipe_throughput_{chunk}"] = s["rust_sample"] / s["pipe"]
        out[f"c_over_pipe_throughput_{chunk}"] = s["c_sample"] / s["pipe"]
    return {k: round(v, 5) for k, v in out.items()}


# --- The price list -----------------------------------------------------------


def tool(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


class Symbols:
    """Address -> function, for the kernel (vmlinux) and the loaded modules."""

    def __init__(self, args, module_lines):
        entries = []
        for line in tool(args.nm, "-n", args.vmlinux).splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "tTwW":
                entries.append((int(f[0], 16), f[2], None))
        self.loaded = {}
        for line in module_lines:
            f = line.split()  # SAMPLE-BENCH-SYM addr type name [module]
            if len(f) == 5 and f[2] in "tT":
                module = f[4].strip("[]")
                entries.append((int(f[1], 16), f[3], module))
                self.loaded[(module, f[3])] = int(f[1], 16)
        entries.sort()
        self.addrs = [e[0] for e in entries]
        self.entries = entries
        names = sorted({e[1] for e in entries if e[1].startswith("_R")})
        demangled = tool(args.nm.replace("llvm-nm", "llvm-cxxfilt"), *names).splitlines() if names else []
        self.pretty = dict(zip(names, demangled))

    def lookup(self, pc):
        return self.entries[bisect.bisect_right(self.addrs, pc) - 1]

    def name(self, raw):
        """A readable name: Rust's without module paths, so
        `<kernel::sync::condvar::CondVar>::notify` is `CondVar::notify`."""
        name = re.sub(r"\b(\w+::)+(?=\w)", "", self.pretty.get(raw, raw))
        m = re.fullmatch(r"<(.*)>(::.*)", name)
        return m.group(1) + m.group(2) if m else name


# Where each function belongs in the chart: the first pattern that matches.
GROUPS = [
    ("the driver's read/write/ioctl", r"^(sample_|MiscdeviceVTable|SampleDevice|Ring)"),
    ("kernel crate wrapper", r"^(CondVar|Mutex|Guard)"),
    ("copies to and from user memory", r"copy|rep_movs|_copy_"),
    ("the lock", r"mutex"),
    ("wake-ups", r"wake|spin_lock|spin_unlock"),
    ("system call and VFS", r""),
]


def group_of(name):
    return next(label for label, pattern in GROUPS if re.search(pattern, name))


def classify(objdump, ko):
    """{ko offset: category} for every instruction of the module's .text.
    A conditional jump whose target calls a panic is an overflow check, a
    bounds check or an assertion, and so is a compare right before it; the
    rest is saving registers (push/pop), a stack spill or reload (a move to
    or from the stack), a call or return, or the work itself."""
    text = tool(objdump, "-d", "-r", "--no-show-raw-insn", "-j", ".text", ko)
    insns, calls = [], {}
    for line in text.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if "R_X86_64" in line:  # a relocation: for a call, the callee
            if "PLT32" in line and insns and insns[-1][1] == "callq":
                calls[insns[-1][0]] = line.split()[-1]
        elif m:
            insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
    index = {a: i for i, (a, _, _) in enumerate(insns)}
    kind = {}
    for i, (addr, op, rest) in enumerate(insns):
        if op.startswith("push") or op.startswith("pop"):
            kind[addr] = "saving registers"
        elif op in ("callq", "retq", "jmp"):
            kind[addr] = "call, return, jump"
        elif op.startswith("mov") and "(%rsp)" in rest:
            kind[addr] = "stack spill or reload"
        else:
            kind[addr] = "work"
        m = re.match(r"0x([0-9a-f]+)", rest)
        if not (op.startswith("j") and op != "jmp" and m and int(m.group(1), 16) in index):
            continue
        for target, top, _ in insns[index[int(m.group(1), 16)]:][:16]:
            if top == "callq":
                callee = calls.get(target, "")
                # core's split_at reports a bad split through panic_fmt.
                check = ("overflow check" if "overflow" in callee else
                         "bounds check" if re.search("index|bounds|panic_fmt", callee) else
                         "assertion" if "assert" in callee else None)
                if check:
                    kind[addr] = check
                    if i > 0 and insns[i - 1][1].startswith(("cmp", "test")):
                        kind[insns[i - 1][0]] = check
                break
            if top in ("jmp", "retq"):
                break
    return kind


def price_list(args, out):
    """Per operation and device: instructions per function and per group, the
    driver's checks, and an annotated listing of the driver's instructions."""
    trace = json.loads((out / "trace.json").read_text())
    syms = Symbols(args, (out / "module-symbols.txt").read_text().splitlines())
    kos = {"rust_sample": args.rust_ko, "c_sample": args.c_ko}
    ko_syms = {d: {l.split()[-1]: int(l.split()[0], 16) for l in tool(args.nm, ko).splitlines() if len(l.split()) == 3}
               for d, ko in kos.items()}
    kinds_of = {d: classify(args.objdump, ko) for d, ko in kos.items()}
    table, listing = {}, []
    for entry in trace:
        device, op = entry["device"], entry["operation"]
        functions, kinds = Counter(), Counter()
        for pc in (int(p, 16) for p in entry["pcs"]):
            start, raw, module = syms.lookup(pc)
            functions[syms.name(raw)] += 1
            if module:  # an instruction of the module: what kind?
                offset = pc - start + ko_syms[module][raw]
                kinds[kinds_of[module].get(offset, "?")] += 1
        groups = Counter()
        for name, n in functions.items():
            groups[group_of(name)] += n
        table.setdefault(op, {})[device] = {
            "instructions": len(entry["pcs"]),
            "functions": dict(functions.most_common()),
            "groups": dict(groups),
            "driver_instructions_by_kind": dict(kinds.most_common()),
        }
    lines = ["| operation | function | rust_sample | c_sample | Rust - C |", "|---|---|---:|---:|---:|"]
    for op, by in table.items():
        r, c = by["rust_sample"], by["c_sample"]
        names = sorted(set(r["functions"]) | set(c["functions"]), key=lambda n: -(r["functions"].get(n, 0) + c["functions"].get(n, 0)))
        for n in names:
            a, b = r["functions"].get(n, 0), c["functions"].get(n, 0)
            lines.append(f"| {op} | `{n}` | {a} | {b} | {a - b:+d} |")
        lines.append(f"| **{op}** | **total** | **{r['instructions']}** | **{c['instructions']}** | **{r['instructions'] - c['instructions']:+d}** |")
    listing += ["| operation | instructions of the modules' own code, by kind | rust_sample | c_sample | Rust - C |",
                "|---|---|---:|---:|---:|"]
    for op, by in table.items():
        r, c = (by[d]["driver_instructions_by_kind"] for d in DEVICES)
        for k in sorted(set(r) | set(c), key=lambda k: -(r.get(k, 0) + c.get(k, 0))):
            listing.append(f"| {op} | {k} | {r.get(k, 0)} | {c.get(k, 0)} | {r.get(k, 0) - c.get(k, 0):+d} |")
    return table, lines, listing


# --- Output -------------------------------------------------------------------


def fmt(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:,.2f}"


def results_table(doc, clock):
    block = doc if clock == doc["clock"] else doc["cross_check"]
    per_op, per_time, _ = UNITS[clock]
    res, lines = block["results"], []
    lines.append(f"| {clock} clock | rust_sample | c_sample | pipe | Rust/C |")
    lines.append("|---|---:|---:|---:|---:|")
    for bench, label in [("roundtrip", f"1-byte write + read ({per_op})"), ("get_stats", f"GET_STATS; pipe: FIONREAD ({per_op})")]:
        m = {t: res[bench][t]["median"] for t in TARGETS}
        lines.append(f"| {label} | {fmt(m['rust_sample'])} | {fmt(m['c_sample'])} | {fmt(m['pipe'])} | {m['rust_sample'] / m['c_sample']:.3f} |")
    lines.append(f"| getppid(), the floor ({per_op}) | | | {fmt(res['getppid']['none']['median'])} | |")
    for cpus in (1, 2):
        for chunk in CHUNKS:
            m = {t: res[f"stream-{cpus}cpu-{chunk}"][t]["median"] for t in TARGETS}
            where = "1 CPU" if cpus == 1 else "2 CPUs, not exact under host load"
            lines.append(f"| streaming {chunk} B, {where} ({per_time}) | {fmt(m['rust_sample'])} | "
                         f"{fmt(m['c_sample'])} | {fmt(m['pipe'])} | {m['rust_sample'] / m['c_sample']:.3f} |")
    return lines


def disagreements(doc):
    """Where the two clocks disagree about which driver is faster."""
    a, b = doc["results"], doc["cross_check"]["results"]
    found = []
    for bench in a:
        if bench == "getppid":
            continue
        x = a[bench]["rust_sample"]["median"] / a[bench]["c_sample"]["median"]
        y = b[bench]["rust_sample"]["median"] / b[bench]["c_sample"]["median"]
        if (x - 1) * (y - 1) < 0:
            found.append(f"{bench} (Rust/C {x:.3f} on the {doc['clock']} clock, {y:.3f} on the wall clock)")
    if not found:
        return "The two clocks agree about which driver is faster in every benchmark."
    return "The two clocks disagree about which driver is faster in: " + "; ".join(found) + "."


def charts(doc, out):
    """price-list.png (stacked bars per function group) and results.png;
    [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    paths = []
    if doc["price_list"]:
        paths.append(price_list_chart(doc, out, plt))
    paths.append(results_chart(doc, out, plt))
    return paths


def price_list_chart(doc, out, plt):
    """price-list.png: instructions per function group, per operation."""
    table = doc["price_list"]["operations"]
    fig, ax = plt.subplots(figsize=(10, 5))
    labels = [label for label, _ in GROUPS]
    palette = ["#b7410e", "#e9b96e", "#729fcf", "#8ae234", "#ad7fa8", "#babdb6"]
    ops = list(table)
    for i, op in enumerate(ops):
        for j, device in enumerate(DEVICES):
            bottom, x = 0, i + (j - 0.5) * 0.38
            for k, label in enumerate(labels):
                n = table[op][device]["groups"].get(label, 0)
                ax.bar(x, n, 0.36, bottom=bottom, color=palette[k], edgecolor="white", label=label if i == j == 0 else None)
                bottom += n
            ax.text(x, bottom + 4, f"{'Rust' if j == 0 else 'C'}\n{bottom}", ha="center", fontsize=8)
    ax.set_xticks(range(len(ops)), ops)
    ax.set_ylabel("instructions (single-stepped, one operation)")
    ax.set_title("Where each operation's instructions go: Rust (left) and C (right)")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_ylim(0, max(t["instructions"] for by in table.values() for t in by.values()) * 1.25)
    fig.tight_layout()
    fig.savefig(out / "price-list.png", dpi=100)
    plt.close(fig)
    return out / "price-list.png"


def results_chart(doc, out, plt):
    """results.png: Rust/C per figure."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    res = doc["results"]
    per_op, per_time, _ = UNITS[doc["clock"]]
    for ax, benches, unit in [(axes[0], ["roundtrip", "get_stats"], per_op), (axes[1], [f"stream-1cpu-{c}" for c in CHUNKS], per_time)]:
        for j, t in enumerate(TARGETS):
            vals = [res[b][t]["median"] for b in benches]
            ax.bar([i + (j - 1) * 0.27 for i in range(len(benches))], vals, 0.25, color=COLOURS[t], label=t)
        ax.set_xticks(range(len(benches)), [b.replace("stream-1cpu-", "stream ") + (" B" if "stream" in b else "") for b in benches])
        ax.set_ylabel(unit)
        if "stream" in benches[0]:
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"make bench, {doc['clock']} clock ({doc['cpu_model']}, {doc['qemu']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "results.png", dpi=100)
    plt.close(fig)
    return out / "results.png"


def main():
    p = argparse.ArgumentParser()
    for name in ("out", "clocks", "vmlinux", "nm", "objdump", "rust_ko", "c_ko"):
        p.add_argument("--" + name.replace("_", "-"), required=True)
    p.add_argument("--publish")
    args = p.parse_args()
    out = Path(args.out)
    host = dict(line.rstrip("\n").split(" ", 1) for line in (out / "host.txt").read_text().splitlines())
    clocks = args.clocks.split()
    doc = {"schema": 2, "arch": host["arch"], "clock": clocks[0], "accel": host["accel"], "qemu": host["qemu"],
           "cpu_model": host["icount_cpu"] if clocks[0] == "instructions" else ("host" if host["accel"] == "kvm" else "max"),
           "units": dict(zip(("per_operation", "streaming"), UNITS[clocks[0]][:2])), "host": host}
    for i, clock in enumerate(clocks):
        results, guest = read_results(out / f"console-{clock}-1.txt", clock)
        two, guest_two = read_results(out / f"console-{clock}-2.txt", clock)
        results.update(two)
        block = {"clock": clock, "guest": guest, "guest_two_cpus": guest_two, "results": summary(results),
                 "ratios": ratios(results, 1),
                 "ratios_two_cpus": dict(ratios(results, 2), deterministic=False, note=(
                     "two vCPUs take turns where the host's load decides: these figures repeat "
                     "exactly on an idle host only"))}
        if i == 0:
            doc.update(block)
        else:
            doc["cross_check"] = block
    if (out / "trace.json").exists():
        table, lines, listing = price_list(args, out)
        doc["price_list"] = {"method": "one of each operation single-stepped through QEMU's gdb stub "
                             "(interrupts off), from the system call's entry to its return; instruction clock, CPU "
                             + host["icount_cpu"], "operations": table}
    else:  # bench.sh makes the price list on x86_64 only
        lines, listing = [f"(no price list on {host['arch']}: its single-step trace is x86_64's)"], []
        doc["price_list"] = None
    (out / "bench.json").write_text(json.dumps(doc, indent=1) + "\n")

    text = [f"Run {host['date']}: {doc['accel'].upper()}, {host['qemu']}, guest CPU {doc['cpu_model']}; "
            f"host {host['host_cpu']} ({host['host_cpus']} CPUs, load {host['loadavg']}). Medians of "
            f"{len(doc['results']['roundtrip']['rust_sample']['samples'])} repetitions.", ""]
    text += results_table(doc, doc["clock"])
    if "cross_check" in doc:
        text += ["", "The wall-clock cross-check, same kernel, same run:", ""] + results_table(doc, "wall")
        text += ["", disagreements(doc)]
    text += ["", "Where the instructions go (one operation each, single-stepped):", ""] + lines + [""] + listing
    (out / "results.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    images = charts(doc, out)
    if args.publish:
        docs = Path(args.publish)
        for image in images:
            shutil.copy(image, docs / "img" / f"bench-{image.name}")
        page = docs / "performance.md"
        begin, end = "<!-- BENCH-RESULTS:BEGIN -->", "<!-- BENCH-RESULTS:END -->"
        old = page.read_text()
        head, rest = old.split(begin, 1)
        page.write_text(head + begin + "\n" + "\n".join(text) + "\n" + end + rest.split(end, 1)[1])
        shutil.copy(out / "bench.json", docs / "bench.json")


if __name__ == "__main__":
    main()
