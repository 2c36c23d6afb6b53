//! `validator validate-logs …`: the AWS CLI's `cloudtrail validate-logs` arguments, output and
//! exit codes (0 all valid, 1 anything invalid or missing, 255 could not validate).

use std::sync::Arc;

use trailwatch::digest::chain::{TrailDigests, iso_seconds};
use trailwatch::digest::request::{Clients, KeySource, TrailArn, describe_trail};
use trailwatch::digest::s3::S3DigestStore;
use trailwatch::digest::validate::{render_cli, validate_range};

pub const USAGE: &str = "usage: validator validate-logs --trail-arn ARN --start-time TIME [--end-time TIME] [--s3-bucket BUCKET] [--s3-prefix PREFIX] [--account-id ID] [--organization-id O-ID] [--public-keys-file FILE] [--region REGION] [--verbose]
TIME is UTC ISO-8601, e.g. 2026-11-25T00:00:00Z. The region validated is --region, else AWS_REGION.
Public keys come from ListPublicKeys, or from --public-keys-file / TRAIL_PUBLIC_KEYS_FILE (the output of aws cloudtrail list-public-keys).";

/// Parsed arguments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Args {
    pub trail_arn: String,
    pub start_time: String,
    pub end_time: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_prefix: Option<String>,
    pub account_id: Option<String>,
    pub organization_id: Option<String>,
    pub public_keys_file: Option<String>,
    /// The region whose digests are validated (the AWS CLI's global `--region`).
    pub region: Option<String>,
    pub verbose: bool,
}

pub fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut rest = args.iter().skip_while(|a| *a == "validate-logs");
    while let Some(flag) = rest.next() {
        if flag == "--verbose" {
            parsed.verbose = true;
            continue;
        }
        let value = rest
            .next()
            .cloned()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--trail-arn" => parsed.trail_arn = value,
            "--start-time" => parsed.start_time = value,
            "--end-time" => parsed.end_time = Some(value),
            "--s3-bucket" => parsed.s3_bucket = Some(value),
            "--s3-prefix" => parsed.s3_prefix = Some(value),
            "--account-id" => parsed.account_id = Some(value),
            "--organization-id" => parsed.organization_id = Some(value),
            "--public-keys-file" => parsed.public_keys_file = Some(value),
            "--region" => parsed.region = Some(value),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if parsed.trail_arn.is_empty() || parsed.start_time.is_empty() {
        return Err("the following arguments are required: --trail-arn, --start-time".to_owned());
    }
    Ok(parsed)
}

/// Runs the command; returns its exit code.
pub async fn run(args: &[String], clients: &Clients, region: &str, now: i64) -> i32 {
    match validate(args, clients, region, now).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            255
        }
    }
}

async fn validate(
    args: &[String],
    clients: &Clients,
    region: &str,
    now: i64,
) -> Result<i32, String> {
    let args = parse(args)?;
    let arn = TrailArn::parse(&args.trail_arn)?;
    let time =
        |text: &str| iso_seconds(text).ok_or_else(|| format!("Unable to parse date value: {text}"));
    let start = time(&args.start_time)?;
    let end = args
        .end_time
        .as_deref()
        .map(time)
        .transpose()?
        .unwrap_or(now);
    if start > end {
        return Err(
            "Invalid time range specified: start-time must occur before end-time".to_owned(),
        );
    }
    let (bucket, prefix) = match &args.s3_bucket {
        Some(bucket) => (
            bucket.clone(),
            args.s3_prefix.clone().filter(|p| !p.is_empty()),
        ),
        None => describe_trail(clients, &args.trail_arn).await?,
    };
    let trail = TrailDigests {
        prefix,
        organization_id: args.organization_id.clone(),
        account_id: args.account_id.clone().unwrap_or(arn.account_id),
        source_region: region.to_owned(),
        home_region: arn.home_region,
        trail_name: arn.name,
    };
    let source = match args
        .public_keys_file
        .clone()
        .or_else(|| std::env::var("TRAIL_PUBLIC_KEYS_FILE").ok())
    {
        Some(path) => KeySource::File(path),
        None => KeySource::CloudTrail,
    };
    let keys = source.load(clients, region, start, end).await?;
    let store = Arc::new(S3DigestStore {
        client: clients.s3.clone(),
    });
    let report = validate_range(store, &keys, &trail, &bucket, start, end).await?;
    let (out, err) = render_cli(&report, &args.trail_arn, start, end, args.verbose);
    print!("{out}");
    eprint!("{err}");
    Ok(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn the_aws_cli_arguments_are_taken() {
        let args = parse(&strings(&[
            "validate-logs",
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
            "--start-time",
            "2026-11-25T00:00:00Z",
            "--end-time",
            "2026-11-25T06:00:00Z",
            "--s3-bucket",
            "b",
            "--s3-prefix",
            "p",
            "--verbose",
        ]))
        .unwrap();
        assert_eq!(args.s3_bucket.as_deref(), Some("b"));
        assert!(args.verbose);
        assert!(
            parse(&strings(&["--start-time", "x"]))
                .unwrap_err()
                .contains("required")
        );
        assert!(
            parse(&strings(&["--bogus", "x"]))
                .unwrap_err()
                .contains("unknown argument")
        );
    }
}
