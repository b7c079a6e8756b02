#!/bin/sh
# shellcheck shell=sh
# Runs in the VM (busybox sh, debug kernel): checks exercise `race`. One
# write first, then four writers at once write 25 times each to each device;
# afterwards each must report 101 entries (1 + 100), and the kernel must not
# have complained. Prints PASS or FAIL.
echo "== check race =="
failed=0
fail() {
	echo "FAIL: $1"
	echo "hint: $2"
	failed=1
}

for lang in c rust; do
	ko=/root/ex_race_$lang.ko dev=/dev/ex_race_$lang
	if [ ! -f $ko ]; then
		fail "ex_race_$lang.ko is missing: it did not compile (the errors are above)" \
			"the compiler refuses to mutate a shared static: put the KVec inside a lock (global_lock!)"
		continue
	fi
	insmod $ko || {
		fail "insmod ex_race_$lang.ko failed" "see the kernel's lines above"
		continue
	}
	dmesg -c >/dev/null
	# One write first: lockdep reports a missing lock at once, and the
	# stress below would only repeat the report a hundred times.
	printf x >$dev
	if dmesg | grep -q -E 'WARNING:|lockdep|BUG:'; then
		fail "one write to $dev made the kernel complain (the WARNING above)" \
			"lockdep_assert_held(&lock) failed: take the mutex around add_entry() in race_write_iter()"
		rmmod ex_race_$lang
		continue
	fi
	for w in 1 2 3 4; do
		(
			i=0
			while [ $i -lt 25 ]; do
				printf x >$dev
				i=$((i + 1))
			done
		) &
		: "$w"
	done
	wait
	got=$(cat $dev)
	if [ "$got" != "entries=101 bytes=101" ]; then
		fail "$dev reports '$got' after 101 one-byte writes" "every write must add exactly one entry, under the lock"
	else
		echo "ok: $dev: $got"
	fi
	rmmod ex_race_$lang
done
[ $failed = 0 ] || exit 1
echo PASS
