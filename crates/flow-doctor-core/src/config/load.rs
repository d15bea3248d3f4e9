//! Finding, reading and checking a configuration file.
//!
//! [`Loader::load`] picks the file in this order:
//! 1. the explicit path (e.g. `--config`);
//! 2. `FLOW_DOCTOR_CONFIG`;
//! 3. `flow-doctor.yaml`, `flow-doctor.yml` or `flow-doctor.toml` in the
//!    current directory;
//! 4. none: the built-in defaults ([`Config::new`]) with the flow name from
//!    `FLOW_DOCTOR_FLOW`, or `default`.
//!
//! Then: a `.env` file next to the configuration file fills variables the
//! environment does not set; the text is parsed (YAML or TOML, by
//! extension); `${VAR}` references in string values are replaced; the result
//! is deserialized; credentials fall back to the environment
//! ([`Config::apply_env_fallbacks`]); and every value is checked
//! ([`Config::validate`]). All problems found are returned together, in line
//! order, as one [`ConfigError`] (see [`ConfigError::problems`]).

use std::path::{Path, PathBuf};

use super::de::{Ctx, from_node};
use super::env::Env;
use super::node::{Locator, interpolate_tree, parse};
use super::{Config, ConfigError, Format};

/// The variable naming the configuration file.
pub const CONFIG_PATH_VAR: &str = "FLOW_DOCTOR_CONFIG";
/// The variable naming the flow when there is no configuration file.
pub const FLOW_NAME_VAR: &str = "FLOW_DOCTOR_FLOW";
/// The flow name used when there is no file and `FLOW_DOCTOR_FLOW` is unset.
pub const DEFAULT_FLOW_NAME: &str = "default";

/// Loads configuration with an injectable environment and directory.
///
/// ```
/// use flow_doctor_core::config::{Env, Format, Loader};
///
/// let env = Env::from_map([("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x")]);
/// let cfg = Loader::new()
///     .env(env)
///     .load_str("flow_name: etl\nnotify:\n  - type: slack\n", Format::Yaml)?;
/// assert_eq!(cfg.notify[0].kind(), "slack");
/// # Ok::<(), flow_doctor_core::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Loader {
    env: Env,
    current_dir: Option<PathBuf>,
}

/// Where [`Loader::resolve`] found the file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// The path given by the caller.
    Explicit(PathBuf),
    /// The path in `FLOW_DOCTOR_CONFIG`.
    EnvVar(PathBuf),
    /// Found in the current directory.
    Discovered(PathBuf),
    /// No file: built-in defaults.
    Defaults,
}

impl ConfigSource {
    /// The file, if there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Explicit(p) | Self::EnvVar(p) | Self::Discovered(p) => Some(p),
            Self::Defaults => None,
        }
    }
}

impl Loader {
    /// The process environment and current directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `env` for `${VAR}`, fallbacks, `FLOW_DOCTOR_CONFIG` and
    /// `FLOW_DOCTOR_FLOW` instead of the process environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Resolves relative paths and discovers files in `dir` instead of the
    /// process's current directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Which file [`Loader::load`] would read.
    pub fn resolve(&self, explicit: Option<&Path>) -> Result<ConfigSource, ConfigError> {
        if let Some(path) = explicit {
            return Ok(ConfigSource::Explicit(self.absolute(path)?));
        }
        if let Some(path) = self.env.get_non_empty(CONFIG_PATH_VAR) {
            return Ok(ConfigSource::EnvVar(self.absolute(Path::new(&path))?));
        }
        Ok(match Config::discover(self.dir()?) {
            Some(path) => ConfigSource::Discovered(path),
            None => ConfigSource::Defaults,
        })
    }

    /// Loads the configuration from the first source in the module's order.
    pub fn load(&self, explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match self.resolve(explicit)? {
            ConfigSource::EnvVar(path) if !path.exists() => Err(ConfigError::new(format!(
                "{CONFIG_PATH_VAR} names a file that does not exist"
            ))
            .in_file(path)
            .with_fix(format!("correct {CONFIG_PATH_VAR} or unset it"))),
            ConfigSource::Explicit(path)
            | ConfigSource::EnvVar(path)
            | ConfigSource::Discovered(path) => self.load_file(&path),
            ConfigSource::Defaults => self.defaults(),
        }
    }

