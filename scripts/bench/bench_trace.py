# The price list's counter, run inside gdb by scripts/bench.sh:
#
#     gdb -batch vmlinux -ex "python TRACE_OUT = 'FILE'" \
#         -ex 'target remote :PORT' -x scripts/bench/bench_trace.py
#
# The VM runs `sample-bench --trace` on one CPU, which does its operations
# on descriptors 100 (rust_sample) and 101 (c_sample) after a warm-up on
# others. For each operation below, a hardware breakpoint on the system
# call's entry (`__x64_sys_write`, ...) waits for the next call on that
# descriptor with that size, then single-steps it to the return, recording
# the address of every instruction executed. QEMU's gdb stub steps with
# interrupts and timers off, so the count is the operation's alone. The
# addresses go to TRACE_OUT (set by gdb's first command) as JSON;
# bench_report.py names the functions.
import json

import gdb

# The registers of the calling task (struct pt_regs, arch/x86/include/asm/
# ptrace.h), whose address is __x64_sys_*'s one argument: byte offsets.
# The low 32 bits are compared: musl passes the ioctl command as an int.
DI, SI, DX = 112, 104, 96
GET_STATS = 0x8020E101

# (device, operation, entry point, {argument offset: value}).
PROBES = []
for device, fd in (("rust_sample", 100), ("c_sample", 101)):
    PROBES += [
        (device, "write 1 B", "__x64_sys_write", {DI: fd, DX: 1}),
        (device, "read 1 B", "__x64_sys_read", {DI: fd, DX: 1}),
        (device, "write 64 B", "__x64_sys_write", {DI: fd, DX: 64}),
        (device, "read 64 B", "__x64_sys_read", {DI: fd, DX: 64}),
        (device, "GET_STATS", "__x64_sys_ioctl", {DI: fd, SI: GET_STATS}),
    ]
MAX_STEPS = 100_000


def register(name):
    return int(gdb.parse_and_eval(f"(unsigned long)${name}"))


def step_to_return():
    """Single-steps from a function's first instruction to its return."""
    sp = register("rsp")
    ret = int(gdb.parse_and_eval("*(unsigned long *)$rsp"))
    pcs = []
    while len(pcs) < MAX_STEPS:
        pc = register("pc")
        if pc == ret and register("rsp") > sp:
            return pcs
        pcs.append(pc)
        gdb.execute("stepi", to_string=True)
    raise gdb.GdbError(f"no return after {MAX_STEPS} instructions")


gdb.execute("set pagination off")
results = []
for device, operation, entry, args in PROBES:
    condition = " && ".join(f"*(unsigned int *)($rdi + {off}) == {val}" for off, val in args.items())
    gdb.execute(f"hbreak *{entry} if {condition}", to_string=True)
    gdb.execute("continue", to_string=True)
    pcs = step_to_return()
    gdb.execute("delete", to_string=True)
    results.append({"device": device, "operation": operation, "entry": entry, "pcs": [hex(pc) for pc in pcs]})
    gdb.write(f"bench_trace: {device} {operation}: {len(pcs)} instructions\n")

with open(TRACE_OUT, "w") as out:  # noqa: F821 (set by bench.sh through gdb)
    json.dump(results, out)
gdb.execute("detach")
