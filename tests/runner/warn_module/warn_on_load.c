// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only module for the runner's own tests: loading it prints a real
 * kernel WARNING, which run-qemu.sh must turn into a failed run. It then
 * refuses to load, so that nothing stays behind.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init warn_on_load_init(void)
{
	WARN(1, "warn_on_load: a deliberate warning for the runner's test\n");
	return -EINVAL;
}
module_init(warn_on_load_init);

MODULE_DESCRIPTION("Prints a WARNING on load (tests the QEMU runner)");
MODULE_LICENSE("GPL");
