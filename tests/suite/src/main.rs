//! The guest test suite: every rule of `docs/device.md` (the device
//! contract), run against `/dev/rust_sample` and `/dev/c_sample`.
//!
//! Each case runs in a child process of its own, with a time limit, after
//! the device has been reset (emptied, default capacity). The suite prints
//! one line per case per device, then a parity line saying whether the same
//! cases passed for both drivers, and closes with `N passed, N failed`.
//!
//! ```text
//! sample-tests                  all cases, both devices
//! sample-tests --only NAME      cases whose name contains NAME
//! sample-tests --device rust_sample
//! sample-tests --fail-fast      stop at the first failed case (make mutants)
//! sample-tests --list           the case names
//! sample-tests --print-abi      the ioctl ABI as this program sees it
//! sample-tests fuzz [--seconds S] [--seed N] [--device NAME]
//!                               the model-based random tester (fuzz.rs)
//! ```

#[path = "../../../src/sample_abi.rs"]
#[allow(dead_code)]
mod abi;
mod cases;
mod dev;
mod fuzz;
mod kmsg;
mod sleep;
mod sys;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

pub use dev::Dev;

/// What a case returns: `Err` carries the reason it failed.
pub type Outcome = Result<(), String>;

/// An `Err` that starts with this marks a case that cannot run on this
/// kernel (for example fault injection on the release kernel): it is
/// reported as skipped, never as passed.
pub const SKIP: &str = "skip: ";

/// One named check of the contract.
pub struct Case {
    pub name: &'static str,
    pub run: fn(&Dev) -> Outcome,
}

/// Fails the case unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!("{} (line {})", format!($($fmt)+), line!()));
        }
    };
}

/// Fails the case unless the two values are equal.
#[macro_export]
macro_rules! expect_eq {
    ($left:expr, $right:expr) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!(
                "{} = {:?}, expected {:?} (line {})",
                stringify!($left),
                left,
                right,
                line!()
            ));
        }
    }};
}

/// Fails the case unless `res` is the error `errno`.
#[macro_export]
macro_rules! expect_errno {
    ($res:expr, $errno:expr) => {{
        match $res {
            Err(e) if e == $errno => {}
            Err(e) => {
                return Err(format!(
                    "{} failed with {}, expected {} (line {})",
                    stringify!($res),
                    $crate::sys::errno_name(e),
                    $crate::sys::errno_name($errno),
                    line!()
                ))
            }
            Ok(v) => {
                return Err(format!(
                    "{} returned {:?}, expected {} (line {})",
                    stringify!($res),
                    v,
                    $crate::sys::errno_name($errno),
                    line!()
                ))
            }
        }
    }};
}

/// Unwraps a syscall result, failing the case with the errno's name.
#[macro_export]
macro_rules! ok {
    ($res:expr) => {
        match $res {
            Ok(v) => v,
            Err(e) => {
                return Err(format!(
                    "{} failed with {} (line {})",
                    stringify!($res),
                    $crate::sys::errno_name(e),
                    line!()
                ))
            }
        }
    };
}

