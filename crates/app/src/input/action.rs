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
}

impl Action {
    pub const ALL: [Action; 46] = [
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::NextPane,
        Action::PrevPane,
        Action::GoPane(Pane::Overview),
        Action::GoPane(Pane::Nodes),
        Action::GoPane(Pane::Services),
        Action::GoPane(Pane::Replicas),
        Action::GoPane(Pane::Instances),
        Action::GoPane(Pane::Events),
        Action::GoPane(Pane::Audit),
        Action::GoPane(Pane::Quorum),
        Action::Drill,
        Action::Back,
        Action::Filter,
        Action::Command,
        Action::Help,
        Action::Quit,
        Action::Sort,
        Action::SortReverse,
        Action::History,
        Action::NextContext,
        Action::Theme,
        Action::Scale,
        Action::Drain,
        Action::Pause,
        Action::Activate,
        Action::Rollback,
        Action::Deploy,
        Action::Restart,
        Action::Promote,
        Action::Demote,
        Action::StartInstance,
        Action::StopInstance,
        Action::RebootInstance,
        Action::TerminateInstance,
        Action::AddNodes,
        Action::Logs,
        Action::Confirm,
        Action::Cancel,
        Action::SwitchButton,
        Action::PauseRotation,
    ];

    /// The name used in the config file and in the help screen.
    pub fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::GoPane(Pane::Overview) => "pane_overview",
            Action::GoPane(Pane::Nodes) => "pane_nodes",
            Action::GoPane(Pane::Services) => "pane_services",
            Action::GoPane(Pane::Replicas) => "pane_replicas",
            Action::GoPane(Pane::Instances) => "pane_instances",
            Action::GoPane(Pane::Events) => "pane_events",
            Action::GoPane(Pane::Audit) => "pane_audit",
            Action::GoPane(Pane::Quorum) => "pane_quorum",
            Action::Drill => "drill",
            Action::Back => "back",
            Action::Filter => "filter",
            Action::Command => "command",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Sort => "sort",
            Action::SortReverse => "sort_reverse",
            Action::History => "history",
            Action::NextContext => "next_context",
            Action::Theme => "theme",
            Action::Scale => "scale",
            Action::Drain => "drain",
            Action::Pause => "pause",
            Action::Activate => "activate",
            Action::Rollback => "rollback",
            Action::Deploy => "deploy",
            Action::Restart => "restart",
            Action::Promote => "promote",
            Action::Demote => "demote",
            Action::StartInstance => "start_instance",
            Action::StopInstance => "stop_instance",
            Action::RebootInstance => "reboot_instance",
            Action::TerminateInstance => "terminate_instance",
            Action::AddNodes => "add_nodes",
            Action::Logs => "logs",
            Action::Confirm => "confirm",
            Action::Cancel => "cancel",
            Action::SwitchButton => "switch_button",
            Action::PauseRotation => "pause_rotation",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == s)
    }

    pub fn description(self) -> &'static str {
        match self {
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::NextPane => "next pane",
            Action::PrevPane => "previous pane",
            Action::GoPane(Pane::Overview) => "overview / quorum",
            Action::GoPane(Pane::Nodes) => "nodes",
            Action::GoPane(Pane::Services) => "services",
            Action::GoPane(Pane::Replicas) => "replicas",
            Action::GoPane(Pane::Instances) => "instances",
            Action::GoPane(Pane::Events) => "events",
            Action::GoPane(Pane::Audit) => "audit log",
            Action::GoPane(Pane::Quorum) => "quorum: swarm managers, etcd members",
            Action::Drill => "drill down (node/service → replicas)",
            Action::Back => "back / close",
            Action::Filter => "filter rows",
            Action::Command => "command line (:scale web 5)",
            Action::Help => "this help",
            Action::Quit => "quit",
            Action::Sort => "sort by next column",
            Action::SortReverse => "reverse sort",
            Action::History => "toggle task history rows",
            Action::NextContext => "next context",
            Action::Theme => "next theme",
            Action::Scale => "scale service",
            Action::Drain => "drain node",
            Action::Pause => "pause node",
            Action::Activate => "activate node",
            Action::Rollback => "roll back service",
            Action::Deploy => "deploy image tag",
            Action::Restart => "restart service (force update)",
            Action::Promote => "promote node to manager",
            Action::Demote => "demote manager to worker",
            Action::StartInstance => "start the EC2 instance (instances pane, or a node's)",
            Action::StopInstance => "stop the EC2 instance (instances pane, or a node's)",
            Action::RebootInstance => "reboot the EC2 instance (instances pane, or a node's)",
            Action::TerminateInstance => "terminate the EC2 instance (typed confirmation)",
            Action::AddNodes => "add nodes: launch instances from aws.launch",
            Action::Logs => "follow logs of the selected service or task",
            Action::Confirm => "press the focused button",
            Action::Cancel => "cancel",
            Action::SwitchButton => "switch button",
            Action::PauseRotation => "pause / resume the rotation",
        }
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
        matches!(
            self,
            Action::Scale
                | Action::Drain
                | Action::Pause
                | Action::Activate
                | Action::Rollback
                | Action::Deploy
                | Action::Restart
                | Action::Promote
                | Action::Demote
                | Action::StartInstance
                | Action::StopInstance
                | Action::RebootInstance
                | Action::TerminateInstance
                | Action::AddNodes
        )
    }
}
