//! The wall layout: a header per context, a banner of incidents with how long each has lasted,
//! the rotating pane set, and a footer. Pure like the rest of the UI: (wall, now) → frame.
//! Sizes from 80x24 to 300x80 and beyond; below the smallest it says so instead of garbling.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::model::store::ClusterState;
use crate::model::{SourceState, Time};
use crate::wall::{Incident, Wall};

use super::sanitize::sanitize;
use super::theme::Role;
use super::widgets::{age, ago, lasted, verdict_mark};
use super::{bigtext, panes};

const MIN_WIDTH: u16 = 40;
const MIN_HEIGHT: u16 = 10;
/// From here on, headers get a box of their own and the banner room to breathe.
const BIG_WIDTH: u16 = 200;
const BIG_HEIGHT: u16 = 45;
/// Panes of a set go side by side from this width.
const SIDE_BY_SIDE: u16 = 160;

pub fn draw(f: &mut Frame, wall: &Wall, now: Time) {
    let area = f.area();
    let t = &wall.app.theme;
    f.render_widget(Block::default().style(t.style(Role::Text)), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "wall: terminal too small ({}x{}), needs {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg)
                .style(t.style(Role::Warn))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let big = area.width >= BIG_WIDTH && area.height >= BIG_HEIGHT;
    let clusters = &wall.app.store.clusters;
    let per_header: u16 = if big { 3 } else { 1 };
    let header_h = (clusters.len().max(1) as u16 * per_header).min(area.height / 3);
    let banner = banner_lines(wall, now, area.width);
    let cap = if big { 14 } else { (area.height / 4).max(2) };
    let pad = if big && !banner.is_empty() { 2 } else { 0 };
    // On a big screen the worst incident's name also goes up in block letters.
    let headline = wall
        .app
        .incidents
        .current
        .first()
        .filter(|i| big && bigtext::width(i.kind.label()) + 2 <= area.width as usize)
        .and_then(|i| bigtext::big(i.kind.label()));
    let headline_h = if headline.is_some() { 6 } else { 0 };
    let banner_h = (banner.len() as u16).min(cap) + pad + headline_h;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(header_h),
            Constraint::Length(banner_h),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    headers(f, wall, rows[0], now, big);
    render_banner(f, wall, headline, banner, rows[1], cap as usize, pad > 0);
    body(f, wall, rows[2], now);
    footer(f, wall, rows[3], now);
}

/// A wide status glyph and word for a context: never colour alone.
fn status(wall: &Wall, c: &ClusterState) -> (&'static str, Role) {
    match wall.app.incidents.worst_in(&c.name) {
        None if c.sources.is_empty() => ("◌◌ WAITING", Role::Muted),
        None => ("██ OK", Role::Ok),
        Some(k) if k.is_critical() => ("✗✗ CRITICAL", Role::Danger),
        Some(_) => ("▲▲ WARNING", Role::Warn),
    }
}

/// The header's parts: (full text, short text, role), shown full when they all fit.
fn header_parts(c: &ClusterState, now: Time) -> Vec<(String, String, Role)> {
    let mut parts = Vec::new();
    let q = c.quorum();
    let (sym, role) = verdict_mark(q.verdict);
    parts.push((
        format!(
            "quorum {sym} {} {}/{} managers",
            q.verdict.label(),
            q.reachable,
            q.managers
        ),
        format!("Q {sym} {}/{}", q.reachable, q.managers),
        role,
    ));
    parts.push(count(
        "nodes",
        "N",
        c.healthy_nodes(),
        c.nodes.len(),
        "ready",
    ));
    parts.push(count(
        "workloads",
        "W",
        c.workloads_at_desired(),
        c.workloads.len(),
        "at desired",
    ));
    if !c.instances.is_empty() {
        parts.push(count(
            "instances",
            "I",
            c.running_instances(),
            c.instances.len(),
            "running",
        ));
    }
    let changed = c
        .last_change
        .map_or_else(|| "no change yet".into(), |t| ago(now, t));
    parts.push((
        format!("last change {changed}"),
        format!(
            "Δ {}",
            c.last_change.map_or_else(|| "-".into(), |t| age(now, t))
        ),
        Role::Muted,
    ));
    for (kind, h) in &c.sources {
        let (full, short, role) = match &h.state {
            SourceState::Connected => (
                format!("{} ✓ live", kind.label()),
                format!("{} ✓", kind.label()),
                Role::Ok,
            ),
            SourceState::Connecting => (
                format!("{} ◌ connecting", kind.label()),
                format!("{} ◌", kind.label()),
                Role::Muted,
            ),
            SourceState::NotConfigured { .. } => continue,
            SourceState::Degraded { .. }
            | SourceState::Unreachable { .. }
            | SourceState::Failed { .. } => {
                let since = h.stale_since.map_or_else(|| "?".into(), |s| lasted(now, s));
                (
                    format!("{} ✗ {} for {since}, data stale", kind.label(), h.label()),
                    format!("{} ✗ {since}", kind.label()),
                    Role::Danger,
                )
            }
        };
        parts.push((full, short, role));
    }
    parts
}

fn count(label: &str, short: &str, ok: usize, total: usize, what: &str) -> (String, String, Role) {
    let role = if ok >= total { Role::Ok } else { Role::Warn };
    (
        format!("{label} {ok}/{total} {what}"),
        format!("{short} {ok}/{total}"),
        role,
    )
}

fn header_line<'a>(wall: &Wall, c: &ClusterState, now: Time, width: u16, name: bool) -> Line<'a> {
    let t = &wall.app.theme;
    let (word, role) = status(wall, c);
    let mut spans = vec![Span::styled(format!(" {word} "), t.style(role))];
    if name {
        spans.push(Span::styled(
            format!("{} ", sanitize(&c.name)),
            t.style(Role::Title),
        ));
        if c.production {
            spans.push(Span::styled(" PRODUCTION ", t.style(Role::Production)));
            spans.push(Span::raw(" "));
        }
    }
    let parts = header_parts(c, now);
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let full: usize = parts.iter().map(|p| p.0.chars().count() + 3).sum();
    let use_full = used + full <= width as usize;
    for (i, (long, short, role)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", t.style(Role::Border)));
        }
        spans.push(Span::styled(
            if use_full { long } else { short },
            t.style(role),
        ));
    }
    Line::from(spans)
}

