//! Reading one instance as EC2 reports it, for the describe view: DescribeInstances for its id,
//! in each configured region until one knows it, written out under the API's own names (as the
//! AWS CLI and boto3 print them), since the SDK's types are not serializable. Fields the
//! instance does not have are left out, as the API leaves them out.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types as ec2;
use chrono::{SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value};
use tokio::sync::{OnceCell, mpsc};

use crate::Ec2Settings;
use crate::client::{self, Failure};
use clusterdeck_kit::{BackendMsg, ReadHandle};
use clusterdeck_model::{ObjectKind, SourceKind};

pub fn spawn_reader(s: Ec2Settings, tx: mpsc::Sender<BackendMsg>) -> ReadHandle {
    let clients: std::sync::Arc<OnceCell<Vec<(String, Client)>>> = Default::default();
    ReadHandle::spawn(s.cluster.clone(), SourceKind::Ec2, tx, move |kind, id| {
        let (s, clients) = (s.clone(), clients.clone());
        async move {
            if kind != ObjectKind::Instance {
                return Err(format!("a {} is not an EC2 object", kind.label()));
            }
            let clients = clients.get_or_try_init(|| client::clients(&s)).await?;
            read(clients, &s.credentials_via, &id).await
        }
    })
}

async fn read(clients: &[(String, Client)], via: &str, id: &str) -> Result<String, String> {
    if !id.starts_with("i-") || !id[2..].chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("{id:?} is not an instance id"));
    }
    let mut reasons = Vec::new();
    for (region, c) in clients {
        let asked = c.describe_instances().instance_ids(id).send();
        match tokio::time::timeout(client::OPERATION_TIMEOUT, asked).await {
            Err(_) => reasons.push(format!(
                "{region}: no answer within {} s",
                client::OPERATION_TIMEOUT.as_secs()
            )),
            Ok(Ok(out)) => {
                let found = out
                    .reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .find(|i| i.instance_id() == Some(id));
                match found {
                    Some(i) => return Ok(instance(i).to_string()),
                    None => reasons.push(format!("{region}: not found")),
                }
            }
            // Another region's instance: its id is "malformed" or "not found" here.
            Ok(Err(e)) => match client::classify(&e, via) {
                Failure::Other(m) if m.contains("InvalidInstanceID") => {
                    reasons.push(format!("{region}: not found"))
                }
                f => reasons.push(format!("{region}: {}", f.message())),
            },
        }
    }
    Err(format!("instance {id}: {}", reasons.join("; ")))
}

/// An object under the API's names; absent fields are skipped.
#[derive(Default)]
struct J(Map<String, Value>);

