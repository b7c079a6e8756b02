# shellcheck shell=bash
# The library: functions and facts that every script shares, by concern,
# one file each. Sourced, never run, and it never runs one of the
# project's scripts: calls go one way, from the entry points in scripts/,
# to the steps in scripts/build|test|bench/, to this library.
#
#   settings.sh  the user's settings (../../settings.conf), paths, the cache
#   log.sh       progress lines and errors
#   arch.sh      the target architecture's facts (../../qemu/arch/ARCH.conf)
#   kernels.sh   the kernels' facts (../../qemu/kernels/NAME.conf)
#   ktap.sh      results in KTAP, and their counts (ktap.py reads them)
#   apt.sh       apt with a private configuration
#   debian.sh    Debian 13's toolchain, for Debian's kernel
#   kbuild.sh    Kbuild's out-of-tree build, and the sources it checks
#
# A script sets ARCH (if its options name one) before it sources this.

# The project's top directory, wherever the script was started from.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TOP

# shellcheck source=scripts/lib/settings.sh
source "$TOP/scripts/lib/settings.sh"
# shellcheck source=scripts/lib/log.sh
source "$TOP/scripts/lib/log.sh"
# shellcheck source=scripts/lib/arch.sh
source "$TOP/scripts/lib/arch.sh"
# shellcheck source=scripts/lib/kernels.sh
source "$TOP/scripts/lib/kernels.sh"
# shellcheck source=scripts/lib/ktap.sh
source "$TOP/scripts/lib/ktap.sh"
# shellcheck source=scripts/lib/apt.sh
source "$TOP/scripts/lib/apt.sh"
# shellcheck source=scripts/lib/debian.sh
source "$TOP/scripts/lib/debian.sh"
# shellcheck source=scripts/lib/kbuild.sh
source "$TOP/scripts/lib/kbuild.sh"

# The settings whose defaults are worked out (settings.conf says how):
# the kernel of the quick start, and the kernels make test tests.
KERNEL=${KERNEL:-$(default_kernel)}
check_kernel "$KERNEL"
VARIANTS=${VARIANTS:-$(test_kernels_for "$ARCH")}
export KERNEL VARIANTS
