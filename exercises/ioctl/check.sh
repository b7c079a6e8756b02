#!/bin/sh
# shellcheck shell=sh
# Runs in the VM (busybox sh): checks exercise `ioctl`. Prints PASS or FAIL.
echo "== check ioctl =="
if [ ! -f /root/ex_ioctl.ko ]; then
	echo "FAIL: ex_ioctl.ko is missing"
	echo "hint: it did not compile: see the errors above"
	exit 1
fi
insmod /root/ex_ioctl.ko || exit 1
/root/check-helper
status=$?
rmmod ex_ioctl
exit $status
