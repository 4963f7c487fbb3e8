use super::Time;

/// Connection state of one backend source, reported as data so the UI can show it.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceState {
    /// Not set up: the hint tells what to configure.
    NotConfigured {
        hint: String,
    },
    Connecting,
    Connected,
    /// Reachable but unable to serve everything (e.g. swarm without a leader).
    Degraded {
        reason: String,
    },
    /// Unreachable; the store keeps the last known state, marked stale.
    Unreachable {
        reason: String,
    },
    /// The backend itself failed (a bug, caught by its supervisor): stale until it restarts.
    Failed {
        reason: String,
    },
}

/// One line of the Kubernetes API server's `/readyz?verbose`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlCheck {
    pub name: String,
    pub ok: bool,
    /// What the server said when failing ("reason withheld" unless verbose auth allows more).
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceHealth {
    pub state: SourceState,
    /// Endpoint in use, when connected (e.g. which of several managers).
    pub endpoint: Option<String>,
    /// When the data last came fresh from the source.
    pub last_update: Option<Time>,
    /// Since when the data has been stale (set on the first failure).
    pub stale_since: Option<Time>,
    /// The connection does not verify the server's certificate (a kubeconfig's
    /// `insecure-skip-tls-verify: true`): it works, and the header says so.
    pub tls_unverified: bool,
}

impl SourceHealth {
    pub fn new(state: SourceState) -> Self {
        SourceHealth {
            state,
            endpoint: None,
            last_update: None,
            stale_since: None,
            tls_unverified: false,
        }
    }

    /// The health a backend reports next: `state` at `endpoint`, keeping the moment the data
    /// first went stale from `previous` while it stays stale.
    pub fn next(
        previous: Option<&SourceHealth>,
        state: SourceState,
        endpoint: Option<String>,
        now: Time,
    ) -> SourceHealth {
        let mut h = SourceHealth::new(state);
        h.endpoint = endpoint;
        if h.is_stale() {
            h.stale_since = previous
                .filter(|o| o.is_stale())
                .and_then(|o| o.stale_since)
                .or(Some(now));
        }
        h
    }

    pub fn is_stale(&self) -> bool {
        matches!(
            self.state,
            SourceState::Degraded { .. }
                | SourceState::Unreachable { .. }
                | SourceState::Failed { .. }
        )
    }

    pub fn reason(&self) -> Option<&str> {
        match &self.state {
            SourceState::Degraded { reason }
            | SourceState::Unreachable { reason }
            | SourceState::Failed { reason } => Some(reason),
            SourceState::NotConfigured { hint } => Some(hint),
            _ => None,
        }
    }

    pub fn label(&self) -> &'static str {
        match self.state {
            SourceState::NotConfigured { .. } => "not configured",
            SourceState::Connecting => "connecting",
            SourceState::Connected => "connected",
            SourceState::Degraded { .. } => "degraded",
            SourceState::Unreachable { .. } => "unreachable",
            SourceState::Failed { .. } => "failed",
        }
    }
}
