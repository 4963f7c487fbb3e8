//! The layer rule, kept by a test: model ← ops ← backends (kit, then one crate per engine) ←
//! app ← ui ← the shell. Between crates, each crate's `Cargo.toml` may name only the crates
//! below it (the compiler then refuses any import against the rule); inside the root crate,
//! the ui may not reach up into the shell (the CLI, the run loop, the terminal).

use std::collections::BTreeSet;
use std::path::Path;

/// Each crate and the workspace crates it may depend on.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &[]),
    // A file format reader: it knows no cluster.
    ("compose", &[]),
    ("ops", &["model"]),
    ("kit", &["model", "ops"]),
    ("swarm", &["model", "ops", "kit", "compose"]),
    ("hooks", &["model", "ops", "kit"]),
    ("kube", &["model", "ops", "kit"]),
    ("ec2", &["model", "ops", "kit"]),
    ("etcd", &["model", "ops", "kit"]),
    ("demo", &["model", "ops", "kit"]),
    (
        "app",
        &[
            "model", "ops", "kit", "compose", "swarm", "hooks", "kube", "ec2", "etcd", "demo",
        ],
    ),
];

/// Modules of the root crate the ui may not use.
const SHELL: &[&str] = &[
    "crate::cli",
    "crate::run",
    "crate::terminal",
    "crate::audit_cli",
];

fn workspace_deps(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).expect("manifest");
    let doc: toml::Table = text.parse().expect("manifest parses");
    doc.get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| {
            d.keys()
                .filter_map(|k| k.strip_prefix("clusterdeck-"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn crates_depend_only_on_the_layers_below() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let on_disk: BTreeSet<String> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = LAYERS.iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(on_disk, listed, "every crate has a place in LAYERS");
    for (krate, allowed) in LAYERS {
        let deps = workspace_deps(&root.join("crates").join(krate).join("Cargo.toml"));
        let extra: Vec<&String> = deps
            .iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "crates/{krate} depends on {extra:?}, above or beside it (allowed: {allowed:?})"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").filter_map(|e| e.ok()) {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_ui_does_not_reach_into_the_shell() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let mut files = Vec::new();
    rust_files(&ui, &mut files);
    assert!(!files.is_empty());
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        for (n, line) in text.lines().enumerate() {
            for shell in SHELL {
                assert!(
                    !line.contains(shell),
                    "{}:{}: the ui uses {shell}, which is above it",
                    f.display(),
                    n + 1
                );
            }
        }
    }
}
