//! The first screen of an incident: quorum, what is below desired and since when, the sources'
//! health, operations in flight, and the latest events.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::App;
use crate::config::discovery::Discovery;
use crate::model::store::ClusterState;
use crate::model::{Health, Quorum, QuorumVerdict, Severity, SourceKind, SourceState, Time};
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;
use crate::ui::widgets::{age, ago, gauge, ratio_bar, verdict_mark};

use super::block;

/// Degraded services listed by name before "and N more".
const DEGRADED_LISTED: usize = 5;

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let t = &app.theme;
    let title = match app.cluster() {
        Some(c) => format!("Overview · {}", sanitize(&c.name)),
        None => "Overview".into(),
    };
    let mut lines: Vec<Line> = Vec::new();
    match app.cluster() {
        Some(c) => cluster_lines(app, c, now, &mut lines),
        None if app.sources.is_empty() => lines.push(Line::styled(
            "loading… no source has reported yet",
            t.style(Role::Muted),
        )),
        None => {
            lines.push(Line::styled(
                "No live cluster data: no source is configured (see Sources below).",
                t.style(Role::Warn),
            ));
            lines.push(Line::styled(
                "Run `clusterdeck --demo` to try the console on a simulated cluster.",
                t.style(Role::Muted),
            ));
        }
    }
    sources_lines(app, &mut lines);
    ops_lines(app, now, &mut lines);
    unsettled_lines(app, now, &mut lines);
    if let Some(c) = app.cluster()
        && !crate::ui::is_wide(f.area())
    {
        lines.push(Line::styled("Latest events", t.style(Role::Header)));
        for e in c.events.iter().take(5) {
            let role = match e.severity {
                Severity::Info => Role::Muted,
                Severity::Warn => Role::Warn,
                Severity::Critical => Role::Danger,
            };
            lines.push(Line::styled(
                format!("  {:>4} {}", age(now, e.at), sanitize(&e.message)),
                t.style(role),
            ));
        }
    }
    let p = Paragraph::new(lines)
        .block(block(app, title, focused, now))
        .wrap(Wrap { trim: false });
    f.render_widget(p, area);
}

fn cluster_lines<'a>(app: &App, c: &'a ClusterState, now: Time, lines: &mut Vec<Line<'a>>) {
    stale_lines(app, c, now, lines);
    quorum_lines(app, c, lines);
    node_lines(app, c, lines);
    service_lines(app, c, now, lines);
    let t = &app.theme;
    let running = c.running_total();
    let wanted = c
        .workloads
        .values()
        .map(|w| w.desired as usize)
        .sum::<usize>();
    lines.push(count_line(app, "Replicas", running, wanted, "running"));
    if !c.instances.is_empty() {
        lines.push(count_line(
            app,
            "Instances",
            c.running_instances(),
            c.instances.len(),
            "running",
        ));
    }
    if !c.etcd.is_empty() {
        let q = crate::model::Quorum::from_etcd(&c.etcd);
        let (sym, role) = verdict_mark(q.verdict);
        let leader = q.leader.as_deref().map_or("no leader".to_string(), |l| {
            format!("leader {}", sanitize(l))
        });
        lines.push(Line::from(vec![
            Span::styled("etcd      ", t.style(Role::Header)),
            Span::styled(format!("{sym} {}  ", q.verdict.label()), t.style(role)),
            Span::styled(
                format!("{}/{} members up · {leader}", q.reachable, q.managers),
                t.style(Role::Text),
            ),
        ]));
    }
}

/// Stale data first: the operator must know that what follows is the last known state.
fn stale_lines(app: &App, c: &ClusterState, now: Time, lines: &mut Vec<Line<'_>>) {
    for (kind, h) in &c.sources {
        if h.is_stale() {
            let since = h
                .stale_since
                .map(|s| age(now, s))
                .unwrap_or_else(|| "?".into());
            lines.push(Line::styled(
                format!(
                    "✗ {} {} for {since}: {} · showing last known state",
                    kind.label(),
                    h.label(),
                    sanitize(h.reason().unwrap_or("no reason given"))
                ),
                app.theme.style(Role::Danger),
            ));
        }
    }
}

