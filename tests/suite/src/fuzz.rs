//! The model-based random tester (`sample-tests fuzz`, `make fuzz`).
//!
//! Single-process mode drives one device with random operations from a seed
//! and checks every result, every byte and the statistics after every step
//! against a model of the contract (`Model`). Calls the model says must
//! sleep are checked too: a timer signal interrupts them, and they must end
//! with `EINTR` having changed nothing.
//!
//! Multi-process mode runs several processes that open, close, read, write,
//! resize and query at random, blocking and not, while a signal hits them
//! every few milliseconds (half of them restart with `SA_RESTART`). It
//! checks `bytes_written == bytes_read + len` at every `GET_STATS`, and that
//! every writer's bytes arrived exactly once.
//!
//! A failure prints the seed, the step and the operation; the same seed
//! replays the same single-process run.

use crate::abi::{self, SampleStats};
use crate::dev::{ioctl_clear, set_capacity, stats};
use crate::sys::*;
use crate::Dev;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// xorshift64*: small, fast and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How a buffer given to read or write behaves.
#[derive(Clone, Copy, Debug)]
enum Buffer {
    /// All `n` bytes are mapped.
    Good,
    /// Only the first `good` bytes are mapped.
    HalfBad { good: usize },
    /// Not mapped at all.
    Bad,
}

impl Buffer {
    fn good_len(self, n: usize) -> usize {
        match self {
            Buffer::Good => n,
            Buffer::HalfBad { good } => good.min(n),
            Buffer::Bad => 0,
        }
    }
}

/// An open file as the model sees it.
struct Open {
    fd: Fd,
    reads: bool,
    writes: bool,
    nonblocking: bool,
}

/// The contract, in userspace.
struct Model {
    queue: VecDeque<u8>,
    capacity: usize,
    written: u64,
    read: u64,
    files: Vec<Open>,
}

impl Model {
    fn readers(&self) -> u32 {
        self.files.iter().filter(|f| f.reads).count() as u32
    }
    fn writers(&self) -> u32 {
        self.files.iter().filter(|f| f.writes).count() as u32
    }
}

/// What a call returned: a count or an errno.
type Ret = Result<usize, Errno>;

fn show(r: &Ret) -> String {
    match r {
        Ok(n) => format!("{n}"),
        Err(e) => errno_name(*e),
    }
}

/// At a fault the kernel's copy may stop short of the unmapped byte on arm64
/// (`cases/faults.rs` says why): when the fault limits a copy (`at_fault`),
/// any count from 1 to the model's is what the contract allows there, and
/// the model takes the device's. On x86_64 the count must be exact.
fn allow_short_copy(want: Ret, got: Ret, at_fault: bool) -> Ret {
    match (want, got) {
        (Ok(w), Ok(c)) if at_fault && !cfg!(target_arch = "x86_64") && (1..=w).contains(&c) => {
            Ok(c)
        }
        _ => want,
    }
}

/// Runs `call`, which the model says must sleep, under a timer signal.
fn interrupted(call: impl FnOnce() -> Ret) -> Ret {
    with_timer_signal(Duration::from_millis(15), call)
}

/// A buffer of `n` bytes of the given kind, and its base pointer.
struct Memory {
    good: Vec<u8>,
    edge: Option<Edge>,
}

impl Memory {
    fn new(kind: Buffer, n: usize, rng: &mut Rng) -> Memory {
        match kind {
            Buffer::Good => Memory {
                good: (0..n).map(|_| rng.next() as u8).collect(),
                edge: None,
            },
            Buffer::HalfBad { good } => {
                let edge = Edge::with_mapped(good);
                let data: Vec<u8> = (0..good).map(|_| rng.next() as u8).collect();
                edge.fill(&data);
                Memory {
                    good: data,
                    edge: Some(edge),
                }
            }
            Buffer::Bad => Memory {
                good: Vec::new(),
                edge: None,
            },
        }
    }
    fn ptr(&mut self, kind: Buffer) -> *mut u8 {
        match (kind, &self.edge) {
            (Buffer::Good, _) => self.good.as_mut_ptr(),
            (Buffer::HalfBad { good }, Some(edge)) => edge.ptr(good),
            _ => bad_ptr() as *mut u8,
        }
    }
    /// The first `n` bytes as they are now (after a read filled them).
    fn bytes(&self, kind: Buffer, n: usize) -> Vec<u8> {
        match (kind, &self.edge) {
            (Buffer::Good, _) => self.good[..n].to_vec(),
            (Buffer::HalfBad { good }, Some(edge)) => edge.tail(good)[..n].to_vec(),
            _ => Vec::new(),
        }
    }
}

