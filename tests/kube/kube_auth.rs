//! Connecting to Kubernetes the way kubectl users do, against the real control plane started by
//! the test command (`scripts/engines/kube.sh up`; scripts/test.sh runs it and exports the
//! `CD_KUBE*` variables these tests read). kubectl, given the same files, is the reference:
//! - an exec credential plugin authenticates as its identity (team-a's viewer: its pods, no
//!   nodes), and one that fails is reported with its own words;
//! - a context the kubeconfig lacks is named, with the ones it has;
//! - the real binary in a terminal, with `KUBECONFIG` a list of files (merged; a missing one
//!   skipped) and no context in its config, connects and lists the nodes;
//! - a plugin allowed to be interactive does not write over the console's screen.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kube_support::{apply, env, kubectl, kubectl_with};
use crate::swarm_support::{Console, eventually};
use clusterdeck::backends::kube::{self, KubeSettings};
use clusterdeck::model::{SourceKind, SourceState};
use serde_json::{Value, json};

const CLUSTER: &str = "k8s";
/// The deployment the restricted identity gets to see, in its namespace.
const PROBE: &str = "auth-probe";

fn kubeconfig_json(path: &str) -> Value {
    let raw = kubectl_with(
        Some(Path::new(path)),
        &["config", "view", "--raw", "--minify", "-o", "json"],
    )
    .unwrap_or_else(|e| panic!("kubectl config view {path}: {e}"));
    serde_json::from_str(&raw).expect("kubeconfig as JSON")
}

/// Two pods in team-a for the viewer to see, made by the admin.
fn probe_pods_in_team_a() {
    apply(&format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {PROBE}, namespace: team-a}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {PROBE}}}}}
  template:
    metadata: {{labels: {{app: {PROBE}}}}}
    spec:
      containers: [{{name: main, image: \"registry.k8s.io/pause:3.10\"}}]
"
    ));
    eventually(90, "2 ready probe pods in team-a", || {
        let ready = kubectl(&[
            "-n",
            "team-a",
            "get",
            "deployment",
            PROBE,
            "-o",
            "jsonpath={.status.readyReplicas}",
        ]);
        (ready.trim() == "2").then_some(())
    });
}

/// The names of the pods in team-a, as kubectl with `kubeconfig` lists them.
fn team_a_pods(kubeconfig: &Path) -> BTreeSet<String> {
    kubectl_with(
        Some(kubeconfig),
        &["-n", "team-a", "get", "pods", "-o", "name"],
    )
    .unwrap_or_else(|e| panic!("kubectl get pods as {}: {e}", kubeconfig.display()))
    .lines()
    .filter_map(|l| l.strip_prefix("pod/"))
    .map(str::to_string)
    .collect()
}

/// An executable shell script.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).expect("write the plugin");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod +x");
}

/// The viewer's kubeconfig (its cluster, CA and namespace) with the user's token replaced by
/// an exec credential plugin, as EKS, GKE and OIDC logins are set up.
fn exec_kubeconfig(dir: &Path, plugin: &Path) -> PathBuf {
    let mut kc = kubeconfig_json(&env("CD_KUBE_VIEWER_KUBECONFIG"));
    kc["users"] = json!([{
        "name": "viewer-exec",
        "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": plugin,
            "interactiveMode": "Never",
        }},
    }]);
    kc["contexts"][0]["context"]["user"] = json!("viewer-exec");
    let path = dir.join("exec.kubeconfig");
    std::fs::write(&path, serde_json::to_vec_pretty(&kc).expect("json")).expect("write");
    path
}

fn console(kubeconfig: &Path, context: Option<&str>) -> Console {
    let s = KubeSettings {
        cluster: CLUSTER.into(),
        kubeconfig: Some(kubeconfig.to_path_buf()),
        context: context.map(str::to_string),
        namespace: None,
    };
    Console::with(CLUSTER, |tx| kube::spawn(s, true, tx).into_iter().collect())
}

