//! Read → route → batch → deliver for one object: the object's bytes stream through the
//! planner on a blocking thread; its batches cross to this task, which puts them.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinError;
use tokio::time::Instant;

use super::plan::{FilePlan, PlanContext, ReadyBatch, plan_file};
use crate::checkpoint::{RecordCounts, Refusal};
use crate::logs::{Batch, Destination, PutOutcome, RejectedReasons};
use crate::object::Continuation;
use crate::ports::{CallError, CheckpointStore, LogSink, ObjectSource, OpenError};
use crate::trail::Stop;

use super::classify::ToRead;
use super::deadline::Deadline;
use super::lease::Held;
use super::settings::Settings;

/// Batches waiting between the reading thread and delivery. Bounds memory to a few MiB
/// whatever the file size, while letting inflate and the network overlap.
const READY_BATCH_QUEUE: usize = 4;

/// Pages of a stream read back for one batch, at most: far past the events of any time range
/// a batch spans in a trail's stream, and a bound if the service never ends the range.
const MAX_READ_BACK_PAGES: usize = 10_000;

/// What reading and delivering one object did.
#[derive(Debug)]
pub enum Delivery {
    /// The object could not be opened.
    NotOpened(OpenError),
    /// The object has no bytes.
    Empty,
    /// The checkpoint refuses what was opened: not the content it says was forwarded under
    /// this key ([`Refusal::Rewritten`]).
    Refused(Refusal),
    Read(Box<Delivered>),
}

/// An object read (to its end, to a handoff, or to a failure), and what became of its batches.
#[derive(Debug)]
pub struct Delivered {
    /// What a continuation must read: this version or this exact content.
    pub pinned: Continuation,
    /// The reading thread's account; an error when it stopped unexpectedly (a panic).
    pub plan: Result<FilePlan, JoinError>,
    /// Events CloudWatch Logs accepted (or, in a dry run, would have been sent), per destination.
    pub forwarded: Vec<(Destination, u64)>,
    /// Events CloudWatch Logs rejected, by reason.
    pub rejected: RejectedReasons,
    /// Of `forwarded`: events found in their stream already (an earlier invocation's put
    /// whose outcome was unknown), not sent again.
    pub found_delivered: u64,
    /// The put (or checkpoint write) that failed; no batch after it was sent.
    pub sink_error: Option<CallError>,
}

/// Opens the object and delivers its records; with a checkpoint held, records progress at
/// each batch boundary.
pub async fn deliver<S: ObjectSource, L: LogSink, C: CheckpointStore>(
    source: &S,
    sink: &L,
    settings: &Settings,
    to_read: &ToRead,
    deadline: &Deadline,
    mut held: Option<&mut Held<'_, C>>,
) -> Delivery {
    let object = &to_read.object;
    let opened = match source.open(object).await {
        Ok(opened) => opened,
        Err(error) => return Delivery::NotOpened(error),
    };
    if let Some(held) = held.as_deref_mut()
        && let Err(refusal) = held
            .holding
            .opened(opened.version_id.as_deref(), opened.e_tag.as_ref())
    {
        return Delivery::Refused(refusal);
    }
    if opened.content_length == Some(0) {
        return Delivery::Empty;
    }
    let pinned = Continuation {
        bucket: object.bucket.clone(),
        key: opened.key,
        version_id: opened.version_id.or_else(|| object.version_id.clone()),
        e_tag: opened.e_tag,
        next_record: 0,
    };
    let context = PlanContext {
        key_facts: to_read.key_facts.clone(),
        routes: Arc::clone(&settings.routes),
        dry_run: settings.dry_run,
        start_record: object.start_record,
        max_decompressed_bytes: settings.max_decompressed_bytes,
        stop: deadline.signal(),
    };
    let (ready_tx, mut ready_rx) = mpsc::channel::<ReadyBatch>(READY_BATCH_QUEUE);
    let body = opened.body;
    // The reading thread logs where its caller does, in the object's span (bucket, key).
    let span = tracing::Span::current();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    let reading = tokio::task::spawn_blocking(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            span.in_scope(|| {
                plan_file(body, &context, |ready| {
                    ready_tx.blocking_send(ready).map_err(|_| Stop)
                })
            })
        })
    });

    let put = put_batches(sink, settings.dry_run, &mut ready_rx, deadline.at(), held).await;
    // The reading thread sees the closed queue and stops at its next batch.
    drop(ready_rx);
    Delivery::Read(Box::new(Delivered {
        pinned,
        plan: reading.await,
        forwarded: put.forwarded,
        rejected: put.rejected,
        found_delivered: put.found_delivered,
        sink_error: put.sink_error,
    }))
}

