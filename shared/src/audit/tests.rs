//! The audit over in-memory ports: a signed trail's hours forwarded as the forwarder would
//! (its planner, its batches), then the groups tampered with in each way an insider could.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::sync::{Arc, OnceLock};

use flate2::read::GzDecoder;

use super::*;
use crate::config::ForwarderConfig;
use crate::digest::fakes::MemoryStore;
use crate::digest::locate::{Scope, TrailDigests};
use crate::digest::signature::parse_public_key;
use crate::digest::store::PublicKeys;
use crate::digest::validate::validate_range;
use crate::generate::signed::SignedTrail;
use crate::generate::{TrailSpec, gzip, write_log_file};
use crate::logs::LogEvent;
use crate::pipeline::fakes::MemorySink;

const BUCKET: &str = "trail-bucket";
/// 2026-11-24T00:00:00Z
const T0: i64 = 1_795_478_400;
const HOUR: i64 = 3600;
const GROUP: &str = "/trailwatch/audit";

fn trail() -> &'static SignedTrail {
    static TRAIL: OnceLock<SignedTrail> = OnceLock::new();
    TRAIL.get_or_init(|| SignedTrail::new(BUCKET, "111122223333", "us-east-1", "audit", 21))
}

fn settings() -> AuditSettings {
    let config =
        ForwarderConfig::from_lookup(|name| (name == "LOG_GROUP_NAME").then(|| GROUP.to_owned()))
            .unwrap();
    AuditSettings {
        routes: Arc::new(config.routes),
        allowed_accounts: config.allowed_accounts,
        max_decompressed_bytes: config.max_decompressed_bytes,
        // The window is then the first two of the three hours.
        delivery_delay_seconds: HOUR,
    }
}

/// Three signed hours, each with one log file; the store and the log file keys.
fn signed_hours() -> (MemoryStore, Vec<String>) {
    let mut store = MemoryStore::default();
    let mut logs = Vec::new();
    let mut previous = None;
    for hour in 0..3 {
        let (start, end) = (T0 + hour * HOUR, T0 + (hour + 1) * HOUR);
        let mut spec = TrailSpec::recent(300 + hour as u64);
        spec.delivery_millis = (start + 600) * 1000;
        spec.newest_event_millis = (start + 540) * 1000;
        let mut body = Vec::new();
        write_log_file(&spec, 20_000, &mut body).unwrap();
        let mut inflated = Vec::new();
        GzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        store.objects.insert(spec.key(), (body, Vec::new()));
        let digest = trail().digest(start, end, &[(spec.key(), inflated)], previous.as_ref());
        let mut digest_inflated = Vec::new();
        GzDecoder::new(&digest.body[..])
            .read_to_end(&mut digest_inflated)
            .unwrap();
        previous = Some(trail().link(&digest, &digest_inflated));
        store.put(&digest);
        logs.push(spec.key());
    }
    (store, logs)
}

