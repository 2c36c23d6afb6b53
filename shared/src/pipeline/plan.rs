//! Turns one log file into PutLogEvents batches, record by record: decompress, split, view
//! fields, name the destination, batch. Pure and synchronous: it runs on a blocking thread
//! beside the network side, and in tests and benchmarks on its own.

use std::io::{self, Read};
use std::sync::Arc;

use super::deadline::StopSignal;
use super::tally::{DryRunTally, dry_run_source};
use crate::digest::hash::HashingReader;
use crate::logs::batch::MAX_MESSAGE_BYTES;
use crate::logs::{Batch, BatchBuilder, Destination, KeyFacts, LogEvent, RejectedReasons};
use crate::object::Sha256;
use crate::route::Routes;
use crate::summary::{WouldFilter, WouldForward};
use crate::trail::file::decompress_at_most;
use crate::trail::split::{Element, split_records};
use crate::trail::{FileError, RecordError, RecordFields, Stop};

/// Invalid or oversized records logged one by one per file; the rest only in the counts.
const LOGGED_RECORD_PROBLEMS: u64 = 10;

/// A batch ready to be put.
#[derive(Debug)]
pub struct ReadyBatch {
    pub destination: Destination,
    pub batch: Batch,
    /// Set on the last batch before a batch boundary: once it and those before it are
    /// delivered, every record before the boundary is, and none from it on.
    pub boundary: Option<Boundary>,
}

/// A batch boundary: every record before `next_record` is in an emitted batch. With what the
/// planner made of the records it read before it (from the start record): `read` in all, of
/// which `filtered` by selection and `rejected` before batching; the rest are in batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boundary {
    pub next_record: u64,
    pub read: u64,
    pub filtered: u64,
    pub rejected: u64,
}

/// What reading one file produced, before delivery.
#[derive(Debug, Default)]
pub struct FilePlan {
    /// Records read from the file.
    pub records: u64,
    /// Records left out by selection.
    pub filtered: u64,
    /// Records that could not become events (`too_large`, `invalid_record`).
    pub rejected: RejectedReasons,
    /// Records handed to batches.
    pub batched: u64,
    /// Dry runs: what the batched records are, by route, category and event source.
    pub would_forward: Vec<WouldForward>,
    /// Dry runs: what the filtered records are, by category and event source.
    pub would_filter: Vec<WouldFilter>,
    /// Reading stopped early on request: every record before this index was batched and
    /// emitted, none from it on. A later invocation resumes here.
    pub handoff_at: Option<u64>,
    /// Compressed bytes read from the source.
    pub bytes_read: u64,
    /// The oldest eventTime among batched records, in epoch milliseconds.
    pub oldest_event_millis: Option<i64>,
    /// Why the file was not read to its end.
    pub error: Option<FileError>,
    /// Where reading stopped: the index after the last record read (the record count at the
    /// end of the file, `handoff_at` at a handoff).
    pub next_record: u64,
    /// SHA-256 of every decompressed byte (lower-case hex), when the file was read to its end:
    /// what its digest's `hashValue` must be.
    pub sha256: Option<Sha256>,
}

/// Everything the planner needs to know about the object being read.
pub struct PlanContext {
    pub key_facts: KeyFacts,
    pub routes: Arc<Routes>,
    /// Tally what would be forwarded by route, category and event source.
    pub dry_run: bool,
    /// Records before this index were forwarded by an earlier invocation: skip them.
    pub start_record: u64,
    /// Decompressed bytes allowed before the object counts as a decompression bomb.
    pub max_decompressed_bytes: u64,
    /// Given when the invocation nears its deadline: stop at the next batch boundary.
    pub stop: StopSignal,
}

