//! Stacks from a compose file against the real swarm: what the console deploys equals what
//! `docker stack deploy` deploys (whole service specs), a redeploy plans only what changed,
//! prune removes, an unset variable or a broken file changes nothing, a plan made before
//! someone else's change is refused, a paused update says why.

use std::collections::BTreeMap;

use clusterdeck::backends::swarm::stack::{self, Change, DeployRequest, StackPlan};
use serde_json::Value;

use crate::swarm_support::*;

const FILE: &str = r#"version: "3.8"
services:
  web:
    image: ${REPO}:${VERSION}
    command: ["sleep", "3600"]
    environment:
      MODE: prod
      PASSTHROUGH:
    labels: [team=core]
    ports: ["18180:80", {target: 81, published: 18181, protocol: udp, mode: host}]
    networks: [front, back]
    secrets: [pw]
    healthcheck: {test: "true", interval: 10s, retries: 3}
    stop_grace_period: 5s
    deploy:
      replicas: ${WEB_REPLICAS:-2}
      labels: {tier: web}
      update_config: {parallelism: 2, delay: 0s, monitor: 2s, order: stop-first}
      restart_policy: {condition: on-failure, max_attempts: 3}
      placement: {constraints: ["node.role==worker"], preferences: [{spread: node.id}]}
      resources: {limits: {cpus: "0.5", memory: 64M}}
  worker:
    image: ${REPO}:${VERSION}
    command: sleep 3600
    networks:
      back: {aliases: [jobs]}
    deploy:
      update_config: {delay: 0s, monitor: 2s}
  cache:
    image: ${REPO}:${VERSION}
    entrypoint: ["sleep"]
    command: ["3600"]
    deploy: {mode: global, update_config: {monitor: 2s}}
networks:
  front: {}
  back: {driver: overlay, attachable: true}
secrets:
  pw: {file: ./pw.txt}
"#;

struct Dir(tempfile::TempDir);

fn dir(text: &str) -> Dir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("stack.yml"), text).expect("file");
    std::fs::write(d.path().join("pw.txt"), "s3cret\n").expect("secret");
    Dir(d)
}

fn vars(version: Option<&str>) -> BTreeMap<String, String> {
    let mut v = BTreeMap::from([("REPO".to_string(), repo())]);
    if let Some(version) = version {
        v.insert("VERSION".into(), version.into());
    }
    v
}

fn request(
    d: &Dir,
    name: &str,
    version: Option<&str>,
    prune: bool,
) -> Result<DeployRequest, String> {
    let path = d.0.path().join("stack.yml");
    let text = std::fs::read_to_string(&path).expect("read");
    let loaded = clusterdeck::compose::load(&path.display().to_string(), &text, &vars(version))
        .map_err(|e| e.to_string())?;
    Ok(DeployRequest {
        stack: name.into(),
        base: d.0.path().to_path_buf(),
        loaded,
        prune,
        env: BTreeMap::from([("PASSTHROUGH".to_string(), "from-shell".to_string())]),
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

async fn engine() -> clusterdeck::backends::swarm::Connected {
    for m in managers() {
        if let Ok(c) = clusterdeck::backends::swarm::connect(&m, None).await {
            return c;
        }
    }
    panic!("no manager answered")
}

fn plan(req: &DeployRequest) -> StackPlan {
    rt().block_on(async {
        stack::plan_deploy(&engine().await, req)
            .await
            .expect("plan")
    })
}

fn apply(req: &DeployRequest, p: &StackPlan) -> Result<stack::Applied, String> {
    rt().block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let r = stack::live::apply(&engine().await, p, &req.base, &tx).await;
        drop(tx);
        let _ = drain.await;
        r
    })
}

/// Removes the stack when the test ends, passed or not (the next test publishes its ports).
struct Cleanup(&'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = try_docker(&["stack", "rm", self.0]);
    }
}

fn remove_stack(name: &str) {
    let _ = try_docker(&["stack", "rm", name]);
    eventually(60, &format!("stack {name} gone"), || {
        let nets = docker(&[
            "network",
            "ls",
            "--filter",
            &format!("label=com.docker.stack.namespace={name}"),
            "-q",
        ]);
        let svcs = docker(&[
            "service",
            "ls",
            "--filter",
            &format!("label=com.docker.stack.namespace={name}"),
            "-q",
        ]);
        (nets.trim().is_empty() && svcs.trim().is_empty()).then_some(())
    });
}

