//! Streaming reader of CloudTrail log files: gzip bytes in, one record at a time out.
//!
//! A log file is `{"Records":[ … ]}`, gzip-compressed. The reader never holds the file: bytes
//! are inflated as they arrive and each element of `Records` is handed to the caller as its own
//! JSON text (`RawValue`, byte for byte as delivered) before the next one is read. Memory is
//! bounded by the largest record.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Gzip members read per object at most. CloudTrail writes one; the cap stops a file of
/// millions of empty members, which never reaches the decompressed ceiling.
pub(crate) const MAX_GZIP_MEMBERS: u32 = 10_000;

/// Why a log file could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the object is not gzip-compressed (it does not start with the gzip magic bytes)")]
    NotGzip,
    #[error("the object is empty")]
    Empty,
    #[error("reading the object failed: {0}")]
    Source(#[source] io::Error),
    #[error("the gzip stream is truncated or corrupt: {0}")]
    Decompress(#[source] io::Error),
    #[error("the file is not CloudTrail JSON ({{\"Records\": [...]}}): {0}")]
    Json(#[source] serde_json::Error),
    #[error("the file is not CloudTrail JSON ({{\"Records\": [...]}}): {0}")]
    Syntax(String),
    #[error("the file has no \"Records\" array")]
    NoRecordsArray,
    #[error("the file has more than one \"Records\" array")]
    DuplicateRecordsArray,
    #[error(
        "the object inflates beyond {limit} bytes (MAX_DECOMPRESSED_BYTES): a decompression bomb, or far larger than CloudTrail writes"
    )]
    TooLarge { limit: u64 },
    #[error("the object has more than {limit} gzip members: far more than CloudTrail writes (one)")]
    TooManyMembers { limit: u32 },
    #[error(
        "the file has a top-level key longer than {limit} bytes: not CloudTrail JSON ({{\"Records\": [...]}})"
    )]
    KeyTooLong { limit: usize },
    #[error("reading stopped at the caller's request")]
    Stopped,
}

/// What a record visitor returns to stop the reading; why it stopped is the caller's to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop;

impl FileError {
    /// Whether reading the object again could succeed: only when its source failed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, FileError::Source(_))
    }
}

/// Marks an I/O error as coming from the object's source (S3), not from inflating it.
#[derive(Debug)]
struct SourceFailure(io::Error);

impl fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Wraps the compressed source so its errors can be told apart from decompression errors.
pub(crate) struct TaggedSource<R>(pub(crate) R);

/// Whether an error came from a [`TaggedSource`] (reading the object), not from inflating it.
pub(crate) fn is_source_error(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<SourceFailure>())
}

impl<R: Read> Read for TaggedSource<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), SourceFailure(e)))
    }
}

/// Marks the decompressed size going over the ceiling, with the ceiling.
#[derive(Debug)]
struct CeilingReached(u64);

impl fmt::Display for CeilingReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("decompressed size ceiling reached")
    }
}

impl std::error::Error for CeilingReached {}

/// Marks the member count going over [`MAX_GZIP_MEMBERS`].
#[derive(Debug)]
struct TooManyMembers(u32);

impl fmt::Display for TooManyMembers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "more than {} gzip members", self.0)
    }
}

impl std::error::Error for TooManyMembers {}

/// Concatenated gzip members read as one stream, as `gzip -d` does, at most `limit` of them.
struct Members<R: BufRead> {
    decoder: Option<GzDecoder<R>>,
    read: u32,
    limit: u32,
}

impl<R: BufRead> Members<R> {
    fn new(input: R, limit: u32) -> Self {
        Self {
            decoder: Some(GzDecoder::new(input)),
            read: 1,
            limit,
        }
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member ended: another follows unless the input did.
            let Some(decoder) = self.decoder.take() else {
                return Ok(0);
            };
            let mut input = decoder.into_inner();
            if input.fill_buf()?.is_empty() {
                return Ok(0);
            }
            if self.read == self.limit {
                return Err(io::Error::other(TooManyMembers(self.limit)));
            }
            self.read += 1;
            self.decoder = Some(GzDecoder::new(input));
        }
    }
}

/// Stops inflating once more than `remaining` bytes came out.
struct Ceiling<R> {
    inner: R,
    limit: u64,
    remaining: u64,
}

