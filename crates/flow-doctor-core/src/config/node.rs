//! The parsed document as a tree of nodes, each with its line, built from
//! YAML (`serde-saphyr`) or TOML (`toml`), so both formats share one
//! deserializer, one interpolation pass and one way of reporting lines.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::env::Env;
use super::interpolate::{InterpolateError, interpolate};
use super::{ConfigError, Format};

/// One value of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// 1-based line; 0 when unknown.
    pub(crate) line: usize,
    pub(crate) value: Value,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str {
        text: String,
        /// The text came (at least partly) from `${...}`: it may be read as
        /// a number or boolean, and is never echoed in error messages.
        interpolated: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_line: usize,
    pub(crate) value: Node,
}

/// Parses `text` into a node tree.
pub(crate) fn parse(text: &str, format: Format) -> Result<Node, ConfigError> {
    match format {
        Format::Yaml => parse_yaml(text),
        Format::Toml => parse_toml(text),
    }
}

fn parse_yaml(text: &str) -> Result<Node, ConfigError> {
    let only_comments = text
        .lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---");
    if only_comments {
        return Ok(Node {
            line: 1,
            value: Value::Null,
        });
    }
    let root: Spanned<YamlValue> = serde_saphyr::from_str(text).map_err(|e| {
        let inner = e.without_snippet();
        let mut message = inner.to_string();
        // The message ends with " at line L, column C"; the line goes into
        // the error's own field.
        if let Some(cut) = message.rfind(" at line ") {
            message.truncate(cut);
        }
        let mut err = match message.strip_prefix("duplicate mapping key: ") {
            // The parser's own advice ("set DuplicateKeyPolicy...") is
            // for programmers, not for the person editing the file.
            Some(rest) => {
                let key = rest.split(',').next().unwrap_or(rest).trim();
                ConfigError::new(format!("`{key}` is set twice in the same mapping"))
                    .with_fix("keep one of the two (the later one is not used)")
            }
            None => ConfigError::new(format!("invalid YAML: {message}")).with_fix(
                "check indentation and quoting; quote values that contain `: `, ` #`, `[` or `{`",
            ),
        };
        if let Some(loc) = e.location()
            && loc.line() > 0
        {
            err = err.at_line(loc.line() as usize);
        }
        err
    })?;
    Ok(from_spanned(root))
}

fn from_spanned(s: Spanned<YamlValue>) -> Node {
    Node {
        line: s.referenced.line() as usize,
        value: s.value.0,
    }
}

/// A YAML value as deserialized through `Spanned`, converted on the fly.
struct YamlValue(Value);

