//! `[[contexts]] aws`: EC2 credentials and regions found as the AWS CLI finds them (profiles,
//! the credential and config files, the environment), validated, and turned into the EC2
//! backend's settings and each context's "add nodes" launch description.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[cfg(feature = "ec2")]
use crate::config::discovery::{DEFAULT_CONTEXT, DiscoveredSource};
use crate::config::discovery::{Discovery, Env, configured, not_configured, redact};
use crate::config::load::Invalid;
use crate::config::{Config, LaunchConfig};
#[cfg(feature = "ec2")]
use crate::model::SourceKind;
#[cfg(feature = "ec2")]
use clusterdeck_ec2::Ec2Settings;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AwsSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// EC2 DescribeInstances filters, e.g. `"tag:Role" = ["swarm-manager"]`.
    #[serde(default)]
    pub filters: BTreeMap<String, Vec<String>>,
    /// What "add node" launches. Unset: the action explains what to configure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<LaunchConfig>,
}

pub(crate) fn validate(a: &AwsSource, base: &str) -> Result<(), Invalid> {
    if let Some(j) = a.regions.iter().position(|r| r.trim().is_empty()) {
        return Err(Invalid::value(
            format!("{base}.aws.regions[{j}]"),
            "empty region name",
        ));
    }
    if a.profile.as_ref().is_some_and(|p| p.trim().is_empty()) {
        return Err(Invalid::value(
            format!("{base}.aws.profile"),
            "must not be empty",
        ));
    }
    if let Some(u) = &a.endpoint_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(Invalid::value(
            format!("{base}.aws.endpoint_url"),
            format!("`{u}` is not an http(s) URL"),
        ));
    }
    if let Some(l) = &a.launch
        && l.ami.is_none()
        && l.template.is_none()
    {
        return Err(Invalid::value(
            format!("{base}.aws.launch"),
            "needs `ami` or `template` to know what to launch",
        ));
    }
    Ok(())
}

/// Contexts with EC2: from `[[contexts]] aws` sections, or the default context when the
/// environment has AWS credentials (or `--profile` names a profile).
#[cfg(feature = "ec2")]
pub(crate) fn settings(
    cfg: &Config,
    sources: &[DiscoveredSource],
    cli_profile: Option<&str>,
) -> Vec<Ec2Settings> {
    let via = |ctx: &str| {
        sources.iter().find_map(|s| match &s.discovery {
            Discovery::Configured { via, .. } if s.kind == SourceKind::Ec2 && s.context == ctx => {
                Some(via.clone())
            }
            _ => None,
        })
    };
    let poll = std::time::Duration::from_secs(cfg.refresh.ec2_poll_secs.max(1));
    let from_cli = |p: &str| format!("profile {p} (--profile)");
    if cfg.contexts.is_empty() {
        let name = DEFAULT_CONTEXT;
        let credentials_via = match (cli_profile, via(name)) {
            (Some(p), _) => from_cli(p),
            (None, Some(v)) => v,
            (None, None) => return Vec::new(),
        };
        return vec![Ec2Settings {
            cluster: name.to_string(),
            profile: cli_profile.map(str::to_string),
            poll,
            credentials_via,
            ..Ec2Settings::default()
        }];
    }
    cfg.contexts
        .iter()
        .filter_map(|c| {
            let a = c.aws.as_ref()?;
            let profile = cli_profile
                .map(str::to_string)
                .or_else(|| a.profile.clone());
            let credentials_via = match (cli_profile, via(&c.name)) {
                (Some(p), _) => from_cli(p),
                (None, Some(v)) => v,
                (None, None) => "the default credential chain".to_string(),
            };
            Some(Ec2Settings {
                cluster: c.name.clone(),
                profile,
                regions: a.regions.clone(),
                endpoint_url: a.endpoint_url.clone(),
                filters: a.filters.clone(),
                poll,
                credentials_via,
                page_size: None,
            })
        })
        .collect()
}

