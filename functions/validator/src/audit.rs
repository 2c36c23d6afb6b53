//! `validator audit-logs …`: what the log groups hold against what CloudTrail signed, for the
//! account and region `validate-logs` would validate, with the forwarder's configuration from
//! the forwarder's own environment variables. Exit 0 when every signed record is in its stream
//! exactly once and nothing else is; 1 on any finding; 255 when part could not be done.

use std::sync::Arc;

use trailwatch::audit::{Audit, AuditSettings, DEFAULT_DELIVERY_DELAY_MINUTES, audit_validated};
use trailwatch::aws::logs::CloudWatchLogsSink;
use trailwatch::aws::options::AwsOptions;
use trailwatch::clock::iso_text;
use trailwatch::config::ForwarderConfig;

use crate::aws::Clients;
use crate::cli::{CommandError, TrailArgs, validate_trail};

/// `audit-logs`' arguments: validate-logs' trail arguments, the delay bound, and the AWS CLI's
/// global options.
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub trail: TrailArgs,
    /// How long after its eventTime CloudTrail may deliver a record: events timed later than
    /// the range's end less this are not judged (the next hour's files may hold them).
    #[arg(long, value_name = "MINUTES", default_value_t = DEFAULT_DELIVERY_DELAY_MINUTES)]
    pub delivery_delay_minutes: i64,
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// Runs the audit with the forwarder's configuration from the environment; returns its exit
/// code.
pub async fn execute(args: &AuditArgs, clients: &Clients, region: &str, now: i64) -> i32 {
    let config = match ForwarderConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            trailwatch::stderr_line!(
                "audit-logs reads where the forwarder writes from the forwarder's environment variables (LOG_GROUP_NAME or ROUTES, EVENT_SELECTORS), as the function does: {error}"
            );
            return 255;
        }
    };
    match audit(args, clients, region, now, &config).await {
        Ok(audit) => {
            trailwatch::stdout_text!("{}", render(&audit));
            audit.exit_code()
        }
        Err(error) => {
            trailwatch::stderr_line!("{error}");
            255
        }
    }
}

/// Validates the trail's range as `validate-logs` does, then audits the groups `config`
/// writes.
pub async fn audit(
    args: &AuditArgs,
    clients: &Clients,
    region: &str,
    now: i64,
    config: &ForwarderConfig,
) -> Result<Audit, CommandError> {
    let (store, validated) = validate_trail(&args.trail, clients, region, now).await?;
    let settings = AuditSettings {
        routes: Arc::new(config.routes.clone()),
        allowed_accounts: config.allowed_accounts.clone(),
        max_decompressed_bytes: config.max_decompressed_bytes,
        delivery_delay_seconds: args.delivery_delay_minutes.saturating_mul(60),
    };
    let logs = CloudWatchLogsSink::new(clients.logs.clone());
    Ok(audit_validated(store, &logs, validated, &settings).await)
}

/// The findings, what could not be audited, the invalid files, then the summary.
pub fn render(audit: &Audit) -> String {
    let mut out = String::new();
    let invalid = audit.validated.report.verdicts.iter();
    for verdict in invalid.filter(|v| !v.status.is_valid()) {
        out.push_str(&format!("{verdict}\n"));
    }
    for line in audit.findings.iter().map(ToString::to_string) {
        out.push_str(&format!("{line}\n"));
    }
    for line in audit.not_audited.iter().map(ToString::to_string) {
        out.push_str(&format!("{line}\n"));
    }
    let judged = match audit.unsigned_window {
        Some((from, to)) => format!(
            "events judged from {} to {}",
            iso_text(from / 1000),
            iso_text(to / 1000)
        ),
        None => "no event judged: the range is shorter than the delivery delay".to_owned(),
    };
    out.push_str(&format!(
        "\n{}\n({}; {} records of the signed files not forwarded by design: filtered, rejected, or refused by CloudWatch Logs for their time)\n",
        audit.summary(),
        judged,
        audit.not_forwarded_by_design
    ));
    out
}
