//! Sleeping and waking: data, room, end-of-file, CLEAR, resize, signals.

use super::cases;
use crate::dev::{ioctl_clear, set_capacity, stats};
use crate::sleep::block;
use crate::sys::*;
use crate::{ensure, expect_eq, expect_errno, ok, Case, Dev, Outcome};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub fn cases() -> Vec<Case> {
    cases![
        blocked_read_wakes_when_data_arrives,
        blocked_write_wakes_when_room_appears,
        blocked_reader_sees_eof_when_last_writer_closes,
        blocked_reader_waits_while_a_writer_remains,
        two_blocked_readers_both_wake_for_one_write,
        clear_wakes_a_blocked_writer,
        growing_capacity_wakes_a_blocked_writer,
        signal_interrupts_a_blocked_read_with_eintr,
        signal_interrupts_a_blocked_write_with_eintr,
        sa_restart_restarts_a_blocked_read,
        sa_restart_restarts_a_blocked_write,
    ]
}

/// How long a call that must not wake is watched; the timer signals' period.
const SETTLE: Duration = Duration::from_millis(300);

fn blocked_read_wakes_when_data_arrives(dev: &Dev) -> Outcome {
    let reader = Arc::new(ok!(dev.open(O_RDONLY)));
    let writer = ok!(dev.open(O_WRONLY));
    let r = reader.clone();
    let blocked = block(dev, move || r.read_vec(100))?;
    ok!(writer.write(b"wake"));
    expect_eq!(ok!(blocked.finish()?), b"wake".to_vec());
    Ok(())
}

fn blocked_write_wakes_when_room_appears(dev: &Dev) -> Outcome {
    let writer = Arc::new(ok!(dev.open(O_WRONLY)));
    let reader = ok!(dev.open(O_RDONLY));
    ok!(set_capacity(&reader, 4));
    ok!(writer.write(b"1234"));
    let w = writer.clone();
    let blocked = block(dev, move || w.write(b"56"))?;
    expect_eq!(ok!(reader.read_vec(1)), b"1".to_vec());
    // One byte of room: the blocked write takes it and returns.
    expect_eq!(ok!(blocked.finish()?), 1);
    expect_eq!(ok!(reader.read_vec(10)), b"2345".to_vec());
    Ok(())
}

fn blocked_reader_sees_eof_when_last_writer_closes(dev: &Dev) -> Outcome {
    let reader = ok!(dev.open(O_RDONLY));
    let w1 = ok!(dev.open(O_WRONLY));
    let w2 = ok!(dev.open(O_RDWR));
    let blocked = block(dev, move || reader.read_vec(10))?;
    drop(w1);
    // A writer (O_RDWR) remains: no end of file, and no wake-up either.
    blocked.stays_asleep_for(SETTLE)?;
    drop(w2);
    expect_eq!(ok!(blocked.finish()?), Vec::<u8>::new());
    Ok(())
}

fn blocked_reader_waits_while_a_writer_remains(dev: &Dev) -> Outcome {
    let reader = ok!(dev.open(O_RDONLY));
    let keep = ok!(dev.open(O_WRONLY));
    let blocked = block(dev, move || reader.read_vec(10))?;
    for _ in 0..3 {
        // Writers that come and go do not end the file while `keep` is open.
        drop(ok!(dev.open(O_WRONLY)));
    }
    blocked.stays_asleep_for(SETTLE)?;
    ok!(keep.write(b"z"));
    expect_eq!(ok!(blocked.finish()?), b"z".to_vec());
    Ok(())
}

/// One write wakes every sleeping reader, and a reader that leaves bytes
/// behind (a partial read) does not strand the others: each 1-byte reader
/// gets one of the two bytes.
fn two_blocked_readers_both_wake_for_one_write(dev: &Dev) -> Outcome {
    let writer = ok!(dev.open(O_WRONLY));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let fd = ok!(dev.open(O_RDONLY));
        readers.push(block(dev, move || fd.read_vec(1))?);
    }
    ok!(writer.write(b"ab"));
    let mut got = Vec::new();
    for reader in readers {
        got.extend(ok!(reader.finish()?));
    }
    got.sort();
    expect_eq!(got, b"ab".to_vec());
    expect_eq!(dev.stats().len, 0);
    Ok(())
}

fn clear_wakes_a_blocked_writer(dev: &Dev) -> Outcome {
    let writer = Arc::new(ok!(dev.open(O_WRONLY)));
    let ctl = dev.ctl();
    ok!(set_capacity(&ctl, 3));
    ok!(writer.write(b"abc"));
    let w = writer.clone();
    let blocked = block(dev, move || w.write(b"defg"))?;
    ok!(ioctl_clear(&ctl));
    expect_eq!(ok!(blocked.finish()?), 3);
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
    let blocked = block(dev, move || w.write(b"cdef"))?;
    ok!(set_capacity(&ctl, 5));
    expect_eq!(ok!(blocked.finish()?), 3);
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

/// The read is seen asleep in the driver, a signal with an `SA_RESTART`
/// handler interrupts it (the handler runs while the read is still
/// outstanding), the kernel restarts it (asleep in the driver again, no
/// EINTR), and only then does data arrive.
fn sa_restart_restarts_a_blocked_read(dev: &Dev) -> Outcome {
    let reader = Arc::new(ok!(dev.open(O_RDONLY)));
    let writer = ok!(dev.open(O_WRONLY));
    catch_signal(libc::SIGALRM, true);
    let r = reader.clone();
    let mut blocked = block(dev, move || r.read_vec(10))?;
    blocked.interrupt_and_restart(libc::SIGALRM)?;
    ok!(writer.write(b"late"));
    expect_eq!(ok!(blocked.finish()?), b"late".to_vec());
    Ok(())
}

/// As for the read: asleep on a full queue, interrupted, restarted, and
/// then woken by a reader that makes room for two of its three bytes.
fn sa_restart_restarts_a_blocked_write(dev: &Dev) -> Outcome {
    let writer = Arc::new(ok!(dev.open(O_WRONLY)));
    let reader = ok!(dev.open(O_RDONLY | O_NONBLOCK));
    ok!(set_capacity(&reader, 4));
    ok!(writer.write(b"full"));
    catch_signal(libc::SIGALRM, true);
    let w = writer.clone();
    let mut blocked = block(dev, move || w.write(b"XYZ"))?;
    blocked.interrupt_and_restart(libc::SIGALRM)?;
    expect_eq!(ok!(reader.read_vec(2)), b"fu".to_vec());
    expect_eq!(ok!(blocked.finish()?), 2);
    expect_eq!(ok!(reader.read_vec(10)), b"llXY".to_vec());
    Ok(())
}
