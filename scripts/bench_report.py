#!/usr/bin/env python3
"""The host side of `make bench`, after the guest has run sample-bench.

    bench_report.py GUEST_JSON HOST_JSON OUT_DIR [--docs DOCS_DIR]

Merges the guest's measurements (GUEST_JSON, sample-bench's output) with the
host's facts (HOST_JSON, written by scripts/bench.sh) into OUT_DIR/bench.json,
adds the verdicts on the project's targets, prints the results as a table
(also written to OUT_DIR/results.md) and, when matplotlib is there, draws
OUT_DIR/throughput.png and OUT_DIR/latency.png. With --docs, the charts are
copied to DOCS_DIR/img/ and the results block of DOCS_DIR/performance.md
(between its BENCH-RESULTS markers) is replaced with the new table.
"""

import json
import shutil
import sys
from pathlib import Path

TARGETS = ["rust_sample", "c_sample", "pipe"]
CHUNKS = ["64", "4096", "65536"]
CHUNK_LABEL = {"64": "64 B", "4096": "4 KiB", "65536": "64 KiB"}
COLOURS = {"rust_sample": "#b7410e", "c_sample": "#3465a4", "pipe": "#888a85"}

# The targets of the issue: Rust within 3 % of C; both drivers within 20 %
# of the pipe at every chunk size.
RUST_VS_C = 0.03
DRIVER_VS_PIPE = 0.20


def verdicts(guest):
    """Which of the project's targets the measured medians meet."""
    r = guest["ratios"]
    out = {
        "rust_within_3pct_of_c_throughput": r["rust_over_c_throughput"] >= 1 - RUST_VS_C,
        "rust_within_3pct_of_c_throughput_every_chunk": all(
            v >= 1 - RUST_VS_C for v in r["rust_over_c_throughput_by_chunk"].values()
        ),
        "rust_within_3pct_of_c_latency": r["rust_over_c_latency"] <= 1 + RUST_VS_C,
    }
    for dev in ("rust", "c"):
        by_chunk = r[f"{dev}_over_pipe_throughput_by_chunk"]
        out[f"{dev}_within_20pct_of_pipe_every_chunk"] = all(
            v >= 1 - DRIVER_VS_PIPE for v in by_chunk.values()
        )
    return out


