//! Several writer and reader processes at once, with every byte verified.
//!
//! With one reader, writer `w` sends a stream whose byte `i` is
//! `w << 5 | i % 32`: the reader's stream, split per writer, must be each
//! writer's own, byte for byte. With several readers no reader sees a whole
//! stream, so writers send sequence numbers instead (4 bytes each), and
//! every number must arrive exactly once. Writers write chunks of random
//! sizes and loop over short writes; readers read random sizes until
//! end-of-file.

use super::cases;
use crate::dev::set_capacity;
use crate::sys::*;
use crate::{ensure, expect_eq, ok, Case, Dev, Outcome};
use std::io::{Read, Write};

pub fn cases() -> Vec<Case> {
    cases![
        writers_to_one_reader_lose_duplicate_and_reorder_nothing,
        writers_to_several_readers_lose_and_duplicate_nothing,
    ]
}

const BYTES_PER_WRITER: usize = 60_000;

fn byte(writer: usize, i: usize) -> u8 {
    ((writer << 5) | (i % 32)) as u8
}

/// A small xorshift generator: each process gets its own seed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Forks writer `w`: it opens `path`, closes its copy of the gate and
/// writes `data` in writes of a random count of `unit`-byte pieces; with a
/// `report`, it sends there the end offset of every accepted write (one
/// u32 each).
fn spawn_streaming_writer(
    path: &str,
    w: usize,
    gate: &Fd,
    data: Vec<u8>,
    unit: usize,
    mut report: Option<std::fs::File>,
) -> i32 {
    let path = path.to_string();
    let gate_fd = gate.0;
    spawn_child_after(std::time::Duration::ZERO, move || {
        let Ok(fd) = open(&path, O_WRONLY) else {
            return 10;
        };
        // SAFETY: the inherited gate is ours to close in this process.
        unsafe { libc::close(gate_fd) };
        let mut rng = Rng(0x9E37_79B9 + w as u64 * 7919);
        let mut at = 0;
        let mut ends = Vec::new();
        while at < data.len() {
            let n = (unit * (1 + rng.below(700 / unit))).min(data.len() - at);
            match fd.write(&data[at..at + n]) {
                Ok(k) if k > 0 => {
                    at += k;
                    ends.extend_from_slice(&(at as u32).to_ne_bytes());
                }
                _ => return 11,
            }
        }
        match report.as_mut().map(|r| r.write_all(&ends)) {
            Some(Err(_)) => 12,
            _ => 0,
        }
    })
}

/// Forks writer `w`: it streams its bytes and reports, through `report`,
/// the end offset of every accepted write (one u32 each).
fn spawn_writer(path: &str, w: usize, gate: &Fd, report: std::fs::File) -> i32 {
    let data = (0..BYTES_PER_WRITER).map(|i| byte(w, i)).collect();
    spawn_streaming_writer(path, w, gate, data, 1, Some(report))
}

/// Opens the gate (a writer that keeps readers from seeing end-of-file
/// until every writer is open) and starts `writers` writers.
fn start_writers(dev: &Dev, writers: usize) -> Result<(Vec<i32>, Vec<std::fs::File>), String> {
    let gate = ok!(dev.open(O_WRONLY));
    let mut pids = Vec::new();
    let mut reports = Vec::new();
    for w in 0..writers {
        let (rx, tx) = pipe();
        pids.push(spawn_writer(&dev.path, w, &gate, tx));
        reports.push(rx);
    }
    // Our copy of the gate closes here; the children closed theirs after
    // opening their own descriptors, so end-of-file comes after the last one.
    drop(gate);
    Ok((pids, reports))
}

fn read_until_eof(fd: &Fd, seed: u64) -> Result<Vec<u8>, Errno> {
    let mut rng = Rng(seed);
    let mut all = Vec::new();
    loop {
        let chunk = fd.read_vec(1 + rng.below(900))?;
        if chunk.is_empty() {
            return Ok(all);
        }
        all.extend(chunk);
    }
}

