//! The key-name heuristic: which keys (`DB_PASSWORD`, `apiKey`,
//! `X-Amz-Signature`) hold secrets, and which values are obviously not
//! secrets even under such a key (`None`, `${VAR}`, a file path).

/// Every name [`classify`] returns. With the rule names these are the
/// names a built-in marker can carry: a marker with any other name is not
/// ours and is scanned (see `rules::marker_len`).
pub(super) const CONCEPT_NAMES: &[&str] = &[
    "password",
    "client_secret",
    "aws_secret_access_key",
    "secret",
    "token",
    "api_key",
    "auth",
    "authorization",
    "credential",
    "cookie",
    "session",
    "signature",
    "access_key",
    "private_key",
    "secret_key",
    "account_key",
];

/// Words that make a key secret on their own. `upper_snake`: the key is
/// written like an environment variable (`FERNET_KEY`), where a last word
/// `key` or `pat` names a secret unless the word before it says otherwise
/// (see [`NON_SECRET_KEY_KIND`], [`NON_SECRET_PAT_KIND`]).
fn word_concept(word: &str, words: &[&str], i: usize, upper_snake: bool) -> Option<&'static str> {
    let prev = i.checked_sub(1).map(|p| words[p]);
    let env_last = upper_snake && i + 1 == words.len();
    let concept = match word {
        "password" | "passwd" | "passphrase" | "passcode" | "pwd" => "password",
        // `pass` alone is too common (`PASS: test_x`), `db_pass` is not.
        "pass" if words.len() > 1 => "password",
        "secret" | "secrets" => match prev {
            Some("client") => "client_secret",
            _ if words.contains(&"aws") => "aws_secret_access_key",
            _ => "secret",
        },
        "token" => "token",
        "apikey" => "api_key",
        "auth" => "auth",
        "authorization" => "authorization",
        "credential" | "credentials" | "cred" | "creds" => "credential",
        "cookie" | "cookies" => "cookie",
        "session" | "sessionid" | "jsessionid" | "phpsessid" => "session",
        "sig" => "signature",
        // A signature is only secret in signed URLs and SAS strings: our
        // own `signature=3fa2...` (a grouping hash) is not.
        "signature"
            if words
                .iter()
                .any(|w| matches!(*w, "amz" | "goog" | "access")) =>
        {
            "signature"
        }
        "key" => match prev? {
            "api" => "api_key",
            "access" => {
                if words.contains(&"secret") {
                    return None; // `secret_access_key` is named by `secret`
                }
                "access_key"
            }
            "private" => "private_key",
            "secret" => "secret_key",
            "account" => "account_key",
            "master" | "signing" | "encryption" | "shared" | "storage" | "ssh" | "deploy"
            | "license" | "subscription" | "consumer" | "client" | "app" | "webhook" => {
                "secret_key"
            }
            // Key material or a provider's API key in any spelling
            // (`fernet_key`, `jwtKey`, `OPENAI_KEY`).
            "fernet" | "hmac" | "jwt" | "encrypt" | "cipher" | "aes" | "gpg" | "pgp" | "openai"
            | "anthropic" | "stripe" => "secret_key",
            p if env_last && !NON_SECRET_KEY_KIND.contains(&p) => "secret_key",
            _ => return None,
        },
        // A personal access token: `GH_PAT`, `AZURE_DEVOPS_PAT`.
        "pat" if env_last && prev.is_some_and(|p| !NON_SECRET_PAT_KIND.contains(&p)) => "token",
        w if w.ends_with("password") || w.starts_with("password") || w.ends_with("passwd") => {
            "password"
        }
        w if w.ends_with("token") => "token",
        w if w.ends_with("apikey") => "api_key",
        w if w.ends_with("privatekey") => "private_key",
        w if w.ends_with("accesskey") || w.ends_with("secretkey") => "secret_key",
        w if w.ends_with("secret") || w.starts_with("secret") => "secret",
        w if w.ends_with("sessionid") => "session",
        _ => return None,
    };
    Some(concept)
}

