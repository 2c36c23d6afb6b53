//! trailgen: writes realistic CloudTrail files under a folder laid out like a trail bucket, and
//! prints each file's key. Used by the demo and the benchmarks.
//!
//! trailgen --out DIR [--files N] [--bytes N] [--seed N] [--account ID] [--region R]
//!          [--org o-ID] [--prefix P] [--age-days D] [--spread-minutes M] [--insight]
//!          [--key KEY]
//!
//! `--key` writes one file under exactly that (decoded) key, with account, region,
//! organization, prefix and content taken from it.
//!
//! trailgen --signed-trail DIR BUCKET HOURS [END] writes a signed trail ending at END (an
//! ISO-8601 UTC hour, as in the sample events of events/validator/) or the last full hour:
//! per hour two log files (none in the second hour) and a signed digest (the first a starting
//! digest), a late log file with a backfill digest for the first hour, `manifest.json`
//! (each key with the S3 metadata to put it with) and `public-keys.json` (as
//! `aws cloudtrail list-public-keys` prints it). The key pair is generated from a fixed seed:
//! for the demo and tests only.
//!
//! trailgen --list-objects EVENT.json prints the decoded key of every object a Lambda event
//! names (any trigger the forwarder accepts), one per line, and writes nothing.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use trailwatch::generate::{Content, TrailSpec, now_millis, write_log_file};
use trailwatch::trail::{FileKind, TrailKey};
use trailwatch::trigger::{Invocation, MessageContent, parse_invocation};

/// What went wrong, said to the person running the generator.
type Failure = Box<dyn std::error::Error>;

struct Args {
    out: PathBuf,
    files: u64,
    bytes: u64,
    age_days: i64,
    spec: TrailSpec,
    key: Option<String>,
}

fn parse_args() -> Result<Args, Failure> {
    let mut args = Args {
        out: PathBuf::new(),
        files: 1,
        bytes: 1 << 20,
        age_days: 0,
        spec: TrailSpec::recent(1),
        key: None,
    };
    let mut spread_minutes = 5;
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        if flag == "--insight" {
            args.spec.content = Content::Insight;
            continue;
        }
        let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--out" => args.out = PathBuf::from(value),
            "--files" => args.files = number(&value)?.max(1) as u64,
            "--bytes" => args.bytes = number(&value)?.max(0) as u64,
            "--seed" => args.spec.seed = number(&value)? as u64,
            "--account" => args.spec.account_id = value,
            "--region" => args.spec.region = value,
            "--org" => args.spec.organization_id = Some(value),
            "--prefix" => args.spec.prefix = Some(value),
            "--age-days" => args.age_days = number(&value)?,
            "--spread-minutes" => spread_minutes = number(&value)?,
            "--key" => args.key = Some(value),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if args.out.as_os_str().is_empty() {
        return Err("--out DIR is required".into());
    }
    let now = now_millis();
    args.spec.newest_event_millis = now - args.age_days * 86_400_000;
    args.spec.event_spread_millis = spread_minutes * 60_000;
    args.spec.delivery_millis = now;
    if let Some(key) = &args.key {
        apply_key(&mut args.spec, key)?;
        args.files = 1;
    }
    Ok(args)
}

/// Takes where the file belongs from a CloudTrail key.
fn apply_key(spec: &mut TrailSpec, key: &str) -> Result<(), Failure> {
    let parsed = TrailKey::parse(key)
        .ok_or_else(|| format!("--key {key:?} is not a CloudTrail file key"))?;
    spec.content = match parsed.kind {
        FileKind::Log => Content::Log,
        FileKind::Insight => Content::Insight,
        other => return Err(format!("--key {key:?}: cannot generate a {other} file").into()),
    };
    spec.account_id = parsed.account_id.to_owned();
    spec.region = parsed.region.to_owned();
    spec.organization_id = parsed.organization_id.map(str::to_owned);
    spec.prefix = parsed.prefix.map(str::to_owned);
    Ok(())
}

/// Prints the objects an event names, as the forwarder would read them.
fn list_objects(path: &str) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let payload: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let messages = match parse_invocation(&payload).map_err(|e| format!("{path}: {e}"))? {
        Invocation::Direct(message) => vec![message],
        Invocation::Sqs(messages) => messages,
    };
    for message in messages {
        if let Ok(MessageContent::Objects(objects)) = message.content {
            for object in objects.into_iter().flatten() {
                let decoded = object.decode().map_err(|e| format!("{path}: {e}"))?;
                println!("{}", decoded.key);
            }
        }
    }
    Ok(())
}

