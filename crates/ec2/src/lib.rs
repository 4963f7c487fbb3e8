//! The EC2 backend. EC2 has no event stream, so one task per context polls DescribeInstances
//! (paginated, with the config's filters) in every region of the context, every
//! `refresh.ec2_poll_secs` with ±20% jitter, backing off exponentially on throttling and errors.
//! Only differences go to the store; an empty change list still marks the data fresh, so the
//! pane can show its age. While an operation is in flight it polls every 2 s to follow the
//! state transitions until they settle.

mod client;
mod convert;
mod describe;
mod exec;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, InstanceAttributeName, SummaryStatus};
use chrono::Utc;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

pub use describe::spawn_reader;

use client::Failure;
use clusterdeck_kit::{
    BackendHandle, BackendMsg, Change, Follows, Reporter, Snapshot, Writer, next_op,
};
use clusterdeck_model::{Instance, SourceKind, SourceState, Time};
use exec::Goal;

/// How the backend runs; from the context's `aws` section and `[refresh]`.
#[derive(Clone, Debug, Default)]
pub struct Ec2Settings {
    pub cluster: String,
    pub profile: Option<String>,
    /// Empty: the region the SDK's chain finds (AWS_REGION, the profile's region).
    pub regions: Vec<String>,
    pub endpoint_url: Option<String>,
    pub filters: BTreeMap<String, Vec<String>>,
    pub poll: Duration,
    /// Where the credentials come from, as discovery named it (for error messages).
    pub credentials_via: String,
    /// DescribeInstances MaxResults (5..=1000); None: 1000.
    pub page_size: Option<i32>,
}

const FOLLOW_EVERY: Duration = Duration::from_secs(2);
/// A transition with no visible end within this time is reported as such.
const FOLLOW_LIMIT: Duration = Duration::from_secs(900);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longest wait between polls while the endpoint does not answer.
const UNANSWERED_RETRY: Duration = Duration::from_secs(10);
/// DescribeInstanceAttribute is one call per instance: at most this many unknown ones per poll.
const PROTECTION_READS_PER_POLL: usize = 100;
const PAGE_SIZE: i32 = 1000;

/// Starts the backend; with `writable` it also executes the operations the gate releases to
/// the returned handle.
pub fn spawn(
    settings: Ec2Settings,
    writable: bool,
    tx: mpsc::Sender<BackendMsg>,
) -> Option<BackendHandle> {
    let cluster = settings.cluster.clone();
    clusterdeck_kit::spawn(&cluster, SourceKind::Ec2, writable, tx, move |rep, w| {
        Backend::new(settings.clone(), rep).run(w)
    })
}

/// Lookups kept between polls: names of AMIs, which groups open SSH, termination protection.
#[derive(Default)]
struct Caches {
    ami_names: HashMap<String, Option<String>>,
    ssh_open: HashSet<String>,
    protection: HashMap<String, bool>,
    /// Instances whose status checks fail (read each poll).
    impaired: HashMap<String, String>,
}

struct Backend {
    s: Ec2Settings,
    rep: Reporter,
    clients: Vec<(String, Client)>,
    /// What was last sent to the store.
    mirror: HashMap<String, Instance>,
    caches: Caches,
    follows: Follows<Goal>,
    loaded: bool,
    failures: u32,
    /// The last failures were all "no answer": retried soon, not backed off for minutes.
    unanswered: bool,
}

impl Backend {
    fn new(s: Ec2Settings, rep: Reporter) -> Backend {
        Backend {
            s,
            rep,
            clients: Vec::new(),
            mirror: HashMap::new(),
            caches: Caches::default(),
            follows: Follows::new(FOLLOW_LIMIT),
            loaded: false,
            failures: 0,
            unanswered: false,
        }
    }

    async fn set_health(&mut self, state: SourceState) -> bool {
        let endpoint = self.endpoint();
        self.rep.set_endpoint(Some(endpoint));
        self.rep.health(state).await
    }

