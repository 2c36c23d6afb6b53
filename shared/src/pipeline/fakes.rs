//! In-memory ports for unit tests of the whole object path. Each records its calls, so a test
//! can say "the second delivery made no put".
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::checkpoint::{Checkpoint, Stored, Written};
use crate::logs::{Batch, Destination, LogEvent, PutOutcome, RejectedReasons};
use crate::object::{Continuation, ETag, ObjectRef};
use crate::ports::{
    CallError, CheckpointStore, ContinuationQueue, DeadLetter, DeadLetterQueue, EventsPage,
    LogSink, ObjectSource, OpenError, OpenedObject, Transience,
};
use crate::route::Routes;

/// Objects by key; a key may be set to fail instead.
#[derive(Default)]
pub(crate) struct MemoryObjects {
    pub objects: Mutex<HashMap<String, Vec<u8>>>,
    pub failures: Mutex<HashMap<String, OpenError>>,
    pub opened: Mutex<Vec<String>>,
    /// ETags other than `"etag"`, by key (a rewritten object).
    pub e_tags: Mutex<HashMap<String, String>>,
    /// The next open of a key reads this many bytes, then the connection breaks.
    pub cuts: Mutex<HashMap<String, usize>>,
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
        let e_tag = self.e_tags.lock().unwrap().get(&object.key).cloned();
        let e_tag = ETag::new(&e_tag.unwrap_or_else(|| "\"etag\"".into()));
        if object.start_record > 0 && object.e_tag.is_some() && object.e_tag != e_tag {
            return Err(OpenError::Changed);
        }
        let body = self
            .objects
            .lock()
            .unwrap()
            .get(&object.key)
            .cloned()
            .ok_or(OpenError::NotFound)?;
        let length = body.len() as i64;
        let body: Box<dyn Read + Send> = match self.cuts.lock().unwrap().remove(&object.key) {
            Some(at) => Box::new(Cursor::new(body[..at].to_vec()).chain(BrokenConnection)),
            None => Box::new(Cursor::new(body)),
        };
        Ok(OpenedObject {
            key: object.key.clone(),
            version_id: None,
            e_tag,
            content_length: Some(length),
            body,
        })
    }
}

/// A body whose connection broke.
struct BrokenConnection;

impl Read for BrokenConnection {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
    }
}

/// Every event put, by destination; puts after `fail_after` successful ones fail
/// (`stored_anyway`: the failing put is stored, as when a response is lost).
#[derive(Default)]
pub(crate) struct MemorySink {
    pub events: Mutex<Vec<(Destination, LogEvent)>>,
    pub puts: Mutex<usize>,
    pub fail_after: Mutex<Option<(usize, bool)>>,
    pub stored_anyway: bool,
    /// The put after this many stores its events and never answers (a process that dies
    /// while its put is in flight).
    pub hang_after: Option<usize>,
    /// A batch holding one of these messages is refused whole, as PutLogEvents refuses a
    /// request with an event it will not take (`InvalidParameterException`).
    pub refused_messages: Vec<String>,
    /// Pages read back.
    pub pages_read: Mutex<usize>,
    /// Events older than this (epoch ms) are rejected as too old, as CloudWatch Logs does.
    pub too_old_before: Option<i64>,
    /// With `stored_anyway`: the failing put is stored this long after it failed (a request
    /// still in flight when its caller gave up).
    pub lands_after: Option<Duration>,
    /// Puts that land later: when, and what.
    pub in_flight: Mutex<Vec<(Instant, Destination, Batch)>>,
}

impl MemorySink {
    /// Puts after the first `after` fail (`transient`: as throttling or a 5xx would).
    pub fn failing_after(after: usize, transient: bool) -> Self {
        Self {
            fail_after: Mutex::new(Some((after, transient))),
            ..Self::default()
        }
    }

