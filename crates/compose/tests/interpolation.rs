//! Interpolation, case by case, from the Compose specification's "Interpolation" section
//! (<https://github.com/compose-spec/compose-spec/blob/main/12-interpolation.md>). Each test
//! quotes the sentence it checks. The `+` forms are not in that file; they are quoted from
//! Docker's copy of the section (<https://docs.docker.com/reference/compose-file/interpolation/>).
//!
//! One departure is deliberate and tested as such: a variable that is unset and has no default
//! is refused, where the specification substitutes an empty string and warns.

use std::collections::BTreeMap;

use clusterdeck_compose::interpolate::interpolate;
use clusterdeck_compose::{Error, Loaded, Problem, Used, load};

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Interpolates `text` with `pairs` set, returning the result and the variables it used.
fn run(text: &str, pairs: &[(&str, &str)]) -> (Result<String, Problem>, Used) {
    let mut used = Used::new();
    let out = interpolate(text, &vars(pairs), &mut used);
    (out, used)
}

fn ok(text: &str, pairs: &[(&str, &str)]) -> String {
    match run(text, pairs).0 {
        Ok(s) => s,
        Err(p) => panic!("{text:?} with {pairs:?}: {p}"),
    }
}

fn problem(text: &str, pairs: &[(&str, &str)]) -> Problem {
    match run(text, pairs).0 {
        Ok(s) => panic!("{text:?} with {pairs:?} gave {s:?}, expected a problem"),
        Err(p) => p,
    }
}

fn is_syntax(p: &Problem) -> bool {
    matches!(p, Problem::Syntax(_))
}

// "Both `$VARIABLE` and `${VARIABLE}` syntax is supported."

#[test]
fn unbraced_variable() {
    assert_eq!(ok("$VAR", &[("VAR", "v1")]), "v1");
    assert_eq!(ok("a/$VAR/b", &[("VAR", "v1")]), "a/v1/b");
    assert_eq!(ok("$A$B", &[("A", "1"), ("B", "2")]), "12");
    // Names are `[_a-zA-Z][_a-zA-Z0-9]*`: digits and `_` continue one.
    assert_eq!(ok("$_x9", &[("_x9", "u")]), "u");
}

#[test]
fn braced_variable() {
    assert_eq!(ok("${VAR}", &[("VAR", "v1")]), "v1");
    // The braces end the name where `$VARsuffix` would not.
    assert_eq!(ok("${VAR}suffix", &[("VAR", "v1")]), "v1suffix");
    assert_eq!(
        problem("$VARsuffix", &[("VAR", "v1")]),
        Problem::Unset("VARsuffix".into())
    );
    assert_eq!(ok("app:${TAG}", &[("TAG", "1.2")]), "app:1.2");
}

#[test]
fn an_unbraced_name_ends_at_the_first_non_name_character() {
    assert_eq!(ok("$VAR.x", &[("VAR", "v")]), "v.x");
    assert_eq!(ok("$VAR-x", &[("VAR", "v")]), "v-x");
    assert_eq!(ok("$VAR:x", &[("VAR", "v")]), "v:x");
    assert_eq!(ok("$VAR/x", &[("VAR", "v")]), "v/x");
    assert_eq!(ok("$VAR x", &[("VAR", "v")]), "v x");
    // `-` after an unbraced name is text, not the `-` operator: VAR is required.
    assert_eq!(problem("$VAR-x", &[]), Problem::Unset("VAR".into()));
}

#[test]
fn a_value_is_not_interpolated_again() {
    // The value is data: a `$` in it is not a variable.
    assert_eq!(ok("${A}", &[("A", "$B${C}$$")]), "$B${C}$$");
    assert_eq!(ok("$A", &[("A", "${")]), "${");
}

// "`${VARIABLE:-default}` evaluates to `default` if `VARIABLE` is unset or empty in the
// environment."

#[test]
fn colon_dash_default_when_unset_or_empty() {
    assert_eq!(ok("${VAR:-default}", &[]), "default");
    assert_eq!(ok("${VAR:-default}", &[("VAR", "")]), "default");
    assert_eq!(ok("${VAR:-default}", &[("VAR", "set")]), "set");
    assert_eq!(ok("${VAR:-}", &[]), "");
    assert_eq!(ok("x${VAR:-a b}y", &[]), "xa by");
}

