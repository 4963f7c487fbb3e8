//! Jenkins hooks against a local server implementing Jenkins' documented remote API (see
//! jenkins_server.rs; no Jenkins can be installed from the registries here).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clusterdeck_hooks::{Event, Hook, Outcome, Param, Target, Timing, start, start_with};

use crate::jenkins_server::{Config, NO_CRUMB, QUIET, Server, TOKEN, USER, WAITING};
use crate::support::{all_text, collect, lines, outcome, param, secret, stages, values};
use crate::wire::{base64, raw};

fn hook(server: &Server, job: &str, params: Vec<Param>, token_file: &Path) -> Hook {
    Hook {
        name: "ci".into(),
        target: Target::Jenkins {
            url: format!("{}/", server.url),
            job: job.into(),
            user: Some(USER.into()),
            token_file: Some(token_file.to_path_buf()),
        },
        params,
    }
}

/// A token file in `dir`, with the surrounding blanks an editor leaves.
fn token_file(dir: &tempfile::TempDir, token: &str) -> PathBuf {
    let path = dir.path().join("jenkins-token");
    std::fs::write(&path, format!("  {token}\n")).expect("write the token file");
    path
}

fn fast() -> Timing {
    Timing {
        poll_every: Duration::from_millis(200),
        request_timeout: Duration::from_secs(5),
        ..Timing::default()
    }
}

fn log_of(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
    chunks.iter().map(|c| c.to_vec()).collect()
}

