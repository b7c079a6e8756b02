# shellcheck shell=bash
# Results, in KTAP (Documentation/dev-tools/ktap.rst): test.sh,
# test-host.sh, lint.sh, check-exercises.sh. Each prints a KTAP document,
# one result line per check (a failure's reasons on "# " lines before it),
# keeps logs in $logs, and ends with summary_line: "N passed, N failed". These
# helpers number the results and keep the totals of the leaf cases.
passed=0 failed=0 skipped=0 ktap_number=0
# ktap_next: the next result's number, in $ktap_number; the document's
# version line comes before the first.
ktap_next() {
	((ktap_number > 0)) || echo "KTAP version 1"
	ktap_number=$((ktap_number + 1))
}
# ktap_result ok|"not ok" NAME [DIRECTIVE]: one result line. A KTAP
# description cannot hold '#'.
ktap_result() {
	echo "$1 $ktap_number ${2//#/}${3:+ # $3}"
}
pass() {
	passed=$((passed + 1))
	ktap_next
	ktap_result ok "$1"
}
fail() { # NAME [WHY]
	failed=$((failed + 1))
	ktap_next
	local line
	[[ -z ${2:-} ]] || while IFS= read -r line; do echo "# $line"; done <<<"$2"
	ktap_result "not ok" "$1"
}
skip() { # NAME WHY: not a pass
	skipped=$((skipped + 1))
	ktap_next
	ktap_result ok "$1" "SKIP $2"
}

# The reader, next to this file.
ktap_reader=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ktap.py

# ktap_count LOG COUNTS [KTAP.PY ARGS...]: scripts/lib/ktap.py count of LOG,
# the document on stdout, the counts in COUNTS, and their total in ktap_p,
# ktap_f and ktap_s. Returns the reader's status: 0 nothing failed, 1
# something did, 2 no KTAP in LOG; or 3 if the reader itself failed: it
# died, or left COUNTS missing or incomplete (the total is its last line),
# or its status and counts disagree. It fails closed: ktap_f is 0 only
# when the status is 0, and a reader that failed counts as one failure
# (0 1 0), never as the passes it may have written.
ktap_count() {
	local log=$1 counts=$2 status=0 last='' n='(0|[1-9][0-9]*)'
	shift 2
	ktap_p=0 ktap_f=1 ktap_s=0
	rm -f "$counts" # an earlier run's counts are not this one's
	python3 "$ktap_reader" count "$log" --counts "$counts" "$@" || status=$?
	[[ ! -f $counts ]] || last=$(tail -n 1 "$counts")
	# A complete total, and a status (0, 1 or 2) that says what it says:
	# 0 exactly when nothing failed.
	if [[ $last =~ ^total\ $n\ $n\ $n$ ]] &&
		((status <= 2 && (status == 0) == (BASH_REMATCH[2] == 0))); then
		ktap_p=${BASH_REMATCH[1]} ktap_f=${BASH_REMATCH[2]} ktap_s=${BASH_REMATCH[3]}
		return "$status"
	fi
	echo "ktap.sh: scripts/lib/ktap.py failed on $log (exit $status; counts: ${last:-none}): one failure" >&2
	return 3
}

# ktap_subtest LABEL LOG [KTAP.PY ARGS...]: the first KTAP document in LOG
# (scripts/lib/ktap.py, the one reader) as subtest LABEL of this document, its
# leaf cases added to the totals, then its own result line. Leaves the
# counts in $logs/LABEL.counts (for a breakdown) and returns ktap_count's
# status: 0 passed, 1 failed, 2 no KTAP in LOG, 3 the reader failed (each
# but 0 counted as at least one failure).
# shellcheck disable=SC2154 # $logs: set by the test script
ktap_subtest() {
	local label=$1 log=$2 status=0
	shift 2
	ktap_next
	ktap_count "$log" "$logs/$label.counts" --subtest "$label" --indent 4 "$@" || status=$?
	passed=$((passed + ktap_p)) failed=$((failed + ktap_f)) skipped=$((skipped + ktap_s))
	if ((ktap_f == 0)); then
		ktap_result ok "$label"
	else
		ktap_result "not ok" "$label"
	fi
	return "$status"
}

# ktap_script LABEL LOG STATUS SCRIPT: the KTAP document that SCRIPT wrote
# to LOG, exiting with STATUS, as subtest LABEL. A script that failed
# without a failed case to show for it counts as one more failure, with
# the end of its log.
ktap_script() {
	local label=$1 log=$2 status=$3 script=$4 before=$failed
	ktap_subtest "$label" "$log" || true
	if ((status != 0 && failed == before)); then
		fail "$label: $script failed (exit $status; log: $log)" "$(tail -n 20 "$log")"
	fi
	return 0
}

# summary_line: the closing line; skips are not passes.
summary_line() {
	if ((skipped > 0)); then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	((failed == 0))
}

# verdict_get FILE FIELD: one field of the verdict that run-qemu.sh
# --verdict FILE wrote (scripts/lib/verdict.py says what each holds); no
# file, or a malformed one, reads as the runner's own failure.
verdict_get() { python3 "$TOP/scripts/lib/verdict.py" get "$1" "$2"; }
