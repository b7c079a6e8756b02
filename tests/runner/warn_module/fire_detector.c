// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only module for the runner's own tests: loading it with
 * detector=NAME makes one of the debug kernel's detectors fire, so that
 * make test sees each detector it relies on report a real bug and fail
 * the run (qemu/kernels/NAME.conf's DETECTORS). Each bug is the smallest
 * of its kind; the kmemleak one follows samples/kmemleak/kmemleak-test.c.
 */
#include <linux/compiler.h>
#include <linux/delay.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *detector = "";
module_param(detector, charp, 0);
MODULE_PARM_DESC(detector, "kasan, ubsan, lockdep, atomic-sleep or kmemleak");

static DEFINE_MUTEX(first);
static DEFINE_MUTEX(second);
static DEFINE_SPINLOCK(lock);

/* KASAN: one byte written past an 8-byte allocation. */
static noinline void fire_kasan(void)
{
	char *p = kmalloc(8, GFP_KERNEL);

	if (!p)
		return;
	OPTIMIZER_HIDE_VAR(p);
	p[8] = 1;
	kfree(p);
}

/* UBSAN (bounds): an index past the end of an array. */
static noinline void fire_ubsan(void)
{
	int values[4] = { 0 };
	int i = ARRAY_SIZE(values);

	OPTIMIZER_HIDE_VAR(i);
	values[i] = 1;
	pr_info("fire_detector: %d\n", values[0]);
}

/* lockdep: two locks taken in both orders, one after the other. */
static noinline void fire_lockdep(void)
{
	mutex_lock(&first);
	mutex_lock(&second);
	mutex_unlock(&second);
	mutex_unlock(&first);
	mutex_lock(&second);
	mutex_lock(&first);
	mutex_unlock(&first);
	mutex_unlock(&second);
}

/* The atomic-sleep check: a call that may sleep, under a spinlock. */
static noinline void fire_atomic_sleep(void)
{
	spin_lock(&lock);
	might_sleep();
	spin_unlock(&lock);
}

/*
 * kmemleak, as samples/kmemleak/kmemleak-test.c does it: allocations whose
 * only pointers are printed and dropped at load, and a list whose elements
 * are orphaned when the module is removed (list_del() leaves each one
 * pointing nowhere that kmemleak scans). kmemleak scans conservatively, so
 * a stale copy of a pointer left in a stack or register can hide one leak;
 * the test wants a report, not all of them.
 */
struct leak_node {
	long header[25];
	struct list_head list;
	long footer[25];
};

static LIST_HEAD(leaks);

static noinline void fire_kmemleak(void)
{
	struct leak_node *node;
	int i;

	for (i = 0; i < 4; i++)
		pr_info("fire_detector: kmalloc(%d) = %p\n", 32 << i, kmalloc(32 << i, GFP_KERNEL));
	for (i = 0; i < 10; i++) {
		node = kzalloc_obj(*node);
		if (!node)
			return;
		list_add_tail(&node->list, &leaks);
	}
}

static int __init fire_detector_init(void)
{
	if (!strcmp(detector, "kasan"))
		fire_kasan();
	else if (!strcmp(detector, "ubsan"))
		fire_ubsan();
	else if (!strcmp(detector, "lockdep"))
		fire_lockdep();
	else if (!strcmp(detector, "atomic-sleep"))
		fire_atomic_sleep();
	else if (!strcmp(detector, "kmemleak"))
		fire_kmemleak(); /* and stays loaded: rmmod orphans the list */
	else
		return -EINVAL;
	return strcmp(detector, "kmemleak") ? -EAGAIN : 0;
}
module_init(fire_detector_init);

static void __exit fire_detector_exit(void)
{
	struct leak_node *node, *next;

	/* Unlinked, never freed: the leak that kmemleak must report. */
	list_for_each_entry_safe(node, next, &leaks, list)
		list_del(&node->list);
}
module_exit(fire_detector_exit);

MODULE_DESCRIPTION("Makes one detector fire on load (tests the QEMU runner)");
MODULE_LICENSE("GPL");
