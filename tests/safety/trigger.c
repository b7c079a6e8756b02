// SPDX-License-Identifier: GPL-2.0
/*
 * The trigger program of `make safety` (docs/safety.md): runs a list of
 * steps on one device, opened for reading and writing, and checks every
 * answer against a model of the queue. On the unpatched drivers every row's
 * steps run quietly (the control); on a patched one the first answer that
 * differs is printed as "observed: ..." and the exit status is 1.
 *
 *   safety-trigger /dev/c_sample STEP...
 *
 *   w:TEXT     write TEXT                    W:N    write N bytes of a-z
 *   r:N        read up to N bytes; they must be the oldest queued ones
 *   c:N        SET_CAPACITY N must succeed   e:N    ... must fail, EINVAL
 *   s          GET_STATS must match the model
 *   n          a non-blocking read of the empty queue must fail, EAGAIN
 *
 * The steps run in a child: if it has not finished after 10 s (a lock
 * left held blocks the next call for ever), that is reported as a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/sample_ioctl.h"

/* What the queue must hold: the bytes written and not yet read. */
static char queued[1 << 16];
static size_t queued_len, capacity = SAMPLE_CAPACITY_DEFAULT;
static unsigned long long written, consumed;

static void report(const char *step, const char *what)
{
	printf("observed: %s: %s\n", step, what);
	fflush(stdout);
	exit(1);
}

static void do_write(int fd, const char *step, const char *data, size_t n)
{
	ssize_t got = write(fd, data, n);

	if (got < 0)
		report(step, strerror(errno));
	memcpy(queued + queued_len, data, got);
	queued_len += got;
	written += got;
}

static void do_read(int fd, const char *step, size_t n)
{
	char buf[1 << 16];
	ssize_t got = read(fd, buf, n);

	if (got < 0)
		report(step, strerror(errno));
	if ((size_t)got > queued_len || memcmp(buf, queued, got))
		report(step, "wrong data: not the oldest queued bytes");
	memmove(queued, queued + got, queued_len - got);
	queued_len -= got;
	consumed += got;
}

static void do_stats(int fd, const char *step)
{
	struct sample_stats s;
	char why[160];

	memset(&s, 0xa5, sizeof(s));
	if (ioctl(fd, SAMPLE_IOC_GET_STATS, &s))
		report(step, strerror(errno));
	snprintf(why, sizeof(why),
		 "wrong data: {%llu, %llu, %u, %u, %u, %u}, want {%llu, %llu, %zu, %zu, 1, 1}",
		 (unsigned long long)s.bytes_written, (unsigned long long)s.bytes_read,
		 s.len, s.capacity, s.readers, s.writers, written, consumed, queued_len, capacity);
	if (s.bytes_written != written || s.bytes_read != consumed || s.len != queued_len ||
	    s.capacity != capacity || s.readers != 1 || s.writers != 1)
		report(step, why);
}

static void run(const char *dev, int steps, char **step)
{
	int fd = open(dev, O_RDWR);
	char pattern[1 << 16];
	int i;

	if (fd < 0)
		report(dev, strerror(errno));
	for (i = 0; i < (int)sizeof(pattern); i++)
		pattern[i] = 'a' + i % 26;
	for (i = 0; i < steps; i++) {
		const char *s = step[i], *arg = s + 2;
		__u32 n = strtoul(arg, NULL, 0);
		int flags;

		switch (s[0]) {
		case 'w':
			do_write(fd, s, arg, strlen(arg));
			break;
		case 'W':
			do_write(fd, s, pattern, n);
			break;
		case 'r':
			do_read(fd, s, n);
			break;
		case 'c':
			if (ioctl(fd, SAMPLE_IOC_SET_CAPACITY, &n))
				report(s, strerror(errno));
			capacity = n;
			break;
		case 'e':
			if (!ioctl(fd, SAMPLE_IOC_SET_CAPACITY, &n) || errno != EINVAL)
				report(s, "wrong result: not EINVAL");
			break;
		case 's':
			do_stats(fd, s);
			break;
		case 'n':
			flags = fcntl(fd, F_GETFL);
			fcntl(fd, F_SETFL, flags | O_NONBLOCK);
			if (read(fd, pattern, 1) >= 0 || errno != EAGAIN)
				report(s, "wrong result: not EAGAIN");
			fcntl(fd, F_SETFL, flags);
			break;
		default:
			fprintf(stderr, "safety-trigger: unknown step '%s'\n", s);
			exit(2);
		}
	}
	close(fd);
	exit(0);
}

int main(int argc, char **argv)
{
	int status, waited;
	pid_t child;

	if (argc < 2) {
		fprintf(stderr, "usage: safety-trigger DEVICE STEP...\n");
		return 2;
	}
	child = fork();
	if (child == 0)
		run(argv[1], argc - 2, argv + 2);
	for (waited = 0; waited < 100; waited++) {
		if (waitpid(child, &status, WNOHANG) == child) {
			if (WIFSIGNALED(status)) {
				printf("observed: killed by signal %d\n", WTERMSIG(status));
				return 1;
			}
			return WEXITSTATUS(status);
		}
		usleep(100000);
	}
	printf("observed: hang: the steps did not finish within 10 s\n");
	return 1;
}
