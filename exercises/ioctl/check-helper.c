// SPDX-License-Identifier: GPL-2.0
/*
 * Runs in the VM: checks /dev/ex_ioctl's two ioctls. Prints PASS, or FAIL
 * and a hint, and exits 0 only on PASS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/types.h>

#define EX_IOC_GET _IOR(0xE2, 1, __u64)
#define EX_IOC_ADD _IOW(0xE2, 2, __u64)

static void fail(const char *what, const char *hint)
{
	printf("FAIL: %s\nhint: %s\n", what, hint);
	exit(1);
}

static __u64 get(int fd)
{
	__u64 v = 0;

	if (ioctl(fd, EX_IOC_GET, &v))
		fail("EX_IOC_GET failed", "the starting point's EX_IOC_GET should still work");
	return v;
}

/* Returns 0 or the errno of EX_IOC_ADD. */
static int add(int fd, const __u64 *v)
{
	return ioctl(fd, EX_IOC_ADD, v) ? errno : 0;
}

int main(void)
{
	__u64 v;
	char msg[200];
	int fd, other, err;

	fd = open("/dev/ex_ioctl", O_RDWR);
	if (fd < 0)
		fail("cannot open /dev/ex_ioctl", "is the module loaded? (see above)");
	if (get(fd) != 0)
		fail("a new file's counter is not 0", "do not change open()");

	v = 5;
	err = add(fd, &v);
	if (err == ENOTTY)
		fail("EX_IOC_ADD (0x4008e202) gives ENOTTY",
		     "define EX_IOC_ADD with _IOW::<u64>(EX_IOC_MAGIC, 2)\n"
		     "      and give it a match arm in ioctl()");
	if (err) {
		snprintf(msg, sizeof(msg), "EX_IOC_ADD of 5 failed: %s", strerror(err));
		fail(msg, "read the u64 with UserSlice::new(arg, 8).reader().read::<u64>()");
	}
	v = 37;
	if (add(fd, &v) || get(fd) != 42) {
		snprintf(msg, sizeof(msg), "after adding 5 and 37, EX_IOC_GET gives %llu, not 42",
			 (unsigned long long)get(fd));
		fail(msg, "add the value read from userspace to the counter, under its lock");
	}

	err = add(fd, NULL);
	if (err != EFAULT) {
		snprintf(msg, sizeof(msg), "EX_IOC_ADD with a NULL pointer gives '%s', not EFAULT",
			 err ? strerror(err) : "success");
		fail(msg, "return the error of the user copy with ?");
	}

	v = (__u64)-1;
	err = add(fd, &v);
	if (err != EOVERFLOW) {
		snprintf(msg, sizeof(msg), "adding 2^64-1 to 42 gives '%s', not EOVERFLOW",
			 err ? strerror(err) : "success");
		fail(msg, "u64::checked_add, and EOVERFLOW when it returns None");
	}
	if (get(fd) != 42)
		fail("a failed EX_IOC_ADD changed the counter",
		     "change the counter only on success");

	other = open("/dev/ex_ioctl", O_RDONLY);
	if (other < 0 || get(other) != 0)
		fail("another open file does not start at 0", "each file has its own counter");
	close(other);

	if (ioctl(fd, _IO(0xE2, 9)) == 0 || errno != ENOTTY)
		fail("an unknown ioctl does not give ENOTTY", "keep the `_ => Err(ENOTTY)` arm");

	close(fd);
	printf("PASS\n");
	return 0;
}
