use super::Time;

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

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub id: String,
    pub name: String,
    pub instance_type: String,
    pub state: InstanceState,
    pub state_since: Time,
    pub az: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub ami: String,
    pub launch_time: Time,
    /// The cluster node this instance runs, when correlated.
    pub node_id: Option<String>,
}