    /// Puts after the first `after` fail, and the first of them is stored anyway: its answer
    /// was lost (a 500 after storing, or a timeout).
    pub fn answer_lost_after(after: usize) -> Self {
        Self {
            stored_anyway: true,
            ..Self::failing_after(after, true)
        }
    }

    /// Whether this put is the one that hangs; if so its events are stored.
    fn hang_now(&self, destination: &Destination, batch: &Batch) -> bool {
        let mut puts = self.puts.lock().unwrap();
        if self.hang_after != Some(*puts) {
            return false;
        }
        *puts += 1;
        self.store(destination, batch);
        true
    }

    /// Stores the puts in flight whose time has come.
    fn land(&self) {
        let now = Instant::now();
        let landed: Vec<_> = {
            let mut in_flight = self.in_flight.lock().unwrap();
            let (due, later) = in_flight.drain(..).partition(|(at, _, _)| *at <= now);
            *in_flight = later;
            due
        };
        for (_, destination, batch) in landed {
            self.store(&destination, &batch);
        }
    }

    fn store(&self, destination: &Destination, batch: &Batch) {
        let mut events = self.events.lock().unwrap();
        events.extend(
            batch
                .events
                .iter()
                .map(|e| (destination.clone(), e.clone())),
        );
    }

    /// Puts succeed from now on.
    pub fn heal(&self) {
        *self.fail_after.lock().unwrap() = None;
    }

    /// Stores a trail file's events as the forwarder puts them: its planner's batches, for the
    /// file at `key`, with `routes`.
    pub fn store_as_forwarded(&self, key: &str, compressed: &[u8], routes: &Arc<Routes>) {
        let key = crate::trail::TrailKey::parse(key).unwrap();
        let context = super::plan::PlanContext {
            key_facts: crate::logs::KeyFacts::for_key(&key),
            routes: Arc::clone(routes),
            dry_run: false,
            start_record: 0,
            max_decompressed_bytes: u64::MAX,
            stop: super::deadline::StopSignal::never(),
        };
        super::plan::plan_file(compressed, &context, |ready| {
            self.store(&ready.destination, &ready.batch);
            Ok(())
        });
    }

    pub fn messages(&self) -> Vec<String> {
        self.land();
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
        batch: &Batch,
        _deadline: Option<Instant>,
    ) -> Result<PutOutcome, CallError> {
        self.land();
        if batch
            .events
            .iter()
            .any(|e| self.refused_messages.contains(&e.message))
        {
            return Err(CallError::permanent(
                format!("PutLogEvents to {destination}"),
                "InvalidParameterException: injected",
            )
            .with_code(Some("InvalidParameterException")));
        }
        if self.hang_now(destination, batch) {
            return std::future::pending().await;
        }
        let mut puts = self.puts.lock().unwrap();
        if let Some((after, transient)) = *self.fail_after.lock().unwrap()
            && *puts >= after
        {
            if self.stored_anyway && *puts == after {
                *puts += 1;
                match self.lands_after {
                    Some(delay) => self.in_flight.lock().unwrap().push((
                        Instant::now() + delay,
                        destination.clone(),
                        batch.clone(),
                    )),
                    None => self.store(destination, batch),
                }
            }
            // A put stored anyway lost its answer: a 5xx or a timeout, of unknown outcome.
            let transience = if transient {
                Transience::Transient
            } else {
                Transience::Permanent
            };
            return Err(CallError::new(
                format!("PutLogEvents to {destination}"),
                transience,
                "injected",
            )
            .with_outcome_unknown(self.stored_anyway));
        }
        *puts += 1;
        let mut outcome = PutOutcome::default();
        let mut events = self.events.lock().unwrap();
        for event in batch.events.iter().cloned() {
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

    /// Pages of two events, as GetLogEvents pages (its token: the next offset).
    async fn events_between(
        &self,
        destination: &Destination,
        start_millis: i64,
        end_millis: i64,
        token: Option<String>,
    ) -> Result<EventsPage, CallError> {
        self.land();
        *self.pages_read.lock().unwrap() += 1;
        let mut matching: Vec<(i64, String)> = self
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|(d, e)| {
                d == destination && e.timestamp >= start_millis && e.timestamp <= end_millis
            })
            .map(|(_, e)| (e.timestamp, e.message.clone()))
            .collect();
        matching.sort_by_key(|(timestamp, _)| *timestamp);
        let from: usize = token.as_deref().map_or(0, |t| t.parse().unwrap());
        let to = (from + 2).min(matching.len());
        Ok(EventsPage {
            events: matching[from.min(to)..to].to_vec(),
            next_token: Some(to.to_string()),
        })
    }
}

/// Checkpoints by bucket and key; after `fail_writes_after` writes, every write fails.
#[derive(Default)]
pub(crate) struct MemoryCheckpoints {
    pub items: Mutex<HashMap<(String, String), Stored>>,
    pub writes: Mutex<usize>,
    pub fail_writes_after: Mutex<Option<usize>>,
    /// The write with this number (from 1) is applied, then answered as the SDK's retry of it
    /// is: the condition failed (on the write itself).
    pub lose_answer_of_write: Option<usize>,
}

impl MemoryCheckpoints {
    pub fn get(&self, bucket: &str, key: &str) -> Option<Checkpoint> {
        let items = self.items.lock().unwrap();
        items
            .get(&(bucket.to_owned(), key.to_owned()))
            .map(|s| s.checkpoint.clone())
    }
}

impl CheckpointStore for MemoryCheckpoints {
    async fn load(&self, bucket: &str, key: &str) -> Result<Option<Stored>, CallError> {
        let items = self.items.lock().unwrap();
        Ok(items.get(&(bucket.to_owned(), key.to_owned())).cloned())
    }

