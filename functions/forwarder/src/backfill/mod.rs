//! `forwarder backfill …`: forwards the trail files delivered in a time range, which S3
//! notifications never announced (the days before trailwatch was deployed). In-process with
//! the function's configuration, or one delivery message per file to the delivery queue.
//! The listing is `trailwatch::backfill`; the forwarding is the function's own pipeline.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use trailwatch::arguments::{TimeArgumentError, parse_bucket, parse_time};
use trailwatch::aws::options::AwsOptions;
use trailwatch::backfill::{BackfillError, BackfillPlan, BackfillRequest, plan_backfill};
use trailwatch::dry_run::{PriceError, Prices};
use trailwatch::object::NotifiedObject;
use trailwatch::pipeline::Settled;
use trailwatch::ports::{CallError, ListedObject};
use trailwatch::summary::ObjectSummary;
use trailwatch::{ForwardSummary, ForwarderConfig};

use crate::aws::logs::group_classes;
use crate::aws::s3::S3Objects;

mod progress;
pub mod stack;
pub use progress::Progress;
use progress::{Tally, listing_text, too_old_text};

/// Said after a configuration error: where backfill reads its configuration.
pub const CONFIGURATION_HINT: &str = "backfill reads the forwarder's configuration from the deployed stack with --stack-name, or else from environment variables: set them as the deployed function has them (its Configuration, Environment variables), at least LOG_GROUP_NAME or ROUTES";

/// Said before forwarding without the checkpoint table.
pub const NO_CHECKPOINT_TABLE: &str = "CHECKPOINT_TABLE_NAME is not set: a rerun (or an object the function forwards too) is forwarded again; set it to the stack's CheckpointTableName output";

/// Objects forwarded at once in-process.
pub const OBJECTS_AT_ONCE: usize = 4;

