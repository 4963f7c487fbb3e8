//! Stacks: a compose file deployed as `docker stack deploy` would (same names and labels, so
//! the docker CLI sees the same stack), planned as a per-service diff against what runs,
//! applied with the versions the plan was made from, followed until the rollouts settle.

pub mod convert;
pub mod live;
pub mod plan;

use std::collections::BTreeMap;
use std::path::PathBuf;

use clusterdeck_compose::Loaded;

pub use live::{Applied, Progress};
pub use plan::{Change, FieldChange, ServicePlan, StackPlan};

/// What the operator asked to deploy.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub stack: String,
    /// The compose file's directory: `file:` paths of secrets and configs are relative to it.
    pub base: PathBuf,
    pub loaded: Loaded,
    pub prune: bool,
    /// Variables for `environment:` entries written without a value.
    pub env: BTreeMap<String, String>,
}

/// Plans a deploy against the engine as it is now.
pub async fn plan_deploy(e: &crate::Connected, req: &DeployRequest) -> Result<StackPlan, String> {
    if !valid_stack_name(&req.stack) {
        return Err(format!(
            "{:?} is not a stack name (letters, digits, `-` and `_`, starting with a letter or digit)",
            req.stack
        ));
    }
    let env = |k: &str| req.env.get(k).cloned();
    let desired = convert::desired(&req.stack, &req.loaded.file, &env)?;
    let current = live::current(e, &req.stack).await?;
    let images = desired
        .services
        .values()
        .filter_map(|s| s["TaskTemplate"]["ContainerSpec"]["Image"].as_str())
        .map(str::to_string)
        .collect::<Vec<_>>();
    let digests = live::resolve(&e.docker, images).await;
    let mut p = plan::plan(&req.stack, desired, &current, &digests, req.prune)?;
    for key in &req.loaded.ignored {
        p.warnings
            .push(format!("{key}: ignored, as docker stack deploy ignores it"));
    }
    Ok(p)
}

/// Stack names as the docker CLI accepts them (they prefix every object's name).
pub fn valid_stack_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
