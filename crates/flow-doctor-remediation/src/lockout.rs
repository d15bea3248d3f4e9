//! Lockout windows: wall-clock periods in a named time zone during which
//! nothing runs automatically (e.g. market hours).
//!
//! Config (`remediation.lockouts`):
//! ```yaml
//! lockouts:
//!   - name: market hours
//!     days: [mon-fri]          # mon..sun, ranges (mon-fri), weekdays, weekends; empty = every day
//!     start: "09:30"
//!     end: "16:00"             # end before start crosses midnight; "24:00" is midnight
//!     timezone: America/New_York   # IANA name, default UTC
//! ```
//! Times are local wall-clock times, so a window keeps its local hours across
//! daylight-saving changes. A window crossing midnight belongs to the day it
//! starts on: `fri 22:00-02:00` covers Friday 22:00 to Saturday 02:00.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use flow_doctor_core::config::LockoutConfig;

/// A parsed, checked lockout window.
#[derive(Clone, Debug, PartialEq)]
pub struct Lockout {
    name: Option<String>,
    /// Index: `Weekday::num_days_from_monday`.
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
    tz: Tz,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Lockout {
    /// Parses a `remediation.lockouts` entry; the error says what is wrong.
    pub fn from_config(cfg: &LockoutConfig) -> Result<Self, String> {
        let days: Vec<&str> = cfg.days.iter().map(String::as_str).collect();
        Self::new(
            cfg.name.as_deref(),
            &days,
            &cfg.start,
            &cfg.end,
            cfg.timezone.as_deref().unwrap_or(""),
        )
    }

    /// A window from `start` to `end` (`HH:MM`) on `days` (empty: every
    /// day) in `timezone` (IANA name; empty: UTC).
    pub fn new(
        name: Option<&str>,
        days: &[&str],
        start: &str,
        end: &str,
        timezone: &str,
    ) -> Result<Self, String> {
        let start = parse_hhmm(start).map_err(|e| format!("start: {e}"))?;
        let end = parse_hhmm(end).map_err(|e| format!("end: {e}"))?;
        let tz: Tz = match timezone.trim() {
            "" => Tz::UTC,
            name => name.parse().map_err(|_| {
                format!("unknown time zone `{name}`; use an IANA name such as Europe/Berlin")
            })?,
        };
        let mut on = [days.is_empty(); 7];
        for d in days {
            for i in parse_days(d)? {
                on[i] = true;
            }
        }
        Ok(Self {
            name: name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            days: on,
            start,
            end,
            tz,
        })
    }

    /// Its name, when it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether `at` falls inside the window.
    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz);
        let t = local.time();
        let today = self.on(local.weekday());
        let yesterday = self.on(local.weekday().pred());
        if self.start < self.end {
            today && t >= self.start && t < self.end
        } else if self.start > self.end {
            (today && t >= self.start) || (yesterday && t < self.end)
        } else {
            // start == end: the whole day
            today
        }
    }

    fn on(&self, day: Weekday) -> bool {
        self.days[day.num_days_from_monday() as usize]
    }
}

impl fmt::Display for Lockout {
    /// `market hours (mon,tue,wed,thu,fri 09:30-16:00 America/New_York)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = if self.days.iter().all(|d| *d) {
            "daily".to_string()
        } else {
            DAY_NAMES
                .iter()
                .zip(self.days)
                .filter(|(_, on)| *on)
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(",")
        };
        let window = format!(
            "{days} {}-{} {}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M"),
            self.tz.name()
        );
        match &self.name {
            Some(n) => write!(f, "{n} ({window})"),
            None => f.write_str(&window),
        }
    }
}

fn parse_hhmm(s: &str) -> Result<NaiveTime, String> {
    let s = s.trim();
    if s == "24:00" {
        return Ok(NaiveTime::MIN);
    }
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("`{s}` is not a time; write HH:MM"))
}

fn day_index(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_lowercase();
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    DAY_NAMES
        .iter()
        .position(|d| *d == s)
        .or_else(|| full.iter().position(|d| *d == s))
}

