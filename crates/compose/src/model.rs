//! The typed Compose model: what `docker stack deploy` turns into Swarm objects. Keys the
//! model does not know are kept by name (`extra`) so the loader can say which it ignores
//! (as `docker stack deploy` does) and which it refuses.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::lenient;

pub type Labels = BTreeMap<String, Option<String>>;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ComposeFile {
    #[serde(default, deserialize_with = "lenient::text")]
    pub version: Option<String>,
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    #[serde(default, deserialize_with = "nullable_map")]
    pub networks: BTreeMap<String, Network>,
    #[serde(default, deserialize_with = "nullable_map")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(default, deserialize_with = "nullable_map")]
    pub secrets: BTreeMap<String, FileObject>,
    #[serde(default, deserialize_with = "nullable_map")]
    pub configs: BTreeMap<String, FileObject>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Service {
    #[serde(default, deserialize_with = "lenient::text")]
    pub image: Option<String>,
    #[serde(default, deserialize_with = "lenient::command")]
    pub command: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::command")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub environment: Labels,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub labels: Labels,
    #[serde(default)]
    pub deploy: Option<Deploy>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub networks: Option<ServiceNetworks>,
    #[serde(default)]
    pub secrets: Vec<FileRef>,
    #[serde(default)]
    pub configs: Vec<FileRef>,
    #[serde(default)]
    pub volumes: Vec<Mount>,
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default)]
    pub logging: Option<Logging>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub hostname: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub working_dir: Option<String>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub stop_grace_period: Option<i64>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub stop_signal: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub tty: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub stdin_open: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub read_only: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub init: Option<bool>,
    #[serde(default, deserialize_with = "lenient::texts")]
    pub cap_add: Vec<String>,
    #[serde(default, deserialize_with = "lenient::texts")]
    pub cap_drop: Vec<String>,
    #[serde(default, deserialize_with = "lenient::texts")]
    pub dns: Vec<String>,
    #[serde(default, deserialize_with = "lenient::texts")]
    pub dns_search: Vec<String>,
    #[serde(default, deserialize_with = "lenient::texts")]
    pub extra_hosts: Vec<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub restart: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Deploy {
    #[serde(default, deserialize_with = "lenient::text")]
    pub mode: Option<String>,
    #[serde(default, deserialize_with = "lenient::uint")]
    pub replicas: Option<u64>,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub labels: Labels,
    #[serde(default)]
    pub update_config: Option<UpdateConfig>,
    #[serde(default)]
    pub rollback_config: Option<UpdateConfig>,
    #[serde(default)]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(default)]
    pub placement: Option<Placement>,
    #[serde(default)]
    pub resources: Option<Resources>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub endpoint_mode: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    #[serde(default, deserialize_with = "lenient::uint")]
    pub parallelism: Option<u64>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub delay: Option<i64>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub failure_action: Option<String>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub monitor: Option<i64>,
    #[serde(default, deserialize_with = "lenient::float")]
    pub max_failure_ratio: Option<f64>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub order: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    #[serde(default, deserialize_with = "lenient::text")]
    pub condition: Option<String>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub delay: Option<i64>,
    #[serde(default, deserialize_with = "lenient::uint")]
    pub max_attempts: Option<u64>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub window: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    #[serde(default, deserialize_with = "lenient::texts")]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub preferences: Vec<Preference>,
    #[serde(default, deserialize_with = "lenient::uint")]
    pub max_replicas_per_node: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preference {
    #[serde(deserialize_with = "lenient::text")]
    pub spread: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub limits: Option<Resource>,
    #[serde(default)]
    pub reservations: Option<Resource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// CPUs as Compose writes them (`"0.5"`): a fraction of one.
    #[serde(default, deserialize_with = "lenient::float")]
    pub cpus: Option<f64>,
    #[serde(default, deserialize_with = "lenient::bytes")]
    pub memory: Option<i64>,
    #[serde(default, deserialize_with = "lenient::uint")]
    pub pids: Option<u64>,
}

/// A published port: `"8080:80/udp"`, `"80"`, or the long form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub target: u32,
    pub published: Option<u32>,
    pub protocol: String,
    pub mode: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongPort {
    #[serde(deserialize_with = "lenient::uint")]
    target: Option<u64>,
    #[serde(default, deserialize_with = "lenient::uint")]
    published: Option<u64>,
    #[serde(default, deserialize_with = "lenient::text")]
    protocol: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    mode: Option<String>,
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = Value::deserialize(d)?;
        if v.is_object() {
            let l = LongPort::deserialize(v).map_err(D::Error::custom)?;
            let port = |n: Option<u64>, what: &str| -> Result<Option<u32>, D::Error> {
                n.map(|n| {
                    u32::try_from(n)
                        .ok()
                        .filter(|p| (1..=65535).contains(p))
                        .ok_or_else(|| D::Error::custom(format!("{what} port {n} is not 1-65535")))
                })
                .transpose()
            };
            return Ok(Port {
                target: port(l.target, "target")?
                    .ok_or_else(|| D::Error::custom("a port needs its target"))?,
                published: port(l.published, "published")?,
                protocol: l.protocol.unwrap_or_else(|| "tcp".into()),
                mode: l.mode.unwrap_or_else(|| "ingress".into()),
            });
        }
        let s = lenient::text_of::<D::Error>(v)?;
        parse_short_port(&s).map_err(D::Error::custom)
    }
}

