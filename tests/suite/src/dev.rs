//! One device under test, and the ioctls as plain functions.

use crate::abi::{self, SampleStats};
use crate::sys::{self, Errno, Fd};
use std::process::Command;

/// A device under test: `/dev/NAME`, made by `/lib/modules/NAME.ko`.
pub struct Dev {
    pub name: &'static str,
    pub path: String,
}

impl Dev {
    pub fn new(name: &'static str) -> Dev {
        Dev {
            name,
            path: format!("/dev/{name}"),
        }
    }

    pub fn open(&self, flags: i32) -> Result<Fd, Errno> {
        sys::open(&self.path, flags)
    }

    /// A descriptor for ioctls that counts as neither reader nor writer
    /// (`O_ACCMODE` 3 opens for ioctl only).
    pub fn ctl(&self) -> Fd {
        self.open(3 | sys::O_NONBLOCK).expect("open for ioctl")
    }

    pub(crate) fn stats(&self) -> SampleStats {
        stats(&self.ctl()).expect("GET_STATS")
    }

    /// Empties the queue and restores the default capacity, loading the
    /// module again if an earlier case left it unloaded.
    pub fn reset(&self) -> Result<(), String> {
        if !std::path::Path::new(&self.path).exists() {
            self.insmod(&[])
                .map_err(|e| format!("reset: insmod failed: {e}"))?;
        }
        let fd = self.ctl();
        ioctl_clear(&fd).map_err(|e| format!("reset: CLEAR failed: {e}"))?;
        set_capacity(&fd, abi::CAPACITY_DEFAULT)
            .map_err(|e| format!("reset: SET_CAPACITY failed: {e}"))?;
        Ok(())
    }

    /// `insmod /lib/modules/NAME.ko ARGS...`; `Err` holds its stderr.
    pub fn insmod(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new("insmod")
            .arg(format!("/lib/modules/{}.ko", self.name))
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// `rmmod NAME`; `Err` holds its stderr.
    pub fn rmmod(&self) -> Result<(), String> {
        let out = Command::new("rmmod")
            .arg(self.name)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }
}

pub(crate) fn stats(fd: &Fd) -> Result<SampleStats, Errno> {
    let mut buf = [0u8; abi::SAMPLE_STATS_SIZE];
    fd.ioctl(abi::SAMPLE_IOC_GET_STATS, buf.as_mut_ptr() as usize)?;
    Ok(SampleStats::from_bytes(&buf))
}

pub fn ioctl_clear(fd: &Fd) -> Result<(), Errno> {
    fd.ioctl(abi::SAMPLE_IOC_CLEAR, 0).map(|_| ())
}

pub fn set_capacity(fd: &Fd, capacity: u32) -> Result<(), Errno> {
    fd.ioctl(
        abi::SAMPLE_IOC_SET_CAPACITY,
        &capacity as *const u32 as usize,
    )
    .map(|_| ())
}

/// Empties the kernel's log buffer, so that `dmesg()` then returns only what
/// comes after. (The debug kernel logs so much that the buffer wraps: a
/// before/after comparison of its text is not reliable.) The console, which
/// run-qemu.sh watches, keeps everything.
pub fn clear_log() {
    // SAFETY: klogctl(SYSLOG_ACTION_CLEAR = 5) takes no buffer.
    unsafe { libc::klogctl(5, std::ptr::null_mut(), 0) };
}

/// The kernel log, as `dmesg` prints it.
pub fn dmesg() -> String {
    let out = Command::new("dmesg").output().expect("dmesg");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
