//! `[hooks.NAME]` and `[stacks.NAME]`: the team's deploys the console runs and audits.
//!
//! ```toml
//! [hooks.deploy-infra]
//! run = ["ansible-playbook", "deploy.yml", "-e", "VERSION={version}"]
//! params = ["version"]            # or [{ name = "version", pattern = "[0-9.]{1,20}" }]
//! cwd = "/srv/infra"
//! contexts = ["prod"]             # offered only there (empty: everywhere)
//!
//! [hooks.release]
//! jenkins = { url = "https://ci.example", job = "team/release", user = "ops", token_file = "~/.jenkins-token" }
//! params = ["version", { name = "password", secret = true }]
//!
//! [stacks.shop]
//! file = "/srv/shop/stack.yml"
//! context = "lab"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::load::Invalid;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// A command (no shell), `{param}` replaced by the typed value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jenkins: Option<JenkinsConfig>,
    #[serde(default)]
    pub params: Vec<ParamConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Contexts the hook belongs to; empty: every context.
    #[serde(default)]
    pub contexts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JenkinsConfig {
    pub url: String,
    pub job: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

/// A parameter by name, or with its rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamConfig {
    Name(String),
    Full {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
        #[serde(default)]
        secret: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    pub file: PathBuf,
    /// The context it deploys to; none: the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl HookConfig {
    /// The hook the hooks crate runs.
    pub fn hook(&self, name: &str) -> clusterdeck_hooks::Hook {
        use clusterdeck_hooks::{Hook, Param, Target};
        let target = match &self.jenkins {
            Some(j) => Target::Jenkins {
                url: j.url.clone(),
                job: j.job.clone(),
                user: j.user.clone(),
                token_file: j.token_file.clone(),
            },
            None => Target::Command {
                argv: self.run.clone(),
                cwd: self.cwd.clone(),
                env: self
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
        };
        let params = self
            .params
            .iter()
            .map(|p| match p {
                ParamConfig::Name(n) => Param {
                    name: n.clone(),
                    pattern: None,
                    secret: false,
                    default: None,
                },
                ParamConfig::Full {
                    name,
                    pattern,
                    secret,
                    default,
                } => Param {
                    name: name.clone(),
                    pattern: pattern.clone(),
                    secret: *secret,
                    default: default.clone(),
                },
            })
            .collect();
        Hook {
            name: name.to_string(),
            target,
            params,
        }
    }
}

pub(super) fn validate(
    hooks: &BTreeMap<String, HookConfig>,
    stacks: &BTreeMap<String, StackConfig>,
) -> Result<(), Invalid> {
    for (name, h) in hooks {
        let key = format!("hooks.{name}");
        if h.run.is_empty() == h.jenkins.is_none() {
            return Err(Invalid::value(
                key.clone(),
                "needs either `run = [...]` or `jenkins = { url, job, ... }`",
            ));
        }
        clusterdeck_hooks::check(&h.hook(name)).map_err(|e| Invalid::value(key.clone(), e))?;
    }
    for (name, s) in stacks {
        if !clusterdeck_swarm::stack::valid_stack_name(name) {
            return Err(Invalid::value(
                format!("stacks.{name}"),
                "a stack name is letters, digits, `-` and `_`",
            ));
        }
        if s.file.as_os_str().is_empty() {
            return Err(Invalid::value(
                format!("stacks.{name}.file"),
                "names no file",
            ));
        }
    }
    Ok(())
}
