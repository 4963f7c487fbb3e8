//! Operations on the engine, and following them until they settle: a scale until the running
//! count matches, a drain until the node has no live task, a rollout until the update status
//! says completed, paused or rolled back.

use std::collections::BTreeSet;

use bollard::Docker;
use bollard::models::{NodeSpec, NodeSpecAvailabilityEnum, NodeSpecRoleEnum, ServiceSpec};
use bollard::query_parameters::{UpdateNodeOptions, UpdateServiceOptions};

use clusterdeck_kit::{Failed, OpCommand, Step, Writer, as_planned};
use clusterdeck_model::{
    Availability, Facts, NodeRole, Reachability, ServiceMode, TaskState, UpdateState,
};
use clusterdeck_ops::{Op, OpRequest};

use crate::Backend;
use crate::reconcile::Mirror;

pub(crate) enum Goal {
    Replicas {
        service: String,
        target: u32,
    },
    Drained {
        node: String,
    },
    Rollout {
        service: String,
        rollback: bool,
        version_before: u64,
        image_before: String,
        /// The service's tasks when the update was sent: it has settled only once none of
        /// them runs any more.
        tasks_before: BTreeSet<String>,
    },
    Role {
        node: String,
        role: NodeRole,
    },
    Availability {
        node: String,
        availability: Availability,
    },
}

fn engine_err(e: bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        other => other.to_string(),
    }
}

impl Backend {
    pub(crate) async fn start_op(&mut self, w: &Writer, d: &Docker, cmd: OpCommand) {
        let OpCommand {
            op_id,
            request,
            expect,
        } = cmd;
        match self.execute(w, d, &request, &expect).await {
            Ok(goal) => self.follows.push(op_id, goal),
            Err(e) => {
                self.rep.finish(op_id, Err(e)).await;
            }
        }
    }

    /// Sends the change to the engine, if the target still is what the plan showed
    /// (`expect`); returns what to follow. The target is the engine's id.
    async fn execute(
        &mut self,
        w: &Writer,
        d: &Docker,
        req: &OpRequest,
        expect: &Facts,
    ) -> Result<Goal, Failed> {
        let id = req.target.id();
        let planned = Planned {
            expect,
            name: &req.target.name,
        };
        let name = &req.target.name;
        match &req.op {
            Op::Instance { .. } | Op::AddNodes { .. } => {
                Err(format!("{} is an EC2 action, not a swarm one", req.verb()).into())
            }
            Op::Scale { replicas } => {
                let (id, _, _) = update_service(w, d, id, &planned, |spec, _| {
                    let mode = spec.mode.get_or_insert_with(Default::default);
                    let rep = mode
                        .replicated
                        .as_mut()
                        .ok_or_else(|| format!("{name} is not a replicated service"))?;
                    rep.replicas = Some(i64::from(*replicas));
                    Ok(())
                })
                .await?;
                Ok(Goal::Replicas {
                    service: id,
                    target: *replicas,
                })
            }
            Op::Restart | Op::Deploy { .. } | Op::Rollback { .. } => {
                let (id, version_before, image_before) =
                    update_service(w, d, id, &planned, |spec, opts| {
                        let tt = spec.task_template.get_or_insert_with(Default::default);
                        match &req.op {
                            Op::Deploy { image } => {
                                tt.container_spec.get_or_insert_with(Default::default).image =
                                    Some(image.clone());
                            }
                            Op::Restart => {
                                tt.force_update = Some(tt.force_update.unwrap_or(0) + 1);
                            }
                            _ => opts.rollback = Some("previous".into()),
                        }
                        Ok(())
                    })
                    .await?;
                let tasks_before = self
                    .mirror
                    .tasks
                    .values()
                    .filter(|t| t.workload_id == id)
                    .map(|t| t.id.clone())
                    .collect();
                Ok(Goal::Rollout {
                    service: id,
                    rollback: matches!(req.op, Op::Rollback { .. }),
                    version_before,
                    image_before,
                    tasks_before,
                })
            }
            Op::SetAvailability { availability } => {
                let id = update_node(w, d, id, &planned, |spec| {
                    spec.availability = Some(match availability {
                        Availability::Active => NodeSpecAvailabilityEnum::ACTIVE,
                        Availability::Pause => NodeSpecAvailabilityEnum::PAUSE,
                        Availability::Drain => NodeSpecAvailabilityEnum::DRAIN,
                    });
                })
                .await?;
                Ok(if *availability == Availability::Drain {
                    Goal::Drained { node: id }
                } else {
                    Goal::Availability {
                        node: id,
                        availability: *availability,
                    }
                })
            }
            Op::SetRole { role } => {
                let id = update_node(w, d, id, &planned, |spec| {
                    spec.role = Some(match role {
                        NodeRole::Manager => NodeSpecRoleEnum::MANAGER,
                        NodeRole::Worker => NodeSpecRoleEnum::WORKER,
                    });
                })
                .await?;
                Ok(Goal::Role {
                    node: id,
                    role: *role,
                })
            }
        }
    }

