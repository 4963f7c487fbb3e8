//! `clusterdeck audit verify|status|show|tail`: the log read from the command line, with the
//! same filters as the audit pane.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use color_eyre::eyre::{Result, eyre};

use crate::ops::audit::{AuditFilter, AuditLog, AuditRecord, verify};
use crate::ui::sanitize::sanitize;

#[derive(Clone, Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain (following rotated files); report the first bad line and why.
    Verify {
        /// Audit log (default: the configured one).
        file: Option<PathBuf>,
    },
    /// Where the log stands: its chain (records, head, anchor) and its syslog copy (shipped
    /// through which record, how many wait, why delivery fails). Exit 1 when something is wrong.
    Status {
        /// Audit log (default: the configured one).
        file: Option<PathBuf>,
    },
    /// Print the records that match.
    Show(ShowArgs),
    /// Print the last records, then follow new ones as they are written.
    Tail {
        #[command(flatten)]
        show: ShowArgs,
        /// How many records to print before following.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Print and exit instead of following.
        #[arg(long)]
        no_follow: bool,
    },
}

#[derive(Clone, Debug, Args)]
pub struct ShowArgs {
    /// Audit log (default: the configured one).
    pub file: Option<PathBuf>,
    /// RFC 3339 time, YYYY-MM-DD, or an age such as 30m, 2h, 7d.
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub context: Option<String>,
    #[arg(long)]
    pub verb: Option<String>,
    /// The records as JSON Lines, exactly as stored.
    #[arg(long)]
    pub json: bool,
}

impl ShowArgs {
    fn filter(&self) -> Result<AuditFilter> {
        let now = chrono::Utc::now();
        let t = |s: &Option<String>| -> Result<_> {
            s.as_deref()
                .map(|v| crate::ops::audit::parse_time(v, now))
                .transpose()
                .map_err(|e| eyre!(e))
        };
        Ok(AuditFilter {
            since: t(&self.since)?,
            until: t(&self.until)?,
            user: self.user.clone(),
            context: self.context.clone(),
            verb: self.verb.clone(),
            words: Vec::new(),
        })
    }
}

/// One record as a line for people.
pub fn human(r: &AuditRecord) -> String {
    let user = match &r.claimed_user {
        Some(c) => format!("{} (USER={c})", r.user),
        None => r.user.clone(),
    };
    let who = match &r.ssh_client {
        Some(ip) => format!("{user}@{} from {ip}", r.host),
        None => format!("{user}@{}", r.host),
    };
    let tail = match (&r.result, &r.message) {
        (Some(res), m) => format!(
            "{res} {}ms {}",
            r.duration_ms.unwrap_or(0),
            m.as_deref().unwrap_or("")
        ),
        (None, _) => r.cli.clone(),
    };
    let line = format!(
        "{} #{} {:<7} {who} [{}/{}] {} {} — {}",
        r.time, r.seq, r.phase, r.context, r.backend, r.verb, r.target, tail
    );
    sanitize(&line).into_owned()
}

fn print(r: &AuditRecord, json: bool) {
    if json {
        if let Ok(s) = serde_json::to_string(r) {
            println!("{}", escape_controls(&s));
        }
    } else {
        println!("{}", human(r));
    }
}

/// JSON with the characters a terminal would act on escaped as `\uXXXX`: C1 controls and the
/// bidirectional overrides and isolates (serde escapes C0 already). The value is the same
/// JSON; only its spelling changes. They can only occur inside strings, so this is safe.
pub fn escape_controls(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        let u = c as u32;
        let hostile = (0x80..=0x9f).contains(&u)
            || (0x202a..=0x202e).contains(&u)
            || (0x2066..=0x2069).contains(&u)
            || u == 0x200e
            || u == 0x200f
            || u == 0x061c;
        if hostile {
            out.push_str(&format!("\\u{u:04x}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// `clusterdeck audit status`.
fn status(path: &Path) -> Result<i32> {
    use crate::ops::audit::{anchor, ship};
    let log = AuditLog::new(path);
    let head = log.read_tail(1)?.pop();
    let records = head.as_ref().map_or(0, |r| r.seq);
    let mut bad = false;
    println!("audit log:  {}", path.display());
    println!(
        "chain:      {records} records{}",
        head.as_ref()
            .map(|r| format!(", the last at {}", r.time))
            .unwrap_or_default()
    );
    match verify(path) {
        Ok(_) => println!("verify:     ok"),
        Err(e) => {
            bad = true;
            println!("verify:     {e}");
        }
    }
    match anchor::read(path) {
        Some(a) => println!(
            "anchor:     record {} ({}…)",
            a.seq,
            &a.sha256[..a.sha256.len().min(12)]
        ),
        None => println!("anchor:     none yet"),
    }
    let shipped = ship::shipped_through(path);
    println!(
        "syslog:     shipped through record {shipped}; {} waiting",
        records.saturating_sub(shipped)
    );
    if let Some(f) = ship::failure(path) {
        bad = true;
        println!(
            "            not shipped since {}: {}",
            f.since,
            sanitize(&f.error)
        );
    }
    Ok(i32::from(bad))
}

pub fn run(cmd: AuditCmd, default: Option<PathBuf>) -> Result<i32> {
    let pick = |f: Option<PathBuf>| -> Result<PathBuf> {
        f.or(default.clone())
            .ok_or_else(|| eyre!("no audit log configured: pass a FILE"))
    };
    match cmd {
        AuditCmd::Verify { file } => {
            let path = pick(file)?;
            match verify(&path) {
                Ok(r) => {
                    println!(
                        "ok: {} records in {} file(s), {} … {}",
                        r.records,
                        r.files,
                        r.first_time.as_deref().unwrap_or("-"),
                        r.last_time.as_deref().unwrap_or("-")
                    );
                    Ok(0)
                }
                Err(e) => {
                    println!("{e}");
                    Ok(1)
                }
            }
        }
        AuditCmd::Status { file } => status(&pick(file)?),
        AuditCmd::Show(args) => {
            let path = pick(args.file.clone())?;
            let f = args.filter()?;
            for r in AuditLog::new(&path)
                .read_all()?
                .iter()
                .filter(|r| f.matches(r))
            {
                print(r, args.json);
            }
            Ok(0)
        }
        AuditCmd::Tail {
            show,
            lines,
            no_follow,
        } => {
            let path = pick(show.file.clone())?;
            let f = show.filter()?;
            tail(&path, &f, lines, !no_follow, show.json)
        }
    }
}

fn tail(path: &Path, f: &AuditFilter, n: usize, follow: bool, json: bool) -> Result<i32> {
    let log = AuditLog::new(path);
    let recs: Vec<AuditRecord> = log
        .read_all()?
        .into_iter()
        .filter(|r| f.matches(r))
        .collect();
    let skip = recs.len().saturating_sub(n);
    let mut last = log.read_tail(1)?.last().map_or(0, |r| r.seq);
    for r in &recs[skip..] {
        print(r, json);
    }
    if !follow {
        return Ok(0);
    }
    loop {
        std::thread::sleep(Duration::from_millis(500));
        for (r, _) in log.lines_after(last)? {
            last = r.seq;
            if f.matches(&r) {
                print(&r, json);
            }
        }
    }
}
