//! The cost of a stack deploy's plan: a 100-service compose file read (YAML with lines,
//! interpolation, typing), converted to service specs and compared field by field with the
//! specs running, without the engine (its answers are built beforehand, as `live::current`
//! would return them).
//!
//! - `plan_100_of_500`: the stack's 100 services run, 10 of them at another image; the swarm
//!   has 500 services, but the engine's label filter (`com.docker.stack.namespace`) returns
//!   only the stack's, so the other 400 reach the plan only as names in the network map.
//! - `plan_100_prune_400`: the worst case for the plan itself: 500 services carry the stack's
//!   label and 400 of them are no longer in the file (prune: 400 removals planned).
//!
//! Run: `cargo bench --bench stack_plan`. Figures: docs/performance.md.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use clusterdeck::backends::swarm::stack::convert;
use clusterdeck::backends::swarm::stack::plan::{self, Current, Resolved, Running};

const STACK: &str = "bench";
const SERVICES: usize = 100;
const SWARM: usize = 500;

fn compose() -> String {
    let mut s = String::from("version: \"3.8\"\nservices:\n");
    for i in 0..SERVICES {
        s.push_str(&format!(
            "  svc{i}:\n    image: reg.example:5000/team/app{i}:${{VERSION}}\n    command: [\"serve\", \"--port\", \"80{:02}\"]\n    environment:\n      MODE: prod\n      SHARD: \"{i}\"\n    deploy:\n      replicas: ${{REPLICAS:-3}}\n      update_config: {{parallelism: 2, delay: 10s, order: start-first}}\n      restart_policy: {{condition: on-failure, max_attempts: 3}}\n      resources: {{limits: {{cpus: \"0.5\", memory: 256M}}}}\n    networks: [front, back]\n",
            i % 100
        ));
    }
    s.push_str("networks:\n  front: {}\n  back: {}\n");
    s
}

fn vars(version: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("VERSION".to_string(), version.to_string())])
}

fn digests(text: &str, version: &str) -> BTreeMap<String, Result<Resolved, String>> {
    let loaded = clusterdeck::compose::load("bench.yml", text, &vars(version)).expect("loads");
    loaded
        .file
        .services
        .values()
        .filter_map(|s| s.image.clone())
        .map(|i| {
            let digest = format!("sha256:{:064x}", i.len() * 7919);
            (
                i,
                Ok(Resolved {
                    digest,
                    platforms: vec![("amd64".into(), "linux".into())],
                }),
            )
        })
        .collect()
}

/// What the engine would report: the stack as deployed at VERSION=1 (services 0..9) and
/// VERSION=2 (the rest), plus `extra` more services labelled with the stack.
fn current(text: &str, extra: usize) -> Current {
    let mut c = Current::default();
    for n in 0..SWARM {
        c.networks.insert(format!("other_net{n}"), format!("id{n}"));
    }
    c.networks
        .insert(format!("{STACK}_front"), "idfront".into());
    c.networks.insert(format!("{STACK}_back"), "idback".into());
    for (version, range) in [("1", 0..10), ("2", 10..SERVICES)] {
        let loaded = clusterdeck::compose::load("bench.yml", text, &vars(version)).expect("loads");
        let desired = convert::desired(STACK, &loaded.file, &|_| None).expect("converts");
        let p = plan::plan(STACK, desired, &c, &digests(text, version), false).expect("plans");
        for (i, s) in p.services.into_iter().enumerate() {
            if range.contains(&i) {
                c.services.insert(
                    s.name.clone(),
                    Running {
                        id: format!("id{i}"),
                        version: 10,
                        spec: s.spec,
                    },
                );
            }
        }
    }
    for n in 0..extra {
        let spec = c
            .services
            .values()
            .next()
            .map(|r| r.spec.clone())
            .unwrap_or_default();
        c.services.insert(
            format!("{STACK}_gone{n}"),
            Running {
                id: format!("g{n}"),
                version: 3,
                spec,
            },
        );
    }
    c
}

fn plan_once(
    text: &str,
    cur: &Current,
    d: &BTreeMap<String, Result<Resolved, String>>,
    prune: bool,
) -> usize {
    let loaded = clusterdeck::compose::load("bench.yml", text, &vars("2")).expect("loads");
    let desired = convert::desired(STACK, &loaded.file, &|_| None).expect("converts");
    let p = plan::plan(STACK, desired, cur, d, prune).expect("plans");
    p.count("update") + p.count("remove")
}

fn bench(c: &mut Criterion) {
    let text = compose();
    let d = digests(&text, "2");
    let cur = current(&text, 0);
    assert_eq!(
        plan_once(&text, &cur, &d, false),
        10,
        "10 services change image"
    );
    c.bench_function("plan_100_of_500", |b| {
        b.iter(|| black_box(plan_once(&text, &cur, &d, false)))
    });
    let cur = current(&text, SWARM - SERVICES);
    assert_eq!(plan_once(&text, &cur, &d, true), 10 + SWARM - SERVICES);
    c.bench_function("plan_100_prune_400", |b| {
        b.iter(|| black_box(plan_once(&text, &cur, &d, true)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