fn headers(f: &mut Frame, wall: &Wall, area: Rect, now: Time, big: bool) {
    let t = &wall.app.theme;
    let clusters = &wall.app.store.clusters;
    if clusters.is_empty() {
        f.render_widget(
            Paragraph::new(" ◌◌ waiting for the first data from the sources…")
                .style(t.style(Role::Muted)),
            area,
        );
        return;
    }
    let h = if big { 3 } else { 1 };
    for (i, c) in clusters.iter().enumerate() {
        let y = area.y + (i as u16) * h;
        if y + h > area.y + area.height {
            break;
        }
        let rect = Rect::new(area.x, y, area.width, h);
        if big {
            let (_, role) = status(wall, c);
            let mut title = vec![Span::styled(
                format!(" {} ", sanitize(&c.name)),
                t.style(Role::Title),
            )];
            if c.production {
                title.push(Span::styled(" PRODUCTION ", t.style(Role::Production)));
            }
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(t.style(role))
                .title(Line::from(title));
            let line = header_line(wall, c, now, rect.width.saturating_sub(2), false);
            f.render_widget(Paragraph::new(line).block(block), rect);
        } else {
            let line = header_line(wall, c, now, rect.width, true);
            f.render_widget(Paragraph::new(line), rect);
        }
    }
}

/// One line per incident: what, where, for how long, and the objects (each with its own
/// duration when several started at different times).
fn banner_lines(wall: &Wall, now: Time, width: u16) -> Vec<(Line<'static>, bool)> {
    let many = wall.app.store.clusters.len() > 1;
    wall.app
        .incidents
        .current
        .iter()
        .map(|i| (incident_line(i, now, width, many), i.kind.is_critical()))
        .collect()
}

fn incident_line(i: &Incident, now: Time, width: u16, many: bool) -> Line<'static> {
    let glyph = if i.kind.is_critical() {
        "✗✗"
    } else {
        "▲▲"
    };
    let since = i.since().map_or_else(|| "?".into(), |s| lasted(now, s));
    let mut head = format!(" {glyph} {:<15} for {since:<8}", i.kind.label());
    if many {
        head.push_str(&format!(" {} ·", sanitize(&i.cluster)));
    }
    let room = (width as usize).saturating_sub(head.chars().count() + 2);
    let several = i.affected.len() > 1;
    let mut objects = String::new();
    for (n, a) in i.affected.iter().enumerate() {
        let mut item = sanitize(&a.object).into_owned();
        if !a.detail.is_empty() {
            item.push_str(&format!(" ({})", sanitize(&a.detail)));
        }
        if several {
            item.push_str(&format!(" {}", lasted(now, a.since)));
        }
        let sep = if n == 0 { " " } else { ", " };
        let rest = i.affected.len() - n;
        let more = format!(" +{rest} more");
        if objects.chars().count() + sep.len() + item.chars().count() + more.len() > room
            && rest > 1
        {
            objects.push_str(&more);
            break;
        }
        objects.push_str(sep);
        objects.push_str(&item);
    }
    let mut text = head + &objects;
    if let Some(a) = i.ack() {
        text.push_str(&format!(
            " · acked by {} {}",
            sanitize(&a.who),
            ago(now, a.at)
        ));
        if !a.text.is_empty() {
            text.push_str(&format!(": {}", sanitize(&a.text)));
        }
    }
    if text.chars().count() > width as usize {
        text = text
            .chars()
            .take((width as usize).saturating_sub(1))
            .collect();
        text.push('…');
    }
    Line::raw(text)
}

