/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fixed-capacity ring of bytes: the storage behind the FIFO (Rust:
 * src/ring.rs, function for function, in the same order).
 *
 * The ring knows nothing about files, users or locks. It copies its queued
 * bytes (or into its free space) in at most two contiguous pieces, straight
 * between the storage and user memory, so that the driver needs no bounce
 * buffer. A copy may stop short (a bad user pointer): the ring then commits
 * exactly the bytes that were copied.
 */
#ifndef _SAMPLE_RING_H
#define _SAMPLE_RING_H

#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/uio.h>

/*
 * A byte ring with a fixed capacity, allocated once. The driver's wait
 * conditions read len (and capacity) without its lock, so every update of
 * a shared ring's len is a WRITE_ONCE (c_sample.c says why).
 */
struct ring {
	u8 *buf;		/* zeroed storage of `capacity` bytes */
	size_t capacity;
	size_t head;		/* index of the oldest queued byte */
	size_t len;		/* number of queued bytes */
};

/*
 * Allocates an empty ring of `capacity` bytes. The size comes from userspace,
 * so a failure is reported as -ENOMEM without the kernel's allocation-failure
 * warning (__GFP_NOWARN).
 */
static inline int ring_init(struct ring *ring, size_t capacity)
{
	ring->buf = kvzalloc(capacity, GFP_KERNEL | __GFP_NOWARN);
	if (!ring->buf)
		return -ENOMEM;
	ring->capacity = capacity;
	ring->head = 0;
	ring->len = 0;
	return 0;
}

/* Frees the storage (Rust: the Drop of the ring's KVVec). */
static inline void ring_free(struct ring *ring)
{
	kvfree(ring->buf);
	ring->buf = NULL;
}

static inline bool ring_is_empty(const struct ring *ring)
{
	return ring->len == 0;
}

static inline bool ring_is_full(const struct ring *ring)
{
	return ring->len == ring->capacity;
}

/* Discards every queued byte. */
static inline void ring_clear(struct ring *ring)
{
	ring->head = 0;
	WRITE_ONCE(ring->len, 0);
}

/* Maps a logical position (0 ..= 2 * capacity) to an index in buf. */
static inline size_t ring_wrap(const struct ring *ring, size_t pos)
{
	return pos >= ring->capacity ? pos - ring->capacity : pos;
}

/*
 * Copies the queued bytes, oldest first, into the iov in at most two pieces
 * and removes as many as were copied. Stops at the first piece that is not
 * copied whole (a fault). Returns the number of bytes removed.
 */
static inline size_t ring_pop(struct ring *ring, struct iov_iter *to)
{
	size_t first = min(ring->len, ring->capacity - ring->head);
	size_t done;

	done = copy_to_iter(ring->buf + ring->head, first, to);
	if (done == first && ring->len > first)
		done += copy_to_iter(ring->buf, ring->len - first, to);
	WRITE_ONCE(ring->len, ring->len - done);
	/* An empty ring starts again at 0, so the next pieces are longest. */
	ring->head = ring->len ? ring_wrap(ring, ring->head + done) : 0;
	return done;
}

/*
 * Copies bytes from the iov into the free space, in queue order, in at most
 * two pieces, and appends as many as were copied. Stops at the first piece
 * that is not filled (a fault, or the iov ran out). Returns the number of
 * bytes appended.
 */
static inline size_t ring_push(struct ring *ring, struct iov_iter *from)
{
	size_t tail = ring_wrap(ring, ring->head + ring->len);
	size_t free = ring->capacity - ring->len;
	size_t first = min(free, ring->capacity - tail);
	size_t done;

	done = copy_from_iter(ring->buf + tail, first, from);
	if (done == first && free > first)
		done += copy_from_iter(ring->buf, free - first, from);
	WRITE_ONCE(ring->len, ring->len + done);
	return done;
}

/*
 * Moves the queued bytes, in order, into the empty ring `new` and swaps the
 * two: afterwards `new` holds the old storage, for the caller to free after
 * unlocking. Returns -EINVAL, changing nothing, if the bytes do not fit.
 */
static inline int ring_replace(struct ring *ring, struct ring *new)
{
	size_t first = min(ring->len, ring->capacity - ring->head);

	if (ring->len > new->capacity)
		return -EINVAL;
	memcpy(new->buf, ring->buf + ring->head, first);
	memcpy(new->buf + first, ring->buf, ring->len - first);
	new->len = ring->len;
	swap(*ring, *new);
	return 0;
}

#endif /* _SAMPLE_RING_H */
