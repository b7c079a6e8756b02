//! open, read, write, O_NONBLOCK and lseek.

use super::cases;
use crate::dev::{set_capacity, stats};
use crate::sys::*;
use crate::{ensure, expect_eq, expect_errno, ok, Case, Dev, Outcome};
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub fn cases() -> Vec<Case> {
    cases![
        node_is_a_root_only_char_device,
        open_in_every_access_mode,
        write_then_read_round_trip,
        echo_then_cat_prints_hi,
        write_of_zero_bytes_changes_nothing,
        read_of_zero_bytes_changes_nothing,
        fifo_order_across_writes,
        write_takes_min_of_n_and_free_space,
        read_takes_min_of_n_and_queued,
        full_queue_nonblocking_write_is_eagain,
        nonblocking_write_with_some_room_is_partial,
        empty_queue_nonblocking_read_with_writer_is_eagain,
        empty_queue_without_writers_is_eof,
        empty_queue_without_writers_is_eof_even_nonblocking,
        fcntl_turns_nonblocking_on_and_off,
        lseek_is_espipe,
        positional_reads_and_writes_are_espipe_and_change_nothing,
        data_survives_close_and_reopen,
        two_readers_never_get_the_same_byte,
        writev_is_one_contiguous_write,
        readv_fills_buffers_in_order,
        max_capacity_takes_one_mib_in_one_write,
        unprivileged_open_is_eacces,
    ]
}

fn node_is_a_root_only_char_device(dev: &Dev) -> Outcome {
    let meta = ok!(std::fs::metadata(&dev.path).map_err(|e| e.raw_os_error().unwrap_or(0)));
    ensure!(
        meta.file_type().is_char_device(),
        "{} is not a character device",
        dev.path
    );
    expect_eq!(meta.permissions().mode() & 0o777, 0o600);
    // 0600 is "root only" only if root owns the node.
    expect_eq!(meta.uid(), 0);
    Ok(())
}

/// Every access mode opens, mode 3 (`O_ACCMODE`: neither reading nor
/// writing) included, and each counts as what it is.
fn open_in_every_access_mode(dev: &Dev) -> Outcome {
    for (flags, reads, writes) in [
        (O_RDONLY, 1, 0),
        (O_WRONLY, 0, 1),
        (O_RDWR, 1, 1),
        (3, 0, 0),
        (O_RDONLY | O_NONBLOCK, 1, 0),
        (O_WRONLY | O_NONBLOCK, 0, 1),
    ] {
        let before = dev.stats();
        let fd = ok!(dev.open(flags));
        let now = dev.stats();
        expect_eq!(
            (now.readers - before.readers, now.writers - before.writers),
            (reads, writes)
        );
        drop(fd);
        expect_eq!(dev.stats(), before);
    }
    Ok(())
}

fn write_then_read_round_trip(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    expect_eq!(ok!(fd.write(b"hello, kernel")), 13);
    expect_eq!(ok!(fd.read_vec(100)), b"hello, kernel".to_vec());
    Ok(())
}

/// What the README tells a new user to try.
fn echo_then_cat_prints_hi(dev: &Dev) -> Outcome {
    let script = format!("echo hi > {0}; cat {0}", dev.path);
    let out = ok!(std::process::Command::new("timeout")
        .args(["60", "sh", "-c", &script])
        .output()
        .map_err(|e| e.raw_os_error().unwrap_or(0)));
    ensure!(out.status.success(), "'{script}' failed: {:?}", out.status);
    expect_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    Ok(())
}

fn write_of_zero_bytes_changes_nothing(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(fd.write(b"ab"));
    let before = dev.stats();
    expect_eq!(ok!(fd.write(b"")), 0);
    expect_eq!(dev.stats(), before);
    // Even on a full queue, where a real write would block.
    ok!(set_capacity(&fd, 2));
    expect_eq!(ok!(fd.write(b"")), 0);
    Ok(())
}

fn read_of_zero_bytes_changes_nothing(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    // Empty, with a writer: a real read would block.
    expect_eq!(ok!(fd.read(&mut [])), 0);
    ok!(fd.write(b"xyz"));
    let before = dev.stats();
    expect_eq!(ok!(fd.read(&mut [])), 0);
    expect_eq!(dev.stats(), before);
    Ok(())
}

fn fifo_order_across_writes(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    for part in [&b"one "[..], b"two ", b"three"] {
        ok!(fd.write_all(part));
    }
    expect_eq!(ok!(fd.read_vec(4)), b"one ".to_vec());
    expect_eq!(ok!(fd.read_vec(100)), b"two three".to_vec());
    Ok(())
}

