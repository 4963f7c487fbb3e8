//! Operations the gate released to the demo: each starts its simulated course here; the sim's
//! ticks carry it on (ops.rs).

use std::collections::VecDeque;

use clusterdeck_kit::OpUpdate;
use clusterdeck_model::{Availability, NodeRole, Origin, Reachability, ServiceMode, Severity};
use clusterdeck_ops::{Op, OpId, OpRequest};

use crate::sim::{DemoCluster, OpKind, RolloutKind, RunningOp};

impl DemoCluster {
    /// Starts an operation the gate released; `Err` is an immediate refusal.
    pub fn start_op(&mut self, id: OpId, req: &OpRequest) -> Result<(), String> {
        let key = req.target.id();
        match &req.op {
            Op::Instance { .. } | Op::AddNodes { .. } => {
                Err("the demo simulates no EC2 actions".into())
            }
            Op::Scale { replicas } => self.start_scale(id, key, *replicas),
            Op::SetAvailability { availability } => self.start_availability(id, key, *availability),
            Op::SetRole { role } => self.start_role(id, key, *role),
            Op::Deploy { image } => {
                let s = self.service(key)?;
                let name = self.services[s].w.name.clone();
                self.console_event("service", &name, format!("deploy {image} to {name}"));
                self.start_deploy(Some(id), s, image.clone())
            }
            Op::Rollback { .. } => {
                let s = self.service(key)?;
                let name = self.services[s].w.name.clone();
                self.console_event("service", &name, format!("roll back {name}"));
                self.start_rollout(Some(id), s, RolloutKind::Rollback)
            }
            Op::Restart => {
                let s = self.service(key)?;
                let name = self.services[s].w.name.clone();
                self.console_event("service", &name, format!("restart {name}"));
                self.start_rollout(Some(id), s, RolloutKind::Restart)
            }
        }
    }

    fn service(&self, key: &str) -> Result<usize, String> {
        self.svc_by_name(key)
            .ok_or_else(|| format!("no service {key}"))
    }

    fn node(&self, key: &str) -> Result<usize, String> {
        self.node_by_name(key)
            .ok_or_else(|| format!("no node {key}"))
    }

    fn console_event(&mut self, object: &str, target: &str, message: String) {
        self.event(Origin::Console, Severity::Info, object, target, message);
    }

    fn done(&mut self, op_id: OpId, message: String) {
        self.op_out.push(OpUpdate {
            op_id,
            progress: None,
            message: String::new(),
            outcome: Some(Ok(message)),
            drift: None,
        });
    }

    fn start_scale(&mut self, id: OpId, key: &str, replicas: u32) -> Result<(), String> {
        let s = self.service(key)?;
        let service = self.services[s].w.name.clone();
        if self.services[s].w.mode == ServiceMode::Global {
            return Err(format!("{service} is global"));
        }
        let from = self.services[s].w.desired;
        self.services[s].w.desired = replicas;
        self.touched.insert(s);
        self.console_event(
            "service",
            &service,
            format!("scale {service} {from} → {replicas}"),
        );
        self.ops.push(RunningOp {
            id: Some(id),
            kind: OpKind::Scale {
                svc: s,
                target: replicas,
            },
            started: self.elapsed,
        });
        Ok(())
    }

    fn start_availability(
        &mut self,
        id: OpId,
        key: &str,
        availability: Availability,
    ) -> Result<(), String> {
        let i = self.node(key)?;
        let node = self.nodes[i].hostname.clone();
        self.nodes[i].availability = availability;
        self.emit_node(i);
        self.console_event(
            "node",
            &node,
            format!("{node} availability → {}", availability.label()),
        );
        if availability != Availability::Drain {
            self.done(id, format!("{node} is {}", availability.label()));
            return Ok(());
        }
        let nid = self.nodes[i].id.clone();
        let queue: VecDeque<String> = self
            .tasks
            .values()
            .filter(|t| t.node_id.as_deref() == Some(nid.as_str()) && !t.desired.is_terminal())
            .map(|t| t.id.clone())
            .collect();
        let total = queue.len() as u32;
        self.ops.push(RunningOp {
            id: Some(id),
            kind: OpKind::Drain {
                node: nid,
                queue,
                moved: Vec::new(),
                total,
            },
            started: self.elapsed,
        });
        Ok(())
    }

    fn start_role(&mut self, id: OpId, key: &str, role: NodeRole) -> Result<(), String> {
        let i = self.node(key)?;
        let node = self.nodes[i].hostname.clone();
        let manager = role == NodeRole::Manager;
        self.nodes[i].role = role;
        self.nodes[i].reachability = manager.then_some(Reachability::Reachable);
        if !manager {
            self.nodes[i].leader = false;
        }
        self.emit_node(i);
        let word = if manager { "manager" } else { "worker" };
        self.console_event("node", &node, format!("{node} role → {word}"));
        self.done(id, format!("{node} role changed"));
        Ok(())
    }
}
