//! Soak: `--wall` left running on a large, churning demo cluster (and on the real swarm when
//! the test command started one), its resident memory sampled every few seconds, the terminal
//! resized now and then and hit by a SIGWINCH storm. Memory must stay flat: after a warm-up,
//! the fitted slope stays under a bound that would still be small after a day in at least one
//! third of the second half (data that comes in a step is not a leak; see `keeps_growing`).
//!
//! Ten minutes by default; `CLUSTERDECK_SOAK_SECS` sets another length (`scripts/soak.sh`
//! runs it by hand for hours). The series goes to `$CARGO_TARGET_DIR/soak/` as CSV.
//! Not part of `cargo test --all-targets` (test = false in Cargo.toml): the test command runs
//! it alongside the rest, so its ten minutes do not add to the run.

#[path = "support/pty.rs"]
mod pty;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use pty::{Session, World};

const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Samples before this are the warm-up (caches filling, the first incidents).
const WARM_UP: Duration = Duration::from_secs(120);

/// The slope is fitted over the second half of the run (and never inside the warm-up). The
/// swarm the wall watches is the one the other backend tests create and remove services on
/// while the soak runs, so the store legitimately grows while they do; a leak keeps growing to
/// the end, which the second half still shows, while data that came and went does not.
fn measured_from(secs: u64) -> f64 {
    WARM_UP.as_secs_f64().max(secs as f64 / 2.0)
}
/// Growth allowed after the warm-up, in KiB per minute: 64 KiB/min would be 90 MiB a day,
/// far above anything a bounded design shows, and far below a leak of one event per frame.
const MAX_SLOPE_KIB_PER_MIN: f64 = 64.0;

