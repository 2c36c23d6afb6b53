//! Runs the forwarder's own code path on a local log file, with the network replaced by a sink
//! that discards batches: decompress, split, view fields, name streams, sort and pack batches.
//! For whole-process measurements (`/usr/bin/time -v`) of speed and peak memory. Routes and
//! selectors come from the forwarder's own variables (`ROUTES`, `EVENT_SELECTORS`, `DRY_RUN`);
//! `LOG_GROUP_NAME` defaults to `sink`.
//!
//! cargo run --release -p forwarder --example plan_file -- FILE.json.gz

use std::fs::File;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use trailwatch::ForwarderConfig;
use trailwatch::logs::KeyFacts;
use trailwatch::pipeline::{PlanContext, StopSignal, plan_file};
use trailwatch::trail::TrailKey;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: plan_file FILE.json.gz (a file under a CloudTrail key layout)");
        return ExitCode::from(2);
    };
    let Some(key) = path.find("AWSLogs/").map(|at| &path[at..]) else {
        eprintln!("plan_file: {path} is not under a CloudTrail key (…/AWSLogs/…)");
        return ExitCode::from(2);
    };
    let Some(trail_key) = TrailKey::parse(key) else {
        eprintln!("plan_file: {key} is not a CloudTrail file key");
        return ExitCode::from(2);
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("plan_file: {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = ForwarderConfig::from_lookup(|name| match std::env::var(name).ok() {
        None if name == "LOG_GROUP_NAME" && std::env::var("ROUTES").is_err() => Some("sink".into()),
        value => value,
    });
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            eprintln!("plan_file: {error}");
            return ExitCode::from(2);
        }
    };
    let context = PlanContext {
        key_facts: KeyFacts::for_key(&trail_key),
        routes: Arc::new(config.routes),
        dry_run: config.dry_run,
        start_record: 0,
        max_decompressed_bytes: config.max_decompressed_bytes,
        stop: StopSignal::never(),
    };
    let started = Instant::now();
    let (mut batches, mut bytes) = (0u64, 0u64);
    let plan = plan_file(std::io::BufReader::new(file), &context, |ready| {
        batches += 1;
        bytes += ready.batch.counted_bytes as u64;
        Ok(())
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "records {} filtered {} batched {} batches {} counted_bytes {} seconds {:.3} error {}",
        plan.records,
        plan.filtered,
        plan.batched,
        batches,
        bytes,
        seconds,
        plan.error.map_or("none".to_owned(), |e| e.to_string())
    );
    ExitCode::SUCCESS
}
