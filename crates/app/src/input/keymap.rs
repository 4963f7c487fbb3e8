use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::config::KeySpec;

use super::{Action, KeyChord, Mode, parse_key};

#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub mode: Mode,
    pub action: Action,
    pub keys: Vec<KeyChord>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum KeymapError {
    UnknownMode(String),
    UnknownAction {
        mode: String,
        action: String,
    },
    BadKey {
        mode: String,
        action: String,
        message: String,
    },
    Conflict {
        mode: String,
        key: String,
        first: String,
        second: String,
    },
}

impl fmt::Display for KeymapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeymapError::UnknownMode(m) => write!(
                f,
                "[keys.{m}]: unknown mode `{m}` (modes: normal, help, confirm)"
            ),
            KeymapError::UnknownAction { mode, action } => {
                write!(f, "[keys.{mode}] {action}: unknown action `{action}`")
            }
            KeymapError::BadKey {
                mode,
                action,
                message,
            } => {
                write!(f, "[keys.{mode}] {action}: {message}")
            }
            KeymapError::Conflict {
                mode,
                key,
                first,
                second,
            } => write!(
                f,
                "[keys.{mode}]: key `{key}` is bound to both `{first}` and `{second}`"
            ),
        }
    }
}

impl std::error::Error for KeymapError {}

#[derive(Clone, Debug, PartialEq)]
pub struct Keymap {
    bindings: Vec<Binding>,
    lookup: HashMap<(Mode, KeyChord), Action>,
}

impl Keymap {
    /// The embedded defaults (`src/config/default.toml`).
    pub fn defaults() -> Keymap {
        Keymap::from_config(&crate::config::Config::default_embedded().keys).unwrap_or_else(|_| {
            Keymap {
                bindings: Vec::new(),
                lookup: HashMap::new(),
            }
        })
    }

    /// Builds the keymap from the config's `[keys.MODE] action = "key" | ["k1", "k2"]`
    /// tables (the user's entries already merged over the embedded defaults).
    pub fn from_config(
        keys: &BTreeMap<String, BTreeMap<String, KeySpec>>,
    ) -> Result<Keymap, KeymapError> {
        let mut bindings: Vec<Binding> = Vec::new();
        for (mode_name, actions) in keys {
            let mode = Mode::parse(mode_name)
                .ok_or_else(|| KeymapError::UnknownMode(mode_name.clone()))?;
            for (action_name, spec) in actions {
                let action =
                    Action::parse(action_name).ok_or_else(|| KeymapError::UnknownAction {
                        mode: mode_name.clone(),
                        action: action_name.clone(),
                    })?;
                let keys = spec
                    .keys()
                    .iter()
                    .map(|k| parse_key(k))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|message| KeymapError::BadKey {
                        mode: mode_name.clone(),
                        action: action_name.clone(),
                        message,
                    })?;
                bindings.push(Binding { mode, action, keys });
            }
        }
        // Stable order for the help screen: by mode, then the order actions are declared.
        bindings.sort_by_key(|b| (b.mode, Action::all().position(|a| a == b.action)));
        let mut lookup = HashMap::new();
        for b in &bindings {
            for k in &b.keys {
                if let Some(prev) = lookup.insert((b.mode, *k), b.action)
                    && prev != b.action
                {
                    return Err(KeymapError::Conflict {
                        mode: b.mode.name().into(),
                        key: k.to_string(),
                        first: prev.name().into(),
                        second: b.action.name().into(),
                    });
                }
            }
        }
        Ok(Keymap { bindings, lookup })
    }

    pub fn action(&self, mode: Mode, key: KeyChord) -> Option<Action> {
        self.lookup.get(&(mode, key)).copied()
    }

    pub fn keys_for(&self, mode: Mode, action: Action) -> &[KeyChord] {
        self.bindings
            .iter()
            .find(|b| b.mode == mode && b.action == action)
            .map_or(&[], |b| b.keys.as_slice())
    }

    /// The first key of an action, for hints ("s scale").
    pub fn hint(&self, mode: Mode, action: Action) -> Option<String> {
        self.keys_for(mode, action).first().map(|k| k.to_string())
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::key::KeyCodeOrd;

    /// The embedded defaults with one action's keys replaced, as the config merge does.
    fn ov(mode: &str, action: &str, keys: &[&str]) -> BTreeMap<String, BTreeMap<String, KeySpec>> {
        let mut m = crate::config::Config::default_embedded().keys;
        m.entry(mode.to_string()).or_default().insert(
            action.to_string(),
            KeySpec::Many(keys.iter().map(|s| s.to_string()).collect()),
        );
        m
    }

    #[test]
    fn defaults_have_no_conflicts() {
        assert!(Keymap::from_config(&crate::config::Config::default_embedded().keys).is_ok());
        let km = Keymap::defaults();
        assert_eq!(
            km.action(Mode::Normal, KeyChord::plain(KeyCodeOrd::Char('s'))),
            Some(Action::Scale)
        );
    }

    #[test]
    fn override_replaces_only_that_action() {
        let km = Keymap::from_config(&ov("normal", "scale", &["Z"])).expect("valid");
        assert_eq!(
            km.action(Mode::Normal, KeyChord::plain(KeyCodeOrd::Char('s'))),
            None
        );
        assert_eq!(
            km.action(Mode::Normal, KeyChord::plain(KeyCodeOrd::Char('Z'))),
            Some(Action::Scale)
        );
        assert_eq!(
            km.action(Mode::Normal, KeyChord::plain(KeyCodeOrd::Char('d'))),
            Some(Action::Drain)
        );
    }

    #[test]
    fn conflict_names_both_actions() {
        let err = Keymap::from_config(&ov("normal", "scale", &["d"])).expect_err("conflict");
        let msg = err.to_string();
        assert!(
            msg.contains("`d`") && msg.contains("drain") && msg.contains("scale"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(matches!(
            Keymap::from_config(&ov("normal", "explode", &["x"])),
            Err(KeymapError::UnknownAction { .. })
        ));
        assert!(matches!(
            Keymap::from_config(&ov("insert", "up", &["x"])),
            Err(KeymapError::UnknownMode(_))
        ));
        assert!(matches!(
            Keymap::from_config(&ov("normal", "up", &["hyper-x"])),
            Err(KeymapError::BadKey { .. })
        ));
    }
}