/// Reads `compressed` to its end, handing each closed batch to `emit`. Records read before an
/// error are still batched and emitted; `emit` failing (the receiver is gone) stops the reading.
pub fn plan_file<R, F>(compressed: R, context: &PlanContext, emit: F) -> FilePlan
where
    R: Read,
    F: FnMut(ReadyBatch) -> Result<(), Stop>,
{
    let mut planner = Planner {
        context,
        emit,
        open: Vec::new(),
        stream_name: String::new(),
        plan: FilePlan::default(),
        delivery_stopped: false,
        emitted: 0,
        position: context.start_record,
        tally: DryRunTally::default(),
    };
    let mut source = CountingReader {
        inner: compressed,
        bytes: 0,
    };
    let limit = context.max_decompressed_bytes;
    let read = decompress_at_most(&mut source, limit).and_then(|records| {
        let mut records = HashingReader::new(records);
        split_records(&mut records, MAX_MESSAGE_BYTES, |index, element| {
            planner.add(index, element)
        })?;
        records
            .finish()
            .map_err(crate::trail::file::classify_read_error)
    });
    match read {
        // Stopping for a handoff is not a failure.
        Err(FileError::Stopped) if planner.plan.handoff_at.is_some() => {}
        Err(error) => planner.plan.error = Some(error),
        Ok(sha256) => planner.plan.sha256 = Some(sha256),
    }
    planner.plan.next_record = planner.position;
    planner.flush_all(planner.position);
    planner.plan.bytes_read = source.bytes;
    (planner.plan.would_forward, planner.plan.would_filter) =
        planner.tally.into_entries(&context.routes);
    planner.plan
}

struct CountingReader<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

struct Planner<'c, F> {
    context: &'c PlanContext,
    emit: F,
    /// One open batch per route and stream; a file rarely has more than a few.
    open: Vec<(usize, Destination, BatchBuilder)>,
    /// Reused for each record's stream name.
    stream_name: String,
    plan: FilePlan,
    delivery_stopped: bool,
    /// Batches emitted so far: a handoff waits for the first, so every invocation progresses.
    emitted: u64,
    /// The index after the last record seen.
    position: u64,
    tally: DryRunTally,
}

