//! The built-in rules: trigger literals found in one Aho-Corasick pass, and
//! for each a small hand-written matcher that looks only at the bytes
//! around the trigger (never across a newline, except for PEM blocks).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind, packed};

use super::MARKER_PREFIX;
use super::keys;

/// What a trigger literal announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    AwsKeyId,
    AwsContext,
    Github,
    GithubPat,
    Gitlab,
    SlackToken,
    SlackApp,
    SlackWebhook,
    DiscordWebhook,
    SkDash,
    Stripe,
    StripeWebhook,
    GcpApiKey,
    GcpClientSecret,
    GcpOauth,
    Npm,
    HuggingFace,
    Pypi,
    Jwt,
    Bearer,
    Pem,
    /// `-----END`: a private key's last line, maybe without its BEGIN.
    PemEnd,
    Url,
    /// `:\/\/`: a URL inside a JSON string whose encoder escapes `/`.
    UrlEscaped,
    Telegram,
    Marker,
    KeyWord,
    /// A client that takes a password as an argument (`curl`, `mysql`).
    Command,
}

/// The clients [`Family::Command`] knows, by how they take a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    /// `curl -u user:pw`, `--user`, `-U` / `--proxy-user`.
    Curl,
    /// `mysql -ppw` and the other MySQL / MariaDB clients.
    Mysql,
    /// `sshpass -p pw`.
    Sshpass,
    /// `redis-cli -a pw`, `--pass pw`.
    RedisCli,
}

/// Trigger literals of four bytes or more: a SIMD (Teddy) search over
/// them rarely stops on ordinary text.
const LONG_TRIGGERS: &[(&str, Family)] = &[
    ("-----BEGIN", Family::Pem),
    ("-----END", Family::PemEnd),
    ("[REDACTED:", Family::Marker),
    (":\\/\\/", Family::UrlEscaped),
    ("AKIA", Family::AwsKeyId),
    ("ASIA", Family::AwsKeyId),
    ("github_pat_", Family::GithubPat),
    ("ghp_", Family::Github),
    ("gho_", Family::Github),
    ("ghu_", Family::Github),
    ("ghs_", Family::Github),
    ("ghr_", Family::Github),
    ("glpat-", Family::Gitlab),
    ("xoxb", Family::SlackToken),
    ("xoxp", Family::SlackToken),
    ("xoxa", Family::SlackToken),
    ("xoxr", Family::SlackToken),
    ("xoxs", Family::SlackToken),
    ("xoxe", Family::SlackToken),
    ("xapp-", Family::SlackApp),
    ("hooks.slack.com/", Family::SlackWebhook),
    ("/api/webhooks/", Family::DiscordWebhook),
    ("k_live_", Family::Stripe),
    ("k_test_", Family::Stripe),
    ("whsec_", Family::StripeWebhook),
    ("AIza", Family::GcpApiKey),
    ("GOCSPX-", Family::GcpClientSecret),
    ("ya29.", Family::GcpOauth),
    ("npm_", Family::Npm),
    ("pypi-AgE", Family::Pypi),
    ("Bearer", Family::Bearer),
    ("bearer", Family::Bearer),
    ("curl", Family::Command),
    ("mysql", Family::Command),
    ("mariadb", Family::Command),
    ("sshpass", Family::Command),
    ("redis-cli", Family::Command),
];

/// Three-byte trigger literals, searched together with the key-name stems.
const SHORT_TRIGGERS: &[(&str, Family)] = &[
    ("aws", Family::AwsContext),
    ("AWS", Family::AwsContext),
    ("Aws", Family::AwsContext),
    ("sk-", Family::SkDash),
    ("hf_", Family::HuggingFace),
    ("eyJ", Family::Jwt),
    ("://", Family::Url),
    (":AA", Family::Telegram),
    // `GH_PAT=...`: upper-case only (`PATH`, `PATCH` are cheap to rule out).
    ("PAT", Family::KeyWord),
];

/// Stems of secret-looking key names, searched as `stem`, `STEM` and
/// `Stem`; [`keys::classify`] decides on the whole key.
const KEY_WORDS: &[&str] = &[
    "pass", "pwd", "secret", "token", "auth", "cred", "cookie", "session", "key", "sig",
];

/// The names of the built-in rules, as they appear in `[REDACTED:name]`
/// (assignments are named after their key: `password`, `token`, ...).
pub(super) const BUILTIN_NAMES: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "github_token",
    "gitlab_token",
    "slack_token",
    "slack_webhook",
    "discord_webhook",
    "anthropic_key",
    "openai_key",
    "stripe_key",
    "stripe_webhook_secret",
    "gcp_api_key",
    "gcp_client_secret",
    "gcp_oauth_token",
    "npm_token",
    "huggingface_token",
    "pypi_token",
    "jwt",
    "bearer",
    "basic",
    "private_key",
    "url_password",
    "telegram_bot_token",
    "<key>=value",
];

/// Priority of a built-in or user rule when two matches overlap: the
/// merged span is named after the highest.
pub(super) mod prio {
    pub(crate) const PEM: u8 = 100;
    pub(crate) const USER: u8 = 95;
    pub(crate) const HEADER: u8 = 90;
    pub(crate) const TOKEN: u8 = 80;
    pub(crate) const JWT: u8 = 70;
    pub(crate) const URL: u8 = 60;
    pub(crate) const AWS_SECRET: u8 = 50;
    pub(crate) const ASSIGNMENT: u8 = 40;
}

/// A multi-literal searcher: Teddy (SIMD) where the CPU has it, a plain
/// Aho-Corasick automaton otherwise.
#[derive(Clone, Debug)]
enum Finder {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Finder {
    fn new(patterns: &[String]) -> Self {
        let mut builder = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder();
        builder.extend(patterns);
        match builder.build() {
            Some(searcher) => Self::Packed(searcher),
            // Static patterns: building cannot fail (no size limit is set).
            None => Self::Automaton(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(patterns)
                    .unwrap_or_else(|e| unreachable!("static trigger set: {e}")),
            ),
        }
    }

