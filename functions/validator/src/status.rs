//! `validator status …`: what the validator function concluded of a trail over the last hours,
//! read from its integrity group (FilterLogEvents), one line per account and region and a
//! verdict. Exit 0 all well, 1 anything to act on (or no verdicts at all), 255 could not read.

use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;
use trailwatch::aws::options::AwsOptions;
use trailwatch::clock::iso_text;
use trailwatch::digest::config::{INTEGRITY_LOG_GROUP_NAME, environment};
use trailwatch::digest::request::TrailArn;
use trailwatch::ports::CallError;
use trailwatch::validator::status::{StoredEvent, TrailStatus};

use crate::aws::Clients;

/// The template's default integrity group (its `IntegrityLogGroupName` parameter).
const DEFAULT_INTEGRITY_GROUP: &str = "/trailwatch/integrity";

/// `status`' arguments.
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args)]
pub struct StatusArgs {
    /// The trail's ARN: arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME.
    #[arg(long, value_name = "ARN")]
    pub trail_arn: String,
    /// How many hours back to read; the daily range covers 25.
    #[arg(long, value_name = "HOURS", default_value_t = 25,
          value_parser = clap::value_parser!(u32).range(1..=24 * 15))]
    pub hours: u32,
    /// The validator's integrity group (the stack's IntegrityLogGroupName output);
    /// INTEGRITY_LOG_GROUP_NAME, else /trailwatch/integrity, when left out.
    #[arg(long, value_name = "NAME")]
    pub log_group: Option<String>,
    /// Only this member account: reads its streams alone (faster in a large organization).
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// The region the stack (and its integrity group) is in; AWS_REGION or the profile's
    /// region when left out.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// Why status could not be read: in words, exit 255.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    TrailArn(#[from] trailwatch::digest::request::RequestError),
    #[error(
        "The log group {0} does not exist in this account and region: give the stack's IntegrityLogGroupName output with --log-group, and its region with --region"
    )]
    NoGroup(String),
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Reads, prints, and returns the exit code.
pub async fn execute(args: &StatusArgs, clients: &Clients, now: i64) -> i32 {
    match status(args, clients, now).await {
        Ok(code) => code,
        Err(error) => {
            trailwatch::stderr_line!("{error}");
            255
        }
    }
}

async fn status(args: &StatusArgs, clients: &Clients, now: i64) -> Result<i32, StatusError> {
    let trail = TrailArn::parse(&args.trail_arn)?;
    let group = args
        .log_group
        .clone()
        .or_else(|| environment(INTEGRITY_LOG_GROUP_NAME).filter(|g| !g.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_INTEGRITY_GROUP.to_owned());
    let start = now - i64::from(args.hours) * 3600;
    let prefix = args
        .account_id
        .as_ref()
        .map(|account| format!("{account}_CloudTrail-Digest_"));
    let events = read_events(clients, &group, prefix.as_deref(), start).await?;
    // The prefix again here: not every CloudWatch Logs endpoint (emulators) applies it.
    let of_account = |stream: &String| prefix.as_ref().is_none_or(|p| stream.starts_with(p));
    let found = TrailStatus::from_events(
        &trail.name,
        events
            .iter()
            .filter(|(stream, _, _)| of_account(stream))
            .map(|(stream, at, message)| StoredEvent {
                stream,
                timestamp_millis: *at,
                message,
            }),
    );
    let hours = trailwatch::human::counted(u64::from(args.hours), "hour", "hours");
    if found.regions.is_empty() {
        trailwatch::stdout_text!(
            "No verdicts of the validator for trail {} in {group} over the last {hours} ({} to {}): the function has not run, or writes to another group (its INTEGRITY_LOG_GROUP_NAME). Check its schedule and its digest queue.\n",
            trail.name,
            iso_text(start),
            iso_text(now)
        );
        return Ok(1);
    }
    trailwatch::stdout_text!(
        "What the validator concluded of {} over the last {hours} ({} to {}), from {group}:\n\n{}",
        args.trail_arn,
        iso_text(start),
        iso_text(now),
        found.render()
    );
    Ok(if found.is_well() { 0 } else { 1 })
}

/// Every event of `group` since `start` (epoch seconds), of the streams named with `prefix`
/// when given: (stream, timestamp in ms, message).
async fn read_events(
    clients: &Clients,
    group: &str,
    prefix: Option<&str>,
    start: i64,
) -> Result<Vec<(String, i64, String)>, StatusError> {
    const CALL: &str = "FilterLogEvents on the integrity group";
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let answer = clients
            .logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start * 1000)
            .set_log_stream_name_prefix(prefix.map(str::to_owned))
            .set_next_token(token.take())
            .send()
            .await;
        let page = match answer {
            Ok(page) => page,
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(FilterLogEventsError::ResourceNotFoundException(_))
                ) =>
            {
                return Err(StatusError::NoGroup(group.to_owned()));
            }
            Err(error) => return Err(CallError::from_sdk(CALL, &error).into()),
        };
        for event in page.events() {
            if let (Some(stream), Some(at), Some(message)) =
                (event.log_stream_name(), event.timestamp(), event.message())
            {
                events.push((stream.to_owned(), at, message.to_owned()));
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(events),
        }
    }
}
