//! Several consoles on one host append to one log: 8 processes × 500 actions through the gate
//! give 8,000 intent + outcome pairs, a valid chain, nothing lost, split or interleaved.
//!
//! The writers are this test binary re-run as child processes (env `CD_AUDIT_CHILD`), so each
//! is a separate process with its own file descriptors and locks, as real consoles are.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use tokio::sync::mpsc;

use clusterdeck::backends::BackendHandle;
use clusterdeck::model::SourceKind;
use clusterdeck::ops::audit::{AuditLog, verify};
use clusterdeck::ops::{Executor, Gate, Op, OpRequest};

use crate::support::*;

const WRITERS: usize = 8;
const ACTIONS: usize = 500;

/// In a child: perform the actions, each through check → confirm → release → outcome.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var("CD_AUDIT_CHILD") else {
        return; // Only meaningful as a child of `eight_writers_one_chain`.
    };
    let (tx, mut rx) = mpsc::channel(ACTIONS + 1);
    let handle = BackendHandle {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        ops: tx,
    };
    let mut gate = Gate::live(
        AuditLog::new(&path),
        Executor::new(vec![handle]),
        operator(),
    );
    let cluster = demo_app().store.clusters[0].clone();
    for i in 0..ACTIONS {
        let req = OpRequest::named(
            "demo",
            "web",
            Op::Scale {
                replicas: 11 + (i % 5) as u32,
            },
        );
        let confirmed = gate
            .check(req, Some(&cluster), &[])
            .expect("plan")
            .confirm("")
            .expect("confirm");
        let rel = gate
            .release(confirmed, Some(&cluster), &[])
            .expect("release");
        assert!(rx.try_recv().is_ok());
        gate.outcome(
            &rel.op_id,
            &rel.request,
            &Ok("done".into()),
            None,
            Duration::from_millis(1),
        )
        .expect("outcome");
    }
}

#[test]
fn eight_writers_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..WRITERS)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "audit_concurrency::child_writer",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("CD_AUDIT_CHILD", &path)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn writer")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success(), "a writer failed");
    }
    let report = verify(&path).unwrap_or_else(|e| panic!("chain broken: {e}"));
    assert_eq!(report.records as usize, WRITERS * ACTIONS * 2);
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        text.lines().count(),
        WRITERS * ACTIONS * 2,
        "one record per line"
    );
    let records = AuditLog::new(&path).read_all().expect("read");
    assert_eq!(records.len(), WRITERS * ACTIONS * 2, "every line parses");
    // Every operation has exactly one intent, then exactly one outcome.
    let mut phases: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &records {
        phases
            .entry(r.op_id.as_str())
            .or_default()
            .push(r.phase.as_str());
    }
    assert_eq!(phases.len(), WRITERS * ACTIONS);
    assert!(phases.values().all(|p| p == &["intent", "outcome"]));
    // Each writer's operations are all there.
    let mut per_pid: HashMap<&str, usize> = HashMap::new();
    for id in phases.keys() {
        let pid = id.rsplit('-').nth(1).expect("pid in op id");
        *per_pid.entry(pid).or_default() += 1;
    }
    assert_eq!(per_pid.len(), WRITERS);
    assert!(per_pid.values().all(|n| *n == ACTIONS), "{per_pid:?}");
}
