//! The table panes: nodes, services, replicas, instances, events, audit.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::app::App;
use crate::app::view::{self, Drill};
use crate::model::{
    Availability, Health, InstanceState, Origin, Reachability, Severity, SourceKind, SourceState,
    TaskState, Time,
};
use crate::ui::Pane;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;
use crate::ui::widgets::{age, elide_middle, gauge, ratio_bar, sparkline};

use super::{TableSpec, styled, table};

/// An empty pane says why when the credentials may not list what it shows (Kubernetes RBAC).
fn denied_or(c: &crate::model::store::ClusterState, kinds: &[&str], empty: &str) -> String {
    let denied: Vec<String> = kinds
        .iter()
        .filter_map(|k| c.denied.get(*k))
        .map(|r| sanitize(r).into_owned())
        .collect();
    if denied.is_empty() {
        empty.to_string()
    } else {
        denied.join(" · ")
    }
}

/// Below this width a table drops its least important columns.
const WIDE_TABLE: u16 = 110;

fn health_role(h: Health) -> Role {
    match h {
        Health::Ok => Role::Ok,
        Health::Warn => Role::Warn,
        Health::Critical => Role::Danger,
        Health::Unknown => Role::Muted,
    }
}

fn task_role(s: TaskState) -> Role {
    match s {
        TaskState::Running | TaskState::Complete => Role::Ok,
        TaskState::Failed | TaskState::Rejected | TaskState::Orphaned => Role::Danger,
        TaskState::Shutdown | TaskState::Remove => Role::Muted,
        _ => Role::Warn,
    }
}

fn title_with_filter(app: &App, pane: Pane, base: &str) -> String {
    let f = app.ui.filter(pane);
    let sort = app.ui.sort(pane);
    let col = view::sort_columns(pane)[sort.column.min(view::sort_columns(pane).len() - 1)];
    let mut t = format!("{base} · by {col}{}", if sort.reverse { " ↑" } else { "" });
    if !f.is_empty() {
        t.push_str(&format!(" · /{}", sanitize(f)));
    }
    t
}

