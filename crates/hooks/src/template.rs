//! `{param}` placeholders in a command hook's argv, cwd and env values. `{{` and `}}` are
//! literal braces (so a Jinja expression in an argument is written `{{{{ x }}}}`); a lone brace
//! or a placeholder naming no parameter is an error, found when the configuration is checked.

use std::collections::BTreeMap;

/// One piece of a template.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Param(&'a str),
}

/// Whether `name` is usable as a parameter name: letters, digits, `_` and `-`.
pub fn is_param_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        let brace = &rest[at..at + 1];
        let after = &rest[at + 1..];
        if after.starts_with(brace) {
            pieces.push(Piece::Text(brace));
            rest = &after[1..];
            continue;
        }
        if brace == "}" {
            return Err(format!(
                "{template:?}: a lone `}}` (write `}}}}` for a literal brace)"
            ));
        }
        let end = after.find('}').ok_or_else(|| {
            format!("{template:?}: a `{{` without its `}}` (write `{{{{` for a literal brace)")
        })?;
        let name = &after[..end];
        if !is_param_name(name) {
            return Err(format!(
                "{template:?}: {{{name}}} is not a parameter name (letters, digits, _ and -; `{{{{` for a literal brace)"
            ));
        }
        pieces.push(Piece::Param(name));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// The parameter names `template` refers to, in order (repeats kept).
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Param(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect())
}

/// `template` with each `{name}` replaced by `values[name]` and `{{`/`}}` by single braces; a
/// placeholder naming no key of `values` is an error.
pub fn expand(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    for piece in parse(template)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Param(name) => out.push_str(values.get(name).ok_or_else(|| {
                format!("{template:?}: {{{name}}} names no parameter of this hook")
            })?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("version".to_string(), "1.2 & {x}".to_string()),
            ("env".to_string(), "prod".to_string()),
        ])
    }

    #[test]
    fn placeholders_and_literal_braces() {
        assert_eq!(
            expand("VERSION={version}", &vals()).as_deref(),
            Ok("VERSION=1.2 & {x}"),
            "a value is inserted as it is, never expanded again"
        );
        assert_eq!(
            expand("{{{env}}}-{{x}}", &vals()).as_deref(),
            Ok("{prod}-{x}")
        );
        assert_eq!(expand("", &vals()).as_deref(), Ok(""));
        assert_eq!(
            placeholders("{env}/{version}/{env}"),
            Ok(vec!["env", "version", "env"])
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (t, says) in [
            ("{nope}", "names no parameter"),
            ("a}b", "lone `}`"),
            ("{version", "without its `}`"),
            ("{ version }", "not a parameter name"),
            ("{}", "not a parameter name"),
        ] {
            let err = expand(t, &vals()).expect_err(t);
            assert!(err.contains(says), "{t}: {err}");
        }
    }
}