/// `mon`, `Monday`, `mon-fri` (wrapping: `fri-mon`), `weekdays`, `weekends`,
/// `daily`.
fn parse_days(s: &str) -> Result<Vec<usize>, String> {
    let lower = s.trim().to_ascii_lowercase();
    match lower.as_str() {
        "weekdays" => return Ok((0..5).collect()),
        "weekends" => return Ok(vec![5, 6]),
        "daily" | "every day" | "*" => return Ok((0..7).collect()),
        _ => {}
    }
    let bad = || {
        format!("unknown day `{s}`; use mon..sun, a range such as mon-fri, weekdays or weekends")
    };
    if let Some((a, b)) = lower.split_once('-') {
        let (a, b) = (day_index(a).ok_or_else(bad)?, day_index(b).ok_or_else(bad)?);
        let mut out = vec![a];
        let mut i = a;
        while i != b {
            i = (i + 1) % 7;
            out.push(i);
        }
        return Ok(out);
    }
    Ok(vec![day_index(&lower).ok_or_else(bad)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn market_hours_follow_new_york_across_dst() {
        let l = Lockout::new(
            Some("market hours"),
            &["mon-fri"],
            "09:30",
            "16:00",
            "America/New_York",
        )
        .unwrap();
        // Winter (EST, UTC-5): 13:45 UTC is 08:45 local, before the open.
        assert!(!l.is_active(utc(2026, 1, 14, 13, 45)));
        assert!(l.is_active(utc(2026, 1, 14, 14, 30)));
        // Summer (EDT, UTC-4): the same 13:45 UTC is 09:45 local, inside.
        assert!(l.is_active(utc(2026, 7, 15, 13, 45)));
        assert!(!l.is_active(utc(2026, 7, 15, 20, 0)));
        // The Monday after the spring-forward switch (2026-03-08).
        assert!(l.is_active(utc(2026, 3, 9, 13, 30)));
        // Saturday: closed all day.
        assert!(!l.is_active(utc(2026, 7, 18, 15, 0)));
        assert_eq!(
            l.to_string(),
            "market hours (mon,tue,wed,thu,fri 09:30-16:00 America/New_York)"
        );
    }

    #[test]
    fn wall_clock_windows_survive_the_dst_switch_itself() {
        // 2026-03-08 02:00 EST jumps to 03:00 EDT.
        let l = Lockout::new(None, &[], "01:00", "03:00", "America/New_York").unwrap();
        assert!(l.is_active(utc(2026, 3, 8, 6, 30))); // 01:30 EST
        assert!(!l.is_active(utc(2026, 3, 8, 7, 0))); // 03:00 EDT
        // 2026-11-01 01:00-02:00 happens twice; both are inside 01:00-02:00.
        let l = Lockout::new(None, &[], "01:00", "02:00", "America/New_York").unwrap();
        assert!(l.is_active(utc(2026, 11, 1, 5, 30))); // 01:30 EDT
        assert!(l.is_active(utc(2026, 11, 1, 6, 30))); // 01:30 EST
        assert!(!l.is_active(utc(2026, 11, 1, 7, 0))); // 02:00 EST
    }

    #[test]
    fn window_crossing_midnight_belongs_to_its_start_day() {
        let l = Lockout::new(None, &["fri"], "22:00", "02:00", "UTC").unwrap();
        // 2026-07-17 is a Friday.
        assert!(!l.is_active(utc(2026, 7, 17, 21, 59)));
        assert!(l.is_active(utc(2026, 7, 17, 22, 0)));
        assert!(l.is_active(utc(2026, 7, 18, 1, 59)));
        assert!(!l.is_active(utc(2026, 7, 18, 2, 0)));
        // Thursday night is not covered, nor the early hours of Friday.
        assert!(!l.is_active(utc(2026, 7, 16, 23, 0)));
        assert!(!l.is_active(utc(2026, 7, 17, 1, 0)));
    }

    #[test]
    fn equal_start_and_end_is_the_whole_day_and_24_is_midnight() {
        let l = Lockout::new(None, &["sun"], "00:00", "00:00", "UTC").unwrap();
        assert!(l.is_active(utc(2026, 7, 19, 0, 0)));
        assert!(l.is_active(utc(2026, 7, 19, 23, 59)));
        assert!(!l.is_active(utc(2026, 7, 20, 0, 0)));
        let l = Lockout::new(None, &[], "20:00", "24:00", "UTC").unwrap();
        assert!(l.is_active(utc(2026, 7, 20, 23, 59)));
        assert!(!l.is_active(utc(2026, 7, 21, 0, 0)));
    }

    #[test]
    fn local_time_in_a_zone_east_of_utc_changes_the_day() {
        // 23:30 UTC Sunday is 08:30 Monday in Tokyo.
        let l = Lockout::new(None, &["monday"], "08:00", "09:00", "Asia/Tokyo").unwrap();
        assert!(l.is_active(utc(2026, 7, 19, 23, 30)));
        assert!(!l.is_active(utc(2026, 7, 20, 23, 30)));
    }

    #[test]
    fn invalid_windows_are_rejected_with_a_reason() {
        let e = Lockout::new(None, &[], "9:3x", "10:00", "UTC").unwrap_err();
        assert!(e.contains("start") && e.contains("HH:MM"), "{e}");
        let e = Lockout::new(None, &[], "09:00", "10:00", "Mars/Olympus").unwrap_err();
        assert!(e.contains("unknown time zone `Mars/Olympus`"), "{e}");
        let e = Lockout::new(None, &["funday"], "09:00", "10:00", "UTC").unwrap_err();
        assert!(e.contains("unknown day `funday`"), "{e}");
        assert_eq!(parse_days("fri-mon").unwrap(), vec![4, 5, 6, 0]);
        assert_eq!(parse_days("weekends").unwrap(), vec![5, 6]);
    }
}
