//! Module life: the capacity parameter, rmmod while open, load/unload
//! cycles and what the module logs.
//!
//! Every case leaves the module loaded with its defaults, or unloaded (the
//! harness then loads it again before the next case).

use super::cases;
use crate::dev::{clear_log, dmesg, stats};
use crate::sys::*;
use crate::{ensure, expect_eq, ok, Case, Dev, Outcome};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub fn cases() -> Vec<Case> {
    cases![
        capacity_parameter_sets_the_initial_capacity,
        capacity_one_works,
        invalid_capacity_is_refused_with_einval_and_a_clear_log_line,
        unparsable_capacity_is_refused,
        capacity_beyond_32_bits_is_refused,
        capacity_given_twice_follows_each_kernel_api,
        capacity_parameter_cannot_change_at_run_time,
        rmmod_is_refused_while_a_file_is_open,
        a_fresh_module_keeps_written_equal_read_plus_len,
        load_and_unload_log_one_line_each,
        reads_writes_and_ioctls_log_nothing,
        twenty_load_unload_cycles,
    ]
}

fn reload(dev: &Dev, args: &[&str]) -> Outcome {
    dev.rmmod().map_err(|e| format!("rmmod failed: {e}"))?;
    dev.insmod(args)
        .map_err(|e| format!("insmod {args:?} failed: {e}"))
}

fn capacity_parameter_sets_the_initial_capacity(dev: &Dev) -> Outcome {
    reload(dev, &["capacity=100"])?;
    expect_eq!(dev.stats().capacity, 100);
    reload(dev, &[])?;
    expect_eq!(dev.stats().capacity, 4096);
    Ok(())
}

fn capacity_one_works(dev: &Dev) -> Outcome {
    reload(dev, &["capacity=1"])?;
    let fd = ok!(dev.open(O_RDWR | O_NONBLOCK));
    expect_eq!(ok!(fd.write(b"abc")), 1);
    expect_eq!(ok!(fd.read_vec(10)), b"a".to_vec());
    expect_eq!(ok!(fd.write(b"bc")), 1);
    expect_eq!(ok!(fd.read_vec(10)), b"b".to_vec());
    drop(fd);
    reload(dev, &[])
}

/// `insmod` with `arg` fails with EINVAL and leaves no device node.
fn expect_load_refused(dev: &Dev, arg: &str) -> Outcome {
    match dev.insmod(&[arg]) {
        Ok(()) => return Err(format!("insmod {arg} succeeded")),
        Err(msg) => ensure!(
            msg.contains("Invalid argument"),
            "insmod {arg}: '{msg}', expected EINVAL"
        ),
    }
    ensure!(
        !Path::new(&dev.path).exists(),
        "{} exists after a failed load",
        dev.path
    );
    Ok(())
}

fn invalid_capacity_is_refused_with_einval_and_a_clear_log_line(dev: &Dev) -> Outcome {
    dev.rmmod().map_err(|e| format!("rmmod failed: {e}"))?;
    for bad in ["0", "1048577", "4294967295"] {
        clear_log();
        let arg = format!("capacity={bad}");
        expect_load_refused(dev, &arg)?;
        let new_log = dmesg();
        let line = new_log
            .lines()
            .find(|l| l.contains(dev.name) && l.contains(bad));
        let Some(line) = line else {
            return Err(format!(
                "no log line names {} and {bad}: {new_log:?}",
                dev.name
            ));
        };
        ensure!(
            line.contains("capacity") && line.contains("1048576"),
            "the log line does not name the parameter and the range: {line:?}"
        );
    }
    Ok(())
}

fn unparsable_capacity_is_refused(dev: &Dev) -> Outcome {
    dev.rmmod().map_err(|e| format!("rmmod failed: {e}"))?;
    for bad in ["-1", "abc", "4096x"] {
        let arg = format!("capacity={bad}");
        expect_load_refused(dev, &arg)?;
    }
    Ok(())
}

/// Contract v2: a value that does not fit in 32 bits fails `insmod`. The
/// two kernel APIs choose different errors: C's `param_set_uint` passes on
/// `kstrtouint`'s ERANGE, the Rust crate's parser says EINVAL for any
/// value it cannot read as a `u32` (docs/c-to-rust.md).
fn capacity_beyond_32_bits_is_refused(dev: &Dev) -> Outcome {
    dev.rmmod().map_err(|e| format!("rmmod failed: {e}"))?;
    let expected = match dev.name {
        "rust_sample" => "Invalid argument",
        _ => "Numerical result out of range",
    };
    for bad in ["4294967296", "18446744073709551616"] {
        match dev.insmod(&[&format!("capacity={bad}")]) {
            Ok(()) => return Err(format!("insmod capacity={bad} succeeded")),
            Err(msg) => ensure!(
                msg.contains(expected),
                "insmod capacity={bad}: '{msg}', expected '{expected}'"
            ),
        }
        ensure!(!Path::new(&dev.path).exists(), "{} exists", dev.path);
    }
    Ok(())
}

/// Contract v2, the one allowed difference: `capacity=8 capacity=16`. The
/// 7.3 kernel crate sets a parameter once and refuses a second value
/// (EEXIST); C's `module_param` keeps the last one.
fn capacity_given_twice_follows_each_kernel_api(dev: &Dev) -> Outcome {
    dev.rmmod().map_err(|e| format!("rmmod failed: {e}"))?;
    let got = dev.insmod(&["capacity=8", "capacity=16"]);
    if dev.name == "rust_sample" {
        match got {
            Ok(()) => return Err("insmod capacity=8 capacity=16 succeeded".into()),
            Err(msg) => ensure!(
                msg.contains("File exists"),
                "insmod: '{msg}', expected EEXIST"
            ),
        }
        ensure!(!Path::new(&dev.path).exists(), "{} exists", dev.path);
    } else {
        got.map_err(|e| format!("insmod capacity=8 capacity=16 failed: {e}"))?;
        expect_eq!(dev.stats().capacity, 16);
        reload(dev, &[])?;
    }
    Ok(())
}