    fn endpoint(&self) -> String {
        let regions: Vec<&str> = if self.clients.is_empty() {
            self.s.regions.iter().map(String::as_str).collect()
        } else {
            self.clients.iter().map(|(r, _)| r.as_str()).collect()
        };
        match &self.s.endpoint_url {
            Some(u) => format!("{u} ({})", regions.join(", ")),
            None => regions
                .iter()
                .map(|r| format!("ec2.{r}.amazonaws.com"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    async fn run(mut self, mut ops: Option<Writer>) {
        if !self.set_health(SourceState::Connecting).await {
            return;
        }
        match client::clients(&self.s).await {
            Ok(c) => self.clients = c,
            Err(reason) => {
                // Nothing to poll; refuse operations until the console goes away.
                let _ = self
                    .set_health(SourceState::NotConfigured { hint: reason })
                    .await;
                while self
                    .rep
                    .refuse_for(&mut ops, MAX_BACKOFF, "EC2 is not configured")
                    .await
                {}
                return;
            }
        }
        let mut next_poll = Instant::now();
        loop {
            tokio::select! {
                _ = self.rep.closed() => return,
                _ = sleep_until(next_poll) => {
                    let ok = self.poll().await;
                    if self.rep.is_closed() {
                        return;
                    }
                    self.check_follows().await;
                    let cap = if self.unanswered { UNANSWERED_RETRY } else { MAX_BACKOFF };
                    let delay =
                        next_delay(self.s.poll, self.failures, !self.follows.is_empty(), ok, cap);
                    next_poll = Instant::now() + delay;
                }
                cmd = next_op(&mut ops) => match cmd {
                    Some(cmd) => {
                        if let Some(w) = &ops {
                            self.start_op(w, cmd).await;
                        }
                        next_poll = next_poll.min(Instant::now() + Duration::from_millis(200));
                    }
                    None => ops = None,
                }
            }
        }
    }

    /// One full poll of every region. Returns whether it succeeded everywhere.
    async fn poll(&mut self) -> bool {
        let now = Utc::now();
        let mut fresh: HashMap<String, Instance> = HashMap::new();
        let mut failed: Vec<(String, Failure)> = Vec::new();
        for (region, client) in self.clients.clone() {
            match self.describe_region(&region, &client, now).await {
                Ok(list) => fresh.extend(list.into_iter().map(|i| (i.id.clone(), i))),
                Err(f) => {
                    // Keep what the failed region showed last: stale, not gone.
                    fresh.extend(
                        self.mirror
                            .values()
                            .filter(|i| i.region == region)
                            .map(|i| (i.id.clone(), i.clone())),
                    );
                    failed.push((region, f));
                }
            }
        }
        let all_failed = failed.len() == self.clients.len();
        // Before the first success there is nothing to show, not an empty fleet.
        if (self.loaded || !all_failed) && !self.publish(fresh).await {
            return false;
        }
        if failed.is_empty() {
            self.failures = 0;
            self.unanswered = false;
            self.set_health(SourceState::Connected).await;
            return true;
        }
        self.failures += 1;
        let reason = failed
            .iter()
            .map(|(r, f)| format!("{r}: {}", f.message()))
            .collect::<Vec<_>>()
            .join("; ");
        self.unanswered = failed
            .iter()
            .all(|(_, f)| matches!(f, Failure::Unreachable(_)));
        let state = if all_failed && self.unanswered {
            SourceState::Unreachable { reason }
        } else {
            SourceState::Degraded { reason }
        };
        self.set_health(state).await;
        false
    }

    /// Sends the snapshot (first time) or the differences (then), marking the data fresh.
    async fn publish(&mut self, fresh: HashMap<String, Instance>) -> bool {
        if !self.loaded {
            self.loaded = true;
            let mut list: Vec<Instance> = fresh.values().cloned().collect();
            list.sort_by(|a, b| a.id.cmp(&b.id));
            self.mirror = fresh;
            return self
                .rep
                .snapshot(Snapshot {
                    instances: Some(list),
                    ..Snapshot::default()
                })
                .await;
        }
        let mut changes: Vec<Change> = fresh
            .values()
            .filter(|i| self.mirror.get(&i.id) != Some(*i))
            .map(|i| Change::UpsertInstance(i.clone()))
            .collect();
        changes.extend(
            self.mirror
                .keys()
                .filter(|id| !fresh.contains_key(*id))
                .map(|id| Change::RemoveInstance(id.clone())),
        );
        self.mirror = fresh;
        self.rep.changes(changes).await
    }

    fn filters(&self) -> Vec<Filter> {
        self.s
            .filters
            .iter()
            .map(|(name, values)| {
                Filter::builder()
                    .name(name)
                    .set_values(Some(values.clone()))
                    .build()
            })
            .collect()
    }

    async fn describe_region(
        &mut self,
        region: &str,
        client: &Client,
        now: Time,
    ) -> Result<Vec<Instance>, Failure> {
        let creds = self.s.credentials_via.clone();
        let mut raw = Vec::new();
        let mut pages = client
            .describe_instances()
            .set_filters(Some(self.filters()))
            .max_results(self.s.page_size.unwrap_or(PAGE_SIZE))
            .into_paginator()
            .send();
        // Each page within the rule's 15 s, whatever the SDK's retries make of a silent network.
        let within = client::OPERATION_TIMEOUT;
        loop {
            let page = match tokio::time::timeout(within, pages.next()).await {
                Err(_) => {
                    return Err(Failure::Unreachable(format!(
                        "no answer within {} s",
                        within.as_secs()
                    )));
                }
                Ok(None) => break,
                Ok(Some(page)) => page,
            };
            let page = page.map_err(|e| client::classify(&e, &creds))?;
            for r in page.reservations() {
                raw.extend(r.instances().iter().cloned());
            }
        }
        // The lookups are best effort: a role without DescribeImages still sees its instances.
        self.read_ami_names(client, &raw).await;
        self.read_security_groups(client, &raw).await;
        self.read_protection(client, &raw).await;
        self.read_status(client).await;
        Ok(raw
            .iter()
            .filter_map(|i| {
                let id = i.instance_id()?;
                convert::instance(
                    i,
                    &convert::Lookups {
                        region,
                        ami_names: &self.caches.ami_names,
                        ssh_open: &self.caches.ssh_open,
                        protection: &self.caches.protection,
                        impaired: &self.caches.impaired,
                        previous: self.mirror.get(id),
                        now,
                    },
                )
            })
            .collect())
    }

    async fn read_ami_names(&mut self, client: &Client, raw: &[aws_sdk_ec2::types::Instance]) {
        let unknown: Vec<String> = raw
            .iter()
            .filter_map(|i| i.image_id())
            .filter(|a| !self.caches.ami_names.contains_key(*a))
            .map(str::to_string)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for chunk in unknown.chunks(100) {
            let Ok(out) = client
                .describe_images()
                .set_image_ids(Some(chunk.to_vec()))
                .send()
                .await
            else {
                return;
            };
            for id in chunk {
                let name = out
                    .images()
                    .iter()
                    .find(|im| im.image_id() == Some(id.as_str()))
                    .and_then(|im| im.name())
                    .map(str::to_string);
                // An AMI that no longer exists is remembered as nameless, not asked again.
                self.caches.ami_names.insert(id.clone(), name);
            }
        }
    }

    /// Re-read every poll: a rule opening SSH to the world is what an operator must see now.
    async fn read_security_groups(
        &mut self,
        client: &Client,
        raw: &[aws_sdk_ec2::types::Instance],
    ) {
        let ids: Vec<String> = raw
            .iter()
            .flat_map(|i| i.security_groups().iter().filter_map(|g| g.group_id()))
            .map(str::to_string)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut open = HashSet::new();
        for chunk in ids.chunks(200) {
            match client
                .describe_security_groups()
                .set_group_ids(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(out) => open.extend(convert::ssh_open_groups(out.security_groups())),
                Err(_) => return,
            }
        }
        self.caches.ssh_open = open;
    }

    /// Termination protection is one call per instance: unknown ones first (a bounded number
    /// per poll), and the protected ones again, since terminate is refused while it is on.
    async fn read_protection(&mut self, client: &Client, raw: &[aws_sdk_ec2::types::Instance]) {
        let mut todo: Vec<&str> = raw
            .iter()
            .filter_map(|i| i.instance_id())
            .filter(|id| !self.caches.protection.contains_key(*id))
            .take(PROTECTION_READS_PER_POLL)
            .collect();
        todo.extend(
            raw.iter()
                .filter_map(|i| i.instance_id())
                .filter(|id| self.caches.protection.get(*id) == Some(&true)),
        );
        for id in todo {
            match read_protection(client, id).await {
                Some(p) => {
                    self.caches.protection.insert(id.to_string(), p);
                }
                None => return,
            }
        }
    }
}

impl Backend {
    /// The running instances whose status checks fail (DescribeInstanceStatus, only the
    /// impaired ones asked for: one short answer per poll in the usual case). Best effort: a
    /// role without the permission keeps the last answer.
    async fn read_status(&mut self, client: &Client) {
        let mut impaired = HashMap::new();
        for check in ["system-status.status", "instance-status.status"] {
            let mut pages = client
                .describe_instance_status()
                .filters(Filter::builder().name(check).values("impaired").build())
                .into_paginator()
                .send();
            loop {
                let page = match tokio::time::timeout(client::OPERATION_TIMEOUT, pages.next()).await
                {
                    Ok(Some(Ok(page))) => page,
                    Ok(None) => break,
                    _ => return,
                };
                for st in page.instance_statuses() {
                    // The filter narrows what AWS sends; the answer is what counts (an
                    // endpoint that ignores the filter sends every instance, ok ones too).
                    let summary = if check.starts_with("system") {
                        st.system_status()
                    } else {
                        st.instance_status()
                    };
                    let bad = summary.and_then(|s| s.status()) == Some(&SummaryStatus::Impaired);
                    if let (true, Some(id)) = (bad, st.instance_id()) {
                        let which = check.split('-').next().unwrap_or(check);
                        impaired
                            .entry(id.to_string())
                            .and_modify(|w: &mut String| w.push_str(&format!(" and {which}")))
                            .or_insert_with(|| which.to_string());
                    }
                }
            }
        }
        self.caches.impaired = impaired;
    }
}

/// `disableApiTermination` of one instance; None when it cannot be read.
async fn read_protection(client: &Client, id: &str) -> Option<bool> {
    let out = client
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .ok()?;
    Some(
        out.disable_api_termination()
            .and_then(|v| v.value())
            .unwrap_or(false),
    )
}

/// The wait before the next poll: fast while following an operation, jittered otherwise,
/// doubling per consecutive failure up to five minutes.
/// The wait before the next poll: the poll interval, or after failures a doubling backoff up
/// to `cap` (`MAX_BACKOFF` for throttling and errors; `UNANSWERED_RETRY` when the endpoint did
/// not answer, so that the source recovers soon after the network does).
fn next_delay(poll: Duration, failures: u32, following: bool, ok: bool, cap: Duration) -> Duration {
    if ok && following {
        return FOLLOW_EVERY;
    }
    let base = if ok {
        poll
    } else {
        poll.saturating_mul(1 << failures.min(10))
            .min(cap)
            .max(FOLLOW_EVERY)
    };
    jitter(base)
}

/// ±20%, from the clock's nanoseconds: enough to keep many consoles from polling in step.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    let factor = 0.8 + f64::from(nanos % 1000) / 1000.0 * 0.4;
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(30));
            assert!(
                j >= Duration::from_secs(24) && j <= Duration::from_secs(36),
                "{j:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        let poll = Duration::from_secs(10);
        assert!(next_delay(poll, 1, false, false, MAX_BACKOFF) >= Duration::from_secs(16));
        let d = next_delay(poll, 3, false, false, MAX_BACKOFF);
        assert!(
            d >= Duration::from_secs(64) && d <= Duration::from_secs(96),
            "{d:?}"
        );
        assert!(next_delay(poll, 30, false, false, MAX_BACKOFF) <= MAX_BACKOFF.mul_f64(1.2));
        assert!(
            next_delay(poll, 30, false, false, UNANSWERED_RETRY) <= UNANSWERED_RETRY.mul_f64(1.2)
        );
        assert_eq!(next_delay(poll, 0, true, true, MAX_BACKOFF), FOLLOW_EVERY);
    }
}
