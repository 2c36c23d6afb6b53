//! Any JSON into the invocation parser, then each named object decoded and classified; into
//! the validator's request reader, which shares it (rechecks included); and, as an event of the
//! integrity group, into `validator status`' reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch::validator::Request;
use trailwatch::validator::status::{StoredEvent, TrailStatus};
use trailwatch::pipeline::classify;
use trailwatch::route::Routes;
use trailwatch::selector::Selectors;
use trailwatch::trail::AllowedAccounts;
use trailwatch::trigger::{Invocation, MessageContent, parse_invocation};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let event = StoredEvent {
            stream: "111122223333_CloudTrail-Digest_us-east-1_t",
            timestamp_millis: 0,
            message: text,
        };
        let status = TrailStatus::from_events("t", [event, event]);
        let _ = status.render();
    }
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = Request::from_payload(&payload);
    let Ok(invocation) = parse_invocation(&payload) else {
        return;
    };
    let messages = match invocation {
        Invocation::Direct(message) => vec![message],
        Invocation::Sqs(messages) => messages,
    };
    let routes = Routes::single("/g", Selectors::All);
    for message in messages {
        if let Ok(MessageContent::Objects(objects)) = message.content {
            for object in objects.into_iter().flatten() {
                let _ = classify(&object, &routes, &AllowedAccounts::All);
            }
        }
    }
});
