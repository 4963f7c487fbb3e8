//! Property tests: interpolation's identities, the image pin rule, duration arithmetic, and a
//! loader that answers (never panics) whatever text it is given.

use std::collections::BTreeMap;

use clusterdeck_compose::image;
use clusterdeck_compose::interpolate::interpolate;
use clusterdeck_compose::lenient::parse_duration;
use clusterdeck_compose::{Problem, Used, load};
use proptest::prelude::*;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn interp(text: &str, vars: &BTreeMap<String, String>) -> (Result<String, Problem>, Used) {
    let mut used = Used::new();
    let out = interpolate(text, vars, &mut used);
    (out, used)
}

/// A variable name: `[_a-zA-Z][_a-zA-Z0-9]*`.
fn name() -> impl Strategy<Value = String> {
    "[_a-zA-Z][_a-zA-Z0-9]{0,12}"
}

const H: i64 = 3_600_000_000_000;
const M: i64 = 60_000_000_000;
const S: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;

proptest! {
    // (a) Text without `$` is not touched, and uses no variable.
    #[test]
    fn text_without_dollar_is_itself(s in "[^$]{0,64}") {
        let (out, used) = interp(&s, &vars(&[("A", "x")]));
        prop_assert_eq!(out, Ok(s));
        prop_assert!(used.is_empty());
    }

    // (b) Doubling every `$` makes any text literal.
    #[test]
    fn doubled_dollars_give_the_text_back(s in "(?s).{0,64}", extra in "[${}A-Z_:?+-]{0,16}") {
        let s = format!("{s}{extra}");
        let (out, used) = interp(&s.replace('$', "$$"), &vars(&[("A", "x"), ("B", "")]));
        prop_assert_eq!(out, Ok(s));
        prop_assert!(used.is_empty());
    }

    // (c) A set, non-empty variable gives its value, however it is written; an unset one with
    // a default gives the default.
    #[test]
    fn a_variable_gives_its_value(name in name(), value in "(?s).{1,32}", tail in "[^_a-zA-Z0-9${}]{0,4}") {
        let set = vars(&[(name.as_str(), value.as_str())]);
        for text in [
            format!("${{{name}}}"),
            format!("${name}"),
            format!("${{{name}:-x}}"),
            format!("${{{name}-x}}"),
            format!("${{{name}:?x}}"),
            format!("${{{name}?x}}"),
        ] {
            let (out, used) = interp(&text, &set);
            prop_assert_eq!(out, Ok(value.clone()), "{}", text);
            prop_assert_eq!(used.get(&name), Some(&Some(value.clone())));
            prop_assert_eq!(used.len(), 1);
        }
        // An unbraced name ends at the first character that is not a name's.
        let (out, _) = interp(&format!("<${name}{tail}>"), &set);
        prop_assert_eq!(out, Ok(format!("<{value}{tail}>")));
    }

    #[test]
    fn an_unset_variable_gives_its_default(name in name(), default in "[^$}]{0,24}") {
        let none = vars(&[]);
        for text in [format!("${{{name}:-{default}}}"), format!("${{{name}-{default}}}")] {
            let (out, used) = interp(&text, &none);
            prop_assert_eq!(out, Ok(default.clone()), "{}", text);
            prop_assert_eq!(used.get(&name), Some(&None));
        }
        let (out, _) = interp(&format!("${{{name}:+{default}}}"), &none);
        prop_assert_eq!(out, Ok(String::new()));
        let (out, _) = interp(&format!("${{{name}:?{default}}}"), &none);
        prop_assert_eq!(out, Err(Problem::Required { name: name.clone(), message: default.clone() }));
        let (out, _) = interp(&format!("${{{name}}}"), &none);
        prop_assert_eq!(out, Err(Problem::Unset(name.clone())));
    }

    // (d) An image is pinned iff it has a digest or a non-empty tag other than `latest`.
    // Registry hosts with ports are generated so a port's `:` is seen not to be a tag's.
    #[test]
    fn pinned_iff_digest_or_a_real_tag(
        host in proptest::option::of(("[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){0,2}", proptest::option::of(1u16..))),
        path in proptest::collection::vec("[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?", 1..4),
        tag in proptest::option::of(prop_oneof![
            Just(String::new()),
            Just("latest".to_string()),
            "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
        ]),
        digest in proptest::option::of(prop_oneof![
            Just(String::new()),
            "sha256:[0-9a-f]{64}",
        ]),
    ) {
        let mut name = String::new();
        if let Some((h, port)) = &host {
            name.push_str(h);
            if let Some(p) = port {
                name.push_str(&format!(":{p}"));
            }
            name.push('/');
        }
        name.push_str(&path.join("/"));
        let mut reference = name.clone();
        if let Some(t) = &tag {
            reference.push_str(&format!(":{t}"));
        }
        if let Some(d) = &digest {
            reference.push_str(&format!("@{d}"));
        }

        let parsed = image::parse(&reference);
        prop_assert_eq!(&parsed.name, &name);
        prop_assert_eq!(&parsed.tag, &tag);
        prop_assert_eq!(&parsed.digest, &digest);

        // An empty digest (`app:1@`, an empty variable after the `@`) is a mistake whatever
        // the tag: Docker refuses the reference.
        let pinned = match digest.as_deref() {
            Some(d) => !d.is_empty(),
            None => tag.as_deref().is_some_and(|t| !t.is_empty() && t != "latest"),
        };
        let why = image::unpinned(&reference);
        prop_assert_eq!(why.is_none(), pinned, "{} -> {:?}", reference, why);
        if let Some(why) = why {
            prop_assert!(why.contains(&reference), "{}", why);
        }
        prop_assert_eq!(image::without_digest(&reference), reference.split('@').next().unwrap_or(""));
    }

    // (e) `{h}h{m}m{s}s{ms}ms` is exactly h·3600s + m·60s + s·1s + ms·1ms.
    #[test]
    fn durations_add_up(h in 0i64..2_000_000, m in 0i64..100_000, s in 0i64..100_000, ms in 0i64..100_000) {
        let text = format!("{h}h{m}m{s}s{ms}ms");
        prop_assert_eq!(parse_duration(&text), Ok(h * H + m * M + s * S + ms * MS), "{}", text);
        // Any part may be left out, and the parts may come in any order.
        prop_assert_eq!(parse_duration(&format!("{ms}ms{h}h")), Ok(h * H + ms * MS));
        prop_assert_eq!(parse_duration(&format!("{s}s")), Ok(s * S));
    }

    #[test]
    fn fractional_durations(whole in 0i64..1_000_000, frac in 0i64..1000) {
        let text = format!("{whole}.{frac:03}s");
        prop_assert_eq!(parse_duration(&text), Ok(whole * S + frac * MS), "{}", text);
        let text = format!("{whole}.{frac:03}h");
        prop_assert_eq!(parse_duration(&text), Ok(whole * H + frac * H / 1000), "{}", text);
    }

    #[test]
    fn durations_past_an_i64_are_refused(h in 2_562_048i64..i64::MAX / 2) {
        let (hours, more) = (format!("{h}h"), format!("2562047h{h}m"));
        prop_assert!(parse_duration(&hours).is_err(), "{}", hours);
        prop_assert!(parse_duration(&more).is_err(), "{}", more);
    }

    // An interpolated count types as the number it spells.
    #[test]
    fn an_interpolated_count_types(n in any::<u32>()) {
        let text = "services:\n  web:\n    image: app:1\n    deploy:\n      replicas: ${N}\n";
        let loaded = load("f.yml", text, &vars(&[("N", &n.to_string())]));
        let replicas = loaded.ok().and_then(|l| l.file.services["web"].deploy.as_ref().and_then(|d| d.replicas));
        prop_assert_eq!(replicas, Some(u64::from(n)));
    }

    // (f) `load` answers any text -- with a file or an error on one line -- and never panics.
    #[test]
    fn load_never_panics_on_yamlish_text(text in "[a-z0-9 :\\-\\n\\[\\]{},\"'$&*<>|#.!?%@~_]{0,200}") {
        check_load(&text)?;
    }

    #[test]
    fn load_never_panics_on_compose_shaped_text(lines in proptest::collection::vec(line(), 0..24)) {
        check_load(&lines.concat())?;
    }
}

