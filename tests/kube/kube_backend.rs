//! The Kubernetes backend against a real control plane (kube-apiserver, controller-manager,
//! scheduler, etcd) with kwok's simulated nodes, started by the test command
//! (`scripts/engines/kube.sh up`). Every check of the cluster's state goes through kubectl,
//! never through the console's own model.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::kube_support::{apply, env, kubectl, kubectl_as, kubectl_json};
use crate::swarm_support::{Console, eventually};
use chrono::{DateTime, Utc};
use clusterdeck::app::incidents::{IncidentKind, Incidents};
use clusterdeck::backends::kube::{self, KubeSettings};
use clusterdeck::model::{Availability, Event, Severity, SourceKind, UpdateState};
use clusterdeck::ops::{Op, OpRequest};
use serde_json::Value;

pub(crate) const CLUSTER: &str = "k8s";

/// One test at a time: they share the nodes (a drain cordons one while another compares).
static NODES: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn lock() -> std::sync::MutexGuard<'static, ()> {
    NODES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A namespace of its own per test, deleted first if an earlier run left it.
pub(crate) fn namespace(ns: &str) {
    let _ = kubectl_as(
        &env("CD_KUBECONFIG"),
        &["delete", "namespace", ns, "--wait=true"],
    );
    kubectl(&["create", "namespace", ns]);
    eventually(60, "the namespace's default service account", || {
        kubectl_as(
            &env("CD_KUBECONFIG"),
            &["-n", ns, "get", "serviceaccount", "default"],
        )
        .ok()
        .map(|_| ())
    });
}

