// SPDX-License-Identifier: GPL-2.0

//! Exercise `nonblock`: honour `O_NONBLOCK`.
//!
//! `/dev/ex_nonblock` is a 64-byte mailbox per open file: bytes written to a
//! file can be read back from the same file (or a process that shares it
//! after `fork`), oldest first. A reader of an empty mailbox sleeps until
//! there is data; a writer of a full one sleeps until there is room. Both
//! return `EAGAIN` instead when the file has `O_NONBLOCK`.

use kernel::{
    fs::{
        file::flags::O_NONBLOCK,
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

/// Whether this read or write must not sleep. The flag is read at every
/// call, because `fcntl(F_SETFL)` may change it while the file is open.
fn is_nonblocking(kiocb: &Kiocb<'_, Arc<Mailbox>>) -> bool {
    // SAFETY: The VFS calls `read_iter`/`write_iter` with a valid kiocb whose
    // `ki_filp` is the file being read or written; that file holds a
    // reference for the whole call, so it outlives the `&File` made here.
    let file = unsafe { File::from_raw_file((*kiocb.as_raw()).ki_filp) };
    file.flags() & O_NONBLOCK != 0
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
        let nonblocking = is_nonblocking(&kiocb);
        let mailbox = kiocb.file();
        let mut inner = mailbox.inner.lock();
        while inner.len == 0 {
            if nonblocking {
                return Err(EAGAIN);
            }
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
        let nonblocking = is_nonblocking(&kiocb);
        let mailbox = kiocb.file();
        let mut inner = mailbox.inner.lock();
        while inner.len == CAPACITY {
            if nonblocking {
                return Err(EAGAIN);
            }
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
