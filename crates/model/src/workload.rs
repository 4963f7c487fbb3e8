use crate::{ObjectKind, Target, Time};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceMode {
    Replicated,
    Global,
}

impl ServiceMode {
    pub fn label(self) -> &'static str {
        match self {
            ServiceMode::Replicated => "replicated",
            ServiceMode::Global => "global",
        }
    }
}

/// Swarm's UpdateStatus.State, shared by Kubernetes rollouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateState {
    Updating,
    Paused,
    Completed,
    RollbackStarted,
    RollbackPaused,
    RollbackCompleted,
}

impl UpdateState {
    pub fn label(self) -> &'static str {
        match self {
            UpdateState::Updating => "updating",
            UpdateState::Paused => "paused",
            UpdateState::Completed => "completed",
            UpdateState::RollbackStarted => "rollback_started",
            UpdateState::RollbackPaused => "rollback_paused",
            UpdateState::RollbackCompleted => "rollback_completed",
        }
    }
    pub fn in_progress(self) -> bool {
        matches!(self, UpdateState::Updating | UpdateState::RollbackStarted)
    }
    pub fn is_paused(self) -> bool {
        matches!(self, UpdateState::Paused | UpdateState::RollbackPaused)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct UpdateStatus {
    pub state: UpdateState,
    pub message: String,
    pub started_at: Option<Time>,
    /// Tasks on the new spec / total, when known.
    pub progress: Option<(u32, u32)>,
}

/// Rolling update settings (Swarm defaults: parallelism 1, delay 0 s, on failure pause).
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateConfig {
    pub parallelism: u32,
    pub delay_secs: u64,
    pub failure_action: String,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            parallelism: 1,
            delay_secs: 0,
            failure_action: "pause".into(),
        }
    }
}

/// One revision of a Deployment (its ReplicaSet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Revision {
    pub number: u64,
    pub image: String,
    pub created: Option<Time>,
    /// `kubernetes.io/change-cause`, where someone set it.
    pub cause: Option<String>,
    /// What rolling back to it changes in the pod template, field by field (empty for the
    /// current one).
    pub changes: Vec<String>,
    /// Its pod template as the engine holds it (shared, not copied, as the Deployment is sent
    /// again), for the diff between any two revisions.
    pub template: std::sync::Arc<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub id: String,
    /// A Swarm service, or a Kubernetes Deployment, StatefulSet or DaemonSet.
    pub kind: ObjectKind,
    pub name: String,
    pub mode: ServiceMode,
    pub desired: u32,
    pub running: u32,
    /// The first container's image (Swarm services have just the one).
    pub image: String,
    /// (name, image) of every container, where the orchestrator names them (Kubernetes);
    /// empty for Swarm. A deploy to a pod of several says which one it sets.
    pub containers: Vec<(String, String)>,
    pub previous_image: Option<String>,
    /// What the last update changed, field by field (Swarm: its spec against the engine's
    /// previous spec); what a rollback undoes. Empty when unknown.
    pub changed: Vec<String>,
    /// Kubernetes Deployments: the revisions kept (their ReplicaSets), newest first: what a
    /// rollback can go back to.
    pub revisions: Vec<Revision>,
    pub stack: Option<String>,
    pub update: Option<UpdateStatus>,
    pub update_config: UpdateConfig,
    pub spec_version: u64,
    /// Kubernetes: `metadata.generation` (bumped by spec writes only) and `metadata.uid` (a
    /// new object of the same name has another); Swarm: 0 and `None`.
    pub generation: u64,
    pub uid: Option<String>,
    /// Availability (running/desired, percent) sampled once a minute over the last hour.
    pub availability: Vec<u8>,
}

impl Workload {
    /// The workload as an operation's target.
    pub fn target(&self) -> Target {
        let source = if self.kind == ObjectKind::Service {
            crate::SourceKind::Swarm
        } else {
            crate::SourceKind::Kubernetes
        };
        Target::object(source, self.kind, &self.id, &self.name)
    }

    pub fn is_degraded(&self) -> bool {
        self.running < self.desired
    }
}