fn writers_to_one_reader_lose_duplicate_and_reorder_nothing(dev: &Dev) -> Outcome {
    const WRITERS: usize = 4;
    let reader = ok!(dev.open(O_RDONLY));
    ok!(set_capacity(&reader, 512));
    let (pids, reports) = start_writers(dev, WRITERS)?;
    let stream = ok!(read_until_eof(&reader, 42));
    for pid in pids {
        expect_eq!(wait_pid(pid), 0);
    }
    // Split the stream per writer, remembering where each run of one
    // writer's bytes ends (in that writer's own offsets).
    let mut per_writer: Vec<Vec<u8>> = vec![Vec::new(); WRITERS];
    let mut run_ends: Vec<Vec<u32>> = vec![Vec::new(); WRITERS];
    for (i, &b) in stream.iter().enumerate() {
        let w = (b >> 5) as usize;
        ensure!(w < WRITERS, "byte {b:#x} at {i} names no writer");
        per_writer[w].push(b);
        let next_is_other = stream.get(i + 1).is_none_or(|&n| (n >> 5) as usize != w);
        if next_is_other {
            run_ends[w].push(per_writer[w].len() as u32);
        }
    }
    for (w, (got, mut report)) in per_writer.iter().zip(reports).enumerate() {
        expect_eq!(got.len(), BYTES_PER_WRITER);
        if let Some(i) = (0..got.len()).find(|&i| got[i] != byte(w, i)) {
            return Err(format!(
                "writer {w}: byte {i} is {:#x}, expected {:#x}",
                got[i],
                byte(w, i)
            ));
        }
        // Contiguity: every run of this writer's bytes ends where one of its
        // write() calls ended, so no call's bytes were split by another's.
        let mut raw = Vec::new();
        ok!(report
            .read_to_end(&mut raw)
            .map_err(|e| e.raw_os_error().unwrap_or(0)));
        let call_ends: std::collections::BTreeSet<u32> = raw
            .chunks_exact(4)
            .map(|c| u32::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        for end in &run_ends[w] {
            ensure!(
                call_ends.contains(end),
                "writer {w}: a write() was split at offset {end}"
            );
        }
    }
    Ok(())
}

/// Writer `w`'s number `k` in the several-readers case: `w` in the top
/// byte, its sequence number below.
fn number(w: usize, k: usize) -> u32 {
    ((w as u32) << 24) | k as u32
}

/// Forks writer `w` of the several-readers case: it sends its numbers 0,
/// 1, 2, ... (4 bytes each), in writes of a random count of whole numbers.
fn spawn_numbering_writer(path: &str, w: usize, gate: &Fd) -> i32 {
    let data = (0..NUMBERS_PER_WRITER)
        .flat_map(|k| number(w, k).to_le_bytes())
        .collect();
    spawn_streaming_writer(path, w, gate, data, 4, None)
}

const NUMBERS_PER_WRITER: usize = BYTES_PER_WRITER / 4;

/// Each of several readers may get any of the bytes, so the bytes carry
/// sequence numbers (4-byte numbers, each naming its writer and its place)
/// and every number must arrive exactly once, in order within each reader:
/// a lost number and a duplicated one are both seen, where a count of byte
/// values would let a duplicate make up for a loss. The capacity and every
/// write and read are whole numbers, so every read returns whole numbers.
fn writers_to_several_readers_lose_and_duplicate_nothing(dev: &Dev) -> Outcome {
    const WRITERS: usize = 3;
    const READERS: usize = 3;
    let ctl = dev.ctl();
    ok!(set_capacity(&ctl, 300));
    // Readers first, each sending back every number it got, in order.
    let mut readers = Vec::new();
    let gate = ok!(dev.open(O_WRONLY));
    for r in 0..READERS {
        let (rx, mut tx) = pipe();
        let path = dev.path.clone();
        let gate_fd = gate.0;
        let pid = spawn_child_after(std::time::Duration::ZERO, move || {
            // SAFETY: the inherited gate is ours to close in this process.
            unsafe { libc::close(gate_fd) };
            let Ok(fd) = open(&path, O_RDONLY) else {
                return 10;
            };
            let mut rng = Rng(1000 + r as u64);
            let mut got = Vec::new();
            loop {
                match fd.read_vec(4 * (1 + rng.below(225))) {
                    Ok(chunk) if chunk.is_empty() => break,
                    Ok(chunk) => got.extend(chunk),
                    Err(_) => return 11,
                }
            }
            if tx.write_all(&got).is_err() {
                return 12;
            }
            0
        });
        readers.push((pid, rx));
    }
    let mut pids = Vec::new();
    for w in 0..WRITERS {
        pids.push(spawn_numbering_writer(&dev.path, w, &gate));
    }
    // The children closed their copies of the gate after opening their own
    // descriptors: end-of-file comes after the last writer closes.
    drop(gate);
    for pid in pids {
        expect_eq!(wait_pid(pid), 0);
    }
    let mut times_seen = vec![vec![0u32; NUMBERS_PER_WRITER]; WRITERS];
    for (r, (pid, mut rx)) in readers.into_iter().enumerate() {
        let mut raw = Vec::new();
        ok!(rx
            .read_to_end(&mut raw)
            .map_err(|e| e.raw_os_error().unwrap_or(0)));
        expect_eq!(wait_pid(pid), 0);
        ensure!(
            raw.len() % 4 == 0,
            "reader {r} got {} bytes, not whole numbers",
            raw.len()
        );
        // The last number this reader got from each writer: they only go up.
        let mut last: Vec<Option<usize>> = vec![None; WRITERS];
        for c in raw.chunks_exact(4) {
            let n = u32::from_le_bytes(c.try_into().unwrap());
            let (w, k) = ((n >> 24) as usize, (n & 0xFF_FFFF) as usize);
            ensure!(
                w < WRITERS && k < NUMBERS_PER_WRITER,
                "reader {r} got {n:#x}, which no writer sent"
            );
            ensure!(
                last[w].is_none_or(|l| l < k),
                "reader {r} got writer {w}'s {k} after its {}",
                last[w].unwrap()
            );
            last[w] = Some(k);
            times_seen[w][k] += 1;
        }
    }
    for (w, seen) in times_seen.iter().enumerate() {
        if let Some(k) = seen.iter().position(|&t| t != 1) {
            return Err(format!(
                "writer {w}'s number {k} arrived {} times, expected once",
                seen[k]
            ));
        }
    }
    let s = dev.stats();
    expect_eq!(s.len, 0);
    Ok(())
}
