//! The validated [`Workspace`] name that isolates one knowledge base from another.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A workspace name: the value of the `workspace` column, and the prefix of the AGE
/// graph name.
///
/// Accepted: 1–255 characters, no control characters, not `.` or `..`, no `/` or
/// `\` (LightRAG's `validate_workspace`). Capitals, dashes and unicode are allowed;
/// storages that derive identifiers from the name (the AGE graph) quote them
/// consistently instead of breaking on them as LightRAG does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Workspace(String);

impl Workspace {
    /// LightRAG's workspace when none is configured.
    pub const DEFAULT: &'static str = "default";

    /// Validates and wraps a workspace name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the workspace when it breaks a rule above.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name: String = name.into();
        let refuse = |why: &str| Err(Error::invalid(name.clone(), format!("workspace {why}")));
        if name.is_empty() {
            return refuse("must not be empty");
        }
        if name.chars().count() > 255 {
            return refuse("must be at most 255 characters");
        }
        if name == "." || name == ".." {
            return refuse("must not be '.' or '..'");
        }
        if name.contains(['/', '\\']) {
            return refuse("must not contain '/' or '\\'");
        }
        if name.chars().any(char::is_control) {
            return refuse("must not contain control characters");
        }
        if name.trim() != name {
            return refuse("must not start or end with white space");
        }
        Ok(Self(name))
    }

    /// LightRAG's default workspace, `default`.
    pub fn default_workspace() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// Resolves the effective workspace like LightRAG (spec §2.3): a forced
    /// workspace (`POSTGRES_WORKSPACE`) wins, then the instance's, then `default`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the chosen name is invalid.
    pub fn resolve(forced: Option<&str>, instance: Option<&str>) -> Result<Self, Error> {
        match (forced.filter(|s| !s.is_empty()), instance.filter(|s| !s.is_empty())) {
            (Some(forced), _) => Self::new(forced),
            (None, Some(instance)) => Self::new(instance),
            (None, None) => Ok(Self::default_workspace()),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Workspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Workspace {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl AsRef<str> for Workspace {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Workspace {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitals_dashes_and_unicode_are_valid() {
        for name in ["Team-A", "研究", "ws_1", "émoji🙂"] {
            assert_eq!(Workspace::new(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn path_like_and_empty_names_are_refused() {
        for name in ["", ".", "..", "a/b", "a\\b", "a\0b", " padded"] {
            assert!(Workspace::new(name).is_err(), "{name:?} accepted");
        }
    }

    #[test]
    fn forced_workspace_wins_then_instance_then_default() {
        assert_eq!(Workspace::resolve(Some("f"), Some("i")).unwrap().as_str(), "f");
        assert_eq!(Workspace::resolve(None, Some("i")).unwrap().as_str(), "i");
        assert_eq!(Workspace::resolve(Some(""), None).unwrap().as_str(), "default");
    }
}
