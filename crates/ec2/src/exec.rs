//! Actions on instances. Each is first sent with `DryRun` (EC2 answers DryRunOperation when
//! the caller may do it, UnauthorizedOperation when not), then for real; then the backend
//! follows the state transitions in its polls until every instance settles.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{
    InstanceType, LaunchTemplateSpecification, ResourceType, Tag, TagSpecification,
};

use clusterdeck_kit::{Failed, OpCommand, Step, Writer, as_planned};
use clusterdeck_model::{Facts, Instance, InstanceState, OpId, SourceState};
use clusterdeck_ops::{InstanceAction, LaunchConfig, Op, OpRequest};

use crate::{Backend, client};

/// What an operation waits for: every instance in the goal state.
pub(crate) struct Goal {
    ids: Vec<String>,
    state: InstanceState,
}

/// What the dry run said.
enum Dry {
    Allowed,
    Refused(String),
}

fn dry_run<E>(r: Result<impl Sized, SdkError<E>>, creds: &str, what: &str) -> Dry
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        // Some servers ignore DryRun on some calls; the real call still decides.
        Ok(_) => Dry::Allowed,
        Err(e) if e.code() == Some("DryRunOperation") => Dry::Allowed,
        Err(e) => Dry::Refused(format!(
            "DryRun of {what} refused, nothing was changed: {}",
            client::classify(&e, creds).message()
        )),
    }
}

fn real<T, E>(r: Result<T, SdkError<E>>, creds: &str, what: &str) -> Result<T, String>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    r.map_err(|e| {
        let f = client::classify(&e, creds);
        format!("{what} failed: {}", f.message())
    })
}

impl Backend {
    async fn progress(&self, op_id: &OpId, progress: Option<(u32, u32)>, message: String) {
        self.rep.progress(op_id, progress, message).await;
    }

    pub(crate) async fn start_op(&mut self, w: &Writer, cmd: OpCommand) {
        let OpCommand {
            op_id,
            request,
            expect,
        } = cmd;
        if let Err(f) = self.as_planned(&request, &expect).await {
            if let Failed::Error(e) = &f {
                self.no_answer(e).await;
            }
            self.rep.finish(op_id, Err(f)).await;
            return;
        }
        match self.execute(w, &op_id, &request).await {
            Ok(Some((ids, state))) => self.follows.push(op_id, Goal { ids, state }),
            Ok(None) => {
                let msg = format!("{} sent", request.verb());
                self.rep.outcome(op_id, Ok(msg)).await;
            }
            Err(e) => {
                self.no_answer(&e).await;
                self.rep.outcome(op_id, Err(e)).await;
            }
        }
    }

    /// A call of an operation that got no answer counts as the poll's would: the data is
    /// stale from now (the rule: 15 s after an unanswered call), and the next poll comes soon.
    async fn no_answer(&mut self, e: &str) {
        if client::unanswered(e) {
            self.failures += 1;
            self.unanswered = true;
            let reason = e.to_string();
            self.set_health(SourceState::Unreachable { reason }).await;
        }
    }

