//! `sample-bench`: the guest side of `make bench` (scripts/bench.sh).
//!
//! It measures `/dev/rust_sample`, `/dev/c_sample` and a plain `pipe(2)`,
//! the three set to the same 64 KiB of buffer (the devices through
//! `SAMPLE_IOC_SET_CAPACITY`, the pipe by default):
//!
//! - streaming throughput, one writer process and one reader process, both
//!   using the same chunk size (64 B, 4 KiB, 64 KiB), with both processes'
//!   context switches per MiB (sleeps and preemptions: how well the
//!   wakeups batch);
//! - round-trip latency: write 1 byte, read it back, on one descriptor
//!   (the pipe: its two ends), in ns per write+read pair;
//! - ioctl latency: `SAMPLE_IOC_GET_STATS` on each device, `FIONREAD` on the
//!   pipe, and `getppid()` as the floor (the cheapest system call).
//!
//! Every sample runs for a fixed time. The runs are interleaved: each
//! repetition runs every benchmark once for rust_sample, c_sample and the
//! pipe in turn, so a slow phase of the host hits all three alike. The
//! result is one JSON document on stdout between two marker lines, with
//! every raw sample, the median, min, max and spread of each series, and
//! the ratios the project's targets are stated in. Progress goes to stderr.
//!
//! ```text
//! sample-bench                      9 repetitions, 0.5 s per sample
//! sample-bench --reps 5 --sample-ms 300
//! sample-bench --quick              2 repetitions, 0.1 s: a smoke test
//! ```

#[path = "../../../../src/sample_abi.rs"]
#[allow(dead_code)]
mod abi;

use std::ffi::CString;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Printed alone on a line before and after the JSON document.
const BEGIN_MARKER: &str = "SAMPLE-BENCH-JSON-BEGIN";
const END_MARKER: &str = "SAMPLE-BENCH-JSON-END";

/// The devices' capacity during the run: a pipe's default buffer.
const CAPACITY: u32 = 65536;
/// Chunk sizes for the throughput runs.
const CHUNKS: [usize; 3] = [64, 4096, 65536];
/// Untimed time at the start of every sample (caches, scheduler).
const WARMUP: Duration = Duration::from_millis(30);
/// Operations between two clock reads in the latency loops.
const BATCH: u64 = 64;

// ---------------------------------------------------------------------------
// System calls
// ---------------------------------------------------------------------------

fn fail(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// An open file descriptor, closed on drop.
struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor and close it once.
        unsafe { libc::close(self.0) };
    }
}

fn open(path: &str, flags: i32) -> Result<Fd, String> {
    let c = CString::new(path).map_err(|e| e.to_string())?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(fail(&format!("open {path}")));
    }
    Ok(Fd(fd))
}

/// A pipe: (read end, write end).
fn pipe() -> Result<(Fd, Fd), String> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(fail("pipe"));
    }
    Ok((Fd(fds[0]), Fd(fds[1])))
}

impl Fd {
    fn read(&self, buf: &mut [u8]) -> isize {
        // SAFETY: `buf` is valid for writes of its length.
        unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) }
    }

    fn write(&self, buf: &[u8]) -> isize {
        // SAFETY: `buf` is valid for reads of its length.
        unsafe { libc::write(self.0, buf.as_ptr().cast(), buf.len()) }
    }

    fn ioctl(&self, cmd: u32, arg: *mut u8) -> i32 {
        // SAFETY: every caller passes a buffer as large as `cmd` says.
        unsafe { libc::ioctl(self.0, cmd as _, arg) }
    }
}

/// The control descriptor of a device: neither reader nor writer.
fn ctl(path: &str) -> Result<Fd, String> {
    open(path, 3 | libc::O_NONBLOCK)
}

fn clear(ctl: &Fd) -> Result<(), String> {
    if ctl.ioctl(abi::SAMPLE_IOC_CLEAR, std::ptr::null_mut()) != 0 {
        return Err(fail("SAMPLE_IOC_CLEAR"));
    }
    Ok(())
}

