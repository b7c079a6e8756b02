// SPDX-License-Identifier: GPL-2.0

//! A fixed-capacity ring of bytes: the storage behind the FIFO.
//!
//! The ring knows nothing about files, users or locks. It hands out its
//! queued bytes (or its free space) as at most two contiguous slices and lets
//! the caller copy straight between them and user memory, so that the driver
//! needs no bounce buffer. The caller's copy may stop short (a bad user
//! pointer): the ring then commits exactly the bytes that were copied.
//!
//! `src/ring.h` is the same ring in C, function for function, in the same
//! order. The unit tests at the end run under KUnit when the module is loaded into a
//! kernel built with `CONFIG_KUNIT`.

use kernel::{
    alloc::flags::__GFP_NOWARN,
    prelude::*, //
};

/// A byte ring with a fixed capacity, allocated once.
pub(crate) struct Ring {
    /// The storage; its length is the capacity. Zeroed when allocated, so no
    /// stale kernel memory can ever be copied out.
    buf: KVVec<u8>,
    /// Index of the oldest queued byte.
    head: usize,
    /// Number of queued bytes.
    len: usize,
}

impl Ring {
    /// Allocates an empty ring of `capacity` bytes. The size comes from
    /// userspace, so a failure is reported as `ENOMEM` without the kernel's
    /// allocation-failure warning (`__GFP_NOWARN`).
    pub(crate) fn new(capacity: usize) -> Result<Self> {
        Ok(Self {
            buf: KVVec::zeroed(capacity, GFP_KERNEL | __GFP_NOWARN)?,
            head: 0,
            len: 0,
        })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// Discards every queued byte.
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Maps a logical position (`0 ..= 2 * capacity`) to an index in `buf`.
    fn wrap(&self, pos: usize) -> usize {
        if pos >= self.capacity() {
            pos - self.capacity()
        } else {
            pos
        }
    }

    /// Hands the queued bytes, oldest first, to `copy_out` in at most two
    /// contiguous pieces and removes as many as it reports copied. Stops at
    /// the first piece that `copy_out` does not take whole. Returns the number
    /// of bytes removed.
    pub(crate) fn pop(&mut self, mut copy_out: impl FnMut(&[u8]) -> usize) -> usize {
        // The queued bytes run from `head` to the end of `buf`, then wrap to
        // its start. Splitting `buf` at `head` checks that bound once; the
        // pieces are then in bounds by construction.
        let (start, from_head) = self.buf.split_at(self.head);
        let first = self.len.min(from_head.len());
        let mut done = copy_out(&from_head[..first]).min(first);
        if done == first && self.len > first {
            let second = self.len - first;
            done += copy_out(&start[..second]).min(second);
        }
        self.len -= done;
        // An empty ring starts again at index 0, so that the next pieces are
        // as long as possible.
        self.head = if self.len == 0 {
            0
        } else {
            self.wrap(self.head + done)
        };
        done
    }

    /// Hands the free space, in queue order, to `copy_in` in at most two
    /// contiguous pieces and appends as many bytes as it reports filled.
    /// Stops at the first piece that `copy_in` does not fill. Returns the
    /// number of bytes appended.
    pub(crate) fn push(&mut self, mut copy_in: impl FnMut(&mut [u8]) -> usize) -> usize {
        // The free space runs from the tail to the end of `buf`, then wraps.
        let tail = self.wrap(self.head + self.len);
        let free = self.capacity() - self.len;
        let (start, from_tail) = self.buf.split_at_mut(tail);
        let first = free.min(from_tail.len());
        let mut done = copy_in(&mut from_tail[..first]).min(first);
        if done == first && free > first {
            let second = free - first;
            done += copy_in(&mut start[..second]).min(second);
        }
        self.len += done;
        done
    }

    /// Moves the queued bytes, in order, into `new` and makes it this ring's
    /// storage. Returns the old, now unused ring, so that the caller can free
    /// it after dropping its lock. If the bytes do not fit, returns `new`
    /// unused as the error and changes nothing.
    pub(crate) fn replace(&mut self, mut new: Ring) -> Result<Ring, Ring> {
        if self.len > new.capacity() - new.len {
            return Err(new);
        }
        let queued = self.len;
        let moved = self.pop(|piece| new.push(|space| copy_prefix(space, piece)));
        debug_assert_eq!(moved, queued);
        Ok(core::mem::replace(self, new))
    }
}

/// Copies as much of `src` as fits into `dst`; returns the count.
fn copy_prefix(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
    n
}

#[kunit_tests(rust_sample_ring)]
mod tests {
    use super::*;