/// Puts each file's events into `sink` as the forwarder does.
fn forward(store: &MemoryStore, logs: &[String], sink: &MemorySink) {
    let routes = settings().routes;
    for key in logs {
        sink.store_as_forwarded(key, &store.objects[key].0, &routes);
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
        .block_on(future)
}

fn audit(store: MemoryStore, sink: &MemorySink) -> Audit {
    block_on(audit_of(&Arc::new(store), sink))
}

async fn audit_of<L: LogSink>(store: &Arc<MemoryStore>, logs: &L) -> Audit {
    audit_with(store, logs, &settings()).await
}

async fn audit_with<L: LogSink>(
    store: &Arc<MemoryStore>,
    logs: &L,
    settings: &AuditSettings,
) -> Audit {
    let mut keys = PublicKeys {
        region: "us-east-1".into(),
        ..PublicKeys::default()
    };
    let key = parse_public_key(&trail().public_key_der()).unwrap();
    keys.by_fingerprint.insert(trail().fingerprint.clone(), key);
    let scope = Scope {
        trail: TrailDigests {
            prefix: None,
            organization_id: None,
            account_id: "111122223333".into(),
            source_region: "us-east-1".into(),
            home_region: "us-east-1".into(),
            trail_name: "audit".into(),
        },
        bucket: BUCKET.into(),
        start: T0,
        end: T0 + 3 * HOUR,
    };
    let report = validate_range(Arc::clone(store), &keys, &scope)
        .await
        .unwrap();
    let validated = Validated {
        scope,
        what: "the range".into(),
        report,
    };
    audit_validated(Arc::clone(store), logs, validated, settings).await
}

fn lines(audit: &Audit) -> Vec<String> {
    audit.findings.iter().map(ToString::to_string).collect()
}

#[test]
fn a_clean_range_is_every_signed_record_exactly_once() {
    let (store, logs) = signed_hours();
    let sink = MemorySink::default();
    forward(&store, &logs, &sink);
    let audit = audit(store, &sink);
    assert!(audit.findings.is_empty(), "{:?}", lines(&audit));
    assert!(audit.not_audited.is_empty(), "{:?}", audit.not_audited);
    assert!(audit.signed_events > 30, "{}", audit.signed_events);
    assert_eq!(audit.exactly_once, audit.signed_events);
    assert_eq!(audit.exit_code(), 0);
    assert_eq!(
        audit.summary(),
        format!(
            "{0}/{0} signed records in CloudWatch Logs exactly once, as signed",
            audit.signed_events
        )
    );
}

/// The one stream the trail's records go to.
fn the_stream(sink: &MemorySink) -> crate::logs::Destination {
    sink.events.lock().unwrap()[0].0.clone()
}

#[test]
fn an_event_put_into_a_forwarded_stream_is_unsigned_and_named() {
    let (store, logs) = signed_hours();
    let sink = MemorySink::default();
    forward(&store, &logs, &sink);
    let stream = the_stream(&sink);
    let fake = r#"{"eventVersion":"1.09","eventID":"00000000-fake-4000-8000-000000000000","eventName":"ConsoleLogin"}"#;
    let injected = LogEvent {
        timestamp: (T0 + 1000) * 1000,
        message: fake.to_owned(),
        record_index: 0,
    };
    sink.events.lock().unwrap().push((stream, injected));
    let audit = audit(store, &sink);
    assert_eq!(
        lines(&audit),
        [format!(
            "Unsigned\t{GROUP} 111122223333_CloudTrail_us-east-1\tan event at 2026-11-24T00:16:40Z (eventID 00000000-fake-4000-8000-000000000000): in no signed log file (injected, or altered)"
        )]
    );
    assert_eq!(audit.exactly_once, audit.signed_events);
    assert_eq!(audit.exit_code(), 1);
}

#[test]
fn a_deleted_stream_names_every_record_it_held() {
    let (store, logs) = signed_hours();
    let sink = MemorySink::default();
    forward(&store, &logs, &sink);
    sink.events.lock().unwrap().clear();
    let audit = audit(store, &sink);
    assert_eq!(audit.exactly_once, 0);
    assert_eq!(audit.findings.len() as u64, audit.signed_events);
    let line = lines(&audit)[0].clone();
    assert!(
        line.starts_with(&format!(
            "Missing\t{GROUP} 111122223333_CloudTrail_us-east-1\ts3://{BUCKET}/{}",
            logs[0]
        )),
        "{line}"
    );
    assert!(line.contains(" (eventID "), "{line}");
    assert_eq!(audit.exit_code(), 1);
}

#[test]
fn a_record_altered_is_missing_and_unsigned_and_one_put_twice_is_duplicated() {
    let (store, logs) = signed_hours();
    let sink = MemorySink::default();
    forward(&store, &logs, &sink);
    {
        let mut events = sink.events.lock().unwrap();
        let (destination, first) = events[0].clone();
        events.push((destination, first));
        let altered = &mut events[1].1;
        altered.message = altered
            .message
            .replace("\"eventName\":\"", "\"eventName\":\"X");
    }
    let audit = audit(store, &sink);
    let found = lines(&audit);
    let kinds: Vec<&str> = found
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(kinds, ["Duplicated", "Missing", "Unsigned"], "{found:?}");
    assert!(found[0].ends_with(": 2 times in its stream"), "{found:?}");
    assert_eq!(audit.exactly_once, audit.signed_events - 2);
}

#[test]
fn a_file_not_valid_in_s3_is_not_audited_and_an_event_outside_the_window_is_not_judged() {
    let (mut store, logs) = signed_hours();
    let sink = MemorySink::default();
    forward(&store, &logs, &sink);
    // The last hour's file modified after it was forwarded; an event put at the range's end,
    // past the window (it may come from the next hour's files).
    store.objects.get_mut(&logs[2]).unwrap().0 = gzip(b"{\"Records\":[]}");
    let stream = the_stream(&sink);
    let late = LogEvent {
        timestamp: (T0 + 3 * HOUR - 60) * 1000,
        message: "{\"eventID\":\"late\"}".into(),
        record_index: 0,
    };
    sink.events.lock().unwrap().push((stream, late));
    let audit = audit(store, &sink);
    assert!(audit.findings.is_empty(), "{:?}", lines(&audit));
    let not_audited: Vec<String> = audit.not_audited.iter().map(ToString::to_string).collect();
    assert_eq!(not_audited.len(), 1, "{not_audited:?}");
    assert!(
        not_audited[0].starts_with(&format!(
            "Not audited\ts3://{BUCKET}/{}\tnot valid in S3 (INVALID: hash value",
            logs[2]
        )),
        "{not_audited:?}"
    );
    // The file's own INVALID verdict is the finding: the audit exits 1.
    assert_eq!(audit.exit_code(), 1);
}

/// A CloudWatch Logs that cannot be read (throttled past the SDK's retries).
struct Unreadable;

impl LogSink for Unreadable {
    async fn put(
        &self,
        _destination: &crate::logs::Destination,
        _batch: &crate::logs::Batch,
        _deadline: Option<tokio::time::Instant>,
    ) -> Result<crate::logs::PutOutcome, crate::ports::CallError> {
        unreachable!("the audit only reads")
    }

    async fn events_between(
        &self,
        _destination: &crate::logs::Destination,
        _start_millis: i64,
        _end_millis: i64,
        _token: Option<String>,
    ) -> Result<crate::ports::EventsPage, crate::ports::CallError> {
        Err(crate::ports::CallError::transient(
            "GetLogEvents",
            "ThrottlingException",
        ))
    }
}

#[test]
fn a_stream_that_cannot_be_read_is_not_audited_and_nothing_in_it_is_called_missing() {
    let (store, _) = signed_hours();
    let store = Arc::new(store);
    let audit = block_on(audit_of(&store, &Unreadable));
    assert!(audit.findings.is_empty(), "{:?}", lines(&audit));
    assert_eq!(audit.not_audited.len(), 1, "{:?}", audit.not_audited);
    assert!(
        audit.not_audited[0]
            .to_string()
            .contains("GetLogEvents failed: ThrottlingException"),
        "{:?}",
        audit.not_audited
    );
    assert_eq!(audit.exit_code(), 255);
}

#[test]
fn an_account_the_forwarder_does_not_read_is_not_expected_in_its_groups() {
    // Given: ALLOWED_ACCOUNT_IDS names another account, so the forwarder skipped every file.
    let (store, _) = signed_hours();
    let mut settings = settings();
    settings.allowed_accounts = crate::trail::AllowedAccounts::parse("999988887777").unwrap();
    // When
    let audit = block_on(audit_with(
        &Arc::new(store),
        &MemorySink::default(),
        &settings,
    ));
    // Then: nothing is missing; its records are not forwarded by design.
    assert!(audit.findings.is_empty(), "{:?}", lines(&audit));
    assert_eq!(audit.signed_events, 0);
    assert!(
        audit.not_forwarded_by_design > 30,
        "{}",
        audit.not_forwarded_by_design
    );
    assert_eq!(audit.exit_code(), 0);
}