/// Every service spec of the stack with ids replaced by names (networks, secrets).
fn specs(name: &str) -> BTreeMap<String, Value> {
    let ids = docker(&[
        "network",
        "ls",
        "--format",
        "{{.ID}} {{.Name}}",
        "--no-trunc",
    ]);
    let nets: BTreeMap<String, String> = ids
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let out = docker(&[
        "service",
        "ls",
        "--filter",
        &format!("label=com.docker.stack.namespace={name}"),
        "--format",
        "{{.Name}}",
    ]);
    out.lines()
        .map(|svc| {
            let mut spec: Value = serde_json::from_str(&docker(&[
                "service",
                "inspect",
                svc,
                "--format",
                "{{json .Spec}}",
            ]))
            .expect("spec");
            if let Some(ns) = spec["TaskTemplate"]["Networks"].as_array_mut() {
                for n in ns {
                    let t = n["Target"].as_str().unwrap_or_default().to_string();
                    n["Target"] = Value::String(nets.get(&t).cloned().unwrap_or(t));
                }
            }
            if let Some(ss) = spec["TaskTemplate"]["ContainerSpec"]["Secrets"].as_array_mut() {
                for s in ss {
                    s["SecretID"] = Value::String("(id)".into());
                }
            }
            (svc.to_string(), spec)
        })
        .collect()
}

fn running_images(service: &str) -> Vec<String> {
    running_tasks(service)
        .into_iter()
        .map(|(_, _, image)| image)
        .collect()
}

