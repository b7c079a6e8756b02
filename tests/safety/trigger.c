// SPDX-License-Identifier: GPL-2.0
/*
 * The trigger program of `make safety` (docs/safety.md): runs a list of
 * steps on one device, opened for reading and writing, and checks every
 * answer against a model of the queue. On the unpatched drivers every row's
 * steps run quietly (the control); on a patched one the first answer that
 * differs ends the run with exit status 1.
 *
 *   safety-trigger [-t TAG] DEVICE STEP...
 *
 *   w:TEXT  write TEXT                     W:N   write N bytes of a-z
 *   x:TEXT  write TEXT through a second file, opened for it and closed
 *   r:N     read up to N bytes; they must be the oldest queued ones
 *   c:N     SET_CAPACITY N must succeed    e:N   ... must fail, EINVAL
 *   s       GET_STATS must match the model
 *   n       a non-blocking read of the empty queue must fail, EAGAIN
 *   u       close the file and unload the device's module (the last step)
 *
 * Three steps measure a bug that no detector may see, and print what they
 * saw as a witness, whatever it is (zero on a correct driver):
 *
 *   R:N     N GET_STATS snapshots while two other processes write and read
 *           the device: a snapshot taken under the queue's lock always has
 *           bytes_written - bytes_read == len; count those that do not
 *   D:N     N SET_CAPACITY calls with a u32 that another process flips
 *           between 16 and 2 MiB: a driver that reads it once gets 16 or
 *           refuses 2 MiB; count the capacities above 1 MiB that it took
 *   L:N     resize to 64 KiB and back to 16 bytes N times: the kernel
 *           memory in use (MemTotal - MemFree, as the suite's memory case
 *           measures it) must not grow; say by how much it did
 *
 * What it prints is data, one JSON object a line, for scripts/test/
 * safety.py: "SAFETY-RESULT {...}" once, with the outcome, and
 * "SAFETY-WITNESS {...}" for each witness step, each with the TAG. It also
 * writes "safety-trigger: start TAG" into the kernel's log as it starts,
 * so that a report can be told apart from one that came before the trigger
 * ran (at module load, say). The console may interleave what a program
 * prints and the kernel's log in either order, hence the tags.
 *
 * The steps run in a child. Each system call it makes is counted in
 * memory that the parent shares: if the count stands still for 10 s (a
 * lock left held blocks the next call for ever), the parent reports a
 * hang, naming the call and the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/sample_ioctl.h"

#define HANG_SECONDS 10
#define FLIP_SMALL 16u
#define FLIP_LARGE (2u << 20)
#define LEAK_CAPACITY (64u << 10)

/* What the queue must hold: the bytes written and not yet read. */
static char queued[1 << 16];
static size_t queued_len, capacity = SAMPLE_CAPACITY_DEFAULT;
static unsigned long long written, consumed;
static const char *device, *tag = "";

/* Shared with the parent: the call in progress, for a hang report. */
static struct progress {
	unsigned long calls;
	char step[64];
	char call[32];
} *progress;

/* Marks the start of a system call (the parent watches the count). */
static void calling(const char *call)
{
	snprintf(progress->call, sizeof(progress->call), "%s", call);
	__atomic_add_fetch(&progress->calls, 1, __ATOMIC_SEQ_CST);
}

/* The outcome: printed once, then the run ends. */
static noreturn void result(const char *outcome, const char *call, int err,
			    const char *want, const char *detail)
{
	printf("SAFETY-RESULT {\"tag\": \"%s\", \"outcome\": \"%s\", ", tag, outcome);
	printf("\"step\": \"%s\", ", progress->step);
	printf("\"call\": \"%s\", \"errno\": \"%s\", ", call, err ? strerrorname_np(err) : "");
	printf("\"want\": \"%s\", \"detail\": \"%s\"}\n", want, detail);
	fflush(stdout);
	exit(strcmp(outcome, "ok") ? 1 : 0);
}

