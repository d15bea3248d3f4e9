//! Secret scrubbing: every string that leaves the process passes through a
//! [`Scrubber`] first.

use std::borrow::Cow;

use regex::Regex;

/// Removes secrets from text.
#[derive(Debug, Clone)]
pub struct Scrubber {
    rules: Vec<(String, Regex)>,
}

impl Default for Scrubber {
    fn default() -> Self {
        Self::new()
    }
}

impl Scrubber {
    /// The built-in rules.
    pub fn new() -> Self {
        let rules = [
            ("aws_access_key_id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
            (
                "github_token",
                r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b",
            ),
        ]
        .into_iter()
        .filter_map(|(n, r)| Regex::new(r).ok().map(|re| (n.to_string(), re)))
        .collect();
        Self { rules }
    }

    /// Scrubs one string.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for (name, re) in &self.rules {
            if re.is_match(&out) {
                out = Cow::Owned(
                    re.replace_all(&out, format!("[REDACTED:{name}]"))
                        .into_owned(),
                );
            }
        }
        out
    }
}