fn pick_size(rng: &mut Rng, capacity: usize) -> usize {
    match rng.below(10) {
        0 => 0,
        1 => 1,
        2 => 1 << 20, // huge, larger than any queue
        3..=5 => 1 + rng.below(capacity as u64 * 2) as usize,
        _ => 1 + rng.below(64) as usize,
    }
}

fn pick_buffer(rng: &mut Rng, n: usize) -> Buffer {
    match rng.below(10) {
        0 => Buffer::Bad,
        1 | 2 => Buffer::HalfBad {
            good: rng.below(n as u64 + 1) as usize,
        },
        _ => Buffer::Good,
    }
}

fn pick_capacity(rng: &mut Rng) -> u32 {
    match rng.below(10) {
        0 => 0,
        1 => abi::CAPACITY_MAX + 1 + rng.below(1000) as u32,
        2 => 1 + rng.below(abi::CAPACITY_MAX as u64) as u32,
        3 => 1,
        _ => 1 + rng.below(300) as u32,
    }
}

/// One single-process run; `Err` says which step diverged and how.
pub fn single(dev: &Dev, seed: u64, deadline: Instant) -> Result<u64, String> {
    let mut rng = Rng::new(seed);
    catch_signal(libc::SIGALRM, false);
    let ctl = dev.ctl();
    ioctl_clear(&ctl).map_err(errno_name)?;
    let capacity = 1 + rng.below(64) as u32;
    set_capacity(&ctl, capacity).map_err(errno_name)?;
    let base = stats(&ctl).map_err(errno_name)?;
    let mut m = Model {
        queue: VecDeque::new(),
        capacity: capacity as usize,
        written: 0,
        read: 0,
        files: Vec::new(),
    };
    let mut step = 0u64;
    while Instant::now() < deadline {
        step += 1;
        let what = one_step(dev, &ctl, &mut m, &mut rng)
            .map_err(|e| format!("seed {seed}, step {step}: {e}"))?;
        // After every step, the device's statistics match the model's.
        let s = stats(&ctl).map_err(|e| format!("seed {seed}, step {step}: GET_STATS {e}"))?;
        let want = SampleStats {
            bytes_written: base.bytes_written + m.written,
            bytes_read: base.bytes_read + m.read,
            len: m.queue.len() as u32,
            capacity: m.capacity as u32,
            readers: m.readers(),
            writers: m.writers(),
        };
        if s != want {
            return Err(format!(
                "seed {seed}, step {step} ({what}): stats {s:?}, model {want:?}"
            ));
        }
    }
    Ok(step)
}

