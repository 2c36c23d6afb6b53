//! The function's adapters and settings, built once per cold start.

use std::sync::Arc;

use trailwatch::audit::{AuditSettings, DEFAULT_DELIVERY_DELAY_MINUTES};
use trailwatch::aws::checkpoints::DynamoCheckpoints;
use trailwatch::aws::logs::CloudWatchLogsSink;
use trailwatch::digest::config::ReconciliationConfig;
use trailwatch::digest::keys::{KeyCache, KeysFile};
use trailwatch::digest::store::{CallError, PublicKeySource, PublicKeys};
use trailwatch::validator::{Reconciler, ValidatorPorts};

use crate::ValidatorConfig;
use crate::aws::Clients;
use crate::aws::cloudtrail::{CloudTrailDirectory, CloudTrailKeys};
use crate::aws::s3::S3DigestStore;
use crate::aws::sqs::{SqsRangeQueue, SqsRepairQueue};

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

/// The AWS adapters of the validator's ports.
pub struct Aws;

impl ValidatorPorts for Aws {
    type Store = S3DigestStore;
    type Keys = Keys;
    type Directory = CloudTrailDirectory;
    type Sink = CloudWatchLogsSink;
    type Ranges = SqsRangeQueue;
    type Records = DynamoCheckpoints;
    type Repairs = SqsRepairQueue;
}

/// The validator over AWS.
pub type AwsValidator = trailwatch::validator::Validator<Aws>;

/// The function: the validator and the namespace of its metrics.
pub struct Validator {
    pub core: AwsValidator,
    pub namespace: String,
}

impl Validator {
    pub fn new(
        clients: &Clients,
        logs: aws_sdk_cloudwatchlogs::Client,
        log_group: &str,
        keys: Keys,
        namespace: &str,
    ) -> Self {
        let core = AwsValidator {
            store: Arc::new(S3DigestStore {
                client: clients.s3.clone(),
            }),
            keys: KeyCache::new(keys),
            directory: CloudTrailDirectory::new(clients),
            sink: CloudWatchLogsSink::new(logs),
            log_group: Arc::from(log_group),
            fan_out: None,
            reconciler: None,
            audit: None,
        };
        Self {
            core,
            namespace: namespace.to_owned(),
        }
    }

    /// Whole-trail ranges fan out through `queue_url`.
    pub fn with_fan_out(mut self, client: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        self.core.fan_out = Some(SqsRangeQueue {
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
        validator.core.reconciler = config
            .reconciliation
            .as_ref()
            .map(|reconciliation| reconciler(&clients, reconciliation));
        validator.core.audit = config.forwarder.as_ref().map(|forwarder| AuditSettings {
            routes: Arc::new(forwarder.routes.clone()),
            allowed_accounts: forwarder.allowed_accounts.clone(),
            max_decompressed_bytes: forwarder.max_decompressed_bytes,
            delivery_delay_seconds: DEFAULT_DELIVERY_DELAY_MINUTES * 60,
        });
        match &config.digest_queue_url {
            Some(url) => validator.with_fan_out(aws_sdk_sqs::Client::new(sdk), url),
            None => validator,
        }
    }
}

/// The reconciliation `config` describes, over the checkpoint table and the repair queue.
pub fn reconciler(
    clients: &Clients,
    config: &ReconciliationConfig,
) -> Reconciler<DynamoCheckpoints, SqsRepairQueue> {
    let records = DynamoCheckpoints {
        client: clients.dynamodb.clone(),
        table_name: config.checkpoint_table.clone(),
    };
    let repairs = config
        .repair_queue_url
        .as_ref()
        .map(|queue_url| SqsRepairQueue {
            client: aws_sdk_sqs::Client::new(&clients.sdk),
            queue_url: queue_url.clone(),
        });
    Reconciler::new(config, records, repairs)
}