    /// Calls `f(start, end, pattern index)` for each leftmost-first match.
    #[inline]
    fn for_each(&self, hay: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        match self {
            Self::Packed(s) => {
                for m in s.find_iter(hay) {
                    f(m.start(), m.end(), m.pattern().as_usize());
                }
            }
            Self::Automaton(a) => {
                for m in a.find_iter(hay) {
                    f(m.start(), m.end(), m.pattern().as_usize());
                }
            }
        }
    }
}

/// The compiled trigger searchers: one over the long literals, one over
/// the short literals and key-name stems. Two passes of the SIMD search
/// with a few patterns each beat one pass with many (fewer false
/// candidates per bucket).
#[derive(Clone, Debug)]
pub(super) struct Triggers {
    long: Finder,
    long_families: Vec<Family>,
    short: Finder,
    short_families: Vec<Family>,
}

impl Triggers {
    pub(super) fn new() -> Self {
        let long: Vec<String> = LONG_TRIGGERS
            .iter()
            .map(|(l, _)| (*l).to_string())
            .collect();
        let long_families = LONG_TRIGGERS.iter().map(|(_, f)| *f).collect();
        let mut short: Vec<String> = SHORT_TRIGGERS
            .iter()
            .map(|(l, _)| (*l).to_string())
            .collect();
        let mut short_families: Vec<Family> = SHORT_TRIGGERS.iter().map(|(_, f)| *f).collect();
        for w in KEY_WORDS {
            let mut title = w.to_string();
            title[..1].make_ascii_uppercase();
            for v in [w.to_string(), w.to_ascii_uppercase(), title] {
                short.push(v);
                short_families.push(Family::KeyWord);
            }
        }
        Self {
            long: Finder::new(&long),
            long_families,
            short: Finder::new(&short),
            short_families,
        }
    }
}

/// One found secret: bytes `start..end` become `[REDACTED:name]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hit<'s> {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) name: &'s str,
    pub(super) prio: u8,
}

/// Classifies a key, consulting the user's extra key names too.
pub(super) trait KeyOracle {
    fn secret_key_name(&self, key: &str) -> Option<&str>;

    /// Whether `name` is the name of one of the user's rules (a pattern or
    /// a key), as it appears in `[REDACTED:name]`.
    fn is_user_rule_name(&self, name: &str) -> bool;
}

/// The longest rule name a marker is looked for with.
const MAX_MARKER_NAME: usize = 64;

/// The length of the marker at the start of `s`, when it is one this
/// scrubber writes: `[REDACTED:<name>]` where `<name>` is a built-in rule
/// name (`[a-z0-9_-]`, see [`is_builtin_marker_name`]) or a configured
/// rule's name. Anything else after `[REDACTED:` (`[REDACTED: password=x]`)
/// is ordinary text and is scanned like the rest.
pub(super) fn marker_len(s: &[u8], keys: &impl KeyOracle) -> Option<usize> {
    let rest = s.strip_prefix(MARKER_PREFIX.as_bytes())?;
    let close = rest
        .iter()
        .take(MAX_MARKER_NAME + 1)
        .position(|&c| c == b']')?;
    // `[` and `]` are ASCII: the name is a whole UTF-8 string.
    let name = std::str::from_utf8(&rest[..close]).ok()?;
    (is_builtin_marker_name(name) || keys.is_user_rule_name(name))
        .then_some(MARKER_PREFIX.len() + close + 1)
}

/// A name the built-in rules write: a rule name or a key concept
/// (`password`, `secret_key`), all of them `[a-z0-9_-]`.
fn is_builtin_marker_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
        && (BUILTIN_NAMES.contains(&name) || keys::CONCEPT_NAMES.contains(&name))
}

