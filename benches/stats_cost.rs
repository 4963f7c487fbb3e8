//! What the CPU/MEM column costs the engines: the CPU time of one worker's dockerd over a
//! window with the tasks on it only running (the column off), then over the same window with
//! the usage sampler reading their stats every 5 s as the replicas pane does (the column on);
//! the ratio of the two, and the sampler's own CPU time.
//!
//! Needs the test swarm (`scripts/engines/swarm.sh up`, its env sourced). Starts 10 sleeping
//! tasks on wrk1 (service `bench-stats`), measures, removes them. Like criterion, it measures
//! only under `cargo bench` (which passes `--bench`); `cargo test --all-targets` merely builds
//! it. Window: STATS_COST_SECS (default 60). Figures: docs/performance.md.

use std::process::Command;
use std::time::{Duration, Instant};

use clusterdeck::backends::BackendMsg;
use clusterdeck::backends::swarm::{NodeEndpoints, spawn_usage};
use clusterdeck::model::ObjectKind;

const TASKS: usize = 10;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name}: source the test swarm's env"))
}

fn docker(args: &[&str]) -> String {
    let host = env("CD_SWARM_MANAGERS");
    let host = host.split(',').next().unwrap_or_default();
    let out = Command::new("docker")
        .args(["-H", host])
        .args(args)
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// utime + stime of a process, in seconds.
fn cpu_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    ticks as f64 / 100.0
}

fn self_cpu() -> f64 {
    cpu_of("self")
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs: u64 = std::env::var("STATS_COST_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let window = Duration::from_secs(secs);
    let pid = std::fs::read_to_string(format!("{}/n4/pid", env("CD_SWARM_STATE")))
        .expect("wrk1's dockerd pid")
        .trim()
        .to_string();
    let image = format!("{}:1", env("CD_IMAGE_REPO"));
    docker(&["service", "rm", "bench-stats"]);
    docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        "bench-stats",
        "--replicas",
        "10",
        "--constraint",
        "node.hostname==wrk1",
        &image,
    ]);
    let until = Instant::now() + Duration::from_secs(120);
    let tasks: Vec<String> = loop {
        let out = docker(&[
            "service",
            "ps",
            "bench-stats",
            "-q",
            "--filter",
            "desired-state=running",
            "--filter",
            "node=wrk1",
        ]);
        let ids: Vec<String> = out.lines().map(str::to_string).collect();
        let running = docker(&[
            "service",
            "ls",
            "--filter",
            "name=bench-stats",
            "--format",
            "{{.Replicas}}",
        ]);
        if ids.len() == TASKS && running.trim() == "10/10" {
            break ids;
        }
        assert!(
            Instant::now() < until,
            "bench-stats did not start: {running}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    // Full ids, as the console has them.
    let tasks: Vec<String> = tasks
        .iter()
        .map(|t| {
            docker(&["inspect", "--type", "task", "--format", "{{.ID}}", t])
                .trim()
                .to_string()
        })
        .collect();
    std::thread::sleep(Duration::from_secs(5));

    let before = cpu_of(&pid);
    std::thread::sleep(window);
    let off = cpu_of(&pid) - before;

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (on, sampler, rounds) = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let nodes = NodeEndpoints {
            template: Some("tcp://{addr}:2376".into()),
            ..NodeEndpoints::default()
        };
        let h = spawn_usage(
            "bench".into(),
            env("CD_SWARM_MANAGERS")
                .split(',')
                .map(str::to_string)
                .collect(),
            Some(env("CD_SWARM_TLS_DIR").into()),
            nodes,
            tx,
        );
        h.show(
            tasks
                .iter()
                .map(|t| (ObjectKind::Task, t.clone()))
                .collect(),
        );
        let (d0, s0) = (cpu_of(&pid), self_cpu());
        let end = tokio::time::Instant::now() + window;
        let mut rounds = 0;
        while let Ok(Some(m)) = tokio::time::timeout_at(end, rx.recv()).await {
            if let BackendMsg::Usage { samples, .. } = m {
                assert_eq!(samples.len(), TASKS, "every task sampled");
                rounds += 1;
            }
        }
        (cpu_of(&pid) - d0, self_cpu() - s0, rounds)
    });
    docker(&["service", "rm", "bench-stats"]);
    println!(
        "stats_cost: {TASKS} tasks on wrk1, {secs} s each: dockerd CPU {off:.2} s with the column off, \
         {on:.2} s with it on ({rounds} rounds) = {:.2}x; the sampler's own CPU {sampler:.2} s",
        if off > 0.0 { on / off } else { f64::NAN }
    );
}
