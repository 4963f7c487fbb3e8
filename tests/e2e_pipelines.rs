//! Deploys the way the teams deploy, end to end: the real binary in a pseudo-terminal deploys a
//! stack from a compose file on the real swarm (`:stack deploy`, the plan on screen, `:stack
//! apply`), and runs a pipeline hook that is a real `ansible-playbook` creating a service; the
//! output is on screen, the objects are in the engine, the audit log holds both phases.

#[path = "support/pty.rs"]
mod pty;
#[path = "swarm_support/mod.rs"]
mod swarm_support;

use std::sync::Mutex;

use pty::{Session, World, wait_audit_lines};
use swarm_support::*;

static SWARM: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SWARM.lock().unwrap_or_else(|p| p.into_inner())
}

fn lab(extra: &str) -> World {
    let hosts: Vec<String> = managers().iter().map(|m| format!("\"{m}\"")).collect();
    World::with_config(&format!(
        "[[contexts]]\nname = \"lab\"\ndocker = {{ hosts = [{}] }}\n{extra}",
        hosts.join(", ")
    ))
}

/// Esc alone (a key right after it would read as Alt+key).
fn esc(s: &mut Session) {
    s.send("\x1b");
    std::thread::sleep(std::time::Duration::from_millis(400));
}

struct Removed(&'static str, &'static str);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = try_docker(&[self.0, "rm", self.1]);
    }
}

#[test]
fn a_stack_is_planned_on_screen_applied_and_audited() {
    let _g = lock();
    let _ = try_docker(&["stack", "rm", "t-e2e-stack"]);
    let _cleanup = Removed("stack", "t-e2e-stack");
    let world = lab("");
    let file = world.path().join("stack.yml");
    std::fs::write(
        &file,
        format!(
            "services:\n  api:\n    image: {}:${{VERSION}}\n    deploy:\n      replicas: 2\n  jobs:\n    image: {}:${{VERSION}}\n",
            repo(),
            repo()
        ),
    )
    .expect("compose file");
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected")
    });

    // VERSION unset: nothing is planned; the console asks for it by name.
    s.send(&format!(":stack deploy t-e2e-stack {}\r", file.display()));
    s.wait_secs("the unset variable asked for", 10, |t| {
        t.contains("VERSION is not set and has no default · its value:")
    });
    s.send("2\r");
    let plan = s.wait_secs("the plan", 30, |t| t.contains("2 to create"));
    assert!(plan.contains("t-e2e-stack_api (create"), "{plan}");
    assert!(plan.contains("network t-e2e-stack_default"), "{plan}");
    assert!(
        try_docker(&["service", "inspect", "t-e2e-stack_api"]).is_none(),
        "nothing is sent before the apply"
    );
    esc(&mut s);
    s.send(":stack apply t-e2e-stack\r");
    s.wait_secs("the deploy to settle", 120, |t| {
        t.contains("done: 2 service(s) changed")
    });
    let ls = docker(&[
        "stack",
        "services",
        "t-e2e-stack",
        "--format",
        "{{.Name}} {{.Replicas}}",
    ]);
    assert!(ls.contains("t-e2e-stack_api 2/2"), "{ls}");
    let lines = wait_audit_lines(&world.audit_path(), 2);
    let last: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["verb"] == "stack-deploy")
        .collect();
    assert_eq!(last.len(), 2, "intent and outcome: {lines:?}");
    assert_eq!(last[0]["phase"], "intent");
    assert_eq!(last[0]["params"]["variables"]["VERSION"], "2");
    assert_eq!(last[0]["params"]["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(last[1]["result"], "ok");
    let after = &last[1]["params"]["after"]["images"]["t-e2e-stack_api"];
    assert!(
        after.as_str().is_some_and(|i| i.contains(":2@sha256:")),
        "{after}"
    );
}

#[test]
fn an_ansible_hook_creates_a_service_with_its_output_on_screen() {
    let _g = lock();
    let playbook_bin = env("CD_ANSIBLE_PLAYBOOK");
    let _ = try_docker(&["service", "rm", "t-hook-svc"]);
    let _cleanup = Removed("service", "t-hook-svc");
    let dir = tempfile::tempdir().expect("dir");
    let playbook = dir.path().join("deploy.yml");
    std::fs::write(
        &playbook,
        format!(
            "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - name: create the service\n      command: docker -H {} service create --detach --name {{{{ service_name }}}} --replicas 1 {}:1\n",
            managers()[0],
            repo()
        ),
    )
    .expect("playbook");
    let world = lab(&format!(
        "[hooks.make-svc]\nrun = [\"{playbook_bin}\", \"{}\", \"-e\", \"service_name={{name}}\"]\nenv = {{ LC_ALL = \"C.UTF-8\", ANSIBLE_NOCOLOR = \"1\" }}\nparams = [{{ name = \"name\", pattern = \"[a-z0-9-]{{1,40}}\" }}]\n",
        playbook.display()
    ));
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected")
    });
    s.send(":hook make-svc name=Bad_Name\r");
    s.wait_secs("the parameter refused", 10, |t| t.contains("name:"));
    esc(&mut s);
    s.send(":hook make-svc name=t-hook-svc\r");
    let screen = s.wait_secs("the playbook's recap", 120, |t| {
        t.contains("done: exited 0")
    });
    assert!(screen.contains("PLAY RECAP"), "{screen}");
    assert!(screen.contains("failed=0"), "{screen}");
    let ls = docker(&["service", "ls", "--format", "{{.Name}}"]);
    assert!(ls.lines().any(|l| l == "t-hook-svc"), "{ls}");
    let lines = wait_audit_lines(&world.audit_path(), 2);
    let hook: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["verb"] == "hook")
        .collect();
    assert_eq!(hook.len(), 2, "{lines:?}");
    assert_eq!(hook[0]["params"]["name"], "t-hook-svc");
    assert_eq!(hook[1]["result"], "ok");
}
