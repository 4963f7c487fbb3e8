//! The real binary in a pseudo-terminal against the real control plane: cordon a kwok node by
//! keys, see it on screen, through kubectl and in the audit file; the quorum pane shows the
//! control plane's etcd (over TLS) and its readiness checks. A context the config marks
//! `read_only` refuses the same keys and the command line, and sends nothing.

use std::process::Command;

use crate::kube_support::{env, kubectl};
use crate::pty::{Session, World, audit_lines, parse};

#[test]
fn cordon_a_node_by_keys() {
    let node = "kwok-node-1";
    kubectl(&["uncordon", node]);
    let world = World::with_config(&format!(
        "[[contexts]]\nname = \"k8s\"\n\
         kube = {{ kubeconfig = \"{}\" }}\n\
         etcd = {{ endpoints = [\"{}\"], ca = \"{}\", cert = \"{}\", key = \"{}\" }}\n",
        env("CD_KUBECONFIG"),
        env("CD_KUBE_ETCD_ENDPOINT"),
        env("CD_KUBE_ETCD_CA"),
        env("CD_KUBE_ETCD_CERT"),
        env("CD_KUBE_ETCD_KEY"),
    ));
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("kubernetes and etcd connected", 60, |t| {
        t.contains("kubernetes ● connected") && t.contains("etcd ● connected")
    });
    // The quorum pane: the etcd member over TLS, and the API server's checks.
    s.send("8");
    s.wait_secs("etcd member and readyz", 30, |t| {
        t.contains("cd-kube") && t.contains("★ leader") && t.contains("readyz checks pass")
    });
    s.send("2");
    s.send("/kwok-node-1\r");
    s.wait_secs("the node, ready and active", 30, |t| {
        t.lines()
            .any(|l| l.contains(node) && l.contains("ready") && l.contains("active"))
    });
    s.send("p");
    let plan = s.wait_text("Confirm: cordon");
    assert!(plan.contains(&format!("kubectl cordon {node}")), "{plan}");
    s.send("\t\r");
    s.wait_secs("the cordon to finish", 30, |t| {
        t.contains(&format!("✓ cordon node/{node}"))
    });
    s.wait_secs("the row shows it cordoned", 30, |t| {
        t.lines().any(|l| l.contains(node) && l.contains("pause"))
    });

    // The API server agrees, and names us as the field manager.
    let n: serde_json::Value = serde_json::from_str(&kubectl(&[
        "get",
        "node",
        node,
        "-o",
        "json",
        "--show-managed-fields",
    ]))
    .expect("json");
    assert_eq!(n["spec"]["unschedulable"], true);
    let managers: Vec<&str> = n["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"clusterdeck"), "{managers:?}");

    // The audit file: intent then ok outcome, for the Kubernetes backend.
    let lines = audit_lines(&world.audit_path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (intent, outcome) = (parse(&lines[0]), parse(&lines[1]));
    assert_eq!(intent["phase"], "intent");
    assert_eq!(intent["verb"], "cordon");
    assert_eq!(intent["backend"], "kubernetes");
    assert_eq!(intent["target"], format!("node/{node}"));
    assert_eq!(intent["cli"], format!("kubectl cordon {node}"));
    assert_eq!(outcome["result"], "ok");
    assert_eq!(outcome["op_id"], intent["op_id"]);

    s.send("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_terminal_restored();
    kubectl(&["uncordon", node]);
}

#[test]
fn a_read_only_context_refuses_keys_and_commands() {
    let node = "kwok-node-0";
    let world = World::with_config(&format!(
        "[[contexts]]\nname = \"k8s\"\nread_only = true\n\
         kube = {{ kubeconfig = \"{}\" }}\n",
        env("CD_KUBECONFIG"),
    ));
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("kubernetes connected, marked read-only", 60, |t| {
        t.contains("kubernetes ● connected") && t.contains("READ-ONLY")
    });
    s.send("2");
    s.send(&format!("/{node}\r"));
    s.wait_secs("the node", 30, |t| t.lines().any(|l| l.contains(node)));
    s.send("p");
    s.wait_text("context k8s is read-only (config): pause is not available");
    s.send("\r");
    s.wait_secs("the refusal dismissed", 15, |t| !t.contains("Refused"));
    s.send(&format!(":drain {node}\r"));
    s.wait_text(&format!(
        "context k8s is read-only (config): drain {node} refused; nothing was sent"
    ));
    assert!(
        !s.screen_text().contains("Confirm"),
        "no confirmation offered"
    );
    s.send("\r");
    s.wait_secs("the refusal dismissed", 15, |t| !t.contains("Refused"));
    // The command stays on the line for correcting; leave it.
    s.send("\x1b");
    s.wait_secs("the command line closed", 15, |t| !t.contains(":drain"));
    s.send("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_terminal_restored();
    let n: serde_json::Value =
        serde_json::from_str(&kubectl(&["get", "node", node, "-o", "json"])).expect("json");
    assert!(
        n["spec"]["unschedulable"].is_null(),
        "the node was not touched"
    );
    assert!(
        audit_lines(&world.audit_path()).is_empty(),
        "nothing attempted, nothing audited"
    );
}

/// One line in the CRI format kwok serves pod logs from (`kube.sh` header).
fn log_line(text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(env("CD_KUBE_LOG_FILE"))
        .expect("the pod log file");
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    writeln!(f, "{at} stdout F {text}").expect("append");
}

#[test]
fn pod_logs_are_followed_by_keys() {
    // kwok serves every container in this namespace the lines of one shared file.
    let ns = env("CD_KUBE_LOG_NAMESPACE");
    let _ = Command::new(env("CD_KUBECTL"))
        .args(["--kubeconfig", &env("CD_KUBECONFIG")])
        .args(["delete", "namespace", &ns, "--wait=true"])
        .output();
    kubectl(&["create", "namespace", &ns]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let _ = Command::new(env("CD_KUBECTL"))
        .args(["--kubeconfig", &env("CD_KUBECONFIG"), "-n", &ns])
        .args(["create", "deployment", "talker", "--replicas=2"])
        .arg("--image=registry.k8s.io/pause:3.10")
        .output();
    let pods = loop {
        let out = kubectl(&[
            "-n",
            &ns,
            "get",
            "pods",
            "--field-selector=status.phase=Running",
            "-o",
            "name",
        ]);
        let pods: Vec<String> = out
            .lines()
            .filter_map(|l| l.strip_prefix("pod/"))
            .map(str::to_string)
            .collect();
        if pods.len() == 2 {
            break pods;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "2 running talker pods: {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let world = World::with_config(&format!(
        "[[contexts]]\nname = \"k8s\"\nkube = {{ kubeconfig = \"{}\" }}\n",
        env("CD_KUBECONFIG"),
    ));
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("kubernetes connected", 60, |t| {
        t.contains("kubernetes ● connected")
    });
    let tag = std::process::id();

    // The workload: both pods, each line saying which pod it came from.
    s.send("3");
    s.send("/talker\r");
    s.wait_secs("the deployment", 30, |t| {
        t.contains(&format!("{ns}/talker"))
    });
    s.send("L");
    s.wait_text(&format!("pods of {ns}/talker"));
    let text = format!("w{tag}");
    log_line(&text);
    for p in &pods {
        s.wait_secs("the new line from each pod", 30, |t| {
            t.lines()
                .any(|l| l.contains(&format!("{p}/pause │")) && l.contains(&text))
        });
    }
    s.send("\x1b");
    s.wait_secs("the log view closed", 15, |t| !t.contains(" Logs · "));

    // One pod: its stream alone, no prefix, and it keeps following.
    s.send("4");
    s.send(&format!("/{}\r", pods[0]));
    s.wait_secs("the pod", 30, |t| t.contains(&pods[0]));
    s.send("L");
    s.wait_text(&format!("pod {ns}/{}", pods[0]));
    for i in 1..=2 {
        let text = format!("p{tag}-{i}");
        log_line(&text);
        let screen = s.wait_secs("the line, followed", 30, |t| t.contains(&text));
        assert!(
            !screen
                .lines()
                .any(|l| l.contains(&text) && l.contains("/pause │")),
            "a single stream is not prefixed:\n{screen}"
        );
    }
    // A 10 MB line arrives cut, and the stream goes on.
    log_line(&"z".repeat(10 * 1024 * 1024));
    s.wait_secs("the long line, cut", 60, |t| t.contains("[line cut: 1048"));
    let after = format!("after{tag}");
    log_line(&after);
    s.wait_secs("the line after it", 30, |t| t.contains(&after));
    // `p`: the previous container's lines (kwok's previousLogsFile), and back.
    s.send("p");
    let previous = env("CD_KUBE_PREVIOUS_LOG_LINE");
    let screen = s.wait_secs("the previous container's lines", 30, |t| {
        t.contains("previous container") && t.contains(&previous)
    });
    assert!(
        !screen.contains(&after),
        "the running container's lines are not mixed in"
    );
    s.send("p");
    s.wait_secs("the running container again", 30, |t| {
        !t.contains("previous container") && t.contains(&after)
    });
    s.send("\x1b");
    s.wait_secs("the log view closed", 15, |t| !t.contains(" Logs · "));
    s.send("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_terminal_restored();
}

/// `x` on a pod: a shell through the exec subresource (the user's kubectl, as k9s does). kwok's
/// ClusterExec (local) runs it on the kwok host with a tty and an environment marker set by the
/// test control plane: reading the marker back proves the exec really ran there.
#[test]
fn a_shell_in_a_pod_by_keys_and_back() {
    let ns = env("CD_KUBE_EXEC_NAMESPACE");
    let _ = Command::new(env("CD_KUBECTL"))
        .args(["--kubeconfig", &env("CD_KUBECONFIG")])
        .args(["delete", "namespace", &ns, "--wait=true"])
        .output();
    kubectl(&["create", "namespace", &ns]);
    let _ = Command::new(env("CD_KUBECTL"))
        .args(["--kubeconfig", &env("CD_KUBECONFIG"), "-n", &ns])
        .args(["create", "deployment", "shell", "--replicas=1"])
        .arg("--image=registry.k8s.io/pause:3.10")
        .output();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let pod = loop {
        let out = kubectl(&[
            "-n",
            &ns,
            "get",
            "pods",
            "--field-selector=status.phase=Running",
            "-o",
            "name",
        ]);
        if let Some(p) = out.lines().find_map(|l| l.strip_prefix("pod/")) {
            break p.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "a running pod: {out}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let world = World::with_config(&format!(
        "[[contexts]]\nname = \"k8s\"\nkube = {{ kubeconfig = \"{}\" }}\n",
        env("CD_KUBECONFIG"),
    ));
    // The kubectl the test command built, first on the PATH.
    let path = format!(
        "{}:{}",
        env("CD_KUBE_BIN"),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut s = Session::spawn_with_env(
        &world,
        &[],
        &[("PATH", Some(std::ffi::OsStr::new(path.as_str())))],
    );
    s.wait_secs("kubernetes connected", 60, |t| {
        t.contains("kubernetes ● connected")
    });
    s.send("4");
    s.send(&format!("/{pod}\r"));
    s.wait_secs("the pod", 30, |t| t.contains(&pod) && t.contains("running"));
    s.send("x");
    s.wait_secs("the command prompt", 10, |t| {
        t.contains(&format!("shell in {pod} (audited) · command: sh"))
    });
    s.send("\r");
    s.wait_secs("a shell", 30, |t| t.contains("# ") || t.contains("$ "));
    s.send("echo \"marker=$CD_KWOK_EXEC\"\r");
    s.wait_secs("the ClusterExec's marker", 20, |t| {
        t.contains(&format!("marker={}", env("CD_KUBE_EXEC_MARKER")))
    });
    s.send("exit\r");
    s.wait_secs("the console again", 20, |t| {
        t.contains(&pod) && t.contains("ended (exit 0")
    });
    let recs: Vec<(String, String)> = audit_lines(&world.audit_path())
        .iter()
        .map(|l| parse(l))
        .filter(|r| r["verb"] == "exec")
        .map(|r| {
            (
                r["phase"].as_str().unwrap_or_default().to_string(),
                r["object"]["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        recs,
        vec![
            ("intent".to_string(), "pod".to_string()),
            ("outcome".to_string(), "pod".to_string())
        ]
    );
    s.send("q");
    s.wait_exit();
    s.assert_terminal_restored();
    kubectl(&["delete", "namespace", &ns, "--wait=false"]);
}
