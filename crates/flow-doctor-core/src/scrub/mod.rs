//! Secret scrubbing: every string that leaves the process passes through a
//! [`Scrubber`] first.
//!
//! A match becomes `[REDACTED:<rule>]`; key names, URL users and header
//! schemes stay so people can still read the text:
//! `password=[REDACTED:password]`, `https://bob:[REDACTED:url_password]@db`,
//! `Authorization: Bearer [REDACTED:bearer]`.
//!
//! **Built-in rules:** AWS access key ids (`AKIA`/`ASIA`) and secret access
//! keys (40-character base64 on a line that mentions AWS, or under a
//! secret-looking key); GCP API keys (`AIza`), OAuth client secrets and
//! tokens; Azure `AccountKey=` and SAS `sig=`; GitHub (`ghp_`, `gho_`,
//! `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab, Slack (`xox?-`, `xapp-`,
//! webhook URLs), Discord webhooks, Anthropic (`sk-ant-`), OpenAI (`sk-`,
//! `sk-proj-`), Stripe (`sk_live_`, `rk_live_`, `sk_test_`, `whsec_`), npm,
//! Hugging Face and PyPI tokens; JWTs; `Authorization: Bearer/Basic`
//! headers; PEM private key blocks (also when the text starts after the
//! BEGIN line or ends before the END line); passwords in URLs (also
//! JSON-escaped, `postgres:\/\/u:pw@db`); Telegram bot tokens; passwords
//! on command lines (`curl -u user:pw`, `mysql -ppw`, `sshpass -p pw`,
//! `redis-cli -a pw`) and in `.netrc` lines (`machine h login u password
//! pw`); and `key=value`, `key: value`, `"key": "value"`, `--key value` and
//! `<key>value</key>` assignments whose key looks secret (see
//! [`Scrubber::is_secret_key`]).
//!
//! **Precision:** git SHAs, UUIDs, content digests, S3 paths, URLs without
//! credentials and prose stay byte-identical. No rule spans a newline except
//! PEM blocks. Scrubbing is idempotent: the scrubber's own markers
//! (`[REDACTED:<rule>]` with the name of a built-in or configured rule) are
//! left alone, while any other text after `[REDACTED:` is scanned as usual.
//!
//! **Speed:** one SIMD literal search finds every trigger (`AKIA`, `ghp_`,
//! `eyJ`, `://`, `password`, ...); only the bytes around a trigger are
//! examined. Text without a secret comes back borrowed.
//!
//! **Configuration** (`scrub:` section):
//!
//! ```yaml
//! scrub:
//!   patterns:                      # extra regular expressions
//!     - name: acme_key
//!       regex: "ACME-[0-9A-F]{16}"
//!   keys: [x_internal_session]     # extra secret key names (substrings)
//! ```
//!
//! ```
//! use flow_doctor_core::Scrubber;
//!
//! let s = Scrubber::new();
//! assert_eq!(
//!     s.scrub("connecting with password=hunter2 to db"),
//!     "connecting with password=[REDACTED:password] to db"
//! );
//! // Nothing secret: the same bytes, not copied.
//! assert!(matches!(s.scrub("commit 9fceb02d0ae598e95dc970b74767f19372d61af8"),
//!     std::borrow::Cow::Borrowed(_)));
//! ```

mod keys;
mod rules;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexSet};

use crate::config::{ConfigError, ScrubConfig};
use crate::model::Report;
use rules::{Hit, KeyOracle, Scan, Triggers};

/// The start of every replacement: `[REDACTED:<rule>]`.
pub const MARKER_PREFIX: &str = "[REDACTED:";

/// Removes secrets from text, maps, environment dumps and reports.
///
/// Cheap to clone (the compiled rules are shared) and `Send + Sync`. Its
/// `Debug` output names the rules, never what they matched.
#[derive(Clone, Default)]
pub struct Scrubber {
    user: Option<Arc<UserRules>>,
}

