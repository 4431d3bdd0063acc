//! AWS credentials from the usual places: the environment, then the shared credentials file.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::CognitoError;

/// Static AWS credentials for signing (SigV4). `Debug` shows the access key id only.
#[derive(Clone)]
pub struct AwsCredentials {
    inner: aws_credential_types::Credentials,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.inner.access_key_id())
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.inner.session_token().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// The environment variables read, in the AWS SDKs' names.
const ACCESS_KEY_ENV: &str = "AWS_ACCESS_KEY_ID";
const SECRET_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
const SESSION_TOKEN_ENV: &str = "AWS_SESSION_TOKEN";
const FILE_ENV: &str = "AWS_SHARED_CREDENTIALS_FILE";
const PROFILE_ENV: &str = "AWS_PROFILE";

impl AwsCredentials {
    /// Credentials given directly (`session_token` for temporary credentials).
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self {
            inner: aws_credential_types::Credentials::new(
                access_key_id,
                secret_access_key,
                session_token,
                None,
                "zipchain-cognito",
            ),
        }
    }

    /// The credentials the AWS SDKs find first among the static ones:
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`), else the
    /// profile `AWS_PROFILE` (default `default`) of the shared credentials file
    /// (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`). SSO, web identity,
    /// ECS and instance-metadata credentials are not read.
    ///
    /// # Errors
    /// [`CognitoError::Credentials`] when neither place holds a complete pair.
    pub fn from_environment() -> Result<Self, CognitoError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let file = env(FILE_ENV).map(PathBuf::from).or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".aws/credentials"))
        });
        let text = file
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok());
        let shown = file.map_or_else(
            || "~/.aws/credentials".to_string(),
            |p| p.display().to_string(),
        );
        resolve(&env, text.as_deref(), &shown)
    }

    /// The credentials of `profile` in the shared credentials file `path` (the INI format of
    /// `~/.aws/credentials`: `aws_access_key_id`, `aws_secret_access_key`, optionally
    /// `aws_session_token`), whatever the environment says.
    ///
    /// # Errors
    /// [`CognitoError::Credentials`] when the file cannot be read or the profile holds no
    /// complete pair (the message names the file and the profile, never a key).
    pub fn from_shared_file(path: &Path, profile: &str) -> Result<Self, CognitoError> {
        let text = std::fs::read_to_string(path).map_err(|e| CognitoError::Credentials {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        from_profile(&text, profile, &path.display().to_string())
    }

    /// The access key id (not secret).
    pub fn access_key_id(&self) -> &str {
        self.inner.access_key_id()
    }

    pub(crate) fn as_aws(&self) -> &aws_credential_types::Credentials {
        &self.inner
    }
}

/// The credentials from `env` (a variable lookup), else from the credentials file `text`.
fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    text: Option<&str>,
    file_shown: &str,
) -> Result<AwsCredentials, CognitoError> {
    match (env(ACCESS_KEY_ENV), env(SECRET_KEY_ENV)) {
        (Some(id), Some(secret)) => {
            return Ok(AwsCredentials::new(id, secret, env(SESSION_TOKEN_ENV)));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(CognitoError::Credentials {
                reason: format!("only one of {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} is set"),
            });
        }
        (None, None) => {}
    }
    let profile = env(PROFILE_ENV).unwrap_or_else(|| "default".to_string());
    let Some(text) = text else {
        return Err(CognitoError::Credentials {
            reason: format!(
                "{ACCESS_KEY_ENV}/{SECRET_KEY_ENV} are not set and {file_shown} cannot be read"
            ),
        });
    };
    from_profile(text, &profile, file_shown).map_err(|e| match e {
        CognitoError::Credentials { reason } => CognitoError::Credentials {
            reason: format!("{ACCESS_KEY_ENV}/{SECRET_KEY_ENV} are not set and {reason}"),
        },
        other => other,
    })
}

/// The credentials of `[profile]` in the credentials file `text` (shown as `file_shown`).
fn from_profile(
    text: &str,
    profile: &str,
    file_shown: &str,
) -> Result<AwsCredentials, CognitoError> {
    let section = profile_section(text, profile);
    let get = |key: &str| {
        section
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.to_string())
    };
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(AwsCredentials::new(id, secret, get("aws_session_token"))),
        _ => Err(CognitoError::Credentials {
            reason: format!(
                "profile [{profile}] of {file_shown} has no aws_access_key_id and aws_secret_access_key"
            ),
        }),
    }
}

/// The `key = value` lines of `[profile]` in an INI-style credentials file.
fn profile_section<'a>(text: &'a str, profile: &str) -> Vec<(&'a str, &'a str)> {
    let mut current = None;
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim());
            continue;
        }
        if current == Some(profile) {
            if let Some((key, value)) = line.split_once('=') {
                entries.push((key.trim(), value.trim()));
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    const FILE: &str = "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = s1\n\n[other]\naws_access_key_id=AKOTHER\naws_secret_access_key=s2\naws_session_token=t2\n";

    #[test]
    fn environment_first() {
        let env = env_of(&[(ACCESS_KEY_ENV, "AKENV"), (SECRET_KEY_ENV, "secret")]);
        let creds = resolve(&env, Some(FILE), "f").unwrap();
        assert_eq!(creds.access_key_id(), "AKENV");
    }

    #[test]
    fn half_a_pair_is_an_error() {
        let env = env_of(&[(ACCESS_KEY_ENV, "AKENV")]);
        assert!(matches!(
            resolve(&env, Some(FILE), "f"),
            Err(CognitoError::Credentials { .. })
        ));
    }

    #[test]
    fn file_profiles() {
        let creds = resolve(&env_of(&[]), Some(FILE), "f").unwrap();
        assert_eq!(creds.access_key_id(), "AKDEFAULT");
        let creds = resolve(&env_of(&[(PROFILE_ENV, "other")]), Some(FILE), "f").unwrap();
        assert_eq!(creds.access_key_id(), "AKOTHER");
        assert_eq!(creds.as_aws().session_token(), Some("t2"));
        let missing = resolve(&env_of(&[(PROFILE_ENV, "none")]), Some(FILE), "f");
        assert!(matches!(missing, Err(CognitoError::Credentials { .. })));
        assert!(resolve(&env_of(&[]), None, "f").is_err());
    }

    #[test]
    fn a_named_file_and_profile() {
        let dir = std::env::temp_dir().join(format!("zipchain-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials");
        std::fs::write(&path, FILE).unwrap();
        let creds = AwsCredentials::from_shared_file(&path, "other").unwrap();
        assert_eq!(creds.access_key_id(), "AKOTHER");
        let error = AwsCredentials::from_shared_file(&path, "none").unwrap_err();
        assert!(error.to_string().contains("[none]"), "{error}");
        let missing = AwsCredentials::from_shared_file(&dir.join("missing"), "default");
        assert!(matches!(missing, Err(CognitoError::Credentials { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_hides_the_secret() {
        let creds = AwsCredentials::new("AKID", "very-secret", Some("token-secret".into()));
        let shown = format!("{creds:?}");
        assert!(shown.contains("AKID"));
        assert!(!shown.contains("very-secret") && !shown.contains("token-secret"));
    }
}
