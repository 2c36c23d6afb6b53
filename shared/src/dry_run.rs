//! A dry run's report for a person: what would be forwarded by route, in the class each group
//! has or will get, with totals, what was filtered, and the monthly ingestion it implies at
//! CloudWatch Logs' prices.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::human::{count, dollars, megabytes};
use crate::logs::LogGroupClass;
use crate::summary::{ForwardSummary, WouldForward};

/// CloudWatch Logs ingestion prices per GB (10^9 bytes) for each class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub standard: f64,
    pub infrequent_access: f64,
    /// A price was given with `--price-per-gb`.
    pub given: bool,
}

impl Default for Prices {
    /// us-east-1 list prices: Standard $0.50/GB, Infrequent Access $0.25/GB.
    fn default() -> Self {
        Self {
            standard: 0.50,
            infrequent_access: 0.25,
            given: false,
        }
    }
}

/// Where the default prices come from, said beside every estimate.
pub(crate) const PRICES_SOURCE: &str = "us-east-1 list prices of https://aws.amazon.com/cloudwatch/pricing/ as published when this release was written (2026); other regions differ";

impl Prices {
    pub fn per_gb(&self, class: LogGroupClass) -> f64 {
        match class {
            LogGroupClass::Standard => self.standard,
            LogGroupClass::InfrequentAccess => self.infrequent_access,
        }
    }

    /// Applies one `--price-per-gb` value: `0.57` (Standard) or `INFREQUENT_ACCESS=0.285`.
    pub fn set(&mut self, text: &str) -> Result<(), PriceError> {
        let (class, price) = match text.split_once('=') {
            Some((class, price)) => (
                LogGroupClass::parse(class).map_err(|_| PriceError(text.to_owned()))?,
                price,
            ),
            None => (LogGroupClass::Standard, text),
        };
        let price: f64 = price
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| PriceError(text.to_owned()))?;
        match class {
            LogGroupClass::Standard => self.standard = price,
            LogGroupClass::InfrequentAccess => self.infrequent_access = price,
        }
        self.given = true;
        Ok(())
    }
}

/// A `--price-per-gb` value that is not a price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--price-per-gb {0}: give US dollars per GB, for Standard (0.50) or for a class (INFREQUENT_ACCESS=0.25)"
)]
pub struct PriceError(pub String);

/// A destination group's class as it is (the group exists) or as it will be (created with
/// the configured class, at the first forward or by the stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupClass {
    Exists(LogGroupClass),
    WillBeCreated(LogGroupClass),
    /// DescribeLogGroups failed: the configured class, unconfirmed.
    NotChecked(LogGroupClass, String),
}

impl GroupClass {
    pub fn class(&self) -> LogGroupClass {
        match self {
            GroupClass::Exists(class)
            | GroupClass::WillBeCreated(class)
            | GroupClass::NotChecked(class, _) => *class,
        }
    }

    fn label(&self) -> String {
        match self {
            GroupClass::Exists(class) => class.as_str().to_owned(),
            GroupClass::WillBeCreated(class) => format!("{} (to be created)", class.as_str()),
            GroupClass::NotChecked(class, _) => format!("{} (not checked)", class.as_str()),
        }
    }
}

