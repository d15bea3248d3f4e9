//! Scrubber throughput on 1 MB of realistic mixed log text (timestamps,
//! paths, UUIDs, SHAs, JSON lines, URLs, tracebacks, a few dozen secrets).
//!
//! Run: `cargo bench -p flow-doctor-core --bench scrub`
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flow_doctor_core::Scrubber;
use flow_doctor_core::config::{Config, Format};

const TARGET_BYTES: usize = 1 << 20;

/// A small deterministic generator (xorshift), so every run scrubs the same
/// text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(len);
        s
    }
    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
    fn alnum(&mut self, len: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| A[self.below(A.len() as u64) as usize] as char)
            .collect()
    }
}

fn secret_line(rng: &mut Rng, ts: &str) -> String {
    match rng.below(10) {
        0 => format!(
            "{ts} DEBUG botocore.credentials found credentials: AKIA{} / {}",
            rng.alnum(16).to_uppercase(),
            rng.alnum(40)
        ),
        1 => format!(
            "{ts} INFO  etl.load connecting to postgres://etl:{}@warehouse.internal:5432/dw",
            rng.alnum(14)
        ),
        2 => format!(
            "{ts} DEBUG http headers={{\"Authorization\": \"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ7{}\"}}.{}\", \"Accept\": \"*/*\"}}",
            rng.alnum(30),
            rng.alnum(43)
        ),
        3 => format!(
            "{{\"ts\":\"{ts}\",\"level\":\"error\",\"msg\":\"push failed\",\"token\":\"ghp_{}\"}}",
            rng.alnum(36)
        ),
        4 => format!(
            "{ts} INFO  notify posting to https://hooks.slack.com/services/T{}/B{}/{}",
            rng.alnum(8),
            rng.alnum(8),
            rng.alnum(24)
        ),
        5 => format!("{ts} DEBUG config password={} user=etl", rng.alnum(12)),
        6 => format!(
            "{ts} DEBUG llm client api_key=sk-ant-api03-{}",
            rng.alnum(90)
        ),
        7 => format!("{ts} DEBUG stripe using sk_live_{}", rng.alnum(24)),
        8 => format!(
            "{ts} DEBUG azure DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={}==;EndpointSuffix=core.windows.net",
            rng.alnum(86)
        ),
        _ => format!(
            "{ts} DEBUG key material:\n-----BEGIN RSA PRIVATE KEY-----\n{}\n{}\n-----END RSA PRIVATE KEY-----",
            rng.alnum(64),
            rng.alnum(64)
        ),
    }
}

fn ordinary_line(rng: &mut Rng, ts: &str, n: u64) -> String {
    match rng.below(14) {
        0 => format!(
            "{ts} INFO  etl.extract processed batch {n} of 9000 in {}ms run_id={}",
            rng.below(900),
            rng.uuid()
        ),
        1 => format!(
            "{ts} DEBUG git HEAD is {} (short {})",
            rng.hex(40),
            rng.hex(7)
        ),
        2 => format!(
            "{ts} INFO  etl.extract reading s3://raw-data/events/2024/05/{:02}/part-{n:05}.parquet etag={}",
            rng.below(28) + 1,
            rng.hex(32)
        ),
        3 => format!(
            "{{\"ts\":\"{ts}\",\"level\":\"info\",\"logger\":\"api\",\"msg\":\"request done\",\"method\":\"GET\",\"path\":\"/v1/items/{n}\",\"status\":200,\"duration_ms\":{},\"request_id\":\"{}\"}}",
            rng.below(500),
            rng.uuid()
        ),
        4 => format!(
            "{ts} INFO  http GET https://api.example.com/v1/items?page={n}&per_page=100 -> 200 ({}ms)",
            rng.below(300)
        ),
        5 => format!(
            "{ts} WARN  db retrying connection to db.internal:5432 (attempt {}/5): timeout after 30s",
            rng.below(5) + 1
        ),
        6 => format!(
            "{ts} INFO  docker pulled registry.example.com/etl/worker@sha256:{}",
            rng.hex(64)
        ),
        7 => {
            format!("{ts} INFO  auth user alice authenticated via sso, session started (ttl 3600s)")
        }
        8 => format!(
            "{ts} DEBUG cache key=customer:{n}:profile hit=true size={}B",
            rng.below(9000)
        ),
        9 => format!(
            "{ts} INFO  llm tokens used={} max_tokens=4096 tokenizer_path=/models/tok.json",
            rng.below(4000)
        ),
        10 => format!(
            "{ts} ERROR etl.transform failed\nTraceback (most recent call last):\n  File \"/opt/etl/transform.py\", line {}, in transform\n    row = rows[key]\nKeyError: 'customer_{n}'",
            rng.below(400)
        ),
        11 => format!(
            "{ts} INFO  wrote /var/lib/etl/out/{n}/summary-{}.json ({} rows, {:.2}s)",
            rng.uuid(),
            rng.below(100_000),
            rng.below(10_000) as f64 / 100.0
        ),
        12 => format!(
            "{ts} DEBUG scheduler next run at 2024-05-02T00:00:00Z, cron '0 0 * * *', author=alice"
        ),
        _ => format!(
            "{ts} INFO  metrics cpu={}% mem={}MiB gc_pause={}ms",
            rng.below(100),
            rng.below(8192),
            rng.below(50)
        ),
    }
}

/// About 1 MiB of log text; every ~250th line carries a secret when
/// `secrets` is set.
fn log_text(secrets: bool) -> String {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = String::with_capacity(TARGET_BYTES + 512);
    let mut n = 0u64;
    while out.len() < TARGET_BYTES {
        let ts = format!(
            "2024-05-01T{:02}:{:02}:{:02}.{:03}Z",
            (n / 3600) % 24,
            (n / 60) % 60,
            n % 60,
            rng.below(1000)
        );
        let line = if secrets && n % 250 == 125 {
            secret_line(&mut rng, &ts)
        } else {
            ordinary_line(&mut rng, &ts, n)
        };
        out.push_str(&line);
        out.push('\n');
        n += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let mixed = log_text(true);
    let clean = log_text(false);
    let builtin = Scrubber::new();
    let yaml = "flow_name: bench\nscrub:\n  patterns:\n    - name: acme_key\n      regex: 'ACME-[0-9A-F]{16}'\n    - name: employee_id\n      regex: '\\bEMP[0-9]{6}\\b'\n  keys: [x_internal_session]\n";
    let user = Config::from_str_as(yaml, Format::Yaml)
        .map_err(|e| e.to_string())
        .and_then(|cfg| Scrubber::from_config(&cfg.scrub).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| panic!("bench config: {e}"));

    let mut g = c.benchmark_group("scrub");
    g.throughput(Throughput::Bytes(mixed.len() as u64));
    g.bench_function("mixed_log_1mb", |b| {
        b.iter(|| builtin.scrub(black_box(&mixed)).len())
    });
    g.throughput(Throughput::Bytes(clean.len() as u64));
    g.bench_function("clean_log_1mb", |b| {
        b.iter(|| builtin.scrub(black_box(&clean)).len())
    });
    g.throughput(Throughput::Bytes(mixed.len() as u64));
    g.bench_function("mixed_log_1mb_user_rules", |b| {
        b.iter(|| user.scrub(black_box(&mixed)).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
