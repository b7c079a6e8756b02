// SPDX-License-Identifier: GPL-2.0

//! Exercise `port`: port `parse_size()` from `parse_size.c` to Rust.
//!
//! The KUnit tests at the end are the specification; they run when the
//! module is loaded into the debug kernel (`CONFIG_KUNIT`). Do not change
//! them: make them pass.

use kernel::prelude::*;

module! {
    type: ExPort,
    name: "ex_port",
    authors: ["The rust-kmod-sample authors"],
    description: "Workshop exercise: porting a C function to Rust",
    license: "GPL",
}

/// Parses a size such as `b"4096"`, `b"4k"` or `b"1M"` (see `parse_size.c`):
/// `EINVAL` for a malformed string, `ERANGE` for a value above `u32::MAX`.
pub fn parse_size(s: &[u8]) -> Result<u32> {
    // TODO: port parse_size() from parse_size.c.
    let _ = s;
    Err(EINVAL)
}

struct ExPort;

impl kernel::Module for ExPort {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("4k is {:?}\n", parse_size(b"4k"));
        Ok(ExPort)
    }
}

#[kunit_tests(ex_port)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers() {
        assert_eq!(parse_size(b"0"), Ok(0));
        assert_eq!(parse_size(b"7"), Ok(7));
        assert_eq!(parse_size(b"4096"), Ok(4096));
        assert_eq!(parse_size(b"4294967295"), Ok(u32::MAX));
    }

    #[test]
    fn suffixes() {
        assert_eq!(parse_size(b"4k"), Ok(4096));
        assert_eq!(parse_size(b"4K"), Ok(4096));
        assert_eq!(parse_size(b"1m"), Ok(1 << 20));
        assert_eq!(parse_size(b"1M"), Ok(1 << 20));
        assert_eq!(parse_size(b"0k"), Ok(0));
    }

    #[test]
    fn malformed() {
        for s in [
            &b""[..],
            b"k",
            b"-1",
            b" 1",
            b"1 ",
            b"1x",
            b"1kk",
            b"1k1",
            b"0x10",
        ] {
            assert_eq!(parse_size(s), Err(EINVAL));
        }
    }

    #[test]
    fn out_of_range() {
        assert_eq!(parse_size(b"4294967296"), Err(ERANGE));
        assert_eq!(parse_size(b"99999999999999999999999"), Err(ERANGE));
        assert_eq!(parse_size(b"4194304k"), Err(ERANGE));
        assert_eq!(parse_size(b"4096m"), Err(ERANGE));
        assert_eq!(parse_size(b"4194303k"), Ok(4194303 << 10));
    }
}