/// Words before a last `_KEY` in an upper-snake name that make it the key
/// of a row, an index, a cache entry or a stored object, or a public key,
/// not a secret: `PRIMARY_KEY`, `SORT_KEY`, `PARTITION_KEY`, `CACHE_KEY`,
/// `FOREIGN_KEY`, `S3_KEY` and `OBJECT_KEY` (object paths), `PUBLIC_KEY`.
/// Every other `<NAME>_KEY` is secret (`FERNET_KEY`, `MY_SERVICE_KEY`).
const NON_SECRET_KEY_KIND: &[&str] = &[
    // databases and tables
    "primary",
    "foreign",
    "unique",
    "composite",
    "compound",
    "surrogate",
    "natural",
    "business",
    "candidate",
    "alternate",
    "sort",
    "partition",
    "hash",
    "range",
    "row",
    "shard",
    "cluster",
    "clustering",
    "dist",
    "distribution",
    "index",
    "join",
    "lookup",
    "table",
    "column",
    "field",
    "record",
    "id",
    "name",
    // caches, queues, maps, configuration
    "cache",
    "lock",
    "dedup",
    "dedupe",
    "idempotency",
    "group",
    "order",
    "message",
    "event",
    "state",
    "cursor",
    "map",
    "dict",
    "config",
    "setting",
    "settings",
    "label",
    "tag",
    "metadata",
    "translation",
    "i18n",
    // stored objects: a path, not a secret
    "s3",
    "gcs",
    "object",
    "blob",
    "file",
    "bucket",
    "source",
    "src",
    "target",
    "dest",
    "destination",
    "input",
    "output",
    "result",
    // public halves and key references
    "public",
    "pub",
    "kms",
];

/// Words before a last `_PAT` that make it a pattern, not a personal
/// access token: `GLOB_PAT`, `FILE_PAT`, `RE_PAT`.
const NON_SECRET_PAT_KIND: &[&str] = &[
    "glob", "re", "regex", "regexp", "file", "path", "name", "url", "uri", "date", "time", "line",
    "word", "email", "match", "search", "include", "exclude", "ignore", "log", "id", "tag",
    "version", "branch", "key", "route",
];

/// Words that, after the secret word, describe a secret without being one
/// (`secret_name`, `token_url`, `session.timeout.ms`, `password_file`).
const NON_SECRET_AFTER: &[&str] = &[
    "name",
    "names",
    "type",
    "types",
    "kind",
    "path",
    "paths",
    "file",
    "filename",
    "dir",
    "directory",
    "location",
    "url",
    "uri",
    "endpoint",
    "host",
    "region",
    "arn",
    "timeout",
    "ttl",
    "expiry",
    "expires",
    "expire",
    "expiration",
    "at",
    "duration",
    "age",
    "length",
    "len",
    "count",
    "size",
    "limit",
    "usage",
    "policy",
    "format",
    "mode",
    "method",
    "provider",
    "store",
    "manager",
    "backend",
    "field",
    "fields",
    "version",
    "enabled",
    "disabled",
    "required",
    "rotation",
    "hint",
    "prompt",
    "env",
    "var",
    "variable",
    "strength",
    "alg",
    "algorithm",
    "time",
    "lifetime",
    "interval",
    "delay",
    "retries",
    "attempts",
    "ms",
    "secs",
    "seconds",
    "minutes",
    "hours",
    "days",
    "bytes",
    // `TokenValidator.java:42`, `auth.py:17`: a file and a line number.
    "java",
    "kt",
    "scala",
    "py",
    "rb",
    "rs",
    "go",
    "js",
    "ts",
    "cs",
    "c",
    "cc",
    "cpp",
    "h",
    "php",
    "sql",
    "sh",
    "yaml",
    "yml",
    "json",
    "toml",
    "log",
    "txt",
    "class",
    "jar",
];

/// First words that turn the key into a flag or a number about secrets
/// (`max_token`, `is_secret`, `use_auth`).
const NON_SECRET_FIRST: &[&str] = &[
    "max", "min", "num", "total", "is", "has", "use", "no", "skip", "enable", "disable", "require",
    "requires",
];

/// The longest key [`classify`] looks at; longer ones are not secret keys.
const MAX_KEY: usize = 256;