fn render_banner(
    f: &mut Frame,
    wall: &Wall,
    headline: Option<[String; 5]>,
    lines: Vec<(Line<'static>, bool)>,
    area: Rect,
    cap: usize,
    pad: bool,
) {
    if lines.is_empty() || area.height == 0 {
        return;
    }
    let t = &wall.app.theme;
    let style = |critical: bool| -> Style {
        if critical {
            t.style(Role::Alert)
        } else {
            t.style(Role::Banner)
        }
    };
    let worst = style(lines.iter().any(|(_, c)| *c));
    let total = lines.len();
    let mut shown: Vec<Line> = Vec::new();
    if pad {
        shown.push(Line::raw(""));
    }
    if let Some(rows) = headline {
        for r in rows {
            shown.push(Line::styled(format!(" {r}"), worst));
        }
        shown.push(Line::raw(""));
    }
    for (n, (line, critical)) in lines.into_iter().enumerate() {
        if n + 1 == cap && total > cap {
            shown.push(Line::styled(
                format!(" … and {} more incidents", total - n),
                worst,
            ));
            break;
        }
        shown.push(line.style(style(critical)));
    }
    f.render_widget(Paragraph::new(shown).style(worst), area);
}

fn body(f: &mut Frame, wall: &Wall, area: Rect, now: Time) {
    let set = wall.set();
    let n = set.panes.len().max(1);
    let direction = if area.width >= SIDE_BY_SIDE {
        Some(Direction::Horizontal)
    } else if area.height as usize >= 10 * n {
        Some(Direction::Vertical)
    } else {
        None
    };
    let rects: Vec<Rect> = match direction {
        Some(d) => Layout::default()
            .direction(d)
            .constraints(vec![Constraint::Ratio(1, n as u32); n])
            .split(area)
            .to_vec(),
        None => vec![area],
    };
    for (pane, rect) in set.panes.iter().zip(rects) {
        panes::render(f, &wall.app, *pane, rect, now, false);
    }
}

fn footer(f: &mut Frame, wall: &Wall, area: Rect, now: Time) {
    let t = &wall.app.theme;
    if wall.quit_asked.is_some() {
        let line = Line::styled(
            " Quit the wall display?  y = quit · any other key = keep running ",
            t.style(Role::Alert),
        );
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let set = wall.set();
    let rotation = if wall.pinned.is_some() {
        format!("pinned: {}", sanitize(&set.name))
    } else {
        let i = wall
            .sets
            .iter()
            .position(|s| s.name == set.name)
            .unwrap_or(0);
        format!("{} {}/{}", sanitize(&set.name), i + 1, wall.sets.len())
    };
    let next = match wall.next_rotation_in(now) {
        _ if wall.paused => "rotation PAUSED".to_string(),
        Some(s) => format!("next in {s}s"),
        None => "not rotating".to_string(),
    };
    let context = wall
        .app
        .cluster()
        .map(|c| format!(" · {}", sanitize(&c.name)))
        .unwrap_or_default();
    let keys = keys_hint(wall);
    let clock = now.format("%H:%M:%S UTC ").to_string();
    let width = area.width as usize;
    let mut left = format!(" WALL · read-only · {rotation}{context} · {next} ");
    // Drop the least needed first: the clock, then the key hints, then the context name.
    let len = |s: &str| s.chars().count();
    let (keys, clock) = if len(&left) + len(&keys) + len(&clock) <= width {
        (keys, clock)
    } else if len(&left) + len(&keys) <= width {
        (keys, String::new())
    } else {
        left = format!(" WALL · read-only · {rotation} · {next} ");
        (String::new(), String::new())
    };
    let pad = width.saturating_sub(len(&left) + len(&keys) + len(&clock));
    let line = Line::from(vec![
        Span::styled(left, t.style(Role::Header)),
        Span::styled(keys, t.style(Role::Muted)),
        Span::raw(" ".repeat(pad)),
        Span::styled(clock, t.style(Role::Text)),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

/// "tab next · space pause · q quit" from the wall's keymap (it can be remapped).
fn keys_hint(wall: &Wall) -> String {
    use crate::input::{Action, Mode};
    let km = &wall.app.keymap;
    let mut parts = Vec::new();
    for (a, what) in [
        (Action::NextPane, "next"),
        (Action::PauseRotation, "pause"),
        (Action::Quit, "quit"),
    ] {
        if let Some(k) = km.hint(Mode::Wall, a) {
            parts.push(format!("{k} {what}"));
        }
    }
    parts.join(" · ")
}
