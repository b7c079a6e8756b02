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
    // C's "s[0] is a digit" check: an empty slice has no first byte.
    if !s.first().is_some_and(u8::is_ascii_digit) {
        return Err(EINVAL);
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let (number, suffix) = s.split_at(digits);
    // C's `value > U32_MAX` test after each step becomes checked arithmetic
    // on a u32: no wider type, and no way to forget the check.
    let mut value: u32 = 0;
    for &digit in number {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(digit - b'0')))
            .ok_or(ERANGE)?;
    }
    // The C `switch` and `++i != len` in one `match` on the rest.
    let shift = match suffix {
        [] => 0,
        [b'k' | b'K'] => 10,
        [b'm' | b'M'] => 20,
        _ => return Err(EINVAL),
    };
    // `<<` would silently drop the high bits: multiply, checked, instead.
    value.checked_mul(1 << shift).ok_or(ERANGE)
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