    async fn store(
        &self,
        bucket: &str,
        key: &str,
        checkpoint: &Checkpoint,
        revision: u64,
    ) -> Result<Written, CallError> {
        let mut writes = self.writes.lock().unwrap();
        if self
            .fail_writes_after
            .lock()
            .unwrap()
            .is_some_and(|after| *writes >= after)
        {
            return Err(CallError::transient("PutItem", "injected"));
        }
        let mut items = self.items.lock().unwrap();
        let id = (bucket.to_owned(), key.to_owned());
        let current = items.get(&id).map_or(0, |s| s.revision);
        if current + 1 != revision {
            return Ok(Written::Conflict);
        }
        *writes += 1;
        items.insert(
            id,
            Stored {
                checkpoint: checkpoint.clone(),
                revision,
            },
        );
        if self.lose_answer_of_write == Some(*writes) {
            return Ok(Written::Conflict);
        }
        Ok(Written::Stored)
    }
}

/// Dead letters sent: (body, letter).
#[derive(Default)]
pub(crate) struct MemoryDeadLetters {
    pub sent: Mutex<Vec<(String, DeadLetter)>>,
}

impl DeadLetterQueue for MemoryDeadLetters {
    async fn send(&self, body: &str, letter: &DeadLetter) -> Result<(), CallError> {
        self.sent
            .lock()
            .unwrap()
            .push((body.to_owned(), letter.clone()));
        Ok(())
    }
}

/// Continuations sent, and the delay each was sent with.
#[derive(Default)]
pub(crate) struct MemoryQueue {
    pub sent: Mutex<Vec<Continuation>>,
    pub delays: Mutex<Vec<std::time::Duration>>,
    pub refuse: bool,
}

impl ContinuationQueue for MemoryQueue {
    async fn send(
        &self,
        continuation: &Continuation,
        delay: std::time::Duration,
    ) -> Result<(), CallError> {
        if self.refuse {
            return Err(CallError::transient(
                "sending the continuation message",
                "injected",
            ));
        }
        self.sent.lock().unwrap().push(continuation.clone());
        self.delays.lock().unwrap().push(delay);
        Ok(())
    }
}
