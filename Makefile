# SPDX-License-Identifier: GPL-2.0
#
# The entry point for people. Kbuild itself reads ./Kbuild when it builds the
# modules (make -C $KDIR M=$PWD), exactly as for any out-of-tree module.
#
#   make                 install what is missing, build the release kernel
#                        (cached; on Debian 13, take Debian's own instead), both
#                        modules, the test suite and the initramfs
#   make test            the whole suite on the release, debug and Debian kernels
#                        (each is built or fetched the first time it is needed)
#   ./scripts/run-qemu.sh   a shell in the VM with both drivers loaded
#
# ARCH=arm64 (or x86_64) does all of it for that architecture, in
# build/ARCH/; the default is this machine's own, as the kernel's ARCH=.
# `make help` lists every target and variable.

# LLVM toolchain suffix, as in the kernel's own Makefile (LLVM=-19 -> clang-19).
LLVM ?= -19
# A kernel build tree to build the modules against (`make modules`), or to
# examine (`make doctor`).
KDIR ?=
# The kernel: release, debug or debian (default: debian on Debian 13 x86_64,
# else release; scripts/lib.sh, default_kernel).
KERNEL ?=
# Where the Linux source comes from: a tree or a tarball (default: fetched).
KERNEL_SRC ?=
# make fuzz: seconds in all, and a seed to replay.
DURATION ?= 120
SEED ?=
export LLVM KERNEL_SRC KERNEL

SHELL := /bin/bash
scripts := $(CURDIR)/scripts

.PHONY: all all-kernels modules test test-host check-fresh fuzz run clean distclean help

all:
	@$(scripts)/build.sh all

# Both kernels up front (an instructor preparing machines): `make` builds the
# release kernel only, and the debug kernel is built on first use.
all-kernels:
	@VARIANTS="release debug" $(scripts)/build.sh all

# Can a Rust module be built against KDIR (default: the running kernel's)?
.PHONY: doctor
doctor:
	@$(scripts)/doctor.sh $(KDIR)

# The classic out-of-tree module build, against any kernel tree: KDIR=...
modules:
ifeq ($(KDIR),)
	@$(scripts)/build.sh modules
else
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(kdir_llvm) modules
endif
# LLVM= only for a clang-built kernel: a module is built by its kernel's compiler.
kdir_llvm = $(if $(shell grep -sx CONFIG_CC_IS_CLANG=y $(KDIR)/.config),LLVM=$(LLVM))

test: all
	@$(scripts)/test.sh

# The host checks that need no debug kernel: ABI, the runner's self-tests, lint.
test-host: all
	@$(scripts)/test-host.sh

# The quick start on fresh Debian systems, in chroots (root; FRESH_COLD=1:
# with an empty kernel cache). FRESH_SUITES="bookworm trixie" by default.
check-fresh:
	@$(scripts)/check-fresh.sh $(FRESH_SUITES)

# The model-based random tester on the debug kernel (DURATION seconds, SEED=).
fuzz: all
	@DURATION=$(DURATION) SEED=$(SEED) $(scripts)/fuzz.sh

# Both drivers against a pipe in the VM, on QEMU's instruction clock under
# TCG (BENCH_CLOCK=wall: the wall clock), and where Rust's extra
# instructions go: build/ARCH/bench/. PUBLISH=1 runs both clocks and refreshes
# docs/performance.md and docs/img/.
.PHONY: bench
bench: all
	@$(scripts)/bench.sh $(BENCH_ARGS)

# The suite's mutation score: small bugs in each driver, one VM per mutant
# (tests/mutants/, build/ARCH/mutants/report.json). Not part of `make test`.
.PHONY: mutants
mutants: all
	@$(scripts)/mutants.sh $(MUTANTS_ARGS)

# Rebuild only the modules and the initramfs, then boot into a shell.
run:
	@start=$$(date +%s%N); VARIANTS=release $(scripts)/build.sh modules && \
		echo "rebuilt in $$(( ($$(date +%s%N) - start) / 1000000 )) ms" && \
		$(scripts)/run-qemu.sh

clean:
	rm -rf build
ifneq ($(KDIR),)
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(kdir_llvm) clean
endif

# Also drop the kernel source and kernel builds cached outside the clone.
distclean: clean
	rm -rf "$${SAMPLE_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/rust-kmod-sample}"

# Workshop exercises (exercises/README.md): N=name, SOLUTION=1 for its solution.
.PHONY: exercise check-exercises
exercise:
	@$(scripts)/exercise.sh $(N) $(if $(SOLUTION),--solution)

