//! The describe reader against moto: an instance's whole object as boto3's describe_instances
//! gives it (same names, same values; times as RFC 3339), a stopped one with its state reason,
//! and an id no region knows.

use std::process::Command;

use clusterdeck::backends::{BackendMsg, ec2};
use clusterdeck::model::ObjectKind;
use serde_json::Value;

use crate::ec2_support::*;

/// boto3's view of one instance (profile cd-open), times written as RFC 3339 in UTC.
fn boto3(id: &str) -> Value {
    let script = r#"
import boto3, datetime, json, os, sys
c = boto3.Session(profile_name="cd-open").client(
    "ec2", endpoint_url=os.environ["CD_EC2_ENDPOINT"], region_name=os.environ["CD_EC2_REGION"])
i = c.describe_instances(InstanceIds=[sys.argv[1]])["Reservations"][0]["Instances"][0]
def stamp(t):
    t = t.astimezone(datetime.timezone.utc)
    ms = t.microsecond // 1000
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (".%03d" % ms if ms else "") + "Z"
print(json.dumps(i, default=stamp))
"#;
    let python = format!("{}/bin/python", env("CD_EC2_VENV"));
    let out = Command::new(python)
        .args(["-c", script, id])
        .output()
        .expect("boto3 runs");
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("boto3's JSON")
}

fn read(s: ec2::Ec2Settings, id: &str) -> Result<Value, String> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let h = ec2::spawn_reader(s, tx);
        h.tx.send((ObjectKind::Instance, id.to_string()))
            .await
            .expect("asked");
        let msg = tokio::time::timeout(std::time::Duration::from_secs(60), rx.recv())
            .await
            .expect("an answer in time")
            .expect("a message");
        let BackendMsg::Described { json, id: got, .. } = msg else {
            panic!("not a description")
        };
        assert_eq!(got, id);
        json.map(|t| serde_json::from_str(&t).expect("JSON"))
    })
}

#[test]
fn an_instance_is_described_as_boto3_describes_it() {
    let tag = unique("describe");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (running, stopped) = rt.block_on(async {
        let api = api("cd-open", &open_endpoint()).await;
        let (_, subnet, sg) = network(&api, "10.62.0.0/16").await;
        let ids = launch(
            &api,
            Launch {
                count: 2,
                tags: &[("cd-test", &tag), ("Name", "web-1"), ("role", "web")],
                subnet: Some(&subnet),
                groups: &[&sg],
                key_name: Some("ops-key"),
                ..Launch::default()
            },
        )
        .await;
        api.stop_instances()
            .instance_ids(&ids[1])
            .send()
            .await
            .expect("stopped");
        (ids[0].clone(), ids[1].clone())
    });
    let s = settings("lab", "cd-open", &open_endpoint(), &tag);
    for id in [&running, &stopped] {
        let ours = read(s.clone(), id).expect("read");
        let theirs = boto3(id);
        assert_eq!(ours, theirs, "the whole instance {id}");
    }
    let ours = read(s.clone(), &stopped).expect("read");
    assert_eq!(ours["State"]["Name"], "stopped");
    assert!(
        ours["StateTransitionReason"]
            .as_str()
            .is_some_and(|r| r.contains("User initiated")),
        "{ours}"
    );
    let summary = clusterdeck::app::describe::summary(&ours);
    assert!(
        summary
            .iter()
            .any(|l| l.starts_with("state") && l.contains("stopped")),
        "{summary:?}"
    );
    let err = read(s, "i-0123456789abcdef0").expect_err("no such instance");
    assert!(
        err.contains("i-0123456789abcdef0") && err.contains("not found"),
        "{err}"
    );
}