/* A call that failed where it must succeed: its errno is the outcome. */
static noreturn void failed(const char *call)
{
	result("error", call, errno, "", "");
}

static void witness(const char *name, long tries, long seen, const char *unit,
		    const char *example)
{
	printf("SAFETY-WITNESS {\"tag\": \"%s\", \"step\": \"%s\", ", tag, progress->step);
	printf("\"name\": \"%s\", ", name);
	printf("\"tries\": %ld, \"seen\": %ld, ", tries, seen);
	printf("\"unit\": \"%s\", \"example\": \"%s\"}\n", unit, example);
	fflush(stdout);
}

static int open_device(int flags)
{
	int fd;

	calling("open");
	fd = open(device, flags);
	if (fd < 0)
		failed("open");
	return fd;
}

static void do_write(int fd, const char *data, size_t n)
{
	ssize_t got;

	calling("write");
	got = write(fd, data, n);
	if (got < 0)
		failed("write");
	memcpy(queued + queued_len, data, got);
	queued_len += got;
	written += got;
}

static void do_read(int fd, size_t n)
{
	char buf[1 << 16];
	ssize_t got;

	calling("read");
	got = read(fd, buf, n);
	if (got < 0)
		failed("read");
	if ((size_t)got > queued_len || memcmp(buf, queued, got))
		result("wrong data", "read", 0, "", "not the oldest queued bytes");
	memmove(queued, queued + got, queued_len - got);
	queued_len -= got;
	consumed += got;
}

static void get_stats(int fd, struct sample_stats *s)
{
	memset(s, 0xa5, sizeof(*s));
	calling("GET_STATS");
	if (ioctl(fd, SAMPLE_IOC_GET_STATS, s))
		failed("GET_STATS");
}

static void set_capacity(int fd, __u32 n)
{
	calling("SET_CAPACITY");
	if (ioctl(fd, SAMPLE_IOC_SET_CAPACITY, &n))
		failed("SET_CAPACITY");
	capacity = n;
}

static void do_stats(int fd)
{
	struct sample_stats s;
	char why[160];

	get_stats(fd, &s);
	snprintf(why, sizeof(why),
		 "{%llu, %llu, %u, %u, %u, %u}, want {%llu, %llu, %zu, %zu, 1, 1}",
		 (unsigned long long)s.bytes_written, (unsigned long long)s.bytes_read,
		 s.len, s.capacity, s.readers, s.writers, written, consumed, queued_len, capacity);
	if (s.bytes_written != written || s.bytes_read != consumed || s.len != queued_len ||
	    s.capacity != capacity || s.readers != 1 || s.writers != 1)
		result("wrong data", "GET_STATS", 0, "", why);
}