impl<'de> Deserialize<'de> for YamlValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = YamlValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<YamlValue, E> {
        Ok(YamlValue(Value::Null))
    }
    fn visit_none<E>(self) -> Result<YamlValue, E> {
        Ok(YamlValue(Value::Null))
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<YamlValue, D::Error> {
        YamlValue::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<YamlValue, E> {
        Ok(YamlValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<YamlValue, E> {
        Ok(YamlValue(Value::Int(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<YamlValue, E> {
        Ok(YamlValue(Value::UInt(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<YamlValue, E> {
        Ok(YamlValue(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<YamlValue, E> {
        Ok(YamlValue(Value::Str {
            text: v.to_owned(),
            interpolated: false,
        }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YamlValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<YamlValue>>()? {
            items.push(from_spanned(item));
        }
        Ok(YamlValue(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YamlValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<YamlValue>>()?;
            entries.push(Entry {
                key: key.value,
                key_line: key.referenced.line() as usize,
                value: from_spanned(value),
            });
        }
        Ok(YamlValue(Value::Map(entries)))
    }
}

fn parse_toml(text: &str) -> Result<Node, ConfigError> {
    let lines = LineIndex::new(text);
    let root = toml::de::DeTable::parse(text).map_err(|e| {
        let mut err = ConfigError::new(format!("invalid TOML: {}", e.message().trim_end()))
            .with_fix(
                "check the TOML syntax: strings are quoted, tables are [name], lists are [a, b]",
            );
        if let Some(span) = e.span() {
            err = err.at_line(lines.line_of(span.start));
        }
        err
    })?;
    let line = 1;
    Ok(Node {
        line,
        value: toml_table(root.get_ref(), &lines),
    })
}

fn toml_table(table: &toml::de::DeTable<'_>, lines: &LineIndex) -> Value {
    let mut entries: Vec<(usize, Entry)> = table
        .iter()
        .map(|(k, v)| {
            let start = k.span().start;
            (
                start,
                Entry {
                    key: k.get_ref().to_string(),
                    key_line: lines.line_of(start),
                    value: toml_node(v, lines),
                },
            )
        })
        .collect();
    // Source order, so the first problem reported is the first in the file.
    entries.sort_by_key(|(start, _)| *start);
    Value::Map(entries.into_iter().map(|(_, e)| e).collect())
}

fn toml_node(v: &toml::Spanned<toml::de::DeValue<'_>>, lines: &LineIndex) -> Node {
    use toml::de::DeValue;
    let line = lines.line_of(v.span().start);
    let value = match v.get_ref() {
        DeValue::String(s) => Value::Str {
            text: s.to_string(),
            interpolated: false,
        },
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) if n >= 0 => Value::UInt(n as u64),
            Ok(n) => Value::Int(n),
            Err(_) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::UInt(n),
                Err(_) => Value::Str {
                    text: i.to_string(),
                    interpolated: false,
                },
            },
        },
        DeValue::Float(f) => match f.as_str().parse::<f64>() {
            Ok(x) => Value::Float(x),
            Err(_) => Value::Str {
                text: f.to_string(),
                interpolated: false,
            },
        },
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Str {
            text: d.to_string(),
            interpolated: false,
        },
        DeValue::Array(items) => Value::Seq(items.iter().map(|i| toml_node(i, lines)).collect()),
        DeValue::Table(t) => toml_table(t, lines),
    };
    Node { line, value }
}

/// Byte offset to 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// A key path under construction: `notify[1].webhook_url`.
pub(crate) fn child_key(parent: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), simple) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}

/// `parent[index]`.
pub(crate) fn child_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Replaces every `${...}` in the tree's string values. Returns every
/// problem, each with its line and key path.
pub(crate) fn interpolate_tree(node: &mut Node, env: &Env) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    walk_interpolate(node, "", env, &mut errors);
    errors
}

fn walk_interpolate(node: &mut Node, path: &str, env: &Env, errors: &mut Vec<ConfigError>) {
    let line = node.line;
    match &mut node.value {
        Value::Str { text, interpolated } if text.contains('$') => match interpolate(text, env) {
            Ok(done) => {
                *text = done.text;
                *interpolated |= done.substituted;
            }
            Err(problems) => {
                for p in problems {
                    let err = match p {
                        InterpolateError::Unresolved(var) => ConfigError::new(format!(
                            "environment variable `{var}` is not set"
                        ))
                        .with_fix(format!(
                            "export {var}, add it to the .env file next to the configuration, \
                             or write ${{{var}:-default}}"
                        )),
                        InterpolateError::Syntax(message) => ConfigError::new(message)
                            .with_fix("write ${VAR} or ${VAR:-default}; write $$ for a literal $"),
                    };
                    errors.push(err.at_line(line).at_key(path));
                }
            }
        },
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_interpolate(item, &child_index(path, i), env, errors);
            }
        }
        Value::Map(entries) => {
            for e in entries {
                walk_interpolate(&mut e.value, &child_key(path, &e.key), env, errors);
            }
        }
        _ => {}
    }
}

/// Key path to line, for errors found after deserialization.
#[derive(Debug, Default)]
pub(crate) struct Locator {
    lines: HashMap<String, usize>,
}

impl Locator {
    pub(crate) fn new(root: &Node) -> Self {
        let mut lines = HashMap::new();
        fn walk(node: &Node, path: String, lines: &mut HashMap<String, usize>) {
            match &node.value {
                Value::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let p = child_index(&path, i);
                        lines.insert(p.clone(), item.line);
                        walk(item, p, lines);
                    }
                }
                Value::Map(entries) => {
                    for e in entries {
                        let p = child_key(&path, &e.key);
                        lines.insert(p.clone(), e.key_line);
                        walk(&e.value, p, lines);
                    }
                }
                _ => {}
            }
        }
        walk(root, String::new(), &mut lines);
        Self { lines }
    }

    /// The line of `path`, or of its closest ancestor present in the file.
    pub(crate) fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some(*line);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}