fn soak_secs() -> u64 {
    std::env::var("CLUSTERDECK_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Least-squares slope of (seconds, KiB), in KiB per minute.
fn slope_per_min(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    if den == 0.0 { 0.0 } else { num / den * 60.0 }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

struct Soaked {
    label: &'static str,
    session: Session,
    samples: Vec<(f64, f64)>,
    _world: World,
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("soak")
}

#[test]
fn wall_memory_stays_flat() {
    let secs = soak_secs();
    let mut runs = Vec::new();
    let world = World::with_config("[wall]\nrotate_secs = 5\n");
    let demo = Session::spawn(&world, &["--wall", "--demo-scale", "5000"]);
    runs.push(Soaked {
        label: "demo-5000",
        session: demo,
        samples: Vec::new(),
        _world: world,
    });
    // The real swarm, when the test command brought one up.
    if let Ok(managers) = std::env::var("CD_SWARM_MANAGERS") {
        let hosts: Vec<String> = managers.split(',').map(|m| format!("\"{m}\"")).collect();
        let world = World::with_config(&format!(
            "[wall]\nrotate_secs = 5\n[[contexts]]\nname = \"lab\"\ndocker = {{ hosts = [{}] }}\n",
            hosts.join(", ")
        ));
        let s = Session::spawn(&world, &["--wall"]);
        runs.push(Soaked {
            label: "swarm",
            session: s,
            samples: Vec::new(),
            _world: world,
        });
    }
    for r in &runs {
        r.session
            .wait_for("the wall", |t| t.contains("WALL · read-only"));
    }

    // The wall keeps bounded history (the last 1,000 events, task history as the engine keeps
    // it): on the swarm, where only the other tests make changes, those fill slowly and their
    // filling looks like growth. A burst of changes during the warm-up fills them first, so
    // what the second half measures is the steady state.
    let filler = std::env::var("CD_SWARM_MANAGERS")
        .ok()
        .map(|m| std::thread::spawn(move || fill_swarm_history(&m, WARM_UP)));

    let start = Instant::now();
    let mut next_resize = Duration::from_secs(60);
    let mut big = false;
    while start.elapsed() < Duration::from_secs(secs) {
        let t = start.elapsed().as_secs_f64();
        for r in &mut runs {
            let pid = r.session.pid();
            let kib = rss_kib(pid).unwrap_or_else(|| {
                panic!(
                    "{}: the wall is gone after {t:.0}s; screen:\n{}",
                    r.label,
                    r.session.screen_text()
                )
            });
            r.samples.push((t, kib as f64));
        }
        // Every minute a resize between 100x30 and 300x80; every third one a storm of 200.
        if start.elapsed() >= next_resize {
            next_resize += Duration::from_secs(60);
            big = !big;
            let storm = (start.elapsed().as_secs() / 60).is_multiple_of(3);
            for r in &runs {
                if storm {
                    for i in 0..200u16 {
                        r.session.resize(24 + i % 57, 80 + (i * 7) % 221);
                    }
                }
                let (rows, cols) = if big { (80, 300) } else { (30, 100) };
                r.session.resize(rows, cols);
            }
        }
        std::thread::sleep(SAMPLE_EVERY);
    }

    std::fs::create_dir_all(out_dir()).expect("soak output dir");
    let mut failures = Vec::new();
    for r in &mut runs {
        // Still alive and drawing after all of it.
        r.session.wait_for("the wall after the soak", |t| {
            t.contains("WALL · read-only")
        });
        assert!(r.session.is_running(), "{}: the wall ended", r.label);
        let path = out_dir().join(format!("wall-soak-{}.csv", r.label));
        let mut f = std::fs::File::create(&path).expect("create the CSV");
        writeln!(f, "seconds,rss_kib").expect("write");
        for (t, k) in &r.samples {
            writeln!(f, "{t:.0},{k:.0}").expect("write");
        }
        let after: Vec<(f64, f64)> = r
            .samples
            .iter()
            .copied()
            .filter(|(t, _)| *t >= measured_from(secs))
            .collect();
        let slope = slope_per_min(&after);
        let first = r.samples.first().map_or(0.0, |s| s.1);
        let last = r.samples.last().map_or(0.0, |s| s.1);
        let med = median(after.iter().map(|s| s.1).collect());
        let max = after.iter().map(|s| s.1).fold(0.0, f64::max);
        eprintln!(
            "soak {}: {} samples over {secs}s · RSS first {first:.0} KiB, median after warm-up \
             {med:.0} KiB, max {max:.0} KiB, last {last:.0} KiB · slope over the second half \
             {slope:+.1} KiB/min · {}",
            r.label,
            r.samples.len(),
            path.display()
        );
        let thirds = slopes_of_thirds(&after);
        if keeps_growing(&thirds) {
            failures.push(format!(
                "{}: RSS grows in every third of the second half ({:.1}, {:.1}, {:.1} KiB/min; bound {MAX_SLOPE_KIB_PER_MIN})",
                r.label, thirds[0], thirds[1], thirds[2]
            ));
        }
        // A clean end, as an operator ends it.
        r.session.send("q");
        r.session.wait_for("the quit question", |t| {
            t.contains("Quit the wall display?")
        });
        r.session.send("y");
        assert_eq!(r.session.wait_exit(), 0, "{}: quit", r.label);
        r.session.assert_terminal_restored();
    }
    if let Some(f) = filler {
        let _ = f.join();
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Scales a service of its own up and down on the swarm for most of `within`, then removes it.
fn fill_swarm_history(managers: &str, within: Duration) {
    let host = managers.split(',').next().unwrap_or_default().to_string();
    let image = format!(
        "{}:1",
        std::env::var("CD_IMAGE_REPO").unwrap_or_else(|_| "busybox".into())
    );
    let docker = |args: &[&str]| {
        let _ = std::process::Command::new("docker")
            .args(["-H", &host])
            .args(args)
            .output();
    };
    docker(&["service", "rm", "soak-fill"]);
    docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        "soak-fill",
        "--replicas",
        "0",
        &image,
    ]);
    let until = Instant::now() + within.mul_f64(0.8);
    let mut up = true;
    while Instant::now() < until {
        let n = if up { "soak-fill=8" } else { "soak-fill=0" };
        docker(&["service", "scale", "--detach", n]);
        up = !up;
        std::thread::sleep(Duration::from_secs(4));
    }
    docker(&["service", "rm", "soak-fill"]);
}

/// The slopes of the first, middle and last third of `points` (by time).
fn slopes_of_thirds(points: &[(f64, f64)]) -> [f64; 3] {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return [0.0; 3];
    };
    let span = (last.0 - first.0) / 3.0;
    let third = |k: f64| -> Vec<(f64, f64)> {
        points
            .iter()
            .copied()
            .filter(|(t, _)| {
                let from = first.0 + k * span;
                *t >= from && (*t < from + span || k == 2.0)
            })
            .collect()
    };
    [
        slope_per_min(&third(0.0)),
        slope_per_min(&third(1.0)),
        slope_per_min(&third(2.0)),
    ]
}

/// A leak grows all the time; the data of the swarm the other tests churn on grows in steps
/// while they create services and stops when they stop. Only growth above the bound in every
/// third of the second half is a leak: a step in one third is data.
fn keeps_growing(thirds: &[f64; 3]) -> bool {
    thirds.iter().all(|s| *s > MAX_SLOPE_KIB_PER_MIN)
}

#[test]
fn growth_that_stops_is_data_growth_that_does_not_is_a_leak() {
    // The swarm run of 2026-12-06: +700 KiB in the first third, then flat.
    let step: Vec<(f64, f64)> = (0..60)
        .map(|i| {
            let t = 300.0 + i as f64 * 5.0;
            (
                t,
                if t < 400.0 {
                    32820.0 + (t - 300.0) * 7.0
                } else {
                    33600.0
                },
            )
        })
        .collect();
    assert!(slope_per_min(&step) > MAX_SLOPE_KIB_PER_MIN);
    assert!(!keeps_growing(&slopes_of_thirds(&step)));
    // 100 KiB a minute, all the way: a leak.
    let leak: Vec<(f64, f64)> = (0..60)
        .map(|i| (i as f64 * 5.0, 30000.0 + i as f64 * 100.0 / 12.0))
        .collect();
    assert!(keeps_growing(&slopes_of_thirds(&leak)));
}

#[test]
fn slope_is_a_least_squares_fit() {
    let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64 * 5.0, 1000.0)).collect();
    assert_eq!(slope_per_min(&flat), 0.0);
    // 1 KiB per 5 s is 12 KiB per minute.
    let growing: Vec<(f64, f64)> = (0..10)
        .map(|i| (i as f64 * 5.0, 1000.0 + i as f64))
        .collect();
    assert!((slope_per_min(&growing) - 12.0).abs() < 1e-9);
}
