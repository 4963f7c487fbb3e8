//! CPU and memory from the resource metrics API (metrics-server, fed by kwok's simulated
//! kubelet `/metrics/resource`; pod usage set by annotations), compared with `kubectl top`;
//! an identity the API refuses gets "metrics API not available" with the server's reason.

use std::time::{Duration, Instant};

use clusterdeck::backends::BackendMsg;
use clusterdeck::backends::kube::{KubeSettings, spawn_usage};
use clusterdeck::model::ObjectKind;
use clusterdeck::model::usage::Sample;

use crate::kube_backend::{lock, namespace};
use crate::kube_support::{apply, env, kubectl, kubectl_as};
use crate::swarm_support::eventually;

type Samples = Vec<(ObjectKind, String, Sample)>;

fn sample_until(
    kubeconfig: String,
    shown: Vec<(ObjectKind, String)>,
    done: impl Fn(&Samples, Option<&str>) -> bool,
) -> (Samples, Option<String>) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let s = KubeSettings {
            cluster: "kube".into(),
            kubeconfig: Some(kubeconfig.into()),
            context: None,
            namespace: None,
        };
        let h = spawn_usage(s, tx);
        h.show(shown);
        let until = Instant::now() + Duration::from_secs(90);
        let mut last = (Vec::new(), None);
        while Instant::now() < until {
            let Ok(Some(BackendMsg::Usage {
                samples, problem, ..
            })) = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await
            else {
                break;
            };
            if done(&samples, problem.as_deref()) {
                return (samples, problem);
            }
            last = (samples, problem);
        }
        panic!("no round as expected within 90 s; the last: {last:?}")
    })
}

/// `kubectl top`'s (name, CPU millicores, memory MiB) rows (nodes have a CPU % column
/// between the two).
fn top(args: &[&str]) -> Vec<(String, f64, f64)> {
    let mem_at = if args.get(1) == Some(&"node") { 3 } else { 2 };
    // Not served yet right after the pods start: no rows.
    kubectl_as(&env("CD_KUBECONFIG"), args)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let cpu = f.get(1)?.strip_suffix('m')?.parse().ok()?;
            let mem = f.get(mem_at)?.strip_suffix("Mi")?.parse().ok()?;
            Some((f.first()?.to_string(), cpu, mem))
        })
        .collect()
}

#[test]
fn pods_and_nodes_show_what_kubectl_top_shows() {
    let _g = lock();
    let ns = "t-usage";
    namespace(ns);
    apply(&format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata:
      labels: {{app: web}}
      annotations: {{{cpu}: 250m, {mem}: 100Mi}}
    spec:
      containers: [{{name: main, image: registry.k8s.io/pause:3.10}}]
",
        cpu = env("CD_KUBE_USAGE_CPU_ANNOTATION"),
        mem = env("CD_KUBE_USAGE_MEMORY_ANNOTATION"),
    ));
    let delay: u64 = env("CD_KUBE_METRICS_DELAY").parse().unwrap_or(35);
    let pods = eventually(delay + 60, "kubectl top shows both pods", || {
        let rows = top(&["top", "pods", "-n", ns, "--no-headers"]);
        (rows.len() == 2).then_some(rows)
    });
    let node = kubectl(&[
        "-n",
        ns,
        "get",
        "pod",
        &pods[0].0,
        "-o",
        "jsonpath={.spec.nodeName}",
    ]);
    let mut shown: Vec<(ObjectKind, String)> = pods
        .iter()
        .map(|(name, ..)| (ObjectKind::Pod, format!("pod/{ns}/{name}")))
        .collect();
    shown.push((ObjectKind::Node, format!("node/{node}")));
    let want = shown.len();
    let (samples, problem) = sample_until(env("CD_KUBECONFIG"), shown, |s, _| s.len() == want);
    assert_eq!(problem, None);
    for (name, cpu, mem) in &pods {
        let s = &samples
            .iter()
            .find(|(_, id, _)| *id == format!("pod/{ns}/{name}"))
            .expect("sampled")
            .2;
        let (ours_cpu, ours_mem) = (
            s.cpu_millis.unwrap_or_default(),
            s.mem_bytes.unwrap_or_default() as f64 / 1048576.0,
        );
        assert!(
            (ours_cpu - cpu).abs() <= 2.0,
            "{name}: {ours_cpu} vs kubectl's {cpu}m"
        );
        assert!(
            (ours_mem - mem).abs() <= 1.0,
            "{name}: {ours_mem} vs kubectl's {mem}Mi"
        );
        assert!((ours_cpu - 250.0).abs() <= 2.0 && (ours_mem - 100.0).abs() < 1.0);
    }
    let node_top = top(&["top", "node", &node, "--no-headers"]);
    let (_, ncpu, nmem) = node_top.first().cloned().expect("kubectl top node");
    let s = &samples
        .iter()
        .find(|(k, ..)| *k == ObjectKind::Node)
        .expect("the node")
        .2;
    let (ours_cpu, ours_mem) = (
        s.cpu_millis.unwrap_or_default(),
        s.mem_bytes.unwrap_or_default() as f64 / 1048576.0,
    );
    // Read a moment apart from kubectl's: pods of other tests may come and go on the node.
    assert!(
        (ours_cpu - ncpu).abs() <= ncpu * 0.1 + 5.0,
        "{ours_cpu} vs {ncpu}m"
    );
    assert!(
        (ours_mem - nmem).abs() <= nmem * 0.1 + 5.0,
        "{ours_mem} vs {nmem}Mi"
    );
    assert!(
        ours_cpu >= 250.0,
        "the node holds at least one pod: {ours_cpu}"
    );

    // The viewer identity may not read metrics.k8s.io: said so, nothing made up.
    let shown = vec![(ObjectKind::Pod, format!("pod/{ns}/{}", pods[0].0))];
    let (samples, problem) =
        sample_until(env("CD_KUBE_VIEWER_KUBECONFIG"), shown, |_, p| p.is_some());
    assert!(samples.is_empty(), "{samples:?}");
    let problem = problem.unwrap_or_default();
    assert!(
        problem.starts_with("metrics API not available") && problem.contains("403"),
        "{problem}"
    );
    kubectl(&["delete", "namespace", ns, "--wait=false"]);
}
