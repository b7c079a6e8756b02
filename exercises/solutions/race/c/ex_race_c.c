// SPDX-License-Identifier: GPL-2.0
/*
 * Exercise `race`, the C half: /dev/ex_race_c keeps one list entry per
 * write() (its length), and read() reports "entries=N bytes=M". Writers run
 * concurrently, so every access to the list holds its lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uio.h>

struct entry {
	struct list_head node;
	size_t len;
};

static DEFINE_MUTEX(lock);	/* protects entries */
static LIST_HEAD(entries);

/* Appends an entry; the caller holds the lock (lockdep checks that). */
static void add_entry(struct entry *entry)
{
	lockdep_assert_held(&lock);
	list_add_tail(&entry->node, &entries);
}

static ssize_t race_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	size_t len = iov_iter_count(from);
	struct entry *entry;

	entry = kzalloc_obj(*entry, GFP_KERNEL);
	if (!entry)
		return -ENOMEM;
	entry->len = len;
	mutex_lock(&lock);
	add_entry(entry);
	mutex_unlock(&lock);
	iov_iter_advance(from, len);
	return len;
}

static ssize_t race_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	size_t n = 0, bytes = 0;
	struct entry *entry;
	char text[64];
	int len;

	mutex_lock(&lock);
	list_for_each_entry(entry, &entries, node) {
		n++;
		bytes += entry->len;
	}
	mutex_unlock(&lock);
	len = scnprintf(text, sizeof(text), "entries=%zu bytes=%zu\n", n, bytes);
	return simple_read_from_buffer(buf, count, ppos, text, len);
}

static const struct file_operations race_fops = {
	.owner = THIS_MODULE,
	.read = race_read,
	.write_iter = race_write_iter,
};

static struct miscdevice race_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ex_race_c",
	.fops = &race_fops,
};

static int __init race_init(void)
{
	return misc_register(&race_misc);
}

static void __exit race_exit(void)
{
	struct entry *entry, *next;

	misc_deregister(&race_misc);
	list_for_each_entry_safe(entry, next, &entries, node)
		kfree(entry);
}

module_init(race_init);
module_exit(race_exit);

MODULE_DESCRIPTION("Workshop exercise: a data race in C, caught by lockdep");
MODULE_LICENSE("GPL");
