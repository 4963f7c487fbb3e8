use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `prev_sha256` of the first record in a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const SELF_FIELD: &str = ",\"sha256\":\"";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub v: u32,
    /// Position in the chain, across rotated files: 1, 2, 3…
    #[serde(default)]
    pub seq: u64,
    /// UTC, RFC 3339 with milliseconds.
    pub time: String,
    pub op_id: String,
    /// "intent" or "outcome".
    pub phase: String,
    /// The passwd name of the real uid.
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// `$USER` when it named someone else: a claim, kept beside the real identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_user: Option<String>,
    pub ssh_client: Option<String>,
    pub tty: Option<String>,
    pub host: String,
    pub context: String,
    pub backend: String,
    pub verb: String,
    pub target: String,
    /// The object by kind and the engine's id (Swarm node or service ID, Kubernetes
    /// `kind/namespace/name`, instance id); `target` is its name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<AuditObject>,
    pub params: Value,
    pub cli: String,
    /// Outcome only: "ok", "error", "refused" (the target moved since the plan, or a refusal
    /// held again at confirmation: nothing sent), "abandoned" (quit) or "unknown" (the console
    /// ended on a signal while it ran).
    pub result: Option<String>,
    pub message: Option<String>,
    pub duration_ms: Option<u64>,
    /// SHA-256 of the previous line's bytes (without its newline).
    pub prev_sha256: String,
    /// SHA-256 of this line with this field empty: an edit shows at the line itself.
    #[serde(default)]
    pub sha256: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditObject {
    pub kind: String,
    pub id: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl AuditRecord {
    /// The line as written: `sha256` filled in, no newline.
    pub fn to_line(&mut self) -> serde_json::Result<Vec<u8>> {
        self.sha256 = String::new();
        let mut line = serde_json::to_vec(self)?;
        let hash = sha256_hex(&line);
        // The field is last and empty: `…,"sha256":""}` → `…,"sha256":"<hash>"}`.
        line.truncate(line.len() - 2);
        line.extend_from_slice(hash.as_bytes());
        line.extend_from_slice(b"\"}");
        self.sha256 = hash;
        Ok(line)
    }
}

/// Whether a raw line's own hash matches its content.
pub fn self_hash_ok(line: &[u8]) -> bool {
    let Some(pos) = line
        .windows(SELF_FIELD.len())
        .rposition(|w| w == SELF_FIELD.as_bytes())
    else {
        return false;
    };
    let start = pos + SELF_FIELD.len();
    let Some(rest) = line.get(start..) else {
        return false;
    };
    if rest.len() != 64 + 2 || !rest.ends_with(b"\"}") {
        return false;
    }
    let claimed = &rest[..64];
    let mut blank = line[..start].to_vec();
    blank.extend_from_slice(b"\"}");
    sha256_hex(&blank).as_bytes() == claimed
}

/// A complete record for tests of this module and its neighbours.
#[cfg(test)]
pub(crate) fn sample() -> AuditRecord {
    AuditRecord {
        v: 1,
        seq: 1,
        time: "2026-01-01T00:00:00.000Z".into(),
        op_id: "op".into(),
        phase: "intent".into(),
        user: "u".into(),
        uid: None,
        claimed_user: None,
        ssh_client: None,
        tty: None,
        host: "h".into(),
        context: "demo".into(),
        backend: "swarm".into(),
        verb: "scale".into(),
        target: "web".into(),
        object: None,
        params: serde_json::json!({"replicas": 5}),
        cli: "docker service scale web=5".into(),
        result: None,
        message: None,
        duration_ms: None,
        prev_sha256: GENESIS.into(),
        sha256: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_hash_round_trips_and_catches_edits() -> serde_json::Result<()> {
        let mut r = sample();
        let line = r.to_line()?;
        assert!(self_hash_ok(&line));
        let parsed: AuditRecord = serde_json::from_slice(&line)?;
        assert_eq!(parsed, r);
        let edited = String::from_utf8_lossy(&line).replace("web=5", "web=6");
        assert!(!self_hash_ok(edited.as_bytes()));
        Ok(())
    }
}
