//! Operations on the simulated cluster, progressing a step per tick as the real engine would:
//! scale starts tasks one by one, drain moves them, a rollout replaces them task by task.

use std::collections::VecDeque;

use clusterdeck_kit::{OpUpdate, Step};
use clusterdeck_model::{Origin, ServiceMode, Severity, TaskState, UpdateState};
use clusterdeck_ops::OpId;

use crate::sim::{DemoCluster, OpKind, RolloutKind, RunningOp};

impl DemoCluster {
    pub(super) fn start_deploy(
        &mut self,
        id: Option<OpId>,
        s: usize,
        image: String,
    ) -> Result<(), String> {
        let old = self.services[s].w.image.clone();
        self.services[s].w.previous_image = Some(old);
        self.services[s].w.image = image;
        self.start_rollout_inner(id, s, RolloutKind::Deploy)
    }

    pub(super) fn start_rollout(
        &mut self,
        id: Option<OpId>,
        s: usize,
        kind: RolloutKind,
    ) -> Result<(), String> {
        if let RolloutKind::Rollback = kind {
            let prev = self.services[s]
                .w
                .previous_image
                .clone()
                .ok_or_else(|| "no previous spec".to_string())?;
            let cur = std::mem::replace(&mut self.services[s].w.image, prev);
            self.services[s].w.previous_image = Some(cur);
        }
        self.start_rollout_inner(id, s, kind)
    }

    fn start_rollout_inner(
        &mut self,
        id: Option<OpId>,
        s: usize,
        kind: RolloutKind,
    ) -> Result<(), String> {
        // A new rollout supersedes a running or paused one on the same service.
        self.ops
            .retain(|o| !matches!(o.kind, OpKind::Rollout { svc, .. } if svc == s));
        let mut live: Vec<(Option<u32>, String)> = self.services[s]
            .live
            .iter()
            .filter_map(|t| self.tasks.get(t).map(|r| (r.slot, r.id.clone())))
            .collect();
        live.sort();
        let queue: VecDeque<String> = live.into_iter().map(|x| x.1).collect();
        let total = queue.len() as u32;
        self.services[s].w.spec_version += 1;
        self.services[s].w.update = None;
        let state = match kind {
            RolloutKind::Rollback => UpdateState::RollbackStarted,
            _ => UpdateState::Updating,
        };
        self.set_update(s, state, "update in progress", Some((0, total)));
        self.ops.push(RunningOp {
            id,
            kind: OpKind::Rollout {
                svc: s,
                kind,
                queue,
                current: None,
                done: 0,
                total,
            },
            started: self.elapsed,
        });
        Ok(())
    }

    pub(super) fn progress_ops(&mut self) {
        let mut ops = std::mem::take(&mut self.ops);
        let mut keep = Vec::with_capacity(ops.len());
        for mut op in ops.drain(..) {
            let step = self.step(&mut op.kind);
            let _ = op.started;
            match step {
                Step::Pending { progress, message } => {
                    if let Some(id) = &op.id {
                        self.op_out.push(OpUpdate {
                            op_id: id.clone(),
                            progress,
                            message,
                            outcome: None,
                            drift: None,
                        });
                    }
                    keep.push(op);
                }
                Step::Done(result) => {
                    if let Some(id) = op.id {
                        self.op_out.push(OpUpdate {
                            op_id: id,
                            progress: None,
                            message: String::new(),
                            outcome: Some(result),
                            drift: None,
                        });
                    }
                }
            }
        }
        // Operations started during this step (none today) would have been pushed to self.ops.
        keep.append(&mut self.ops);
        self.ops = keep;
    }

    fn running(&self, id: &str) -> bool {
        self.tasks.get(id).is_some_and(|t| t.is_running())
    }

    fn step(&mut self, kind: &mut OpKind) -> Step {
        match kind {
            OpKind::Scale { svc, target } => self.step_scale(*svc, *target),
            OpKind::Drain {
                node,
                queue,
                moved,
                total,
            } => self.step_drain(node, queue, moved, *total),
            OpKind::Rollout {
                svc,
                kind,
                queue,
                current,
                done,
                total,
            } => {
                let rollback = matches!(kind, RolloutKind::Rollback);
                self.step_rollout(*svc, rollback, queue, current, done, *total)
            }
        }
    }

