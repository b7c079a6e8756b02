//! `sample-bench`: the guest side of `make bench` (scripts/bench.sh).
//!
//! It measures `/dev/rust_sample`, `/dev/c_sample` and a plain `pipe(2)`,
//! the three with the same 64 KiB of buffer (the devices through
//! `SAMPLE_IOC_SET_CAPACITY`, the pipe by default):
//!
//! - `roundtrip`: write 1 byte, read it back, on one descriptor (the pipe:
//!   its two ends);
//! - `get_stats`: `SAMPLE_IOC_GET_STATS` on each device, `FIONREAD` on the
//!   pipe, and `getppid()`, the cheapest system call, as the floor;
//! - `stream-1cpu-N`: a writer process streams `N`-byte writes, a reader
//!   process reads `N` bytes at a time, both on CPU 0;
//! - with `--two-cpus`, only `stream-2cpu-N`: the same with the reader on
//!   CPU 0 and the writer on CPU 1.
//!
//! It reads `CLOCK_MONOTONIC`, whatever that counts: under QEMU's
//! instruction clock (`run-qemu.sh --icount`) one nanosecond is one executed
//! instruction. Each repetition runs every benchmark for rust_sample,
//! c_sample and the pipe in turn. It prints one line per sample,
//!
//! ```text
//! SAMPLE-BENCH-RESULT <benchmark> <target> <operations or bytes> <ns>
//! ```
//!
//! and leaves the statistics to `scripts/bench/bench_report.py`. Progress goes to
//! stderr.
//!
//! ```text
//! sample-bench [--reps N] [--sample-ms MS]    measure (default 3 x 50 ms)
//! sample-bench --two-cpus [...]               the two-CPU streaming only
//! sample-bench --trace                        the price list's workload
//! ```
//!
//! `--trace` is what `scripts/bench/bench_trace.py` single-steps through QEMU's
//! gdb stub: it prints the modules' symbols (`/proc/kallsyms`), then runs
//! each traced operation on descriptors that exist for nothing else, so that
//! a breakpoint can tell them apart.

#[path = "../../../../src/sample_abi.rs"]
#[allow(dead_code)]
mod abi;

use std::ffi::CString;
use std::time::{Duration, Instant};

/// The devices' capacity during the run: a pipe's default buffer.
const CAPACITY: u32 = 65536;
/// Chunk sizes for the streaming runs.
const CHUNKS: [usize; 3] = [64, 4096, 65536];
/// Untimed time at the start of every sample (caches, scheduler).
const WARMUP: Duration = Duration::from_millis(5);

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

    /// The same open file on descriptor number `fd`.
    fn dup_to(&self, fd: i32) -> Result<Fd, String> {
        // SAFETY: dup2 only creates a descriptor; `fd` is unused by design.
        if unsafe { libc::dup2(self.0, fd) } != fd {
            return Err(fail("dup2"));
        }
        Ok(Fd(fd))
    }
}

/// The control descriptor of a device: neither reader nor writer.
fn ctl(path: &str) -> Result<Fd, String> {
    open(path, 3 | libc::O_NONBLOCK)
}

/// Empties the device and gives it a new ring of `capacity` bytes
/// (`SET_CAPACITY` always allocates), as a new pipe gets new buffers.
fn reset(path: &str, mut capacity: u32) -> Result<(), String> {
    let ctl = ctl(path)?;
    if ctl.ioctl(abi::SAMPLE_IOC_CLEAR, std::ptr::null_mut()) != 0 {
        return Err(fail("SAMPLE_IOC_CLEAR"));
    }
    let arg = (&mut capacity as *mut u32).cast();
    if ctl.ioctl(abi::SAMPLE_IOC_SET_CAPACITY, arg) != 0 {
        return Err(fail("SAMPLE_IOC_SET_CAPACITY"));
    }
    Ok(())
}

fn get_stats(fd: &Fd) -> Result<abi::SampleStats, String> {
    let mut stats = [0u8; abi::SAMPLE_STATS_SIZE];
    if fd.ioctl(abi::SAMPLE_IOC_GET_STATS, stats.as_mut_ptr()) != 0 {
        return Err(fail("SAMPLE_IOC_GET_STATS"));
    }
    Ok(abi::SampleStats::from_bytes(&stats))
}

/// Moves the calling process (or thread) to one CPU.
fn pin_to_cpu(cpu: usize) -> Result<(), String> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET stays in bounds.
    let ok = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) == 0
    };
    ok.then_some(())
        .ok_or_else(|| fail(&format!("pin to CPU {cpu}")))
}

