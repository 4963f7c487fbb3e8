//! A parameter's whole-value rule: a small stand-in for a regular expression (the workspace
//! takes no regex engine for this). A pattern is one character class that every character of
//! the value must belong to, optionally followed by a length:
//!
//! | pattern            | means                                             |
//! |--------------------|---------------------------------------------------|
//! | `[A-Za-z0-9._-]`   | only these characters, any length                 |
//! | `[A-Za-z0-9._-]*`  | the same                                          |
//! | `[a-z]+`           | at least one                                      |
//! | `[0-9]{4}`         | exactly 4                                         |
//! | `[a-z0-9-]{1,63}`  | 1 to 63                                           |
//! | `[0-9.]{3,}`       | at least 3                                        |
//!
//! Inside the brackets: single characters, ranges `a-z`, and `\` making the next character
//! itself (`\]`, `\\`, `\-`); a `-` first or last is itself. Unlike a regular expression, a bare
//! class means any length, not one character. Nothing else (no `^`, no alternatives): anything
//! else is an error when the configuration is checked. Lengths count characters, not bytes.

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    ranges: Vec<(char, char)>,
    min: usize,
    max: Option<usize>,
    class: String,
}

impl Pattern {
    /// Parses `source`; the error says what is wrong with it.
    pub fn parse(source: &str) -> Result<Pattern, String> {
        let rest = source
            .strip_prefix('[')
            .ok_or_else(|| format!("pattern {source:?} must start with a character class `[…]`"))?;
        let (ranges, class_len) = parse_class(rest, source)?;
        let class = format!("[{}]", &rest[..class_len]);
        let (min, max) = parse_length(&rest[class_len + 1..], source)?;
        Ok(Pattern {
            ranges,
            min,
            max,
            class,
        })
    }

    /// Whether `value` follows the rule; the error is a sentence naming the parameter `name`.
    pub fn check(&self, name: &str, value: &str) -> Result<(), String> {
        if let Some(c) = value.chars().find(|c| !self.allows(*c)) {
            return Err(format!(
                "{name} may contain only {}: {c:?} is not allowed",
                self.class
            ));
        }
        let n = value.chars().count();
        if n < self.min {
            return Err(format!(
                "{name} must be at least {} characters long (it is {n})",
                self.min
            ));
        }
        match self.max {
            Some(max) if n > max => Err(format!(
                "{name} must be at most {max} characters long (it is {n})"
            )),
            _ => Ok(()),
        }
    }

    fn allows(&self, c: char) -> bool {
        self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
    }
}

/// The class after `[`: its ranges and the byte length of its text up to the closing `]`.
fn parse_class(rest: &str, source: &str) -> Result<(Vec<(char, char)>, usize), String> {
    let mut chars = rest.char_indices().peekable();
    let mut ranges = Vec::new();
    let unclosed = || format!("pattern {source:?}: the class has no closing `]`");
    loop {
        let (at, c) = chars.next().ok_or_else(unclosed)?;
        let lo = match c {
            ']' => break finish_class(ranges, at, source),
            '\\' => chars.next().ok_or_else(unclosed)?.1,
            c => c,
        };
        // A `-` between two characters makes a range; before `]` it is itself.
        let is_range = chars.peek().is_some_and(|(_, d)| *d == '-')
            && chars.clone().nth(1).is_some_and(|(_, d)| d != ']');
        if !is_range {
            ranges.push((lo, lo));
            continue;
        }
        chars.next();
        let hi = match chars.next().ok_or_else(unclosed)?.1 {
            '\\' => chars.next().ok_or_else(unclosed)?.1,
            d => d,
        };
        if hi < lo {
            return Err(format!(
                "pattern {source:?}: the range {lo}-{hi} is backwards"
            ));
        }
        ranges.push((lo, hi));
    }
}

fn finish_class(
    ranges: Vec<(char, char)>,
    at: usize,
    source: &str,
) -> Result<(Vec<(char, char)>, usize), String> {
    if ranges.is_empty() {
        return Err(format!("pattern {source:?}: the class is empty"));
    }
    Ok((ranges, at))
}

/// What follows the class: nothing, `*`, `+`, `{n}`, `{m,n}` or `{m,}`.
fn parse_length(tail: &str, source: &str) -> Result<(usize, Option<usize>), String> {
    let bad = || {
        format!(
            "pattern {source:?}: after the class only `*`, `+`, `{{n}}`, `{{m,n}}` or `{{m,}}` may follow"
        )
    };
    match tail {
        "" | "*" => return Ok((0, None)),
        "+" => return Ok((1, None)),
        _ => {}
    }
    let inner = tail
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(bad)?;
    let number = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
    let (min, max) = match inner.split_once(',') {
        None => {
            let n = number(inner)?;
            (n, Some(n))
        }
        Some((m, n)) if n.trim().is_empty() => (number(m)?, None),
        Some((m, n)) => (number(m)?, Some(number(n)?)),
    };
    if max.is_some_and(|max| max < min) {
        return Err(format!(
            "pattern {source:?}: the length {{{inner}}} is backwards"
        ));
    }
    Ok((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str, v: &str) -> bool {
        Pattern::parse(p).expect(p).check("v", v).is_ok()
    }

    #[test]
    fn classes_and_ranges() {
        assert!(ok("[A-Za-z0-9._-]", "v1.2_rc-3"));
        assert!(!ok("[A-Za-z0-9._-]", "v1/2"));
        assert!(ok("[-a]", "-a-"));
        assert!(ok("[a-]", "a-"));
        assert!(!ok("[a-c]", "d"));
        assert!(ok("[\\]\\\\]", "]\\"));
        assert!(ok("[a\\-z]", "-az"));
        assert!(!ok("[a\\-z]", "b"));
        assert!(ok("[ä-ü]", "öü"));
    }

    #[test]
    fn lengths() {
        assert!(ok("[a-z]", ""));
        assert!(ok("[a-z]*", ""));
        assert!(!ok("[a-z]+", ""));
        assert!(ok("[0-9]{4}", "2024"));
        assert!(!ok("[0-9]{4}", "202"));
        assert!(!ok("[0-9]{4}", "20245"));
        assert!(ok("[a-z]{1,3}", "abc"));
        assert!(!ok("[a-z]{1,3}", "abcd"));
        assert!(ok("[a-z]{2,}", "abcdef"));
        assert!(!ok("[a-z]{2,}", "a"));
        assert!(ok("[ä]{2}", "ää"), "characters, not bytes");
    }

    #[test]
    fn malformed_patterns_are_refused_in_words() {
        for (p, says) in [
            ("a-z", "must start with a character class"),
            ("[a-z", "no closing"),
            ("[]", "empty"),
            ("[z-a]", "backwards"),
            ("[a-z]?", "may follow"),
            ("[a-z]{x}", "may follow"),
            ("[a-z]{3,1}", "backwards"),
            ("[a-z]{1,3}x", "may follow"),
            ("[a\\", "no closing"),
        ] {
            let err = Pattern::parse(p).expect_err(p);
            assert!(err.contains(says), "{p}: {err}");
        }
    }

    #[test]
    fn the_error_names_the_character_and_the_class() {
        let err = Pattern::parse("[a-z]")
            .expect("parses")
            .check("version", "ab/c")
            .expect_err("slash");
        assert_eq!(err, "version may contain only [a-z]: '/' is not allowed");
    }
}
