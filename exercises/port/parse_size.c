// SPDX-License-Identifier: GPL-2.0
/*
 * Exercise `port`: the C function to port to Rust (ex_port.rs). This file is
 * for reading only; it is not built.
 *
 * parse_size() parses a size such as "4096", "4k" or "1M": decimal digits,
 * then an optional suffix k/K (x 1024) or m/M (x 1024 * 1024), nothing else.
 * It stores the value in *out and returns 0; or returns -EINVAL for anything
 * else (empty, no digits, another character, a character after the suffix),
 * or -ERANGE if the value does not fit in a u32. *out is only written on
 * success.
 */

#include <linux/errno.h>
#include <linux/types.h>

static int parse_size(const char *s, size_t len, u32 *out)
{
	u64 value = 0;
	size_t i = 0;
	u32 shift = 0;

	if (len == 0 || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		value = value * 10 + (s[i] - '0');
		if (value > U32_MAX)
			return -ERANGE;
	}
	if (i < len) {
		switch (s[i]) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		default:
			return -EINVAL;
		}
		if (++i != len)
			return -EINVAL;
	}
	if (value << shift > U32_MAX)
		return -ERANGE;
	*out = value << shift;
	return 0;
}
