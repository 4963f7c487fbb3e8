//! Turns TOML error positions into what a person can act on: line, column and the dotted key.
//!
//! toml's deserialisation errors carry a byte span but keep the key path private, so the key is
//! recovered by re-parsing the text into a spanned tree and finding the entry under the span.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// A position in a TOML text, 1-based, plus the key it concerns when one could be found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Location {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
}

/// 1-based line and column (in chars) of a byte offset; offsets past the end clamp to the end.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Where a toml error points, with the key under it.
pub(crate) fn locate_error(text: &str, err: &toml::de::Error) -> Location {
    match err.span() {
        Some(span) => {
            let (line, column) = line_col(text, span.start);
            Location {
                line: Some(line),
                column: Some(column),
                key: key_at(text, span.start).or_else(|| key_on_line(text, line)),
            }
        }
        None => Location::default(),
    }
}

/// Line, column and key of the value at `path` (as produced by this module), if the text has it.
pub(crate) fn locate_path(text: &str, path: &str, prefer_key: bool) -> Location {
    let (root, _) = DeTable::parse_recoverable(text);
    let mut entries = Vec::new();
    collect_table(root.get_ref(), "", &mut entries);
    let Some(entry) = entries.iter().find(|e| e.path == path) else {
        return Location {
            key: Some(path.to_owned()),
            ..Location::default()
        };
    };
    let span = match (&entry.key_span, prefer_key) {
        (Some(k), true) => k.clone(),
        _ => entry.value_span.clone(),
    };
    let (line, column) = line_col(text, span.start);
    Location {
        line: Some(line),
        column: Some(column),
        key: Some(path.to_owned()),
    }
}

/// The error message without the trailing newline toml leaves on some of them.
pub(crate) fn clean_message(err: &toml::de::Error) -> String {
    err.message().trim().to_owned()
}

struct Entry {
    path: String,
    key_span: Option<Range<usize>>,
    value_span: Range<usize>,
}

/// Renders one path segment, quoting keys that are not bare TOML keys ("tag:Role").
fn join(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let seg = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        seg
    } else {
        format!("{prefix}.{seg}")
    }
}

fn collect_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<Entry>) {
    for (k, v) in table.iter() {
        let path = join(prefix, k.get_ref());
        out.push(Entry {
            path: path.clone(),
            key_span: Some(k.span()),
            value_span: v.span(),
        });
        collect_value(v.get_ref(), &path, out);
    }
}

fn collect_value(value: &DeValue<'_>, path: &str, out: &mut Vec<Entry>) {
    match value {
        DeValue::Table(t) => collect_table(t, path, out),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                out.push(Entry {
                    path: p.clone(),
                    key_span: None,
                    value_span: item.span(),
                });
                collect_value(item.get_ref(), &p, out);
            }
        }
        _ => {}
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

/// The dotted key whose name or value covers `offset`: a key name wins (unknown-field errors
/// point at the name), otherwise the narrowest value (type errors point at the value).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let (root, _) = DeTable::parse_recoverable(text);
    let mut entries = Vec::new();
    collect_table(root.get_ref(), "", &mut entries);
    let by_key = entries
        .iter()
        .filter(|e| e.key_span.as_ref().is_some_and(|s| contains(s, offset)))
        .min_by_key(|e| e.key_span.as_ref().map_or(usize::MAX, Range::len));
    if let Some(e) = by_key {
        return Some(e.path.clone());
    }
    entries
        .iter()
        .filter(|e| contains(&e.value_span, offset))
        .min_by(|a, b| {
            a.value_span
                .len()
                .cmp(&b.value_span.len())
                .then(b.path.len().cmp(&a.path.len()))
        })
        .map(|e| e.path.clone())
}

/// Fallback for syntax errors the recovering parser could not attach to a key: the key written
/// at the start of the line, under the nearest preceding `[table]` header.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let current = lines.get(line.checked_sub(1)?)?.trim();
    let (key, _) = current.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let header = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        let inner = l.strip_prefix("[[").and_then(|s| s.strip_suffix("]]"));
        let inner = inner.or_else(|| l.strip_prefix('[').and_then(|s| s.strip_suffix(']')));
        inner.map(str::trim)
    });
    Some(match header {
        Some(h) if !h.is_empty() => format!("{h}.{key}"),
        _ => key.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // "bé" is 3 bytes; the space after it is the 3rd char.
        assert_eq!(line_col(text, 9), (2, 3));
        assert_eq!(line_col(text, 1000), (3, 1));
    }

    #[test]
    fn key_at_finds_nested_and_array_paths() {
        let text = "[refresh]\nfps = 5\n[[contexts]]\nname = \"a\"\n[[contexts]]\nname = \"b\"\ndocker = { hosts = [\"x\"] }\n";
        let fps = text.find("5").unwrap_or_default();
        assert_eq!(key_at(text, fps).as_deref(), Some("refresh.fps"));
        let x = text.find("\"x\"").unwrap_or_default();
        assert_eq!(
            key_at(text, x).as_deref(),
            Some("contexts[1].docker.hosts[0]")
        );
    }

    #[test]
    fn quotes_non_bare_keys() {
        assert_eq!(join("a", "tag:Role"), "a.\"tag:Role\"");
        assert_eq!(join("", "fps"), "fps");
    }

    #[test]
    fn key_on_line_uses_header() {
        let text = "[refresh]\nfps = \n";
        assert_eq!(key_on_line(text, 2).as_deref(), Some("refresh.fps"));
        assert_eq!(key_on_line(text, 1), None);
    }
}
