//! The kernel log, read whole from `/dev/kmsg`, and judged as the VM runner
//! judges the console: a line that contains one of the strings of
//! `qemu/kernel-reports.txt` is a kernel report.
//!
//! `dmesg` reads the log's ring buffer (128 KiB here), which the debug
//! kernel fills and wraps within one case. A `/dev/kmsg` reader instead
//! keeps its own place: it gets every record from where it started, in
//! order, and if the ring overwrote records before it read them, their
//! sequence numbers are missing, so a loss is seen, never silent.
//!
//! The list is compiled in (`include_str!`) rather than put in the
//! initramfs: the suite stays one static binary that carries the list it
//! was built with into any initramfs, and cargo rebuilds it when the list
//! changes.

use crate::sys;
use crate::sys::Fd;

/// What counts as a kernel report: the runner's list.
const KERNEL_REPORTS: &str = include_str!("../../../qemu/kernel-reports.txt");

/// The strings of the list: every line but comments and empty ones, kept
/// whole (the trailing space of "INFO: task " is part of it).
pub fn report_patterns() -> Vec<&'static str> {
    KERNEL_REPORTS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// Whether the runner would take this kernel line for a report.
pub fn is_report(line: &str) -> bool {
    report_patterns().iter().any(|p| line.contains(p))
}

/// A reader of the kernel log from a point on.
pub struct Kmsg {
    fd: Fd,
    /// The sequence number of the next record expected.
    next: Option<u64>,
    /// The lines read so far.
    pub lines: Vec<Line>,
    /// Records overwritten before they were read.
    pub lost: u64,
}

impl Kmsg {
    /// Starts at the next record the kernel logs: nothing older is read.
    pub fn from_now() -> Result<Kmsg, String> {
        let fd = sys::open("/dev/kmsg", sys::O_RDONLY | sys::O_NONBLOCK)
            .map_err(|e| format!("/dev/kmsg: {}", sys::errno_name(e)))?;
        fd.lseek(0, libc::SEEK_END)
            .map_err(|e| format!("/dev/kmsg: lseek: {}", sys::errno_name(e)))?;
        Ok(Kmsg {
            fd,
            next: None,
            lines: Vec::new(),
            lost: 0,
        })
    }

    /// Reads every record logged since the last call. Call it often enough
    /// that the ring does not overwrite what it has not read yet.
    pub fn read_new(&mut self) -> Result<(), String> {
        // One record per read; the kernel's records are at most 8 KiB.
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match self.fd.read(&mut buf) {
                Ok(n) => self.add(&String::from_utf8_lossy(&buf[..n])),
                Err(libc::EAGAIN) => return Ok(()),
                // The ring overwrote our place; the next read goes on from
                // the oldest record left, and the gap counts what was lost.
                Err(libc::EPIPE) => {
                    // Before the first record there is no gap to measure:
                    // count one, at least.
                    self.lost += u64::from(self.next.is_none());
                }
                Err(e) => return Err(format!("/dev/kmsg: read: {}", sys::errno_name(e))),
            }
        }
    }

    /// One record: "PRIORITY,SEQUENCE,MICROSECONDS,FLAGS[,...];TEXT\n",
    /// then " KEY=VALUE" lines; newlines in the text come as "\x0a".
    fn add(&mut self, record: &str) {
        let Some((header, body)) = record.split_once(';') else {
            return;
        };
        let mut fields = header.split(',');
        let seq: Option<u64> = fields.nth(1).and_then(|f| f.parse().ok());
        let usec: u64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        if let (Some(seq), Some(next)) = (seq, self.next) {
            self.lost += seq.saturating_sub(next);
        }
        if let Some(seq) = seq {
            self.next = Some(seq + 1);
        }
        let text = body.split('\n').next().unwrap_or("");
        for line in text.split("\\x0a") {
            self.lines.push(Line {
                usec,
                text: line.to_string(),
            });
        }
    }
}

/// One line of the kernel log: the console shows a record's lines apart.
pub struct Line {
    /// When it was logged, in microseconds since boot.
    pub usec: u64,
    pub text: String,
}

impl std::fmt::Display for Line {
    /// "1.234567: text". Not the console's "[    1.234567] text": the
    /// runner would take the suite's message for a console line, and its
    /// verdict would be a kernel report instead of this case's failure.
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let (s, us) = (self.usec / 1_000_000, self.usec % 1_000_000);
        write!(f, "{s}.{us:06}: {}", self.text)
    }
}
