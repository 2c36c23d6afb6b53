//! `--stack-name`: what backfill needs of a deployed stack, read from it rather than copied by
//! hand: its outputs (CloudFormation DescribeStacks) and the forwarder function's environment
//! variables (Lambda GetFunctionConfiguration), which hold the routes, selectors and table.

use std::collections::HashMap;

use aws_config::SdkConfig;
use trailwatch::ports::CallError;

/// The output that names the forwarder function (template.yaml, Outputs).
const FORWARDER_OUTPUT: &str = "ForwarderFunctionArn";
/// The output that names the delivery queue.
const QUEUE_OUTPUT: &str = "DeliveryQueueUrl";

/// What a trailwatch stack says of its forwarder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployed {
    /// The forwarder function's ARN.
    pub function: String,
    /// Its environment variables, as Lambda holds them.
    pub variables: HashMap<String, String>,
    /// The stack's delivery queue.
    pub delivery_queue_url: Option<String>,
}

/// Why the stack could not be read: in words, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The AWS CLI's words for DescribeStacks on a name it does not know.
    #[error(
        "Stack with id {0} does not exist (in this account and region: give the region the stack is in with AWS_REGION or a --profile that sets it)"
    )]
    NoStack(String),
    #[error(
        "the stack {0} has no {FORWARDER_OUTPUT} output: it is not a trailwatch stack, or an older one (set the forwarder's environment variables instead)"
    )]
    NotTrailwatch(String),
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Reads `stack`'s outputs, then its forwarder's environment.
pub async fn read(sdk: &SdkConfig, stack: &str) -> Result<Deployed, StackError> {
    let described = aws_sdk_cloudformation::Client::new(sdk)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await;
    let described = match described {
        Ok(described) => described,
        Err(error)
            if error
                .as_service_error()
                .and_then(|e| aws_sdk_cloudformation::error::ProvideErrorMetadata::message(e))
                .is_some_and(|message| message.contains("does not exist")) =>
        {
            return Err(StackError::NoStack(stack.to_owned()));
        }
        Err(error) => return Err(CallError::from_sdk("DescribeStacks", &error).into()),
    };
    let outputs: HashMap<&str, &str> = described
        .stacks()
        .first()
        .map(|found| found.outputs())
        .unwrap_or_default()
        .iter()
        .filter_map(|output| Some((output.output_key()?, output.output_value()?)))
        .collect();
    let function = outputs
        .get(FORWARDER_OUTPUT)
        .ok_or_else(|| StackError::NotTrailwatch(stack.to_owned()))?
        .to_string();
    let configuration = aws_sdk_lambda::Client::new(sdk)
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .map_err(|error| CallError::from_sdk("GetFunctionConfiguration", &error))?;
    let variables = configuration
        .environment()
        .and_then(|environment| environment.variables())
        .cloned()
        .unwrap_or_default();
    Ok(Deployed {
        function,
        variables,
        delivery_queue_url: outputs.get(QUEUE_OUTPUT).map(|url| url.to_string()),
    })
}
