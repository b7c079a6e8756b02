// SPDX-License-Identifier: GPL-2.0
/*
 * Prints the ioctl ABI as src/sample_ioctl.h defines it, in the format of
 * `sample-tests --print-abi`, so that the two can be compared line by line.
 */
#include <stddef.h>
#include <stdio.h>

#include "../../src/sample_ioctl.h"

int main(void)
{
	printf("SAMPLE_IOC_MAGIC %#x\n", SAMPLE_IOC_MAGIC);
	printf("SAMPLE_IOC_GET_STATS %#lx\n", (unsigned long)SAMPLE_IOC_GET_STATS);
	printf("SAMPLE_IOC_CLEAR %#lx\n", (unsigned long)SAMPLE_IOC_CLEAR);
	printf("SAMPLE_IOC_SET_CAPACITY %#lx\n", (unsigned long)SAMPLE_IOC_SET_CAPACITY);
	printf("SAMPLE_CAPACITY_MIN %d\n", SAMPLE_CAPACITY_MIN);
	printf("SAMPLE_CAPACITY_MAX %d\n", SAMPLE_CAPACITY_MAX);
	printf("SAMPLE_CAPACITY_DEFAULT %d\n", SAMPLE_CAPACITY_DEFAULT);
	printf("sizeof(struct sample_stats) %zu\n", sizeof(struct sample_stats));
	printf("offsetof(bytes_written) %zu\n", offsetof(struct sample_stats, bytes_written));
	printf("offsetof(bytes_read) %zu\n", offsetof(struct sample_stats, bytes_read));
	printf("offsetof(len) %zu\n", offsetof(struct sample_stats, len));
	printf("offsetof(capacity) %zu\n", offsetof(struct sample_stats, capacity));
	printf("offsetof(readers) %zu\n", offsetof(struct sample_stats, readers));
	printf("offsetof(writers) %zu\n", offsetof(struct sample_stats, writers));
	return 0;
}