// "`${VARIABLE-default}` evaluates to `default` only if `VARIABLE` is unset in the
// environment."

#[test]
fn dash_default_only_when_unset() {
    assert_eq!(ok("${VAR-default}", &[]), "default");
    assert_eq!(
        ok("${VAR-default}", &[("VAR", "")]),
        "",
        "empty stays empty"
    );
    assert_eq!(ok("${VAR-default}", &[("VAR", "set")]), "set");
    assert_eq!(ok("${VAR-}", &[]), "");
}

// "`${VARIABLE:?err}` exits with an error message containing `err` if `VARIABLE` is unset or
// empty in the environment."

#[test]
fn colon_question_refuses_unset_or_empty() {
    for pairs in [&[][..], &[("VAR", "")][..]] {
        let p = problem("${VAR:?the tag to deploy}", pairs);
        assert_eq!(
            p,
            Problem::Required {
                name: "VAR".into(),
                message: "the tag to deploy".into()
            },
            "{pairs:?}"
        );
        let shown = p.to_string();
        assert!(shown.contains("the tag to deploy"), "{shown}");
        assert!(shown.contains("VAR"), "{shown}");
    }
    assert_eq!(ok("${VAR:?err}", &[("VAR", "v")]), "v");
}

// "`${VARIABLE?err}` exits with an error message containing `err` only if `VARIABLE` is unset
// in the environment."

#[test]
fn question_refuses_only_unset() {
    let p = problem("${VAR?err}", &[]);
    assert_eq!(
        p,
        Problem::Required {
            name: "VAR".into(),
            message: "err".into()
        }
    );
    assert!(p.to_string().contains("err"), "{p}");
    assert_eq!(ok("${VAR?err}", &[("VAR", "")]), "", "empty is a value");
    assert_eq!(ok("${VAR?err}", &[("VAR", "v")]), "v");
    // Without a message the error still names the variable.
    let bare = problem("${VAR?}", &[]);
    assert!(bare.to_string().contains("VAR"), "{bare}");
}

// Docker's copy: "`${VAR:+replacement}` -> `replacement` if `VAR` is set and non-empty,
// otherwise empty".

#[test]
fn colon_plus_replacement_when_set_and_non_empty() {
    assert_eq!(ok("${VAR:+replacement}", &[("VAR", "v")]), "replacement");
    assert_eq!(ok("${VAR:+replacement}", &[("VAR", "")]), "");
    // Unset is not refused here: the form says what an unset variable gives.
    assert_eq!(ok("${VAR:+replacement}", &[]), "");
}

// Docker's copy: "`${VAR+replacement}` -> `replacement` if `VAR` is set, otherwise empty".

#[test]
fn plus_replacement_when_set() {
    assert_eq!(ok("${VAR+replacement}", &[("VAR", "v")]), "replacement");
    assert_eq!(ok("${VAR+replacement}", &[("VAR", "")]), "replacement");
    assert_eq!(ok("${VAR+replacement}", &[]), "");
}

// "You can use a `$$` (double-dollar sign) when your configuration needs a literal dollar
// sign. This also prevents Compose from interpolating a value".

#[test]
fn double_dollar_is_a_literal_dollar() {
    let set = [("VAR_NOT_INTERPOLATED_BY_COMPOSE", "oops")];
    assert_eq!(
        ok("$$VAR_NOT_INTERPOLATED_BY_COMPOSE", &set),
        "$VAR_NOT_INTERPOLATED_BY_COMPOSE"
    );
    assert_eq!(ok("$${VAR}", &[("VAR", "oops")]), "${VAR}");
    assert_eq!(ok("$$", &[]), "$");
    assert_eq!(ok("$$$$", &[]), "$$");
    assert_eq!(ok("a$$b", &[]), "a$b");
    // `$$$VAR`: a literal `$`, then VAR.
    assert_eq!(ok("$$$VAR", &[("VAR", "v")]), "$v");
    // Inside a default, too.
    assert_eq!(ok("${A:-$$}", &[]), "$");
    assert_eq!(ok("${A:-$${B}}", &[]), "${B}");
    let (_, used) = run("$$VAR", &[("VAR", "v")]);
    assert!(used.is_empty(), "an escaped name is no variable: {used:?}");
}

