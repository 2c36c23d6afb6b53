//! Whether an SDK error may pass on a later attempt. The one classifier every adapter uses:
//! throttling, 5xx, timeouts and connection failures are transient, and so are the refusals
//! that pass once the world catches up: access denied (IAM and key policies are eventually
//! consistent, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency),
//! a resource just created not found yet, two writers creating one log group, expired
//! credentials, a skewed clock, S3's RequestTimeout. Invalid parameters and missing objects are
//! not: a retry cannot change them, and a retried message that keeps failing ends in the
//! dead-letter queue rather than being acknowledged.
//!
//! The throttling codes are the AWS SDKs' standard list
//! (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html; the Rust SDK's
//! `aws_runtime::retries::classifiers::THROTTLING_ERRORS`) with the services' own: DynamoDB
//! throttles with `ProvisionedThroughputExceededException` and `ThrottlingException`, also on
//! on-demand tables (a burst above twice the previous peak, a hot partition), and refuses a
//! write that collides with a transaction with `TransactionConflictException`
//! (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html);
//! CloudWatch Logs throttles with `ThrottlingException` and answers `ServiceUnavailableException`
//! when it is briefly unavailable. `LimitExceededException`, which the SDKs retry, is left
//! out: CloudWatch Logs and SQS use it for quotas that a retry does not lift (too many log
//! groups, too many messages in flight), so a message failing on it ends in the dead-letter
//! queue after its receives.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::ports::{CallError, Transience};

/// Error codes that mean "slow down" (or "busy, try again") whatever the HTTP status.
pub(crate) const THROTTLING_CODES: [&str; 14] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "TransactionConflictException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
    "ServiceUnavailableException",
];

/// Error codes of refusals that a later attempt may not get.
const PASSING_CODES: [&str; 12] = [
    "AccessDenied",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "OperationAbortedException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "RequestTimeTooSkewed",
    "KMS.KMSInternalException",
    "KMS.ThrottlingException",
];

pub fn is_transient<E: ProvideErrorMetadata>(error: &SdkError<E, Response>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            status >= 500
                || status == 429
                || service.err().code().is_some_and(|code| {
                    THROTTLING_CODES.contains(&code) || PASSING_CODES.contains(&code)
                })
        }
        _ => false,
    }
}

/// Whether the request may have been applied although the call failed: the service answered
/// 5xx (it may have stored the request before failing), or no answer came (a timeout, a
/// connection lost after sending). A 4xx answer, throttling included, means nothing was done.
pub fn outcome_unknown<E>(error: &SdkError<E, Response>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service.raw().status().as_u16() >= 500,
        _ => false,
    }
}

impl CallError {
    /// The one conversion of an SDK error: whether a retry may pass, the service's error code,
    /// whether the call may have been applied, and the whole error chain in words.
    pub fn from_sdk<E>(call: impl Into<String>, error: &SdkError<E, Response>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let transience = if is_transient(error) {
            Transience::Transient
        } else {
            Transience::Permanent
        };
        CallError::new(call, transience, describe(error))
            .with_code(error.code())
            .with_outcome_unknown(outcome_unknown(error))
    }
}

/// One line for a person and a log reader: a service's answer as `Code: message (request id
/// …)`, anything else (no connection, no credentials, no region) as its chain of causes, each
/// said once. Never the `Debug` form, which `DisplayErrorContext` appends (~1.5 KB of headers
/// and nested types).
pub fn describe<E>(error: &SdkError<E, Response>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let SdkError::ServiceError(service) = error else {
        if no_credentials(error) {
            return NO_CREDENTIALS.to_owned();
        }
        return crate::human::error_chain(error);
    };
    let meta = service.err().meta();
    let mut line = match meta.code() {
        Some(code) => code.to_owned(),
        None => format!("HTTP {}", service.raw().status().as_u16()),
    };
    if let Some(message) = meta.message().filter(|m| !m.is_empty()) {
        line.push_str(": ");
        line.push_str(message);
    }
    // The id AWS Support asks for (x-amz-request-id / x-amzn-RequestId).
    if let Some(id) = meta.extra("aws_request_id") {
        line.push_str(&format!(" (request id {id})"));
    }
    line
}

/// The AWS CLI's words when no credential provider had credentials, with where to put them.
pub const NO_CREDENTIALS: &str = "Unable to locate credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a --profile (or AWS_PROFILE) that has them";

