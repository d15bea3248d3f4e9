//! The decision gate: routes a diagnosed failure to auto-remediate,
//! fix PR, escalate or log-only, and says why.
//!
//! [`Gate::decide`] is a pure function of the report, its diagnosis, the
//! matched playbook, the attempt counts and the time. The checks, in order:
//!
//! 1. **Deny list.** A flow named in `deny_flows` or a repository (report
//!    context key `repo`, else the top-level `repo`) named in `deny_repos`
//!    (exact names) is never acted on
//!    automatically: *escalate*.
//! 2. **Auto-remediate** when all hold: the category is not CODE, a playbook
//!    matched and is `safe_to_auto_run`, confidence ≥
//!    `auto_remediate_threshold` (default 0.90), no lockout window is active,
//!    fewer than `max_attempts_per_day` remediations ran today (UTC) and fewer
//!    than `max_attempts_per_failure` ran today for this flow and signature.
//!    The remediator then takes the attempt atomically in the store
//!    (`Store::try_consume`, see `attempt_keys`) before running anything, so
//!    processes deciding at the same moment cannot both take the last one.
//! 3. **Fix PR** when the category is CODE, CONFIG or DATA (never EXTERNAL or
//!    INFRA, which a code change does not fix, nor TRANSIENT, which passes on
//!    retry) and confidence ≥ `fix_pr_threshold` (default 0.85).
//! 4. **Log only** for warnings and informational reports and for TRANSIENT
//!    failures; **escalate** everything else. The reason names the first check
//!    that kept the failure from being remediated automatically.

use std::fmt;

use chrono::{DateTime, Utc};
use flow_doctor_core::config::RemediationConfig;
use flow_doctor_core::{Category, Config, Diagnosis, Error, Report, Result, Severity};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::lockout::Lockout;
use crate::playbook::Playbook;

/// Where the gate sends a diagnosed failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Run the matched playbook (or record it, in dry run).
    AutoRemediate,
    /// Hand over to fix-PR generation.
    FixPr,
    /// A person must decide.
    Escalate,
    /// Record it; nothing to do.
    LogOnly,
}

