//! The sources a context can have, one module each (docker, kubernetes, aws, etcd): its
//! `[[contexts]]` section, its validation, its discovery the way its own CLI finds it, and its
//! conversion to the backend's settings. `backends` puts them together for the start-up, which
//! only loops over what it returns.

pub mod aws;
pub mod docker;
pub mod etcd;
pub mod kubernetes;

use tokio::sync::mpsc;

pub use aws::AwsSource;
pub use docker::DockerSource;
pub use etcd::EtcdSource;
pub use kubernetes::KubeSource;

use crate::backends::{BackendHandle, BackendMsg, LogHandle, ReadHandle, UsageHandle};
use crate::config::Config;
use crate::config::discovery::{DiscoveredSource, Env};
use crate::model::SourceKind;

/// What the command line adds to the config when choosing sources.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--profile`: the AWS profile of every context.
    pub profile: Option<String>,
    /// `--namespace`: the Kubernetes namespace of every context.
    pub namespace: Option<String>,
}

/// One backend to start: a source's settings for one context.
#[derive(Clone, Debug)]
pub enum BackendSpec {
    Swarm(clusterdeck_swarm::SwarmSettings),
    #[cfg(feature = "ec2")]
    Ec2(clusterdeck_ec2::Ec2Settings),
    #[cfg(feature = "kube")]
    Kube(clusterdeck_kube::KubeSettings),
    Etcd(clusterdeck_etcd::EtcdSettings),
}

impl BackendSpec {
    pub fn cluster(&self) -> &str {
        match self {
            BackendSpec::Swarm(s) => &s.cluster,
            #[cfg(feature = "ec2")]
            BackendSpec::Ec2(s) => &s.cluster,
            #[cfg(feature = "kube")]
            BackendSpec::Kube(s) => &s.cluster,
            BackendSpec::Etcd(s) => &s.cluster,
        }
    }

    pub fn source(&self) -> SourceKind {
        match self {
            BackendSpec::Swarm(_) => SourceKind::Swarm,
            #[cfg(feature = "ec2")]
            BackendSpec::Ec2(_) => SourceKind::Ec2,
            #[cfg(feature = "kube")]
            BackendSpec::Kube(_) => SourceKind::Kubernetes,
            BackendSpec::Etcd(_) => SourceKind::Etcd,
        }
    }

    /// Its log follower, for the sources that have logs.
    pub fn logs(&self, tx: &mpsc::Sender<BackendMsg>) -> Option<LogHandle> {
        match self {
            BackendSpec::Swarm(s) => Some(clusterdeck_swarm::spawn_logs(
                s.cluster.clone(),
                s.endpoints.clone(),
                s.tls.clone(),
                tx.clone(),
            )),
            #[cfg(feature = "kube")]
            BackendSpec::Kube(s) => Some(clusterdeck_kube::spawn_logs(s.clone(), tx.clone())),
            _ => None,
        }
    }

    /// Its reader of single objects (the describe view), for the sources that have one.
    pub fn reader(&self, tx: &mpsc::Sender<BackendMsg>) -> Option<ReadHandle> {
        match self {
            BackendSpec::Swarm(s) => Some(clusterdeck_swarm::spawn_reader(
                s.cluster.clone(),
                s.endpoints.clone(),
                s.tls.clone(),
                tx.clone(),
            )),
            #[cfg(feature = "kube")]
            BackendSpec::Kube(s) => Some(clusterdeck_kube::spawn_reader(s.clone(), tx.clone())),
            #[cfg(feature = "ec2")]
            BackendSpec::Ec2(s) => Some(clusterdeck_ec2::spawn_reader(s.clone(), tx.clone())),
            BackendSpec::Etcd(s) => Some(clusterdeck_etcd::spawn_reader(s.clone(), tx.clone())),
        }
    }

    /// Its sampler of CPU and memory, for the sources that have one.
    pub fn usage(&self, tx: &mpsc::Sender<BackendMsg>) -> Option<UsageHandle> {
        match self {
            BackendSpec::Swarm(s) => Some(clusterdeck_swarm::spawn_usage(
                s.cluster.clone(),
                s.endpoints.clone(),
                s.tls.clone(),
                s.nodes.clone(),
                tx.clone(),
            )),
            #[cfg(feature = "kube")]
            BackendSpec::Kube(s) => Some(clusterdeck_kube::spawn_usage(s.clone(), tx.clone())),
            _ => None,
        }
    }

    /// Starts it; with `writable` the returned handle reaches its write side. etcd is only
    /// ever watched.
    pub fn spawn(self, writable: bool, tx: mpsc::Sender<BackendMsg>) -> Option<BackendHandle> {
        match self {
            BackendSpec::Swarm(s) => clusterdeck_swarm::spawn(s, writable, tx),
            #[cfg(feature = "ec2")]
            BackendSpec::Ec2(s) => clusterdeck_ec2::spawn(s, writable, tx),
            #[cfg(feature = "kube")]
            BackendSpec::Kube(s) => clusterdeck_kube::spawn(s, writable, tx),
            BackendSpec::Etcd(s) => {
                clusterdeck_etcd::spawn(s, tx);
                None
            }
        }
    }
}

/// Every backend the config and the environment name: Swarm, EC2, Kubernetes, then etcd, each
/// in context order (the order contexts first appear on screen).
pub fn backends(
    cfg: &Config,
    found: &[DiscoveredSource],
    o: &Overrides,
    env: &Env,
) -> Vec<BackendSpec> {
    let mut out: Vec<BackendSpec> = docker::settings(cfg, found, env)
        .into_iter()
        .map(BackendSpec::Swarm)
        .collect();
    #[cfg(feature = "ec2")]
    out.extend(
        aws::settings(cfg, found, o.profile.as_deref())
            .into_iter()
            .map(BackendSpec::Ec2),
    );
    #[cfg(feature = "kube")]
    out.extend(
        kubernetes::settings(cfg, found, o.namespace.as_deref())
            .into_iter()
            .map(BackendSpec::Kube),
    );
    #[cfg(not(any(feature = "ec2", feature = "kube")))]
    let _ = o;
    out.extend(etcd::settings(cfg, env).into_iter().map(BackendSpec::Etcd));
    out
}
