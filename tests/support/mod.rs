//! Shared fixtures: a deterministic app on the demo cluster, rendered to text.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use clusterdeck::app::{App, Settings};
use clusterdeck::backends::demo::{DemoCluster, DemoSize};
use clusterdeck::backends::{BackendMsg, Change};
use clusterdeck::input::Keymap;
use clusterdeck::model::{SourceHealth, SourceKind, SourceState};
use clusterdeck::ops::audit::AuditLog;
use clusterdeck::ops::audit::Operator;
use clusterdeck::ops::{Executor, Gate};
use clusterdeck::ui::theme::Theme;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// "Now" for rendering: ten minutes after the cluster was built.
pub fn now() -> DateTime<Utc> {
    t0() + Duration::minutes(10)
}

pub fn operator() -> Operator {
    Operator {
        user: "alice".into(),
        uid: Some(1000),
        claimed: None,
        ssh_client: Some("192.0.2.7".into()),
        tty: Some("/dev/pts/3".into()),
        host: "bastion".into(),
    }
}

/// A quiet (no random failures) standard demo cluster, loaded into the app's store.
pub fn demo_sim() -> DemoCluster {
    let mut sim = DemoCluster::new(DemoSize::standard(), 7, t0());
    sim.lively = false;
    sim
}

pub fn load(app: &mut App, sim: &DemoCluster) {
    let mut h = SourceHealth::new(SourceState::Connected);
    h.endpoint = Some("built-in simulation".into());
    h.last_update = Some(t0());
    app.on_backend(BackendMsg::Health {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        health: h,
    });
    app.on_backend(BackendMsg::Snapshot {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: t0(),
        snapshot: sim.snapshot(),
    });
    // As the run loop does after a burst: the incident strip and pane are current.
    app.settle(now());
}

pub fn settings(read_only: bool) -> Settings {
    Settings {
        read_only,
        wall: false,
        demo: true,
        no_color: false,
        user_themes: None,
        operator: "alice".into(),
    }
}

pub fn read_only_app() -> App {
    App::new(
        Gate::read_only(),
        Keymap::defaults(),
        Theme::builtin("dark").expect("dark theme"),
        settings(true),
    )
}

/// A live app whose audit log is at `audit` and whose executor has no backends.
pub fn live_app(audit: &std::path::Path) -> App {
    App::new(
        Gate::live(AuditLog::new(audit), Executor::new(Vec::new()), operator()),
        Keymap::defaults(),
        Theme::builtin("dark").expect("dark theme"),
        settings(false),
    )
}

/// A live app on the demo cluster whose audit log can never be written (nothing here
/// confirms an action).
pub fn demo_app() -> App {
    let mut app = live_app(std::path::Path::new("/proc/clusterdeck-test/audit.jsonl"));
    load(&mut app, &demo_sim());
    app
}

pub fn event(app: &mut App, change: Change) {
    app.on_backend(BackendMsg::Changes {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: t0(),
        changes: vec![change],
    });
    app.settle(now());
}

pub fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| clusterdeck::ui::draw(f, app, now()))
        .expect("draw");
    term.backend().buffer().clone()
}

/// The screen as text, one line per row, trailing spaces trimmed.
pub fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn screen(app: &App, w: u16, h: u16) -> String {
    text(&render(app, w, h))
}

/// Position of the first cell where `needle` starts, if on screen.
pub fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let area = buf.area;
    for y in 0..area.height {
        let mut line = String::new();
        let mut xs = Vec::new();
        for x in 0..area.width {
            let sym = buf[(x, y)].symbol();
            for _ in sym.chars() {
                xs.push(x);
            }
            line.push_str(sym);
        }
        if let Some(i) = line.find(needle) {
            let ci = line[..i].chars().count();
            return Some((xs[ci], y));
        }
    }
    None
}
