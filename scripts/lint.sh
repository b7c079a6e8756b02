#!/usr/bin/env bash
# `make lint`: every style and static check, without a VM, in KTAP: one
# `ok`/`not ok` line per check (a failing check's output on "# " lines
# before it), then
# "N passed, N failed"; exit 0 only if every check passed.
#
#   rustfmt      rust_sample.rs, src/*.rs and the exercises' .rs files, with
#                the kernel source's .rustfmt.toml (as `make rustfmtcheck`)
#   imports      the same files import one item per line (the kernel's
#                coding guidelines)
#   suite        tests/suite: `cargo fmt --check`, `cargo clippy -D warnings`
#   clippy       the two modules built with CLIPPY=1: no warning at all
#   exercises    every exercise's solution built with CLIPPY=1: no warning
#   hot-path     scripts/test/check-hot-path.sh: what read_iter and write_iter
#                call, in both built modules (no allocation, one lock)
#   checkpatch   the kernel's scripts/checkpatch.pl --strict on the C files
#   shell        ShellCheck on scripts/**.sh, .ci/run, qemu/init and
#                exercises/*/check.sh
#   settings     every variable a script reads from its environment
#                (scripts/test/env-reads.sh) is listed in settings.conf,
#                which `make help` prints, and every setting listed there
#                is read somewhere
#   doc-lines    the line numbers in docs/c-to-rust.md and docs/walkthrough.md
#                are the ones scripts/test/doc_lines.py computes (make docs)
#   safety-doc   docs/safety.md is what tests/safety/ says (make docs)
#   side-by-side the two drivers have the same section banners in the same
#                order, with the same functions (scripts/test/check_side_by_side.py)
#
# scripts/fmt.sh fixes what can be fixed automatically (the formatting).
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"
cd "$TOP"

ksrc=$(cached_kernel_source)
# The kernel of the quick start (KERNEL, else default_kernel).
kernel=$KERNEL
kdir=$BUILD_DIR/$kernel/kdir
[[ -d $kdir ]] || die "no $kernel kernel yet: run 'make KERNEL=$kernel' first"
logs=$BUILD_DIR/lint
mkdir -p "$logs"

# check NAME CMD...: runs CMD quietly; on failure shows its output.
check() {
	local name=$1 status=0
	shift
	"$@" >"$logs/$name.log" 2>&1 || status=$?
	if ((status == 0)); then
		pass "$name"
	else
		fail "$name" "exit $status"$'\n'"$(head -n 80 "$logs/$name.log")"
	fi
}

mapfile -t rust_files < <(rust_sources)
mapfile -t c_files < <(ls src/*.c src/*.h tests/runner/warn_module/*.c tests/safety/*.c; find exercises -name '*.c' | sort)
mapfile -t shell_files < <(ls scripts/*.sh scripts/*/*.sh .ci/run qemu/init exercises/*/check.sh)

check rustfmt rustfmt --check --color never --edition 2021 --config-path "$ksrc/.rustfmt.toml" "${rust_files[@]}"

# Imports one item per line, as the kernel's
# Documentation/rust/coding-guidelines.rst asks ("Do not use this style":
# `use kernel::{fs::{File, Kiocb}, ...}`); the trailing `//` on each list's
# last item makes rustfmt keep them vertical.
condensed_imports() {
	awk '/^[ \t]*(pub(\([a-z]+\))? )?use / { u = 1 }
		u && /[A-Za-z0-9_*}] *, *[A-Za-z_{]/ { print FILENAME ":" FNR ": more than one item: " $0; bad = 1 }
		u && /;/ { u = 0 }
		END { exit bad }' "$@"
}
check imports condensed_imports "${rust_files[@]}"

suite=(--manifest-path tests/suite/Cargo.toml)
check suite-fmt cargo fmt "${suite[@]}" --check
check suite-clippy cargo clippy --quiet --locked "${suite[@]}" --target-dir "$BUILD_DIR/cargo" \
	--all-targets -- -D warnings

# The modules, exactly as build.sh builds them but into their own directory.
modules_clippy() {
	mkdir -p "$logs/modules"
	kbuild "$kdir" "$TOP" "$logs/modules" CLIPPY=1
}
check modules-clippy modules_clippy
# A clean build log, besides the exit status.
if grep -q -E "$WARNINGS_RE" "$logs/modules-clippy.log"; then
	fail modules-clippy-warnings "$(grep -E -A8 "$WARNINGS_RE" "$logs/modules-clippy.log")"
else
	pass modules-clippy-warnings
fi

# Every solution, built with CLIPPY=1 by exercise.sh, must print no warning.
# Against the release kernel, also for the exercises that run on the debug
# one: the code is the same, and lint needs no debug kernel.
exercises_clippy() {
	local name status=0
	for name in $("$TOP/scripts/exercise.sh" --list); do
		"$TOP/scripts/exercise.sh" "$name" --solution --build-only --kernel "$kernel" || status=1
		if grep -q -E "$WARNINGS_RE" "$BUILD_DIR/exercises/$name/solution/build.log"; then
			echo "exercises/solutions/$name: warnings (above)"
			status=1
		fi
	done
	return "$status"
}
check exercises-clippy exercises_clippy

check hot-path "$TOP/scripts/test/check-hot-path.sh" "$BUILD_DIR/$kernel/rust_sample.ko" "$BUILD_DIR/$kernel/src/c_sample.ko"
check checkpatch "$ksrc/scripts/checkpatch.pl" --strict --no-tree --quiet -f "${c_files[@]}"
check shellcheck shellcheck -x "${shell_files[@]}"
# settings.conf against what the scripts read: no setting unlisted, none
# listed that nothing reads (the Makefile passes some on as arguments).
settings_listed() {
	local unlisted unread name
	unlisted=$("$TOP/scripts/test/env-reads.sh" | comm -23 - <(settings_names | sort))
	unread=$(for name in $(settings_names); do
		grep -q -E "\\\$(\\{|\\()?$name\\b" "${shell_files[@]}" Makefile || echo "$name"
	done)
	[[ -z $unlisted ]] || echo "read from the environment, not in settings.conf: $unlisted"
	[[ -z $unread ]] || echo "in settings.conf, read by no script: $unread"
	[[ -z $unlisted$unread ]]
}
check settings settings_listed
check doc-lines python3 "$TOP/scripts/test/doc_lines.py" --check
check safety-doc "$TOP/scripts/safety.sh" --docs --check
check side-by-side python3 "$TOP/scripts/test/check_side_by_side.py"

summary_line
