//! Trail silence: while a trail logs, CloudTrail delivers a digest file for each region every
//! hour, even for an hour with no log files
//! (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html).
//! A region whose newest digest is older than that hour plus a margin has gone quiet: logging
//! stopped, or delivery broke (a bucket policy, a KMS grant). No peer checks this; deleting
//! nothing and writing nothing is the quietest way to blind an audit trail.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::locate::{Located, TrailDigests, TrailPart};
use super::request::ResolvedRange;
use super::store::{CallError, DigestStore, list_keys};
use crate::clock::iso_text;
use crate::trail::{date_folder, key_time};

/// CloudTrail's digest interval.
pub(crate) const DIGEST_INTERVAL_SECONDS: i64 = 3600;
/// How long past the interval a digest may take to arrive before its region counts as late.
pub(crate) const LATE_MARGIN_SECONDS: i64 = 30 * 60;
/// How far back the newest digest is looked for; a part with none in this time is taken as no
/// longer logging by design (a region or account that left the trail), not reported.
pub(crate) const LOOKBACK_DAYS: i64 = 7;
/// Parts listed at once.
const PARTS_AT_ONCE: usize = 16;

/// What the newest digest of one account and region says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lateness {
    /// Whose digests: the account, region and trail.
    pub trail: TrailDigests,
    /// The newest digest's end time (from its key), epoch seconds; `None`: none in the
    /// lookback.
    pub newest: Option<i64>,
    pub late: bool,
}

impl Lateness {
    /// The rule: late when a digest was delivered in the lookback and none in the interval
    /// plus the margin.
    pub fn judge(trail: TrailDigests, newest: Option<i64>, now: i64) -> Self {
        let late = newest.is_some_and(|t| now - t > DIGEST_INTERVAL_SECONDS + LATE_MARGIN_SECONDS);
        Self {
            trail,
            newest,
            late,
        }
    }

    /// The verdict line, worded as the others: `Digests late\t<account> <region>\t…`.
    pub fn line(&self, now: i64) -> String {
        let newest = self.newest.unwrap_or(now);
        format!(
            "Digests late\t{} {}\tno digest since {} ({} minutes; one is due every {} minutes)",
            self.trail.account_id,
            self.trail.source_region,
            iso_text(newest),
            (now - newest) / 60,
            DIGEST_INTERVAL_SECONDS / 60,
        )
    }
}

/// How far past now a digest's key time may be (clocks differ): a later one was not written by
/// CloudTrail, whose digests are named for the end of an hour already past.
const FUTURE_TOLERANCE_SECONDS: i64 = 300;

/// The newest digest of `trail`'s region in the lookback, by key time. A key dated in the
/// future is left out: planted, it would otherwise hide a region whose digests stopped.
pub(crate) async fn newest_digest<S: DigestStore>(
    store: &S,
    trail: &TrailDigests,
    bucket: &str,
    now: i64,
) -> Result<Option<i64>, CallError> {
    let prefix = trail.list_prefix();
    let start_after = format!(
        "{prefix}{}",
        date_folder(now - LOOKBACK_DAYS * 86_400).trim_end_matches('/')
    );
    let keys = list_keys(store, bucket, &prefix, &start_after).await?;
    Ok(keys
        .iter()
        .filter(|key| trail.owns(key))
        .filter_map(|key| key_time(key))
        .filter(|time| *time <= now + FUTURE_TOLERANCE_SECONDS)
        .max())
}

/// Judges every part, a few listed at once; one LIST call per part on a healthy trail.
pub(crate) async fn check_lateness<S: DigestStore>(
    store: Arc<S>,
    located: &Located,
    range: &ResolvedRange,
    parts: Vec<TrailPart>,
    now: i64,
) -> Result<Vec<Lateness>, CallError> {
    let mut running: JoinSet<Result<Lateness, CallError>> = JoinSet::new();
    let mut judged = Vec::new();
    for part in parts {
        if running.len() >= PARTS_AT_ONCE {
            judged.push(joined(running.join_next().await)?);
        }
        let trail = part.digests(located, range);
        let store = Arc::clone(&store);
        let bucket = located.bucket.clone();
        running.spawn(async move {
            let newest = newest_digest(&*store, &trail, &bucket, now).await?;
            Ok(Lateness::judge(trail, newest, now))
        });
    }
    while let Some(done) = running.join_next().await {
        judged.push(joined(Some(done))?);
    }
    judged.sort_by(|a, b| {
        let key = |l: &Lateness| (l.trail.account_id.clone(), l.trail.source_region.clone());
        key(a).cmp(&key(b))
    });
    Ok(judged)
}

fn joined(
    done: Option<Result<Result<Lateness, CallError>, tokio::task::JoinError>>,
) -> Result<Lateness, CallError> {
    match done {
        Some(Ok(result)) => result,
        // A listing task that stopped proves nothing: the check fails and runs again.
        Some(Err(error)) => Err(CallError::transient("digest listing", error.to_string())),
        None => Err(CallError::transient("digest listing", "no task to join")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part() -> TrailDigests {
        TrailDigests {
            prefix: None,
            organization_id: None,
            account_id: "111122223333".into(),
            source_region: "eu-west-1".into(),
            home_region: "us-east-1".into(),
            trail_name: "audit".into(),
        }
    }

    #[test]
    fn a_region_is_late_only_past_the_interval_and_the_margin() {
        let now = 1_800_000_000;
        let due = DIGEST_INTERVAL_SECONDS + LATE_MARGIN_SECONDS;
        assert!(!Lateness::judge(part(), Some(now - due), now).late);
        assert!(Lateness::judge(part(), Some(now - due - 1), now).late);
        assert!(!Lateness::judge(part(), Some(now - 60), now).late);
        assert!(
            !Lateness::judge(part(), None, now).late,
            "no digest in the lookback: no longer part of the trail"
        );
    }

    #[test]
    fn the_line_names_the_part_and_how_long_it_has_been() {
        let now = 1_800_000_000;
        let lateness = Lateness::judge(part(), Some(now - 3 * 3600), now);
        assert_eq!(
            lateness.line(now),
            format!(
                "Digests late\t111122223333 eu-west-1\tno digest since {} (180 minutes; one is due every 60 minutes)",
                iso_text(now - 3 * 3600)
            )
        );
    }
}
