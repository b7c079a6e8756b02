//! Sleeping and waking: data, room, end-of-file, CLEAR, resize, signals.

use super::cases;
use crate::dev::{ioctl_clear, set_capacity, stats};
use crate::sys::*;
use crate::{ensure, expect_eq, expect_errno, ok, Case, Dev, Outcome};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub fn cases() -> Vec<Case> {
    cases![
        blocked_read_wakes_when_data_arrives,
        blocked_write_wakes_when_room_appears,
        blocked_reader_sees_eof_when_last_writer_closes,
        blocked_reader_waits_while_a_writer_remains,
        clear_wakes_a_blocked_writer,
        growing_capacity_wakes_a_blocked_writer,
        signal_interrupts_a_blocked_read_with_eintr,
        signal_interrupts_a_blocked_write_with_eintr,
        sa_restart_restarts_a_blocked_read,
        sa_restart_restarts_a_blocked_write,
    ]
}

/// How long a call must stay blocked before we believe it sleeps.
const SETTLE: Duration = Duration::from_millis(300);

/// Runs `f` on a thread; the flag turns true when it returns.
fn on_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> (JoinHandle<T>, Arc<AtomicBool>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let handle = thread::spawn(move || {
        let out = f();
        flag.store(true, Ordering::SeqCst);
        out
    });
    (handle, done)
}

fn blocked_read_wakes_when_data_arrives(dev: &Dev) -> Outcome {
    let reader = Arc::new(ok!(dev.open(O_RDONLY)));
    let writer = ok!(dev.open(O_WRONLY));
    let r = reader.clone();
    let (handle, done) = on_thread(move || r.read_vec(100));
    thread::sleep(SETTLE);
    ensure!(
        !done.load(Ordering::SeqCst),
        "read of an empty queue did not block"
    );
    ok!(writer.write(b"wake"));
    expect_eq!(ok!(handle.join().unwrap()), b"wake".to_vec());
    Ok(())
}

fn blocked_write_wakes_when_room_appears(dev: &Dev) -> Outcome {
    let writer = Arc::new(ok!(dev.open(O_WRONLY)));
    let reader = ok!(dev.open(O_RDONLY));
    ok!(set_capacity(&reader, 4));
    ok!(writer.write(b"1234"));
    let w = writer.clone();
    let (handle, done) = on_thread(move || w.write(b"56"));
    thread::sleep(SETTLE);
    ensure!(
        !done.load(Ordering::SeqCst),
        "write to a full queue did not block"
    );
    expect_eq!(ok!(reader.read_vec(1)), b"1".to_vec());
    // One byte of room: the blocked write takes it and returns.
    expect_eq!(ok!(handle.join().unwrap()), 1);
    expect_eq!(ok!(reader.read_vec(10)), b"2345".to_vec());
    Ok(())
}

fn blocked_reader_sees_eof_when_last_writer_closes(dev: &Dev) -> Outcome {
    let reader = ok!(dev.open(O_RDONLY));
    let w1 = ok!(dev.open(O_WRONLY));
    let w2 = ok!(dev.open(O_RDWR));
    let (handle, done) = on_thread(move || reader.read_vec(10));
    thread::sleep(SETTLE);
    drop(w1);
    thread::sleep(SETTLE);
    ensure!(
        !done.load(Ordering::SeqCst),
        "the reader woke while a writer (O_RDWR) remained"
    );
    drop(w2);
    expect_eq!(ok!(handle.join().unwrap()), Vec::<u8>::new());
    Ok(())
}

fn blocked_reader_waits_while_a_writer_remains(dev: &Dev) -> Outcome {
    let reader = ok!(dev.open(O_RDONLY));
    let keep = ok!(dev.open(O_WRONLY));
    let (handle, done) = on_thread(move || reader.read_vec(10));
    for _ in 0..3 {
        // Writers that come and go do not end the file while `keep` is open.
        drop(ok!(dev.open(O_WRONLY)));
    }
    thread::sleep(SETTLE);
    ensure!(
        !done.load(Ordering::SeqCst),
        "the reader woke although a writer is still open"
    );
    ok!(keep.write(b"z"));
    expect_eq!(ok!(handle.join().unwrap()), b"z".to_vec());
    Ok(())
}

