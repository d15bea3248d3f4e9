//! A serde `Deserializer` over the node tree that knows where it is: every
//! error carries the key path and line of the value that caused it.
//!
//! It also:
//! - reports *every* unknown key (with a "did you mean") instead of stopping
//!   at the first, by skipping unknown keys of a struct and recording them;
//! - reads an interpolated string (`${PORT}`) as a number or boolean where
//!   one is expected, and an empty interpolated string as "not set" for
//!   optional values;
//! - accepts an empty value (`dependencies:`) as an empty list or section;
//! - reads integers and booleans as strings where a string is expected
//!   (`chat_id: -1001234`);
//! - matches enum values case-insensitively (`notify_on: [ERROR]`);
//! - yields a mapping's `type` key first, so tagged channels need no
//!   buffering (and keep their positions).

use std::cell::RefCell;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, EnumAccess, Expected, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

use super::ConfigError;
use super::channel::{CHANNEL_STRUCT, keys_for_node};
use super::node::{Entry, Node, Value, child_index, child_key};

/// Problems that do not stop deserialization (unknown keys).
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    soft: RefCell<Vec<ConfigError>>,
}

impl Ctx {
    pub(crate) fn into_errors(self) -> Vec<ConfigError> {
        self.soft.into_inner()
    }
}

/// Deserializes `T` from `root`: the value, or the fatal error; plus every
/// non-fatal problem found on the way.
pub(crate) fn from_node<'a, T: de::Deserialize<'a>>(
    root: &'a Node,
    ctx: &'a Ctx,
) -> Result<T, ConfigError> {
    T::deserialize(NodeDe {
        node: root,
        path: String::new(),
        ctx,
    })
    .map_err(DeError::into_config_error)
}

/// The deserializer's error: a message and, once known, where.
#[derive(Debug)]
pub(crate) struct DeError {
    message: String,
    fix: Option<String>,
    missing_field: Option<&'static str>,
    location: Option<(String, usize)>,
}