/// Forwards the log files a trail bucket already holds for a time range (the days before the
/// stack was deployed), as the function would, with the deployed function's configuration
/// (--stack-name), or with these environment variables set as the deployed forwarder has them:
/// LOG_GROUP_NAME or ROUTES, EVENT_SELECTORS, CHECKPOINT_TABLE_NAME (with it, an interrupted
/// backfill can be rerun and forwards nothing twice), LOG_GROUP_CLASS, RETENTION_IN_DAYS. Progress and the
/// summary go to standard error; the summary JSON (every object's counts) to standard output
/// with --json or when it is not a terminal. Exit status 0 all forwarded, 1 an object failed,
/// 2 could not run.
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args)]
pub struct Args {
    /// The trail's bucket (its name, or s3://name).
    #[arg(long = "s3-bucket", value_name = "BUCKET", value_parser = parse_bucket)]
    pub bucket: String,
    /// The trail's key prefix, when it has one.
    #[arg(long = "s3-prefix", value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Files delivered from this time: 2026-11-25, 2026-11-25T10:00:00Z, 20261125T100000Z,
    /// 2026-11-25 10:00:00, or with an offset (+01:00), converted to UTC. Without a zone, UTC.
    #[arg(long, value_name = "TIME")]
    pub start_time: String,
    /// Files delivered up to this time (the forms of --start-time); now when left out.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,
    /// Only this account's files (repeat for more); every account when left out.
    #[arg(long = "account-id", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Only this region's files (repeat for more); every region when left out. A filter, not
    /// the AWS CLI's --region: the calls go to the region of AWS_REGION or the profile.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Send one delivery message per file to the forwarder's queue instead of forwarding here.
    #[arg(long, value_name = "URL", conflicts_with = "via_stack_queue")]
    pub queue_url: Option<String>,
    /// The deployed trailwatch stack: the forwarder's configuration is its function's
    /// environment variables (GetFunctionConfiguration; those set here are not read), and
    /// its checkpoint table the function's.
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
    /// Send one delivery message per file to the stack's delivery queue (its DeliveryQueueUrl
    /// output) instead of forwarding here.
    #[arg(long, requires = "stack_name")]
    pub via_stack_queue: bool,
    /// Read the files and write nothing: what would be forwarded, by route, category and event
    /// source, in each group's class, with the monthly ingestion cost it implies.
    #[arg(long)]
    pub dry_run: bool,
    /// Dry runs: the ingestion price per GB to estimate with: `0.57` for Standard groups,
    /// `INFREQUENT_ACCESS=0.285` for a class (repeat for both). Default: us-east-1 list prices.
    #[arg(long, value_name = "[CLASS=]USD", requires = "dry_run")]
    pub price_per_gb: Vec<String>,
    /// The summary JSON, with every object's counts, on standard output even on a terminal.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// Why the backfill did not run: printed with its reason, exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Time(#[from] TimeArgumentError),
    #[error("--start-time must be before --end-time")]
    StartAfterEnd,
    #[error(transparent)]
    Config(#[from] trailwatch::config::ConfigError),
    #[error(transparent)]
    Plan(#[from] BackfillError),
    #[error("sending delivery messages: {0}")]
    Queue(CallError),
    #[error(transparent)]
    Price(#[from] PriceError),
}

/// How the backfill went.
#[derive(Debug, Default)]
pub struct Outcome {
    pub plan: BackfillPlan,
    /// In-process (also a dry run): the function's summary over every object.
    pub summary: Option<ForwardSummary>,
    /// With `--queue-url`: delivery messages sent.
    pub queued: usize,
}

impl Outcome {
    /// 0 when every object was forwarded (or queued), 1 when any failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.summary.as_ref().is_some_and(|s| s.failed_objects > 0))
    }
}

/// Runs the backfill with `config` (the function's, from the environment), as of `now`.
pub async fn run(
    args: &Args,
    sdk: &SdkConfig,
    mut config: ForwarderConfig,
    now: i64,
    progress: Progress,
) -> Result<Outcome, CommandError> {
    let start = parse_time(&args.start_time)?;
    let end = match &args.end_time {
        Some(end) => parse_time(end)?,
        None => now,
    };
    if start > end {
        return Err(CommandError::StartAfterEnd);
    }
    config.dry_run |= args.dry_run;
    let request = BackfillRequest {
        bucket: args.bucket.clone(),
        prefix: args.prefix.clone().filter(|p| !p.is_empty()),
        start,
        end,
        accounts: args.accounts.clone(),
        regions: args.regions.clone(),
        kinds: config.routes.kinds_read(),
    };
    let listing = Arc::new(S3Objects {
        client: trailwatch::aws::s3::client(sdk),
    });
    let mut prices = Prices::default();
    for price in &args.price_per_gb {
        prices.set(price)?;
    }
    let plan = plan_backfill(listing, &request, now).await?;
    progress.say(&listing_text(&plan, &request));
    if !plan.too_old.is_empty() {
        progress.say(&too_old_text(&plan.too_old));
    }
    let mut outcome = Outcome::default();
    match (&args.queue_url, config.dry_run) {
        (Some(queue_url), false) => {
            outcome.queued = send_to_queue(sdk, queue_url, &args.bucket, &plan.objects).await?;
            progress.say(&format!(
                "backfill: sent {} delivery messages to {queue_url}",
                outcome.queued
            ));
        }
        _ => {
            let forwarder = Arc::new(crate::build_forwarder(sdk, &config));
            let owner = format!("backfill-{}-{now}", std::process::id());
            let summary = forward_all(
                forwarder,
                &args.bucket,
                &plan.objects,
                (&owner, config.dry_run),
                &progress,
            );
            let summary = summary.await;
            if summary.dry_run {
                let groups = group_classes(sdk, &summary).await;
                progress.say(&trailwatch::dry_run::report(
                    &summary,
                    &groups,
                    request.estimate_seconds(now),
                    &prices,
                ));
            }
            outcome.summary = Some(summary);
        }
    }
    outcome.plan = plan;
    Ok(outcome)
}

/// One delivery message per object, in CloudTrail's own notification shape, to the delivery
/// queue: the deployed function forwards them.
async fn send_to_queue(
    sdk: &SdkConfig,
    queue_url: &str,
    bucket: &str,
    objects: &[ListedObject],
) -> Result<usize, CommandError> {
    let bodies: Vec<String> = objects
        .iter()
        .map(|object| json!({"s3Bucket": bucket, "s3ObjectKey": [object.key]}).to_string())
        .collect();
    let client = aws_sdk_sqs::Client::new(sdk);
    trailwatch::aws::sqs::send_batches(&client, queue_url, &bodies, "backfill")
        .await
        .map_err(CommandError::Queue)
}

/// Forwards each object with the function's pipeline, a few at once, in delivery order. An
/// object whose forwarding task did not come back is counted failed, never lost silently.
async fn forward_all(
    forwarder: Arc<crate::AwsForwarder>,
    bucket: &str,
    objects: &[ListedObject],
    (owner, dry_run): (&str, bool),
    progress: &Progress,
) -> ForwardSummary {
    let mut tally = progress.start(objects);
    let limit = Arc::new(Semaphore::new(OBJECTS_AT_ONCE));
    let mut running = JoinSet::new();
    let mut keys = HashMap::new();
    let mut total = ForwardSummary {
        dry_run,
        ..ForwardSummary::default()
    };
    for object in objects {
        // The semaphore is never closed: acquiring only waits.
        let permit = Arc::clone(&limit).acquire_owned().await.ok();
        // The key as listed: stored as is, no URL encoding.
        let notified = NotifiedObject {
            e_tag: object.e_tag.clone(),
            ..NotifiedObject::plain(bucket, &object.key)
        };
        let (forwarder, owner) = (Arc::clone(&forwarder), owner.to_owned());
        let task = running.spawn(async move {
            let settled = forwarder.forward_alone(&notified, &owner).await;
            drop(permit);
            settled
        });
        keys.insert(task.id(), object.key.clone());
        while let Some(done) = running.try_join_next_with_id() {
            merge(&mut total, &mut tally, done, bucket, &keys);
        }
    }
    while let Some(done) = running.join_next_with_id().await {
        merge(&mut total, &mut tally, done, bucket, &keys);
    }
    tally.finish(&total);
    total
}

type Joined = Result<(tokio::task::Id, Settled), tokio::task::JoinError>;

fn merge(
    total: &mut ForwardSummary,
    tally: &mut Tally<'_>,
    done: Joined,
    bucket: &str,
    keys: &HashMap<tokio::task::Id, String>,
) {
    let (id, reason) = match done {
        Ok((_, settled)) => {
            let object = settled.summary;
            tally.advance(object.records, object.bytes_read);
            total.add(object);
            return;
        }
        Err(error) => (error.id(), format!("forwarding stopped: {error}")),
    };
    let key = keys.get(&id).map_or("", String::as_str);
    tracing::error!(%bucket, %key, %reason, "backfill: object not forwarded");
    tally.advance(0, 0);
    total.add(ObjectSummary::new(bucket, key, trailwatch::trail::FileKind::Log).failed(reason));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        use clap::Parser;
        let cli =
            crate::Cli::try_parse_from(std::iter::once("forwarder").chain(args.iter().copied()))?;
        match cli.command {
            Some(crate::Command::Backfill(args)) => Ok(args),
            None => panic!("no command"),
        }
    }

    #[test]
    fn the_arguments_are_taken_and_repeatable_filters_add_up() {
        let args = parse(&[
            "backfill",
            "--s3-bucket",
            "b",
            "--start-time",
            "2026-11-20T00:00:00Z",
            "--account-id",
            "111122223333",
            "--account-id",
            "444455556666",
            "--region",
            "eu-west-1",
            "--dry-run",
        ])
        .unwrap();
        assert_eq!(args.accounts.len(), 2);
        assert_eq!(args.regions, ["eu-west-1"]);
        assert!(args.dry_run);
        let missing = parse(&["backfill", "--start-time", "x"]).unwrap_err();
        assert_eq!(
            missing.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(missing.to_string().contains("--s3-bucket"), "{missing}");
        // Only what is missing is named missing (the flag given is not).
        let named = missing.to_string();
        let named = named.split("Usage:").next().unwrap_or_default().to_owned();
        assert!(!named.contains("--start-time"), "{missing}");
        let unknown = parse(&["backfill", "--bogus", "x"]).unwrap_err();
        assert_eq!(unknown.kind(), clap::error::ErrorKind::UnknownArgument);
        assert_eq!(unknown.exit_code(), 2);
    }
}