/// What the puts of one object did.
#[derive(Default)]
struct Puts {
    forwarded: Vec<(Destination, u64)>,
    rejected: RejectedReasons,
    found_delivered: u64,
    sink_error: Option<CallError>,
}

impl Puts {
    /// `events` of `destination` are in CloudWatch Logs (or would be, in a dry run).
    fn count(&mut self, destination: &Destination, events: u64) {
        match self.forwarded.iter_mut().find(|(d, _)| d == destination) {
            Some((_, total)) => *total += events,
            None => self.forwarded.push((destination.clone(), events)),
        }
    }

    fn forwarded_total(&self) -> u64 {
        self.forwarded.iter().map(|(_, events)| events).sum()
    }
}

/// Puts each batch as it arrives, until the queue closes or a put fails; at each boundary,
/// writes the checkpoint's progress. A dry run puts nothing and counts what it would have sent.
async fn put_batches<L: LogSink, C: CheckpointStore>(
    sink: &L,
    dry_run: bool,
    ready: &mut mpsc::Receiver<ReadyBatch>,
    deadline: Option<Instant>,
    mut held: Option<&mut Held<'_, C>>,
) -> Puts {
    let mut puts = Puts::default();
    while let Some(ready) = ready.recv().await {
        if dry_run {
            puts.count(&ready.destination, ready.batch.events.len() as u64);
            continue;
        }
        let put = put_ready(sink, ready, deadline, held.as_deref_mut(), &mut puts).await;
        if let Err(error) = put {
            puts.sink_error = Some(error);
            break;
        }
    }
    puts
}

/// One ready batch: its events already delivered by an earlier invocation left out, the rest
/// put, then the checkpoint's progress at its boundary.
async fn put_ready<L: LogSink, C: CheckpointStore>(
    sink: &L,
    ready: ReadyBatch,
    deadline: Option<Instant>,
    mut held: Option<&mut Held<'_, C>>,
    puts: &mut Puts,
) -> Result<(), CallError> {
    let destination = &ready.destination;
    let mut batch = ready.batch;
    if let Some(held) = held.as_deref_mut()
        && held.needs_read_back(&batch)
    {
        let (rest, found) = drop_delivered(sink, destination, batch).await?;
        if found > 0 {
            tracing::info!(%destination, found, "events of an unfinished put found in their stream: not sent again");
        }
        puts.count(destination, found);
        puts.found_delivered += found;
        batch = rest;
    }
    if !batch.events.is_empty() {
        if let Some(held) = held.as_deref_mut() {
            held.put_attempted(&batch);
        }
        match put_isolating_refusals(sink, destination, batch, deadline).await {
            Ok(outcome) => {
                puts.count(destination, outcome.accepted);
                puts.rejected.add(&outcome.rejected);
                if !outcome.rejected.is_empty() {
                    tracing::warn!(%destination, too_old = outcome.rejected.too_old, too_new = outcome.rejected.too_new, expired = outcome.rejected.expired, "CloudWatch Logs rejected events");
                }
            }
            Err(error) => {
                // Never sent again here: a put whose outcome is unknown is read back by the
                // next invocation, once it can no longer land.
                if let Some(held) = held.as_deref_mut() {
                    held.put_failed(error.outcome_unknown);
                }
                return Err(error);
            }
        }
    }
    if let (Some(held), Some(boundary)) = (held, ready.boundary) {
        let counts = RecordCounts {
            records: boundary.read,
            forwarded: puts.forwarded_total(),
            filtered: boundary.filtered,
            rejected: boundary.rejected + puts.rejected.total(),
        };
        held.progress(boundary.next_record, counts).await?;
    }
    Ok(())
}

