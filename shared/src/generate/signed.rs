//! A signed trail for tests and the demo: hourly digests over generated log files, signed the
//! way CloudTrail signs them, with a key pair generated from a seed (never a real key).

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use serde_json::json;
use sha2::{Digest as _, Sha256};

pub use super::gzip;
use crate::digest::model::Digest;

/// A trail that signs digests with its own key pair. A clone signs with the same key: the
/// digests of another account of an organization trail, in the same region.
#[derive(Clone)]
pub struct SignedTrail {
    pub bucket: String,
    pub prefix: Option<String>,
    /// An organization trail's members deliver under `AWSLogs/<o-id>/<account>/`.
    pub organization_id: Option<String>,
    pub account_id: String,
    pub region: String,
    /// The trail's home region, in digest names (a multi-region trail's digests of every region
    /// name it); the digests' own region by default.
    pub home_region: String,
    pub trail_name: String,
    signing: SigningKey<Sha256>,
    public: RsaPublicKey,
    pub fingerprint: String,
}

/// A file to put: key, gzip body, and the S3 user metadata to attach.
#[derive(Debug, Clone)]
pub struct SignedObject {
    pub key: String,
    pub body: Vec<u8>,
    pub metadata: Vec<(String, String)>,
    /// Hex signature of a digest (its `signature` metadata).
    pub signature: Option<String>,
}

/// What the next digest links back to.
#[derive(Debug, Clone)]
pub struct PreviousDigest {
    pub bucket: String,
    pub key: String,
    pub signature: String,
    pub inflated_hash: String,
}

impl SignedTrail {
    /// A trail with a 2048-bit key pair derived from `seed`.
    pub fn new(bucket: &str, account_id: &str, region: &str, trail_name: &str, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let private = RsaPrivateKey::new(&mut rng, 2048)
            .unwrap_or_else(|e| panic!("RSA key generation: {e}"));
        let public = private.to_public_key();
        let der = public
            .to_pkcs1_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        let fingerprint = hex::encode(&Sha256::digest(&der)[..16]);
        Self {
            bucket: bucket.into(),
            prefix: None,
            organization_id: None,
            account_id: account_id.into(),
            region: region.into(),
            home_region: region.into(),
            trail_name: trail_name.into(),
            signing: SigningKey::<Sha256>::new(private),
            public,
            fingerprint,
        }
    }

    /// The public key as DER PKCS#1, as `ListPublicKeys` returns it.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.public
            .to_pkcs1_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// The JSON `aws cloudtrail list-public-keys` prints for this trail's key.
    pub fn public_keys_json(&self) -> String {
        json!({"PublicKeyList": [{
            "Value": aws_smithy_types::base64::encode(self.public_key_der()),
            "ValidityStartTime": "2000-01-01T00:00:00Z",
            "ValidityEndTime": "2100-01-01T00:00:00Z",
            "Fingerprint": self.fingerprint,
        }]})
        .to_string()
    }

    fn base(&self) -> String {
        let prefix = self
            .prefix
            .as_ref()
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        let organization = self
            .organization_id
            .as_ref()
            .map(|o| format!("{o}/"))
            .unwrap_or_default();
        format!("{prefix}AWSLogs/{organization}{}", self.account_id)
    }

    /// The digest key for the hour ending at `end` (epoch seconds).
    pub fn digest_key(&self, end: i64) -> String {
        let stamp = stamp(end);
        let (account, region, home) = (&self.account_id, &self.region, &self.home_region);
        format!(
            "{}/CloudTrail-Digest/{region}/{}/{}/{}/{account}_CloudTrail-Digest_{region}_{}_{home}_{}{}{}T{}{}{}Z.json.gz",
            self.base(),
            &stamp[0..4],
            &stamp[5..7],
            &stamp[8..10],
            self.trail_name,
            &stamp[0..4],
            &stamp[5..7],
            &stamp[8..10],
            &stamp[11..13],
            &stamp[14..16],
            &stamp[17..19]
        )
    }

