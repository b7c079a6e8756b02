// SPDX-License-Identifier: GPL-2.0

//! Exercise `nonblock`: honour `O_NONBLOCK`.
//!
//! `/dev/ex_nonblock` is a 64-byte mailbox per open file: bytes written to a
//! file can be read back from the same file (or a process that shares it
//! after `fork`), oldest first. A reader of an empty mailbox sleeps until
//! there is data; a writer of a full one sleeps until there is room. Make
//! both return `EAGAIN` instead when the file has `O_NONBLOCK` (README.md).

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
    new_condvar,
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        CondVar,
        Mutex, //
    }, //
};

module! {
    type: ExNonblockModule,
    name: "ex_nonblock",
    authors: ["The rust-kmod-sample authors"],
    description: "Workshop exercise: honouring O_NONBLOCK",
    license: "GPL",
}

const CAPACITY: usize = 64;

/// The queued bytes: `buf[..len]`, oldest first.
struct Inner {
    buf: [u8; CAPACITY],
    len: usize,
}

/// One open file's mailbox.
#[pin_data]
struct Mailbox {
    #[pin]
    inner: Mutex<Inner>,
    /// Sleepers wait here for any change of `len`.
    #[pin]
    changed: CondVar,
}

#[vtable]
impl MiscDevice for Mailbox {
    type Ptr = Arc<Mailbox>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Arc<Mailbox>> {
        Arc::pin_init(
            pin_init!(Mailbox {
                inner <- new_mutex!(Inner {
                    buf: [0; CAPACITY],
                    len: 0,
                }),
                changed <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        if iov.is_empty() {
            return Ok(0);
        }
        let mailbox = kiocb.file();
        let mut inner = mailbox.inner.lock();
        while inner.len == 0 {
            // TODO: with O_NONBLOCK, EAGAIN instead of sleeping.
            if mailbox.changed.wait_interruptible(&mut inner) {
                return Err(ERESTARTSYS);
            }
        }
        let len = inner.len;
        let copied = iov.copy_to_iter(&inner.buf[..len]);
        if copied == 0 {
            return Err(EFAULT);
        }
        inner.buf.copy_within(copied..len, 0);
        inner.len -= copied;
        mailbox.changed.notify_all();
        Ok(copied)
    }

    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        if iov.is_empty() {
            return Ok(0);
        }
        let mailbox = kiocb.file();
        let mut inner = mailbox.inner.lock();
        while inner.len == CAPACITY {
            // TODO: with O_NONBLOCK, EAGAIN instead of sleeping.
            if mailbox.changed.wait_interruptible(&mut inner) {
                return Err(ERESTARTSYS);
            }
        }
        let len = inner.len;
        let copied = iov.copy_from_iter(&mut inner.buf[len..]);
        if copied == 0 {
            return Err(EFAULT);
        }
        inner.len += copied;
        mailbox.changed.notify_all();
        Ok(copied)
    }
}

#[pin_data]
struct ExNonblockModule {
    #[pin]
    _misc: MiscDeviceRegistration<Mailbox>,
}

impl kernel::InPlaceModule for ExNonblockModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"ex_nonblock",
            }),
        })
    }
}
