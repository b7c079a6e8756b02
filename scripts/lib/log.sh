# shellcheck shell=bash
# Progress lines and errors, on stderr: a script's stdout is its answer.

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# stage_done NAME START_SECONDS SOURCE: one progress line per build stage,
# with its time and where its result came from.
stage_done() {
	local name=$1 start=$2 source=$3
	printf '[%-18s] %4ss  %s\n' "$name" "$(($(date +%s) - start))" "$source" >&2
}
