//! Checks on a deserialized configuration: values that parse but cannot
//! work (a threshold of 1.5, a Slack channel without a webhook, a regex that
//! does not compile). Every problem is reported, not just the first.
//!
//! Decisions worth knowing:
//! - `dedup.cooldown: 0` is allowed and means "no dedup: notify every
//!   repeat"; `cascade_window: 0` is allowed and turns cascade detection off.
//! - Every other duration must be more than zero.
//! - A lockout whose `start` equals its `end` covers the whole day; `end`
//!   before `start` crosses midnight; `24:00` is midnight. The time zone is
//!   checked when the remediation stage builds the window.
//! - `capture.ring_size: 0` turns log capture off; at most 100 000 lines.
//! - `store.retention_days: 0` keeps everything forever; otherwise at most
//!   36 500 days and no shorter than `dedup.cooldown`.
//! - `auto_fix.enabled: true` needs a `test_command`: a fix PR is only
//!   opened after the tests pass.
//! - An OpenAI-compatible provider with a `base_url` (a local endpoint such
//!   as Ollama or vLLM) needs no API key; the public endpoints do.
//! - Values of secrets are never echoed in messages.

use super::ConfigError;
use super::credentials::{
    GITHUB_TOKEN_VARS, SLACK_WEBHOOK_VARS, SMTP_PASSWORD_VARS, TELEGRAM_TOKEN_VARS, llm_key_vars,
    missing,
};
use super::schema::{
    ChannelConfig, Config, EmailConfig, GithubChannelConfig, LlmProvider, LockoutConfig,
    MAX_RETENTION_DAYS, RouteConfig, SmtpSecurity, StoreKind, TelegramConfig, WebhookConfig,
};
use super::types::{HumanDuration, Secret};

/// Largest accepted `capture.ring_size`.
pub const MAX_RING_SIZE: usize = 100_000;

