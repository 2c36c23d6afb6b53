//! Turns one log file into PutLogEvents batches, record by record: decompress, split, view
//! fields, name the destination, batch. Pure and synchronous: it runs on a blocking thread
//! beside the network side, and in tests and benchmarks on its own.

use std::io::Read;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::logs::{Batch, BatchBuilder, CloudTrailStreamNaming, Destination, LogEvent};
use crate::summary::RejectedReasons;
use crate::trail::{FileError, RecordError, RecordFields, decompress, read_records};

/// Invalid or oversized records logged one by one per file; the rest only in the counts.
const LOGGED_RECORD_PROBLEMS: u64 = 10;

/// A batch ready to be put.
#[derive(Debug)]
pub struct ReadyBatch {
    pub destination: Destination,
    pub batch: Batch,
}

/// The receiving side has gone away: stop reading.
#[derive(Debug, thiserror::Error)]
#[error("delivery stopped")]
pub struct DeliveryStopped;

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
    /// Why the file was not read to its end.
    pub error: Option<FileError>,
}

/// Everything the planner needs to know about the object being read.
pub struct PlanContext {
    pub bucket: String,
    pub key: String,
    pub log_group: Arc<str>,
    pub naming: CloudTrailStreamNaming,
}

/// Reads `compressed` to its end, handing each closed batch to `emit`. Records read before an
/// error are still batched and emitted; `emit` failing stops the reading.
pub fn plan_file<R, F>(compressed: R, context: &PlanContext, emit: F) -> FilePlan
where
    R: Read,
    F: FnMut(ReadyBatch) -> Result<(), DeliveryStopped>,
{
    let mut planner = Planner {
        context,
        emit,
        open: Vec::new(),
        stream_name: String::new(),
        plan: FilePlan::default(),
        delivery_stopped: false,
    };
    let read = decompress(compressed)
        .and_then(|records| read_records(records, |index, record| planner.add(index, record)));
    if let Err(error) = read {
        planner.plan.error = Some(error);
    }
    planner.flush_all();
    planner.plan
}

struct Planner<'c, F> {
    context: &'c PlanContext,
    emit: F,
    /// One open batch per destination; a file rarely has more than one.
    open: Vec<(Destination, BatchBuilder)>,
    /// Reused for each record's stream name.
    stream_name: String,
    plan: FilePlan,
    delivery_stopped: bool,
}

impl<F> Planner<'_, F>
where
    F: FnMut(ReadyBatch) -> Result<(), DeliveryStopped>,
{
    fn add(&mut self, index: u64, record: Box<RawValue>) -> Result<(), DeliveryStopped> {
        self.plan.records += 1;
        let timestamp = match self.read_fields(record.get()) {
            Ok(timestamp) => timestamp,
            Err(error) => {
                self.plan.rejected.invalid_record += 1;
                if self.plan.rejected.invalid_record <= LOGGED_RECORD_PROBLEMS {
                    tracing::warn!(bucket = %self.context.bucket, key = %self.context.key, record_index = index, reason = %describe(&error), "invalid record");
                }
                return Ok(());
            }
        };
        let slot = self.destination_slot();
        let event = LogEvent {
            timestamp,
            message: Box::<str>::from(record).into(),
            record_index: index,
        };
        let (destination, builder) = &mut self.open[slot];
        match builder.push(event) {
            Ok(closed) => {
                self.plan.batched += 1;
                if let Some(batch) = closed {
                    let sent = (self.emit)(ReadyBatch {
                        destination: destination.clone(),
                        batch,
                    });
                    self.delivery_stopped = sent.is_err();
                    sent?;
                }
            }
            Err(too_large) => {
                self.plan.rejected.too_large += 1;
                if self.plan.rejected.too_large <= LOGGED_RECORD_PROBLEMS {
                    tracing::warn!(bucket = %self.context.bucket, key = %self.context.key, record_index = index, bytes = too_large.bytes, "record too large for CloudWatch Logs");
                }
            }
        }
        Ok(())
    }

    /// Reads the record's fields, writes its stream name, and returns its timestamp.
    fn read_fields(&mut self, text: &str) -> Result<i64, RecordError> {
        let fields = RecordFields::parse(text)?;
        let timestamp = fields.event_time_millis()?;
        self.context
            .naming
            .write_stream_name(&fields, &mut self.stream_name);
        Ok(timestamp)
    }

    fn destination_slot(&mut self) -> usize {
        if let Some(slot) = self
            .open
            .iter()
            .position(|(d, _)| *d.log_stream == *self.stream_name)
        {
            return slot;
        }
        let destination = Destination {
            log_group: Arc::clone(&self.context.log_group),
            log_stream: Arc::from(self.stream_name.as_str()),
        };
        self.open.push((destination, BatchBuilder::new()));
        self.open.len() - 1
    }

    fn flush_all(&mut self) {
        if self.delivery_stopped {
            return;
        }
        for (destination, builder) in &mut self.open {
            if let Some(batch) = builder.finish() {
                if (self.emit)(ReadyBatch {
                    destination: destination.clone(),
                    batch,
                })
                .is_err()
                {
                    return;
                }
            }
        }
    }
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
    use crate::trail::TrailKey;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_0123456789abcdef.json.gz";

    fn context() -> PlanContext {
        PlanContext {
            bucket: "bucket".into(),
            key: KEY.into(),
            log_group: Arc::from("group"),
            naming: CloudTrailStreamNaming::for_key(&TrailKey::parse(KEY).unwrap()),
        }
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    fn plan(compressed: &[u8]) -> (FilePlan, Vec<ReadyBatch>) {
        let mut batches = Vec::new();
        let plan = plan_file(compressed, &context(), |ready| {
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

    #[test]
    fn invalid_records_are_counted_and_the_rest_still_batched() {
        let text = r#"{"Records":[7,{"eventName":"x"},{"eventTime":"soon"},{"readOnly":"maybe","eventTime":"2024-01-02T03:00:00Z"},{"eventTime":"2024-01-02T03:00:00Z"}]}"#;
        let (plan, batches) = plan(&gzip(text));
        assert_eq!(plan.records, 5);
        assert_eq!(plan.rejected.invalid_record, 4);
        assert_eq!(plan.batched, 1);
        assert_eq!(batches[0].batch.events[0].record_index, 4);
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

    #[test]
    fn reading_stops_when_delivery_stops() {
        let records: Vec<String> = (0..20_001)
            .map(|_| r#"{"eventTime":"2024-01-02T03:00:00Z"}"#.to_owned())
            .collect();
        let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let mut emitted = 0;
        let plan = plan_file(&gzip(&text)[..], &context(), |_| {
            emitted += 1;
            Err(DeliveryStopped)
        });
        assert_eq!(emitted, 1);
        assert!(matches!(plan.error, Some(FileError::Stopped(_))));
        assert_eq!(plan.records, 10_001);
    }
}
