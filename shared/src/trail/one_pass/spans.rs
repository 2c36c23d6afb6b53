//! Where the fields the router reads are in a record's bytes, and the fields they become once
//! the record is known to be UTF-8.

use std::borrow::Cow;
use std::ops::Range;

use crate::trail::record::{RecordFields, Resource, UserIdentity};

/// The top-level text fields, in [`Spans::texts`].
pub(super) const EVENT_TIME: usize = 0;
pub(super) const EVENT_VERSION: usize = 1;
pub(super) const EVENT_CATEGORY: usize = 2;
pub(super) const EVENT_TYPE: usize = 3;
pub(super) const EVENT_SOURCE: usize = 4;
pub(super) const EVENT_NAME: usize = 5;
pub(super) const AWS_REGION: usize = 6;
pub(super) const RECIPIENT_ACCOUNT_ID: usize = 7;
pub(super) const EVENT_ID: usize = 8;
pub(super) const ERROR_CODE: usize = 9;
pub(super) const VPC_ENDPOINT_ID: usize = 10;
pub(super) const ACCOUNT_ID: usize = 11;
pub(super) const TEXT_FIELDS: usize = 12;
/// The top-level flags, in [`Spans::flags`].
pub(super) const MANAGEMENT_EVENT: usize = 0;
pub(super) const READ_ONLY: usize = 1;
pub(super) const SESSION_CREDENTIAL_FROM_CONSOLE: usize = 2;

/// What a top-level key is to [`RecordFields`].
pub(super) enum Field {
    Text(usize),
    Flag(usize),
    Resources,
    UserIdentity,
    Other,
}

pub(super) fn field_of(key: &[u8]) -> Field {
    match key {
        b"eventTime" => Field::Text(EVENT_TIME),
        b"eventVersion" => Field::Text(EVENT_VERSION),
        b"eventCategory" => Field::Text(EVENT_CATEGORY),
        b"eventType" => Field::Text(EVENT_TYPE),
        b"eventSource" => Field::Text(EVENT_SOURCE),
        b"eventName" => Field::Text(EVENT_NAME),
        b"awsRegion" => Field::Text(AWS_REGION),
        b"recipientAccountId" => Field::Text(RECIPIENT_ACCOUNT_ID),
        b"eventID" | b"eventId" => Field::Text(EVENT_ID),
        b"errorCode" => Field::Text(ERROR_CODE),
        b"vpcEndpointId" => Field::Text(VPC_ENDPOINT_ID),
        b"accountId" => Field::Text(ACCOUNT_ID),
        b"managementEvent" => Field::Flag(MANAGEMENT_EVENT),
        b"readOnly" => Field::Flag(READ_ONLY),
        b"sessionCredentialFromConsole" => Field::Flag(SESSION_CREDENTIAL_FROM_CONSOLE),
        b"resources" => Field::Resources,
        b"userIdentity" => Field::UserIdentity,
        _ => Field::Other,
    }
}

/// Where each field's text is in the record, before the record is known to be UTF-8.
#[derive(Debug, Default)]
pub(super) struct Spans {
    pub(super) texts: [Option<Range<usize>>; TEXT_FIELDS],
    pub(super) flags: [Option<bool>; 3],
    pub(super) resources: Option<Vec<Entries>>,
    pub(super) user_identity: Option<Entries>,
}

/// The `type`, `ARN` and `arn` strings of an object; `any` when one of those keys was there
/// (whatever its value), which is what makes `userIdentity` present for the serde reader.
#[derive(Debug, Default)]
pub(super) struct Entries {
    pub(super) resource_type: Option<Range<usize>>,
    pub(super) upper_arn: Option<Range<usize>>,
    pub(super) lower_arn: Option<Range<usize>>,
    pub(super) any: bool,
}

impl Spans {
    pub(super) fn into_fields(self, text: &str) -> RecordFields<'_> {
        let [
            event_time,
            event_version,
            event_category,
            event_type,
            event_source,
            event_name,
            aws_region,
            recipient_account_id,
            event_id,
            error_code,
            vpc_endpoint_id,
            account_id,
        ] = self.texts.map(|span| slice(text, span));
        let [management_event, read_only, session_credential_from_console] = self.flags;
        RecordFields {
            event_time,
            event_version,
            event_category,
            event_type,
            management_event,
            read_only,
            event_source,
            event_name,
            aws_region,
            recipient_account_id,
            account_id,
            event_id,
            resources: self.resources.map(|list| {
                list.into_iter()
                    .map(|entries| Resource {
                        resource_type: slice(text, entries.resource_type),
                        arn: slice(text, entries.upper_arn),
                    })
                    .collect()
            }),
            user_identity: self.user_identity.map(|entries| UserIdentity {
                arn: slice(text, entries.lower_arn),
            }),
            error_code,
            vpc_endpoint_id,
            session_credential_from_console,
        }
    }
}

/// Spans start and end at quotes, so they are character boundaries of the record's text.
fn slice(text: &str, span: Option<Range<usize>>) -> Option<Cow<'_, str>> {
    span.and_then(|span| text.get(span)).map(Cow::Borrowed)
}