/// The Kubernetes source's state once it has settled (no longer connecting).
fn settled_state(c: &mut Console, secs: u64) -> SourceState {
    c.wait(secs, "the Kubernetes source to settle", |c| {
        let h = c.cluster()?.sources.get(&SourceKind::Kubernetes)?;
        (h.state != SourceState::Connecting).then(|| h.state.clone())
    })
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn an_exec_credential_plugin_authenticates_as_its_identity() {
    probe_pods_in_team_a();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let token = kubectl(&["-n", "team-a", "create", "token", "viewer", "--duration=1h"]);
    std::fs::write(d.join("token"), token.trim()).expect("write the token");
    let ran = d.join("plugin-ran");
    let plugin = d.join("get-token.sh");
    script(
        &plugin,
        &format!(
            "echo run >> '{ran}'\n\
             printf '%s' \"$KUBERNETES_EXEC_INFO\" > '{info}'\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"%s\"}}}}\\n' \"$(cat '{token}')\"\n",
            ran = ran.display(),
            info = d.join("exec-info.json").display(),
            token = d.join("token").display(),
        ),
    );
    let kc = exec_kubeconfig(d, &plugin);

    let mut c = console(&kc, None);
    // The viewer may list pods in team-a and nothing cluster-wide: nodes are refused, and the
    // pods are exactly those kubectl (with the viewer's own token) lists.
    let viewer = PathBuf::from(env("CD_KUBE_VIEWER_KUBECONFIG"));
    let (shown, listed) = c.wait(
        60,
        "nodes forbidden, team-a's pods as kubectl lists them",
        |c| {
            let cl = c.cluster()?;
            if !cl.denied.get("nodes")?.contains("forbidden") {
                return None;
            }
            let shown: BTreeSet<String> = cl
                .replicas
                .keys()
                .map(|id| id.strip_prefix("pod/team-a/").unwrap_or(id).to_string())
                .collect();
            let listed = team_a_pods(&viewer);
            (shown == listed).then_some((shown, listed))
        },
    );
    assert_eq!(
        shown.iter().filter(|p| p.starts_with(PROBE)).count(),
        2,
        "{shown:?}"
    );
    let cl = c.cluster().expect("state");
    assert!(cl.nodes.is_empty(), "{:?}", cl.nodes.keys());
    let h = cl.sources.get(&SourceKind::Kubernetes).expect("health");
    // Refused kinds are named, and what may be seen is fresh (not stale).
    assert_eq!(h.label(), "connected", "{h:?}");
    assert!(cl.denied.contains_key("nodes"), "{:?}", cl.denied);
    assert_eq!(h.endpoint.as_deref(), Some("https://127.0.0.1:16443/"));

    // The plugin did run, told as kubectl tells it: ExecCredential v1, not interactive.
    assert!(lines(&ran) >= 1, "the plugin never ran");
    let info: Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("exec-info.json")).expect("KUBERNETES_EXEC_INFO saved"),
    )
    .expect("KUBERNETES_EXEC_INFO is JSON");
    assert_eq!(info["kind"], "ExecCredential", "{info}");
    assert_eq!(
        info["apiVersion"], "client.authentication.k8s.io/v1",
        "{info}"
    );
    assert_eq!(info["spec"]["interactive"], false, "{info}");

    // kubectl, given the same kubeconfig, is the same identity: the same pods, no nodes.
    let before = lines(&ran);
    assert_eq!(team_a_pods(&kc), listed);
    assert!(lines(&ran) > before, "kubectl ran the plugin too");
    let err = kubectl_with(Some(&kc), &["get", "nodes"]).expect_err("nodes are forbidden");
    assert!(err.contains("forbidden"), "{err}");
}

#[test]
fn a_failing_exec_plugin_is_reported_with_its_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = dir.path().join("expired-login.sh");
    let message = "clusterdeck-test: the login session expired, sign in again";
    script(&plugin, &format!("echo '{message}' >&2\nexit 1\n"));
    let kc = exec_kubeconfig(dir.path(), &plugin);

    let mut c = console(&kc, None);
    let state = settled_state(&mut c, 30);
    assert!(
        matches!(state, SourceState::Unreachable { .. }),
        "a failed login is unreachable (and retried), not unconfigured: {state:?}"
    );
    let h = c
        .cluster()
        .and_then(|cl| cl.sources.get(&SourceKind::Kubernetes))
        .expect("health")
        .clone();
    let reason = h
        .reason()
        .unwrap_or_else(|| panic!("no reason given: {h:?}"));
    // It names the plugin and passes on what it said.
    assert!(
        reason.contains(&plugin.display().to_string()),
        "the plugin is not named: {reason}"
    );
    assert!(
        reason.contains(message),
        "its stderr is not shown: {reason}"
    );
    assert!(
        reason.contains("credential plugin") && !reason.contains("Output {"),
        "said in words, not a debug dump: {reason}"
    );
    let cl = c.cluster().expect("state");
    assert!(
        cl.nodes.is_empty() && cl.replicas.is_empty(),
        "nothing is shown"
    );

    // kubectl fails the same way, with the plugin's words.
    let err =
        kubectl_with(Some(&kc), &["-n", "team-a", "get", "pods"]).expect_err("kubectl fails too");
    assert!(err.contains(message), "{err}");

    // The operator signs in again: the console tries again by itself and gets in.
    probe_pods_in_team_a();
    let token = kubectl(&["-n", "team-a", "create", "token", "viewer", "--duration=1h"]);
    script(
        &plugin,
        &format!(
            "printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"%s\"}}}}\\n' '{}'\n",
            token.trim()
        ),
    );
    let want = team_a_pods(&kc);
    c.wait(60, "team-a's pods after signing in again", |c| {
        let cl = c.cluster()?;
        let ours: BTreeSet<String> = cl
            .replicas
            .keys()
            .filter_map(|id| id.strip_prefix("pod/team-a/"))
            .map(str::to_string)
            .collect();
        (ours == want).then_some(())
    });
}