/// Compiled user patterns and key names.
struct UserRules {
    set: RegexSet,
    patterns: Vec<(String, Regex)>,
    /// (name shown in the marker, squashed form matched as a substring).
    keys: Vec<(String, String)>,
    keys_ac: Option<AhoCorasick>,
}

/// The built-in trigger automaton, compiled once per process.
fn triggers() -> &'static Triggers {
    static TRIGGERS: OnceLock<Triggers> = OnceLock::new();
    TRIGGERS.get_or_init(Triggers::new)
}

impl Scrubber {
    /// The built-in rules only.
    pub fn new() -> Self {
        Self { user: None }
    }

    /// The built-in rules plus the configuration's `scrub.patterns` and
    /// `scrub.keys`.
    ///
    /// An invalid regular expression is an error naming
    /// `scrub.patterns[i].regex`, the pattern's name and the regex error.
    pub fn from_config(cfg: &ScrubConfig) -> Result<Self, ConfigError> {
        if cfg.patterns.is_empty() && cfg.keys.is_empty() {
            return Ok(Self::new());
        }
        let mut patterns = Vec::with_capacity(cfg.patterns.len());
        for (i, p) in cfg.patterns.iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(ConfigError::new("a scrub pattern needs a name")
                    .at_key(format!("scrub.patterns[{i}].name"))
                    .with_fix("give it a short name, shown as [REDACTED:<name>]"));
            }
            let re = Regex::new(&p.regex).map_err(|e| {
                ConfigError::new(format!(
                    "scrub pattern `{}` is not a valid regular expression: {}",
                    p.name,
                    regex_error_gist(&e)
                ))
                .at_key(format!("scrub.patterns[{i}].regex"))
                .with_fix(
                    "write it in Rust regex syntax (https://docs.rs/regex); quote it in \
                     YAML and escape backslashes inside double quotes",
                )
            })?;
            if re.is_match("") {
                return Err(ConfigError::new(format!(
                    "scrub pattern `{}` matches the empty string",
                    p.name
                ))
                .at_key(format!("scrub.patterns[{i}].regex"))
                .with_fix("make it match at least one character (use `+` rather than `*`)"));
            }
            patterns.push((marker_name(&p.name), re));
        }
        let set = RegexSet::new(patterns.iter().map(|(_, re)| re.as_str())).map_err(|e| {
            ConfigError::new(format!("scrub patterns cannot be compiled together: {e}"))
                .at_key("scrub.patterns")
                .with_fix("use fewer or smaller patterns")
        })?;
        let mut keys = Vec::with_capacity(cfg.keys.len());
        let mut triggers = Vec::with_capacity(cfg.keys.len());
        for (i, k) in cfg.keys.iter().enumerate() {
            let squashed = keys::squash(k);
            // The longest alphanumeric run finds the key in any spelling
            // (`X-Internal-Session`, `X_INTERNAL_SESSION`, `xInternalSession`).
            let Some(longest) = k
                .split(|c: char| !c.is_ascii_alphanumeric())
                .max_by_key(|w| w.len())
                .filter(|w| !w.is_empty())
            else {
                return Err(
                    ConfigError::new(format!("scrub key `{k}` has no letters or digits"))
                        .at_key(format!("scrub.keys[{i}]"))
                        .with_fix("write a key name such as `session` or `x_internal_token`"),
                );
            };
            triggers.push(longest.to_ascii_lowercase());
            keys.push((marker_name(k), squashed));
        }
        let keys_ac = if triggers.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&triggers)
                    .map_err(|e| {
                        ConfigError::new(format!("scrub keys cannot be compiled: {e}"))
                            .at_key("scrub.keys")
                            .with_fix("use fewer or shorter keys")
                    })?,
            )
        };
        Ok(Self {
            user: Some(Arc::new(UserRules {
                set,
                patterns,
                keys,
                keys_ac,
            })),
        })
    }

    /// Scrubs one string. Returns it borrowed when nothing was found.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let scrubbed = self.scrub_as_written(text);
        // JSON escapes (`\u003d` for `=`, `\u005f` for `_`, `\/` for `/`)
        // can hide a secret's shape; the text means the same with them
        // decoded, so when the decoded form shows a secret, that form is
        // kept, scrubbed.
        if let Some(decoded) = decode_json_escapes(&scrubbed) {
            let again = self.scrub_as_written(&decoded);
            if again != decoded.as_str() {
                return Cow::Owned(again.into_owned());
            }
        }
        scrubbed
    }

    fn scrub_as_written<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut scan = Scan::new(text);
        scan.builtin(triggers(), self);
        if let Some(user) = &self.user {
            if let Some(ac) = &user.keys_ac {
                scan.user_keys(ac, self);
            }
            if !user.patterns.is_empty() {
                for i in user.set.matches(text).iter() {
                    let (name, re) = &user.patterns[i];
                    for m in re.find_iter(text) {
                        scan.push_user(m.start(), m.end(), name);
                    }
                }
            }
        }
        apply(text, scan.hits, &scan.protected)
    }

    /// Whether a key name (a map key, an environment variable, a header)
    /// holds a secret.
    ///
    /// Case-insensitive and aware of `snake_case`, `kebab-case`, dotted
    /// and `camelCase` names. Secret: `password`, `passwd`, `pwd`,
    /// `DB_PASS`, `secret`, `client_secret`, `token`, `auth_token`,
    /// `api_key`, `apiKey`, `access_key`, `private_key`, `AccountKey`,
    /// `auth`, `Authorization`, `credentials`, `session`, `cookie`, `sig`,
    /// `X-Amz-Signature`, `fernet_key`, `hmac_key`, `jwt_key`, plus the
    /// configured `scrub.keys` (substrings). An environment-style name
    /// (upper-case snake) ending in `_KEY` or `_PAT` is secret
    /// (`FERNET_KEY`, `OPENAI_KEY`, `MY_SERVICE_KEY`, `GH_PAT`) unless the
    /// word before names a row, an index, a cache entry, a stored object or
    /// a public key (`PRIMARY_KEY`, `SORT_KEY`, `PARTITION_KEY`,
    /// `CACHE_KEY`, `FOREIGN_KEY`, `S3_KEY`, `OBJECT_KEY`, `PUBLIC_KEY`)
    /// or a pattern (`GLOB_PAT`).
    /// Not secret: words that merely contain a stem (`author`,
    /// `tokenizer_path`, `passed`, `KeyError`), names *about* a secret
    /// (`secret_name`, `token_url`, `password_file`, `session_timeout`,
    /// `token_count`, `max_tokens`), a bare `key`, `KEY` or `pass`, a
    /// lower-case `cache_key` or `my_service_key` (names in code), and a
    /// plain `signature` (a hash, as in flow-doctor's own reports).
    pub fn is_secret_key(&self, key: &str) -> bool {
        self.secret_key_name(key).is_some()
    }

    /// Scrubs a map in place: values under secret-looking keys are replaced
    /// entirely (`Bearer` / `Basic` schemes kept); other values are
    /// scrubbed as text. Placeholders (`None`, `null`, `${VAR}`, `***`) and
    /// file paths under secret keys are kept: they say *where* a secret
    /// lives or that it is missing, which a diagnosis needs.
    pub fn scrub_map(&self, map: &mut BTreeMap<String, String>) {
        for (k, v) in map.iter_mut() {
            if let Some(new) = self.scrub_entry(k, v) {
                *v = new;
            }
        }
    }

    /// Scrubs an environment dump (`std::env::vars()`, a process's
    /// environment): by key name as [`Scrubber::scrub_map`], then by value.
    /// Keeps the order.
    pub fn scrub_env<'a>(
        &self,
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<(String, String)> {
        vars.into_iter()
            .map(|(k, v)| {
                let value = self.scrub_entry(k, v).unwrap_or_else(|| v.to_string());
                (k.to_string(), value)
            })
            .collect()
    }

    /// Scrubs every free-text field of a report that can leave the process:
    /// message, error type, source chain, traceback, frames (file, function,
    /// module), captured log messages, context (as a map), the wrapped
    /// command line, stage, run id, fingerprints, cascade summary and the
    /// diagnosis error.
    pub fn scrub_report(&self, report: &mut Report) {
        self.scrub_string(&mut report.message);
        self.scrub_opt(&mut report.error_type);
        for s in &mut report.source_chain {
            self.scrub_string(s);
        }
        self.scrub_opt(&mut report.traceback);
        for f in &mut report.frames {
            self.scrub_string(&mut f.file);
            self.scrub_string(&mut f.function);
            self.scrub_opt(&mut f.module);
        }
        for l in &mut report.logs {
            self.scrub_string(&mut l.message);
            self.scrub_string(&mut l.target);
        }
        self.scrub_map(&mut report.context);
        if let Some(exit) = &mut report.exit {
            self.scrub_string(&mut exit.command);
        }
        self.scrub_opt(&mut report.stage);
        self.scrub_opt(&mut report.run_id);
        self.scrub_string(&mut report.fingerprint);
        self.scrub_opt(&mut report.custom_fingerprint);
        if let Some(c) = &mut report.cascade_source {
            self.scrub_string(&mut c.summary);
        }
        self.scrub_opt(&mut report.diagnosis_error);
    }

    /// Scrubs a string in place (no allocation when nothing is found).
    pub fn scrub_string(&self, s: &mut String) {
        if let Cow::Owned(new) = self.scrub(s) {
            *s = new;
        }
    }

    fn scrub_opt(&self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.scrub_string(s);
        }
    }

    /// Scrubs every string in a JSON value in place (an action's data:
    /// commands, output tails, executor replies); a string under a
    /// secret-looking key is replaced as a map value is.
    pub fn scrub_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.scrub_string(s),
            serde_json::Value::Array(items) => {
                for item in items {
                    self.scrub_json(item);
                }
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    match item {
                        serde_json::Value::String(s) => match self.scrub_entry(key, s) {
                            Some(new) => *s = new,
                            None => self.scrub_string(s),
                        },
                        _ => self.scrub_json(item),
                    }
                }
            }
            _ => {}
        }
    }

    /// Scrubs what the traceback parser returned (message, error type,
    /// chain, traceback block, frames). The parser decodes JSON log lines,
    /// which can reveal what the escaped form hid from a first scrub.
    pub fn scrub_parsed(&self, parsed: &mut crate::fingerprint::ParsedFailure) {
        self.scrub_string(&mut parsed.message);
        self.scrub_opt(&mut parsed.error_type);
        for c in &mut parsed.chain {
            self.scrub_string(c);
        }
        self.scrub_opt(&mut parsed.traceback);
        for f in &mut parsed.frames {
            self.scrub_string(&mut f.file);
            self.scrub_string(&mut f.function);
            self.scrub_opt(&mut f.module);
        }
    }

    /// The new value of one key/value entry, `None` when unchanged.
    fn scrub_entry(&self, key: &str, value: &str) -> Option<String> {
        if let Some(name) = self.secret_key_name(key)
            && let Some((cs, ce, cname)) = rules::secret_part(key, name, value, self)
        {
            // A value that is one known secret keeps that rule's name
            // (`GITHUB_TOKEN=[REDACTED:github_token]`).
            let inner = self.scrub(&value[cs..ce]);
            let marker = if rules::marker_len(inner.as_bytes(), self) == Some(inner.len()) {
                inner.into_owned()
            } else {
                format!("{MARKER_PREFIX}{cname}]")
            };
            let rest = self.scrub(&value[ce..]);
            return Some(format!("{}{marker}{rest}", &value[..cs]));
        }
        match self.scrub(value) {
            Cow::Owned(new) => Some(new),
            Cow::Borrowed(_) => None,
        }
    }
}