// "Interpolation can also be nested: `${VARIABLE:-${FOO}}`, `${VARIABLE?$FOO}`,
// `${VARIABLE:-${FOO:-default}}`"

#[test]
fn nested_default_variable() {
    assert_eq!(ok("${VARIABLE:-${FOO}}", &[("FOO", "foo")]), "foo");
    assert_eq!(
        ok("${VARIABLE:-${FOO}}", &[("VARIABLE", "v"), ("FOO", "foo")]),
        "v"
    );
    assert_eq!(
        ok("${VARIABLE:-${FOO}}", &[("VARIABLE", ""), ("FOO", "foo")]),
        "foo"
    );
    // The nested variable is itself a variable: unset with no default is refused.
    assert_eq!(
        problem("${VARIABLE:-${FOO}}", &[]),
        Problem::Unset("FOO".into())
    );
}

#[test]
fn nested_error_message() {
    let p = problem(
        "${VARIABLE?$FOO}",
        &[("FOO", "set VARIABLE to the release")],
    );
    assert_eq!(
        p,
        Problem::Required {
            name: "VARIABLE".into(),
            message: "set VARIABLE to the release".into()
        }
    );
    assert_eq!(ok("${VARIABLE?$FOO}", &[("VARIABLE", "v")]), "v");
}

#[test]
fn nested_default_with_its_own_default() {
    assert_eq!(ok("${VARIABLE:-${FOO:-default}}", &[]), "default");
    assert_eq!(ok("${VARIABLE:-${FOO:-default}}", &[("FOO", "foo")]), "foo");
    assert_eq!(
        ok(
            "${VARIABLE:-${FOO:-default}}",
            &[("VARIABLE", "v"), ("FOO", "foo")]
        ),
        "v"
    );
    assert_eq!(ok("${A:-${B:-${C:-deep}}}", &[]), "deep");
    assert_eq!(ok("${A:-x${B:-y}z}", &[]), "xyz");
    assert_eq!(ok("${A:+<${B}>}", &[("A", "1"), ("B", "b")]), "<b>");
}

#[test]
fn a_default_that_is_not_taken_is_not_evaluated() {
    // B is unset with no default, which is refused -- but only where B is evaluated.
    let (out, used) = run("${A:-${B}}", &[("A", "a")]);
    assert_eq!(out, Ok("a".into()));
    assert!(!used.contains_key("B"), "{used:?}");
    assert_eq!(ok("${A-$B}", &[("A", "")]), "");
    assert_eq!(ok("${A:?$B}", &[("A", "a")]), "a");
    assert_eq!(ok("${A:+$B}", &[]), "");
    let (_, used) = run("${A:-${B:-${C}}}", &[("A", "a")]);
    assert_eq!(used.keys().collect::<Vec<_>>(), ["A"]);
}

#[test]
fn braces_in_a_default_that_do_not_open_a_variable() {
    // Only `${` opens a nested variable (as in Docker's and Compose's readers): a bare `{`
    // is text.
    assert_eq!(ok("${A:-{}", &[]), "{");
    assert_eq!(ok("${A:-{\"k\":1}}", &[]), "{\"k\":1}");
    assert_eq!(ok("${A:-{x}", &[("A", "a")]), "a");
}

// "Other extended shell-style features, such as `${VARIABLE/foo/bar}`, are not supported by
// Compose." And: "Compose will process any string following a `$` sign as long as it makes it
// a valid variable definition: either an alphanumeric name (`[_a-z][_a-z0-9]*`) or a braced
// string starting with `${`. In other circumstances, it will be preserved without attempt to
// interpolate a value."
//
// On the second sentence this reader follows `docker stack deploy`, which is what it stands in
// for: docker/cli's template (cli/compose/template) matches any other `$` as `invalid` and
// refuses the file ("Invalid template"). Preserving it would accept files `docker stack
// deploy` refuses; refused, `awk '{print $1}'` is told to write `$$1`.