/// The state of one scan over one text.
pub(super) struct Scan<'t, 's> {
    text: &'t str,
    b: &'t [u8],
    pub(super) hits: Vec<Hit<'s>>,
    /// Existing `[REDACTED:...]` markers: nothing inside them is touched.
    pub(super) protected: Vec<(usize, usize)>,
    /// Triggers before this offset are inside a PEM body or a marker.
    skip_to: usize,
    /// Markers and PEM bodies, in order: the second pass skips them.
    skips: Vec<(usize, usize)>,
    last_ident_end: usize,
    last_aws_line: Option<usize>,
    /// The `-----END` line that closed the last PEM block with a BEGIN.
    pem_end: Option<usize>,
    /// Recently classified keys (offset and length of an earlier
    /// occurrence in this text, and the verdict): logs repeat their keys.
    key_cache: [(usize, usize, Option<&'s str>); 16],
}

impl<'t, 's> Scan<'t, 's> {
    pub(super) fn new(text: &'t str) -> Self {
        Self {
            text,
            b: text.as_bytes(),
            hits: Vec::new(),
            protected: Vec::new(),
            skip_to: 0,
            skips: Vec::new(),
            last_ident_end: 0,
            last_aws_line: None,
            pem_end: None,
            key_cache: [(0, 0, None); 16],
        }
    }

    /// Runs the built-in rules.
    pub(super) fn builtin(&mut self, triggers: &Triggers, keys: &'s impl KeyOracle) {
        triggers.long.for_each(self.b, |s, e, p| {
            if s >= self.skip_to {
                self.dispatch(triggers.long_families[p], s, e, keys);
            }
        });
        // Second pass: skip what the first found to be markers or PEM
        // bodies (sorted, so a cursor suffices).
        let skips = std::mem::take(&mut self.skips);
        let mut cursor = 0;
        self.last_aws_line = None;
        triggers.short.for_each(self.b, |s, e, p| {
            while cursor < skips.len() && skips[cursor].1 <= s {
                cursor += 1;
            }
            if cursor < skips.len() && skips[cursor].0 <= s {
                return;
            }
            self.dispatch(triggers.short_families[p], s, e, keys);
        });
        self.skips = skips;
    }

    /// Runs the key-value rule for triggers from the user's key names.
    pub(super) fn user_keys(&mut self, ac: &AhoCorasick, keys: &'s impl KeyOracle) {
        self.last_ident_end = 0;
        for m in ac.find_iter(self.b) {
            if self.in_protected(m.start()) {
                continue;
            }
            self.assignment(m.start(), m.end(), keys);
        }
    }

    /// Records a user pattern's match.
    pub(super) fn push_user(&mut self, start: usize, end: usize, name: &'s str) {
        self.push(start, end, name, prio::USER);
    }

    fn in_protected(&self, at: usize) -> bool {
        self.protected.iter().any(|&(s, e)| s <= at && at < e)
    }

    fn push(&mut self, start: usize, end: usize, name: &'s str, prio: u8) {
        if start < end {
            self.hits.push(Hit {
                start,
                end,
                name,
                prio,
            });
        }
    }

    fn dispatch(&mut self, fam: Family, s: usize, e: usize, keys: &'s impl KeyOracle) {
        let b = self.b;
        match fam {
            Family::Marker => {
                if let Some(len) = marker_len(&b[s..], keys) {
                    self.protected.push((s, s + len));
                    self.skips.push((s, s + len));
                    self.skip_to = s + len;
                }
            }
            Family::AwsKeyId => {
                if word_start(b, s)
                    && run(b, e, |c| c.is_ascii_uppercase() || c.is_ascii_digit()) >= e + 16
                {
                    let end = e + 16;
                    if !b.get(end).is_some_and(u8::is_ascii_alphanumeric) {
                        self.push(s, end, "aws_access_key_id", prio::TOKEN);
                        self.aws_line(s);
                    }
                }
            }
            Family::AwsContext => self.aws_line(s),
            Family::Github => {
                let end = run(b, e, |c| c.is_ascii_alphanumeric());
                if ident_start(b, s) && end - e >= 36 {
                    self.push(s, end, "github_token", prio::TOKEN);
                }
            }
            Family::GithubPat => {
                let end = run(b, e, is_word);
                if ident_start(b, s) && end - e >= 22 {
                    self.push(s, end, "github_token", prio::TOKEN);
                }
            }
            Family::Gitlab => self.prefixed(s, e, 20, is_token, "gitlab_token"),
            Family::SlackToken => {
                if b.get(e) == Some(&b'-') {
                    self.prefixed(s, e + 1, 10, is_slack, "slack_token");
                }
            }
            Family::SlackApp => self.prefixed(s, e, 10, is_slack, "slack_token"),
            Family::SlackWebhook => {
                // hooks.slack.com/services/T000/B000/XXXX: keep the kind.
                let kind_end = run(b, e, |c| c.is_ascii_alphabetic());
                if b.get(kind_end) == Some(&b'/') {
                    let start = kind_end + 1;
                    let end = run(b, start, |c| {
                        c.is_ascii_alphanumeric() || c == b'/' || c == b'_' || c == b'-'
                    });
                    if end - start >= 8 {
                        self.push(start, end, "slack_webhook", prio::TOKEN);
                    }
                }
            }
            Family::DiscordWebhook => {
                let before = &b[s.saturating_sub(40)..s];
                if before.windows(7).any(|w| w == b"discord") {
                    let end = run(b, e, |c| {
                        c.is_ascii_alphanumeric() || c == b'/' || c == b'_' || c == b'-'
                    });
                    if end - e >= 20 {
                        self.push(e, end, "discord_webhook", prio::TOKEN);
                    }
                }
            }
            Family::SkDash => self.sk_dash(s, e),
            Family::Stripe => {
                // `sk_live_` / `rk_test_`: the trigger starts at the `k`.
                if s >= 1 && matches!(b[s - 1], b's' | b'r') && ident_start(b, s - 1) {
                    let end = run(b, e, |c| c.is_ascii_alphanumeric());
                    if end - e >= 10 {
                        self.push(s - 1, end, "stripe_key", prio::TOKEN);
                    }
                }
            }
            Family::StripeWebhook => self.prefixed(s, e, 20, is_base64, "stripe_webhook_secret"),
            Family::GcpApiKey => self.prefixed(s, e, 35, is_token, "gcp_api_key"),
            Family::GcpClientSecret => self.prefixed(s, e, 20, is_token, "gcp_client_secret"),
            Family::GcpOauth => {
                self.prefixed(s, e, 20, |c| is_token(c) || c == b'.', "gcp_oauth_token")
            }
            Family::Npm => self.prefixed(s, e, 36, |c| c.is_ascii_alphanumeric(), "npm_token"),
            Family::HuggingFace => {
                let end = run(b, e, |c| c.is_ascii_alphanumeric());
                let tok = &b[e..end];
                if ident_start(b, s)
                    && tok.len() >= 30
                    && tok.iter().any(u8::is_ascii_uppercase)
                    && tok.iter().any(u8::is_ascii_lowercase)
                {
                    self.push(s, end, "huggingface_token", prio::TOKEN);
                }
            }
            Family::Pypi => self.prefixed(s, e, 50, is_token, "pypi_token"),
            Family::Jwt => self.jwt(s),
            Family::Bearer => {
                if !word_start(b, s) {
                    return;
                }
                let ts = run(b, e, |c| c == b' ' || c == b'\t');
                if ts == e {
                    return;
                }
                let te = run(b, ts, is_bearer_char);
                let tok = &b[ts..te];
                if tok.len() >= 8 && (tok.iter().any(u8::is_ascii_digit) || tok.len() >= 20) {
                    self.push(ts, te, "bearer", prio::HEADER);
                }
            }
            Family::Pem => self.pem(e, keys),
            Family::PemEnd => self.pem_tail(s, e),
            Family::Url => self.url(e, false),
            Family::UrlEscaped => self.url(e, true),
            Family::Telegram => self.telegram(s),
            Family::KeyWord => self.assignment(s, e, keys),
            Family::Command => self.command(s, e, keys),
        }
    }

    /// Credentials on a command line, the secret part only: `curl -u
    /// user:pw` (`--user`, `-U`, `--proxy-user`: what follows the first
    /// `:`), `mysql -ppw` (any MySQL or MariaDB client; `-p` alone
    /// prompts), `sshpass -p pw`, `redis-cli -a pw` (`--pass`). Reads shell
    /// words (quoted or not) and Python argument lists (`['mysql',
    /// '-ppw']`) up to the end of the line, a shell operator or one of our
    /// markers. A reference
    /// (`$PW`), a placeholder or a file (`sshpass -f`) stays; `--password
    /// pw` is an assignment (see [`Scan::assignment`]).
    fn command(&mut self, s: usize, e: usize, keys: &impl KeyOracle) {
        let b = self.b;
        if s > 0 && (is_token(b[s - 1]) || b[s - 1] == b'.') {
            return;
        }
        let name_end = run(b, e, |c| c.is_ascii_lowercase() || c == b'-');
        let tool = match &b[s..name_end] {
            b"curl" => Tool::Curl,
            b"sshpass" => Tool::Sshpass,
            b"redis-cli" => Tool::RedisCli,
            // `mysql`, `mysqldump`, `mariadb`, `mariadb-dump`; not the
            // `mysql-client` package.
            n if n.starts_with(b"mysql") && !n.contains(&b'-') => Tool::Mysql,
            n if n.starts_with(b"mariadb") && !n.ends_with(b"-") => Tool::Mysql,
            _ => return,
        };
        let mut i = name_end;
        if matches!(b.get(i), Some(b'\'' | b'"')) {
            i += 1;
            if b.get(i) == Some(&b',') {
                i += 1;
            }
        }
        if !b.get(i).is_some_and(|&c| is_blank(c)) {
            return;
        }
        let limit = floor_char_boundary(self.text, (i + 4096).min(b.len()));
        // The previous word was an option whose value is the credential.
        let mut value_of: Option<&[u8]> = None;
        while let Some((end, ws, we)) = shell_word(&b[..limit], i) {
            // One of our markers ends the arguments: the scan that wrote it
            // read what follows, and what it replaced (a newline in a key
            // body, a `|` in a value) may have ended them there.
            if b[i..end]
                .windows(MARKER_PREFIX.len())
                .enumerate()
                .any(|(k, x)| {
                    x == MARKER_PREFIX.as_bytes() && marker_len(&b[i + k..], keys).is_some()
                })
            {
                return;
            }
            i = end;
            let w = &b[ws..we];
            if let Some(opt) = value_of.take() {
                self.command_secret(opt, ws, we, tool == Tool::Curl);
                continue;
            }
            match tool {
                Tool::Curl => match w {
                    b"-u" | b"--user" | b"-U" | b"--proxy-user" => value_of = Some(w),
                    _ if w.starts_with(b"--user=") => {
                        self.command_secret(b"--user", ws + 7, we, true);
                    }
                    _ if w.starts_with(b"--proxy-user=") => {
                        self.command_secret(b"--proxy-user", ws + 13, we, true);
                    }
                    [b'-', b'u' | b'U', c, ..] if *c != b'-' => {
                        self.command_secret(&w[..2], ws + 2, we, true);
                    }
                    _ => {}
                },
                Tool::Mysql => {
                    if let [b'-', b'p', c, ..] = w
                        && *c != b'-'
                    {
                        self.command_secret(b"-p", ws + 2, we, false);
                    }
                }
                Tool::Sshpass => match w {
                    b"-p" => value_of = Some(w),
                    // Options with a value that is not the password.
                    b"-f" | b"-d" | b"-P" => value_of = Some(b""),
                    [b'-', b'p', ..] => self.command_secret(b"-p", ws + 2, we, false),
                    [b'-', ..] => {}
                    // The wrapped command: its options are its own.
                    _ => return,
                },
                Tool::RedisCli => {
                    if matches!(w, b"-a" | b"--pass") {
                        value_of = Some(w);
                    }
                }
            }
        }
    }

    /// Records `ws..we` (one command-line value, maybe quoted) as a
    /// password, or what follows its first `:` when `after_user`
    /// (`user:pw`). `opt` is the option it belongs to; empty for the
    /// value of an option that does not hold a password.
    fn command_secret(&mut self, opt: &[u8], mut ws: usize, mut we: usize, after_user: bool) {
        let b = self.b;
        if opt.is_empty() {
            return;
        }
        if we >= ws + 2 && matches!(b[ws], b'\'' | b'"') && b[we - 1] == b[ws] {
            ws += 1;
            we -= 1;
        }
        if after_user {
            match b[ws..we].iter().position(|&c| c == b':') {
                Some(c) => ws += c + 1,
                None => return,
            }
        }
        let opt = std::str::from_utf8(opt).unwrap_or_default();
        if let Some(value) = self.text.get(ws..we)
            && !value.is_empty()
            && !keys::is_non_secret_value(opt, value)
        {
            self.push(ws, we, "password", prio::ASSIGNMENT);
        }
    }

    /// [`KeyOracle::secret_key_name`] for `text[ks..ie]`, remembering
    /// recent answers.
    fn classify_cached(
        &mut self,
        ks: usize,
        ie: usize,
        keys: &'s impl KeyOracle,
    ) -> Option<&'s str> {
        let b = self.b;
        let key = &b[ks..ie];
        let slot =
            (key.len() ^ (usize::from(key[0]) * 7) ^ (usize::from(key[key.len() - 1]) * 31)) & 15;
        let (cs, cl, verdict) = self.key_cache[slot];
        if cl == key.len() && cl > 0 && &b[cs..cs + cl] == key {
            return verdict;
        }
        let verdict = keys.secret_key_name(&self.text[ks..ie]);
        self.key_cache[slot] = (ks, ie - ks, verdict);
        verdict
    }

    /// `prefix` + at least `min` bytes of `class`, starting at an
    /// identifier boundary.
    fn prefixed(&mut self, s: usize, e: usize, min: usize, class: fn(u8) -> bool, name: &'s str) {
        let end = run(self.b, e, class);
        if ident_start(self.b, s) && end - e >= min {
            self.push(s, end, name, prio::TOKEN);
        }
    }

    /// `sk-ant-...` (Anthropic) and `sk-...` / `sk-proj-...` (OpenAI).
    fn sk_dash(&mut self, s: usize, e: usize) {
        let b = self.b;
        if s > 0 && (is_token(b[s - 1])) {
            return;
        }
        let end = run(b, e, is_token);
        let body = &b[e..end];
        if body.starts_with(b"ant-") {
            if body.len() >= 24 {
                self.push(s, end, "anthropic_key", prio::TOKEN);
            }
        } else if body.len() >= 20
            && body.iter().any(u8::is_ascii_digit)
            && body.iter().any(u8::is_ascii_alphabetic)
        {
            self.push(s, end, "openai_key", prio::TOKEN);
        }
    }

    /// `eyJ<header>.<payload>.<signature>` (and five-part JWE).
    fn jwt(&mut self, s: usize) {
        let b = self.b;
        if s > 0 && (is_token(b[s - 1]) || b[s - 1] == b'.') {
            return;
        }
        let h = run(b, s, is_token);
        if h - s < 10 || b.get(h) != Some(&b'.') {
            return;
        }
        let p = run(b, h + 1, is_token);
        if p - (h + 1) < 4 || b.get(p) != Some(&b'.') {
            return;
        }
        let mut end = run(b, p + 1, is_token);
        for _ in 0..2 {
            if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(|&c| is_token(c)) {
                end = run(b, end + 1, is_token);
            } else {
                break;
            }
        }
        self.push(s, end, "jwt", prio::JWT);
    }

    /// A PEM private key block: the body between the BEGIN and END lines.
    fn pem(&mut self, e: usize, keys: &impl KeyOracle) {
        let b = self.b;
        if b.get(e) != Some(&b' ') {
            return;
        }
        let label_end = run(b, e + 1, |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' '
        });
        if !b[label_end..].starts_with(b"-----") {
            return;
        }
        let label = &self.text[e + 1..label_end];
        if !label.contains("PRIVATE KEY") {
            return;
        }
        let body_start = label_end + 5;
        let window_end = floor_char_boundary(self.text, (body_start + 65_536).min(b.len()));
        let body_end = match self.text[body_start..window_end].find("-----END") {
            Some(off) => {
                self.pem_end = Some(body_start + off);
                body_start + off
            }
            None => pem_body_without_end(b, body_start),
        };
        let (bs, be) = trim_pem_body(b, body_start, body_end);
        if bs < be && marker_len(&b[bs..be], keys).is_none() {
            self.push(bs, be, "private_key", prio::PEM);
            self.skips.push((bs, be));
            self.skip_to = self.skip_to.max(be);
        }
    }