def fmt(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"


def spread(s):
    return f"±{s['spread_pct'] / 2:.0f}%" if s.get("spread_pct") is not None else ""


def table(doc):
    """The results as Markdown."""
    g, h, r = doc["guest"], doc["host"], doc["guest"]["ratios"]
    lines = []
    add = lines.append
    cfg = g["config"]
    add(
        f"Run {h['date']} on {h['accel'].upper()} ({h['cpu_model']}, "
        f"{h['host_cpus']} host CPUs, load {h['loadavg_at_start']} at start); guest "
        f"kernel {g['guest']['kernel']}, CPUs online {g['guest']['cpus_online']}, "
        f"clocksource {g['guest']['clocksource']}. {cfg['repetitions']} repetitions "
        f"of {cfg['sample_s']:g} s per sample, interleaved; medians, ± half the "
        f"min-max spread."
    )
    add("")
    add("| throughput (MiB/s) | rust_sample | c_sample | pipe | Rust/C | Rust/pipe | C/pipe |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for c in CHUNKS:
        t = g["throughput_mib_s"][c]
        cells = [f"{fmt(t[x]['median'])} {spread(t[x])}" for x in TARGETS]
        add(
            f"| {CHUNK_LABEL[c]} chunks | {' | '.join(cells)} | "
            f"{r['rust_over_c_throughput_by_chunk'][c]:.3f} | "
            f"{r['rust_over_pipe_throughput_by_chunk'][c]:.3f} | "
            f"{r['c_over_pipe_throughput_by_chunk'][c]:.3f} |"
        )
    add(
        f"| geometric mean | | | | {r['rust_over_c_throughput']:.3f} | "
        f"{r['rust_over_pipe_throughput']:.3f} | {r['c_over_pipe_throughput']:.3f} |"
    )
    add("")
    if "switches_per_mib" in g:
        add(
            "| context switches per MiB streamed (medians) | reader sleeps | writer sleeps "
            "| reader preempted | writer preempted |"
        )
        add("|---|---:|---:|---:|---:|")
        for c in CHUNKS:
            for x in TARGETS:
                sw = g["switches_per_mib"][c][x]
                add(
                    f"| {CHUNK_LABEL[c]}, {x} | "
                    + " | ".join(
                        fmt(sw[k]["median"], 0)
                        for k in ("reader_sleeps", "writer_sleeps", "reader_preempted", "writer_preempted")
                    )
                    + " |"
                )
        add("")
    add("| latency (ns per operation) | rust_sample | c_sample | pipe | getppid | Rust/C |")
    add("|---|---:|---:|---:|---:|---:|")
    rt, io = g["roundtrip_ns"], g["ioctl_ns"]
    add(
        "| 1-byte write + 1-byte read | "
        + " | ".join(f"{fmt(rt[x]['median'], 0)} {spread(rt[x])}" for x in TARGETS)
        + f" | | {r['rust_over_c_latency']:.3f} |"
    )
    add(
        f"| ioctl: GET_STATS (pipe: FIONREAD) | "
        f"{fmt(io['rust_sample_get_stats']['median'], 0)} {spread(io['rust_sample_get_stats'])} | "
        f"{fmt(io['c_sample_get_stats']['median'], 0)} {spread(io['c_sample_get_stats'])} | "
        f"{fmt(io['pipe_fionread']['median'], 0)} {spread(io['pipe_fionread'])} | "
        f"{fmt(io['getppid']['median'], 0)} {spread(io['getppid'])} | "
        f"{r['rust_over_c_ioctl']:.3f} |"
    )
    add("")
    v = doc["targets"]
    yes = {True: "met", False: "**not met**"}
    add("| target | measured | |")
    add("|---|---:|---|")
    add(
        f"| Rust within 3% of C, throughput (geomean) | {r['rust_over_c_throughput']:.3f} | "
        f"{yes[v['rust_within_3pct_of_c_throughput']]} |"
    )
    worst = min(r["rust_over_c_throughput_by_chunk"].values())
    add(
        f"| Rust within 3% of C, throughput (worst chunk) | {worst:.3f} | "
        f"{yes[v['rust_within_3pct_of_c_throughput_every_chunk']]} |"
    )
    add(
        f"| Rust within 3% of C, round-trip latency | {r['rust_over_c_latency']:.3f} | "
        f"{yes[v['rust_within_3pct_of_c_latency']]} |"
    )
    for dev, name in (("rust", "rust_sample"), ("c", "c_sample")):
        worst = min(r[f"{dev}_over_pipe_throughput_by_chunk"].values())
        add(
            f"| {name} within 20% of the pipe, every chunk (worst) | {worst:.3f} | "
            f"{yes[v[f'{dev}_within_20pct_of_pipe_every_chunk']]} |"
        )
    add("")
    m = doc["modules"]
    add("| | rust_sample | c_sample |")
    add("|---|---:|---:|")
    for part in ("text", "data", "bss"):
        add(f"| .ko {part} (bytes) | {m['rust_sample']['size'][part]:,} | {m['c_sample']['size'][part]:,} |")
    add(
        f"| source lines (code lines) | {m['rust_sample']['lines']} ({m['rust_sample']['code_lines']}) | "
        f"{m['c_sample']['lines']} ({m['c_sample']['code_lines']}) |"
    )
    add(f"| `unsafe` blocks | {m['rust_sample']['unsafe_blocks']} | - |")
    add("")
    b = h["boot"]
    add(
        f"Boot: `Run /init` at {fmt(b.get('run_init_s'), 2)} s guest time, bench started at "
        f"{fmt(g['guest']['uptime_at_start_s'], 2)} s; the whole VM run took "
        f"{fmt(b.get('vm_wall_s'), 1)} s of wall time. "
        f"Build: cached `make` {fmt(h['make']['cached_s'], 1)} s; cold kernel builds "
        + ", ".join(f"{k} {v['seconds']} s" for k, v in h["make"]["cold_kernels"].items())
        + f" ({h['make']['cold_source']})."
    )
    if h["accel"] != "kvm":
        add("")
        add(
            "TCG emulates the CPU in software: absolute figures are far below real "
            "hardware and only the ratios between the three are meaningful."
        )
    noise = doc["host_noise"]
    if noise["busy"]:
        add("")
        add(
            f"**The host was busy during this run**: `getppid`, which does no work, "
            f"varied by ±{noise['getppid_spread_pct'] / 2:.0f}% across repetitions "
            f"(±1 to 7% on a quiet host). Every figure above moved with it; run "
            f"`make bench` again before reading the ratios."
        )
    return "\n".join(lines) + "\n"


# getppid does no work: its spread across repetitions is the host's noise.
# Quiet hosts gave 2 to 14% (min to max), busy ones 75 to 85%.
BUSY_SPREAD_PCT = 20.0


def host_noise(guest):
    spread_pct = guest["ioctl_ns"]["getppid"]["spread_pct"]
    return {"getppid_spread_pct": spread_pct, "busy": spread_pct > BUSY_SPREAD_PCT}


def charts(doc, out):
    """throughput.png and latency.png; returns their paths ([] without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench_report: matplotlib is missing: no charts", file=sys.stderr)
        return []
    g = doc["guest"]
    accel = doc["host"]["accel"].upper()

    def bar(ax, names, series, scale=1.0):
        meds = [series[n]["median"] * scale for n in names]
        lo = [m - series[n]["min"] * scale for m, n in zip(meds, names)]
        hi = [series[n]["max"] * scale - m for m, n in zip(meds, names)]
        return meds, (lo, hi)

    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    for ax, c in zip(axes, CHUNKS):
        series = g["throughput_mib_s"][c]
        meds, err = bar(ax, TARGETS, series)
        ax.bar(TARGETS, meds, yerr=err, capsize=4, color=[COLOURS[t] for t in TARGETS])
        ax.set_title(f"{CHUNK_LABEL[c]} chunks")
        ax.set_ylabel("MiB/s" if c == CHUNKS[0] else "")
        ax.tick_params(axis="x", labelsize=8)
        for i, m in enumerate(meds):
            ax.text(i, m / 2, f"{m:.3g}", ha="center", va="center", color="white", fontsize=8)
    fig.suptitle(
        f"Streaming throughput, one writer and one reader, 64 KiB buffer ({accel}; median, min-max)",
        fontsize=10,
    )
    fig.tight_layout()
    tput = out / "throughput.png"
    fig.savefig(tput, dpi=100)
    plt.close(fig)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    meds, err = bar(a1, TARGETS, g["roundtrip_ns"], 1e-3)
    a1.bar(TARGETS, meds, yerr=err, capsize=4, color=[COLOURS[t] for t in TARGETS])
    a1.set_title("1-byte write + 1-byte read")
    a1.set_ylabel("µs per round trip")
    names = ["rust_sample_get_stats", "c_sample_get_stats", "pipe_fionread", "getppid"]
    labels = ["rust_sample\nGET_STATS", "c_sample\nGET_STATS", "pipe\nFIONREAD", "getppid\n(floor)"]
    meds, err = bar(a2, names, g["ioctl_ns"], 1e-3)
    colours = [COLOURS["rust_sample"], COLOURS["c_sample"], COLOURS["pipe"], "#d3d7cf"]
    a2.bar(labels, meds, yerr=err, capsize=4, color=colours)
    a2.set_title("ioctl")
    a2.set_ylabel("µs per call")
    for ax in (a1, a2):
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"Latency ({accel}; median, min-max; lower is better)", fontsize=10)
    fig.tight_layout()
    lat = out / "latency.png"
    fig.savefig(lat, dpi=100)
    plt.close(fig)
    return [tput, lat]


def update_docs(docs, text, images):
    img = docs / "img"
    img.mkdir(parents=True, exist_ok=True)
    for p in images:
        shutil.copy(p, img / f"bench-{p.name}")
    page = docs / "performance.md"
    if not page.exists():
        return
    begin, end = "<!-- BENCH-RESULTS:BEGIN -->", "<!-- BENCH-RESULTS:END -->"
    content = page.read_text()
    if begin in content and end in content:
        head, rest = content.split(begin, 1)
        _, tail = rest.split(end, 1)
        page.write_text(f"{head}{begin}\n{text}{end}{tail}")


def main(argv):
    args = argv[1:]
    docs = None
    if "--docs" in args:
        i = args.index("--docs")
        docs = Path(args[i + 1])
        del args[i : i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    guest = json.loads(Path(args[0]).read_text())
    host = json.loads(Path(args[1]).read_text())
    out = Path(args[2])
    out.mkdir(parents=True, exist_ok=True)
    doc = {"guest": guest, "host": host, "targets": verdicts(guest)}
    doc["host_noise"] = host_noise(guest)
    # The headline ratios at the top level too, where people look first.
    doc["ratios"] = guest["ratios"]
    doc["modules"] = host.pop("modules")
    text = table(doc)
    (out / "bench.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out / "results.md").write_text(text)
    images = charts(doc, out)
    if docs is not None:
        update_docs(docs, text, images)
    print(text, end="")
    print(f"\nwritten: {out / 'bench.json'}")
    for p in images:
        print(f"chart:   {p}")
    if doc["host_noise"]["busy"]:
        print(
            "\nWARNING: the host was busy (getppid varied by "
            f"±{doc['host_noise']['getppid_spread_pct'] / 2:.0f}%): the ratios of this run "
            "are unreliable; run make bench again."
        )


if __name__ == "__main__":
    main(sys.argv)
