//! Read → route → batch → deliver for one object: the object's bytes stream through the
//! planner on a blocking thread; its batches cross to this task, which puts them.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinError;
use tokio::time::Instant;

use super::plan::{FilePlan, PlanContext, ReadyBatch, plan_file};
use crate::logs::{Destination, RejectedReasons};
use crate::object::Continuation;
use crate::ports::{CallError, LogSink, ObjectSource, OpenError};
use crate::trail::Halt;

use super::Settings;
use super::classify::ToRead;
use super::deadline::StopSignal;

/// Batches waiting between the reading thread and delivery. Bounds memory to a few MiB
/// whatever the file size, while letting inflate and the network overlap.
const READY_BATCH_QUEUE: usize = 4;

/// What reading and delivering one object did.
#[derive(Debug)]
pub enum Delivery {
    /// The object could not be opened.
    NotOpened(OpenError),
    /// The object has no bytes.
    Empty,
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
    /// The put that failed; no batch after it was sent.
    pub sink_error: Option<CallError>,
}

/// Opens the object and delivers its records.
pub async fn deliver<S: ObjectSource, L: LogSink>(
    source: &S,
    sink: &L,
    settings: &Settings,
    to_read: &ToRead,
    stop: StopSignal,
    deadline: Option<Instant>,
) -> Delivery {
    let object = &to_read.object;
    let opened = match source.open(object).await {
        Ok(opened) => opened,
        Err(error) => return Delivery::NotOpened(error),
    };
    if opened.content_length == Some(0) {
        return Delivery::Empty;
    }
    let pinned = Continuation {
        bucket: object.bucket.clone(),
        key: opened.key.clone(),
        version_id: opened.version_id.or_else(|| object.version_id.clone()),
        e_tag: opened.e_tag,
        next_record: 0,
    };
    let context = PlanContext {
        bucket: object.bucket.clone(),
        key: opened.key,
        key_facts: to_read.key_facts.clone(),
        routes: Arc::clone(&settings.routes),
        dry_run: settings.dry_run,
        start_record: object.start_record,
        max_decompressed_bytes: settings.max_decompressed_bytes,
        stop,
    };
    let (ready_tx, mut ready_rx) = mpsc::channel::<ReadyBatch>(READY_BATCH_QUEUE);
    let (bucket, key) = (context.bucket.clone(), context.key.clone());
    let body = opened.body;
    let reading = tokio::task::spawn_blocking(move || {
        plan_file(body, &context, |ready| {
            ready_tx.blocking_send(ready).map_err(|_| Halt::Delivery)
        })
    });

    let put = put_batches(
        sink,
        settings.dry_run,
        &mut ready_rx,
        deadline,
        &bucket,
        &key,
    )
    .await;
    // The reading thread sees the closed queue and stops at its next batch.
    drop(ready_rx);
    Delivery::Read(Box::new(Delivered {
        pinned,
        plan: reading.await,
        forwarded: put.forwarded,
        rejected: put.rejected,
        sink_error: put.sink_error,
    }))
}

/// What the puts of one object did.
struct Puts {
    forwarded: Vec<(Destination, u64)>,
    rejected: RejectedReasons,
    sink_error: Option<CallError>,
}

/// Puts each batch as it arrives, until the queue closes or a put fails. A dry run puts
/// nothing and counts what it would have sent.
async fn put_batches<L: LogSink>(
    sink: &L,
    dry_run: bool,
    ready: &mut mpsc::Receiver<ReadyBatch>,
    deadline: Option<Instant>,
    bucket: &str,
    key: &str,
) -> Puts {
    let mut forwarded: Vec<(Destination, u64)> = Vec::new();
    let mut count = |destination: &Destination, events: u64| match forwarded
        .iter_mut()
        .find(|(d, _)| d == destination)
    {
        Some((_, total)) => *total += events,
        None => forwarded.push((destination.clone(), events)),
    };
    let mut rejected = RejectedReasons::default();
    let mut sink_error = None;
    while let Some(ready) = ready.recv().await {
        if dry_run {
            count(&ready.destination, ready.batch.events.len() as u64);
            continue;
        }
        match sink.put(&ready.destination, ready.batch, deadline).await {
            Ok(outcome) => {
                count(&ready.destination, outcome.accepted);
                rejected.add(&outcome.rejected);
                if !outcome.rejected.is_empty() {
                    tracing::warn!(bucket = %bucket, key = %key, destination = %ready.destination, too_old = outcome.rejected.too_old, too_new = outcome.rejected.too_new, expired = outcome.rejected.expired, "CloudWatch Logs rejected events");
                }
            }
            Err(error) => {
                sink_error = Some(error);
                break;
            }
        }
    }
    Puts {
        forwarded,
        rejected,
        sink_error,
    }
}