/// Performs one random operation and checks it; returns its description.
fn one_step(dev: &Dev, ctl: &Fd, m: &mut Model, rng: &mut Rng) -> Result<String, String> {
    let op = rng.below(100);
    if m.files.is_empty() || (op < 8 && m.files.len() < 8) {
        let (flags, reads, writes) = [
            (O_RDONLY, true, false),
            (O_WRONLY, false, true),
            (O_RDWR, true, true),
            (3, false, false),
        ][rng.below(4) as usize];
        let nonblocking = rng.chance(50);
        let what = format!("open(flags {flags}, nonblock {nonblocking})");
        let fd = dev
            .open(flags | if nonblocking { O_NONBLOCK } else { 0 })
            .map_err(|e| format!("{what}: {}", errno_name(e)))?;
        m.files.push(Open {
            fd,
            reads,
            writes,
            nonblocking,
        });
        return Ok(what);
    }
    let i = rng.below(m.files.len() as u64) as usize;
    let check = |what: String, got: Ret, want: Ret| -> Result<String, String> {
        if got == want {
            Ok(what)
        } else {
            Err(format!(
                "{what} returned {}, model says {}",
                show(&got),
                show(&want)
            ))
        }
    };
    match op {
        8..=11 => {
            let f = m.files.swap_remove(i);
            Ok(format!(
                "close(file {i}, reads {}, writes {})",
                f.reads, f.writes
            ))
        }
        12..=15 => {
            let on = rng.chance(50);
            m.files[i].nonblocking = on;
            let what = format!("fcntl(file {i}, nonblock {on})");
            m.files[i]
                .fd
                .set_nonblocking(on)
                .map_err(|e| format!("{what}: {e}"))?;
            Ok(what)
        }
        16..=45 => {
            let n = pick_size(rng, m.capacity);
            let kind = pick_buffer(rng, n);
            let mut mem = Memory::new(kind, n, rng);
            let ptr = mem.ptr(kind);
            let f = &m.files[i];
            let what = format!(
                "write(file {i}, n {n}, {kind:?}, nonblock {})",
                f.nonblocking
            );
            let free = m.capacity - m.queue.len();
            let want: Ret = if !f.writes {
                Err(libc::EBADF)
            } else if n == 0 {
                Ok(0)
            } else if free == 0 && f.nonblocking {
                Err(EAGAIN)
            } else if free == 0 {
                Err(EINTR)
            } else {
                match kind.good_len(n.min(free)) {
                    0 => Err(EFAULT),
                    c => Ok(c),
                }
            };
            let got = if want == Err(EINTR) {
                interrupted(|| f.fd.write_raw(ptr, n))
            } else {
                f.fd.write_raw(ptr, n)
            };
            let want = allow_short_copy(want, got, kind.good_len(n) < n.min(free));
            if let (Ok(c), Ok(w)) = (got, want) {
                if c != w {
                    return check(what, got, want);
                }
                let data = match kind {
                    Buffer::Good => mem.good[..c].to_vec(),
                    _ => mem.bytes(kind, c),
                };
                m.queue.extend(data);
                m.written += c as u64;
            }
            check(what, got, want)
        }
        46..=75 => {
            let n = pick_size(rng, m.capacity);
            let kind = pick_buffer(rng, n);
            let mut mem = Memory::new(kind, n, rng);
            let ptr = mem.ptr(kind);
            let writers = m.writers();
            let f = &m.files[i];
            let what = format!(
                "read(file {i}, n {n}, {kind:?}, nonblock {})",
                f.nonblocking
            );
            let want: Ret = if !f.reads {
                Err(libc::EBADF)
            } else if n == 0 || (m.queue.is_empty() && writers == 0) {
                Ok(0) // Nothing asked for, or end of file.
            } else if m.queue.is_empty() && f.nonblocking {
                Err(EAGAIN)
            } else if m.queue.is_empty() {
                Err(EINTR)
            } else {
                match kind.good_len(n.min(m.queue.len())) {
                    0 => Err(EFAULT),
                    c => Ok(c),
                }
            };
            let got = if want == Err(EINTR) {
                interrupted(|| f.fd.read_raw(ptr, n))
            } else {
                f.fd.read_raw(ptr, n)
            };
            let want = allow_short_copy(want, got, kind.good_len(n) < n.min(m.queue.len()));
            if let (Ok(c), Ok(w)) = (got, want) {
                if c == w && c > 0 {
                    let expected: Vec<u8> = m.queue.drain(..c).collect();
                    let actual = mem.bytes(kind, c);
                    if actual != expected {
                        return Err(format!("{what}: data {actual:?}, model {expected:?}"));
                    }
                    m.read += c as u64;
                }
            }
            check(what, got, want)
        }
        76..=83 => {
            let capacity = if rng.chance(15) && !m.queue.is_empty() {
                rng.below(m.queue.len() as u64) as u32 // below len
            } else {
                pick_capacity(rng)
            };
            let bad = rng.chance(10);
            let what = format!("SET_CAPACITY({capacity}, bad pointer {bad})");
            let want: Ret = if bad {
                Err(EFAULT)
            } else if !(abi::CAPACITY_MIN..=abi::CAPACITY_MAX).contains(&capacity)
                || (capacity as usize) < m.queue.len()
            {
                Err(EINVAL)
            } else {
                Ok(0)
            };
            let got = if bad {
                ctl.ioctl(abi::SAMPLE_IOC_SET_CAPACITY, bad_ptr())
            } else {
                m.files[i].fd.ioctl(
                    abi::SAMPLE_IOC_SET_CAPACITY,
                    &capacity as *const u32 as usize,
                )
            };
            if want == Ok(0) && got == Ok(0) {
                m.capacity = capacity as usize;
            }
            check(what, got, want)
        }
        84..=86 => {
            let what = "CLEAR".to_string();
            let got = m.files[i].fd.ioctl(abi::SAMPLE_IOC_CLEAR, 0);
            if got == Ok(0) {
                m.queue.clear();
            }
            check(what, got, Ok(0))
        }
        87..=92 => {
            let bad = rng.chance(20);
            let what = format!("GET_STATS(bad pointer {bad})");
            let got = if bad {
                m.files[i].fd.ioctl(abi::SAMPLE_IOC_GET_STATS, bad_ptr())
            } else {
                stats(&m.files[i].fd).map(|_| 0)
            };
            check(what, got, if bad { Err(EFAULT) } else { Ok(0) })
        }
        93..=96 => {
            let cmd = match rng.below(4) {
                0 => rng.next() as u32,
                1 => 0xE100 | (4 + rng.below(250) as u32),
                2 => abi::SAMPLE_IOC_GET_STATS ^ (1 << (16 + rng.below(14))),
                _ => abi::SAMPLE_IOC_SET_CAPACITY ^ (1 << rng.below(8)),
            };
            let known = [
                abi::SAMPLE_IOC_GET_STATS,
                abi::SAMPLE_IOC_CLEAR,
                abi::SAMPLE_IOC_SET_CAPACITY,
            ];
            // Never a known command: the next number is not one either.
            let cmd = if known.contains(&cmd) {
                cmd.wrapping_add(1)
            } else {
                cmd
            };
            let what = format!("ioctl({cmd:#x})");
            let mut scratch = [0u8; 64];
            let got = m.files[i].fd.ioctl(cmd, scratch.as_mut_ptr() as usize);
            check(what, got, Err(ENOTTY))
        }
        _ => {
            let what = format!("lseek(file {i})");
            let got = m.files[i].fd.lseek(rng.below(100) as i64, libc::SEEK_SET);
            check(what, got, Err(ESPIPE))
        }
    }
}

