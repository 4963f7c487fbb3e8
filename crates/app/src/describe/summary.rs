//! The few lines for people above the full object: what `docker service inspect --pretty`
//! and `kubectl describe` put first.

use serde_json::Value;

/// A few lines for people, before the full object.
pub fn summary(v: &Value) -> Vec<String> {
    let s = |p: &[&str]| -> Option<String> {
        let mut cur = v;
        for k in p {
            cur = cur.get(*k)?;
        }
        match cur {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    let mut out = Vec::new();
    let mut push = |label: &str, val: Option<String>| {
        if let Some(v) = val.filter(|v| !v.is_empty() && v != "[]" && v != "{}") {
            out.push(format!("{label:<12} {v}"));
        }
    };
    if let Some(kind) = v.get("kind").and_then(Value::as_str) {
        kube_summary(kind, v, &mut push);
    } else if v
        .get("Spec")
        .and_then(|sp| sp.get("TaskTemplate"))
        .is_some()
        && v.get("ServiceID").is_none()
    {
        // A Swarm service.
        let spec = &v["Spec"];
        let mode = match spec["Mode"]["Replicated"]["Replicas"].as_u64() {
            Some(n) => format!("replicated, {n} replicas"),
            None if spec["Mode"].get("Global").is_some() => "global".into(),
            None => spec["Mode"].to_string(),
        };
        push("mode", Some(mode));
        push(
            "image",
            s(&["Spec", "TaskTemplate", "ContainerSpec", "Image"]),
        );
        for (label, key) in [("update", "UpdateConfig"), ("rollback", "RollbackConfig")] {
            let c = &spec[key];
            if c.is_object() {
                push(
                    label,
                    Some(format!(
                        "parallelism {}, delay {}s, on failure {}, order {}",
                        c["Parallelism"].as_u64().unwrap_or(1),
                        c["Delay"].as_u64().unwrap_or(0) / 1_000_000_000,
                        c["FailureAction"].as_str().unwrap_or("pause"),
                        c["Order"].as_str().unwrap_or("stop-first")
                    )),
                );
            }
        }
        push(
            "constraints",
            s(&["Spec", "TaskTemplate", "Placement", "Constraints"]),
        );
        push(
            "preferences",
            s(&["Spec", "TaskTemplate", "Placement", "Preferences"]),
        );
        let ports: Vec<String> = spec["EndpointSpec"]["Ports"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}/{} ({})",
                    p["PublishedPort"],
                    p["TargetPort"],
                    p["Protocol"].as_str().unwrap_or("tcp"),
                    p["PublishMode"].as_str().unwrap_or("ingress")
                )
            })
            .collect();
        push("ports", Some(ports.join(", ")));
        let names = |key: &str, field: &str| -> String {
            spec["TaskTemplate"]["ContainerSpec"][key]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|x| x[field].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        push("networks", s(&["Spec", "TaskTemplate", "Networks"]));
        push("mounts", Some(names("Mounts", "Target")));
        push("secrets", Some(names("Secrets", "SecretName")));
        push("configs", Some(names("Configs", "ConfigName")));
        push(
            "healthcheck",
            s(&[
                "Spec",
                "TaskTemplate",
                "ContainerSpec",
                "Healthcheck",
                "Test",
            ]),
        );
        push(
            "limits",
            s(&["Spec", "TaskTemplate", "Resources", "Limits"]),
        );
        push("labels", s(&["Spec", "Labels"]));
    } else if v.get("ServiceID").is_some() {
        // A Swarm task.
        push("state", s(&["Status", "State"]));
        push("desired", s(&["DesiredState"]));
        push("exit code", s(&["Status", "ContainerStatus", "ExitCode"]));
        push("error", s(&["Status", "Err"]));
        push("message", s(&["Status", "Message"]));
        push(
            "container",
            s(&["Status", "ContainerStatus", "ContainerID"]),
        );
        push("node", s(&["NodeID"]));
        push("ports", s(&["Status", "PortStatus", "Ports"]));
        push("image", s(&["Spec", "ContainerSpec", "Image"]));
    } else if v.get("InstanceId").is_some() {
        ec2_summary(v, &mut push);
    } else if v.get("member").is_some() && v.get("status").is_some() {
        etcd_summary(v, &mut push);
    } else if v.get("Description").is_some() {
        // A Swarm node.
        push("hostname", s(&["Description", "Hostname"]));
        push("role", s(&["Spec", "Role"]));
        push("availability", s(&["Spec", "Availability"]));
        push("state", s(&["Status", "State"]));
        push("address", s(&["Status", "Addr"]));
        push("manager", s(&["ManagerStatus", "Reachability"]));
        push("engine", s(&["Description", "Engine", "EngineVersion"]));
        push("labels", s(&["Spec", "Labels"]));
    }
    out
}