impl KeyOracle for Scrubber {
    fn secret_key_name(&self, key: &str) -> Option<&str> {
        if let Some(name) = keys::classify(key) {
            return Some(name);
        }
        let user = self.user.as_ref()?;
        if user.keys.is_empty() {
            return None;
        }
        let squashed = keys::squash(key);
        user.keys
            .iter()
            .find(|(_, k)| !k.is_empty() && squashed.contains(k.as_str()))
            .map(|(name, _)| name.as_str())
    }

    fn is_user_rule_name(&self, name: &str) -> bool {
        self.user.as_ref().is_some_and(|u| {
            u.patterns.iter().any(|(n, _)| n == name) || u.keys.iter().any(|(n, _)| n == name)
        })
    }
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .user
            .iter()
            .flat_map(|u| u.patterns.iter().map(|(n, _)| n.as_str()))
            .collect();
        f.debug_struct("Scrubber")
            .field("builtin_rules", &rules::BUILTIN_NAMES.len())
            .field("user_patterns", &names)
            .field("user_keys", &self.user.as_ref().map_or(0, |u| u.keys.len()))
            .finish()
    }
}

/// The `error: ...` line of a multi-line `regex` error (the rest is a
/// caret diagram).
fn regex_error_gist(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix("error:"))
        .map_or_else(|| text.clone(), |l| l.trim().to_string())
}