// ---------------------------------------------------------------------------
// What is measured
// ---------------------------------------------------------------------------

/// The three things compared, in the order every repetition runs them.
#[derive(Clone, Copy)]
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

    /// (read end, write end): the device opened twice, with `read` and
    /// `write` as flags, or a new pipe's two ends. A device gets a new,
    /// empty ring.
    fn ends(self, read: i32, write: i32) -> Result<(Fd, Fd), String> {
        match self.path() {
            Some(path) => {
                reset(path, CAPACITY)?;
                Ok((open(path, read)?, open(path, write)?))
            }
            None => pipe(),
        }
    }
}

/// Runs `op` for `time` after a warm-up; returns (operations, ns). `op`
/// returns how many operations (or bytes) it did.
fn timed(
    time: Duration,
    mut op: impl FnMut() -> Result<u64, String>,
) -> Result<(u64, u128), String> {
    let start = Instant::now();
    while start.elapsed() < WARMUP {
        op()?;
    }
    let start = Instant::now();
    let mut done = 0;
    loop {
        // Read the clock every 64 calls: its cost is then small next to theirs.
        for _ in 0..64 {
            done += op()?;
        }
        let elapsed = start.elapsed();
        if elapsed >= time {
            return Ok((done, elapsed.as_nanos()));
        }
    }
}

/// Round trip: write one byte, read it back.
fn roundtrip(target: Target, time: Duration) -> Result<(u64, u128), String> {
    let (reader, writer) = target.ends(libc::O_RDWR, libc::O_RDWR)?;
    let mut byte = [0x5Au8; 1];
    timed(time, || {
        if writer.write(&byte) != 1 || reader.read(&mut byte) != 1 {
            return Err(fail("1-byte write + read"));
        }
        Ok(1)
    })
}

/// One query of the queue's state: GET_STATS, or FIONREAD on a pipe.
fn query(target: Target, time: Duration) -> Result<(u64, u128), String> {
    let (fd, _other) = match target.path() {
        Some(path) => (ctl(path)?, None),
        None => {
            let (reader, writer) = pipe()?;
            (reader, Some(writer))
        }
    };
    let mut buf = [0u8; abi::SAMPLE_STATS_SIZE];
    let cmd = match target {
        Target::Pipe => libc::FIONREAD as u32,
        _ => abi::SAMPLE_IOC_GET_STATS,
    };
    timed(time, || {
        if fd.ioctl(cmd, buf.as_mut_ptr()) != 0 {
            return Err(fail("ioctl"));
        }
        Ok(1)
    })
}

fn getppid(time: Duration) -> Result<(u64, u128), String> {
    timed(time, || {
        // SAFETY: getppid has no arguments and cannot fail.
        std::hint::black_box(unsafe { libc::getppid() });
        Ok(1)
    })
}

/// Streaming: a writer child writes `chunk`-byte blocks, this process reads
/// `chunk` bytes at a time; returns (bytes read, ns). `cpus` 1: both on
/// CPU 0; 2: the writer on CPU 1.
fn stream(
    target: Target,
    chunk: usize,
    cpus: usize,
    time: Duration,
) -> Result<(u64, u128), String> {
    // Both ends are opened before the fork, so the reader never sees a
    // device without writers (end-of-file).
    let (reader, writer) = target.ends(libc::O_RDONLY, libc::O_WRONLY)?;
    pin_to_cpu(0)?;
    // SAFETY: the process is single-threaded; the child only writes and
    // leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(fail("fork"));
    }
    if pid == 0 {
        drop(reader);
        if pin_to_cpu(cpus - 1).is_err() {
            // SAFETY: leaves the child at once, as it must after fork.
            unsafe { libc::_exit(1) };
        }
        let data = vec![0xA5u8; chunk];
        loop {
            let mut rest = &data[..];
            while !rest.is_empty() {
                let n = writer.write(rest);
                if n <= 0 {
                    // SAFETY: as above.
                    unsafe { libc::_exit(1) };
                }
                rest = &rest[n as usize..];
            }
        }
    }
    drop(writer);
    let mut buf = vec![0u8; chunk];
    let result = timed(time, || match reader.read(&mut buf) {
        n if n > 0 => Ok(n as u64),
        _ => Err(fail("read")),
    });
    // SAFETY: `pid` is our child; it is killed and reaped here.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    result
}