impl DeError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fix: None,
            missing_field: None,
            location: None,
        }
    }

    fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Attaches the key path and line of `node`, unless an inner value
    /// already did. Interpolated values are never echoed.
    fn locate(mut self, path: &str, node: &Node) -> Self {
        if self.location.is_some() {
            return self;
        }
        if let Value::Str {
            text,
            interpolated: true,
        } = &node.value
            && !text.is_empty()
        {
            let hidden = "(a value from the environment)";
            self.message = self.message.replace(&shown(text), hidden);
            self.message = self.message.replace(text.as_str(), hidden);
        }
        let path = match self.missing_field {
            Some(field) => child_key(path, field),
            None => path.to_owned(),
        };
        self.location = Some((path, node.line));
        self
    }

    fn locate_at(mut self, path: String, line: usize) -> Self {
        if self.location.is_none() {
            self.location = Some((path, line));
        }
        self
    }

    fn into_config_error(self) -> ConfigError {
        let mut err = ConfigError::new(self.message);
        if let Some((path, line)) = self.location {
            if !path.is_empty() {
                err = err.at_key(path);
            }
            if line > 0 {
                err = err.at_line(line);
            }
        }
        if let Some(fix) = self.fix {
            err = err.with_fix(fix);
        }
        err
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        let expected = describe_expected(exp);
        let err = Self::new(format!("expected {expected}, found {}", describe(&unexp)));
        match expected.as_str() {
            _ if matches!(unexp, Unexpected::Unit | Unexpected::Option) => {
                err.with_fix("give it a value, or remove the key to use the default")
            }
            "a list" => err.with_fix("write a list: `[a, b]`, or one `- item` per line"),
            "a mapping" => err.with_fix("write it as a section with indented `key: value` lines"),
            "a string" => err.with_fix("quote the value"),
            _ => err,
        }
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::new(format!(
            "invalid value {}: expected {}",
            describe(&unexp),
            describe_expected(exp)
        ))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        Self::new(format!(
            "expected {}, found {len} items",
            describe_expected(exp)
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let err = Self::new(format!("unknown value `{}`", shown(variant)));
        let list = expected.join(", ");
        match suggest(variant, expected.iter().copied()) {
            Some(s) => err.with_fix(format!("did you mean `{s}`? valid values: {list}")),
            None => err.with_fix(format!("use one of: {list}")),
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let (message, fix) = unknown_key_message(field, expected.iter().copied(), "");
        Self::new(message).with_fix(fix)
    }

    fn missing_field(field: &'static str) -> Self {
        let mut err = Self::new(format!("missing required key `{field}`"))
            .with_fix(format!("add `{field}: ...` here"));
        err.missing_field = Some(field);
        err
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::new(format!("key `{field}` is given twice")).with_fix("keep one of them")
    }
}

/// Message and fix for an unknown key.
pub(crate) fn unknown_key_message<'a>(
    key: &str,
    valid: impl Iterator<Item = &'a str> + Clone,
    context: &str,
) -> (String, String) {
    let list = valid.clone().collect::<Vec<_>>().join(", ");
    let message = format!("unknown key `{}`{context}", shown(key));
    let fix = match suggest(key, valid) {
        Some(s) => format!("did you mean `{s}`? valid keys here: {list}"),
        None => format!("remove it; valid keys here: {list}"),
    };
    (message, fix)
}

/// The closest candidate to `word`, when it is close enough to be a typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| (levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A value as shown in messages: at most 60 characters.
fn shown(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(60).collect();
        t.push('…');
        t
    }
}

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Int(n) => Unexpected::Signed(*n),
        Value::UInt(n) => Unexpected::Unsigned(*n),
        Value::Float(x) => Unexpected::Float(*x),
        Value::Str { text, .. } => Unexpected::Str(text),
        Value::Seq(_) => Unexpected::Seq,
        Value::Map(_) => Unexpected::Map,
    }
}

fn describe(u: &Unexpected<'_>) -> String {
    match u {
        Unexpected::Bool(b) => format!("`{b}` (a boolean)"),
        Unexpected::Unsigned(n) => format!("`{n}` (an integer)"),
        Unexpected::Signed(n) => format!("`{n}` (an integer)"),
        Unexpected::Float(x) => format!("`{x}` (a number)"),
        Unexpected::Str(s) => format!("the string `{}`", shown(s)),
        Unexpected::Unit | Unexpected::Option => "nothing (null)".to_owned(),
        Unexpected::Seq => "a list".to_owned(),
        Unexpected::Map => "a mapping".to_owned(),
        other => other.to_string(),
    }
}

fn describe_expected(exp: &dyn Expected) -> String {
    let text = exp.to_string();
    match text.as_str() {
        // Small types say their range: `70000` for a port is not "negative".
        "u8" => "an integer from 0 to 255".to_owned(),
        "u16" => "an integer from 0 to 65535".to_owned(),
        "u32" | "u64" | "u128" | "usize" => "a non-negative integer".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a mapping".to_owned(),
        t if t.starts_with("struct ") => "a mapping".to_owned(),
        t if t.starts_with("a borrowed string") => "a string".to_owned(),
        _ => text,
    }
}

/// Deserializes one node.
pub(crate) struct NodeDe<'a> {
    node: &'a Node,
    path: String,
    ctx: &'a Ctx,
}

