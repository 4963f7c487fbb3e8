//! Variable interpolation as the Compose specification defines it ("Interpolation"):
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
//! `${VAR:+replacement}`, `${VAR+replacement}`, `$$` for a literal `$`, and nesting in the
//! default, error and replacement parts. One departure, on purpose: a variable that is unset
//! and has no default is refused (Compose substitutes an empty string and warns, which is
//! how an unset `VERSION` ships `app:` — that is, `latest`). And a `$` that starts no variable
//! (`$1`, a trailing `$`) is refused as `docker stack deploy` refuses it, where the current
//! specification text says it is kept as written.

use std::collections::BTreeMap;

/// Where each variable's value comes from.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

impl Lookup for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// What interpolation could not do, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `${VAR}` or `$VAR` with VAR unset and no default.
    Unset(String),
    /// `${VAR:?message}` / `${VAR?message}` with VAR unset (or empty, for `:?`).
    Required { name: String, message: String },
    /// Not a valid template (`${`, `${}`, `$1`, a lone `$`).
    Syntax(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Unset(name) => write!(
                f,
                "variable {name} is not set and has no default (set it, or write ${{{name}:-default}})"
            ),
            Problem::Required { name, message } if message.is_empty() => {
                write!(f, "required variable {name} is missing a value")
            }
            Problem::Required { name, message } => write!(f, "{name}: {message}"),
            Problem::Syntax(why) => write!(f, "invalid interpolation: {why}"),
        }
    }
}

/// The variables a value used: name → its value, `None` when unset (a default applied).
pub type Used = BTreeMap<String, Option<String>>;

/// Interpolates one scalar.
pub fn interpolate(text: &str, vars: &dyn Lookup, used: &mut Used) -> Result<String, Problem> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let close = matching_brace(&chars, i + 1).ok_or_else(|| {
                    Problem::Syntax(format!("{text:?} has a `${{` without its `}}`"))
                })?;
                let inner: String = chars[i + 2..close].iter().collect();
                out.push_str(&braced(&inner, text, vars, used)?);
                i = close + 1;
            }
            Some(c) if is_name_start(*c) => {
                let end = (i + 1..chars.len())
                    .find(|&j| !is_name_char(chars[j]))
                    .unwrap_or(chars.len());
                let name: String = chars[i + 1..end].iter().collect();
                out.push_str(&value_of(&name, vars, used)?);
                i = end;
            }
            _ => {
                return Err(Problem::Syntax(format!(
                    "{text:?}: `$` must start a variable (`$NAME`, `${{NAME}}`) or be written `$$`"
                )));
            }
        }
    }
    Ok(out)
}

/// The index of the `}` closing the `{` at `open`. Only a nested `${` opens another level (a
/// bare `{` in a default is text, as Docker's and Compose's readers take it) and `$$` is
/// skipped whole, so the `{` of an escaped `$${` opens nothing.
fn matching_brace(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut j = open + 1;
    while j < chars.len() {
        match (chars[j], chars.get(j + 1)) {
            ('$', Some('$')) => j += 1,
            ('$', Some('{')) => {
                depth += 1;
                j += 1;
            }
            ('}', _) => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn value_of(name: &str, vars: &dyn Lookup, used: &mut Used) -> Result<String, Problem> {
    let v = vars.get(name);
    used.insert(name.to_string(), v.clone());
    v.ok_or_else(|| Problem::Unset(name.to_string()))
}

/// The inside of `${…}`: a name and an optional operator with its (nested) argument.
fn braced(inner: &str, whole: &str, vars: &dyn Lookup, used: &mut Used) -> Result<String, Problem> {
    let name_len = inner
        .char_indices()
        .find(|(_, c)| !is_name_char(*c))
        .map_or(inner.len(), |(j, _)| j);
    let name = &inner[..name_len];
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(Problem::Syntax(format!(
            "{whole:?}: `${{{inner}}}` does not start with a variable name"
        )));
    }
    let rest = &inner[name_len..];
    if rest.is_empty() {
        return value_of(name, vars, used);
    }
    let (colon, op_rest) = match rest.strip_prefix(':') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let mut op = op_rest.chars();
    let (Some(op), arg) = (op.next(), op.as_str()) else {
        return Err(Problem::Syntax(format!(
            "{whole:?}: `${{{inner}}}` ends after `:`"
        )));
    };
    let value = vars.get(name);
    used.insert(name.to_string(), value.clone());
    // `:` makes an empty value count as unset.
    let present = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    match op {
        '-' if present => Ok(value.unwrap_or_default()),
        '-' => interpolate(arg, vars, used),
        '+' if present => interpolate(arg, vars, used),
        '+' => Ok(String::new()),
        '?' if present => Ok(value.unwrap_or_default()),
        '?' => Err(Problem::Required {
            name: name.to_string(),
            message: interpolate(arg, vars, used)?,
        }),
        other => Err(Problem::Syntax(format!(
            "{whole:?}: `{other}` after {name} is not one of `-`, `?`, `+` (with or without `:`)"
        ))),
    }
}