/// Empties the device and gives it a newly allocated ring of `CAPACITY`
/// bytes (`SET_CAPACITY` always allocates), as a new pipe gets new buffers.
/// Where the ring lands in memory changes the speed of the copies under
/// emulation by up to a third (TLB and host caches); a fresh ring per sample
/// spreads that luck over the repetitions instead of fixing it for a run.
fn fresh_ring(ctl: &Fd) -> Result<(), String> {
    clear(ctl)?;
    set_capacity(ctl, CAPACITY)
}

fn set_capacity(ctl: &Fd, mut capacity: u32) -> Result<(), String> {
    let arg = (&mut capacity as *mut u32).cast();
    if ctl.ioctl(abi::SAMPLE_IOC_SET_CAPACITY, arg) != 0 {
        return Err(fail("SAMPLE_IOC_SET_CAPACITY"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// What is measured
// ---------------------------------------------------------------------------

/// The three things compared, in the order every repetition runs them.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Rust,
    C,
    Pipe,
}

const TARGETS: [Target; 3] = [Target::Rust, Target::C, Target::Pipe];

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Rust => "rust_sample",
            Target::C => "c_sample",
            Target::Pipe => "pipe",
        }
    }

    fn path(self) -> Option<&'static str> {
        match self {
            Target::Rust => Some("/dev/rust_sample"),
            Target::C => Some("/dev/c_sample"),
            Target::Pipe => None,
        }
    }
}

/// Context switches of a process so far: (voluntary, involuntary), from
/// `/proc/PID/status`. A voluntary one is a sleep (an empty or full queue),
/// an involuntary one a preemption.
fn context_switches(pid: i32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

/// What one streaming sample measured.
struct Stream {
    mib_s: f64,
    /// Context switches per MiB moved: reader sleeps, reader preemptions,
    /// writer sleeps, writer preemptions.
    switches_per_mib: [f64; 4],
}

/// One streaming sample: a writer child streams `chunk`-byte writes, this
/// process reads `chunk`-byte reads for `time` after a warm-up. Also counts
/// both processes' context switches: how well the wakeups batch.
fn throughput(target: Target, chunk: usize, time: Duration) -> Result<Stream, String> {
    let (reader, writer) = match target.path() {
        // Both ends are opened before the fork, so the reader never sees a
        // device without writers (end-of-file).
        Some(path) => {
            fresh_ring(&ctl(path)?)?;
            (open(path, libc::O_RDONLY)?, open(path, libc::O_WRONLY)?)
        }
        None => pipe()?,
    };
    // SAFETY: the process is single-threaded; the child only writes and
    // leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(fail("fork"));
    }
    if pid == 0 {
        drop(reader);
        let data = vec![0xA5u8; chunk];
        loop {
            let mut rest = &data[..];
            while !rest.is_empty() {
                let n = writer.write(rest);
                if n <= 0 {
                    // SAFETY: leaves the child at once, as it must after fork.
                    unsafe { libc::_exit(1) };
                }
                rest = &rest[n as usize..];
            }
        }
    }
    drop(writer);
    let mut buf = vec![0u8; chunk];
    // Read the clock every `check` reads: at most every 1 KiB or so.
    let check = (1024 / chunk).max(1) as u64;
    let result = (|| {
        let start = Instant::now();
        while start.elapsed() < WARMUP {
            if reader.read(&mut buf) <= 0 {
                return Err(fail("read (warm-up)"));
            }
        }
        let start = Instant::now();
        // SAFETY: getpid has no arguments and cannot fail.
        let me = unsafe { libc::getpid() };
        let before = [context_switches(me), context_switches(pid)];
        let (mut bytes, mut reads) = (0u64, 0u64);
        loop {
            let n = reader.read(&mut buf);
            if n <= 0 {
                return Err(fail("read"));
            }
            bytes += n as u64;
            reads += 1;
            if reads % check == 0 {
                let elapsed = start.elapsed();
                if elapsed >= time {
                    let after = [context_switches(me), context_switches(pid)];
                    let mib = bytes as f64 / (1024.0 * 1024.0);
                    let per_mib = |a: u64, b: u64| a.saturating_sub(b) as f64 / mib;
                    return Ok(Stream {
                        mib_s: mib / elapsed.as_secs_f64(),
                        switches_per_mib: [
                            per_mib(after[0].0, before[0].0),
                            per_mib(after[0].1, before[0].1),
                            per_mib(after[1].0, before[1].0),
                            per_mib(after[1].1, before[1].1),
                        ],
                    });
                }
            }
        }
    })();
    // SAFETY: `pid` is our child; it is killed and reaped here.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    result
}