pub(crate) fn deployment(ns: &str, name: &str, replicas: u32, image: &str, extra_spec: &str) {
    apply(&format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      {extra_spec}
      containers: [{{name: main, image: \"{image}\"}}]
"
    ));
}

fn ready_replicas(ns: &str, name: &str) -> u64 {
    kubectl_json(&["-n", ns, "get", "deployment", name])["status"]["readyReplicas"]
        .as_u64()
        .unwrap_or(0)
}

fn console_as(kubeconfig: String, namespace: Option<&str>) -> Console {
    let s = KubeSettings {
        cluster: CLUSTER.into(),
        kubeconfig: Some(kubeconfig.into()),
        context: None,
        namespace: namespace.map(str::to_string),
    };
    Console::with(CLUSTER, |tx| kube::spawn(s, true, tx).into_iter().collect())
}

pub(crate) fn console() -> Console {
    let mut c = console_as(env("CD_KUBECONFIG"), None);
    c.wait(60, "the first full snapshot", |c| {
        (c.cluster()?.sources.get(&SourceKind::Kubernetes)?.label() == "connected").then_some(())
    });
    c
}

fn audit_verbs(c: &Console) -> Vec<(String, String, Option<String>)> {
    clusterdeck::ops::audit::AuditLog::new(&c.audit)
        .read_all()
        .expect("audit")
        .into_iter()
        .map(|r| (r.phase, r.cli, r.result))
        .collect()
}

#[test]
fn nodes_workloads_and_pods_match_kubectl() {
    let _g = lock();
    namespace("t-list");
    deployment("t-list", "web", 3, "registry.k8s.io/pause:3.10", "");
    eventually(90, "3 ready pods", || {
        (ready_replicas("t-list", "web") == 3).then_some(())
    });
    let mut c = console();
    c.wait(30, "the deployment and its pods", |c| {
        let cl = c.cluster()?;
        let w = cl.workloads.get("deployment/t-list/web")?;
        (w.running == 3 && cl.replicas_of_workload(&w.id).count() == 3).then_some(())
    });
    let cl = c.cluster().expect("state");
    // Nodes: name, readiness, cordon, zone and the instance named by providerID.
    let nodes = kubectl_json(&["get", "nodes"]);
    let items = nodes["items"].as_array().expect("items");
    assert_eq!(cl.nodes.len(), items.len());
    for n in items {
        let name = n["metadata"]["name"].as_str().expect("name");
        let ours = cl.nodes.get(&format!("node/{name}")).expect("node shown");
        let ready = n["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
            .map(|c| c["status"] == "True")
            .unwrap_or(false);
        assert_eq!(
            ours.status == clusterdeck::model::NodeStatus::Ready,
            ready,
            "{name}"
        );
        let cordoned = n["spec"]["unschedulable"].as_bool().unwrap_or(false);
        assert_eq!(ours.availability == Availability::Pause, cordoned, "{name}");
        assert_eq!(
            ours.az.as_deref(),
            n["metadata"]["labels"]["topology.kubernetes.io/zone"].as_str(),
            "{name}"
        );
        if let Some(p) = n["spec"]["providerID"].as_str() {
            let id = p.rsplit('/').next().expect("id");
            assert_eq!(ours.instance_id.as_deref(), Some(id), "{name}");
        }
    }
    // Pods of the namespace: name, node, ready.
    let pods = kubectl_json(&["-n", "t-list", "get", "pods"]);
    let pods = pods["items"].as_array().expect("items");
    assert_eq!(pods.len(), 3);
    for p in pods {
        let name = p["metadata"]["name"].as_str().expect("name");
        let ours = cl
            .replicas
            .get(&format!("pod/t-list/{name}"))
            .expect("pod shown");
        assert_eq!(ours.workload_id, "deployment/t-list/web");
        assert_eq!(
            ours.node_id.as_deref(),
            p["spec"]["nodeName"]
                .as_str()
                .map(|n| format!("node/{n}"))
                .as_deref()
        );
        assert!(ours.is_running(), "{ours:?}");
        assert_eq!(
            ours.name.as_deref(),
            Some(format!("t-list/{name}").as_str())
        );
        let restarts: u64 = p["status"]["containerStatuses"]
            .as_array()
            .map(|cs| cs.iter().filter_map(|c| c["restartCount"].as_u64()).sum())
            .unwrap_or(0);
        assert_eq!(ours.restarts.map(u64::from), Some(restarts), "{name}");
    }
    let w = cl
        .workloads
        .get("deployment/t-list/web")
        .expect("deployment");
    let d = kubectl_json(&["-n", "t-list", "get", "deployment", "web"]);
    assert_eq!(
        u64::from(w.desired),
        d["spec"]["replicas"].as_u64().expect("replicas")
    );
    assert_eq!(w.image, "registry.k8s.io/pause:3.10");
    assert_eq!(
        w.spec_version.to_string(),
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
            .as_str()
            .expect("revision")
    );
    // The control plane's own readiness checks, all passing.
    c.wait(30, "readyz checks", |c| {
        let cp = &c.cluster()?.control_plane;
        (cp.len() > 5 && cp.iter().all(|k| k.ok) && cp.iter().any(|k| k.name == "etcd"))
            .then_some(())
    });
}

#[test]
fn scale_two_to_five_reaches_five_ready_pods_with_our_field_manager() {
    let _g = lock();
    namespace("t-scale");
    deployment("t-scale", "web", 2, "registry.k8s.io/pause:3.10", "");
    eventually(90, "2 ready", || {
        (ready_replicas("t-scale", "web") == 2).then_some(())
    });
    let mut c = console();
    c.wait(30, "the deployment", |c| {
        c.cluster()?
            .workloads
            .get("deployment/t-scale/web")
            .map(|_| ())
    });
    let op = c.act(
        OpRequest::named(CLUSTER, "t-scale/web", Op::Scale { replicas: 5 }),
        "",
    );
    let r = c.outcome(&op, 180);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(ready_replicas("t-scale", "web"), 5, "kubectl sees 5 ready");
    let d = kubectl_json(&[
        "-n",
        "t-scale",
        "get",
        "deployment",
        "web",
        "--show-managed-fields",
    ]);
    let managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"clusterdeck"), "{managers:?}");
    assert_eq!(
        audit_verbs(&c),
        [
            (
                "intent".into(),
                "kubectl scale -n t-scale deployment/web --replicas=5".into(),
                None
            ),
            (
                "outcome".into(),
                "kubectl scale -n t-scale deployment/web --replicas=5".into(),
                Some("ok".into())
            ),
        ]
    );
}

#[test]
fn deploy_a_new_image_then_rollout_undo_restores_the_old_one() {
    let _g = lock();
    namespace("t-roll");
    deployment("t-roll", "web", 2, "registry.k8s.io/pause:3.9", "");
    eventually(90, "2 ready", || {
        (ready_replicas("t-roll", "web") == 2).then_some(())
    });
    let mut c = console();
    c.wait(30, "the deployment", |c| {
        c.cluster()?
            .workloads
            .get("deployment/t-roll/web")
            .map(|_| ())
    });
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "t-roll/web",
            Op::Deploy {
                image: "registry.k8s.io/pause:3.10".into(),
            },
        ),
        "",
    );
    let r = c.outcome(&op, 180);
    assert!(r.is_ok(), "{r:?}");
    let image = |d: &Value| {
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let d = kubectl_json(&["-n", "t-roll", "get", "deployment", "web"]);
    assert_eq!(image(&d), "registry.k8s.io/pause:3.10");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    c.wait(30, "revision 2 shown", |c| {
        (c.cluster()?
            .workloads
            .get("deployment/t-roll/web")?
            .spec_version
            == 2)
            .then_some(())
    });
    // The deploy named the one container, as `kubectl set image` does.
    assert_eq!(
        audit_verbs(&c)[0].1,
        "kubectl set image -n t-roll deployment/web main=registry.k8s.io/pause:3.10"
    );
    // The ReplicaSets say what the undo restores before anything is sent.
    c.wait(30, "the previous revision's image", |c| {
        (c.cluster()?
            .workloads
            .get("deployment/t-roll/web")?
            .previous_image
            .as_deref()
            == Some("registry.k8s.io/pause:3.9"))
        .then_some(())
    });
    let undo = OpRequest::named(
        CLUSTER,
        "t-roll/web",
        Op::Rollback {
            from_revision: None,
            to_revision: None,
        },
    );
    let cluster = c.cluster().expect("state").clone();
    let pending = c
        .gate
        .check(undo.clone(), Some(&cluster), &[])
        .expect("planned");
    assert_eq!(
        pending.plan().delta[0],
        "image registry.k8s.io/pause:3.10 → registry.k8s.io/pause:3.9"
    );
    let op = c.act(undo, "");
    let r = c.outcome(&op, 180).expect("undo");
    assert!(r.contains("revision 1") && r.contains("pause:3.9"), "{r}");
    let d = kubectl_json(&["-n", "t-roll", "get", "deployment", "web"]);
    assert_eq!(
        image(&d),
        "registry.k8s.io/pause:3.9",
        "the old image is back"
    );
    // kubectl's undo makes the old revision the newest: 3.
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    eventually(90, "2 ready on the old image", || {
        (ready_replicas("t-roll", "web") == 2).then_some(())
    });

    // An undo planned at revision 3, released after someone else rolled out revision 4, is
    // refused: it would restore a template the operator never saw in the plan.
    c.wait(30, "revision 3 shown", |c| {
        (c.cluster()?
            .workloads
            .get("deployment/t-roll/web")?
            .spec_version
            == 3)
            .then_some(())
    });
    let cluster = c.cluster().expect("state").clone();
    let pending = c
        .gate
        .check(
            OpRequest::named(
                CLUSTER,
                "t-roll/web",
                Op::Rollback {
                    from_revision: None,
                    to_revision: None,
                },
            ),
            Some(&cluster),
            &[],
        )
        .expect("planned");
    kubectl(&[
        "-n",
        "t-roll",
        "set",
        "image",
        "deployment/web",
        "main=registry.k8s.io/pause:3.8",
    ]);
    eventually(60, "revision 4 recorded by the controller", || {
        let d = kubectl_json(&["-n", "t-roll", "get", "deployment", "web"]);
        (d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4").then_some(())
    });
    let released = c
        .gate
        .release(pending.confirm("").expect("confirmed"), Some(&cluster), &[])
        .expect("released");
    let err = c
        .outcome(&released.op_id, 60)
        .expect_err("the plan is out of date");
    assert!(
        err.contains("t-roll/web changed since you confirmed") && err.contains("nothing done"),
        "{err}"
    );
    let d = kubectl_json(&["-n", "t-roll", "get", "deployment", "web"]);
    assert_eq!(
        image(&d),
        "registry.k8s.io/pause:3.8",
        "nothing was changed"
    );
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "4"
    );
}

