//! kubectl for the tests against the real control plane (`scripts/engines/kube.sh up`, whose
//! env file the test command sources): the reference every check of the cluster goes through.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Set by the test command; missing means the control plane was not started.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need the real control plane; run them through scripts/test.sh (it runs scripts/engines/kube.sh up)")
    })
}

/// kubectl with `kubeconfig` (None: whatever `KUBECONFIG` says, as a user's shell would).
pub fn kubectl_with(kubeconfig: Option<&Path>, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(env("CD_KUBECTL"));
    if let Some(k) = kubeconfig {
        cmd.arg("--kubeconfig").arg(k);
    }
    let out = cmd.args(args).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub fn kubectl_as(kubeconfig: &str, args: &[&str]) -> Result<String, String> {
    kubectl_with(Some(Path::new(kubeconfig)), args)
}

/// kubectl as the cluster admin; panics when it fails.
pub fn kubectl(args: &[&str]) -> String {
    kubectl_as(&env("CD_KUBECONFIG"), args).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
}

pub fn kubectl_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&kubectl(&a)).expect("kubectl JSON")
}

/// `kubectl apply -f -` as the admin; panics when it fails.
pub fn apply(yaml: &str) {
    let mut child = Command::new(env("CD_KUBECTL"))
        .args(["--kubeconfig", &env("CD_KUBECONFIG"), "apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("kubectl apply");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write");
    assert!(
        child.wait().expect("wait").success(),
        "apply failed:\n{yaml}"
    );
}
