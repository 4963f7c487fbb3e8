//! A real ansible-playbook (scripts/engines/ansible.sh installs it) run by a command hook,
//! creating a service on the test swarm (scripts/engines/swarm.sh). Missing either fails the
//! test: it is never skipped.

use std::path::PathBuf;
use std::process::Command;

use clusterdeck_hooks::{Hook, Outcome, Param, Target, check, start};

use crate::support::{collect, lines, outcome, values};

const PLAYBOOK: &str = r#"- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: create the service
      ansible.builtin.command:
        argv: [docker, service, create, --detach, --name, "{{ service_name }}", --replicas, "1", "{{ image }}"]
"#;

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test runs a real ansible-playbook against the test swarm; \
             run it through scripts/test.sh (scripts/engines/ansible.sh install, \
             scripts/engines/swarm.sh up, and their env files sourced)"
        )
    })
}

/// `docker` against the first manager.
fn docker(host: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("docker")
        .arg("-H")
        .arg(host)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the service by name when the test ends, passed or not.
struct Service<'a> {
    host: &'a str,
    name: &'a str,
}

impl Drop for Service<'_> {
    fn drop(&mut self) {
        let _ = docker(self.host, &["service", "rm", self.name]);
    }
}

#[tokio::test]
async fn a_playbook_creates_a_service_on_the_swarm() {
    let playbook = required("CD_ANSIBLE_PLAYBOOK");
    let host = required("CD_SWARM_N1_SOCK");
    let image = format!("{}:1", required("CD_IMAGE_REPO"));
    assert!(
        std::path::Path::new(&playbook).is_file(),
        "{playbook} is missing: run scripts/engines/ansible.sh install (scripts/test.sh does)"
    );
    let name = format!("cd-hooks-ansible-{}", std::process::id());
    let _cleanup = Service {
        host: &host,
        name: &name,
    };
    let _ = docker(&host, &["service", "rm", &name]);

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("deploy.yml"), PLAYBOOK).expect("write the playbook");
    let tmp = dir
        .path()
        .join("ansible-tmp")
        .to_string_lossy()
        .into_owned();
    let hook = Hook {
        name: "create-service".into(),
        target: Target::Command {
            argv: [
                playbook.as_str(),
                "deploy.yml",
                "-e",
                "service_name={name}",
                "-e",
                "image={image}",
            ]
            .map(String::from)
            .to_vec(),
            cwd: Some(PathBuf::from(dir.path())),
            env: vec![
                ("DOCKER_HOST".into(), host.clone()),
                // ansible-core refuses to start without a UTF-8 locale.
                ("LC_ALL".into(), "C.UTF-8".into()),
                ("ANSIBLE_NOCOLOR".into(), "1".into()),
                ("ANSIBLE_LOCAL_TEMP".into(), tmp),
            ],
        },
        params: vec![
            Param {
                pattern: Some("[a-z0-9-]{1,63}".into()),
                ..crate::support::param("name")
            },
            Param {
                pattern: Some("[A-Za-z0-9._/:-]".into()),
                ..crate::support::param("image")
            },
        ],
    };
    assert_eq!(check(&hook), Ok(()));
    let typed = values(&[("name", &name), ("image", &image)]);
    let events = collect(start(&hook, &typed), 180).await;
    let out = lines(&events);
    assert_eq!(outcome(&events), Outcome::Exited(0), "output: {out:#?}");
    let recap = out
        .iter()
        .position(|l| l.starts_with("PLAY RECAP"))
        .unwrap_or_else(|| panic!("no PLAY RECAP in {out:#?}"));
    let localhost = out[recap..]
        .iter()
        .find(|l| l.starts_with("localhost"))
        .unwrap_or_else(|| panic!("no recap line for localhost in {out:#?}"));
    for want in ["ok=1", "changed=1", "failed=0", "unreachable=0"] {
        assert!(localhost.contains(want), "{want} in {localhost:?}");
    }

    let listed = docker(&host, &["service", "ls", "--format", "{{.Name}}"])
        .expect("docker service ls on the first manager");
    assert!(listed.lines().any(|l| l == name), "{name} not in: {listed}");
    let used = docker(
        &host,
        &[
            "service",
            "inspect",
            &name,
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        ],
    )
    .expect("docker service inspect");
    assert!(used.trim().starts_with(&image), "{used}");
}