#[test]
fn drain_evicts_the_pods_and_a_budget_that_forbids_it_is_reported() {
    let _g = lock();
    namespace("t-drain");
    let node = "kwok-node-2";
    // Schedulable, whatever an earlier run left.
    kubectl(&["uncordon", node]);
    // Two apps pinned to the node: one free to move, one whose budget allows no disruption.
    let pin = format!("nodeSelector: {{kubernetes.io/hostname: {node}}}");
    deployment("t-drain", "free", 2, "registry.k8s.io/pause:3.10", &pin);
    deployment("t-drain", "guarded", 1, "registry.k8s.io/pause:3.10", &pin);
    apply(
        "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded, namespace: t-drain}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: guarded}}
",
    );
    eventually(90, "3 pods ready on the node", || {
        (ready_replicas("t-drain", "free") == 2 && ready_replicas("t-drain", "guarded") == 1)
            .then_some(())
    });
    // The budget controller has to have seen the pod before it protects it.
    eventually(60, "the budget allows no disruption", || {
        let pdb = kubectl_json(&["-n", "t-drain", "get", "pdb", "guarded"]);
        (pdb["status"]["currentHealthy"] == 1 && pdb["status"]["disruptionsAllowed"] == 0)
            .then_some(())
    });
    let mut c = console();
    c.wait(30, "the pods on the node", |c| {
        (c.cluster()?
            .replicas_on_node(&format!("node/{node}"))
            .count()
            >= 3)
            .then_some(())
    });
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            node,
            Op::SetAvailability {
                availability: Availability::Drain,
            },
        ),
        node,
    );
    let err = c
        .outcome(&op, 180)
        .expect_err("the budget blocks the drain");
    assert!(
        err.contains("PodDisruptionBudget") && err.contains("t-drain/guarded-"),
        "{err}"
    );
    let n = kubectl_json(&["get", "node", node]);
    assert_eq!(n["spec"]["unschedulable"], true, "cordoned first");
    let pods = kubectl_json(&["-n", "t-drain", "get", "pods"]);
    let left: Vec<String> = pods["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["spec"]["nodeName"] == node && p["metadata"]["deletionTimestamp"].is_null())
        .filter_map(|p| p["metadata"]["labels"]["app"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        left,
        ["guarded"],
        "the free pods were evicted, the guarded one stays"
    );

    // Without the budget the drain completes; uncordon makes the node schedulable again.
    kubectl(&["-n", "t-drain", "delete", "pdb", "guarded"]);
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            node,
            Op::SetAvailability {
                availability: Availability::Drain,
            },
        ),
        node,
    );
    let ok = c.outcome(&op, 180).expect("drain");
    assert!(ok.contains("drained"), "{ok}");
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            node,
            Op::SetAvailability {
                availability: Availability::Active,
            },
        ),
        "",
    );
    c.outcome(&op, 60).expect("uncordon");
    let n = kubectl_json(&["get", "node", node]);
    assert!(n["spec"]["unschedulable"].is_null() || n["spec"]["unschedulable"] == false);
    let verbs: Vec<String> = audit_verbs(&c).into_iter().map(|v| v.1).collect();
    assert!(verbs.contains(&format!(
        "kubectl drain {node} --ignore-daemonsets --delete-emptydir-data"
    )));
    assert!(verbs.contains(&format!("kubectl uncordon {node}")));
}

#[test]
fn a_restricted_account_sees_its_namespace_and_forbidden_elsewhere() {
    let _g = lock();
    // What the viewer may see: pods in team-a, made by the admin.
    let _ = kubectl_as(
        &env("CD_KUBECONFIG"),
        &["-n", "team-a", "delete", "deployment", "seen"],
    );
    deployment("team-a", "seen", 1, "registry.k8s.io/pause:3.10", "");
    eventually(90, "1 ready", || {
        (ready_replicas("team-a", "seen") == 1).then_some(())
    });
    let mut c = console_as(env("CD_KUBE_VIEWER_KUBECONFIG"), None);
    c.wait(60, "nodes forbidden, team-a's pods shown", |c| {
        let cl = c.cluster()?;
        let denied = cl.denied.get("nodes")?;
        (denied.contains("forbidden")
            && cl
                .replicas
                .values()
                .any(|r| r.workload_id == "deployment/team-a/seen"))
        .then_some(())
    });
    let cl = c.cluster().expect("state");
    assert!(cl.nodes.is_empty());
    // Only team-a, never another namespace.
    assert!(
        cl.replicas.keys().all(|id| id.starts_with("pod/team-a/")),
        "{:?}",
        cl.replicas.keys()
    );
    // What may be seen is fresh: a refusal is not staleness, so actions stay possible and the
    // API server is the one to say no.
    let h = cl.sources.get(&SourceKind::Kubernetes).expect("health");
    assert_eq!(h.label(), "connected", "{h:?}");
    // The API server agrees.
    assert!(kubectl_as(&env("CD_KUBE_VIEWER_KUBECONFIG"), &["get", "nodes"]).is_err());
    let op = c.act(
        OpRequest::named(CLUSTER, "team-a/seen", Op::Scale { replicas: 2 }),
        "",
    );
    let err = c.outcome(&op, 60).expect_err("the viewer may not scale");
    assert!(err.contains("forbidden"), "{err}");
    assert_eq!(ready_replicas("team-a", "seen"), 1, "nothing changed");
}

const REVISION: &str = "deployment.kubernetes.io/revision";
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// Undoes, even when the test fails, what a test changed outside its namespace (a cordon) and
/// removes the namespace, so the tests after it find the nodes as they were.
struct Cleanup {
    ns: &'static str,
    uncordon: Option<&'static str>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let admin = env("CD_KUBECONFIG");
        if let Some(node) = self.uncordon {
            let _ = kubectl_as(&admin, &["uncordon", node]);
        }
        // Gone before the next test: a drain refuses to evict in a namespace being deleted.
        let _ = kubectl_as(
            &admin,
            &[
                "delete",
                "namespace",
                self.ns,
                "--wait=true",
                "--timeout=120s",
            ],
        );
    }
}

