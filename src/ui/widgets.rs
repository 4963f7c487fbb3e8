//! Small text widgets: bars, sparklines, gauges, ages. Plain strings with symbols, so state is
//! never carried by colour alone and they cost nothing to lay out.

use chrono::Duration;

use crate::model::{QuorumVerdict, Time};

use super::theme::Role;

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The symbol and role of a quorum verdict.
pub fn verdict_mark(v: QuorumVerdict) -> (&'static str, Role) {
    match v {
        QuorumVerdict::Healthy => ("●", Role::Ok),
        QuorumVerdict::AtRisk => ("▲", Role::Warn),
        QuorumVerdict::Lost => ("✗", Role::Danger),
        QuorumVerdict::Unknown => ("?", Role::Muted),
    }
}

/// `█████░░░` for running/desired.
pub fn ratio_bar(done: u32, total: u32, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let filled = if total == 0 {
        width
    } else {
        ((u64::from(done.min(total)) * width as u64) / u64::from(total)) as usize
    };
    let mut s = String::with_capacity(width * 3);
    s.extend(std::iter::repeat_n('█', filled));
    s.extend(std::iter::repeat_n('░', width - filled));
    s
}

/// Fits `s` into `width` columns by cutting its middle: generated names (`web-7d4b9c8f6-x2kqz`)
/// differ at the end, so the end is kept.
pub fn elide_middle(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let tail = width / 2;
    let head = width - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

/// `▰▰▰▱▱` for rollout and drain progress.
pub fn gauge(done: u32, total: u32, width: usize) -> String {
    let filled = if total == 0 {
        0
    } else {
        ((u64::from(done.min(total)) * width as u64) / u64::from(total)) as usize
    };
    let mut s = String::with_capacity(width * 3);
    s.extend(std::iter::repeat_n('▰', filled));
    s.extend(std::iter::repeat_n('▱', width - filled));
    s
}

/// Availability percentages compressed to `width` characters, each showing the worst sample
/// of its bucket so a dip is never averaged away.
pub fn sparkline(samples: &[u8], width: usize) -> String {
    if samples.is_empty() || width == 0 {
        return String::new();
    }
    let per = samples.len().div_ceil(width);
    samples
        .chunks(per)
        .map(|c| {
            let worst = c.iter().copied().min().unwrap_or(100).min(100) as usize;
            BLOCKS[(worst * (BLOCKS.len() - 1)) / 100]
        })
        .collect()
}

/// "12s", "3m", "2h", "4d" (or "now").
pub fn age(now: Time, then: Time) -> String {
    let d = now.signed_duration_since(then);
    if d < Duration::seconds(1) {
        return "now".into();
    }
    let s = d.num_seconds();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// How long something has lasted, with two units: "45s", "3m 12s", "2h 05m", "3d 04h".
pub fn lasted(now: Time, since: Time) -> String {
    let s = now.signed_duration_since(since).num_seconds().max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// "3m ago", or "just now".
pub fn ago(now: Time, then: Time) -> String {
    match age(now, then).as_str() {
        "now" => "just now".into(),
        a => format!("{a} ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_sparklines() {
        assert_eq!(ratio_bar(3, 6, 6), "███░░░");
        assert_eq!(ratio_bar(0, 0, 3), "███");
        assert_eq!(gauge(1, 4, 4), "▰▱▱▱");
        assert_eq!(sparkline(&[100, 100, 0, 100], 2), "█▁");
    }

    #[test]
    fn long_names_keep_their_ends() {
        assert_eq!(elide_middle("web-1", 8), "web-1");
        assert_eq!(elide_middle("shop/web-7d4b9c8f6-x2kqz", 12), "shop/…-x2kqz");
        assert_eq!(
            elide_middle("shop/web-7d4b9c8f6-x2kqz", 12).chars().count(),
            12
        );
        assert_eq!(elide_middle("abc", 1), "…");
        assert_eq!(elide_middle("abc", 0), "");
    }
}
