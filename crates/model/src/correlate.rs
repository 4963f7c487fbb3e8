//! Which EC2 instance a cluster node runs on: the one it names (a Kubernetes providerID, an
//! `instance-id` node label), else the one at its address, but only within the VPC of the
//! cluster's other machines: two VPCs may reuse an address, so an address alone never
//! decides. A node whose address stays ambiguous gets no instance, and the candidates are
//! marked so that no instance action is offered for them.

use std::collections::BTreeSet;

use crate::store::{ClusterState, hostname_ip};
use crate::{Node, SourceKind};

/// The instance a node's labels name (`instance-id`, `ec2.instance-id`, …).
fn labelled(n: &Node) -> Option<String> {
    n.labels
        .iter()
        .find(|(k, _)| k.ends_with("instance-id"))
        .map(|(_, v)| v.clone())
}

fn address(n: &Node) -> String {
    hostname_ip(&n.hostname).unwrap_or_else(|| n.addr.clone())
}

impl ClusterState {
    /// The VPCs of the machines already matched with another node of this cluster.
    fn home_vpcs(&self, except: &str) -> BTreeSet<String> {
        self.instances
            .values()
            .filter(|i| i.node_id.as_deref().is_some_and(|n| n != except))
            .filter_map(|i| i.vpc_id.clone())
            .collect()
    }

    fn candidates(&self, n: &Node) -> Vec<String> {
        self.instance_by_ip
            .get(&address(n))
            .cloned()
            .unwrap_or_default()
    }

    /// Matches one node with its instance (see the module's rule).
    pub(crate) fn correlate_node(&mut self, node_id: &str) {
        let Some(node) = self.nodes.get(node_id) else {
            return;
        };
        let host = node.hostname.clone();
        self.ambiguous.retain(|_, h| *h != host);
        let known = |id: &String| self.instances.contains_key(id);
        let named = node
            .instance_id
            .clone()
            .filter(|id| node.source == SourceKind::Kubernetes && known(id))
            .or_else(|| labelled(node).filter(known));
        let candidates = self.candidates(node);
        let chosen = named.or_else(|| {
            if candidates.len() < 2 {
                return candidates.first().cloned();
            }
            let home = self.home_vpcs(node_id);
            let inside: Vec<&String> = candidates
                .iter()
                .filter(|c| {
                    self.instances
                        .get(*c)
                        .and_then(|i| i.vpc_id.as_ref())
                        .is_some_and(|v| home.contains(v))
                })
                .collect();
            match inside.as_slice() {
                [one] => Some((*one).clone()),
                _ => None,
            }
        });
        if chosen.is_none() && candidates.len() > 1 {
            for c in candidates {
                self.ambiguous.insert(c, host.clone());
            }
        }
        let Some(inst_id) = chosen else {
            if let Some(n) = self.nodes.get_mut(node_id)
                && n.source != SourceKind::Kubernetes
            {
                n.instance_id = None;
                n.az = None;
            }
            return;
        };
        let az = self.instances.get(&inst_id).map(|i| i.az.clone());
        if let Some(node) = self.nodes.get_mut(node_id) {
            node.instance_id = Some(inst_id.clone());
            node.az = az;
        }
        if let Some(inst) = self.instances.get_mut(&inst_id) {
            inst.node_id = Some(node_id.to_string());
        }
    }

    /// Matches every node: first those an address or a name decides alone, so that the VPC
    /// they are in can decide for the others.
    pub(crate) fn correlate_all(&mut self) {
        self.instance_by_ip.clear();
        self.ambiguous.clear();
        for i in self.instances.values() {
            if let Some(ip) = &i.private_ip {
                self.instance_by_ip
                    .entry(ip.clone())
                    .or_default()
                    .push(i.id.clone());
            }
        }
        // false (decided alone) sorts first.
        let mut order: Vec<(bool, String)> = self
            .nodes
            .values()
            .map(|n| {
                let alone = self.candidates(n).len() < 2 || labelled(n).is_some();
                (!alone, n.id.clone())
            })
            .collect();
        order.sort();
        for (_, id) in &order {
            self.correlate_node(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::feed::Snapshot;
    use crate::store::Store;
    use crate::{BackendMsg, Instance, Node, NodeRole, SourceKind};

    fn node(id: &str, addr: &str) -> Node {
        Node {
            id: id.into(),
            hostname: id.into(),
            addr: addr.into(),
            ..Node::sample(NodeRole::Worker)
        }
    }

    fn machine(id: &str, ip: &str, vpc: &str) -> Instance {
        Instance {
            vpc_id: Some(vpc.into()),
            ..Instance::sample(id, id, "us-east-1a", Some(ip), chrono::Utc::now())
        }
    }

    fn cluster(nodes: Vec<Node>, instances: Vec<Instance>) -> crate::ClusterState {
        let mut s = Store::default();
        for (source, snapshot) in [
            (
                SourceKind::Swarm,
                Snapshot {
                    nodes: Some(nodes),
                    ..Snapshot::default()
                },
            ),
            (
                SourceKind::Ec2,
                Snapshot {
                    instances: Some(instances),
                    ..Snapshot::default()
                },
            ),
        ] {
            s.apply(BackendMsg::Snapshot {
                cluster: "c".into(),
                source,
                at: chrono::Utc::now(),
                snapshot,
            });
        }
        s.clusters.remove(0)
    }

    #[test]
    fn an_address_in_two_vpcs_goes_to_the_vpc_of_the_clusters_other_machines() {
        let c = cluster(
            vec![node("a", "10.0.0.1"), node("b", "10.0.0.2")],
            vec![
                machine("i-a", "10.0.0.1", "vpc-home"),
                machine("i-b", "10.0.0.2", "vpc-home"),
                machine("i-decoy", "10.0.0.2", "vpc-other"),
            ],
        );
        assert_eq!(c.nodes["b"].instance_id.as_deref(), Some("i-b"));
        assert_eq!(c.instances["i-decoy"].node_id, None);
        assert!(c.ambiguous.is_empty());
    }

    #[test]
    fn an_address_nothing_else_decides_is_ambiguous_and_matches_nothing() {
        let c = cluster(
            vec![node("b", "10.0.0.2")],
            vec![
                machine("i-b", "10.0.0.2", "vpc-one"),
                machine("i-decoy", "10.0.0.2", "vpc-two"),
            ],
        );
        assert_eq!(c.nodes["b"].instance_id, None);
        assert_eq!(c.ambiguous.get("i-b").map(String::as_str), Some("b"));
        assert_eq!(c.ambiguous.get("i-decoy").map(String::as_str), Some("b"));
    }

    #[test]
    fn a_node_label_naming_its_instance_decides() {
        let mut b = node("b", "10.0.0.2");
        b.labels.insert("ec2.instance-id".into(), "i-decoy".into());
        let c = cluster(
            vec![b],
            vec![
                machine("i-b", "10.0.0.2", "vpc-one"),
                machine("i-decoy", "10.0.0.2", "vpc-two"),
            ],
        );
        assert_eq!(c.nodes["b"].instance_id.as_deref(), Some("i-decoy"));
        assert!(c.ambiguous.is_empty());
    }
}
