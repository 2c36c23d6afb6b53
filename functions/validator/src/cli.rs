//! `validator validate-logs …`: the AWS CLI's `cloudtrail validate-logs` arguments, output and
//! exit codes (0 all valid, 1 anything invalid or missing, 255 could not validate).

use std::sync::Arc;

use trailwatch::aws::checkpoints::DynamoCheckpoints;
use trailwatch::command_line::flag_values;
use trailwatch::digest::keys::KeyCache;
use trailwatch::digest::provenance::{
    DEFAULT_FORWARD_GRACE_MINUTES, Forwarding, ForwardingVerdict, reconcile_report,
};
use trailwatch::digest::request::{RangeRequest, RequestError, ValidationError};
use trailwatch::digest::validate::validate_requested_range;

use crate::aws::Clients;
use crate::aws::cloudtrail::CloudTrailDirectory;
use crate::aws::s3::S3DigestStore;
use crate::render::render_cli;
use crate::{Keys, TRAIL_PUBLIC_KEYS_FILE};

pub const USAGE: &str = "usage: validator validate-logs --trail-arn ARN --start-time TIME [--end-time TIME] [--s3-bucket BUCKET] [--s3-prefix PREFIX] [--account-id ID] [--organization-id O-ID] [--public-keys-file FILE] [--region REGION] [--checkpoint-table NAME] [--verbose]
TIME is UTC ISO-8601, e.g. 2026-11-25T00:00:00Z. The region validated is --region, else AWS_REGION.
Public keys come from ListPublicKeys, or from --public-keys-file / TRAIL_PUBLIC_KEYS_FILE (the output of aws cloudtrail list-public-keys).
--checkpoint-table: the forwarder's table; each listed log file is then reconciled with what was forwarded (lines after the AWS CLI's output).";

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
    /// The forwarder's checkpoint table: reconcile each listed log file with it.
    pub checkpoint_table: Option<String>,
    pub verbose: bool,
}

