//! What runs is what was confirmed, on the object chosen, against the real control plane:
//! plan, change the object with kubectl, confirm at once; the operation ends `refused` and
//! kubectl shows the outside change untouched. A change to an unrelated label refuses nothing.
//! A Deployment and a StatefulSet with the same name are two objects: each is scaled alone.

use crate::kube_backend::{CLUSTER, console, deployment, lock, namespace};
use crate::kube_support::{apply, kubectl, kubectl_json};
use crate::swarm_support::Console;
use clusterdeck::model::{Availability, ObjectKind, SourceKind, Target};
use clusterdeck::ops::{Op, OpRequest};

/// Plans, runs `outside`, confirms: refused, naming `field`; returns the audit outcome.
fn refused_after(
    c: &mut Console,
    req: OpRequest,
    outside: impl FnOnce(),
    field: &str,
) -> serde_json::Value {
    let name = req.target.name.clone();
    let pending = c.plan(req);
    outside();
    let typed = pending.plan().confirm_text.clone().unwrap_or_default();
    let (op, err) = match c.confirm(pending, &typed) {
        Err(e) => (None, e),
        Ok(op) => {
            let e = c.outcome(&op, 60).expect_err("refused by the backend");
            (Some(op), e)
        }
    };
    assert!(
        err.contains(&format!("{name} changed since you confirmed")) && err.contains(field),
        "{err}"
    );
    let rec = match op {
        Some(op) => c.records(&op).pop().expect("an outcome"),
        None => {
            let out = std::fs::read_to_string(&c.audit).expect("audit");
            let last = out.lines().last().expect("a record");
            serde_json::from_str(last).expect("json")
        }
    };
    assert_eq!(rec["phase"], "outcome", "{rec}");
    assert_eq!(rec["result"], "refused", "{rec}");
    rec
}