#[test]
fn an_unknown_context_is_named_with_the_ones_that_exist() {
    // The admin's and the viewer's files merged by kubectl into one with two contexts.
    let dir = tempfile::tempdir().expect("tempdir");
    let merged = dir.path().join("merged.kubeconfig");
    let out = Command::new(env("CD_KUBECTL"))
        .args(["config", "view", "--raw", "--flatten"])
        .env(
            "KUBECONFIG",
            format!(
                "{}:{}",
                env("CD_KUBECONFIG"),
                env("CD_KUBE_VIEWER_KUBECONFIG")
            ),
        )
        .output()
        .expect("kubectl config view");
    assert!(out.status.success(), "{out:?}");
    std::fs::write(&merged, &out.stdout).expect("write");
    let contexts: Vec<String> =
        kubectl_with(Some(&merged), &["config", "get-contexts", "-o", "name"])
            .expect("contexts")
            .lines()
            .map(str::to_string)
            .collect();
    assert_eq!(contexts.len(), 2, "{contexts:?}");
    let err =
        kubectl_with(Some(&merged), &["--context", "nope", "get", "pods"]).expect_err("kubectl");
    assert!(err.contains("nope"), "{err}");

    let mut c = console(&merged, Some("nope"));
    let state = settled_state(&mut c, 30);
    assert_ne!(state, SourceState::Connected);
    let h = c
        .cluster()
        .and_then(|cl| cl.sources.get(&SourceKind::Kubernetes))
        .expect("health");
    let reason = h
        .reason()
        .unwrap_or_else(|| panic!("no reason given: {h:?}"));
    assert!(reason.contains("`nope`"), "{reason}");
    for name in &contexts {
        assert!(
            reason.contains(name.as_str()),
            "{name} not listed: {reason}"
        );
    }
    assert!(c.cluster().expect("state").nodes.is_empty());
}

