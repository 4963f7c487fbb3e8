//! The chain's anchor: the last record's sequence number and hash, and the live file's length,
//! kept next to the log (`<log>.anchor`), outside it. A log deleted, truncated or renamed away
//! by another tool leaves a chain that starts again from nothing, or from an earlier record;
//! the anchor still says where it ended, so the next append writes a `chain-restart` record
//! first and `audit verify` reports the gap instead of answering "ok".

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::record::AuditRecord;

/// The phase (and verb) of the record that says the chain restarted.
pub const CHAIN_RESTART: &str = "chain-restart";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub seq: u64,
    pub sha256: String,
    /// The live file's length after that record.
    pub bytes: u64,
}

pub fn anchor_path(log: &Path) -> PathBuf {
    let mut s = log.to_path_buf().into_os_string();
    s.push(".anchor");
    PathBuf::from(s)
}

/// The anchor, if one was written (an unreadable one counts as none: the chain itself is the
/// record; the anchor only catches its loss).
pub fn read(log: &Path) -> Option<Anchor> {
    let text = fs::read_to_string(anchor_path(log)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Replaces the anchor atomically (a temporary file renamed over it).
pub fn write(log: &Path, a: &Anchor, mode: u32) -> io::Result<()> {
    let path = anchor_path(log);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(&serde_json::to_vec(a).map_err(io::Error::other)?)?;
    f.sync_all()?;
    fs::rename(&tmp, &path)
}

/// Whether the chain whose head is (`seq`, `sha256`) has lost what the anchor saw.
pub fn behind(a: &Anchor, seq: u64, sha256: &str) -> bool {
    seq < a.seq || (seq == a.seq && sha256 != a.sha256)
}

/// Why the chain no longer reaches the anchor, from what is left of the live file.
pub fn why(log: &Path, a: &Anchor) -> String {
    match fs::metadata(log) {
        Err(_) => "the log file is gone (deleted, or renamed by another tool)".into(),
        Ok(m) if m.len() < a.bytes => format!(
            "the log was truncated ({} bytes where it had {})",
            m.len(),
            a.bytes
        ),
        Ok(_) => "the log's last records are gone (replaced by another file)".into(),
    }
}

/// The record that opens a restarted chain: who was at the console, what the anchor said and
/// what was found, and why.
pub fn restart_record(
    a: &Anchor,
    found: (u64, &str),
    why: &str,
    log: &Path,
    by: &AuditRecord,
) -> AuditRecord {
    let short = |h: &str| h.chars().take(12).collect::<String>();
    AuditRecord {
        v: 1,
        time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        op_id: format!(
            "{CHAIN_RESTART}-{}",
            Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
        ),
        phase: CHAIN_RESTART.into(),
        user: by.user.clone(),
        uid: by.uid,
        claimed_user: by.claimed_user.clone(),
        ssh_client: by.ssh_client.clone(),
        tty: by.tty.clone(),
        host: by.host.clone(),
        verb: CHAIN_RESTART.into(),
        target: log.display().to_string(),
        params: serde_json::json!({
            "previous": {"seq": a.seq, "sha256": a.sha256},
            "found": {"seq": found.0, "sha256": found.1},
        }),
        message: Some(format!(
            "the chain restarts here: {why}; it had {} records ending {}…, {} are left",
            a.seq,
            short(&a.sha256),
            found.0
        )),
        ..AuditRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_means_fewer_records_or_another_head() {
        let a = Anchor {
            seq: 5,
            sha256: "aa".into(),
            bytes: 100,
        };
        assert!(behind(&a, 4, "bb"));
        assert!(behind(&a, 5, "bb"));
        assert!(!behind(&a, 5, "aa"));
        assert!(!behind(&a, 6, "cc"));
    }
}

#[cfg(test)]
mod chain_tests {
    use std::fs;

    use crate::audit::{AuditLog, AuditRecord, Problem, verify};

    fn rec(op: &str) -> AuditRecord {
        AuditRecord {
            op_id: op.into(),
            ..crate::audit::record::sample()
        }
    }

    fn phases(log: &AuditLog) -> Vec<(u64, String)> {
        log.read_all()
            .expect("read")
            .into_iter()
            .map(|r| (r.seq, r.phase))
            .collect()
    }

    #[test]
    fn a_deleted_log_restarts_its_chain_with_a_record_that_says_so() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&path);
        log.append(rec("a")).expect("a");
        log.append(rec("b")).expect("b");
        fs::remove_file(&path).expect("delete");
        // Before anything is written again, verify already knows from the anchor.
        let e = verify(&path).expect_err("history lost");
        assert_eq!(e.problem, Problem::Restarted);
        assert!(
            e.detail.contains("gone") && e.detail.contains("2 records"),
            "{e}"
        );
        log.append(rec("c")).expect("c");
        assert_eq!(
            phases(&log),
            [(1, "chain-restart".to_string()), (2, "intent".to_string())]
        );
        let restart = &log.read_all().expect("read")[0];
        assert_eq!(restart.params["previous"]["seq"], 2);
        assert_eq!(restart.params["found"]["seq"], 0);
        let e = verify(&path).expect_err("restarted");
        assert_eq!((&e.problem, e.line), (&Problem::Restarted, 1));
        assert!(e.detail.contains("deleted, or renamed"), "{e}");
    }

    #[test]
    fn a_truncated_log_restarts_after_what_is_left() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&path);
        for op in ["a", "b", "c"] {
            log.append(rec(op)).expect("append");
        }
        let text = fs::read_to_string(&path).expect("read");
        let first = text.lines().next().expect("a line");
        fs::write(&path, format!("{first}\n")).expect("truncate");
        let e = verify(&path).expect_err("the newest records are gone");
        assert!(
            e.detail.contains("truncated") && e.detail.contains("ends at 1"),
            "{e}"
        );
        log.append(rec("d")).expect("d");
        assert_eq!(
            phases(&log),
            [
                (1, "intent".to_string()),
                (2, "chain-restart".to_string()),
                (3, "intent".to_string())
            ]
        );
        let e = verify(&path).expect_err("restarted");
        assert_eq!((&e.problem, e.line), (&Problem::Restarted, 2));
        assert!(e.detail.contains("truncated"), "{e}");
    }

    #[test]
    fn a_log_renamed_away_by_logrotate_restarts_the_chain() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&path);
        log.append(rec("a")).expect("a");
        // logrotate's naming, not ours: the chain cannot follow it.
        fs::rename(&path, dir.path().join("audit.jsonl.1")).expect("rename");
        log.append(rec("b")).expect("b");
        assert_eq!(phases(&log)[0], (1, "chain-restart".to_string()));
        assert_eq!(
            verify(&path).expect_err("restarted").problem,
            Problem::Restarted
        );
    }

    #[test]
    fn an_untouched_log_and_its_own_rotation_verify_clean() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&path).with_rotation(300);
        for i in 0..6 {
            log.append(rec(&format!("op{i}"))).expect("append");
        }
        assert!(log.files().len() > 1, "rotated");
        let report = verify(&path).expect("clean");
        assert_eq!(report.records, 6);
    }
}
