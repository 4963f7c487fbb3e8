//! Frame time at `--demo-scale 10000` (about 1,000 nodes, 10,000 replicas, 2,000 instances).
//!
//! One iteration is one `Terminal::draw` on a `TestBackend`: the view model of the pane (filter
//! and sort of its rows), building the visible rows, rendering into the buffer, and the diff
//! against the previous frame. Two cases per pane:
//!
//! - `steady`: nothing changed since the last frame (what the one-second age tick costs when no
//!   age moves); the diff is empty but everything above it is recomputed.
//! - `after_change`: one replica change (running ⇄ failed, on the first listed replica, which
//!   is visible in the services preview and at the top of the replicas pane) is applied to the
//!   store, then the frame is drawn: the realistic hot path of the run loop.
//!
//! The `view_model` group times the row builders alone, to show where frame time goes.
//!
//! Run: `cargo bench --bench render` (criterion flags after `--`, e.g.
//! `-- --warm-up-time 1 --measurement-time 3`). Figures: docs/performance.md.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use clusterdeck::app::view::{self, SortSpec};
use clusterdeck::app::{App, Settings};
use clusterdeck::backends::demo::{DemoCluster, DemoSize};
use clusterdeck::backends::{BackendMsg, Change};
use clusterdeck::input::Keymap;
use clusterdeck::model::{Replica, SourceHealth, SourceKind, SourceState, TaskState, Time};
use clusterdeck::ops::Gate;
use clusterdeck::ui::Pane;
use clusterdeck::ui::theme::Theme;

const SCALE: usize = 10_000;
const SEED: u64 = 1;
/// Simulated seconds run before measuring (lively, so the store holds events and history like
/// a console that has been up for a few minutes), at 2 ticks a second.
const WARM_TICKS: usize = 400;

fn t0() -> Time {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

/// An app holding the scaled demo cluster, fed exactly as the run loop feeds it.
fn scaled_app() -> App {
    let start = t0();
    let mut sim = DemoCluster::new(DemoSize::scaled(SCALE), SEED, start);
    let settings = Settings {
        demo: true,
        ..Settings::default()
    };
    let mut app = App::new(
        Gate::read_only(),
        Keymap::defaults(),
        Theme::builtin("dark").expect("built-in dark theme"),
        settings,
    );
    let mut health = SourceHealth::new(SourceState::Connected);
    health.endpoint = Some("built-in simulation".into());
    app.on_backend(BackendMsg::Health {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        health,
    });
    app.on_backend(BackendMsg::Snapshot {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: start,
        snapshot: sim.snapshot(),
    });
    for i in 1..=WARM_TICKS {
        let at = start + chrono::Duration::milliseconds(500 * i as i64);
        let out = sim.tick(at);
        if !out.changes.is_empty() {
            app.on_backend(BackendMsg::Changes {
                cluster: "demo".into(),
                source: SourceKind::Swarm,
                at,
                changes: out.changes,
            });
        }
    }
    let c = app.cluster().expect("demo cluster loaded");
    assert!(c.replicas.len() >= SCALE, "replicas: {}", c.replicas.len());
    assert!(c.nodes.len() >= 1000, "nodes: {}", c.nodes.len());
    assert!(
        c.instances.len() >= 2000,
        "instances: {}",
        c.instances.len()
    );
    app
}

fn now() -> Time {
    t0() + chrono::Duration::seconds(WARM_TICKS as i64 / 2 + 1)
}

/// The first replica of the un-drilled replicas pane (first service by name, slot 1).
fn first_replica(app: &App) -> Replica {
    let c = app.cluster().expect("cluster");
    (*view::replica_rows(c, None, false, "", SortSpec::default())
        .first()
        .expect("replicas"))
    .clone()
}

/// Flips the replica between running and failed, so every apply is a visible change.
fn flip(r: &mut Replica, at: Time) -> BackendMsg {
    if r.state == TaskState::Running {
        r.state = TaskState::Failed;
        r.error = Some("task: non-zero exit (137)".into());
    } else {
        r.state = TaskState::Running;
        r.error = None;
    }
    r.since = at;
    BackendMsg::Changes {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at,
        changes: vec![Change::UpsertReplica(r.clone())],
    }
}

fn bench_pane(c: &mut Criterion, name: &str, pane: Pane, width: u16, height: u16) {
    let mut app = scaled_app();
    app.ui.pane = pane;
    let now = now();
    let mut term = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    term.draw(|f| clusterdeck::ui::draw(f, &app, now))
        .expect("draw");

    let mut g = c.benchmark_group(format!("frame/{name}"));
    g.bench_function("steady", |b| {
        b.iter(|| {
            term.draw(|f| clusterdeck::ui::draw(f, &app, now))
                .expect("draw");
        })
    });
    let mut r = first_replica(&app);
    g.bench_function("after_change", |b| {
        b.iter(|| {
            let msg = flip(&mut r, now);
            assert!(app.on_backend(msg));
            term.draw(|f| clusterdeck::ui::draw(f, &app, now))
                .expect("draw");
        })
    });
    g.finish();
}

/// What ratatui costs per frame with nothing drawn: the buffer diff and reset alone.
fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame/floor");
    for (w, h) in [(200, 50), (80, 24)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
        g.bench_function(format!("{w}x{h}/empty"), |b| {
            b.iter(|| {
                term.draw(|f| {
                    black_box(f.area());
                })
                .expect("draw");
            })
        });
    }
    g.finish();
}

