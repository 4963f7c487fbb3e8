use std::collections::BTreeMap;

use crate::{ObjectKind, SourceKind, Target, Time};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceState {
    Pending,
    Running,
    Stopping,
    Stopped,
    ShuttingDown,
    Terminated,
}

impl InstanceState {
    pub fn label(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
        }
    }

    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            InstanceState::Pending | InstanceState::Stopping | InstanceState::ShuttingDown
        )
    }
}

impl InstanceState {
    /// From EC2's state name; None for a name this build does not know.
    pub fn parse(name: &str) -> Option<InstanceState> {
        Some(match name {
            "pending" => InstanceState::Pending,
            "running" => InstanceState::Running,
            "stopping" => InstanceState::Stopping,
            "stopped" => InstanceState::Stopped,
            "shutting-down" => InstanceState::ShuttingDown,
            "terminated" => InstanceState::Terminated,
            _ => return None,
        })
    }
}

/// What an operator should know before touching an instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceFlags {
    /// Security groups that let 0.0.0.0/0 (or ::/0) reach port 22.
    pub ssh_open_to_world: Vec<String>,
    /// The root device is instance store: its data is lost on stop or terminate.
    pub instance_store_root: bool,
    /// `disableApiTermination`; None until it has been read.
    pub termination_protection: Option<bool>,
    /// The autoscaling group it belongs to: a terminated member is replaced.
    pub autoscaling_group: Option<String>,
    /// EC2's status checks say impaired: which ("system", "instance", or both).
    pub impaired: Option<String>,
}

impl InstanceFlags {
    /// Short labels for the table, most important first.
    pub fn labels(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.impaired.is_some() {
            out.push("impaired");
        }
        if self.termination_protection == Some(true) {
            out.push("protected");
        }
        if self.instance_store_root {
            out.push("ephemeral-root");
        }
        if !self.ssh_open_to_world.is_empty() {
            out.push("ssh-open");
        }
        if self.autoscaling_group.is_some() {
            out.push("asg");
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub id: String,
    pub name: String,
    pub instance_type: String,
    pub state: InstanceState,
    /// Since when it has been in `state` (from EC2's transition reason, else first seen).
    pub state_since: Time,
    pub region: String,
    pub az: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub ami: String,
    /// The AMI's name, when DescribeImages could read it.
    pub ami_name: Option<String>,
    pub launch_time: Time,
    pub key_name: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    /// "sg-… (name)"
    pub security_groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub flags: InstanceFlags,
    /// The cluster node this instance runs, when correlated.
    pub node_id: Option<String>,
}

impl Instance {
    /// The instance as an operation's target (people name instances by id).
    pub fn target(&self) -> Target {
        Target::object(SourceKind::Ec2, ObjectKind::Instance, &self.id, &self.id)
    }

    /// A running instance with only the given identity filled in (tests and the demo).
    pub fn sample(id: &str, name: &str, az: &str, private_ip: Option<&str>, at: Time) -> Instance {
        Instance {
            id: id.to_string(),
            name: name.to_string(),
            instance_type: "m6i.large".into(),
            state: InstanceState::Running,
            state_since: at,
            region: az
                .trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .into(),
            az: az.to_string(),
            private_ip: private_ip.map(str::to_string),
            public_ip: None,
            ami: "ami-0c1d2e3f4a5b6c7d8".into(),
            ami_name: None,
            launch_time: at,
            key_name: None,
            vpc_id: None,
            subnet_id: None,
            security_groups: Vec::new(),
            tags: BTreeMap::new(),
            flags: InstanceFlags::default(),
            node_id: None,
        }
    }
}
