// SPDX-License-Identifier: GPL-2.0

//! What the 7.3 `kernel` crate lacks for this driver, written as the crate
//! would write it: small functions over the crate's own types, with the
//! `unsafe` inside and the reason it is sound next to it.
//!
//! Upstream keeps `unsafe` in abstractions like these, not in drivers
//! (`samples/rust/rust_misc_device.rs` has none). Where the argument types
//! prove what the C function needs, the function is safe; where they do
//! not, it is an `unsafe fn` whose `# Safety` section says what the caller
//! must prove. Each one names the change to the crate that would retire it.

use kernel::{
    bindings,
    fs::{
        file::flags::O_NONBLOCK,
        File,
        Kiocb,
        LocalFile, //
    },
    types::ForeignOwnable, //
};

/// Whether the file of this read or write has `O_NONBLOCK` set, as it is
/// right now: `fcntl(F_SETFL)` may change it while the file is open.
///
/// Safe, because a [`Kiocb`] exists only inside a `read_iter` or
/// `write_iter` call, on the thread of the `read(2)` or `write(2)` that made
/// it (`MiscDevice::read_iter` takes it by value and cannot keep it).
///
/// Retired by a `Kiocb::file()` that returns the `&LocalFile` the kiocb
/// belongs to (the crate's `Kiocb::file` returns the private data instead).
#[inline]
pub(crate) fn kiocb_nonblocking<T: ForeignOwnable>(kiocb: &Kiocb<'_, T>) -> bool {
    // SAFETY: The VFS calls `read_iter`/`write_iter` with a valid kiocb whose
    // `ki_filp` is the file being read or written, and holds a reference to
    // it for the whole call, so it outlives the `&LocalFile` made here.
    // `LocalFile` also asks that an `fdget_pos` that did not take
    // `f_pos_lock` be on this thread: the only one is the `read(2)` or
    // `write(2)` that made the kiocb (a stream takes no position lock).
    let file = unsafe { LocalFile::from_raw_file((*kiocb.as_raw()).ki_filp) };
    file.flags() & O_NONBLOCK != 0
}

/// Marks `file` a stream, as the kernel's `stream_open` does: no file
/// position, so `pread(2)` and `pwrite(2)` fail with `ESPIPE`, and reads
/// and writes take no position lock.
///
/// Retired by a `File::stream_open` in the crate, or a flag of
/// `MiscDeviceOptions` that opens every file of the device as a stream.
///
/// # Safety
///
/// `file` must not be shared yet: call it from `open`, before the file is
/// in any process's file table. `stream_open` changes `f_mode` without a
/// lock, which races with anything else that reads or writes it.
#[inline]
pub(crate) unsafe fn stream_open(file: &File) {
    // SAFETY: `file.as_ptr()` is a valid file for the duration of this call,
    // and its `f_inode` is set from the moment the file is opened. The
    // caller guarantees that nothing else uses `f_mode` meanwhile.
    unsafe { bindings::stream_open((*file.as_ptr()).f_inode, file.as_ptr()) };
}
