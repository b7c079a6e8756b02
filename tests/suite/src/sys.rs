//! Thin wrappers over the system calls the suite makes, returning the raw
//! `errno` on failure so that cases can assert on exact error codes.

use std::ffi::CString;
use std::os::fd::FromRawFd;
use std::time::Duration;

pub use libc::{EAGAIN, EFAULT, EINTR, EINVAL, ENOTTY, ESPIPE};
pub use libc::{O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};

/// An `errno` value.
pub type Errno = i32;

fn errno() -> Errno {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn check(ret: isize) -> Result<usize, Errno> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret as usize)
    }
}

/// An open file descriptor, closed on drop.
#[derive(Debug)]
pub struct Fd(pub i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

pub fn open(path: &str, flags: i32) -> Result<Fd, Errno> {
    let c = CString::new(path).unwrap();
    // SAFETY: `c` is a valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    check(fd as isize).map(|_| Fd(fd))
}

impl Fd {
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        // SAFETY: `data` is valid for its length.
        check(unsafe { libc::write(self.0, data.as_ptr().cast(), data.len()) })
    }

    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: `buf` is valid for its length.
        check(unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) })
    }

    /// Reads up to `n` bytes into a new vector.
    pub fn read_vec(&self, n: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; n];
        let got = self.read(&mut buf)?;
        buf.truncate(got);
        Ok(buf)
    }

    /// `write` with a raw pointer, for the bad-pointer cases.
    pub fn write_raw(&self, ptr: *const u8, len: usize) -> Result<usize, Errno> {
        // SAFETY: the kernel checks the pointer; we never touch it.
        check(unsafe { libc::write(self.0, ptr.cast(), len) })
    }

    /// `read` with a raw pointer, for the bad-pointer cases.
    pub fn read_raw(&self, ptr: *mut u8, len: usize) -> Result<usize, Errno> {
        // SAFETY: the kernel checks the pointer.
        check(unsafe { libc::read(self.0, ptr.cast(), len) })
    }

    /// Writes all of `data`, looping over short writes as callers must.
    pub fn write_all(&self, mut data: &[u8]) -> Result<(), Errno> {
        while !data.is_empty() {
            let n = self.write(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    pub fn ioctl(&self, cmd: u32, arg: usize) -> Result<usize, Errno> {
        // SAFETY: the kernel checks `arg`.
        check(unsafe { libc::ioctl(self.0, cmd as _, arg) } as isize)
    }

    pub fn lseek(&self, off: i64, whence: i32) -> Result<usize, Errno> {
        // SAFETY: plain syscall.
        check(unsafe { libc::lseek(self.0, off, whence) } as isize)
    }

    /// The positional calls, at offset 0, which a stream refuses.
    pub fn pread(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: `buf` is valid for its length.
        check(unsafe { libc::pread(self.0, buf.as_mut_ptr().cast(), buf.len(), 0) })
    }

    pub fn pwrite(&self, data: &[u8]) -> Result<usize, Errno> {
        // SAFETY: `data` is valid for its length.
        check(unsafe { libc::pwrite(self.0, data.as_ptr().cast(), data.len(), 0) })
    }

    pub fn preadv(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: one iovec, valid for its length.
        check(unsafe { libc::preadv(self.0, &iov, 1, 0) })
    }

    pub fn pwritev(&self, data: &[u8]) -> Result<usize, Errno> {
        let iov = libc::iovec {
            iov_base: data.as_ptr() as *mut _,
            iov_len: data.len(),
        };
        // SAFETY: one iovec, valid for its length; the kernel only reads it.
        check(unsafe { libc::pwritev(self.0, &iov, 1, 0) })
    }

    pub fn set_nonblocking(&self, on: bool) -> Result<(), Errno> {
        // SAFETY: plain syscalls.
        let flags = check(unsafe { libc::fcntl(self.0, libc::F_GETFL) } as isize)? as i32;
        let flags = if on {
            flags | O_NONBLOCK
        } else {
            flags & !O_NONBLOCK
        };
        check(unsafe { libc::fcntl(self.0, libc::F_SETFL, flags) } as isize).map(|_| ())
    }
}

/// Mapped pages followed by an inaccessible one (PROT_NONE): `ptr(0)` is
/// the first byte that faults.
pub struct Edge {
    base: *mut u8,
    page: usize,
}

impl Edge {
    /// One mapped page before the unmapped one.
    pub fn new() -> Edge {
        Edge::with_mapped(1)
    }

    /// At least `bytes` mapped bytes before the unmapped page.
    pub fn with_mapped(bytes: usize) -> Edge {
        // SAFETY: plain syscalls; the result is checked.
        unsafe {
            let pagesize = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            let page = bytes.max(1).div_ceil(pagesize) * pagesize;
            let base = libc::mmap(
                std::ptr::null_mut(),
                page + pagesize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert!(base != libc::MAP_FAILED, "mmap failed");
            let base = base as *mut u8;
            // PROT_NONE rather than munmap: a hole could be filled by the
            // next mmap (a large allocation), and the guard would be gone.
            assert_eq!(
                libc::mprotect(base.add(page).cast(), pagesize, libc::PROT_NONE),
                0
            );
            Edge { base, page }
        }
    }

    /// A pointer `before` bytes ahead of the unmapped page.
    pub fn ptr(&self, before: usize) -> *mut u8 {
        assert!(before <= self.page);
        // SAFETY: stays within (or one past) the mapped page.
        unsafe { self.base.add(self.page - before) }
    }

    /// The `n` mapped bytes just before the unmapped page.
    pub fn tail(&self, n: usize) -> Vec<u8> {
        // SAFETY: those bytes are mapped and initialised (zero or written).
        unsafe { std::slice::from_raw_parts(self.ptr(n), n).to_vec() }
    }

    /// Fills the `n` mapped bytes before the edge with `data`.
    pub fn fill(&self, data: &[u8]) {
        // SAFETY: those bytes are mapped.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr(data.len()), data.len()) };
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        // SAFETY: unmapping what `new` mapped, guard page included.
        unsafe {
            let pagesize = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            libc::munmap(self.base.cast(), self.page + pagesize);
        }
    }
}

/// An address that is never mapped in this process.
pub fn bad_ptr() -> usize {
    16 // Page 0 is never mapped (mmap_min_addr).
}

/// How many signals `count_signal` has caught in this process.
pub static SIGNALS_CAUGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn count_signal(_: i32) {
    SIGNALS_CAUGHT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// Installs a counting handler for `sig`, with or without `SA_RESTART`.
pub fn catch_signal(sig: i32, restart: bool) {
    // SAFETY: plain sigaction with a valid handler.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = count_signal as *const () as usize;
        sa.sa_flags = if restart { libc::SA_RESTART } else { 0 };
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(sig, &sa, std::ptr::null_mut()), 0);
    }
}

/// Blocks or unblocks `sigs` for the calling thread. A child forked while
/// they are blocked starts with them blocked, so a signal sent before it has
/// installed its handlers waits instead of killing it.
pub fn set_signals_blocked(sigs: &[i32], blocked: bool) {
    // SAFETY: plain sigset manipulation and pthread_sigmask on this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &sig in sigs {
            libc::sigaddset(&mut set, sig);
        }
        let how = if blocked {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        assert_eq!(libc::pthread_sigmask(how, &set, std::ptr::null_mut()), 0);
    }
}

/// Runs `call` with SIGALRM sent to this process every `period`, the first
/// after one `period`; the timer stops when `call` returns. For a call that
/// must be interrupted while it sleeps: if a stalled (emulated, busy)
/// machine lets a signal arrive before the call has gone to sleep, the next
/// one still interrupts it, instead of the call sleeping for ever. SIGALRM
/// must be caught by the caller.
pub fn with_timer_signal<T>(period: Duration, call: impl FnOnce() -> T) -> T {
    set_timer(period);
    let out = call();
    set_timer(Duration::ZERO);
    out
}

/// Sets the ITIMER_REAL timer to fire every `period`; `Duration::ZERO`
/// stops it.
fn set_timer(period: Duration) {
    // SAFETY: plain setitimer.
    unsafe {
        let mut it: libc::itimerval = std::mem::zeroed();
        it.it_value.tv_sec = period.as_secs() as _;
        it.it_value.tv_usec = period.subsec_micros() as _;
        it.it_interval = it.it_value;
        assert_eq!(
            libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()),
            0
        );
    }
}