    /// Appends `data` whole (the test rings are big enough).
    fn push_all(ring: &mut Ring, data: &[u8]) -> usize {
        let mut offset = 0;
        ring.push(|space| {
            let n = copy_prefix(space, &data[offset..]);
            offset += n;
            n
        })
    }

    /// Removes up to `max` bytes into a new vector.
    fn pop_up_to(ring: &mut Ring, max: usize) -> KVec<u8> {
        let mut out = KVec::new();
        ring.pop(|piece| {
            let n = piece.len().min(max - out.len());
            out.extend_from_slice(&piece[..n], GFP_KERNEL).unwrap();
            n
        });
        out
    }

    #[test]
    fn fifo_order_across_the_wrap() {
        let mut ring = Ring::new(8).unwrap();
        assert_eq!(push_all(&mut ring, b"abcdef"), 6);
        assert_eq!(&pop_up_to(&mut ring, 4)[..], b"abcd");
        // "ghijkl" wraps: two bytes at the end, four at the start.
        assert_eq!(push_all(&mut ring, b"ghijkl"), 6);
        assert!(ring.is_full());
        assert_eq!(&pop_up_to(&mut ring, 100)[..], b"efghijkl");
        assert!(ring.is_empty());
    }

    #[test]
    fn push_stops_at_capacity() {
        let mut ring = Ring::new(4).unwrap();
        assert_eq!(push_all(&mut ring, b"abcdef"), 4);
        assert_eq!(push_all(&mut ring, b"x"), 0);
        assert_eq!(&pop_up_to(&mut ring, 100)[..], b"abcd");
    }

    #[test]
    fn short_copy_commits_exactly_what_was_copied() {
        let mut ring = Ring::new(8).unwrap();
        // The caller copies 3 of the 8 bytes offered, then "faults".
        assert_eq!(ring.push(|space| copy_prefix(space, b"abc")), 3);
        assert_eq!(ring.len(), 3);
        // The reader takes 2 bytes, then faults: one byte stays, in order.
        assert_eq!(ring.pop(|piece| piece.len().min(2)), 2);
        assert_eq!(&pop_up_to(&mut ring, 100)[..], b"c");
    }

    #[test]
    fn capacity_one() {
        let mut ring = Ring::new(1).unwrap();
        for byte in *b"xyz" {
            assert_eq!(push_all(&mut ring, &[byte, byte]), 1);
            assert!(ring.is_full());
            assert_eq!(&pop_up_to(&mut ring, 5)[..], &[byte]);
        }
    }

    #[test]
    fn replace_keeps_wrapped_contents_in_order() {
        let mut ring = Ring::new(6).unwrap();
        push_all(&mut ring, b"abcde");
        pop_up_to(&mut ring, 3);
        push_all(&mut ring, b"fgh"); // queued "defgh", wrapped
        let old = ring.replace(Ring::new(5).unwrap()).ok().unwrap();
        assert_eq!(old.capacity(), 6);
        assert_eq!((ring.capacity(), ring.len()), (5, 5));
        assert_eq!(&pop_up_to(&mut ring, 100)[..], b"defgh");
    }

    #[test]
    fn replace_refuses_a_ring_too_small() {
        let mut ring = Ring::new(6).unwrap();
        push_all(&mut ring, b"abcd");
        let refused = ring.replace(Ring::new(3).unwrap()).err().unwrap();
        assert_eq!(refused.capacity(), 3);
        assert_eq!(&pop_up_to(&mut ring, 100)[..], b"abcd");
    }
}
