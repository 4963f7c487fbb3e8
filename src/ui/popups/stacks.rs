//! The Stacks view: one row per stack, the selected one highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::App;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;

pub fn stacks(f: &mut Frame, app: &App, area: Rect, selected: usize) {
    let t = &app.theme;
    let rows = app.stacks();
    let r = Rect {
        height: area.height.saturating_sub(1),
        ..area
    };
    let mut lines: Vec<Line> = Vec::new();
    if rows.is_empty() {
        lines.push(Line::styled(
            "no stacks (services labelled com.docker.stack.namespace) in this context; :stack deploy NAME FILE deploys one",
            t.style(Role::Muted),
        ));
    }
    for (i, s) in rows.iter().enumerate() {
        let role = if s.running < s.desired || !s.updates.is_empty() {
            Role::Warn
        } else {
            Role::Text
        };
        let mut style = t.style(role);
        if i == selected {
            style = t.style(Role::Selection);
        }
        let images = match s.images.len() {
            0 => String::new(),
            1 | 2 => s.images.join(", "),
            n => format!("{}, {} and {} more", s.images[0], s.images[1], n - 2),
        };
        let updates = if s.updates.is_empty() {
            String::new()
        } else {
            format!("  · {}", s.updates.join(", "))
        };
        lines.push(Line::styled(
            format!(
                "{:<20} {:>3} services  {:>4}/{:<4} running  {}{}",
                sanitize(&s.name),
                s.services,
                s.running,
                s.desired,
                sanitize(&images),
                sanitize(&updates)
            ),
            style,
        ));
    }
    let title = format!(
        " Stacks · {} · enter: its services · esc closes ",
        rows.len()
    );
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Role::BorderFocus))
        .title(Span::styled(title, t.style(Role::Title)));
    f.render_widget(Paragraph::new(lines).block(block), r);
}