/// Lockout day names.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Config {
    /// Checks every value; returns every problem found, each with its key
    /// path and fix (lines are added by the loader).
    ///
    /// Credentials are checked as they are: on a configuration built in
    /// code, call [`Config::apply_env_fallbacks`] first.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut p = Problems::default();
        self.check_top(&mut p);
        self.check_capture(&mut p);
        for (i, channel) in self.notify.iter().enumerate() {
            check_channel(&mut p, &format!("notify[{i}]"), channel);
        }
        self.check_channel_names(&mut p);
        self.check_diagnosis(&mut p);
        self.check_remediation(&mut p);
        self.check_auto_fix(&mut p);
        self.check_scrub(&mut p);
        if p.0.is_empty() { Ok(()) } else { Err(p.0) }
    }

    fn check_top(&self, p: &mut Problems) {
        if let Err(why) = check_flow_name(&self.flow_name) {
            p.push(
                "flow_name",
                why,
                "set `flow_name` to a name such as `nightly-etl` (letters, digits, `-`, `_`, `.`, `/`, `:`, `@`)",
            );
        }
        if let Some(repo) = &self.repo {
            check_repo(p, "repo", repo);
        }
        for (i, dep) in self.dependencies.iter().enumerate() {
            let key = format!("dependencies[{i}]");
            if let Err(why) = check_flow_name(dep) {
                p.push(&key, why, "list the upstream flows by their `flow_name`");
            } else if dep == &self.flow_name {
                p.push(&key, "a flow cannot depend on itself", "remove it");
            }
        }
        if self.store.kind == StoreKind::Sqlite && self.store.path.as_os_str().is_empty() {
            p.push(
                "store.path",
                "the SQLite file path is empty",
                "set `store.path`, e.g. `flow_doctor.db`, or use `type: memory`",
            );
        }
        positive(p, "store.busy_timeout", self.store.busy_timeout);
        if self.store.busy_timeout.get() > MAX_BUSY_TIMEOUT {
            p.push(
                "store.busy_timeout",
                format!(
                    "{} would let a write wait that long for another process's lock \
                     (at most {} allowed)",
                    self.store.busy_timeout,
                    HumanDuration::from(MAX_BUSY_TIMEOUT)
                ),
                "use a few seconds, e.g. `5s` (the default)",
            );
        }
        if let Some(retention) = self.store.retention() {
            if self.store.retention_days > MAX_RETENTION_DAYS {
                p.push(
                    "store.retention_days",
                    format!(
                        "{} days is more than the {MAX_RETENTION_DAYS} allowed",
                        self.store.retention_days
                    ),
                    "set a number of days such as 90 (the default), or 0 to keep everything",
                );
            } else if retention < self.dedup.cooldown.get() {
                p.push(
                    "store.retention_days",
                    format!(
                        "{} days is shorter than `dedup.cooldown`, so incidents would be pruned \
                         while their repeats should still be folded into them",
                        self.store.retention_days
                    ),
                    "keep incidents at least as long as the dedup cooldown, or set 0 to keep everything",
                );
            }
        }
        if let Some(url) = &self.github.base_url {
            check_url(p, "github.base_url", url);
        }
    }

    fn check_capture(&self, p: &mut Problems) {
        let c = &self.capture;
        if c.queue_capacity == 0 {
            p.push(
                "capture.queue_capacity",
                "a queue of 0 drops every report",
                "leave it out (default 65536) or set a positive number",
            );
        }
        if c.ring_size > MAX_RING_SIZE {
            p.push(
                "capture.ring_size",
                format!(
                    "{} lines is more than the {MAX_RING_SIZE} allowed",
                    c.ring_size
                ),
                "keep the last few hundred lines (default 100)",
            );
        }
        if c.ring_level > c.min_level {
            p.push(
                "capture.ring_level",
                format!(
                    "ring_level `{}` is above min_level `{}`, so the ring never holds anything",
                    c.ring_level, c.min_level
                ),
                "set ring_level at or below min_level (default: info)",
            );
        }
    }

    fn check_diagnosis(&self, p: &mut Problems) {
        let d = &self.diagnosis;
        if d.provider != LlmProvider::None {
            if d.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
                let example = match d.provider {
                    LlmProvider::Anthropic => "claude-sonnet-4-5",
                    _ => "gpt-4o-mini",
                };
                p.push(
                    "diagnosis.model",
                    format!("provider `{}` needs a model", provider_name(d.provider)),
                    format!("set `diagnosis.model`, e.g. `{example}`, or set `provider: none`"),
                );
            }
            let local = d.provider == LlmProvider::Openai && d.base_url.is_some();
            if d.enabled && !local && missing(&d.api_key) {
                p.push(
                    "diagnosis.api_key",
                    format!("provider `{}` needs an API key", provider_name(d.provider)),
                    format!(
                        "set `diagnosis.api_key: ${{VAR}}` or export {}",
                        or_list(llm_key_vars(d.provider))
                    ),
                );
            }
        }
        if let Some(url) = &d.base_url {
            check_url(p, "diagnosis.base_url", url);
        }
        positive(p, "diagnosis.timeout", d.timeout);
        non_negative(p, "diagnosis.max_daily_cost_usd", d.max_daily_cost_usd);
        if let Some(price) = d.input_price_per_mtok {
            non_negative(p, "diagnosis.input_price_per_mtok", price);
        }
        if let Some(price) = d.output_price_per_mtok {
            non_negative(p, "diagnosis.output_price_per_mtok", price);
        }
        if d.max_prompt_tokens == 0 {
            p.push(
                "diagnosis.max_prompt_tokens",
                "a prompt budget of 0 tokens leaves nothing to send",
                "leave it out (default 8000) or set a positive number",
            );
        }
        if d.max_retries > 10 {
            p.push(
                "diagnosis.max_retries",
                format!("{} retries is more than the 10 allowed", d.max_retries),
                "use a small number (default 2)",
            );
        }
    }

    fn check_remediation(&self, p: &mut Problems) {
        let r = &self.remediation;
        threshold(
            p,
            "remediation.auto_remediate_threshold",
            r.auto_remediate_threshold,
        );
        threshold(p, "remediation.fix_pr_threshold", r.fix_pr_threshold);
        for (i, flow) in r.deny_flows.iter().enumerate() {
            if let Err(why) = check_flow_name(flow) {
                p.push(
                    format!("remediation.deny_flows[{i}]"),
                    why,
                    "list flows by their `flow_name`",
                );
            }
        }
        for (i, repo) in r.deny_repos.iter().enumerate() {
            check_repo(p, &format!("remediation.deny_repos[{i}]"), repo);
        }
        for (i, lockout) in r.lockouts.iter().enumerate() {
            check_lockout(p, &format!("remediation.lockouts[{i}]"), lockout);
        }
        for (i, playbook) in r.playbooks.iter().enumerate() {
            if !playbook.is_object() {
                p.push(
                    format!("remediation.playbooks[{i}]"),
                    "a playbook must be a mapping",
                    "write the playbook's keys (`name`, `category`, `message_regex`, `action`, ...) under the `-`",
                );
            }
        }
        for (i, file) in r.playbook_files.iter().enumerate() {
            if file.as_os_str().is_empty() {
                p.push(
                    format!("remediation.playbook_files[{i}]"),
                    "empty path",
                    "remove it",
                );
            }
        }
        if let Some(url) = &r.aws.endpoint_url {
            check_url(p, "remediation.aws.endpoint_url", url);
        }
    }

    fn check_auto_fix(&self, p: &mut Problems) {
        let a = &self.auto_fix;
        threshold(p, "auto_fix.confidence_threshold", a.confidence_threshold);
        positive(p, "auto_fix.test_timeout", a.test_timeout);
        non_negative(p, "auto_fix.max_daily_cost_usd", a.max_daily_cost_usd);
        if a.max_diff_lines == 0 {
            p.push(
                "auto_fix.max_diff_lines",
                "a limit of 0 changed lines refuses every fix",
                "leave it out (default 400) or set a positive number",
            );
        }
        match a.test_command.as_deref() {
            Some(cmd) if cmd.trim().is_empty() => p.push(
                "auto_fix.test_command",
                "the test command is empty",
                "set the command that runs the tests, e.g. `cargo test`",
            ),
            None if a.enabled => p.push(
                "auto_fix.test_command",
                "auto_fix is enabled but no test command is set; fixes are only proposed after the tests pass",
                "set `auto_fix.test_command`, e.g. `cargo test` or `pytest -q`",
            ),
            _ => {}
        }
        if a.scope.allow.is_empty() {
            p.push(
                "auto_fix.scope.allow",
                "an empty allow list lets a fix touch nothing",
                "leave it out (default `**`) or list the globs fixes may change",
            );
        }
        for (list, globs) in [("allow", &a.scope.allow), ("deny", &a.scope.deny)] {
            for (i, glob) in globs.iter().enumerate() {
                if glob.trim().is_empty() {
                    p.push(
                        format!("auto_fix.scope.{list}[{i}]"),
                        "empty glob",
                        "write a glob such as `src/**` or remove the entry",
                    );
                }
            }
        }
        for (i, label) in a.pr_labels.iter().enumerate() {
            if label.trim().is_empty() {
                p.push(
                    format!("auto_fix.pr_labels[{i}]"),
                    "empty label",
                    "remove it",
                );
            }
        }
    }

    fn check_scrub(&self, p: &mut Problems) {
        for (i, pattern) in self.scrub.patterns.iter().enumerate() {
            let key = format!("scrub.patterns[{i}]");
            let name_ok = !pattern.name.is_empty()
                && pattern
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !name_ok {
                p.push(
                    format!("{key}.name"),
                    "a pattern name must be letters, digits, `_` or `-`",
                    "name it like `internal_token`; it is shown as [REDACTED:name]",
                );
            }
            match regex::Regex::new(&pattern.regex) {
                Ok(re) if re.is_match("") => p.push(
                    format!("{key}.regex"),
                    "the regular expression matches the empty string",
                    "make it match at least one character (use `+` instead of `*`)",
                ),
                Ok(_) => {}
                Err(e) => p.push(
                    format!("{key}.regex"),
                    format!(
                        "invalid regular expression: {}",
                        crate::error::regex_gist(&e.to_string())
                    ),
                    "fix the expression (Rust `regex` syntax; no look-around or backreferences)",
                ),
            }
        }
        for (i, key) in self.scrub.keys.iter().enumerate() {
            if key.trim().is_empty() {
                p.push(format!("scrub.keys[{i}]"), "empty key name", "remove it");
            }
        }
    }
}