    /// A digest for `[start, end]` listing `logs` (key, decompressed bytes), linked to `previous`.
    pub fn digest(
        &self,
        start: i64,
        end: i64,
        logs: &[(String, Vec<u8>)],
        previous: Option<&PreviousDigest>,
    ) -> SignedObject {
        let key = self.digest_key(end);
        let log_files: Vec<serde_json::Value> = logs
            .iter()
            .map(|(log_key, bytes)| json!({"s3Bucket": self.bucket, "s3Object": log_key, "hashValue": hex::encode(Sha256::digest(bytes)), "hashAlgorithm": "SHA-256", "newestEventTime": stamp(end - 60), "oldestEventTime": stamp(start)}))
            .collect();
        let text = json!({
            "awsAccountId": self.account_id,
            "digestStartTime": stamp(start),
            "digestEndTime": stamp(end),
            "digestS3Bucket": self.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": self.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": if logs.is_empty() { serde_json::Value::Null } else { json!(stamp(end - 60)) },
            "oldestEventTime": if logs.is_empty() { serde_json::Value::Null } else { json!(stamp(start)) },
            "previousDigestS3Bucket": previous.map(|p| p.bucket.clone()),
            "previousDigestS3Object": previous.map(|p| p.key.clone()),
            "previousDigestHashValue": previous.map(|p| p.inflated_hash.clone()),
            "previousDigestHashAlgorithm": previous.map(|_| "SHA-256"),
            "previousDigestSignature": previous.map(|p| p.signature.clone()),
            "logFiles": log_files,
        })
        .to_string();
        let digest =
            Digest::parse(text.as_bytes()).unwrap_or_else(|| panic!("generated digest must parse"));
        let signature = hex::encode(
            self.signing
                .sign(digest.string_to_sign(text.as_bytes()).as_bytes())
                .to_vec(),
        );
        SignedObject {
            key,
            body: gzip(text.as_bytes()),
            metadata: vec![
                ("signature".into(), signature.clone()),
                ("signature-algorithm".into(), "SHA256withRSA".into()),
            ],
            signature: Some(signature),
        }
    }

    /// A backfill digest for `[start, end]`, listing log files the hourly digest missed; it
    /// carries `backfill-generation-timestamp` (when it was made) in its metadata. It is signed
    /// like any digest (assumed: AWS documents the key and metadata, not a different signature).
    pub fn backfill_digest(
        &self,
        start: i64,
        end: i64,
        logs: &[(String, Vec<u8>)],
        generated_at: i64,
    ) -> SignedObject {
        let mut digest = self.digest(start, end, logs, None);
        let hourly_key = digest.key.clone();
        let backfill_key = hourly_key.replace(".json.gz", "_backfill.json.gz");
        // Re-sign for the backfill key: the key is part of the signed string.
        let mut inflated = Vec::new();
        let _ = std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&digest.body[..]),
            &mut inflated,
        );
        let text = String::from_utf8_lossy(&inflated).replace(&hourly_key, &backfill_key);
        let parsed =
            Digest::parse(text.as_bytes()).unwrap_or_else(|| panic!("generated digest must parse"));
        let signature = hex::encode(
            self.signing
                .sign(parsed.string_to_sign(text.as_bytes()).as_bytes())
                .to_vec(),
        );
        digest.key = backfill_key;
        digest.body = gzip(text.as_bytes());
        digest.metadata = vec![
            ("signature".into(), signature.clone()),
            ("signature-algorithm".into(), "SHA256withRSA".into()),
            ("backfill-generation-timestamp".into(), stamp(generated_at)),
        ];
        digest.signature = Some(signature);
        digest
    }

    /// The link the next digest makes to this one.
    pub fn link(&self, digest: &SignedObject, inflated: &[u8]) -> PreviousDigest {
        PreviousDigest {
            bucket: self.bucket.clone(),
            key: digest.key.clone(),
            signature: digest.signature.clone().unwrap_or_default(),
            inflated_hash: hex::encode(Sha256::digest(inflated)),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn stamp(seconds: i64) -> String {
    DateTime::from_secs(seconds)
        .fmt(Format::DateTime)
        .unwrap_or_default()
}
