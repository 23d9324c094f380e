//! The access token of a gateway that other machines can reach: every request must carry it in
//! `x-claude-status-token` (never in `Authorization`, which stays the user's and may carry a
//! subscriber's OAuth token), it is compared in constant time, and it is removed before the
//! request goes upstream.
//!
//! The token lives in a file of its own (mode 0600) beside the history database, made on the
//! first remote start, so a restart keeps the clients' configuration working and the token is
//! never printed or logged: the command line shows how to read it from the file instead.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rand::Rng as _;
use subtle::ConstantTimeEq as _;

use crate::error::{Error, Result};

/// The request header that carries the token.
pub const TOKEN_HEADER: &str = "x-claude-status-token";

/// The token file's name in the data directory.
pub const TOKEN_FILE: &str = "gateway-token";

/// A gateway access token. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(…)")
    }
}

impl AccessToken {
    /// A token from text (a file's first line); `None` when it is too short to be one of ours
    /// or holds characters a header value cannot carry.
    pub fn new(text: &str) -> Option<AccessToken> {
        let text = text.trim();
        let usable = text.len() >= 16 && text.bytes().all(|b| b.is_ascii_graphic());
        usable.then(|| AccessToken(text.to_owned()))
    }

    /// A fresh random token: 32 bytes from the operating system's generator, as hex.
    pub fn generate() -> AccessToken {
        let bytes: [u8; 32] = rand::rng().random();
        let mut text = String::with_capacity(6 + 64);
        text.push_str("cst_");
        for byte in bytes {
            text.push_str(&format!("{byte:02x}"));
        }
        AccessToken(text)
    }

    /// Whether a presented value is this token, in time that does not depend on where the two
    /// first differ (the length is not secret: every token of ours has the same length).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        presented.len() == expected.len() && bool::from(expected.ct_eq(presented))
    }

    /// The value, for a client the caller builds (tests, the header a user is told to set).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Where the token file is in a data directory.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TOKEN_FILE)
}

/// Reads the token from `path`, making the file (mode 0600) with a fresh token when it does not
/// exist. Returns the token and whether it was made now.
pub fn load_or_create(path: &Path) -> Result<(AccessToken, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = AccessToken::new(&text).ok_or_else(|| {
                Error::Config(format!(
                    "the gateway token file {} does not hold a usable token (16 or more \
                     printable characters); delete it to have a new one made",
                    path.display()
                ))
            })?;
            Ok((token, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = AccessToken::generate();
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut file = options.open(path)?;
            file.write_all(token.expose().as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            Ok((token, true))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_themselves() {
        let token = AccessToken::generate();
        assert!(token.matches(token.expose().as_bytes()));
        let mut other = token.expose().as_bytes().to_vec();
        let last = other.len() - 1;
        other[last] ^= 1;
        assert!(!token.matches(&other));
        assert!(!token.matches(&token.expose().as_bytes()[..10]));
        assert!(!token.matches(b""));
        assert!(!format!("{token:?}").contains(token.expose()));
        assert_ne!(AccessToken::generate(), token);
    }

    #[test]
    fn the_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        let (made, fresh) = load_or_create(&path).unwrap();
        assert!(fresh);
        let (read, fresh_again) = load_or_create(&path).unwrap();
        assert!(!fresh_again);
        assert_eq!(made, read);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(load_or_create(&path).is_err());
    }
}
