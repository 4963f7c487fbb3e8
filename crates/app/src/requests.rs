//! The one place an action and the selection become a request: the selected object is the
//! target (by its engine id, never by a name looked up again), and the action says what to do
//! to it, directly (a plan to confirm) or after a prompt for a value.

use crate::input::Action;
use crate::model::{Availability, NodeRole};
use crate::ops::{InstanceAction, Op, OpRequest};
use crate::prompt::{Input, InputKind, PromptKind};
use crate::state::App;

/// What a mutating action leads to.
enum Next {
    /// A value to ask for first.
    Prompt(Input),
    /// A request to plan and confirm.
    Plan(OpRequest),
}

impl App {
    /// A mutating action on the selection: a prompt, or the plan to confirm; a warning when
    /// nothing fitting is selected.
    pub(crate) fn act(&mut self, a: Action) {
        // A session is no operation on a cluster: audited on its own, opened from here.
        if a == Action::Shell {
            return self.open_shell();
        }
        if a == Action::Hook {
            return self.hook_key();
        }
        match self.request_for(a) {
            Ok(Next::Prompt(input)) => {
                if let InputKind::Prompt(PromptKind::Deploy { target }) = &input.kind
                    && let Some(image) = self
                        .cluster()
                        .and_then(|c| c.workloads.get(target.id()))
                        .map(|w| w.image.clone())
                {
                    self.fetch_tags(&image);
                }
                self.ui.input = Some(input);
            }
            Ok(Next::Plan(req)) => {
                let _ = self.begin_op(req);
            }
            Err(hint) => self.status(hint, crate::model::Severity::Warn),
        }
    }

    fn request_for(&self, a: Action) -> Result<Next, String> {
        let cluster = self.cluster_name();
        let plan = |target, op| Ok(Next::Plan(OpRequest::new(cluster.clone(), target, op)));
        match a {
            Action::Scale | Action::Deploy => {
                let w = self
                    .selected_workload()
                    .ok_or(format!("select a service to {} (pane 3)", a.name()))?;
                let (kind, text) = if a == Action::Scale {
                    let kind = PromptKind::Scale { target: w.target() };
                    (kind, w.desired.to_string())
                } else {
                    // A pod of several containers: start from the first one, by name.
                    let text = match w.containers.as_slice() {
                        [(name, _), _, ..] => format!("{name}={}", w.image),
                        _ => w.image.clone(),
                    };
                    (PromptKind::Deploy { target: w.target() }, text)
                };
                Ok(Next::Prompt(Input::new(InputKind::Prompt(kind), text)))
            }
            Action::Rollback | Action::Restart => {
                let w = self
                    .selected_workload()
                    .ok_or("select a service first (pane 3)")?;
                // A Deployment with several earlier revisions kept: which one, asked first.
                let earlier = w
                    .revisions
                    .iter()
                    .filter(|r| r.number < w.spec_version)
                    .count();
                if a == Action::Rollback && earlier > 1 {
                    let previous = w
                        .revisions
                        .iter()
                        .find(|r| r.number < w.spec_version)
                        .map(|r| r.number.to_string())
                        .unwrap_or_default();
                    let kind = PromptKind::RollbackTo {
                        target: w.target(),
                        revisions: w.revisions.clone(),
                        current: w.spec_version,
                    };
                    return Ok(Next::Prompt(Input::new(InputKind::Prompt(kind), previous)));
                }
                let op = if a == Action::Rollback {
                    Op::Rollback {
                        from_revision: None,
                        to_revision: None,
                    }
                } else {
                    Op::Restart
                };
                plan(w.target(), op)
            }
            Action::Promote | Action::Demote | Action::Drain | Action::Pause | Action::Activate => {
                let n = self.selected_node().ok_or("select a node first (pane 2)")?;
                plan(n.target(), node_op(a))
            }
            Action::StartInstance
            | Action::StopInstance
            | Action::RebootInstance
            | Action::TerminateInstance => {
                let i = self
                    .selected_instance()
                    .ok_or("select an instance (pane 5) or a node that runs on one (pane 2)")?;
                plan(
                    i.target(),
                    Op::Instance {
                        action: instance_action(a),
                    },
                )
            }
            Action::AddNodes => {
                if !self.launch.contains_key(&cluster) {
                    return Err(format!(
                        "add nodes: context {cluster} has no aws.launch (ami or template) in config.toml"
                    ));
                }
                let kind = InputKind::Prompt(PromptKind::AddNodes);
                Ok(Next::Prompt(Input::new(kind, "1")))
            }
            other => Err(format!("{} changes nothing", other.name())),
        }
    }
}

fn node_op(a: Action) -> Op {
    match a {
        Action::Promote => Op::SetRole {
            role: NodeRole::Manager,
        },
        Action::Demote => Op::SetRole {
            role: NodeRole::Worker,
        },
        Action::Drain => Op::SetAvailability {
            availability: Availability::Drain,
        },
        Action::Pause => Op::SetAvailability {
            availability: Availability::Pause,
        },
        _ => Op::SetAvailability {
            availability: Availability::Active,
        },
    }
}

fn instance_action(a: Action) -> InstanceAction {
    match a {
        Action::StartInstance => InstanceAction::Start,
        Action::StopInstance => InstanceAction::Stop,
        Action::RebootInstance => InstanceAction::Reboot,
        _ => InstanceAction::Terminate,
    }
}
