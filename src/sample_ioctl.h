/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The sample device's ioctl interface, shared by the C driver and by C
 * programs that use either device. The Rust side of the same ABI is
 * src/sample_abi.rs; the test suite checks that the two agree.
 */
#ifndef _SAMPLE_IOCTL_H
#define _SAMPLE_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SAMPLE_IOC_MAGIC	0xE1

/* Valid queue capacities, in bytes, for the parameter and SET_CAPACITY. */
#define SAMPLE_CAPACITY_MIN	1
#define SAMPLE_CAPACITY_MAX	(1024 * 1024)
#define SAMPLE_CAPACITY_DEFAULT	4096

/* 32 bytes, no padding, native endianness. */
struct sample_stats {
	__u64 bytes_written;	/* bytes accepted by write() since load */
	__u64 bytes_read;	/* bytes returned by read() since load */
	__u32 len;		/* bytes queued now */
	__u32 capacity;		/* capacity now, in bytes */
	__u32 readers;		/* open file descriptions with read access */
	__u32 writers;		/* open file descriptions with write access */
};

#define SAMPLE_IOC_GET_STATS	_IOR(SAMPLE_IOC_MAGIC, 0x01, struct sample_stats)
#define SAMPLE_IOC_CLEAR	_IO(SAMPLE_IOC_MAGIC, 0x02)
#define SAMPLE_IOC_SET_CAPACITY	_IOW(SAMPLE_IOC_MAGIC, 0x03, __u32)

#endif /* _SAMPLE_IOCTL_H */
