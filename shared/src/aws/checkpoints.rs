//! The checkpoint table (`CHECKPOINT_TABLE_NAME`) in DynamoDB: one item per object, keyed by
//! `object` (`s3://bucket/key`); every write is a PutItem conditioned on the revision it follows
//! (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html),
//! reads are strongly consistent. `expiresAt` is the table's TTL attribute.

use std::collections::HashMap;

use crate::checkpoint::{
    Checkpoint, Lease, Ledger, LedgerState, RecordCounts, Stored, Unconfirmed, Written,
};
use crate::digest::provenance::{ForwardRecords, Recorded};
use crate::object::{ETag, Sha256};
use crate::ports::{CallError, CheckpointStore};
use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

pub struct DynamoCheckpoints {
    pub client: aws_sdk_dynamodb::Client,
    pub table_name: String,
}

impl DynamoCheckpoints {
    pub fn new(sdk: &aws_config::SdkConfig, table_name: &str) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table_name: table_name.to_owned(),
        }
    }
}

/// The partition key.
const OBJECT: &str = "object";

fn object_id(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The item's attributes, as every version wrote them: the ledger (`nextRecord`, `done`,
/// `records`…, `sha256`, `failure`) and the lease (`owner`, `leaseUntil`, `uncertain`,
/// `uncertainUntil`) side by side.
fn item(id: String, checkpoint: &Checkpoint, revision: u64) -> HashMap<String, AttributeValue> {
    let ledger = &checkpoint.ledger;
    let (owner, lease_until, unconfirmed) = match &checkpoint.lease {
        Lease::Free { unconfirmed } => (None, 0, *unconfirmed),
        Lease::Held {
            owner,
            until_millis,
        } => (Some(owner.as_str()), *until_millis, None),
        Lease::InFlight {
            owner,
            until_millis,
            unconfirmed,
        } => (Some(owner.as_str()), *until_millis, Some(*unconfirmed)),
    };
    let mut item = HashMap::from([
        (OBJECT.to_owned(), AttributeValue::S(id)),
        ("revision".to_owned(), number(revision)),
        ("nextRecord".to_owned(), number(ledger.next_record)),
        ("done".to_owned(), AttributeValue::Bool(ledger.is_done())),
        ("leaseUntil".to_owned(), number(lease_until)),
        (
            "uncertain".to_owned(),
            AttributeValue::Bool(unconfirmed.is_some()),
        ),
        (
            "expiresAt".to_owned(),
            number(checkpoint.expires_at_seconds),
        ),
    ]);
    if let Some(Unconfirmed::Before(until)) = unconfirmed {
        item.insert("uncertainUntil".to_owned(), number(until));
    }
    let counts = &ledger.counts;
    for (name, value) in [
        ("records", counts.records),
        ("forwarded", counts.forwarded),
        ("filtered", counts.filtered),
        ("rejected", counts.rejected),
    ] {
        item.insert(name.to_owned(), number(value));
    }
    let (sha256, failure) = match &ledger.state {
        LedgerState::Open => (None, None),
        LedgerState::Failed(reason) => (None, Some(reason.as_str())),
        LedgerState::Done { sha256 } => (sha256.map(|hash| hash.to_string()), None),
    };
    let strings = [
        ("owner", owner),
        ("versionId", checkpoint.version_id.as_deref()),
        // Bare, as notifications name it.
        ("eTag", checkpoint.e_tag.as_ref().map(ETag::bare)),
        ("sha256", sha256.as_deref()),
        ("failure", failure),
    ];
    for (name, value) in strings {
        if let Some(value) = value {
            item.insert(name.to_owned(), AttributeValue::S(value.to_owned()));
        }
    }
    item
}

/// Why an item is not read as a checkpoint.
const NOT_OURS: &str =
    "the item is not a trailwatch checkpoint (a field is missing or of another type)";

/// An item as stored; `None` when a field is missing or of another type (not ours), or its
/// hash is not SHA-256 hex.
fn stored(item: &HashMap<String, AttributeValue>) -> Option<Stored> {
    let n = |name: &str| item.get(name)?.as_n().ok()?.parse::<i64>().ok();
    let flag = |name: &str| item.get(name).and_then(|v| v.as_bool().ok()).copied();
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    // Items written before the counts were kept have none: zero.
    let count = |name: &str| n(name).and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let done = flag("done")?;
    let sha256 = match text("sha256") {
        Some(hex) => Some(Sha256::from_hex(&hex)?),
        None => None,
    };
    let state = match (done, text("failure")) {
        (true, _) => LedgerState::Done { sha256 },
        (false, Some(reason)) => LedgerState::Failed(reason),
        (false, None) => LedgerState::Open,
    };
    // Items written before `uncertain` was kept may have had puts in flight: assume so.
    let unconfirmed = flag("uncertain").unwrap_or(true).then(|| {
        n("uncertainUntil")
            .and_then(|n| u64::try_from(n).ok())
            .map_or(Unconfirmed::ToTheEnd, Unconfirmed::Before)
    });
    let until_millis = n("leaseUntil").unwrap_or(0);
    let lease = match (done, text("owner"), unconfirmed) {
        (true, _, _) => Lease::default(),
        (false, Some(owner), None) => Lease::Held {
            owner,
            until_millis,
        },
        (false, Some(owner), Some(unconfirmed)) => Lease::InFlight {
            owner,
            until_millis,
            unconfirmed,
        },
        (false, None, unconfirmed) => Lease::Free { unconfirmed },
    };
    Some(Stored {
        revision: u64::try_from(n("revision")?).ok()?,
        checkpoint: Checkpoint {
            version_id: text("versionId"),
            e_tag: text("eTag").as_deref().and_then(ETag::new),
            expires_at_seconds: n("expiresAt").unwrap_or(0),
            ledger: Ledger {
                next_record: u64::try_from(n("nextRecord")?).ok()?,
                counts: RecordCounts {
                    records: count("records"),
                    forwarded: count("forwarded"),
                    filtered: count("filtered"),
                    rejected: count("rejected"),
                },
                state,
            },
            lease,
        },
    })
}

impl CheckpointStore for DynamoCheckpoints {
    async fn load(&self, bucket: &str, key: &str) -> Result<Option<Stored>, CallError> {
        let id = object_id(bucket, key);
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .key(OBJECT, AttributeValue::S(id.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                CallError::from_sdk(format!("GetItem {id} from {}", self.table_name), &e)
            })?;
        let Some(found) = output.item else {
            return Ok(None);
        };
        stored(&found).map(Some).ok_or_else(|| {
            CallError::permanent(format!("GetItem {id} from {}", self.table_name), NOT_OURS)
        })
    }

    async fn store(
        &self,
        bucket: &str,
        key: &str,
        checkpoint: &Checkpoint,
        revision: u64,
    ) -> Result<Written, CallError> {
        let id = object_id(bucket, key);
        let request = self
            .client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(item(id.clone(), checkpoint, revision)));
        let request = if revision <= 1 {
            request
                .condition_expression("attribute_not_exists(#object)")
                .expression_attribute_names("#object", OBJECT)
        } else {
            request
                .condition_expression("#revision = :previous")
                .expression_attribute_names("#revision", "revision")
                .expression_attribute_values(":previous", number(revision - 1))
        };
        match request.send().await {
            Ok(_) => Ok(Written::Stored),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(Written::Conflict)
            }
            Err(e) => Err(CallError::from_sdk(
                format!("PutItem {id} to {}", self.table_name),
                &e,
            )),
        }
    }
}

