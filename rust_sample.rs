// SPDX-License-Identifier: GPL-2.0

//! `rust_sample`: a bounded FIFO byte queue behind a misc device.
//!
//! Loading the module creates `/dev/rust_sample`. Everything written to it
//! can be read back once, oldest first, by any opener; the bytes stay queued
//! while nobody has the device open, until the module is unloaded. The queue
//! holds `capacity` bytes (a module parameter, 4096 by default): a writer of
//! a full queue sleeps, or gets `EAGAIN` with `O_NONBLOCK`; a reader of an
//! empty queue sleeps, gets `EAGAIN`, or sees end-of-file once no writer is
//! left. Three ioctls read the statistics, clear the queue and resize it.
//!
//! `src/c_sample.c` is the same driver in C: the same sections, in the same
//! order, with the same names, so that the two files scroll in step. The
//! ring is `src/ring.rs` (C: `src/ring.h`), and `docs/device.md` describes
//! the behaviour both share:
//!
//! ```sh
//! # insmod rust_sample.ko capacity=8
//! # echo hi > /dev/rust_sample; cat /dev/rust_sample
//! hi
//! ```
//!
//! # Safety
//!
//! What the 7.3 kernel crate lacks is in `src/kernel_ext.rs`, written as an
//! upstream abstraction: reading a kiocb's `O_NONBLOCK` is safe there, and
//! marking a file a stream is an `unsafe fn`. The driver keeps the two
//! `unsafe` blocks that soundness asks of it, each with a `// SAFETY:`
//! comment that says why it holds, and the global lock's declaration:
//!
//! 1. `DEVICE`, the global lock that lets `open` find the queue, is declared
//!    `unsafe(uninit)` and initialised in an `unsafe` block
//!    (`GlobalLock::init` is an `unsafe fn`), because a `static` lock cannot
//!    be initialised in `const` context;
//! 2. `open` calls `kernel_ext::stream_open`, whose precondition (the file is
//!    not shared yet) only `open` can promise.

