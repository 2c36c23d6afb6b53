//! Realistic CloudTrail log files, reproducible from a seed: the demo, the tests and the
//! benchmarks all read what this writes.
//!
//! The mix resembles a busy organization trail: management events of several services and
//! identity types, S3, Lambda and DynamoDB data events, network activity events, and now and
//! then a very large record. Records are not in time order, as in real files.

mod records;
pub mod signed;
mod spec;

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::GzEncoder;

pub use records::{GeneratedRecord, RecordGenerator};
pub use spec::{Content, TrailSpec, iso_seconds};

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WrittenFile {
    pub records: u64,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
}

/// Writes a gzip log file of at least `min_uncompressed_bytes` (and at least one record).
pub fn write_log_file<W: Write>(
    spec: &TrailSpec,
    min_uncompressed_bytes: u64,
    out: W,
) -> io::Result<WrittenFile> {
    let mut records = spec.records();
    write_records(
        &mut records,
        |written| written.uncompressed_bytes >= min_uncompressed_bytes,
        out,
    )
}

/// Writes `{"Records":[…]}` from `records` until `done` says so or they run out.
pub(crate) fn write_records<W: Write>(
    records: &mut dyn Iterator<Item = GeneratedRecord>,
    mut done: impl FnMut(&WrittenFile) -> bool,
    out: W,
) -> io::Result<WrittenFile> {
    let mut counted = CountingWriter {
        inner: out,
        bytes: 0,
    };
    let mut gzip = GzEncoder::new(&mut counted, Compression::default());
    let mut written = WrittenFile::default();
    let emit = |gzip: &mut GzEncoder<_>, bytes: &[u8], written: &mut WrittenFile| {
        written.uncompressed_bytes += bytes.len() as u64;
        gzip.write_all(bytes)
    };
    emit(&mut gzip, b"{\"Records\":[", &mut written)?;
    for record in records {
        if written.records > 0 {
            emit(&mut gzip, b",", &mut written)?;
        }
        emit(&mut gzip, record.text.as_bytes(), &mut written)?;
        written.records += 1;
        if done(&written) {
            break;
        }
    }
    emit(&mut gzip, b"]}", &mut written)?;
    gzip.finish()?;
    written.compressed_bytes = counted.bytes;
    Ok(written)
}

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One gzip member of `bytes`, as CloudTrail writes its files.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

pub use crate::clock::now_millis;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::{FileKind, TrailKey, decompress, read_records};

    #[test]
    fn keys_follow_cloudtrail_layout() {
        let mut spec = TrailSpec::recent(1);
        spec.delivery_millis = 1_704_164_700_000; // 2024-01-02T03:05:00Z
        spec.organization_id = Some("o-aa11bb22cc".into());
        spec.prefix = Some("central".into());
        let key = spec.key();
        let parsed = TrailKey::parse(&key).unwrap();
        assert_eq!(parsed.kind, FileKind::Log);
        assert_eq!(parsed.file_timestamp, "20240102T0305Z");
        assert_eq!(parsed.prefix, Some("central"));
        spec.content = Content::Insight;
        assert_eq!(
            TrailKey::parse(&spec.key()).unwrap().kind,
            FileKind::Insight
        );
        spec.content = Content::Aggregated;
        assert_eq!(
            TrailKey::parse(&spec.key()).unwrap().kind,
            FileKind::Aggregated
        );
    }

    #[test]
    fn written_files_read_back_record_for_record() {
        let spec = TrailSpec::recent(42);
        let mut out = Vec::new();
        let written = write_log_file(&spec, 200_000, &mut out).unwrap();
        assert!(written.uncompressed_bytes >= 200_000);
        assert_eq!(written.compressed_bytes, out.len() as u64);
        let expected: Vec<String> = spec
            .records()
            .take(written.records as usize)
            .map(|r| r.text)
            .collect();
        let mut read = Vec::new();
        read_records(decompress(&out[..]).unwrap(), |_, raw| {
            read.push(raw.get().to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(read, expected);
    }

    #[test]
    fn the_same_seed_writes_the_same_file() {
        let write = |seed| {
            let mut spec = TrailSpec::recent(seed);
            spec.newest_event_millis = 1_704_164_700_000;
            spec.delivery_millis = 1_704_164_700_000;
            let mut out = Vec::new();
            write_log_file(&spec, 50_000, &mut out).unwrap();
            out
        };
        assert_eq!(write(3), write(3));
        assert_ne!(write(3), write(4));
    }
}
