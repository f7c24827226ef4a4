//! The suite's plumbing: per-trial environments (a fresh workspace, cleanup on
//! success), the trial builder, readable failures and shared test data.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use libtest_mimic::{Failed, Trial};
use parking_lot::Mutex;
use tokio::runtime::Runtime;

use crate::{Error, Storage, Workspace};

/// What a case returns.
pub(crate) type Outcome = Result<(), Failed>;

/// Longest a single case may run (a PostgreSQL case that hangs fails instead).
const CASE_TIMEOUT: Duration = Duration::from_secs(180);

/// Longest rendering of a value in a failure message.
const MAX_SHOWN: usize = 600;

/// One trial's world: the factory, its own workspace, and the storages it opened
/// (dropped when the case succeeds; kept for inspection when it fails).
pub(crate) struct Env<F: ?Sized> {
    pub(crate) factory: Arc<F>,
    pub(crate) ws: Workspace,
    prefix: &'static str,
    opened: Mutex<Vec<Arc<dyn Storage>>>,
}

impl<F: ?Sized> Env<F> {
    fn new(factory: Arc<F>, prefix: &'static str) -> Self {
        Self { factory, ws: crate::testkit::unique_workspace(prefix), prefix, opened: Mutex::new(Vec::new()) }
    }

    /// Another fresh workspace, for isolation checks.
    pub(crate) fn other_workspace(&self) -> Workspace {
        crate::testkit::unique_workspace(self.prefix)
    }

    /// Registers a storage for cleanup.
    pub(crate) fn track(&self, storage: Arc<dyn Storage>) {
        self.opened.lock().push(storage);
    }

    async fn cleanup(&self) -> Outcome {
        let opened = std::mem::take(&mut *self.opened.lock());
        for s in opened {
            s.drop_all().await.ctx(format_args!("cleanup: drop_all of {} in {}", s.namespace(), s.workspace()))?;
        }
        Ok(())
    }
}

/// Builds the trial `{kind}::{name}`: runs `case` on the shared runtime in a fresh
/// workspace, with a time limit, and drops what it wrote when it succeeds.
pub(crate) fn trial<F, C, Fut>(kind: &'static str, name: &str, rt: &Arc<Runtime>, factory: &Arc<F>, case: C) -> Trial
where
    F: ?Sized + Send + Sync + 'static,
    C: FnOnce(Arc<Env<F>>) -> Fut + Send + 'static,
    Fut: Future<Output = Outcome>,
{
    let rt = Arc::clone(rt);
    let factory = Arc::clone(factory);
    let prefix = match kind {
        "doc_status" => "ds",
        "vector" => "vec",
        other => other,
    };
    Trial::test(format!("{kind}::{name}"), move || {
        rt.block_on(async move {
            let env = Arc::new(Env::new(factory, prefix));
            let ws = env.ws.clone();
            match tokio::time::timeout(CASE_TIMEOUT, case(Arc::clone(&env))).await {
                Err(_) => Err(Failed::from(format!("timed out after {CASE_TIMEOUT:?} (workspace {ws})"))),
                Ok(Err(e)) => Err(Failed::from(format!("{} (workspace {ws})", e.message().unwrap_or("failed")))),
                Ok(Ok(())) => env.cleanup().await,
            }
        })
    })
}

/// Builds one trial per case function, named after it.
macro_rules! cases {
    ($kind:literal, $rt:expr, $factory:expr; $($case:ident),* $(,)?) => {
        vec![$($crate::testkit::support::trial($kind, stringify!($case), $rt, $factory, $case)),*]
    };
}
pub(crate) use cases;

/// Fails the case with a message and the location unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        let holds: bool = $cond;
        if !holds {
            return Err($crate::testkit::support::failure(format_args!($($arg)+), file!(), line!()));
        }
    };
}
pub(crate) use ensure;

/// Fails the case, showing both values, unless `actual == expected`.
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $($arg:tt)+) => {
        // `match` keeps temporaries alive, as in `assert_eq!`.
        match (&$actual, &$expected) {
            (actual, expected) => {
                if actual != expected {
                    return Err($crate::testkit::support::mismatch(actual, expected, format_args!($($arg)+), file!(), line!()));
                }
            }
        }
    };
}
pub(crate) use ensure_eq;

