#!/bin/sh
# shellcheck shell=sh
# Runs in the VM (busybox sh, debug kernel): checks exercise `port`. Loading
# the module runs its KUnit tests; every one must pass. Prints PASS or FAIL.
echo "== check port =="
fail() {
	echo "FAIL: $1"
	echo "hint: $2"
	exit 1
}
[ -f /root/ex_port.ko ] || fail "ex_port.ko is missing" "it did not compile: see the errors above"
dmesg -c >/dev/null
insmod /root/ex_port.ko || fail "insmod ex_port.ko failed" "see the kernel's lines above"
rmmod ex_port
summary=$(dmesg | grep -o '# ex_port: pass:[0-9]* fail:[0-9]*.*' | head -n 1)
[ -n "$summary" ] || fail "no KUnit results for ex_port in the kernel log" "keep the #[kunit_tests(ex_port)] module"
echo "KUnit: $summary"
case $summary in
*"pass:0 "*) fail "no KUnit test of ex_port ran" "keep the #[test] functions in the #[kunit_tests(ex_port)] module" ;;
*" fail:0"*) ;;
*)
	dmesg | grep -E 'not ok|Expected|ASSERTION|assert' | head -n 20
	fail "some KUnit tests of ex_port fail (above)" \
		"port each branch of parse_size.c; checked_mul/checked_add give ERANGE without overflowing"
	;;
esac
echo PASS
