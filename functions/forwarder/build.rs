//! The version both binaries print (`--version`): the workspace's version and the commit it was
//! built from, with `modified` when tracked files differed from that commit. The validator uses
//! this same script (its Cargo.toml `build`).
//!
//! `TRAILWATCH_COMMIT` names the commit where git cannot (a build from a source archive);
//! scripts/release sets it so that a release's binaries never depend on how git is found.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=TRAILWATCH_COMMIT");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let commit = std::env::var("TRAILWATCH_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(commit_from_git);
    let described = match commit {
        Some(commit) => format!("{version} (commit {commit})"),
        None => format!("{version} (commit unknown: built outside a git checkout)"),
    };
    println!("cargo::rustc-env=TRAILWATCH_VERSION={described}");
}

/// `abcdef123456` or `abcdef123456, modified`; None outside a git checkout.
fn commit_from_git() -> Option<String> {
    let root = git(&["rev-parse", "--show-toplevel"])?;
    let git_dir = git(&["rev-parse", "--absolute-git-dir"])?;
    // Rerun when HEAD moves, the index changes, or any source of the workspace does, so the
    // `modified` mark is never stale.
    for watched in [
        format!("{git_dir}/HEAD"),
        format!("{git_dir}/index"),
        format!("{git_dir}/refs"),
        format!("{root}/shared"),
        format!("{root}/functions"),
        format!("{root}/Cargo.toml"),
        format!("{root}/Cargo.lock"),
    ] {
        if Path::new(&watched).exists() {
            println!("cargo::rerun-if-changed={watched}");
        }
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    let modified = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|changes| !changes.is_empty());
    Some(if modified {
        format!("{commit}, modified")
    } else {
        commit
    })
}

fn git(arguments: &[&str]) -> Option<String> {
    let output = Command::new("git").args(arguments).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