fn write_takes_min_of_n_and_free_space(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(set_capacity(&fd, 10));
    expect_eq!(ok!(fd.write(b"123456")), 6);
    // Only 4 bytes free: it takes 4 and returns at once, without waiting.
    expect_eq!(ok!(fd.write(b"abcdefgh")), 4);
    expect_eq!(ok!(fd.read_vec(100)), b"123456abcd".to_vec());
    Ok(())
}

fn read_takes_min_of_n_and_queued(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(fd.write(b"abc"));
    // Asks for 100, gets the 3 queued without waiting for more.
    expect_eq!(ok!(fd.read_vec(100)), b"abc".to_vec());
    ok!(fd.write(b"defgh"));
    expect_eq!(ok!(fd.read_vec(2)), b"de".to_vec());
    expect_eq!(dev.stats().len, 3);
    Ok(())
}

fn full_queue_nonblocking_write_is_eagain(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR | O_NONBLOCK));
    ok!(set_capacity(&fd, 8));
    expect_eq!(ok!(fd.write(b"12345678")), 8);
    let before = dev.stats();
    expect_errno!(fd.write(b"x"), EAGAIN);
    expect_eq!(dev.stats(), before);
    Ok(())
}

fn nonblocking_write_with_some_room_is_partial(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR | O_NONBLOCK));
    ok!(set_capacity(&fd, 8));
    ok!(fd.write(b"12345"));
    expect_eq!(ok!(fd.write(b"abcdef")), 3);
    Ok(())
}

fn empty_queue_nonblocking_read_with_writer_is_eagain(dev: &Dev) -> Outcome {
    let writer = ok!(dev.open(O_WRONLY));
    let reader = ok!(dev.open(O_RDONLY | O_NONBLOCK));
    expect_errno!(reader.read_vec(10), EAGAIN);
    drop(writer);
    Ok(())
}

fn empty_queue_without_writers_is_eof(dev: &Dev) -> Outcome {
    let reader = ok!(dev.open(O_RDONLY));
    expect_eq!(ok!(reader.read_vec(10)), Vec::<u8>::new());
    Ok(())
}

fn empty_queue_without_writers_is_eof_even_nonblocking(dev: &Dev) -> Outcome {
    let reader = ok!(dev.open(O_RDONLY | O_NONBLOCK));
    expect_eq!(ok!(reader.read_vec(10)), Vec::<u8>::new());
    Ok(())
}

fn fcntl_turns_nonblocking_on_and_off(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(fd.set_nonblocking(true));
    expect_errno!(fd.read_vec(1), EAGAIN);
    ok!(fd.set_nonblocking(false));
    // Now the same descriptor blocks: a timer signal interrupts the read.
    catch_signal(libc::SIGALRM, false);
    let got = with_timer_signal(Duration::from_millis(200), || fd.read_vec(1));
    expect_errno!(got, EINTR);
    Ok(())
}

fn lseek_is_espipe(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(fd.write(b"abc"));
    expect_errno!(fd.lseek(0, libc::SEEK_SET), ESPIPE);
    expect_errno!(fd.lseek(1, libc::SEEK_CUR), ESPIPE);
    expect_errno!(fd.lseek(0, libc::SEEK_END), ESPIPE);
    expect_eq!(ok!(fd.read_vec(10)), b"abc".to_vec());
    Ok(())
}

/// Contract v2: the device is a stream (`stream_open`), so `pread`,
/// `pwrite`, `preadv` and `pwritev` fail before reaching the driver.
fn positional_reads_and_writes_are_espipe_and_change_nothing(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR | O_NONBLOCK));
    ok!(fd.write(b"abc"));
    let before = dev.stats();
    let mut buf = [0u8; 8];
    expect_errno!(fd.pread(&mut buf), ESPIPE);
    expect_errno!(fd.preadv(&mut buf), ESPIPE);
    expect_errno!(fd.pwrite(b"xyz"), ESPIPE);
    expect_errno!(fd.pwritev(b"xyz"), ESPIPE);
    expect_eq!(dev.stats(), before);
    expect_eq!(ok!(fd.read_vec(10)), b"abc".to_vec());
    Ok(())
}

fn data_survives_close_and_reopen(dev: &Dev) -> Outcome {
    {
        let w = ok!(dev.open(O_WRONLY));
        ok!(w.write(b"kept"));
    }
    expect_eq!(dev.stats().len, 4);
    let r = ok!(dev.open(O_RDONLY));
    expect_eq!(ok!(r.read_vec(10)), b"kept".to_vec());
    Ok(())
}

