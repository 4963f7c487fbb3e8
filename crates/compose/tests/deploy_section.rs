//! The `deploy` section, from the Compose specification's "Deploy" section
//! (<https://github.com/compose-spec/compose-spec/blob/main/deploy.md>), with durations and
//! byte values from its "Specifying durations" / "Specifying byte values" sections
//! (<https://github.com/compose-spec/compose-spec/blob/main/11-extension.md>), and the
//! service's `ports` and `secrets` from the "Services" section
//! (<https://github.com/compose-spec/compose-spec/blob/main/05-services.md>). Each test quotes
//! what it checks.

use std::collections::BTreeMap;

use clusterdeck_compose::lenient::{parse_bytes, parse_duration};
use clusterdeck_compose::model::{Deploy, FileRef, Port, Service};
use clusterdeck_compose::{Error, Loaded, load};

const S: i64 = 1_000_000_000;
const MIB: i64 = 1024 * 1024;

fn try_load(text: &str) -> Result<Loaded, Error> {
    load("stack.yml", text, &BTreeMap::<String, String>::new())
}

fn loaded(text: &str) -> Loaded {
    try_load(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn service(text: &str, name: &str) -> Service {
    loaded(text).file.services[name].clone()
}

/// The `deploy` of service `web`, from the lines under `deploy:` (indented by six).
fn deploy(body: &str) -> Deploy {
    let text = format!("services:\n  web:\n    image: app:1\n    deploy:\n{body}");
    service(&text, "web").deploy.expect("a deploy section")
}

fn refused(text: &str) -> Error {
    match try_load(text) {
        Ok(l) => panic!("loaded, expected a refusal: {:?}\n{text}", l.file.services),
        Err(e) => e,
    }
}

fn label(v: &str) -> Option<String> {
    Some(v.to_string())
}

// ### endpoint_mode — "`endpoint_mode: vip`: Assigns the service a virtual IP (VIP)…";
// "`endpoint_mode: dnsrr`: Platform sets up DNS entries for the service…". The example, whole:

#[test]
fn endpoint_mode_example() {
    let text = "\
services:
  frontend:
    image: example/webapp
    ports:
      - \"8080:80\"
    deploy:
      mode: replicated
      replicas: 2
      endpoint_mode: vip
";
    let svc = service(text, "frontend");
    let d = svc.deploy.expect("deploy");
    assert_eq!(d.mode.as_deref(), Some("replicated"));
    assert_eq!(d.replicas, Some(2));
    assert_eq!(d.endpoint_mode.as_deref(), Some("vip"));
    assert_eq!(
        svc.ports,
        [Port {
            target: 80,
            published: Some(8080),
            protocol: "tcp".into(),
            mode: "ingress".into()
        }]
    );
    assert_eq!(
        deploy("      endpoint_mode: dnsrr\n")
            .endpoint_mode
            .as_deref(),
        Some("dnsrr")
    );
}

// ### labels — "`labels` specifies metadata for the service." Labels, like every
// label set in Compose, are a mapping or a list of `KEY=VALUE`.

#[test]
fn labels_map_and_list_forms() {
    let map = deploy(
        "      labels:\n        com.example.description: \"This label will appear on the web service\"\n        com.example.tier: 2\n",
    );
    let list = deploy(
        "      labels:\n        - \"com.example.description=This label will appear on the web service\"\n        - com.example.tier=2\n",
    );
    let want: BTreeMap<String, Option<String>> = [
        (
            "com.example.description",
            label("This label will appear on the web service"),
        ),
        ("com.example.tier", label("2")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(map.labels, want);
    assert_eq!(list.labels, want);

    // A value holding `=` keeps it; a key alone has no value; `KEY=` is empty.
    let edge = deploy("      labels:\n        - a=b=c\n        - bare\n        - empty=\n");
    assert_eq!(edge.labels.get("a"), Some(&label("b=c")));
    assert_eq!(edge.labels.get("bare"), Some(&None));
    assert_eq!(edge.labels.get("empty"), Some(&label("")));
}

// ### mode — "Either `global`, exactly one container per physical node, or `replicated`, a
// specified number of containers. The default is `replicated`."

#[test]
fn mode() {
    assert_eq!(
        deploy("      mode: global\n").mode.as_deref(),
        Some("global")
    );
    assert_eq!(
        deploy("      mode: replicated\n").mode.as_deref(),
        Some("replicated")
    );
    // Unwritten, it is left to the backend's default (replicated), not invented here.
    assert_eq!(deploy("      replicas: 1\n").mode, None);
}

// ### replicas — "If the service is `replicated` (which is the default), `replicas` specifies
// the number of containers that should be running at any given time."

#[test]
fn replicas() {
    let text = "services:\n  fronted:\n    image: example/webapp\n    deploy:\n      mode: replicated\n      replicas: 6\n";
    assert_eq!(
        service(text, "fronted").deploy.and_then(|d| d.replicas),
        Some(6)
    );
    assert_eq!(deploy("      replicas: 0\n").replicas, Some(0));
    assert_eq!(deploy("      replicas: \"4\"\n").replicas, Some(4));

    for bad in ["-1", "1.5", "two", "[1]"] {
        let e = refused(&format!(
            "services:\n  web:\n    image: app:1\n    deploy:\n      replicas: {bad}\n"
        ));
        assert_eq!(e.line, Some(5), "{bad}: {e}");
        assert_eq!(
            e.key.as_deref(),
            Some("services.web.deploy.replicas"),
            "{bad}"
        );
    }
}

// ### update_config — "`parallelism`: The number of containers to update at a time.
// `delay`: The time to wait between updating a group of containers. `failure_action`: What
// to do if an update fails. One of `continue`, `rollback`, or `pause`. `monitor`: Duration
// after each task update to monitor for failure `(ns|us|ms|s|m|h)`. `max_failure_ratio`:
// Failure rate to tolerate during an update. `order`: Order of operations during updates.
// One of `stop-first` … or `start-first`".

#[test]
fn update_config() {
    let d = deploy(
        "      update_config:\n        parallelism: 2\n        delay: 10s\n        order: stop-first\n",
    );
    let u = d.update_config.expect("update_config");
    assert_eq!(u.parallelism, Some(2));
    assert_eq!(u.delay, Some(10 * S));
    assert_eq!(u.order.as_deref(), Some("stop-first"));
    assert_eq!(u.failure_action, None);
    assert_eq!(u.monitor, None);
    assert_eq!(u.max_failure_ratio, None);

    let u = deploy(
        "      update_config:\n        parallelism: 1\n        delay: 1m30s\n        failure_action: rollback\n        monitor: 500ms\n        max_failure_ratio: 0.25\n        order: start-first\n",
    )
    .update_config
    .expect("update_config");
    assert_eq!(u.parallelism, Some(1));
    assert_eq!(u.delay, Some(90 * S));
    assert_eq!(u.failure_action.as_deref(), Some("rollback"));
    assert_eq!(u.monitor, Some(500_000_000));
    assert_eq!(u.max_failure_ratio, Some(0.25));
    assert_eq!(u.order.as_deref(), Some("start-first"));
}

// ### rollback_config — "`parallelism`: The number of containers to rollback at a time. If set
// to 0, all containers rollback simultaneously. `delay`: … (default 0s). `failure_action`: …
// One of `continue` or `pause`. `monitor`: … `(ns|us|ms|s|m|h)` (default 0s).
// `max_failure_ratio`: Failure rate to tolerate during a rollback (default 0). `order`: …"

#[test]
fn rollback_config() {
    let r = deploy(
        "      rollback_config:\n        parallelism: 0\n        delay: 0s\n        failure_action: continue\n        monitor: 2m\n        max_failure_ratio: \"0\"\n        order: stop-first\n",
    )
    .rollback_config
    .expect("rollback_config");
    assert_eq!(r.parallelism, Some(0));
    assert_eq!(r.delay, Some(0));
    assert_eq!(r.failure_action.as_deref(), Some("continue"));
    assert_eq!(r.monitor, Some(120 * S));
    assert_eq!(r.max_failure_ratio, Some(0.0));
    assert_eq!(r.order.as_deref(), Some("stop-first"));
}

#[test]
fn monitor_takes_every_unit_the_spec_lists() {
    for (text, ns) in [
        ("7ns", 7),
        ("7us", 7_000),
        ("7ms", 7_000_000),
        ("7s", 7 * S),
        ("7m", 420 * S),
        ("7h", 25_200 * S),
    ] {
        let u = deploy(&format!("      update_config:\n        monitor: {text}\n"))
            .update_config
            .expect("update_config");
        assert_eq!(u.monitor, Some(ns), "{text}");
    }
}

#[test]
fn an_unknown_key_in_update_config_is_refused_at_its_line() {
    let e = refused(
        "services:\n  web:\n    image: app:1\n    deploy:\n      update_config:\n        parallelism: 2\n        paralelism: 3\n",
    );
    assert_eq!(
        e.key.as_deref(),
        Some("services.web.deploy.update_config.paralelism"),
        "{e}"
    );
    assert!(e.reason.contains("paralelism"), "{}", e.reason);
    assert_eq!(e.line, Some(7), "{e}");
}

// ### restart_policy — "`condition`. When set to: `none`, … `on-failure`, … `any` (default)";
// "`delay`: How long to wait between restart attempts, specified as a duration";
// "`max_attempts`: How many times to attempt to restart a container before giving up";
// "`window`: How long to wait before deciding if a restart has succeeded, specified as a
// duration". The example, whole:

#[test]
fn restart_policy_example() {
    let r = deploy(
        "      restart_policy:\n        condition: on-failure\n        delay: 5s\n        max_attempts: 3\n        window: 120s\n",
    )
    .restart_policy
    .expect("restart_policy");
    assert_eq!(r.condition.as_deref(), Some("on-failure"));
    assert_eq!(r.delay, Some(5 * S));
    assert_eq!(r.max_attempts, Some(3));
    assert_eq!(r.window, Some(120 * S));

    for c in ["none", "any"] {
        let r = deploy(&format!("      restart_policy:\n        condition: {c}\n"))
            .restart_policy
            .expect("restart_policy");
        assert_eq!(r.condition.as_deref(), Some(c));
        assert_eq!(r.delay, None);
    }
}

#[test]
fn a_bad_duration_is_refused_at_its_line() {
    let e = refused(
        "services:\n  web:\n    image: app:1\n    deploy:\n      restart_policy:\n        condition: any\n        delay: soon\n",
    );
    assert_eq!(e.line, Some(7), "{e}");
    assert_eq!(
        e.key.as_deref(),
        Some("services.web.deploy.restart_policy.delay")
    );
    assert!(e.reason.contains("soon"), "{}", e.reason);
}

// ### placement — "`constraints` defines a required property the platform's node must fulfill
// to run the service container." "`preferences` defines a strategy (currently `spread` is the
// only supported strategy) to spread tasks evenly over the values of the datacenter node
// label." `max_replicas_per_node` is in the specification's schema (compose-spec.json,
// `deploy.placement.max_replicas_per_node`: integer).

#[test]
fn placement() {
    let p = deploy(
        "      placement:\n        constraints:\n          - node.labels.disktype==ssd\n          - node.role == worker\n        preferences:\n          - spread: node.labels.zone\n          - spread: node.labels.rack\n        max_replicas_per_node: 1\n",
    )
    .placement
    .expect("placement");
    assert_eq!(
        p.constraints,
        ["node.labels.disktype==ssd", "node.role == worker"]
    );
    let spreads: Vec<_> = p.preferences.iter().map(|x| x.spread.as_deref()).collect();
    assert_eq!(
        spreads,
        [Some("node.labels.zone"), Some("node.labels.rack")]
    );
    assert_eq!(p.max_replicas_per_node, Some(1));

    // The spec's own constraint example.
    let p = deploy("      placement:\n        constraints:\n          - disktype=ssd\n")
        .placement
        .expect("placement");
    assert_eq!(p.constraints, ["disktype=ssd"]);
    assert!(p.preferences.is_empty());
    assert_eq!(p.max_replicas_per_node, None);
}

#[test]
fn an_unknown_preference_is_refused() {
    let e = refused(
        "services:\n  web:\n    image: app:1\n    deploy:\n      placement:\n        preferences:\n          - pack: node.labels.zone\n",
    );
    assert_eq!(e.line, Some(7), "{e}");
    assert!(
        e.key
            .as_deref()
            .unwrap_or("")
            .starts_with("services.web.deploy.placement.preferences"),
        "{e}"
    );
}

// ### resources — the example, whole: `limits: {cpus: '0.50', memory: 50M, pids: 1}`,
// `reservations: {cpus: '0.25', memory: 20M}`. "`cpus` configures a limit or reservation for
// how much of the available CPU resources, as number of cores, a container can use." "`memory`
// … set as a string expressing a byte value." "`pids` tunes a container's PIDs limit, set as
// an integer."

#[test]
fn resources_example() {
    let text = "\
services:
  frontend:
    image: example/webapp
    deploy:
      resources:
        limits:
          cpus: '0.50'
          memory: 50M
          pids: 1
        reservations:
          cpus: '0.25'
          memory: 20M
";
    let r = service(text, "frontend")
        .deploy
        .and_then(|d| d.resources)
        .expect("resources");
    let limits = r.limits.expect("limits");
    assert_eq!(limits.cpus, Some(0.5));
    assert_eq!(limits.memory, Some(52_428_800));
    assert_eq!(limits.pids, Some(1));
    let reservations = r.reservations.expect("reservations");
    assert_eq!(reservations.cpus, Some(0.25));
    assert_eq!(reservations.memory, Some(20 * MIB));
    assert_eq!(reservations.pids, None);
}

#[test]
fn resources_as_numbers() {
    let r = deploy(
        "      resources:\n        limits:\n          cpus: 1.5\n          memory: 1073741824\n",
    )
    .resources
    .and_then(|r| r.limits)
    .expect("limits");
    assert_eq!(r.cpus, Some(1.5));
    assert_eq!(r.memory, Some(1 << 30));
}

#[test]
fn a_resource_the_model_does_not_know_is_refused() {
    // `devices` reservations are not something a Swarm service takes.
    let e = refused(
        "services:\n  web:\n    image: app:1\n    deploy:\n      resources:\n        reservations:\n          devices:\n            - capabilities: [gpu]\n",
    );
    assert!(e.reason.contains("devices"), "{e}");
    assert_eq!(
        e.key.as_deref(),
        Some("services.web.deploy.resources.reservations.devices")
    );
    assert_eq!(e.line, Some(7), "the key's line, not its list's: {e}");
}

#[test]
fn a_deploy_key_outside_the_spec_is_refused_at_its_line() {
    let e = refused(
        "services:\n  web:\n    image: app:1\n    deploy:\n      replicas: 1\n      replica: 2\n",
    );
    assert_eq!(e.line, Some(6), "{e}");
    assert_eq!(e.key.as_deref(), Some("services.web.deploy.replica"));
}

// "Specifying durations": "Values express a duration as a string in the form of
// `{value}{unit}`. The supported units are `us` (microseconds), `ms` (milliseconds), `s`
// (seconds), `m` (minutes) and `h` (hours). Values can combine multiple values without
// separator." Examples: `10ms`, `40s`, `1m30s`, `1h5m30s20ms`.

#[test]
fn durations() {
    for (text, ns) in [
        ("10ms", 10_000_000),
        ("40s", 40 * S),
        ("1m30s", 90 * S),
        ("1h5m30s20ms", 3930 * S + 20_000_000),
        ("500ms", 500_000_000),
        ("10s", 10 * S),
        ("1h", 3600 * S),
        ("2.5s", 2_500_000_000),
        ("1.5h", 5400 * S),
        ("300us", 300_000),
        ("1ns", 1),
        ("0", 0),
        ("0s", 0),
        (" 5s ", 5 * S),
    ] {
        assert_eq!(parse_duration(text), Ok(ns), "{text}");
    }
    for bad in [
        "", "10", "s", "1d", "1m30", "1 m", "-", "1.2.3s", "5S", "ms10", "1h-5m", "x",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?} is no duration");
    }
}

#[test]
fn duration_overflow_is_refused_not_saturated() {
    // i64 nanoseconds reach about 2562047h; beyond is not a duration (Go refuses it too).
    assert_eq!(parse_duration("2562047h"), Ok(2_562_047 * 3600 * S));
    assert!(parse_duration("2562048h").is_err());
    assert!(parse_duration("99999999999999999999s").is_err());
}

#[test]
fn durations_through_load() {
    let svc = service(
        "services:\n  web:\n    image: app:1\n    stop_grace_period: 1m30s\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 10s\n      timeout: 500ms\n      start_period: 1h\n",
        "web",
    );
    assert_eq!(svc.stop_grace_period, Some(90 * S));
    let h = svc.healthcheck.expect("healthcheck");
    assert_eq!(h.interval, Some(10 * S));
    assert_eq!(h.timeout, Some(500_000_000));
    assert_eq!(h.start_period, Some(3600 * S));
}

// "Specifying byte values": "Values express a byte value as a string in `{amount}{byte unit}`
// format: The supported units are `b` (bytes), `k` or `kb` (kilo bytes), `m` or `mb` (mega
// bytes) and `g` or `gb` (giga bytes)." Examples: `2b`, `1024kb`, `2048k`, `300m`, `1gb`.

#[test]
fn byte_values() {
    for (text, bytes) in [
        ("2b", 2),
        ("1024kb", 1024 * 1024),
        ("2048k", 2048 * 1024),
        ("300m", 300 * MIB),
        ("1gb", 1 << 30),
        ("50M", 52_428_800),
        ("20M", 20 * MIB),
        ("1G", 1 << 30),
        ("512", 512),
        ("1.5g", 3 << 29),
        ("64 MB", 64 * MIB),
    ] {
        assert_eq!(parse_bytes(text), Ok(bytes), "{text}");
    }
    for bad in ["", "m", "12x", "1.2.3m", "-1m", "one", "5mib"] {
        assert!(parse_bytes(bad).is_err(), "{bad:?} is no byte value");
    }
    // Exact for whole amounts, and refused past an i64 rather than saturated.
    assert_eq!(parse_bytes("9007199254740993"), Ok(9_007_199_254_740_993));
    assert_eq!(parse_bytes("8589934591g"), Ok(8_589_934_591 << 30));
    for big in ["8589934592g", "99999999999999999999", "1e30"] {
        assert!(parse_bytes(big).is_err(), "{big}");
    }
}

#[test]
fn a_bad_byte_value_is_refused_at_its_line() {
    let e = refused(
        "services:\n  web:\n    image: app:1\n    deploy:\n      resources:\n        limits:\n          memory: 50 megs\n",
    );
    assert_eq!(e.line, Some(7), "{e}");
    assert_eq!(
        e.key.as_deref(),
        Some("services.web.deploy.resources.limits.memory")
    );
}

// ports, short syntax — "`[HOST:]CONTAINER[/PROTOCOL]`"; "You can either specify both ports
// (`HOST:CONTAINER`), or just the container port." Examples `"3000"`, `"8000:8000"`,
// `"49100:22"`, `"6060:6060/udp"`.

fn port(target: u32, published: Option<u32>, protocol: &str, mode: &str) -> Port {
    Port {
        target,
        published,
        protocol: protocol.into(),
        mode: mode.into(),
    }
}

#[test]
fn ports_short_syntax() {
    let text = "\
services:
  web:
    image: app:1
    ports:
      - \"3000\"
      - \"8000:8000\"
      - \"49100:22\"
      - \"6060:6060/udp\"
      - 80:8080
      - 9000
";
    assert_eq!(
        service(text, "web").ports,
        [
            port(3000, None, "tcp", "ingress"),
            port(8000, Some(8000), "tcp", "ingress"),
            port(22, Some(49100), "tcp", "ingress"),
            port(6060, Some(6060), "udp", "ingress"),
            port(8080, Some(80), "tcp", "ingress"),
            port(9000, None, "tcp", "ingress"),
        ]
    );
}

#[test]
fn ports_swarm_cannot_publish_are_refused_at_their_line() {
    // Ranges and host addresses are in the spec's examples; a Swarm service publishes neither.
    for (i, bad) in [
        "3000-3005",
        "9090-9091:8080-8081",
        "127.0.0.1:8001:8001",
        "[::1]:6001:6001",
        "0",
        "70000",
    ]
    .iter()
    .enumerate()
    {
        let text = format!(
            "services:\n  web:\n    image: app:1\n    ports:\n      - \"80\"\n      - \"{bad}\"\n"
        );
        let e = refused(&text);
        assert_eq!(e.line, Some(6), "{i} {bad}: {e}");
        assert_eq!(e.key.as_deref(), Some("services.web.ports[1]"), "{bad}");
    }
}

// ports, long syntax — "`target`: The container port. `published`: The publicly exposed port.
// It is defined as a string … `protocol`: The port protocol (`tcp` or `udp`). Defaults to
// `tcp`. `mode`: `host`: For publishing a host port on each node, or `ingress` for a port to
// be load balanced. Defaults to `ingress`."

#[test]
fn ports_long_syntax() {
    let text = "\
services:
  web:
    image: app:1
    ports:
      - target: 80
        published: \"8080\"
        protocol: tcp
        mode: host
      - target: 53
        published: 53
        protocol: udp
      - target: 9000
";
    assert_eq!(
        service(text, "web").ports,
        [
            port(80, Some(8080), "tcp", "host"),
            port(53, Some(53), "udp", "ingress"),
            port(9000, None, "tcp", "ingress"),
        ]
    );
}

#[test]
fn a_long_port_without_target_or_with_host_ip_is_refused() {
    let e = refused("services:\n  web:\n    image: app:1\n    ports:\n      - published: 8080\n");
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.reason.contains("target"), "{e}");
    let e = refused(
        "services:\n  web:\n    image: app:1\n    ports:\n      - target: 80\n        host_ip: 127.0.0.1\n",
    );
    assert_eq!(e.key.as_deref(), Some("services.web.ports[0]"), "{e}");
    assert!(e.reason.contains("host_ip"), "{e}");
}

// secrets, short syntax — "The short syntax variant only specifies the secret name."
// Long syntax — "`source`: The name of the secret as it exists on the platform. `target`: The
// name of the file to be mounted in `/run/secrets/` … `uid` and `gid`: The numeric UID or GID
// that owns the file … `mode`: The permissions for the file … in octal notation." The
// example "sets the mode to `0440` (group-readable), and sets the user and group to `103`",
// written `mode: 0o440` (YAML 1.2) in the current spec and `mode: 0440` in earlier ones and
// in Docker's stack files (YAML 1.1, where a leading 0 is octal).

fn secrets_of(entries: &str) -> Vec<FileRef> {
    let text = format!(
        "services:\n  frontend:\n    image: example/webapp\n    secrets:\n{entries}secrets:\n  server-certificate:\n    external: true\n"
    );
    service(&text, "frontend").secrets
}

#[test]
fn secrets_short_syntax() {
    assert_eq!(
        secrets_of("      - server-certificate\n"),
        [FileRef {
            source: "server-certificate".into(),
            target: None,
            uid: None,
            gid: None,
            mode: None
        }]
    );
}

#[test]
fn secrets_long_syntax_with_octal_mode() {
    for mode in ["0o440", "0440", "\"0440\"", "\"440\"", "288"] {
        let got = secrets_of(&format!(
            "      - source: server-certificate\n        target: server.cert\n        uid: \"103\"\n        gid: \"103\"\n        mode: {mode}\n"
        ));
        assert_eq!(
            got,
            [FileRef {
                source: "server-certificate".into(),
                target: Some("server.cert".into()),
                uid: Some("103".into()),
                gid: Some("103".into()),
                mode: Some(0o440)
            }],
            "mode: {mode}"
        );
    }
    // Short and long forms mix.
    let mixed = secrets_of(
        "      - server-certificate\n      - source: server-certificate\n        target: other\n        mode: 0400\n",
    );
    assert_eq!(mixed.len(), 2);
    assert_eq!(mixed[1].mode, Some(0o400));
    assert_eq!(mixed[1].uid, None);
}

#[test]
fn a_mode_that_is_not_octal_is_refused_not_dropped() {
    for mode in ["\"0448\"", "0448", "rw", "-1", "4.5", "99999999999"] {
        let text = format!(
            "services:\n  web:\n    image: app:1\n    secrets:\n      - source: s\n        mode: {mode}\nsecrets:\n  s:\n    external: true\n"
        );
        let e = refused(&text);
        assert_eq!(
            e.key.as_deref(),
            Some("services.web.secrets[0]"),
            "{mode}: {e}"
        );
        assert_eq!(e.line, Some(5), "{mode}: {e}");
    }
}

// ---- What the reader says about a file it will not use. ----

#[test]
fn a_syntax_error_gives_its_line_and_a_one_line_reason() {
    for (text, line, says) in [
        (
            "services:\n  web:\n    image: app:1\n    command: [\"a\", \"b\"\n    ports:\n      - \"80\"\n",
            5,
            ":",
        ),
        ("services:\n  web:\n\timage: app:1\n", 3, "tab"),
        (
            "services:\n  web:\n    image: app:1\n    image: app:2\n",
            4,
            "image",
        ),
        (
            "services:\n  web:\n    image: app:1\n   bad: x\n",
            4,
            "mapping",
        ),
        (
            "services:\n  web:\n    image: app:1\n    deploy: {replicas: 2\n",
            4,
            "{",
        ),
    ] {
        let e = refused(text);
        assert_eq!(e.line, Some(line), "{e}\n{text}");
        assert_eq!(e.key, None, "{e}");
        assert!(e.reason.contains(says), "{e}");
        assert!(!e.reason.contains('\n'), "one line: {:?}", e.reason);
        assert!(
            !e.reason.contains(" at line "),
            "the line is the error's: {:?}",
            e.reason
        );
        assert_eq!(e.to_string(), format!("stack.yml:{line}: {}", e.reason));
    }
}

#[test]
fn a_file_that_is_not_a_mapping_is_refused() {
    for text in ["- a\n- b\n", "just text\n", "42\n"] {
        let e = refused(text);
        assert_eq!(e.line, Some(1), "{text:?}: {e}");
        assert!(e.reason.contains("services"), "{e}");
    }
}

#[test]
fn a_service_needs_an_image() {
    let e = refused("services:\n  db:\n    image: pg:16\n  web:\n    command: serve\n");
    assert_eq!(e.key.as_deref(), Some("services.web.image"));
    assert_eq!(e.line, Some(4), "the service's line: {e}");
    let e = refused("version: \"3.8\"\n");
    assert_eq!(e.key.as_deref(), Some("services"));
}

#[test]
fn an_unknown_service_key_is_refused_with_its_line() {
    let text = "\
services:
  web:
    image: app:1
    deploy:
      replicas: 2
    helthcheck:
      test: [\"CMD\", \"true\"]
";
    let e = refused(text);
    assert_eq!(e.line, Some(6), "the key's line, not its mapping's: {e}");
    assert_eq!(e.key.as_deref(), Some("services.web.helthcheck"));
    assert_eq!(
        e.to_string(),
        format!("stack.yml:6: services.web.helthcheck: {}", e.reason)
    );
    let top = refused("services:\n  web:\n    image: app:1\nservice:\n  x: 1\n");
    assert_eq!(top.line, Some(4), "{top}");
    assert_eq!(top.key.as_deref(), Some("service"));
}

#[test]
fn keys_docker_stack_deploy_ignores_are_listed_not_refused() {
    let text = "\
services:
  web:
    image: app:1
    build: .
    depends_on:
      - db
    x-notes: anything
  db:
    image: pg:16
    container_name: db
x-anchors: {}
";
    let l = loaded(text);
    assert_eq!(
        l.ignored,
        [
            "services.db.container_name",
            "services.web.build",
            "services.web.depends_on"
        ]
    );
    assert_eq!(l.file.services.len(), 2);
}

#[test]
fn keys_are_kept_as_written() {
    // A key is text: `on`, `no`, `y`, `010` and `1.0` are not a boolean or a number.
    let text = "\
services:
  y:
    image: app:1
    labels:
      on: \"1\"
      no: \"2\"
      010: \"3\"
      1.0: \"4\"
      true: \"5\"
";
    let l = loaded(text);
    let svc = l
        .file
        .services
        .get("y")
        .unwrap_or_else(|| panic!("{:?}", l.file.services.keys()));
    let keys: Vec<&str> = svc.labels.keys().map(String::as_str).collect();
    assert_eq!(keys, ["010", "1.0", "no", "on", "true"]);
}
