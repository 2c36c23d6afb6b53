//! The physical limits of a log file, with the forwarder's flate2 backend: inflate alone, and
//! inflate with SHA-256 of the output; then the forwarder's reading (inflate, then each record
//! and its fields in one pass, nothing routed or batched) and the validator's own hashing path.
//! Prints seconds and uncompressed bytes for each, one line per measurement, for scripts/bench.
//!
//! cargo run --release -p forwarder --example limits -- FILE.json.gz

use std::fs::File;
use std::hint::black_box;
use std::io::{BufReader, Read};
use std::process::ExitCode;
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use sha2::{Digest as _, Sha256};
use trailwatch::trail::split::split_records;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: limits FILE.json.gz");
        return ExitCode::from(2);
    };
    let open = || {
        BufReader::with_capacity(
            64 * 1024,
            File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
        )
    };
    let mut buffer = vec![0u8; 64 * 1024];

    let started = Instant::now();
    let (mut inflater, mut bytes) = (MultiGzDecoder::new(open()), 0u64);
    while let Ok(n @ 1..) = inflater.read(&mut buffer) {
        bytes += n as u64;
    }
    println!("inflate {:.3} {bytes}", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let (mut inflater, mut hasher) = (MultiGzDecoder::new(open()), Sha256::new());
    while let Ok(n @ 1..) = inflater.read(&mut buffer) {
        hasher.update(&buffer[..n]);
    }
    let _ = hasher.finalize();
    println!(
        "inflate+sha256 {:.3} {bytes}",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let read = split_records(MultiGzDecoder::new(open()), usize::MAX, |_, element| {
        black_box(element);
        Ok(())
    });
    if let Err(error) = read {
        eprintln!("limits: {path}: {error}");
        return ExitCode::FAILURE;
    }
    println!(
        "read-records {:.3} {bytes}",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    match trailwatch::digest::hash::hash_log_file(open()) {
        Ok(_) => println!(
            "validator-hash {:.3} {bytes}",
            started.elapsed().as_secs_f64()
        ),
        Err(error) => {
            eprintln!("limits: {error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