fn check_channel(p: &mut Problems, key: &str, channel: &ChannelConfig) {
    check_route(p, key, channel.route());
    match channel {
        ChannelConfig::Console(_) => {}
        ChannelConfig::Jsonl(c) => {
            if c.path.as_os_str().is_empty() {
                p.push(
                    format!("{key}.path"),
                    "the file path is empty",
                    "set `path`, e.g. `flow_doctor.jsonl`",
                );
            }
        }
        ChannelConfig::Github(c) => check_github(p, key, c),
        ChannelConfig::Slack(c) => {
            let k = format!("{key}.webhook_url");
            match &c.webhook_url {
                Some(url) if !url.is_empty() => check_secret_url(p, &k, url),
                _ => p.push(
                    k,
                    "a slack channel needs an incoming-webhook URL",
                    format!(
                        "set `webhook_url: ${{SLACK_WEBHOOK_URL}}` or export {}",
                        or_list(&SLACK_WEBHOOK_VARS)
                    ),
                ),
            }
            if let Some(t) = c.timeout {
                positive(p, &format!("{key}.timeout"), t);
            }
        }
        ChannelConfig::Email(c) => check_email(p, key, c),
        ChannelConfig::Telegram(c) => check_telegram(p, key, c),
        ChannelConfig::Webhook(c) => check_webhook(p, key, c),
    }
}

