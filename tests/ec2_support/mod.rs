//! Shared by the EC2 tests: the moto servers started by `scripts/engines/ec2.sh up` (the test
//! command does it and exports its env file: endpoints, and AWS profiles cd-open, cd-reader,
//! cd-operator, cd-bogus, cd-nocreds), an SDK client that checks results through the API (never
//! through the console's model), and fixtures isolated by a per-test tag.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, InstanceStateName, InstanceType, IpPermission, IpRange,
    ResourceType, Tag, TagSpecification,
};

use clusterdeck::backends::ec2::Ec2Settings;

/// A variable the test command exports after starting moto. Missing: fail loudly, never skip.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need the moto EC2 servers; run them through scripts/test.sh (it runs scripts/engines/ec2.sh up)")
    })
}

pub fn open_endpoint() -> String {
    env("CD_EC2_ENDPOINT")
}

pub fn auth_endpoint() -> String {
    env("CD_EC2_AUTH_ENDPOINT")
}

/// A tag value unique to one test, so tests sharing a server see only their instances.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Backend settings for `profile` on `endpoint`, seeing only instances tagged cd-test=`tag`.
pub fn settings(cluster: &str, profile: &str, endpoint: &str, tag: &str) -> Ec2Settings {
    let mut filters = BTreeMap::new();
    filters.insert("tag:cd-test".to_string(), vec![tag.to_string()]);
    Ec2Settings {
        cluster: cluster.into(),
        profile: Some(profile.into()),
        regions: vec![env("CD_EC2_REGION")],
        endpoint_url: Some(endpoint.into()),
        filters,
        poll: Duration::from_secs(1),
        credentials_via: format!("profile {profile}"),
        page_size: None,
    }
}

/// An SDK client as `profile`, for setting up and for checking through the API.
pub async fn api(profile: &str, endpoint: &str) -> Client {
    api_in(profile, endpoint, &env("CD_EC2_REGION")).await
}

/// As `api`, in `region`.
pub async fn api_in(profile: &str, endpoint: &str, region: &str) -> Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .profile_name(profile)
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .load()
        .await;
    Client::new(&conf)
}

/// A VPC and a subnet for `cidr` (e.g. "10.77.0.0/16", the subnet is the same range), and a
/// security group that opens SSH to the world. Returns (vpc, subnet, group).
pub async fn network(c: &Client, cidr: &str) -> (String, String, String) {
    let vpc = c
        .create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .expect("create vpc");
    let vpc = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    let subnet = c
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block(cidr)
        .availability_zone(format!("{}a", env("CD_EC2_REGION")))
        .send()
        .await
        .expect("create subnet");
    let subnet = subnet
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_string();
    let sg = c
        .create_security_group()
        .group_name(unique("ssh-open"))
        .description("ssh from anywhere")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("create sg");
    let sg = sg.group_id().expect("group id").to_string();
    c.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("authorize ingress");
    (vpc, subnet, sg)
}

/// A known AMI of moto's us-west-1 catalogue, with its name.
pub const AMI: &str = "ami-760aaa0f";
pub const AMI_NAME: &str = "amzn-ami-hvm-2017.09.1.20171103-x86_64-gp2";

/// What to launch.
#[derive(Clone, Default)]
pub struct Launch<'a> {
    pub count: i32,
    pub tags: &'a [(&'a str, &'a str)],
    pub subnet: Option<&'a str>,
    pub groups: &'a [&'a str],
    pub private_ip: Option<&'a str>,
    pub key_name: Option<&'a str>,
}

/// Launches instances (one reservation) and returns their ids.
pub async fn launch(c: &Client, l: Launch<'_>) -> Vec<String> {
    let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
    for (k, v) in l.tags {
        spec = spec.tags(Tag::builder().key(*k).value(*v).build());
    }
    let mut b = c
        .run_instances()
        .image_id(AMI)
        .instance_type(InstanceType::T3Micro)
        .min_count(l.count.max(1))
        .max_count(l.count.max(1))
        .tag_specifications(spec.build());
    if let Some(s) = l.subnet {
        b = b.subnet_id(s);
    }
    for g in l.groups {
        b = b.security_group_ids(*g);
    }
    if let Some(ip) = l.private_ip {
        b = b.private_ip_address(ip);
    }
    if let Some(k) = l.key_name {
        b = b.key_name(k);
    }
    let out = b.send().await.expect("run instances");
    out.instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}

pub async fn protect(c: &Client, id: &str, on: bool) {
    c.modify_instance_attribute()
        .instance_id(id)
        .disable_api_termination(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .expect("modify attribute");
}

/// The state EC2 reports for `id`.
pub async fn state(c: &Client, id: &str) -> InstanceStateName {
    let out = c
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .expect("describe");
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find_map(|i| i.state().and_then(|s| s.name()).cloned())
        .expect("instance state")
}

/// Every instance tagged cd-test=`tag`, through the API.
pub async fn tagged(c: &Client, tag: &str) -> Vec<aws_sdk_ec2::types::Instance> {
    let mut out = Vec::new();
    let mut pages = c
        .describe_instances()
        .filters(Filter::builder().name("tag:cd-test").values(tag).build())
        .into_paginator()
        .send();
    while let Some(p) = pages.next().await {
        for r in p.expect("describe").reservations() {
            out.extend(r.instances().iter().cloned());
        }
    }
    out
}