    fn step_scale(&mut self, s: usize, target: u32) -> Step {
        let live = self.services[s].live.len() as u32;
        if live < target {
            let used: Vec<u32> = self.services[s]
                .live
                .iter()
                .filter_map(|t| self.tasks.get(t).and_then(|r| r.slot))
                .collect();
            let slot = (1..).find(|n| !used.contains(n)).unwrap_or(live + 1);
            let node = self.pick_node();
            self.new_task(s, Some(slot), node);
        } else if live > target {
            let victim = self.services[s]
                .live
                .iter()
                .filter_map(|t| self.tasks.get(t))
                .max_by_key(|r| r.slot)
                .map(|r| r.id.clone());
            if let Some(v) = victim {
                self.end_task(&v, TaskState::Shutdown, None);
            }
        }
        let running = self.services[s]
            .live
            .iter()
            .filter(|t| self.running(t))
            .count() as u32;
        let name = self.services[s].w.name.clone();
        if self.services[s].live.len() as u32 == target && running == target {
            Step::Done(Ok(format!("{name}: {running}/{target} running")))
        } else {
            Step::pending(
                Some((running.min(target), target)),
                format!("{name}: {running}/{target} running"),
            )
        }
    }

    fn step_drain(
        &mut self,
        node: &str,
        queue: &mut VecDeque<String>,
        moved: &mut Vec<String>,
        total: u32,
    ) -> Step {
        if let Some(tid) = queue.pop_front()
            && let Some(t) = self.tasks.get(&tid).cloned()
            && !t.desired.is_terminal()
        {
            self.end_task(&tid, TaskState::Shutdown, None);
            if let Some(s) = self.services.iter().position(|s| s.w.id == t.workload_id)
                && self.services[s].w.mode == ServiceMode::Replicated
            {
                let target = self.pick_node();
                moved.push(self.new_task(s, t.slot, target));
            }
        }
        let settled = moved.iter().filter(|t| self.running(t)).count() as u32;
        let host = self
            .nodes
            .iter()
            .find(|n| n.id == node)
            .map_or_else(|| node.to_string(), |n| n.hostname.clone());
        let stuck = moved.iter().any(|t| {
            self.tasks
                .get(t)
                .is_some_and(|r| r.node_id.is_none() || r.desired.is_terminal())
        });
        if queue.is_empty() && (settled as usize == moved.len() || stuck) {
            Step::Done(Ok(format!("{host} drained: {} tasks moved", moved.len())))
        } else {
            Step::pending(
                Some((total - queue.len() as u32, total)),
                format!(
                    "{host}: {} of {total} tasks moved",
                    total - queue.len() as u32
                ),
            )
        }
    }

    /// One task at a time: the current one must run before the next is replaced; a failed one
    /// pauses the update, as Swarm's default failure action does.
    fn step_rollout(
        &mut self,
        s: usize,
        rollback: bool,
        queue: &mut VecDeque<String>,
        current: &mut Option<String>,
        done: &mut u32,
        total: u32,
    ) -> Step {
        let name = self.services[s].w.name.clone();
        if let Some(cur) = current.clone() {
            let Some(t) = self.tasks.get(&cur).cloned() else {
                *current = None;
                return Step::pending(Some((*done, total)), String::new());
            };
            if t.state == TaskState::Failed {
                let err = t.error.clone().unwrap_or_default();
                let msg = format!(
                    "update paused due to failure or early termination of task {cur}: {err}"
                );
                let state = if rollback {
                    UpdateState::RollbackPaused
                } else {
                    UpdateState::Paused
                };
                self.set_update(s, state, &msg, Some((*done, total)));
                self.event(
                    Origin::External,
                    Severity::Critical,
                    "service",
                    &name,
                    format!("{name}: {msg}"),
                );
                return Step::Done(Err(msg));
            }
            if !t.is_running() {
                return Step::pending(Some((*done, total)), format!("{name}: starting {cur}"));
            }
            *done += 1;
            *current = None;
        }
        while let Some(old) = queue.pop_front() {
            let Some(t) = self.tasks.get(&old).cloned() else {
                continue;
            };
            if t.desired.is_terminal() {
                continue;
            }
            self.end_task(&old, TaskState::Shutdown, None);
            let node = if self.services[s].w.mode == ServiceMode::Global {
                t.node_id.clone()
            } else {
                self.pick_node()
            };
            *current = Some(self.new_task(s, t.slot, node));
            let state = if rollback {
                UpdateState::RollbackStarted
            } else {
                UpdateState::Updating
            };
            self.set_update(s, state, "update in progress", Some((*done, total)));
            return Step::pending(
                Some((*done, total)),
                format!("{name}: {done}/{total} updated"),
            );
        }
        if current.is_some() {
            return Step::pending(
                Some((*done, total)),
                format!("{name}: {done}/{total} updated"),
            );
        }
        let (state, msg) = if rollback {
            (UpdateState::RollbackCompleted, "rollback completed")
        } else {
            (UpdateState::Completed, "update completed")
        };
        self.set_update(s, state, msg, Some((total, total)));
        Step::Done(Ok(format!("{name}: {msg} ({total}/{total})")))
    }
}