#[test]
fn the_console_deploys_the_same_specs_as_docker_stack_deploy_and_a_redeploy_sends_nothing() {
    let _g = crate::lock();
    let name = "t-eq";
    remove_stack(name);
    let _cleanup = Cleanup(name);
    let d = dir(FILE);
    let path = d.0.path().join("stack.yml");
    // The reference: the docker CLI's own stack deploy (it resolves and pins digests).
    let out = std::process::Command::new("docker")
        .arg("-H")
        .arg(&managers()[0])
        .args(["stack", "deploy", "--detach=true", "-c"])
        .arg(&path)
        .arg(name)
        .env("REPO", repo())
        .env("VERSION", "2")
        .env("PASSTHROUGH", "from-shell")
        .output()
        .expect("docker stack deploy");
    assert!(
        out.status.success(),
        "docker stack deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let by_docker = specs(name);
    assert_eq!(by_docker.len(), 3, "{by_docker:?}");

    // The console's plan of the same file against what docker deployed: nothing to do.
    let req = request(&d, name, Some("2"), false).expect("loads");
    let p = plan(&req);
    for s in &p.services {
        assert_eq!(s.change, Change::Unchanged, "{}: {:?}", s.name, s.change);
    }
    assert!(p.sends_nothing(), "{p:?}");
    let before: Vec<String> = by_docker
        .keys()
        .map(|s| docker(&["service", "inspect", s, "--format", "{{.Version.Index}}"]))
        .collect();
    let applied = apply(&req, &p).expect("apply");
    assert!(applied.done.is_empty(), "{applied:?}");
    let after: Vec<String> = by_docker
        .keys()
        .map(|s| docker(&["service", "inspect", s, "--format", "{{.Version.Index}}"]))
        .collect();
    assert_eq!(before, after, "an unchanged redeploy sent an update");

    // Now the console deploys it from nothing: the specs equal the docker CLI's, whole.
    remove_stack(name);
    let p = plan(&req);
    assert!(
        p.services.iter().all(|s| s.change == Change::Create),
        "{p:?}"
    );
    apply(&req, &p).expect("apply");
    let by_console = specs(name);
    for (svc, want) in &by_docker {
        assert_eq!(
            serde_json::to_string_pretty(&by_console[svc]).expect("json"),
            serde_json::to_string_pretty(want).expect("json"),
            "{svc}: the console's spec differs from docker stack deploy's"
        );
    }
    // The docker CLI sees it as a stack with its three services.
    let ls = docker(&[
        "stack",
        "services",
        name,
        "--format",
        "{{.Name}} {{.Mode}} {{.Replicas}}",
    ]);
    assert_eq!(ls.lines().count(), 3, "{ls}");
    assert!(ls.contains(&format!("{name}_web replicated 2/2")), "{ls}");
    remove_stack(name);
}

#[test]
fn version_2_then_3_then_prune_and_refusals_change_nothing() {
    let _g = crate::lock();
    let name = "t-ver";
    remove_stack(name);
    let _cleanup = Cleanup(name);
    let d = dir(FILE);
    let req = request(&d, name, Some("2"), false).expect("loads");
    let p = plan(&req);
    apply(&req, &p).expect("apply v2");
    for svc in ["web", "worker", "cache"] {
        let full = format!("{name}_{svc}");
        let label = docker(&[
            "service",
            "inspect",
            &full,
            "--format",
            "{{index .Spec.Labels \"com.docker.stack.image\"}}",
        ]);
        assert_eq!(label.trim(), format!("{}:2", repo()));
        let image = docker(&[
            "service",
            "inspect",
            &full,
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        ]);
        assert!(
            image.trim().starts_with(&format!("{}:2@sha256:", repo())),
            "pinned: {image}"
        );
    }
    let replicas = docker(&[
        "service",
        "inspect",
        &format!("{name}_web"),
        "--format",
        "{{.Spec.Mode.Replicated.Replicas}}",
    ]);
    assert_eq!(
        replicas.trim(),
        "2",
        "${{WEB_REPLICAS:-2}} typed after interpolation"
    );

    // VERSION=3: only the images change.
    let req3 = request(&d, name, Some("3"), false).expect("loads");
    let p3 = plan(&req3);
    for s in &p3.services {
        let Change::Update(fields) = &s.change else {
            panic!("{}: {:?}", s.name, s.change)
        };
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "Labels.com.docker.stack.image",
                "TaskTemplate.ContainerSpec.Image"
            ],
            "{}: only the image changes",
            s.name
        );
        assert!(
            s.image_before.as_deref().is_some_and(|i| i.contains(":2@")),
            "{s:?}"
        );
        assert!(
            s.image_after.as_deref().is_some_and(|i| i.contains(":3@")),
            "{s:?}"
        );
    }
    let applied = apply(&req3, &p3).expect("apply v3");
    assert!(applied.unsettled.is_empty(), "{applied:?}");
    for svc in ["web", "worker", "cache"] {
        let imgs = running_images(&format!("{name}_{svc}"));
        assert!(
            !imgs.is_empty() && imgs.iter().all(|i| i.contains(":3@")),
            "{svc}: {imgs:?}"
        );
    }

    // An unset VERSION: refused, naming it; nothing changed.
    let v_before = docker(&[
        "service",
        "inspect",
        &format!("{name}_web"),
        "--format",
        "{{.Version.Index}}",
    ]);
    let e = request(&d, name, None, false).expect_err("refused");
    assert!(e.contains("VERSION") && e.contains("stack.yml:4"), "{e}");
    // A syntax error: file, line and reason.
    std::fs::write(
        d.0.path().join("stack.yml"),
        FILE.replace("    command: sleep 3600\n", "    command: [sleep, 3600\n"),
    )
    .expect("write");
    let e = request(&d, name, Some("3"), false).expect_err("refused");
    assert!(
        e.contains("stack.yml:") && !e.contains("stack.yml: "),
        "file and line: {e}"
    );
    let v_after = docker(&[
        "service",
        "inspect",
        &format!("{name}_web"),
        "--format",
        "{{.Version.Index}}",
    ]);
    assert_eq!(v_before, v_after);

    // One service out of the file: kept without prune, removed with it.
    let without = FILE.replace("  cache:\n    image: ${REPO}:${VERSION}\n    entrypoint: [\"sleep\"]\n    command: [\"3600\"]\n    deploy: {mode: global, update_config: {monitor: 2s}}\n", "");
    assert_ne!(without, FILE);
    std::fs::write(d.0.path().join("stack.yml"), &without).expect("write");
    let keep = plan(&request(&d, name, Some("3"), false).expect("loads"));
    assert!(
        keep.services.iter().all(|s| s.change == Change::Unchanged),
        "{keep:?}"
    );
    assert!(
        keep.warnings
            .iter()
            .any(|w| w.contains(&format!("{name}_cache"))),
        "{:?}",
        keep.warnings
    );
    let req_prune = request(&d, name, Some("3"), true).expect("loads");
    let pruned = plan(&req_prune);
    let removes: Vec<&str> = pruned
        .services
        .iter()
        .filter(|s| s.change == Change::Remove)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(removes, vec![format!("{name}_cache").as_str()]);
    apply(&req_prune, &pruned).expect("prune");
    let ls = docker(&["stack", "services", name, "--format", "{{.Name}}"]);
    assert!(
        !ls.contains("cache") && ls.contains("web") && ls.contains("worker"),
        "{ls}"
    );
    remove_stack(name);
}