/// A Kubernetes object's few lines: what `kubectl describe` puts first.
fn kube_summary(kind: &str, v: &Value, push: &mut impl FnMut(&str, Option<String>)) {
    let text = |x: &Value| match x {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    let containers = |spec: &Value| -> Vec<String> {
        spec["containers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["name"].as_str().unwrap_or("?"),
                    c["image"].as_str().unwrap_or("?")
                )
            })
            .collect()
    };
    push("kind", Some(kind.to_string()));
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => {
            push(
                "replicas",
                Some(format!(
                    "{} desired, {} ready, {} updated",
                    text(&v["spec"]["replicas"]).unwrap_or_else(|| "-".into()),
                    text(&v["status"]["readyReplicas"]).unwrap_or_else(|| "0".into()),
                    text(&v["status"]["updatedReplicas"]).unwrap_or_else(|| "0".into())
                )),
            );
            push("strategy", text(&v["spec"]["strategy"]));
            push(
                "images",
                Some(containers(&v["spec"]["template"]["spec"]).join(", ")),
            );
            push("selector", text(&v["spec"]["selector"]["matchLabels"]));
            push(
                "revision",
                text(&v["metadata"]["annotations"]["deployment.kubernetes.io/revision"]),
            );
        }
        "Pod" => {
            push("phase", text(&v["status"]["phase"]));
            push("node", text(&v["spec"]["nodeName"]));
            push("images", Some(containers(&v["spec"]).join(", ")));
            for c in v["status"]["containerStatuses"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let name = c["name"].as_str().unwrap_or("?");
                let last = &c["lastState"]["terminated"];
                let mut s = format!("restarts {}", c["restartCount"]);
                if last.is_object() {
                    s.push_str(&format!(
                        ", last exit {} ({})",
                        last["exitCode"],
                        last["reason"].as_str().unwrap_or("")
                    ));
                }
                push(&format!("container {name}"), Some(s));
            }
        }
        "Node" => {
            let ready = v["status"]["conditions"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .find(|c| c["type"] == "Ready")
                .and_then(|c| c["status"].as_str())
                .map(str::to_string);
            push("ready", ready);
            push("unschedulable", text(&v["spec"]["unschedulable"]));
            push("kubelet", text(&v["status"]["nodeInfo"]["kubeletVersion"]));
            push("taints", text(&v["spec"]["taints"]));
        }
        _ => {}
    }
}

/// An EC2 instance: what the console's instance row says, and where it lives.
fn ec2_summary(v: &Value, push: &mut impl FnMut(&str, Option<String>)) {
    let text = |x: &Value| x.as_str().map(str::to_string);
    let list = |key: &str, field: &str| -> String {
        v[key]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|x| x[field].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let tags: Vec<String> = v["Tags"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|t| {
            format!(
                "{}={}",
                t["Key"].as_str().unwrap_or("?"),
                t["Value"].as_str().unwrap_or("")
            )
        })
        .collect();
    let mut state = text(&v["State"]["Name"]).unwrap_or_default();
    if let Some(r) = text(&v["StateTransitionReason"]).filter(|r| !r.is_empty()) {
        state.push_str(&format!(" ({r})"));
    }
    push("state", Some(state));
    push("type", text(&v["InstanceType"]));
    push("image", text(&v["ImageId"]));
    push("launched", text(&v["LaunchTime"]));
    push("zone", text(&v["Placement"]["AvailabilityZone"]));
    let joined = |keys: [&str; 2], sep: &str| {
        keys.iter()
            .filter_map(|k| v[*k].as_str())
            .collect::<Vec<_>>()
            .join(sep)
    };
    push(
        "addresses",
        Some(joined(["PrivateIpAddress", "PublicIpAddress"], ", ")),
    );
    push("network", Some(joined(["VpcId", "SubnetId"], " / ")));
    push("groups", Some(list("SecurityGroups", "GroupName")));
    push("key", text(&v["KeyName"]));
    push(
        "root",
        Some(format!(
            "{} {}",
            v["RootDeviceType"].as_str().unwrap_or(""),
            v["RootDeviceName"].as_str().unwrap_or("")
        ))
        .map(|s| s.trim().to_string()),
    );
    push("tags", Some(tags.join(", ")));
}

/// An etcd member: its URLs, and what it says of itself.
fn etcd_summary(v: &Value, push: &mut impl FnMut(&str, Option<String>)) {
    let m = &v["member"];
    let join = |x: &Value| {
        x.as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    push("name", m["name"].as_str().map(str::to_string));
    push("peer URLs", Some(join(&m["peerURLs"])));
    push("client URLs", Some(join(&m["clientURLs"])));
    if m["isLearner"].as_bool() == Some(true) {
        push("learner", Some("yes".into()));
    }
    for st in v["status"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let ep = st["endpoint"].as_str().unwrap_or("?");
        let line = match st["error"].as_str() {
            Some(e) => format!("{ep}: {e}"),
            None => {
                let s = &st["status"];
                let leader = s["leader"] == s["header"]["member_id"];
                format!(
                    "{ep}: version {} · raft term {} index {} · db {} bytes{}",
                    s["version"].as_str().unwrap_or("?"),
                    s["raftTerm"].as_str().unwrap_or("?"),
                    s["raftIndex"].as_str().unwrap_or("?"),
                    s["dbSize"].as_str().unwrap_or("?"),
                    if leader { " · leader" } else { "" }
                )
            }
        };
        push("status", Some(line));
    }
}
