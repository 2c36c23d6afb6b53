//! The hash CloudTrail records for a log file: SHA-256 of its decompressed bytes, streamed.
//! As the AWS CLI, exactly one gzip member is read, and bytes after it make the file invalid
//! (`INVALID: unexpected data after end of compressed stream`).

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;
use sha2::Digest as _;

use crate::object::Sha256;

use crate::trail::file::{DEFAULT_MAX_DECOMPRESSED_BYTES, TaggedSource, is_source_error};

const CHUNK: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LogHashError {
    #[error("unexpected data after end of compressed stream")]
    TrailingData,
    /// A decompression bomb, or far larger than CloudTrail writes.
    #[error("inflates beyond {limit} bytes")]
    TooLarge { limit: u64 },
    /// The stream ends early: what is there hashes to something else, as the AWS CLI reports it
    /// (`INVALID: hash value doesn't match`).
    #[error("the compressed stream ends early: {0}")]
    Truncated(#[source] io::Error),
    #[error("invalid format: {0}")]
    Corrupt(#[source] io::Error),
    /// Reading the object failed (network): says nothing about the file.
    #[error("reading the object failed: {0}")]
    Source(#[source] io::Error),
}

/// The SHA-256 of the decompressed bytes of one gzip member, which may inflate to
/// [`DEFAULT_MAX_DECOMPRESSED_BYTES`] at most (the forwarder's default ceiling).
pub fn hash_log_file<R: Read>(compressed: R) -> Result<Sha256, LogHashError> {
    hash_log_file_within(compressed, DEFAULT_MAX_DECOMPRESSED_BYTES)
}

/// As [`hash_log_file`], with the ceiling on decompressed bytes given.
pub(crate) fn hash_log_file_within<R: Read>(
    compressed: R,
    limit: u64,
) -> Result<Sha256, LogHashError> {
    let mut input = BufReader::with_capacity(CHUNK, TaggedSource(compressed));
    // Not gzip at all is a format problem; a gzip stream that ends early is a content one.
    let mut magic = [0u8; 2];
    let mut filled = 0;
    while filled < magic.len() {
        match input.read(&mut magic[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(LogHashError::Source(error)),
        }
    }
    if magic != [0x1f, 0x8b] || filled < magic.len() {
        let error = io::Error::new(io::ErrorKind::InvalidData, "not gzip");
        return Err(LogHashError::Corrupt(error));
    }
    let mut decoder = GzDecoder::new(io::Cursor::new(magic).chain(input));
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut inflated = 0u64;
    loop {
        match decoder.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                inflated += n as u64;
                if inflated > limit {
                    return Err(LogHashError::TooLarge { limit });
                }
                hasher.update(&buffer[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if is_source_error(&error) => return Err(LogHashError::Source(error)),
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(LogHashError::Truncated(error));
            }
            Err(error) => return Err(LogHashError::Corrupt(error)),
        }
    }
    let mut rest = decoder.into_inner();
    match rest.fill_buf() {
        Ok([]) => Ok(Sha256::from_bytes(hasher.finalize().into())),
        Ok(_) => Err(LogHashError::TrailingData),
        Err(error) => Err(LogHashError::Source(error)),
    }
}

/// Hashes the bytes read through it: the forwarder's SHA-256 of a log file's decompressed
/// bytes, compared later with the `hashValue` its digest records.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    /// Reads what is left (whitespace after the records' closing bracket) and gives the hash
    /// of every byte.
    pub fn finish(mut self) -> io::Result<Sha256> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(Sha256::from_bytes(self.hasher.finalize().into()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::generate::gzip;

    #[test]
    fn a_hashing_reader_hashes_what_is_read_and_what_is_left() {
        let mut reader = HashingReader::new(&b"abc"[..]);
        let mut first = [0u8; 1];
        reader.read_exact(&mut first).unwrap();
        assert_eq!(
            reader.finish().unwrap().to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_hash_is_of_the_decompressed_bytes() {
        let hash = hash_log_file(&gzip(b"abc")[..]).unwrap();
        assert_eq!(
            hash.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let big: Vec<u8> = (0..1_000_000u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(
            hash_log_file(&gzip(&big)[..]).unwrap().to_string(),
            hex::encode(sha2::Sha256::digest(&big))
        );
    }

    #[test]
    fn trailing_bytes_and_a_second_member_are_invalid() {
        let mut appended = gzip(b"abc");
        appended.extend_from_slice(b"x");
        assert!(matches!(
            hash_log_file(&appended[..]),
            Err(LogHashError::TrailingData)
        ));
        let mut two_members = gzip(b"abc");
        two_members.extend(gzip(b"def"));
        assert!(matches!(
            hash_log_file(&two_members[..]),
            Err(LogHashError::TrailingData)
        ));
    }

    #[test]
    fn truncated_files_end_early_and_others_are_invalid_format() {
        let whole = gzip(
            &(0..100_000u32)
                .flat_map(|i| i.to_le_bytes())
                .collect::<Vec<u8>>(),
        );
        for cut in [5, 100, whole.len() / 2] {
            assert!(
                matches!(
                    hash_log_file(&whole[..whole.len() - cut]),
                    Err(LogHashError::Truncated(_))
                ),
                "{cut}"
            );
        }
        assert!(matches!(
            hash_log_file(&b"not gzip"[..]),
            Err(LogHashError::Corrupt(_))
        ));
    }

    #[test]
    fn a_file_inflating_past_the_ceiling_stops_there() {
        let big = vec![b'a'; 1 << 20];
        let compressed = gzip(&big);
        assert!(matches!(
            hash_log_file_within(&compressed[..], (1 << 20) - 1),
            Err(LogHashError::TooLarge { limit }) if limit == (1 << 20) - 1
        ));
        assert_eq!(
            hash_log_file_within(&compressed[..], 1 << 20)
                .unwrap()
                .to_string(),
            hex::encode(sha2::Sha256::digest(&big))
        );
    }
}
