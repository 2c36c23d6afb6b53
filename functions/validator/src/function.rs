//! The function's adapters and settings, built once per cold start.

use std::sync::Arc;

use trailwatch::aws::logs::CloudWatchLogsSink;
use trailwatch::digest::keys::{KeyCache, KeysFile};
use trailwatch::digest::store::{CallError, PublicKeySource, PublicKeys};

use crate::ValidatorConfig;
use crate::aws::Clients;
use crate::aws::cloudtrail::{CloudTrailDirectory, CloudTrailKeys};
use crate::aws::s3::S3DigestStore;
use crate::aws::sqs::SqsRangeQueue;
use crate::provenance::Provenance;

/// Where the public keys come from: `ListPublicKeys`, or a file of its output.
pub enum Keys {
    CloudTrail(Box<CloudTrailKeys>),
    File(KeysFile),
}

impl Keys {
    /// `path` when given (`--public-keys-file`, `TRAIL_PUBLIC_KEYS_FILE`), else CloudTrail.
    pub fn new(clients: &Clients, path: Option<String>) -> Self {
        match path.filter(|p| !p.is_empty()) {
            Some(path) => Keys::File(KeysFile { path }),
            None => Keys::CloudTrail(Box::new(CloudTrailKeys::new(&clients.sdk))),
        }
    }
}

impl PublicKeySource for Keys {
    async fn keys(&self, region: &str, start: i64, end: i64) -> Result<PublicKeys, CallError> {
        match self {
            Keys::CloudTrail(keys) => keys.keys(region, start, end).await,
            Keys::File(keys) => keys.keys(region, start, end).await,
        }
    }
}

/// The function's adapters and settings, built once per cold start.
pub struct Validator {
    pub store: Arc<S3DigestStore>,
    /// Keys fetched so far, for the life of the process.
    pub keys: KeyCache<Keys>,
    pub directory: CloudTrailDirectory,
    pub sink: CloudWatchLogsSink,
    pub log_group: Arc<str>,
    pub namespace: String,
    /// `DIGEST_QUEUE_URL`: a range over more than one account and region is sent here, one
    /// message per account and region; without it, every part is validated in-process.
    pub fan_out: Option<SqsRangeQueue>,
    /// `CHECKPOINT_TABLE_NAME`: listed log files reconciled with what the forwarder recorded.
    pub provenance: Option<Provenance>,
}

impl Validator {
    pub fn new(
        clients: &Clients,
        logs: aws_sdk_cloudwatchlogs::Client,
        log_group: &str,
        keys: Keys,
        namespace: &str,
    ) -> Self {
        Self {
            store: Arc::new(S3DigestStore {
                client: clients.s3.clone(),
            }),
            keys: KeyCache::new(keys),
            directory: CloudTrailDirectory::new(clients),
            sink: CloudWatchLogsSink::new(logs),
            log_group: Arc::from(log_group),
            namespace: namespace.to_owned(),
            fan_out: None,
            provenance: None,
        }
    }

    /// Whole-trail ranges fan out through `queue_url`.
    pub fn with_fan_out(mut self, client: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        self.fan_out = Some(SqsRangeQueue {
            client,
            queue_url: queue_url.to_owned(),
        });
        self
    }

    /// The function's adapters for `config`.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &ValidatorConfig) -> Self {
        let clients = Clients::new(sdk);
        let keys = Keys::new(&clients, config.public_keys_file.clone());
        let mut validator = Self::new(
            &clients,
            aws_sdk_cloudwatchlogs::Client::new(sdk),
            &config.integrity_log_group,
            keys,
            &config.metrics_namespace,
        );
        validator.provenance = config
            .reconciliation
            .as_ref()
            .map(|reconciliation| Provenance::new(sdk, &clients, reconciliation));
        match &config.digest_queue_url {
            Some(url) => validator.with_fan_out(aws_sdk_sqs::Client::new(sdk), url),
            None => validator,
        }
    }
}