/// A namespace operator who may manage Deployments but not read ReplicaSets: the console
/// works as for anyone else (fresh, actions possible), and only the rollback plan says what it
/// cannot know.
#[test]
fn replicasets_forbidden_costs_only_the_rollback_image() {
    // A deployment of its own: rolling it must not disturb the other tests' probe.
    const RS_PROBE: &str = "rs-probe";
    apply(&format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {RS_PROBE}, namespace: team-a}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {RS_PROBE}}}}}
  template:
    metadata: {{labels: {{app: {RS_PROBE}}}}}
    spec:
      containers: [{{name: main, image: \"registry.k8s.io/pause:3.10\"}}]
"
    ));
    apply(
        "apiVersion: v1
kind: ServiceAccount
metadata: {name: no-rs, namespace: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: no-rs, namespace: team-a}
rules:
- apiGroups: [\"\"]
  resources: [pods, events]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: no-rs, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: no-rs}
subjects: [{kind: ServiceAccount, name: no-rs, namespace: team-a}]
",
    );
    let token = kubectl(&["-n", "team-a", "create", "token", "no-rs", "--duration=1h"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut kc = kubeconfig_json(&env("CD_KUBE_VIEWER_KUBECONFIG"));
    kc["users"] = json!([{"name": "no-rs", "user": {"token": token.trim()}}]);
    kc["contexts"][0]["context"]["user"] = json!("no-rs");
    let path = dir.path().join("no-rs.kubeconfig");
    std::fs::write(&path, serde_json::to_vec_pretty(&kc).expect("json")).expect("write");
    assert!(
        kubectl_with(Some(&path), &["-n", "team-a", "get", "replicasets"]).is_err(),
        "kubectl is refused replicasets too"
    );

    let mut c = console(&path, None);
    let id = format!("deployment/team-a/{RS_PROBE}");
    c.wait(60, "the deployment, replicasets refused", |c| {
        let cl = c.cluster()?;
        (cl.workloads.contains_key(&id) && cl.denied.contains_key("replicasets")).then_some(())
    });
    let cl = c.cluster().expect("state").clone();
    let h = cl.sources.get(&SourceKind::Kubernetes).expect("health");
    assert_eq!(h.label(), "connected", "not stale: {h:?}");
    // Undo needs revision 2 to plan at all: roll the probe once (as the admin).
    kubectl(&[
        "-n",
        "team-a",
        "set",
        "image",
        &format!("deployment/{RS_PROBE}"),
        "main=registry.k8s.io/pause:3.9",
    ]);
    let cl = c.wait(60, "a second revision", |c| {
        let cl = c.cluster()?;
        (cl.workloads.get(&id)?.spec_version >= 2).then(|| cl.clone())
    });
    let plan = c
        .gate
        .check(
            clusterdeck::ops::OpRequest::named(
                CLUSTER,
                format!("team-a/{RS_PROBE}"),
                clusterdeck::ops::Op::Rollback {
                    from_revision: None,
                    to_revision: None,
                },
            ),
            Some(&cl),
            &[],
        )
        .expect("a plan, not a refusal");
    assert!(
        plan.plan().delta[0].contains("listing replicasets is forbidden"),
        "{:?}",
        plan.plan().delta
    );
    kubectl(&["-n", "team-a", "delete", "deployment", RS_PROBE]);
}

// ---------------------------------------------------------------------------------------------
// The real binary in a terminal.

/// Variables other than KUBECONFIG that discovery reads: none of them may leak into the child.
const OTHER_SOURCES: [&str; 16] = [
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "ETCDCTL_ENDPOINTS",
    "ETCDCTL_CACERT",
    "ETCDCTL_CERT",
    "ETCDCTL_KEY",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
];

/// kubectl with `KUBECONFIG=list`, as a user's shell would run it.
fn kubectl_listed(list: &std::ffi::OsStr, args: &[&str]) -> String {
    let out = Command::new(env("CD_KUBECTL"))
        .env("KUBECONFIG", list)
        .args(args)
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?} with KUBECONFIG={}: {}",
        list.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// With `KUBECONFIG` the list of files and HOME the world's empty home, kubectl reaches the
/// cluster, and so does the console, with no context in its config: connected, and the nodes
/// pane lists every node kubectl lists.
fn connects_through_kubeconfig_env(files: &[PathBuf]) {
    let list = std::env::join_paths(files).expect("KUBECONFIG list");
    let current = kubectl_listed(&list, &["config", "current-context"]);
    assert_eq!(current.trim(), env("CD_KUBE_CONTEXT"));
    let nodes: Vec<String> = kubectl_listed(&list, &["get", "nodes", "-o", "name"])
        .lines()
        .filter_map(|l| l.strip_prefix("node/"))
        .map(str::to_string)
        .collect();
    for n in ["kwok-node-0", "kwok-node-1", "kwok-node-2"] {
        assert!(nodes.iter().any(|x| x == n), "{n} missing in {nodes:?}");
    }

    let world = crate::pty::World::new();
    assert!(!world.path().join("home/.kube/config").exists());
    let mut env: Vec<(&str, Option<&std::ffi::OsStr>)> = vec![("KUBECONFIG", Some(&list))];
    env.extend(OTHER_SOURCES.iter().map(|v| (*v, None)));
    let mut s = crate::pty::Session::spawn_with_env(&world, &[], &env);
    // Either way the answer comes at once: connected, or not configured with the reason.
    let screen = s.wait_secs("the Kubernetes source to connect or fail", 60, |t| {
        t.contains("kubernetes ● connected") || t.contains("kubernetes not configured")
    });
    assert!(
        screen.contains("kubernetes ● connected"),
        "KUBECONFIG={} is not used as kubectl uses it; screen:\n{screen}",
        list.display()
    );
    s.send("2");
    s.wait_secs("every node kubectl lists, ready", 30, |t| {
        nodes.iter().all(|n| {
            t.lines()
                .any(|l| l.contains(n.as_str()) && l.contains("ready"))
        })
    });
    s.send("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_terminal_restored();
}

/// The admin kubeconfig split in two, as people keep them: the credentials in one file, the
/// context and the current-context in another. `KUBECONFIG=A:B` merges them.
#[test]
fn a_kubeconfig_list_is_merged_as_kubectl_merges_it() {
    let admin = kubeconfig_json(&env("CD_KUBECONFIG"));
    let cluster = &admin["clusters"][0];
    let user = &admin["users"][0];
    let context = &admin["contexts"][0];
    let field = |v: &Value, k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("{k} missing in {v}"))
            .to_string()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("credentials.yaml");
    let b = dir.path().join("context.yaml");
    // YAML, as kubectl writes it (`kubectl config set-credentials --kubeconfig A` leaves an
    // empty current-context in the file, which must not hide B's).
    std::fs::write(
        &a,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: \"\"\nclusters:\n- name: {}\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: {}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
            field(cluster, "name"),
            field(&cluster["cluster"], "server"),
            field(&cluster["cluster"], "certificate-authority-data"),
            field(user, "name"),
            field(&user["user"], "client-certificate-data"),
            field(&user["user"], "client-key-data"),
        ),
    )
    .expect("write A");
    std::fs::write(
        &b,
        format!(
            "apiVersion: v1\nkind: Config\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {}\n    user: {}\ncurrent-context: {ctx}\n",
            field(&context["context"], "cluster"),
            field(&context["context"], "user"),
            ctx = field(context, "name"),
        ),
    )
    .expect("write B");
    connects_through_kubeconfig_env(&[a, b]);
}

/// A file in the list that does not exist is skipped, as kubectl skips it (a shell profile
/// that lists `~/.kube/config` and per-cluster files that come and go).
#[test]
fn a_missing_file_in_the_kubeconfig_list_is_skipped_as_kubectl_skips_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = dir.path().join("admin.yaml");
    std::fs::copy(env("CD_KUBECONFIG"), &admin).expect("copy the admin kubeconfig");
    connects_through_kubeconfig_env(&[dir.path().join("gone.yaml"), admin]);
}