/// Splits a key into lowercase words joined by `_` in `buf`:
/// `dbPassword` -> `db_password`, `X-Api-Key` -> `x_api_key`, `APIKey` ->
/// `api_key`. Returns the length written. `buf` must hold `2 * key.len()`.
fn normalize_into(key: &[u8], buf: &mut [u8]) -> usize {
    let mut n = 0;
    for (i, &c) in key.iter().enumerate() {
        let sep = n > 0 && buf[n - 1] == b'_';
        if !c.is_ascii_alphanumeric() {
            if n > 0 && !sep {
                buf[n] = b'_';
                n += 1;
            }
            continue;
        }
        if c.is_ascii_uppercase() && n > 0 && !sep {
            let prev = key[i - 1];
            let next_lower = key.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                buf[n] = b'_';
                n += 1;
            }
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    n
}

/// The rule name for a secret-looking key, `None` when the key looks
/// harmless. Built-in names only; user keys are checked by the caller.
/// Allocation-free: it runs for every `key=` candidate in scanned text.
pub(super) fn classify(key: &str) -> Option<&'static str> {
    if key.is_empty() || key.len() > MAX_KEY {
        return None;
    }
    let mut buf = [0u8; 2 * MAX_KEY];
    let n = normalize_into(key.as_bytes(), &mut buf);
    // Only ASCII letters, digits and `_` were written.
    let norm = std::str::from_utf8(&buf[..n]).ok()?;
    let mut words = [""; 32];
    let mut count = 0;
    for w in norm.split('_').filter(|w| !w.is_empty()) {
        if count == words.len() {
            return None;
        }
        words[count] = w;
        count += 1;
    }
    let words = &words[..count];
    // `FERNET_KEY`, `GH_PAT`: upper-case letters, digits, underscores.
    let upper_snake = key.contains('_')
        && key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    // The last concept names it: `auth_token` is a token, `session_key`
    // a key, `aws_secret_access_key` what it says.
    let (at, concept) = words
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, w)| word_concept(w, words, i, upper_snake).map(|c| (i, c)))?;
    // Words after it that describe it (`session.timeout.ms`,
    // `token_expires_at`, `secret_name`), or a first word that makes the
    // key a flag or a count (`max_token`, `is_secret`).
    if words[at + 1..].iter().any(|w| NON_SECRET_AFTER.contains(w))
        || (words.len() > 1 && NON_SECRET_FIRST.contains(&words[0]))
    {
        return None;
    }
    Some(concept)
}

/// Lowercase ASCII letters and digits only: `X-Internal_Session` and
/// `xInternalSession` both become `xinternalsession`. User keys match as
/// substrings of this form.
pub(super) fn squash(key: &str) -> String {
    key.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase() as char)
        .collect()
}

/// Values that are not secrets even under a secret key: nothing, a
/// placeholder, a reference to where the secret lives, or code.
pub(super) fn is_non_secret_value(key: &str, value: &str) -> bool {
    let v = value;
    if v.is_empty() {
        return true;
    }
    if v.len() <= 9
        && matches!(
            v.to_ascii_lowercase().as_str(),
            "none" | "null" | "nil" | "undefined" | "true" | "false" | "<none>" | "(null)"
        )
    {
        return true;
    }
    // Masked already, or a YAML block scalar indicator (`password: |`).
    if v.bytes().all(|c| c == b'*') || matches!(v, "|" | "|-" | "|+" | ">" | ">-" | ">+") {
        return true;
    }
    // `${DB_PASSWORD}`, `$DB_PASSWORD`: a reference, not the value.
    if let Some(rest) = v.strip_prefix("${") {
        if rest.ends_with('}') && !rest.contains(char::is_whitespace) {
            return true;
        }
    } else if let Some(rest) = v.strip_prefix('$')
        && !rest.is_empty()
        && rest.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && rest
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
    {
        return true;
    }
    if is_path_like(v) || is_placeholder(v) {
        return true;
    }
    // Code in a traceback: `connect(password=password)`,
    // `token=self.token`, `auth=config.auth`.
    if v.bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
    {
        let last = v.rsplit('.').next().unwrap_or(v);
        let key_last = key
            .rsplit(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .next()
            .unwrap_or(key);
        if !last.is_empty() && last.eq_ignore_ascii_case(key_last) {
            return true;
        }
    }
    false
}

/// A placeholder: `<redacted>`, `<your-token>`, `REDACTED`, or a query
/// parameter: `%s`, `%(token)s`, `?`, `:token`, `$1`.
fn is_placeholder(v: &str) -> bool {
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    let words = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphabetic() || b"_- ".contains(&c))
    };
    let bare = v.trim_matches(|c| c == '*' || c == '[' || c == ']');
    v.strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .is_some_and(words)
        || ["redacted", "hidden", "masked", "removed"]
            .iter()
            .any(|w| bare.eq_ignore_ascii_case(w))
        || v == "%s"
        || v == "?"
        || v.strip_prefix("%(")
            .and_then(|r| r.strip_suffix(")s"))
            .is_some_and(ident)
        || v.strip_prefix(':').is_some_and(ident)
        || v.strip_prefix('$')
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|c| c.is_ascii_digit()))
}

