//! Shared by the real-swarm tests: the swarm started by `scripts/engines/swarm.sh up` (the test
//! command does it), the docker CLI pointed at it, and the console's Swarm backend feeding a
//! store and a gate, as in the app.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use clusterdeck::backends::swarm::{self, SwarmSettings};
use clusterdeck::backends::{BackendHandle, BackendMsg};
use clusterdeck::model::store::{ClusterState, Store};
use clusterdeck::ops::audit::{AuditLog, Operator};
use clusterdeck::ops::{Executor, Gate, OpRequest, PendingOp};

pub const CLUSTER: &str = "lab";

/// A variable the test command exports after starting the swarm. Missing means the swarm was
/// not started: fail loudly, never skip.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need the real swarm; run them through scripts/test.sh (it runs scripts/engines/swarm.sh up)")
    })
}

pub fn managers() -> Vec<String> {
    env("CD_SWARM_MANAGERS")
        .split(',')
        .map(str::to_string)
        .collect()
}

pub fn repo() -> String {
    env("CD_IMAGE_REPO")
}

/// The docker CLI against the first manager that answers.
pub fn docker(args: &[&str]) -> String {
    try_docker(args).unwrap_or_else(|| panic!("no manager answered docker {}", args.join(" ")))
}

/// As `docker`, or None when no manager answers it.
pub fn try_docker(args: &[&str]) -> Option<String> {
    for n in 1..=3 {
        let host = env(&format!("CD_SWARM_N{n}_SOCK"));
        if let Ok(out) = Command::new("docker")
            .arg("-H")
            .arg(&host)
            .args(args)
            .output()
            && out.status.success()
        {
            return Some(String::from_utf8_lossy(&out.stdout).into_owned());
        }
    }
    None
}

pub fn swarm_sh(args: &[&str]) {
    let script = env("CD_SWARM_SCRIPT");
    let ok = Command::new("bash")
        .arg(&script)
        .args(args)
        .status()
        .expect("swarm.sh");
    assert!(ok.success(), "swarm.sh {}", args.join(" "));
}

/// Polls `f` until it returns Some, or panics after `secs` with `what`.
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < until,
            "timed out after {secs}s waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Creates a service with the CLI (as an operator would outside the console).
pub fn create_service(name: &str, replicas: u32, tag: &str, extra: &[&str]) {
    let _ = try_docker(&["service", "rm", name]);
    let image = format!("{}:{tag}", repo());
    let reps = replicas.to_string();
    let mut args = vec![
        "service",
        "create",
        "--detach",
        "--name",
        name,
        "--replicas",
        &reps,
        "--update-delay",
        "0s",
        "--update-monitor",
        "3s",
    ];
    args.extend_from_slice(extra);
    args.push(&image);
    docker(&args);
    eventually(90, &format!("{name}: {replicas} running"), || {
        (running_tasks(name).len() == replicas as usize).then_some(())
    });
}

/// (task id, node hostname, image) of the tasks of `service` the engine reports running.
pub fn running_tasks(service: &str) -> Vec<(String, String, String)> {
    let out = try_docker(&[
        "service",
        "ps",
        service,
        "--no-trunc",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.ID}} {{.Node}} {{.Image}} {{.CurrentState}}",
    ])
    .unwrap_or_default();
    out.lines()
        .filter(|l| l.contains(" Running "))
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            Some((
                p.next()?.to_string(),
                p.next()?.to_string(),
                p.next()?.to_string(),
            ))
        })
        .collect()
}

/// The console side: the Swarm backend in a runtime, its messages applied to a store, and a
/// gate that releases to it with an audit log in a temp dir.
pub struct Console {
    pub rt: tokio::runtime::Runtime,
    pub rx: mpsc::Receiver<BackendMsg>,
    pub store: Store,
    pub gate: Gate,
    pub handle: BackendHandle,
    pub outcomes: Vec<(String, Result<String, String>)>,
    pub audit: std::path::PathBuf,
    pub cluster_name: String,
    /// Released operations, to audit their outcomes as the app does.
    released: Vec<(String, OpRequest, Instant)>,
    _dir: tempfile::TempDir,
}

