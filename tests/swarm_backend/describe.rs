//! The describe reader against the real swarm: a service, one of its tasks and a node, each
//! the whole JSON tree `docker inspect` gives (both redacted the same way).

use clusterdeck::app::describe::redact;
use clusterdeck::backends::BackendMsg;
use clusterdeck::model::ObjectKind;
use serde_json::Value;

use crate::swarm_support::*;

/// `docker inspect`'s object (it answers with a list of one).
fn inspected(args: &[&str]) -> Value {
    let out = docker(args);
    let v: Value = serde_json::from_str(&out).expect("docker inspect JSON");
    v.get(0).cloned().expect("one object")
}

fn read(kind: ObjectKind, id: &str) -> Value {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let h = clusterdeck::backends::swarm::spawn_reader("lab".into(), managers(), None, tx);
        h.tx.send((kind, id.to_string())).await.expect("asked");
        let msg = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
            .await
            .expect("an answer in time")
            .expect("a message");
        let BackendMsg::Described { json, id: got, .. } = msg else {
            panic!("not a description")
        };
        assert_eq!(got, id);
        serde_json::from_str(&json.expect("read")).expect("JSON")
    })
}

#[test]
fn a_service_a_task_and_a_node_are_described_as_docker_inspect_gives_them() {
    let _g = crate::lock();
    create_service(
        "t-describe",
        1,
        "1",
        &["--env", "DB_PASSWORD=hunter2", "--label", "tier=web"],
    );
    let id = docker(&["service", "inspect", "t-describe", "--format", "{{.ID}}"])
        .trim()
        .to_string();
    let ours = redact(&read(ObjectKind::Service, &id));
    let theirs = redact(&inspected(&["service", "inspect", &id]));
    assert_eq!(ours, theirs, "the whole service, redacted");
    let text = ours.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("DB_PASSWORD=[redacted]"), "{text}");
    let summary = clusterdeck::app::describe::summary(&ours);
    assert!(
        summary
            .iter()
            .any(|l| l.starts_with("mode") && l.contains("1 replicas")),
        "{summary:?}"
    );

    let task = running_tasks("t-describe")
        .first()
        .map(|t| t.0.clone())
        .expect("a task");
    let ours = redact(&read(ObjectKind::Task, &task));
    let theirs = redact(&inspected(&["inspect", "--type", "task", &task]));
    assert_eq!(ours, theirs, "the whole task, redacted");

    let node = docker(&["node", "inspect", "self", "--format", "{{.ID}}"])
        .trim()
        .to_string();
    let ours = redact(&read(ObjectKind::Node, &node));
    let theirs = redact(&inspected(&["node", "inspect", &node]));
    // A manager's node object carries its heartbeat-driven fields; compare what does not move.
    for key in ["ID", "Spec", "Description", "CreatedAt"] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    docker(&["service", "rm", "t-describe"]);
}