/// A failure with its location.
pub(crate) fn failure(what: fmt::Arguments<'_>, file: &str, line: u32) -> Failed {
    Failed::from(format!("{what}\n  at {file}:{line}"))
}

/// A failed comparison with both values (shortened).
pub(crate) fn mismatch(
    actual: &dyn fmt::Debug,
    expected: &dyn fmt::Debug,
    what: fmt::Arguments<'_>,
    file: &str,
    line: u32,
) -> Failed {
    Failed::from(format!("{what}\n  actual:   {}\n  expected: {}\n  at {file}:{line}", short(actual), short(expected)))
}

/// `Debug` output cut to a readable length (1 MB values stay out of the log).
pub(crate) fn short(v: &dyn fmt::Debug) -> String {
    let s = format!("{v:?}");
    if s.len() <= MAX_SHOWN {
        return s;
    }
    let mut cut = MAX_SHOWN;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..cut], s.len())
}

/// Turns a storage error into a failure that says which call failed.
pub(crate) trait Ctx<T> {
    /// The value, or a failure naming `what`.
    fn ctx(self, what: impl fmt::Display) -> Result<T, Failed>;
}

impl<T> Ctx<T> for Result<T, Error> {
    fn ctx(self, what: impl fmt::Display) -> Result<T, Failed> {
        self.map_err(|e| {
            let mut msg = format!("{what}: unexpected error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg.push_str(&format!("\n  caused by: {s}"));
                source = s.source();
            }
            Failed::from(msg)
        })
    }
}

/// Checks that `result` is [`Error::InvalidInput`] whose `input` names `id` (the
/// error shortens long inputs, so a prefix of the id suffices then).
pub(crate) fn expect_invalid<T: fmt::Debug>(result: Result<T, Error>, id: &str, what: &str) -> Outcome {
    match result {
        Err(Error::InvalidInput { input, reason }) => {
            let stem = input.strip_suffix("...").unwrap_or(&input);
            if input.contains(id) || (!stem.is_empty() && id.starts_with(stem)) {
                Ok(())
            } else {
                Err(Failed::from(format!(
                    "{what}: InvalidInput should name {}, but names {} ({reason})",
                    short(&id),
                    short(&input)
                )))
            }
        }
        other => Err(Failed::from(format!(
            "{what}: expected Error::InvalidInput naming {}, got {}",
            short(&id),
            short(&other)
        ))),
    }
}

/// Ids and texts that break naive quoting: CJK, emoji, both quotes, `$$` (a
/// PostgreSQL dollar quote), backslash and `}` (agtype/JSON delimiters).
pub(crate) const TRICKY: &[&str] = &[
    "实体-中文名称",
    "emoji 🙂🚀 entity",
    "it's O'Brien",
    "say \"hi\"",
    "$$dollar$$ quoted",
    "back\\slash\\",
    "brace} and {open",
    "混合 '\"$$\\} 🙂",
];

/// A string of about `bytes` bytes of mixed one- to four-byte characters.
pub(crate) fn big_text(bytes: usize) -> String {
    let unit = "LightRAG ✓ 中文 🙂 'q' \"dq\" $$ \\ } ";
    let mut s = String::with_capacity(bytes + unit.len());
    while s.len() < bytes {
        s.push_str(unit);
    }
    s
}

/// One megabyte.
pub(crate) const ONE_MB: usize = 1 << 20;

/// A fixed UTC time `secs` seconds after 2025-01-02T03:04:05Z plus `micros`
/// microseconds (whole microseconds, as PostgreSQL stores them).
pub(crate) fn at(secs: i64, micros: u32) -> DateTime<Utc> {
    let base = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).single().unwrap_or_default();
    base + chrono::Duration::seconds(secs) + chrono::Duration::microseconds(i64::from(micros))
}

/// The current time in epoch seconds.
pub(crate) fn now_epoch() -> i64 {
    Utc::now().timestamp()
}

/// `ids` as owned strings.
pub(crate) fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}
