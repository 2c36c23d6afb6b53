//! Digest files and their S3 metadata into the digest model, the string to sign and the
//! signature check, with a real key pair.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use trailwatch::digest::chain::check_digest;
use trailwatch::digest::model::Digest;
use trailwatch::digest::signature::parse_public_key;
use trailwatch::digest::store::{PublicKeys, StoredDigest};
use trailwatch::generate::signed::SignedTrail;

#[derive(Arbitrary, Debug)]
struct Input {
    inflated: Vec<u8>,
    signature: Option<String>,
    signature_algorithm: Option<String>,
    backfill_generation_timestamp: Option<String>,
    bucket: String,
    key: String,
}

fn keys() -> &'static (PublicKeys, String) {
    static KEYS: OnceLock<(PublicKeys, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let trail = SignedTrail::new("b", "111122223333", "us-east-1", "t", 1);
        let mut keys = PublicKeys {
            region: "us-east-1".into(),
            ..PublicKeys::default()
        };
        let key = parse_public_key(&trail.public_key_der()).expect("a DER key");
        keys.by_fingerprint.insert(trail.fingerprint.clone(), key);
        (keys, trail.fingerprint)
    })
}

fuzz_target!(|input: Input| {
    if let Some(digest) = Digest::parse(&input.inflated) {
        let _ = digest.string_to_sign(&input.inflated);
    }
    let stored = StoredDigest {
        inflated: input.inflated,
        signature: input.signature,
        signature_algorithm: input.signature_algorithm,
        backfill_generation_timestamp: input.backfill_generation_timestamp,
    };
    let _ = check_digest(&stored, &keys().0, &input.bucket, &input.key);
});