impl Config {
    /// Channel names (`name`, else the type) must be distinct: rate limits,
    /// actions and the digest are kept per name.
    fn check_channel_names(&self, p: &mut Problems) {
        let mut seen: Vec<(&str, usize)> = Vec::with_capacity(self.notify.len());
        for (i, channel) in self.notify.iter().enumerate() {
            let named = channel.route().name.as_deref();
            let name = named.unwrap_or(channel.kind());
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                let (key, fix) = match named {
                    Some(_) => (
                        format!("notify[{i}].name"),
                        "give each channel its own `name`".to_owned(),
                    ),
                    None => (
                        format!("notify[{i}]"),
                        format!(
                            "give this `{kind}` channel a `name` (e.g. `name: {kind}-2`); \
                             without one it would share `notify[{first}]`'s daily limit and history",
                            kind = channel.kind()
                        ),
                    ),
                };
                p.push(
                    key,
                    format!("a channel named `{name}` is already configured at notify[{first}]"),
                    fix,
                );
            } else {
                seen.push((name, i));
            }
        }
    }
}

fn check_route(p: &mut Problems, key: &str, route: &RouteConfig) {
    if let Some(name) = &route.name {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '#'));
        if !ok {
            p.push(
                format!("{key}.name"),
                format!("`{name}` is not a usable channel name"),
                "use up to 64 letters, digits, `-`, `_`, `.` or `#`, e.g. `slack-data`",
            );
        }
    }
    if route.notify_on.as_ref().is_some_and(Vec::is_empty) {
        p.push(
            format!("{key}.notify_on"),
            "an empty list means this channel never receives anything",
            "list severities (critical, error, warning, info) or remove the channel",
        );
    }
    if route.notify_on_category.as_ref().is_some_and(Vec::is_empty) {
        p.push(
            format!("{key}.notify_on_category"),
            "an empty list means this channel never receives anything",
            "list categories (TRANSIENT, DATA, CODE, CONFIG, EXTERNAL, INFRA) or leave it out for all",
        );
    }
}

