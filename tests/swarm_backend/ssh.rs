//! `ssh://` engines through ssh and the sshd in each test node's namespace
//! (`scripts/engines/ssh.sh`): listing and scaling over `ssh://root@<mgr1>`, failing over to
//! the next manager when mgr1's sshd and its sessions are gone, and the two refusals said in
//! words. The tests give ssh their own config (`-F`), never the machine's `~/.ssh`.

use std::process::Command;
use std::time::{Duration, Instant};

use clusterdeck::backends::swarm::{self, ssh};
use clusterdeck::model::SourceKind;
use clusterdeck::ops::{Op, OpRequest};

use crate::swarm_support::*;

/// ssh's options are process-wide: one test at a time sets them.
static SSH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn use_config(env_name: &str, extra: &[&str]) {
    let mut args = vec!["-F".to_string(), env(env_name)];
    args.extend(extra.iter().map(|s| s.to_string()));
    ssh::set_options(ssh::SshOptions {
        program: "ssh".into(),
        args,
    });
}

fn ssh_sh(args: &[&str]) {
    let out = Command::new("bash")
        .arg(env("CD_SSH_SCRIPT"))
        .args(args)
        .output()
        .expect("ssh.sh runs");
    assert!(
        out.status.success(),
        "ssh.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mgr(n: u8) -> String {
    format!("ssh://root@10.99.{n}.2")
}

#[test]
fn lists_and_scales_over_ssh_and_fails_over_when_an_sshd_goes() {
    let _g = crate::lock();
    let _s = SSH.lock().unwrap_or_else(|e| e.into_inner());
    use_config("CD_SSH_CONFIG", &[]);
    create_service("t-ssh", 1, "1", &[]);
    let mut c = Console::start(vec![mgr(1), mgr(2), mgr(3)]);
    let health = |c: &Console| c.cluster()?.sources.get(&SourceKind::Swarm).cloned();
    let h = health(&c).expect("swarm health");
    let via = |h: &clusterdeck::model::SourceHealth, n: u8| {
        h.endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with(&format!("{} ", mgr(n))))
    };
    assert!(via(&h, 1), "{h:?}");
    // Everything the docker CLI lists, through ssh.
    let nodes = docker(&["node", "ls", "-q"]).lines().count();
    c.wait(30, "every node and the service", |c| {
        let s = c.cluster()?;
        (s.nodes.len() == nodes && s.workload_by_name("t-ssh").is_some()).then_some(())
    });
    let op = c.act(
        OpRequest::named(CLUSTER, "t-ssh", Op::Scale { replicas: 2 }),
        "",
    );
    assert!(c.outcome(&op, 120).is_ok());
    assert_eq!(running_tasks("t-ssh").len(), 2, "scaled through ssh");

    // mgr1's sshd and every session it holds gone: the next manager, over ssh, within 30 s.
    struct Restart;
    impl Drop for Restart {
        fn drop(&mut self) {
            ssh_sh(&["start", "1"]);
        }
    }
    ssh_sh(&["stop", "1"]);
    let restart = Restart;
    let started = Instant::now();
    let mut seen = String::new();
    let h = c.wait(40, "connected through mgr2", |c| {
        let now = format!("{:?}", health(c).map(|h| (h.state, h.endpoint)));
        if now != seen {
            eprintln!("{:>6.1}s {now}", started.elapsed().as_secs_f64());
            seen = now;
        }
        health(c).filter(|h| via(h, 2) && h.label() == "connected")
    });
    let took = started.elapsed();
    eprintln!("failed over to mgr2 over ssh {took:?} after mgr1's sshd stopped");
    drop(restart);
    assert!(
        took < Duration::from_secs(30),
        "failover took {took:?}: {h:?}"
    );
    let op = c.act(
        OpRequest::named(CLUSTER, "t-ssh", Op::Scale { replicas: 1 }),
        "",
    );
    assert!(c.outcome(&op, 120).is_ok(), "writes go through mgr2");
    docker(&["service", "rm", "t-ssh"]);
}

#[test]
fn an_unknown_host_key_and_a_wrong_key_are_said_in_words() {
    let _s = SSH.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // No shared master: each attempt is a connection of its own.
    let fresh = ["-o", "ControlMaster=no", "-o", "ControlPath=none"];
    use_config("CD_SSH_CONFIG_UNKNOWN", &fresh);
    let err = rt
        .block_on(swarm::connect(&mgr(1), None))
        .err()
        .expect("refused");
    assert!(
        err.contains("ssh: host key verification failed for 10.99.1.2"),
        "{err}"
    );
    use_config("CD_SSH_CONFIG_WRONGKEY", &fresh);
    let err = rt
        .block_on(swarm::connect(&mgr(1), None))
        .err()
        .expect("refused");
    assert!(
        err.contains("ssh: permission denied (publickey) for root@10.99.1.2"),
        "{err}"
    );
    use_config("CD_SSH_CONFIG", &[]);
    // A master another test's sshd stop left behind ends within seconds; then this works.
    eventually(20, "a connection with the right key", || {
        rt.block_on(swarm::connect(&mgr(1), None)).ok().map(|_| ())
    });
}