/// Each context's `aws.launch`, with the single-valued `tag:` filters added to its tags so the
/// new instances match the filters and appear in the pane.
pub fn launch_configs(cfg: &Config) -> HashMap<String, LaunchConfig> {
    cfg.contexts
        .iter()
        .filter_map(|c| {
            let a = c.aws.as_ref()?;
            let mut l = a.launch.clone()?;
            for (k, v) in &a.filters {
                if let (Some(tag), [value]) = (k.strip_prefix("tag:"), v.as_slice()) {
                    l.tags
                        .entry(tag.to_string())
                        .or_insert_with(|| value.clone());
                }
            }
            Some((c.name.clone(), l))
        })
        .collect()
}

const AWS_CREDS_HINT: &str = "set AWS_PROFILE or AWS_ACCESS_KEY_ID, create ~/.aws/credentials, \
     or add [[contexts]] aws = { profile = \"…\", regions = [\"…\"] } to config.toml";

pub(crate) fn discover(env: &Env, src: Option<&AwsSource>) -> Discovery {
    let config_file = env
        .get("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| env.home_join(".aws/config"));
    let Some(creds) = credentials(env, src, config_file.as_deref()) else {
        return not_configured(AWS_CREDS_HINT);
    };
    let (regions, region_via) = regions(env, src, config_file.as_deref());
    if regions.is_empty() {
        return not_configured(format!(
            "AWS credentials found ({creds}) but no region: set AWS_REGION or add \
             [[contexts]] aws.regions to config.toml"
        ));
    }
    let custom = src
        .and_then(|s| s.endpoint_url.clone())
        .map(|u| (u, "config.toml aws.endpoint_url"))
        .or_else(|| {
            env.get("AWS_ENDPOINT_URL_EC2")
                .map(|u| (u, "AWS_ENDPOINT_URL_EC2"))
        })
        .or_else(|| env.get("AWS_ENDPOINT_URL").map(|u| (u, "AWS_ENDPOINT_URL")));
    let region_list = regions.join(", ");
    match custom {
        Some((url, url_via)) => configured(
            redact(&url),
            format!("{url_via}, {creds}, region {region_list} ({region_via})"),
        ),
        None => configured(
            regions
                .iter()
                .map(|r| format!("ec2.{r}.amazonaws.com"))
                .collect::<Vec<_>>()
                .join(", "),
            format!("{creds}, region {region_list} ({region_via})"),
        ),
    }
}

/// Where the credentials come from, by name only, never their values.
fn credentials(
    env: &Env,
    src: Option<&AwsSource>,
    config_file: Option<&std::path::Path>,
) -> Option<String> {
    let credentials_file = env
        .get("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| env.home_join(".aws/credentials"));
    if let Some(p) = src.and_then(|s| s.profile.as_deref()) {
        Some(format!("profile {p} (config.toml aws.profile)"))
    } else if env.get("AWS_ACCESS_KEY_ID").is_some() {
        Some("AWS_ACCESS_KEY_ID".to_owned())
    } else if let Some(p) = env.get("AWS_PROFILE") {
        Some(format!("AWS_PROFILE={p}"))
    } else if env.get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        Some("AWS_WEB_IDENTITY_TOKEN_FILE".to_owned())
    } else if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        Some("container credentials".to_owned())
    } else if let Some(f) = [credentials_file.as_deref(), config_file]
        .into_iter()
        .flatten()
        .find(|f| f.is_file())
    {
        Some(f.display().to_string())
    } else if src.is_some() {
        // An aws section without a profile trusts the SDK's chain (e.g. an instance profile).
        Some("default credential chain (config.toml aws)".to_owned())
    } else {
        None
    }
}

