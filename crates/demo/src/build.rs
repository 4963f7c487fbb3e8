//! Builds the initial demo cluster: 3 managers and 9 workers over 3 AZs, ~25 services, 12
//! correlated instances and a 3-member etcd; or a large one for benchmarks.

use std::collections::BTreeMap;

use chrono::Duration;

use clusterdeck_model::{
    Availability, EtcdMember, EtcdStatus, Instance, Node, NodeRole, NodeStatus, ObjectKind,
    Reachability, ServiceMode, SourceKind, Time, UpdateConfig, Workload,
};

use crate::rng::Rng;

pub const AZS: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];

/// (name, stack, mode, replicas)
const SERVICES: [(&str, &str, bool, u32); 25] = [
    ("web", "shop", false, 10),
    ("api", "shop", false, 12),
    ("auth", "shop", false, 4),
    ("cart", "shop", false, 6),
    ("catalog", "shop", false, 8),
    ("checkout", "shop", false, 4),
    ("payments", "shop", false, 4),
    ("search", "shop", false, 8),
    ("orders", "shop", false, 6),
    ("inventory", "shop", false, 4),
    ("gateway", "platform", false, 6),
    ("ingress", "platform", true, 0),
    ("notifications", "platform", false, 3),
    ("email", "platform", false, 2),
    ("scheduler", "platform", false, 1),
    ("queue-worker", "platform", false, 14),
    ("node-exporter", "monitoring", true, 0),
    ("log-shipper", "monitoring", true, 0),
    ("prometheus", "monitoring", false, 2),
    ("grafana", "monitoring", false, 1),
    ("reports", "data", false, 3),
    ("billing", "data", false, 3),
    ("thumbnails", "data", false, 8),
    ("etl", "data", false, 4),
    ("redis-proxy", "data", false, 3),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoSize {
    pub managers: usize,
    pub workers: usize,
    /// Replicated services only; about 25 in the standard demo.
    pub replicas: usize,
    pub instances: usize,
}

impl DemoSize {
    pub fn standard() -> DemoSize {
        DemoSize {
            managers: 3,
            workers: 9,
            replicas: 0,
            instances: 12,
        }
    }

    /// About `replicas` replicas on replicas/10 nodes and twice as many instances.
    pub fn scaled(replicas: usize) -> DemoSize {
        let nodes = (replicas / 10).max(12);
        DemoSize {
            managers: if nodes >= 100 { 5 } else { 3 },
            workers: nodes - if nodes >= 100 { 5 } else { 3 },
            replicas,
            instances: nodes * 2,
        }
    }

    pub fn is_standard(&self) -> bool {
        self.replicas == 0
    }
}

pub struct Built {
    pub nodes: Vec<Node>,
    pub services: Vec<Workload>,
    pub instances: Vec<Instance>,
    pub etcd: Vec<EtcdMember>,
}

fn node_ip(i: usize) -> String {
    format!("10.0.{}.{}", 1 + i / 200, 10 + i % 200)
}

pub fn build(size: DemoSize, rng: &mut Rng, now: Time) -> Built {
    // The order of the random draws is the demo's identity: nodes, services, etcd.
    let (nodes, instances) = machines(size, rng, now);
    let services = services(size, rng);
    let etcd = etcd_members(rng);
    Built {
        nodes,
        services,
        instances,
        etcd,
    }
}

/// The swarm's nodes, each on an instance, and spare instances beyond them.
fn machines(size: DemoSize, rng: &mut Rng, now: Time) -> (Vec<Node>, Vec<Instance>) {
    let total = size.managers + size.workers;
    let wide = total > 99;
    let mut nodes = Vec::with_capacity(total);
    let mut instances = Vec::with_capacity(size.instances);
    for i in 0..total {
        let manager = i < size.managers;
        let hostname = if manager {
            format!("mgr-{}", i + 1)
        } else if wide {
            format!("wrk-{:04}", i + 1 - size.managers)
        } else {
            format!("wrk-{:02}", i + 1 - size.managers)
        };
        let az = AZS[i % AZS.len()];
        let mut labels = BTreeMap::new();
        labels.insert("zone".to_string(), az.to_string());
        nodes.push(Node {
            source: SourceKind::Swarm,
            id: format!("nd{:05}{}", i, rng.hex(6)),
            hostname: hostname.clone(),
            role: if manager {
                NodeRole::Manager
            } else {
                NodeRole::Worker
            },
            availability: Availability::Active,
            status: NodeStatus::Ready,
            reachability: manager.then_some(Reachability::Reachable),
            leader: i == 0,
            addr: node_ip(i),
            engine: "24.0.7".into(),
            labels,
            taints: Vec::new(),
            instance_id: None,
            az: None,
        });
        if i < size.instances {
            instances.push(instance(
                rng,
                &hostname,
                if manager { "m5.large" } else { "c5.xlarge" },
                az,
                Some(node_ip(i)),
                now,
            ));
        }
    }
    for i in total..size.instances {
        let az = AZS[i % AZS.len()];
        let name = format!("spare-{:04}", i - total + 1);
        instances.push(instance(
            rng,
            &name,
            "t3.medium",
            az,
            Some(format!("10.8.{}.{}", i / 200, 10 + i % 200)),
            now,
        ));
    }

    (nodes, instances)
}

fn services(size: DemoSize, rng: &mut Rng) -> Vec<Workload> {
    let mut services = Vec::new();
    if size.is_standard() {
        for (name, stack, global, replicas) in SERVICES {
            services.push(service(rng, name, stack, global, replicas));
        }
    } else {
        let count = (size.replicas / 20).max(1);
        for i in 0..count {
            let per = (size.replicas / count) as u32 + u32::from(i < size.replicas % count);
            services.push(service(rng, &format!("svc-{i:04}"), "bench", false, per));
        }
    }

    services
}

fn etcd_members(rng: &mut Rng) -> Vec<EtcdMember> {
    (1..=3)
        .map(|i| EtcdMember {
            id: format!("{:016x}", rng.next()),
            name: format!("etcd-{i}"),
            peer_urls: vec![format!("http://10.0.1.{}:2380", 10 + i)],
            client_urls: vec![format!("http://10.0.1.{}:2379", 10 + i)],
            leader: i == 1,
            learner: false,
            healthy: true,
            status: Some(EtcdStatus {
                version: "3.5.17".into(),
                leader_id: None,
                raft_term: 7,
                raft_index: 48_210,
                applied_index: 48_210 - u64::from(i == 3),
                db_size: 24 << 20,
                db_size_in_use: 19 << 20,
                latency_ms: 1 + i,
            }),
            problem: None,
            alarms: Vec::new(),
        })
        .collect()
}

fn instance(
    rng: &mut Rng,
    name: &str,
    itype: &str,
    az: &str,
    ip: Option<String>,
    now: Time,
) -> Instance {
    let launched = now - Duration::days(3 + (rng.below(60) as i64));
    let mut i = Instance::sample(
        &format!("i-0{}", rng.hex(16)),
        name,
        az,
        ip.as_deref(),
        launched,
    );
    i.instance_type = itype.to_string();
    i.tags.insert("Name".into(), name.to_string());
    i
}

fn service(rng: &mut Rng, name: &str, stack: &str, global: bool, replicas: u32) -> Workload {
    let minor = 1 + rng.below(9);
    let mut availability = vec![100u8; 60];
    // A few services carry a visible dip in their last hour.
    if rng.below(5) == 0 {
        let at = rng.below(55) as usize;
        for a in availability.iter_mut().skip(at).take(4) {
            *a = 60 + rng.below(35) as u8;
        }
    }
    Workload {
        id: format!("sv{}", rng.hex(10)),
        kind: ObjectKind::Service,
        name: name.to_string(),
        mode: if global {
            ServiceMode::Global
        } else {
            ServiceMode::Replicated
        },
        desired: replicas,
        running: 0,
        image: format!("127.0.0.1:5000/{stack}/{name}:1.{minor}.0"),
        containers: Vec::new(),
        previous_image: Some(format!("127.0.0.1:5000/{stack}/{name}:1.{}.0", minor - 1)),
        changed: Vec::new(),
        revisions: Vec::new(),
        stack: Some(stack.to_string()),
        update: None,
        update_config: UpdateConfig::default(),
        spec_version: 10 + rng.below(90),
        generation: 0,
        uid: None,
        availability,
    }
}