impl<R: Read> Read for Ceiling<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.remaining {
            return Err(io::Error::other(CeilingReached(self.limit)));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

fn classify_io(error: io::Error) -> FileError {
    classify_io_within(error, 0)
}

/// What a failed read of the decompressed stream means: the source failed, the ceiling was
/// reached, or the compressed data is damaged.
pub(crate) fn classify_read_error(error: io::Error) -> FileError {
    classify_io_within(error, 0)
}

pub(crate) fn classify_io_within(error: io::Error, limit: u64) -> FileError {
    if let Some(members) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TooManyMembers>())
    {
        return FileError::TooManyMembers { limit: members.0 };
    }
    if let Some(ceiling) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<CeilingReached>())
    {
        return FileError::TooLarge {
            limit: ceiling.0.max(limit),
        };
    }
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<SourceFailure>())
    {
        let inner = error
            .into_inner()
            .and_then(|inner| inner.downcast::<SourceFailure>().ok());
        return match inner {
            Some(source) => FileError::Source(source.0),
            None => FileError::Source(io::Error::other("unknown source error")),
        };
    }
    FileError::Decompress(error)
}

/// Decompressed bytes allowed per object by default: far above any real CloudTrail file, low
/// enough that a decompression bomb cannot run a function to its timeout.
pub(crate) const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 4 << 30;

/// Opens compressed bytes as the decompressed text of a log file. Concatenated gzip members
/// are read as one stream, as `gzip -d` does.
pub fn decompress<R: Read>(compressed: R) -> Result<impl Read, FileError> {
    decompress_at_most(compressed, u64::MAX)
}