/// Generous: on a busy host the debug kernel's 200 load/unload cycles (each
/// running the KUnit suite) take over a minute. A case that hangs is killed
/// with its whole process group. `SAMPLE_CASE_TIMEOUT` (seconds) sets
/// another limit (make mutants: a mutant that hangs a case is killed).
fn case_timeout() -> Duration {
    let seconds = std::env::var("SAMPLE_CASE_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok());
    Duration::from_secs(seconds.unwrap_or(600))
}

/// Runs one case in a child process and returns its outcome.
fn run_case(case: &Case, dev: &Dev) -> Outcome {
    let mut fds = [0i32; 2];
    // SAFETY: plain pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the suite is single-threaded here; the child runs the case.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: close the read end in the child, and lead a process group
        // of our own, so that the parent can end every process we start.
        unsafe {
            libc::close(fds[0]);
            libc::setpgid(0, 0);
        }
        let code = match (case.run)(dev) {
            Ok(()) => 0,
            Err(reason) => {
                let mut out = std::fs::File::from(unsafe_fd(fds[1]));
                let _ = out.write_all(reason.as_bytes());
                1
            }
        };
        // SAFETY: leave without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: close the write end in the parent.
    unsafe { libc::close(fds[1]) };
    let start = Instant::now();
    let mut status = 0;
    loop {
        // SAFETY: plain waitpid.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if start.elapsed() > case_timeout() {
            // SAFETY: kill our own child.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            sys::wait_pid(pid);
            end_process_group(pid);
            // A case killed while it had the console quiet (the allocation
            // failure case) must not hide later kernel reports: level 7
            // again, as at boot.
            // SAFETY: klogctl(8 = SYSLOG_ACTION_CONSOLE_LEVEL, NULL, 7).
            unsafe { libc::klogctl(8, std::ptr::null_mut(), 7) };
            return Err(format!("timed out after {}s", case_timeout().as_secs()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Processes the case started and left behind (blocked in the driver,
    // say) would keep the module pinned for every later case: end them.
    end_process_group(pid);
    let mut reason = String::new();
    let mut pipe = std::fs::File::from(unsafe_fd(fds[0]));
    let _ = pipe.read_to_string(&mut reason);
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if libc::WIFSIGNALED(status) {
        Err(format!(
            "the case was killed by signal {}",
            libc::WTERMSIG(status)
        ))
    } else if reason.is_empty() {
        Err(format!(
            "the case exited with {}",
            libc::WEXITSTATUS(status)
        ))
    } else {
        Err(reason)
    }
}

/// Kills every process left in the case's group, and waits until they have
/// exited (and so closed their files).
fn end_process_group(pgid: i32) {
    // SAFETY: signalling our own descendants.
    if unsafe { libc::kill(-pgid, libc::SIGKILL) } != 0 {
        return; // Nobody left.
    }
    for _ in 0..300 {
        if !group_has_live_members(pgid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process of group `pgid` is still running (not a zombie).
fn group_has_live_members(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // "pid (comm) state ppid pgrp ...": fields after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z"
    })
}

fn unsafe_fd(fd: i32) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` is an open descriptor that nothing else owns.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

fn print_abi() {
    use abi::*;
    use std::mem::offset_of;
    println!("SAMPLE_IOC_MAGIC {:#x}", SAMPLE_IOC_MAGIC);
    println!("SAMPLE_IOC_GET_STATS {:#x}", SAMPLE_IOC_GET_STATS);
    println!("SAMPLE_IOC_CLEAR {:#x}", SAMPLE_IOC_CLEAR);
    println!("SAMPLE_IOC_SET_CAPACITY {:#x}", SAMPLE_IOC_SET_CAPACITY);
    println!("SAMPLE_CAPACITY_MIN {}", CAPACITY_MIN);
    println!("SAMPLE_CAPACITY_MAX {}", CAPACITY_MAX);
    println!("SAMPLE_CAPACITY_DEFAULT {}", CAPACITY_DEFAULT);
    println!("sizeof(struct sample_stats) {}", SAMPLE_STATS_SIZE);
    println!(
        "offsetof(bytes_written) {}",
        offset_of!(SampleStats, bytes_written)
    );
    println!(
        "offsetof(bytes_read) {}",
        offset_of!(SampleStats, bytes_read)
    );
    println!("offsetof(len) {}", offset_of!(SampleStats, len));
    println!("offsetof(capacity) {}", offset_of!(SampleStats, capacity));
    println!("offsetof(readers) {}", offset_of!(SampleStats, readers));
    println!("offsetof(writers) {}", offset_of!(SampleStats, writers));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut only: Option<String> = None;
    let mut fail_fast = false;
    let mut devices = vec![Dev::new("rust_sample"), Dev::new("c_sample")];
    if args.first().map(String::as_str) == Some("fuzz") {
        if let Some(i) = args.iter().position(|a| a == "--device") {
            let name = args.get(i + 1).cloned().unwrap_or_default();
            devices.retain(|d| d.name == name);
        }
        std::process::exit(fuzz::main(&devices, &args[1..]));
    }
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--print-abi" => return print_abi(),
            "--list" => {
                for case in cases::all() {
                    println!("{}", case.name);
                }
                return;
            }
            "--only" => {
                i += 1;
                only = args.get(i).cloned();
            }
            "--device" => {
                i += 1;
                let name = args.get(i).cloned().unwrap_or_default();
                devices.retain(|d| d.name == name);
            }
            // Stop at the first failed case (make mutants: one is enough).
            "--fail-fast" => fail_fast = true,
            other => {
                eprintln!(
                    "sample-tests: unknown argument '{other}' (see the source's doc comment)"
                );
                std::process::exit(2);
            }
        }
        i += 1;
    }
    // Unbuffered output would interleave with the children's; keep it simple.
    let selected: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
        .collect();
    // KTAP (the kernel's Documentation/dev-tools/ktap.rst): one subtest per
    // driver, each case a result in it, then the parity check.
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    // Per driver: the cases that passed, and those that skipped.
    let mut outcomes: Vec<(BTreeSet<&str>, BTreeSet<&str>)> = Vec::new();
    println!("KTAP version 1");
    println!("1..{}", devices.len() + usize::from(devices.len() == 2));
    for (index, dev) in devices.iter().enumerate() {
        let (mut passes, mut skips, mut dev_failed) = (BTreeSet::new(), BTreeSet::new(), 0);
        println!("    KTAP version 1");
        println!("    # Subtest: {}", dev.name);
        println!("    1..{}", selected.len());
        for (number, case) in selected.iter().enumerate() {
            let number = number + 1;
            let outcome = dev.reset().and_then(|()| run_case(case, dev));
            match outcome {
                Ok(()) => {
                    passed += 1;
                    passes.insert(case.name);
                    println!("    ok {number} {}", case.name);
                }
                Err(reason) if reason.starts_with(SKIP) => {
                    // Not counted as passed: the kernel lacks what it needs.
                    skipped += 1;
                    skips.insert(case.name);
                    println!(
                        "    ok {number} {} # SKIP {}",
                        case.name,
                        &reason[SKIP.len()..]
                    );
                }
                Err(reason) => {
                    failed += 1;
                    dev_failed += 1;
                    for line in reason.lines() {
                        println!("    # {}: {line}", case.name);
                    }
                    println!("    not ok {number} {}", case.name);
                    if fail_fast {
                        println!("# stopped at the first failure");
                        std::process::exit(1);
                    }
                }
            }
        }
        let result = if dev_failed == 0 { "ok" } else { "not ok" };
        println!("{result} {} {}", index + 1, dev.name);
        outcomes.push((passes, skips));
    }
    if devices.len() == 2 {
        let ((pass_a, skip_a), (pass_b, skip_b)) = (&outcomes[0], &outcomes[1]);
        if pass_a == pass_b && skip_a == skip_b {
            passed += 1;
            println!(
                "# parity: the same {} of {} cases pass on both drivers ({} skip on both)",
                pass_a.len(),
                selected.len(),
                skip_a.len()
            );
            println!("ok 3 parity");
        } else {
            failed += 1;
            let only_a: Vec<_> = pass_a.difference(pass_b).collect();
            let only_b: Vec<_> = pass_b.difference(pass_a).collect();
            println!(
                "# parity: only {} passes {:?}; only {} passes {:?}; skipped: {:?} and {:?}",
                devices[0].name, only_a, devices[1].name, only_b, skip_a, skip_b
            );
            println!("not ok 3 parity");
        }
    }
    println!("# {passed} passed, {failed} failed, {skipped} skipped");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
