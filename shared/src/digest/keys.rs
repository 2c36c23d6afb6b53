//! CloudTrail's public keys for digest signatures, by fingerprint: from `ListPublicKeys` in the
//! region whose digests are validated, or from a file in the JSON that
//! `aws cloudtrail list-public-keys` prints (air-gapped use, tests with their own key pair).

use serde::Deserialize;

use super::chain::PublicKeys;
use super::signature::parse_public_key;

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
pub fn from_cli_json(text: &str, region: &str) -> Result<PublicKeys, String> {
    let list: PublicKeyList = serde_json::from_str(text)
        .map_err(|e| format!("not the output of list-public-keys: {e}"))?;
    let mut keys = PublicKeys {
        region: region.to_owned(),
        ..PublicKeys::default()
    };
    for entry in list.public_key_list {
        let der = aws_smithy_types::base64::decode(&entry.value)
            .map_err(|e| format!("key {}: not base64: {e}", entry.fingerprint))?;
        let key = parse_public_key(&der)
            .ok_or_else(|| format!("key {}: not a DER RSA public key", entry.fingerprint))?;
        keys.by_fingerprint.insert(entry.fingerprint, key);
    }
    Ok(keys)
}

/// `ListPublicKeys` for `[start - 1 h, end + 2 h]`, as the AWS CLI widens it. The SDK decodes
/// the blob already: its bytes are the DER key.
pub async fn from_cloudtrail(
    client: &aws_sdk_cloudtrail::Client,
    region: &str,
    start: i64,
    end: i64,
) -> Result<PublicKeys, String> {
    use aws_sdk_cloudtrail::primitives::DateTime;
    let mut keys = PublicKeys {
        region: region.to_owned(),
        ..PublicKeys::default()
    };
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_public_keys()
            .start_time(DateTime::from_secs(start - 3600))
            .end_time(DateTime::from_secs(end + 7200))
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "ListPublicKeys: {}",
                    aws_sdk_cloudtrail::error::DisplayErrorContext(&e)
                )
            })?;
        for entry in page.public_key_list() {
            if let (Some(value), Some(fingerprint)) = (entry.value(), entry.fingerprint()) {
                if let Some(key) = parse_public_key(value.as_ref()) {
                    keys.by_fingerprint.insert(fingerprint.to_owned(), key);
                }
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    if keys.by_fingerprint.is_empty() {
        return Err(format!(
            "No public keys found between {} and {}",
            super::validate::display(start),
            super::validate::display(end)
        ));
    }
    Ok(keys)
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
}