/// Runs `op` in batches for `time` after a warm-up; returns ns per op.
fn per_op(time: Duration, mut op: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let start = Instant::now();
    while start.elapsed() < WARMUP {
        op()?;
    }
    let start = Instant::now();
    let mut ops = 0u64;
    loop {
        for _ in 0..BATCH {
            op()?;
        }
        ops += BATCH;
        let elapsed = start.elapsed();
        if elapsed >= time {
            return Ok(elapsed.as_nanos() as f64 / ops as f64);
        }
    }
}

/// Round trip: write one byte, read it back. Returns ns per pair.
fn roundtrip(target: Target, time: Duration) -> Result<f64, String> {
    // A device: one O_RDWR descriptor. The pipe: its two ends.
    let (first, second) = match target.path() {
        Some(path) => {
            fresh_ring(&ctl(path)?)?;
            (open(path, libc::O_RDWR)?, None)
        }
        None => {
            let (reader, writer) = pipe()?;
            (reader, Some(writer))
        }
    };
    let (reader, writer) = (&first, second.as_ref().unwrap_or(&first));
    let mut byte = [0x5Au8; 1];
    per_op(time, || {
        if writer.write(&byte) != 1 {
            return Err(fail("write 1 byte"));
        }
        if reader.read(&mut byte) != 1 {
            return Err(fail("read 1 byte"));
        }
        Ok(())
    })
}

/// The ioctl benchmarks, in the order every repetition runs them.
#[derive(Clone, Copy)]
enum Call {
    GetStats(Target),
    PipeFionread,
    Getppid,
}

const CALLS: [Call; 4] = [
    Call::GetStats(Target::Rust),
    Call::GetStats(Target::C),
    Call::PipeFionread,
    Call::Getppid,
];

impl Call {
    fn name(self) -> String {
        match self {
            Call::GetStats(t) => format!("{}_get_stats", t.name()),
            Call::PipeFionread => "pipe_fionread".into(),
            Call::Getppid => "getppid".into(),
        }
    }
}

/// ns per call.
fn call_latency(call: Call, time: Duration) -> Result<f64, String> {
    match call {
        Call::GetStats(target) => {
            let fd = ctl(target.path().unwrap())?;
            let mut stats = [0u8; abi::SAMPLE_STATS_SIZE];
            per_op(time, || {
                if fd.ioctl(abi::SAMPLE_IOC_GET_STATS, stats.as_mut_ptr()) != 0 {
                    return Err(fail("SAMPLE_IOC_GET_STATS"));
                }
                Ok(())
            })
        }
        Call::PipeFionread => {
            let (reader, _writer) = pipe()?;
            let mut queued = 0i32;
            per_op(time, || {
                let arg = (&mut queued as *mut i32).cast();
                if reader.ioctl(libc::FIONREAD as u32, arg) != 0 {
                    return Err(fail("FIONREAD"));
                }
                Ok(())
            })
        }
        Call::Getppid => per_op(time, || {
            // SAFETY: getppid has no arguments and cannot fail.
            std::hint::black_box(unsafe { libc::getppid() });
            Ok(())
        }),
    }
}

// ---------------------------------------------------------------------------
// Statistics and JSON
// ---------------------------------------------------------------------------

fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn geomean(values: &[f64]) -> f64 {
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

/// A number for JSON (which has no NaN or infinity).
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "null".into()
    }
}