/// The regions to poll and which setting named them.
fn regions(
    env: &Env,
    src: Option<&AwsSource>,
    config_file: Option<&std::path::Path>,
) -> (Vec<String>, &'static str) {
    if let Some(r) = src.map(|s| &s.regions).filter(|r| !r.is_empty()) {
        return (r.clone(), "config.toml aws.regions");
    }
    if let Some(r) = env.get("AWS_REGION") {
        return (vec![r], "AWS_REGION");
    }
    if let Some(r) = env.get("AWS_DEFAULT_REGION") {
        return (vec![r], "AWS_DEFAULT_REGION");
    }
    let profile = src
        .and_then(|s| s.profile.clone())
        .or_else(|| env.get("AWS_PROFILE"));
    let from_file = config_file
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|t| profile_region(&t, profile.as_deref().unwrap_or("default")));
    (from_file.into_iter().collect(), "AWS config file")
}

/// `region = …` of a profile in an AWS config file (`[default]` or `[profile NAME]`).
fn profile_region(text: &str, profile: &str) -> Option<String> {
    let wanted = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = section.trim() == wanted;
        } else if in_section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == "region"
        {
            let v = v.trim();
            if !v.is_empty() {
                return Some(v.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::config::discovery::testing::*;
    use crate::model::SourceKind;

    #[test]
    fn ec2_never_reports_secret_values() {
        let mut f = Fake::new();
        f.set("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID0000")
            .set("AWS_SECRET_ACCESS_KEY", "s3cr3t/value")
            .set("AWS_SESSION_TOKEN", "tok3n");
        assert!(hint(&f.one(SourceKind::Ec2)).contains("no region"));
        f.set("AWS_REGION", "eu-west-1");
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "ec2.eu-west-1.amazonaws.com");
        assert_eq!(via(&d), "AWS_ACCESS_KEY_ID, region eu-west-1 (AWS_REGION)");
        let shown = format!("{d:?}");
        for secret in ["AKIAEXAMPLEKEYID0000", "s3cr3t", "tok3n"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn ec2_profile_files_and_endpoint_override() {
        let mut f = Fake::new();
        f.write(
            ".aws/credentials",
            "[ops]\naws_access_key_id = AKIA\naws_secret_access_key = x\n",
        );
        f.write(
            ".aws/config",
            "[default]\nregion = us-east-1\n[profile ops]\nregion = eu-central-1\n",
        );
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "ec2.us-east-1.amazonaws.com");
        assert!(via(&d).contains(".aws/credentials"), "{}", via(&d));
        assert!(!via(&d).contains("AKIA"));

        f.set("AWS_PROFILE", "ops");
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "ec2.eu-central-1.amazonaws.com");
        assert!(via(&d).starts_with("AWS_PROFILE=ops"));

        f.set("AWS_DEFAULT_REGION", "ap-south-1");
        assert_eq!(
            endpoint(&f.one(SourceKind::Ec2)),
            "ec2.ap-south-1.amazonaws.com"
        );

        f.set("AWS_ENDPOINT_URL", "http://127.0.0.1:5000");
        assert_eq!(endpoint(&f.one(SourceKind::Ec2)), "http://127.0.0.1:5000");
        f.set("AWS_ENDPOINT_URL_EC2", "http://user:pw@127.0.0.1:5001");
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "http://user:***@127.0.0.1:5001");
        assert!(via(&d).starts_with("AWS_ENDPOINT_URL_EC2"));
    }

    #[test]
    fn ec2_alternate_aws_files_are_honoured() {
        let mut f = Fake::new();
        let creds = f.write("elsewhere/creds", "[default]\n");
        let conf = f.write("elsewhere/conf", "[default]\nregion = sa-east-1\n");
        f.set("AWS_SHARED_CREDENTIALS_FILE", &creds.display().to_string())
            .set("AWS_CONFIG_FILE", &conf.display().to_string());
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "ec2.sa-east-1.amazonaws.com");
        assert!(via(&d).contains("elsewhere/creds"));
    }
}