fn clear_wakes_a_blocked_writer(dev: &Dev) -> Outcome {
    let writer = Arc::new(ok!(dev.open(O_WRONLY)));
    let ctl = dev.ctl();
    ok!(set_capacity(&ctl, 3));
    ok!(writer.write(b"abc"));
    let w = writer.clone();
    let (handle, done) = on_thread(move || w.write(b"defg"));
    thread::sleep(SETTLE);
    ensure!(
        !done.load(Ordering::SeqCst),
        "write to a full queue did not block"
    );
    ok!(ioctl_clear(&ctl));
    expect_eq!(ok!(handle.join().unwrap()), 3);
    let r = ok!(dev.open(O_RDONLY | O_NONBLOCK));
    expect_eq!(ok!(r.read_vec(10)), b"def".to_vec());
    Ok(())
}

fn growing_capacity_wakes_a_blocked_writer(dev: &Dev) -> Outcome {
    let writer = Arc::new(ok!(dev.open(O_WRONLY)));
    let ctl = dev.ctl();
    ok!(set_capacity(&ctl, 2));
    ok!(writer.write(b"ab"));
    let w = writer.clone();
    let (handle, done) = on_thread(move || w.write(b"cdef"));
    thread::sleep(SETTLE);
    ensure!(
        !done.load(Ordering::SeqCst),
        "write to a full queue did not block"
    );
    ok!(set_capacity(&ctl, 5));
    expect_eq!(ok!(handle.join().unwrap()), 3);
    let r = ok!(dev.open(O_RDONLY | O_NONBLOCK));
    expect_eq!(ok!(r.read_vec(10)), b"abcde".to_vec());
    Ok(())
}

fn signal_interrupts_a_blocked_read_with_eintr(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    let before = ok!(stats(&fd));
    catch_signal(libc::SIGALRM, false);
    let got = with_timer_signal(SETTLE, || fd.read_vec(10));
    expect_errno!(got, EINTR);
    ensure!(
        SIGNALS_CAUGHT.load(Ordering::SeqCst) >= 1,
        "the handler did not run"
    );
    expect_eq!(ok!(stats(&fd)), before);
    Ok(())
}

fn signal_interrupts_a_blocked_write_with_eintr(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(set_capacity(&fd, 4));
    ok!(fd.write(b"full"));
    let before = ok!(stats(&fd));
    catch_signal(libc::SIGALRM, false);
    let wrote = with_timer_signal(SETTLE, || fd.write(b"more"));
    expect_errno!(wrote, EINTR);
    expect_eq!(ok!(stats(&fd)), before);
    expect_eq!(ok!(fd.read_vec(10)), b"full".to_vec());
    Ok(())
}

fn sa_restart_restarts_a_blocked_read(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    // A separate process writes after the signals have come and gone. It
    // is forked first, so that the signals interrupt the read, not the fork.
    let path = dev.path.clone();
    let writer = spawn_child_after(3 * SETTLE, move || match open(&path, O_WRONLY) {
        Ok(w) if w.write(b"late").is_ok() => 0,
        _ => 1,
    });
    catch_signal(libc::SIGALRM, true);
    let got = with_timer_signal(SETTLE, || fd.read_vec(10));
    expect_eq!(wait_pid(writer), 0);
    ensure!(
        SIGNALS_CAUGHT.load(Ordering::SeqCst) >= 1,
        "the handler did not run"
    );
    expect_eq!(ok!(got), b"late".to_vec());
    Ok(())
}

fn sa_restart_restarts_a_blocked_write(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(set_capacity(&fd, 4));
    ok!(fd.write(b"full"));
    let path = dev.path.clone();
    let reader = spawn_child_after(3 * SETTLE, move || match open(&path, O_RDONLY) {
        Ok(r) if r.read_vec(2).map(|v| v == b"fu").unwrap_or(false) => 0,
        _ => 1,
    });
    catch_signal(libc::SIGALRM, true);
    let wrote = with_timer_signal(SETTLE, || fd.write(b"XYZ"));
    expect_eq!(wait_pid(reader), 0);
    ensure!(
        SIGNALS_CAUGHT.load(Ordering::SeqCst) >= 1,
        "the handler did not run"
    );
    expect_eq!(ok!(wrote), 2);
    expect_eq!(ok!(fd.read_vec(10)), b"llXY".to_vec());
    Ok(())
}