/// Runs `f` in a child process; returns its exit status (or 128 + signal).
pub fn in_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork in a single-threaded process; the child only runs `f`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = f();
        // SAFETY: leave the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    wait_pid(pid)
}

/// A pipe as two files: (read end, write end).
pub fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: plain pipe(2); each end gets one owner.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

/// Starts `f` in a child process after `delay`; returns its pid.
pub fn spawn_child_after(delay: Duration, f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: as in `in_child`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        std::thread::sleep(delay);
        let code = f();
        // SAFETY: leave the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Says what a `wait_pid` status means: "exit status 1" or
/// "killed by signal 10 (User defined signal 1)".
pub fn status_text(status: i32) -> String {
    if status <= 128 {
        return format!("exit status {status}");
    }
    let sig = status - 128;
    // SAFETY: strsignal returns a valid C string for any signal number.
    let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(sig)) };
    format!("killed by signal {sig} ({})", name.to_string_lossy())
}

pub fn wait_pid(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: plain waitpid.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid failed");
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

pub fn errno_name(e: Errno) -> String {
    match e {
        libc::EAGAIN => "EAGAIN".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::EINTR => "EINTR".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::ENOTTY => "ENOTTY".into(),
        libc::ESPIPE => "ESPIPE".into(),
        libc::EACCES => "EACCES".into(),
        libc::ENOMEM => "ENOMEM".into(),
        libc::EPERM => "EPERM".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EBUSY => "EBUSY".into(),
        other => format!("errno {other}"),
    }
}
