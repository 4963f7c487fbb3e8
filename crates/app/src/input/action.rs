use super::Pane;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Normal,
    Help,
    Confirm,
    /// `--wall`: rotate, pause, quit; nothing else exists.
    Wall,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Normal, Mode::Help, Mode::Confirm, Mode::Wall];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Help => "help",
            Mode::Confirm => "confirm",
            Mode::Wall => "wall",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// What a key asks for. Mutating actions only open a prompt or a plan; nothing here reaches a
/// backend without passing the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    GoPane(Pane),
    Drill,
    Back,
    Filter,
    Command,
    Help,
    Quit,
    Sort,
    SortReverse,
    History,
    NextContext,
    Theme,
    Scale,
    Drain,
    Pause,
    Activate,
    Rollback,
    Deploy,
    Restart,
    Promote,
    Demote,
    StartInstance,
    StopInstance,
    RebootInstance,
    TerminateInstance,
    AddNodes,
    Logs,
    Confirm,
    Cancel,
    SwitchButton,
    PauseRotation,
    NextProblem,
    Ack,
    Note,
    NextField,
    Describe,
    Shell,
    Stacks,
    Hook,
    ToggleFormat,
    Save,
    Previous,
}

/// One row of the action table.
pub struct ActionInfo {
    pub action: Action,
    /// The name in the config file (`[keys.normal] scale = "s"`) and the help screen.
    pub name: &'static str,
    pub description: &'static str,
    /// Leads to a change on a cluster: hidden and refused in read-only mode.
    pub mutating: bool,
}

const fn row(action: Action, name: &'static str, description: &'static str) -> ActionInfo {
    ActionInfo {
        action,
        name,
        description,
        mutating: false,
    }
}

/// An action that changes a cluster.
const fn write(action: Action, name: &'static str, description: &'static str) -> ActionInfo {
    ActionInfo {
        action,
        name,
        description,
        mutating: true,
    }
}

/// Every action, in the order the help screen and `clusterdeck keys` list them. The default
/// keys are in `src/config/default.toml`, with the key syntax beside them.
pub const ACTIONS: &[ActionInfo] = &[
    row(Action::Up, "up", "move up"),
    row(Action::Down, "down", "move down"),
    row(Action::PageUp, "page_up", "page up"),
    row(Action::PageDown, "page_down", "page down"),
    row(Action::Top, "top", "first row"),
    row(Action::Bottom, "bottom", "last row"),
    row(Action::NextPane, "next_pane", "next pane"),
    row(Action::PrevPane, "prev_pane", "previous pane"),
    row(
        Action::GoPane(Pane::Overview),
        "pane_overview",
        "overview / quorum",
    ),
    row(Action::GoPane(Pane::Nodes), "pane_nodes", "nodes"),
    row(Action::GoPane(Pane::Services), "pane_services", "services"),
    row(Action::GoPane(Pane::Replicas), "pane_replicas", "replicas"),
    row(
        Action::GoPane(Pane::Instances),
        "pane_instances",
        "instances",
    ),
    row(Action::GoPane(Pane::Events), "pane_events", "events"),
    row(Action::GoPane(Pane::Audit), "pane_audit", "audit log"),
    row(
        Action::GoPane(Pane::Quorum),
        "pane_quorum",
        "quorum: swarm managers, etcd members",
    ),
    row(
        Action::GoPane(Pane::Incidents),
        "pane_incidents",
        "incidents: open and recently resolved",
    ),
    row(
        Action::NextProblem,
        "next_problem",
        "jump to the next problem (worst first)",
    ),
    row(
        Action::Ack,
        "ack",
        "acknowledge the incident (incidents pane, else the worst), with a note",
    ),
    row(Action::Note, "note", "add a note to the incident"),
    row(
        Action::Describe,
        "describe",
        "describe the selected object (as the engine reports it)",
    ),
    row(
        Action::ToggleFormat,
        "toggle_format",
        "describe view: YAML or JSON",
    ),
    row(
        Action::Save,
        "save",
        "describe or log view: write it to a file",
    ),
    row(
        Action::Previous,
        "previous",
        "log view: a pod's previous container (before its last restart)",
    ),
    row(
        Action::Drill,
        "drill",
        "drill down (node/service → replicas)",
    ),
    row(Action::Back, "back", "back / close"),
    row(Action::Filter, "filter", "filter rows"),
    row(Action::Command, "command", "command line (:scale web 5)"),
    row(Action::Help, "help", "this help"),
    row(Action::Quit, "quit", "quit"),
    row(Action::Sort, "sort", "sort by next column"),
    row(Action::SortReverse, "sort_reverse", "reverse sort"),
    row(Action::History, "history", "toggle task history rows"),
    row(Action::NextContext, "next_context", "next context"),
    row(Action::Theme, "theme", "next theme"),
    row(
        Action::Stacks,
        "stacks",
        "stacks (Swarm): services, replicas, images, updates",
    ),
    write(
        Action::Hook,
        "hook",
        "run a pipeline hook (:hook NAME PARAM=VALUE)",
    ),
    write(
        Action::Shell,
        "shell",
        "shell in the task; ssh to the node or instance",
    ),
    write(Action::Scale, "scale", "scale service"),
    write(Action::Drain, "drain", "drain node"),
    write(Action::Pause, "pause", "pause node"),
    write(Action::Activate, "activate", "activate node"),
    write(Action::Rollback, "rollback", "roll back service"),
    write(Action::Deploy, "deploy", "deploy image tag"),
    write(Action::Restart, "restart", "restart service (force update)"),
    write(Action::Promote, "promote", "promote node to manager"),
    write(Action::Demote, "demote", "demote manager to worker"),
    write(
        Action::StartInstance,
        "start_instance",
        "start the EC2 instance (instances pane, or a node's)",
    ),
    write(
        Action::StopInstance,
        "stop_instance",
        "stop the EC2 instance (instances pane, or a node's)",
    ),
    write(
        Action::RebootInstance,
        "reboot_instance",
        "reboot the EC2 instance (instances pane, or a node's)",
    ),
    write(
        Action::TerminateInstance,
        "terminate_instance",
        "terminate the EC2 instance (typed confirmation)",
    ),
    write(
        Action::AddNodes,
        "add_nodes",
        "add nodes: launch instances from aws.launch",
    ),
    row(
        Action::Logs,
        "logs",
        "follow logs of the selected service or task",
    ),
    row(Action::Confirm, "confirm", "press the focused button"),
    row(Action::Cancel, "cancel", "cancel"),
    row(Action::SwitchButton, "switch_button", "switch button"),
    row(
        Action::NextField,
        "next_field",
        "move between the reason and the typed confirmation",
    ),
    row(
        Action::PauseRotation,
        "pause_rotation",
        "pause / resume the rotation",
    ),
];

