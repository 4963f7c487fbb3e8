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

/// An image reference that fits `width` without losing its tag: the digest goes first (kept
/// short, as `@` and 12 hex digits, only where the tag says little: none, or `latest`), then
/// the registry and the path from the left (`…/gateway:1.2.3`), then the start of the name.
pub fn short_image(image: &str, width: usize) -> String {
    if image.chars().count() <= width {
        return image.to_string();
    }
    let (named, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let base = named.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match named[base..].rfind(':') {
        Some(i) => (&named[..base + i], Some(&named[base + i + 1..])),
        None => (named, None),
    };
    let short: Option<String> =
        digest.map(|d| d.trim_start_matches("sha256:").chars().take(12).collect());
    let suffix = match (tag, short) {
        (Some(t), Some(d)) if t == "latest" => format!(":{t}@{d}"),
        (Some(t), _) => format!(":{t}"),
        (None, Some(d)) => format!("@{d}"),
        (None, None) => String::new(),
    };
    let parts: Vec<&str> = repo.split('/').collect();
    for skip in 0..parts.len() {
        let name = parts[skip..].join("/");
        let candidate = if skip == 0 {
            format!("{name}{suffix}")
        } else {
            format!("…/{name}{suffix}")
        };
        if candidate.chars().count() <= width {
            return candidate;
        }
    }
    // The name's end and the whole suffix; a suffix wider than the column keeps its end.
    let last = parts.last().copied().unwrap_or_default();
    let n = suffix.chars().count();
    if n + 2 > width {
        let tail: String = suffix
            .chars()
            .skip(n.saturating_sub(width.saturating_sub(1)))
            .collect();
        return format!("…{tail}");
    }
    let room = width - n - 1;
    let keep: String = last
        .chars()
        .skip(last.chars().count().saturating_sub(room))
        .collect();
    format!("…{keep}{suffix}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn images_keep_their_tag_when_cut() {
        use super::short_image;
        let img = "127.0.0.1:5000/platform/gateway:1.2.3";
        assert_eq!(short_image(img, 60), img);
        assert_eq!(short_image(img, 30), "…/platform/gateway:1.2.3");
        assert_eq!(short_image(img, 20), "…/gateway:1.2.3");
        assert_eq!(short_image(img, 12), "…teway:1.2.3");
        // The digest Swarm pins goes first; it stays (short) where the tag says little.
        let pinned = "10.99.1.1:5000/demo/app:1@sha256:bb2b86f0a1c2d3e4f5a6b7c8d9e0f1a2";
        assert_eq!(short_image(pinned, 40), "10.99.1.1:5000/demo/app:1");
        let latest = "registry.example/team/web:latest@sha256:0123456789abcdef0123";
        assert_eq!(short_image(latest, 30), "…/team/web:latest@0123456789ab");
        assert_eq!(
            short_image("repo/app@sha256:fedcba9876543210ff", 20),
            "…/app@fedcba987654"
        );
        // Narrower than the tag itself: its end, never a garbled middle.
        assert_eq!(short_image(img, 4), "…2.3");
    }

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