/// Whether `error` is the credential chain finding nothing (rather than a provider failing).
fn no_credentials(error: &(dyn std::error::Error + 'static)) -> bool {
    use aws_credential_types::provider::error::CredentialsError;
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(CredentialsError::CredentialsNotLoaded(_)) = error.downcast_ref() {
            return true;
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service(status: u16, code: &str) -> SdkError<PutLogEventsError, Response> {
        let error = PutLogEventsError::generic(ErrorMetadata::builder().code(code).build());
        let raw = Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(error, raw)
    }

    fn timeout() -> SdkError<PutLogEventsError, Response> {
        SdkError::timeout_error("operation timed out")
    }

    fn reset() -> SdkError<PutLogEventsError, Response> {
        SdkError::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        ))))
    }

    #[test]
    fn an_sdk_error_is_said_in_one_line_without_its_debug_form() {
        let error = PutLogEventsError::generic(
            ErrorMetadata::builder()
                .code("ResourceNotFoundException")
                .message("The specified log group does not exist.")
                .custom("aws_request_id", "3f1c-req")
                .build(),
        );
        let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        assert_eq!(
            describe(&SdkError::service_error(error, raw)),
            "ResourceNotFoundException: The specified log group does not exist. (request id 3f1c-req)"
        );
        let bare = PutLogEventsError::generic(ErrorMetadata::builder().build());
        let raw = Response::new(StatusCode::try_from(503).unwrap(), SdkBody::empty());
        assert_eq!(describe(&SdkError::service_error(bare, raw)), "HTTP 503");
        let reset = describe(&reset());
        assert!(
            reset.starts_with("dispatch failure") && reset.contains("connection reset"),
            "{reset}"
        );
        for said in [reset, describe(&timeout())] {
            assert!(
                !said.contains('\n') && !said.contains("DispatchFailure"),
                "{said}"
            );
            assert!(!said.contains("ConnectorError {"), "a Debug dump: {said}");
        }
    }

    #[test]
    fn throttling_5xx_timeouts_and_connection_failures_are_transient() {
        for (status, code) in [
            (400, "ThrottlingException"),
            (503, "SlowDown"),
            (500, "InternalError"),
            (429, "TooManyRequests"),
            (400, "ServiceUnavailableException"),
        ] {
            assert!(is_transient(&service(status, code)), "{status} {code}");
        }
        assert!(is_transient(&timeout()) && is_transient(&reset()));
    }

    #[test]
    fn an_sdk_error_becomes_one_call_error_with_its_transience_code_and_outcome() {
        let throttled = CallError::from_sdk(
            "PutItem s3://b/k to t",
            &service(400, "ProvisionedThroughputExceededException"),
        );
        assert_eq!(throttled.transience, Transience::Transient);
        assert_eq!(
            throttled.code.as_deref(),
            Some("ProvisionedThroughputExceededException")
        );
        assert!(!throttled.outcome_unknown);
        assert!(
            throttled
                .to_string()
                .starts_with("PutItem s3://b/k to t failed: ")
        );
        let stored_maybe =
            CallError::from_sdk("PutLogEvents to /g:s", &service(500, "InternalFailure"));
        assert!(stored_maybe.is_transient() && stored_maybe.outcome_unknown);
        let refused = CallError::from_sdk(
            "PutLogEvents to /g:s",
            &service(400, "InvalidParameterException"),
        );
        assert_eq!(refused.transience, Transience::Permanent);
        assert!(refused.is_refused_content());
        let lost = CallError::from_sdk("GetItem", &timeout());
        assert!(lost.is_transient() && lost.outcome_unknown && lost.code.is_none());
    }

    #[test]
    fn only_an_answer_below_500_says_nothing_was_applied() {
        for (status, code, unknown) in [
            (500, "InternalFailure", true),
            (503, "ServiceUnavailableException", true),
            (400, "ThrottlingException", false),
            (400, "InvalidParameterException", false),
            (403, "AccessDeniedException", false),
        ] {
            assert_eq!(
                outcome_unknown(&service(status, code)),
                unknown,
                "{status} {code}"
            );
        }
        assert!(outcome_unknown(&timeout()) && outcome_unknown(&reset()));
        let built: SdkError<PutLogEventsError, Response> =
            SdkError::construction_failure("missing field");
        assert!(!outcome_unknown(&built));
    }

    #[test]
    fn every_services_throttling_is_transient_whatever_its_status() {
        // DynamoDB (checkpoints), CloudWatch Logs, S3, SQS: each code as the service sends it.
        for (status, code) in [
            (400, "ProvisionedThroughputExceededException"),
            (400, "ThrottlingException"),
            (400, "RequestLimitExceeded"),
            (400, "TransactionConflictException"),
            (400, "TransactionInProgressException"),
            (400, "Throttling"),
            (400, "ThrottledException"),
            (400, "RequestThrottled"),
            (400, "RequestThrottledException"),
            (400, "TooManyRequestsException"),
            (400, "BandwidthLimitExceeded"),
            (400, "PriorRequestNotComplete"),
            (503, "SlowDown"),
            (400, "ServiceUnavailableException"),
        ] {
            assert!(is_transient(&service(status, code)), "{status} {code}");
        }
        assert_eq!(THROTTLING_CODES.len(), 14);
    }

    #[test]
    fn refusals_that_pass_once_the_world_catches_up_are_transient() {
        for (status, code) in [
            (403, "AccessDenied"),
            (400, "AccessDeniedException"),
            (400, "ResourceNotFoundException"),
            (400, "OperationAbortedException"),
            (400, "RequestTimeout"),
            (400, "RequestTimeoutException"),
            (400, "ExpiredToken"),
            (400, "ExpiredTokenException"),
            (403, "RequestTimeTooSkewed"),
            (400, "KMS.KMSInternalException"),
        ] {
            assert!(is_transient(&service(status, code)), "{status} {code}");
        }
    }

    #[test]
    fn refusals_a_retry_cannot_change_are_not_transient() {
        for (status, code) in [
            (400, "InvalidParameterException"),
            (404, "NoSuchKey"),
            (404, "NoSuchVersion"),
            (400, "InvalidSequenceTokenException"),
            (400, "DataAlreadyAcceptedException"),
            (400, "ValidationException"),
            (400, "ConditionalCheckFailedException"),
            (400, "LimitExceededException"),
        ] {
            assert!(!is_transient(&service(status, code)), "{status} {code}");
        }
        let built: SdkError<PutLogEventsError, Response> =
            SdkError::construction_failure("missing field");
        assert!(!is_transient(&built));
    }
}
