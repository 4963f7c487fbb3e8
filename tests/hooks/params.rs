//! Typed values, placeholders and the configuration check, through the public API.

use std::path::PathBuf;

use clusterdeck_hooks::{Hook, Outcome, Param, Target, check, expand, redacted, validate};

use crate::support::{collect, command, outcome, param, secret, values};

fn patterned(pattern: &str) -> Param {
    Param {
        pattern: Some(pattern.into()),
        ..param("version")
    }
}

#[test]
fn a_value_is_refused_when_empty_without_a_default() {
    assert_eq!(
        validate(&param("version"), ""),
        Err("version needs a value".into())
    );
    let with_default = Param {
        default: Some("1.0".into()),
        ..param("version")
    };
    assert_eq!(validate(&with_default, ""), Ok(()));
}

#[test]
fn control_characters_are_refused() {
    for bad in ["1.0\n", "a\tb", "\u{1b}[31m", "x\u{7f}", "nul\0"] {
        let err = validate(&param("version"), bad).expect_err(bad);
        assert!(
            err.starts_with("version must not contain control characters (found U+"),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(validate(&param("note"), "a b & c = d, ü 日本"), Ok(()));
}

#[test]
fn the_pattern_is_a_character_class_with_a_length() {
    let p = patterned("[A-Za-z0-9._-]");
    assert_eq!(validate(&p, "v1.2_rc-3"), Ok(()));
    assert_eq!(
        validate(&p, "1.2;rm"),
        Err("version may contain only [A-Za-z0-9._-]: ';' is not allowed".into())
    );
    assert!(validate(&p, "1 2").is_err(), "a space is outside the class");
    let p = patterned("[a-z0-9-]{1,5}");
    assert_eq!(validate(&p, "ab-1"), Ok(()));
    assert_eq!(
        validate(&p, "abcdef"),
        Err("version must be at most 5 characters long (it is 6)".into())
    );
}

#[test]
fn redacted_values_mask_secrets_and_fill_defaults() {
    let hook = command(
        &["deploy", "{version}", "{env}", "{token}"],
        vec![
            param("version"),
            Param {
                default: Some("staging".into()),
                ..param("env")
            },
            secret("token"),
        ],
    );
    let typed = values(&[("version", "1.2"), ("token", "hunter2"), ("stray", "x")]);
    assert_eq!(
        redacted(&hook, &typed),
        values(&[("version", "1.2"), ("env", "staging"), ("token", "***")])
    );
}

#[test]
fn expand_replaces_placeholders_and_keeps_literal_braces() {
    let vals = values(&[("version", "1.2"), ("name", "web")]);
    assert_eq!(
        expand("VERSION={version}", &vals).as_deref(),
        Ok("VERSION=1.2")
    );
    assert_eq!(
        expand("{{{{ {name} }}}}", &vals).as_deref(),
        Ok("{{ web }}")
    );
    let err = expand("{nope}", &vals).expect_err("unknown");
    assert!(err.contains("{nope} names no parameter"), "{err}");
}

#[test]
fn check_accepts_good_hooks() {
    let hook = Hook {
        name: "deploy-infra".into(),
        target: Target::Command {
            argv: ["ansible-playbook", "deploy.yml", "-e", "VERSION={version}"]
                .map(String::from)
                .to_vec(),
            cwd: Some(PathBuf::from("/srv/{env}")),
            env: vec![("TOKEN".into(), "{token}".into())],
        },
        params: vec![patterned("[0-9.]+"), param("env"), secret("token")],
    };
    assert_eq!(check(&hook), Ok(()));
    let jenkins = Hook {
        name: "ci".into(),
        target: Target::Jenkins {
            url: "https://ci.example.com/jenkins/".into(),
            job: "ops/deploy".into(),
            user: Some("alice".into()),
            token_file: Some("/etc/clusterdeck/jenkins-token".into()),
        },
        params: vec![param("version")],
    };
    assert_eq!(check(&jenkins), Ok(()));
}

#[test]
fn check_refuses_mistakes_in_words() {
    let cases: Vec<(Hook, &str)> = vec![
        (
            command(&["deploy", "{versoin}"], vec![param("version")]),
            "run[1]: {versoin} names no parameter (declared: version)",
        ),
        (command(&[], vec![]), "run: the command is empty"),
        (
            command(&["deploy"], vec![param("version")]),
            "params.version: not used",
        ),
        (command(&["deploy", "{x"], vec![]), "without its `}`"),
        (
            command(&["deploy", "{version}"], vec![patterned("[a-z")]),
            "params.version: pattern \"[a-z\": the class has no closing `]`",
        ),
        (
            command(
                &["deploy", "{version}"],
                vec![Param {
                    default: Some("1/2".into()),
                    ..patterned("[0-9.]")
                }],
            ),
            "params.version: the default: version may contain only [0-9.]",
        ),
        (
            command(
                &["deploy", "{version}"],
                vec![param("version"), param("version")],
            ),
            "params: version is declared twice",
        ),
        (
            command(&["deploy", "{a b}"], vec![param("a b")]),
            "is not a parameter name",
        ),
    ];
    for (hook, says) in cases {
        let err = check(&hook).expect_err(says);
        assert!(err.contains(says), "expected {says:?} in {err:?}");
    }
}

#[test]
fn check_refuses_jenkins_mistakes_in_words() {
    let jenkins = |url: &str, job: &str, user: Option<&str>, token: Option<&str>| Hook {
        name: "ci".into(),
        target: Target::Jenkins {
            url: url.into(),
            job: job.into(),
            user: user.map(String::from),
            token_file: token.map(PathBuf::from),
        },
        params: vec![],
    };
    for (hook, says) in [
        (
            jenkins("ci.example.com", "a", None, None),
            "must start with http:// or https://",
        ),
        (jenkins("http://", "a", None, None), "jenkins.url"),
        (
            jenkins("http://ci", "a//b", None, None),
            "empty folder or job name",
        ),
        (jenkins("http://ci", "", None, None), "jenkins.job: empty"),
        (
            jenkins("http://ci", "a", Some("alice"), None),
            "token_file is not",
        ),
        (jenkins("http://ci", "a", None, Some("/t")), "user is not"),
    ] {
        let err = check(&hook).expect_err(says);
        assert!(err.contains(says), "expected {says:?} in {err:?}");
    }
}

#[tokio::test]
async fn start_refuses_a_bad_value_before_running_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let marker_arg = marker.to_string_lossy().into_owned();
    let hook = command(
        &["touch", &marker_arg, "{version}"],
        vec![patterned("[0-9.]")],
    );
    let events = collect(
        clusterdeck_hooks::start(&hook, &values(&[("version", "1.2; rm -rf /")])),
        5,
    )
    .await;
    assert_eq!(
        outcome(&events),
        Outcome::Failed("version may contain only [0-9.]: ';' is not allowed".into())
    );
    assert!(!marker.exists(), "the program must not have run");
}