/// As [`decompress`], failing with [`FileError::TooLarge`] past `limit` decompressed bytes.
pub fn decompress_at_most<R: Read>(compressed: R, limit: u64) -> Result<impl Read, FileError> {
    let mut source = BufReader::new(TaggedSource(compressed));
    let mut magic = [0u8; 2];
    let mut filled = 0;
    while filled < magic.len() {
        match source.read(&mut magic[filled..]).map_err(classify_io)? {
            0 => break,
            n => filled += n,
        }
    }
    match filled {
        0 => Err(FileError::Empty),
        2 if magic == GZIP_MAGIC => Ok(Ceiling {
            inner: Members::new(io::Cursor::new(magic).chain(source), MAX_GZIP_MEMBERS),
            limit,
            remaining: limit,
        }),
        _ => Err(FileError::NotGzip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::reference::{read_records, read_records_within};

    use crate::generate::gzip;

    fn read_all(compressed: &[u8]) -> Result<Vec<String>, FileError> {
        let mut records = Vec::new();
        read_records(decompress(compressed)?, |_, raw| {
            records.push(raw.get().to_owned());
            Ok(())
        })?;
        Ok(records)
    }

    #[test]
    fn records_are_returned_byte_for_byte_in_file_order() {
        let text = br#"{"Records":[{"b": 1,  "a" :"\u00e9\n"} , {"eventTime":"2024-01-01T00:00:00Z","x":[1.50,-0e3]},7]}"#;
        let records = read_all(&gzip(text)).unwrap();
        assert_eq!(
            records,
            vec![
                r#"{"b": 1,  "a" :"\u00e9\n"}"#,
                r#"{"eventTime":"2024-01-01T00:00:00Z","x":[1.50,-0e3]}"#,
                "7",
            ]
        );
    }

    #[test]
    fn other_top_level_keys_are_skipped() {
        let text = br#" {"Meta":{"x":[1,{"Records":[]}]},"Records":[{"a":1}],"Tail":null} "#;
        assert_eq!(read_all(&gzip(text)).unwrap(), vec![r#"{"a":1}"#]);
    }

    #[test]
    fn an_empty_records_array_has_no_records() {
        assert!(read_all(&gzip(br#"{"Records":[]}"#)).unwrap().is_empty());
    }

    #[test]
    fn concatenated_gzip_members_are_one_stream() {
        let mut compressed = gzip(br#"{"Records":[{"a":1},"#);
        compressed.extend(gzip(br#"{"b":2}]}"#));
        assert_eq!(
            read_all(&compressed).unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
    }

    #[test]
    fn bad_files_get_a_specific_error() {
        assert!(matches!(read_all(b""), Err(FileError::Empty)));
        assert!(matches!(
            read_all(b"{\"Records\":[]}"),
            Err(FileError::NotGzip)
        ));
        assert!(matches!(read_all(b"\x1f"), Err(FileError::NotGzip)));
        let whole = gzip(br#"{"Records":[{"a":1},{"b":2}]}"#);
        assert!(matches!(
            read_all(&whole[..whole.len() - 12]),
            Err(FileError::Decompress(_))
        ));
        assert!(matches!(read_all(&gzip(b"")), Err(FileError::Json(_))));
        assert!(matches!(read_all(&gzip(b"[1,2]")), Err(FileError::Json(_))));
        assert!(matches!(
            read_all(&gzip(b"{\"Other\":1}")),
            Err(FileError::NoRecordsArray)
        ));
        assert!(matches!(
            read_all(&gzip(b"{\"Records\":{}}")),
            Err(FileError::NoRecordsArray)
        ));
        assert!(matches!(
            read_all(&gzip(b"{\"Records\":[],\"Records\":[]}")),
            Err(FileError::DuplicateRecordsArray)
        ));
        assert!(matches!(
            read_all(&gzip(b"{\"Records\":[{]}")),
            Err(FileError::Json(_))
        ));
        assert!(matches!(
            read_all(&gzip(b"{\"Records\":[]} x")),
            Err(FileError::Json(_))
        ));
    }

    #[test]
    fn records_before_a_truncation_are_still_visited() {
        let truncated_text = br#"{"Records":[{"a":1},{"b":2},{"c""#;
        let mut seen = Vec::new();
        let result = read_records(decompress(&gzip(truncated_text)[..]).unwrap(), |i, raw| {
            seen.push((i, raw.get().to_owned()));
            Ok(())
        });
        assert!(matches!(result, Err(FileError::Json(_))));
        assert_eq!(
            seen,
            vec![(0, r#"{"a":1}"#.to_owned()), (1, r#"{"b":2}"#.to_owned())]
        );
    }

    #[test]
    fn the_caller_can_stop_reading() {
        let compressed = gzip(br#"{"Records":[{"a":1},{"b":2}]}"#);
        let result = read_records(decompress(&compressed[..]).unwrap(), |i, _| {
            if i == 1 { Err(Stop) } else { Ok(()) }
        });
        assert!(matches!(result, Err(FileError::Stopped)));
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_ceiling() {
        let zeros = vec![b' '; 1 << 20];
        let text = [
            br#"{"Records":[{"a":1},"#.as_slice(),
            &zeros,
            b"{\"b\":2}]}",
        ]
        .concat();
        let compressed = gzip(&text);
        assert!(compressed.len() < 5_000);
        let mut seen = 0;
        let reader = decompress_at_most(&compressed[..], 100_000).unwrap();
        let result = read_records_within(reader, 100_000, |_, _| {
            seen += 1;
            Ok(())
        });
        assert!(
            matches!(result, Err(FileError::TooLarge { limit: 100_000 })),
            "{result:?}"
        );
        assert_eq!(seen, 1);
        let reader = decompress_at_most(&compressed[..], 2 << 20).unwrap();
        assert_eq!(read_records(reader, |_, _| Ok(())).unwrap(), 2);
    }

    #[test]
    fn bytes_after_the_end_of_the_gzip_stream_are_an_error() {
        let mut compressed = gzip(br#"{"Records":[{"a":1}]}"#);
        compressed.extend_from_slice(b"trailing garbage");
        assert!(matches!(
            read_all(&compressed),
            Err(FileError::Decompress(_))
        ));
    }

    #[test]
    fn only_source_errors_are_retryable() {
        assert!(FileError::Source(io::Error::other("reset")).is_retryable());
        assert!(!FileError::NotGzip.is_retryable());
        assert!(!FileError::TooLarge { limit: 1 }.is_retryable());
    }

    #[test]
    fn source_errors_are_told_apart_from_decompression_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "reset by peer",
                ))
            }
        }
        let compressed = gzip(br#"{"Records":[{"a":1}]}"#);
        let chained = (&compressed[..10]).chain(Failing);
        let result = read_records(decompress(chained).unwrap(), |_, _| Ok(()));
        assert!(
            matches!(result, Err(FileError::Source(e)) if e.kind() == io::ErrorKind::ConnectionReset)
        );
    }

    #[test]
    fn gzip_members_are_capped_so_empty_ones_cannot_run_forever() {
        let records = gzip(br#"{"Records":[{"eventTime":"2024-01-02T03:00:00Z"}]}"#);
        let empty = gzip(b"");
        let file = |members: u32| {
            let mut bytes = empty.repeat(members as usize - 1);
            bytes.extend_from_slice(&records);
            bytes
        };
        let count = |bytes: Vec<u8>| read_records(decompress(&bytes[..]).unwrap(), |_, _| Ok(()));
        assert_eq!(count(file(MAX_GZIP_MEMBERS)).unwrap(), 1);
        assert!(matches!(
            count(file(MAX_GZIP_MEMBERS + 1)),
            Err(FileError::TooManyMembers {
                limit: MAX_GZIP_MEMBERS
            })
        ));
    }
}
