//! Every case, in the order of the contract's sections.

mod basic;
mod blocking;
mod faults;
mod hardening;
mod ioctl;
mod module;
mod stress;

use crate::Case;

/// Declares a list of cases from plain functions, named after them.
macro_rules! cases {
    ($($f:path),* $(,)?) => {
        vec![$(Case { name: $crate::cases::short_name(stringify!($f)), run: $f }),*]
    };
}

/// `basic::write_then_read` -> `write_then_read`.
pub(crate) fn short_name(path: &'static str) -> &'static str {
    path.rsplit("::").next().unwrap().trim()
}

pub fn all() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(basic::cases());
    all.extend(ioctl::cases());
    all.extend(blocking::cases());
    all.extend(faults::cases());
    all.extend(stress::cases());
    all.extend(module::cases());
    all.extend(hardening::cases());
    all
}

pub(crate) use cases;
