//! Calls that block in a driver, and the proof that they sleep there.
//!
//! A case that says a call "blocks" must show that the calling task sleeps
//! in the driver, not only that the call has not returned yet: a thread that
//! the host has not scheduled has not returned either. The kernel says where
//! a task is. `/proc/PID/task/TID/stat` gives its state (`S`: an
//! interruptible sleep), and `/proc/PID/task/TID/syscall` the system call
//! it is in, with its arguments: a `read`, `write`, `readv` or `writev` of a
//! descriptor that `/proc/PID/fd/` shows is the device. Asleep in such a
//! call, with its buffer in ordinary memory, the task can only be in the
//! driver's wait (the driver's lock would be `D`, uninterruptible). Where
//! the kernel keeps stack traces (`/proc/PID/task/TID/stack`, the debug
//! kernel), one of the task's frames must also be the module's. `wchan`
//! is no witness here: the release kernel's unwinder guesses, and names
//! whatever kernel address it last found on the stack.
//!
//! The waits poll with a bound, so a case never sleeps longer than it
//! must, and never forever.

use crate::sys::catch_signal;
use crate::sys::SIGNALS_CAUGHT;
use crate::Dev;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a task may take to fall asleep, or to return once woken.
const PATIENCE: Duration = Duration::from_secs(10);

/// Where a task is, from `/proc`: its state letter, the system call it is
/// in and the file its first argument names, the module frames of its
/// kernel stack (None: no stack traces), and how often it has slept so far
/// (voluntary context switches).
#[derive(Debug, PartialEq)]
pub struct Where {
    pub state: char,
    pub syscall: String,
    pub file: String,
    pub module_frames: Option<Vec<String>>,
    pub sleeps: u64,
}

/// The system calls a blocked read or write is in (their numbers differ
/// between x86_64 and arm64; libc has each target's).
const READS_AND_WRITES: [libc::c_long; 4] = [
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
];

/// The task `tid` of process `pid` (0: this one), or `None` once it is gone.
pub fn where_is(pid: i32, tid: i32) -> Option<Where> {
    let pid = if pid == 0 {
        std::process::id() as i32
    } else {
        pid
    };
    let dir = format!("/proc/{pid}/task/{tid}");
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    // "TID (COMM) STATE ...": the name may hold spaces and parentheses.
    let state = stat.rsplit_once(") ")?.1.chars().next()?;
    // "NR ARG0 ARG1 ...", the arguments in hex; "running" while it runs.
    let call = std::fs::read_to_string(format!("{dir}/syscall")).ok()?;
    let mut words = call.split_whitespace();
    let syscall = words.next().unwrap_or("").to_string();
    let fd = words
        .next()
        .and_then(|a| i64::from_str_radix(a.trim_start_matches("0x"), 16).ok());
    let file = fd
        .and_then(|fd| std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok())
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let module_frames = std::fs::read_to_string(format!("{dir}/stack"))
        .ok()
        .map(|stack| {
            stack
                .lines()
                .filter(|l| l.ends_with(']') && l.contains(" ["))
                .map(str::to_string)
                .collect()
        });
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    let sleeps = status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())?;
    Some(Where {
        state,
        syscall,
        file,
        module_frames,
        sleeps,
    })
}

impl Where {
    /// Asleep in a read or write of `path`, in `module` if stacks say.
    fn asleep_in(&self, module: &str, path: &str) -> bool {
        let tag = format!("[{module}]");
        self.state == 'S'
            && self
                .syscall
                .parse()
                .is_ok_and(|n: libc::c_long| READS_AND_WRITES.contains(&n))
            && self.file == path
            && self
                .module_frames
                .as_ref()
                .is_none_or(|frames| frames.iter().any(|f| f.ends_with(&tag)))
    }
}

