//! Bad user buffers: partial copies at an unmapped page, nothing lost.
//!
//! Where a copy stops at a fault is the kernel's choice, not the driver's:
//! x86_64's copy routines go up to the unmapped byte, arm64's may stop a few
//! bytes short (`include/linux/uaccess.h` allows that, as long as a copy
//! whose first byte is readable copies something). So the cases check what
//! the contract says: some bytes `c` were copied, no more than were mapped,
//! and exactly those `c` were queued or removed; on x86_64, where the kernel
//! copies up to the fault, also that `c` is every mapped byte (which a
//! driver that dropped a piece of its copy would miss).

use super::cases;
use crate::dev::{set_capacity, stats};
use crate::sys::*;
use crate::{ensure, expect_eq, expect_errno, ok, Case, Dev, Outcome};

/// A copy that met a fault after `mapped` readable (or writable) bytes
/// copied `c` of them: at least one, at most all; all on x86_64.
fn partial(c: usize, mapped: usize) -> Result<usize, String> {
    let least = if cfg!(target_arch = "x86_64") {
        mapped
    } else {
        1
    };
    ensure!(
        (least..=mapped).contains(&c),
        "the call copied {c} bytes; with {mapped} mapped before the fault it must copy {least} to {mapped}"
    );
    Ok(c)
}

pub fn cases() -> Vec<Case> {
    cases![
        write_from_a_half_unmapped_buffer_queues_exactly_what_was_copied,
        write_from_an_unmapped_buffer_is_efault_and_changes_nothing,
        read_into_a_half_unmapped_buffer_keeps_the_rest_in_order,
        read_into_an_unmapped_buffer_is_efault_and_changes_nothing,
        read_fault_in_the_wrapped_part_keeps_the_rest,
        write_fault_in_the_wrapped_part_keeps_what_was_copied,
        zero_length_calls_ignore_a_bad_pointer,
    ]
}

fn write_from_a_half_unmapped_buffer_queues_exactly_what_was_copied(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    let edge = Edge::new();
    edge.fill(b"abcde");
    let c = partial(ok!(fd.write_raw(edge.ptr(5), 10)), 5)?;
    expect_eq!(ok!(fd.read_vec(100)), b"abcde"[..c].to_vec());
    Ok(())
}

fn write_from_an_unmapped_buffer_is_efault_and_changes_nothing(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(fd.write(b"keep"));
    let before = ok!(stats(&fd));
    let edge = Edge::new();
    expect_errno!(fd.write_raw(edge.ptr(0), 10), EFAULT);
    expect_errno!(fd.write_raw(bad_ptr() as *const u8, 10), EFAULT);
    expect_eq!(ok!(stats(&fd)), before);
    expect_eq!(ok!(fd.read_vec(100)), b"keep".to_vec());
    Ok(())
}

fn read_into_a_half_unmapped_buffer_keeps_the_rest_in_order(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(fd.write(b"0123456789"));
    let edge = Edge::new();
    let c = partial(ok!(fd.read_raw(edge.ptr(4), 10)), 4)?;
    expect_eq!(edge.tail(4)[..c].to_vec(), b"0123"[..c].to_vec());
    let s = ok!(stats(&fd));
    expect_eq!(s.len as usize, 10 - c);
    expect_eq!(ok!(fd.read_vec(100)), b"0123456789"[c..].to_vec());
    Ok(())
}

fn read_into_an_unmapped_buffer_is_efault_and_changes_nothing(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(fd.write(b"safe"));
    let before = ok!(stats(&fd));
    let edge = Edge::new();
    expect_errno!(fd.read_raw(edge.ptr(0), 10), EFAULT);
    expect_errno!(fd.read_raw(bad_ptr() as *mut u8, 10), EFAULT);
    expect_eq!(ok!(stats(&fd)), before);
    expect_eq!(ok!(fd.read_vec(100)), b"safe".to_vec());
    Ok(())
}

/// Leaves "fghijk" queued in a ring of 8, wrapped after "fgh".
fn wrap(fd: &Fd) -> Outcome {
    ok!(set_capacity(fd, 8));
    ok!(fd.write(b"abcdef"));
    expect_eq!(ok!(fd.read_vec(5)), b"abcde".to_vec());
    expect_eq!(ok!(fd.write(b"ghijk")), 5);
    Ok(())
}

fn read_fault_in_the_wrapped_part_keeps_the_rest(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    wrap(&fd)?;
    let edge = Edge::new();
    // "fgh" from the end of the ring, "i" from its start, then the fault.
    let c = partial(ok!(fd.read_raw(edge.ptr(4), 10)), 4)?;
    expect_eq!(edge.tail(4)[..c].to_vec(), b"fghi"[..c].to_vec());
    expect_eq!(ok!(fd.read_vec(100)), b"fghijk"[c..].to_vec());
    Ok(())
}

fn write_fault_in_the_wrapped_part_keeps_what_was_copied(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    ok!(set_capacity(&fd, 8));
    ok!(fd.write(b"abcdef"));
    expect_eq!(ok!(fd.read_vec(5)), b"abcde".to_vec());
    // Free space: 2 bytes at the end of the ring, 5 at its start.
    let edge = Edge::new();
    edge.fill(b"WXYZ");
    let c = partial(ok!(fd.write_raw(edge.ptr(4), 7)), 4)?;
    let s = ok!(stats(&fd));
    expect_eq!(s.len as usize, 1 + c);
    expect_eq!(ok!(fd.read_vec(100)), [&b"f"[..], &b"WXYZ"[..c]].concat());
    Ok(())
}

fn zero_length_calls_ignore_a_bad_pointer(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDWR));
    expect_eq!(ok!(fd.write_raw(bad_ptr() as *const u8, 0)), 0);
    expect_eq!(ok!(fd.read_raw(bad_ptr() as *mut u8, 0)), 0);
    Ok(())
}
