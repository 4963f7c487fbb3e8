//! Tamper evidence, through the real `clusterdeck audit verify`: an intact chain verifies; a
//! flipped byte, a deleted line, two swapped lines and a truncated last line are each reported
//! at the right line; rotation keeps one verifiable chain across files.

use std::path::Path;
use std::process::Command;

use clusterdeck::ops::audit::{AuditLog, AuditRecord, Problem, rotated_files, verify};

fn record(i: usize) -> AuditRecord {
    AuditRecord {
        v: 1,
        seq: 0,
        time: format!("2026-11-21T09:{:02}:{:02}.000Z", i / 60 % 60, i % 60),
        op_id: format!("20261121T090000.000Z-4242-{i}"),
        phase: if i.is_multiple_of(2) {
            "intent"
        } else {
            "outcome"
        }
        .into(),
        user: "alice".into(),
        uid: None,
        claimed_user: None,
        ssh_client: None,
        tty: None,
        host: "bastion".into(),
        context: "prod".into(),
        backend: "swarm".into(),
        verb: "scale".into(),
        target: format!("svc{i}"),
        object: None,
        params: serde_json::json!({"replicas": i}),
        cli: format!("docker service scale svc{i}={i}"),
        result: (i % 2 == 1).then(|| "ok".to_string()),
        message: None,
        duration_ms: None,
        prev_sha256: String::new(),
        sha256: String::new(),
    }
}

fn write_log(path: &Path, n: usize, rotate: u64) -> AuditLog {
    let log = AuditLog::new(path).with_rotation(rotate);
    for i in 0..n {
        log.append(record(i)).expect("append");
    }
    log
}

/// Runs `clusterdeck audit verify FILE`; returns (exit code, stdout).
fn cli_verify(path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clusterdeck"))
        .args(["--config", "/dev/null", "audit", "verify"])
        .arg(path)
        .output()
        .expect("run clusterdeck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(path: &Path, lines: &[String], trailing_newline: bool) {
    let mut s = lines.join("\n");
    if trailing_newline {
        s.push('\n');
    }
    std::fs::write(path, s).expect("write");
}

#[test]
fn intact_chain_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 50, 0);
    let (code, out) = cli_verify(&path);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: 50 records in 1 file(s)"), "{out}");
}

#[test]
fn flipped_byte_is_an_edit_at_that_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 20, 0);
    let mut l = lines(&path);
    // Line 8: change one digit of the replica count, keeping valid JSON.
    l[7] = l[7].replacen("\"replicas\":7", "\"replicas\":9", 1);
    write_lines(&path, &l, true);
    let (code, out) = cli_verify(&path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit.jsonl:8: edited"), "{out}");
    // A flip that breaks the JSON is reported at its line too.
    let mut l = lines(&path);
    l[7] = l[7].replacen('{', "[", 1);
    write_lines(&path, &l, true);
    let (_, out) = cli_verify(&path);
    assert!(out.contains("audit.jsonl:8: edited"), "{out}");
}

#[test]
fn rewritten_record_with_a_fresh_self_hash_is_found_by_the_next_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 10, 0);
    let mut l = lines(&path);
    // An editor who recomputes the record's own hash still breaks the chain at line 5.
    let mut rec: AuditRecord = serde_json::from_str(&l[4]).expect("record");
    rec.user = "mallory".into();
    l[4] = String::from_utf8(rec.to_line().expect("line")).expect("utf8");
    write_lines(&path, &l, true);
    let err = verify(&path).expect_err("tampered");
    assert_eq!(
        (err.line, err.problem.clone()),
        (5, Problem::Edited),
        "{err}"
    );
}

#[test]
fn deleted_line_is_reported_where_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 20, 0);
    let mut l = lines(&path);
    l.remove(11);
    write_lines(&path, &l, true);
    let (code, out) = cli_verify(&path);
    assert_eq!(code, 1);
    assert!(
        out.contains("audit.jsonl:12: deleted: records 12..12 are missing"),
        "{out}"
    );
}

#[test]
fn swapped_lines_are_reordered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 20, 0);
    let mut l = lines(&path);
    l.swap(4, 5);
    write_lines(&path, &l, true);
    let (code, out) = cli_verify(&path);
    assert_eq!(code, 1);
    assert!(out.contains("audit.jsonl:5: reordered"), "{out}");
}

