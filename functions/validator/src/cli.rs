//! `validator validate-logs …`: the AWS CLI's `cloudtrail validate-logs` arguments, output and
//! exit codes (0 all valid, 1 anything invalid or missing, 255 could not validate).

use std::sync::Arc;

use trailwatch::arguments::{TimeArgumentError, parse_bucket};
use trailwatch::aws::options::AwsOptions;
use trailwatch::digest::config::ReconciliationConfig;
use trailwatch::digest::keys::KeyCache;
use trailwatch::digest::provenance::{Forwarding, ForwardingVerdict};
use trailwatch::digest::request::{RangeRequest, RequestError, ValidationError};
use trailwatch::digest::validate::{Validated, validate_requested_range};

use crate::Keys;
use crate::aws::Clients;
use crate::aws::cloudtrail::CloudTrailDirectory;
use crate::aws::s3::S3DigestStore;
use crate::render::render_cli;
use trailwatch::digest::config::{environment, public_keys_file};

/// Validates CloudTrail log files against their digest files, as `aws cloudtrail
/// validate-logs` does: the same arguments, output lines and exit status (0 all valid, 1
/// anything invalid or missing, 2 a usage error, 255 could not validate, including a check that
/// did not complete). Public keys come from ListPublicKeys, or from --public-keys-file /
/// TRAIL_PUBLIC_KEYS_FILE (the output of `aws cloudtrail list-public-keys`).
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub trail: TrailArgs,
    /// The forwarder's checkpoint table: each listed log file is then reconciled with what was
    /// forwarded (lines after the AWS CLI's output).
    #[arg(long, value_name = "NAME")]
    pub checkpoint_table: Option<String>,
    /// Also print the valid files.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// Which trail, range, account and region: `aws cloudtrail validate-logs`' arguments, shared by
