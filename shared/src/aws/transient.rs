//! Whether an SDK error may pass on a later attempt. The one classifier every adapter uses:
//! throttling, 5xx, timeouts and connection failures are transient, and so are the refusals
//! that pass once the world catches up: access denied (IAM and key policies are eventually
//! consistent, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency),
//! a resource just created not found yet, two writers creating one log group, expired
//! credentials, a skewed clock, S3's RequestTimeout. Invalid parameters and missing objects are
//! not: a retry cannot change them, and a retried message that keeps failing ends in the
//! dead-letter queue rather than being acknowledged. Throttling codes:
//! https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes that mean "slow down" whatever the HTTP status.
const THROTTLING_CODES: [&str; 8] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceUnavailableException",
];

/// Error codes of refusals that a later attempt may not get.
const PASSING_CODES: [&str; 11] = [
    "AccessDenied",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "OperationAbortedException",
    "RequestTimeout",
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

/// The whole error chain, as the SDK's own display of it (plain `Display` says little).
pub fn describe<E: std::error::Error + 'static>(error: &SdkError<E, Response>) -> String {
    DisplayErrorContext(error).to_string()
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
        let timeout: SdkError<PutLogEventsError, Response> =
            SdkError::timeout_error("operation timed out");
        assert!(is_transient(&timeout));
        let reset: SdkError<PutLogEventsError, Response> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::from(
                std::io::ErrorKind::ConnectionReset,
            ))));
        assert!(is_transient(&reset));
    }

    #[test]
    fn refusals_that_pass_once_the_world_catches_up_are_transient() {
        for (status, code) in [
            (403, "AccessDenied"),
            (400, "AccessDeniedException"),
            (400, "ResourceNotFoundException"),
            (400, "OperationAbortedException"),
            (400, "RequestTimeout"),
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
        ] {
            assert!(!is_transient(&service(status, code)), "{status} {code}");
        }
        let built: SdkError<PutLogEventsError, Response> =
            SdkError::construction_failure("missing field");
        assert!(!is_transient(&built));
    }
}