/// Keys per BatchGetItem request, DynamoDB's limit.
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
const BATCH_GET_KEYS: usize = 100;
/// Requests for the keys DynamoDB left unprocessed (throttling) before giving up for now.
const UNPROCESSED_ATTEMPTS: u32 = 5;

/// The validator's read: many objects' ledgers, 100 at a time, strongly consistent; keys
/// left unprocessed are asked again with a growing pause, as AWS advises.
impl ForwardRecords for DynamoCheckpoints {
    async fn ledgers(&self, objects: &[(&str, &str)]) -> Result<Vec<Recorded>, CallError> {
        let ids: Vec<String> = objects.iter().map(|(b, k)| object_id(b, k)).collect();
        // A request may not name a key twice.
        let unique: Vec<&String> = ids.iter().collect::<BTreeSet<_>>().into_iter().collect();
        let mut found: HashMap<String, Recorded> = HashMap::new();
        let call = || format!("BatchGetItem from {}", self.table_name);
        for chunk in unique.chunks(BATCH_GET_KEYS) {
            let mut keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|id| HashMap::from([(OBJECT.to_owned(), AttributeValue::S((*id).clone()))]))
                .collect();
            for attempt in 0..UNPROCESSED_ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| CallError::permanent(call(), e.to_string()))?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table_name, request)
                    .send()
                    .await
                    .map_err(|e| CallError::from_sdk(call(), &e))?;
                let items = output
                    .responses
                    .and_then(|mut tables| tables.remove(&self.table_name))
                    .unwrap_or_default();
                for item in items {
                    if let Some(AttributeValue::S(id)) = item.get(OBJECT) {
                        let recorded = stored(&item).map_or_else(
                            || {
                                Recorded::Unreadable(format!(
                                    "{id} in {}: {NOT_OURS}",
                                    self.table_name
                                ))
                            },
                            |stored| Recorded::Ledger(stored.checkpoint.ledger),
                        );
                        found.insert(id.clone(), recorded);
                    }
                }
                keys = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(&self.table_name))
                    .map(|left| left.keys)
                    .unwrap_or_default();
                if keys.is_empty() {
                    break;
                }
            }
            if !keys.is_empty() {
                return Err(CallError::transient(
                    call(),
                    format!(
                        "{} keys were left unprocessed after {UNPROCESSED_ATTEMPTS} requests",
                        keys.len()
                    ),
                ));
            }
        }
        Ok(ids
            .iter()
            .map(|id| found.get(id).cloned().unwrap_or(Recorded::Nothing))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(ledger: LedgerState, lease: Lease) -> Checkpoint {
        Checkpoint {
            version_id: Some("v1".into()),
            e_tag: ETag::new("abc"),
            expires_at_seconds: 1_765_296_000,
            ledger: Ledger {
                next_record: 812,
                counts: RecordCounts {
                    records: 900,
                    forwarded: 800,
                    filtered: 90,
                    rejected: 10,
                },
                state: ledger,
            },
            lease,
        }
    }

    #[test]
    fn every_ledger_and_lease_reads_back_as_written() {
        let owner = || "request-1".to_owned();
        let until_millis = 1_764_000_000_000;
        let done = LedgerState::Done {
            sha256: Sha256::from_hex(&"ab".repeat(32)),
        };
        let cases = [
            checkpoint(done, Lease::default()),
            checkpoint(LedgerState::Failed("not gzip".into()), Lease::default()),
            checkpoint(
                LedgerState::Open,
                Lease::Held {
                    owner: owner(),
                    until_millis,
                },
            ),
            checkpoint(
                LedgerState::Open,
                Lease::InFlight {
                    owner: owner(),
                    until_millis,
                    unconfirmed: Unconfirmed::Before(1_500),
                },
            ),
            checkpoint(
                LedgerState::Open,
                Lease::Free {
                    unconfirmed: Some(Unconfirmed::ToTheEnd),
                },
            ),
        ];
        for checkpoint in cases {
            let written = item(object_id("b", "k"), &checkpoint, 3);
            assert_eq!(written[OBJECT], AttributeValue::S("s3://b/k".into()));
            assert_eq!(
                stored(&written),
                Some(Stored {
                    checkpoint,
                    revision: 3
                })
            );
        }
    }

    #[test]
    fn an_item_keeps_the_attributes_every_version_wrote() {
        let in_flight = checkpoint(
            LedgerState::Open,
            Lease::InFlight {
                owner: "request-1".into(),
                until_millis: 7,
                unconfirmed: Unconfirmed::Before(1_500),
            },
        );
        let written = item(object_id("b", "k"), &in_flight, 3);
        let n = |name: &str| written[name].as_n().unwrap().clone();
        assert_eq!(
            (n("nextRecord"), n("leaseUntil"), n("uncertainUntil")),
            ("812".into(), "7".into(), "1500".into())
        );
        assert_eq!(written["uncertain"], AttributeValue::Bool(true));
        assert_eq!(written["done"], AttributeValue::Bool(false));
        assert_eq!(written["owner"], AttributeValue::S("request-1".into()));
        let mut foreign = written.clone();
        foreign.insert("revision".into(), AttributeValue::S("three".into()));
        assert_eq!(stored(&foreign), None);
        // A hash that is not SHA-256 hex is not ours either: never read as "no hash recorded".
        let mut done = item(
            object_id("b", "k"),
            &checkpoint(LedgerState::Done { sha256: None }, Lease::default()),
            3,
        );
        done.insert("sha256".into(), AttributeValue::S("not a hash".into()));
        assert_eq!(stored(&done), None);
    }
}