/// `[HOST:]CONTAINER[/PROTOCOL]`; a host IP or a range is not something Swarm publishes.
fn parse_short_port(s: &str) -> Result<Port, String> {
    let (ports, protocol) = match s.split_once('/') {
        Some((p, proto)) => (p, proto.to_string()),
        None => (s, "tcp".to_string()),
    };
    let num = |t: &str| -> Result<u32, String> {
        t.parse::<u32>()
            .ok()
            .filter(|p| (1..=65535).contains(p))
            .ok_or_else(|| format!("port {s:?}: {t:?} is not a port number (ranges and host addresses are not supported by Swarm's published ports)"))
    };
    let parts: Vec<&str> = ports.split(':').collect();
    let (published, target) = match parts.as_slice() {
        [t] => (None, num(t)?),
        [p, t] => (Some(num(p)?), num(t)?),
        _ => return Err(format!("port {s:?}: write PUBLISHED:TARGET[/PROTOCOL]")),
    };
    Ok(Port {
        target,
        published,
        protocol,
        mode: "ingress".into(),
    })
}

/// A service's networks: a list of names, or names with options.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ServiceNetworks {
    List(Vec<String>),
    Map(BTreeMap<String, Option<ServiceNetwork>>),
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceNetwork {
    #[serde(default, deserialize_with = "lenient::texts")]
    pub aliases: Vec<String>,
}

impl ServiceNetworks {
    /// Each network the service joins with its extra aliases, by name.
    pub fn entries(&self) -> BTreeMap<String, Vec<String>> {
        match self {
            ServiceNetworks::List(names) => names.iter().map(|n| (n.clone(), Vec::new())).collect(),
            ServiceNetworks::Map(map) => map
                .iter()
                .map(|(n, o)| {
                    (
                        n.clone(),
                        o.as_ref().map(|o| o.aliases.clone()).unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }
}

/// A secret or config a service uses: `- name` or `{source, target, uid, gid, mode}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub source: String,
    pub target: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongRef {
    #[serde(deserialize_with = "lenient::text")]
    source: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    target: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    uid: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    gid: Option<String>,
    #[serde(default)]
    mode: Option<Value>,
}

impl<'de> Deserialize<'de> for FileRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Ok(FileRef {
                source: lenient::text_of(v)?,
                target: None,
                uid: None,
                gid: None,
                mode: None,
            });
        }
        let l = LongRef::deserialize(v).map_err(D::Error::custom)?;
        let mode = match l.mode {
            None | Some(Value::Null) => None,
            Some(v) => Some(file_mode(&v).map_err(D::Error::custom)?),
        };
        Ok(FileRef {
            source: l
                .source
                .ok_or_else(|| D::Error::custom("needs its source"))?,
            target: l.target,
            uid: l.uid,
            gid: l.gid,
            mode,
        })
    }
}

/// A secret's or config's `mode`. `0o440` is a number already. `0440` is octal to Docker's
/// YAML 1.1 reader, but YAML 1.2 reads a leading zero as a decimal float (440.0): a mode
/// written as a whole float is read back as the octal digits it was written with (no one
/// writes a mode with a fraction). Text (`"0440"`, `"440"`) is octal digits.
fn file_mode(v: &Value) -> Result<u32, String> {
    let octal = |digits: &str, shown: &dyn std::fmt::Display| {
        u32::from_str_radix(digits, 8).map_err(|_| format!("mode {shown} is not octal"))
    };
    let mode = match v {
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(m), _) => u32::try_from(m).map_err(|_| format!("mode {n} is too large"))?,
            (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f < 1e9 => {
                octal(&format!("{f:.0}"), &format_args!("0{f:.0}"))?
            }
            _ => return Err(format!("mode {n} is not a file mode")),
        },
        Value::String(s) => {
            let t = s.trim();
            octal(t.strip_prefix("0o").unwrap_or(t), &format_args!("{s:?}"))?
        }
        _ => return Err("mode must be a number (octal, e.g. 0o440)".into()),
    };
    if mode > 0o7777 {
        return Err(format!(
            "mode {mode:#o} is not a file mode (at most 0o7777)"
        ));
    }
    Ok(mode)
}