/// Puts the batch; when PutLogEvents refuses its content, puts each half on its own, down to
/// single events, so that only the refused events are left out (counted as `refused`). When
/// every event is refused alone, the refusal was not about events: the error stands.
async fn put_isolating_refusals<L: LogSink>(
    sink: &L,
    destination: &Destination,
    batch: Batch,
    deadline: Option<Instant>,
) -> Result<PutOutcome, CallError> {
    let total = batch.events.len() as u64;
    let mut outcome = PutOutcome::default();
    let mut first_refusal = None;
    let mut pending = vec![batch];
    while let Some(batch) = pending.pop() {
        match sink.put(destination, &batch, deadline).await {
            Ok(put) => {
                outcome.accepted += put.accepted;
                outcome.rejected.add(&put.rejected);
            }
            Err(error) if error.is_refused_content() => {
                if batch.events.len() == 1 {
                    tracing::warn!(destination = %destination, record_index = batch.events[0].record_index, error = %error, "CloudWatch Logs refused one event");
                    outcome.rejected.refused += 1;
                    first_refusal.get_or_insert(error);
                } else {
                    let (first, second) = split_batch(batch);
                    // Popped first half first: the order of puts follows the batch.
                    pending.push(second);
                    pending.push(first);
                }
            }
            Err(error) => return Err(error),
        }
    }
    match first_refusal {
        Some(error) if outcome.rejected.refused == total => Err(error),
        _ => Ok(outcome),
    }
}

/// Two batches of the halves of `batch`, each still sorted.
fn split_batch(mut batch: Batch) -> (Batch, Batch) {
    let second = batch.events.split_off(batch.events.len() / 2);
    (Batch::of(batch.events), Batch::of(second))
}

/// Reads the batch's stream back over the batch's time range and leaves out the events found
/// there (same timestamp and message). Memory: the batch and one page.
async fn drop_delivered<L: LogSink>(
    sink: &L,
    destination: &Destination,
    batch: Batch,
) -> Result<(Batch, u64), CallError> {
    let (Some(first), Some(last)) = (batch.events.first(), batch.events.last()) else {
        return Ok((batch, 0));
    };
    let (start, end) = (first.timestamp, last.timestamp);
    let mut wanted: HashMap<(i64, u64), Vec<usize>> = HashMap::new();
    for (i, event) in batch.events.iter().enumerate() {
        wanted
            .entry((event.timestamp, message_hash(&event.message)))
            .or_default()
            .push(i);
    }
    let mut found = vec![false; batch.events.len()];
    let mut token = None;
    for _ in 0..MAX_READ_BACK_PAGES {
        let page = sink
            .events_between(destination, start, end, token.clone())
            .await?;
        for (timestamp, message) in &page.events {
            let Some(candidates) = wanted.get_mut(&(*timestamp, message_hash(message))) else {
                continue;
            };
            // Equal text, not only an equal hash: a collision must never drop a record.
            if let Some(at) = candidates
                .iter()
                .position(|&i| batch.events[i].message == *message)
            {
                found[candidates.swap_remove(at)] = true;
            }
        }
        // GetLogEvents answers with the token it was given at the end of the range (and may
        // answer empty pages before it).
        if page.next_token.is_none() || page.next_token == token {
            break;
        }
        token = page.next_token;
    }
    let found_count = found.iter().filter(|f| **f).count() as u64;
    let events: Vec<_> = batch
        .events
        .into_iter()
        .zip(found)
        .filter_map(|(event, found)| (!found).then_some(event))
        .collect();
    Ok((Batch::of(events), found_count))
}

fn message_hash(message: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    message.hash(&mut hasher);
    hasher.finish()
}
