// SPDX-License-Identifier: GPL-2.0
/*
 * Exercise `fdinfo`, the C half: /dev/ex_fdinfo_c accepts and drops whatever
 * is written to it, and counts, per open file, the write() calls and their
 * bytes, which /proc/PID/fdinfo/FD shows.
 */

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uio.h>

/* What one open file has written. */
struct sink {
	struct mutex lock;	/* protects the counts */
	u64 writes;
	u64 bytes;
};

static int sink_open(struct inode *inode, struct file *file)
{
	struct sink *sink = kzalloc_obj(*sink, GFP_KERNEL);

	if (!sink)
		return -ENOMEM;
	mutex_init(&sink->lock);
	file->private_data = sink;
	return 0;
}

static int sink_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t sink_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct sink *sink = iocb->ki_filp->private_data;
	size_t len = iov_iter_count(from);

	iov_iter_advance(from, len);
	mutex_lock(&sink->lock);
	sink->writes++;
	sink->bytes += len;
	mutex_unlock(&sink->lock);
	return len;
}

/* Adds this file's lines to /proc/PID/fdinfo/FD, after the VFS's own. */
static void sink_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct sink *sink = file->private_data;

	mutex_lock(&sink->lock);
	seq_printf(m, "ex_writes:\t%llu\n", sink->writes);
	seq_printf(m, "ex_bytes_written:\t%llu\n", sink->bytes);
	mutex_unlock(&sink->lock);
}

static const struct file_operations sink_fops = {
	.owner = THIS_MODULE,
	.open = sink_open,
	.release = sink_release,
	.write_iter = sink_write_iter,
	.show_fdinfo = sink_show_fdinfo,
};

static struct miscdevice sink_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ex_fdinfo_c",
	.fops = &sink_fops,
};
module_misc_device(sink_misc);

MODULE_DESCRIPTION("Workshop exercise: show_fdinfo (C)");
MODULE_LICENSE("GPL");
