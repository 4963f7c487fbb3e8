//! `[[contexts]] kube`: a kubeconfig found as kubectl finds it (the section's file, the
//! `KUBECONFIG` list, `~/.kube/config`), and the Kubernetes backend's settings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[cfg(feature = "kube")]
use clusterdeck_kube::KubeSettings;

#[cfg(feature = "kube")]
use crate::config::Config;
#[cfg(feature = "kube")]
use crate::config::discovery::{DEFAULT_CONTEXT, DiscoveredSource};
use crate::config::discovery::{Discovery, Env, configured, not_configured};
#[cfg(feature = "kube")]
use crate::model::SourceKind;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KubeSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// One namespace; absent: every namespace (falling back to the context's namespace when
    /// the credentials may not list them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Contexts with Kubernetes: `[[contexts]] kube` sections, or the default context when a
/// kubeconfig is found (KUBECONFIG or ~/.kube/config). `namespace` is `--namespace`.
#[cfg(feature = "kube")]
pub(crate) fn settings(
    cfg: &Config,
    sources: &[DiscoveredSource],
    namespace: Option<&str>,
) -> Vec<KubeSettings> {
    let namespace = namespace.map(str::to_string);
    if cfg.contexts.is_empty() {
        let found = sources.iter().any(|s| {
            s.kind == SourceKind::Kubernetes
                && s.context == DEFAULT_CONTEXT
                && matches!(s.discovery, Discovery::Configured { .. })
        });
        return found
            .then(|| KubeSettings {
                cluster: DEFAULT_CONTEXT.to_string(),
                namespace,
                ..KubeSettings::default()
            })
            .into_iter()
            .collect();
    }
    cfg.contexts
        .iter()
        .filter_map(|c| {
            let k = c.kube.as_ref()?;
            Some(KubeSettings {
                cluster: c.name.clone(),
                kubeconfig: k.kubeconfig.clone(),
                context: k.context.clone(),
                namespace: namespace.clone().or_else(|| k.namespace.clone()),
            })
        })
        .collect()
}

pub(crate) fn discover(env: &Env, src: &KubeSource) -> Discovery {
    // KUBECONFIG is a list merged in order, missing files skipped, as kubectl does.
    let (files, via) = match &src.kubeconfig {
        Some(p) if p.is_file() => (vec![p.clone()], "config.toml kube.kubeconfig".to_owned()),
        Some(p) => {
            return not_configured(format!(
                "kubeconfig {} (config.toml kube.kubeconfig) does not exist",
                p.display()
            ));
        }
        None => match env.get("KUBECONFIG") {
            Some(list) => match std::env::split_paths(&list)
                .filter(|p| p.is_file())
                .collect::<Vec<_>>()
            {
                files if !files.is_empty() => (files, "KUBECONFIG".to_owned()),
                _ => {
                    return not_configured(format!(
                        "no file named in KUBECONFIG ({list}) exists; fix KUBECONFIG or add \
                         [[contexts]] kube.kubeconfig to config.toml"
                    ));
                }
            },
            None => match env.home_join(".kube/config").filter(|p| p.is_file()) {
                Some(p) => (vec![p], "~/.kube/config".to_owned()),
                None => {
                    return not_configured(
                        "set KUBECONFIG, create ~/.kube/config, or add [[contexts]] \
                         kube.kubeconfig to config.toml",
                    );
                }
            },
        },
    };
    let context = match &src.context {
        Some(c) => Some(format!("context {c} (config.toml kube.context)")),
        // The first file that sets one wins.
        None => files
            .iter()
            .find_map(|f| current_context(&std::fs::read_to_string(f).ok()?))
            .map(|c| format!("current-context {c}")),
    };
    let shown = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    match context {
        Some(c) => configured(shown, format!("{via}, {c}")),
        None => not_configured(format!(
            "kubeconfig {shown} has no current-context; run `kubectl config use-context NAME` or \
             set [[contexts]] kube.context in config.toml"
        )),
    }
}

/// The top-level `current-context:` of a kubeconfig, by line scan (no YAML parser needed);
/// JSON kubeconfigs say `"current-context": "…",`.
fn current_context(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line
            .strip_prefix("current-context:")
            .or_else(|| line.trim_start().strip_prefix("\"current-context\":"))?;
        let value = value.split(" #").next().unwrap_or(value).trim();
        let value = value.trim_end_matches(',').trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use crate::config::discovery::testing::*;
    use crate::model::SourceKind;

    #[test]
    fn kubeconfig_search_order_and_current_context() {
        let mut f = Fake::new();
        f.write(
            ".kube/config",
            "apiVersion: v1\nclusters: []\ncurrent-context: \"home-ctx\" # chosen\n",
        );
        let d = f.one(SourceKind::Kubernetes);
        assert!(endpoint(&d).ends_with(".kube/config"));
        assert_eq!(via(&d), "~/.kube/config, current-context home-ctx");

        let other = f.write("k/other", "current-context: other-ctx\n");
        let missing = f.home.path().join("k/missing");
        let list = format!("{}:{}", missing.display(), other.display());
        f.set("KUBECONFIG", &list);
        let d = f.one(SourceKind::Kubernetes);
        assert_eq!(endpoint(&d), other.display().to_string());
        assert_eq!(via(&d), "KUBECONFIG, current-context other-ctx");

        // Merged: the credentials in one file, the current context in a later one (JSON).
        let creds = f.write("k/creds", "users:\n- name: u\n");
        let json = f.write("k/ctx.json", "{\n  \"current-context\": \"json-ctx\",\n}\n");
        let list = format!(
            "{}:{}:{}",
            creds.display(),
            missing.display(),
            json.display()
        );
        f.set("KUBECONFIG", &list);
        let d = f.one(SourceKind::Kubernetes);
        assert_eq!(
            endpoint(&d),
            format!("{}:{}", creds.display(), json.display())
        );
        assert_eq!(via(&d), "KUBECONFIG, current-context json-ctx");

        f.set("KUBECONFIG", &missing.display().to_string());
        assert!(hint(&f.one(SourceKind::Kubernetes)).contains("KUBECONFIG"));
    }

    #[test]
    fn kubeconfig_without_current_context_is_not_configured() {
        let f = Fake::new();
        f.write(
            ".kube/config",
            "apiVersion: v1\ncontexts:\n- name: x\n  context:\n    current-context: nested\n",
        );
        assert!(hint(&f.one(SourceKind::Kubernetes)).contains("use-context"));
    }
}