fn check_github(p: &mut Problems, key: &str, c: &GithubChannelConfig) {
    if let Some(t) = c.timeout {
        positive(p, &format!("{key}.timeout"), t);
    }
    match c.repo.as_deref() {
        Some(repo) if !repo.is_empty() => check_repo(p, &format!("{key}.repo"), repo),
        _ => p.push(
            format!("{key}.repo"),
            "a github channel needs a repository",
            "set `repo: owner/name` on the channel or at the top level",
        ),
    }
    if missing(&c.token) {
        p.push(
            format!("{key}.token"),
            "a github channel needs a token",
            format!(
                "set `token` here or `github.token`, or export {}",
                or_list(&GITHUB_TOKEN_VARS)
            ),
        );
    }
    if let Some(url) = &c.base_url {
        check_url(p, &format!("{key}.base_url"), url);
    }
    for (i, label) in c.labels.iter().flatten().enumerate() {
        if label.trim().is_empty() {
            p.push(format!("{key}.labels[{i}]"), "empty label", "remove it");
        }
    }
    if c.fix_label.as_deref().is_some_and(|l| l.trim().is_empty()) {
        p.push(
            format!("{key}.fix_label"),
            "empty label",
            "leave it out (default `flow-doctor:fix`)",
        );
    }
    for (i, user) in c.assignees.iter().enumerate() {
        if user.trim().is_empty() || user.contains(char::is_whitespace) {
            p.push(
                format!("{key}.assignees[{i}]"),
                "not a GitHub user name",
                "write the login, e.g. `octocat`",
            );
        }
    }
}

fn check_email(p: &mut Problems, key: &str, c: &EmailConfig) {
    let host = c.smtp_host.trim();
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains("://") {
        p.push(
            format!("{key}.smtp_host"),
            "not a host name",
            "write the server's host name only, e.g. `smtp.example.com` (port in `smtp_port`)",
        );
    }
    if c.smtp_port == Some(0) {
        p.push(
            format!("{key}.smtp_port"),
            "port 0 is not a port",
            "leave it out or use 587, 465 or 25",
        );
    }
    if !looks_like_address(&c.from) {
        p.push(
            format!("{key}.from"),
            format!("`{}` is not an email address", c.from),
            "write `alerts@example.com` or `Alerts <alerts@example.com>`",
        );
    }
    if c.to.is_empty() {
        p.push(
            format!("{key}.to"),
            "no recipients",
            "list at least one address",
        );
    }
    for (i, to) in c.to.iter().enumerate() {
        if !looks_like_address(to) {
            p.push(
                format!("{key}.to[{i}]"),
                format!("`{to}` is not an email address"),
                "write `oncall@example.com` or `On call <oncall@example.com>`",
            );
        }
    }
    if let Some(ca) = &c.tls_ca_file {
        if c.security == SmtpSecurity::None {
            p.push(
                format!("{key}.tls_ca_file"),
                "a CA file is set but `security: none` uses no TLS",
                "use `security: starttls` or `tls`, or remove `tls_ca_file`",
            );
        } else {
            match std::fs::read_to_string(ca) {
                Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => {}
                Ok(_) => p.push(
                    format!("{key}.tls_ca_file"),
                    format!("`{}` holds no PEM certificate", ca.display()),
                    "point it at a PEM file with `-----BEGIN CERTIFICATE-----` blocks",
                ),
                Err(e) => p.push(
                    format!("{key}.tls_ca_file"),
                    format!("cannot read `{}`: {e}", ca.display()),
                    "fix the path (relative paths are from the working directory)",
                ),
            }
        }
    }
    if c.username.is_some() && missing(&c.password) {
        p.push(
            format!("{key}.password"),
            "a username is set but no password",
            format!(
                "set `password: ${{SMTP_PASSWORD}}` or export {}, or remove `username` for a relay without authentication",
                or_list(&SMTP_PASSWORD_VARS)
            ),
        );
    }
    if let Some(t) = c.timeout {
        positive(p, &format!("{key}.timeout"), t);
    }
}

