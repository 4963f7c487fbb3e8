//! The quorum pane: the verdict for every consensus group the context has (Swarm managers,
//! etcd members), and etcd's members in detail: leader, raft term and indexes, how far each
//! lags, database size, alarms, reachability and latency.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row};

use crate::app::App;
use crate::app::view::etcd_rows;
use crate::model::{EtcdMember, Quorum, Time};
use crate::ui::Pane;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;
use crate::ui::widgets::verdict_mark;

use super::{TableSpec, styled, table};

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let lines = verdict_lines(app, c);
    let [head, body] =
        Layout::vertical([Constraint::Length(lines.len() as u16), Constraint::Min(0)]).areas(area);
    f.render_widget(Paragraph::new(lines), head);
    let members = etcd_rows(&c.etcd);
    let leader_index = leader(&c.etcd)
        .and_then(|m| m.status.as_ref())
        .map(|s| s.raft_index);
    let widths = [
        Constraint::Length(2),
        Constraint::Length(14),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(15),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Min(20),
    ];
    let header: &[&str] = &[
        "",
        "MEMBER",
        "ROLE",
        "TERM",
        "INDEX",
        "APPLIED",
        "LAG",
        "DB (IN USE)",
        "RTT",
        "VERSION",
        "PROBLEM / ENDPOINT",
    ];
    let cols = if area.width >= 110 { widths.len() } else { 7 };
    let spec = TableSpec {
        title: "etcd members".into(),
        header: &header[..cols],
        widths: &widths[..cols],
        total: members.len(),
        selected: super::shown_selection(app, Pane::Quorum),
        empty: "no etcd endpoints configured for this context (etcd.endpoints or ETCDCTL_ENDPOINTS)",
    };
    table(f, app, body, now, focused, spec, |i| {
        let mut cells = member_cells(app, members[i], leader_index);
        cells.truncate(cols);
        Row::new(cells)
    });
}

/// One line per consensus group: the Swarm managers, etcd, the API server's checks.
fn verdict_lines<'a>(app: &App, c: &crate::model::ClusterState) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let swarm = c.quorum();
    if swarm.managers > 0 {
        lines.push(verdict_line(app, "Swarm", &swarm, swarm.summary()));
    }
    if !c.etcd.is_empty() {
        let etcd = Quorum::from_etcd(&c.etcd);
        let mut text = etcd.etcd_summary();
        if let Some(l) = &etcd.leader {
            text.push_str(&format!(" · leader {}", sanitize(l)));
        }
        if let Some(term) = leader(&c.etcd)
            .and_then(|m| m.status.as_ref())
            .map(|s| s.raft_term)
        {
            text.push_str(&format!(" · term {term}"));
        }
        lines.push(verdict_line(app, "etcd", &etcd, text));
    }
    if !c.control_plane.is_empty() {
        lines.push(control_plane_line(app, &c.control_plane));
    }
    if lines.is_empty() {
        lines.push(Line::styled(
            "no consensus group known here: no Swarm managers, no etcd endpoints configured",
            app.theme.style(Role::Muted),
        ));
    }
    lines
}

/// A member's row: health, name, role, raft term and indexes, lag behind the leader, database
/// size (or its alarm), round trip, version, and its problem or endpoint.
fn member_cells<'a>(
    app: &App,
    m: &EtcdMember,
    leader_index: Option<u64>,
) -> Vec<ratatui::widgets::Cell<'a>> {
    let t = &app.theme;
    let (sym, role) = if m.healthy {
        ("●", Role::Ok)
    } else if m.status.is_some() {
        ("▲", Role::Warn)
    } else {
        ("✗", Role::Danger)
    };
    let kind = if m.learner {
        "learner"
    } else if m.leader {
        "★ leader"
    } else {
        "follower"
    };
    let num = |f: fn(&crate::model::EtcdStatus) -> u64| {
        m.status.as_ref().map_or("-".into(), |s| f(s).to_string())
    };
    let lag = m.lag(leader_index);
    let lag_role = match lag {
        Some(0) => Role::Text,
        Some(n) if n < 1000 => Role::Warn,
        Some(_) => Role::Danger,
        None => Role::Muted,
    };
    let db = match (&m.status, m.alarms.is_empty()) {
        (_, false) => styled(
            format!("ALARM {}", sanitize(&m.alarms.join(","))),
            t.style(Role::Danger),
        ),
        (Some(s), true) => styled(
            format!("{} ({})", bytes(s.db_size), bytes(s.db_size_in_use)),
            t.style(Role::Text),
        ),
        (None, true) => styled("-", t.style(Role::Text)),
    };
    let last = match &m.problem {
        Some(p) => styled(sanitize(p).into_owned(), t.style(role)),
        None => styled(
            sanitize(m.client_urls.first().map_or("", String::as_str)).into_owned(),
            t.style(Role::Muted),
        ),
    };
    let rtt = m
        .status
        .as_ref()
        .map_or("-".into(), |s| format!("{} ms", s.latency_ms));
    let version = m
        .status
        .as_ref()
        .map_or("-".into(), |s| sanitize(&s.version).into_owned());
    vec![
        styled(sym, t.style(role)),
        styled(sanitize(&m.name).into_owned(), t.style(Role::Text)),
        styled(
            kind,
            t.style(if m.leader { Role::Accent } else { Role::Text }),
        ),
        styled(num(|s| s.raft_term), t.style(Role::Text)),
        styled(num(|s| s.raft_index), t.style(Role::Text)),
        styled(num(|s| s.applied_index), t.style(Role::Text)),
        styled(lag.map_or("-".into(), |l| l.to_string()), t.style(lag_role)),
        db,
        styled(rtt, t.style(Role::Text)),
        styled(version, t.style(Role::Muted)),
        last,
    ]
}

/// The API server's `/readyz?verbose`: how many checks pass, and the failing ones by name.
fn control_plane_line<'a>(app: &App, checks: &[crate::model::ControlCheck]) -> Line<'a> {
    let t = &app.theme;
    let failing: Vec<String> = checks
        .iter()
        .filter(|k| !k.ok)
        .map(|k| {
            sanitize(&format!("{} {}", k.name, k.detail))
                .trim()
                .to_string()
        })
        .collect();
    let (mark, role, text) = if failing.is_empty() {
        (
            "● ready",
            Role::Ok,
            format!("API server: all {} readyz checks pass", checks.len()),
        )
    } else {
        (
            "✗ not ready",
            Role::Danger,
            format!(
                "API server: {} of {} readyz checks fail: {}",
                failing.len(),
                checks.len(),
                failing.join(", ")
            ),
        )
    };
    Line::from(vec![
        Span::styled(format!("{:<7}", "k8s"), t.style(Role::Header)),
        Span::styled(format!("{mark}  "), t.style(role)),
        Span::styled(text, t.style(Role::Text)),
    ])
}

fn verdict_line<'a>(app: &App, what: &str, q: &Quorum, text: String) -> Line<'a> {
    let t = &app.theme;
    let (sym, role) = verdict_mark(q.verdict);
    Line::from(vec![
        Span::styled(format!("{what:<7}"), t.style(Role::Header)),
        Span::styled(format!("{sym} {}  ", q.verdict.label()), t.style(role)),
        Span::styled(text, t.style(Role::Text)),
    ])
}

fn leader(members: &[EtcdMember]) -> Option<&EtcdMember> {
    members.iter().find(|m| m.leader)
}

/// 20480 → "20 KiB"; etcd's quota is 2 GiB by default, 8 GiB at most.
fn bytes(n: u64) -> String {
    crate::model::usage::bytes_in(n, &["B", "KiB", "MiB", "GiB"], " ")
}
