//! Shared by the hook tests: building hooks, collecting a run's events, checking processes.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterdeck_hooks::{Event, Hook, Outcome, Param, Running, Target};

pub fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn param(name: &str) -> Param {
    Param {
        name: name.into(),
        ..Param::default()
    }
}

pub fn secret(name: &str) -> Param {
    Param {
        secret: true,
        ..param(name)
    }
}

pub fn command(argv: &[&str], params: Vec<Param>) -> Hook {
    Hook {
        name: "test-command".into(),
        target: Target::Command {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: None,
            env: Vec::new(),
        },
        params,
    }
}

/// Every event of a run up to and including `Done`, which must come within `secs`; nothing
/// may follow it.
pub async fn collect(mut running: Running, secs: u64) -> Vec<Event> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let event = tokio::time::timeout_at(deadline, running.events.recv())
            .await
            .unwrap_or_else(|_| panic!("no Done within {secs} s; so far: {events:#?}"))
            .unwrap_or_else(|| panic!("the run ended without Done; so far: {events:#?}"));
        let done = matches!(event, Event::Done(_));
        events.push(event);
        if done {
            break;
        }
    }
    let after = tokio::time::timeout(Duration::from_millis(200), running.events.recv()).await;
    assert!(
        matches!(after, Ok(None)),
        "nothing may follow Done: {after:?}"
    );
    events
}

pub fn lines(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Line(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

pub fn stages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Stage(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

pub fn outcome(events: &[Event]) -> Outcome {
    match events.last() {
        Some(Event::Done(o)) => o.clone(),
        other => panic!("the last event is not Done: {other:?}"),
    }
}

/// Every text the run produced (lines, stages, a failure), for leak checks.
pub fn all_text(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| match e {
            Event::Line(t) | Event::Stage(t) => t.clone(),
            Event::Done(o) => o.describe(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits for the next line of a run (stages skipped), within `secs`.
pub async fn next_line(running: &mut Running, secs: u64) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, running.events.recv()).await {
            Ok(Some(Event::Line(l))) => return l,
            Ok(Some(Event::Stage(_))) => continue,
            other => panic!("expected a line within {secs} s, got {other:?}"),
        }
    }
}

/// Whether `pid` is a live process (a zombie is not: this machine's init may never reap it).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

/// Polls until `f` holds, or panics after `secs` with `what`.
pub async fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
