#!/usr/bin/env bash
# Prints, one per line, the variables that the project's scripts read from
# their environment: the names they use ($NAME, ${NAME...}, outside
# comments) that no script assigns and no data file (qemu/arch/,
# qemu/kernels/) defines, less bash's own. make lint's `settings` check
# compares them with settings.conf, the list of settings.
#
#   scripts/test/env-reads.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

mapfile -t files < <(ls scripts/*.sh scripts/*/*.sh .ci/run)
used() {
	grep -hv '^[[:space:]]*#' "${files[@]}" | grep -oE '\$\{?[A-Z][A-Z0-9_]*' | tr -d '$\{' | sort -u
}
defined() {
	{
		# NAME=... as a statement (or before a command), at a line's start or
		# after ;, && or ||, or after export, local, readonly or declare.
		grep -hv '^[[:space:]]*#' "${files[@]}" qemu/arch/*.conf qemu/kernels/*.conf |
			grep -oE '(^[[:space:]]*|(;|&&|\|\|)[[:space:]]*|(export|local|readonly|declare( -[a-zA-Z]+)?) +)[A-Z][A-Z0-9_]*(\[[^]]*\])?\+?=' |
			grep -oE '[A-Z][A-Z0-9_]*(\[|\+?=)' | grep -oE '^[A-Z][A-Z0-9_]*'
		grep -hv '^[[:space:]]*#' "${files[@]}" |
			grep -oE '(local|declare( -[aAx]+)?|read( -[ra]+)*|for|mapfile( -t)?|printf -v) +[A-Z][A-Z0-9_]*' |
			grep -oE '[A-Z][A-Z0-9_]*$'
		printf '%s\n' BASH_SOURCE BASH_REMATCH PIPESTATUS SECONDS RANDOM EUID
	} | sort -u
}
comm -23 <(used) <(defined)
