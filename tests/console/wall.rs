//! The wall, headless: snapshots of its layout at 80x24, 200x50 and 300x80, healthy and with a
//! manager stopped; every key of the keyboard reaching nothing but rotate / pause / quit; the
//! read-only construction; hostile strings; sizes that never panic.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use clusterdeck::app::{App, Settings};
use clusterdeck::backends::{BackendMsg, Change};
use clusterdeck::config::Config;
use clusterdeck::input::Keymap;
use clusterdeck::model::{NodeStatus, Reachability, SourceHealth, SourceKind, SourceState};
use clusterdeck::ops::Gate;
use clusterdeck::ui::theme::{Role, Theme};
use clusterdeck::wall::{PaneSet, Wall};

use crate::support::{demo_sim, find, now, t0, text};

const SIZES: [(u16, u16); 3] = [(80, 24), (200, 50), (300, 80)];

fn wall_app() -> App {
    App::new(
        Gate::read_only(),
        Keymap::defaults(),
        Theme::builtin("wall").expect("wall theme"),
        Settings {
            read_only: true,
            wall: true,
            demo: true,
            ..Settings::default()
        },
    )
}

fn feed(w: &mut Wall, msg: BackendMsg) {
    w.on_backend(msg, t0() + Duration::minutes(2));
}

/// The embedded default pane sets.
fn default_sets() -> Vec<PaneSet> {
    Config::default_embedded()
        .wall
        .sets
        .iter()
        .map(PaneSet::from_config)
        .collect()
}

/// The wall over the quiet demo cluster, with the default pane sets.
fn demo_wall() -> Wall {
    let mut w = Wall::new(
        wall_app(),
        default_sets(),
        None,
        std::time::Duration::from_secs(15),
        t0(),
    );
    let sim = demo_sim();
    let mut h = SourceHealth::new(SourceState::Connected);
    h.last_update = Some(t0());
    feed(
        &mut w,
        BackendMsg::Health {
            cluster: "demo".into(),
            source: SourceKind::Swarm,
            health: h,
        },
    );
    feed(
        &mut w,
        BackendMsg::Snapshot {
            cluster: "demo".into(),
            source: SourceKind::Swarm,
            at: t0(),
            snapshot: sim.snapshot(),
        },
    );
    w
}

/// A manager stopped: down and unreachable, as the swarm reports it.
fn stop_a_manager(w: &mut Wall) {
    let mut m = w.app.store.clusters[0]
        .node_by_name("mgr-3")
        .expect("mgr-3")
        .clone();
    m.status = NodeStatus::Down;
    m.reachability = Some(Reachability::Unreachable);
    feed(
        w,
        BackendMsg::Changes {
            cluster: "demo".into(),
            source: SourceKind::Swarm,
            at: t0() + Duration::minutes(2),
            changes: vec![Change::UpsertNode(m)],
        },
    );
}

fn render(w: &Wall, width: u16, height: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    term.draw(|f| clusterdeck::ui::wall::draw(f, w, now()))
        .expect("draw");
    term.backend().buffer().clone()
}

fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

#[test]
fn healthy_wall_at_three_sizes() {
    let w = demo_wall();
    assert!(w.app.incidents.current.is_empty());
    for (x, y) in SIZES {
        let s = text(&render(&w, x, y));
        assert!(s.contains("██ OK"), "{x}x{y}: {s}");
        assert!(s.contains("WALL · read-only"), "{x}x{y}: {s}");
        assert_snapshot!(format!("wall_healthy_{x}x{y}"), s);
    }
}

#[test]
fn a_stopped_manager_takes_the_banner_with_its_duration() {
    let mut w = demo_wall();
    stop_a_manager(&mut w);
    for (x, y) in SIZES {
        let buf = render(&w, x, y);
        let s = text(&buf);
        // Seen at t0+2m, drawn at t0+10m: it has lasted 8 minutes.
        assert!(s.contains("NODE DOWN"), "{x}x{y}: {s}");
        assert!(s.contains("QUORUM AT RISK"), "{x}x{y}: {s}");
        assert!(s.contains("for 8m 00s"), "{x}x{y}: {s}");
        assert!(s.contains("mgr-3"), "{x}x{y}: {s}");
        assert!(s.contains("CRITICAL"), "{x}x{y}: {s}");
        // The nodes pane lists the worst first, so the down manager is on screen.
        let down = s.find("✗  mgr-3").expect("mgr-3 row");
        assert!(s.find("●  mgr-1").is_none_or(|ok| down < ok), "{s}");
        // The banner is in the alert colours, not only words.
        let (bx, by) = find(&buf, "✗✗ NODE DOWN").expect("banner");
        assert_eq!(
            buf[(bx, by)].bg,
            w.app.theme.style(Role::Alert).bg.expect("bg")
        );
        assert_snapshot!(format!("wall_manager_down_{x}x{y}"), s);
    }
}

