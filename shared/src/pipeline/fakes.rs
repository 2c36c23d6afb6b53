//! In-memory ports for unit tests of the whole object path. Each records its calls, so a test
//! can say "the second delivery made no put".
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Mutex;

use tokio::time::Instant;

use crate::logs::{Batch, Destination, LogEvent, PutOutcome, RejectedReasons};
use crate::object::{Continuation, ObjectRef};
use crate::ports::{CallError, ContinuationQueue, LogSink, ObjectSource, OpenError, OpenedObject};

/// Objects by key; a key may be set to fail instead.
#[derive(Default)]
pub struct MemoryObjects {
    pub objects: Mutex<HashMap<String, Vec<u8>>>,
    pub failures: Mutex<HashMap<String, OpenError>>,
    pub opened: Mutex<Vec<String>>,
}

impl MemoryObjects {
    pub fn put(&self, key: &str, body: Vec<u8>) {
        self.objects.lock().unwrap().insert(key.to_owned(), body);
    }

    pub fn fail(&self, key: &str, error: OpenError) {
        self.failures.lock().unwrap().insert(key.to_owned(), error);
    }
}

impl ObjectSource for MemoryObjects {
    async fn open(&self, object: &ObjectRef) -> Result<OpenedObject, OpenError> {
        self.opened.lock().unwrap().push(object.key.clone());
        if let Some(error) = self.failures.lock().unwrap().get(&object.key) {
            return Err(error.clone());
        }
        let body = self
            .objects
            .lock()
            .unwrap()
            .get(&object.key)
            .cloned()
            .ok_or(OpenError::NotFound)?;
        Ok(OpenedObject {
            key: object.key.clone(),
            version_id: None,
            e_tag: Some("\"etag\"".into()),
            content_length: Some(body.len() as i64),
            body: Box::new(Cursor::new(body)),
        })
    }
}

/// Every event put, by destination; puts after `fail_after` successful ones fail.
#[derive(Default)]
pub struct MemorySink {
    pub events: Mutex<Vec<(Destination, LogEvent)>>,
    pub puts: Mutex<usize>,
    pub fail_after: Option<(usize, bool)>,
    /// Events older than this (epoch ms) are rejected as too old, as CloudWatch Logs does.
    pub too_old_before: Option<i64>,
}

impl MemorySink {
    pub fn messages(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.message.clone())
            .collect();
        all.sort();
        all
    }
}

impl LogSink for MemorySink {
    async fn put(
        &self,
        destination: &Destination,
        batch: Batch,
        _deadline: Option<Instant>,
    ) -> Result<PutOutcome, CallError> {
        let mut puts = self.puts.lock().unwrap();
        if let Some((after, transient)) = self.fail_after {
            if *puts >= after {
                return Err(CallError::new(
                    format!("PutLogEvents to {destination}"),
                    transient,
                    "injected",
                ));
            }
        }
        *puts += 1;
        let mut outcome = PutOutcome::default();
        let mut events = self.events.lock().unwrap();
        for event in batch.events {
            if self.too_old_before.is_some_and(|t| event.timestamp < t) {
                outcome.rejected.add(&RejectedReasons {
                    too_old: 1,
                    ..RejectedReasons::default()
                });
            } else {
                outcome.accepted += 1;
                events.push((destination.clone(), event));
            }
        }
        Ok(outcome)
    }
}

/// Continuations sent.
#[derive(Default)]
pub struct MemoryQueue {
    pub sent: Mutex<Vec<Continuation>>,
    pub refuse: bool,
}

impl ContinuationQueue for MemoryQueue {
    async fn send(&self, continuation: &Continuation) -> Result<(), CallError> {
        if self.refuse {
            return Err(CallError::new(
                "sending the continuation message",
                true,
                "injected",
            ));
        }
        self.sent.lock().unwrap().push(continuation.clone());
        Ok(())
    }
}