use kernel::{
    fs::{
        File,
        Kiocb, //
    },
    ioctl::{
        _IO,
        _IOR,
        _IOW, //
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
        ArcBorrow,
        CondVar,
        Mutex, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};

#[path = "src/ring.rs"]
mod ring;
use ring::Ring;

#[path = "src/kernel_ext.rs"]
mod kernel_ext;
use kernel_ext::{
    kiocb_nonblocking,
    stream_open, //
};

// The ABI module is shared with the userspace test suite, which uses the
// parts that a driver does not need (`SampleStats::from_bytes`).
#[allow(dead_code)]
#[path = "src/sample_abi.rs"]
mod abi;
use abi::{
    SampleStats,
    CAPACITY_MAX,
    CAPACITY_MIN,
    SAMPLE_IOC_MAGIC, //
};

// ---------------------------------------------------------------------------
// The module, its parameter and its ioctl numbers
// ---------------------------------------------------------------------------

module! {
    type: SampleModule,
    name: "rust_sample",
    authors: ["The rust-kmod-sample authors"],
    description: "A bounded FIFO byte queue misc device (Rust)",
    license: "GPL",
    params: {
        capacity: u32 {
            default: 4096,
            description: "Queue capacity in bytes, 1..1048576 (default 4096)",
        },
    },
}

// The ioctl numbers, from the kernel's own macros. `src/sample_abi.rs` (C:
// `src/sample_ioctl.h`) writes them down for userspace; these must agree.
const SAMPLE_IOC_GET_STATS: u32 = _IOR::<SampleStats>(SAMPLE_IOC_MAGIC, 0x01);
const SAMPLE_IOC_CLEAR: u32 = _IO(SAMPLE_IOC_MAGIC, 0x02);
const SAMPLE_IOC_SET_CAPACITY: u32 = _IOW::<u32>(SAMPLE_IOC_MAGIC, 0x03);

const _: () = {
    assert!(SAMPLE_IOC_GET_STATS == abi::SAMPLE_IOC_GET_STATS);
    assert!(SAMPLE_IOC_CLEAR == abi::SAMPLE_IOC_CLEAR);
    assert!(SAMPLE_IOC_SET_CAPACITY == abi::SAMPLE_IOC_SET_CAPACITY);
};

// ---------------------------------------------------------------------------
// The queue: one per loaded module, shared by every open file
// ---------------------------------------------------------------------------

/// Everything the lock protects (C: `struct sample_queue`).
struct Queue {
    ring: Ring,
    bytes_written: u64,
    bytes_read: u64,
    readers: u32,
    writers: u32,
}

/// The device: the queue, its lock, and where sleepers wait.
#[pin_data]
struct SampleDevice {
    /// The queue lives inside its lock: there is no way to reach it unlocked.
    #[pin]
    queue: Mutex<Queue>,
    /// Readers sleep here until there is data or no writer is left.
    #[pin]
    data_available: CondVar,
    /// Writers sleep here until there is room.
    #[pin]
    space_available: CondVar,
}

impl SampleDevice {
    /// Makes the device, with an empty ring of `capacity` bytes.
    fn new(capacity: usize) -> Result<impl PinInit<Self>> {
        let ring = Ring::new(capacity)?;
        Ok(pin_init!(Self {
            queue <- new_mutex!(Queue {
                ring,
                bytes_written: 0,
                bytes_read: 0,
                readers: 0,
                writers: 0,
            }),
            data_available <- new_condvar!(),
            space_available <- new_condvar!(),
        }))
    }
}

/// Whether a file was opened for reading, for writing, or both (C reads
/// `FMODE_READ` and `FMODE_WRITE`, which 7.3's `File` does not expose).
#[derive(Clone, Copy)]
struct Access {
    reads: bool,
    writes: bool,
}

impl Access {
    fn of(file: &File) -> Self {
        use kernel::fs::file::flags::{
            O_ACCMODE,
            O_RDONLY,
            O_RDWR,
            O_WRONLY, //
        };
        let mode = file.flags() & O_ACCMODE;
        Self {
            reads: mode == O_RDONLY || mode == O_RDWR,
            writes: mode == O_WRONLY || mode == O_RDWR,
        }
    }
}

// The module's one device, for `open` to find. The module publishes it in
// `init` before registering the misc device, and takes it back on unload.
kernel::sync::global_lock! {
    // SAFETY: `publish_device` initialises the lock before its first use.
    unsafe(uninit) static DEVICE: Mutex<Option<Arc<SampleDevice>>> = None;
}

// ---------------------------------------------------------------------------
// open and release
// ---------------------------------------------------------------------------

fn sample_open(file: &File) -> Result<Arc<SampleDevice>> {
    let dev = DEVICE.lock().clone().ok_or(ENODEV)?;
    // A stream, like a pipe: no position, so pread and pwrite get ESPIPE.
    // SAFETY: `file` is the file being opened: it is not in any process's
    // file table yet, so nothing else reads or changes its mode meanwhile.
    unsafe { stream_open(file) };
    let access = Access::of(file);
    let mut queue = dev.queue.lock();
    queue.readers += u32::from(access.reads);
    queue.writers += u32::from(access.writes);
    drop(queue);
    Ok(dev)
}

fn sample_release(dev: Arc<SampleDevice>, file: &File) {
    let access = Access::of(file);
    let mut queue = dev.queue.lock();
    queue.readers -= u32::from(access.reads);
    queue.writers -= u32::from(access.writes);
    // Readers sleeping on an empty queue now see end-of-file.
    if access.writes && queue.writers == 0 {
        dev.data_available.notify_all();
    }
}

// ---------------------------------------------------------------------------
// read
// ---------------------------------------------------------------------------

// `#[inline]` on the hot functions, here and in the file operations below,
// lets the compiler merge each into the kernel crate's C-ABI wrapper that
// the VFS calls: no call more per read, write or ioctl than in C.
#[inline]
fn sample_read_iter(
    kiocb: Kiocb<'_, Arc<SampleDevice>>,
    iov: &mut IovIterDest<'_>,
) -> Result<usize> {
    if iov.is_empty() {
        return Ok(0);
    }
    let dev = kiocb.file();
    let mut queue = dev.queue.lock();
    while queue.ring.is_empty() {
        if queue.writers == 0 {
            return Ok(0); // End of file.
        }
        // Looked at only when the call would sleep: off the fast path.
        if kiocb_nonblocking(&kiocb) {
            return Err(EAGAIN);
        }
        // `CondVar` waits exclusively, but every wake-up here is a
        // `notify_all`, which wakes every sleeper, as C's plain waits.
        if dev.data_available.wait_interruptible(&mut queue) {
            return Err(ERESTARTSYS);
        }
    }
    let was_full = queue.ring.is_full();
    // Copy straight from the ring into the user's buffer. A fault stops
    // the copy; the ring keeps every byte that was not copied.
    let copied = queue.ring.pop(|piece| iov.copy_to_iter(piece));
    if copied == 0 {
        return Err(EFAULT);
    }
    queue.bytes_read += copied as u64;
    drop(queue);
    // Writers only sleep on a full queue: wake them only if it was, and
    // only once unlocked, so that they do not wake up to wait for the lock.
    if was_full {
        dev.space_available.notify_all();
    }
    Ok(copied)
}

// ---------------------------------------------------------------------------
// write
// ---------------------------------------------------------------------------

#[inline]
fn sample_write_iter(
    kiocb: Kiocb<'_, Arc<SampleDevice>>,
    iov: &mut IovIterSource<'_>,
) -> Result<usize> {
    if iov.is_empty() {
        return Ok(0);
    }
    let dev = kiocb.file();
    let mut queue = dev.queue.lock();
    while queue.ring.is_full() {
        // Looked at only when the call would sleep: off the fast path.
        if kiocb_nonblocking(&kiocb) {
            return Err(EAGAIN);
        }
        if dev.space_available.wait_interruptible(&mut queue) {
            return Err(ERESTARTSYS);
        }
    }
    let was_empty = queue.ring.is_empty();
    // Copy straight from the user's buffer into the ring. Holding the
    // lock keeps this call's bytes contiguous in the queue.
    let copied = queue.ring.push(|space| iov.copy_from_iter(space));
    if copied == 0 {
        return Err(EFAULT);
    }
    queue.bytes_written += copied as u64;
    drop(queue);
    // Readers only sleep on an empty queue: wake them only if it was, and
    // only once unlocked, so that they do not wake up to wait for the lock.
    if was_empty {
        dev.data_available.notify_all();
    }
    Ok(copied)
}

// ---------------------------------------------------------------------------
// ioctl
// ---------------------------------------------------------------------------

/// `SAMPLE_IOC_GET_STATS`: a consistent snapshot, copied out unlocked.
fn sample_get_stats(dev: &SampleDevice, arg: UserPtr) -> Result {
    let queue = dev.queue.lock();
    let stats = SampleStats {
        bytes_written: queue.bytes_written,
        bytes_read: queue.bytes_read,
        len: queue.ring.len() as u32,
        capacity: queue.ring.capacity() as u32,
        readers: queue.readers,
        writers: queue.writers,
    };
    drop(queue);
    UserSlice::new(arg, abi::SAMPLE_STATS_SIZE)
        .writer()
        .write(&stats.to_bytes())
}

/// `SAMPLE_IOC_CLEAR`: discard the contents and wake blocked writers.
fn sample_clear(dev: &SampleDevice) {
    let mut queue = dev.queue.lock();
    let was_full = queue.ring.is_full();
    queue.ring.clear();
    if was_full {
        dev.space_available.notify_all();
    }
}

/// `SAMPLE_IOC_SET_CAPACITY`: move the contents into a new ring.
fn sample_set_capacity(dev: &SampleDevice, arg: UserPtr) -> Result {
    let capacity = UserSlice::new(arg, size_of::<u32>())
        .reader()
        .read::<u32>()?;
    if !(CAPACITY_MIN..=CAPACITY_MAX).contains(&capacity) {
        return Err(EINVAL);
    }
    // Allocate before locking: a large allocation may sleep for a while.
    let new_ring = Ring::new(capacity as usize)?;
    let mut queue = dev.queue.lock();
    let was_full = queue.ring.is_full();
    let grew = new_ring.capacity() > queue.ring.capacity();
    // `replace` hands back the ring that is not kept: the old one, or the
    // new one if it is too small for what is queued now (the queue is then
    // unchanged).
    let unused = queue.ring.replace(new_ring);
    if unused.is_ok() && was_full && grew {
        dev.space_available.notify_all();
    }
    drop(queue);
    // Free the unused storage only now, outside the lock: it may be a
    // megabyte, and vfree'd.
    match unused {
        Ok(_old_ring) => Ok(()),
        Err(_too_small) => Err(EINVAL),
    }
}

#[inline]
fn sample_ioctl(dev: ArcBorrow<'_, SampleDevice>, cmd: u32, arg: usize) -> Result<isize> {
    let arg = UserPtr::from_addr(arg);
    match cmd {
        SAMPLE_IOC_GET_STATS => sample_get_stats(&dev, arg)?,
        SAMPLE_IOC_CLEAR => sample_clear(&dev),
        SAMPLE_IOC_SET_CAPACITY => sample_set_capacity(&dev, arg)?,
        _ => return Err(ENOTTY),
    }
    Ok(0)
}

// ---------------------------------------------------------------------------
// The file operations
// ---------------------------------------------------------------------------

/// What the VFS calls for a file of the device: the functions above, as in
/// C's `sample_fops`. `#[vtable]` sets only the methods written here; the
/// abstraction sets the module owner, and `compat_ioctl` by default.
#[vtable]
impl MiscDevice for SampleDevice {
    /// Every open file holds a reference to the one device.
    type Ptr = Arc<SampleDevice>;

    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Arc<Self>> {
        sample_open(file)
    }

    fn release(dev: Arc<Self>, file: &File) {
        sample_release(dev, file)
    }

    #[inline]
    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        sample_read_iter(kiocb, iov)
    }

    #[inline]
    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        sample_write_iter(kiocb, iov)
    }

    #[inline]
    fn ioctl(dev: ArcBorrow<'_, Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        sample_ioctl(dev, cmd, arg)
    }
}