/// The pods of `ns` (kubectl's view), terminating ones included.
fn pods(ns: &str) -> Vec<Value> {
    kubectl_json(&["-n", ns, "get", "pods"])["items"]
        .as_array()
        .expect("items")
        .clone()
}

fn pod_name(p: &Value) -> String {
    p["metadata"]["name"].as_str().expect("name").to_string()
}

fn terminating(p: &Value) -> bool {
    !p["metadata"]["deletionTimestamp"].is_null()
}

fn pod_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// A deployment's condition of `type_`: (status, reason).
fn condition(d: &Value, type_: &str) -> Option<(String, String)> {
    let c = d["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)?;
    Some((
        c["status"].as_str().unwrap_or("").to_string(),
        c["reason"].as_str().unwrap_or("").to_string(),
    ))
}

#[test]
fn rollout_restart_replaces_every_pod_and_bumps_the_revision() {
    let _g = lock();
    let ns = "t-restart";
    namespace(ns);
    deployment(ns, "web", 2, "registry.k8s.io/pause:3.10", "");
    eventually(90, "2 ready", || {
        (ready_replicas(ns, "web") == 2).then_some(())
    });
    let d = kubectl_json(&["-n", ns, "get", "deployment", "web"]);
    assert_eq!(d["metadata"]["annotations"][REVISION], "1");
    assert!(
        d["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT].is_null(),
        "not restarted yet"
    );
    // Settled: exactly the two pods of revision 1, none on its way out.
    let old: BTreeSet<String> = eventually(60, "2 pods, none terminating", || {
        let ps = pods(ns);
        (ps.len() == 2 && ps.iter().all(|p| !terminating(p) && pod_ready(p)))
            .then(|| ps.iter().map(pod_name).collect())
    });
    let mut c = console();
    c.wait(30, "the deployment", |c| {
        c.cluster()?
            .workloads
            .get("deployment/t-restart/web")
            .map(|_| ())
    });
    // The annotation holds whole seconds (RFC 3339): compare from the start of this second.
    let before = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let op = c.act(OpRequest::named(CLUSTER, "t-restart/web", Op::Restart), "");
    let ok = c.outcome(&op, 180).expect("restart");
    let after = Utc::now();
    assert!(ok.starts_with("restarted"), "{ok}");

    let d = kubectl_json(&["-n", ns, "get", "deployment", "web"]);
    let stamp = d["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
        .as_str()
        .unwrap_or_else(|| panic!("{RESTARTED_AT} set on the pod template: {d}"))
        .to_string();
    let at = DateTime::parse_from_rfc3339(&stamp)
        .unwrap_or_else(|e| panic!("{RESTARTED_AT}={stamp}: not RFC 3339: {e}"))
        .with_timezone(&Utc);
    assert!(
        before <= at && at <= after,
        "{RESTARTED_AT}={stamp} is not the time of the restart ({before} .. {after})"
    );
    assert_eq!(
        d["metadata"]["annotations"][REVISION], "2",
        "a new revision"
    );
    let managers: Vec<String> = kubectl_json(&[
        "-n",
        ns,
        "get",
        "deployment",
        "web",
        "--show-managed-fields",
    ])["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str().map(str::to_string))
        .collect();
    assert!(managers.iter().any(|m| m == "clusterdeck"), "{managers:?}");

    // Reported done: the pods serving are new ones, made from the restarted template.
    let serving: Vec<Value> = pods(ns)
        .into_iter()
        .filter(|p| !terminating(p) && pod_ready(p))
        .collect();
    let names: BTreeSet<String> = serving.iter().map(pod_name).collect();
    assert_eq!(names.len(), 2, "2 ready pods: {names:?}");
    assert!(
        names.is_disjoint(&old),
        "old pods still serving: {:?}",
        names.intersection(&old).collect::<Vec<_>>()
    );
    for p in &serving {
        assert_eq!(
            p["metadata"]["annotations"][RESTARTED_AT].as_str(),
            Some(stamp.as_str()),
            "{}",
            pod_name(p)
        );
    }
    // And the old ones go away for good.
    eventually(60, "the old pods gone", || {
        let now: BTreeSet<String> = pods(ns).iter().map(pod_name).collect();
        (now.len() == 2 && now.is_disjoint(&old)).then_some(())
    });
    c.wait(30, "revision 2 shown", |c| {
        let w = c.cluster()?.workloads.get("deployment/t-restart/web")?;
        (w.spec_version == 2 && w.running == 2).then_some(())
    });
    let cli = "kubectl rollout restart -n t-restart deployment/web";
    assert_eq!(
        audit_verbs(&c),
        [
            ("intent".into(), cli.into(), None),
            ("outcome".into(), cli.into(), Some("ok".into())),
        ]
    );
}

#[test]
fn a_rollout_past_its_progress_deadline_is_reported_stalled() {
    let _g = lock();
    let ns = "t-stall";
    namespace(ns);
    let _cleanup = Cleanup { ns, uncordon: None };
    // A surge pod first, never an old one down: with the namespace's pod quota full, the
    // new ReplicaSet can never create its first pod.
    apply(
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: t-stall}
spec:
  replicas: 2
  progressDeadlineSeconds: 10
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: \"registry.k8s.io/pause:3.9\"}]
",
    );
    eventually(90, "2 ready", || {
        (ready_replicas(ns, "web") == 2).then_some(())
    });
    eventually(60, "2 pods, none terminating", || {
        let ps = pods(ns);
        (ps.len() == 2 && ps.iter().all(|p| !terminating(p))).then_some(())
    });
    apply(
        "apiVersion: v1
kind: ResourceQuota
metadata: {name: pods, namespace: t-stall}
spec: {hard: {pods: \"2\"}}
",
    );
    // The quota controller has counted the two pods: the quota is enforced from here on.
    eventually(60, "the quota full", || {
        let q = kubectl_json(&["-n", ns, "get", "resourcequota", "pods"]);
        (q["status"]["hard"]["pods"] == "2" && q["status"]["used"]["pods"] == "2").then_some(())
    });
    let mut c = console();
    c.wait(30, "the deployment, settled", |c| {
        let w = c.cluster()?.workloads.get("deployment/t-stall/web")?;
        (w.update.as_ref()?.state == UpdateState::Completed).then_some(())
    });
    let started = Instant::now();
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "t-stall/web",
            Op::Deploy {
                image: "registry.k8s.io/pause:3.10".into(),
            },
        ),
        "",
    );
    let err = c
        .outcome(&op, 200)
        .expect_err("a rollout that cannot progress is not a success");
    let took = started.elapsed();
    assert!(
        err.contains("stalled: progress deadline exceeded")
            && err.contains("has timed out progressing"),
        "{err}"
    );
    // The deadline is 10 s; the follow's own limit (300 s) must not be what ended it.
    assert!(
        took < Duration::from_secs(90),
        "reported after {took:?}: {err}"
    );
    let d = kubectl_json(&["-n", ns, "get", "deployment", "web"]);
    assert_eq!(
        condition(&d, "Progressing"),
        Some(("False".into(), "ProgressDeadlineExceeded".into())),
        "{}",
        d["status"]
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.k8s.io/pause:3.10"
    );
    // The quota refused the surge pod: still the two old pods, still serving.
    assert_eq!(ready_replicas(ns, "web"), 2);
    let images: Vec<String> = pods(ns)
        .iter()
        .filter(|p| !terminating(p))
        .filter_map(|p| {
            p["spec"]["containers"][0]["image"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        images,
        ["registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"]
    );
    // The console's model says so too, and its incident engine.
    let mut engine = Incidents::default();
    c.wait(
        30,
        "an UPDATE PAUSED incident for the stalled rollout",
        |c| {
            engine.update(&c.store, &[], Utc::now());
            engine
                .current
                .iter()
                .find(|i| i.kind == IncidentKind::UpdatePaused)
                .filter(|i| i.affected.iter().any(|a| a.object == "t-stall/web"))
                .map(|_| ())
        },
    );
    let u = c.wait(30, "the workload shown stalled", |c| {
        let u = c
            .cluster()?
            .workloads
            .get("deployment/t-stall/web")?
            .update
            .clone()?;
        (u.state == UpdateState::Paused).then_some(u)
    });
    assert!(
        u.message.starts_with("stalled: progress deadline exceeded"),
        "{u:?}"
    );

    // With the quota gone, a new deploy is followed to its end: the stalled condition the
    // deployment still carries from the previous rollout is not this rollout's verdict.
    kubectl(&["-n", ns, "delete", "resourcequota", "pods"]);
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "t-stall/web",
            Op::Deploy {
                image: "registry.k8s.io/pause:3.8".into(),
            },
        ),
        "",
    );
    let r = c.outcome(&op, 200);
    let d = kubectl_json(&["-n", ns, "get", "deployment", "web"]);
    assert!(
        r.is_ok(),
        "{r:?}\nkubectl now: Progressing {:?}, {} ready",
        condition(&d, "Progressing"),
        d["status"]["readyReplicas"]
    );
    eventually(90, "2 ready on pause:3.8", || {
        let d = kubectl_json(&["-n", ns, "get", "deployment", "web"]);
        (d["status"]["updatedReplicas"] == 2 && d["status"]["readyReplicas"] == 2).then_some(())
    });
}

#[test]
fn drain_leaves_daemonset_and_mirror_pods_where_they_are() {
    let _g = lock();
    let ns = "t-drain-keep";
    namespace(ns);
    // kube_e2e cordons kwok-node-1 meanwhile: this one is ours.
    let node = "kwok-node-2";
    kubectl(&["uncordon", node]);
    let _cleanup = Cleanup {
        ns,
        uncordon: Some(node),
    };
    let pin = format!("nodeSelector: {{kubernetes.io/hostname: {node}}}");
    deployment(ns, "moving", 2, "registry.k8s.io/pause:3.10", &pin);
    // The nodes have no taints; a DaemonSet's pods tolerate the cordon by themselves.
    apply(&format!(
        "apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      {pin}
      containers: [{{name: main, image: \"registry.k8s.io/pause:3.10\"}}]
"
    ));
    // What the kubelet posts for a static pod: bound to its node, the mirror annotation.
    apply(&format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: static-web
  namespace: {ns}
  annotations: {{kubernetes.io/config.mirror: \"checksum-0\"}}
spec:
  nodeName: {node}
  containers: [{{name: main, image: \"registry.k8s.io/pause:3.10\"}}]
"
    ));
    let app = |p: &Value| p["metadata"]["labels"]["app"].as_str().map(str::to_string);
    let on_node = |p: &Value| p["spec"]["nodeName"] == node;
    // (daemon pod uid, mirror pod uid), once all four pods run on the node.
    let (daemon_uid, mirror_uid) = eventually(90, "4 ready pods on the node", || {
        let ps = pods(ns);
        let ready: Vec<&Value> = ps
            .iter()
            .filter(|p| on_node(p) && pod_ready(p) && !terminating(p))
            .collect();
        let moving = ready
            .iter()
            .filter(|p| app(p).as_deref() == Some("moving"))
            .count();
        let daemon = ready.iter().find(|p| app(p).as_deref() == Some("agent"))?;
        let mirror = ready.iter().find(|p| pod_name(p) == "static-web")?;
        (moving == 2).then(|| {
            (
                daemon["metadata"]["uid"].as_str().expect("uid").to_string(),
                mirror["metadata"]["uid"].as_str().expect("uid").to_string(),
            )
        })
    });
    // The API server kept the annotation that makes it a mirror pod.
    let mirror = kubectl_json(&["-n", ns, "get", "pod", "static-web"]);
    assert_eq!(
        mirror["metadata"]["annotations"]["kubernetes.io/config.mirror"],
        "checksum-0"
    );
    // Every pod the drain must leave alone on this node, in any namespace (ours: 2).
    let field = format!("spec.nodeName={node}");
    let all = kubectl_json(&["get", "pods", "-A", "--field-selector", &field]);
    let kept = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| {
            !p["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_null()
                || p["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|os| {
                        os.iter()
                            .any(|o| o["kind"] == "DaemonSet" && o["controller"] == true)
                    })
        })
        .count();
    assert!(kept >= 2, "{kept}");

    let mut c = console();
    c.wait(30, "the 4 pods on the node", |c| {
        let cl = c.cluster()?;
        (cl.replicas_on_node(&format!("node/{node}"))
            .filter(|r| r.id.starts_with("pod/t-drain-keep/"))
            .count()
            == 4)
            .then_some(())
    });
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            node,
            Op::SetAvailability {
                availability: Availability::Drain,
            },
        ),
        node,
    );
    let ok = c.outcome(&op, 180).expect("drain");
    assert!(
        ok.starts_with(&format!("{node} drained: "))
            && ok.ends_with(&format!(" pods evicted, {kept} DaemonSet/mirror pods left")),
        "{ok}"
    );
    let evicted: u32 = ok
        .trim_start_matches(&format!("{node} drained: "))
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {ok}"));
    assert!(evicted >= 2, "{ok}");

    let n = kubectl_json(&["get", "node", node]);
    assert_eq!(n["spec"]["unschedulable"], true, "cordoned");
    let ps = pods(ns);
    let still: Vec<String> = ps
        .iter()
        .filter(|p| on_node(p) && app(p).as_deref() == Some("moving"))
        .map(pod_name)
        .collect();
    assert!(still.is_empty(), "the deployment's pods left: {still:?}");
    let find = |uid: &str| ps.iter().find(|p| p["metadata"]["uid"] == uid).cloned();
    for (what, uid) in [("DaemonSet pod", &daemon_uid), ("mirror pod", &mirror_uid)] {
        let p = find(uid).unwrap_or_else(|| panic!("the {what} ({uid}) is gone: {ps:?}"));
        assert!(on_node(&p), "the {what} moved: {p}");
        assert!(!terminating(&p), "the {what} was evicted: {p}");
        assert!(pod_ready(&p), "the {what} is not ready: {p}");
    }

    // Uncordoned, the deployment's pods come back to the node they are pinned to.
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            node,
            Op::SetAvailability {
                availability: Availability::Active,
            },
        ),
        "",
    );
    c.outcome(&op, 60).expect("uncordon");
    let n = kubectl_json(&["get", "node", node]);
    assert!(n["spec"]["unschedulable"].is_null() || n["spec"]["unschedulable"] == false);
    eventually(90, "2 ready again", || {
        (ready_replicas(ns, "moving") == 2).then_some(())
    });
}

/// What the console should show for one of kubectl's events: (severity, object kind, target,
/// "reason: message"), and the seconds it first and last happened.
type EventKey = (Severity, String, String, String);

fn kube_time(v: &Value) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    // Whole seconds: what a Time holds; a MicroTime is cut to its second.
    DateTime::from_timestamp(t.timestamp(), 0)
}

fn kubectl_events(ns: &str) -> Vec<(EventKey, DateTime<Utc>, DateTime<Utc>, Value)> {
    let list = kubectl_json(&["-n", ns, "get", "events"]);
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            let o = &e["involvedObject"];
            let key = (
                if e["type"] == "Warning" {
                    Severity::Warn
                } else {
                    Severity::Info
                },
                o["kind"].as_str().unwrap_or("").to_ascii_lowercase(),
                format!(
                    "{}/{}",
                    o["namespace"].as_str().unwrap_or(""),
                    o["name"].as_str().unwrap_or("")
                ),
                format!(
                    "{}: {}",
                    e["reason"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                ),
            );
            // As kubectl prints them: first seen, last seen (a series' last observation).
            let first = kube_time(&e["firstTimestamp"])
                .or_else(|| kube_time(&e["eventTime"]))
                .or_else(|| kube_time(&e["metadata"]["creationTimestamp"]))
                .expect("a time");
            let last = kube_time(&e["series"]["lastObservedTime"])
                .or_else(|| kube_time(&e["lastTimestamp"]))
                .unwrap_or(first);
            (key, first, last, e.clone())
        })
        .collect()
}

fn our_key(e: &Event) -> EventKey {
    (
        e.severity,
        e.object.clone(),
        e.target.clone(),
        e.message.clone(),
    )
}

#[test]
fn a_namespaces_events_match_kubectl() {
    let _g = lock();
    let ns = "t-events";
    namespace(ns);
    // Watching before anything happens: every event arrives as it is made, none depends on
    // the newest-100 cut of the first list.
    let mut c = console();
    let prefix = format!("{ns}/");
    // Ours, gathered as they come so the store's cap (other namespaces' events) cannot push
    // them out before they are compared.
    let mut ours: Vec<Event> = Vec::new();
    let gather = |c: &Console, ours: &mut Vec<Event>| {
        for e in c.cluster().into_iter().flat_map(|cl| cl.events.iter()) {
            if e.target.starts_with(&prefix) && !ours.contains(e) {
                ours.push(e.clone());
            }
        }
    };
    let until = |c: &mut Console, ours: &mut Vec<Event>, what: &str, f: &dyn Fn() -> bool| {
        c.wait(90, what, |c| {
            gather(c, ours);
            f().then_some(())
        });
    };
    deployment(ns, "web", 2, "registry.k8s.io/pause:3.10", "");
    until(&mut c, &mut ours, "2 ready", &|| {
        ready_replicas(ns, "web") == 2
    });
    // Up, down, and up again a second later: the same "Scaled up … from 2 to 3" twice, which
    // the API server keeps as one event with a count of 2.
    kubectl(&["-n", ns, "scale", "deployment/web", "--replicas=3"]);
    until(&mut c, &mut ours, "3 ready", &|| {
        ready_replicas(ns, "web") == 3
    });
    kubectl(&["-n", ns, "scale", "deployment/web", "--replicas=2"]);
    until(&mut c, &mut ours, "back to 2 pods", &|| {
        pods(ns).len() == 2 && ready_replicas(ns, "web") == 2
    });
    std::thread::sleep(Duration::from_millis(1500));
    kubectl(&["-n", ns, "scale", "deployment/web", "--replicas=3"]);
    until(&mut c, &mut ours, "3 ready again", &|| {
        ready_replicas(ns, "web") == 3
    });
    // A warning from the scheduler (an events.k8s.io event: an eventTime, no lastTimestamp).
    apply(
        "apiVersion: v1
kind: Pod
metadata: {name: nowhere, namespace: t-events}
spec:
  nodeSelector: {kubernetes.io/hostname: no-such-node}
  containers: [{name: main, image: \"registry.k8s.io/pause:3.10\"}]
",
    );
    until(&mut c, &mut ours, "the FailedScheduling event", &|| {
        kubectl_events(ns)
            .iter()
            .any(|(k, ..)| k.3.starts_with("FailedScheduling: "))
    });
    let theirs = kubectl_events(ns);
    let repeated = theirs
        .iter()
        .find(|(_, _, _, e)| e["count"].as_u64().unwrap_or(0) >= 2)
        .unwrap_or_else(|| panic!("no repeated event: {theirs:#?}"));
    assert!(repeated.2 > repeated.1, "{:#?}", repeated.3);
    for reason in [
        "ScalingReplicaSet",
        "SuccessfulCreate",
        "SuccessfulDelete",
        "Scheduled",
    ] {
        assert!(
            theirs
                .iter()
                .any(|(k, ..)| k.3.starts_with(&format!("{reason}: "))),
            "no {reason} event: {theirs:#?}"
        );
    }

    // Every event kubectl lists is shown, at the time it last happened.
    let started = Instant::now();
    let theirs = loop {
        c.pump();
        gather(&c, &mut ours);
        let theirs = kubectl_events(ns);
        let missing: Vec<&(EventKey, DateTime<Utc>, DateTime<Utc>, Value)> = theirs
            .iter()
            .filter(|(k, _, last, _)| !ours.iter().any(|e| our_key(e) == *k && e.at == *last))
            .collect();
        if missing.is_empty() {
            break theirs;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "kubectl's events not shown (or not at their last time) after 60 s:\n{:#?}\nours:\n{:#?}",
            missing
                .iter()
                .map(|(k, first, last, _)| (k, first, last))
                .collect::<Vec<_>>(),
            ours.iter().map(|e| (our_key(e), e.at)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    // And nothing shown that kubectl does not list: each of ours is one of theirs, at a time
    // between its first and last occurrence.
    for e in &ours {
        assert!(
            theirs
                .iter()
                .any(|(k, first, last, _)| our_key(e) == *k && *first <= e.at && e.at <= *last),
            "shown but not listed by kubectl: {e:?}\nkubectl: {:#?}",
            theirs
                .iter()
                .map(|(k, first, last, _)| (k, first, last))
                .collect::<Vec<_>>()
        );
        assert_eq!(e.source, SourceKind::Kubernetes);
    }
    let ours_set: BTreeSet<(String, String, String)> = ours
        .iter()
        .map(|e| (e.object.clone(), e.target.clone(), e.message.clone()))
        .collect();
    let theirs_set: BTreeSet<(String, String, String)> = theirs
        .iter()
        .map(|(k, ..)| (k.1.clone(), k.2.clone(), k.3.clone()))
        .collect();
    assert_eq!(ours_set, theirs_set);
}

/// A kwok node made NotReady at once (kwok stops managing it, then its Ready condition is
/// patched, rather than waiting ~40 s for its lease): a NODE DOWN incident; managed again, it
/// resolves.
#[test]
fn a_node_made_not_ready_is_a_node_down_incident_until_it_is_ready_again() {
    let _g = lock();
    let nodes = kubectl_json(&["get", "nodes"]);
    let node = nodes["items"]
        .as_array()
        .and_then(|items| items.last())
        .and_then(|n| n["metadata"]["name"].as_str())
        .expect("a node")
        .to_string();
    let mut c = console();
    let mut engine = Incidents::default();
    let down = |engine: &Incidents| {
        engine
            .current
            .iter()
            .filter(|i| i.kind == IncidentKind::NodeDown)
            .flat_map(|i| i.affected.iter())
            .find(|a| a.object == node)
            .map(|a| a.detail.clone())
    };
    c.wait(60, "the node listed, no incident on it", |c| {
        engine.update(&c.store, &[], Utc::now());
        let listed = c.cluster()?.nodes.values().any(|n| n.hostname == node);
        (listed && down(&engine).is_none()).then_some(())
    });
    kubectl(&["annotate", "node", &node, "kwok.x-k8s.io/node-"]);
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch = format!(
        r#"{{"status":{{"conditions":[{{"type":"Ready","status":"False","reason":"KubeletNotReady","message":"made NotReady by the test","lastHeartbeatTime":"{now}","lastTransitionTime":"{now}"}}]}}}}"#
    );
    kubectl(&["patch", "node", &node, "--subresource=status", "-p", &patch]);
    let patched = Instant::now();
    let detail = c.wait(30, "a NODE DOWN incident for the node", |c| {
        engine.update(&c.store, &[], Utc::now());
        down(&engine)
    });
    eprintln!(
        "NODE DOWN {node} ({detail}) {:?} after the patch",
        patched.elapsed()
    );
    assert!(detail.contains("down"), "{detail}");
    // Managed by kwok again: Ready, and the incident resolves.
    kubectl(&[
        "annotate",
        "node",
        &node,
        "kwok.x-k8s.io/node=fake",
        "--overwrite",
    ]);
    c.wait(90, "the incident resolved", |c| {
        engine.update(&c.store, &[], Utc::now());
        down(&engine).is_none().then_some(())
    });
    assert!(
        engine
            .resolved
            .iter()
            .any(|r| r.incident.kind == IncidentKind::NodeDown),
        "listed as resolved"
    );
}

/// The describe reader against the control plane: a Deployment and one of its pods are the
/// objects `kubectl get -o json` gives, field by field (both redacted the same way); a pod's
/// environment values are hidden.
#[test]
fn a_deployment_and_a_pod_are_described_as_kubectl_gets_them() {
    use clusterdeck::app::describe::{redact, summary};
    use clusterdeck::model::ObjectKind;
    let ns = "t-describe";
    namespace(ns);
    let _cleanup = Cleanup { ns, uncordon: None };
    apply(
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: t-describe}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: \"registry.k8s.io/pause:3.10\", env: [{name: DB_PASSWORD, value: hunter2}]}]
",
    );
    eventually(90, "1 ready", || {
        (ready_replicas(ns, "web") == 1).then_some(())
    });
    let pod = eventually(60, "the pod", || {
        pods(ns).iter().find(|p| !terminating(p)).map(pod_name)
    });
    let s = KubeSettings {
        cluster: CLUSTER.into(),
        kubeconfig: Some(env("CD_KUBECONFIG").into()),
        context: None,
        namespace: None,
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let read = |kind: ObjectKind, id: String| -> Value {
        rt.block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::channel(8);
            let h = kube::spawn_reader(s.clone(), tx);
            h.tx.send((kind, id)).await.expect("asked");
            let msg = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("an answer in time")
                .expect("a message");
            let clusterdeck::backends::BackendMsg::Described { json, .. } = msg else {
                panic!("not a description")
            };
            serde_json::from_str(&json.expect("read")).expect("JSON")
        })
    };
    // The status of a live Deployment moves (observedGeneration, conditions' times): the
    // fields compared are what `kubectl get` shows of its object and spec.
    let ours = redact(&read(
        ObjectKind::Deployment,
        format!("deployment/{ns}/web"),
    ));
    let theirs = redact(&kubectl_json(&[
        "-n",
        ns,
        "get",
        "deployment",
        "web",
        "-o",
        "json",
    ]));
    for key in ["apiVersion", "kind", "spec"] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    for key in [
        "name",
        "namespace",
        "uid",
        "labels",
        "annotations",
        "generation",
    ] {
        assert_eq!(
            ours["metadata"][key], theirs["metadata"][key],
            "metadata.{key}"
        );
    }
    let text = ours.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    let lines = summary(&ours);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("images") && l.contains("main=registry.k8s.io/pause:3.10")),
        "{lines:?}"
    );
    let ours = redact(&read(ObjectKind::Pod, format!("pod/{ns}/{pod}")));
    let theirs = redact(&kubectl_json(&["-n", ns, "get", "pod", &pod, "-o", "json"]));
    for key in ["apiVersion", "kind", "spec"] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    assert_eq!(ours["metadata"]["uid"], theirs["metadata"]["uid"]);
    assert_eq!(
        ours["spec"]["containers"][0]["env"][0]["value"],
        "[redacted]"
    );
}

/// Three revisions; back to the first by choosing it: the plan names its image, and kubectl
/// shows that image after.
#[test]
fn three_revisions_and_a_rollback_to_the_first_by_choosing_it() {
    let _g = lock();
    let ns = "t-revs";
    namespace(ns);
    let _cleanup = Cleanup { ns, uncordon: None };
    deployment(ns, "web", 1, "registry.k8s.io/pause:3.8", "");
    eventually(90, "1 ready", || {
        (ready_replicas(ns, "web") == 1).then_some(())
    });
    for image in ["registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.10"] {
        kubectl(&[
            "-n",
            ns,
            "set",
            "image",
            "deployment/web",
            &format!("main={image}"),
        ]);
        kubectl(&[
            "-n",
            ns,
            "rollout",
            "status",
            "deployment/web",
            "--timeout=90s",
        ]);
    }
    let mut c = console();
    let revisions = c.wait(30, "three revisions kept", |c| {
        let w = c.cluster()?.workloads.get("deployment/t-revs/web")?;
        (w.spec_version == 3 && w.revisions.len() == 3).then(|| w.revisions.clone())
    });
    let kept: Vec<(u64, &str)> = revisions
        .iter()
        .map(|r| (r.number, r.image.as_str()))
        .collect();
    assert_eq!(
        kept,
        vec![
            (3, "registry.k8s.io/pause:3.10"),
            (2, "registry.k8s.io/pause:3.9"),
            (1, "registry.k8s.io/pause:3.8"),
        ]
    );
    // Each with its creation time and what going back to it changes.
    assert!(revisions.iter().all(|r| r.created.is_some()));
    assert!(
        revisions[0].changes.is_empty(),
        "the current one changes nothing"
    );
    assert_eq!(
        revisions[2].changes,
        vec!["image registry.k8s.io/pause:3.10 → registry.k8s.io/pause:3.8".to_string()]
    );
    // Between two revisions neither of which is current: only the image, 3.8 → 3.9.
    let w = c
        .cluster()
        .and_then(|cl| cl.workloads.get("deployment/t-revs/web"))
        .cloned()
        .expect("the deployment");
    let view = clusterdeck::app::describe::revision_diff(&w, 1, 2).expect("both kept");
    let json = view.json.expect("the diff");
    assert_eq!(
        json["changes"],
        serde_json::json!(["image registry.k8s.io/pause:3.8 → registry.k8s.io/pause:3.9"])
    );
    assert_eq!(json["from"]["image"], "registry.k8s.io/pause:3.8");
    let to_first = || {
        OpRequest::named(
            CLUSTER,
            "t-revs/web",
            Op::Rollback {
                from_revision: None,
                to_revision: Some(1),
            },
        )
    };
    let plan = c.plan(to_first());
    let delta = plan.plan().delta.join("\n");
    assert!(
        delta.contains("image registry.k8s.io/pause:3.10 → registry.k8s.io/pause:3.8"),
        "{delta}"
    );
    assert!(
        plan.plan().cli.ends_with("--to-revision=1"),
        "{}",
        plan.plan().cli
    );
    let op = c.act(to_first(), "");
    let r = c.outcome(&op, 180);
    assert!(r.is_ok(), "{r:?}");
    let d = kubectl_json(&["-n", ns, "get", "deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.k8s.io/pause:3.8"
    );
    // A revision that is not kept is refused before anything is sent.
    let err = c
        .gate
        .check(
            OpRequest::named(
                CLUSTER,
                "t-revs/web",
                Op::Rollback {
                    from_revision: None,
                    to_revision: Some(9),
                },
            ),
            c.cluster(),
            &[],
        )
        .expect_err("no revision 9");
    assert!(err.contains("keeps no revision 9"), "{err}");
}