    /// Reports progress and outcomes of the operations being followed, from the mirror.
    pub(crate) async fn check_follows(&mut self) {
        let mirror = &self.mirror;
        self.follows
            .check(&self.rep, |goal, _| mirror.step(goal))
            .await;
    }
}

impl Mirror {
    /// Where an operation stands, judged from the mirror.
    pub(crate) fn step(&self, goal: &Goal) -> Step {
        match self.judge(goal) {
            Ok(Some(result)) => Step::Done(result),
            Ok(None) | Err(()) => {
                let (progress, message) = self.progress(goal);
                Step::Pending { progress, message }
            }
        }
    }

    fn progress(&self, goal: &Goal) -> (Option<(u32, u32)>, String) {
        match goal {
            Goal::Replicas { service, target } => {
                let running = self.services.get(service).map_or(0, |w| w.running);
                (
                    Some((running.min(*target), *target)),
                    format!("{running}/{target} running"),
                )
            }
            Goal::Drained { node } => {
                let left = self.live_on(node);
                (None, format!("{left} task(s) still on the node"))
            }
            Goal::Rollout { service, .. } => {
                match self.services.get(service).and_then(|w| w.update.clone()) {
                    Some(u) => (u.progress, format!("{} {}", u.state.label(), u.message)),
                    None => (None, "waiting for the engine".into()),
                }
            }
            Goal::Role { .. } | Goal::Availability { .. } => (None, String::new()),
        }
    }

    /// Tasks still running on the node. A drain sets every task's desired state to shutdown at
    /// once, while its container runs until it stops (up to its stop grace period): those
    /// count until the engine reports them stopped. On a node that is down, whose states
    /// cannot change any more, the desired state decides.
    fn live_on(&self, node: &str) -> usize {
        let up = self.nodes.get(node).is_some_and(|n| n.is_up());
        self.tasks
            .values()
            .filter(|t| t.node_id.as_deref() == Some(node) && !t.state.is_terminal())
            .filter(|t| up || !t.desired.is_terminal())
            .count()
    }

    /// `Ok(Some(outcome))` when settled.
    fn judge(&self, goal: &Goal) -> Result<Option<Result<String, String>>, ()> {
        match goal {
            Goal::Replicas { service, target } => {
                let w = self.services.get(service).ok_or(())?;
                Ok((w.desired == *target && w.running == *target)
                    .then(|| Ok(format!("{}: {}/{} running", w.name, w.running, w.desired))))
            }
            Goal::Drained { node } => {
                let host = self
                    .nodes
                    .get(node)
                    .map_or(node.as_str(), |n| n.hostname.as_str());
                Ok((self.live_on(node) == 0)
                    .then(|| Ok(format!("{host} drained: no live tasks left"))))
            }
            Goal::Role { node, role } => {
                let n = self.nodes.get(node).ok_or(())?;
                // A promotion is done when the node is a reachable Raft member, not when its
                // spec says manager: demoting it before that fails in the engine.
                let settled = match role {
                    NodeRole::Manager => {
                        n.role == NodeRole::Manager
                            && n.reachability == Some(Reachability::Reachable)
                    }
                    NodeRole::Worker => n.role == NodeRole::Worker,
                };
                Ok(settled.then(|| {
                    Ok(format!(
                        "{} is {} ({})",
                        n.hostname,
                        if n.is_manager() {
                            "a manager"
                        } else {
                            "a worker"
                        },
                        n.availability.label()
                    ))
                }))
            }
            Goal::Availability { node, availability } => {
                let n = self.nodes.get(node).ok_or(())?;
                Ok((n.availability == *availability)
                    .then(|| Ok(format!("{} is {}", n.hostname, availability.label()))))
            }
            Goal::Rollout { .. } => self.judge_rollout(goal),
        }
    }

