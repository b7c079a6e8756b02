// SPDX-License-Identifier: GPL-2.0
/*
 * c_sample: a bounded FIFO byte queue behind a misc device.
 *
 * Loading the module creates /dev/c_sample. Everything written to it can be
 * read back once, oldest first, by any opener; the bytes stay queued while
 * nobody has the device open, until the module is unloaded. The queue holds
 * `capacity` bytes (a module parameter, 4096 by default): a writer of a full
 * queue sleeps, or gets EAGAIN with O_NONBLOCK; a reader of an empty queue
 * sleeps, gets EAGAIN, or sees end-of-file once no writer is left. Three
 * ioctls read the statistics, clear the queue and resize it.
 *
 * rust_sample.rs is the same driver in Rust: the same sections, in the same
 * order, with the same names, so that the two files scroll in step. The ring
 * is src/ring.h (Rust: src/ring.rs), and docs/device.md describes the
 * behaviour both share.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include "ring.h"
#include "sample_ioctl.h"

/* ------------------------------------------------------------------------
 * The module, its parameter and its ioctl numbers
 * ------------------------------------------------------------------------
 */

MODULE_AUTHOR("The rust-kmod-sample authors");
MODULE_DESCRIPTION("A bounded FIFO byte queue misc device (C)");
MODULE_LICENSE("GPL");

static unsigned int capacity = SAMPLE_CAPACITY_DEFAULT;
/* Permission 0: not in sysfs, so it cannot change while loaded (as in Rust). */
module_param(capacity, uint, 0);
MODULE_PARM_DESC(capacity, "Queue capacity in bytes, 1..1048576 (default 4096)");

/*
 * The ioctl numbers (SAMPLE_IOC_GET_STATS, _CLEAR, _SET_CAPACITY) and
 * struct sample_stats are in src/sample_ioctl.h, which C programs include
 * too; Rust's are in src/sample_abi.rs, and the test suite checks that the
 * two agree.
 */

/* ------------------------------------------------------------------------
 * The queue: one per loaded module, shared by every open file
 * ------------------------------------------------------------------------
 */

/* Everything the lock protects (Rust: struct Queue, inside the Mutex). */
struct sample_queue {
	struct ring ring;
	u64 bytes_written;
	u64 bytes_read;
	u32 readers;
	u32 writers;
};

/* The device: the queue, its lock, and where sleepers wait. */
struct sample_device {
	struct mutex lock;	/* protects queue */
	struct sample_queue queue;
	/* Readers sleep here until there is data or no writer is left. */
	wait_queue_head_t data_available;
	/* Writers sleep here until there is room. */
	wait_queue_head_t space_available;
};

/* Makes the device, with an empty ring of `capacity` bytes. */
static int sample_device_init(struct sample_device *dev, size_t capacity)
{
	mutex_init(&dev->lock);
	init_waitqueue_head(&dev->data_available);
	init_waitqueue_head(&dev->space_available);
	return ring_init(&dev->queue.ring, capacity);
}

/* Whether this read or write must not sleep, as the file says right now. */
static bool is_nonblocking(const struct kiocb *iocb)
{
	return iocb->ki_filp->f_flags & O_NONBLOCK;
}

/* The module's one device, for open() to find. */
static struct sample_device sample_device;

/* ------------------------------------------------------------------------
 * open and release
 * ------------------------------------------------------------------------
 */

static int sample_open(struct inode *inode, struct file *file)
{
	struct sample_device *dev = &sample_device;
	struct sample_queue *queue = &dev->queue;

	/* A stream, like a pipe: no position, so pread and pwrite get ESPIPE. */
	stream_open(inode, file);
	mutex_lock(&dev->lock);
	queue->readers += !!(file->f_mode & FMODE_READ);
	WRITE_ONCE(queue->writers, queue->writers + !!(file->f_mode & FMODE_WRITE));
	mutex_unlock(&dev->lock);
	file->private_data = dev;
	return 0;
}

static int sample_release(struct inode *inode, struct file *file)
{
	struct sample_device *dev = file->private_data;
	struct sample_queue *queue = &dev->queue;
	bool writes = file->f_mode & FMODE_WRITE;

	mutex_lock(&dev->lock);
	queue->readers -= !!(file->f_mode & FMODE_READ);
	WRITE_ONCE(queue->writers, queue->writers - writes);
	/* Readers sleeping on an empty queue now see end-of-file. */
	if (writes && queue->writers == 0)
		wake_up_interruptible_all(&dev->data_available);
	mutex_unlock(&dev->lock);
	return 0;
}

/* ------------------------------------------------------------------------
 * read
 * ------------------------------------------------------------------------
 */

