//! The console against a large Kubernetes cluster (real control plane, kwok nodes), as
//! `scripts/measure-kube-scale.sh` sets it up (1,000 nodes, 10,000 pods by default):
//!
//! - time from starting the Kubernetes backend to the first complete pods pane (every pod in
//!   the store and one frame of the replicas pane drawn),
//! - resident memory of this process then (VmRSS) and at its peak (VmHWM),
//! - the frame time of the pods (replicas) pane at 200x50, median of 200 frames.
//!
//! Needs CD_KUBECONFIG (and KUBE_SCALE_PODS, the pod count to wait for). Like criterion, it
//! measures only under `cargo bench` (which passes `--bench`); `cargo test --all-targets`
//! merely builds it. Figures: docs/performance.md.

use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use clusterdeck::app::{App, Settings};
use clusterdeck::backends::kube::{self, KubeSettings};
use clusterdeck::input::Keymap;
use clusterdeck::ops::Gate;
use clusterdeck::ui::Pane;
use clusterdeck::ui::theme::Theme;

const CLUSTER: &str = "scale";

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("kube_scale: measures only under `cargo bench` (scripts/measure-kube-scale.sh)");
        return;
    }
    let kubeconfig = std::env::var("CD_KUBECONFIG")
        .expect("CD_KUBECONFIG: run scripts/measure-kube-scale.sh (it starts the control plane)");
    let want: usize = std::env::var("KUBE_SCALE_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut app = App::new(
        Gate::read_only(),
        Keymap::defaults(),
        Theme::builtin("dark").expect("theme"),
        Settings::default(),
    );
    app.ui.pane = Pane::Replicas;
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    let (tx, mut rx) = mpsc::channel(1024);
    let started = Instant::now();
    rt.block_on(async {
        kube::spawn(
            KubeSettings {
                cluster: CLUSTER.into(),
                kubeconfig: Some(kubeconfig.into()),
                ..KubeSettings::default()
            },
            false,
            tx,
        )
    });
    let loaded = rt.block_on(async {
        loop {
            let Some(m) = tokio::time::timeout(Duration::from_secs(300), rx.recv())
                .await
                .expect("no message for 5 minutes")
            else {
                panic!("the backend stopped");
            };
            app.on_backend(m);
            if app
                .store
                .cluster(CLUSTER)
                .is_some_and(|c| c.replicas.len() >= want)
            {
                return started.elapsed();
            }
        }
    });
    term.draw(|f| clusterdeck::ui::draw(f, &app, Utc::now()))
        .expect("draw");
    let first_pane = started.elapsed();
    let (nodes, pods) = app
        .store
        .cluster(CLUSTER)
        .map(|c| (c.nodes.len(), c.replicas.len()))
        .unwrap_or_default();
    let rss = status_kib("VmRSS:");
    let hwm = status_kib("VmHWM:");
    let mut frames: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            term.draw(|f| clusterdeck::ui::draw(f, &app, Utc::now()))
                .expect("draw");
            t.elapsed()
        })
        .collect();
    frames.sort();
    println!(
        "kube_scale: {nodes} nodes, {pods} pods · all pods in the store after {:.2} s, first complete pods pane after {:.2} s · RSS {} MiB (peak {} MiB) · pods-pane frame 200x50 median {:.2} ms (p90 {:.2} ms)",
        loaded.as_secs_f64(),
        first_pane.as_secs_f64(),
        rss / 1024,
        hwm / 1024,
        frames[frames.len() / 2].as_secs_f64() * 1000.0,
        frames[frames.len() * 9 / 10].as_secs_f64() * 1000.0,
    );
}