fn check_telegram(p: &mut Problems, key: &str, c: &TelegramConfig) {
    if let Some(t) = c.timeout {
        positive(p, &format!("{key}.timeout"), t);
    }
    if missing(&c.bot_token) {
        p.push(
            format!("{key}.bot_token"),
            "a telegram channel needs a bot token",
            format!(
                "set `bot_token: ${{TELEGRAM_BOT_TOKEN}}` or export {}",
                or_list(&TELEGRAM_TOKEN_VARS)
            ),
        );
    }
    let chat = c.chat_id.trim();
    let numeric = chat.strip_prefix('-').unwrap_or(chat);
    let ok = (!numeric.is_empty() && numeric.chars().all(|c| c.is_ascii_digit()))
        || (chat.len() > 1
            && chat.starts_with('@')
            && chat[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if !ok {
        p.push(
            format!("{key}.chat_id"),
            "a chat id is a number (e.g. -1001234567890) or @channelname",
            "copy the chat id from the bot's getUpdates answer",
        );
    }
    if let Some(url) = &c.base_url {
        check_url(p, &format!("{key}.base_url"), url);
    }
}

fn check_webhook(p: &mut Problems, key: &str, c: &WebhookConfig) {
    if c.url.is_empty() {
        p.push(
            format!("{key}.url"),
            "the URL is empty",
            "set `url` to the endpoint to POST to",
        );
    } else {
        check_secret_url(p, &format!("{key}.url"), &c.url);
    }
    for name in c.headers.keys() {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !ok {
            p.push(
                format!("{key}.headers"),
                format!("`{name}` is not a valid header name"),
                "use letters, digits and `-`, e.g. `X-Api-Key`",
            );
        }
    }
    if let Some(t) = c.timeout {
        positive(p, &format!("{key}.timeout"), t);
    }
}

fn check_lockout(p: &mut Problems, key: &str, l: &LockoutConfig) {
    if parse_hhmm(&l.start, false).is_none() {
        p.push(
            format!("{key}.start"),
            format!("`{}` is not a time of day", l.start),
            "write HH:MM in 24-hour time, e.g. `09:30`",
        );
    }
    if parse_hhmm(&l.end, true).is_none() {
        p.push(
            format!("{key}.end"),
            format!("`{}` is not a time of day", l.end),
            "write HH:MM in 24-hour time, e.g. `16:00` (`24:00` for midnight)",
        );
    }
    for (i, day) in l.days.iter().enumerate() {
        if !is_day_spec(day) {
            p.push(
                format!("{key}.days[{i}]"),
                format!("`{day}` is not a day"),
                "use mon..sun (or full names), a range such as mon-fri, weekdays, weekends or daily",
            );
        }
    }
}

/// Whether `s` names days: `mon`..`sun`, full names, a range `mon-fri`
/// (wrapping: `fri-mon`), `weekdays`, `weekends`, `daily`, `every day`, `*`
/// (case-insensitive).
pub(crate) fn is_day_spec(s: &str) -> bool {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let day = |d: &str| {
        let d = d.trim().to_ascii_lowercase();
        DAY_NAMES.contains(&d.as_str()) || FULL.contains(&d.as_str())
    };
    let lower = s.trim().to_ascii_lowercase();
    match lower.as_str() {
        "weekdays" | "weekends" | "daily" | "every day" | "*" => true,
        _ => match lower.split_once('-') {
            Some((a, b)) => day(a) && day(b),
            None => day(&lower),
        },
    }
}

/// Minutes since midnight of `HH:MM`; `24:00` only when `allow_24`.
pub(crate) fn parse_hhmm(s: &str, allow_24: bool) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if !(1..=2).contains(&h.len()) || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_24 => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn check_flow_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the flow name is empty".to_owned());
    }
    if name.chars().count() > 128 {
        return Err("the flow name is longer than 128 characters".to_owned());
    }
    let ok = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` has characters other than letters, digits, `-`, `_`, `.`, `/`, `:` and `@`"
        ))
    }
}

fn check_repo(p: &mut Problems, key: &str, repo: &str) {
    let ok = repo.split_once('/').is_some_and(|(owner, name)| {
        !owner.is_empty()
            && owner.len() <= 39
            && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !name.is_empty()
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    if !ok {
        p.push(
            key,
            format!("`{repo}` is not a repository"),
            "write `owner/name`, e.g. `acme/pipelines`",
        );
    }
}

/// Whether `s` is an http(s) URL with a host. Returns the reason otherwise.
pub(crate) fn http_url_problem(s: &str) -> Option<&'static str> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return Some("not an http:// or https:// URL");
    };
    if s.contains(char::is_whitespace) {
        return Some("a URL cannot contain spaces");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, rest)) if rest.is_empty() || rest.starts_with(':') => {
                (h, rest.strip_prefix(':'))
            }
            _ => return Some("the URL's host is not valid"),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, port)) => (h, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Some("the URL has no host");
    }
    if port.is_some_and(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit())) {
        return Some("the URL's port is not a number");
    }
    None
}

fn check_url(p: &mut Problems, key: &str, url: &str) {
    if let Some(why) = http_url_problem(url) {
        p.push(
            key,
            why,
            "write the full URL, e.g. `https://api.example.com`",
        );
    }
}