    /// A private key's END line with no BEGIN before it: the text is the
    /// tail of a longer output (the last 4 KB of stderr). The base64 lines
    /// right before the END line are the key body: back to the start of
    /// the text, or to the first line that is not body. Body lines are
    /// whole lines (separated by newlines or JSON's `\n`, maybe indented)
    /// of base64 of 40 bytes or more; the last one, a PGP checksum
    /// (`=AbCd`) and the line the text starts with may be shorter, and the
    /// first one may follow other text on its line. The END line stays, as
    /// with a BEGIN.
    fn pem_tail(&mut self, s: usize, e: usize) {
        let b = self.b;
        if self.pem_end == Some(s) || b.get(e) != Some(&b' ') {
            return;
        }
        let label_end = run(b, e + 1, |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' '
        });
        if !b[label_end..].starts_with(b"-----")
            || !self.text[e + 1..label_end].contains("PRIVATE KEY")
        {
            return;
        }
        let mut body: Option<(usize, usize)> = None;
        let (mut lines, mut checksum) = (0, false);
        let mut at = s;
        while let Some(line_end) = line_break_before(b, at) {
            let mut ls = line_end;
            while ls > 0 && is_base64(b[ls - 1]) && !(ls >= 2 && &b[ls - 2..ls] == b"\\n") {
                ls -= 1;
            }
            let len = line_end - ls;
            let first_in_text = run_back_blanks(b, ls) == 0;
            let whole = first_in_text
                || line_break_before(b, ls).is_some()
                || matches!(b[ls - 1], b'"' | b'\'');
            let short_ok = lines == 0 || (lines == 1 && checksum) || first_in_text;
            if len == 0 || !(len >= 40 || (whole && short_ok)) {
                break;
            }
            if lines == 0 {
                checksum = b[ls] == b'=';
            }
            lines += 1;
            body = Some((ls, body.map_or(line_end, |(_, end)| end)));
            if !whole || first_in_text {
                break;
            }
            at = ls;
        }
        if let Some((start, end)) = body {
            self.push(start, end, "private_key", prio::PEM);
            let pos = self.skips.partition_point(|&(a, _)| a < start);
            self.skips.insert(pos, (start, end));
        }
    }

    /// `scheme://user:password@host`: the password only.
    ///
    /// Generated passwords hold unencoded `/`, `?`, `#` and `@`, so the
    /// password runs to the *last* `@` that is followed by a host (a name
    /// or `[v6]` literal, an optional port, several of them separated by
    /// commas) which ends the authority (at `/`, `?`, `#`, a space, a
    /// quote, the end). An `@` elsewhere is not userinfo:
    /// - without `user:` right after `://` there is no password
    ///   (`https://example.com/a@b`, `ssh://git@host/r`);
    /// - `host:8443/`, digits then the end of the authority, is a port
    ///   (`https://host:8443/x?email=a@b.c`); `C:/` is a drive letter;
    /// - once a host has been seen, `?` or `#` starts the query or the
    ///   fragment (`...@db/prod?user=ops@example.com`);
    /// - once a host has been seen, `/@` starts a path segment
    ///   (`https://u:pw@registry.example.com/@scope/pkg`, `/@user`).
    ///
    /// Any other `@` in a path (`https://u:pw@host/a@b`) cannot be told
    /// from a password holding `@` and `/` (`u:p@ss/w0rd@host`): the
    /// longer span is redacted. When no `@` is followed by a host, the
    /// password runs to the last `@` before the first `/`, `?` or `#`
    /// (`u:pw@h!x`).
    /// `escaped`: the URL is in a JSON string whose encoder escapes `/`
    /// (`postgres:\/\/u:pw@db\/prod`).
    fn url(&mut self, e: usize, escaped: bool) {
        let b = self.b;
        let limit = (e + 512).min(b.len());
        let colon = run(&b[..limit], e, is_userinfo);
        if b.get(colon) != Some(&b':') {
            return;
        }
        let ps = colon + 1;
        if colon - e == 1 && b[e].is_ascii_alphabetic() && matches!(b.get(ps), Some(b'/' | b'\\')) {
            return;
        }
        let digits = run(&b[..limit], ps, |c| c.is_ascii_digit());
        if (1..=5).contains(&(digits - ps)) && ends_authority(b, digits) {
            return;
        }
        let mut i = ps;
        // The last `@` followed by a host, and the last before any `/`,
        // `?`, `#` (the rule for text that has no host).
        let (mut at, mut unsliced) = (None, None);
        let mut sliced = false;
        while i < limit {
            let c = b[i];
            if c == b'\\' {
                if escaped && b.get(i + 1) == Some(&b'/') {
                    sliced = true;
                    i += 2;
                    continue;
                }
                break;
            }
            if c.is_ascii_whitespace() || b"\"'<>`{}|^".contains(&c) {
                break;
            }
            match c {
                b'?' | b'#' if at.is_some() => break,
                b'/' | b'?' | b'#' => sliced = true,
                b'@' => {
                    if !sliced {
                        unsliced = Some(i);
                    }
                    if let Some(end) = host_end(&b[..limit], i + 1) {
                        if at.is_none() || !matches!(b[i - 1], b'/') {
                            at = Some(i);
                        }
                        i = end;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if let Some(at) = at.or(unsliced)
            && ps < at
        {
            self.push(ps, at, "url_password", prio::URL);
        }
    }

    /// `123456789:AA...`: keep the bot id, redact the secret.
    fn telegram(&mut self, s: usize) {
        let b = self.b;
        let mut d = s;
        while d > 0 && b[d - 1].is_ascii_digit() {
            d -= 1;
        }
        let digits = s - d;
        if !(5..=16).contains(&digits) {
            return;
        }
        let boundary = d == 0 || !is_word(b[d - 1]) || (d >= 3 && &b[d - 3..d] == b"bot");
        let end = run(b, s + 1, is_token);
        if boundary && (30..=50).contains(&(end - s - 1)) {
            self.push(s + 1, end, "telegram_bot_token", prio::TOKEN);
        }
    }

    /// A line mentioning AWS: 40-character base64 tokens on it are secret
    /// access keys.
    fn aws_line(&mut self, at: usize) {
        let b = self.b;
        let ls = b[..at]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        if self.last_aws_line == Some(ls) {
            return;
        }
        self.last_aws_line = Some(ls);
        let le = b[at..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |p| at + p);
        let mut i = ls;
        while i < le {
            if !is_aws_secret_char(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < le && is_aws_secret_char(b[i]) {
                i += 1;
            }
            if i - start == 40 && is_aws_secret(b, start, i) {
                self.push(start, i, "aws_secret_access_key", prio::AWS_SECRET);
            }
        }
    }

    /// `key=value`, `key: value`, `"key": "value"`, `--key value`,
    /// `<key>value</key>` with a secret-looking key.
    fn assignment(&mut self, s: usize, e: usize, keys: &'s impl KeyOracle) {
        let b = self.b;
        // The whole identifier around the trigger, bounded.
        let lim_back = s.saturating_sub(64);
        let mut is = s;
        while is > lim_back && is_ident(b[is - 1]) {
            is -= 1;
        }
        if is == lim_back && is > 0 && is_ident(b[is - 1]) {
            return;
        }
        if is < self.last_ident_end {
            return;
        }
        let lim_fwd = (e + 64).min(b.len());
        let mut ie = e;
        while ie < lim_fwd && is_ident(b[ie]) {
            ie += 1;
        }
        if ie == lim_fwd && ie < b.len() && is_ident(b[ie]) {
            return;
        }
        self.last_ident_end = ie;
        while ie > e && matches!(b[ie - 1], b'.' | b'-') {
            ie -= 1;
        }
        let ks = run(b, is, |c| c == b'-');
        let flag = ks > is;
        if ks >= ie || (is >= 2 && &b[is - 2..is] == b"//") {
            return;
        }

        // Closing quote of a quoted key: "key", 'key', \"key\".
        let mut p = ie;
        let mut quoted = false;
        if is >= 1 && matches!(b[is - 1], b'"' | b'\'') && b.get(p) == Some(&b[is - 1]) {
            p += 1;
            quoted = true;
        } else if is >= 2 && &b[is - 2..is] == b"\\\"" && b[p..].starts_with(b"\\\"") {
            p += 2;
            quoted = true;
        }
        let xml = is >= 1 && b[is - 1] == b'<' && b.get(p) == Some(&b'>');
        let after_key = p;
        p = run(b, p, is_blank);
        let spaced = p > after_key;
        let colon = !xml && b.get(p) == Some(&b':') && b.get(p + 1) != Some(&b'=');
        let value_start = match b.get(p) {
            _ if xml => after_key + 1,
            Some(b'=') => {
                if b.get(p + 1) == Some(&b'=') {
                    return;
                }
                p += 1;
                if b.get(p) == Some(&b'>') {
                    p += 1;
                }
                // `key = value` and `key= "value"`, but in `token= next=1`
                // the token is empty.
                let vs = run(b, p, is_blank);
                let quote_next = b.get(vs).is_some_and(|c| matches!(c, b'"' | b'\''));
                if spaced || quote_next { vs } else { p }
            }
            Some(b':') if !spaced || quoted => {
                match b.get(p + 1) {
                    Some(b':') | Some(b'/') => return,
                    Some(b'=') => p += 2,
                    _ => p += 1,
                }
                run(b, p, is_blank)
            }
            Some(c) if flag && spaced && *c != b'-' && !is_line_end(*c) => p,
            // `.netrc`: `machine h login u password pw`.
            Some(c)
                if spaced
                    && !flag
                    && !quoted
                    && !is_line_end(*c)
                    && &b[ks..ie] == b"password"
                    && after_netrc_word(b, ks) =>
            {
                p
            }
            _ => return,
        };
        let key = &self.text[ks..ie];
        let Some(name) = self.classify_cached(ks, ie, keys) else {
            return;
        };
        let (vs, ve) = if xml {
            let end = find_line_byte(b, value_start, b'<', 4096).unwrap_or(value_start);
            (value_start, end)
        } else {
            // `-H "Authorization: token x"`: the header ends with the quote
            // that opened it.
            let enclosing =
                (!quoted && is >= 1 && matches!(b[is - 1], b'"' | b'\'')).then(|| b[is - 1]);
            let at_marker = marker_len(&b[value_start..], keys).is_some();
            value_span(b, value_start, name, enclosing, at_marker)
        };
        if vs >= ve {
            return;
        }
        let value = &self.text[vs..ve];
        let unquoted = vs == value_start;
        if colon && unquoted && keys::is_prose_prone(name) && keys::is_prose_word(value) {
            return;
        }
        if let Some((cs, ce, cname)) = secret_part(key, name, value, keys) {
            self.push(vs + cs, vs + ce, cname, prio::ASSIGNMENT);
        }
    }
}

/// The value after a separator: quoted (to the closing quote on the same
/// line), or unquoted (to whitespace, `&`, `,`, `;`, a quote or an
/// unbalanced closing bracket). Header-like keys (`Authorization`,
/// `Cookie`) take the rest of the line. `at_marker`: the value starts with
/// one of our markers, which is not a bracketed structure.
fn value_span(
    b: &[u8],
    vs: usize,
    name: &str,
    enclosing: Option<u8>,
    at_marker: bool,
) -> (usize, usize) {
    let rest_of_line = match name {
        "cookie" => true,
        "authorization" | "auth" => has_scheme(b, vs),
        _ => false,
    };
    match b.get(vs) {
        // `"secrets": ["a", "b"]`, `creds={"u": "x"}`: the whole structure.
        Some(b'[' | b'{') if !at_marker => (vs, balanced_end(b, vs)),
        Some(&q @ (b'"' | b'\'' | b'`')) => {
            let start = vs + 1;
            let mut i = start;
            while i < b.len() {
                match b[i] {
                    b'\\' => i += 2,
                    c if c == q => return (start, i),
                    b'\n' | b'\r' => return (start, i),
                    _ => i += 1,
                }
            }
            (start, b.len().min(i))
        }
        Some(b'\\') if b.get(vs + 1) == Some(&b'"') => {
            let start = vs + 2;
            let mut i = start;
            while i < b.len() {
                if b[i] == b'\\' && b.get(i + 1) == Some(&b'"') || is_line_end(b[i]) {
                    return (start, i);
                }
                i += 1;
            }
            (start, i)
        }
        _ if rest_of_line => {
            let mut i = vs;
            while i < b.len() && !is_line_end(b[i]) && Some(b[i]) != enclosing {
                if b[i] == b'\\' && b.get(i + 1).is_some_and(|c| b"nrt\"'\\".contains(c)) {
                    break;
                }
                i += 1;
            }
            while i > vs && matches!(b[i - 1], b' ' | b'\t' | b',' | b';') {
                i -= 1;
            }
            (vs, i)
        }
        _ => (vs, unquoted_end(b, vs)),
    }
}

/// Whether the word before the word before `at` is `login`, `machine` or
/// `account`: `.netrc` syntax (`machine h login u password p`), on one
/// line or across lines.
fn after_netrc_word(b: &[u8], at: usize) -> bool {
    let lim = at.saturating_sub(256);
    let back = |mut i: usize, ws: bool| {
        while i > lim && b[i - 1].is_ascii_whitespace() == ws {
            i -= 1;
        }
        i
    };
    let value_end = back(at, true);
    let value_start = back(value_end, false);
    let word_end = back(value_start, true);
    let word_start = back(word_end, false);
    value_end < at
        && value_start < value_end
        && word_end < value_start
        && matches!(&b[word_start..word_end], b"login" | b"machine" | b"account")
}

/// The next word of a command line at or after `i`: `(end, start, end)`
/// of the word as written, without the quotes around a whole word and the
/// `'x',` / `'x']` punctuation of a Python argument list. `None` at the
/// end of the line or at a shell operator (`|`, `;`, `&`, `<`, `>`).
fn shell_word(b: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    let ws = run(b, i, is_blank);
    if ws >= b.len() || is_line_end(b[ws]) || b"|;&<>".contains(&b[ws]) {
        return None;
    }
    let mut j = ws;
    while j < b.len() {
        match b[j] {
            q @ (b'\'' | b'"') => {
                j += 1;
                while j < b.len() && b[j] != q && !is_line_end(b[j]) {
                    j += 1;
                }
                if j < b.len() && b[j] == q {
                    j += 1;
                }
            }
            c if c.is_ascii_whitespace() || b"|;&<>".contains(&c) => break,
            _ => j += 1,
        }
    }
    let (mut ws, mut we) = (ws, j);
    while we > ws && matches!(b[we - 1], b',' | b']') {
        we -= 1;
    }
    if we >= ws + 2 && matches!(b[ws], b'\'' | b'"') && b[we - 1] == b[ws] {
        ws += 1;
        we -= 1;
    }
    Some((j, ws, we))
}

/// `Bearer x`, `Basic x`, `Digest x`: a known scheme, spaces, a credential.
fn has_scheme(b: &[u8], vs: usize) -> bool {
    let se = run(b, vs, |c| c.is_ascii_alphanumeric() || c == b'-');
    let cs = run(b, se, |c| c == b' ');
    se > vs
        && cs > se
        && b.get(cs).is_some_and(|c| !c.is_ascii_whitespace())
        && is_auth_scheme(&b[vs..se])
}

/// HTTP authentication schemes seen in `Authorization` headers.
fn is_auth_scheme(word: &[u8]) -> bool {
    const SCHEMES: &[&[u8]] = &[
        b"bearer",
        b"basic",
        b"token",
        b"digest",
        b"negotiate",
        b"ntlm",
        b"bot",
        b"apikey",
        b"api-key",
        b"key",
        b"oauth",
        b"hawk",
        b"sharedkey",
        b"ssws",
        b"jwt",
        b"dsn",
        b"aws4-hmac-sha256",
        b"splunk",
        b"genieKey",
        b"mutual",
        b"hoba",
        b"scram-sha-256",
    ];
    SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(word))
}

/// The end (exclusive) of the bracketed structure opening at `vs`, quotes
/// respected; the end of the line when it is not closed on it.
fn balanced_end(b: &[u8], vs: usize) -> usize {
    let mut depth = 0u32;
    let mut quote: Option<u8> = None;
    let mut i = vs;
    while i < b.len() && !is_line_end(b[i]) {
        let c = b[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'[' | b'{' | b'(' => depth += 1,
                b']' | b'}' | b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    i.min(b.len())
}

/// End of an unquoted value. Inside brackets, quoted strings and commas
/// belong to it (`SecretStr('x', y)`).
fn unquoted_end(b: &[u8], vs: usize) -> usize {
    let mut depth = 0u32;
    let mut i = vs;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' if depth > 0 => {}
            c if c.is_ascii_whitespace() => break,
            q @ (b'"' | b'\'') if depth > 0 => {
                match b[i + 1..].iter().position(|&c| c == q || is_line_end(c)) {
                    Some(off) if b[i + 1 + off] == q => i += off + 1,
                    _ => break,
                }
            }
            b',' | b';' if depth > 0 => {}
            b'&' | b',' | b';' | b'"' | b'\'' | b'<' | b'>' | b'`' => break,
            b'\\' if b.get(i + 1).is_some_and(|c| b"nrt\"'\\".contains(c)) => break,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Which part of a value under a secret key is secret, as `(start, end,
/// rule name)` within the value; `None` when nothing is (a placeholder, a
/// path, a reference, a value that starts with one of our markers: it was
/// redacted already). `Authorization: Bearer x` keeps the scheme.
pub(super) fn secret_part<'n>(
    key: &str,
    name: &'n str,
    value: &str,
    keys: &impl KeyOracle,
) -> Option<(usize, usize, &'n str)> {
    if marker_len(value.as_bytes(), keys).is_some() {
        return None;
    }
    if matches!(name, "authorization" | "auth") {
        let b = value.as_bytes();
        let scheme_end = run(b, 0, |c| c.is_ascii_alphanumeric() || c == b'-');
        let cs = run(b, scheme_end, |c| c == b' ');
        if scheme_end > 0 && cs > scheme_end && cs < b.len() && is_auth_scheme(&b[..scheme_end]) {
            let scheme = &value[..scheme_end];
            let cname = if scheme.eq_ignore_ascii_case("bearer") {
                "bearer"
            } else if scheme.eq_ignore_ascii_case("basic") {
                "basic"
            } else {
                name
            };
            let ce = if cname == name {
                value.trim_end().len()
            } else {
                run(b, cs, |c| {
                    !c.is_ascii_whitespace() && !b"\"',;&".contains(&c)
                })
            };
            if cs >= ce || marker_len(&b[cs..ce], keys).is_some() {
                return None;
            }
            return Some((cs, ce, cname));
        }
    }
    if keys::is_non_secret_value(key, value) {
        return None;
    }
    Some((0, value.len(), name))
}

fn pem_body_without_end(b: &[u8], start: usize) -> usize {
    // A truncated block: take whole lines of base64, the legacy
    // `Proc-Type:` / `DEK-Info:` headers and the blank line after them.
    let mut i = start;
    let mut after_header = false;
    loop {
        let j = if b[i..].starts_with(b"\r\n") {
            i + 2
        } else if b[i..].starts_with(b"\n") {
            i + 1
        } else if b[i..].starts_with(b"\\n") {
            i + 2
        } else if i == start {
            i
        } else {
            return i;
        };
        if b[j..].starts_with(b"Proc-Type:") || b[j..].starts_with(b"DEK-Info:") {
            i = b[j..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| j + p);
            after_header = true;
            continue;
        }
        let end = run(b, j, is_base64);
        let at_line_end = end == b.len() || is_line_end(b[end]) || b[end..].starts_with(b"\\n");
        if end == j && after_header && at_line_end && end < b.len() {
            after_header = false;
            i = end;
            continue;
        }
        if end == j || !at_line_end {
            return i;
        }
        after_header = false;
        i = end;
    }
}

/// Where the line ending just before `at` starts (`\n`, `\r\n` or a
/// literal `\n` escape, blanks before `at` skipped): the end of the
/// previous line. `None` when `at` does not start a line.
fn line_break_before(b: &[u8], at: usize) -> Option<usize> {
    let i = run_back_blanks(b, at);
    if i >= 2 && matches!(&b[i - 2..i], b"\r\n" | b"\\n") {
        Some(i - 2)
    } else if i >= 1 && b[i - 1] == b'\n' {
        Some(i - 1)
    } else {
        None
    }
}

/// The start of the run of blanks ending at `i`.
fn run_back_blanks(b: &[u8], mut i: usize) -> usize {
    while i > 0 && is_blank(b[i - 1]) {
        i -= 1;
    }
    i
}

/// Trims newlines, spaces and literal `\n` escapes from both ends.
fn trim_pem_body(b: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    loop {
        if s < e && b[s].is_ascii_whitespace() {
            s += 1;
        } else if s + 1 < e && b[s] == b'\\' && matches!(b[s + 1], b'n' | b'r') {
            s += 2;
        } else {
            break;
        }
    }
    loop {
        if e > s && b[e - 1].is_ascii_whitespace() {
            e -= 1;
        } else if e >= s + 2 && b[e - 2] == b'\\' && matches!(b[e - 1], b'n' | b'r') {
            e -= 2;
        } else {
            break;
        }
    }
    (s, e)
}

fn is_aws_secret(b: &[u8], s: usize, e: usize) -> bool {
    let before_ok = s == 0 || b" \t=:\"'([,{`>".contains(&b[s - 1]);
    let after_ok = e == b.len() || b" \t\r\n\"',)]};&`<.\\".contains(&b[e]);
    let tok = &b[s..e];
    let seps = tok.iter().filter(|&&c| c == b'/' || c == b'+').count();
    before_ok
        && after_ok
        && seps <= 5
        && tok.iter().any(u8::is_ascii_digit)
        && tok.iter().any(u8::is_ascii_uppercase)
        && tok.iter().any(u8::is_ascii_lowercase)
        && !tok.iter().all(u8::is_ascii_hexdigit)
}

/// The end of the run of `class` bytes starting at `i`.
#[inline]
pub(super) fn run(b: &[u8], mut i: usize, class: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && class(b[i]) {
        i += 1;
    }
    i
}

/// `needle` at or after `from` on the same line, within `max` bytes.
fn find_line_byte(b: &[u8], from: usize, needle: u8, max: usize) -> Option<usize> {
    let end = (from + max).min(b.len());
    b.get(from..end)?
        .iter()
        .take_while(|&&c| c != b'\n')
        .position(|&c| c == needle)
        .map(|p| from + p)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A character of a URL's user name: unreserved, `%`-escapes, sub-delims
/// and `@` (`smtp://me@example.com:pw@host`).
fn is_userinfo(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~%!$&*+,;=@".contains(&c)
}

/// The end of the host list starting at `i` (`db`, `10.0.0.1:5432`,
/// `[::1]:6379`, `h1:27017,h2:27017`) when it ends the authority there;
/// `None` when what follows the `@` is not a host (`p@ss@host`,
/// `p@ss:word@host`).
fn host_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        if b.get(i) == Some(&b'[') {
            let close = b[i..].iter().position(|&c| c == b']')?;
            if !b[i + 1..i + close]
                .iter()
                .all(|&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
            {
                return None;
            }
            i += close + 1;
        } else {
            let end = run(b, i, |c| c.is_ascii_alphanumeric() || b"-._%~".contains(&c));
            if end == i {
                return None;
            }
            i = end;
        }
        if b.get(i) == Some(&b':') {
            let end = run(b, i + 1, |c| c.is_ascii_digit());
            if end == i + 1 {
                return None;
            }
            i = end;
        }
        if b.get(i) == Some(&b',') && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) {
            i += 1;
            continue;
        }
        return ends_authority(b, i).then_some(i);
    }
}

/// Whether a URL's authority (`user:pw@host:port`) can end at `i`: the end
/// of the text, a path, query or fragment (`\/` in escaped JSON too), or
/// a byte that cannot be in a URL (space, quote, bracket, `,`, `;`).
fn ends_authority(b: &[u8], i: usize) -> bool {
    b.get(i)
        .is_none_or(|&c| c.is_ascii_whitespace() || b"/?#\\\"'`<>()[]{},;|".contains(&c))
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn is_slack(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

fn is_base64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')
}

fn is_aws_secret_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

fn is_bearer_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_line_end(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// Not preceded by a letter or digit.
fn word_start(b: &[u8], s: usize) -> bool {
    s == 0 || !b[s - 1].is_ascii_alphanumeric()
}

/// Not preceded by an identifier or token character.
fn ident_start(b: &[u8], s: usize) -> bool {
    s == 0 || !is_token(b[s - 1])
}