// --- Multi-process mode. -------------------------------------------------

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: i32) {
    STOP.store(true, Ordering::SeqCst);
}

/// What a worker reports: bytes it wrote, the histogram of the bytes it
/// read, and how many invariant checks failed.
const REPORT_WORDS: usize = 2 + 256;

fn worker(path: &str, id: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    // Noise: SIGUSR1, restarting for even workers. Stop: SIGUSR2, never.
    catch_signal(libc::SIGUSR1, id % 2 == 0);
    // SAFETY: a plain handler that only stores to an atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_stop as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut());
    }
    // The parent forked us with both blocked (see `multi`): now that the
    // handlers are in place, let them in, including any already pending.
    set_signals_blocked(&[libc::SIGUSR1, libc::SIGUSR2], false);
    let mut report = vec![0u64; REPORT_WORDS];
    let mut files: Vec<Fd> = Vec::new();
    let mut seq = 0u64;
    let mut buf = vec![0u8; 4096];
    while !STOP.load(Ordering::SeqCst) {
        if files.is_empty() || (rng.chance(3) && files.len() < 4) {
            let nb = if rng.chance(50) { O_NONBLOCK } else { 0 };
            if let Ok(fd) = open(path, O_RDWR | nb) {
                files.push(fd);
            }
            continue;
        }
        let i = rng.below(files.len() as u64) as usize;
        match rng.below(100) {
            0..=2 => drop(files.swap_remove(i)),
            3..=5 => drop(files[i].set_nonblocking(rng.chance(50))),
            6..=45 => {
                let n = 1 + rng.below(600) as usize;
                let data: Vec<u8> = (0..n as u64)
                    .map(|k| (((id as u64) << 5) | ((seq + k) % 32)) as u8)
                    .collect();
                if let Ok(c) = files[i].write(&data) {
                    seq += c as u64;
                }
            }
            46..=85 => {
                let n = 1 + rng.below(buf.len() as u64) as usize;
                if let Ok(c) = files[i].read(&mut buf[..n]) {
                    for &b in &buf[..c] {
                        report[2 + b as usize] += 1;
                    }
                }
            }
            86..=90 => {
                let _ = set_capacity(&files[i], 1 + rng.below(2000) as u32);
            }
            _ => {
                if let Ok(s) = stats(&files[i]) {
                    // No CLEAR in this mode, so this holds at every instant
                    // since the parent's baseline (taken on an empty queue).
                    if s.bytes_written.wrapping_sub(s.bytes_read)
                        != s.len as u64 + BASE_GAP.load(Ordering::SeqCst)
                    {
                        report[1] += 1;
                    }
                }
            }
        }
    }
    report[0] = seq;
    report
}

