//! Secrets read from files (a mounted Kubernetes or Docker secret, a file only the service
//! can read): one rule for every `*_file` setting.

use std::path::{Path, PathBuf};

/// Why a secret file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the secret file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the secret file {path} {problem}")]
    Invalid {
        path: PathBuf,
        problem: &'static str,
    },
}

/// The secret in `path`: the file's text without its final line break (`\n` or `\r\n`, as
/// editors and `echo` leave one). Anything else is part of the secret, so a file of more than
/// one line, or an empty one, is refused rather than guessed at.
pub fn read_secret_file(path: &Path) -> Result<String, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read {
        path: path.to_owned(),
        source,
    })?;
    let secret = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    let invalid = |problem| SecretError::Invalid {
        path: path.to_owned(),
        problem,
    };
    if secret.is_empty() {
        return Err(invalid("is empty"));
    }
    if secret.contains(['\n', '\r']) {
        return Err(invalid("holds more than one line"));
    }
    Ok(secret.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_line_break_is_not_part_of_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("s3cret\n", Some("s3cret")),
            ("s3cret\r\n", Some("s3cret")),
            ("s3cret", Some("s3cret")),
            (" spaced out \n", Some(" spaced out ")),
            ("", None),
            ("\n", None),
            ("one\ntwo\n", None),
        ];
        for (i, (text, expected)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("secret-{i}"));
            std::fs::write(&path, text).unwrap();
            let read = read_secret_file(&path).ok();
            assert_eq!(read.as_deref(), expected, "{text:?}");
        }
        assert!(matches!(
            read_secret_file(&dir.path().join("missing")),
            Err(SecretError::Read { .. })
        ));
    }
}
