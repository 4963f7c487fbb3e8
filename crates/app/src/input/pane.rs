/// The panes of the console, in tab order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    #[default]
    Overview,
    Nodes,
    Services,
    Replicas,
    Instances,
    Events,
    Audit,
    Quorum,
    Incidents,
}

impl Pane {
    pub const ALL: [Pane; 9] = [
        Pane::Overview,
        Pane::Nodes,
        Pane::Services,
        Pane::Replicas,
        Pane::Instances,
        Pane::Events,
        Pane::Audit,
        Pane::Quorum,
        Pane::Incidents,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Overview => "Overview",
            Pane::Nodes => "Nodes",
            Pane::Services => "Services",
            Pane::Replicas => "Replicas",
            Pane::Instances => "Instances",
            Pane::Events => "Events",
            Pane::Audit => "Audit",
            Pane::Quorum => "Quorum",
            Pane::Incidents => "Incidents",
        }
    }

    /// A short title for the tabs of a narrow terminal (80 columns).
    pub fn short(self) -> &'static str {
        match self {
            Pane::Overview => "Overview",
            Pane::Nodes => "Nodes",
            Pane::Services => "Svcs",
            Pane::Replicas => "Repl",
            Pane::Instances => "Inst",
            Pane::Events => "Events",
            Pane::Audit => "Audit",
            Pane::Quorum => "Quorum",
            Pane::Incidents => "Incid",
        }
    }

    /// The `:` command that opens it.
    pub fn command(self) -> &'static str {
        match self {
            Pane::Overview => "overview",
            Pane::Nodes => "nodes",
            Pane::Services => "services",
            Pane::Replicas => "replicas",
            Pane::Instances => "instances",
            Pane::Events => "events",
            Pane::Audit => "audit",
            Pane::Quorum => "quorum",
            Pane::Incidents => "incidents",
        }
    }
}
