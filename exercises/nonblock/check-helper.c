// SPDX-License-Identifier: GPL-2.0
/*
 * Runs in the VM: checks that /dev/ex_nonblock honours O_NONBLOCK, and still
 * sleeps without it. A call that sleeps is interrupted by SIGALRM after 2 s
 * (no SA_RESTART), so a driver that sleeps when it must not gives EINTR
 * instead of hanging. Prints PASS, or FAIL and a hint; exits 0 only on PASS.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_alarm(int sig)
{
	(void)sig;
}

static void fail(const char *what, const char *hint)
{
	printf("FAIL: %s\nhint: %s\n", what, hint);
	exit(1);
}

/* read() or write() with a 2 s alarm; returns the result, errno in *err. */
static ssize_t timed(int fd, int writing, void *buf, size_t n, int *err)
{
	ssize_t r;

	alarm(2);
	r = writing ? write(fd, buf, n) : read(fd, buf, n);
	*err = r < 0 ? errno : 0;
	alarm(0);
	return r;
}

static void set_nonblock(int fd, int on)
{
	int flags = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

int main(void)
{
	struct sigaction sa;
	char buf[128];
	ssize_t r;
	int fd, err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: a sleeping call gives EINTR */
	sigaction(SIGALRM, &sa, NULL);

	fd = open("/dev/ex_nonblock", O_RDWR | O_NONBLOCK);
	if (fd < 0)
		fail("cannot open /dev/ex_nonblock", "is the module loaded? (see above)");

	r = timed(fd, 0, buf, sizeof(buf), &err);
	if (r >= 0 || err != EAGAIN) {
		if (err == EINTR)
			fail("read() of an empty mailbox with O_NONBLOCK slept\n"
			     "(interrupted after 2 s)",
			     "in read_iter's wait loop, return EAGAIN instead of sleeping\n"
			     "      when the file has O_NONBLOCK");
		fail("read() of an empty mailbox with O_NONBLOCK did not fail with EAGAIN",
		     "return Err(EAGAIN) when the mailbox is empty and the file has O_NONBLOCK");
	}

	memset(buf, 'x', sizeof(buf));
	r = timed(fd, 1, buf, 100, &err);
	if (r != 64)
		fail("write() of 100 bytes to an empty mailbox did not return 64",
		     "do not change the copy");
	r = timed(fd, 1, buf, 1, &err);
	if (r >= 0 || err != EAGAIN) {
		if (err == EINTR)
			fail("write() to a full mailbox with O_NONBLOCK slept\n"
			     "(interrupted after 2 s)",
			     "in write_iter's wait loop, return EAGAIN instead of sleeping\n"
			     "      when the file has O_NONBLOCK");
		fail("write() to a full mailbox with O_NONBLOCK did not fail with EAGAIN",
		     "return Err(EAGAIN) when the mailbox is full and the file has O_NONBLOCK");
	}
	r = timed(fd, 0, buf, sizeof(buf), &err);
	if (r != 64)
		fail("read() of a full mailbox with O_NONBLOCK did not return its 64 bytes",
		     "EAGAIN only when there is nothing to read");

	/* Without O_NONBLOCK, the same calls must sleep (until the alarm). */
	set_nonblock(fd, 0);
	r = timed(fd, 0, buf, sizeof(buf), &err);
	if (r >= 0 || err != EINTR)
		fail("after fcntl() cleared O_NONBLOCK, read() of an empty mailbox did not\n"
		     "sleep",
		     "look at O_NONBLOCK at every call (fcntl can change it), not once at open");
	set_nonblock(fd, 1);
	r = timed(fd, 0, buf, sizeof(buf), &err);
	if (r >= 0 || err != EAGAIN)
		fail("after fcntl() set O_NONBLOCK again, read() of an empty mailbox did not\n"
		     "give EAGAIN",
		     "look at O_NONBLOCK at every call (fcntl can change it), not once at open");

	close(fd);
	printf("PASS\n");
	return 0;
}