/// The report: the rows by bytes, largest first; totals; what was filtered; the estimate.
/// `range_seconds` is the time the files were delivered over, to scale the bytes to a month.
pub fn report(
    summary: &ForwardSummary,
    groups: &BTreeMap<String, GroupClass>,
    range_seconds: i64,
    prices: &Prices,
) -> String {
    let class_of = |entry: &WouldForward| {
        groups
            .get(&entry.log_group)
            .cloned()
            .unwrap_or(GroupClass::WillBeCreated(entry.log_group_class))
    };
    let mut rows: Vec<&WouldForward> = summary.would_forward.iter().collect();
    rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.route.cmp(&b.route)));
    let mut table = vec![[
        "route".to_owned(),
        "log group".to_owned(),
        "class".to_owned(),
        "category".to_owned(),
        "event source".to_owned(),
        "records".to_owned(),
        "size".to_owned(),
    ]];
    for entry in &rows {
        table.push([
            entry.route.clone(),
            entry.log_group.clone(),
            class_of(entry).label(),
            entry.category.clone(),
            entry.event_source.clone(),
            count(entry.records),
            megabytes(entry.bytes),
        ]);
    }
    let (records, bytes) = rows
        .iter()
        .fold((0, 0), |(r, b), e| (r + e.records, b + e.bytes));
    table.push([
        "total".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        count(records),
        megabytes(bytes),
    ]);
    // The one-route shorthand names its route after its group: one column says both.
    if rows.iter().all(|entry| entry.route == entry.log_group) {
        table[0][0] = "log group".to_owned();
        for row in &mut table {
            row[1] = String::new();
        }
    }
    let mut out = String::from("Dry run: what would be forwarded, largest first\n");
    out.push_str(&columns(&table, &[5, 6]));
    if rows.is_empty() {
        out.push_str("  (nothing: no route selects any record read)\n");
    }

    if summary.filtered > 0 {
        out.push_str(&filtered_table(summary));
    }

    for group in groups.values() {
        if let GroupClass::NotChecked(_, reason) = group {
            let _ = writeln!(
                out,
                "\nA group's class could not be read (DescribeLogGroups: {reason}); its configured class is assumed"
            );
            break;
        }
    }
    out.push_str(&estimate(&rows, &class_of, range_seconds, prices));
    out
}

/// What no route selects, by category and event source, most records first.
fn filtered_table(summary: &ForwardSummary) -> String {
    let mut out = format!(
        "\nFiltered: {} records no route selects\n",
        count(summary.filtered)
    );
    let mut filtered: Vec<_> = summary.would_filter.iter().collect();
    filtered.sort_by_key(|entry| std::cmp::Reverse(entry.records));
    let mut table = vec![[
        "category".to_owned(),
        "event source".to_owned(),
        "records".to_owned(),
    ]];
    for entry in filtered {
        table.push([
            entry.category.clone(),
            entry.event_source.clone(),
            count(entry.records),
        ]);
    }
    out.push_str(&columns(&table, &[2]));
    out
}

/// The monthly ingestion the range's bytes imply, per class and in all.
fn estimate(
    rows: &[&WouldForward],
    class_of: &dyn Fn(&WouldForward) -> GroupClass,
    range_seconds: i64,
    prices: &Prices,
) -> String {
    const MONTH_SECONDS: f64 = 30.0 * 86_400.0;
    if range_seconds <= 0 {
        return String::new();
    }
    let scale = MONTH_SECONDS / range_seconds as f64;
    let mut by_class: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for entry in rows {
        let class = class_of(entry).class();
        let monthly = entry.bytes as f64 * scale;
        let slot = by_class
            .entry(class.as_str())
            .or_insert((0.0, prices.per_gb(class)));
        slot.0 += monthly;
    }
    let total: f64 = by_class
        .values()
        .map(|(bytes, price)| bytes / 1e9 * price)
        .sum();
    let monthly_bytes: f64 = by_class.values().map(|(bytes, _)| bytes).sum();
    let days = range_seconds as f64 / 86_400.0;
    let mut out = format!(
        "\nEstimated ingestion: {} a month ({} delivered over {}), {} a month\n",
        megabytes(monthly_bytes as u64),
        megabytes(rows.iter().map(|e| e.bytes).sum()),
        match days {
            _ if (days - 1.0).abs() < 0.05 => "1.0 day".to_owned(),
            _ if days >= 1.0 => format!("{days:.1} days"),
            _ if (days * 24.0 - 1.0).abs() < 0.05 => "1.0 hour".to_owned(),
            _ => format!("{:.1} hours", days * 24.0),
        },
        dollars(total),
    );
    for (class, (bytes, price)) in &by_class {
        let _ = writeln!(
            out,
            "  {class}: {} at {}/GB = {}",
            megabytes(*bytes as u64),
            dollars(*price),
            dollars(bytes / 1e9 * price)
        );
    }
    if prices.given {
        out.push_str("  Prices: as given with --price-per-gb.");
    } else {
        let _ = write!(out, "  Prices: {PRICES_SOURCE} (--price-per-gb for yours).");
    }
    out.push_str(" Ingestion only: storage and queries are billed apart.\n");
    out
}