/// `{"unit": .., "samples": [..], "median": .., "min": .., "max": .., "spread_pct": ..}`;
/// the spread is (max - min) / median, in percent.
fn series(unit: &str, samples: &[f64]) -> String {
    let med = median(samples);
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let list: Vec<String> = samples.iter().map(|&x| num(x)).collect();
    format!(
        "{{\"unit\": \"{unit}\", \"median\": {}, \"min\": {}, \"max\": {}, \"spread_pct\": {}, \"samples\": [{}]}}",
        num(med),
        num(min),
        num(max),
        num((max - min) / med * 100.0),
        list.join(", ")
    )
}

/// Per-repetition ratios a[i] / b[i]: the two ran back to back.
fn paired(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

/// `{"median_ratio": .., "paired_min": .., "paired_max": ..}`.
fn ratio(a: &[f64], b: &[f64]) -> String {
    let p = paired(a, b);
    format!(
        "{{\"of_medians\": {}, \"paired_median\": {}, \"paired_min\": {}, \"paired_max\": {}}}",
        num(median(a) / median(b)),
        num(median(&p)),
        num(p.iter().copied().fold(f64::INFINITY, f64::min)),
        num(p.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
    )
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

struct Options {
    reps: usize,
    sample: Duration,
}

fn parse_args() -> Options {
    let mut opts = Options {
        reps: 9,
        sample: Duration::from_millis(500),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = |i: usize| -> u64 {
            args.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{} needs a number", args[i])))
        };
        match args[i].as_str() {
            "--reps" => {
                opts.reps = value(i) as usize;
                i += 1;
            }
            "--sample-ms" => {
                opts.sample = Duration::from_millis(value(i));
                i += 1;
            }
            "--quick" => {
                opts.reps = 2;
                opts.sample = Duration::from_millis(100);
            }
            other => usage(&format!("unknown argument '{other}'")),
        }
        i += 1;
    }
    if opts.reps == 0 {
        usage("--reps must be at least 1");
    }
    opts
}

fn usage(message: &str) -> ! {
    eprintln!("sample-bench: {message}");
    eprintln!("usage: sample-bench [--reps N] [--sample-ms MS] [--quick]");
    std::process::exit(2);
}

fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The first line of a file, or "" (kernel facts for the JSON).
fn first_line(path: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_default()
}

/// How many CPUs a kernel CPU list ("0", "0-1,3") names.
fn cpu_count(list: &str) -> usize {
    list.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('-') {
            Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => 1,
        })
        .sum()
}

/// The resolution of `CLOCK_MONOTONIC`, which times every sample.
fn clock_resolution_ns() -> f64 {
    let mut res = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `res` is a valid timespec to write to.
    if unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC, &mut res) } != 0 {
        return f64::NAN;
    }
    res.tv_sec as f64 * 1e9 + res.tv_nsec as f64
}

