//! One filter for `clusterdeck audit show|tail` and the audit pane: `user:alice verb:scale
//! context:prod since:2h until:2026-11-21T10:00:00Z web` (bare words match any field).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::record::AuditRecord;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub user: Option<String>,
    pub context: Option<String>,
    pub verb: Option<String>,
    pub words: Vec<String>,
}

/// RFC 3339, a date (`2026-11-21`, midnight UTC), or an age (`90s`, `30m`, `2h`, `7d`) before `now`.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    let not_a_time =
        || format!("`{s}` is not a time: use RFC 3339, YYYY-MM-DD or an age like 30m, 2h, 7d");
    // The unit is the last character, whatever its width (`1é` must not split a character).
    let unit = s.chars().last().ok_or_else(not_a_time)?;
    let num = &s[..s.len() - unit.len_utf8()];
    let n: i64 = num.parse().map_err(|_| not_a_time())?;
    let secs = match unit {
        's' => Some(n),
        'm' => n.checked_mul(60),
        'h' => n.checked_mul(3600),
        'd' => n.checked_mul(86_400),
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (s, m, h, d)")),
    };
    secs.and_then(Duration::try_seconds)
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| format!("`{s}` reaches further back than a date can"))
}

impl AuditFilter {
    /// Parses `key:value` terms and bare words.
    pub fn from_query(q: &str, now: DateTime<Utc>) -> Result<AuditFilter, String> {
        let mut f = AuditFilter::default();
        for term in q.split_whitespace() {
            match term.split_once(':') {
                Some(("user", v)) => f.user = Some(v.to_string()),
                Some(("context", v)) => f.context = Some(v.to_string()),
                Some(("verb", v)) => f.verb = Some(v.to_string()),
                Some(("since", v)) => f.since = Some(parse_time(v, now)?),
                Some(("until", v)) => f.until = Some(parse_time(v, now)?),
                _ => f.words.push(term.to_ascii_lowercase()),
            }
        }
        Ok(f)
    }

    pub fn matches(&self, r: &AuditRecord) -> bool {
        let time = DateTime::parse_from_rfc3339(&r.time)
            .map(|t| t.with_timezone(&Utc))
            .ok();
        let in_time = match (time, self.since, self.until) {
            (Some(t), s, u) => s.is_none_or(|s| t >= s) && u.is_none_or(|u| t <= u),
            (None, None, None) => true,
            (None, _, _) => false,
        };
        in_time
            && self.user.as_ref().is_none_or(|u| &r.user == u)
            && self.context.as_ref().is_none_or(|c| &r.context == c)
            && self.verb.as_ref().is_none_or(|v| &r.verb == v)
            && self.words.iter().all(|w| {
                [
                    &r.verb, &r.target, &r.user, &r.context, &r.phase, &r.cli, &r.op_id,
                ]
                .iter()
                .any(|f| f.to_ascii_lowercase().contains(w.as_str()))
                    || r.message
                        .as_ref()
                        .is_some_and(|m| m.to_ascii_lowercase().contains(w.as_str()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terms_and_times() {
        let now = Utc::now();
        let f = AuditFilter::from_query("user:alice verb:scale since:2h Web", now).expect("valid");
        assert_eq!(f.user.as_deref(), Some("alice"));
        assert_eq!(f.since, Some(now - Duration::hours(2)));
        assert_eq!(f.words, vec!["web".to_string()]);
        assert!(AuditFilter::from_query("since:yesterday", now).is_err());
        assert!(parse_time("2026-11-21", now).is_ok());
        assert!(parse_time("2026-11-21T10:00:00Z", now).is_ok());
    }

    #[test]
    fn odd_input_is_an_error_not_a_crash() {
        let now = Utc::now();
        for bad in [
            "1é",
            "é",
            "99999999999999d",
            "-99999999999999d",
            "9223372036854775807s",
            "",
            "5",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
        assert!(AuditFilter::from_query("since:1é", now).is_err());
        assert!(parse_time("99999999d", now).is_err());
    }

    proptest::proptest! {
        /// Any text at all: a filter or a clear message, never a panic.
        #[test]
        fn any_query_parses_or_says_why(q in "\\PC*", since in "\\PC{0,12}") {
            let now = Utc::now();
            let _ = AuditFilter::from_query(&q, now);
            let _ = AuditFilter::from_query(&format!("since:{since}"), now);
            let _ = parse_time(&since, now);
        }
    }
}