/// The parameter has no sysfs file at all (C's permission 0; the Rust
/// crate makes none), so there is nothing to write to. A read-only file
/// would refuse the write too, but would still be a file: the case asks
/// for none.
fn capacity_parameter_cannot_change_at_run_time(dev: &Dev) -> Outcome {
    let param = format!("/sys/module/{}/parameters/capacity", dev.name);
    ensure!(
        Path::new(&format!("/sys/module/{}", dev.name)).exists(),
        "the module is not in sysfs"
    );
    match std::fs::symlink_metadata(&param) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{param}: {e}, expected no such file")),
        Ok(meta) => {
            return Err(format!(
                "{param} exists (mode {:o}): the parameter has a sysfs file",
                meta.permissions().mode() & 0o7777
            ))
        }
    }
    ensure!(
        std::fs::write(&param, "1").is_err(),
        "writing {param} succeeded"
    );
    expect_eq!(dev.stats().capacity, 4096);
    Ok(())
}

fn rmmod_is_refused_while_a_file_is_open(dev: &Dev) -> Outcome {
    let fd = ok!(dev.open(O_RDONLY | O_NONBLOCK));
    match dev.rmmod() {
        Ok(()) => return Err("rmmod succeeded with a file open".into()),
        // EAGAIN (EWOULDBLOCK): "Resource temporarily unavailable".
        Err(msg) => ensure!(
            msg.contains("temporarily unavailable"),
            "rmmod said '{msg}', expected EAGAIN"
        ),
    }
    ensure!(Path::new(&dev.path).exists(), "the device vanished");
    ok!(stats(&fd));
    drop(fd);
    dev.rmmod()
        .map_err(|e| format!("rmmod after close failed: {e}"))?;
    ensure!(
        !Path::new(&dev.path).exists(),
        "{} exists after rmmod",
        dev.path
    );
    Ok(())
}

fn a_fresh_module_keeps_written_equal_read_plus_len(dev: &Dev) -> Outcome {
    reload(dev, &["capacity=700"])?;
    let fd = ok!(dev.open(O_RDWR | O_NONBLOCK));
    // The suite's one generator (the fuzzer's): its high bits are random,
    // unlike an LCG's low bits, which alternate.
    let mut rng = crate::fuzz::Rng::new(99);
    for _ in 0..300 {
        let n = rng.below(1000) as usize;
        if rng.chance(50) {
            let _ = fd.write(&vec![1u8; n]);
        } else {
            let _ = fd.read_vec(n);
        }
        let s = ok!(stats(&fd));
        ensure!(
            s.bytes_written == s.bytes_read + s.len as u64,
            "invariant broken: {s:?}"
        );
    }
    drop(fd);
    reload(dev, &[])
}

/// The module's lines in the kernel log (they start with "NAME: ").
fn module_lines(log: &str, name: &str) -> Vec<String> {
    let tag = format!("{name}: ");
    log.lines()
        .filter(|l| l.contains(&tag))
        .map(String::from)
        .collect()
}

fn load_and_unload_log_one_line_each(dev: &Dev) -> Outcome {
    clear_log();
    dev.rmmod().map_err(|e| format!("rmmod failed: {e}"))?;
    let unload = module_lines(&dmesg(), dev.name);
    expect_eq!(unload.len(), 1);
    clear_log();
    dev.insmod(&["capacity=321"])
        .map_err(|e| format!("insmod failed: {e}"))?;
    let load = module_lines(&dmesg(), dev.name);
    // (The debug kernel also prints the KUnit results of rust_sample's ring
    // at load; those lines are KUnit's, not "rust_sample: ...".)
    expect_eq!(load.len(), 1);
    ensure!(
        load[0].contains("321"),
        "the load line does not give the capacity: {:?}",
        load[0]
    );
    reload(dev, &[])
}

fn reads_writes_and_ioctls_log_nothing(dev: &Dev) -> Outcome {
    clear_log();
    let fd = ok!(dev.open(O_RDWR | O_NONBLOCK));
    for _ in 0..50 {
        ok!(fd.write(b"data"));
        ok!(fd.read_vec(10));
        ok!(stats(&fd));
        let _ = fd.ioctl(0xdead, 0);
        let _ = fd.read_vec(10);
    }
    drop(fd);
    expect_eq!(module_lines(&dmesg(), dev.name), Vec::<String>::new());
    Ok(())
}

fn twenty_load_unload_cycles(dev: &Dev) -> Outcome {
    for cycle in 0..20 {
        dev.rmmod()
            .map_err(|e| format!("cycle {cycle}: rmmod failed: {e}"))?;
        ensure!(
            !Path::new(&dev.path).exists(),
            "cycle {cycle}: node left behind"
        );
        dev.insmod(&[])
            .map_err(|e| format!("cycle {cycle}: insmod failed: {e}"))?;
        let fd = ok!(dev.open(O_RDWR));
        ok!(fd.write(b"cycle"));
        expect_eq!(ok!(fd.read_vec(10)), b"cycle".to_vec());
    }
    Ok(())
}
