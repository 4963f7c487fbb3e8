//! Getting inside from the selected row: `x` opens a shell in the selected Swarm task (on the
//! engine of the node that runs it: that node's endpoint with the docker CLI, else ssh to the
//! node's address and `docker exec` there) or ssh to the selected node or EC2 instance, with the
//! user's own ssh and the `[ssh]` options. The run loop hands the terminal to the session and
//! takes it back when it ends. Each session is audited (intent before, outcome after); the
//! read-only console and the wall offer none; a production context asks for the target's name.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::ssh::SshConfig;
use crate::input::Pane;
use crate::model::{ObjectKind, Severity, SourceKind};
use crate::ops::Session;
use crate::prompt::{Input, InputKind, PromptKind};
use crate::state::App;
use clusterdeck_swarm::SwarmSettings;

/// How sessions are opened, from the config.
#[derive(Clone, Debug, Default)]
pub struct SessionSettings {
    pub ssh: SshConfig,
    /// Per Swarm context: its node endpoints and TLS material (for `docker exec`).
    pub swarm: Vec<SwarmSettings>,
    /// Per Kubernetes context: the kubeconfig and context `kubectl exec` is given.
    pub kube: Vec<KubeAccess>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeAccess {
    pub cluster: String,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A session waiting for the run loop, its intent already in the audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenSession {
    pub session: Session,
    pub op_id: String,
}

impl App {
    /// `x`: what the selected row offers.
    pub(crate) fn open_shell(&mut self) {
        let prepared = match self.ui.pane {
            Pane::Replicas => self.task_shell(None),
            Pane::Nodes => self.node_ssh(),
            Pane::Instances => self.instance_ssh(),
            _ => Err("select a task, a node or an instance for a shell".into()),
        };
        let s = match prepared {
            Ok(s) => s,
            Err(e) => return self.status(e, Severity::Warn),
        };
        let production = self.cluster().is_some_and(|c| c.production);
        let kind = PromptKind::Session {
            session: s.clone(),
            production,
        };
        // A shell's command can be changed (and production asks for the name): a prompt.
        if s.verb == "exec" || production {
            let containers = self.pod_containers();
            let text = if production {
                String::new()
            } else if s.kind == "pod" && containers.len() > 1 {
                format!("{}: {}", containers[0], self.sessions.ssh.exec_command)
            } else {
                self.sessions.ssh.exec_command.clone()
            };
            self.ui.input = Some(Input::new(InputKind::Prompt(kind), text));
        } else {
            self.begin_session(s);
        }
    }

    /// The prompt's answer: the command for a shell, or the target's name in production.
    pub fn submit_session(
        &mut self,
        s: &Session,
        production: bool,
        text: &str,
    ) -> Result<(), String> {
        let text = text.trim();
        let s = if production {
            if text != s.name {
                return Err(format!("type {} to open a session on production", s.name));
            }
            s.clone()
        } else if s.verb == "exec" {
            if text.is_empty() {
                return Err("type the command to run (e.g. sh)".into());
            }
            self.task_shell(Some(text))?
        } else {
            s.clone()
        };
        self.ui.input = None;
        self.begin_session(s);
        Ok(())
    }

    fn begin_session(&mut self, s: Session) {
        match self.gate.session_start(&s) {
            Ok(op_id) => self.session = Some(OpenSession { session: s, op_id }),
            Err(e) => self.status(e, Severity::Critical),
        }
    }

    /// The program and arguments the run loop should hand the terminal to, once.
    pub fn take_session(&mut self) -> Option<Vec<String>> {
        let s = self.session.as_ref()?;
        if self.session_running {
            return None;
        }
        self.session_running = true;
        Some(s.session.argv.clone())
    }

    /// The session ended (or could not start): its outcome goes to the audit log.
    pub fn session_ended(&mut self, ended: Result<i32, String>, took: Duration) {
        self.session_running = false;
        let Some(open) = self.session.take() else {
            return;
        };
        let audited = self
            .gate
            .session_end(&open.session, &open.op_id, &ended, took);
        let words = match &ended {
            Ok(code) => format!("exit {code}"),
            Err(e) => e.clone(),
        };
        let (text, sev) = match (&ended, audited) {
            (_, Err(e)) => (e, Severity::Critical),
            (Ok(0), _) => (
                format!("{} ended ({words}, {} s)", open.session.cli, took.as_secs()),
                Severity::Info,
            ),
            _ => (
                format!("{} ended: {words}", open.session.cli),
                Severity::Warn,
            ),
        };
        self.status(text, sev);
    }

    fn ssh_argv(&self, addr: &str, remote: &[&str]) -> Vec<String> {
        let c = &self.sessions.ssh;
        let mut v = vec![c.program.clone()];
        v.extend(c.base_args());
        if let Some(u) = &c.user {
            v.extend(["-l".to_string(), u.clone()]);
        }
        if !remote.is_empty() {
            v.push("-t".into());
        }
        v.push("--".into());
        v.push(addr.to_string());
        v.extend(remote.iter().map(|s| s.to_string()));
        v
    }

    fn ssh_cli(&self, addr: &str, remote: &[&str]) -> String {
        let who = match &self.sessions.ssh.user {
            Some(u) => format!("{u}@{addr}"),
            None => addr.to_string(),
        };
        let mut s = format!("ssh {who}");
        for r in remote {
            s.push(' ');
            s.push_str(r);
        }
        s
    }

    fn node_ssh(&self) -> Result<Session, String> {
        let n = self.selected_node().ok_or("select a node")?;
        let addr = n.addr.trim();
        if addr.is_empty() {
            return Err(format!("{} reports no address to ssh to", n.hostname));
        }
        Ok(Session {
            context: self.cluster_name(),
            backend: source_name(n.source).into(),
            verb: "ssh".into(),
            kind: "node".into(),
            id: n.id.clone(),
            name: n.hostname.clone(),
            cli: self.ssh_cli(addr, &[]),
            argv: self.ssh_argv(addr, &[]),
        })
    }

    fn instance_ssh(&self) -> Result<Session, String> {
        let i = self.selected_instance().ok_or("select an instance")?;
        let public = self.sessions.ssh.instance_address == "public";
        let addr = if public {
            i.public_ip.as_deref()
        } else {
            i.private_ip.as_deref()
        }
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            format!(
                "{} has no {} address (ssh.instance_address)",
                i.id,
                if public { "public" } else { "private" }
            )
        })?;
        Ok(Session {
            context: self.cluster_name(),
            backend: "ec2".into(),
            verb: "ssh".into(),
            kind: "instance".into(),
            id: i.id.clone(),
            name: if i.name.is_empty() {
                i.id.clone()
            } else {
                i.name.clone()
            },
            cli: self.ssh_cli(addr, &[]),
            argv: self.ssh_argv(addr, &[]),
        })
    }