/// One line of something shaped like a compose file: an indent, a key Compose knows (or not),
/// and a value that may be anything from a count to a template to an alias.
fn line() -> impl Strategy<Value = String> {
    let indent = prop_oneof![
        Just(""),
        Just("  "),
        Just("    "),
        Just("      "),
        Just("        "),
        Just("   ")
    ];
    let key = prop_oneof![
        Just("services"),
        Just("web"),
        Just("image"),
        Just("deploy"),
        Just("replicas"),
        Just("mode"),
        Just("ports"),
        Just("secrets"),
        Just("labels"),
        Just("environment"),
        Just("update_config"),
        Just("delay"),
        Just("resources"),
        Just("limits"),
        Just("memory"),
        Just("cpus"),
        Just("placement"),
        Just("constraints"),
        Just("preferences"),
        Just("spread"),
        Just("restart_policy"),
        Just("target"),
        Just("published"),
        Just("source"),
        Just("networks"),
        Just("volumes"),
        Just("command"),
        Just("healthcheck"),
        Just("x-a"),
        Just("<<"),
        Just("- target"),
        Just("- source"),
        Just("-"),
        Just("build"),
        Just("on"),
        Just("8080"),
    ];
    let value = prop_oneof![
        Just(String::new()),
        Just(" app:1".to_string()),
        Just(" 3".to_string()),
        Just(" -1".to_string()),
        Just(" 0440".to_string()),
        Just(" 0o440".to_string()),
        Just(" 1m30s".to_string()),
        Just(" 50M".to_string()),
        Just(" \"0.5\"".to_string()),
        Just(" ${N:-3}".to_string()),
        Just(" ${N}".to_string()),
        Just(" ${A:?need A}".to_string()),
        Just(" $$x".to_string()),
        Just(" $".to_string()),
        Just(" \"80:80\"".to_string()),
        Just(" [a, b]".to_string()),
        Just(" {a: 1}".to_string()),
        Just(" &x".to_string()),
        Just(" *x".to_string()),
        Just(" |".to_string()),
        Just(" - a".to_string()),
        Just(" yes".to_string()),
        Just(" ~".to_string()),
        Just(" 1e999".to_string()),
        Just(" 99999999999999999999".to_string()),
        "[ -~]{0,12}".prop_map(|s| format!(" {s}")),
    ];
    (
        indent,
        key,
        prop_oneof![Just(":"), Just(""), Just(": ")],
        value,
    )
        .prop_map(|(i, k, colon, v)| format!("{i}{k}{colon}{v}\n"))
}

fn check_load(text: &str) -> Result<(), TestCaseError> {
    let env = vars(&[("N", "4"), ("A", "")]);
    match load("f.yml", text, &env) {
        Ok(loaded) => {
            prop_assert!(!loaded.file.services.is_empty());
            for svc in loaded.file.services.values() {
                prop_assert!(svc.image.as_deref().is_some_and(|i| !i.is_empty()));
            }
        }
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(shown.starts_with("f.yml"), "{}", shown);
            prop_assert!(
                !shown.contains('\n'),
                "one line: {:?}\n---\n{}",
                shown,
                text
            );
            prop_assert!(!e.reason.is_empty(), "{}", shown);
            if let Some(line) = e.line {
                let lines = text.lines().count() as u64;
                prop_assert!(
                    line >= 1 && line <= lines + 1,
                    "line {} of {}: {}\n---\n{}",
                    line,
                    lines,
                    shown,
                    text
                );
            }
        }
    }
    Ok(())
}