/// A volume or bind mount: `name:/path[:ro]`, `/host:/path[:ro]`, `/path`, or the long form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: String,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongMount {
    #[serde(rename = "type", deserialize_with = "lenient::text")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    source: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    target: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    read_only: Option<bool>,
}

impl<'de> Deserialize<'de> for Mount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = Value::deserialize(d)?;
        if v.is_object() {
            let l = LongMount::deserialize(v).map_err(D::Error::custom)?;
            return Ok(Mount {
                kind: l
                    .kind
                    .ok_or_else(|| D::Error::custom("a mount needs its type"))?,
                source: l.source,
                target: l
                    .target
                    .ok_or_else(|| D::Error::custom("a mount needs its target"))?,
                read_only: l.read_only.unwrap_or(false),
            });
        }
        let s = lenient::text_of::<D::Error>(v)?;
        let parts: Vec<&str> = s.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [t] => (None, *t, None),
            [src, t] => (Some(*src), *t, None),
            [src, t, m] => (Some(*src), *t, Some(*m)),
            _ => {
                return Err(D::Error::custom(format!(
                    "volume {s:?}: write SOURCE:TARGET[:ro]"
                )));
            }
        };
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(m) => {
                return Err(D::Error::custom(format!(
                    "volume {s:?}: mode {m:?} is not ro or rw"
                )));
            }
        };
        let bind =
            source.is_some_and(|s| s.starts_with('/') || s.starts_with('.') || s.starts_with('~'));
        Ok(Mount {
            kind: if bind { "bind" } else { "volume" }.into(),
            source: source.map(str::to_string),
            target: target.to_string(),
            read_only,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    #[serde(default)]
    pub test: Option<Value>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub interval: Option<i64>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub timeout: Option<i64>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub start_period: Option<i64>,
    #[serde(default, deserialize_with = "lenient::duration")]
    pub start_interval: Option<i64>,
    #[serde(default, deserialize_with = "lenient::uint")]
    pub retries: Option<u64>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub disable: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    #[serde(default, deserialize_with = "lenient::text")]
    pub driver: Option<String>,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub options: Labels,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Network {
    #[serde(default, deserialize_with = "lenient::text")]
    pub driver: Option<String>,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub driver_opts: Labels,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub attachable: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub internal: Option<bool>,
    #[serde(default)]
    pub external: Option<Value>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub labels: Labels,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Volume {
    #[serde(default, deserialize_with = "lenient::text")]
    pub driver: Option<String>,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub driver_opts: Labels,
    #[serde(default)]
    pub external: Option<Value>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub labels: Labels,
}

/// A top-level secret or config: from a `file`, or `external` (made outside the stack).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileObject {
    #[serde(default, deserialize_with = "lenient::text")]
    pub file: Option<String>,
    #[serde(default)]
    pub external: Option<Value>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::list_or_map")]
    pub labels: Labels,
}

/// `external: true` (or the old `external: {name: …}`).
pub fn is_external(v: &Option<Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        Some(Value::Object(_)) => true,
        _ => false,
    }
}

/// A mapping whose values may be empty (`networks: {backend: }`).
fn nullable_map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let m: Option<BTreeMap<String, Option<T>>> = Option::deserialize(d)?;
    Ok(m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}
