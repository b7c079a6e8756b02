// SPDX-License-Identifier: GPL-2.0

//! Exercise `race`, the Rust half: `/dev/ex_race_rust` keeps the length of
//! every `write()`, and `read()` reports `entries=N bytes=M`, like
//! `ex_race_c.c`. Writers run concurrently, so the list needs a lock; this
//! version is written the C way and forgets it. The compiler refuses it.

use kernel::{
    fs::{
        File,
        Kiocb, //
    },
    iov::{
        IovIterDest,
        IovIterSource, //
    },
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
    str::CString, //
};

module! {
    type: ExRaceModule,
    name: "ex_race_rust",
    authors: ["The rust-kmod-sample authors"],
    description: "Workshop exercise: a data race that Rust refuses to compile",
    license: "GPL",
}

/// The length of every write, oldest first (C: `static LIST_HEAD(entries)`).
static ENTRIES: KVec<usize> = KVec::new();

struct RaceFile;

#[vtable]
impl MiscDevice for RaceFile {
    type Ptr = KBox<RaceFile>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<RaceFile>> {
        Ok(KBox::new(RaceFile, GFP_KERNEL)?)
    }

    fn write_iter(_kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let len = iov.len();
        ENTRIES.push(len, GFP_KERNEL)?;
        iov.advance(len);
        Ok(len)
    }

    fn read_iter(mut kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let (n, bytes) = (ENTRIES.len(), ENTRIES.iter().sum::<usize>());
        let text = CString::try_from_fmt(fmt!("entries={n} bytes={bytes}\n"))?;
        iov.simple_read_from_buffer(kiocb.ki_pos_mut(), text.to_bytes())
    }
}

#[pin_data]
struct ExRaceModule {
    #[pin]
    _misc: MiscDeviceRegistration<RaceFile>,
}

impl kernel::InPlaceModule for ExRaceModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"ex_race_rust",
            }),
        })
    }
}