    /// A shell in the selected task's container, on its node's engine.
    fn task_shell(&self, command: Option<&str>) -> Result<Session, String> {
        let r = self.selected_replica().ok_or("select a task")?;
        if r.kind == ObjectKind::Pod {
            return self.pod_shell(command);
        }
        let container = r
            .container
            .as_deref()
            .filter(|_| r.is_running())
            .ok_or_else(|| format!("{} has no running container", r.id))?;
        let c = self.cluster().ok_or("no context")?;
        let node = r
            .node_id
            .as_ref()
            .and_then(|n| c.nodes.get(n))
            .ok_or("the task's node is not known")?;
        let cmd = command
            .unwrap_or(&self.sessions.ssh.exec_command)
            .to_string();
        let name = c
            .workloads
            .get(&r.workload_id)
            .map_or_else(|| r.id.clone(), |w| r.label(&w.name));
        let settings = self.sessions.swarm.iter().find(|s| s.cluster == c.name);
        let (argv, cli) = match settings.and_then(|s| engine_of(s, &node.hostname, &node.addr)) {
            Some((ep, tls)) => {
                let mut v = vec!["docker".to_string(), "-H".into(), ep.clone()];
                if let Some(dir) = tls {
                    for (flag, file) in [
                        ("--tlscacert", "ca.pem"),
                        ("--tlscert", "cert.pem"),
                        ("--tlskey", "key.pem"),
                    ] {
                        v.push(flag.into());
                        v.push(dir.join(file).display().to_string());
                    }
                    v.push("--tlsverify".into());
                }
                v.extend([
                    "exec".into(),
                    "-it".into(),
                    container.to_string(),
                    cmd.clone(),
                ]);
                let cli = format!("docker -H {ep} exec -it {} {cmd}", short(container));
                (v, cli)
            }
            None if !node.addr.trim().is_empty() => {
                let remote = ["docker", "exec", "-it", container, cmd.as_str()];
                let cli = self.ssh_cli(
                    node.addr.trim(),
                    &["docker", "exec", "-it", short(container), &cmd],
                );
                (self.ssh_argv(node.addr.trim(), &remote), cli)
            }
            None => {
                return Err(format!(
                    "no way to {}'s engine: set docker.node_endpoint, or ssh to its address",
                    node.hostname
                ));
            }
        };
        Ok(Session {
            context: c.name.clone(),
            backend: "swarm".into(),
            verb: "exec".into(),
            kind: "task".into(),
            id: r.id.clone(),
            name,
            cli,
            argv,
        })
    }
}