#[tokio::test]
async fn a_parameterised_build_is_triggered_followed_and_succeeds() {
    // Pieces ending inside a line and inside a character ("ü" is C3 BC).
    let chunks: [&[u8]; 4] = [
        b"Started by user alice\nBuilding in workspace /var/jenkins/deploy\n+ ./deploy.sh --ver",
        b"sion 1.4.2\nGr\xc3",
        b"\xbc\xc3\x9fe aus M\xc3\xbcnchen\ndeploying with password s3cr3t-Pa55\n",
        b"Finished: SUCCESS\n",
    ];
    let server = Server::start(Config {
        log: log_of(&chunks),
        chunk_every: Duration::from_millis(700),
        ..Config::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let params = vec![param("version"), param("note"), secret("password")];
    let hook = hook(&server, "deploy", params, &token_file(&dir, TOKEN));
    let note = "a b & c=d + ü 日本 %41";
    let typed = values(&[
        ("version", "1.4.2"),
        ("note", note),
        ("password", "s3cr3t-Pa55"),
    ]);
    // The default timing: polls a second apart, as against a real Jenkins.
    let events = collect(start(&hook, &typed), 30).await;

    let triggers = server.triggers();
    assert_eq!(triggers.len(), 1, "{triggers:?}");
    assert_eq!(triggers[0].job, "deploy");
    assert_eq!(triggers[0].endpoint, "buildWithParameters");
    let sent: Vec<(&str, &str)> = triggers[0]
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        sent,
        [
            ("version", "1.4.2"),
            ("note", note),
            ("password", "s3cr3t-Pa55")
        ]
    );

    assert_eq!(
        lines(&events),
        [
            "Started by user alice",
            "Building in workspace /var/jenkins/deploy",
            "+ ./deploy.sh --version 1.4.2",
            "Grüße aus München",
            "deploying with password ***",
            "Finished: SUCCESS",
        ],
        "every line once, in order, the secret masked"
    );
    let stages = stages(&events);
    let build_url = format!("{}/job/deploy/12/", server.url);
    let queued: Vec<&String> = stages
        .iter()
        .filter(|s| s.starts_with("queued: "))
        .collect();
    assert_eq!(
        queued,
        [&format!("queued: {QUIET}"), &format!("queued: {WAITING}")],
        "each change of `why` once: {stages:?}"
    );
    assert!(
        stages.contains(&format!("build #12 started: {build_url}")),
        "{stages:?}"
    );
    let o = outcome(&events);
    assert_eq!(
        o,
        Outcome::Build {
            number: 12,
            result: "SUCCESS".into()
        }
    );
    assert!(o.success());
    let text = all_text(&events);
    assert!(!text.contains("s3cr3t") && !text.contains(TOKEN), "{text}");

    let seen = server.seen();
    // The log was fetched in several pieces, each from where Jenkins said the last ended.
    let starts: Vec<usize> = seen
        .iter()
        .filter(|s| s.path.ends_with("/logText/progressiveText"))
        .map(|s| {
            s.query
                .trim_start_matches("start=")
                .parse()
                .expect("start=N")
        })
        .collect();
    let mut bounds = vec![0];
    for c in &chunks {
        bounds.push(bounds[bounds.len() - 1] + c.len());
    }
    assert!(starts.len() >= 3, "{starts:?}");
    assert_eq!(starts[0], 0);
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert!(
        starts.iter().all(|s| bounds.contains(s)),
        "{starts:?} vs {bounds:?}"
    );
    // The session: every request after the crumb carried its cookie; the POST the crumb.
    assert_eq!(seen[0].path, "/crumbIssuer/api/json");
    assert!(seen[1..].iter().all(|s| {
        s.cookie
            .as_deref()
            .is_some_and(|c| c.starts_with("JSESSIONID.5e1f00d5="))
    }));
    assert!(
        seen.iter().all(|s| s.status == 200 || s.status == 201),
        "{seen:?}"
    );
    let post = seen.iter().find(|s| s.method == "POST").expect("a POST");
    assert!(post.crumb.is_some());
}

#[tokio::test]
async fn a_failed_build_is_reported() {
    let server = Server::start(Config {
        log: log_of(&[b"+ make test\n", b"1 test failed\nFinished: FAILURE\n"]),
        result: "FAILURE".into(),
        ..Config::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = hook(
        &server,
        "deploy",
        vec![param("version")],
        &token_file(&dir, TOKEN),
    );
    let events = collect(start_with(&hook, &values(&[("version", "2")]), fast()), 20).await;
    let o = outcome(&events);
    assert_eq!(
        o,
        Outcome::Build {
            number: 12,
            result: "FAILURE".into()
        }
    );
    assert!(!o.success());
    assert_eq!(o.describe(), "build #12: FAILURE");
    assert_eq!(
        lines(&events),
        ["+ make test", "1 test failed", "Finished: FAILURE"]
    );
}

/// The server's strictness, shown with raw requests: without it the tests above would prove
/// nothing about crumbs and sessions.
#[tokio::test]
async fn the_server_refuses_a_post_without_a_crumb_of_its_session() {
    let server = Server::start(Config::default()).await;
    let addr = server.addr;
    let auth = format!(
        "Authorization: Basic {}",
        base64(&format!("{USER}:{TOKEN}"))
    );
    let crumb_req = format!("GET /crumbIssuer/api/json HTTP/1.1\r\n{auth}");
    let post = |extra: &str| {
        format!(
            "POST /job/deploy/buildWithParameters HTTP/1.1\r\n{auth}\r\nContent-Type: application/x-www-form-urlencoded{extra}"
        )
    };

    let r = raw(addr, "GET /crumbIssuer/api/json HTTP/1.1", "").await;
    assert_eq!(r.status, 401, "no credentials");
    let r = raw(addr, &post(""), "version=1").await;
    assert_eq!(r.status, 403, "no crumb, no cookie");
    assert!(String::from_utf8_lossy(&r.body).contains(NO_CRUMB));

    let session = |r: &crate::wire::Response| {
        let cookie = r.header("set-cookie").expect("a session cookie");
        let cookie = cookie.split(';').next().expect("name=value").to_string();
        let json: serde_json::Value = serde_json::from_slice(&r.body).expect("crumb JSON");
        let crumb = json["crumb"].as_str().expect("crumb").to_string();
        assert_eq!(json["crumbRequestField"], "Jenkins-Crumb");
        (cookie, crumb)
    };
    let (cookie_a, crumb_a) = session(&raw(addr, &crumb_req, "").await);
    let (cookie_b, _) = session(&raw(addr, &crumb_req, "").await);
    assert_ne!(cookie_a, cookie_b);

    let r = raw(
        addr,
        &post(&format!("\r\nJenkins-Crumb: {crumb_a}")),
        "version=1",
    )
    .await;
    assert_eq!(r.status, 403, "a crumb without its session cookie");
    let other = format!("\r\nJenkins-Crumb: {crumb_a}\r\nCookie: {cookie_b}");
    let r = raw(addr, &post(&other), "version=1").await;
    assert_eq!(r.status, 403, "a crumb with another session's cookie");
    assert!(server.triggers().is_empty());

    let right = format!("\r\nJenkins-Crumb: {crumb_a}\r\nCookie: {cookie_a}");
    let r = raw(addr, &post(&right), "version=1").await;
    assert_eq!(r.status, 201, "the crumb with its own session");
    let location = r.header("location").expect("Location");
    assert!(
        location.starts_with(&format!("{}/queue/item/", server.url)),
        "{location}"
    );
    assert_eq!(server.triggers().len(), 1);
}

#[tokio::test]
async fn without_csrf_protection_no_crumb_is_needed() {
    let server = Server::start(Config {
        csrf: false,
        ..Config::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = hook(
        &server,
        "deploy",
        vec![param("version")],
        &token_file(&dir, TOKEN),
    );
    let events = collect(start_with(&hook, &values(&[("version", "3")]), fast()), 20).await;
    assert!(outcome(&events).success(), "{events:?}");
    let seen = server.seen();
    assert_eq!(
        (seen[0].path.as_str(), seen[0].status),
        ("/crumbIssuer/api/json", 404)
    );
    let post = seen.iter().find(|s| s.method == "POST").expect("a POST");
    assert_eq!(post.crumb, None);
    assert_eq!(server.triggers().len(), 1);
}

#[tokio::test]
async fn a_wrong_or_missing_token_fails_in_words() {
    let server = Server::start(Config::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = token_file(&dir, "not-the-token-42");
    let hook = hook(&server, "deploy", vec![param("version")], &wrong);
    let events = collect(start_with(&hook, &values(&[("version", "1")]), fast()), 20).await;
    assert_eq!(
        outcome(&events),
        Outcome::Failed(format!(
            "HTTP 401 from crumbIssuer: Jenkins did not accept the API token of user \"{USER}\" (check user and token_file)"
        ))
    );
    assert!(!all_text(&events).contains("not-the-token-42"));
    assert!(server.triggers().is_empty());

    let missing = dir.path().join("no-such-token");
    let hook = self::hook(&server, "deploy", vec![param("version")], &missing);
    let events = collect(start_with(&hook, &values(&[("version", "1")]), fast()), 20).await;
    let Outcome::Failed(why) = outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(
        why.starts_with(&format!("token_file {}: No such file", missing.display())),
        "{why}"
    );
}

#[tokio::test]
async fn a_build_cancelled_in_the_queue_fails() {
    let server = Server::start(Config {
        cancel_in_queue: true,
        ..Config::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = hook(
        &server,
        "deploy",
        vec![param("version")],
        &token_file(&dir, TOKEN),
    );
    let events = collect(start_with(&hook, &values(&[("version", "1")]), fast()), 20).await;
    assert_eq!(
        outcome(&events),
        Outcome::Failed("cancelled in the queue".into())
    );
    assert!(lines(&events).is_empty());
    assert!(
        !server
            .seen()
            .iter()
            .any(|s| s.path.contains("progressiveText"))
    );
}

#[tokio::test]
async fn an_unreachable_jenkins_fails_in_words_within_the_time_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = token_file(&dir, TOKEN);
    let jenkins = |url: String| Hook {
        name: "ci".into(),
        target: Target::Jenkins {
            url,
            job: "deploy".into(),
            user: Some(USER.into()),
            token_file: Some(token.clone()),
        },
        params: vec![],
    };
    // Nothing listens: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let events = collect(start(&jenkins(format!("http://{addr}")), &values(&[])), 20).await;
    let Outcome::Failed(why) = outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(
        why.starts_with(&format!(
            "Jenkins at http://{addr} could not be reached (crumbIssuer):"
        )) && why.contains("Connection refused"),
        "{why}"
    );

    // Something accepts and never answers: the request's time limit.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let timing = Timing {
        request_timeout: Duration::from_secs(1),
        ..Timing::default()
    };
    let asked = Instant::now();
    let events = collect(
        start_with(&jenkins(format!("http://{addr}")), &values(&[]), timing),
        20,
    )
    .await;
    let took = asked.elapsed();
    holder.abort();
    assert_eq!(
        outcome(&events),
        Outcome::Failed(format!(
            "Jenkins at http://{addr} did not answer within 1 s (crumbIssuer)"
        ))
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_job_in_nested_folders_without_parameters() {
    let job = "team/ops/deploy infra";
    let server = Server::start(Config {
        jobs: vec![job.into()],
        ..Config::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = hook(&server, job, vec![], &token_file(&dir, TOKEN));
    let events = collect(start_with(&hook, &values(&[]), fast()), 20).await;
    assert!(outcome(&events).success(), "{events:?}");
    let triggers = server.triggers();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0].job, job);
    assert_eq!(triggers[0].endpoint, "build", "a job without parameters");
    assert!(triggers[0].params.is_empty());
    let seen = server.seen();
    let post = seen.iter().find(|s| s.method == "POST").expect("a POST");
    assert_eq!(post.path, "/job/team/job/ops/job/deploy%20infra/build");
    assert!(
        seen.iter()
            .any(|s| s.path == "/job/team/job/ops/job/deploy%20infra/12/logText/progressiveText")
    );
    assert_eq!(
        lines(&events),
        ["Started by user alice", "Finished: SUCCESS"]
    );
}

#[tokio::test]
async fn cancel_stops_following_the_build() {
    let long: Vec<Vec<u8>> = (0..30)
        .map(|i| format!("step {i}\n").into_bytes())
        .collect();
    let server = Server::start(Config {
        log: long,
        chunk_every: Duration::from_millis(500),
        queue_polls: 1,
        ..Config::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = hook(&server, "deploy", vec![], &token_file(&dir, TOKEN));
    let mut running = start_with(&hook, &values(&[]), fast());
    loop {
        match tokio::time::timeout(Duration::from_secs(10), running.events.recv()).await {
            Ok(Some(Event::Line(l))) if l == "step 0" => break,
            Ok(Some(Event::Line(_) | Event::Stage(_))) => {}
            other => panic!("expected the first log line, got {other:?}"),
        }
    }
    running.cancel();
    let events = collect(running, 5).await;
    assert_eq!(outcome(&events), Outcome::Cancelled);
    // A request already on the wire may still be answered (and recorded) just after.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_cancel = server.seen().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        server.seen().len(),
        after_cancel,
        "no request after the cancel (polls were 200 ms apart)"
    );
}

#[tokio::test]
async fn an_unknown_job_fails_in_words() {
    let server = Server::start(Config::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = hook(
        &server,
        "no-such-job",
        vec![param("version")],
        &token_file(&dir, TOKEN),
    );
    let events = collect(start_with(&hook, &values(&[("version", "1")]), fast()), 20).await;
    assert_eq!(
        outcome(&events),
        Outcome::Failed("HTTP 404 from buildWithParameters: Error 404 Not Found".into())
    );
    assert!(server.triggers().is_empty());
}
