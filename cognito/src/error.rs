//! The errors of the Cognito client: one enum, each variant naming what failed.

/// What went wrong while asking Cognito for a timestamp or for the pool's trust section.
///
/// No variant carries a password, a secret key or a session token: request bodies are never
/// quoted, and Cognito's own messages are kept only up to [`MAX_MESSAGE`] bytes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CognitoError {
    /// A field of [`CognitoConfig`](crate::CognitoConfig) is unusable.
    #[error("cognito configuration: {field}: {reason}")]
    Config {
        /// The field, as named in the configuration.
        field: &'static str,
        /// What is wrong with it, in words.
        reason: String,
    },
    /// No AWS credentials were found, or the ones found are incomplete.
    #[error("AWS credentials: {reason}")]
    Credentials {
        /// Where they were looked for and what was missing.
        reason: String,
    },
    /// The bytes to timestamp cannot be a Cognito username.
    #[error("cannot timestamp these bytes: {reason}")]
    Input {
        /// Why (empty, or the username would be longer than Cognito allows).
        reason: String,
    },
    /// The operating system's random source failed (passwords are drawn from it).
    #[error("the OS random source failed: {reason}")]
    Random {
        /// The error of `getrandom`.
        reason: String,
    },
    /// The request could not be built or signed.
    #[error("{operation}: cannot build or sign the request: {reason}")]
    Request {
        /// The Cognito operation, e.g. `AdminCreateUser`.
        operation: &'static str,
        /// What failed.
        reason: String,
    },
    /// No HTTP answer: connection refused, timeout, TLS …, still so after `attempts` tries.
    #[error("{operation}: no answer after {attempts} attempt(s): {reason}")]
    Transport {
        /// The Cognito operation, e.g. `AdminInitiateAuth`.
        operation: &'static str,
        /// How many requests were sent.
        attempts: u32,
        /// The transport error of the last attempt.
        reason: String,
    },
    /// Cognito answered with an error (for a throttling or 5xx error: still so after
    /// `attempts` tries).
    #[error("{operation}: HTTP {status} {code}: {message} (after {attempts} attempt(s))")]
    Service {
        /// The Cognito operation, e.g. `AdminSetUserPassword`.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The AWS error code, e.g. `TooManyRequestsException` (`?` when none was given).
        code: String,
        /// Cognito's message, at most [`MAX_MESSAGE`] bytes of it.
        message: String,
        /// How many requests were sent.
        attempts: u32,
    },
    /// A success answer that is not what the operation returns.
    #[error("{operation}: unexpected answer: {reason}")]
    Response {
        /// The Cognito operation (or `GET jwks.json`).
        operation: &'static str,
        /// What was missing or malformed.
        reason: String,
    },
    /// `AdminInitiateAuth` asked for a challenge (MFA, a new password …) instead of
    /// issuing tokens: the pool or app client is not configured for timestamps.
    #[error(
        "AdminInitiateAuth: got challenge {name}, expected tokens (the pool asks for more than a password)"
    )]
    Challenge {
        /// The `ChallengeName` Cognito answered.
        name: String,
    },
    /// The pool's tokens or keys do not make a usable trust section.
    #[error("the pool's trust section: {reason}")]
    Trust {
        /// What did not match (the probe token's issuer, the JWKS, the verifier's verdict).
        reason: String,
    },
}

/// The most bytes of a message from Cognito (or of a transport error) kept in an error.
pub const MAX_MESSAGE: usize = 300;

/// `text` cut to [`MAX_MESSAGE`] bytes at a character boundary, with `…` when cut.
pub(crate) fn bounded(text: &str) -> String {
    if text.len() <= MAX_MESSAGE {
        return text.to_string();
    }
    let mut end = MAX_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…({} bytes)", &text[..end], text.len())
}