/// bytes_written - bytes_read when the run started (earlier CLEARs).
static BASE_GAP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn multi(dev: &Dev, seed: u64, run: Duration) -> Result<u64, String> {
    const WORKERS: usize = 4;
    let ctl = dev.ctl();
    ioctl_clear(&ctl).map_err(errno_name)?;
    set_capacity(&ctl, 512).map_err(errno_name)?;
    let base = stats(&ctl).map_err(errno_name)?;
    BASE_GAP.store(base.bytes_written - base.bytes_read, Ordering::SeqCst);
    // Until a worker has installed its handlers, SIGUSR1 or SIGUSR2 would
    // kill it (their default action). Fork with both blocked; each worker
    // unblocks them once its handlers are in place.
    set_signals_blocked(&[libc::SIGUSR1, libc::SIGUSR2], true);
    let mut workers = Vec::new();
    for id in 0..WORKERS {
        let (rx, tx) = pipe();
        let path = dev.path.clone();
        let pid = spawn_child_after(Duration::ZERO, move || {
            let report = worker(&path, id, seed.wrapping_add(id as u64 * 1_000_003));
            let bytes: Vec<u8> = report.iter().flat_map(|w| w.to_ne_bytes()).collect();
            let mut tx = tx;
            if tx.write_all(&bytes).is_err() {
                return 1;
            }
            0
        });
        workers.push((pid, rx));
    }
    set_signals_blocked(&[libc::SIGUSR1, libc::SIGUSR2], false);
    // Signal noise for the whole run.
    let start = Instant::now();
    let mut rng = Rng::new(seed ^ 0xABCD);
    while start.elapsed() < run {
        std::thread::sleep(Duration::from_millis(2 + rng.below(8)));
        let (pid, _) = &workers[rng.below(WORKERS as u64) as usize];
        // SAFETY: signalling our own child.
        unsafe { libc::kill(*pid, libc::SIGUSR1) };
    }
    // Stop everyone; a blocked worker wakes with EINTR and sees the flag.
    let mut reports = Vec::new();
    for (id, (pid, rx)) in workers.iter_mut().enumerate() {
        // SAFETY: signalling our own child, repeatedly until it exits.
        unsafe { libc::kill(*pid, libc::SIGUSR2) };
        let mut raw = Vec::new();
        let stopper = *pid;
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let nudger = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
                // SAFETY: as above.
                unsafe { libc::kill(stopper, libc::SIGUSR2) };
            }
        });
        let _ = rx.read_to_end(&mut raw);
        let status = wait_pid(*pid);
        done.store(true, Ordering::SeqCst);
        let _ = nudger.join();
        if status != 0 || raw.len() != REPORT_WORDS * 8 {
            return Err(format!(
                "seed {seed}: worker {id} (pid {pid}) failed: {}",
                status_text(status)
            ));
        }
        reports.push(
            raw.chunks_exact(8)
                .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
                .collect::<Vec<u64>>(),
        );
    }
    // Drain what is left.
    let drain = dev.open(O_RDONLY | O_NONBLOCK).map_err(errno_name)?;
    let mut histogram = [0u64; 256];
    loop {
        match drain.read_vec(4096) {
            Ok(v) if !v.is_empty() => v.iter().for_each(|&b| histogram[b as usize] += 1),
            _ => break,
        }
    }
    let mut total_written = 0;
    for (id, r) in reports.iter().enumerate() {
        if r[1] != 0 {
            return Err(format!(
                "seed {seed}: worker {id} saw bytes_written != bytes_read + len {} times",
                r[1]
            ));
        }
        total_written += r[0];
        for v in 0..256 {
            histogram[v] += r[2 + v];
        }
    }
    for (id, r) in reports.iter().enumerate() {
        let n = r[0];
        for k in 0..32u64 {
            let want = n / 32 + u64::from(k < n % 32);
            let got = histogram[(id << 5) | k as usize];
            if got != want {
                return Err(format!(
                    "seed {seed}: writer {id} wrote {n} bytes, value {k} arrived {got} times, expected {want}"
                ));
            }
        }
    }
    let s = stats(&ctl).map_err(errno_name)?;
    if s.bytes_written - base.bytes_written != total_written || s.len != 0 {
        return Err(format!(
            "seed {seed}: final stats {s:?} after {total_written} bytes written"
        ));
    }
    Ok(total_written)
}

