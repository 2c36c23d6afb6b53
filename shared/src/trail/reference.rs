//! The reference reader: serde_json's own parser over a whole log file, record by record. The
//! production splitter (`split`) is tested, benchmarked and fuzzed against it; it is compiled
//! only for tests and with the `reference` feature, never into a Lambda binary.

use std::fmt;
use std::io::{BufReader, Read};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::file::{FileError, Stop, classify_io_within};

/// Large enough that serde_json's byte-at-a-time reads rarely reach the inflater.
const DECOMPRESSED_BUFFER_BYTES: usize = 64 * 1024;

/// Reads every record of a decompressed log file, calling `visit(index, record)` for each in
/// file order. `visit` returning `Err` stops reading with `FileError::Stopped`.
/// Returns the number of records read.
pub fn read_records<R, F>(decompressed: R, visit: F) -> Result<u64, FileError>
where
    R: Read,
    F: FnMut(u64, Box<RawValue>) -> Result<(), Stop>,
{
    read_records_within(decompressed, 0, visit)
}

/// As [`read_records`]; `limit` is the ceiling `decompressed` was opened with, for the error.
pub(crate) fn read_records_within<R, F>(
    decompressed: R,
    limit: u64,
    mut visit: F,
) -> Result<u64, FileError>
where
    R: Read,
    F: FnMut(u64, Box<RawValue>) -> Result<(), Stop>,
{
    let mut decompressed = decompressed;
    // A byte-order mark before the JSON is skipped, as the splitter does.
    let mut head = [0u8; 3];
    let mut filled = 0;
    while filled < head.len() {
        match decompressed.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(classify_io_within(e, limit)),
        }
    }
    let kept = if head == [0xef, 0xbb, 0xbf] {
        0
    } else {
        filled
    };
    let start = std::io::Cursor::new(head).take(kept as u64);
    let reader = BufReader::with_capacity(DECOMPRESSED_BUFFER_BYTES, start.chain(decompressed));
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let mut state = VisitState {
        visit: &mut visit,
        count: 0,
        stopped: None,
        progress: Progress::default(),
    };
    let outcome = (&mut deserializer)
        .deserialize_map(FileVisitor { state: &mut state })
        .and_then(|()| deserializer.end());
    if state.stopped.is_some() {
        return Err(FileError::Stopped);
    }
    let progress = state.progress;
    match outcome {
        Ok(()) if progress.records_done => Ok(state.count),
        Ok(()) => Err(FileError::NoRecordsArray),
        Err(error) if error.is_io() => Err(classify_io_within(error.into(), limit)),
        Err(_) if progress.duplicate_records => Err(FileError::DuplicateRecordsArray),
        Err(_) if progress.records_value_started && !progress.records_array_opened => {
            Err(FileError::NoRecordsArray)
        }
        Err(error) => Err(FileError::Json(error)),
    }
}

/// How far the reader got, to name what was wrong with a file.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    records_value_started: bool,
    records_array_opened: bool,
    records_done: bool,
    duplicate_records: bool,
}

struct VisitState<'f, F> {
    visit: &'f mut F,
    count: u64,
    stopped: Option<Stop>,
    progress: Progress,
}

struct FileVisitor<'s, 'f, F> {
    state: &'s mut VisitState<'f, F>,
}

/// Top-level keys: only `Records` is read; any other key's value is skipped.
#[derive(Deserialize)]
enum TopLevelKey {
    Records,
    #[serde(other)]
    Other,
}

impl<'de, F> Visitor<'de> for FileVisitor<'_, '_, F>
where
    F: FnMut(u64, Box<RawValue>) -> Result<(), Stop>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with a Records array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<TopLevelKey>()? {
            match key {
                TopLevelKey::Records if self.state.progress.records_value_started => {
                    self.state.progress.duplicate_records = true;
                    return Err(de::Error::custom("duplicate Records"));
                }
                TopLevelKey::Records => {
                    self.state.progress.records_value_started = true;
                    map.next_value_seed(RecordsSeed {
                        state: &mut *self.state,
                    })?;
                    self.state.progress.records_done = true;
                }
                TopLevelKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct RecordsSeed<'s, 'f, F> {
    state: &'s mut VisitState<'f, F>,
}

impl<'de, F> DeserializeSeed<'de> for RecordsSeed<'_, '_, F>
where
    F: FnMut(u64, Box<RawValue>) -> Result<(), Stop>,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F> Visitor<'de> for RecordsSeed<'_, '_, F>
where
    F: FnMut(u64, Box<RawValue>) -> Result<(), Stop>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Records array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.state.progress.records_array_opened = true;
        while let Some(record) = seq.next_element::<Box<RawValue>>()? {
            let index = self.state.count;
            self.state.count += 1;
            if let Err(reason) = (self.state.visit)(index, record) {
                self.state.stopped = Some(reason);
                return Err(de::Error::custom("stopped by the caller"));
            }
        }
        Ok(())
    }
}
