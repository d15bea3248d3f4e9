//! Configuration: the schema, loading from `flow-doctor.yaml` /
//! `flow-doctor.toml`, `${VAR}` interpolation, `.env` files, credential
//! fallbacks and validation.
//!
//! Loading fails loudly: an unknown key, a wrong type, an invalid value, a
//! missing credential or an unresolved `${VAR}` is a [`ConfigError`] naming
//! the file, the line when known, the key path and the fix, and every
//! problem is reported at once.
//!
//! - Which file is read, and what happens without one: [`Loader`]
//!   (`Config::load(None)` is `Loader::new().load(None)`).
//! - `${VAR}`, `${VAR:-default}`, `$$`: interpolated into parsed string
//!   values, so substituted text can never break YAML or TOML quoting. An
//!   unquoted `${PORT}` where a number is expected is read as a number.
//!   Keys and comments are not interpolated. In a YAML flow list
//!   (`[a, b]`) quote the reference: `["${A}"]`.
//! - Credentials missing from the file fall back to the environment: see
//!   [`Config::apply_env_fallbacks`].
//! - Checks after parsing: [`Config::validate`].
//! - `flow-doctor config check [PATH]` prints the resolved configuration
//!   with secrets redacted.
//!
//! ```yaml
//! flow_name: nightly-etl
//! repo: acme/pipelines
//! notify:
//!   - type: slack
//!     webhook_url: ${SLACK_WEBHOOK_URL}
//!   - type: github
//!     labels: [flow-doctor, etl]
//! diagnosis:
//!   provider: anthropic
//!   model: ${LLM_MODEL:-claude-sonnet-4-5}
//! ```

mod channel;
mod credentials;
mod de;
mod env;
mod interpolate;
mod load;
mod node;
mod route;
mod schema;
mod types;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use channel::CHANNEL_TYPES;
pub use credentials::{
    GITHUB_TOKEN_VARS, SLACK_WEBHOOK_VARS, SMTP_PASSWORD_VARS, TELEGRAM_TOKEN_VARS,
    WEBHOOK_SECRET_VARS, llm_key_vars,
};
pub use env::{Env, parse_dotenv};
pub use load::{CONFIG_PATH_VAR, ConfigSource, DEFAULT_FLOW_NAME, FLOW_NAME_VAR, Loader};
pub use schema::*;
pub use types::{HumanDuration, Secret};
pub use validate::{DAY_NAMES, MAX_RING_SIZE};

/// The file names searched, in order, by [`Config::discover`].
pub const CONFIG_FILE_NAMES: [&str; 3] =
    ["flow-doctor.yaml", "flow-doctor.yml", "flow-doctor.toml"];

/// A configuration that cannot be used.
///
/// One value describes one problem; when loading finds several, the first
/// (by line) is this value and the others follow it in
/// [`ConfigError::problems`].
/// `Display` prints one `file:line: key: message (fix: ...)` line per
/// problem.
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
    /// Further problems found in the same pass, in line order (boxed to
    /// keep `Result<_, ConfigError>` small).
    also: Option<Box<MoreProblems>>,
}

/// The problems after the first (a thin box keeps `ConfigError` small).
#[derive(Clone, Debug, PartialEq, Eq)]
struct MoreProblems(Vec<ConfigError>);

impl ConfigError {
    /// An error with a message and nothing else.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: None,
            key: None,
            message: message.into(),
            fix: None,
            also: None,
        }
    }

    /// Every problem: this one, then the others found in the same pass.
    pub fn problems(&self) -> impl Iterator<Item = &ConfigError> {
        std::iter::once(self).chain(self.also.iter().flat_map(|more| more.0.iter()))
    }

    /// One error holding `problems` (sorted by line, nested ones
    /// flattened); `None` when there are none.
    pub fn combine(problems: impl IntoIterator<Item = ConfigError>) -> Option<ConfigError> {
        let mut all: Vec<ConfigError> = problems
            .into_iter()
            .flat_map(|mut e| {
                let more = e.also.take().map(|m| m.0).unwrap_or_default();
                std::iter::once(e).chain(more)
            })
            .collect();
        all.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        let mut iter = all.into_iter();
        let mut first = iter.next()?;
        let rest: Vec<ConfigError> = iter.collect();
        if !rest.is_empty() {
            first.also = Some(Box::new(MoreProblems(rest)));
        }
        Some(first)
    }

    /// This problem alone, on one line, without the others.
    pub fn one_line(&self) -> String {
        let mut out = String::new();
        match (&self.file, self.line) {
            (Some(file), Some(line)) => out.push_str(&format!("{}:{line}: ", file.display())),
            (Some(file), None) => out.push_str(&format!("{}: ", file.display())),
            (None, Some(line)) => out.push_str(&format!("line {line}: ")),
            (None, None) => {}
        }
        if let Some(key) = &self.key {
            out.push_str(key);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        if let Some(fix) = &self.fix {
            out.push_str(&format!(" (fix: {fix})"));
        }
        out
    }

    /// Sets the file, here and on the other problems that have none.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        let file = file.into();
        for other in self.also.iter_mut().flat_map(|more| more.0.iter_mut()) {
            if other.file.is_none() {
                other.file = Some(file.clone());
            }
        }
        self.file = Some(file);
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
        for (i, problem) in self.problems().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&problem.one_line())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads a configuration file (`.yaml`, `.yml` or `.toml`) with the
    /// process environment, a `.env` next to it, fallbacks and validation.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Loader::new().load_file(path.as_ref())
    }

    /// Parses configuration text in the given format, with the process
    /// environment for `${VAR}` and fallbacks, and validates it.
    pub fn from_str_as(text: &str, format: Format) -> Result<Self, ConfigError> {
        Loader::new().load_str(text, format)
    }

    /// Loads the configuration: `explicit`, else `FLOW_DOCTOR_CONFIG`, else
    /// `flow-doctor.yaml` / `.yml` / `.toml` in the current directory, else
    /// the built-in defaults with the flow name from `FLOW_DOCTOR_FLOW` (or
    /// `default`). See [`Loader`] to inject the environment.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        Loader::new().load(explicit)
    }

    /// Makes the relative file paths of a configuration (`store.path`,
    /// `jsonl` channel paths, `diagnosis.patterns`, `diagnosis.repo_path`,
    /// `remediation.playbook_files`) relative to `base`, the directory of
    /// the file they were written in, so a configuration means the same
    /// thing whatever the current directory is.
    pub fn resolve_relative_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.store.path);
        for channel in &mut self.notify {
            if let ChannelConfig::Jsonl(j) = channel {
                fix(&mut j.path);
            }
        }
        self.diagnosis.patterns.iter_mut().for_each(fix);
        if let Some(p) = &mut self.diagnosis.repo_path {
            fix(p);
        }
        self.remediation.playbook_files.iter_mut().for_each(fix);
    }

    /// Finds `flow-doctor.yaml`, `.yml` or `.toml` in `dir`.
    pub fn discover(dir: impl AsRef<Path>) -> Option<PathBuf> {
        CONFIG_FILE_NAMES
            .iter()
            .map(|name| dir.as_ref().join(name))
            .find(|p| p.is_file())
    }

    /// The configuration as YAML, secrets redacted.
    pub fn to_yaml(&self) -> Result<String, ConfigError> {
        let mut yaml = serde_saphyr::to_string(self).map_err(|e| {
            ConfigError::new(format!("cannot write the configuration as YAML: {e}"))
        })?;
        if !yaml.ends_with('\n') {
            yaml.push('\n');
        }
        Ok(yaml)
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
