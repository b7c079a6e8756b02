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

# ktap_subtest LABEL LOG [KTAP.PY ARGS...]: the first KTAP document in LOG
# (scripts/lib/ktap.py, the one reader) as subtest LABEL of this document, its
# leaf cases added to the totals, then its own result line. Leaves the
# counts in $logs/LABEL.counts (for a breakdown) and returns ktap.py's
# status: 0 passed, 1 failed, 2 no KTAP in LOG (counted as one failure).
# shellcheck disable=SC2154 # $logs: set by the test script
ktap_subtest() {
	local label=$1 log=$2 status=0 p f s
	shift 2
	ktap_next
	python3 "$TOP/scripts/lib/ktap.py" count "$log" --subtest "$label" --indent 4 \
		--counts "$logs/$label.counts" "$@" || status=$?
	read -r _ p f s < <(grep '^total ' "$logs/$label.counts")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if ((f == 0)); then
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
