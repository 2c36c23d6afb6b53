//! What an SQS message's objects make of the message: acknowledged, retried, or copied to the
//! dead-letter queue. Objects decide ([`Outcome`]); this only follows.

use super::outcome::{Outcome, Settled};
use crate::ports::{DeadLetter, DeadLetterQueue};
use crate::trigger::Message;

/// How an SQS message ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MessageEnd {
    /// Acknowledged: everything it names is done (forwarded, skipped, or failed for good with
    /// no dead-letter queue to keep it).
    Done,
    /// Reported in `batchItemFailures`: it comes back after its visibility timeout.
    Retry,
    /// Failed for good: copied to the dead-letter queue with this reason, then acknowledged.
    /// `named_objects`: it named objects (which were read), not only what no retry mends.
    DeadLetter {
        letter: DeadLetter,
        named_objects: bool,
    },
}

/// The outcomes of one message's objects and entries, as they come.
#[derive(Debug, Default)]
pub(crate) struct MessageTally {
    retry: bool,
    named_objects: bool,
    failed_for_good: Option<DeadLetter>,
}

impl MessageTally {
    /// An entry that names no object: retrying cannot mend it, and would forward its
    /// neighbours again.
    pub fn unreadable_entry(&mut self, message_id: &str, reason: String) {
        self.failed_for_good.get_or_insert(DeadLetter {
            message_id: message_id.to_owned(),
            object: None,
            reason,
            delivered: None,
        });
    }

    /// An object of the message has settled.
    pub fn object(&mut self, message_id: &str, settled: &Settled) {
        self.named_objects = true;
        match &settled.outcome {
            Outcome::Failed(failure) if failure.is_retryable() => self.retry = true,
            Outcome::Failed(failure) => {
                let object = &settled.summary;
                self.failed_for_good.get_or_insert(DeadLetter {
                    message_id: message_id.to_owned(),
                    object: Some(format!("s3://{}/{}", object.bucket, object.key)),
                    reason: failure.to_string(),
                    delivered: Some(object.delivered_records()),
                });
            }
            Outcome::Finished { .. }
            | Outcome::HandOff(_)
            | Outcome::Deferred(_)
            | Outcome::Skipped(_) => {}
        }
    }

    /// Retried first: on redelivery the finished objects are skipped by their checkpoints,
    /// and what fails for good then goes to the dead-letter queue.
    pub fn end(self) -> MessageEnd {
        match (self.retry, self.failed_for_good) {
            (true, _) => MessageEnd::Retry,
            (false, Some(letter)) => MessageEnd::DeadLetter {
                letter,
                named_objects: self.named_objects,
            },
            (false, None) => MessageEnd::Done,
        }
    }
}

/// Whether the message may be deleted: done, or kept in the dead-letter queue. Without that
/// queue, a failure for good is acknowledged (logged and in the summary) when objects were
/// read, and left to the queue's redrive policy when the message named nothing.
pub(crate) async fn acknowledge<D: DeadLetterQueue>(
    dead_letters: Option<&D>,
    message: &Message,
    end: MessageEnd,
) -> bool {
    let (letter, named_objects) = match end {
        MessageEnd::Done => return true,
        MessageEnd::Retry => return false,
        MessageEnd::DeadLetter {
            letter,
            named_objects,
        } => (letter, named_objects),
    };
    let (Some(queue), Some(body)) = (dead_letters, &message.body) else {
        return named_objects;
    };
    match queue.send(body, &letter).await {
        Ok(()) => {
            tracing::warn!(object = letter.object.as_deref().unwrap_or("-"), reason = %letter.reason, "message failed for good: copied to the dead-letter queue");
            true
        }
        Err(error) => {
            tracing::error!(error = %error, "the dead-letter copy failed: the message is retried");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::object::Continuation;
    use crate::pipeline::outcome::{Failure, Skip};
    use crate::ports::{CallError, OpenError};
    use crate::summary::ObjectSummary;
    use crate::trail::{FileError, FileKind};

    fn settled(key: &str, outcome: Outcome) -> Settled {
        Settled::new(ObjectSummary::new("b", key, FileKind::Log), outcome)
    }

    fn end_of(outcomes: Vec<Outcome>) -> MessageEnd {
        let mut tally = MessageTally::default();
        for (i, outcome) in outcomes.into_iter().enumerate() {
            tally.object("m", &settled(&format!("k{i}"), outcome));
        }
        tally.end()
    }

    fn not_gzip() -> Outcome {
        Outcome::Failed(Failure::File(Arc::new(FileError::NotGzip)))
    }

    fn slow_down() -> Outcome {
        let error = CallError::transient("GetObject", "SlowDown");
        Outcome::Failed(Failure::NotOpened(OpenError::Failed(error)))
    }

    #[test]
    fn done_when_every_object_finished_was_handed_off_or_skipped() {
        let handed_off = Outcome::HandOff(Continuation {
            bucket: "b".into(),
            key: "k1".into(),
            version_id: None,
            e_tag: None,
            next_record: 9,
        });
        let outcomes = vec![
            Outcome::Finished { next_record: 3 },
            handed_off,
            Outcome::Skipped(Skip::Digest),
        ];
        assert_eq!(end_of(outcomes), MessageEnd::Done);
    }

    #[test]
    fn a_retry_wins_over_a_failure_for_good() {
        let outcomes = vec![not_gzip(), slow_down()];
        assert_eq!(end_of(outcomes), MessageEnd::Retry);
    }

    #[test]
    fn the_first_failure_for_good_is_the_dead_letter_reason() {
        let outcomes = vec![
            Outcome::Finished { next_record: 3 },
            not_gzip(),
            Outcome::Failed(Failure::File(Arc::new(FileError::TooLarge { limit: 1 }))),
        ];
        let MessageEnd::DeadLetter {
            letter,
            named_objects,
        } = end_of(outcomes)
        else {
            panic!("not dead-lettered");
        };
        assert!(named_objects);
        assert_eq!(letter.object.as_deref(), Some("s3://b/k1"));
        assert_eq!(letter.reason, FileError::NotGzip.to_string());
        assert_eq!(
            letter.delivered.as_deref(),
            Some("0 of the 0 records read were forwarded in this invocation (no checkpoint table)")
        );
    }

    #[test]
    fn an_entry_naming_nothing_is_dead_lettered_without_objects() {
        let mut tally = MessageTally::default();
        tally.unreadable_entry("m", "no s3 field".into());
        let MessageEnd::DeadLetter {
            letter,
            named_objects,
        } = tally.end()
        else {
            panic!("not dead-lettered");
        };
        assert!(!named_objects && letter.object.is_none());
        assert_eq!(letter.reason, "no s3 field");
    }
}