/// Waits until the task sleeps in a read or write of the device `path`,
/// in `module`; returns where, or says where it was instead.
pub fn wait_until_asleep_in(module: &str, path: &str, pid: i32, tid: i32) -> Result<Where, String> {
    let start = Instant::now();
    loop {
        let now = where_is(pid, tid);
        match &now {
            Some(w) if w.asleep_in(module, path) => return Ok(now.unwrap()),
            None => return Err(format!("the task returned instead of sleeping in {module}")),
            _ if start.elapsed() > PATIENCE => {
                return Err(format!(
                    "the task did not fall asleep in {module} within {PATIENCE:?}: {now:?}"
                ))
            }
            _ => thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// A call running on its own thread, proven asleep in the driver.
pub struct Blocked<T> {
    handle: Option<JoinHandle<T>>,
    tid: i32,
    module: &'static str,
    path: String,
    asleep: Where,
}

/// Runs `call` on a new thread and returns once it sleeps in `dev`'s driver.
pub fn block<T: Send + 'static>(
    dev: &Dev,
    call: impl FnOnce() -> T + Send + 'static,
) -> Result<Blocked<T>, String> {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        // SAFETY: gettid has no arguments and cannot fail.
        let _ = tx.send(unsafe { libc::gettid() });
        call()
    });
    let tid = rx.recv().map_err(|e| e.to_string())?;
    let asleep = wait_until_asleep_in(dev.name, &dev.path, 0, tid)?;
    Ok(Blocked {
        handle: Some(handle),
        tid,
        module: dev.name,
        path: dev.path.clone(),
        asleep,
    })
}

impl<T> Blocked<T> {
    /// Checks that the call is still asleep after `time` and never woke in
    /// between: a wake-up that sends it back to sleep counts a sleep more.
    pub fn stays_asleep_for(&self, time: Duration) -> Result<(), String> {
        thread::sleep(time);
        match where_is(0, self.tid) {
            Some(w) if w.state == 'S' && w.sleeps == self.asleep.sleeps => Ok(()),
            now => Err(format!(
                "the call woke up (asleep: {:?}, then {now:?})",
                self.asleep
            )),
        }
    }

    /// Sends `sig` (caught with `SA_RESTART`) to the sleeping call's
    /// thread, and returns once its handler has run while the call was
    /// still outstanding and the call, restarted, sleeps in the driver
    /// again. The handler runs only on the way back to user space, so an
    /// uninterruptible wait (state `D`, which `block` already refuses) or
    /// one that ignores signals never lets it run until the call returns.
    pub fn interrupt_and_restart(&mut self, sig: i32) -> Result<(), String> {
        let handle = self.handle.as_ref().unwrap();
        let caught = SIGNALS_CAUGHT.load(Ordering::SeqCst);
        // SAFETY: signals a thread of this process by its task id.
        unsafe { libc::syscall(libc::SYS_tgkill, std::process::id(), self.tid, sig) };
        let start = Instant::now();
        while SIGNALS_CAUGHT.load(Ordering::SeqCst) == caught {
            if handle.is_finished() || start.elapsed() > PATIENCE {
                return Err(format!(
                    "signal {sig}'s handler did not run while the call was blocked ({:?})",
                    where_is(0, self.tid)
                ));
            }
            thread::sleep(Duration::from_millis(1));
        }
        // Back in the driver, asleep once more: the kernel restarted the
        // call instead of returning EINTR.
        loop {
            let now = where_is(0, self.tid);
            match &now {
                Some(w) if w.asleep_in(self.module, &self.path) => {
                    if w.sleeps > self.asleep.sleeps {
                        self.asleep = now.unwrap();
                        return Ok(());
                    }
                }
                _ if handle.is_finished() => {
                    return Err("the call returned after the signal instead of restarting".into())
                }
                _ => {}
            }
            if start.elapsed() > PATIENCE {
                return Err(format!(
                    "the call did not sleep in {} again within {PATIENCE:?} after the signal: {now:?}",
                    self.module
                ));
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// After the waking action: the call's result. If it does not return,
    /// the error says whether it never left the wait in the driver; a
    /// signal (SIGUSR1, no restart) then interrupts it, so that no thread
    /// is left behind.
    pub fn finish(mut self) -> Result<T, String> {
        let handle = self.handle.take().unwrap();
        let start = Instant::now();
        while !handle.is_finished() && start.elapsed() < PATIENCE {
            thread::sleep(Duration::from_millis(1));
        }
        if handle.is_finished() {
            return handle.join().map_err(|_| "the call panicked".to_string());
        }
        let error = match where_is(0, self.tid) {
            Some(w) if w.sleeps == self.asleep.sleeps => format!(
                "the task never left the wait: still asleep in {} after {PATIENCE:?} ({w:?})",
                self.module
            ),
            now => format!("the call did not return within {PATIENCE:?} ({now:?})"),
        };
        catch_signal(libc::SIGUSR1, false);
        // SAFETY: signals a thread of this process by its task id.
        unsafe {
            libc::syscall(
                libc::SYS_tgkill,
                std::process::id(),
                self.tid,
                libc::SIGUSR1,
            )
        };
        let _ = handle.join();
        Err(error)
    }
}
