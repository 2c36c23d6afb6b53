//! Integrity validation against moto: a signed trail (log files, an hourly digest chain with
//! signatures in S3 metadata, a starting digest, an empty hour) and each tamper scenario, with
//! what the AWS CLI prints for it.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_chain_validates_clean() {
    let bucket = Bucket::signed("integrity-clean").await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![]);
    let counts = report.counts();
    assert_eq!((counts.digests_valid, counts.log_files_valid), (3, 4));
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_log_file_fails_its_hash() {
    let bucket = Bucket::signed("integrity-modified-log").await;
    let key = bucket.logs[0][1].clone();
    let (body, _) = bucket.get(&key).await;
    let mut text = String::new();
    GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
    bucket
        .put_plain(
            &key,
            gzip(
                text.replacen("\"eventName\":\"", "\"eventName\":\"X", 1)
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(
        invalid(&bucket.validate().await),
        vec![(key, Status::HashMismatch)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_log_file_is_not_found() {
    let bucket = Bucket::signed("integrity-deleted-log").await;
    let key = bucket.logs[2][0].clone();
    bucket.delete(&key).await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![(key, Status::NotFound)]);
    assert_eq!(report.counts().log_files_missing, 1);
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_bytes_on_a_log_file_are_invalid() {
    let bucket = Bucket::signed("integrity-trailing").await;
    let key = bucket.logs[0][0].clone();
    let (mut body, _) = bucket.get(&key).await;
    body.extend_from_slice(b"appended");
    bucket.put_plain(&key, body).await;
    assert_eq!(
        invalid(&bucket.validate().await),
        vec![(key, Status::TrailingData)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_deleted_mid_chain_is_not_found() {
    let bucket = Bucket::signed("integrity-deleted-digest").await;
    let key = bucket.digests[1].clone();
    bucket.delete(&key).await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![(key, Status::NotFound)]);
    assert_eq!(report.counts().digests_valid, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_digest_and_a_replaced_signature_fail_verification() {
    let bucket = Bucket::signed("integrity-digest-tamper").await;
    let (body, metadata) = bucket.get(&bucket.digests[2]).await;
    let mut text = String::new();
    GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
    let tampered = SignedObject {
        key: bucket.digests[2].clone(),
        body: gzip(text.replace("SHA-256", "SHA-256 ").as_bytes()),
        metadata: metadata.clone().into_iter().collect(),
        signature: None,
    };
    bucket.put_signed(&tampered).await;
    let (other_body, _) = bucket.get(&bucket.digests[0]).await;
    let forged = SignedObject {
        key: bucket.digests[0].clone(),
        body: other_body,
        metadata: vec![
            ("signature".into(), "ab".repeat(256)),
            ("signature-algorithm".into(), "SHA256withRSA".into()),
        ],
        signature: None,
    };
    bucket.put_signed(&forged).await;
    let report = bucket.validate().await;
    assert_eq!(
        invalid(&report),
        vec![
            (bucket.digests[2].clone(), Status::SignatureFailed),
            (bucket.digests[0].clone(), Status::SignatureFailed)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_copied_to_another_key_has_been_moved() {
    let bucket = Bucket::signed("integrity-moved").await;
    let (body, metadata) = bucket.get(&bucket.digests[2]).await;
    let later = bucket.digests[2].replace("T030000Z", "T033000Z");
    bucket
        .put_signed(&SignedObject {
            key: later.clone(),
            body,
            metadata: metadata.into_iter().collect(),
            signature: None,
        })
        .await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![(later, Status::Moved)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_from_an_unknown_fingerprint_is_reported() {
    let bucket = Bucket::signed("integrity-unknown-key").await;
    let stranger = SignedTrail::new(&bucket.name, ACCOUNT, REGION, "audit", 99);
    let forged = stranger.digest(t0() + 2 * HOUR, t0() + 3 * HOUR, &[], None);
    bucket.put_signed(&forged).await;
    let report = bucket.validate().await;
    assert_eq!(
        invalid(&report),
        vec![(
            forged.key,
            Status::PublicKeyNotFound {
                region: REGION.into(),
                fingerprint: stranger.fingerprint.clone()
            }
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_log_file_no_digest_lists_is_unreferenced() {
    let bucket = Bucket::signed("integrity-planted").await;
    let mut spec = TrailSpec::recent(777);
    spec.delivery_millis = (t0() + HOUR + 1200) * 1000;
    let mut body = Vec::new();
    write_log_file(&spec, 5_000, &mut body).unwrap();
    bucket.put_plain(&spec.key(), body).await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![(spec.key(), Status::Unreferenced)]);
    assert_eq!(report.counts().log_files_unreferenced, 1);
    assert!(
        report
            .verdicts
            .iter()
            .any(|v| v.subject == Subject::Log && v.status == Status::Unreferenced)
    );
}

/// Tamper scenarios of the signed trail (oldest first: digest 0 lists two log files, digest 1
/// none, digest 2 two), each with what `aws cloudtrail validate-logs` prints for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    Untouched,
    LogModified,
    LogDeleted,
    LogAppended,
    LogTruncated,
    LogNotGzip,
    LogSwapped,
    DigestDeletedMidChain,
    NewestDigestDeleted,
    OldestDigestDeleted,
    DigestModified,
    DigestModifiedAndItsLogDeleted,
    SignatureReplaced,
    SignatureRemoved,
    DigestMoved,
    UnknownKey,
    DigestNotGzip,
    DigestNotJson,
    DigestMissingAField,
    ChainRestarted,
    PlantedLog,
}

impl Tamper {
    const ALL: [Tamper; 21] = [
        Tamper::Untouched,
        Tamper::LogModified,
        Tamper::LogDeleted,
        Tamper::LogAppended,
        Tamper::LogTruncated,
        Tamper::LogNotGzip,
        Tamper::LogSwapped,
        Tamper::DigestDeletedMidChain,
        Tamper::NewestDigestDeleted,
        Tamper::OldestDigestDeleted,
        Tamper::DigestModified,
        Tamper::DigestModifiedAndItsLogDeleted,
        Tamper::SignatureReplaced,
        Tamper::SignatureRemoved,
        Tamper::DigestMoved,
        Tamper::UnknownKey,
        Tamper::DigestNotGzip,
        Tamper::DigestNotJson,
        Tamper::DigestMissingAField,
        Tamper::ChainRestarted,
        Tamper::PlantedLog,
    ];
}

/// What the AWS CLI prints, and what we print beyond it.
struct Expected {
    /// Standard error, the CLI's lines in its order.
    cli_errors: Vec<String>,
    /// Lines only trailwatch prints (about objects no present digest lists), after the CLI's.
    ours: Vec<String>,
    found: Option<(i64, i64)>,
    digests: (u64, u64),
    logs: (u64, u64),
}

impl Bucket {
    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    async fn inflated(&self, key: &str) -> String {
        let (body, _) = self.get(key).await;
        let mut text = String::new();
        GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
        text
    }

    /// Replaces a digest's body, keeping its signature metadata.
    async fn replace_digest_body(&self, key: &str, body: Vec<u8>) {
        let (_, metadata) = self.get(key).await;
        self.put_signed(&SignedObject {
            key: key.to_owned(),
            body,
            metadata: metadata.into_iter().collect(),
            signature: None,
        })
        .await;
    }

    /// Applies `tamper`; returns what the CLI would print.
    async fn tamper(&self, tamper: Tamper) -> Expected {
        let (d, l) = (&self.digests, &self.logs);
        let log =
            |key: &str, status: &str| format!("Log file\t{}\tINVALID: {status}", self.url(key));
        let digest =
            |key: &str, status: &str| format!("Digest file\t{}\tINVALID: {status}", self.url(key));
        let mut expected = Expected {
            cli_errors: Vec::new(),
            ours: Vec::new(),
            found: Some((t0(), t0() + HOURS * HOUR)),
            digests: (3, 0),
            logs: (4, 0),
        };
        match tamper {
            Tamper::Untouched => {}
            Tamper::LogModified | Tamper::LogSwapped | Tamper::LogTruncated => {
                let key = &l[0][1];
                let body = match tamper {
                    Tamper::LogModified => gzip(
                        self.inflated(key)
                            .await
                            .replacen("\"eventName\":\"", "\"eventName\":\"X", 1)
                            .as_bytes(),
                    ),
                    Tamper::LogSwapped => self.get(&l[2][0]).await.0,
                    _ => {
                        let body = self.get(key).await.0;
                        body[..body.len() / 2].to_vec()
                    }
                };
                self.put_plain(key, body).await;
                expected
                    .cli_errors
                    .push(log(key, "hash value doesn't match"));
                expected.logs = (3, 1);
            }
            Tamper::LogDeleted => {
                self.delete(&l[2][0]).await;
                expected.cli_errors.push(log(&l[2][0], "not found"));
                expected.logs = (3, 1);
            }
            Tamper::LogAppended => {
                let (mut body, _) = self.get(&l[0][0]).await;
                body.extend_from_slice(&gzip(b"more"));
                self.put_plain(&l[0][0], body).await;
                expected.cli_errors.push(log(
                    &l[0][0],
                    "unexpected data after end of compressed stream",
                ));
                expected.logs = (3, 1);
            }
            Tamper::LogNotGzip => {
                let text = self.inflated(&l[2][1]).await;
                self.put_plain(&l[2][1], text.into_bytes()).await;
                expected.cli_errors.push(log(&l[2][1], "invalid format"));
                expected.logs = (3, 1);
            }
            Tamper::DigestDeletedMidChain => {
                self.delete(&d[1]).await;
                expected.cli_errors.push(digest(&d[1], "not found"));
                expected.digests = (2, 1);
            }
            Tamper::NewestDigestDeleted => {
                // Nothing links to the newest digest: the CLI cannot see it is gone, and its
                // log files fall in the last hour, which the next digest could still list.
                self.delete(&d[2]).await;
                expected.found = Some((t0(), t0() + 2 * HOUR));
                expected.digests = (2, 0);
                expected.logs = (2, 0);
            }
            Tamper::OldestDigestDeleted => {
                self.delete(&d[0]).await;
                expected.cli_errors.push(digest(&d[0], "not found"));
                expected.found = Some((t0() + HOUR, t0() + 3 * HOUR));
                expected.digests = (2, 1);
                expected.logs = (2, 0);
            }
            Tamper::DigestModified | Tamper::DigestModifiedAndItsLogDeleted => {
                let text = self.inflated(&d[2]).await;
                self.replace_digest_body(
                    &d[2],
                    gzip(text.replace("SHA-256", "SHA-256 ").as_bytes()),
                )
                .await;
                if tamper == Tamper::DigestModifiedAndItsLogDeleted {
                    self.delete(&l[2][0]).await;
                }
                // Its log files are not proven, so not checked, and not "listed in no digest".
                expected
                    .cli_errors
                    .push(digest(&d[2], "signature verification failed"));
                expected.found = Some((t0(), t0() + 2 * HOUR));
                expected.digests = (2, 1);
                expected.logs = (2, 0);
            }
            Tamper::SignatureReplaced | Tamper::SignatureRemoved => {
                let (body, _) = self.get(&d[0]).await;
                let metadata = if tamper == Tamper::SignatureReplaced {
                    vec![
                        ("signature".into(), "ab".repeat(256)),
                        ("signature-algorithm".into(), "SHA256withRSA".into()),
                    ]
                } else {
                    Vec::new()
                };
                self.put_signed(&SignedObject {
                    key: d[0].clone(),
                    body,
                    metadata,
                    signature: None,
                })
                .await;
                expected
                    .cli_errors
                    .push(digest(&d[0], "signature verification failed"));
                expected.found = Some((t0() + HOUR, t0() + 3 * HOUR));
                expected.digests = (2, 1);
                expected.logs = (2, 0);
            }
            Tamper::DigestMoved => {
                let (body, metadata) = self.get(&d[2]).await;
                let later = d[2].replace("T030000Z", "T033000Z");
                self.put_signed(&SignedObject {
                    key: later.clone(),
                    body,
                    metadata: metadata.into_iter().collect(),
                    signature: None,
                })
                .await;
                expected
                    .cli_errors
                    .push(digest(&later, "has been moved from its original location"));
                expected.digests = (3, 1);
            }
            Tamper::UnknownKey => {
                let stranger = SignedTrail::new(&self.name, ACCOUNT, REGION, "audit", 99);
                let forged = stranger.digest(t0() + 2 * HOUR, t0() + 3 * HOUR, &[], None);
                self.put_signed(&forged).await;
                expected.cli_errors.push(digest(
                    &forged.key,
                    &format!(
                        "public key not found in region {REGION} for fingerprint {}",
                        stranger.fingerprint
                    ),
                ));
                expected.found = Some((t0(), t0() + 2 * HOUR));
                expected.digests = (2, 1);
                expected.logs = (2, 0);
            }
            Tamper::DigestNotGzip | Tamper::DigestNotJson | Tamper::DigestMissingAField => {
                let text = self.inflated(&d[1]).await;
                let body = match tamper {
                    Tamper::DigestNotGzip => text.into_bytes(),
                    Tamper::DigestNotJson => gzip(b"{\"digestEndTime\": "),
                    _ => {
                        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
                        value.as_object_mut().unwrap().remove("digestStartTime");
                        gzip(value.to_string().as_bytes())
                    }
                };
                self.replace_digest_body(&d[1], body).await;
                // The chain goes on with the next older digest listed.
                expected.cli_errors.push(digest(&d[1], "invalid format"));
                expected.digests = (2, 1);
            }
            Tamper::ChainRestarted => {
                // Logging stopped after hour 0 and started again: hour 1's digest starts a new
                // chain; the CLI reports the hours between the chains, not an error.
                let restarted = signer(&self.name).digest(t0() + HOUR, t0() + 2 * HOUR, &[], None);
                self.put_signed(&restarted).await;
                expected.cli_errors.push(format!(
                    "No log files were delivered by CloudTrail between {} and {}",
                    iso_text(t0() + HOUR),
                    iso_text(t0() + HOUR)
                ));
            }
            Tamper::PlantedLog => {
                let mut spec = TrailSpec::recent(778);
                spec.delivery_millis = (t0() + HOUR + 1200) * 1000;
                let mut body = Vec::new();
                write_log_file(&spec, 5_000, &mut body).unwrap();
                self.put_plain(&spec.key(), body).await;
                expected
                    .ours
                    .push(log(&spec.key(), "not listed in any digest"));
            }
        }
        expected
    }
}

fn cli_summary(arn: &str, expected: &Expected, extra_invalid_logs: u64) -> String {
    let ratio = |(valid, invalid): (u64, u64), name: &str| {
        let total = valid + invalid;
        match (total, invalid) {
            (0, _) => String::new(),
            (_, 0) => format!("\n{valid}/{total} {name} files valid"),
            _ => format!(
                "\n{valid}/{total} {name} files valid, {invalid}/{total} {name} files INVALID"
            ),
        }
    };
    let (start, end) = (iso_text(t0()), iso_text(t0() + HOURS * HOUR));
    let found = match expected.found {
        Some((from, to)) => format!(
            "Results found for {} to {}:\n",
            iso_text(from),
            iso_text(to)
        ),
        None => "No valid digests found in range\n".to_owned(),
    };
    let logs = (expected.logs.0, expected.logs.1 + extra_invalid_logs);
    format!(
        "Validating log files for trail {arn} between {start} and {end}\n\nResults requested for {start} to {end}\n{found}{}{}\n",
        ratio(expected.digests, "digest"),
        ratio(logs, "log"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tamper_scenario_prints_what_the_aws_cli_prints() {
    // The CLI's lines, spacing, summary and exit status, read off
    // awscli/customizations/cloudtrail/validation.py, for each scenario; our lines beyond it
    // only about files no present digest lists.
    let arn = format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit");
    let mut disagreements = Vec::new();
    for (index, tamper) in Tamper::ALL.into_iter().enumerate() {
        let bucket = Bucket::signed(&format!("integrity-cli-{index}")).await;
        let expected = bucket.tamper(tamper).await;
        let report = bucket.validate().await;
        let (out, err) =
            validator::render::render_cli(&report, &arn, t0(), t0() + HOURS * HOUR, false);
        let wanted_err: String = expected
            .cli_errors
            .iter()
            .chain(&expected.ours)
            .map(|line| format!("{line}\n\n"))
            .collect();
        let wanted_out = cli_summary(&arn, &expected, expected.ours.len() as u64);
        let cli_exit = i32::from(expected.digests.1 + expected.logs.1 > 0);
        let wanted_exit = if expected.ours.is_empty() {
            cli_exit
        } else {
            1
        };
        if (out.as_str(), err.as_str(), report.exit_code())
            != (wanted_out.as_str(), wanted_err.as_str(), wanted_exit)
        {
            disagreements.push(format!(
                "{tamper:?}\n  stdout {out:?}\n  wanted {wanted_out:?}\n  stderr {err:?}\n  wanted {wanted_err:?}\n  exit {} wanted {wanted_exit}",
                report.exit_code()
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