impl<F> Planner<'_, F>
where
    F: FnMut(ReadyBatch) -> Result<(), Stop>,
{
    fn add(&mut self, index: u64, element: Element<'_>) -> Result<(), Stop> {
        if index < self.context.start_record {
            return Ok(());
        }
        self.position = index + 1;
        self.plan.records += 1;
        match element {
            Element::Record { text, fields } => self.add_record(index, text, Ok(fields))?,
            Element::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => self.add_record(index, text, RecordFields::parse(text))?,
                Err(_) => self.invalid(index, "the record is not UTF-8 text"),
            },
            Element::TooDeep(_) => self.invalid(index, "the record nests deeper than 512 levels"),
            Element::TooLarge(bytes) => self.too_large(index, bytes),
        }
        // A handoff once a batch went out, or when nothing waits in an open batch (every
        // record so far filtered or rejected): either way this invocation progressed, and
        // every record before the handoff is accounted for.
        if self.context.stop.is_given() && (self.emitted > 0 || self.nothing_open()) {
            self.plan.handoff_at = Some(index + 1);
            return Err(Stop);
        }
        Ok(())
    }

    fn nothing_open(&self) -> bool {
        self.open.iter().all(|(_, _, builder)| builder.is_empty())
    }

    fn too_large(&mut self, index: u64, bytes: u64) {
        self.plan.rejected.too_large += 1;
        if self.plan.rejected.too_large <= LOGGED_RECORD_PROBLEMS {
            tracing::warn!(
                record_index = index,
                bytes,
                "record too large for CloudWatch Logs"
            );
        }
    }

    fn invalid(&mut self, index: u64, reason: &str) {
        self.plan.rejected.invalid_record += 1;
        if self.plan.rejected.invalid_record <= LOGGED_RECORD_PROBLEMS {
            tracing::warn!(record_index = index, reason = %reason, "invalid record");
        }
    }

    fn add_record(
        &mut self,
        index: u64,
        text: &str,
        fields: Result<RecordFields<'_>, RecordError>,
    ) -> Result<(), Stop> {
        let routed = match fields.and_then(|fields| self.route(text, &fields)) {
            Ok(routed) => routed,
            Err(error) => {
                self.invalid(index, &describe(&error));
                return Ok(());
            }
        };
        let Some(Routed { route, timestamp }) = routed else {
            self.plan.filtered += 1;
            return Ok(());
        };
        let slot = self.destination_slot(route);
        let event = LogEvent {
            timestamp,
            message: text.to_owned(),
            record_index: index,
        };
        let (_, destination, builder) = &mut self.open[slot];
        match builder.push(event) {
            Ok(closed) => {
                self.plan.batched += 1;
                let oldest = self.plan.oldest_event_millis.get_or_insert(timestamp);
                *oldest = (*oldest).min(timestamp);
                if let Some(batch) = closed {
                    // A boundary before this record: the other open batches close with it,
                    // so that every record before it is in an emitted batch.
                    let destination = destination.clone();
                    self.flush_others(slot)?;
                    self.send(destination, batch, Some(index))?;
                }
            }
            Err(too_large) => self.too_large(index, too_large.bytes as u64),
        }
        Ok(())
    }

    /// Chooses the record's route from its fields; writes its stream name.
    /// `Ok(None)`: no route selects it.
    fn route(
        &mut self,
        text: &str,
        fields: &RecordFields<'_>,
    ) -> Result<Option<Routed>, RecordError> {
        let timestamp = fields.timestamp_millis(text)?;
        let category = fields.category();
        let source = || dry_run_source(text, fields, category);
        let Some(route) = self.context.routes.route_for(fields) else {
            if self.context.dry_run {
                self.tally.filter(category, &source());
            }
            return Ok(None);
        };
        self.context.routes.get(route).stream.write(
            &self.context.key_facts,
            fields,
            category,
            &mut self.stream_name,
        );
        // The message is the record's text; one too large to send is not counted here.
        if self.context.dry_run && text.len() <= MAX_MESSAGE_BYTES {
            self.tally.add(route, category, &source(), text.len());
        }
        Ok(Some(Routed { route, timestamp }))
    }

    fn destination_slot(&mut self, route: usize) -> usize {
        let found = self
            .open
            .iter()
            .position(|(r, d, _)| *r == route && *d.log_stream == *self.stream_name);
        if let Some(slot) = found {
            return slot;
        }
        let destination = Destination {
            log_group: Arc::clone(&self.context.routes.get(route).log_group),
            log_stream: Arc::from(self.stream_name.as_str()),
        };
        self.open.push((route, destination, BatchBuilder::new()));
        self.open.len() - 1
    }

    fn send(
        &mut self,
        destination: Destination,
        batch: Batch,
        boundary: Option<u64>,
    ) -> Result<(), Stop> {
        self.emitted += 1;
        let boundary = boundary.map(|next_record| Boundary {
            next_record,
            read: next_record.saturating_sub(self.context.start_record),
            filtered: self.plan.filtered,
            rejected: self.plan.rejected.total(),
        });
        let sent = (self.emit)(ReadyBatch {
            destination,
            batch,
            boundary,
        });
        self.delivery_stopped = sent.is_err();
        sent
    }

    /// Emits every open batch but the one in `slot`.
    fn flush_others(&mut self, slot: usize) -> Result<(), Stop> {
        for other in 0..self.open.len() {
            if other == slot {
                continue;
            }
            let (_, destination, builder) = &mut self.open[other];
            if let Some(batch) = builder.finish() {
                let destination = destination.clone();
                self.send(destination, batch, None)?;
            }
        }
        Ok(())
    }

    /// Emits every open batch, the last with the boundary `end`.
    fn flush_all(&mut self, end: u64) {
        if self.delivery_stopped {
            return;
        }
        let closed: Vec<(Destination, Batch)> = self
            .open
            .iter_mut()
            .filter_map(|(_, destination, builder)| {
                builder.finish().map(|batch| (destination.clone(), batch))
            })
            .collect();
        let last = closed.len().saturating_sub(1);
        for (i, (destination, batch)) in closed.into_iter().enumerate() {
            let boundary = (i == last).then_some(end);
            if self.send(destination, batch, boundary).is_err() {
                return;
            }
        }
    }
}

struct Routed {
    route: usize,
    timestamp: i64,
}