/// Rows as aligned columns, two spaces apart, indented; the columns in `right` aligned right,
/// empty columns left out.
fn columns<const N: usize>(rows: &[[String; N]], right: &[usize]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            if widths[i] == 0 {
                continue;
            }
            let pad = widths[i] - cell.chars().count();
            line.push(' ');
            if right.contains(&i) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            line.push(' ');
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::WouldFilter;

    fn entry(route: &str, group: &str, source: &str, records: u64, bytes: u64) -> WouldForward {
        WouldForward {
            route: route.into(),
            log_group: group.into(),
            log_group_class: LogGroupClass::Standard,
            category: "Data".into(),
            event_source: source.into(),
            records,
            bytes,
        }
    }

    fn summary() -> ForwardSummary {
        ForwardSummary {
            dry_run: true,
            filtered: 1_500,
            would_forward: vec![
                entry(
                    "audit",
                    "/trail/audit",
                    "iam.amazonaws.com",
                    1_000,
                    2_000_000,
                ),
                entry(
                    "bulk",
                    "/trail/bulk",
                    "s3.amazonaws.com",
                    12_345,
                    300_000_000,
                ),
            ],
            would_filter: vec![WouldFilter {
                category: "Data".into(),
                event_source: "lambda.amazonaws.com".into(),
                records: 1_500,
            }],
            ..ForwardSummary::default()
        }
    }

    #[test]
    fn rows_are_sorted_by_bytes_with_totals_the_class_as_it_is_and_the_filtered() {
        let groups = BTreeMap::from([
            (
                "/trail/bulk".to_owned(),
                GroupClass::Exists(LogGroupClass::InfrequentAccess),
            ),
            (
                "/trail/audit".to_owned(),
                GroupClass::WillBeCreated(LogGroupClass::Standard),
            ),
        ]);
        let text = report(&summary(), &groups, 86_400, &Prices::default());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2].contains("bulk") && lines[2].contains("INFREQUENT_ACCESS "),
            "{text}"
        );
        assert!(
            lines[2].contains("12,345") && lines[2].ends_with(" 300 MB"),
            "{text}"
        );
        assert!(lines[3].contains("STANDARD (to be created)"), "{text}");
        assert!(
            lines[4].starts_with("  total") && lines[4].ends_with("13,345   302 MB"),
            "{text}"
        );
        assert!(
            text.contains("Filtered: 1,500 records no route selects"),
            "{text}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("lambda.amazonaws.com") && l.ends_with(" 1,500")),
            "{text}"
        );
        // 302 MB a day is 9,060 MB a month: 9,000 MB IA at $0.25 + 60 MB Standard at $0.50.
        assert!(
            text.contains(
                "Estimated ingestion: 9,060 MB a month (302 MB delivered over 1.0 day), $2.28 a month"
            ),
            "{text}"
        );
        assert!(
            text.contains("INFREQUENT_ACCESS: 9,000 MB at $0.25/GB = $2.25"),
            "{text}"
        );
        assert!(
            text.contains("STANDARD: 60.0 MB at $0.50/GB = $0.03"),
            "{text}"
        );
        assert!(text.contains(PRICES_SOURCE), "{text}");
    }

    #[test]
    fn prices_can_be_given_per_class_and_bad_ones_are_refused() {
        let mut prices = Prices::default();
        prices.set("0.57").unwrap();
        prices.set("INFREQUENT_ACCESS=0.285").unwrap();
        assert_eq!(
            prices,
            Prices {
                standard: 0.57,
                infrequent_access: 0.285,
                given: true,
            }
        );
        for bad in ["free", "-1", "DELUXE=0.1", "STANDARD=", "NaN"] {
            assert!(prices.set(bad).is_err(), "{bad}");
        }
        let text = report(&summary(), &BTreeMap::new(), 86_400, &prices);
        assert!(
            text.contains("STANDARD: 9,060 MB at $0.57/GB = $5.16"),
            "{text}"
        );
    }
}