#[test]
fn every_key_only_rotates_pauses_or_asks_to_quit() {
    let mut w = demo_wall();
    let start = w.step;
    let mut codes: Vec<KeyCode> = (0x20u8..0x7f).map(|b| KeyCode::Char(b as char)).collect();
    codes.extend((1..=12).map(KeyCode::F));
    codes.extend([
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Backspace,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Insert,
        KeyCode::Delete,
    ]);
    let mods = [
        KeyModifiers::NONE,
        KeyModifiers::CONTROL,
        KeyModifiers::ALT,
        KeyModifiers::SHIFT,
    ];
    let mut asked = Vec::new();
    for code in &codes {
        for m in mods {
            w.on_key(key(*code, m), now());
            // Nothing interactive ever opens on the wall.
            assert!(w.app.ui.modal.is_none(), "{code:?} {m:?} opened a modal");
            assert!(w.app.ui.input.is_none(), "{code:?} {m:?} opened an input");
            assert!(!w.should_quit(), "{code:?} {m:?} quit without asking");
            if w.quit_asked.is_some() {
                asked.push((*code, m));
                // Any answer but yes keeps the wall running.
                w.on_key(key(KeyCode::Char('n'), KeyModifiers::NONE), now());
                assert!(w.quit_asked.is_none() && !w.should_quit());
            }
        }
    }
    // q (shift is not part of a character's chord) and ctrl-c ask; nothing else does.
    let q = KeyCode::Char('q');
    let ctrl_c = (KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(asked.contains(&(q, KeyModifiers::NONE)) && asked.contains(&ctrl_c));
    assert!(
        asked.iter().all(|a| a.0 == q || *a == ctrl_c),
        "asked on {asked:?}"
    );
    assert!(w.app.inflight.is_empty());
    assert!(w.app.gate.is_read_only());
    assert!(
        w.app.gate.audit_log().is_none(),
        "the wall holds no audit log"
    );
    // Rotation keys moved it; the step is still valid.
    assert!(w.step < 3 && start < 3);
    // q then y quits.
    w.on_key(key(KeyCode::Char('q'), KeyModifiers::NONE), now());
    w.on_key(key(KeyCode::Char('y'), KeyModifiers::NONE), now());
    assert!(w.should_quit());
}

#[test]
fn rotation_follows_the_clock_pauses_and_pins() {
    let mut w = demo_wall();
    assert_eq!(w.set().name, "health");
    w.tick(t0() + Duration::seconds(14));
    assert_eq!(w.set().name, "health");
    w.tick(t0() + Duration::seconds(15));
    assert_eq!(w.set().name, "workloads");
    let at = t0() + Duration::seconds(16);
    w.on_key(key(KeyCode::Char(' '), KeyModifiers::NONE), at);
    assert!(w.paused);
    w.tick(at + Duration::seconds(600));
    assert_eq!(w.set().name, "workloads", "paused stays put");
    assert_eq!(w.next_rotation_in(at), None);
    w.on_key(key(KeyCode::Tab, KeyModifiers::NONE), at);
    assert_eq!(w.set().name, "fleet", "tab still moves by hand");
    w.on_key(key(KeyCode::BackTab, KeyModifiers::NONE), at);
    assert_eq!(w.set().name, "workloads");

    let mut pinned = Wall::new(
        wall_app(),
        default_sets(),
        Some("fleet"),
        std::time::Duration::from_secs(15),
        t0(),
    );
    pinned.tick(t0() + Duration::seconds(100));
    assert_eq!(pinned.set().name, "fleet");
    let s = text(&render(&pinned, 80, 24));
    assert!(s.contains("pinned: fleet"), "{s}");
}

#[test]
fn an_unanswered_quit_question_lapses() {
    let mut w = demo_wall();
    w.on_key(key(KeyCode::Char('q'), KeyModifiers::NONE), t0());
    assert!(text(&render(&w, 80, 24)).contains("Quit the wall display?"));
    w.tick(t0() + Duration::seconds(11));
    assert!(w.quit_asked.is_none());
    assert!(!w.should_quit());
}

#[test]
fn every_context_gets_a_header_and_the_unreachable_one_says_for_how_long() {
    let mut w = demo_wall();
    let mut h = SourceHealth::new(SourceState::Unreachable {
        reason: "tcp://ops:hunter2@10.0.0.9:2376: connection refused".into(),
    });
    h.stale_since = Some(now() - Duration::minutes(42));
    feed(
        &mut w,
        BackendMsg::Health {
            cluster: "prod-eu".into(),
            source: SourceKind::Swarm,
            health: h,
        },
    );
    let s = text(&render(&w, 200, 50));
    assert!(s.contains("demo"), "{s}");
    assert!(s.contains("prod-eu"), "{s}");
    assert!(s.contains("swarm ✗ unreachable for 42m 00s"), "{s}");
    assert!(s.contains("SOURCE DOWN"), "{s}");
    assert!(!s.contains("hunter2"), "a credential reached the wall: {s}");
    // The rotation now covers both contexts.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        seen.insert(w.context());
        w.on_key(key(KeyCode::Tab, KeyModifiers::NONE), now());
    }
    assert_eq!(seen.len(), 2);
}

#[test]
fn hostile_strings_are_sanitised_and_sizes_never_panic() {
    let mut w = demo_wall();
    let mut m = w.app.store.clusters[0]
        .node_by_name("wrk-01")
        .expect("wrk-01")
        .clone();
    m.hostname = "evil\x1b]0;pwned\x07\x1b[2J".into();
    m.status = NodeStatus::Down;
    feed(
        &mut w,
        BackendMsg::Changes {
            cluster: "demo".into(),
            source: SourceKind::Swarm,
            at: t0(),
            changes: vec![Change::UpsertNode(m)],
        },
    );
    for (x, y) in SIZES {
        let s = text(&render(&w, x, y));
        assert!(!s.contains('\x1b') && !s.contains('\x07'), "{s}");
        assert!(s.contains("evil"), "{s}");
    }
    for x in [1u16, 10, 39, 40, 41, 79, 120, 159, 160, 199, 200, 400] {
        for y in [1u16, 5, 9, 10, 11, 23, 24, 44, 45, 80, 120] {
            let _ = render(&w, x, y);
        }
    }
}