/*
 * The wait conditions run without the lock: after its first check,
 * wait_event() evaluates them with the task already marked asleep, where
 * taking a mutex is not allowed. They only decide whether to stop waiting;
 * the loop around each wait takes the lock and checks again before touching
 * the queue. READ_ONCE makes each unlocked read a single load that the
 * compiler may not tear, repeat or cache; the locked updates of the same
 * fields (ring.len, writers) are WRITE_ONCE, a single store. A plain
 * `len += n` would be a read-modify-write racing with these reads: the
 * kernel's memory model calls that a data race, and KCSAN takes only a
 * plain aligned *store* as untorn, not a read-modify-write (ring_replace's
 * swap stores whole words, as fs/pipe.c's head and tail updates do). That
 * is all such a hint needs. (Rust's CondVar needs no such helper: it checks
 * its condition under the lock, in the loop.)
 */
static bool sample_may_read(struct sample_queue *queue)
{
	return READ_ONCE(queue->ring.len) != 0 || READ_ONCE(queue->writers) == 0;
}

static ssize_t sample_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct sample_device *dev = iocb->ki_filp->private_data;
	struct sample_queue *queue = &dev->queue;
	bool was_full;
	ssize_t ret;

	if (!iov_iter_count(to))
		return 0;
	mutex_lock(&dev->lock);
	while (ring_is_empty(&queue->ring)) {
		if (queue->writers == 0) {
			ret = 0; /* End of file. */
			goto out_unlock;
		}
		/* Looked at only when the call would sleep: off the fast path. */
		if (is_nonblocking(iocb)) {
			ret = -EAGAIN;
			goto out_unlock;
		}
		mutex_unlock(&dev->lock);
		/* A plain wait: a wake-up wakes every sleeper (Rust: notify_all). */
		if (wait_event_interruptible(dev->data_available,
					     sample_may_read(queue)))
			return -ERESTARTSYS;
		mutex_lock(&dev->lock);
	}
	was_full = ring_is_full(&queue->ring);
	/*
	 * Copy straight from the ring into the user's buffer. A fault stops
	 * the copy; the ring keeps every byte that was not copied.
	 */
	ret = ring_pop(&queue->ring, to);
	if (ret == 0) {
		ret = -EFAULT;
		goto out_unlock;
	}
	queue->bytes_read += ret;
	mutex_unlock(&dev->lock);
	/*
	 * Writers only sleep on a full queue: wake them only if it was, and
	 * only once unlocked, so that they do not wake up to wait for the lock.
	 */
	if (was_full)
		wake_up_interruptible_all(&dev->space_available);
	return ret;
out_unlock:
	mutex_unlock(&dev->lock);
	return ret;
}

/* ------------------------------------------------------------------------
 * write
 * ------------------------------------------------------------------------
 */

/* Unlocked, as sample_may_read() above. */
static bool sample_may_write(struct sample_queue *queue)
{
	return READ_ONCE(queue->ring.len) < READ_ONCE(queue->ring.capacity);
}

static ssize_t sample_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct sample_device *dev = iocb->ki_filp->private_data;
	struct sample_queue *queue = &dev->queue;
	bool was_empty;
	ssize_t ret;

	if (!iov_iter_count(from))
		return 0;
	mutex_lock(&dev->lock);
	while (ring_is_full(&queue->ring)) {
		/* Looked at only when the call would sleep: off the fast path. */
		if (is_nonblocking(iocb)) {
			ret = -EAGAIN;
			goto out_unlock;
		}
		mutex_unlock(&dev->lock);
		if (wait_event_interruptible(dev->space_available,
					     sample_may_write(queue)))
			return -ERESTARTSYS;
		mutex_lock(&dev->lock);
	}
	was_empty = ring_is_empty(&queue->ring);
	/*
	 * Copy straight from the user's buffer into the ring. Holding the
	 * lock keeps this call's bytes contiguous in the queue.
	 */
	ret = ring_push(&queue->ring, from);
	if (ret == 0) {
		ret = -EFAULT;
		goto out_unlock;
	}
	queue->bytes_written += ret;
	mutex_unlock(&dev->lock);
	/*
	 * Readers only sleep on an empty queue: wake them only if it was, and
	 * only once unlocked, so that they do not wake up to wait for the lock.
	 */
	if (was_empty)
		wake_up_interruptible_all(&dev->data_available);
	return ret;
out_unlock:
	mutex_unlock(&dev->lock);
	return ret;
}

/* ------------------------------------------------------------------------
 * ioctl
 * ------------------------------------------------------------------------
 */

