//! What runs is what was confirmed: each test plans, changes the object behind the console's
//! back with the docker CLI, then confirms at once (before the console has pumped the change).
//! The operation must end `refused`, audited with what was expected and what was found, and
//! the engine must show the outside change untouched. The same steps after a change to an
//! unrelated label succeed.

use clusterdeck::model::Availability;
use clusterdeck::ops::{Op, OpRequest};

use super::lock;
use crate::swarm_support::*;

fn spec(service: &str, format: &str) -> String {
    docker(&["service", "inspect", service, "--format", format])
        .trim()
        .to_string()
}

/// The tag of an image reference (`repo:3@sha256:…` → `3`): a digest can hold ":3" too.
fn tag_of(image: &str) -> &str {
    let named = image.split('@').next().unwrap_or(image);
    named.rsplit_once(':').map_or("", |(_, t)| t)
}

fn replicas(service: &str) -> String {
    spec(service, "{{.Spec.Mode.Replicated.Replicas}}")
}

/// The spec's image without its digest.
fn image(service: &str) -> String {
    let i = spec(service, "{{.Spec.TaskTemplate.ContainerSpec.Image}}");
    i.split('@').next().unwrap_or_default().to_string()
}

/// Plans `op` on `target`, runs `outside` (the change someone else makes), confirms: the
/// operation must end refused with `field` named, and the audit must say so.
fn refused_after(
    c: &mut Console,
    target: &str,
    op: Op,
    outside: impl FnOnce(),
    field: &str,
) -> serde_json::Value {
    let pending = c.plan(OpRequest::named(CLUSTER, target, op));
    outside();
    let typed = pending.plan().confirm_text.clone().unwrap_or_default();
    let err = match c.confirm(pending, &typed) {
        // The console had already seen the change: refused at release.
        Err(e) => e,
        Ok(op) => c.outcome(&op, 60).expect_err("refused by the backend"),
    };
    assert!(
        err.contains(&format!("{target} changed since you confirmed"))
            && err.contains(field)
            && err.ends_with("nothing done"),
        "{err}"
    );
    let out = std::fs::read_to_string(&c.audit).expect("audit");
    let rec: serde_json::Value = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .rfind(|r| r["phase"] == "outcome")
        .expect("an outcome");
    assert_eq!(rec["result"], "refused", "{rec}");
    assert!(rec["params"]["expected"][field].is_string(), "{rec}");
    assert!(rec["params"]["found"][field].is_string(), "{rec}");
    rec
}

#[test]
fn a_scale_confirmed_after_someone_else_scaled_changes_nothing() {
    let _g = lock();
    create_service("t-race", 3, "1", &[]);
    let mut c = Console::start(managers());
    c.wait(60, "t-race shown", |c| {
        c.cluster()?.workload_by_name("t-race").map(|_| ())
    });
    let rec = refused_after(
        &mut c,
        "t-race",
        Op::Scale { replicas: 5 },
        || {
            docker(&["service", "scale", "--detach", "t-race=7"]);
        },
        "replicas",
    );
    assert_eq!(rec["params"]["expected"]["replicas"], "3");
    assert_eq!(rec["params"]["found"]["replicas"], "7");
    assert_eq!(replicas("t-race"), "7", "the outside change stands");

    // A change to a label the plan did not show refuses nothing.
    c.wait(60, "7 wanted", |c| {
        (c.cluster()?.workload_by_name("t-race")?.desired == 7).then_some(())
    });
    let pending = c.plan(OpRequest::named(
        CLUSTER,
        "t-race",
        Op::Scale { replicas: 5 },
    ));
    docker(&[
        "service",
        "update",
        "--detach",
        "--label-add",
        "team=ops",
        "t-race",
    ]);
    let op = c.confirm(pending, "").expect("released");
    let r = c.outcome(&op, 120);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(replicas("t-race"), "5");
    docker(&["service", "rm", "t-race"]);
}