/// A plugin that may be interactive (`IfAvailable`, the v1beta1 default) gets the terminal
/// from kubectl; the console owns the terminal, so what the plugin writes must not land on the
/// screen.
#[test]
fn an_exec_plugin_does_not_write_over_the_screen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let token = kubectl(&["-n", "team-a", "create", "token", "viewer", "--duration=1h"]);
    std::fs::write(d.join("token"), token.trim()).expect("write the token");
    let noise = "PLUGIN-NOISE: opening a browser to sign in";
    let plugin = d.join("chatty-login.sh");
    script(
        &plugin,
        &format!(
            "echo '{noise}' >&2\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"%s\"}}}}\\n' \"$(cat '{token}')\"\n",
            token = d.join("token").display(),
        ),
    );
    let kc = exec_kubeconfig(d, &plugin);
    let mut json: Value = serde_json::from_slice(&std::fs::read(&kc).expect("read")).expect("json");
    json["users"][0]["user"]["exec"]["interactiveMode"] = json!("IfAvailable");
    std::fs::write(&kc, serde_json::to_vec_pretty(&json).expect("json")).expect("write");

    let world = crate::pty::World::with_config(&format!(
        "[[contexts]]\nname = \"{CLUSTER}\"\nkube = {{ kubeconfig = \"{}\" }}\n",
        kc.display()
    ));
    let mut s = crate::pty::Session::spawn(&world, &[]);
    s.wait_secs("the viewer's view: nodes forbidden", 60, |t| {
        t.contains("forbidden to list") && t.contains("nodes")
    });
    let raw = String::from_utf8_lossy(&s.raw_output()).into_owned();
    assert!(
        !raw.contains(noise),
        "the plugin's stderr went to the console's terminal; screen:\n{}",
        s.screen_text()
    );
    s.send("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_terminal_restored();
}

/// `insecure-skip-tls-verify: true` works, as with kubectl, and the source says the server's
/// certificate is not verified; the admin kubeconfig (with its CA) says nothing of the kind.
#[test]
fn an_unverified_tls_kubeconfig_connects_and_says_so() {
    let admin = kubeconfig_json(&env("CD_KUBECONFIG"));
    let cluster = &admin["clusters"][0];
    let user = &admin["users"][0];
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("insecure.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n",
            s(&cluster["cluster"], "server"),
            s(&user["user"], "client-certificate-data"),
            s(&user["user"], "client-key-data"),
        ),
    )
    .expect("write the kubeconfig");
    let mut c = console(&path, None);
    let h = c.wait(60, "connected", |c| {
        let h = c.cluster()?.sources.get(&SourceKind::Kubernetes)?.clone();
        matches!(h.state, SourceState::Connected).then_some(h)
    });
    assert!(h.tls_unverified, "the badge is set");
    let mut verified = console(Path::new(&env("CD_KUBECONFIG")), None);
    let h = verified.wait(60, "connected", |c| {
        let h = c.cluster()?.sources.get(&SourceKind::Kubernetes)?.clone();
        matches!(h.state, SourceState::Connected).then_some(h)
    });
    assert!(!h.tls_unverified);
}