fn frames(c: &mut Criterion) {
    bench_pane(c, "200x50/overview", Pane::Overview, 200, 50);
    bench_pane(c, "200x50/nodes", Pane::Nodes, 200, 50);
    bench_pane(c, "200x50/services", Pane::Services, 200, 50);
    bench_pane(c, "200x50/replicas", Pane::Replicas, 200, 50);
    bench_pane(c, "200x50/instances", Pane::Instances, 200, 50);
    bench_pane(c, "80x24/services", Pane::Services, 80, 24);
}

/// The wall at 300x80: one frame of each default pane set, and the incident recompute that
/// follows every store change on the wall.
fn wall(c: &mut Criterion) {
    use clusterdeck::config::Config;
    use clusterdeck::wall::{Incidents, PaneSet, Wall};
    let mut app = scaled_app();
    app.settings.wall = true;
    let now = now();
    let sets: Vec<PaneSet> = Config::default_embedded()
        .wall
        .sets
        .iter()
        .map(PaneSet::from_config)
        .collect();
    let n = sets.len();
    let mut w = Wall::new(app, sets, None, std::time::Duration::from_secs(15), now);
    w.app.incidents.update(&w.app.store, &[], now);
    let mut g = c.benchmark_group("wall/300x80");
    let mut at = now;
    for _ in 0..n {
        let name = w.set().name.clone();
        let mut term = Terminal::new(TestBackend::new(300, 80)).expect("test terminal");
        g.bench_function(format!("frame/{name}"), |b| {
            b.iter(|| {
                term.draw(|f| clusterdeck::ui::wall::draw(f, &w, now))
                    .expect("draw");
            })
        });
        at += chrono::Duration::seconds(3600);
        w.tick(at);
    }
    g.bench_function("incidents_update", |b| {
        let mut inc = Incidents::default();
        b.iter(|| {
            inc.update(&w.app.store, &[], now);
            black_box(inc.current.len())
        })
    });
    g.finish();
}

/// The row builders alone (filter + sort of the whole collection), no drawing.
fn view_model(c: &mut Criterion) {
    let app = scaled_app();
    let cl = app.cluster().expect("cluster");
    let sort = SortSpec::default();
    let mut g = c.benchmark_group("view_model");
    g.bench_function("replica_rows/all", |b| {
        b.iter(|| black_box(view::replica_rows(cl, None, false, "", sort)).len())
    });
    let first_svc = view::service_rows(cl, "", sort)[0].id.clone();
    let drill = view::Drill::Service(first_svc);
    g.bench_function("replica_rows/one_service", |b| {
        b.iter(|| black_box(view::replica_rows(cl, Some(&drill), false, "", sort)).len())
    });
    g.bench_function("service_rows", |b| {
        b.iter(|| black_box(view::service_rows(cl, "", sort)).len())
    });
    g.bench_function("node_rows", |b| {
        b.iter(|| black_box(view::node_rows(cl, "", sort)).len())
    });
    g.bench_function("instance_rows", |b| {
        b.iter(|| black_box(view::instance_rows(cl, "", sort)).len())
    });
    g.bench_function("quorum", |b| b.iter(|| black_box(cl.quorum())));
    // What the overview does to count running replicas on every frame.
    g.bench_function("running_count_scan", |b| {
        b.iter(|| black_box(cl.replicas.values().filter(|r| r.is_running()).count()))
    });
    g.finish();
}

criterion_group!(benches, floor, frames, wall, view_model);
criterion_main!(benches);
