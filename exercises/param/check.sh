#!/bin/sh
# shellcheck shell=sh
# Runs in the VM (busybox sh): checks exercise `param`. Prints PASS or FAIL.
echo "== check param =="
ko=/root/ex_param.ko
fail() {
	echo "FAIL: $1"
	echo "hint: $2"
	exit 1
}
[ -f $ko ] || fail "ex_param.ko is missing" "it did not compile: see the errors above"

dmesg -c >/dev/null
insmod $ko || fail "insmod ex_param.ko (no parameter) failed" "the default must be 1"
rmmod ex_param
dmesg | grep -q 'ex_param: hello #1 of 1$' ||
	fail "loading without a parameter did not print 'hello #1 of 1'" "default: 1"

dmesg -c >/dev/null
insmod $ko greetings=3 || fail "insmod ex_param.ko greetings=3 failed" "3 is a valid value"
rmmod ex_param
if dmesg | grep -q "unknown parameter 'greetings'"; then
	fail "the kernel says: unknown parameter 'greetings' ignored" \
		"add a params: block with 'greetings: u32' to module! (see rust_sample.rs)"
fi
n=$(dmesg | grep -c -E 'ex_param: hello #[1-3] of 3$')
[ "$n" = 3 ] || fail "greetings=3 printed $n of the lines 'hello #1 of 3' .. 'hello #3 of 3'" \
	"loop over 1..=greetings and pr_info! each line"

for bad in 0 11; do
	dmesg -c >/dev/null
	if insmod $ko greetings=$bad 2>/dev/null; then
		rmmod ex_param
		fail "insmod ex_param.ko greetings=$bad succeeded" "values outside 1..=10 must fail with EINVAL"
	fi
	dmesg | grep -q "ex_param: invalid greetings=$bad" ||
		fail "greetings=$bad was refused without the log line 'invalid greetings=$bad: ...'" \
			"pr_err! the value and the valid range before returning EINVAL"
done
echo PASS
