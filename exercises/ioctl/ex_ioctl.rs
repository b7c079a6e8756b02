// SPDX-License-Identifier: GPL-2.0

//! Exercise `ioctl`: add an ioctl to a misc device.
//!
//! `/dev/ex_ioctl` is a counter: every open file has its own, starting at 0.
//! `EX_IOC_GET` copies it out. Add `EX_IOC_ADD` (see README.md).

use kernel::{
    fs::File,
    ioctl::_IOR,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    new_mutex,
    prelude::*,
    sync::Mutex,
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};

module! {
    type: ExIoctlModule,
    name: "ex_ioctl",
    authors: ["The rust-kmod-sample authors"],
    description: "Workshop exercise: adding an ioctl",
    license: "GPL",
}

/// The ioctl type ("magic") of this device.
const EX_IOC_MAGIC: u32 = 0xE2;
/// `_IOR(0xE2, 1, __u64)`: copy the counter out.
const EX_IOC_GET: u32 = _IOR::<u64>(EX_IOC_MAGIC, 1);
// TODO: `EX_IOC_ADD`, `_IOW(0xE2, 2, __u64)`: add a value to the counter.

/// One open file's counter.
#[pin_data]
struct Counter {
    #[pin]
    value: Mutex<u64>,
}

#[vtable]
impl MiscDevice for Counter {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            pin_init!(Counter {
                value <- new_mutex!(0),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(counter: Pin<&Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let arg = UserPtr::from_addr(arg);
        match cmd {
            EX_IOC_GET => counter.get(arg)?,
            // TODO: EX_IOC_ADD.
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

impl Counter {
    /// `EX_IOC_GET`: copy the value out.
    fn get(&self, arg: UserPtr) -> Result {
        let value = *self.value.lock();
        UserSlice::new(arg, size_of::<u64>()).writer().write(&value)
    }
}

#[pin_data]
struct ExIoctlModule {
    #[pin]
    _misc: MiscDeviceRegistration<Counter>,
}

impl kernel::InPlaceModule for ExIoctlModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"ex_ioctl",
            }),
        })
    }
}