    /// A deploy, rollback or restart, judged from the service's update status (or, while the
    /// engine has set none since the change, from its tasks).
    fn judge_rollout(&self, goal: &Goal) -> Result<Option<Result<String, String>>, ()> {
        let Goal::Rollout {
            service,
            rollback,
            version_before,
            image_before,
            tasks_before,
        } = goal
        else {
            return Err(());
        };
        let w = self.services.get(service).ok_or(())?;
        if w.spec_version <= *version_before {
            return Ok(None);
        }
        let spec = format!(
            "image {image_before} → {} (spec version {version_before} → {})",
            w.image, w.spec_version
        );
        let Some(u) = &w.update else {
            // The engine clears the update status when the spec changes and sets it again
            // once its updater starts: until then the old tasks still run, so settled means
            // every running task is one started since the update.
            let current: Vec<_> = self
                .tasks
                .values()
                .filter(|t| t.workload_id == *service && t.desired == TaskState::Running)
                .collect();
            let replaced = !current.is_empty()
                && current
                    .iter()
                    .all(|t| t.is_running() && !tasks_before.contains(&t.id));
            let all = w.mode == ServiceMode::Global || w.running == w.desired;
            return Ok((replaced && all).then_some(Ok(spec)));
        };
        Ok(match (u.state, rollback) {
            (UpdateState::Completed, false) => Some(Ok(format!("update completed: {spec}"))),
            (UpdateState::RollbackCompleted, true) => {
                Some(Ok(format!("rollback completed: {spec}")))
            }
            (UpdateState::RollbackCompleted, false) => Some(Err(format!(
                "the update failed and was rolled back: {} ({spec})",
                u.message
            ))),
            (UpdateState::Paused, _) | (UpdateState::RollbackPaused, _) => {
                Some(Err(format!("{}: {} ({spec})", u.state.label(), u.message)))
            }
            _ => None,
        })
    }
}

/// What the confirmed plan showed of the target, and its name for the refusal.
struct Planned<'a> {
    expect: &'a Facts,
    name: &'a str,
}

/// Reads a service, checks it is still what the plan showed, lets `edit` change its spec (and
/// the update options), and sends the update at the version read and checked, so a change
/// in between makes the engine refuse rather than overwrite. Returns the service id, its spec
/// version and image before the change.
async fn update_service(
    _: &Writer,
    d: &Docker,
    name: &str,
    planned: &Planned<'_>,
    edit: impl FnOnce(&mut ServiceSpec, &mut UpdateServiceOptions) -> Result<(), String>,
) -> Result<(String, u64, String), Failed> {
    let s = d.inspect_service(name, None).await.map_err(engine_err)?;
    let now = crate::convert::workload(&s, &[], None, Vec::new())
        .map(|w| Facts::of_workload(&w))
        .unwrap_or_default();
    as_planned(planned.expect, planned.name, &now)?;
    let id = s.id.clone().unwrap_or_default();
    let version = s.version.as_ref().and_then(|v| v.index).unwrap_or(0);
    let image = crate::convert::service_image(&s);
    let mut spec = s.spec.ok_or("the engine returned no spec")?;
    let mut opts = UpdateServiceOptions {
        version: version as i32,
        ..Default::default()
    };
    edit(&mut spec, &mut opts)?;
    d.update_service(&id, spec, opts, None)
        .await
        .map_err(engine_err)?;
    Ok((id, version, image))
}

/// As `update_service`, for a node's spec; returns the node id.
async fn update_node(
    _: &Writer,
    d: &Docker,
    name: &str,
    planned: &Planned<'_>,
    edit: impl FnOnce(&mut NodeSpec),
) -> Result<String, Failed> {
    let n = d.inspect_node(name).await.map_err(engine_err)?;
    let now = crate::convert::node(&n)
        .map(|n| Facts::of_node(&n))
        .unwrap_or_default();
    as_planned(planned.expect, planned.name, &now)?;
    let id = n.id.clone().unwrap_or_default();
    let version = n.version.as_ref().and_then(|v| v.index).unwrap_or(0);
    let mut spec = n.spec.ok_or("the engine returned no node spec")?;
    edit(&mut spec);
    d.update_node(
        &id,
        spec,
        UpdateNodeOptions {
            version: version as i64,
        },
    )
    .await
    .map_err(engine_err)?;
    Ok(id)
}