    /// The built-in defaults, flow name from `FLOW_DOCTOR_FLOW`, with
    /// credential fallbacks applied.
    pub fn defaults(&self) -> Result<Config, ConfigError> {
        let flow = self
            .env
            .get_non_empty(FLOW_NAME_VAR)
            .unwrap_or_else(|| DEFAULT_FLOW_NAME.to_owned());
        let mut config = Config::new(flow);
        config.apply_env_fallbacks(&self.env);
        config.validate().map_err(|problems| {
            combine(
                problems
                    .into_iter()
                    .map(|e| match e.key.as_deref() {
                        Some("flow_name") => e.with_fix(format!(
                            "set {FLOW_NAME_VAR} to a name such as `nightly-etl`"
                        )),
                        _ => e,
                    })
                    .collect(),
                None,
            )
        })?;
        Ok(config)
    }

    /// Loads one file; a `.env` file next to it fills unset variables.
    pub fn load_file(&self, path: &Path) -> Result<Config, ConfigError> {
        let path = self.absolute(path)?;
        let format = Format::from_path(&path)?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new(format!("cannot read the file: {e}"))
                .in_file(&path)
                .with_fix("check the path passed with --config or FLOW_DOCTOR_CONFIG")
        })?;
        let env = match path.parent() {
            Some(dir) => self.env.clone().with_dotenv_file(&dir.join(".env"))?,
            None => self.env.clone(),
        };
        let mut config = load_text(&text, format, Some(&path), &env)?;
        if let Some(dir) = path.parent() {
            config.resolve_relative_paths(dir);
        }
        Ok(config)
    }

    /// Loads configuration text (no file, so no `.env`).
    pub fn load_str(&self, text: &str, format: Format) -> Result<Config, ConfigError> {
        load_text(text, format, None, &self.env)
    }

    /// The directory relative paths start from, always absolute (a
    /// relative `current_dir` is taken from the process's directory), so
    /// that resolving a path twice gives the same file.
    fn dir(&self) -> Result<PathBuf, ConfigError> {
        let cwd = || {
            std::env::current_dir().map_err(|e| {
                ConfigError::new(format!("cannot read the current directory: {e}"))
                    .with_fix("run flow-doctor from an existing directory or pass the file's path")
            })
        };
        match &self.current_dir {
            Some(dir) if dir.is_absolute() => Ok(dir.clone()),
            Some(dir) => Ok(cwd()?.join(dir)),
            None => cwd(),
        }
    }

    fn absolute(&self, path: &Path) -> Result<PathBuf, ConfigError> {
        Ok(if path.is_absolute() || self.current_dir.is_none() {
            path.to_path_buf()
        } else {
            self.dir()?.join(path)
        })
    }
}

fn load_text(
    text: &str,
    format: Format,
    file: Option<&Path>,
    env: &Env,
) -> Result<Config, ConfigError> {
    let mut root = parse(text, format).map_err(|e| combine(vec![e], file))?;
    let unresolved = interpolate_tree(&mut root, env);
    if !unresolved.is_empty() {
        return Err(combine(unresolved, file));
    }
    let ctx = Ctx::default();
    let parsed = from_node::<Config>(&root, &ctx);
    let mut problems = ctx.into_errors();
    let mut config = match parsed {
        Ok(config) => config,
        Err(fatal) => {
            problems.push(fatal);
            return Err(combine(problems, file));
        }
    };
    config.apply_env_fallbacks(env);
    if let Err(invalid) = config.validate() {
        let locator = Locator::new(&root);
        problems.extend(invalid.into_iter().map(|mut e| {
            if e.line.is_none() {
                e.line = e.key.as_deref().and_then(|k| locator.line_of(k));
            }
            e
        }));
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(combine(problems, file))
    }
}

/// One error carrying every problem, sorted by line.
fn combine(problems: Vec<ConfigError>, file: Option<&Path>) -> ConfigError {
    let first =
        ConfigError::combine(problems).unwrap_or_else(|| ConfigError::new("invalid configuration"));
    match file {
        Some(file) => first.in_file(file),
        None => first,
    }
}
