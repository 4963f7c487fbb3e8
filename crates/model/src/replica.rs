use crate::{ObjectKind, Time};

/// Swarm task states, shown distinctly (product brief: preparing for long = image pull trouble).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskState {
    New,
    Pending,
    Assigned,
    Accepted,
    Preparing,
    Ready,
    Starting,
    Running,
    Complete,
    Failed,
    Shutdown,
    Rejected,
    Orphaned,
    Remove,
}

impl TaskState {
    pub fn label(self) -> &'static str {
        match self {
            TaskState::New => "new",
            TaskState::Pending => "pending",
            TaskState::Assigned => "assigned",
            TaskState::Accepted => "accepted",
            TaskState::Preparing => "preparing",
            TaskState::Ready => "ready",
            TaskState::Starting => "starting",
            TaskState::Running => "running",
            TaskState::Complete => "complete",
            TaskState::Failed => "failed",
            TaskState::Shutdown => "shutdown",
            TaskState::Rejected => "rejected",
            TaskState::Orphaned => "orphaned",
            TaskState::Remove => "remove",
        }
    }

    /// Terminal states: the task is history, not a live replica.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Complete
                | TaskState::Failed
                | TaskState::Shutdown
                | TaskState::Rejected
                | TaskState::Orphaned
                | TaskState::Remove
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Replica {
    pub id: String,
    /// A Swarm task or a Kubernetes pod.
    pub kind: ObjectKind,
    pub workload_id: String,
    pub slot: Option<u32>,
    pub node_id: Option<String>,
    pub desired: TaskState,
    pub state: TaskState,
    pub since: Time,
    pub error: Option<String>,
    pub image: String,
    /// Its own name where the orchestrator gives one (a pod's); Swarm tasks are `service.slot`.
    pub name: Option<String>,
    /// Container restarts, where the orchestrator counts them (Kubernetes; a Swarm task that
    /// dies is replaced by a new task instead).
    pub restarts: Option<u32>,
    /// The container's id on its node's engine (Swarm tasks that have one), for a shell in it.
    pub container: Option<String>,
}

impl Replica {
    /// A live replica is one meant to run (history rows are toggled separately).
    pub fn is_current(&self) -> bool {
        !self.desired.is_terminal() || !self.state.is_terminal()
    }

    /// What a person calls it: the pod's name, or Swarm's `service.slot`.
    pub fn label(&self, workload_name: &str) -> String {
        match (&self.name, self.slot) {
            (Some(n), _) => n.clone(),
            (None, Some(s)) => format!("{workload_name}.{s}"),
            (None, None) => workload_name.to_string(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.state == TaskState::Running && self.desired == TaskState::Running
    }
}