fn run(opts: &Options) -> Result<String, String> {
    let uptime_at_start = uptime();
    let started = Instant::now();
    // Every device sample sets a pipe's buffer size (`fresh_ring`); the
    // capacities are restored afterwards.
    let mut old_capacity = Vec::new();
    for target in [Target::Rust, Target::C] {
        let control = ctl(target.path().unwrap())?;
        let mut stats = [0u8; abi::SAMPLE_STATS_SIZE];
        if control.ioctl(abi::SAMPLE_IOC_GET_STATS, stats.as_mut_ptr()) != 0 {
            return Err(fail("SAMPLE_IOC_GET_STATS"));
        }
        old_capacity.push(abi::SampleStats::from_bytes(&stats).capacity);
    }

    // samples[benchmark][target][repetition]
    let mut tput = vec![vec![Vec::new(); TARGETS.len()]; CHUNKS.len()];
    // switches[chunk][target][kind][repetition]
    let mut switches = vec![vec![vec![Vec::new(); 4]; TARGETS.len()]; CHUNKS.len()];
    let mut rtt = vec![Vec::new(); TARGETS.len()];
    let mut calls = vec![Vec::new(); CALLS.len()];
    for rep in 0..opts.reps {
        eprintln!(
            "sample-bench: repetition {}/{} ({:.0} s so far)",
            rep + 1,
            opts.reps,
            started.elapsed().as_secs_f64()
        );
        for (c, &chunk) in CHUNKS.iter().enumerate() {
            for (t, &target) in TARGETS.iter().enumerate() {
                let sample = throughput(target, chunk, opts.sample)?;
                tput[c][t].push(sample.mib_s);
                for (k, v) in sample.switches_per_mib.into_iter().enumerate() {
                    switches[c][t][k].push(v);
                }
            }
        }
        for (t, &target) in TARGETS.iter().enumerate() {
            rtt[t].push(roundtrip(target, opts.sample)?);
        }
        for (k, &call) in CALLS.iter().enumerate() {
            calls[k].push(call_latency(call, opts.sample / 2)?);
        }
    }

    for (target, capacity) in [Target::Rust, Target::C].iter().zip(old_capacity) {
        let control = ctl(target.path().unwrap())?;
        clear(&control)?;
        set_capacity(&control, capacity)?;
    }
    let elapsed = started.elapsed().as_secs_f64();

    let mut j = String::new();
    let w = &mut j;
    let _ = writeln!(w, "{{");
    let _ = writeln!(w, "  \"schema\": 1,");
    let _ = writeln!(
        w,
        "  \"config\": {{\"repetitions\": {}, \"sample_s\": {}, \"ioctl_sample_s\": {}, \"warmup_s\": {}, \
         \"capacity_bytes\": {CAPACITY}, \"chunk_sizes\": [64, 4096, 65536], \
         \"order\": \"each repetition runs every benchmark for rust_sample, c_sample, pipe in turn\"}},",
        opts.reps,
        num(opts.sample.as_secs_f64()),
        num(opts.sample.as_secs_f64() / 2.0),
        num(WARMUP.as_secs_f64()),
    );
    let _ = writeln!(
        w,
        "  \"guest\": {{\"kernel\": \"{}\", \"cpus_online\": {}, \"clocksource\": \"{}\", \
         \"clock_resolution_ns\": {}, \"uptime_at_start_s\": {}, \"bench_elapsed_s\": {}}},",
        first_line("/proc/sys/kernel/osrelease"),
        cpu_count(&first_line("/sys/devices/system/cpu/online")),
        first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
        num(clock_resolution_ns()),
        num(uptime_at_start),
        num(elapsed)
    );
    let _ = writeln!(w, "  \"throughput_mib_s\": {{");
    for (c, chunk) in CHUNKS.iter().enumerate() {
        let _ = writeln!(w, "    \"{chunk}\": {{");
        for (t, target) in TARGETS.iter().enumerate() {
            let sep = if t + 1 < TARGETS.len() { "," } else { "" };
            let s = series("MiB/s", &tput[c][t]);
            let _ = writeln!(w, "      \"{}\": {s}{sep}", target.name());
        }
        let sep = if c + 1 < CHUNKS.len() { "," } else { "" };
        let _ = writeln!(w, "    }}{sep}");
    }
    let _ = writeln!(w, "  }},");
    let _ = writeln!(w, "  \"switches_per_mib\": {{");
    for (c, chunk) in CHUNKS.iter().enumerate() {
        let _ = writeln!(w, "    \"{chunk}\": {{");
        for (t, target) in TARGETS.iter().enumerate() {
            let kinds = [
                "reader_sleeps",
                "reader_preempted",
                "writer_sleeps",
                "writer_preempted",
            ];
            let items: Vec<String> = kinds
                .iter()
                .enumerate()
                .map(|(k, kind)| {
                    let s = series("context switches per MiB", &switches[c][t][k]);
                    format!("\"{kind}\": {s}")
                })
                .collect();
            let sep = if t + 1 < TARGETS.len() { "," } else { "" };
            let _ = writeln!(
                w,
                "      \"{}\": {{{}}}{sep}",
                target.name(),
                items.join(", ")
            );
        }
        let sep = if c + 1 < CHUNKS.len() { "," } else { "" };
        let _ = writeln!(w, "    }}{sep}");
    }
    let _ = writeln!(w, "  }},");
    let _ = writeln!(w, "  \"roundtrip_ns\": {{");
    for (t, target) in TARGETS.iter().enumerate() {
        let sep = if t + 1 < TARGETS.len() { "," } else { "" };
        let s = series("ns per 1-byte write + 1-byte read", &rtt[t]);
        let _ = writeln!(w, "    \"{}\": {s}{sep}", target.name());
    }
    let _ = writeln!(w, "  }},");
    let _ = writeln!(w, "  \"ioctl_ns\": {{");
    for (k, call) in CALLS.iter().enumerate() {
        let sep = if k + 1 < CALLS.len() { "," } else { "" };
        let s = series("ns per call", &calls[k]);
        let _ = writeln!(w, "    \"{}\": {s}{sep}", call.name());
    }
    let _ = writeln!(w, "  }},");

    // Ratios of medians; throughput ratios > 1 and latency ratios < 1 favour
    // the numerator. The geometric mean weighs each chunk size alike.
    let (r, c, p) = (0, 1, 2);
    let med = |s: &Vec<f64>| median(s);
    let by_chunk = |a: usize, b: usize| -> Vec<f64> {
        (0..CHUNKS.len())
            .map(|k| med(&tput[k][a]) / med(&tput[k][b]))
            .collect()
    };
    let chunk_map = |v: &[f64]| -> String {
        let items: Vec<String> = CHUNKS
            .iter()
            .zip(v)
            .map(|(chunk, x)| format!("\"{chunk}\": {}", num(*x)))
            .collect();
        format!("{{{}}}", items.join(", "))
    };
    let _ = writeln!(w, "  \"ratios\": {{");
    for (name, a, b) in [
        ("rust_over_c", r, c),
        ("rust_over_pipe", r, p),
        ("c_over_pipe", c, p),
    ] {
        let v = by_chunk(a, b);
        let _ = writeln!(w, "    \"{name}_throughput\": {},", num(geomean(&v)));
        let _ = writeln!(w, "    \"{name}_throughput_by_chunk\": {},", chunk_map(&v));
        let _ = writeln!(
            w,
            "    \"{name}_latency\": {},",
            num(med(&rtt[a]) / med(&rtt[b]))
        );
    }
    let _ = writeln!(
        w,
        "    \"rust_over_c_ioctl\": {},",
        num(med(&calls[0]) / med(&calls[1]))
    );
    let _ = writeln!(
        w,
        "    \"rust_get_stats_over_getppid\": {},",
        num(med(&calls[0]) / med(&calls[3]))
    );
    let _ = writeln!(
        w,
        "    \"c_get_stats_over_getppid\": {},",
        num(med(&calls[1]) / med(&calls[3]))
    );
    // The same ratios taken repetition by repetition (the two ran back to
    // back), with their range: a check on the ratios of medians.
    let _ = writeln!(w, "    \"paired\": {{");
    for (k, chunk) in CHUNKS.iter().enumerate() {
        let _ = writeln!(
            w,
            "      \"rust_over_c_throughput_{chunk}\": {},",
            ratio(&tput[k][r], &tput[k][c])
        );
    }
    let _ = writeln!(
        w,
        "      \"rust_over_c_latency\": {},",
        ratio(&rtt[r], &rtt[c])
    );
    let _ = writeln!(
        w,
        "      \"rust_over_c_ioctl\": {}",
        ratio(&calls[0], &calls[1])
    );
    let _ = writeln!(w, "    }}");
    let _ = writeln!(w, "  }}");
    let _ = writeln!(w, "}}");
    Ok(j)
}

fn main() {
    let opts = parse_args();
    match run(&opts) {
        Ok(json) => {
            println!("{BEGIN_MARKER}");
            print!("{json}");
            println!("{END_MARKER}");
        }
        Err(e) => {
            eprintln!("sample-bench: {e}");
            std::process::exit(1);
        }
    }
}