impl J {
    fn put(mut self, k: &str, v: Option<Value>) -> J {
        if let Some(v) = v {
            self.0.insert(k.into(), v);
        }
        self
    }
    fn s(self, k: &str, v: Option<&str>) -> J {
        self.put(k, v.map(Value::from))
    }
    fn b(self, k: &str, v: Option<bool>) -> J {
        self.put(k, v.map(Value::from))
    }
    fn n(self, k: &str, v: Option<i32>) -> J {
        self.put(k, v.map(Value::from))
    }
    fn t(self, k: &str, v: Option<&aws_sdk_ec2::primitives::DateTime>) -> J {
        let text = v.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single());
        self.put(
            k,
            text.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true).into()),
        )
    }
    fn o<T>(self, k: &str, v: Option<&T>, f: impl Fn(&T) -> J) -> J {
        self.put(k, v.map(|x| f(x).done()))
    }
    fn a<T>(self, k: &str, v: Option<&Vec<T>>, f: impl Fn(&T) -> J) -> J {
        self.put(
            k,
            v.map(|xs| Value::Array(xs.iter().map(|x| f(x).done()).collect())),
        )
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn group(g: &ec2::GroupIdentifier) -> J {
    J::default()
        .s("GroupId", g.group_id())
        .s("GroupName", g.group_name())
}

fn association(a: &ec2::InstanceNetworkInterfaceAssociation) -> J {
    J::default()
        .s("CarrierIp", a.carrier_ip())
        .s("CustomerOwnedIp", a.customer_owned_ip())
        .s("IpOwnerId", a.ip_owner_id())
        .s("PublicDnsName", a.public_dns_name())
        .s("PublicIp", a.public_ip())
}

fn interface(n: &ec2::InstanceNetworkInterface) -> J {
    J::default()
        .o("Association", n.association.as_ref(), association)
        .o("Attachment", n.attachment.as_ref(), |a| {
            J::default()
                .t("AttachTime", a.attach_time())
                .s("AttachmentId", a.attachment_id())
                .b("DeleteOnTermination", a.delete_on_termination())
                .n("DeviceIndex", a.device_index())
                .s("Status", a.status().map(|s| s.as_str()))
                .n("NetworkCardIndex", a.network_card_index())
                .n("EnaQueueCount", a.ena_queue_count())
        })
        .s("Description", n.description())
        .a("Groups", n.groups.as_ref(), group)
        .a("Ipv6Addresses", n.ipv6_addresses.as_ref(), |a| {
            J::default()
                .s("Ipv6Address", a.ipv6_address())
                .b("IsPrimaryIpv6", a.is_primary_ipv6())
        })
        .s("MacAddress", n.mac_address())
        .s("NetworkInterfaceId", n.network_interface_id())
        .s("OwnerId", n.owner_id())
        .s("PrivateDnsName", n.private_dns_name())
        .s("PrivateIpAddress", n.private_ip_address())
        .a("PrivateIpAddresses", n.private_ip_addresses.as_ref(), |p| {
            J::default()
                .o("Association", p.association.as_ref(), association)
                .b("Primary", p.primary())
                .s("PrivateDnsName", p.private_dns_name())
                .s("PrivateIpAddress", p.private_ip_address())
        })
        .b("SourceDestCheck", n.source_dest_check())
        .s("Status", n.status().map(|s| s.as_str()))
        .s("SubnetId", n.subnet_id())
        .s("VpcId", n.vpc_id())
        .s("InterfaceType", n.interface_type())
}

/// The instance as DescribeInstances names its fields.
pub fn instance(i: &ec2::Instance) -> Value {
    J::default()
        .s("InstanceId", i.instance_id())
        .s("ImageId", i.image_id())
        .o("State", i.state(), |s| {
            J::default()
                .n("Code", s.code())
                .s("Name", s.name().map(|n| n.as_str()))
        })
        .s("PrivateDnsName", i.private_dns_name())
        .s("PublicDnsName", i.public_dns_name())
        .s("StateTransitionReason", i.state_transition_reason())
        .s("KeyName", i.key_name())
        .n("AmiLaunchIndex", i.ami_launch_index())
        .a("ProductCodes", i.product_codes.as_ref(), |p| {
            J::default()
                .s("ProductCodeId", p.product_code_id())
                .s("ProductCodeType", p.product_code_type().map(|t| t.as_str()))
        })
        .s("InstanceType", i.instance_type().map(|t| t.as_str()))
        .t("LaunchTime", i.launch_time())
        .o("Placement", i.placement(), |p| {
            J::default()
                .s("AvailabilityZoneId", p.availability_zone_id())
                .s("Affinity", p.affinity())
                .s("GroupName", p.group_name())
                .n("PartitionNumber", p.partition_number())
                .s("HostId", p.host_id())
                .s("Tenancy", p.tenancy().map(|t| t.as_str()))
                .s("SpreadDomain", p.spread_domain())
                .s("HostResourceGroupArn", p.host_resource_group_arn())
                .s("GroupId", p.group_id())
                .s("AvailabilityZone", p.availability_zone())
        })
        .s("KernelId", i.kernel_id())
        .s("RamdiskId", i.ramdisk_id())
        .s("Platform", i.platform().map(|p| p.as_str()))
        .o("Monitoring", i.monitoring(), |m| {
            J::default().s("State", m.state().map(|s| s.as_str()))
        })
        .s("SubnetId", i.subnet_id())
        .s("VpcId", i.vpc_id())
        .s("PrivateIpAddress", i.private_ip_address())
        .s("PublicIpAddress", i.public_ip_address())
        .s("Architecture", i.architecture().map(|a| a.as_str()))
        .a(
            "BlockDeviceMappings",
            i.block_device_mappings.as_ref(),
            |m| {
                J::default()
                    .s("DeviceName", m.device_name())
                    .o("Ebs", m.ebs(), |e| {
                        J::default()
                            .t("AttachTime", e.attach_time())
                            .b("DeleteOnTermination", e.delete_on_termination())
                            .s("Status", e.status().map(|s| s.as_str()))
                            .s("VolumeId", e.volume_id())
                            .s("AssociatedResource", e.associated_resource())
                            .s("VolumeOwnerId", e.volume_owner_id())
                    })
            },
        )
        .s("ClientToken", i.client_token())
        .b("EbsOptimized", i.ebs_optimized())
        .b("EnaSupport", i.ena_support())
        .s("Hypervisor", i.hypervisor().map(|h| h.as_str()))
        .o("IamInstanceProfile", i.iam_instance_profile(), |p| {
            J::default().s("Arn", p.arn()).s("Id", p.id())
        })
        .s(
            "InstanceLifecycle",
            i.instance_lifecycle().map(|l| l.as_str()),
        )
        .a(
            "NetworkInterfaces",
            i.network_interfaces.as_ref(),
            interface,
        )
        .s("OutpostArn", i.outpost_arn())
        .s("RootDeviceName", i.root_device_name())
        .s("RootDeviceType", i.root_device_type().map(|t| t.as_str()))
        .a("SecurityGroups", i.security_groups.as_ref(), group)
        .b("SourceDestCheck", i.source_dest_check())
        .s("SpotInstanceRequestId", i.spot_instance_request_id())
        .s("SriovNetSupport", i.sriov_net_support())
        .o("StateReason", i.state_reason(), |r| {
            J::default().s("Code", r.code()).s("Message", r.message())
        })
        .a("Tags", i.tags.as_ref(), |t| {
            J::default().s("Key", t.key()).s("Value", t.value())
        })
        .s(
            "VirtualizationType",
            i.virtualization_type().map(|v| v.as_str()),
        )
        .o("CpuOptions", i.cpu_options(), |c| {
            J::default()
                .n("CoreCount", c.core_count())
                .n("ThreadsPerCore", c.threads_per_core())
        })
        .s("CapacityReservationId", i.capacity_reservation_id())
        .o(
            "CapacityReservationSpecification",
            i.capacity_reservation_specification(),
            |c| {
                J::default().s(
                    "CapacityReservationPreference",
                    c.capacity_reservation_preference().map(|p| p.as_str()),
                )
            },
        )
        .o("HibernationOptions", i.hibernation_options(), |h| {
            J::default().b("Configured", h.configured())
        })
        .o("MetadataOptions", i.metadata_options(), |m| {
            J::default()
                .s("State", m.state().map(|s| s.as_str()))
                .s("HttpTokens", m.http_tokens().map(|s| s.as_str()))
                .n("HttpPutResponseHopLimit", m.http_put_response_hop_limit())
                .s("HttpEndpoint", m.http_endpoint().map(|s| s.as_str()))
                .s(
                    "HttpProtocolIpv6",
                    m.http_protocol_ipv6().map(|s| s.as_str()),
                )
                .s(
                    "InstanceMetadataTags",
                    m.instance_metadata_tags().map(|s| s.as_str()),
                )
        })
        .o("EnclaveOptions", i.enclave_options(), |e| {
            J::default().b("Enabled", e.enabled())
        })
        .s("BootMode", i.boot_mode().map(|b| b.as_str()))
        .s("PlatformDetails", i.platform_details())
        .s("UsageOperation", i.usage_operation())
        .t("UsageOperationUpdateTime", i.usage_operation_update_time())
        .o("PrivateDnsNameOptions", i.private_dns_name_options(), |p| {
            J::default()
                .s("HostnameType", p.hostname_type().map(|h| h.as_str()))
                .b(
                    "EnableResourceNameDnsARecord",
                    p.enable_resource_name_dns_a_record(),
                )
                .b(
                    "EnableResourceNameDnsAAAARecord",
                    p.enable_resource_name_dns_aaaa_record(),
                )
        })
        .s("Ipv6Address", i.ipv6_address())
        .s("TpmSupport", i.tpm_support())
        .o("MaintenanceOptions", i.maintenance_options(), |m| {
            J::default().s("AutoRecovery", m.auto_recovery().map(|a| a.as_str()))
        })
        .s(
            "CurrentInstanceBootMode",
            i.current_instance_boot_mode().map(|b| b.as_str()),
        )
        .done()
}