// ---------------------------------------------------------------------------
// The runs
// ---------------------------------------------------------------------------

fn report(
    benchmark: &str,
    target: &str,
    sample: Result<(u64, u128), String>,
) -> Result<(), String> {
    let (count, ns) = sample.map_err(|e| format!("{benchmark} {target}: {e}"))?;
    println!("SAMPLE-BENCH-RESULT {benchmark} {target} {count} {ns}");
    Ok(())
}

fn measure(reps: usize, sample: Duration, cpus: usize) -> Result<(), String> {
    let first_line = |path: &str| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines().next().unwrap_or("").replace(' ', "_")
    };
    println!(
        "SAMPLE-BENCH-GUEST kernel={} cpus_online={} clocksource={}",
        first_line("/proc/sys/kernel/osrelease"),
        first_line("/sys/devices/system/cpu/online"),
        first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
    );
    let old: Vec<u32> = [Target::Rust, Target::C]
        .iter()
        .map(|t| Ok(get_stats(&ctl(t.path().unwrap())?)?.capacity))
        .collect::<Result<_, String>>()?;
    for rep in 1..=reps {
        eprintln!("sample-bench: repetition {rep}/{reps}");
        if cpus == 1 {
            for target in TARGETS {
                report("roundtrip", target.name(), roundtrip(target, sample))?;
            }
            for target in TARGETS {
                report("get_stats", target.name(), query(target, sample))?;
            }
            report("getppid", "none", getppid(sample))?;
        }
        for chunk in CHUNKS {
            for target in TARGETS {
                let name = format!("stream-{cpus}cpu-{chunk}");
                report(&name, target.name(), stream(target, chunk, cpus, sample))?;
            }
        }
    }
    for (target, capacity) in [Target::Rust, Target::C].into_iter().zip(old) {
        reset(target.path().unwrap(), capacity)?;
    }
    Ok(())
}

/// The traced descriptors: the operations on these numbers are the ones
/// `scripts/bench/bench_trace.py` stops at (warm-up uses other numbers).
const TRACE_FD: [(Target, i32); 2] = [(Target::Rust, 100), (Target::C, 101)];

/// The price list's workload: per device, a 1-byte write and read, a
/// 64-byte write and read and a GET_STATS, first 100 times to warm up, then
/// 50 times on the traced descriptors.
fn trace() -> Result<(), String> {
    pin_to_cpu(0)?;
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").map_err(|e| e.to_string())?;
    for line in kallsyms.lines() {
        if line.ends_with("[rust_sample]") || line.ends_with("[c_sample]") {
            println!("SAMPLE-BENCH-SYM {line}");
        }
    }
    let mut files = Vec::new();
    for (target, fd) in TRACE_FD {
        let (file, _) = target.ends(libc::O_RDWR, libc::O_RDWR)?;
        let traced = file.dup_to(fd)?;
        files.push((file, traced));
    }
    let mut buf = [0x5Au8; 64];
    let mut stats = [0u8; abi::SAMPLE_STATS_SIZE];
    for round in 0..150 {
        for (file, traced) in &files {
            let fd = if round < 100 { file } else { traced };
            let ok = fd.write(&buf[..1]) == 1
                && fd.read(&mut buf[..1]) == 1
                && fd.write(&buf) == 64
                && fd.read(&mut buf) == 64
                && fd.ioctl(abi::SAMPLE_IOC_GET_STATS, stats.as_mut_ptr()) == 0;
            if !ok {
                return Err(fail("traced operation"));
            }
        }
    }
    println!("SAMPLE-BENCH-TRACE-DONE");
    Ok(())
}

fn usage(message: &str) -> ! {
    eprintln!("sample-bench: {message}");
    eprintln!("usage: sample-bench [--two-cpus] [--reps N] [--sample-ms MS] | --trace");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut reps, mut sample_ms, mut trace_mode, mut cpus) = (3, 50, false, 1);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| usage(&format!("{arg} needs a number > 0")))
        };
        match arg.as_str() {
            "--reps" => reps = number(),
            "--sample-ms" => sample_ms = number(),
            "--trace" => trace_mode = true,
            "--two-cpus" => cpus = 2,
            other => usage(&format!("unknown argument '{other}'")),
        }
    }
    let result = if trace_mode {
        trace()
    } else {
        measure(reps as usize, Duration::from_millis(sample_ms), cpus)
    };
    if let Err(e) = result {
        eprintln!("sample-bench: {e}");
        std::process::exit(1);
    }
}