/// The managers' quorum: verdict, tolerance, each manager, even counts, the AZ spread.
fn quorum_lines(app: &App, c: &ClusterState, lines: &mut Vec<Line<'_>>) {
    let t = &app.theme;
    let q = c.quorum();
    let swarm = c
        .sources
        .get(&SourceKind::Swarm)
        .is_some_and(|h| !matches!(h.state, SourceState::NotConfigured { .. }));
    if q.managers == 0 && !swarm && (!c.control_plane.is_empty() || !c.etcd.is_empty()) {
        // No swarm here: the control plane's own health is the quorum that matters.
        return control_plane_line(app, c, lines);
    }
    let (sym, role) = verdict_mark(q.verdict);
    let headline = match (&q.verdict, &q.leader) {
        (QuorumVerdict::Lost | QuorumVerdict::Unknown, _) => q.summary(),
        (_, Some(l)) => format!(
            "{}/{} managers up · leader {}",
            q.reachable,
            q.managers,
            sanitize(l)
        ),
        (_, None) => format!(
            "{}/{} managers up · no leader seen",
            q.reachable, q.managers
        ),
    };
    lines.push(Line::from(vec![
        Span::styled("Quorum    ", t.style(Role::Header)),
        Span::styled(format!("{sym} {}  ", q.verdict.label()), t.style(role)),
        Span::styled(headline, t.style(Role::Text)),
    ]));
    if q.managers == 0 {
        return;
    }
    lines.push(Line::styled(
        format!(
            "  quorum {} of {} · tolerates {} more ({} by design)",
            q.quorum, q.managers, q.tolerates_now, q.tolerated
        ),
        t.style(if q.tolerates_now == 0 {
            Role::Warn
        } else {
            Role::Muted
        }),
    ));
    lines.push(managers_line(app, c, q.leader.as_deref()));
    if q.even_warning {
        lines.push(Line::styled(
            format!(
                "  ▲ {} managers: an even count tolerates no more failures than {}",
                q.managers,
                q.managers - 1
            ),
            t.style(Role::Warn),
        ));
    }
    if let Some(az) = &q.az {
        let role = if az.survives_one_az {
            Role::Ok
        } else {
            Role::Warn
        };
        lines.push(Line::styled(
            format!("  AZ spread {}: {}", az.shape(), az.verdict()),
            t.style(role),
        ));
    }
}

/// The managers drawn: the leader (if there is one) marked, unreachable crossed out.
fn managers_line<'a>(app: &App, c: &ClusterState, leader: Option<&str>) -> Line<'a> {
    let t = &app.theme;
    let mut mgrs: Vec<_> = c.nodes.values().filter(|n| n.is_manager()).collect();
    mgrs.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    let mut spans = vec![Span::raw("  ")];
    for m in mgrs {
        let name = sanitize(&m.hostname).into_owned();
        let span = if !m.counts_for_quorum() {
            Span::styled(
                format!("✗ {name}"),
                t.style(Role::Danger).add_modifier(Modifier::CROSSED_OUT),
            )
        } else if leader == Some(m.hostname.as_str()) {
            Span::styled(
                format!("★ {name} (leader)"),
                t.style(Role::Ok).add_modifier(Modifier::BOLD),
            )
        } else {
            Span::styled(format!("● {name}"), t.style(Role::Ok))
        };
        spans.push(span);
        spans.push(Span::raw("  "));
    }
    Line::from(spans)
}

fn node_lines(app: &App, c: &ClusterState, lines: &mut Vec<Line<'_>>) {
    lines.push(count_line(
        app,
        "Nodes",
        c.healthy_nodes(),
        c.nodes.len(),
        "healthy",
    ));
    let mut down: Vec<_> = c
        .nodes
        .values()
        .filter(|n| n.health() == Health::Critical)
        .collect();
    down.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    if !down.is_empty() {
        let names: Vec<String> = down
            .iter()
            .map(|n| sanitize(&n.hostname).into_owned())
            .collect();
        lines.push(Line::styled(
            format!("  ✗ down/unreachable: {}", names.join(", ")),
            app.theme.style(Role::Danger),
        ));
    }
}

