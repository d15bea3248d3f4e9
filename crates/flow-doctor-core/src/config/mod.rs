//! Configuration: the schema, loading from `flow-doctor.yaml` /
//! `flow-doctor.toml`, `${VAR}` interpolation, credential fallbacks and
//! validation.
//!
//! Loading fails loudly: an unknown key, a wrong type, an invalid value or an
//! unresolved `${VAR}` is a [`ConfigError`] naming the file, the line when
//! known, the key path and the fix.

mod schema;
mod types;

use std::fmt;
use std::path::{Path, PathBuf};

pub use schema::*;
pub use types::{HumanDuration, Secret};

/// The file names searched, in order, by [`Config::discover`].
pub const CONFIG_FILE_NAMES: [&str; 3] =
    ["flow-doctor.yaml", "flow-doctor.yml", "flow-doctor.toml"];

/// A configuration file that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, when the configuration came from one.
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path (`notify[1].webhook_url`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
}

impl ConfigError {
    /// An error with a message and nothing else.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: None,
            key: None,
            message: message.into(),
            fix: None,
        }
    }

    /// Sets the file.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Sets the line.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the key path.
    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the fix.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " (fix: {fix})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads a configuration file (`.yaml`, `.yml` or `.toml`).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(format!("cannot read the file: {e}"))
                .in_file(path)
                .with_fix("check the path passed with --config or FLOW_DOCTOR_CONFIG")
        })?;
        let format = Format::from_path(path)?;
        Self::from_str_as(&text, format).map_err(|e| e.in_file(path))
    }

    /// Parses configuration text in the given format.
    pub fn from_str_as(text: &str, format: Format) -> Result<Self, ConfigError> {
        match format {
            Format::Yaml => {
                serde_saphyr::from_str(text).map_err(|e| ConfigError::new(e.to_string()))
            }
            Format::Toml => {
                toml::from_str(text).map_err(|e| ConfigError::new(e.message().to_string()))
            }
        }
    }

    /// Finds `flow-doctor.yaml`, `.yml` or `.toml` in `dir`.
    pub fn discover(dir: impl AsRef<Path>) -> Option<PathBuf> {
        CONFIG_FILE_NAMES
            .iter()
            .map(|name| dir.as_ref().join(name))
            .find(|p| p.is_file())
    }
}

/// A configuration file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML.
    Yaml,
    /// TOML.
    Toml,
}

impl Format {
    /// The format implied by a file's extension.
    pub fn from_path(path: &Path) -> Result<Self, ConfigError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Ok(Self::Yaml),
            Some("toml") => Ok(Self::Toml),
            _ => Err(ConfigError::new("unknown configuration format")
                .in_file(path)
                .with_fix("name the file flow-doctor.yaml, flow-doctor.yml or flow-doctor.toml")),
        }
    }
}