fn spec_replicas(ns: &str, kind: &str, name: &str) -> u64 {
    kubectl_json(&["-n", ns, "get", kind, name])["spec"]["replicas"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn scale_and_deploy_confirmed_after_kubectl_changed_the_deployment_change_nothing() {
    let _g = lock();
    namespace("t-conf");
    deployment("t-conf", "web", 2, "registry.k8s.io/pause:3.10", "");
    let mut c = console();
    let shown = |c: &mut Console, replicas: u32| {
        c.wait(60, "the deployment as kubectl left it", |c| {
            let w = c.cluster()?.workloads.get("deployment/t-conf/web")?;
            (w.desired == replicas).then_some(())
        })
    };
    shown(&mut c, 2);
    let rec = refused_after(
        &mut c,
        OpRequest::named(CLUSTER, "t-conf/web", Op::Scale { replicas: 4 }),
        || {
            kubectl(&["-n", "t-conf", "scale", "deployment/web", "--replicas=6"]);
        },
        "replicas",
    );
    assert_eq!(rec["params"]["expected"]["replicas"], "2", "{rec}");
    assert_eq!(rec["params"]["found"]["replicas"], "6", "{rec}");
    assert_eq!(spec_replicas("t-conf", "deployment", "web"), 6);

    shown(&mut c, 6);
    refused_after(
        &mut c,
        OpRequest::named(
            CLUSTER,
            "t-conf/web",
            Op::Deploy {
                image: "registry.k8s.io/pause:3.9".into(),
            },
        ),
        || {
            kubectl(&[
                "-n",
                "t-conf",
                "set",
                "image",
                "deployment/web",
                "main=registry.k8s.io/pause:3.8",
            ]);
        },
        "image",
    );
    let d = kubectl_json(&["-n", "t-conf", "get", "deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.k8s.io/pause:3.8"
    );

    // A label someone adds is not what the plan showed: the scale goes through.
    c.wait(60, "the new image shown", |c| {
        let w = c.cluster()?.workloads.get("deployment/t-conf/web")?;
        w.image.ends_with(":3.8").then_some(())
    });
    let pending = c.plan(OpRequest::named(
        CLUSTER,
        "t-conf/web",
        Op::Scale { replicas: 3 },
    ));
    kubectl(&["-n", "t-conf", "label", "deployment/web", "team=ops"]);
    let op = c.confirm(pending, "").expect("released");
    let r = c.outcome(&op, 180);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(spec_replicas("t-conf", "deployment", "web"), 3);
}

#[test]
fn a_drain_confirmed_after_kubectl_cordoned_the_node_changes_nothing() {
    let _g = lock();
    let node = "kwok-node-2";
    kubectl(&["uncordon", node]);
    let mut c = console();
    c.wait(60, "the node schedulable", |c| {
        let n = c.cluster()?.nodes.get(&format!("node/{node}"))?;
        (n.availability == Availability::Active).then_some(())
    });
    refused_after(
        &mut c,
        OpRequest::named(
            CLUSTER,
            node,
            Op::SetAvailability {
                availability: Availability::Drain,
            },
        ),
        || {
            kubectl(&["cordon", node]);
        },
        "availability",
    );
    // Cordoned by kubectl, and no pod evicted by us: our field manager never wrote the node.
    let n = kubectl_json(&["get", "node", node, "--show-managed-fields"]);
    kubectl(&["uncordon", node]);
    assert_eq!(n["spec"]["unschedulable"], true);
    let managers: Vec<&str> = n["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(!managers.contains(&"clusterdeck"), "{managers:?}");
}

#[test]
fn a_deployment_and_a_statefulset_of_one_name_are_scaled_each_alone() {
    let _g = lock();
    namespace("same");
    deployment("same", "web", 2, "registry.k8s.io/pause:3.10", "");
    apply(
        "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: same}
spec:
  replicas: 1
  serviceName: web
  selector: {matchLabels: {app: web-sts}}
  template:
    metadata: {labels: {app: web-sts}}
    spec:
      containers: [{name: main, image: \"registry.k8s.io/pause:3.10\"}]
",
    );
    let mut c = console();
    c.wait(60, "both same/web", |c| {
        let s = c.cluster()?;
        (s.workloads.contains_key("deployment/same/web")
            && s.workloads.contains_key("statefulset/same/web"))
        .then_some(())
    });
    // The name alone names two objects: refused, with both to choose from.
    let cluster = c.cluster().expect("state").clone();
    let err = c
        .gate
        .check(
            OpRequest::named(CLUSTER, "same/web", Op::Scale { replicas: 3 }),
            Some(&cluster),
            &[],
        )
        .expect_err("ambiguous");
    assert!(
        err.contains("deployment/same/web") && err.contains("statefulset/same/web"),
        "{err}"
    );

    // The row's target (kind and id) scales the StatefulSet only.
    let sts = Target::object(
        SourceKind::Kubernetes,
        ObjectKind::StatefulSet,
        "statefulset/same/web",
        "same/web",
    );
    let pending = c.plan(OpRequest::new(CLUSTER, sts, Op::Scale { replicas: 3 }));
    assert!(
        pending.plan().delta[0].starts_with("replicas 1 → 3"),
        "{:?}",
        pending.plan().delta
    );
    assert_eq!(
        pending.plan().cli,
        "kubectl scale -n same statefulset/web --replicas=3"
    );
    let op = c.confirm(pending, "").expect("released");
    let r = c.outcome(&op, 180);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(spec_replicas("same", "statefulset", "web"), 3);
    assert_eq!(spec_replicas("same", "deployment", "web"), 2, "untouched");

    // And typed with its kind, the Deployment only.
    let op = c.act(
        OpRequest::named(CLUSTER, "deployment/same/web", Op::Scale { replicas: 1 }),
        "",
    );
    let r = c.outcome(&op, 180);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(spec_replicas("same", "deployment", "web"), 1);
    assert_eq!(spec_replicas("same", "statefulset", "web"), 3, "untouched");
    let rec = c.records(&op).pop().expect("outcome");
    assert_eq!(rec["target"], "deployment/same/web", "{rec}");
}
