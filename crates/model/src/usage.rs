//! Resource usage of a task, pod or node, sampled while it is on screen: CPU in millicores
//! (1000 = one core busy; Docker's "100 %"), memory in bytes as the engine counts it (the
//! docker CLI's figure: usage less inactive page cache), and a short history for a sparkline.

use std::collections::VecDeque;

use crate::Time;

/// Samples kept per object: a minute at the 5 s cadence.
pub const KEPT: usize = 12;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    pub at: Time,
    /// None until two readings allow a rate (Docker's counters are cumulative).
    pub cpu_millis: Option<f64>,
    pub mem_bytes: Option<u64>,
    /// The container's memory limit, where one is set.
    pub mem_limit: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub samples: VecDeque<Sample>,
}

impl Usage {
    pub fn push(&mut self, s: Sample) {
        if self.samples.len() == KEPT {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
    }

    pub fn latest(&self) -> Option<&Sample> {
        self.samples.back()
    }

    /// CPU over the samples kept, one block per sample, scaled to the highest of them (at
    /// least 100m, so an idle object stays flat).
    pub fn cpu_sparkline(&self) -> String {
        const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let values: Vec<f64> = self.samples.iter().filter_map(|s| s.cpu_millis).collect();
        let top = values.iter().copied().fold(100.0, f64::max);
        values
            .iter()
            .map(|v| {
                let i = ((v / top) * (BLOCKS.len() - 1) as f64).round() as usize;
                BLOCKS[i.min(BLOCKS.len() - 1)]
            })
            .collect()
    }
}

/// 1536 MiB → "1.5Gi", 34 MiB → "34Mi", as kubectl and docker stats print sizes.
pub fn bytes_short(n: u64) -> String {
    bytes_in(n, &["B", "Ki", "Mi", "Gi", "Ti"], "")
}

/// `n` bytes in the largest of `units` (each 1024 of the one before) that keeps it at 1 or
/// more: no decimals from 10 up, one below.
pub fn bytes_in(n: u64, units: &[&str], sep: &str) -> String {
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v >= 10.0 {
        format!("{v:.0}{sep}{}", units[u])
    } else {
        format!("{v:.1}{sep}{}", units[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(cpu: Option<f64>) -> Sample {
        Sample {
            cpu_millis: cpu,
            ..Sample::default()
        }
    }

    #[test]
    fn keeps_a_minute_and_draws_it() {
        let mut u = Usage::default();
        for i in 0..20 {
            u.push(at(Some(i as f64 * 50.0)));
        }
        assert_eq!(u.samples.len(), KEPT);
        let line = u.cpu_sparkline();
        assert_eq!(line.chars().count(), KEPT);
        assert!(line.starts_with('▄') && line.ends_with('█'), "{line}");
        // No rate yet: nothing drawn; idle stays low.
        let mut idle = Usage::default();
        idle.push(at(None));
        idle.push(at(Some(1.0)));
        assert_eq!(idle.cpu_sparkline(), "▁");
    }

    #[test]
    fn sizes_read_like_kubectl() {
        assert_eq!(bytes_short(512), "512B");
        assert_eq!(bytes_short(34 << 20), "34Mi");
        assert_eq!(bytes_short(1536 << 20), "1.5Gi");
    }
}
