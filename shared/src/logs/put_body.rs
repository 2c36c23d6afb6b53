//! The PutLogEvents request body, written directly from a batch.
//!
//! The AWS SDK serialises each message through a byte-at-a-time escaper, which profiled at a
//! third of the forwarder's CPU (CloudTrail records are full of `"`). Here each message is
//! escaped once with bulk copies between the bytes that need it; the adapter hands the body to
//! the SDK, which still signs, sends and retries the request. The members and their order are
//! the SDK's (`logGroupName`, `logStreamName`, `logEvents` of `timestamp`, `message`), so the
//! bytes are the same as the SDK's own serialisation of the batch:
//! https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html

use std::io::Write;

use super::batch::Batch;
use super::destination::Destination;
use crate::json_text::write_string;

/// Bytes the body adds per event beyond its escaped message: `{"timestamp":…,"message":…},`.
const EVENT_FRAME_BYTES: usize = 48;

/// The JSON body of PutLogEvents for `batch` into `destination`.
pub fn put_log_events_body(destination: &Destination, batch: &Batch) -> Vec<u8> {
    let mut body =
        Vec::with_capacity(batch.counted_bytes + batch.events.len() * EVENT_FRAME_BYTES + 256);
    body.extend_from_slice(b"{\"logGroupName\":");
    write_string(&destination.log_group, &mut body);
    body.extend_from_slice(b",\"logStreamName\":");
    write_string(&destination.log_stream, &mut body);
    body.extend_from_slice(b",\"logEvents\":[");
    for (index, event) in batch.events.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        // Writing into a Vec cannot fail.
        let _ = write!(body, "{{\"timestamp\":{},\"message\":", event.timestamp);
        write_string(&event.message, &mut body);
        body.push(b'}');
    }
    body.extend_from_slice(b"]}");
    body
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::logs::LogEvent;

    #[test]
    fn the_body_is_the_batch_as_json() {
        let destination = Destination {
            log_group: Arc::from("/trail\"watch"),
            log_stream: Arc::from("111122223333_CloudTrail_us-east-1"),
        };
        let events = vec![
            LogEvent {
                timestamp: -5,
                message: r#"{"a":"\"x\""}"#.into(),
                record_index: 0,
            },
            LogEvent {
                timestamp: 1_764_000_000_000,
                message: "é\n".into(),
                record_index: 1,
            },
        ];
        let batch = Batch {
            counted_bytes: 0,
            events,
        };
        let body = put_log_events_body(&destination, &batch);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "logGroupName": "/trail\"watch",
                "logStreamName": "111122223333_CloudTrail_us-east-1",
                "logEvents": [
                    {"timestamp": -5, "message": r#"{"a":"\"x\""}"#},
                    {"timestamp": 1_764_000_000_000_i64, "message": "é\n"},
                ],
            })
        );
    }
}
