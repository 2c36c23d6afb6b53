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

/// Writes realistic CloudTrail log files under a folder laid out like a trail bucket and
/// prints each one's key; or a signed trail (--signed-trail); or the keys a Lambda event names
/// (--list-objects). For the demo, the tests and the benchmarks.
#[derive(Debug, clap::Parser)]
#[command(name = "trailgen", version)]
struct Cli {
    /// The folder to write under, laid out like a trail bucket.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["signed_trail", "list_objects"])]
    out: Option<PathBuf>,
    /// How many files (each with the next seed).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    files: u64,
    /// Uncompressed bytes per file, at least.
    #[arg(long, default_value_t = 1 << 20)]
    bytes: u64,
    /// The first file's seed: the same seed writes the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The account the files are from.
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// The region the files are from.
    #[arg(long)]
    region: Option<String>,
    /// An organization trail's organization id (files under AWSLogs/o-ID/).
    #[arg(long, value_name = "o-ID")]
    org: Option<String>,
    /// The trail's key prefix.
    #[arg(long)]
    prefix: Option<String>,
    /// How old the newest event is, in days.
    #[arg(long, default_value_t = 0)]
    age_days: i64,
    /// The minutes the events of a file span.
    #[arg(long, default_value_t = 5)]
    spread_minutes: i64,
    /// Insights files instead of log files.
    #[arg(long)]
    insight: bool,
    /// One file under exactly this (decoded) key, with account, region, organization, prefix
    /// and content taken from it.
    #[arg(long)]
    key: Option<String>,
    /// A signed trail ending at END (a whole UTC hour; the last full hour when left out): per
    /// hour two log files (none in the second) and a signed digest, a late file with a
    /// backfill digest, manifest.json and public-keys.json (a fixed test key pair).
    #[arg(long, num_args = 3..=4, value_names = ["DIR", "BUCKET", "HOURS", "END"],
          conflicts_with_all = ["out", "list_objects"])]
    signed_trail: Option<Vec<String>>,
    /// Print the decoded key of every object a Lambda event names, and write nothing.
    #[arg(long, value_name = "EVENT.json", conflicts_with = "out")]
    list_objects: Option<String>,
}

/// What to write: the spec of the first file, and how many.
struct Args {
    out: PathBuf,
    files: u64,
    bytes: u64,
    spec: TrailSpec,
    key: Option<String>,
}

fn generation(cli: Cli) -> Result<Args, Failure> {
    let mut spec = TrailSpec::recent(cli.seed);
    if cli.insight {
        spec.content = Content::Insight;
    }
    if let Some(account) = cli.account {
        spec.account_id = account;
    }
    if let Some(region) = cli.region {
        spec.region = region;
    }
    spec.organization_id = cli.org.or(spec.organization_id);
    spec.prefix = cli.prefix.or(spec.prefix);
    let now = now_millis();
    spec.newest_event_millis = now - cli.age_days * 86_400_000;
    spec.event_spread_millis = cli.spread_minutes * 60_000;
    spec.delivery_millis = now;
    let mut files = cli.files;
    if let Some(key) = &cli.key {
        apply_key(&mut spec, key)?;
        files = 1;
    }
    Ok(Args {
        out: cli.out.unwrap_or_default(),
        files,
        bytes: cli.bytes,
        spec,
        key: cli.key,
    })
}

/// A line on standard output; `false` once the reader has gone (`trailgen … | head`), which
/// ends the run quietly.
fn say(line: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

/// Takes where the file belongs from a CloudTrail key.
fn apply_key(spec: &mut TrailSpec, key: &str) -> Result<(), Failure> {
    let parsed = TrailKey::parse(key)
        .ok_or_else(|| format!("--key {key:?} is not a CloudTrail file key"))?;
    spec.content = match parsed.kind {
        FileKind::Log => Content::Log,
        FileKind::Insight => Content::Insight,
        FileKind::Aggregated => Content::Aggregated,
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
                if !say(&decoded.key) {
                    return Ok(());
                }
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
    say(&format!(
        "arn:aws:cloudtrail:{region}:{account}:trail/demo-trail {} {}",
        trailwatch::clock::iso_text(end - hours * 3600),
        trailwatch::clock::iso_text(end)
    ));
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
    use clap::Parser;
    // Usage errors exit 2 with clap's message; --help and --version exit 0.
    let cli = Cli::try_parse().unwrap_or_else(|error| error.exit());
    let done = |result: Result<(), Failure>| match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("trailgen: {message}");
            ExitCode::FAILURE
        }
    };
    if let Some(signed) = &cli.signed_trail {
        let end = signed.get(3).map(String::as_str);
        return done(signed_trail(&signed[0], &signed[1], &signed[2], end));
    }
    if let Some(path) = &cli.list_objects {
        return done(list_objects(path));
    }
    let args = match generation(cli) {
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
                if !say(&key) {
                    return ExitCode::SUCCESS;
                }
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