/// Writes a signed trail for the demo; returns the trail ARN.
fn signed_trail(dir: &str, bucket: &str, hours: &str, end: Option<&str>) -> Result<(), Failure> {
    use trailwatch::generate::signed::SignedTrail;
    let hours: i64 = hours
        .parse()
        .map_err(|_| format!("HOURS {hours:?} is not a number"))?;
    let (account, region) = ("111122223333", "us-east-1");
    let signer = SignedTrail::new(bucket, account, region, "demo-trail", 20);
    let end = match end {
        Some(text) => trailwatch::clock::iso_seconds(text)
            .filter(|seconds| seconds % 3600 == 0)
            .ok_or_else(|| {
                format!("END {text:?} is not a whole UTC hour like 2026-11-25T13:00:00Z")
            })?,
        None => now_millis() / 1000 / 3600 * 3600,
    };
    let mut manifest = Vec::new();
    let mut previous = None;
    let write = |key: &str, body: &[u8]| -> Result<(), Failure> {
        let path = std::path::Path::new(dir).join(key);
        path.parent()
            .map_or(Ok(()), fs::create_dir_all)
            .map_err(|e| e.to_string())?;
        fs::write(&path, body).map_err(|e| format!("{}: {e}", path.display()).into())
    };
    for hour in 0..hours {
        let start = end - (hours - hour) * 3600;
        let mut listed = Vec::new();
        // The second hour is empty: its digest lists no files.
        let files = if hour == 1 { 0 } else { 2 };
        for n in 0..files {
            let (key, body, inflated) =
                delivered_log(500 + (hour * 2 + n) as u64, start + 300 + n * 900, 50_000)?;
            write(&key, &body)?;
            manifest.push(manifest_entry(&key, &[]));
            listed.push((key, inflated));
        }
        let digest = signer.digest(start, start + 3600, &listed, previous.as_ref());
        previous = Some(signer.link(&digest, &gunzip(&digest.body)?));
        write(&digest.key, &digest.body)?;
        manifest.push(manifest_entry(&digest.key, &digest.metadata));
    }
    // A log file of the first hour that its digest missed, vouched for by a backfill digest.
    let first = end - hours * 3600;
    let (late_key, body, inflated) = delivered_log(599, first + 2400, 20_000)?;
    write(&late_key, &body)?;
    manifest.push(manifest_entry(&late_key, &[]));
    let backfill = signer.backfill_digest(first, first + 3600, &[(late_key, inflated)], end);
    write(&backfill.key, &backfill.body)?;
    manifest.push(manifest_entry(&backfill.key, &backfill.metadata));
    write(
        "manifest.json",
        serde_json::Value::Array(manifest).to_string().as_bytes(),
    )?;
    write("public-keys.json", signer.public_keys_json().as_bytes())?;
    println!(
        "arn:aws:cloudtrail:{region}:{account}:trail/demo-trail {} {}",
        trailwatch::clock::iso_text(end - hours * 3600),
        trailwatch::clock::iso_text(end)
    );
    Ok(())
}

/// A generated log file delivered at `delivered` (epoch seconds): key, gzip body, and its
/// decompressed bytes (what a digest hashes).
fn delivered_log(
    seed: u64,
    delivered: i64,
    min_bytes: u64,
) -> Result<(String, Vec<u8>, Vec<u8>), Failure> {
    let mut spec = TrailSpec::recent(seed);
    spec.delivery_millis = delivered * 1000;
    spec.newest_event_millis = spec.delivery_millis - 60_000;
    let mut body = Vec::new();
    write_log_file(&spec, min_bytes, &mut body).map_err(|e| e.to_string())?;
    let inflated = gunzip(&body)?;
    Ok((spec.key(), body, inflated))
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut inflated)
        .map_err(|e| e.to_string())?;
    Ok(inflated)
}

/// One manifest line: the key and the S3 user metadata to put it with.
fn manifest_entry(key: &str, metadata: &[(String, String)]) -> serde_json::Value {
    let metadata: serde_json::Map<String, serde_json::Value> = metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    serde_json::json!({"key": key, "metadata": metadata})
}

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if (4..=5).contains(&all.len()) && all[0] == "--signed-trail" {
        return match signed_trail(&all[1], &all[2], &all[3], all.get(4).map(String::as_str)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("trailgen: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let mut raw = std::env::args().skip(1);
    if let (Some(flag), Some(path)) = (raw.next(), raw.next()) {
        if flag == "--list-objects" {
            return match list_objects(&path) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("trailgen: {message}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("trailgen: {message}");
            return ExitCode::from(2);
        }
    };
    let first_seed = args.spec.seed;
    for index in 0..args.files {
        let mut spec = args.spec.clone();
        spec.seed = first_seed + index;
        let key = args.key.clone().unwrap_or_else(|| spec.key());
        let path = args.out.join(&key);
        let written = path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| File::create(&path))
            .and_then(|file| write_log_file(&spec, args.bytes, BufWriter::new(file)));
        match written {
            Ok(written) => {
                println!("{key}");
                eprintln!(
                    "trailgen: {key}: {} records, {} bytes, {} compressed",
                    written.records, written.uncompressed_bytes, written.compressed_bytes
                );
            }
            Err(error) => {
                eprintln!("trailgen: writing {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