fn check_secret_url(p: &mut Problems, key: &str, url: &Secret) {
    if let Some(why) = http_url_problem(url.expose()) {
        // The value is a secret: never echoed.
        p.push(key, why, "check the URL (it starts with https://)");
    }
}

fn looks_like_address(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.find('<'), s.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        (None, None) => s,
        _ => return false,
    };
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !addr.contains(char::is_whitespace)
        && !addr.contains(['<', '>', ','])
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '[' | ']' | ':'))
}

fn threshold(p: &mut Problems, key: &str, value: f64) {
    if !(0.0..=1.0).contains(&value) {
        p.push(
            key,
            format!("{value} is not a confidence between 0 and 1"),
            "use a value from 0.0 to 1.0, e.g. 0.9",
        );
    }
}

fn non_negative(p: &mut Problems, key: &str, value: f64) {
    if !value.is_finite() || value < 0.0 {
        p.push(
            key,
            format!("{value} is not 0 or more"),
            "use a non-negative number",
        );
    }
}

/// The longest `store.busy_timeout`: a write waiting longer for a lock
/// is a stuck job, and SQLite itself takes at most about 24 days.
const MAX_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

fn positive(p: &mut Problems, key: &str, d: HumanDuration) {
    if d.get().is_zero() {
        p.push(
            key,
            "the duration is 0",
            "use a duration above zero, e.g. `30s`",
        );
    }
}

fn provider_name(p: LlmProvider) -> &'static str {
    match p {
        LlmProvider::None => "none",
        LlmProvider::Anthropic => "anthropic",
        LlmProvider::Openai => "openai",
    }
}

fn or_list(vars: &[&str]) -> String {
    match vars {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    fn push(&mut self, key: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) {
        self.0
            .push(ConfigError::new(message).at_key(key).with_fix(fix));
    }
}
