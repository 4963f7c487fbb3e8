//! Fail closed: when the intent cannot be written (a full filesystem, a read-only one), the
//! action is refused with the reason and the engine shows no change. A control run with a
//! writable log shows the same action does change the engine, so the test can fail.
//!
//! Needs root (it mounts a small tmpfs), as the test command runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use clusterdeck::backends::BackendMsg;
use clusterdeck::backends::demo::{self, DemoSize};
use clusterdeck::model::store::Store;
use clusterdeck::ops::audit::AuditLog;
use clusterdeck::ops::{Executor, Gate, Op, OpRequest};

use crate::support::*;

struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "this test mounts a tmpfs and must run as root"
        );
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .expect("mount");
        assert!(ok.success(), "mount tmpfs on {}", dir.display());
        Tmpfs(dir.to_path_buf())
    }

    fn remount_ro(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .expect("remount");
        assert!(ok.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Scales `web` to 12 through a gate writing to `log`; returns the release result and the
/// engine's view of `web` (desired replicas) two seconds later.
fn scale_web(log: &Path) -> (Result<String, String>, u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(1024);
        let handle = demo::spawn(DemoSize::standard(), 5, true, tx).expect("writable");
        let mut store = Store::default();
        // The demo's first messages are its health and a snapshot.
        while store.cluster("demo").is_none_or(|c| c.workloads.is_empty()) {
            let m = rx.recv().await.expect("demo running");
            store.apply(m);
        }
        let mut gate = Gate::live(AuditLog::new(log), Executor::new(vec![handle]), operator());
        let req = OpRequest::named("demo", "web", Op::Scale { replicas: 12 });
        let cluster = store.cluster("demo").expect("demo").clone();
        let confirmed = gate
            .check(req, Some(&cluster), &[])
            .expect("plan")
            .confirm("")
            .expect("confirm");
        let result = gate
            .release(confirmed, Some(&cluster), &[])
            .map(|r| r.op_id);
        let until = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Ok(Some(m)) = tokio::time::timeout_at(until, rx.recv()).await {
            if !matches!(m, BackendMsg::Op(_)) {
                store.apply(m);
            }
        }
        let desired = store
            .cluster("demo")
            .and_then(|c| c.workload_by_name("web"))
            .map_or(0, |w| w.desired);
        (result, desired)
    })
}

#[test]
fn full_or_read_only_filesystem_refuses_the_action() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Control: a writable log lets the action through and the engine changes.
    let (ok, desired) = scale_web(&dir.path().join("ok/audit.jsonl"));
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(desired, 12, "the engine applied the control action");

    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    let fs = Tmpfs::mount(&mnt, "16k");
    // Fill the filesystem.
    let filler = mnt.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 64 * 1024]);
    let (refused, desired) = scale_web(&mnt.join("audit.jsonl"));
    let err = refused.expect_err("full filesystem refuses");
    assert!(
        err.contains("audit log") && err.contains("cannot be written"),
        "{err}"
    );
    assert_eq!(desired, 10, "the engine shows no change");
    // Nothing half-written is left behind.
    let log = mnt.join("audit.jsonl");
    assert!(std::fs::read(&log).map(|b| b.is_empty()).unwrap_or(true));

    // Read-only: free the space, then make the filesystem read-only.
    std::fs::remove_file(&filler).expect("rm filler");
    fs.remount_ro();
    let (refused, desired) = scale_web(&mnt.join("audit.jsonl"));
    let err = refused.expect_err("read-only filesystem refuses");
    assert!(err.contains("cannot be written"), "{err}");
    assert_eq!(desired, 10);
    let _ = Utc::now();
}