#[test]
fn truncated_last_line_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 20, 0);
    let text = std::fs::read(&path).expect("read");
    std::fs::write(&path, &text[..text.len() - 30]).expect("truncate");
    let (code, out) = cli_verify(&path);
    assert_eq!(code, 1);
    assert!(out.contains("audit.jsonl:20: truncated"), "{out}");
    // Appending after a truncation chains to the damaged line; verify still points at it.
    let log = AuditLog::new(&path);
    log.append(record(99)).expect("append after damage");
    let err = verify(&path).expect_err("damaged");
    assert_eq!(err.line, 20, "{err}");
}

#[test]
fn rotation_keeps_one_chain_and_a_missing_file_is_a_deletion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 120, 4096);
    let rotated = rotated_files(&path);
    assert!(rotated.len() >= 3, "{rotated:?}");
    let (code, out) = cli_verify(&path);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: 120 records"), "{out}");
    // Every file starts where the previous one ended.
    let first_of_second: AuditRecord =
        serde_json::from_str(&lines(&rotated[1])[0]).expect("record");
    let last_of_first = lines(&rotated[0]).pop().expect("line");
    assert_eq!(
        first_of_second.prev_sha256,
        clusterdeck::ops::audit::sha256_hex(last_of_first.as_bytes())
    );
    // Removing a middle file is a deletion at the first line of the next one.
    std::fs::remove_file(&rotated[1]).expect("remove");
    let err = verify(&path).expect_err("gap");
    assert!(matches!(err.problem, Problem::Deleted { .. }), "{err}");
    assert_eq!((err.file.clone(), err.line), (rotated[2].clone(), 1));
}

#[test]
fn show_filters_like_the_pane() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 10, 0);
    let out = Command::new(env!("CARGO_BIN_EXE_clusterdeck"))
        .args([
            "--config",
            "/dev/null",
            "audit",
            "show",
            "--json",
            "--user",
            "alice",
            "--since",
            "2026-11-21T09:00:05Z",
        ])
        .arg(&path)
        .output()
        .expect("run");
    assert!(out.status.success());
    let shown: Vec<AuditRecord> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(
        shown.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (6..=10).collect::<Vec<_>>()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_clusterdeck"))
        .args([
            "--config",
            "/dev/null",
            "audit",
            "tail",
            "-n",
            "3",
            "--no-follow",
        ])
        .arg(&path)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("#10 outcome alice@bastion"), "{text}");
}

fn cli(args: &[&str], path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clusterdeck"))
        .args(["--config", "/dev/null", "audit"])
        .args(args)
        .arg(path)
        .output()
        .expect("run clusterdeck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Scale, delete the log, scale: the chain restarts with a record that says so, and neither
/// `audit verify` nor `audit status` answers "ok".
#[test]
fn a_log_deleted_between_two_runs_is_reported_not_verified_ok() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 2, 0);
    std::fs::remove_file(&path).expect("delete");
    let log = AuditLog::new(&path);
    log.append(record(2)).expect("append");
    let (code, out) = cli_verify(&path);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("audit.jsonl:1: restarted: the chain restarts here: the log file is gone"),
        "{out}"
    );
    let (code, out) = cli(&["status"], &path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("chain:      2 records"), "{out}");
    assert!(
        out.contains("verify:     ") && out.contains("restarted"),
        "{out}"
    );
}

/// `audit show --json` escapes what a terminal would act on (C1 controls, bidi overrides) as
/// `\uXXXX`: the same JSON value, nothing raw on the screen.
#[test]
fn show_json_escapes_c1_controls_and_bidi_overrides() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::new(&path);
    let hostile = "svc\u{202e}lanigiro\u{9b}31m\u{2066}x";
    log.append(AuditRecord {
        target: hostile.into(),
        ..record(0)
    })
    .expect("append");
    let (code, out) = cli(&["show", "--json"], &path);
    assert_eq!(code, 0, "{out}");
    for c in ['\u{202e}', '\u{9b}', '\u{2066}'] {
        assert!(!out.contains(c), "raw U+{:04X} in {out:?}", c as u32);
    }
    assert!(out.contains("\\u202e") && out.contains("\\u009b"), "{out}");
    let back: AuditRecord = serde_json::from_str(out.trim()).expect("still JSON");
    assert_eq!(back.target, hostile);
}