#[test]
fn invalid_templates_are_refused() {
    for text in [
        "${",
        "a${VAR",
        "${}",
        "${:-x}",
        "${1A}",
        "${ VAR }",
        "$1",
        "price: 5$",
        "$",
        "$ VAR",
        "$-x",
        "${VAR:}",
        "${VAR/foo/bar}",
        "${VAR:=x}",
        "${VAR#x}",
        "${A:-${}",
    ] {
        let p = problem(text, &[("VAR", "v"), ("A", "a")]);
        assert!(is_syntax(&p), "{text:?}: {p:?}");
        assert!(p.to_string().starts_with("invalid interpolation"), "{p}");
    }
}

// The deliberate departure: "If Compose can't resolve a substituted variable and no default
// value is defined, it displays a warning and substitutes the variable with an empty string."
// Here it is refused, naming the variable (an unset `TAG` would deploy `app:`, i.e. latest).

#[test]
fn an_unset_variable_without_default_is_refused() {
    for text in ["$TAG", "${TAG}", "app:${TAG}", "a-$TAG-b"] {
        let p = problem(text, &[]);
        assert_eq!(p, Problem::Unset("TAG".into()), "{text:?}");
        let shown = p.to_string();
        assert!(shown.contains("TAG"), "{shown}");
        assert!(
            shown.contains("${TAG:-default}"),
            "says how to fix: {shown}"
        );
    }
    // Set to the empty string is set.
    assert_eq!(ok("app:${TAG}", &[("TAG", "")]), "app:");
}