check-exercises:
	@$(scripts)/check-exercises.sh

# Style and static checks (no VM), and the automatic fixes.
.PHONY: lint fmt docs
lint:
	@$(scripts)/lint.sh

fmt:
	@$(scripts)/fmt.sh

# docs/c-to-rust.md and docs/walkthrough.md from docs/src/: their line
# numbers, computed from the sources.
docs:
	@python3 $(scripts)/doc_lines.py

# Editor support: rust-project.json for rust-analyzer.
.PHONY: rust-analyzer
rust-analyzer:
	@$(scripts)/rust-analyzer.sh

# gdb on a VM started with ./scripts/run-qemu.sh --debug --gdb (GDB_KERNEL=release without --debug).
.PHONY: gdb
gdb:
	@$(scripts)/gdb.sh $(GDB_KERNEL)

help:
	@sed -n 's/^##//p' $(CURDIR)/Makefile

## Targets:
##   make                build what the quick start needs: deps, the kernel (cached; KERNEL=),
##                       modules, suite, initramfs
##   make all-kernels    the same with the debug kernel too (otherwise built on first use)
##   make modules        only the two modules (with KDIR=/path: against that kernel, as Kbuild does)
##   make doctor         can a Rust module be built against KDIR (default: the running
##                       kernel's build tree)? Each check, its cause and fix; exit 0 if so
##   make test           host checks, then the suite in the VM on the release, debug and
##                       (x86_64) Debian kernels
##   make test-host      the host checks only: ABI, the VM runner's self-tests, lint
##   make check-fresh    the quick start and test-host on fresh Debian chroots (root;
##                       FRESH_SUITES="bookworm trixie", FRESH_COLD=1: empty kernel cache)
##   make fuzz           model-based random testing on the debug kernel (DURATION=120, SEED=n)
##   make mutants        the suite's mutation score (tests/mutants/, about 11 minutes)
##   make bench          both drivers vs a pipe, instruction-exact under TCG (PUBLISH=1: docs/performance.md)
##   make run            rebuild the modules and initramfs only, then boot into a shell
##   make clean          remove build/ (this clone's output, every architecture)
##   make distclean      also remove the cached kernel source and kernels
##   make exercise N=x   build workshop exercise x and check it in the VM (SOLUTION=1: its solution)
##   make check-exercises  every exercise: the solution passes, the starting point fails
##   make lint           rustfmt, clippy (suite, modules, exercises), checkpatch, shellcheck,
##                       the docs' line numbers; no VM
##   make docs           docs/c-to-rust.md and docs/walkthrough.md from docs/src/ (line numbers)
##   make fmt            reformat the Rust code (rustfmt with the kernel's config, cargo fmt)
##   make rust-analyzer  write rust-project.json for rust-analyzer
##   make gdb            attach gdb to ./scripts/run-qemu.sh --debug --gdb (GDB_KERNEL=release without --debug)
##   make help           this text
##
## Variables:
##   ARCH=arm64          build, run and test for arm64 (or x86_64; default: this
##                       machine's architecture), in build/ARCH/; the runner
##                       takes --arch arm64 too
##   KERNEL=debian       the kernel to build and boot: release (the sample's own tinyconfig),
##                       debug (KASAN, lockdep, ...) or debian (Debian's own 7.3 from
##                       trixie-backports, x86_64); default: debian on a Debian 13
##                       x86_64 machine, else release. The runner takes --kernel too
##   DEBIAN_TOOLCHAIN=system  build for Debian's kernel with this machine's own tools
##                       (default: them on Debian 13, else a Debian 13 root in the cache)
##   LLVM=-19            LLVM suffix for clang/ld.lld (default -19)
##   KDIR=/path          a built kernel tree, for 'make modules'
##   KERNEL_SRC=/path    Linux source: a tree or a tarball (default: fetched, see README)
##   VARIANTS="release debug"  which kernels to build (default KERNEL's; another one is
##                       built when make test, make fuzz, --debug ... first need it);
##                       for make test, which kernels to test (default all)
##   NO_INSTALL=1        report missing tools instead of installing them
##   SAMPLE_CACHE_DIR    where kernels are cached (default ~/.cache/rust-kmod-sample)
##   N=name SOLUTION=1   the exercise for 'make exercise' (see exercises/README.md)
##   GDB_KERNEL=release  the kernel whose symbols 'make gdb' loads (default debug)
##
## The VM:
##   ./scripts/run-qemu.sh --help
