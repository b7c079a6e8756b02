#!/bin/sh
# shellcheck shell=sh
# Runs in the VM (busybox sh): checks exercise `nonblock`. Prints PASS or FAIL.
echo "== check nonblock =="
if [ ! -f /root/ex_nonblock.ko ]; then
	echo "FAIL: ex_nonblock.ko is missing"
	echo "hint: it did not compile: see the errors above"
	exit 1
fi
insmod /root/ex_nonblock.ko || exit 1
/root/check-helper
status=$?
rmmod ex_nonblock
exit $status