impl<'a> NodeDe<'a> {
    fn interpolated_text(&self) -> Option<&'a str> {
        match &self.node.value {
            Value::Str {
                text,
                interpolated: true,
            } => Some(text.trim()),
            _ => None,
        }
    }

    fn seq(self, items: &'a [Node]) -> SeqAcc<'a> {
        SeqAcc {
            items: items.iter(),
            index: 0,
            path: self.path,
            ctx: self.ctx,
        }
    }

    fn map(self, entries: Vec<&'a Entry>) -> MapAcc<'a> {
        MapAcc {
            entries,
            pos: 0,
            path: self.path,
            ctx: self.ctx,
        }
    }
}

/// Entries with `type` first, so internally tagged values can dispatch
/// before reading the rest.
fn type_first(entries: &[Entry]) -> Vec<&Entry> {
    let mut out: Vec<&Entry> = entries.iter().filter(|e| e.key == "type").collect();
    out.extend(entries.iter().filter(|e| e.key != "type"));
    out
}

macro_rules! forward_located {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                self.deserialize_any(visitor)
            }
        )*
    };
}

macro_rules! integer {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                if let Some(text) = self.interpolated_text() {
                    let (path, node) = (self.path.clone(), self.node);
                    let r = if let Ok(n) = text.parse::<u64>() {
                        visitor.visit_u64(n)
                    } else if let Ok(n) = text.parse::<i64>() {
                        visitor.visit_i64(n)
                    } else {
                        visitor.visit_str(text)
                    };
                    return r.map_err(|e: DeError| e.locate(&path, node));
                }
                self.deserialize_any(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, node) = (self.path.clone(), self.node);
        let r = match &node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(n) => visitor.visit_i64(*n),
            Value::UInt(n) => visitor.visit_u64(*n),
            Value::Float(x) => visitor.visit_f64(*x),
            Value::Str { text, .. } => visitor.visit_borrowed_str(text),
            Value::Seq(items) => visitor.visit_seq(self.seq(items)),
            Value::Map(entries) => {
                let entries = type_first(entries);
                visitor.visit_map(self.map(entries))
            }
        };
        r.map_err(|e: DeError| e.locate(&path, node))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if let Some(text) = self.interpolated_text() {
            let (path, node) = (self.path.clone(), self.node);
            let r = match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => visitor.visit_bool(true),
                "false" | "no" | "off" | "0" => visitor.visit_bool(false),
                _ => visitor.visit_str(text),
            };
            return r.map_err(|e: DeError| e.locate(&path, node));
        }
        self.deserialize_any(visitor)
    }

    integer! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if let Some(text) = self.interpolated_text() {
            let (path, node) = (self.path.clone(), self.node);
            let r = match text.parse::<f64>() {
                Ok(x) => visitor.visit_f64(x),
                Err(_) => visitor.visit_str(text),
            };
            return r.map_err(|e: DeError| e.locate(&path, node));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, node) = (self.path.clone(), self.node);
        let r = match &node.value {
            Value::Int(n) => visitor.visit_string(n.to_string()),
            Value::UInt(n) => visitor.visit_string(n.to_string()),
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            Value::Float(x) => Err(DeError::new(format!(
                "expected a string, found the number `{x}`"
            ))
            .with_fix("quote the value, so it is read exactly as written")),
            _ => return self.deserialize_any(visitor),
        };
        r.map_err(|e: DeError| e.locate(&path, node))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, node) = (self.path.clone(), self.node);
        let r = match &node.value {
            Value::Null => visitor.visit_none(),
            Value::Str {
                text,
                interpolated: true,
            } if text.is_empty() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        };
        r.map_err(|e: DeError| e.locate(&path, node))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, node) = (self.path.clone(), self.node);
        visitor
            .visit_newtype_struct(self)
            .map_err(|e: DeError| e.locate(&path, node))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, node) = (self.path.clone(), self.node);
        let r = match &node.value {
            Value::Null => visitor.visit_seq(self.seq(&[])),
            _ => return self.deserialize_any(visitor),
        };
        r.map_err(|e: DeError| e.locate(&path, node))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, node) = (self.path.clone(), self.node);
        let r = match &node.value {
            Value::Null => visitor.visit_map(self.map(Vec::new())),
            _ => return self.deserialize_any(visitor),
        };
        r.map_err(|e: DeError| e.locate(&path, node))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, node) = (self.path.clone(), self.node);
        // A channel's keys depend on its `type`.
        let fields = match name {
            CHANNEL_STRUCT => keys_for_node(node).unwrap_or(fields),
            _ => fields,
        };
        let r = match &node.value {
            Value::Null => visitor.visit_map(self.map(Vec::new())),
            Value::Map(entries) => {
                let mut known = Vec::with_capacity(entries.len());
                for e in type_first(entries) {
                    if fields.contains(&e.key.as_str()) {
                        known.push(e);
                    } else {
                        let (message, fix) =
                            unknown_key_message(&e.key, fields.iter().copied(), "");
                        self.ctx.soft.borrow_mut().push(
                            ConfigError::new(message)
                                .with_fix(fix)
                                .at_key(child_key(&path, &e.key))
                                .at_line(e.key_line),
                        );
                    }
                }
                visitor.visit_map(self.map(known))
            }
            // Not `deserialize_any`: derived structs also accept a list,
            // filling fields by position.
            other => Err(de::Error::invalid_type(unexpected(other), &"a mapping")),
        };
        r.map_err(|e: DeError| e.locate(&path, node))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, node) = (self.path.clone(), self.node);
        let r = match &node.value {
            Value::Str { text, .. } => {
                let text = text.trim();
                let chosen = if variants.contains(&text) {
                    text
                } else {
                    let mut ci = variants.iter().filter(|v| v.eq_ignore_ascii_case(text));
                    match (ci.next(), ci.next()) {
                        (Some(one), None) => one,
                        _ => text,
                    }
                };
                visitor.visit_enum(UnitVariant(chosen))
            }
            _ => return self.deserialize_any(visitor),
        };
        r.map_err(|e: DeError| e.locate(&path, node))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    forward_located! { deserialize_char deserialize_bytes deserialize_byte_buf }
}

