//! The incident strip: one line under the header on every pane, the worst open incident first
//! with how long it has lasted and who acknowledged it, the others counted, and the keys that
//! go there. At 80 columns the worst incident keeps its name and object; the rest is cut.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::App;
use crate::input::{Action, Mode};
use crate::model::Time;

use super::sanitize::sanitize;
use super::theme::Role;
use super::widgets::{ago, lasted};

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time) {
    let t = &app.theme;
    let width = area.width as usize;
    let current = &app.incidents.current;
    let key = |a: Action| app.keymap.hint(Mode::Normal, a).unwrap_or_default();
    let Some(worst) = current.first() else {
        let mut text = " ● no open incidents".to_string();
        if !app.incidents.resolved.is_empty() {
            text.push_str(&format!(
                " · {} resolved recently ({} list)",
                app.incidents.resolved.len(),
                key(Action::GoPane(crate::input::Pane::Incidents))
            ));
        }
        f.render_widget(
            Paragraph::new(Line::styled(fit(&text, width), t.style(Role::Muted))),
            area,
        );
        return;
    };
    let (glyph, role) = if worst.kind.is_critical() {
        ("✗", Role::Alert)
    } else {
        ("▲", Role::Banner)
    };
    let since = worst.since().map_or_else(|| "?".into(), |s| lasted(now, s));
    let mut head = format!(" {glyph} {} · {since}", sanitize(&worst.summary()));
    if app.store.clusters.len() > 1 {
        head = format!(
            " {glyph} {}: {}",
            sanitize(&worst.cluster),
            &head[glyph.len() + 2..]
        );
    }
    if let Some(a) = worst.ack() {
        head.push_str(&format!(
            " · acked by {} {}",
            sanitize(&a.who),
            ago(now, a.at)
        ));
    }
    let others = current.len() - 1;
    let mut tail = String::new();
    if others > 0 {
        tail.push_str(&format!(" · +{others} more"));
    }
    tail.push_str(&format!(
        "  {} jump {} list {} ack",
        key(Action::NextProblem),
        key(Action::GoPane(crate::input::Pane::Incidents)),
        key(Action::Ack)
    ));
    // The tail (what else, and the keys) is kept whole; the head is cut to make room.
    let room = width.saturating_sub(tail.chars().count());
    let line = Line::from(vec![
        Span::styled(fit(&head, room.max(width / 2)), t.style(role)),
        Span::styled(tail, t.style(Role::Muted)),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

/// `text` cut to `width` characters, with an ellipsis when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}
