//! Unit tests: one group per language, then normalization, grouping and
//! robustness. Multi-frame samples live in `tests/fixtures/tracebacks/`.

use super::*;
use crate::model::{Report, ReportKind, Severity};

const PYTHON_CHAINED: &str = include_str!("../../tests/fixtures/tracebacks/python_chained.txt");
const RUST_BACKTRACE: &str = include_str!("../../tests/fixtures/tracebacks/rust_backtrace.txt");
const JVM_CAUSED_BY: &str = include_str!("../../tests/fixtures/tracebacks/jvm_caused_by.txt");
const NODE_TYPE_ERROR: &str = include_str!("../../tests/fixtures/tracebacks/node_type_error.txt");
const GO_PANIC: &str = include_str!("../../tests/fixtures/tracebacks/go_panic.txt");
const DOTNET_INNER: &str = include_str!("../../tests/fixtures/tracebacks/dotnet_inner.txt");
const RUBY_NOMETHOD: &str = include_str!("../../tests/fixtures/tracebacks/ruby_nomethod.txt");

const FIXTURES: [&str; 7] = [
    PYTHON_CHAINED,
    RUST_BACKTRACE,
    JVM_CAUSED_BY,
    NODE_TYPE_ERROR,
    GO_PANIC,
    DOTNET_INNER,
    RUBY_NOMETHOD,
];

/// `(file, function, line, in_app)` of each frame.
fn frames(p: &ParsedFailure) -> Vec<(&str, &str, Option<u32>, bool)> {
    p.frames
        .iter()
        .map(|f| (f.file.as_str(), f.function.as_str(), f.line, f.in_app))
        .collect()
}

fn fp(p: &ParsedFailure) -> Fingerprint {
    fingerprint(p.error_type.as_deref(), &p.frames, &p.message)
}

fn sig(text: &str) -> String {
    fp(&parse(text)).signature
}

// ---------------------------------------------------------------- python

#[test]
fn python_chained_takes_the_last_exception_and_chains_the_earlier_ones() {
    let p = parse(PYTHON_CHAINED);
    assert_eq!(p.language.as_deref(), Some("python"));
    assert_eq!(p.error_type.as_deref(), Some("RuntimeError"));
    assert_eq!(p.message, "transform stage failed");
    assert_eq!(
        frames(&p),
        vec![
            ("/opt/app/etl/main.py", "run", Some(45), true),
            ("/opt/app/etl/main.py", "main", Some(115), true),
            ("/opt/app/etl/main.py", "<module>", Some(120), true),
        ]
    );
    assert_eq!(
        p.chain,
        vec![
            "etl.errors.SchemaError: missing column in /tmp/tmpa8x3k2/orders.parquet".to_string(),
            "KeyError: 'customer_id'".to_string(),
        ]
    );
    let tb = p.traceback.as_deref().unwrap_or_default();
    assert!(tb.starts_with("Traceback (most recent call last):"), "{tb}");
    assert!(tb.ends_with("RuntimeError: transform stage failed"), "{tb}");
    assert!(tb.contains("During handling of the above exception"));
    assert!(!tb.contains("exiting with status"));
    assert_eq!(
        fp(&p).fingerprint,
        "RuntimeError @ main.py:run < main.py:main < main.py:<module>"
    );
}

