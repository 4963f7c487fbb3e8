//! `[ssh]`: how the console runs the user's `ssh`, for `ssh://` engines and for ssh to nodes and
//! instances. By default the user's own ssh with their own config, agent and keys; a team (or a
//! test) can name a config file and extra arguments.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::load::Invalid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SshConfig {
    /// The ssh program.
    pub program: String,
    /// An ssh config file (`ssh -F FILE`) instead of `~/.ssh/config`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<PathBuf>,
    /// Extra arguments before the host (`["-i", "~/.ssh/ops", "-o", "ProxyJump=bastion"]`).
    pub args: Vec<String>,
    /// The login for ssh to a node or instance, when not the ssh config's (`User`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Which address of an EC2 instance ssh goes to: "private" or "public".
    pub instance_address: String,
    /// What a shell in a task runs (the prompt offers it, to change).
    pub exec_command: String,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            program: "ssh".into(),
            config: None,
            args: Vec::new(),
            user: None,
            instance_address: "private".into(),
            exec_command: "sh".into(),
        }
    }
}

impl SshConfig {
    /// The arguments every ssh the console runs gets first.
    pub fn base_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(f) = &self.config {
            v.push("-F".to_string());
            v.push(f.display().to_string());
        }
        v.extend(self.args.iter().cloned());
        v
    }

    pub fn options(&self) -> clusterdeck_swarm::ssh::SshOptions {
        clusterdeck_swarm::ssh::SshOptions {
            program: self.program.clone(),
            args: self.base_args(),
        }
    }
}

pub(super) fn validate(s: &SshConfig) -> Result<(), Invalid> {
    if s.program.trim().is_empty() {
        return Err(Invalid::value(
            "ssh.program",
            "must name a program (e.g. \"ssh\")",
        ));
    }
    if s.exec_command.trim().is_empty() {
        return Err(Invalid::value(
            "ssh.exec_command",
            "must name a command (e.g. \"sh\")",
        ));
    }
    if !matches!(s.instance_address.as_str(), "private" | "public") {
        return Err(Invalid::value(
            "ssh.instance_address",
            format!(
                "`{}` is neither \"private\" nor \"public\"",
                s.instance_address
            ),
        ));
    }
    if let Some(u) = &s.user
        && (u.is_empty() || u.starts_with('-'))
    {
        return Err(Invalid::value(
            "ssh.user",
            format!("`{u}` is not a login name"),
        ));
    }
    Ok(())
}