impl Action {
    /// Its row of the table. Every action has one (a unit test checks).
    pub fn info(self) -> &'static ActionInfo {
        ACTIONS
            .iter()
            .find(|i| i.action == self)
            .unwrap_or(&ACTIONS[0])
    }

    /// Every action, in table order.
    pub fn all() -> impl Iterator<Item = Action> {
        ACTIONS.iter().map(|i| i.action)
    }

    /// The name used in the config file and in the help screen.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn parse(s: &str) -> Option<Action> {
        ACTIONS.iter().find(|i| i.name == s).map(|i| i.action)
    }

    pub fn description(self) -> &'static str {
        self.info().description
    }

    /// The description as it reads in `mode` (the wall gives a few actions its own meaning).
    pub fn description_in(self, mode: Mode) -> &'static str {
        match (mode, self) {
            (Mode::Wall, Action::NextPane) => "next pane set",
            (Mode::Wall, Action::PrevPane) => "previous pane set",
            (Mode::Wall, Action::Quit) => "quit (asks first)",
            (Mode::Wall, Action::Confirm) => "yes, quit the wall display",
            (Mode::Wall, Action::Cancel) => "no, keep the wall display running",
            _ => self.description(),
        }
    }

    /// Actions that lead to a change on a cluster; hidden and refused in read-only mode.
    pub fn is_mutating(self) -> bool {
        self.info().mutating
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_row_with_a_unique_name() {
        let names: std::collections::BTreeSet<&str> = ACTIONS.iter().map(|i| i.name).collect();
        assert_eq!(names.len(), ACTIONS.len(), "duplicate names");
        let panes = Pane::ALL.len();
        // Every variant, with GoPane once per pane.
        assert_eq!(ACTIONS.len(), 49 + panes);
        for p in Pane::ALL {
            assert!(
                ACTIONS.iter().any(|i| i.action == Action::GoPane(p)),
                "{p:?}"
            );
        }
        for i in ACTIONS {
            assert_eq!(i.action.info().name, i.name);
            assert_eq!(Action::parse(i.name), Some(i.action));
        }
    }
}