impl Console {
    pub fn start(endpoints: Vec<String>) -> Console {
        let settings = SwarmSettings {
            cluster: CLUSTER.into(),
            endpoints,
            reconcile: Duration::from_secs(30),
            tls: None,
            nodes: Default::default(),
        };
        let mut c = Console::with(CLUSTER, |tx| {
            swarm::spawn(settings, true, tx).into_iter().collect()
        });
        c.wait(60, "the first snapshot", |c| {
            c.cluster()
                .is_some_and(|s| !s.nodes.is_empty())
                .then_some(())
        });
        c
    }

    /// A console on whatever backends `spawn` starts (inside the runtime) for `cluster`; the
    /// gate releases to all of them. The first handle is `handle`.
    pub fn with(
        cluster: &str,
        spawn: impl FnOnce(mpsc::Sender<BackendMsg>) -> Vec<BackendHandle>,
    ) -> Console {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = mpsc::channel(4096);
        let handles = rt.block_on(async { spawn(tx) });
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.jsonl");
        let op = Operator {
            user: "tester".into(),
            uid: Some(1000),
            claimed: None,
            ssh_client: None,
            tty: None,
            host: "test".into(),
        };
        let gate = Gate::live(AuditLog::new(&audit), Executor::new(handles.clone()), op);
        Console {
            rt,
            rx,
            store: Store::default(),
            gate,
            handle: handles.into_iter().next().expect("a backend"),
            outcomes: Vec::new(),
            audit,
            cluster_name: cluster.to_string(),
            released: Vec::new(),
            _dir: dir,
        }
    }

    /// Applies whatever the backend sent so far.
    pub fn pump(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            if let BackendMsg::Op(u) = &m
                && let Some(o) = &u.outcome
            {
                self.outcomes.push((u.op_id.clone(), o.clone()));
                if let Some((_, req, at)) = self.released.iter().find(|(id, _, _)| *id == u.op_id) {
                    self.gate
                        .outcome(&u.op_id, req, o, u.drift.as_ref(), at.elapsed())
                        .expect("audit outcome");
                }
            }
            self.store.apply(m);
        }
    }

    pub fn cluster(&self) -> Option<&ClusterState> {
        self.store.cluster(&self.cluster_name)
    }

    pub fn wait<T>(
        &mut self,
        secs: u64,
        what: &str,
        mut f: impl FnMut(&Console) -> Option<T>,
    ) -> T {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            self.pump();
            if let Some(v) = f(self) {
                return v;
            }
            assert!(
                Instant::now() < until,
                "timed out after {secs}s waiting for: {what}\nsources: {:?}",
                self.cluster().map(|c| &c.sources)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Plans, confirms (typing `typed` when asked) and releases; returns the op id.
    pub fn act(&mut self, req: OpRequest, typed: &str) -> String {
        let pending = self.plan(req);
        self.confirm(pending, typed)
            .unwrap_or_else(|e| panic!("refused at release: {e}"))
    }

    /// Plans on the state shown now (the confirm modal opening).
    pub fn plan(&mut self, req: OpRequest) -> PendingOp {
        self.pump();
        let cluster = self.cluster().expect("cluster").clone();
        self.gate
            .check(req, Some(&cluster), &[])
            .unwrap_or_else(|e| panic!("refused: {e}"))
    }

    /// Confirms a plan (typing `typed` when asked) and releases it, on the state shown when
    /// the plan was made (nothing pumped in between, as a console whose backend has not
    /// reported an outside change yet): the op id, or the gate's refusal.
    pub fn confirm(&mut self, pending: PendingOp, typed: &str) -> Result<String, String> {
        let cluster = self.cluster().cloned();
        let confirmed = pending
            .confirm(typed)
            .unwrap_or_else(|e| panic!("confirm: {}", e.1));
        let released = self.gate.release(confirmed, cluster.as_ref(), &[])?;
        self.released
            .push((released.op_id.clone(), released.request, Instant::now()));
        Ok(released.op_id)
    }

    /// The audit records of one operation.
    pub fn records(&self, op: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["op_id"] == op)
            .collect()
    }

    /// Waits for the outcome of `op`.
    pub fn outcome(&mut self, op: &str, secs: u64) -> Result<String, String> {
        self.wait(secs, &format!("the outcome of {op}"), |c| {
            c.outcomes
                .iter()
                .find(|(id, _)| id == op)
                .map(|(_, r)| r.clone())
        })
    }
}