struct SeqAcc<'a> {
    items: std::slice::Iter<'a, Node>,
    index: usize,
    path: String,
    ctx: &'a Ctx,
}

impl<'de> SeqAccess<'de> for SeqAcc<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let path = child_index(&self.path, self.index);
        self.index += 1;
        seed.deserialize(NodeDe {
            node,
            path: path.clone(),
            ctx: self.ctx,
        })
        .map(Some)
        .map_err(|e: DeError| e.locate(&path, node))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAcc<'a> {
    entries: Vec<&'a Entry>,
    pos: usize,
    path: String,
    ctx: &'a Ctx,
}

impl<'de> MapAccess<'de> for MapAcc<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.get(self.pos) else {
            return Ok(None);
        };
        seed.deserialize(BorrowedStrDeserializer::new(entry.key.as_str()))
            .map(Some)
            .map_err(|e: DeError| e.locate_at(child_key(&self.path, &entry.key), entry.key_line))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some(entry) = self.entries.get(self.pos) else {
            return Err(DeError::new("internal: value requested before its key"));
        };
        self.pos += 1;
        let path = child_key(&self.path, &entry.key);
        let value = &entry.value;
        seed.deserialize(NodeDe {
            node: value,
            path: path.clone(),
            ctx: self.ctx,
        })
        .map_err(|e: DeError| {
            if value.line == 0 {
                e.locate_at(path, entry.key_line)
            } else {
                e.locate(&path, value)
            }
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.pos)
    }
}

/// A unit enum variant named by a string.
struct UnitVariant<'a>(&'a str);

impl<'de> EnumAccess<'de> for UnitVariant<'de> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let value = seed.deserialize(self.0.into_deserializer())?;
        Ok((value, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(self.not_unit())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(self.not_unit())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(self.not_unit())
    }
}

impl UnitVariant<'_> {
    fn not_unit(&self) -> DeError {
        DeError::new(format!(
            "`{}` needs settings, not just a name",
            shown(self.0)
        ))
    }
}