/// Two readers reading at once, on two threads, while a writer streams:
/// between them they get every byte written, each exactly once. The bytes
/// carry sequence numbers (4-byte numbers 0, 1, 2, ...), so a duplicated
/// number and a lost one are both seen, even where equal bytes would hide
/// them. The capacity and every write and read are whole numbers, so every
/// read returns whole numbers; a byte lost or doubled in the driver would
/// misalign all the numbers after it.
fn two_readers_never_get_the_same_byte(dev: &Dev) -> Outcome {
    const NUMBERS: u32 = 15_000; // 60,000 bytes
    let data: Vec<u8> = (0..NUMBERS).flat_map(u32::to_le_bytes).collect();
    // The writer opens first: a reader of an empty queue without a writer
    // would see end-of-file at once.
    let w = ok!(dev.open(O_WRONLY));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let fd = dev.open(O_RDONLY);
            std::thread::spawn(move || {
                let fd = fd?;
                let mut got = Vec::new();
                // 1, 7, 64 and 333 numbers: the two interleave at every
                // number.
                for size in [4usize, 28, 256, 1332].iter().cycle() {
                    match fd.read_vec(*size)? {
                        v if v.is_empty() => return Ok::<_, Errno>(got),
                        v => got.extend(v),
                    }
                }
                unreachable!()
            })
        })
        .collect();
    ok!(w.write_all(&data));
    drop(w); // The last writer closes: the readers see end-of-file.
    let mut times_seen = vec![0u32; NUMBERS as usize];
    for (r, reader) in readers.into_iter().enumerate() {
        let got = ok!(reader.join().unwrap());
        ensure!(
            got.len() % 4 == 0,
            "reader {r} got {} bytes, not whole numbers",
            got.len()
        );
        let numbers: Vec<u32> = got
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        // Each reader takes the oldest bytes: its numbers only go up.
        if let Some(i) = (1..numbers.len()).find(|&i| numbers[i] <= numbers[i - 1]) {
            return Err(format!(
                "reader {r} got {} after {}",
                numbers[i],
                numbers[i - 1]
            ));
        }
        for n in numbers {
            ensure!(n < NUMBERS, "reader {r} got {n}, which was never written");
            times_seen[n as usize] += 1;
        }
    }
    if let Some(n) = times_seen.iter().position(|&t| t != 1) {
        return Err(format!(
            "number {n} arrived {} times, expected once",
            times_seen[n]
        ));
    }
    Ok(())
}

