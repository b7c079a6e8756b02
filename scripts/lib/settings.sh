# shellcheck shell=bash
# The user's settings: each one listed in settings.conf at the top, with
# its default, which is given here to every script and to what they run.
# An empty default stays unset (it is worked out where it is used).

# settings_names: the settings' names, one per line, in settings.conf's order.
settings_names() {
	sed -n 's/^\([A-Z][A-Z0-9_]*\)=.*/\1/p' "$TOP/settings.conf"
}

# settings_load: every setting with a default and no value gets it.
settings_load() {
	local line name value
	while IFS= read -r line; do
		[[ $line =~ ^([A-Z][A-Z0-9_]*)=([^$'\t']*) ]] || continue
		name=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
		[[ $value =~ ^\'(.*)\'$ ]] && value=${BASH_REMATCH[1]}
		[[ -n $value && -z ${!name:-} ]] || continue
		printf -v "$name" '%s' "$value"
		# shellcheck disable=SC2163 # the variable named by $name
		export "$name"
	done <"$TOP/settings.conf"
}
settings_load

# Expensive builds (kernel source, kernels, the Debian 13 root) live outside
# the clone, so that a new clone reuses them. Every entry is keyed by what
# went into it.
CACHE_DIR=${SAMPLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-kmod-sample}
export CACHE_DIR

# kernel_build_lock: one kernel build at a time on this machine (the lock
# is held until the script ends): another clone may be building the very
# entry that this one needs, which is then reused rather than built twice.
kernel_build_lock() {
	mkdir -p "$CACHE_DIR/kernels"
	exec 9>"$CACHE_DIR/.kernel-build.lock"
	if ! flock -n 9; then
		say "another 'make' is building a kernel; waiting for it"
		flock 9
	fi
}

# rustup's tools and what `cargo install` adds (bindgen) live here; a
# non-login shell may lack it, and it may not exist yet when this is sourced.
if [[ :$PATH: != *:${CARGO_HOME:-$HOME/.cargo}/bin:* ]]; then
	PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
fi
