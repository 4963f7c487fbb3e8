//! The Incidents pane: every open incident (worst first) and the recently resolved, and under
//! the list the selected one in full: its objects with their details and since when, the
//! evidence (the failing task's error, the last events), how it changed, acks and notes, and
//! the next safe actions with their keys.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};

use crate::app::App;
use crate::app::incidents::Incident;
use crate::input::{Mode, Pane};
use crate::model::Time;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;
use crate::ui::widgets::{ago, lasted};

use super::{TableSpec, styled, table};

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let t = &app.theme;
    let inc = &app.incidents;
    let open = inc.current.len();
    let total = open + inc.resolved.len();
    let selected = super::shown_selection(app, Pane::Incidents);
    let detail_h = if area.height >= 16 && total > 0 {
        area.height / 2
    } else {
        0
    };
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(4), Constraint::Length(detail_h)])
        .split(area);
    let widths = [
        Constraint::Length(2),
        Constraint::Length(15),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Min(20),
    ];
    let spec = TableSpec {
        title: format!("Incidents · {open} open"),
        header: &["", "KIND", "CONTEXT", "FOR", "OBJECTS · ACK"],
        widths: &widths,
        total,
        selected,
        empty: "no incidents: every source answers and everything runs as desired",
    };
    table(f, app, parts[0], now, focused, spec, |i| {
        if let Some(x) = inc.current.get(i) {
            let role = if x.kind.is_critical() {
                Role::Danger
            } else {
                Role::Warn
            };
            let glyph = if x.kind.is_critical() { "✗" } else { "▲" };
            let since = x.since().map_or_else(|| "?".into(), |s| lasted(now, s));
            let mut what = objects(x);
            if let Some(a) = x.ack() {
                what.push_str(&format!(" · acked by {} {}", a.who, ago(now, a.at)));
            }
            Row::new(vec![
                styled(glyph, t.style(role)),
                styled(x.kind.label(), t.style(role)),
                Cell::from(sanitize(&x.cluster).into_owned()),
                Cell::from(since),
                Cell::from(sanitize(&what).into_owned()),
            ])
        } else if let Some(r) = inc.resolved.get(i - open) {
            let lasted_for =
                crate::app::incidents::short_duration(r.lasted().num_seconds().max(0) as u64);
            Row::new(vec![
                styled("✓", t.style(Role::Ok)),
                Cell::from(r.incident.kind.label()),
                Cell::from(sanitize(&r.incident.cluster).into_owned()),
                Cell::from(lasted_for),
                Cell::from(format!(
                    "resolved {} · {}",
                    ago(now, r.at),
                    sanitize(&objects(&r.incident))
                )),
            ])
            .style(t.style(Role::Muted))
        } else {
            Row::new(Vec::<Cell>::new())
        }
    });
    if detail_h == 0 {
        return;
    }
    let sel = if selected == usize::MAX { 0 } else { selected };
    let chosen = inc
        .current
        .get(sel)
        .or_else(|| inc.resolved.get(sel - open.min(sel)).map(|r| &r.incident));
    if let Some(x) = chosen {
        let lines = detail(app, x, now);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.style(Role::Border))
            .title(format!(" {} ", sanitize(&x.summary())));
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            parts[1],
        );
    }
}

fn objects(x: &Incident) -> String {
    let names: Vec<&str> = x.affected.iter().map(|a| a.object.as_str()).collect();
    names.join(", ")
}

fn detail(app: &App, x: &Incident, now: Time) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    let next: Vec<String> = x
        .kind
        .next_actions()
        .iter()
        .filter(|a| !(a.is_mutating() && app.read_only_here()))
        .filter_map(|a| {
            app.keymap
                .hint(Mode::Normal, *a)
                .map(|k| format!("{} {k}", a.name()))
        })
        .collect();
    let jump = app
        .keymap
        .hint(Mode::Normal, crate::input::Action::NextProblem)
        .unwrap_or_default();
    let mut keys = format!("go there {jump}");
    if !next.is_empty() {
        keys.push_str(&format!(" · then {}", next.join(" · ")));
    }
    lines.push(Line::styled(keys, t.style(Role::Accent)));
    for a in &x.affected {
        lines.push(Line::styled(
            format!(
                "{} · {} · for {}",
                sanitize(&a.object),
                sanitize(&a.detail),
                lasted(now, a.since)
            ),
            t.style(Role::Text),
        ));
        for e in &a.evidence {
            lines.push(Line::styled(
                format!("  {}", sanitize(e)),
                t.style(Role::Danger),
            ));
        }
    }
    for n in &x.notes {
        let what = if n.ack { "acked" } else { "note" };
        let mut s = format!("{what} by {} {}", sanitize(&n.who), ago(now, n.at));
        if !n.text.is_empty() {
            s.push_str(&format!(": {}", sanitize(&n.text)));
        }
        lines.push(Line::styled(s, t.style(Role::Info)));
    }
    for (at, c) in x.changes.iter().rev().take(5) {
        lines.push(Line::styled(
            format!("{} {}", at.format("%H:%M:%S"), sanitize(c)),
            t.style(Role::Muted),
        ));
    }
    lines
}