/// `writev` of three parts is one write: while a second writer writes
/// single bytes, as fast as it can whenever a writev is under way, every
/// "ab" + "" + "cde" lands whole. That proves something only if the two
/// overlap, so the case reads the queue as it goes and keeps writing until
/// X's have landed between two writevs at least `OVERLAPS` times: each
/// time, the racer took the lock between two of them, as it could have
/// inside one that was split. (On one CPU the two only take turns when the
/// scheduler switches, almost never inside a writev, and a split writev
/// went unseen there; make test's VMs have two CPUs, where it was caught.)
fn writev_is_one_contiguous_write(dev: &Dev) -> Outcome {
    const MIN_ROUNDS: usize = 300;
    // On one CPU overlaps come with the scheduler's switches, a few per
    // 10 ms: a bound in time, not in rounds, which a fast CPU would use
    // up first.
    const PATIENCE: Duration = Duration::from_secs(30);
    const OVERLAPS: usize = 50;
    const RACER_PER_ROUND: usize = 4;
    let fd = ok!(dev.open(O_WRONLY));
    let reader = ok!(dev.open(O_RDONLY | O_NONBLOCK));
    // Room enough that the racer never fills the queue between two reads.
    ok!(set_capacity(&fd, 1 << 20));
    let other = ok!(dev.open(O_WRONLY));
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let rounds_done = Arc::new(AtomicUsize::new(0));
    let in_writev = Arc::new(AtomicBool::new(false));
    let (stop_racer, written_racer, rounds_racer, in_writev_racer) = (
        stop.clone(),
        written.clone(),
        rounds_done.clone(),
        in_writev.clone(),
    );
    let racer = std::thread::spawn(move || {
        while !stop_racer.load(Ordering::Relaxed) {
            // Hammer the lock while a writev runs; otherwise a few bytes
            // per writev, never far ahead. Unchecked, the racer keeps the
            // lock from the writer (a mutex is not fair), and the case
            // took minutes on the debug kernel.
            let budget = RACER_PER_ROUND * (rounds_racer.load(Ordering::Relaxed) + 1);
            if !in_writev_racer.load(Ordering::Relaxed)
                && written_racer.load(Ordering::Relaxed) >= budget
            {
                std::thread::yield_now();
                continue;
            }
            if other.write(b"X") != Ok(1) {
                return false;
            }
            written_racer.fetch_add(1, Ordering::Relaxed);
        }
        true
    });
    // Start once the racer is writing, not before it has been scheduled.
    while written.load(Ordering::Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let parts: [&[u8]; 3] = [b"ab", b"", b"cde"];
    let iov: Vec<libc::iovec> = parts
        .iter()
        .map(|p| libc::iovec {
            iov_base: p.as_ptr() as *mut _,
            iov_len: p.len(),
        })
        .collect();
    let mut queue = Writevs::default();
    let mut rounds = 0;
    let start = std::time::Instant::now();
    while rounds < MIN_ROUNDS || (queue.overlaps < OVERLAPS && start.elapsed() < PATIENCE) {
        in_writev.store(true, Ordering::Relaxed);
        // SAFETY: the iovecs point at live slices.
        let n = unsafe { libc::writev(fd.0, iov.as_ptr(), iov.len() as i32) };
        in_writev.store(false, Ordering::Relaxed);
        expect_eq!(n, 5);
        rounds += 1;
        rounds_done.store(rounds, Ordering::Relaxed);
        queue.follow(&ok!(read_what_is_queued(&reader)))?;
    }
    stop.store(true, Ordering::Relaxed);
    ensure!(racer.join().unwrap(), "the racing writer failed");
    queue.follow(&ok!(read_what_is_queued(&reader)))?;
    println!(
        "    # {}: {rounds} writevs, {} racing bytes, X's between two writevs {} times",
        dev.name, queue.racer, queue.overlaps
    );
    ensure!(
        queue.overlaps >= OVERLAPS,
        "the racing writer overlapped only {} of {rounds} writev calls",
        queue.overlaps
    );
    expect_eq!(queue.whole, rounds);
    expect_eq!(queue.racer, written.load(Ordering::Relaxed));
    Ok(())
}

/// The queue of `writev_is_one_contiguous_write`, followed byte by byte as
/// it is read: an 'a' starts a writev's "abcde", which must come whole; an
/// X between two of them is the racer's.
#[derive(Default)]
struct Writevs {
    /// How far into "abcde" the queue is (0: between two writevs).
    at: usize,
    /// Whole "abcde"s and racer's X's so far.
    whole: usize,
    racer: usize,
    /// The gaps between two writevs that hold an X.
    overlaps: usize,
    x_since_e: bool,
}

impl Writevs {
    fn follow(&mut self, bytes: &[u8]) -> Outcome {
        for &b in bytes {
            if self.at > 0 {
                ensure!(
                    b == b"abcde"[self.at],
                    "writev {} was split: {:?} inside its bytes",
                    self.whole + 1,
                    b as char
                );
                self.at = (self.at + 1) % 5;
                if self.at == 0 {
                    self.whole += 1;
                    self.x_since_e = false;
                }
            } else if b == b'a' {
                self.overlaps += usize::from(self.x_since_e && self.whole > 0);
                self.at = 1;
            } else {
                ensure!(b == b'X', "{:?} between two writevs", b as char);
                self.racer += 1;
                self.x_since_e = true;
            }
        }
        Ok(())
    }
}

/// Every byte queued now (`fd` is non-blocking).
fn read_what_is_queued(fd: &Fd) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    loop {
        match fd.read_vec(4096) {
            Ok(v) if !v.is_empty() => out.extend(v),
            Err(e) if e != EAGAIN => return Err(e),
            _ => return Ok(out),
        }
    }
}

fn readv_fills_buffers_in_order(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(fd.write(b"abcdefg"));
    let (mut x, mut y) = ([0u8; 3], [0u8; 10]);
    let iov = [
        libc::iovec {
            iov_base: x.as_mut_ptr().cast(),
            iov_len: x.len(),
        },
        libc::iovec {
            iov_base: y.as_mut_ptr().cast(),
            iov_len: y.len(),
        },
    ];
    // SAFETY: the iovecs point at live buffers.
    let n = unsafe { libc::readv(fd.0, iov.as_ptr(), 2) };
    expect_eq!(n, 7);
    expect_eq!(&x, b"abc");
    expect_eq!(&y[..4], b"defg");
    Ok(())
}

fn max_capacity_takes_one_mib_in_one_write(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(set_capacity(&fd, 1 << 20));
    let data: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
    expect_eq!(ok!(fd.write(&data)), 1 << 20);
    let s = ok!(stats(&fd));
    expect_eq!((s.len, s.capacity), (1 << 20, 1 << 20));
    let mut back = Vec::new();
    while back.len() < data.len() {
        back.extend(ok!(fd.read_vec(100_000)));
    }
    ensure!(back == data, "1 MiB came back different");
    Ok(())
}

fn unprivileged_open_is_eacces(dev: &Dev) -> Outcome {
    let path = dev.path.clone();
    let status = in_child(move || {
        // SAFETY: drop to nobody in this child only.
        if unsafe { libc::setgid(65534) } != 0 || unsafe { libc::setuid(65534) } != 0 {
            return 2;
        }
        match open(&path, O_RDONLY) {
            Err(e) if e == libc::EACCES => 0,
            _ => 1,
        }
    });
    ensure!(
        status == 0,
        "an unprivileged open did not fail with EACCES (child status {status})"
    );
    Ok(())
}
