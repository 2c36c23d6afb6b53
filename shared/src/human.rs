//! Numbers as a person reads them on the commands' output: thousands separators, one unit for
//! sizes (MB, 10^6 bytes) throughout, singulars, durations in minutes. And the commands' lines
//! themselves ([`stderr_line!`](crate::stderr_line) and its kin).

use std::io::Write;

/// An error and its sources in words, joined by ": ", leaving out a cause its effect already
/// says. Never the `Debug` form.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !said.iter().any(|earlier| earlier.contains(&text)) {
            said.push(text);
        }
        next = error.source();
    }
    said.join(": ")
}

/// Writes a command's text to stderr. A reader that went away (`2>&1 >/dev/null | head -1`) is
/// not worth a panic (exit 101, as `eprintln!` does): the text is dropped, as the AWS CLI does.
pub fn write_stderr(text: std::fmt::Arguments) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// Writes a command's output to stdout; a closed stdout (`| head -1`) drops it, as above.
pub fn write_stdout(text: std::fmt::Arguments) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_fmt(text).and_then(|()| stdout.flush());
}

/// `eprintln!` for a command's lines, without the panic on a closed stderr.
#[macro_export]
macro_rules! stderr_line {
    ($($text:tt)*) => { $crate::human::write_stderr(format_args!("{}\n", format_args!($($text)*))) };
}

/// `eprint!`, without the panic on a closed stderr.
#[macro_export]
macro_rules! stderr_text {
    ($($text:tt)*) => { $crate::human::write_stderr(format_args!($($text)*)) };
}

/// `print!` for a command's output, without the panic on a closed stdout.
#[macro_export]
macro_rules! stdout_text {
    ($($text:tt)*) => { $crate::human::write_stdout(format_args!($($text)*)) };
}

/// `10663` → `10,663`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1 file`, `2 files`, `10,663 records`: the count and the noun, singular for one.
pub fn counted(n: u64, singular: &str, plural: &str) -> String {
    format!("{} {}", count(n), if n == 1 { singular } else { plural })
}

/// A size in MB (10^6 bytes), with the decimals that keep it readable: `0 MB`, `0.004 MB`,
/// `0.52 MB`, `3.2 MB`, `1,234 MB`.
pub fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if bytes == 0 {
        "0 MB".to_owned()
    } else if mb >= 100.0 {
        format!("{} MB", count(mb.round() as u64))
    } else if mb >= 10.0 {
        format!("{mb:.1} MB")
    } else if mb >= 0.1 {
        format!("{mb:.2} MB")
    } else if mb >= 0.001 {
        format!("{mb:.3} MB")
    } else {
        "< 0.001 MB".to_owned()
    }
}

/// A duration still to run: `under a minute`, `1 minute`, `12 minutes`, `2 h 5 min`.
pub fn minutes(seconds: f64) -> String {
    let whole = (seconds / 60.0).round() as u64;
    match whole {
        _ if seconds < 60.0 => "under a minute".to_owned(),
        1 => "1 minute".to_owned(),
        2..=119 => format!("{whole} minutes"),
        _ => format!("{} h {} min", whole / 60, whole % 60),
    }
}

/// US dollars: `$0.0012`, `$0.06`, `$155.00`, `$1,234`.
pub(crate) fn dollars(amount: f64) -> String {
    if amount >= 1000.0 {
        format!("${}", count(amount.round() as u64))
    } else if amount >= 0.01 || amount == 0.0 {
        format!("${amount:.2}")
    } else {
        format!("${amount:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_separators_and_singulars() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(10_663), "10,663");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(counted(1, "file", "files"), "1 file");
        assert_eq!(counted(2_000, "file", "files"), "2,000 files");
    }

    #[test]
    fn sizes_are_megabytes_with_readable_decimals() {
        assert_eq!(megabytes(0), "0 MB");
        assert_eq!(megabytes(500), "< 0.001 MB");
        assert_eq!(megabytes(4_321), "0.004 MB");
        assert_eq!(megabytes(523_000), "0.52 MB");
        assert_eq!(megabytes(3_210_000), "3.21 MB");
        assert_eq!(megabytes(42_500_000), "42.5 MB");
        assert_eq!(megabytes(1_234_400_000), "1,234 MB");
    }

    #[test]
    fn durations_are_minutes_and_money_is_dollars() {
        assert_eq!(minutes(12.0), "under a minute");
        assert_eq!(minutes(80.0), "1 minute");
        assert_eq!(minutes(725.0), "12 minutes");
        assert_eq!(minutes(7_500.0), "2 h 5 min");
        assert_eq!(dollars(0.0), "$0.00");
        assert_eq!(dollars(0.0012), "$0.0012");
        assert_eq!(dollars(155.0), "$155.00");
        assert_eq!(dollars(12_345.6), "$12,346");
    }
}