/* A child that runs BODY until it is killed; returns its pid. */
static pid_t start_child(void (*body)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		failed("fork");
	if (pid == 0) {
		body();
		_exit(0);
	}
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* R's two streams: non-blocking, so that neither can wait for ever. */
static void stream_writes(void)
{
	int fd = open(device, O_WRONLY | O_NONBLOCK);

	for (;;)
		(void)!write(fd, "0123456789abcdef0123456789abcdef", 32);
}

static void stream_reads(void)
{
	int fd = open(device, O_RDONLY | O_NONBLOCK);
	char buf[32];

	for (;;)
		(void)!read(fd, buf, sizeof(buf));
}

static void race_stats(int fd, long tries)
{
	struct sample_stats s;
	long long base;
	long i, torn = 0;
	char example[96] = "";
	pid_t writer, reader;

	get_stats(fd, &s);
	base = (long long)(s.bytes_written - s.bytes_read) - s.len;
	writer = start_child(stream_writes);
	reader = start_child(stream_reads);
	for (i = 0; i < tries; i++) {
		get_stats(fd, &s);
		if ((long long)(s.bytes_written - s.bytes_read) - s.len != base) {
			if (!torn++)
				snprintf(example, sizeof(example),
					 "written %llu - read %llu != len %u",
					 (unsigned long long)s.bytes_written,
					 (unsigned long long)s.bytes_read, s.len);
		}
	}
	stop_child(writer);
	stop_child(reader);
	witness("snapshots that break written - read == len", tries, torn, "snapshots", example);
	/* What the streams left: the counters as they are, an empty queue. */
	calling("CLEAR");
	if (ioctl(fd, SAMPLE_IOC_CLEAR))
		failed("CLEAR");
	get_stats(fd, &s);
	written = s.bytes_written;
	consumed = s.bytes_read;
	queued_len = 0;
}

/* D's flipper: the u32 that SET_CAPACITY reads, in memory both share. */
static __u32 *flip;

static void flip_forever(void)
{
	__u32 next = FLIP_LARGE;

	for (;;) {
		__atomic_store_n(flip, next, __ATOMIC_RELAXED);
		next = next == FLIP_SMALL ? FLIP_LARGE : FLIP_SMALL;
	}
}

static void double_fetch(int fd, long tries)
{
	struct sample_stats s;
	long i, taken = 0;
	char example[96] = "";
	pid_t flipper;

	flip = mmap(NULL, sizeof(*flip), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (flip == MAP_FAILED)
		failed("mmap");
	*flip = FLIP_SMALL;
	flipper = start_child(flip_forever);
	for (i = 0; i < tries; i++) {
		calling("SET_CAPACITY");
		if (ioctl(fd, SAMPLE_IOC_SET_CAPACITY, flip) && errno != EINVAL)
			failed("SET_CAPACITY");
		get_stats(fd, &s);
		if (s.capacity > SAMPLE_CAPACITY_MAX) {
			if (!taken++)
				snprintf(example, sizeof(example),
					 "capacity %u, above the %u maximum",
					 s.capacity, SAMPLE_CAPACITY_MAX);
			set_capacity(fd, FLIP_SMALL);
		}
	}
	stop_child(flipper);
	witness("capacities above the maximum that SET_CAPACITY took", tries, taken, "calls",
		example);
	set_capacity(fd, FLIP_SMALL);
}

/* Kernel memory in use, in KiB, as the suite's memory case reads it. */
static long used_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long total = 0, free = 0, value;
	char name[64];

	if (!f)
		failed("fopen /proc/meminfo");
	while (fscanf(f, "%63s %ld kB", name, &value) == 2) {
		if (!strcmp(name, "MemTotal:"))
			total = value;
		else if (!strcmp(name, "MemFree:"))
			free = value;
	}
	fclose(f);
	return total - free;
}

static void leak(int fd, long tries)
{
	long before, lost, i, leaked_if_lost = tries * (LEAK_CAPACITY >> 10);
	char example[96];

	/* A first round, so that caches the allocations fill are full. */
	set_capacity(fd, LEAK_CAPACITY);
	set_capacity(fd, FLIP_SMALL);
	before = used_kib();
	for (i = 0; i < tries; i++) {
		set_capacity(fd, LEAK_CAPACITY);
		set_capacity(fd, FLIP_SMALL);
	}
	lost = used_kib() - before;
	snprintf(example, sizeof(example),
		 "%ld KiB more in use after %ld resizes to %u KiB (%ld KiB if each leaked)",
		 lost, tries, LEAK_CAPACITY >> 10, leaked_if_lost);
	/* Counted as a witness when at least half of what leaking would lose is gone. */
	witness("KiB of kernel memory lost", tries, lost >= leaked_if_lost / 2 ? lost : 0, "KiB",
		example);
}

static void unload(int fd)
{
	const char *name = strrchr(device, '/') + 1;

	calling("close");
	close(fd);
	calling("delete_module");
	if (syscall(SYS_delete_module, name, O_NONBLOCK))
		failed("delete_module");
}

static void run(int steps, char **step)
{
	char pattern[1 << 16];
	int fd, i, other, flags;

	fd = open_device(O_RDWR);
	for (i = 0; i < (int)sizeof(pattern); i++)
		pattern[i] = 'a' + i % 26;
	for (i = 0; i < steps; i++) {
		const char *s = step[i], *arg = s + 2;
		__u32 n = strtoul(arg, NULL, 0);

		snprintf(progress->step, sizeof(progress->step), "%s", s);
		switch (s[0]) {
		case 'w':
			do_write(fd, arg, strlen(arg));
			break;
		case 'W':
			do_write(fd, pattern, n);
			break;
		case 'x':
			other = open_device(O_WRONLY);
			do_write(other, arg, strlen(arg));
			calling("close");
			close(other);
			break;
		case 'r':
			do_read(fd, n);
			break;
		case 'c':
			set_capacity(fd, n);
			break;
		case 'e':
			calling("SET_CAPACITY");
			if (!ioctl(fd, SAMPLE_IOC_SET_CAPACITY, &n))
				result("succeeded", "SET_CAPACITY", 0, "EINVAL", "");
			if (errno != EINVAL)
				result("error", "SET_CAPACITY", errno, "EINVAL", "");
			break;
		case 's':
			do_stats(fd);
			break;
		case 'n':
			flags = fcntl(fd, F_GETFL);
			fcntl(fd, F_SETFL, flags | O_NONBLOCK);
			calling("read");
			if (read(fd, pattern, 1) >= 0)
				result("succeeded", "read", 0, "EAGAIN", "");
			if (errno != EAGAIN)
				result("error", "read", errno, "EAGAIN", "");
			fcntl(fd, F_SETFL, flags);
			break;
		case 'R':
			race_stats(fd, n);
			break;
		case 'D':
			double_fetch(fd, n);
			break;
		case 'L':
			leak(fd, n);
			break;
		case 'u':
			unload(fd);
			result("ok", "", 0, "", "");
		default:
			fprintf(stderr, "safety-trigger: unknown step '%s'\n", s);
			exit(2);
		}
	}
	close(fd);
	result("ok", "", 0, "", "");
}

/* Writes the start marker into the kernel's log, at a level the console shows. */
static void mark_start(void)
{
	int kmsg = open("/dev/kmsg", O_WRONLY);
	char line[128];
	int n = snprintf(line, sizeof(line), "<5>safety-trigger: start %s\n", tag);

	/* One write is one record. */
	if (kmsg < 0 || write(kmsg, line, n) != n) {
		perror("safety-trigger: /dev/kmsg");
		exit(2);
	}
	close(kmsg);
}

int main(int argc, char **argv)
{
	unsigned long seen = 0;
	int status, still = 0;
	pid_t child;

	if (argc > 2 && !strcmp(argv[1], "-t")) {
		tag = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: safety-trigger [-t TAG] DEVICE STEP...\n");
		return 2;
	}
	device = argv[1];
	progress = mmap(NULL, sizeof(*progress), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (progress == MAP_FAILED) {
		perror("safety-trigger: mmap");
		return 2;
	}
	mark_start();
	child = fork();
	if (child == 0)
		run(argc - 2, argv + 2);
	for (;;) {
		if (waitpid(child, &status, WNOHANG) == child)
			break;
		if (__atomic_load_n(&progress->calls, __ATOMIC_SEQ_CST) != seen) {
			seen = progress->calls;
			still = 0;
		} else if (++still == HANG_SECONDS * 10) {
			result("hang", progress->call, 0, "",
			       "the call did not return within 10 s");
		}
		usleep(100000);
	}
	if (WIFSIGNALED(status)) {
		char why[32];

		snprintf(why, sizeof(why), "signal %d", WTERMSIG(status));
		result("killed", progress->call, 0, "", why);
	}
	return WEXITSTATUS(status);
}
