// SPDX-License-Identifier: GPL-2.0

//! Exercise `fdinfo`, the Rust half: `/dev/ex_fdinfo_rust` accepts and drops
//! whatever is written to it, and counts, per open file, the `write()` calls
//! and their bytes, which `/proc/PID/fdinfo/FD` shows.

use kernel::{
    fs::{
        File,
        Kiocb, //
    },
    iov::IovIterSource,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    new_mutex,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        Arc,
        ArcBorrow,
        Mutex, //
    }, //
};

module! {
    type: ExFdinfoModule,
    name: "ex_fdinfo_rust",
    authors: ["The rust-kmod-sample authors"],
    description: "Workshop exercise: show_fdinfo (Rust)",
    license: "GPL",
}

/// What one open file has written.
#[derive(Default)]
struct Counts {
    writes: u64,
    bytes: u64,
}

/// One open file.
#[pin_data]
struct Sink {
    #[pin]
    counts: Mutex<Counts>,
}

#[vtable]
impl MiscDevice for Sink {
    type Ptr = Arc<Sink>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Arc<Sink>> {
        Arc::pin_init(
            pin_init!(Sink {
                counts <- new_mutex!(Counts::default()),
            }),
            GFP_KERNEL,
        )
    }

    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let len = iov.len();
        iov.advance(len);
        let sink = kiocb.file();
        let mut counts = sink.counts.lock();
        counts.writes += 1;
        counts.bytes += len as u64;
        Ok(len)
    }

    /// Adds this file's lines to `/proc/PID/fdinfo/FD`, after the VFS's own.
    fn show_fdinfo(sink: ArcBorrow<'_, Sink>, m: &SeqFile, _file: &File) {
        let counts = sink.counts.lock();
        seq_print!(m, "ex_writes:\t{}\n", counts.writes);
        seq_print!(m, "ex_bytes_written:\t{}\n", counts.bytes);
    }
}

#[pin_data]
struct ExFdinfoModule {
    #[pin]
    _misc: MiscDeviceRegistration<Sink>,
}

impl kernel::InPlaceModule for ExFdinfoModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"ex_fdinfo_rust",
            }),
        })
    }
}
