//! Value types used across the configuration schema: durations and secrets.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written for people: `"90s"`, `"60m"`, `"1h30m"`, `"2d"`,
/// `"500ms"`, or a bare number of seconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// From whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// From whole minutes.
    pub const fn from_mins(mins: u64) -> Self {
        Self(Duration::from_secs(mins * 60))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Parses `"1h30m"`-style text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let s = text.trim();
        if s.is_empty() {
            return Err("empty duration; write e.g. `30s`, `60m`, `1h30m` or `2d`".into());
        }
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Self::from_secs(secs));
        }
        let mut total = Duration::ZERO;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| format!("`{text}` has a number without a unit (ms, s, m, h, d)"))?;
            if digits == 0 {
                return Err(format!(
                    "`{text}` is not a duration; write e.g. `30s`, `60m`, `1h30m` or `2d`"
                ));
            }
            let value: f64 = rest[..digits]
                .parse()
                .map_err(|_| format!("`{text}` has an invalid number"))?;
            let after = &rest[digits..];
            let unit_len = after
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after.len());
            let unit = after[..unit_len].trim();
            let secs = match unit {
                "ms" => value / 1000.0,
                "s" | "sec" | "secs" => value,
                "m" | "min" | "mins" => value * 60.0,
                "h" | "hr" | "hrs" => value * 3600.0,
                "d" | "day" | "days" => value * 86_400.0,
                other => {
                    return Err(format!(
                        "`{text}` has unknown unit `{other}`; use ms, s, m, h or d"
                    ));
                }
            };
            total = Duration::try_from_secs_f64(secs)
                .ok()
                .and_then(|d| total.checked_add(d))
                .ok_or_else(|| format!("`{text}` is too long a duration"))?;
            rest = &after[unit_len..];
        }
        Ok(Self(total))
    }
}

impl fmt::Debug for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_millis() != 0 || d.is_zero() {
            return write!(f, "{}ms", d.as_millis());
        }
        let mut secs = d.as_secs();
        let mut out = String::new();
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if secs >= size {
                out.push_str(&format!("{}{unit}", secs / size));
                secs %= size;
            }
        }
        f.write_str(&out)
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        Self(d)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `30s`, `60m`, `1h30m` or `2d`")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                Ok(HumanDuration::from_secs(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HumanDuration, E> {
                u64::try_from(v)
                    .map(HumanDuration::from_secs)
                    .map_err(|_| E::custom(format!("`{v}` is negative; a duration is 0 or more")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<HumanDuration, E> {
                Duration::try_from_secs_f64(v)
                    .map(HumanDuration)
                    .map_err(|_| E::custom(format!("`{v}` is not a duration in seconds")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                HumanDuration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A credential. Never shown by `Debug`, `Display` or `Serialize`; read it
/// with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself. Only pass it to the client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

const REDACTED: &str = "<redacted>";

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(
            HumanDuration::parse("90").unwrap().get(),
            Duration::from_secs(90)
        );
        assert_eq!(
            HumanDuration::parse("60m").unwrap().get(),
            Duration::from_secs(3600)
        );
        assert_eq!(
            HumanDuration::parse("1h30m").unwrap().get(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            HumanDuration::parse("2d").unwrap().get(),
            Duration::from_secs(172_800)
        );
        assert_eq!(
            HumanDuration::parse("250ms").unwrap().get(),
            Duration::from_millis(250)
        );
        assert_eq!(HumanDuration::from_secs(5400).to_string(), "1h30m");
        assert!(
            HumanDuration::parse("ten minutes")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            HumanDuration::parse("10w")
                .unwrap_err()
                .contains("unknown unit `w`")
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("ghp_abcdefghijklmnopqrstuvwxyz0123456789");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
        assert!(s.expose().starts_with("ghp_"));
    }
}
