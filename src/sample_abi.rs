// SPDX-License-Identifier: GPL-2.0

//! The sample device's ioctl interface, for Rust.
//!
//! The same ABI as `src/sample_ioctl.h`, written with `core` only so that both
//! the driver (`rust_sample.rs`) and the userspace test suite use this one
//! file. The driver checks at compile time that the numbers below are what the
//! kernel's `_IOR`/`_IO`/`_IOW` produce; the test suite checks that they, the
//! struct's size and its field offsets match the C header.

/// The ioctl type ("magic") of every command.
pub(crate) const SAMPLE_IOC_MAGIC: u32 = 0xE1;

/// `_IOR(0xE1, 0x01, struct sample_stats)`: copy out a [`SampleStats`].
pub(crate) const SAMPLE_IOC_GET_STATS: u32 = 0x8020_E101;
/// `_IO(0xE1, 0x02)`: discard every queued byte.
pub(crate) const SAMPLE_IOC_CLEAR: u32 = 0x0000_E102;
/// `_IOW(0xE1, 0x03, __u32)`: set a new capacity, keeping the contents.
pub(crate) const SAMPLE_IOC_SET_CAPACITY: u32 = 0x4004_E103;

/// Smallest valid capacity, in bytes.
pub(crate) const CAPACITY_MIN: u32 = 1;
/// Largest valid capacity, in bytes (1 MiB).
pub(crate) const CAPACITY_MAX: u32 = 1024 * 1024;
/// Capacity when the `capacity` module parameter is not given.
pub(crate) const CAPACITY_DEFAULT: u32 = 4096;

/// `struct sample_stats`: 32 bytes, no padding, native endianness.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SampleStats {
    /// Bytes accepted by `write()` since the module was loaded.
    pub(crate) bytes_written: u64,
    /// Bytes returned by `read()` since the module was loaded.
    pub(crate) bytes_read: u64,
    /// Bytes queued now.
    pub(crate) len: u32,
    /// Capacity now, in bytes.
    pub(crate) capacity: u32,
    /// Open file descriptions with read access.
    pub(crate) readers: u32,
    /// Open file descriptions with write access.
    pub(crate) writers: u32,
}

/// Size of [`SampleStats`] in bytes, as the ioctl number encodes it.
pub(crate) const SAMPLE_STATS_SIZE: usize = core::mem::size_of::<SampleStats>();

// The layout `to_bytes` and `from_bytes` rely on, checked by the compiler.
const _: () = {
    use core::mem::offset_of;
    assert!(SAMPLE_STATS_SIZE == 32);
    assert!(offset_of!(SampleStats, bytes_written) == 0);
    assert!(offset_of!(SampleStats, bytes_read) == 8);
    assert!(offset_of!(SampleStats, len) == 16);
    assert!(offset_of!(SampleStats, capacity) == 20);
    assert!(offset_of!(SampleStats, readers) == 24);
    assert!(offset_of!(SampleStats, writers) == 28);
};

impl SampleStats {
    /// The struct's bytes, laid out exactly as in C (no `unsafe` needed).
    pub(crate) fn to_bytes(self) -> [u8; SAMPLE_STATS_SIZE] {
        let mut out = [0u8; SAMPLE_STATS_SIZE];
        out[0..8].copy_from_slice(&self.bytes_written.to_ne_bytes());
        out[8..16].copy_from_slice(&self.bytes_read.to_ne_bytes());
        out[16..20].copy_from_slice(&self.len.to_ne_bytes());
        out[20..24].copy_from_slice(&self.capacity.to_ne_bytes());
        out[24..28].copy_from_slice(&self.readers.to_ne_bytes());
        out[28..32].copy_from_slice(&self.writers.to_ne_bytes());
        out
    }

    /// The inverse of [`SampleStats::to_bytes`].
    pub(crate) fn from_bytes(b: &[u8; SAMPLE_STATS_SIZE]) -> Self {
        let u64_at = |i: usize| {
            let mut field = [0u8; 8];
            field.copy_from_slice(&b[i..i + 8]);
            u64::from_ne_bytes(field)
        };
        let u32_at = |i: usize| {
            let mut field = [0u8; 4];
            field.copy_from_slice(&b[i..i + 4]);
            u32::from_ne_bytes(field)
        };
        Self {
            bytes_written: u64_at(0),
            bytes_read: u64_at(8),
            len: u32_at(16),
            capacity: u32_at(20),
            readers: u32_at(24),
            writers: u32_at(28),
        }
    }
}
