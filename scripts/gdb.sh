#!/usr/bin/env bash
# `make gdb`: attaches gdb to a VM started with `./scripts/run-qemu.sh --gdb`
# (QEMU's gdbstub on localhost:1234, CPUs stopped before the first
# instruction, KASLR off), with the kernel's vmlinux for symbols.
#
#   terminal 1:  ./scripts/run-qemu.sh --gdb            (add --debug for the debug kernel)
#   terminal 2:  make gdb                               (GDB_KERNEL=debug for the debug kernel)
#
#   scripts/gdb.sh [release|debug] [GDB ARGS...]
#
# The kernels are built without debug information (CONFIG_DEBUG_INFO_NONE):
# gdb has vmlinux's symbol table, so breakpoints on function names,
# backtraces by symbol, `x/i` disassembly and registers work, but there are
# no source lines, no types and no local variables, and the kernel's gdb
# scripts (lx-symbols, lx-dmesg: CONFIG_GDB_SCRIPTS, which needs
# DEBUG_INFO) are not there. See docs/tools.md, "gdb".
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

variant=release
if [[ ${1:-} == release || ${1:-} == debug ]]; then
	variant=$1
	shift
fi
vmlinux=$BUILD_DIR/$variant/kdir/vmlinux
[[ -f $vmlinux ]] || die "$vmlinux is missing: run 'make' first"
command -v gdb >/dev/null || die "gdb not found (Debian: apt-get install gdb)"
port=${GDB_PORT:-1234}
if command -v ss >/dev/null && ! ss -ltn | grep -q ":$port "; then
	die "nothing listens on localhost:$port: start the VM first with ./scripts/run-qemu.sh --gdb"
fi

say "attaching to localhost:$port with the $variant kernel's symbols (no debug info: no source lines)"
exec gdb -q "$vmlinux" \
	-ex "target remote localhost:$port" \
	"$@"
