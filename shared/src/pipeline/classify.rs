//! The first step of an object's path, and the only place that decides whether it is read:
//! every skip rule, in order.

use super::outcome::{Failure, Outcome, Settled, Skip, empty};
use crate::logs::KeyFacts;
use crate::object::{NotifiedObject, ObjectRef};
use crate::route::Routes;
use crate::summary::ObjectSummary;
use crate::trail::{AllowedAccounts, FileKind, TrailKey};

/// What to do with a notified object.
// One value per object, moved once: boxing either variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    /// Not read: skipped, or failed for good when its key does not decode.
    Done(Settled),
    /// To be read.
    Read(ToRead),
}

/// An object to read, what its key says, and its summary so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ToRead {
    pub object: ObjectRef,
    pub key_facts: KeyFacts,
    pub summary: ObjectSummary,
}

/// Decides skip or read. `routes`: an Insights or aggregated-events file is read only when a
/// route may select its category; `accounts`: whose files are read.
pub fn classify(
    notified: &NotifiedObject,
    routes: &Routes,
    accounts: &AllowedAccounts,
) -> Classified {
    let object = match notified.decode() {
        Ok(object) => object,
        Err(error) => {
            let summary =
                ObjectSummary::new(&notified.bucket, &notified.encoded_key, FileKind::Other);
            let failed = Outcome::Failed(Failure::UndecodableKey(error));
            return Classified::Done(Settled::new(summary, failed));
        }
    };
    let trail_key = TrailKey::parse(&object.key);
    let kind = trail_key.as_ref().map_or(FileKind::Other, |key| key.kind);
    let mut summary = ObjectSummary::new(&object.bucket, &object.key, kind);
    let skip = |summary: ObjectSummary, skip: Skip| {
        Classified::Done(Settled::new(summary, Outcome::Skipped(skip)))
    };
    if let Some(event) = notified.not_created_event() {
        return skip(summary, Skip::NotCreated(event.to_owned()));
    }
    let Some(trail_key) = trail_key else {
        return skip(summary, Skip::NotTrailLayout);
    };
    if !trail_key.name_agrees_with_folder() {
        return skip(summary, Skip::NameDisagreesWithFolder);
    }
    if !accounts.allows(trail_key.account_id) {
        let account = trail_key.account_id.to_owned();
        return skip(summary, Skip::AccountNotAllowed(account));
    }
    if !routes.reads(kind) {
        let reason = match kind {
            FileKind::Insight => Skip::InsightsNotRouted,
            FileKind::Aggregated => Skip::AggregatedNotRouted,
            FileKind::Digest | FileKind::BackfillDigest => Skip::Digest,
            FileKind::Log | FileKind::Other => Skip::NotLogFile,
        };
        return skip(summary, reason);
    }
    if object.size == Some(0) {
        return Classified::Done(empty(summary));
    }
    if object.start_record > 0 {
        summary.resumed_at = Some(object.start_record);
    }
    let key_facts = KeyFacts::for_key(&trail_key);
    Classified::Read(ToRead {
        object,
        key_facts,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::KeyEncoding;
    use crate::selector::Selectors;

    const LOG: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T1205Z_abcdefghijklmnop.json.gz";
    const INSIGHT: &str = "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/25/111122223333_CloudTrail-Insight_us-east-1_20261125T1205Z_abcdefghijklmnop.json.gz";
    const AGGREGATED: &str = "AWSLogs/o-aa11bb22cc/444455556666/CloudTrail-Aggregated/eu-west-1/2026/11/25/444455556666_CloudTrail-Aggregated_eu-west-1_20261125T1205Z_abcdefghijklmnop.json.gz";
    const DIGEST: &str = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/25/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261125T120000Z.json.gz";

    fn notified(key: &str) -> NotifiedObject {
        NotifiedObject {
            event_name: Some("ObjectCreated:Put".into()),
            bucket: "b".into(),
            encoded_key: key.into(),
            key_encoding: KeyEncoding::Plain,
            size: Some(10),
            ..NotifiedObject::default()
        }
    }

    fn all() -> Routes {
        Routes::single("/g", Selectors::All)
    }

    fn reason(classified: Classified) -> Option<String> {
        match classified {
            Classified::Done(Settled { outcome, .. }) => match outcome {
                Outcome::Skipped(skip) => Some(skip.to_string()),
                Outcome::Failed(failure) => {
                    assert!(!failure.is_retryable(), "{failure}");
                    Some(failure.to_string())
                }
                other => panic!("not a classify outcome: {other:?}"),
            },
            Classified::Read(_) => None,
        }
    }

    #[test]
    fn a_log_file_is_read_with_what_its_key_says() {
        let Classified::Read(read) = classify(&notified(LOG), &all(), &AllowedAccounts::All) else {
            panic!("not read");
        };
        assert_eq!(read.key_facts.account_id, "111122223333");
        assert_eq!(
            (read.summary.kind, read.summary.key.as_str()),
            (FileKind::Log, LOG)
        );
    }

    #[test]
    fn an_account_outside_the_allow_list_is_not_forwarded() {
        let only = AllowedAccounts::parse("444455556666").unwrap();
        let Classified::Done(settled) = classify(&notified(LOG), &all(), &only) else {
            panic!("read");
        };
        assert_eq!(
            settled.outcome,
            Outcome::Skipped(Skip::AccountNotAllowed("111122223333".into()))
        );
        assert!(matches!(
            classify(&notified(AGGREGATED), &all(), &only),
            Classified::Read(_)
        ));
    }

    #[test]
    fn a_file_named_for_another_day_than_its_folder_is_not_forwarded() {
        let planted = LOG.replace("/2026/11/25/", "/2026/11/26/");
        let Classified::Done(settled) =
            classify(&notified(&planted), &all(), &AllowedAccounts::All)
        else {
            panic!("read");
        };
        assert_eq!(
            settled.outcome,
            Outcome::Skipped(Skip::NameDisagreesWithFolder)
        );
        assert!(matches!(
            classify(&notified(LOG), &all(), &AllowedAccounts::All),
            Classified::Read(_)
        ));
    }

    #[test]
    fn an_aggregated_events_file_is_read_when_a_route_may_select_it() {
        let Classified::Read(read) = classify(&notified(AGGREGATED), &all(), &AllowedAccounts::All)
        else {
            panic!("not read");
        };
        assert_eq!(read.summary.kind, FileKind::Aggregated);
        assert_eq!(read.key_facts.account_id, "444455556666");
        let aggregated =
            r#"[{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Aggregated"]}]}]"#;
        let routes = Routes::single("/g", Selectors::from_json(aggregated).unwrap());
        assert!(matches!(
            classify(&notified(AGGREGATED), &routes, &AllowedAccounts::All),
            Classified::Read(_)
        ));
    }

    #[test]
    fn every_skip_rule_names_its_reason() {
        let management = r#"[{"ReadWriteType": "All", "IncludeManagementEvents": true}]"#;
        let routes = Routes::single("/g", Selectors::from_json(management).unwrap());
        let mut removed = notified(LOG);
        removed.event_name = Some("ObjectRemoved:Delete".into());
        let mut empty = notified(LOG);
        empty.size = Some(0);
        let mut undecodable = notified("bad%FF");
        undecodable.key_encoding = KeyEncoding::Form;
        for (object, wanted) in [
            (
                removed,
                "not an ObjectCreated notification (ObjectRemoved:Delete)",
            ),
            (
                notified("AWSLogs/111122223333/Config/ConfigWritabilityCheckFile"),
                "not a CloudTrail file",
            ),
            (notified(DIGEST), "digest file"),
            (
                notified(INSIGHT),
                "Insights file: no route selects Insight events",
            ),
            (
                notified(AGGREGATED),
                "aggregated events file: no route selects Aggregated events",
            ),
            (empty, "zero-byte object"),
            (undecodable, "does not decode"),
        ] {
            let found =
                reason(classify(&object, &routes, &AllowedAccounts::All)).unwrap_or_default();
            assert!(found.contains(wanted), "{found:?} for {wanted:?}");
        }
    }

    #[test]
    fn insights_files_are_read_when_a_route_selects_insight_events() {
        let routes = Routes::from_json(
            r#"[{"logGroupName": "/i", "selectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Insight"]}]}]}]"#,
        )
        .unwrap();
        assert!(matches!(
            classify(&notified(INSIGHT), &routes, &AllowedAccounts::All),
            Classified::Read(_)
        ));
    }

    #[test]
    fn a_resumed_object_says_where_it_resumed() {
        let mut resumed = notified(LOG);
        resumed.start_record = 812;
        let Classified::Read(read) = classify(&resumed, &all(), &AllowedAccounts::All) else {
            panic!("not read");
        };
        assert_eq!(read.summary.resumed_at, Some(812));
    }
}
