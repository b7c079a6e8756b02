#!/usr/bin/env bash
# The hot path, checked in the machine code: `read_iter` and `write_iter` of
# both modules (as built by `make`) may call only the functions below, so
# they never allocate, and may call `mutex_lock` from at most two places:
# on entry, and again after a sleep (the wait drops the lock and takes it
# back). With one lock taken per call that does not sleep, a read or write
# is one lock round trip; the wake-up after unlocking (only when the queue
# was full, or empty) takes the wait queue's spinlock, as the pipe's does.
#
#   scripts/test/check-hot-path.sh [rust_sample.ko c_sample.ko]
#
# Prints each function's calls; exits 1 on a call outside the list.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/../lib/lib.sh"

modules=("$@")
if ((${#modules[@]} == 0)); then
	modules=("$BUILD_DIR/release/rust_sample.ko" "$BUILD_DIR/release/src/c_sample.ko")
fi
objdump=llvm-objdump$LLVM
command -v "$objdump" >/dev/null || die "$objdump is missing (make installs it)"

# What a read or a write may call: the lock, the copies, waiting and waking,
# and (Rust) the panics that overflow and bounds checks branch to.
allowed='^(mutex_lock|mutex_unlock|_copy_to_iter|_copy_from_iter|__wake_up'
allowed+='|init_wait_entry|prepare_to_wait_event|prepare_to_wait_exclusive'
allowed+='|finish_wait|schedule|schedule_timeout'
allowed+='|.*CondVar6notify.*|.*4core9panicking.*|.*4core5slice5index.*'
# Debian's kernel (KERNEL=debian) adds what its config asks of every
# function, none of which allocates: ftrace's entry hook, the return thunk
# (a Spectre mitigation), the stack protector, hardened usercopy's check,
# the might_sleep check of the dynamic preemption model; and, since gcc
# cannot inline the C helpers into Rust code, calls to the small ones the
# wait and the lock use.
allowed+='|__fentry__|__x86_return_thunk|__stack_chk_fail|__ref_stack_chk_guard'
allowed+='|__check_object_size|__SCT__might_resched'
allowed+='|rust_helper_(get_current|init_wait|signal_pending|mutex_assert_is_held))$'

status=0
for ko in "${modules[@]}"; do
	[[ -f $ko ]] || die "$ko is missing: run 'make' first"
	# "function callee" for every call in a read_iter or write_iter: the
	# relocation names the callee of a call to another section or module.
	# A call's instructions and relocations are the architecture's
	# (CALL_INSNS and CALL_RELOCS in qemu/arch/ARCH.conf: x86's call, its
	# relocation PLT32 or PC32; arm64's bl or a tail call's b, CALL26 or
	# JUMP26).
	calls=$("$objdump" -d -r --no-show-raw-insn "$ko" | awk -v relocs="${CALL_RELOCS// /|}" -v insns="${CALL_INSNS// /|}" '
		/^[0-9a-f]+ <.*>:$/ {
			fn = substr($2, 2, length($2) - 3)
			hot = (fn ~ /read_iter|write_iter/)
			next
		}
		hot && $0 ~ relocs { sub(/[-+]0x[0-9a-f]+$/, "", $3); print fn, $3 }
		hot && $0 ~ "[ \t](" insns ")[ \t]" && $0 !~ /R_[A-Z0-9]+_/ && match($0, /<[^>+]+>/) {
			callee = substr($0, RSTART + 1, RLENGTH - 2)
			if (callee != fn) print fn, callee
		}')
	[[ -n $calls ]] || die "$ko: no read_iter or write_iter found"
	while read -r fn; do
		short=$(sed -E 's/.*(read_iter|write_iter).*/\1/' <<<"$fn")
		callees=$(awk -v f="$fn" '$1 == f { print $2 }' <<<"$calls")
		locks=$(grep -c -x mutex_lock <<<"$callees" || true)
		echo "$(basename "$ko") $short: $(sort -u <<<"$callees" | sed -E 's/^_R.*(CondVar6notify).*/CondVar::notify/; /4core/d' | paste -sd ' ') (mutex_lock sites: $locks)"
		if ((locks > 2)); then
			echo "  not ok: more than two places take the lock"
			status=1
		fi
		while read -r callee; do
			if ! [[ $callee =~ $allowed ]]; then
				echo "  not ok: calls $callee"
				status=1
			fi
		done < <(sort -u <<<"$callees")
	done < <(awk '{ print $1 }' <<<"$calls" | sort -u)
done
exit "$status"
