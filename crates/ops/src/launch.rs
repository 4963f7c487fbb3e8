use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How new cluster nodes are launched: from an AMI or from a launch template.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LaunchConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami: Option<String>,
    /// A launch template id (`lt-…`) or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Tags for the new instances, on top of the single-valued `tag:` filters (so the new
    /// nodes match the filters and show up in the pane).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}
