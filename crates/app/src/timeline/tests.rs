//! The timeline file: buffered appends, reading back (also another writer's), compaction.

use super::export::{self, Format};
use super::*;
use chrono::TimeZone;

fn t(s: i64) -> Time {
    chrono::Utc
        .timestamp_opt(1_700_000_000 + s, 0)
        .single()
        .expect("valid time")
}

fn entry(at: Time, what: What, text: &str) -> Entry {
    Entry {
        at,
        context: "prod".into(),
        what,
        who: None,
        incident: Some("prod/node-down".into()),
        object: "mgr1".into(),
        text: text.into(),
    }
}

#[test]
fn entries_are_written_once_per_flush_and_read_by_another_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tl/timeline.jsonl");
    let mut a = Timeline::open(&path, 3600, 1 << 20, None).expect("open");
    let mut b = Timeline::open(&path, 3600, 1 << 20, None).expect("open");
    a.record(entry(t(1), What::Opened, "NODE DOWN mgr1"));
    a.record(entry(t(2), What::Ack, "rolling back"));
    assert!(b.poll().is_empty(), "nothing written before the flush");
    a.flush().expect("flush");
    assert_eq!(a.pending(), 0);
    let got = b.poll();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].what, What::Ack);
    assert!(b.poll().is_empty(), "read once");
    // Idle: no write at all.
    let len = std::fs::metadata(&path).expect("meta").len();
    a.flush().expect("flush");
    assert_eq!(std::fs::metadata(&path).expect("meta").len(), len);
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o660, "group-writable");
}

#[test]
fn compaction_keeps_the_recent_and_the_newest_under_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("timeline.jsonl");
    let mut tl = Timeline::open(&path, 3600, 8192, None).expect("open");
    let mut reader = Timeline::open(&path, 3600, 8192, None).expect("open");
    let now = chrono::Utc::now();
    tl.record(entry(
        now - chrono::Duration::hours(5),
        What::Event,
        "too old",
    ));
    for i in 0..200 {
        tl.record(entry(now, What::Event, &format!("event {i}")));
    }
    assert_eq!(reader.poll().len(), 0);
    tl.flush().expect("flush");
    let size = std::fs::metadata(&path).expect("meta").len();
    assert!(size <= 4096, "compacted to half the cap: {size}");
    let left = read_entries(&path).expect("read");
    assert!(left.iter().all(|e| e.text != "too old"));
    assert_eq!(left.last().map(|e| e.text.as_str()), Some("event 199"));
    // A reader after the compaction reads the new file from its start.
    assert_eq!(reader.poll().len(), left.len());
}

#[test]
fn the_export_is_ordered_deduplicated_and_escaped() {
    let mut a = entry(t(10), What::Opened, "NODE DOWN mgr1");
    let b = entry(t(12), What::Opened, "NODE DOWN mgr1 (seen by the wall)");
    let mut ack = entry(t(20), What::Ack, "rolling | back\u{1b}[2J");
    ack.who = Some("alice".into());
    let resolved = entry(t(80), What::Resolved, "resolved after 1m10s");
    a.context = "prod".into();
    let mut other = entry(t(15), What::Event, "elsewhere");
    other.context = "staging".into();
    let got = export::select(
        vec![resolved.clone(), ack.clone(), b, a.clone(), other],
        t(0),
        Some("prod"),
    );
    assert_eq!(got, vec![a, ack, resolved]);
    let md = export::render(&got, Format::Markdown, "prod");
    assert!(md.contains("| alice | mgr1 | rolling \\| back"), "{md}");
    assert!(!md.contains('\u{1b}'));
    let lines: Vec<&str> = md.lines().filter(|l| l.starts_with("| 20")).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].contains("opened") && lines[2].contains("resolved"));
    assert_eq!(export::parse_since("2h"), Ok(chrono::Duration::hours(2)));
    assert!(export::parse_since("2x").is_err());
}