#[test]
fn deploy_restart_and_rollback_confirmed_after_an_outside_change_change_nothing() {
    let _g = lock();
    create_service("t-moved", 2, "1", &[]);
    let mut c = Console::start(managers());
    // A service never updated has no PreviousSpec in the engine: nothing to roll back to.
    c.wait(60, "t-moved shown", |c| {
        c.cluster()?.workload_by_name("t-moved").map(|_| ())
    });
    let cluster = c.cluster().expect("state").clone();
    let rollback = || Op::Rollback {
        from_revision: None,
        to_revision: None,
    };
    let err = c
        .gate
        .check(
            OpRequest::named(CLUSTER, "t-moved", rollback()),
            Some(&cluster),
            &[],
        )
        .expect_err("no previous spec");
    assert!(err.contains("no previous spec"), "{err}");
    // After an update the engine keeps the previous spec.
    docker(&[
        "service",
        "update",
        "--detach",
        "--image",
        &format!("{}:2", repo()),
        "t-moved",
    ]);
    c.wait(90, "t-moved on :2", |c| {
        let w = c.cluster()?.workload_by_name("t-moved")?;
        (tag_of(&w.image) == "2" && w.update.as_ref().is_some_and(|u| !u.state.in_progress()))
            .then_some(())
    });
    let three = format!("{}:3", repo());
    refused_after(
        &mut c,
        "t-moved",
        Op::Deploy {
            image: format!("{}:1", repo()),
        },
        || {
            docker(&[
                "service", "update", "--detach", "--image", &three, "t-moved",
            ]);
        },
        "image",
    );
    assert_eq!(image("t-moved"), three, "the outside deploy stands");
    c.wait(90, "t-moved on :3", |c| {
        let w = c.cluster()?.workload_by_name("t-moved")?;
        (tag_of(&w.image) == "3" && w.update.as_ref().is_some_and(|u| !u.state.in_progress()))
            .then_some(())
    });

    // The plan shows the engine's PreviousSpec (:2), not an image the console saw before.
    let pending = c.plan(OpRequest::named(CLUSTER, "t-moved", rollback()));
    let shown = pending.plan().delta.join("\n");
    assert!(
        shown.contains(&format!("→ {}:2", repo())) && shown.contains("previous spec"),
        "{shown}"
    );
    drop(pending);

    let forced = spec("t-moved", "{{.Spec.TaskTemplate.ForceUpdate}}");
    refused_after(
        &mut c,
        "t-moved",
        Op::Restart,
        || {
            docker(&["service", "scale", "--detach", "t-moved=3"]);
        },
        "replicas",
    );
    assert_eq!(
        spec("t-moved", "{{.Spec.TaskTemplate.ForceUpdate}}"),
        forced,
        "no restart was sent"
    );
    c.wait(60, "3 wanted", |c| {
        (c.cluster()?.workload_by_name("t-moved")?.desired == 3).then_some(())
    });

    refused_after(
        &mut c,
        "t-moved",
        rollback(),
        || {
            docker(&[
                "service",
                "update",
                "--detach",
                "--image",
                &format!("{}:1", repo()),
                "t-moved",
            ]);
        },
        "image",
    );
    assert_eq!(
        image("t-moved"),
        format!("{}:1", repo()),
        "no rollback was sent on top of the outside deploy"
    );
    docker(&["service", "rm", "t-moved"]);
}

#[test]
fn a_drain_confirmed_after_someone_paused_the_node_changes_nothing() {
    let _g = lock();
    let mut c = Console::start(managers());
    let drain = || Op::SetAvailability {
        availability: Availability::Drain,
    };
    let availability = || {
        docker(&[
            "node",
            "inspect",
            "wrk2",
            "--format",
            "{{.Spec.Availability}}",
        ])
        .trim()
        .to_string()
    };
    let rec = refused_after(
        &mut c,
        "wrk2",
        drain(),
        || {
            docker(&["node", "update", "--availability", "pause", "wrk2"]);
        },
        "availability",
    );
    assert_eq!(rec["params"]["found"]["availability"], "pause");
    assert_eq!(availability(), "pause", "not drained");

    // Back to active; a label added by someone else does not stop the drain.
    docker(&["node", "update", "--availability", "active", "wrk2"]);
    c.wait(60, "wrk2 active", |c| {
        let n = c.cluster()?.nodes.values().find(|n| n.hostname == "wrk2")?;
        (n.availability == Availability::Active).then_some(())
    });
    let pending = c.plan(OpRequest::named(CLUSTER, "wrk2", drain()));
    docker(&["node", "update", "--label-add", "rack=r2", "wrk2"]);
    let op = c.confirm(pending, "").expect("released");
    let r = c.outcome(&op, 180);
    docker(&[
        "node",
        "update",
        "--availability",
        "active",
        "--label-rm",
        "rack",
        "wrk2",
    ]);
    assert!(r.is_ok(), "{r:?}");
}