/// `validate-logs` and `audit-logs`.
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args)]
pub struct TrailArgs {
    /// The trail's ARN: arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME.
    #[arg(long, value_name = "ARN")]
    pub trail_arn: String,
    /// Log files delivered from this time: 2026-11-25, 2026-11-25T10:00:00Z, 2026-11-25
    /// 10:00:00, 20261125T100000Z, or with an offset (+01:00), which is converted to UTC.
    /// Without a zone, UTC.
    #[arg(long, value_name = "TIME")]
    pub start_time: String,
    /// Log files delivered up to this time (the forms of --start-time); now when left out.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,
    /// The trail's bucket (its name, or s3://name); from DescribeTrails when left out.
    #[arg(long, value_name = "BUCKET", value_parser = parse_bucket)]
    pub s3_bucket: Option<String>,
    /// The trail's key prefix; from DescribeTrails when left out.
    #[arg(long, value_name = "PREFIX")]
    pub s3_prefix: Option<String>,
    /// The member account whose digests are validated (required for an organization trail).
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// The organization of an organization trail; from DescribeOrganization when left out.
    #[arg(long, value_name = "O-ID")]
    pub organization_id: Option<String>,
    /// Public keys from this file (`aws cloudtrail list-public-keys` output) instead of
    /// ListPublicKeys.
    #[arg(long, value_name = "FILE")]
    pub public_keys_file: Option<String>,
    /// The region whose digests are validated and whose endpoints are called (as the AWS
    /// CLI's --region); AWS_REGION or the profile's region when left out.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// The arguments after the binary's name: `validate-logs …` or `audit-logs …`.
pub fn parse(args: &[String]) -> Result<crate::Command, clap::Error> {
    use clap::Parser;
    let cli = crate::Cli::try_parse_from(
        std::iter::once("validator").chain(args.iter().map(String::as_str)),
    )?;
    cli.command.ok_or_else(crate::Cli::command_missing)
}

/// Why the command could not validate: printed in words, exit code 255.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Date(#[from] TimeArgumentError),
    #[error(transparent)]
    Validation(#[from] ValidationError),
}

/// Runs the command; returns its exit code. A usage error is clap's message and 2 (as the AWS
/// CLI); `--help` prints the help and 0; a runtime error is its message alone and 255.
pub async fn run(args: &[String], clients: &Clients, region: &str, now: i64) -> i32 {
    match parse(args) {
        Ok(command) => dispatch(&command, clients, region, now).await,
        Err(error) => {
            let _ = error.print();
            error.exit_code()
        }
    }
}

/// Runs a parsed command with `clients`; returns the exit code.
pub async fn dispatch(command: &crate::Command, clients: &Clients, region: &str, now: i64) -> i32 {
    match command {
        crate::Command::ValidateLogs(args) => execute(args, clients, region, now).await,
        crate::Command::AuditLogs(args) => crate::audit::execute(args, clients, region, now).await,
        crate::Command::Status(args) => crate::status::execute(args, clients, now).await,
    }
}

/// Runs parsed arguments with `clients`; returns the exit code.
pub async fn execute(args: &Args, clients: &Clients, region: &str, now: i64) -> i32 {
    match validate(args, clients, region, now).await {
        Ok(code) => code,
        Err(error) => {
            trailwatch::stderr_line!("{error}");
            255
        }
    }
}

impl TrailArgs {
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
    args: &Args,
    clients: &Clients,
    region: &str,
    now: i64,
) -> Result<i32, CommandError> {
    let (_, validated) = validate_trail(&args.trail, clients, region, now).await?;
    let (out, err) = render_cli(
        &validated.report,
        &args.trail.trail_arn,
        validated.scope.start,
        validated.scope.end,
        args.verbose,
    );
    trailwatch::stdout_text!("{out}");
    trailwatch::stderr_text!("{err}");
    let exit_code = validated.report.exit_code();
    let Some(table) = &args.checkpoint_table else {
        return Ok(exit_code);
    };
    // The function's reconciliation, reporting only: the command sends no repairs.
    let reconciler = crate::reconciler(clients, &ReconciliationConfig::reporting_only(table));
    let reconciled = reconciler.reconcile(&validated.report, now).await;
    trailwatch::stdout_text!("{}", render_forwarding(&reconciled.verdicts));
    Ok(forwarding_exit_code(exit_code, &reconciled.verdicts))
}

/// Validates what `trail` names, as `validate-logs` does: the S3 store it read, and what it
/// found.
pub(crate) async fn validate_trail(
    trail: &TrailArgs,
    clients: &Clients,
    region: &str,
    now: i64,
) -> Result<(Arc<S3DigestStore>, Validated), CommandError> {
    let range = trail.request().resolve(now).map_err(|error| match error {
        RequestError::BadTime { source, .. } => CommandError::Date(source),
        other => CommandError::Validation(other.into()),
    })?;
    let keys = Keys::new(
        clients,
        trail
            .public_keys_file
            .clone()
            .or_else(|| public_keys_file(environment)),
    );
    let store = Arc::new(S3DigestStore {
        client: clients.s3.clone(),
    });
    let directory = CloudTrailDirectory::new(clients);
    // The AWS CLI's global --region, else the configured one.
    let region = trail.region.as_deref().unwrap_or(region);
    let keys = KeyCache::new(keys);
    let validated =
        validate_requested_range(Arc::clone(&store), &keys, &directory, &range, region, now)
            .await?;
    Ok((store, validated))
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
        let crate::Command::ValidateLogs(args) = parse(&strings(&[
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
        .unwrap() else {
            panic!("not validate-logs")
        };
        assert_eq!(args.trail.s3_bucket.as_deref(), Some("b"));
        assert!(args.verbose);
        let missing = parse(&strings(&["validate-logs", "--start-time", "x"])).unwrap_err();
        assert_eq!(
            missing.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(missing.to_string().contains("--trail-arn"), "{missing}");
        // The AWS CLI's status for a usage error.
        assert_eq!(missing.exit_code(), 2);
        let unknown = parse(&strings(&["validate-logs", "--bogus", "x"])).unwrap_err();
        assert_eq!(unknown.kind(), clap::error::ErrorKind::UnknownArgument);
        let help = parse(&strings(&["validate-logs", "--help"])).unwrap_err();
        assert_eq!(help.exit_code(), 0);
        assert!(
            help.to_string().contains("--checkpoint-table <NAME>"),
            "{help}"
        );
    }
}
