//! `clusterdeck timeline`: the postmortem, ordered, with who did what and what the cluster did
//! in reply. Several consoles and a wall on one host record the same cluster events and see the
//! same incidents: the export says each once.

use std::collections::HashSet;

use crate::model::Time;
use crate::model::sanitize::sanitize;

use super::{Entry, What};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "markdown" | "md" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format {other:?}: markdown or json")),
        }
    }
}

/// What makes two entries the same: context, what, incident, object, text, time bucket.
type SameKey = (String, &'static str, Option<String>, String, String, i64);

/// Entries since `since` (of one context when given), in time order, each said once.
pub fn select(entries: Vec<Entry>, since: Time, context: Option<&str>) -> Vec<Entry> {
    let mut out: Vec<Entry> = entries
        .into_iter()
        .filter(|e| e.at >= since && context.is_none_or(|c| e.context == c))
        .collect();
    out.sort_by_key(|e| e.at);
    let mut seen: HashSet<SameKey> = HashSet::new();
    out.retain(|e| {
        // Incident transitions seen by several processes within a minute are one; events and
        // actions are the same when everything matches to the second.
        let bucket = match e.what {
            What::Opened | What::Escalated | What::Resolved => e.at.timestamp() / 60,
            _ => e.at.timestamp(),
        };
        let text = match e.what {
            What::Opened | What::Escalated | What::Resolved => String::new(),
            _ => e.text.clone(),
        };
        seen.insert((
            e.context.clone(),
            e.what.label(),
            e.incident.clone(),
            e.object.clone(),
            text,
            bucket,
        ))
    });
    out
}

pub fn render(entries: &[Entry], format: Format, title: &str) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(entries).unwrap_or_else(|_| "[]".into());
            s.push('\n');
            s
        }
        Format::Markdown => markdown(entries, title),
    }
}

fn markdown(entries: &[Entry], title: &str) -> String {
    let mut s = format!("# Timeline: {}\n\n", cell(title));
    if entries.is_empty() {
        s.push_str("Nothing recorded in this window.\n");
        return s;
    }
    s.push_str("| time (UTC) | context | what | who | object | detail |\n");
    s.push_str("|---|---|---|---|---|---|\n");
    for e in entries {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            cell(&e.context),
            e.what.label(),
            cell(e.who.as_deref().unwrap_or("")),
            cell(&e.object),
            cell(&e.text),
        ));
    }
    s
}

/// Safe inside a Markdown table cell and a terminal: no control characters, no pipes.
fn cell(s: &str) -> String {
    sanitize(s).replace('|', "\\|")
}

/// `2h`, `30m`, `90s`, `1d`: how far back.
pub fn parse_since(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = n
        .parse()
        .map_err(|_| format!("--since {s:?}: a number and a unit (90s, 30m, 2h, 1d)"))?;
    let secs = match unit {
        "s" => n,
        "m" | "" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("--since {s:?}: the unit is s, m, h or d")),
    };
    Ok(chrono::Duration::seconds(secs))
}
