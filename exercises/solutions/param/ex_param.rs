// SPDX-License-Identifier: GPL-2.0

//! Exercise `param`: a first Rust module, with a parameter.
//!
//! `insmod ex_param.ko greetings=3` prints three greetings; the parameter is
//! checked when the module loads and an invalid value refuses the load.

use kernel::prelude::*;

module! {
    type: ExParam,
    name: "ex_param",
    authors: ["The rust-kmod-sample authors"],
    description: "Workshop exercise: a first module with a parameter",
    license: "GPL",
    params: {
        greetings: u32 {
            default: 1,
            description: "How many greetings to print, 1..=10 (default 1)",
        },
    },
}

const GREETINGS_MAX: u32 = 10;

struct ExParam;

impl kernel::Module for ExParam {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let greetings = module_parameters::greetings.value();
        if !(1..=GREETINGS_MAX).contains(&greetings) {
            pr_err!(
                "invalid greetings={}: must be 1..={}\n",
                greetings,
                GREETINGS_MAX
            );
            return Err(EINVAL);
        }
        for i in 1..=greetings {
            pr_info!("hello #{} of {}\n", i, greetings);
        }
        Ok(ExParam)
    }
}

impl Drop for ExParam {
    fn drop(&mut self) {
        pr_info!("goodbye\n");
    }
}