/// Key concepts that are also everyday words in error messages
/// (`invalid token: expired`, `authorization: denied`): after a `:` an
/// unquoted word that continues the sentence (see [`is_prose_word`]) is
/// prose, not their value.
pub(super) fn is_prose_prone(name: &str) -> bool {
    matches!(
        name,
        "token" | "auth" | "authorization" | "session" | "credential" | "cookie" | "signature"
    )
}

/// Words that follow `token:`, `session:`, `auth:` in error messages: a
/// state, a reason, a parser's token kind, a short function word.
const PROSE_WORDS: &[&str] = &[
    "a",
    "absent",
    "accepted",
    "active",
    "again",
    "an",
    "and",
    "anonymous",
    "are",
    "at",
    "available",
    "bad",
    "basic",
    "be",
    "bearer",
    "been",
    "by",
    "can",
    "cannot",
    "check",
    "client",
    "closed",
    "digest",
    "done",
    "empty",
    "end",
    "eof",
    "error",
    "expire",
    "expires",
    "fail",
    "false",
    "for",
    "forbidden",
    "from",
    "gone",
    "got",
    "has",
    "have",
    "identifier",
    "in",
    "inactive",
    "insufficient",
    "invalid",
    "is",
    "keyword",
    "long",
    "lost",
    "malformed",
    "may",
    "mismatch",
    "missing",
    "must",
    "name",
    "negotiate",
    "new",
    "nil",
    "no",
    "none",
    "not",
    "null",
    "number",
    "of",
    "off",
    "ok",
    "okay",
    "old",
    "on",
    "only",
    "open",
    "operator",
    "or",
    "please",
    "present",
    "punc",
    "refresh",
    "reset",
    "retry",
    "scope",
    "see",
    "server",
    "set",
    "short",
    "should",
    "stale",
    "string",
    "that",
    "the",
    "this",
    "timeout",
    "to",
    "too",
    "true",
    "try",
    "unauthorized",
    "unavailable",
    "unknown",
    "unset",
    "use",
    "user",
    "valid",
    "was",
    "were",
    "will",
    "with",
    "without",
    "wrong",
    "yes",
];

/// Endings of inflected or derived English words (`expired`, `missing`,
/// `rotation`, `unusable`): after `token:` they are prose.
const PROSE_SUFFIXES: &[&str] = &[
    "ed", "ing", "tion", "sion", "ment", "ness", "able", "ible", "less", "ous", "ive", "ity",
    "ance", "ence", "ure",
];

/// An ordinary English word continuing a sentence (`expired`, `denied`,
/// `server`, `identifier`), not a single-word secret (`secretvalue`,
/// `letmein`): lowercase letters only, and a known word or an English
/// inflection with at least three letters before it.
pub(super) fn is_prose_word(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 24
        && v.bytes().all(|c| c.is_ascii_lowercase())
        && (PROSE_WORDS.contains(&v)
            || PROSE_SUFFIXES
                .iter()
                .any(|s| v.len() >= s.len() + 3 && v.ends_with(s)))
}

/// A filesystem path (`/run/secrets/db`, `~/.aws/credentials`,
/// `C:\keys\sa.json`): where a secret lives, not the secret.
fn is_path_like(v: &str) -> bool {
    let b = v.as_bytes();
    let path_char = |c: &u8| c.is_ascii_alphanumeric() || b"._/~@-\\:".contains(c);
    let starts = match b {
        [b'/', c, ..] => c.is_ascii_alphabetic() || *c == b'.' || *c == b'_',
        [b'~', b'/', ..] | [b'.', b'/', ..] => true,
        [d, b':', b'\\', ..] => d.is_ascii_alphabetic(),
        _ => false,
    };
    starts && b.iter().all(path_char)
}