// ---------------------------------------------------------------------------
// Module load and unload
// ---------------------------------------------------------------------------

/// The loaded module. Fields drop in declaration order: first the misc
/// device goes away, so no new file can be opened, then the queue.
#[pin_data]
struct SampleModule {
    #[pin]
    _misc: MiscDeviceRegistration<SampleDevice>,
    _published: PublishedDevice,
}

/// While this exists, `open` finds the device in [`DEVICE`].
struct PublishedDevice;

/// Checks the `capacity` parameter, creates the device and publishes it.
fn publish_device() -> Result<PublishedDevice> {
    let capacity = module_parameters::capacity.value();
    if !(CAPACITY_MIN..=CAPACITY_MAX).contains(&capacity) {
        pr_err!(
            "invalid capacity={}: must be {}..={} bytes\n",
            capacity,
            CAPACITY_MIN,
            CAPACITY_MAX
        );
        return Err(EINVAL);
    }
    let dev = Arc::pin_init(SampleDevice::new(capacity as usize)?, GFP_KERNEL)?;
    // SAFETY: Called once, from module init, before anything else uses the
    // lock: the misc device that leads to `open` is registered afterwards.
    unsafe { DEVICE.init() };
    *DEVICE.lock() = Some(dev);
    pr_info!("loaded: /dev/rust_sample, capacity {} bytes\n", capacity);
    Ok(PublishedDevice)
}

impl Drop for PublishedDevice {
    fn drop(&mut self) {
        // No file is open (the module could not be unloading otherwise), so
        // this is the last reference: the queue and its storage are freed.
        drop(DEVICE.lock().take());
        pr_info!("unloaded\n");
    }
}

impl kernel::InPlaceModule for SampleModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // Publish the device first, so that every open finds it; if the
            // registration fails, dropping `_published` takes it back.
            _published: publish_device()?,
            _misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"rust_sample",
            }),
        })
    }
}
