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
//! trailgen --signed-trail DIR BUCKET HOURS writes a signed trail ending at the last full hour:
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

struct Args {
    out: PathBuf,
    files: u64,
    bytes: u64,
    age_days: i64,
    spec: TrailSpec,
    key: Option<String>,
}

fn parse_args() -> Result<Args, String> {
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
            other => return Err(format!("unknown flag {other}")),
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
fn apply_key(spec: &mut TrailSpec, key: &str) -> Result<(), String> {
    let parsed = TrailKey::parse(key)
        .ok_or_else(|| format!("--key {key:?} is not a CloudTrail file key"))?;
    spec.content = match parsed.kind {
        FileKind::Log => Content::Log,
        FileKind::Insight => Content::Insight,
        other => return Err(format!("--key {key:?}: cannot generate a {other} file")),
    };
    spec.account_id = parsed.account_id.to_owned();
    spec.region = parsed.region.to_owned();
    spec.organization_id = parsed.organization_id.map(str::to_owned);
    spec.prefix = parsed.prefix.map(str::to_owned);
    Ok(())
}

/// Prints the objects an event names, as the forwarder would read them.
fn list_objects(path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let payload: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let messages = match parse_invocation(&payload).map_err(|e| format!("{path}: {e}"))? {
        Invocation::Direct(message) => vec![message],
        Invocation::Sqs(messages) => messages,
    };
    for message in messages {
        if let Ok(MessageContent::Objects(objects)) = message.content {
            for object in objects {
                let decoded = object.decode().map_err(|e| format!("{path}: {e}"))?;
                println!("{}", decoded.key);
            }
        }
    }
    Ok(())
}

/// Writes a signed trail for the demo; returns the trail ARN.
fn signed_trail(dir: &str, bucket: &str, hours: &str) -> Result<(), String> {
    use trailwatch::generate::signed::SignedTrail;
    let hours: i64 = hours
        .parse()
        .map_err(|_| format!("HOURS {hours:?} is not a number"))?;
    let (account, region) = ("111122223333", "us-east-1");
    let signer = SignedTrail::new(bucket, account, region, "demo-trail", 20);
    let end = now_millis() / 1000 / 3600 * 3600;
    let mut manifest = Vec::new();
    let mut previous = None;
    let write = |key: &str, body: &[u8]| -> Result<(), String> {
        let path = std::path::Path::new(dir).join(key);
        path.parent()
            .map_or(Ok(()), fs::create_dir_all)
            .map_err(|e| e.to_string())?;
        fs::write(&path, body).map_err(|e| format!("{}: {e}", path.display()))
    };
    for hour in 0..hours {
        let start = end - (hours - hour) * 3600;
        let mut listed = Vec::new();
        // The second hour is empty: its digest lists no files.
        let files = if hour == 1 { 0 } else { 2 };
        for n in 0..files {
            let mut spec = TrailSpec::recent(500 + (hour * 2 + n) as u64);
            spec.delivery_millis = (start + 300 + n * 900) * 1000;
            spec.newest_event_millis = spec.delivery_millis - 60_000;
            let mut body = Vec::new();
            write_log_file(&spec, 50_000, &mut body).map_err(|e| e.to_string())?;
            let mut inflated = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut inflated)
                .map_err(|e| e.to_string())?;
            write(&spec.key(), &body)?;
            manifest.push(serde_json::json!({"key": spec.key(), "metadata": {}}));
            listed.push((spec.key(), inflated));
        }
        let digest = signer.digest(start, start + 3600, &listed, previous.as_ref());
        let mut inflated = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&digest.body[..]),
            &mut inflated,
        )
        .map_err(|e| e.to_string())?;
        previous = Some(signer.link(&digest, &inflated));
        write(&digest.key, &digest.body)?;
        let metadata: serde_json::Map<String, serde_json::Value> = digest
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        manifest.push(serde_json::json!({"key": digest.key, "metadata": metadata}));
    }
    // A log file of the first hour that its digest missed, vouched for by a backfill digest.
    let first = end - hours * 3600;
    let mut late = TrailSpec::recent(599);
    late.delivery_millis = (first + 2400) * 1000;
    late.newest_event_millis = late.delivery_millis - 60_000;
    let mut body = Vec::new();
    write_log_file(&late, 20_000, &mut body).map_err(|e| e.to_string())?;
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut inflated)
        .map_err(|e| e.to_string())?;
    write(&late.key(), &body)?;
    manifest.push(serde_json::json!({"key": late.key(), "metadata": {}}));
    let backfill = signer.backfill_digest(first, first + 3600, &[(late.key(), inflated)], end);
    write(&backfill.key, &backfill.body)?;
    let metadata: serde_json::Map<String, serde_json::Value> = backfill
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    manifest.push(serde_json::json!({"key": backfill.key, "metadata": metadata}));
    write(
        "manifest.json",
        serde_json::Value::Array(manifest).to_string().as_bytes(),
    )?;
    write("public-keys.json", signer.public_keys_json().as_bytes())?;
    println!(
        "arn:aws:cloudtrail:{region}:{account}:trail/demo-trail {} {}",
        trailwatch::digest::validate::display(end - hours * 3600),
        trailwatch::digest::validate::display(end)
    );
    Ok(())
}

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.len() == 4 && all[0] == "--signed-trail" {
        return match signed_trail(&all[1], &all[2], &all[3]) {
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
