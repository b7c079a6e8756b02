# shellcheck shell=bash
# apt with a configuration of its own: Debian's archive without touching
# the system's apt sources or architectures.

# private_apt DEB_ARCH APT-GET-ARGS...: apt-get with a configuration of its
# own in the cache, for the suite of Debian's kernel (DEBIAN_SUITE,
# trixie-backports) and the one it backports to, and for DEB_ARCH
# ("" for this machine's): the system's apt sources and architectures are
# never touched (fetch-kernel-source.sh, install-deps.sh, debian-kernel.sh).
# private_apt_cache takes the same configuration, for apt-cache.
private_apt() {
	local apt_opts
	private_apt_opts "$1"
	shift
	apt-get "${apt_opts[@]}" "$@"
}
private_apt_cache() {
	local apt_opts
	private_apt_opts "$1"
	shift
	apt-cache "${apt_opts[@]}" "$@"
}
private_apt_opts() { # DEB_ARCH: the options, into the array apt_opts.
	local dir=$CACHE_DIR/apt/${1:-native} suite
	# Debian's kernel's suite (trixie-backports), and the suite it backports to.
	suite=$(kernel_fact debian DEBIAN_SUITE)
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	printf 'deb http://deb.debian.org/debian %s main\n' "$suite" "${suite%-backports}" >"$dir/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=-"
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
		-o "APT::Default-Release=$suite" -o "Debug::NoLocking=1"
		-o "APT::Sandbox::User=root")
	[[ -z $1 ]] || apt_opts+=(-o "APT::Architecture=$1" -o "APT::Architectures::=$1")
}