/// A rule name safe inside `[REDACTED:...]` (no `]`, no line breaks).
fn marker_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| if c == ']' || c.is_control() { '_' } else { c })
        .collect()
}

/// Replaces the hits, merging overlapping ones (the merged span is named
/// after its highest-priority rule). Hits touching an existing marker are
/// dropped, which keeps scrubbing idempotent.
fn apply<'a>(text: &'a str, mut hits: Vec<Hit<'_>>, protected: &[(usize, usize)]) -> Cow<'a, str> {
    if hits.is_empty() {
        return Cow::Borrowed(text);
    }
    if !protected.is_empty() {
        hits.retain(|h| !protected.iter().any(|&(s, e)| h.start < e && s < h.end));
        if hits.is_empty() {
            return Cow::Borrowed(text);
        }
    }
    hits.sort_unstable_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut i = 0;
    while i < hits.len() {
        let mut cur = hits[i];
        i += 1;
        while i < hits.len() && hits[i].start < cur.end {
            let h = hits[i];
            cur.end = cur.end.max(h.end);
            if h.prio > cur.prio {
                cur.prio = h.prio;
                cur.name = h.name;
            }
            i += 1;
        }
        // Hit boundaries are on ASCII bytes or regex match bounds, so on
        // char boundaries; `get` keeps this panic-free regardless.
        let (Some(before), true) = (text.get(pos..cur.start), text.is_char_boundary(cur.end))
        else {
            continue;
        };
        out.push_str(before);
        out.push_str(MARKER_PREFIX);
        out.push_str(cur.name);
        out.push(']');
        pos = cur.end;
    }
    out.push_str(text.get(pos..).unwrap_or_default());
    Cow::Owned(out)
}

/// `text` with its JSON escapes of printable ASCII (`\u0020`-`\u007e`)
/// and `\/` decoded, or `None` when it has none. Other escapes (`\n`,
/// `\"`, `\\`, non-ASCII) are left as they are: the result is the same
/// JSON text, only less escaped.
fn decode_json_escapes(text: &str) -> Option<String> {
    if !text.contains("\\u00") && !text.contains("\\/") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    let mut plain = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        // An escaped backslash starts no escape: copy the pair as it is.
        if bytes.get(i + 1) == Some(&b'\\') {
            i += 2;
            continue;
        }
        let decoded = if bytes.get(i + 1) == Some(&b'/') {
            Some(('/', 2))
        } else if bytes.get(i + 1) == Some(&b'u') {
            text.get(i + 2..i + 6)
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|hex| {
                    u8::from_str_radix(hex, 16)
                        .ok()
                        .filter(|_| hex.starts_with("00"))
                })
                .filter(|b| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\')
                .map(|b| (char::from(b), 6))
        } else {
            None
        };
        match decoded {
            Some((c, len)) => {
                out.push_str(&text[plain..i]);
                out.push(c);
                i += len;
                plain = i;
                changed = true;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[plain..]);
    changed.then_some(out)
}
