//! What a dry run counts: records and bytes by route, category and event source, and what the
//! selectors filtered out.

use std::collections::HashMap;

use crate::logs::batch::EVENT_OVERHEAD_BYTES;
use crate::route::Routes;
use crate::summary::{WouldFilter, WouldForward};
use crate::trail::{EventCategory, RecordFields};

/// Dry runs: records and bytes by (route, category) and event source. Only the first record
/// of each event source allocates its key.
#[derive(Default)]
pub(super) struct DryRunTally {
    counts: HashMap<(usize, EventCategory), BySource>,
    filtered: HashMap<(EventCategory, Box<str>), u64>,
}

/// A dry run's event source of a record: `eventSource`, or for an Insights record (which has
/// none at the top) `insightDetails.eventSource`, read from its text (dry runs only: Insights
/// records are few). `unknown` when neither is there.
pub(super) fn dry_run_source<'a>(
    text: &str,
    fields: &'a RecordFields<'_>,
    category: EventCategory,
) -> std::borrow::Cow<'a, str> {
    if let Some(source) = fields.event_source.as_deref() {
        return std::borrow::Cow::Borrowed(source);
    }
    #[derive(serde::Deserialize)]
    struct Insight {
        #[serde(rename = "insightDetails")]
        details: Details,
    }
    #[derive(serde::Deserialize)]
    struct Details {
        #[serde(rename = "eventSource")]
        event_source: String,
    }
    let insight = (category == EventCategory::Insight)
        .then(|| serde_json::from_str::<Insight>(text).ok())
        .flatten();
    match insight {
        Some(insight) => std::borrow::Cow::Owned(insight.details.event_source),
        None => std::borrow::Cow::Borrowed("unknown"),
    }
}

/// Records and bytes by event source.
type BySource = HashMap<Box<str>, (u64, u64)>;

impl DryRunTally {
    pub(super) fn add(
        &mut self,
        route: usize,
        category: EventCategory,
        source: &str,
        message_bytes: usize,
    ) {
        let sources = self.counts.entry((route, category)).or_default();
        let bytes = (message_bytes + EVENT_OVERHEAD_BYTES) as u64;
        match sources.get_mut(source) {
            Some(count) => {
                count.0 += 1;
                count.1 += bytes;
            }
            None => {
                sources.insert(source.into(), (1, bytes));
            }
        }
    }

    pub(super) fn filter(&mut self, category: EventCategory, source: &str) {
        match self.filtered.get_mut(&(category, source.into())) {
            Some(records) => *records += 1,
            None => {
                self.filtered.insert((category, source.into()), 1);
            }
        }
    }

    /// What would be forwarded and what filtered, each in a stable order.
    pub(super) fn into_entries(self, routes: &Routes) -> (Vec<WouldForward>, Vec<WouldFilter>) {
        let mut filtered: Vec<WouldFilter> = self
            .filtered
            .into_iter()
            .map(|((category, source), records)| WouldFilter {
                category: category.as_str().to_owned(),
                event_source: source.into(),
                records,
            })
            .collect();
        filtered
            .sort_by(|a, b| (&a.category, &a.event_source).cmp(&(&b.category, &b.event_source)));
        let mut entries: Vec<WouldForward> = self
            .counts
            .into_iter()
            .flat_map(|((route, category), sources)| {
                let route = routes.get(route);
                sources
                    .into_iter()
                    .map(move |(source, (records, bytes))| WouldForward {
                        route: route.name.clone(),
                        log_group: route.log_group.to_string(),
                        log_group_class: route.log_group_class.unwrap_or_default(),
                        category: category.as_str().to_owned(),
                        event_source: source.into(),
                        records,
                        bytes,
                    })
            })
            .collect();
        entries.sort_by(|a, b| {
            (&a.route, &a.category, &a.event_source).cmp(&(&b.route, &b.category, &b.event_source))
        });
        (entries, filtered)
    }
}
