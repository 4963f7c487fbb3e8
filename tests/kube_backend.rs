//! The Kubernetes backend against a real control plane (kube-apiserver, controller-manager,
//! scheduler, etcd) with kwok's simulated nodes, started by the test command
//! (`scripts/engines/kube.sh up`). Every check of the cluster's state goes through kubectl,
//! never through the console's own model.

mod swarm_support;

use std::process::Command;

use clusterdeck::backends::kube::{self, KubeSettings};
use clusterdeck::model::{Availability, SourceKind};
use clusterdeck::ops::OpRequest;
use serde_json::Value;
use swarm_support::{Console, eventually};

const CLUSTER: &str = "k8s";

/// One test at a time: they share the nodes (a drain cordons one while another compares).
static NODES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    NODES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Set by the test command; missing means the control plane was not started.
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need the real control plane; run them through scripts/test.sh (it runs scripts/engines/kube.sh up)")
    })
}

fn kubectl_as(kubeconfig: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(env("CD_KUBECTL"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn kubectl(args: &[&str]) -> String {
    kubectl_as(&env("CD_KUBECONFIG"), args).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
}

fn kubectl_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&kubectl(&a)).expect("kubectl JSON")
}

fn apply(yaml: &str) {
    let mut child = Command::new(env("CD_KUBECTL"))
        .args(["--kubeconfig", &env("CD_KUBECONFIG"), "apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("kubectl apply");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write");
    assert!(
        child.wait().expect("wait").success(),
        "apply failed:\n{yaml}"
    );
}

/// A namespace of its own per test, deleted first if an earlier run left it.
fn namespace(ns: &str) {
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

fn deployment(ns: &str, name: &str, replicas: u32, image: &str, extra_spec: &str) {
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
    Console::with(CLUSTER, |tx| vec![kube::spawn(s, tx)])
}

fn console() -> Console {
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
        OpRequest::Scale {
            cluster: CLUSTER.into(),
            service: "t-scale/web".into(),
            replicas: 5,
        },
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
        OpRequest::Deploy {
            cluster: CLUSTER.into(),
            service: "t-roll/web".into(),
            image: "registry.k8s.io/pause:3.10".into(),
        },
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
    let op = c.act(
        OpRequest::Rollback {
            cluster: CLUSTER.into(),
            service: "t-roll/web".into(),
        },
        "",
    );
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
        OpRequest::SetAvailability {
            cluster: CLUSTER.into(),
            node: node.into(),
            availability: Availability::Drain,
        },
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
        OpRequest::SetAvailability {
            cluster: CLUSTER.into(),
            node: node.into(),
            availability: Availability::Drain,
        },
        node,
    );
    let ok = c.outcome(&op, 180).expect("drain");
    assert!(ok.contains("drained"), "{ok}");
    let op = c.act(
        OpRequest::SetAvailability {
            cluster: CLUSTER.into(),
            node: node.into(),
            availability: Availability::Active,
        },
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
    let h = cl.sources.get(&SourceKind::Kubernetes).expect("health");
    assert!(h.reason().unwrap_or("").contains("nodes"), "{h:?}");
    // The API server agrees.
    assert!(kubectl_as(&env("CD_KUBE_VIEWER_KUBECONFIG"), &["get", "nodes"]).is_err());
}