#[test]
fn used_records_every_variable_with_its_value() {
    let (out, used) = run(
        "${A}-$B-${C:-dc}-${D-dd}-${E:+e}-${F:?f}-$$G",
        &[("A", "a"), ("B", "b"), ("D", ""), ("F", "f")],
    );
    assert_eq!(out, Ok("a-b-dc---f-$G".to_string()));
    let want: Used = [
        ("A", Some("a")),
        ("B", Some("b")),
        ("C", None),
        ("D", Some("")),
        ("E", None),
        ("F", Some("f")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
    .collect();
    assert_eq!(used, want);
}

#[test]
fn used_records_the_variable_that_was_refused() {
    let (out, used) = run("${X}", &[]);
    assert_eq!(out, Err(Problem::Unset("X".into())));
    assert_eq!(used.get("X"), Some(&None));
}

// ---- Through `load`: on the parsed tree, before typing, with lines. ----

fn load_with(text: &str, pairs: &[(&str, &str)]) -> Result<Loaded, Error> {
    load("stack.yml", text, &vars(pairs))
}

/// The error's key path with list indexes as `[i]`. A typing error's path says
/// `services.web.ports[0]` (serde's spelling, and Docker's); an interpolation error's says
/// `services.web.command.2` (lib.rs joins the tree path with dots). Read alike here, so the
/// tests check which value is named, not the spelling.
fn key_of(e: &Error) -> String {
    let key = e.key.clone().unwrap_or_default();
    key.split('.').fold(String::new(), |mut out, seg| {
        if !out.is_empty() && !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
        out
    })
}

// "Interpolation applies only to YAML values, not to keys. For the few places where keys are
// actually arbitrary user-defined strings, such as labels or environment, an alternate equal
// sign syntax must be used for interpolation to apply."

#[test]
fn values_are_interpolated_not_keys() {
    let text = r#"
services:
  foo:
    image: app:${TAG}
    labels:
      "$VAR_NOT_INTERPOLATED_BY_COMPOSE": "BAR"
    environment:
      - "$VAR_INTERPOLATED_BY_COMPOSE=BAR"
"#;
    let loaded = load_with(
        text,
        &[
            ("TAG", "7"),
            ("VAR_NOT_INTERPOLATED_BY_COMPOSE", "no"),
            ("VAR_INTERPOLATED_BY_COMPOSE", "yes"),
        ],
    )
    .expect("loads");
    let foo = &loaded.file.services["foo"];
    assert_eq!(foo.image.as_deref(), Some("app:7"));
    assert_eq!(
        foo.labels.get("$VAR_NOT_INTERPOLATED_BY_COMPOSE"),
        Some(&Some("BAR".to_string()))
    );
    assert_eq!(foo.labels.len(), 1);
    assert_eq!(foo.environment.get("yes"), Some(&Some("BAR".to_string())));
    assert!(!loaded.used.contains_key("VAR_NOT_INTERPOLATED_BY_COMPOSE"));
    assert_eq!(
        loaded.used.get("VAR_INTERPOLATED_BY_COMPOSE"),
        Some(&Some("yes".to_string()))
    );
}

#[test]
fn interpolation_runs_before_typing() {
    let text = "services:\n  web:\n    image: app:1\n    deploy:\n      replicas: ${N:-3}\n";
    let unset = load_with(text, &[]).expect("loads");
    assert_eq!(
        unset.file.services["web"]
            .deploy
            .as_ref()
            .and_then(|d| d.replicas),
        Some(3)
    );
    assert_eq!(unset.used.get("N"), Some(&None));
    let set = load_with(text, &[("N", "5")]).expect("loads");
    assert_eq!(
        set.file.services["web"]
            .deploy
            .as_ref()
            .and_then(|d| d.replicas),
        Some(5)
    );

    // A boolean and a duration typed from interpolated text, too.
    let text = "services:\n  web:\n    image: app:1\n    read_only: ${RO}\n    stop_grace_period: ${GRACE:-1m30s}\n";
    let svc = &load_with(text, &[("RO", "true")])
        .expect("loads")
        .file
        .services["web"];
    assert_eq!(svc.read_only, Some(true));
    assert_eq!(svc.stop_grace_period, Some(90_000_000_000));
}

#[test]
fn an_interpolated_value_that_does_not_type_is_refused_at_its_line() {
    let text = "services:\n  web:\n    image: app:1\n    deploy:\n      mode: replicated\n      replicas: ${N}\n";
    let e = load_with(text, &[("N", "abc")]).expect_err("abc is no count");
    assert_eq!(e.line, Some(6));
    assert_eq!(e.key.as_deref(), Some("services.web.deploy.replicas"));
    assert!(e.reason.contains("abc"), "{}", e.reason);
    let shown = e.to_string();
    assert!(
        shown.starts_with("stack.yml:6: services.web.deploy.replicas: "),
        "{shown}"
    );
    assert!(!shown.contains('\n'), "{shown}");
}

#[test]
fn an_unset_variable_is_refused_naming_it_its_key_and_its_line() {
    let text = "\
version: \"3.8\"
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_DB: app
  web:
    image: registry.local/app:${TAG:-1}
    command: [\"serve\", \"--port\", \"${PORT}\"]
    deploy:
      replicas: 2
";
    let e = load_with(text, &[]).expect_err("PORT is unset");
    assert_eq!(e.line, Some(9));
    assert_eq!(key_of(&e), "services.web.command[2]");
    assert!(e.reason.contains("PORT"), "{}", e.reason);
    assert_eq!(e.file, "stack.yml");
    let shown = e.to_string();
    assert!(
        shown.starts_with("stack.yml:9: services.web.command"),
        "{shown}"
    );
    assert!(shown.ends_with(&e.reason), "{shown}");

    let ok = load_with(text, &[("PORT", "8080")]).expect("loads");
    assert_eq!(
        ok.file.services["web"].command.as_deref(),
        Some(&["serve".to_string(), "--port".into(), "8080".into()][..])
    );
}

#[test]
fn a_required_variable_is_refused_with_its_message_at_its_line() {
    let text = "services:\n  web:\n    image: app:1\n    environment:\n      A: x\n      B: ${DB_URL:?set DB_URL to the primary}\n";
    let e = load_with(text, &[("DB_URL", "")]).expect_err("empty is refused by :?");
    assert_eq!(e.line, Some(6));
    assert_eq!(e.key.as_deref(), Some("services.web.environment.B"));
    assert!(
        e.reason.contains("set DB_URL to the primary"),
        "{}",
        e.reason
    );
}

#[test]
fn an_invalid_template_is_refused_at_its_line() {
    let text = "services:\n  web:\n    image: app:1\n    healthcheck:\n      test: [\"CMD-SHELL\", \"awk '{print $1}' /proc/loadavg\"]\n";
    let e = load_with(text, &[]).expect_err("$1 is invalid");
    assert_eq!(e.line, Some(5));
    assert_eq!(key_of(&e), "services.web.healthcheck.test[1]");
    assert!(e.reason.contains("$$"), "says how to escape: {}", e.reason);
    // Escaped, it passes through as a literal `$1`.
    let fixed = text.replace("$1", "$$1");
    let svc = &load_with(&fixed, &[]).expect("loads").file.services["web"];
    let test = svc.healthcheck.as_ref().and_then(|h| h.test.clone());
    assert_eq!(
        test,
        Some(serde_json::json!([
            "CMD-SHELL",
            "awk '{print $1}' /proc/loadavg"
        ]))
    );
}

#[test]
fn double_dollar_through_load() {
    let text =
        "services:\n  web:\n    image: app:1\n    command: \"$$VAR_NOT_INTERPOLATED_BY_COMPOSE\"\n";
    let loaded = load_with(text, &[("VAR_NOT_INTERPOLATED_BY_COMPOSE", "x")]).expect("loads");
    assert_eq!(
        loaded.file.services["web"].command.as_deref(),
        Some(&["$VAR_NOT_INTERPOLATED_BY_COMPOSE".to_string()][..])
    );
    assert!(loaded.used.is_empty(), "{:?}", loaded.used);
}

#[test]
fn an_interpolated_value_is_text_not_yaml() {
    // The value is put in after parsing: YAML syntax in it is text.
    let text = "services:\n  web:\n    image: ${IMG}\n    environment:\n      X: ${X}\n";
    let loaded =
        load_with(text, &[("IMG", "app:1 # not a comment"), ("X", "[a, b]")]).expect("loads");
    let svc = &loaded.file.services["web"];
    assert_eq!(svc.image.as_deref(), Some("app:1 # not a comment"));
    assert_eq!(svc.environment.get("X"), Some(&Some("[a, b]".to_string())));
}

// YAML anchors and merge keys (the specification's "Fragments" and "Extension" sections use
// them): the values they copy are interpolated like any other.

#[test]
fn anchors_and_merge_keys_with_interpolated_values() {
    let text = "\
x-common: &common
  image: registry.local/app:${TAG}
  deploy: &deploy
    replicas: ${N:-2}
services:
  api:
    <<: *common
    command: [\"api\"]
  worker:
    <<: *common
    deploy:
      <<: *deploy
      replicas: 5
  cron:
    image: registry.local/cron:${TAG}
    deploy: *deploy
";
    let loaded = load_with(text, &[("TAG", "2.1")]).expect("loads");
    let s = &loaded.file.services;
    for name in ["api", "worker"] {
        assert_eq!(
            s[name].image.as_deref(),
            Some("registry.local/app:2.1"),
            "{name}"
        );
    }
    assert_eq!(s["cron"].image.as_deref(), Some("registry.local/cron:2.1"));
    assert_eq!(s["api"].deploy.as_ref().and_then(|d| d.replicas), Some(2));
    assert_eq!(
        s["worker"].deploy.as_ref().and_then(|d| d.replicas),
        Some(5),
        "the override wins"
    );
    assert_eq!(s["cron"].deploy.as_ref().and_then(|d| d.replicas), Some(2));
    assert_eq!(loaded.used.get("TAG"), Some(&Some("2.1".to_string())));
    assert_eq!(loaded.used.get("N"), Some(&None));

    // Unset, the anchor's own value is refused first, where it is written.
    let e = load_with(text, &[]).expect_err("TAG is unset");
    assert_eq!(e.line, Some(2));
    assert_eq!(e.key.as_deref(), Some("x-common.image"));
    assert!(e.reason.contains("TAG"), "{}", e.reason);
}

#[test]
fn a_merged_value_that_does_not_type_is_refused() {
    let text = "\
x-deploy: &deploy
  replicas: ${N}
services:
  web:
    image: app:1
    deploy:
      <<: *deploy
      mode: replicated
";
    let e = load_with(text, &[("N", "many")]).expect_err("many is no count");
    assert_eq!(e.key.as_deref(), Some("services.web.deploy.replicas"));
    // The value came in through the merge key on line 7.
    assert_eq!(e.line, Some(7));
    assert!(e.reason.contains("many"), "{}", e.reason);
}
