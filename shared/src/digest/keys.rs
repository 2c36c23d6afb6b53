//! CloudTrail's public keys for digest signatures: kept for the life of the process by
//! [`KeyCache`], and read from a file in the JSON that `aws cloudtrail list-public-keys` prints
//! (air-gapped use, tests with their own key pair). `ListPublicKeys` itself is the validator's
//! adapter.

use std::collections::HashMap;

use serde::Deserialize;

use super::signature::parse_public_key;
use super::store::{CallError, PublicKeySource, PublicKeys};

/// Why a list of public keys could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyListError {
    #[error("not the output of list-public-keys: {0}")]
    NotAKeyList(#[source] serde_json::Error),
    #[error("key {fingerprint}: not base64")]
    NotBase64 { fingerprint: String },
    #[error("key {fingerprint}: not a DER RSA public key")]
    NotRsa { fingerprint: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublicKeyList {
    public_key_list: Vec<PublicKeyEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublicKeyEntry {
    /// Base64 of the DER key, as the CLI prints it.
    value: String,
    fingerprint: String,
}

/// Reads `aws cloudtrail list-public-keys` output.
pub fn from_cli_json(text: &str, region: &str) -> Result<PublicKeys, KeyListError> {
    let list: PublicKeyList = serde_json::from_str(text).map_err(KeyListError::NotAKeyList)?;
    let mut keys = PublicKeys {
        region: region.to_owned(),
        ..PublicKeys::default()
    };
    for entry in list.public_key_list {
        let Ok(der) = aws_smithy_types::base64::decode(&entry.value) else {
            return Err(KeyListError::NotBase64 {
                fingerprint: entry.fingerprint,
            });
        };
        let key = parse_public_key(&der).ok_or_else(|| KeyListError::NotRsa {
            fingerprint: entry.fingerprint.clone(),
        })?;
        keys.by_fingerprint.insert(entry.fingerprint, key);
    }
    Ok(keys)
}

/// Public keys from a file of `aws cloudtrail list-public-keys` output, read at each call
/// (a [`KeyCache`] keeps what it read).
#[derive(Debug, Clone)]
pub struct KeysFile {
    pub path: String,
}

impl PublicKeySource for KeysFile {
    async fn keys(&self, region: &str, _start: i64, _end: i64) -> Result<PublicKeys, CallError> {
        let failed = |detail: String| {
            CallError::permanent(format!("public keys file {}", self.path), detail)
        };
        let text = std::fs::read_to_string(&self.path).map_err(|e| failed(e.to_string()))?;
        from_cli_json(&text, region).map_err(|e| failed(e.to_string()))
    }
}

/// Public keys kept for the life of the process, by region and fingerprint: a key, once
/// fetched, is never fetched again; a range not covered yet is fetched and merged.
pub struct KeyCache<K> {
    source: K,
    by_region: tokio::sync::Mutex<HashMap<String, CachedKeys>>,
}

/// One region's keys, fetched for the times from `from` to `to` (epoch seconds).
struct CachedKeys {
    from: i64,
    to: i64,
    keys: PublicKeys,
}

impl<K: PublicKeySource> KeyCache<K> {
    pub fn new(source: K) -> Self {
        Self {
            source,
            by_region: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    pub async fn get(&self, region: &str, start: i64, end: i64) -> Result<PublicKeys, CallError> {
        let mut cache = self.by_region.lock().await;
        if let Some(cached) = cache.get(region)
            && cached.from <= start
            && end <= cached.to
        {
            return Ok(cached.keys.clone());
        }
        let fresh = self.source.keys(region, start, end).await?;
        let cached = cache.entry(region.to_owned()).or_insert(CachedKeys {
            from: start,
            to: end,
            keys: PublicKeys {
                region: region.to_owned(),
                ..PublicKeys::default()
            },
        });
        cached.from = cached.from.min(start);
        cached.to = cached.to.max(end);
        cached.keys.by_fingerprint.extend(fresh.by_fingerprint);
        Ok(cached.keys.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::signed::SignedTrail;

    #[test]
    fn the_cli_json_of_list_public_keys_is_read() {
        let trail = SignedTrail::new("b", "111122223333", "us-east-1", "t", 11);
        let keys = from_cli_json(&trail.public_keys_json(), "us-east-1").unwrap();
        assert!(keys.by_fingerprint.contains_key(&trail.fingerprint));
        assert!(from_cli_json("{}", "r").is_err());
        assert!(
            from_cli_json(
                r#"{"PublicKeyList":[{"Value":"!!","Fingerprint":"f"}]}"#,
                "r"
            )
            .is_err()
        );
    }

    #[tokio::test]
    async fn keys_are_loaded_once_per_covered_range() {
        let dir = std::env::temp_dir().join("trailwatch-key-cache-test");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.json");
        std::fs::write(
            &path,
            SignedTrail::new("b", "111122223333", "us-east-1", "t", 3).public_keys_json(),
        )
        .unwrap();
        let cache = KeyCache::new(KeysFile {
            path: path.to_string_lossy().into_owned(),
        });
        let count = |keys: PublicKeys| keys.by_fingerprint.len();
        assert_eq!(count(cache.get("us-east-1", 100, 200).await.unwrap()), 1);
        // Covered now: served from the cache even with the file gone.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(count(cache.get("us-east-1", 120, 180).await.unwrap()), 1);
        // Not covered: loaded again (and the file is gone).
        assert!(cache.get("us-east-1", 100, 900).await.is_err());
    }
}
