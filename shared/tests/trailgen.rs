//! The generator as a person runs it: help, a refused file count, and a reader that goes away.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Stdio};

fn trailgen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trailgen"))
}

#[test]
fn help_lists_the_modes_and_zero_files_is_a_usage_error() {
    let help = trailgen().arg("--help").output().expect("trailgen runs");
    assert_eq!(help.status.code(), Some(0));
    let out = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--out <DIR>",
        "--signed-trail <DIR> <BUCKET> <HOURS> [END]",
        "--list-objects",
    ] {
        assert!(out.contains(flag), "{flag} in {out}");
    }
    let dir = std::env::temp_dir().join("trailwatch-trailgen-zero");
    let zero = trailgen()
        .args(["--out", dir.to_str().unwrap_or_default(), "--files", "0"])
        .output()
        .expect("trailgen runs");
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--files"));
    assert!(!dir.exists(), "nothing is written");
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly() {
    // `trailgen … | head -1`: the pipe closes after the first key, long before the 1,000th
    // (more than a pipe buffer of keys).
    let dir = std::env::temp_dir().join("trailwatch-trailgen-pipe");
    let mut child = trailgen()
        .args([
            "--out",
            dir.to_str().unwrap_or_default(),
            "--files",
            "20",
            "--bytes",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trailgen runs");
    let mut first = [0u8; 1];
    let mut stdout = child.stdout.take().expect("piped");
    stdout.read_exact(&mut first).expect("a first key");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("its messages");
    let status = child.wait().expect("trailgen ends");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