/* SAMPLE_IOC_GET_STATS: a consistent snapshot, copied out unlocked. */
static long sample_get_stats(struct sample_device *dev, void __user *arg)
{
	struct sample_queue *queue = &dev->queue;
	struct sample_stats stats;

	mutex_lock(&dev->lock);
	stats = (struct sample_stats) {
		.bytes_written = queue->bytes_written,
		.bytes_read = queue->bytes_read,
		.len = queue->ring.len,
		.capacity = queue->ring.capacity,
		.readers = queue->readers,
		.writers = queue->writers,
	};
	mutex_unlock(&dev->lock);
	if (copy_to_user(arg, &stats, sizeof(stats)))
		return -EFAULT;
	return 0;
}

/* SAMPLE_IOC_CLEAR: discard the contents and wake blocked writers. */
static long sample_clear(struct sample_device *dev)
{
	struct sample_queue *queue = &dev->queue;
	bool was_full;

	mutex_lock(&dev->lock);
	was_full = ring_is_full(&queue->ring);
	ring_clear(&queue->ring);
	if (was_full)
		wake_up_interruptible_all(&dev->space_available);
	mutex_unlock(&dev->lock);
	return 0;
}

/* SAMPLE_IOC_SET_CAPACITY: move the contents into a new ring. */
static long sample_set_capacity(struct sample_device *dev, u32 __user *arg)
{
	struct sample_queue *queue = &dev->queue;
	struct ring new_ring;
	bool was_full, grew;
	u32 capacity;
	int ret;

	if (get_user(capacity, arg))
		return -EFAULT;
	if (capacity < SAMPLE_CAPACITY_MIN || capacity > SAMPLE_CAPACITY_MAX)
		return -EINVAL;
	/* Allocate before locking: a large allocation may sleep for a while. */
	ret = ring_init(&new_ring, capacity);
	if (ret)
		return ret;
	mutex_lock(&dev->lock);
	was_full = ring_is_full(&queue->ring);
	grew = new_ring.capacity > queue->ring.capacity;
	/* On success new_ring holds the old storage; on failure, the new. */
	ret = ring_replace(&queue->ring, &new_ring);
	if (!ret && was_full && grew)
		wake_up_interruptible_all(&dev->space_available);
	mutex_unlock(&dev->lock);
	/* Free whichever storage is unused only now, outside the lock. */
	ring_free(&new_ring);
	return ret;
}

static long sample_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct sample_device *dev = file->private_data;

	switch (cmd) {
	case SAMPLE_IOC_GET_STATS:
		return sample_get_stats(dev, (void __user *)arg);
	case SAMPLE_IOC_CLEAR:
		return sample_clear(dev);
	case SAMPLE_IOC_SET_CAPACITY:
		return sample_set_capacity(dev, (u32 __user *)arg);
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------------------------------
 * The file operations
 * ------------------------------------------------------------------------
 */

/* What the VFS calls for a file of the device: the functions above. */
static const struct file_operations sample_fops = {
	/* Pins the module while a file is open, so rmmod fails with EAGAIN. */
	.owner = THIS_MODULE,
	.open = sample_open,
	.release = sample_release,
	.read_iter = sample_read_iter,
	.write_iter = sample_write_iter,
	.unlocked_ioctl = sample_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	/* No .llseek: lseek() fails with ESPIPE, as in Rust. */
};

/* ------------------------------------------------------------------------
 * Module load and unload
 * ------------------------------------------------------------------------
 */

static struct miscdevice sample_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "c_sample",
	.fops = &sample_fops,
};

/* Checks the `capacity` parameter, makes the device and registers it. */
static int __init sample_init(void)
{
	int ret;

	if (capacity < SAMPLE_CAPACITY_MIN || capacity > SAMPLE_CAPACITY_MAX) {
		pr_err("invalid capacity=%u: must be %u..=%u bytes\n",
		       capacity, SAMPLE_CAPACITY_MIN, SAMPLE_CAPACITY_MAX);
		return -EINVAL;
	}
	ret = sample_device_init(&sample_device, capacity);
	if (ret)
		return ret;
	/* Register last: from here on, open() can be called. */
	ret = misc_register(&sample_misc);
	if (ret) {
		ring_free(&sample_device.queue.ring);
		return ret;
	}
	pr_info("loaded: /dev/c_sample, capacity %u bytes\n", capacity);
	return 0;
}

static void __exit sample_exit(void)
{
	/* First no new opens; no file is open, or we could not be unloading. */
	misc_deregister(&sample_misc);
	ring_free(&sample_device.queue.ring);
	pr_info("unloaded\n");
}

module_init(sample_init);
module_exit(sample_exit);