#[test]
fn a_plan_made_before_someone_else_changed_a_service_is_refused_whole() {
    let _g = crate::lock();
    let name = "t-moved";
    remove_stack(name);
    let _cleanup = Cleanup(name);
    let d = dir(FILE);
    let req = request(&d, name, Some("2"), false).expect("loads");
    apply(&req, &plan(&req)).expect("apply v2");
    let req3 = request(&d, name, Some("3"), false).expect("loads");
    let p3 = plan(&req3);
    // Someone scales the worker between the plan and the confirmation.
    docker(&["service", "scale", "--detach", &format!("{name}_worker=2")]);
    let versions = |svc: &str| {
        docker(&[
            "service",
            "inspect",
            &format!("{name}_{svc}"),
            "--format",
            "{{.Version.Index}}",
        ])
    };
    let (web, cache) = (versions("web"), versions("cache"));
    let e = apply(&req3, &p3).expect_err("refused");
    assert!(
        e.contains(&format!("{name}_worker was changed by someone else")),
        "{e}"
    );
    assert_eq!(
        (versions("web"), versions("cache")),
        (web, cache),
        "nothing was sent"
    );
    remove_stack(name);
}

#[test]
fn an_update_that_pauses_says_why_with_the_failing_task() {
    let _g = crate::lock();
    let name = "t-pause";
    remove_stack(name);
    let _cleanup = Cleanup(name);
    let text = "services:\n  app:\n    image: ${REPO}:${VERSION}\n    deploy:\n      replicas: 2\n      update_config: {parallelism: 1, delay: 0s, monitor: 3s, failure_action: pause}\n      restart_policy: {condition: none}\n";
    let d = dir(text);
    let req = request(&d, name, Some("2"), false).expect("loads");
    apply(&req, &plan(&req)).expect("v2");
    let broken = request(&d, name, Some("broken"), false).expect("loads");
    let p = plan(&broken);
    let applied = apply(&broken, &p).expect("sent");
    let why = applied.unsettled.join("\n");
    assert!(why.contains("update paused"), "{why}");
    assert!(why.contains("the failing task"), "{why}");
    remove_stack(name);
}

#[test]
fn removing_a_stack_removes_its_services_networks_and_secrets() {
    let _g = crate::lock();
    let name = "t-rm";
    remove_stack(name);
    let _cleanup = Cleanup(name);
    let d = dir(FILE);
    let req = request(&d, name, Some("2"), false).expect("loads");
    apply(&req, &plan(&req)).expect("apply");
    let removed = rt().block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        stack::live::remove(&engine().await.docker, name, &tx).await
    });
    let removed = removed.expect("removed");
    assert!(
        removed.iter().any(|r| r == &format!("secret {name}_pw")),
        "{removed:?}"
    );
    let left = docker(&["stack", "ls", "--format", "{{.Name}}"]);
    assert!(!left.lines().any(|l| l == name), "{left}");
    // The engine deletes a removed overlay network in the background: its listing lags.
    eventually(30, "the stack's networks gone", || {
        let nets = docker(&[
            "network",
            "ls",
            "--filter",
            &format!("label=com.docker.stack.namespace={name}"),
            "-q",
        ]);
        nets.trim().is_empty().then_some(())
    });
}
