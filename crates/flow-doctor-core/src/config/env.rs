//! Where `${VAR}` values and credential fallbacks come from: the process
//! environment, a `.env` file, or (in tests) a plain map.
//!
//! [`Env`] is a stack of sources; the first source that knows a variable
//! wins. [`Env::process`] reads the real environment; a `.env` file next to
//! the configuration file is added *after* it, so it only fills variables the
//! environment does not set. Tests inject an [`Env::from_map`] instead of
//! mutating the process environment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::ConfigError;

/// A variable lookup function.
type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Variables visible to configuration loading.
///
/// `Debug` lists the sources, never the values.
#[derive(Clone)]
pub struct Env {
    sources: Vec<Source>,
}

#[derive(Clone)]
enum Source {
    Process,
    Map {
        label: String,
        vars: Arc<BTreeMap<String, String>>,
    },
    Func(Arc<LookupFn>),
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            sources: vec![Source::Process],
        }
    }

    /// No variables at all.
    pub fn empty() -> Self {
        Self {
            sources: Vec::new(),
        }
    }

    /// Exactly these variables (for tests and embedding).
    pub fn from_map<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self::empty().with_map(
            "map",
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Variables answered by a function.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            sources: vec![Source::Func(Arc::new(lookup))],
        }
    }

    /// Adds `fallback` after the current sources: it only answers for
    /// variables none of them sets.
    pub fn with_fallback(mut self, fallback: Env) -> Self {
        self.sources.extend(fallback.sources);
        self
    }

    /// Adds a named map of variables after the current sources.
    pub(crate) fn with_map(mut self, label: &str, vars: BTreeMap<String, String>) -> Self {
        self.sources.push(Source::Map {
            label: label.to_owned(),
            vars: Arc::new(vars),
        });
        self
    }

    /// The value of `name`, from the first source that sets it.
    pub fn get(&self, name: &str) -> Option<String> {
        self.sources.iter().find_map(|s| match s {
            Source::Process => std::env::var(name).ok(),
            Source::Map { vars, .. } => vars.get(name).cloned(),
            Source::Func(f) => f(name),
        })
    }

    /// The value of `name` when it is set and not empty.
    pub fn get_non_empty(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set and not empty, with its name.
    pub fn first_of<'n>(&self, names: &[&'n str]) -> Option<(&'n str, String)> {
        names
            .iter()
            .find_map(|n| self.get_non_empty(n).map(|v| (*n, v)))
    }

    /// Reads `path` as a `.env` file and adds it after the current sources.
    /// A missing file is not an error.
    pub fn with_dotenv_file(self, path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self),
            Err(e) => {
                return Err(ConfigError::new(format!("cannot read the .env file: {e}"))
                    .in_file(path)
                    .with_fix("make it readable or remove it"));
            }
        };
        let vars = parse_dotenv(&text).map_err(|e| e.in_file(path))?;
        Ok(self.with_map(&path.display().to_string(), vars))
    }
}

impl Default for Env {
    fn default() -> Self {
        Self::process()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for s in &self.sources {
            match s {
                Source::Process => list.entry(&"process environment"),
                Source::Map { label, vars } => {
                    list.entry(&format_args!("{label} ({} variables)", vars.len()))
                }
                Source::Func(_) => list.entry(&"lookup function"),
            };
        }
        list.finish()
    }
}

/// Parses `.env` text: `KEY=VALUE` lines, optional `export ` prefix, `#`
/// comments, blank lines, `'single'` (literal) and `"double"` quoted values
/// (with `\n`, `\t`, `\"`, `\\` escapes; may span lines). An unquoted value
/// ends at ` #`. Values are taken literally: no `${VAR}` expansion.
pub fn parse_dotenv(text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut vars = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = lines[i].trim_start_matches('\u{feff}').trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            // The line is not echoed: it may hold a secret.
            return Err(ConfigError::new("this line is not KEY=VALUE")
                .at_line(line_no)
                .with_fix("write KEY=VALUE, or start the line with # to comment it out"));
        };
        let key = key.trim();
        if !is_var_name(key) {
            return Err(ConfigError::new(format!(
                "`{}` is not a variable name",
                truncate(key, 40)
            ))
            .at_line(line_no)
            .with_fix("use letters, digits and `_`, not starting with a digit"));
        }
        let rest = rest.trim_start();
        let value = if let Some(body) = rest.strip_prefix('"') {
            // May continue on the following lines until the closing quote.
            let mut buf = body.to_owned();
            loop {
                if let Some(value) = close_double_quoted(&buf) {
                    break value;
                }
                if i >= lines.len() {
                    return Err(ConfigError::new(format!(
                        "the value of `{key}` has no closing `\"`"
                    ))
                    .at_line(line_no)
                    .with_fix("close the quote"));
                }
                buf.push('\n');
                buf.push_str(lines[i]);
                i += 1;
            }
        } else if let Some(body) = rest.strip_prefix('\'') {
            match body.find('\'') {
                Some(end) => body[..end].to_owned(),
                None => {
                    return Err(ConfigError::new(format!(
                        "the value of `{key}` has no closing `'`"
                    ))
                    .at_line(line_no)
                    .with_fix("close the quote (single-quoted values cannot span lines)"));
                }
            }
        } else {
            let end = rest.find(" #").or_else(|| rest.find("\t#"));
            rest[..end.unwrap_or(rest.len())].trim_end().to_owned()
        };
        vars.insert(key.to_owned(), value);
    }
    Ok(vars)
}

/// Unescapes a double-quoted body up to its closing quote, or `None` when the
/// quote is not closed yet.
fn close_double_quoted(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    None
}

/// Whether `name` is a valid environment variable name.
pub(crate) fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}