// A String: the message is printed above the usage, as the AWS CLI's argument parser does
// (clap replaces this parser with the command-line work of the first-hour issue).
pub fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    for (flag, value) in flag_values(args, "validate-logs", &["--verbose"])? {
        let value = value.unwrap_or_default();
        match flag.as_str() {
            "--verbose" => parsed.verbose = true,
            "--trail-arn" => parsed.trail_arn = value,
            "--start-time" => parsed.start_time = value,
            "--end-time" => parsed.end_time = Some(value),
            "--s3-bucket" => parsed.s3_bucket = Some(value),
            "--s3-prefix" => parsed.s3_prefix = Some(value),
            "--account-id" => parsed.account_id = Some(value),
            "--organization-id" => parsed.organization_id = Some(value),
            "--public-keys-file" => parsed.public_keys_file = Some(value),
            "--region" => parsed.region = Some(value),
            "--checkpoint-table" => parsed.checkpoint_table = Some(value),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if parsed.trail_arn.is_empty() || parsed.start_time.is_empty() {
        return Err("the following arguments are required: --trail-arn, --start-time".to_owned());
    }
    Ok(parsed)
}

/// Why the command could not validate: printed with the usage, exit code 255.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Arguments(String),
    #[error("Unable to parse date value: {0}")]
    Date(String),
    #[error(transparent)]
    Validation(#[from] ValidationError),
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

impl Args {
    /// The same request the function takes as `validateRange`.
    pub fn request(&self) -> RangeRequest {
        RangeRequest {
            trail_arn: Some(self.trail_arn.clone()),
            start_time: Some(self.start_time.clone()),
            end_time: self.end_time.clone(),
            hours_back: None,
            s3_bucket: self.s3_bucket.clone(),
            s3_prefix: self.s3_prefix.clone(),
            organization_id: self.organization_id.clone(),
            account_id: self.account_id.clone(),
            region: None,
        }
    }
}

async fn validate(
    args: &[String],
    clients: &Clients,
    region: &str,
    now: i64,
) -> Result<i32, CommandError> {
    let args = parse(args).map_err(CommandError::Arguments)?;
    let range = args.request().resolve(now).map_err(|error| match error {
        RequestError::BadTime { value, .. } => CommandError::Date(value),
        other => CommandError::Validation(other.into()),
    })?;
    let keys = Keys::new(
        clients,
        args.public_keys_file
            .clone()
            .or_else(|| std::env::var(TRAIL_PUBLIC_KEYS_FILE).ok()),
    );
    let store = Arc::new(S3DigestStore {
        client: clients.s3.clone(),
    });
    let directory = CloudTrailDirectory::new(clients);
    // The AWS CLI's global --region, else the configured one.
    let region = args.region.as_deref().unwrap_or(region);
    let validated =
        validate_requested_range(store, &KeyCache::new(keys), &directory, &range, region).await?;
    let (out, err) = render_cli(
        &validated.report,
        &args.trail_arn,
        validated.scope.start,
        validated.scope.end,
        args.verbose,
    );
    print!("{out}");
    eprint!("{err}");
    let exit_code = validated.report.exit_code();
    let Some(table) = &args.checkpoint_table else {
        return Ok(exit_code);
    };
    let records = DynamoCheckpoints {
        client: clients.dynamodb.clone(),
        table_name: table.clone(),
    };
    let grace_seconds = i64::try_from(DEFAULT_FORWARD_GRACE_MINUTES * 60).unwrap_or(i64::MAX);
    let reconciled = reconcile_report(&records, &validated.report, now, grace_seconds).await;
    print!("{}", render_forwarding(&reconciled));
    Ok(forwarding_exit_code(exit_code, &reconciled))
}

/// The reconciliation after the AWS CLI's own output: one line per listed log file, then
/// `n/m log files forwarded as signed`.
pub fn render_forwarding(reconciled: &[ForwardingVerdict]) -> String {
    let mut out = String::new();
    if reconciled.is_empty() {
        return out;
    }
    out.push('\n');
    for verdict in reconciled {
        out.push_str(&verdict.to_string());
        out.push('\n');
    }
    let forwarded = reconciled
        .iter()
        .filter(|v| matches!(v.forwarding, Forwarding::Forwarded(_)))
        .count();
    out.push_str(&format!(
        "\n{forwarded}/{} log files forwarded as signed\n",
        reconciled.len()
    ));
    out
}

/// 1 when a file is not forwarded or forwarded from other content; else 255 when the table
/// could not be read; else what the AWS CLI's checks gave.
fn forwarding_exit_code(exit_code: i32, reconciled: &[ForwardingVerdict]) -> i32 {
    if reconciled.iter().any(|v| v.forwarding.is_problem()) {
        1
    } else if exit_code == 0
        && reconciled
            .iter()
            .any(|v| matches!(v.forwarding, Forwarding::NotChecked(_)))
    {
        255
    } else {
        exit_code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch::checkpoint::RecordCounts;
    use trailwatch::digest::verdict::Status;

    fn reconciled(forwarding: Forwarding) -> ForwardingVerdict {
        ForwardingVerdict {
            bucket: "b".into(),
            key: "k".into(),
            forwarding,
            s3_status: Status::Valid,
        }
    }

    #[test]
    fn the_reconciliation_follows_the_cli_output_and_decides_the_exit_status() {
        let forwarded = reconciled(Forwarding::Forwarded(RecordCounts::default()));
        let lost = reconciled(Forwarding::NotForwarded { reason: None });
        let unread = reconciled(Forwarding::NotChecked("throttled".into()));
        assert_eq!(render_forwarding(&[]), "");
        assert_eq!(
            render_forwarding(&[forwarded.clone(), lost.clone()]),
            "\nForwarded\ts3://b/k\t0 records: 0 forwarded, 0 filtered, 0 rejected\n\
             Not forwarded\ts3://b/k\tthe checkpoint table has no record of it\n\
             \n1/2 log files forwarded as signed\n"
        );
        assert_eq!(forwarding_exit_code(0, std::slice::from_ref(&forwarded)), 0);
        assert_eq!(forwarding_exit_code(0, &[forwarded.clone(), lost]), 1);
        assert_eq!(
            forwarding_exit_code(0, &[forwarded.clone(), unread.clone()]),
            255
        );
        assert_eq!(forwarding_exit_code(1, &[forwarded, unread]), 1);
    }

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
