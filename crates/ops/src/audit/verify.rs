//! `clusterdeck audit verify`: walks the chain across rotated files and reports the first bad
//! line and why. Sequence numbers tell a deletion (a gap) from a reordering (the missing number
//! appears later); each record's own hash tells an edit at the edited line itself; a last line
//! cut short is a truncation; a `chain-restart` record, or a chain that no longer reaches its
//! anchor, is history lost (the log deleted, truncated or renamed away).

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::anchor;
use super::log::AuditLog;
use super::record::{AuditRecord, GENESIS, self_hash_ok, sha256_hex};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The line's content differs from what was written.
    Edited,
    /// Records are missing before this line.
    Deleted { missing: u64 },
    /// This record is out of order (moved or duplicated).
    Reordered,
    /// The last line is cut short.
    Truncated,
    /// The chain lost its history and started again (a `chain-restart` record, or an anchor
    /// the chain no longer reaches).
    Restarted,
}

impl Problem {
    pub fn label(&self) -> &'static str {
        match self {
            Problem::Edited => "edited",
            Problem::Deleted { .. } => "deleted",
            Problem::Reordered => "reordered",
            Problem::Truncated => "truncated",
            Problem::Restarted => "restarted",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct VerifyError {
    pub file: PathBuf,
    /// 1-based line within `file`.
    pub line: usize,
    pub problem: Problem,
    pub detail: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.problem.label(),
            self.detail
        )
    }
}

impl std::error::Error for VerifyError {}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerifyReport {
    pub files: usize,
    pub records: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
}

struct Line {
    file: usize,
    no: usize,
    raw: Vec<u8>,
    complete: bool,
    record: Option<AuditRecord>,
}

fn read_lines(files: &[PathBuf]) -> Result<Vec<Line>, VerifyError> {
    let mut out = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        let bytes = fs::read(f).map_err(|e| VerifyError {
            file: f.clone(),
            line: 0,
            problem: Problem::Truncated,
            detail: format!("cannot read: {e}"),
        })?;
        let complete_end = bytes.ends_with(b"\n");
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        if body.is_empty() {
            continue;
        }
        let pieces: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
        let n = pieces.len();
        for (i, raw) in pieces.into_iter().enumerate() {
            out.push(Line {
                file: fi,
                no: i + 1,
                raw: raw.to_vec(),
                complete: i + 1 < n || complete_end,
                record: serde_json::from_slice(raw).ok(),
            });
        }
    }
    Ok(out)
}

/// Verifies the chain that ends in `path` (its rotated files first).
pub fn verify(path: &Path) -> Result<VerifyReport, VerifyError> {
    let files = AuditLog::new(path).files();
    let anchor = anchor::read(path);
    if files.is_empty() {
        return Err(no_log(path, anchor.as_ref()));
    }
    let lines = read_lines(&files)?;
    let seqs: Vec<Option<u64>> = lines
        .iter()
        .map(|l| l.record.as_ref().map(|r| r.seq))
        .collect();
    let err = |(i, problem, detail): (usize, Problem, String)| VerifyError {
        file: files[lines[i].file].clone(),
        line: lines[i].no,
        problem,
        detail,
    };
    let mut prev_hash = GENESIS.to_string();
    let mut report = VerifyReport {
        files: files.len(),
        ..Default::default()
    };
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        let rec = check_line(i, line, i == last, &seqs, &prev_hash).map_err(err)?;
        if report.first_time.is_none() {
            report.first_time = Some(rec.time.clone());
        }
        report.last_time = Some(rec.time.clone());
        report.records += 1;
        prev_hash = sha256_hex(&line.raw);
    }
    // The newest records gone with nothing written since: only the anchor knows.
    if let Some(a) = anchor
        && anchor::behind(&a, report.records, &prev_hash)
    {
        return Err(err((
            last,
            Problem::Restarted,
            format!(
                "{}: the anchor says the chain held {} records, it ends at {}",
                anchor::why(path, &a),
                a.seq,
                report.records
            ),
        )));
    }
    Ok(report)
}

/// No file of the chain at all: gone (if the anchor says there was one) or never written.
fn no_log(path: &Path, anchor: Option<&anchor::Anchor>) -> VerifyError {
    let (problem, detail) = match anchor {
        Some(a) => (
            Problem::Restarted,
            format!(
                "{}; the anchor says the chain held {} records",
                anchor::why(path, a),
                a.seq
            ),
        ),
        None => (Problem::Deleted { missing: 0 }, "no audit log here".into()),
    };
    VerifyError {
        file: path.to_path_buf(),
        line: 0,
        problem,
        detail,
    }
}

/// One line in its place: its record, or (the line it concerns, the problem, why).
fn check_line<'a>(
    i: usize,
    line: &'a Line,
    is_last: bool,
    seqs: &[Option<u64>],
    prev_hash: &str,
) -> Result<&'a AuditRecord, (usize, Problem, String)> {
    let expected_seq = i as u64 + 1;
    let Some(rec) = &line.record else {
        return Err(if is_last && !line.complete {
            (i, Problem::Truncated, "the last record is cut short".into())
        } else {
            (
                i,
                Problem::Edited,
                "not a valid record (edited or damaged)".into(),
            )
        });
    };
    if is_last && !line.complete {
        return Err((i, Problem::Truncated, "the last line has no end".into()));
    }
    if !self_hash_ok(&line.raw) {
        return Err((
            i,
            Problem::Edited,
            "the record does not match its own hash".into(),
        ));
    }
    if rec.seq != expected_seq {
        let later: HashSet<u64> = seqs[i + 1..].iter().flatten().copied().collect();
        if rec.seq < expected_seq || later.contains(&expected_seq) {
            return Err((
                i,
                Problem::Reordered,
                format!("record {} where record {expected_seq} belongs", rec.seq),
            ));
        }
        return Err((
            i,
            Problem::Deleted {
                missing: rec.seq - expected_seq,
            },
            format!(
                "records {expected_seq}..{} are missing before this line",
                rec.seq - 1
            ),
        ));
    }
    if rec.prev_sha256 != prev_hash {
        // Sequence and self-hash hold, so the previous line was rewritten with a fresh hash.
        return Err((
            i.saturating_sub(1),
            Problem::Edited,
            format!(
                "record {} was rewritten: the next record chains to other content",
                expected_seq.saturating_sub(1)
            ),
        ));
    }
    if rec.phase == anchor::CHAIN_RESTART {
        let why = rec.message.clone();
        return Err((
            i,
            Problem::Restarted,
            why.unwrap_or_else(|| "the chain restarts here".into()),
        ));
    }
    Ok(rec)
}
