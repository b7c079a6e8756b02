# shellcheck shell=bash
# Progress lines and errors, on stderr: a script's stdout is its answer.

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# stage_done NAME START_SECONDS RESULT [DETAIL]: one progress line per build
# stage, with its time and where its result came from (RESULT: checked,
# built, cached, prepared or made); and, when STAGES_FILE names a file, the
# same as data: a line "NAME<TAB>SECONDS<TAB>RESULT" (check-fresh reads it).
stage_done() {
	local name=$1 seconds=$(($(date +%s) - $2)) result=$3 detail=${4:-}
	printf '[%-18s] %4ss  %s%s\n' "$name" "$seconds" "$result" "${detail:+: $detail}" >&2
	[[ -z ${STAGES_FILE:-} ]] || printf '%s\t%s\t%s\n' "$name" "$seconds" "$result" >>"$STAGES_FILE"
}
