//! The two commands' argument lists (`validator validate-logs …`, `forwarder backfill …`):
//! `--flag value` pairs and bare switches, in the AWS CLI's style.

/// The flags after the command's name, each with its value (`None` for a switch in
/// `switches`). A flag missing its value is an error naming it.
// A String: the message is printed above the command's usage (clap replaces this with the
// command-line work of the first-hour issue).
pub fn flag_values(
    args: &[String],
    command: &str,
    switches: &[&str],
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut flags = Vec::new();
    let mut rest = args.iter().skip_while(|a| *a == command);
    while let Some(flag) = rest.next() {
        if switches.contains(&flag.as_str()) {
            flags.push((flag.clone(), None));
            continue;
        }
        let value = rest
            .next()
            .cloned()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        flags.push((flag.clone(), Some(value)));
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_values_and_switches_stand_alone() {
        let args: Vec<String> = ["backfill", "--a", "1", "--dry-run", "--b", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            flag_values(&args, "backfill", &["--dry-run"]).unwrap(),
            [
                ("--a".to_owned(), Some("1".to_owned())),
                ("--dry-run".to_owned(), None),
                ("--b".to_owned(), Some("2".to_owned()))
            ]
        );
        assert_eq!(
            flag_values(&args[..2], "backfill", &[]).unwrap_err(),
            "--a needs a value"
        );
    }
}
