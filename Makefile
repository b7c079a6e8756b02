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

# Every setting (ARCH=, KERNEL=, VARIANTS=, ...) is listed once, with its
# default and meaning, in settings.conf, which `make help` prints. Given on
# make's command line or in the environment, a setting reaches the scripts
# in their environment; scripts/lib/settings.sh gives them the defaults.
# setting NAME: a setting's value here, else its default from settings.conf.
setting = $(or $($(1)),$(shell awk -F'\t' '$$1 ~ /^$(1)=/ { sub(/^[^=]*=/, "", $$1); print $$1 }' $(CURDIR)/settings.conf))

SHELL := /bin/bash
scripts := $(CURDIR)/scripts

.PHONY: all all-kernels modules test test-host check-fresh fuzz run clean distclean help

all:
	@$(scripts)/build.sh all

# Every kernel up front (an instructor preparing machines; VARIANTS= to
# choose): `make` builds KERNEL's only, and another one on first use.
all-kernels:
	@$(scripts)/build.sh all --every-kernel

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
kdir_llvm = $(if $(shell grep -sx CONFIG_CC_IS_CLANG=y $(KDIR)/.config),LLVM=$(call setting,LLVM))

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
	@$(scripts)/fuzz.sh

# Both drivers against a pipe in the VM, on QEMU's instruction clock under
# TCG (BENCH_CLOCK=wall: the wall clock), and where Rust's extra
# instructions go: build/ARCH/bench/. PUBLISH=1 runs both clocks and refreshes
# docs/performance.md and docs/img/.
.PHONY: bench
bench: all
	@$(scripts)/bench.sh $(BENCH_ARGS)

# The classic kernel bugs written into both drivers, and what catches each
# (tests/safety/, docs/safety.md). Not part of `make test`, which runs only
# its compile half: it boots a VM per variant and kernel, on the release,
# debug and KCSAN kernels (the KCSAN one is built here only).
.PHONY: safety
safety: all
	@$(scripts)/safety.sh $(SAFETY_ARGS)

# The suite's mutation score: small bugs in each driver, one VM per mutant
# (tests/mutants/, build/ARCH/mutants/report.json). Not part of `make test`.
.PHONY: mutants
mutants: all
	@$(scripts)/mutants.sh $(MUTANTS_ARGS)

# Rebuild only the modules and the initramfs, then boot into a shell.
run:
	@start=$$(date +%s%N); $(scripts)/build.sh modules --kernels release && \
		echo "rebuilt in $$(( ($$(date +%s%N) - start) / 1000000 )) ms" && \
		$(scripts)/run-qemu.sh

clean:
	rm -rf build
ifneq ($(KDIR),)
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(kdir_llvm) clean
endif

# Also drop the kernel source and kernel builds cached outside the clone.
distclean: clean
	@$(scripts)/build.sh distclean

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

# The line numbers in docs/c-to-rust.md and docs/walkthrough.md, computed
# again from the sources, in place; docs/safety.md from tests/safety/.
docs:
	@python3 $(scripts)/test/doc_lines.py
	@$(scripts)/safety.sh --docs

# Editor support: rust-project.json for rust-analyzer.
.PHONY: rust-analyzer
rust-analyzer:
	@$(scripts)/rust-analyzer.sh

# gdb on a VM started with ./scripts/run-qemu.sh --debug --gdb (GDB_KERNEL=release without --debug).
.PHONY: gdb
gdb:
	@$(scripts)/gdb.sh $(GDB_KERNEL)

# The targets below, then the settings from settings.conf.
help:
	@sed -n 's/^##//p' $(CURDIR)/Makefile
	@awk -F'\t' '/^## / { print "\n" substr($$0, 4) ":"; next } /^#/ || !NF { next } \
		{ printf "  %-30s %s\n", $$1, $$2 }' $(CURDIR)/settings.conf
	@printf '\nThe VM: ./scripts/run-qemu.sh --help\n'

## Targets:
##   make                build what the quick start needs: deps, the kernel (cached; KERNEL=),
##                       modules, suite, initramfs
##   make all-kernels    the same with every kernel for ARCH, or VARIANTS's (otherwise each
##                       is built on first use)
##   make modules        only the two modules (with KDIR=/path: against that kernel, as Kbuild does)
##   make doctor         can a Rust module be built against KDIR (default: the running
##                       kernel's build tree)? Each check, its cause and fix; exit 0 if so
##   make test           host checks, then the suite in the VM on each kernel for ARCH
##                       (VARIANTS): release, debian (x86_64), debug
##   make test-host      the host checks only: ABI, the VM runner's self-tests, lint
##   make check-fresh    the quick start and test-host on fresh Debian chroots (root;
##                       FRESH_SUITES="bookworm trixie", FRESH_COLD=1: empty kernel cache)
##   make fuzz           model-based random testing on the debug kernel (DURATION=120, SEED=n)
##   make mutants        the suite's mutation score (tests/mutants/, about 11 minutes)
##   make safety         the classic kernel bugs in both drivers: what C compiles and what
##                       catches it, what rustc refuses (tests/safety/, docs/safety.md)
##   make bench          both drivers vs a pipe, instruction-exact under TCG (PUBLISH=1: docs/performance.md)
##   make run            rebuild the modules and initramfs only, then boot into a shell
##   make clean          remove build/ (this clone's output, every architecture)
##   make distclean      also remove the cached kernel source and kernels
##   make exercise N=x   build workshop exercise x and check it in the VM (SOLUTION=1: its solution)
##   make check-exercises  every exercise: the solution passes, the starting point fails
##   make lint           rustfmt, clippy (suite, modules, exercises), checkpatch, shellcheck,
##                       the docs' line numbers; no VM
##   make docs           the line numbers in docs/c-to-rust.md and docs/walkthrough.md, again;
##                       docs/safety.md from tests/safety/
##   make fmt            reformat the Rust code (rustfmt with the kernel's config, cargo fmt)
##   make rust-analyzer  write rust-project.json for rust-analyzer
##   make gdb            attach gdb to ./scripts/run-qemu.sh --debug --gdb (GDB_KERNEL=release without --debug)
##   make help           this text (the targets, then every setting)