impl App {
    /// The selected pod's containers (from its workload's template; empty when unknown).
    pub fn pod_containers(&self) -> Vec<String> {
        let (Some(r), Some(c)) = (self.selected_replica(), self.cluster()) else {
            return Vec::new();
        };
        c.workloads
            .get(&r.workload_id)
            .map(|w| w.containers.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default()
    }

    /// A shell in the selected pod with the user's kubectl (`kubectl exec -it`), as k9s does:
    /// their kubeconfig, context and credential plugins, the exec subresource's own client.
    /// `command` may name the container first (`CONTAINER: COMMAND`) when there are several.
    fn pod_shell(&self, command: Option<&str>) -> Result<Session, String> {
        let r = self.selected_replica().ok_or("select a pod")?;
        if !r.is_running() {
            return Err(format!("{} is not running", r.id));
        }
        let c = self.cluster().ok_or("no context")?;
        let mut parts = r.id.splitn(3, '/').skip(1);
        let (Some(ns), Some(pod)) = (parts.next(), parts.next()) else {
            return Err(format!("{} is not a pod id", r.id));
        };
        let containers = self.pod_containers();
        let text = command.unwrap_or(&self.sessions.ssh.exec_command);
        let (container, cmd) = match text.split_once(": ") {
            Some((name, cmd)) if containers.iter().any(|c| c == name.trim()) => {
                (Some(name.trim().to_string()), cmd.trim().to_string())
            }
            _ => (containers.first().cloned(), text.trim().to_string()),
        };
        if cmd.is_empty() {
            return Err("type the command to run (e.g. sh)".into());
        }
        let access = self.sessions.kube.iter().find(|k| k.cluster == c.name);
        let mut argv = vec!["kubectl".to_string()];
        if let Some(a) = access {
            if let Some(k) = &a.kubeconfig {
                argv.extend(["--kubeconfig".into(), k.display().to_string()]);
            }
            if let Some(x) = &a.context {
                argv.extend(["--context".into(), x.clone()]);
            }
        }
        argv.extend([
            "-n".into(),
            ns.into(),
            "exec".into(),
            "-it".into(),
            pod.into(),
        ]);
        if let Some(ct) = &container {
            argv.extend(["-c".into(), ct.clone()]);
        }
        argv.extend(["--".into(), cmd.clone()]);
        let cli = match &container {
            Some(ct) => format!("kubectl -n {ns} exec -it {pod} -c {ct} -- {cmd}"),
            None => format!("kubectl -n {ns} exec -it {pod} -- {cmd}"),
        };
        Ok(Session {
            context: c.name.clone(),
            backend: "kubernetes".into(),
            verb: "exec".into(),
            kind: "pod".into(),
            id: r.id.clone(),
            name: pod.to_string(),
            cli,
            argv,
        })
    }
}

/// A node's engine endpoint for the docker CLI, where the config or a `tcp://` manager says
/// it (with the context's TLS directory); None: reach it over ssh instead.
fn engine_of(s: &SwarmSettings, host: &str, addr: &str) -> Option<(String, Option<PathBuf>)> {
    let ep = clusterdeck_swarm::node_endpoint(&s.nodes, &s.endpoints, host, addr)?;
    let tls = ep.starts_with("tcp://").then(|| s.tls.clone()).flatten();
    Some((ep, tls))
}

fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

fn source_name(s: SourceKind) -> &'static str {
    match s {
        SourceKind::Kubernetes => "kubernetes",
        SourceKind::Ec2 => "ec2",
        _ => "swarm",
    }
}