/// A reason that names what is wrong without quoting the record's values.
fn describe(error: &RecordError) -> String {
    match error {
        RecordError::Shape(json) => format!(
            "not a JSON object with the expected field types ({:?} error at column {})",
            json.classify(),
            json.column()
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::Selectors;
    use crate::trail::EventCategory;
    use crate::trail::TrailKey;

    const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_0123456789abcdef.json.gz";

    fn context() -> PlanContext {
        context_with(Routes::single("group", Selectors::All), false)
    }

    fn context_with(routes: Routes, dry_run: bool) -> PlanContext {
        PlanContext {
            key_facts: KeyFacts::for_key(&TrailKey::parse(KEY).unwrap()),
            routes: Arc::new(routes),
            dry_run,
            start_record: 0,
            max_decompressed_bytes: crate::trail::file::DEFAULT_MAX_DECOMPRESSED_BYTES,
            stop: StopSignal::never(),
        }
    }

    fn gzip(text: &str) -> Vec<u8> {
        crate::generate::gzip(text.as_bytes())
    }

    fn plan(compressed: &[u8]) -> (FilePlan, Vec<ReadyBatch>) {
        plan_in(compressed, &context())
    }

    fn plan_in(compressed: &[u8], context: &PlanContext) -> (FilePlan, Vec<ReadyBatch>) {
        let mut batches = Vec::new();
        let plan = plan_file(compressed, context, |ready| {
            batches.push(ready);
            Ok(())
        });
        (plan, batches)
    }

    #[test]
    fn valid_records_become_events_with_their_exact_text_and_time() {
        let first = r#"{"eventTime":"2024-01-02T03:00:01Z", "awsRegion":"us-east-1"}"#;
        let second = r#"{"eventTime":"2024-01-02T03:00:00Z","recipientAccountId":"444455556666","awsRegion":"eu-west-1"}"#;
        let third = r#"{"eventTime":"2024-01-02T02:59:59Z"}"#;
        let (plan, batches) = plan(&gzip(&format!(
            r#"{{"Records":[{first},{second},{third}]}}"#
        )));
        assert!(plan.error.is_none());
        assert_eq!((plan.records, plan.batched), (3, 3));
        assert_eq!(batches.len(), 2);
        assert_eq!(
            &*batches[0].destination.log_stream,
            "111122223333_CloudTrail_us-east-1"
        );
        let messages: Vec<&str> = batches[0]
            .batch
            .events
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(messages, vec![third, first]);
        assert_eq!(batches[0].batch.events[1].timestamp, 1_704_164_401_000);
        assert_eq!(
            &*batches[1].destination.log_stream,
            "444455556666_CloudTrail_eu-west-1"
        );
        assert_eq!(batches[1].batch.events[0].message, second);
    }

    /// The three documented shapes of an aggregated event (API_ACTIVITY, RESOURCE_ACCESS,
    /// USER_ACTIONS): no eventTime, no recipientAccountId.
    const AGGREGATED: &str = r#"{"Records":[
        {"eventVersion":"1.0","accountId":"444455556666","eventId":"e1","eventCategory":"Aggregated","eventType":"AwsAggregatedEvent","awsRegion":"eu-west-1","eventSource":"s3.amazonaws.com","timeWindow":{"windowStart":"2026-11-25T12:00:00Z","windowEnd":"2026-11-25T12:05:00Z","windowSize":"PT5M"},"summary":{"primaryDimension":{"dimension":"eventName","statistics":[{"name":"GetObject","value":1532}],"aggregationType":"Count"},"details":[{"dimension":"userAgent","statistics":[{"name":"aws-cli/2.15.30","value":1532}],"aggregationType":"Count"}]}},
        {"eventVersion":"1.0","accountId":"444455556666","eventId":"e2","eventCategory":"Aggregated","eventType":"AwsAggregatedEvent","awsRegion":"eu-west-1","eventSource":"s3.amazonaws.com","timeWindow":{"windowStart":"2026-11-25T12:05:00Z","windowEnd":"2026-11-25T12:10:00Z","windowSize":"PT5M"},"summary":{"primaryDimension":{"dimension":"resourceARN","statistics":[{"name":"arn:aws:s3:::app-data/a.json","value":12}],"aggregationType":"Count"},"details":[{"dimension":"eventName","statistics":[{"name":"GetObject","value":12}],"aggregationType":"Count"}]}},
        {"eventVersion":"1.0","accountId":"444455556666","eventId":"e3","eventCategory":"Aggregated","eventType":"AwsAggregatedEvent","awsRegion":"eu-west-1","eventSource":"lambda.amazonaws.com","timeWindow":{"windowStart":"2026-11-25T12:10:00Z","windowEnd":"2026-11-25T12:15:00Z","windowSize":"PT5M"},"summary":{"primaryDimension":{"dimension":"userIdentity","statistics":[{"name":"arn:aws:iam::444455556666:role/app","value":40}],"aggregationType":"Count"},"details":[{"dimension":"eventName","statistics":[{"name":"Invoke","value":40}],"aggregationType":"Count"}]}},
        {"eventVersion":"1.0","accountId":"444455556666","eventCategory":"Aggregated","awsRegion":"eu-west-1","timeWindow":{"windowEnd":"2026-11-25T12:15:00Z"}},
        {"eventVersion":"1.0","accountId":"444455556666","eventCategory":"Aggregated","timeWindow":{"windowStart":"soon"}}
    ]}"#;

    #[test]
    fn aggregated_events_take_their_window_start_and_their_account_in_the_stream() {
        let (plan, batches) = plan(&gzip(AGGREGATED));
        // Neither eventTime nor a valid windowStart: invalidRecord, as any record without a time.
        assert_eq!((plan.records, plan.batched), (5, 3));
        assert_eq!(plan.rejected.invalid_record, 2);
        assert_eq!(batches.len(), 1);
        assert_eq!(
            &*batches[0].destination.log_stream,
            "444455556666_CloudTrail_eu-west-1"
        );
        let times: Vec<i64> = batches[0]
            .batch
            .events
            .iter()
            .map(|e| e.timestamp)
            .collect();
        // 2026-11-25T12:00Z, 12:05Z and 12:10Z.
        assert_eq!(
            times,
            [1_795_608_000_000, 1_795_608_300_000, 1_795_608_600_000]
        );
    }

    #[test]
    fn basic_selectors_never_select_aggregated_events_and_advanced_ones_on_their_category_do() {
        let basic = Routes::single(
            "/g",
            Selectors::from_json(r#"[{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]"#).unwrap(),
        );
        assert!(!basic.may_select(EventCategory::Aggregated));
        let (plan, _) = plan_in(&gzip(AGGREGATED), &context_with(basic, false));
        assert_eq!((plan.batched, plan.filtered), (0, 3));
        let advanced = Routes::single(
            "/g",
            Selectors::from_json(
                r#"[{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Aggregated"]}, {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]}]}]"#,
            )
            .unwrap(),
        );
        assert!(advanced.may_select(EventCategory::Aggregated));
        let (plan, _) = plan_in(&gzip(AGGREGATED), &context_with(advanced, true));
        assert_eq!((plan.batched, plan.filtered), (2, 1));
        assert_eq!(plan.would_forward[0].category, "Aggregated");
        assert_eq!(plan.would_forward[0].records, 2);
    }

    #[test]
    fn invalid_records_are_counted_and_the_rest_still_batched() {
        // A field of the wrong type is ignored (the record is forwarded); no eventTime, a bad
        // one, or a record that is not an object cost that record only.
        let text = r#"{"Records":[7,{"eventName":"x"},{"eventTime":"soon"},{"readOnly":"maybe","eventTime":"2024-01-02T03:00:00Z"},{"eventTime":"2024-01-02T03:00:00Z"}]}"#;
        let (plan, batches) = plan(&gzip(text));
        assert_eq!(plan.records, 5);
        assert_eq!(plan.rejected.invalid_record, 3);
        assert_eq!(plan.batched, 2);
        let forwarded: Vec<u64> = batches[0]
            .batch
            .events
            .iter()
            .map(|e| e.record_index)
            .collect();
        assert_eq!(forwarded, [3, 4]);
    }

    #[test]
    fn oversized_records_are_counted_as_too_large() {
        let padding = "p".repeat(crate::logs::batch::MAX_MESSAGE_BYTES);
        let text = format!(
            r#"{{"Records":[{{"eventTime":"2024-01-02T03:00:00Z","pad":"{padding}"}},{{"eventTime":"2024-01-02T03:00:00Z"}}]}}"#
        );
        let (plan, batches) = plan(&gzip(&text));
        assert_eq!(
            (plan.records, plan.batched, plan.rejected.too_large),
            (2, 1, 1)
        );
        assert_eq!(batches.len(), 1);
    }

    #[test]
    fn records_read_before_corruption_are_still_emitted() {
        let whole = gzip(
            r#"{"Records":[{"eventTime":"2024-01-02T03:00:00Z"},{"eventTime":"2024-01-02T03:00:00Z"}]}"#,
        );
        let (plan, batches) = plan(&whole[..whole.len() - 9]);
        assert!(matches!(plan.error, Some(FileError::Decompress(_))));
        assert_eq!(plan.records, plan.batched);
        assert_eq!(
            batches
                .iter()
                .map(|b| b.batch.events.len() as u64)
                .sum::<u64>(),
            plan.batched
        );
    }

    #[test]
    fn a_non_gzip_object_reads_no_records() {
        let (plan, batches) = plan(b"plain text");
        assert!(matches!(plan.error, Some(FileError::NotGzip)));
        assert_eq!(plan.records, 0);
        assert!(batches.is_empty());
    }

    const MIXED: &str = r#"{"Records":[
        {"eventTime":"2024-01-02T03:00:00Z","eventCategory":"Management","eventSource":"iam.amazonaws.com"},
        {"eventTime":"2024-01-02T03:00:01Z","eventCategory":"Data","eventSource":"s3.amazonaws.com","resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k"}]},
        {"eventTime":"2024-01-02T03:00:02Z","eventCategory":"Data","eventSource":"dynamodb.amazonaws.com","resources":[{"type":"AWS::DynamoDB::Table","ARN":"arn:aws:dynamodb:us-east-1:1:table/T"}]},
        {"eventTime":"2024-01-02T03:00:03Z","eventCategory":"Management","eventSource":"iam.amazonaws.com"},
        {"eventTime":"2024-01-02T03:00:04Z","eventCategory":"Data","eventSource":"lambda.amazonaws.com","resources":[{"type":"AWS::Lambda::Function","ARN":"arn:aws:lambda:us-east-1:111122223333:function:f"}]}
    ]}"#;

    const ROUTES: &str = r#"[
        {"name": "management", "logGroupName": "/m", "selectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]},
        {"name": "data", "logGroupName": "/d", "logStreamName": "{eventSource}",
         "selectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object", "AWS::Lambda::Function"]}]}]}
    ]"#;

    #[test]
    fn records_are_routed_and_the_unselected_counted_as_filtered() {
        let context = context_with(Routes::from_json(ROUTES).unwrap(), false);
        let (plan, batches) = plan_in(&gzip(MIXED), &context);
        assert_eq!((plan.records, plan.batched, plan.filtered), (5, 4, 1));
        let landed: Vec<(String, usize)> = batches
            .iter()
            .map(|b| (b.destination.to_string(), b.batch.events.len()))
            .collect();
        assert_eq!(
            landed,
            vec![
                ("/m:111122223333_CloudTrail_us-east-1".to_owned(), 2),
                ("/d:s3.amazonaws.com".to_owned(), 1),
                ("/d:lambda.amazonaws.com".to_owned(), 1),
            ]
        );
        assert!(plan.would_forward.is_empty());
    }

    #[test]
    fn a_dry_run_names_an_insights_records_source_from_its_details() {
        let insights = r#"{"Records":[
            {"eventTime":"2024-01-02T03:00:00Z","eventCategory":"Insight","insightDetails":{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances"}},
            {"eventTime":"2024-01-02T03:00:01Z","eventCategory":"Insight"}
        ]}"#;
        let routes = Routes::from_json(r#"[{"logGroupName": "/i"}]"#).unwrap();
        let (plan, _) = plan_in(&gzip(insights), &context_with(routes, true));
        let sources: Vec<(&str, u64)> = plan
            .would_forward
            .iter()
            .map(|w| (w.event_source.as_str(), w.records))
            .collect();
        assert_eq!(sources, [("ec2.amazonaws.com", 1), ("unknown", 1)]);
    }

    #[test]
    fn dry_runs_tally_records_and_bytes_by_route_category_and_source() {
        let context = context_with(Routes::from_json(ROUTES).unwrap(), true);
        let (plan, _) = plan_in(&gzip(MIXED), &context);
        let tally: Vec<(String, String, String, u64)> = plan
            .would_forward
            .iter()
            .map(|w| {
                (
                    w.route.clone(),
                    w.category.clone(),
                    w.event_source.clone(),
                    w.records,
                )
            })
            .collect();
        assert_eq!(
            tally,
            vec![
                (
                    "data".to_owned(),
                    "Data".to_owned(),
                    "lambda.amazonaws.com".to_owned(),
                    1
                ),
                (
                    "data".to_owned(),
                    "Data".to_owned(),
                    "s3.amazonaws.com".to_owned(),
                    1
                ),
                (
                    "management".to_owned(),
                    "Management".to_owned(),
                    "iam.amazonaws.com".to_owned(),
                    2
                ),
            ]
        );
        let iam_bytes: u64 = MIXED
            .lines()
            .filter(|line| line.contains("iam.amazonaws.com"))
            .map(|line| (line.trim().trim_end_matches(',').len() + 26) as u64)
            .sum();
        assert_eq!(plan.would_forward[2].bytes, iam_bytes);
        // The DynamoDB record no route selects, by its category and source.
        assert_eq!(
            plan.would_filter,
            vec![WouldFilter {
                category: "Data".into(),
                event_source: "dynamodb.amazonaws.com".into(),
                records: 1
            }]
        );
        assert_eq!(plan.filtered, 1);
    }

    #[test]
    fn at_each_boundary_every_earlier_record_is_emitted_and_no_later_one() {
        // Two routes, interleaved: a batch closing on one route closes the other's with it.
        let records: Vec<String> = (0..6000)
            .map(|i| {
                let category = if i % 3 == 0 { "Management" } else { "Data" };
                format!(
                    r#"{{"eventTime":"2024-01-02T03:{:02}:{:02}Z","eventCategory":"{category}","pad":"{}"}}"#,
                    i / 60 % 60,
                    i % 60,
                    "p".repeat(500)
                )
            })
            .collect();
        let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let routes = Routes::from_json(
            r#"[{"logGroupName": "/m", "selectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]},
                {"logGroupName": "/d", "selectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]}]"#,
        )
        .unwrap();
        let (plan, batches) = plan_in(&gzip(&text), &context_with(routes, false));
        let mut emitted: Vec<u64> = Vec::new();
        let mut boundaries = Vec::new();
        for ready in &batches {
            emitted.extend(ready.batch.events.iter().map(|e| e.record_index));
            if let Some(boundary) = ready.boundary {
                let at = boundary.next_record;
                emitted.sort_unstable();
                assert_eq!(emitted, (0..at).collect::<Vec<u64>>(), "at {at}");
                assert_eq!(
                    (boundary.read, boundary.filtered, boundary.rejected),
                    (at, 0, 0)
                );
                boundaries.push(at);
            }
        }
        assert_eq!(boundaries, vec![2648, 5296, 6000]);
        assert_eq!(boundaries.last(), Some(&6000));
        assert_eq!(plan.next_record, 6000);
        assert!(batches.last().unwrap().boundary.is_some());
    }

    #[test]
    fn a_boundary_accounts_for_every_record_before_it() {
        // Every third record filtered (no route takes Data events), every fifth invalid.
        let records: Vec<String> = (0..6000)
            .map(|i| match (i % 3, i % 5) {
                (_, 0) => r#"{"eventCategory":"Management"}"#.to_owned(),
                (0, _) => format!(
                    r#"{{"eventTime":"2024-01-02T03:00:00Z","eventCategory":"Data","pad":"{}"}}"#,
                    "p".repeat(500)
                ),
                _ => format!(
                    r#"{{"eventTime":"2024-01-02T03:00:00Z","eventCategory":"Management","pad":"{}"}}"#,
                    "p".repeat(500)
                ),
            })
            .collect();
        let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let routes = Routes::from_json(
            r#"[{"logGroupName": "/m", "selectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]}]"#,
        )
        .unwrap();
        let mut context = context_with(routes, false);
        context.start_record = 100;
        let (plan, batches) = plan_in(&gzip(&text), &context);
        let mut batched = 0;
        let mut seen = 0;
        for ready in &batches {
            batched += ready.batch.events.len() as u64;
            if let Some(boundary) = ready.boundary {
                seen += 1;
                assert_eq!(boundary.read, boundary.next_record - 100);
                assert_eq!(
                    boundary.read,
                    batched + boundary.filtered + boundary.rejected,
                    "{boundary:?}"
                );
                assert!(boundary.filtered > 0 && boundary.rejected > 0);
            }
        }
        assert!(seen >= 2, "{seen} boundaries");
        assert_eq!(plan.records, 5900);
        assert!(plan.sha256.is_some());
    }

    /// `count` records one second apart, about 300 bytes each.
    fn many_records(count: usize) -> String {
        let records: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    r#"{{"eventTime":"2024-01-02T03:{:02}:{:02}Z","pad":"{}"}}"#,
                    i / 60 % 60,
                    i % 60,
                    "p".repeat(280)
                )
            })
            .collect();
        format!(r#"{{"Records":[{}]}}"#, records.join(","))
    }

    fn indexes(batches: &[ReadyBatch]) -> Vec<u64> {
        let mut all: Vec<u64> = batches
            .iter()
            .flat_map(|b| b.batch.events.iter().map(|e| e.record_index))
            .collect();
        all.sort_unstable();
        all
    }

    #[test]
    fn a_requested_stop_hands_off_at_a_batch_boundary_with_every_earlier_record_emitted() {
        // Given: a stop already requested, and a file of several batches.
        let mut context = context();
        context.stop = StopSignal::given();
        let compressed = gzip(&many_records(9_000));
        // When
        let (plan, batches) = plan_in(&compressed, &context);
        // Then: it stopped after the first full batch, and emitted exactly the records before N.
        let handoff = plan.handoff_at.expect("a handoff");
        assert!(plan.error.is_none());
        assert!(handoff > 1 && handoff < 9_000, "{handoff}");
        assert_eq!(indexes(&batches), (0..handoff).collect::<Vec<u64>>());
        assert_eq!((plan.records, plan.batched), (handoff, handoff));

        // And a continuation from N emits exactly the rest.
        context.stop = StopSignal::never();
        context.start_record = handoff;
        let (rest, batches) = plan_in(&compressed, &context);
        assert_eq!(rest.handoff_at, None);
        assert_eq!(indexes(&batches), (handoff..9_000).collect::<Vec<u64>>());
        assert_eq!(rest.records, 9_000 - handoff);
    }

    #[test]
    fn a_stop_waits_for_the_first_batch_so_every_invocation_progresses() {
        let mut context = context();
        context.stop = StopSignal::given();
        let (plan, batches) = plan_in(&gzip(&many_records(50)), &context);
        assert_eq!(plan.handoff_at, None);
        assert_eq!(indexes(&batches).len(), 50);
    }

    #[test]
    fn a_file_of_records_that_are_never_batched_hands_off_too() {
        // Given: a stop requested, and a file whose records are all invalid (nothing is ever
        // batched, so no batch boundary ever comes).
        let mut context = context();
        context.stop = StopSignal::given();
        let text = format!("{{\"Records\":[{}]}}", vec!["1"; 5_000].join(","));
        let compressed = gzip(&text);
        // When
        let (plan, batches) = plan_in(&compressed, &context);
        // Then: it hands off at once, every record before accounted for.
        assert!(batches.is_empty());
        assert_eq!(plan.handoff_at, Some(1));
        assert_eq!((plan.records, plan.rejected.invalid_record), (1, 1));
        // And the rest is read by the continuation.
        context.stop = StopSignal::never();
        context.start_record = 1;
        let (rest, _) = plan_in(&compressed, &context);
        assert_eq!((rest.handoff_at, rest.records), (None, 4_999));
    }

    #[test]
    fn bytes_read_and_the_oldest_event_are_reported() {
        let compressed = gzip(&many_records(100));
        let (plan, _) = plan(&compressed);
        assert_eq!(plan.bytes_read, compressed.len() as u64);
        assert_eq!(plan.oldest_event_millis, Some(1_704_164_400_000));
    }

    #[test]
    fn reading_stops_when_delivery_stops() {
        let records: Vec<String> = (0..20_001)
            .map(|_| r#"{"eventTime":"2024-01-02T03:00:00Z"}"#.to_owned())
            .collect();
        let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let mut emitted = 0;
        let plan = plan_file(&gzip(&text)[..], &context(), |_| {
            emitted += 1;
            Err(Stop)
        });
        assert_eq!(emitted, 1);
        assert!(matches!(plan.error, Some(FileError::Stopped)));
        assert_eq!(plan.records, 10_001);
    }
}
