//! Checking a digest's signature: RSA PKCS#1 v1.5 with SHA-256 (`SHA256withRSA`) over the
//! string to sign, with the public key CloudTrail publishes for the digest's fingerprint.

use rsa::PublicKey as RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::Sha256;

/// Reads a public key as `ListPublicKeys` returns it: DER, PKCS#1 `RSAPublicKey` (documented),
/// or SubjectPublicKeyInfo (seen in an old documentation sample).
pub fn parse_public_key(der: &[u8]) -> Option<RsaPublicKey> {
    RsaPublicKey::from_pkcs1_der(der)
        .ok()
        .or_else(|| RsaPublicKey::from_public_key_der(der).ok())
}

/// Whether `signature_hex` (the digest object's `signature` metadata) signs `to_sign`.
pub fn verify(key: &RsaPublicKey, to_sign: &str, signature_hex: &str) -> bool {
    let Ok(bytes) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(to_sign.as_bytes(), &signature)
        .is_ok()
}