fn service_lines(app: &App, c: &ClusterState, now: Time, lines: &mut Vec<Line<'_>>) {
    let t = &app.theme;
    lines.push(count_line(
        app,
        "Services",
        c.workloads_at_desired(),
        c.workloads.len(),
        "at desired",
    ));
    let mut degraded: Vec<_> = c
        .workloads
        .values()
        .filter(|w| w.is_degraded() || w.update.as_ref().is_some_and(|u| u.state.is_paused()))
        .collect();
    degraded.sort_by(|a, b| a.name.cmp(&b.name));
    for w in degraded.iter().take(DEGRADED_LISTED) {
        let since = c.short_since(&w.id);
        let paused = w.update.as_ref().filter(|u| u.state.is_paused());
        // Nothing running at all is a failure, not a shortfall (as the services pane says).
        let down = paused.is_some() || (w.running == 0 && w.desired > 0);
        let sym = if down { "✗" } else { "▲" };
        let mut text = format!("  {sym} {} {}/{}", sanitize(&w.name), w.running, w.desired);
        if let Some(s) = since {
            text.push_str(&format!(" since {}", age(now, s)));
        }
        if paused.is_some() {
            text.push_str(" · update PAUSED");
        }
        // The newest task error says why, in full (the line wraps).
        if let Some(e) = c
            .replicas_of_workload(&w.id)
            .filter(|r| r.error.is_some())
            .max_by_key(|r| r.since)
            .and_then(|r| r.error.as_deref())
        {
            text.push_str(&format!(" · {}", sanitize(e)));
        }
        let role = if down { Role::Danger } else { Role::Warn };
        lines.push(Line::styled(text, t.style(role)));
    }
    if degraded.len() > DEGRADED_LISTED {
        lines.push(Line::styled(
            format!("  and {} more", degraded.len() - DEGRADED_LISTED),
            t.style(Role::Warn),
        ));
    }
}

fn count_line<'a>(app: &App, label: &str, ok: usize, total: usize, what: &str) -> Line<'a> {
    let t = &app.theme;
    let role = if ok >= total {
        Role::Ok
    } else if ok * 2 >= total {
        Role::Warn
    } else {
        Role::Danger
    };
    Line::from(vec![
        Span::styled(format!("{label:<10}"), t.style(Role::Header)),
        Span::styled(
            format!("{} ", ratio_bar(ok as u32, total as u32, 10)),
            t.style(role),
        ),
        Span::styled(format!("{ok}/{total} {what}"), t.style(Role::Text)),
    ])
}

/// A Kubernetes context: the API server's readiness checks and, where configured, the etcd
/// members' quorum, worst first.
fn control_plane_line(app: &App, c: &ClusterState, lines: &mut Vec<Line<'_>>) {
    let t = &app.theme;
    let failed: Vec<&str> = c
        .control_plane
        .iter()
        .filter(|k| !k.ok)
        .map(|k| k.name.as_str())
        .collect();
    let (mut verdict, mut parts) = if c.control_plane.is_empty() {
        (
            QuorumVerdict::Unknown,
            vec!["API server: no readiness report yet".to_string()],
        )
    } else if failed.is_empty() {
        (
            QuorumVerdict::Healthy,
            vec![format!(
                "API server ready ({} checks pass)",
                c.control_plane.len()
            )],
        )
    } else {
        (
            QuorumVerdict::Lost,
            vec![format!(
                "API server not ready: {} failing",
                sanitize(&failed.join(", "))
            )],
        )
    };
    if !c.etcd.is_empty() {
        let q = Quorum::from_etcd(&c.etcd);
        parts.push(format!("etcd {}", q.etcd_summary()));
        let rank = |v: QuorumVerdict| match v {
            QuorumVerdict::Healthy => 0,
            QuorumVerdict::Unknown => 1,
            QuorumVerdict::AtRisk => 2,
            QuorumVerdict::Lost => 3,
        };
        if rank(q.verdict) > rank(verdict) {
            verdict = q.verdict;
        }
    }
    let (sym, role) = verdict_mark(verdict);
    lines.push(Line::from(vec![
        Span::styled("Quorum    ", t.style(Role::Header)),
        Span::styled(format!("{sym} {}  ", verdict.label()), t.style(role)),
        Span::styled(parts.join(" · "), t.style(Role::Text)),
    ]));
}

