#!/bin/sh
# shellcheck shell=sh
# Runs in the VM (busybox sh): checks exercise `fdinfo`. For each device, a
# shell opens it as fd 3, writes "hello" and "abc", and reads the fd's
# /proc/self/fdinfo/3 (cat inherits fd 3). Prints PASS or FAIL.
echo "== check fdinfo =="
failed=0
fail() {
	echo "FAIL: $1"
	echo "hint: $2"
	failed=1
}

for lang in rust c; do
	ko=/root/ex_fdinfo_$lang.ko dev=/dev/ex_fdinfo_$lang
	if [ ! -f $ko ]; then
		fail "ex_fdinfo_$lang.ko is missing" "it did not compile: see the errors above"
		continue
	fi
	insmod $ko || {
		fail "insmod ex_fdinfo_$lang.ko failed" "see the kernel's lines above"
		continue
	}
	info=$(
		exec 3>$dev
		printf hello >&3
		printf abc >&3
		cat /proc/self/fdinfo/3
	)
	echo "$dev: /proc/self/fdinfo/3:"
	echo "$info" | sed 's/^/    /'
	if [ "$lang" = rust ]; then
		hint="implement MiscDevice::show_fdinfo and print the two lines with seq_print!"
	else
		hint="write a show_fdinfo(struct seq_file *, struct file *) with seq_printf() and set .show_fdinfo in the file_operations"
	fi
	if ! echo "$info" | grep -q "^ex_writes:	2$" ||
		! echo "$info" | grep -q "^ex_bytes_written:	8$"; then
		fail "$dev: fdinfo lacks 'ex_writes:<TAB>2' and 'ex_bytes_written:<TAB>8'" "$hint"
	fi
	rmmod ex_fdinfo_$lang
done
[ $failed = 0 ] || exit 1
echo PASS
