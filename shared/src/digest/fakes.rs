//! In-memory ports of validation, for unit tests: a store of signed objects, keys by region,
//! a trail directory, the forwarder's table, and queues that record what was sent.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::sync::Mutex;

use flate2::read::GzDecoder;

use super::provenance::{ForwardRecords, Recorded};
use super::request::RangeRequest;
use super::store::{
    CallError, DigestStore, FetchError, PublicKeySource, PublicKeys, StoredDigest, TrailDirectory,
    TrailLocation,
};
use crate::generate::signed::SignedObject;
use crate::ports::{ListedObject, ObjectListing};
use crate::validator::{RangeKind, RangeQueue, Recheck, RepairQueue};

/// An object's gzip body and its S3 user metadata.
pub type Stored = (Vec<u8>, Vec<(String, String)>);

#[derive(Default, Clone)]
pub(crate) struct MemoryStore {
    pub objects: BTreeMap<String, Stored>,
    /// Keys whose reads fail, as a throttled GetObject does.
    pub unreadable: BTreeSet<String>,
}

impl MemoryStore {
    pub fn put(&mut self, object: &SignedObject) {
        self.objects.insert(
            object.key.clone(),
            (object.body.clone(), object.metadata.clone()),
        );
    }
}

impl ObjectListing for MemoryStore {
    async fn list_objects(
        &self,
        _bucket: &str,
        list_prefix: &str,
        start_after: &str,
    ) -> Result<Vec<ListedObject>, CallError> {
        Ok(self
            .objects
            .iter()
            .filter(|(k, _)| k.starts_with(list_prefix) && k.as_str() > start_after)
            .map(|(key, (body, _))| ListedObject {
                key: key.clone(),
                size: body.len() as u64,
                e_tag: None,
            })
            .collect())
    }

    async fn list_folders(
        &self,
        _bucket: &str,
        list_prefix: &str,
    ) -> Result<Vec<String>, CallError> {
        let mut folders: Vec<String> = self
            .objects
            .keys()
            .filter_map(|k| {
                let rest = k.strip_prefix(list_prefix)?;
                let end = rest.find('/')?;
                Some(format!("{list_prefix}{}", &rest[..=end]))
            })
            .collect();
        folders.dedup();
        Ok(folders)
    }
}

impl DigestStore for MemoryStore {
    async fn fetch_digest(&self, _bucket: &str, key: &str) -> Result<StoredDigest, FetchError> {
        let (body, metadata) = self.objects.get(key).ok_or(FetchError::NotFound)?;
        let mut inflated = Vec::new();
        GzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .map_err(|_| FetchError::Corrupt)?;
        let meta = |name: &str| {
            metadata
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        Ok(StoredDigest {
            inflated,
            signature: meta("signature"),
            signature_algorithm: meta("signature-algorithm"),
            backfill_generation_timestamp: meta("backfill-generation-timestamp"),
        })
    }

    async fn open_log_file(
        &self,
        _bucket: &str,
        key: &str,
    ) -> Result<Box<dyn Read + Send>, FetchError> {
        if self.unreadable.contains(key) {
            return Err(FetchError::Failed(CallError::transient(
                "GetObject",
                "SlowDown",
            )));
        }
        let (body, _) = self.objects.get(key).ok_or(FetchError::NotFound)?;
        Ok(Box::new(std::io::Cursor::new(body.clone())))
    }
}

/// The forwarder's table in memory: ledgers by key, or a table that cannot be read.
#[derive(Default)]
pub(crate) struct MemoryRecords {
    pub ledgers: BTreeMap<String, Recorded>,
    pub unreadable: bool,
}

impl ForwardRecords for MemoryRecords {
    async fn ledgers(&self, objects: &[(&str, &str)]) -> Result<Vec<Recorded>, CallError> {
        if self.unreadable {
            return Err(CallError::transient(
                "BatchGetItem",
                "ProvisionedThroughputExceededException",
            ));
        }
        Ok(objects
            .iter()
            .map(|(_, key)| {
                let found = self.ledgers.get(*key).cloned();
                found.unwrap_or(Recorded::Nothing)
            })
            .collect())
    }
}

/// Public keys by region; a region without keys has none.
#[derive(Default)]
pub(crate) struct MemoryKeys {
    pub by_region: HashMap<String, PublicKeys>,
}

impl PublicKeySource for MemoryKeys {
    async fn keys(&self, region: &str, _start: i64, _end: i64) -> Result<PublicKeys, CallError> {
        Ok(self.by_region.get(region).cloned().unwrap_or(PublicKeys {
            region: region.to_owned(),
            ..PublicKeys::default()
        }))
    }
}

/// One trail's location, and the caller's organization.
pub(crate) struct MemoryDirectory {
    pub location: TrailLocation,
    pub organization_id: String,
}

impl TrailDirectory for MemoryDirectory {
    async fn describe_trail(&self, _trail_arn: &str) -> Result<TrailLocation, CallError> {
        Ok(self.location.clone())
    }

    async fn organization_id(&self) -> Result<String, CallError> {
        Ok(self.organization_id.clone())
    }
}

/// What was sent, in order; every send fails while `failing`.
pub(crate) struct MemoryQueue<T> {
    pub sent: Mutex<Vec<T>>,
    /// Rechecks sent, with their delays.
    pub rechecks: Mutex<Vec<(Recheck, std::time::Duration)>>,
    pub failing: bool,
}

impl<T> Default for MemoryQueue<T> {
    fn default() -> Self {
        Self {
            sent: Mutex::new(Vec::new()),
            rechecks: Mutex::new(Vec::new()),
            failing: false,
        }
    }
}

impl<T: Clone + Send + 'static> MemoryQueue<T> {
    fn record(&self, items: &[T]) -> Result<usize, CallError> {
        if self.failing {
            return Err(CallError::transient(
                "SendMessageBatch",
                "ServiceUnavailable",
            ));
        }
        self.sent.lock().unwrap().extend_from_slice(items);
        Ok(items.len())
    }
}

impl RangeQueue for MemoryQueue<(RangeKind, RangeRequest)> {
    async fn send(&self, kind: RangeKind, requests: &[RangeRequest]) -> Result<usize, CallError> {
        let sent: Vec<_> = requests.iter().map(|r| (kind, r.clone())).collect();
        self.record(&sent)
    }

    async fn send_recheck(
        &self,
        recheck: &Recheck,
        delay: std::time::Duration,
    ) -> Result<(), CallError> {
        self.record(&[])?;
        self.rechecks.lock().unwrap().push((recheck.clone(), delay));
        Ok(())
    }
}

impl RepairQueue for MemoryQueue<String> {
    async fn send(&self, bodies: &[String]) -> Result<usize, CallError> {
        self.record(bodies)
    }
}
