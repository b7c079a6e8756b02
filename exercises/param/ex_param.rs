// SPDX-License-Identifier: GPL-2.0

//! Exercise `param`: a first Rust module, with a parameter.
//!
//! As it is, the module prints one greeting when it loads. Give it a
//! `greetings` parameter (see README.md) so that
//! `insmod ex_param.ko greetings=3` prints three.

use kernel::prelude::*;

module! {
    type: ExParam,
    name: "ex_param",
    authors: ["The rust-kmod-sample authors"],
    description: "Workshop exercise: a first module with a parameter",
    license: "GPL",
    // TODO: a `params:` block with `greetings: u32`, default 1.
}

struct ExParam;

impl kernel::Module for ExParam {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // TODO: check the parameter (1..=10, else EINVAL with a pr_err!) and
        // print "hello #i of N" for i in 1..=N.
        pr_info!("hello #1 of 1\n");
        Ok(ExParam)
    }
}

impl Drop for ExParam {
    fn drop(&mut self) {
        pr_info!("goodbye\n");
    }
}