#[test]
fn python_site_packages_and_stdlib_frames_are_not_in_app() {
    let text = "\
Traceback (most recent call last):
  File \"/srv/job/sync.py\", line 12, in sync
    resp = requests.get(url, timeout=5)
  File \"/home/a/.venv/lib/python3.12/site-packages/requests/api.py\", line 73, in get
    return request(\"get\", url, params=params, **kwargs)
  File \"/usr/lib/python3.12/socket.py\", line 963, in getaddrinfo
    for res in _socket.getaddrinfo(host, port, family, type, proto, flags):
  File \"<frozen importlib._bootstrap>\", line 1, in _find_and_load
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.acme.io', port=443)
";
    let p = parse(text);
    assert_eq!(
        p.error_type.as_deref(),
        Some("requests.exceptions.ConnectionError")
    );
    assert_eq!(
        p.message,
        "HTTPSConnectionPool(host='api.acme.io', port=443)"
    );
    let in_app: Vec<bool> = p.frames.iter().map(|f| f.in_app).collect();
    assert_eq!(in_app, vec![false, false, false, true]);
    assert_eq!(
        fp(&p).fingerprint,
        "requests.exceptions.ConnectionError @ sync.py:sync"
    );
}

#[test]
fn python_syntax_error_after_an_import() {
    let text = "\
Traceback (most recent call last):
  File \"/app/main.py\", line 1, in <module>
    import broken
  File \"/app/broken.py\", line 3
    def f(:
          ^
SyntaxError: invalid syntax
";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("SyntaxError"));
    assert_eq!(p.message, "invalid syntax");
    assert_eq!(
        frames(&p),
        vec![
            ("/app/broken.py", "<module>", Some(3), true),
            ("/app/main.py", "<module>", Some(1), true),
        ]
    );
}

#[test]
fn python_syntax_error_without_a_traceback_header() {
    let text = "\
$ python3 job.py
  File \"/app/job.py\", line 7
    print(\"unterminated)
          ^
SyntaxError: unterminated string literal (detected at line 7)
";
    let p = parse(text);
    assert_eq!(p.language.as_deref(), Some("python"));
    assert_eq!(p.error_type.as_deref(), Some("SyntaxError"));
    assert_eq!(frames(&p), vec![("/app/job.py", "<module>", Some(7), true)]);
    assert_eq!(
        fp(&p).fingerprint,
        "SyntaxError @ job.py:<module>",
        "a file-level syntax error is keyed by its file"
    );
}

#[test]
fn python_exception_group_lists_members_in_the_chain() {
    let text = "\
  + Exception Group Traceback (most recent call last):
  |   File \"/app/fanout.py\", line 20, in <module>
  |     asyncio.run(main())
  |   File \"/app/fanout.py\", line 15, in main
  |     async with asyncio.TaskGroup() as tg:
  | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File \"/app/fanout.py\", line 8, in fetch
    |     raise ValueError(f\"bad shard {n}\")
    | ValueError: bad shard 1
    +---------------- 2 ----------------
    | TypeError: unsupported operand
    +------------------------------------
done
";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("ExceptionGroup"));
    assert_eq!(
        p.message,
        "unhandled errors in a TaskGroup (2 sub-exceptions)"
    );
    assert_eq!(
        frames(&p),
        vec![
            ("/app/fanout.py", "main", Some(15), true),
            ("/app/fanout.py", "<module>", Some(20), true),
        ]
    );
    assert_eq!(
        p.chain,
        vec![
            "ValueError: bad shard 1".to_string(),
            "TypeError: unsupported operand".to_string()
        ]
    );
    assert!(
        p.traceback
            .unwrap_or_default()
            .ends_with("+------------------------------------")
    );
}

#[test]
fn python_retries_use_the_last_complete_traceback() {
    let text = "\
attempt 1
Traceback (most recent call last):
  File \"/app/job.py\", line 5, in fetch
    raise TimeoutError(\"read timed out\")
TimeoutError: read timed out
attempt 2
Traceback (most recent call last):
  File \"/app/job.py\", line 9, in save
    raise PermissionError(\"denied\")
PermissionError: denied
attempt 3
Traceback (most recent call last):
  File \"/app/job.py\", line 5, in fetch
";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("PermissionError"));
    assert_eq!(p.frames.first().map(|f| f.function.as_str()), Some("save"));
}

#[test]
fn python_exception_without_message() {
    let text = "Traceback (most recent call last):\n  File \"w.py\", line 2, in <module>\n    \
                time.sleep(10)\nKeyboardInterrupt\n";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("KeyboardInterrupt"));
    assert_eq!(p.message, "");
}

// ---------------------------------------------------------------- rust

#[test]
fn rust_panic_new_format_without_backtrace() {
    let text = "\
[INFO] loading
thread 'main' panicked at src/main.rs:10:5:
called `Option::unwrap()` on a `None` value
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";
    let p = parse(text);
    assert_eq!(p.language.as_deref(), Some("rust"));
    assert_eq!(p.error_type.as_deref(), Some("panic"));
    assert_eq!(p.message, "called `Option::unwrap()` on a `None` value");
    assert_eq!(frames(&p), vec![("src/main.rs", "", Some(10), true)]);
    assert_eq!(
        fp(&p).fingerprint,
        "panic: called `Option::unwrap()` on a `None` value @ main.rs"
    );
    let tb = p.traceback.unwrap_or_default();
    assert!(tb.starts_with("thread 'main' panicked"));
    assert!(tb.ends_with("display a backtrace"));
}

#[test]
fn rust_panic_old_format() {
    let text = "thread 'main' panicked at 'index out of bounds: the len is 3 but the index is 5', \
                src/load.rs:42:9\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("panic"));
    assert_eq!(
        p.message,
        "index out of bounds: the len is 3 but the index is 5"
    );
    assert_eq!(frames(&p), vec![("src/load.rs", "", Some(42), true)]);
}

#[test]
fn rust_panic_old_format_with_multiline_message() {
    let text = "thread 'worker-2' panicked at 'config invalid:\nmissing key `db.url`', src/config.rs:88:14\n";
    let p = parse(text);
    assert_eq!(p.message, "config invalid:");
    assert_eq!(frames(&p), vec![("src/config.rs", "", Some(88), true)]);
}

#[test]
fn rust_panic_with_thread_id() {
    let text = "thread 'main' (81234) panicked at src/main.rs:3:5:\nboom\n";
    let p = parse(text);
    assert_eq!(p.message, "boom");
    assert_eq!(p.frames.first().map(|f| f.line), Some(Some(3)));
}

#[test]
fn rust_backtrace_frames_are_innermost_first_with_std_not_in_app() {
    let p = parse(RUST_BACKTRACE);
    assert_eq!(p.error_type.as_deref(), Some("panic"));
    assert_eq!(
        p.message,
        "called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }"
    );
    let app: Vec<_> = frames(&p).into_iter().filter(|f| f.3).collect();
    assert_eq!(
        app,
        vec![
            ("./src/load.rs", "loader::load::parse_row", Some(42), true),
            ("./src/load.rs", "loader::load::read_all", Some(18), true),
            ("./src/main.rs", "loader::main", Some(10), true),
        ]
    );
    assert_eq!(
        p.frames.first().map(|f| f.function.as_str()),
        Some("rust_begin_unwind")
    );
    assert_eq!(p.frames.len(), 8);
    assert_eq!(
        fp(&p).fingerprint,
        "panic: called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit } \
         @ load.rs:loader::load::parse_row < load.rs:loader::load::read_all < main.rs:loader::main"
    );
    assert!(
        !p.traceback
            .unwrap_or_default()
            .contains("process didn't exit")
    );
}

#[test]
fn rust_full_backtrace_strips_hashes_and_keeps_unknown_out() {
    let text = "\
thread 'tokio-runtime-worker' panicked at /home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde_json-1.0.1/src/de.rs:10:5:
invalid type
stack backtrace:
   0:     0x55d5c3a0b1e4 - std::backtrace_rs::backtrace::libunwind::trace::h5a5b2c3d4e5f6071
                               at /rustc/82e1608dfa6e0b5569232559e3d385fea5a93112/library/std/src/../../backtrace/src/backtrace/libunwind.rs:104:5
   1:     0x55d5c3a0c2f5 - ingest::decode::record::h0123456789abcdef
                               at /srv/ingest/src/decode.rs:77:13
   2:     0x55d5c3a0d306 - <ingest::Source as core::iter::Iterator>::next::hfedcba9876543210
                               at /srv/ingest/src/lib.rs:30:9
   3:     0x7f3a9c029d90 - <unknown>
   4:     0x7f3a9c029e40 - __libc_start_main
";
    let p = parse(text);
    assert_eq!(
        frames(&p),
        vec![
            (
                "/rustc/82e1608dfa6e0b5569232559e3d385fea5a93112/library/std/src/../../backtrace/src/backtrace/libunwind.rs",
                "std::backtrace_rs::backtrace::libunwind::trace",
                Some(104),
                false
            ),
            (
                "/srv/ingest/src/decode.rs",
                "ingest::decode::record",
                Some(77),
                true
            ),
            (
                "/srv/ingest/src/lib.rs",
                "<ingest::Source as core::iter::Iterator>::next",
                Some(30),
                true
            ),
            ("", "<unknown>", None, false),
            ("", "__libc_start_main", None, false),
        ]
    );
}

#[test]
fn rust_anyhow_error_with_numbered_causes() {
    let text = "\
2024-05-02T03:00:01Z INFO sync: starting
Error: failed to sync orders

Caused by:
    0: failed to read config /etc/sync/config.toml
    1: No such file or directory (os error 2)
";
    let p = parse(text);
    assert_eq!(p.language.as_deref(), Some("rust"));
    assert_eq!(p.error_type, None);
    assert_eq!(p.message, "failed to sync orders");
    assert_eq!(
        p.chain,
        vec![
            "failed to read config /etc/sync/config.toml".to_string(),
            "No such file or directory (os error 2)".to_string()
        ]
    );
    assert!(p.frames.is_empty());
    assert_eq!(fp(&p).fingerprint, "failed to sync orders");
}

#[test]
fn rust_anyhow_single_cause_and_backtrace() {
    let text = "\
Error: connecting to postgres

Caused by:
    connection refused

Stack backtrace:
   0: anyhow::error::<impl anyhow::Error>::msg
             at /home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/anyhow-1.0.86/src/error.rs:83:36
   1: dbtool::connect
             at ./src/db.rs:12:5
   2: dbtool::main
             at ./src/main.rs:4:5
";
    let p = parse(text);
    assert_eq!(p.chain, vec!["connection refused".to_string()]);
    assert_eq!(
        fp(&p).fingerprint,
        "@ db.rs:dbtool::connect < main.rs:dbtool::main"
    );
}

// ---------------------------------------------------------------- jvm

#[test]
fn jvm_trace_with_caused_by_and_more() {
    let p = parse(JVM_CAUSED_BY);
    assert_eq!(p.language.as_deref(), Some("jvm"));
    assert_eq!(
        p.error_type.as_deref(),
        Some("java.lang.IllegalStateException")
    );
    assert_eq!(p.message, "could not load orders for 2024-05-01");
    assert_eq!(
        frames(&p),
        vec![
            ("Loader.java", "com.acme.etl.Loader.load", Some(57), true),
            ("Main.java", "com.acme.etl.Main.run", Some(31), true),
            ("Main.java", "com.acme.etl.Main.main", Some(12), true),
        ]
    );
    assert_eq!(
        p.frames.first().and_then(|f| f.module.as_deref()),
        Some("com.acme.etl.Loader")
    );
    assert_eq!(
        p.chain,
        vec![
            "java.io.UncheckedIOException: read failed".to_string(),
            "java.io.FileNotFoundException: /data/in/orders.csv (No such file or directory)"
                .to_string(),
        ]
    );
    let tb = p.traceback.unwrap_or_default();
    assert!(tb.starts_with("Exception in thread \"main\""));
    assert!(tb.ends_with("... 3 more"));
}

#[test]
fn jvm_runtime_frames_are_not_in_app_and_suppressed_is_skipped() {
    let text = "\
12:00:01.002 [main] ERROR c.a.Job - job failed
java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"name\" is null
\tat java.base/java.util.Objects.requireNonNull(Objects.java:233)
\tat app//com.acme.Job.check(Job.kt:19) ~[job.jar:?]
\tat com.acme.Job.run(Job.kt:11)
\tSuppressed: java.lang.IllegalStateException: close failed
\t\tat com.acme.Res.close(Res.kt:5)
\t\t... 2 more
12:00:01.010 [main] INFO c.a.Job - bye
";
    let p = parse(text);
    assert_eq!(
        p.error_type.as_deref(),
        Some("java.lang.NullPointerException")
    );
    assert_eq!(
        frames(&p),
        vec![
            (
                "Objects.java",
                "java.util.Objects.requireNonNull",
                Some(233),
                false
            ),
            ("Job.kt", "com.acme.Job.check", Some(19), true),
            ("Job.kt", "com.acme.Job.run", Some(11), true),
        ]
    );
    assert!(p.chain.is_empty());
    assert_eq!(
        fp(&p).fingerprint,
        "java.lang.NullPointerException @ Job.kt:com.acme.Job.check < Job.kt:com.acme.Job.run"
    );
}

// ---------------------------------------------------------------- node

#[test]
fn node_type_error_skips_internal_and_node_modules_frames() {
    let p = parse(NODE_TYPE_ERROR);
    assert_eq!(p.language.as_deref(), Some("node"));
    assert_eq!(p.error_type.as_deref(), Some("TypeError"));
    assert_eq!(p.message, "row.customer.toUpperCase is not a function");
    assert_eq!(
        frames(&p),
        vec![
            ("/app/src/transform.js", "normalize", Some(14), true),
            ("", "Array.map", None, false),
            ("/app/src/transform.js", "transform", Some(7), true),
            ("/app/src/index.js", "main", Some(22), true),
            ("", "Promise.all", None, false),
            (
                "node:internal/process/task_queues",
                "process.processTicksAndRejections",
                Some(95),
                false
            ),
            (
                "/app/node_modules/csv-parse/lib/index.js",
                "Object.parse",
                Some(120),
                false
            ),
        ]
    );
    assert_eq!(
        fp(&p).fingerprint,
        "TypeError @ transform.js:normalize < transform.js:transform < index.js:main"
    );
    assert!(!p.traceback.unwrap_or_default().contains("Node.js v20"));
}

#[test]
fn node_error_with_code_cause_and_location_only_frames() {
    let text = "\
Error [ERR_SYNC]: sync failed
    at sync (file:///app/src/sync.mjs:40:11)
    at file:///app/src/main.mjs:5:1 {
  code: 'ERR_SYNC',
  [cause]: Error: connect ECONNREFUSED 127.0.0.1:5432
      at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {
    errno: -111
  }
}
after
";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("Error"));
    assert_eq!(p.message, "sync failed");
    assert_eq!(
        frames(&p),
        vec![
            ("/app/src/sync.mjs", "sync", Some(40), true),
            ("/app/src/main.mjs", "", Some(5), true),
        ]
    );
    assert_eq!(
        p.chain,
        vec!["Error: connect ECONNREFUSED 127.0.0.1:5432".to_string()]
    );
    assert!(p.traceback.unwrap_or_default().ends_with('}'));
}

// ---------------------------------------------------------------- go

#[test]
fn go_panic_reads_the_first_goroutine() {
    let p = parse(GO_PANIC);
    assert_eq!(p.language.as_deref(), Some("go"));
    assert_eq!(p.error_type.as_deref(), Some("panic"));
    assert_eq!(
        p.message,
        "runtime error: index out of range [5] with length 3"
    );
    assert_eq!(
        frames(&p),
        vec![
            (
                "/src/internal/load/load.go",
                "github.com/acme/etl/internal/load.pick",
                Some(42),
                true
            ),
            (
                "/src/internal/load/load.go",
                "github.com/acme/etl/internal/load.(*Loader).Load",
                Some(31),
                true
            ),
            ("/src/cmd/etl/main.go", "main.main", Some(12), true),
        ]
    );
    assert_eq!(
        p.frames.first().and_then(|f| f.module.as_deref()),
        Some("github.com/acme/etl/internal/load")
    );
}

#[test]
fn go_fatal_error_and_runtime_frames() {
    let text = "\
fatal error: concurrent map writes

goroutine 7 [running]:
runtime.throw({0x4c2b1e?, 0x0?})
\t/usr/local/go/src/runtime/panic.go:1077 +0x5c
runtime.mapassign_faststr(0x4a8f20, 0xc000074180, {0x4c0a3d, 0x3})
\t/usr/local/go/src/runtime/map_faststr.go:223 +0x3d4
main.worker(0x0?)
\t/app/main.go:18 +0x65
created by main.main in goroutine 1
\t/app/main.go:25 +0x3a
";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("fatal error"));
    assert_eq!(p.message, "concurrent map writes");
    let in_app: Vec<_> = p
        .frames
        .iter()
        .map(|f| (f.function.as_str(), f.in_app))
        .collect();
    assert_eq!(
        in_app,
        vec![
            ("runtime.throw", false),
            ("runtime.mapassign_faststr", false),
            ("main.worker", true),
            ("main.main", true)
        ]
    );
    assert_eq!(
        fp(&p).fingerprint,
        "fatal error @ main.go:main.worker < main.go:main.main"
    );
}

#[test]
fn go_repanic_chains_the_first_panic() {
    let text = "\
panic: first failure [recovered]
\tpanic: second failure

goroutine 1 [running]:
main.main()
\t/app/main.go:9 +0x1d
";
    let p = parse(text);
    assert_eq!(p.message, "second failure");
    assert_eq!(p.chain, vec!["panic: first failure".to_string()]);
}

// ---------------------------------------------------------------- dotnet

#[test]
fn dotnet_inner_exception_frames_and_chain() {
    let p = parse(DOTNET_INNER);
    assert_eq!(p.language.as_deref(), Some("dotnet"));
    assert_eq!(
        p.error_type.as_deref(),
        Some("System.InvalidOperationException")
    );
    assert_eq!(p.message, "Load failed for batch 42");
    assert_eq!(
        frames(&p),
        vec![
            (
                "C:\\src\\Acme.Etl\\Loader.cs",
                "Acme.Etl.Loader.Load",
                Some(44),
                true
            ),
            (
                "C:\\src\\Acme.Etl\\Program.cs",
                "Acme.Etl.Program.Main",
                Some(10),
                true
            ),
        ]
    );
    assert_eq!(
        p.chain,
        vec![
            "System.IO.FileNotFoundException: Could not find file '/data/in/orders.csv'."
                .to_string()
        ]
    );
    assert_eq!(
        fp(&p).fingerprint,
        "System.InvalidOperationException @ Loader.cs:Acme.Etl.Loader.Load < Program.cs:Acme.Etl.Program.Main"
    );
}

#[test]
fn dotnet_without_file_info_and_async_frames() {
    let text = "\
System.NullReferenceException: Object reference not set to an instance of an object.
   at System.Linq.Enumerable.First[TSource](IEnumerable`1 source)
   at Acme.Api.Orders.<LoadAsync>d__5.MoveNext()
--- End of stack trace from previous location ---
   at Acme.Api.Program.Main(String[] args)
";
    let p = parse(text);
    assert_eq!(
        p.error_type.as_deref(),
        Some("System.NullReferenceException")
    );
    assert_eq!(
        frames(&p),
        vec![
            ("", "System.Linq.Enumerable.First[TSource]", None, false),
            ("", "Acme.Api.Orders.<LoadAsync>d__5.MoveNext", None, true),
            ("", "Acme.Api.Program.Main", None, true),
        ]
    );
    assert_eq!(
        fp(&p).fingerprint,
        "System.NullReferenceException @ Acme.Api.Orders.<LoadAsync>d__.MoveNext < Acme.Api.Program.Main"
    );
}

// ---------------------------------------------------------------- ruby

#[test]
fn ruby_backtick_style() {
    let p = parse(RUBY_NOMETHOD);
    assert_eq!(p.language.as_deref(), Some("ruby"));
    assert_eq!(p.error_type.as_deref(), Some("NoMethodError"));
    assert_eq!(p.message, "undefined method `upcase' for nil:NilClass");
    assert_eq!(
        frames(&p),
        vec![
            ("/app/lib/etl/loader.rb", "normalize", Some(14), true),
            ("/app/lib/etl/loader.rb", "block in load", Some(7), true),
            ("/app/lib/etl/loader.rb", "each", Some(6), true),
            ("/app/lib/etl/loader.rb", "load", Some(6), true),
            (
                "/usr/local/bundle/gems/thor-1.3.0/lib/thor/command.rb",
                "run",
                Some(28),
                false
            ),
            ("bin/etl", "<main>", Some(5), true),
        ]
    );
}

#[test]
fn ruby_quote_style_multiline_message_and_hints() {
    let text = "\
app.rb:3:in 'Object#load': undefined local variable or method 'fo' for main (NameError)
Did you mean?  foo
\tfrom app.rb:7:in '<main>'
";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("NameError"));
    assert_eq!(
        p.message,
        "undefined local variable or method 'fo' for main"
    );
    assert_eq!(
        frames(&p),
        vec![
            ("app.rb", "Object#load", Some(3), true),
            ("app.rb", "<main>", Some(7), true)
        ]
    );
    let multi = "\
job.rb:12:in 'run': payload rejected:
  field 'amount' is negative (ArgumentError)
\tfrom job.rb:20:in '<main>'
";
    let p = parse(multi);
    assert_eq!(p.error_type.as_deref(), Some("ArgumentError"));
    assert_eq!(p.message, "payload rejected:");
    assert_eq!(p.frames.len(), 2);
}

// ---------------------------------------------------------------- plain

#[test]
fn plain_log_line_has_no_type_and_loses_its_prefixes() {
    let p = parse(
        "2024-01-01T00:00:00Z INFO start\n2024-01-01T00:00:00Z ERROR something failed: connection refused\n2024-01-01T00:00:01Z INFO cleanup done\n",
    );
    assert_eq!(p.language, None);
    assert_eq!(p.error_type, None);
    assert_eq!(p.message, "something failed: connection refused");
    assert!(p.frames.is_empty());
    assert_eq!(p.traceback, None);
}

#[test]
fn plain_formats() {
    let cases = [
        (
            "ERROR:root:upload failed for batch 7",
            None,
            "upload failed for batch 7",
        ),
        (
            "[2024-01-01 10:00:00,123] [ERROR] disk full",
            None,
            "disk full",
        ),
        (
            "time=2024-01-01T00:00:00Z level=error msg=\"write failed: broken pipe\" host=a",
            None,
            "write failed: broken pipe",
        ),
        (
            r#"{"ts":"2024-01-01T00:00:00Z","level":"error","msg":"quota exceeded"}"#,
            None,
            "quota exceeded",
        ),
        (
            "May  2 03:00:01 etl-1 cron[812]: ERROR psycopg2.OperationalError: could not connect to server",
            Some("psycopg2.OperationalError"),
            "could not connect to server",
        ),
        (
            "bash: foo: command not found",
            None,
            "bash: foo: command not found",
        ),
        (
            "./run.sh: line 3: TARGET: unbound variable",
            None,
            "./run.sh: line 3: TARGET: unbound variable",
        ),
        ("just some output\nlast line", None, "last line"),
    ];
    for (text, ty, msg) in cases {
        let p = parse(text);
        assert_eq!(p.error_type.as_deref(), ty, "{text}");
        assert_eq!(p.message, msg, "{text}");
        assert_eq!(p.language, None, "{text}");
    }
}

#[test]
fn plain_prefers_error_lines_over_later_output() {
    let p = parse(
        "step 1 ok\nerror: could not compile `etl`\nwarning: build failed, waiting for other jobs\n",
    );
    assert_eq!(p.message, "could not compile `etl`");
    let p = parse("rows: 10\nupload failed: 503 Service Unavailable\nexit 1\n");
    assert_eq!(p.message, "upload failed: 503 Service Unavailable");
}

#[test]
fn empty_and_blank_input() {
    assert_eq!(parse(""), ParsedFailure::default());
    assert_eq!(parse("\n\n   \n"), ParsedFailure::default());
}

// ---------------------------------------------------------------- selection

#[test]
fn the_last_traceback_wins_across_languages() {
    let text = format!("{PYTHON_CHAINED}\nretrying with the Go loader\n{GO_PANIC}");
    assert_eq!(parse(&text).language.as_deref(), Some("go"));
    let text = format!("{GO_PANIC}\n{RUBY_NOMETHOD}");
    assert_eq!(parse(&text).language.as_deref(), Some("ruby"));
}

#[test]
fn ansi_colours_and_crlf_are_tolerated() {
    let text = "\x1b[31mTraceback (most recent call last):\x1b[0m\r\n  File \"/app/a.py\", line 1, in \
                <module>\r\n    x()\r\n\x1b[1;35mNameError\x1b[0m: name 'x' is not defined\r\n";
    let p = parse(text);
    assert_eq!(p.error_type.as_deref(), Some("NameError"));
    assert_eq!(p.message, "name 'x' is not defined");
}

#[test]
fn every_fixture_is_recognized() {
    let expected = ["python", "rust", "jvm", "node", "go", "dotnet", "ruby"];
    for (text, lang) in FIXTURES.iter().zip(expected) {
        let p = parse(text);
        assert_eq!(p.language.as_deref(), Some(lang));
        assert!(!p.frames.is_empty(), "{lang}");
        assert!(p.frames.iter().any(|f| f.in_app), "{lang}");
        assert!(p.error_type.is_some(), "{lang}");
        assert!(p.traceback.is_some(), "{lang}");
        let f = fp(&p);
        assert!(f.signature.len() >= 16, "{lang}");
        assert!(f.signature.bytes().all(|b| b.is_ascii_hexdigit()), "{lang}");
    }
}

// ---------------------------------------------------------------- normalize

#[test]
fn normalize_collapses_variable_tokens() {
    let cases = [
        (
            "job 550e8400-e29b-41d4-a716-446655440000 failed",
            "job <uuid> failed",
        ),
        ("request_id=7f3k9q2x1m failed", "request_id=<id> failed"),
        (
            "X-Request-Id: 1a2b3c4d-req failed",
            "X-Request-Id: <id> failed",
        ),
        ("req-8f3kz21x timed out", "req-<id> timed out"),
        ("at 2024-05-02T03:00:01.123Z we broke", "at <ts> we broke"),
        ("on 2024-05-02 at 03:00:01", "on <ts> at <ts>"),
        ("Date: Thu, 02 May 2024 03:00:01 GMT", "Date: <ts>"),
        (
            "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
            "commit <hex>",
        ),
        ("object 5d41402 missing", "object <hex> missing"),
        ("segfault at 0x7ffd5fbff8a0", "segfault at <addr>"),
        (
            "took 30s, 3.5 MB, [5] of 17",
            "took <n>s, <n> MB, [<n>] of <n>",
        ),
        ("connect 10.0.3.17:5432 refused", "connect <ip> refused"),
        ("open /tmp/tmpa8x3k2/out.csv: denied", "open <tmp>: denied"),
        (
            "open /var/folders/xy/abc123/T/x.lock failed",
            "open <tmp> failed",
        ),
        (
            r"C:\Users\alice\AppData\Local\Temp\job42\x.dat is locked",
            "<tmp> is locked",
        ),
        (
            "token ch_3MmlLrLkdIwHu7ix0snN0B15 expired",
            "token ch_<id> expired",
        ),
        ("   spaced\t\tout  ", "spaced out"),
    ];
    for (input, want) in cases {
        assert_eq!(normalize_message(input), want, "{input}");
    }
}

#[test]
fn normalize_keeps_identifiers_and_quoted_keys() {
    for kept in [
        "KeyError: 'user_id'",
        "column \"order_id\" does not exist",
        "python3 missing module col2 in row_7",
        "v1.2.3 is deprecated",
        "request id format is invalid",
        "the facade was defaced",
    ] {
        assert_eq!(normalize_message(kept), kept);
    }
}

// ---------------------------------------------------------------- grouping

/// A Python traceback whose variable parts are parameters.
fn python_failure(root: &str, line: u32, func: &str, ty: &str, msg: &str) -> String {
    format!(
        "{ts} ERROR run {id}\nTraceback (most recent call last):\n  File \"{root}/etl/main.py\", line {l1}, in main\n    \
         load()\n  File \"{root}/etl/load.py\", line {line}, in {func}\n    row = rows[key]\n{ty}: {msg}\n",
        ts = "2024-05-02 03:00:01",
        id = "8c1f2e7a-4b7d-4a0e-9d3b-2f6a1c9e0b11",
        l1 = line + 40,
    )
}

#[test]
fn same_failure_with_different_tokens_paths_and_lines_groups() {
    let a = python_failure(
        "/home/a/venv/src",
        42,
        "load",
        "ValueError",
        "bad row 17 in batch 550e8400-e29b-41d4-a716-446655440000",
    );
    let b = python_failure(
        "/opt/app",
        57,
        "load",
        "ValueError",
        "bad row 9 in batch 123e4567-e89b-12d3-a456-426614174000",
    );
    assert_eq!(sig(&a), sig(&b));

    // Rust panics differing only in the line of the location.
    let a = "thread 'main' panicked at src/load.rs:42:9:\nindex out of bounds: the len is 3 but the index is 5\n";
    let b = "thread 'main' panicked at src/load.rs:47:13:\nindex out of bounds: the len is 4 but the index is 9\n";
    assert_eq!(sig(a), sig(b));

    // Backtraces from two installs and two builds.
    let other = RUST_BACKTRACE
        .replace("./src/", "/build/loader-7f3a/src/")
        .replace(":42:9", ":51:9")
        .replace(
            "82e1608dfa6e0b5569232559e3d385fea5a93112",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        );
    assert_eq!(sig(RUST_BACKTRACE), sig(&other));

    // Plain messages differing only in variable tokens.
    let a = "2024-05-02T03:00:01Z ERROR upload of /tmp/tmpa8x3k2/part-0001.parquet to 10.0.3.17:9000 failed after 3 retries (request_id=9f8e7d6c5b4a)";
    let b = "2024-06-11T17:45:59Z ERROR upload of /tmp/tmpz91kq0/part-0042.parquet to 10.0.3.18:9000 failed after 5 retries (request_id=0a1b2c3d4e5f)";
    assert_eq!(sig(a), sig(b));
}

#[test]
fn different_types_functions_and_keys_do_not_group() {
    let base = python_failure("/opt/app", 42, "load", "KeyError", "'user_id'");
    let other_type = python_failure(
        "/opt/app",
        42,
        "load",
        "IndexError",
        "list index out of range",
    );
    let other_func = python_failure("/opt/app", 42, "parse", "KeyError", "'user_id'");
    let other_key = python_failure("/opt/app", 42, "load", "KeyError", "'order_id'");
    let sigs = [
        sig(&base),
        sig(&other_type),
        sig(&other_func),
        sig(&other_key),
    ];
    for (i, a) in sigs.iter().enumerate() {
        for b in sigs.iter().skip(i + 1) {
            assert_ne!(a, b);
        }
    }
    // Without frames too.
    assert_ne!(sig("KeyError: 'user_id'"), sig("KeyError: 'order_id'"));
    // And a non-naming error with the same frames ignores its message.
    let a = python_failure(
        "/opt/app",
        42,
        "load",
        "ValueError",
        "could not convert 'abc'",
    );
    let b = python_failure(
        "/opt/app",
        42,
        "load",
        "ValueError",
        "could not convert 'xyz'",
    );
    assert_eq!(sig(&a), sig(&b));
}

#[test]
fn placeholder_backtraces_fall_back_to_the_message() {
    let placeholder = |msg: &str| {
        let frames = vec![
            Frame {
                function: "<unknown>".into(),
                in_app: true,
                ..Frame::default()
            },
            Frame {
                function:
                    "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"
                        .into(),
                in_app: true,
                ..Frame::default()
            },
            Frame {
                function: String::new(),
                file: String::new(),
                in_app: true,
                ..Frame::default()
            },
            Frame {
                function: "std::rt::lang_start".into(),
                file: "/rustc/x/library/std/src/rt.rs".into(),
                in_app: false,
                ..Frame::default()
            },
        ];
        fingerprint(Some("panic"), &frames, msg)
    };
    let a = placeholder("database is locked");
    let b = placeholder("disk quota exceeded");
    assert_ne!(a.signature, b.signature);
    assert_eq!(a.fingerprint, "panic: database is locked");
    assert_eq!(placeholder("database is locked").signature, a.signature);

    // Empty frames behave the same.
    let a = fingerprint(Some("panic"), &[], "database is locked");
    let b = fingerprint(Some("panic"), &[], "disk quota exceeded");
    assert_ne!(a.signature, b.signature);

    // Parsed text with only std frames, too.
    let only_std = "thread 'main' panicked at library/core/src/option.rs:2:3:\nconfig missing\nstack backtrace:\n   0: rust_begin_unwind\n   1: core::panicking::panic_fmt\n   2: <unknown>\n";
    let p = parse(only_std);
    assert!(p.frames.iter().all(|f| !f.in_app));
    assert_eq!(fp(&p).fingerprint, "panic: config missing");
}

#[test]
fn fingerprint_report_uses_custom_fingerprint_then_fields() {
    let mut report = Report::new("etl", Severity::Error, ReportKind::Error, "boom 42");
    report.error_type = Some("ValueError".into());
    let computed = fingerprint_report(&report);
    assert_eq!(computed.fingerprint, "ValueError: boom <n>");
    assert_eq!(computed, fingerprint(Some("ValueError"), &[], "boom 42"));

    report.custom_fingerprint = Some("nightly-export".into());
    let custom = fingerprint_report(&report);
    assert_eq!(custom.fingerprint, "custom: nightly-export");
    assert_ne!(custom.signature, computed.signature);

    // The flow is not part of the signature.
    let mut other = report.clone();
    other.flow = "another-flow".into();
    assert_eq!(fingerprint_report(&other), custom);

    report.custom_fingerprint = Some("   ".into());
    assert_eq!(fingerprint_report(&report), computed);
}

#[test]
fn generated_suffixes_do_not_split_groups() {
    let frame = |function: &str| Frame {
        file: "Job.java".into(),
        function: function.into(),
        in_app: true,
        ..Frame::default()
    };
    let a = fingerprint(Some("E"), &[frame("com.acme.Job.lambda$run$0")], "");
    let b = fingerprint(Some("E"), &[frame("com.acme.Job.lambda$run$3")], "");
    assert_eq!(a, b);
    let a = fingerprint(Some("panic"), &[frame("app::run::h0123456789abcdef")], "");
    let b = fingerprint(Some("panic"), &[frame("app::run::hfedcba9876543210")], "");
    assert_eq!(a, b);
}

#[test]
fn signatures_use_at_most_three_frames() {
    let frames: Vec<Frame> = (0..6)
        .map(|i| Frame {
            file: format!("/app/m{i}.py"),
            function: format!("f{i}"),
            in_app: true,
            ..Frame::default()
        })
        .collect();
    let f = fingerprint(Some("E"), &frames, "");
    assert_eq!(f.fingerprint, "E @ m0.py:f0 < m1.py:f1 < m2.py:f2");
    assert_eq!(MAX_SIGNATURE_FRAMES, 3);
}

// ---------------------------------------------------------------- robustness

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn parse_never_panics_on_garbage() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let alphabet: Vec<char> = " \t\n\r:'\"`()[]{}<>.,/\\-_+|$@#=0123456789aAzZéß漢\u{1b}\u{0}"
        .chars()
        .collect();
    for _ in 0..300 {
        let len = rng.below(400);
        let text: String = (0..len)
            .map(|_| {
                alphabet
                    .get(rng.below(alphabet.len()))
                    .copied()
                    .unwrap_or('x')
            })
            .collect();
        let p = parse(&text);
        let _ = fp(&p);
        let _ = normalize_message(&text);
    }
}

#[test]
fn parse_never_panics_on_spliced_and_truncated_tracebacks() {
    let lines: Vec<&str> = FIXTURES.iter().flat_map(|f| f.lines()).collect();
    let mut rng = Rng(42);
    for _ in 0..300 {
        let n = rng.below(40);
        let text: Vec<&str> = (0..n)
            .map(|_| lines.get(rng.below(lines.len())).copied().unwrap_or(""))
            .collect();
        let _ = fp(&parse(&text.join("\n")));
    }
    for fixture in FIXTURES {
        let mut cut = 0;
        while cut < fixture.len() {
            if fixture.is_char_boundary(cut) {
                let _ = fp(&parse(&fixture[..cut]));
                let _ = fp(&parse(&fixture[cut..]));
            }
            cut += 13;
        }
    }
}

#[test]
fn parse_handles_huge_and_pathological_input() {
    // Megabytes of noise with a traceback at the end.
    let noise = "2024-05-02T03:00:01Z INFO processed batch 17 of 9000 in 35ms\n".repeat(40_000);
    let text = format!("{noise}{PYTHON_CHAINED}");
    assert!(text.len() > MAX_INPUT_BYTES / 2);
    assert_eq!(parse(&text).error_type.as_deref(), Some("RuntimeError"));

    // Beyond the cap only the tail counts.
    let text = format!("{JVM_CAUSED_BY}{}{RUBY_NOMETHOD}", noise.repeat(2));
    assert!(text.len() > MAX_INPUT_BYTES);
    assert_eq!(parse(&text).language.as_deref(), Some("ruby"));

    // Headers without bodies, frames without headers, one endless line.
    for text in [
        "Traceback (most recent call last):\n".repeat(5_000),
        "  File \"x.py\", line 1\n".repeat(5_000),
        "thread 'main' panicked at 'x\n".repeat(5_000),
        "    at fn (/app/x.js:1:2)\n".repeat(5_000),
        "\tat a.B.c(B.java:1)\n".repeat(5_000),
        "panic: x\n".repeat(5_000),
        "Error: x\n\n".repeat(5_000),
        "System.X: y\n".repeat(5_000),
        "a.rb:1:in 'x': y\n".repeat(5_000),
        "x".repeat(1_000_000),
    ] {
        let _ = fp(&parse(&text));
    }
}

#[test]
fn two_panics_in_one_function_are_two_incidents_and_numbers_still_group() {
    let frames = vec![Frame {
        function: "etl::load::run".into(),
        file: "src/load.rs".into(),
        line: Some(42),
        in_app: true,
        ..Frame::default()
    }];
    let config = fingerprint(Some("panic"), &frames, "config file missing");
    let db = fingerprint(Some("panic"), &frames, "database unreachable");
    assert_ne!(config.signature, db.signature);
    let a = fingerprint(
        Some("panic"),
        &frames,
        "index out of bounds: the len is 3 but the index is 5",
    );
    let b = fingerprint(
        Some("panic"),
        &frames,
        "index out of bounds: the len is 7 but the index is 9",
    );
    assert_eq!(a.signature, b.signature);
    // Moving the panic to another line keeps the incident.
    let mut moved = frames.clone();
    moved[0].line = Some(57);
    assert_eq!(
        fingerprint(Some("panic"), &moved, "config file missing").signature,
        config.signature
    );
}