/// `sample-tests fuzz [--seconds S] [--seed N] [--device NAME]`.
pub fn main(devices: &[Dev], args: &[String]) -> i32 {
    let mut seconds = 60u64;
    let mut seed = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--seconds" => seconds = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(60),
            "--seed" => seed = args.get(i + 1).and_then(|v| v.parse().ok()),
            _ => {}
        }
        i += 2;
    }
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    // Each device gets half the time, split between the two modes.
    let slice = Duration::from_secs(seconds) / (devices.len() as u32 * 2).max(1);
    // KTAP (Documentation/dev-tools/ktap.rst): two results per device, the
    // details on a diagnostic line before each.
    let (mut number, mut failed) = (0, 0);
    let mut report = |result: Result<String, String>, what: String| {
        number += 1;
        match result {
            Ok(details) => {
                println!("# {what}: {details}");
                println!("ok {number} {what}");
            }
            Err(e) => {
                failed += 1;
                println!("# {what}: {e}");
                println!("not ok {number} {what}");
            }
        }
    };
    println!("KTAP version 1");
    println!("1..{}", devices.len() * 2);
    for dev in devices {
        let single_name = format!("fuzz {} single-process", dev.name);
        let multi_name = format!("fuzz {} multi-process with signals", dev.name);
        if let Err(e) = dev.reset() {
            report(Err(format!("reset: {e}")), single_name);
            report(Err(format!("reset: {e}")), multi_name);
            continue;
        }
        // Single-process runs, each a fresh seed, until the slice is used.
        let end = Instant::now() + slice;
        let (mut runs, mut steps, mut error) = (0u64, 0u64, None);
        while Instant::now() < end && error.is_none() {
            let run_seed = seed.wrapping_add(runs);
            let run_end = (Instant::now() + Duration::from_secs(5)).min(end);
            let out = run_isolated(|| single(dev, run_seed, run_end));
            runs += 1;
            match out {
                Ok(n) => steps += n,
                Err(e) => error = Some(e),
            }
        }
        if error.is_none() && steps == 0 {
            error = Some(format!("no step ran in {runs} runs (--seconds {seconds})"));
        }
        report(
            match error {
                None => Ok(format!(
                    "{runs} runs, {steps} steps checked against the model (seeds {seed}..+{runs})"
                )),
                Some(e) => Err(format!(
                    "{e}; replay: sample-tests fuzz --device {} --seed <seed above>",
                    dev.name
                )),
            },
            single_name,
        );
        let _ = dev.reset();
        report(
            match run_isolated(|| multi(dev, seed, slice)) {
                Ok(0) => Err(format!("no byte moved (--seconds {seconds})")),
                Ok(bytes) => Ok(format!("{bytes} bytes, each arrived once (seed {seed})")),
                Err(e) => Err(e),
            },
            multi_name,
        );
    }
    i32::from(failed > 0)
}

/// Runs `f` in a child process (with its own fds and signal handlers) and
/// passes its `Ok(n)` or `Err(message)` back.
fn run_isolated(f: impl FnOnce() -> Result<u64, String>) -> Result<u64, String> {
    let (mut rx, tx) = pipe();
    let status = in_child(move || {
        let mut tx = tx;
        let msg = match f() {
            Ok(n) => format!("ok {n}"),
            Err(e) => format!("err {e}"),
        };
        let _ = tx.write_all(msg.as_bytes());
        0
    });
    let mut msg = String::new();
    let _ = rx.read_to_string(&mut msg);
    if let Some(n) = msg.strip_prefix("ok ") {
        Ok(n.parse().unwrap_or(0))
    } else if let Some(e) = msg.strip_prefix("err ") {
        Err(e.to_string())
    } else {
        Err(format!(
            "the run died ({}) without a report",
            status_text(status)
        ))
    }
}
