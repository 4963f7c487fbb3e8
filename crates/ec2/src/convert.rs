//! EC2's shapes → the model: one `Instance` per described instance, with the flags an operator
//! must see before acting (SSH open to the world, instance-store root, autoscaling membership).

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_sdk_ec2::types::{self as ec2, DeviceType};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

use clusterdeck_model::{Instance, InstanceFlags, InstanceState, Time};

/// The tag EC2 Auto Scaling puts on its members.
const ASG_TAG: &str = "aws:autoscaling:groupName";

pub(super) fn time(t: Option<&aws_sdk_ec2::primitives::DateTime>) -> Option<Time> {
    let t = t?;
    Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single()
}

/// "User initiated (2026-11-22 10:01:02 GMT)" → that time. EC2 writes it for stops and
/// terminations; it is the only record of when the state began.
pub(super) fn transition_time(reason: &str) -> Option<Time> {
    let inner = reason.rsplit_once('(')?.1.strip_suffix(')')?;
    let stamp = inner.strip_suffix(" GMT").unwrap_or(inner);
    NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|n| DateTime::<Utc>::from_naive_utc_and_offset(n, Utc))
}

/// Security group ids whose inbound rules let anyone reach TCP port 22.
pub(super) fn ssh_open_groups(groups: &[ec2::SecurityGroup]) -> HashSet<String> {
    groups
        .iter()
        .filter(|g| g.ip_permissions().iter().any(opens_ssh_to_world))
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect()
}

fn opens_ssh_to_world(p: &ec2::IpPermission) -> bool {
    let proto = p.ip_protocol().unwrap_or("");
    let covers_22 = match proto {
        "-1" => true,
        "tcp" | "6" => p.from_port().unwrap_or(0) <= 22 && p.to_port().unwrap_or(65535) >= 22,
        _ => false,
    };
    let world = p
        .ip_ranges()
        .iter()
        .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
        || p.ipv6_ranges()
            .iter()
            .any(|r| r.cidr_ipv6() == Some("::/0"));
    covers_22 && world
}

/// What the converter needs beyond the instance itself.
pub(super) struct Lookups<'a> {
    pub region: &'a str,
    pub ami_names: &'a HashMap<String, Option<String>>,
    pub ssh_open: &'a HashSet<String>,
    pub protection: &'a HashMap<String, bool>,
    /// Instances whose status checks fail, and which.
    pub impaired: &'a HashMap<String, String>,
    /// The previous picture, to keep when each state began.
    pub previous: Option<&'a Instance>,
    pub now: Time,
}

pub(super) fn instance(i: &ec2::Instance, l: &Lookups) -> Option<Instance> {
    let id = i.instance_id()?.to_string();
    let state = i
        .state()
        .and_then(|s| s.name())
        .and_then(|n| InstanceState::parse(n.as_str()))?;
    let tags: BTreeMap<String, String> = i
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect();
    let launch_time = time(i.launch_time()).unwrap_or(l.now);
    let state_since = match l.previous {
        Some(p) if p.state == state => p.state_since,
        Some(_) => l.now,
        None => match state {
            InstanceState::Running => launch_time,
            _ => i
                .state_transition_reason()
                .and_then(transition_time)
                .unwrap_or(l.now),
        },
    };
    let ami = i.image_id().unwrap_or("").to_string();
    let security_groups = i
        .security_groups()
        .iter()
        .map(|g| match (g.group_id(), g.group_name()) {
            (Some(id), Some(name)) => format!("{id} ({name})"),
            (Some(id), None) => id.to_string(),
            (None, name) => name.unwrap_or("?").to_string(),
        })
        .collect();
    let flags = InstanceFlags {
        ssh_open_to_world: i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .filter(|g| l.ssh_open.contains(*g))
            .map(str::to_string)
            .collect(),
        instance_store_root: i.root_device_type() == Some(&DeviceType::InstanceStore),
        termination_protection: l.protection.get(&id).copied(),
        autoscaling_group: tags.get(ASG_TAG).cloned(),
        impaired: l.impaired.get(&id).cloned(),
    };
    Some(Instance {
        name: tags.get("Name").cloned().unwrap_or_default(),
        instance_type: i.instance_type().map_or("", |t| t.as_str()).to_string(),
        state,
        state_since,
        region: l.region.to_string(),
        az: i
            .placement()
            .and_then(|p| p.availability_zone())
            .unwrap_or("")
            .to_string(),
        private_ip: i.private_ip_address().map(str::to_string),
        public_ip: i.public_ip_address().map(str::to_string),
        ami_name: l.ami_names.get(&ami).cloned().flatten(),
        ami,
        launch_time,
        key_name: i.key_name().map(str::to_string),
        vpc_id: i.vpc_id().map(str::to_string),
        subnet_id: i.subnet_id().map(str::to_string),
        security_groups,
        tags,
        flags,
        node_id: None,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_reasons_give_the_time() {
        let t = transition_time("User initiated (2026-11-22 10:01:02 GMT)").expect("parses");
        assert_eq!(t.to_rfc3339(), "2026-11-22T10:01:02+00:00");
        assert_eq!(transition_time("Server.InternalError"), None);
        assert_eq!(transition_time(""), None);
    }

    fn perm(proto: &str, from: i32, to: i32, cidr: &str) -> ec2::IpPermission {
        ec2::IpPermission::builder()
            .ip_protocol(proto)
            .from_port(from)
            .to_port(to)
            .ip_ranges(ec2::IpRange::builder().cidr_ip(cidr).build())
            .build()
    }

    #[test]
    fn ssh_to_the_world_is_flagged() {
        assert!(opens_ssh_to_world(&perm("tcp", 22, 22, "0.0.0.0/0")));
        assert!(opens_ssh_to_world(&perm("tcp", 0, 1024, "0.0.0.0/0")));
        assert!(opens_ssh_to_world(&perm("-1", -1, -1, "0.0.0.0/0")));
        assert!(!opens_ssh_to_world(&perm("tcp", 22, 22, "10.0.0.0/8")));
        assert!(!opens_ssh_to_world(&perm("tcp", 443, 443, "0.0.0.0/0")));
        assert!(!opens_ssh_to_world(&perm("udp", 22, 22, "0.0.0.0/0")));
    }
}