    /// Reads the instance's state right before the call (and, for a manager's machine, the
    /// other managers' machines the quorum verdict rested on) and compares it with what the
    /// confirmed plan showed; a launch has nothing to compare.
    async fn as_planned(&self, req: &OpRequest, expect: &Facts) -> Result<(), Failed> {
        if expect.is_empty() {
            return Ok(());
        }
        let id = req.target.id();
        // "state" is the target's; "i-… (manager mgr1)" another manager's machine.
        let key_id = |key: &str| -> String {
            if key == "state" {
                id.to_string()
            } else {
                key.split_whitespace().next().unwrap_or(key).to_string()
            }
        };
        let ids: Vec<String> = expect.0.iter().map(|(k, _)| key_id(k)).collect();
        let c = self.client_for(Some(id))?;
        let out = real(
            c.describe_instances()
                .set_instance_ids(Some(ids))
                .send()
                .await,
            &self.s.credentials_via,
            "describe-instances",
        )?;
        let states: Vec<(String, &str)> = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| {
                let state = i.state()?.name()?;
                let state = InstanceState::parse(state.as_str())?;
                Some((i.instance_id()?.to_string(), state.label()))
            })
            .collect();
        let mut now = Facts::default();
        for (key, _) in &expect.0 {
            let want = key_id(key);
            if let Some((_, s)) = states.iter().find(|(i, _)| *i == want) {
                now = now.with(key, s);
            }
        }
        as_planned(expect, &req.target.name, &now)
    }

    /// The client for an instance's region (the first region for new instances).
    fn client_for(&self, id: Option<&str>) -> Result<Client, String> {
        let region = id
            .and_then(|id| self.mirror.get(id))
            .map(|i| i.region.as_str());
        self.clients
            .iter()
            .find(|(r, _)| region.is_none_or(|want| r == want))
            .map(|(_, c)| c.clone())
            .ok_or_else(|| "no EC2 client for that region".to_string())
    }

    /// Sends the action (dry run, then real); returns the instances to follow and their goal,
    /// or None when EC2 shows nothing to follow (a reboot).
    async fn execute(
        &mut self,
        _: &Writer,
        op_id: &OpId,
        req: &OpRequest,
    ) -> Result<Option<(Vec<String>, InstanceState)>, String> {
        let creds = self.s.credentials_via.clone();
        match &req.op {
            Op::Instance { action } => {
                let id = req.target.id().to_string();
                let c = self.client_for(Some(&id))?;
                if *action == InstanceAction::Terminate
                    && crate::read_protection(&c, &id).await == Some(true)
                {
                    self.caches.protection.insert(id.clone(), true);
                    return Err(format!(
                        "termination protection is on for {id}: EC2 would refuse; nothing was sent"
                    ));
                }
                let what = format!("{}-instances", action.verb());
                if let Dry::Refused(m) = self
                    .instance_call(&c, &id, *action, true, &creds, &what)
                    .await
                {
                    return Err(m);
                }
                self.progress(op_id, None, "DryRun passed; sending".into())
                    .await;
                if let Dry::Refused(m) = self
                    .instance_call(&c, &id, *action, false, &creds, &what)
                    .await
                {
                    return Err(m);
                }
                Ok(match action {
                    InstanceAction::Start => Some((vec![id], InstanceState::Running)),
                    InstanceAction::Stop => Some((vec![id], InstanceState::Stopped)),
                    InstanceAction::Terminate => Some((vec![id], InstanceState::Terminated)),
                    InstanceAction::Reboot => None,
                })
            }
            Op::AddNodes { count, launch } => {
                let c = self.client_for(None)?;
                let dry = c.run_instances();
                let dry = launch_request(dry, *count, launch)
                    .dry_run(true)
                    .send()
                    .await;
                if let Dry::Refused(m) = dry_run(dry, &creds, "run-instances") {
                    return Err(m);
                }
                self.progress(op_id, None, "DryRun passed; launching".into())
                    .await;
                let out = real(
                    launch_request(c.run_instances(), *count, launch)
                        .send()
                        .await,
                    &creds,
                    "run-instances",
                )?;
                let ids: Vec<String> = out
                    .instances()
                    .iter()
                    .filter_map(|i| i.instance_id().map(str::to_string))
                    .collect();
                if ids.is_empty() {
                    return Err("run-instances returned no instances".into());
                }
                self.progress(
                    op_id,
                    Some((0, ids.len() as u32)),
                    format!("launched {}", ids.join(", ")),
                )
                .await;
                Ok(Some((ids, InstanceState::Running)))
            }
            _ => Err(format!("{} is not an EC2 action", req.verb())),
        }
    }

    /// One instance call; `Dry::Allowed` means it went through (or the dry run passed).
    async fn instance_call(
        &self,
        c: &Client,
        id: &str,
        action: InstanceAction,
        dry: bool,
        creds: &str,
        what: &str,
    ) -> Dry {
        macro_rules! call {
            ($builder:expr) => {{
                let r = $builder.instance_ids(id).dry_run(dry).send().await;
                if dry {
                    dry_run(r, creds, what)
                } else {
                    match real(r, creds, what) {
                        Ok(_) => Dry::Allowed,
                        Err(m) => Dry::Refused(m),
                    }
                }
            }};
        }
        match action {
            InstanceAction::Start => call!(c.start_instances()),
            InstanceAction::Stop => call!(c.stop_instances()),
            InstanceAction::Reboot => call!(c.reboot_instances()),
            InstanceAction::Terminate => call!(c.terminate_instances()),
        }
    }

    /// After a poll: each followed operation's progress, and its end once every instance has
    /// reached the goal (or cannot any more).
    pub(crate) async fn check_follows(&mut self) {
        let mirror = &self.mirror;
        self.follows
            .check(&self.rep, |goal, waited| judge(mirror, goal, waited))
            .await;
    }
}

fn judge(
    mirror: &std::collections::HashMap<String, Instance>,
    goal: &Goal,
    waited: Duration,
) -> Step {
    let states: Vec<(&str, Option<InstanceState>)> = goal
        .ids
        .iter()
        .map(|id| (id.as_str(), mirror.get(id).map(|i| i.state)))
        .collect();
    let reached = states
        .iter()
        .filter(|(_, s)| *s == Some(goal.state))
        .count();
    let desc: Vec<String> = states
        .iter()
        .map(|(id, s)| format!("{id} {}", s.map_or("not seen yet", |s| s.label())))
        .collect();
    // A start that ends stopped, or a launch that ends terminated, will not get there.
    let lost = states.iter().any(|(_, s)| {
        goal.state != InstanceState::Terminated
            && matches!(
                s,
                Some(InstanceState::Terminated | InstanceState::ShuttingDown)
            )
    });
    let message = format!("{} ({}s)", desc.join(", "), waited.as_secs());
    if reached == states.len() {
        Step::Done(Ok(format!("{} settled", desc.join(", "))))
    } else if lost {
        Step::Done(Err(format!(
            "{message}: will not reach {}",
            goal.state.label()
        )))
    } else {
        Step::pending(Some((reached as u32, states.len() as u32)), message)
    }
}

fn launch_request(
    mut b: aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder,
    count: u32,
    l: &LaunchConfig,
) -> aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder {
    let n = i32::try_from(count).unwrap_or(i32::MAX);
    b = b.min_count(n).max_count(n);
    if let Some(t) = &l.template {
        let spec = if t.starts_with("lt-") {
            LaunchTemplateSpecification::builder().launch_template_id(t)
        } else {
            LaunchTemplateSpecification::builder().launch_template_name(t)
        };
        b = b.launch_template(spec.build());
    }
    if let Some(a) = &l.ami {
        b = b.image_id(a);
    }
    if let Some(t) = &l.instance_type {
        b = b.instance_type(InstanceType::from(t.as_str()));
    }
    if let Some(s) = &l.subnet {
        b = b.subnet_id(s);
    }
    if let Some(k) = &l.key_name {
        b = b.key_name(k);
    }
    for g in &l.security_groups {
        b = b.security_group_ids(g);
    }
    if !l.tags.is_empty() {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
        for (k, v) in &l.tags {
            spec = spec.tags(Tag::builder().key(k).value(v).build());
        }
        b = b.tag_specifications(spec.build());
    }
    b
}