impl Route {
    /// snake_case name, as in action data.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutoRemediate => "auto_remediate",
            Self::FixPr => "fix_pr",
            Self::Escalate => "escalate",
            Self::LogOnly => "log_only",
        }
    }

    /// How an action detail starts (`"escalated"`).
    pub fn verb(self) -> &'static str {
        match self {
            Self::AutoRemediate => "auto-remediate",
            Self::FixPr => "routed to fix PR",
            Self::Escalate => "escalated",
            Self::LogOnly => "logged only",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Remediation attempts already made (actions of kind remediate with status
/// succeeded, failed or pending) since the start of the UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptCounts {
    /// Across every failure.
    pub today: u64,
    /// For this flow and signature.
    pub today_for_failure: u64,
}

/// What the gate decided and why.
#[derive(Clone, Debug, PartialEq)]
pub struct GateDecision {
    /// The route.
    pub route: Route,
    /// Why, in words (`"confidence 0.80 below auto-remediate threshold 0.90"`).
    pub reason: String,
    /// The matched playbook, if any.
    pub playbook: Option<String>,
    /// The active lockout window that blocked auto-remediation, if any.
    pub lockout: Option<String>,
    /// Structured fields for [`flow_doctor_core::Action::data`].
    pub data: serde_json::Value,
}

impl GateDecision {
    /// `"<route verb>: <reason>"`, the detail of a non-executed action.
    pub fn detail(&self) -> String {
        format!("{}: {}", self.route.verb(), self.reason)
    }
}

/// The decision gate, built from `remediation:`.
#[derive(Clone, Debug)]
pub struct Gate {
    auto_threshold: f64,
    fix_threshold: f64,
    max_per_day: u64,
    max_per_failure: u64,
    deny_flows: Vec<String>,
    deny_repos: Vec<String>,
    lockouts: Vec<Lockout>,
    default_repo: Option<String>,
}

impl Gate {
    /// `(max_attempts_per_day, max_attempts_per_failure)`.
    pub fn attempt_limits(&self) -> (u64, u64) {
        (self.max_per_day, self.max_per_failure)
    }

    /// The gate of a whole configuration (uses `remediation:` and the
    /// top-level `repo`).
    pub fn from_config(cfg: &Config) -> Result<Self> {
        Self::new(&cfg.remediation, cfg.repo.as_deref())
    }

    /// The gate of a `remediation:` section; `default_repo` is the repository
    /// of reports whose context names none.
    pub fn new(cfg: &RemediationConfig, default_repo: Option<&str>) -> Result<Self> {
        let bad = |m: String| Error::config("remediation", m);
        for (key, v) in [
            ("auto_remediate_threshold", cfg.auto_remediate_threshold),
            ("fix_pr_threshold", cfg.fix_pr_threshold),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(bad(format!(
                    "remediation.{key} is {v}; it must be between 0.0 and 1.0"
                )));
            }
        }
        let lockouts = cfg
            .lockouts
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Lockout::from_config(l).map_err(|e| bad(format!("remediation.lockouts[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            auto_threshold: cfg.auto_remediate_threshold,
            fix_threshold: cfg.fix_pr_threshold,
            max_per_day: cfg.max_attempts_per_day,
            max_per_failure: cfg.max_attempts_per_failure,
            deny_flows: trimmed(&cfg.deny_flows),
            deny_repos: trimmed(&cfg.deny_repos),
            lockouts,
            default_repo: default_repo.map(str::to_string),
        })
    }

    /// The lockout windows.
    pub fn lockouts(&self) -> &[Lockout] {
        &self.lockouts
    }

    /// The first lockout window active at `now`.
    pub fn active_lockout(&self, now: DateTime<Utc>) -> Option<&Lockout> {
        self.lockouts.iter().find(|l| l.is_active(now))
    }

    /// The repository a report belongs to: its `repo` context key, else the
    /// configured default.
    pub fn repo_of<'a>(&'a self, report: &'a Report) -> Option<&'a str> {
        report
            .context
            .get("repo")
            .map(String::as_str)
            .or(self.default_repo.as_deref())
    }

    /// Whether the attempt counts can change the decision: a playbook
    /// matched and every check before the limits passes. Callers may skip
    /// counting (a store query) otherwise.
    pub fn needs_counts(
        &self,
        report: &Report,
        diagnosis: &Diagnosis,
        playbook: Option<&Playbook>,
    ) -> bool {
        playbook.is_some_and(|p| p.action().safe_to_auto_run)
            && diagnosis.category != Category::Code
            && diagnosis.confidence >= self.auto_threshold
            && self.denied(report).is_none()
    }

    fn denied(&self, report: &Report) -> Option<String> {
        if self.deny_flows.contains(&report.flow) {
            return Some(format!(
                "flow `{}` is on the remediation deny list",
                report.flow
            ));
        }
        let repo = self.repo_of(report)?;
        self.deny_repos
            .iter()
            .any(|r| r == repo)
            .then(|| format!("repository `{repo}` is on the remediation deny list"))
    }

    /// Decides the route of one diagnosed failure.
    pub fn decide(
        &self,
        report: &Report,
        diagnosis: &Diagnosis,
        playbook: Option<&Playbook>,
        counts: AttemptCounts,
        now: DateTime<Utc>,
    ) -> GateDecision {
        let conf = diagnosis.confidence;
        let cat = diagnosis.category;
        let mut lockout = None;
        let decision = |route: Route, reason: String, lockout: Option<String>| {
            let data = json!({
                "route": route.as_str(),
                "reason": reason,
                "playbook": playbook.map(Playbook::name),
                "category": cat.as_str(),
                "confidence": conf,
                "auto_remediate_threshold": self.auto_threshold,
                "fix_pr_threshold": self.fix_threshold,
                "attempts_today": counts.today,
                "attempts_today_for_failure": counts.today_for_failure,
                "max_attempts_per_day": self.max_per_day,
                "max_attempts_per_failure": self.max_per_failure,
                "lockout": lockout,
            });
            GateDecision {
                route,
                reason,
                playbook: playbook.map(|p| p.name().to_string()),
                lockout,
                data,
            }
        };

        if let Some(reason) = self.denied(report) {
            return decision(Route::Escalate, reason, None);
        }

        let blocked: Option<String> = if cat == Category::Code {
            Some("category CODE is never auto-remediated".into())
        } else if let Some(p) = playbook {
            if !p.action().safe_to_auto_run {
                Some(format!(
                    "playbook `{}` is not marked safe_to_auto_run",
                    p.name()
                ))
            } else if conf < self.auto_threshold {
                Some(format!(
                    "confidence {conf:.2} below auto-remediate threshold {:.2}",
                    self.auto_threshold
                ))
            } else if let Some(l) = self.active_lockout(now) {
                lockout = Some(l.to_string());
                Some(format!("lockout window {l} is active"))
            } else if counts.today >= self.max_per_day {
                Some(format!(
                    "daily limit reached: {} of {} remediations today",
                    counts.today, self.max_per_day
                ))
            } else if counts.today_for_failure >= self.max_per_failure {
                Some(format!(
                    "per-failure limit reached: {} of {} attempts today for this failure",
                    counts.today_for_failure, self.max_per_failure
                ))
            } else {
                None
            }
        } else {
            Some("no playbook matches".into())
        };

        let Some(blocked) = blocked else {
            let p = playbook.map(Playbook::name).unwrap_or_default();
            return decision(
                Route::AutoRemediate,
                format!(
                    "category {cat}, confidence {conf:.2} ≥ {:.2}, playbook `{p}` is safe to auto-run",
                    self.auto_threshold
                ),
                None,
            );
        };

        if matches!(cat, Category::Code | Category::Config | Category::Data)
            && conf >= self.fix_threshold
        {
            return decision(
                Route::FixPr,
                format!(
                    "category {cat}, confidence {conf:.2} ≥ fix-PR threshold {:.2} ({blocked})",
                    self.fix_threshold
                ),
                lockout,
            );
        }

        if report.severity < Severity::Error {
            return decision(
                Route::LogOnly,
                format!("severity {} ({blocked})", report.severity),
                lockout,
            );
        }
        if cat == Category::Transient {
            return decision(
                Route::LogOnly,
                format!("category TRANSIENT passes on retry ({blocked})"),
                lockout,
            );
        }
        if matches!(cat, Category::Code | Category::Config | Category::Data) {
            return decision(
                Route::Escalate,
                format!(
                    "{blocked}; confidence {conf:.2} below fix-PR threshold {:.2}",
                    self.fix_threshold
                ),
                lockout,
            );
        }
        decision(Route::Escalate, blocked, lockout)
    }
}

fn trimmed(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
