//! Reaching EC2 the way the AWS CLI does: the SDK's default credential chain (environment,
//! shared config and credentials files with an optional profile, SSO, web identity, container
//! and instance metadata), the region from the config or that chain, an optional endpoint
//! override, and short timeouts so an unreachable endpoint never hangs a poll.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use crate::Ec2Settings;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One page of DescribeInstances (1,000 instances) fits well within this.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The rule for a silent partition: the source turns stale 15 s after a call that gets no
/// answer (EC2 is polled, so that is 15 s after the first poll into the silence).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the credentials chain looks, in order (named in the "no credentials" message).
const CHAIN: &str = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the shared files \
    (~/.aws/credentials, ~/.aws/config, AWS_PROFILE), SSO, web identity, container \
    credentials and instance metadata";

/// Clients per region, all sharing one HTTP client (rustls on ring).
pub(super) async fn clients(s: &Ec2Settings) -> Result<Vec<(String, Client)>, String> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        // The SDK's own retries back off on throttling; the poll loop backs off beyond that.
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(p) = &s.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &s.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let base = loader.load().await;
    let regions: Vec<String> = if s.regions.is_empty() {
        base.region().map(|r| r.to_string()).into_iter().collect()
    } else {
        s.regions.clone()
    };
    if regions.is_empty() {
        return Err(
            "no AWS region: set aws.regions in config.toml, AWS_REGION, or region in ~/.aws/config"
                .into(),
        );
    }
    Ok(regions
        .into_iter()
        .map(|r| {
            let conf = aws_sdk_ec2::config::Builder::from(&base)
                .region(Region::new(r.clone()))
                .build();
            (r, Client::from_conf(conf))
        })
        .collect())
}

/// What went wrong, as far as what to do next is concerned.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Failure {
    /// No credentials, or credentials AWS rejects: retrying will not help until they change.
    Credentials(String),
    /// RequestLimitExceeded: back off harder.
    Throttled(String),
    /// IAM says no.
    Denied(String),
    /// The endpoint is not there or does not answer in time.
    Unreachable(String),
    Other(String),
}

impl Failure {
    pub(super) fn message(&self) -> &str {
        match self {
            Failure::Credentials(m)
            | Failure::Throttled(m)
            | Failure::Denied(m)
            | Failure::Unreachable(m)
            | Failure::Other(m) => m,
        }
    }
}

const NO_ANSWER: &str = "no answer in time";
const CANNOT_CONNECT: &str = "cannot connect";

/// Whether an error message says the endpoint did not answer (a silent network), as opposed
/// to answering with a refusal.
pub(super) fn unanswered(message: &str) -> bool {
    message.contains(NO_ANSWER) || message.contains(CANNOT_CONNECT)
}

const BAD_CREDENTIALS: &[&str] = &[
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "ExpiredToken",
    "RequestExpired",
    "InvalidAccessKeyId",
];

/// Classifies an SDK error; `creds` names where the credentials came from.
pub(super) fn classify<E>(e: &SdkError<E>, creds: &str) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().unwrap_or("");
    let msg = e.message().unwrap_or("");
    let text = DisplayErrorContext(e).to_string();
    if BAD_CREDENTIALS.contains(&code) {
        return Failure::Credentials(format!(
            "AWS rejected the credentials from {creds} ({code}: {msg}): check your credentials \
             (aws sts get-caller-identity with the same profile shows the same error)"
        ));
    }
    if code == "RequestLimitExceeded" || code == "Throttling" {
        return Failure::Throttled(format!("throttled by EC2 ({code}); backing off"));
    }
    if code == "UnauthorizedOperation" || code == "AccessDenied" || code == "AccessDeniedException"
    {
        return Failure::Denied(format!("not allowed by IAM ({code}): {msg}"));
    }
    match e {
        SdkError::TimeoutError(_) => Failure::Unreachable(NO_ANSWER.into()),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            Failure::Unreachable(format!("{NO_ANSWER} (connecting)"))
        }
        SdkError::DispatchFailure(d) if d.is_io() => {
            Failure::Unreachable(format!("{CANNOT_CONNECT}: {}", short(&text)))
        }
        _ if text.contains("credentials") || text.contains("identity") => {
            Failure::Credentials(format!(
                "no AWS credentials found (tried {CHAIN}): set AWS_PROFILE or \
                 AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws sso login`, or set aws.profile \
                 in config.toml"
            ))
        }
        SdkError::ServiceError(_) => Failure::Other(format!("{code}: {msg}")),
        _ => Failure::Other(short(&text)),
    }
}

/// The SDK's error chains repeat themselves; the last two links say it.
fn short(text: &str) -> String {
    let parts: Vec<&str> = text.split(": ").collect();
    let n = parts.len();
    parts[n.saturating_sub(2)..].join(": ")
}