fn sources_lines(app: &App, lines: &mut Vec<Line<'_>>) {
    let t = &app.theme;
    if app.sources.is_empty() {
        return;
    }
    lines.push(Line::styled("Sources", t.style(Role::Header)));
    let connected = app.cluster().map(|c| &c.sources);
    for s in &app.sources {
        let live = connected.and_then(|m| m.get(&s.kind));
        let (text, role) = match (live, &s.discovery) {
            (Some(h), _) => {
                let mut x = format!("  {:<10} {}", s.kind.label(), h.label());
                if let Some(e) = &h.endpoint {
                    x.push_str(&format!(" · {}", sanitize(e)));
                }
                if let Some(r) = h.reason() {
                    x.push_str(&format!(" · {}", sanitize(r)));
                }
                (x, if h.is_stale() { Role::Danger } else { Role::Ok })
            }
            (None, Discovery::Configured { endpoint, via }) => (
                format!(
                    "  {:<10} configured ({}) via {} · no backend for it in this build yet",
                    s.kind.label(),
                    sanitize(endpoint),
                    sanitize(via)
                ),
                Role::Muted,
            ),
            (None, Discovery::NotConfigured { hint }) => (
                format!(
                    "  {:<10} not configured · {}",
                    s.kind.label(),
                    sanitize(hint)
                ),
                Role::Muted,
            ),
        };
        lines.push(Line::styled(text, t.style(role)));
    }
}

fn ops_lines(app: &App, now: Time, lines: &mut Vec<Line<'_>>) {
    let t = &app.theme;
    if app.inflight.is_empty() && app.finished.is_empty() {
        return;
    }
    lines.push(Line::styled("Operations", t.style(Role::Header)));
    for op in app.inflight.values() {
        let prog = op
            .progress
            .map(|(d, n)| format!(" {} {d}/{n}", gauge(d, n, 10)))
            .unwrap_or_default();
        lines.push(Line::styled(
            format!(
                "  ◌ {} {}{prog} · {} · {}",
                op.request.verb(),
                sanitize(&op.request.target()),
                sanitize(&op.message),
                age(now, op.started_at)
            ),
            t.style(Role::Info),
        ));
    }
    for op in app.finished.iter().take(3) {
        let (sym, role, msg) = match &op.result {
            Ok(m) => ("✓", Role::Ok, m),
            Err(m) => ("✗", Role::Danger, m),
        };
        lines.push(Line::styled(
            format!(
                "  {sym} {} {} · {} · {}",
                op.request.verb(),
                sanitize(&op.request.target()),
                sanitize(msg),
                ago(now, op.at)
            ),
            t.style(role),
        ));
    }
}

/// Operations an earlier console left with their result unknown, and their target now.
fn unsettled_lines(app: &App, now: Time, lines: &mut Vec<Line<'_>>) {
    let t = &app.theme;
    if app.unsettled.is_empty() {
        return;
    }
    lines.push(Line::styled(
        "Unsettled (an earlier console ended before their result was known)",
        t.style(Role::Header),
    ));
    for rec in &app.unsettled {
        let at = chrono::DateTime::parse_from_rfc3339(&rec.time)
            .map(|t| ago(now, t.with_timezone(&chrono::Utc)))
            .unwrap_or_default();
        lines.push(Line::styled(
            format!(
                "  ? {} {} · {} · {}",
                sanitize(&rec.verb),
                sanitize(&rec.target),
                sanitize(rec.message.as_deref().unwrap_or("")),
                at
            ),
            t.style(Role::Warn),
        ));
        let state = app
            .store
            .cluster(&rec.context)
            .and_then(|c| crate::app::unsettled::now_of(c, rec))
            .unwrap_or_else(|| "not shown yet".into());
        lines.push(Line::styled(
            format!("      now: {}", sanitize(&state)),
            t.style(Role::Info),
        ));
    }
}