pub fn nodes(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let t = &app.theme;
    let rows = view::node_rows(c, app.ui.filter(Pane::Nodes), app.ui.sort(Pane::Nodes));
    let wide = area.width >= WIDE_TABLE;
    let widths = [
        Constraint::Length(2),
        Constraint::Length(14),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(5),
        Constraint::Length(11),
        Constraint::Length(13),
        Constraint::Min(20),
    ];
    let header: &[&str] = &[
        "", "NAME", "ROLE", "STATUS", "AVAIL", "MANAGER", "TASKS", "AZ", "ADDRESS", "INSTANCE",
    ];
    let cols = if wide { widths.len() } else { 8 };
    let spec = TableSpec {
        title: title_with_filter(app, Pane::Nodes, "Nodes"),
        header: &header[..cols],
        widths: &widths[..cols],
        total: rows.len(),
        selected: super::shown_selection(app, Pane::Nodes),
        empty: &denied_or(
            c,
            &["nodes"],
            "no nodes (not loaded yet, or no swarm configured)",
        ),
    };
    table(f, app, area, now, focused, spec, |i| {
        let n = rows[i];
        let h = n.health();
        let manager = match (n.reachability, n.leader) {
            (_, true) => "★ leader".to_string(),
            (Some(r), _) => r.label().to_string(),
            (None, _) => "-".to_string(),
        };
        let reach_role = match n.reachability {
            Some(Reachability::Unreachable) => Role::Danger,
            Some(Reachability::Unknown) => Role::Warn,
            _ => Role::Text,
        };
        let avail_role = match n.availability {
            Availability::Active => Role::Text,
            Availability::Drain if n.is_manager() => Role::Muted,
            _ => Role::Warn,
        };
        let inst = n.instance_id.as_deref().map_or_else(
            || "-".to_string(),
            |id| {
                let state = c.instances.get(id).map_or("", |i| i.state.label());
                format!("{} {state}", sanitize(id))
            },
        );
        let mut cells = vec![
            styled(h.symbol(), t.style(health_role(h))),
            Cell::from(sanitize(&n.hostname).into_owned()),
            Cell::from(if n.is_manager() { "manager" } else { "worker" }),
            styled(
                n.status.label(),
                t.style(if n.status == crate::model::NodeStatus::Ready {
                    Role::Text
                } else {
                    Role::Danger
                }),
            ),
            styled(n.availability.label(), t.style(avail_role)),
            styled(manager, t.style(reach_role)),
            Cell::from(c.running_on_node(&n.id).to_string()),
            Cell::from(
                n.az.as_deref()
                    .map(|a| sanitize(a).into_owned())
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::from(sanitize(&n.addr).into_owned()),
            Cell::from(inst),
        ];
        cells.truncate(cols);
        Row::new(cells)
    });
}

pub fn services(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let t = &app.theme;
    let rows = view::service_rows(
        c,
        app.ui.filter(Pane::Services),
        app.ui.sort(Pane::Services),
    );
    let wide = area.width >= WIDE_TABLE;
    let bar = if wide { 8 } else { 4 };
    let widths = [
        Constraint::Length(2),
        Constraint::Length(16),
        Constraint::Length(if wide { 18 } else { 14 }),
        Constraint::Length(if wide { 28 } else { 16 }),
        Constraint::Min(16),
        Constraint::Length(13),
        Constraint::Length(4),
        Constraint::Length(10),
    ];
    let header: &[&str] = &[
        "", "NAME", "RUNNING", "UPDATE", "IMAGE", "AVAIL 1h", "MODE", "STACK",
    ];
    let cols = if wide { widths.len() } else { 5 };
    let spec = TableSpec {
        title: title_with_filter(app, Pane::Services, "Services"),
        header: &header[..cols],
        widths: &widths[..cols],
        total: rows.len(),
        selected: super::shown_selection(app, Pane::Services),
        empty: &denied_or(
            c,
            &["deployments", "statefulsets", "daemonsets"],
            "no services",
        ),
    };
    table(f, app, area, now, focused, spec, |i| {
        let w = rows[i];
        let paused = w.update.as_ref().is_some_and(|u| u.state.is_paused());
        let (sym, role) = if paused || (w.running == 0 && w.desired > 0) {
            ("✗", Role::Danger)
        } else if w.running < w.desired {
            ("▲", Role::Warn)
        } else {
            ("●", Role::Ok)
        };
        let running = format!(
            "{} {}/{}",
            ratio_bar(w.running, w.desired, bar),
            w.running,
            w.desired
        );
        let update = match &w.update {
            None => Cell::from("-"),
            Some(u) => {
                let role = if u.state.is_paused() {
                    Role::Danger
                } else if u.state.in_progress() {
                    Role::Info
                } else {
                    Role::Muted
                };
                let text = match u.progress {
                    Some((d, tot)) if u.state.in_progress() && wide => {
                        format!("{} {d}/{tot} {}", gauge(d, tot, 6), u.state.label())
                    }
                    Some((d, tot)) if u.state.in_progress() => {
                        format!("{} {d}/{tot}", gauge(d, tot, 4))
                    }
                    _ if u.state.is_paused() => format!("⏸ {}", u.state.label().to_uppercase()),
                    _ => u.state.label().to_string(),
                };
                styled(text, t.style(role))
            }
        };
        let mut cells = vec![
            styled(sym, t.style(role)),
            Cell::from(sanitize(&w.name).into_owned()),
            styled(running, t.style(role)),
            update,
            Cell::from(sanitize(&w.image).into_owned()),
            styled(sparkline(&w.availability, 12), t.style(Role::Info)),
            Cell::from(if w.mode == crate::model::ServiceMode::Global {
                "glob"
            } else {
                "repl"
            }),
            Cell::from(
                w.stack
                    .as_deref()
                    .map(|s| sanitize(s).into_owned())
                    .unwrap_or_default(),
            ),
        ];
        cells.truncate(cols);
        Row::new(cells)
    });
}

pub fn replicas(
    f: &mut Frame,
    app: &App,
    area: Rect,
    now: Time,
    focused: bool,
    drill: Option<&Drill>,
    selected: usize,
) {
    let Some(c) = app.cluster() else { return };
    let t = &app.theme;
    // Only the visible window is resolved; `table` computes the same window from the total.
    let height = area.height.saturating_sub(3) as usize;
    let sel = if selected == usize::MAX { 0 } else { selected };
    let (total, offset, rows) = view::replica_window(
        c,
        drill,
        app.ui.history,
        app.ui.filter(Pane::Replicas),
        app.ui.sort(Pane::Replicas),
        |total| {
            let (from, to) = super::window(total, sel.min(total.saturating_sub(1)), height);
            (from, to - from)
        },
    );
    let scope = match drill {
        Some(Drill::Service(id)) => c
            .workloads
            .get(id)
            .map(|w| format!("Replicas of {}", sanitize(&w.name))),
        Some(Drill::Node(id)) => c
            .nodes
            .get(id)
            .map(|n| format!("Replicas on {}", sanitize(&n.hostname))),
        None => None,
    }
    .unwrap_or_else(|| "Replicas".into());
    let scope = if app.ui.history {
        format!("{scope} + history")
    } else {
        scope
    };
    // Pod names are long and differ at the end: a wider column when there is room.
    let task_width: u16 = if area.width >= 110 { 32 } else { 18 };
    // Only Kubernetes counts restarts (a Swarm task that dies is replaced by a new one).
    let restarts = c
        .sources
        .get(&SourceKind::Kubernetes)
        .is_some_and(|h| !matches!(h.state, SourceState::NotConfigured { .. }));
    let mut widths = vec![
        Constraint::Length(2),
        Constraint::Length(task_width),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(5),
    ];
    let mut header = vec!["", "TASK", "NODE", "DESIRED", "STATE", "SINCE"];
    if restarts {
        widths.push(Constraint::Length(4));
        header.push("RST");
    }
    widths.push(Constraint::Min(12));
    header.push("ERROR / IMAGE");
    let spec = TableSpec {
        title: title_with_filter(app, Pane::Replicas, &scope),
        header: &header,
        widths: &widths,
        total,
        selected,
        empty: &denied_or(c, &["pods"], "no replicas here"),
    };
    table(f, app, area, now, focused, spec, |i| {
        let Some(r) = i.checked_sub(offset).and_then(|k| rows.get(k)).copied() else {
            return Row::new(Vec::<Cell>::new());
        };
        let svc = c
            .workloads
            .get(&r.workload_id)
            .map_or("?", |w| w.name.as_str());
        let name = elide_middle(&sanitize(&r.label(svc)), usize::from(task_width));
        let node = r
            .node_id
            .as_ref()
            .and_then(|n| c.nodes.get(n))
            .map_or_else(|| "-".to_string(), |n| sanitize(&n.hostname).into_owned());
        let role = task_role(r.state);
        let sym = match role {
            Role::Ok => "●",
            Role::Danger => "✗",
            Role::Muted => "·",
            _ => "◌",
        };
        let last = match &r.error {
            Some(e) => styled(sanitize(e).into_owned(), t.style(Role::Danger)),
            None => styled(sanitize(&r.image).into_owned(), t.style(Role::Muted)),
        };
        let mut cells = vec![
            styled(sym, t.style(role)),
            Cell::from(name),
            Cell::from(node),
            Cell::from(r.desired.label()),
            styled(r.state.label(), t.style(role)),
            Cell::from(age(now, r.since)),
        ];
        if restarts {
            cells.push(match r.restarts {
                Some(0) => Cell::from("0"),
                Some(n) if n > 999 => styled("999+", t.style(Role::Warn)),
                Some(n) => styled(n.to_string(), t.style(Role::Warn)),
                None => Cell::from("-"),
            });
        }
        cells.push(last);
        let row = Row::new(cells);
        if r.is_current() {
            row
        } else {
            row.style(t.style(Role::Muted))
        }
    });
}

pub fn instances(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let t = &app.theme;
    let rows = view::instance_rows(
        c,
        app.ui.filter(Pane::Instances),
        app.ui.sort(Pane::Instances),
    );
    let widths = [
        Constraint::Length(2),
        Constraint::Length(20),
        Constraint::Length(12),
        Constraint::Length(14),
        Constraint::Length(11),
        Constraint::Length(13),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(15),
        Constraint::Length(16),
        Constraint::Min(21),
    ];
    let header: &[&str] = &[
        "",
        "ID",
        "NAME",
        "STATE",
        "AZ",
        "PRIVATE IP",
        "ROLE",
        "TYPE",
        "PUBLIC IP",
        "FLAGS",
        "AMI",
    ];
    // The AMI column only where everything before it fits whole.
    let cols = match area.width {
        w if w >= 156 => widths.len(),
        w if w >= WIDE_TABLE => widths.len() - 1,
        _ => 7,
    };
    // EC2 is polled: say how old the picture is.
    let polled = c
        .sources
        .get(&crate::model::SourceKind::Ec2)
        .and_then(|h| h.last_update)
        .map(|at| format!("Instances · data {} old", age(now, at)))
        .unwrap_or_else(|| "Instances".into());
    let spec = TableSpec {
        title: title_with_filter(app, Pane::Instances, &polled),
        header: &header[..cols],
        widths: &widths[..cols],
        total: rows.len(),
        selected: super::shown_selection(app, Pane::Instances),
        empty: "no cloud instances (EC2 not configured, or none match the filters)",
    };
    table(f, app, area, now, focused, spec, |i| {
        let inst = rows[i];
        let (sym, role) = match inst.state {
            InstanceState::Running => ("●", Role::Ok),
            InstanceState::Stopped | InstanceState::Terminated => ("✗", Role::Danger),
            _ => ("◌", Role::Warn),
        };
        let state = if inst.state.is_transitional() {
            format!("{} {}", inst.state.label(), age(now, inst.state_since))
        } else {
            inst.state.label().to_string()
        };
        let role_txt = inst
            .node_id
            .as_ref()
            .and_then(|n| c.nodes.get(n))
            .map_or(
                "none",
                |n| if n.is_manager() { "manager" } else { "worker" },
            );
        let opt = |o: &Option<String>| {
            o.as_deref()
                .map(|s| sanitize(s).into_owned())
                .unwrap_or_else(|| "-".into())
        };
        let flags = inst.flags.labels();
        let flag_role = if flags
            .iter()
            .any(|f| *f == "ssh-open" || *f == "ephemeral-root")
        {
            Role::Warn
        } else {
            Role::Muted
        };
        let mut cells = vec![
            styled(sym, t.style(role)),
            Cell::from(sanitize(&inst.id).into_owned()),
            Cell::from(sanitize(&inst.name).into_owned()),
            styled(state, t.style(role)),
            Cell::from(sanitize(&inst.az).into_owned()),
            Cell::from(opt(&inst.private_ip)),
            Cell::from(role_txt),
            Cell::from(sanitize(&inst.instance_type).into_owned()),
            Cell::from(opt(&inst.public_ip)),
            styled(flags.join(" "), t.style(flag_role)),
            Cell::from(sanitize(&inst.ami).into_owned()),
        ];
        cells.truncate(cols);
        Row::new(cells)
    });
}

pub fn events(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let t = &app.theme;
    let rows = view::event_rows(c, app.ui.filter(Pane::Events));
    let widths = [
        Constraint::Length(2),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Length(14),
        Constraint::Min(20),
    ];
    let selected = if app.ui.pane == Pane::Events {
        super::shown_selection(app, Pane::Events)
    } else {
        usize::MAX
    };
    let spec = TableSpec {
        title: "Events · newest first".into(),
        header: &["", "AGE", "ORIGIN", "TARGET", "MESSAGE"],
        widths: &widths,
        total: rows.len(),
        selected,
        empty: &denied_or(c, &["events"], "no events yet"),
    };
    table(f, app, area, now, focused, spec, |i| {
        let e = rows[i];
        let (sym, role) = match e.severity {
            Severity::Info => ("·", Role::Info),
            Severity::Warn => ("▲", Role::Warn),
            Severity::Critical => ("✗", Role::Danger),
        };
        let origin = match e.origin {
            Origin::Console => styled("console", t.style(Role::Accent)),
            Origin::External => styled("external", t.style(Role::Muted)),
        };
        Row::new(vec![
            styled(sym, t.style(role)),
            Cell::from(age(now, e.at)),
            origin,
            Cell::from(sanitize(&e.target).into_owned()),
            styled(sanitize(&e.message).into_owned(), t.style(role)),
        ])
    });
}

pub fn audit(f: &mut Frame, app: &App, area: Rect, _now: Time, focused: bool) {
    let t = &app.theme;
    let rows = view::audit_rows(&app.audit, app.ui.filter(Pane::Audit), _now);
    let path = app.gate.audit_log().map_or_else(
        || "read-only: no actions, no log".into(),
        |l| sanitize(&l.path().display().to_string()).into_owned(),
    );
    let wide = area.width >= WIDE_TABLE;
    let widths = [
        Constraint::Length(if wide { 24 } else { 8 }),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(16),
        Constraint::Length(9),
        Constraint::Min(20),
    ];
    let spec = TableSpec {
        title: format!("Audit · {path}"),
        header: &[
            if wide { "TIME (UTC)" } else { "UTC" },
            "PHASE",
            "USER",
            "VERB",
            "TARGET",
            "RESULT",
            "CLI / MESSAGE",
        ],
        widths: &widths,
        total: rows.len(),
        selected: super::shown_selection(app, Pane::Audit),
        empty: "no audited actions yet",
    };
    table(f, app, area, _now, focused, spec, |i| {
        let r = rows[i];
        let (res, role) = match r.result.as_deref() {
            Some("ok") => ("✓ ok", Role::Ok),
            Some("error") => ("✗ error", Role::Danger),
            Some(other) => (other, Role::Warn),
            None => ("…", Role::Muted),
        };
        let detail = match (&r.result, &r.message) {
            (Some(_), Some(m)) if !m.is_empty() => m.clone(),
            _ => r.cli.clone(),
        };
        Row::new(vec![
            Cell::from(if wide {
                sanitize(&r.time).into_owned()
            } else {
                // "2026-11-21T09:05:00.000Z" → "09:05:00"
                sanitize(r.time.get(11..19).unwrap_or(&r.time)).into_owned()
            }),
            Cell::from(sanitize(&r.phase).into_owned()),
            Cell::from(sanitize(&r.user).into_owned()),
            Cell::from(sanitize(&r.verb).into_owned()),
            Cell::from(sanitize(&r.target).into_owned()),
            styled(res.to_string(), t.style(role)),
            Cell::from(sanitize(&detail).into_owned()),
        ])
    });
    let _ = (Line::default(), Span::raw(""), Modifier::empty());
}
