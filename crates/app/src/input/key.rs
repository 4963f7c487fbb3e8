use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key with its modifiers. Shift is folded into the character for printable keys, so `G`
/// and `shift-g` are the same chord.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyChord {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// `KeyCode` subset we bind, ordered for stable help output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

impl KeyChord {
    pub fn from_event(ev: &KeyEvent) -> Option<KeyChord> {
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            _ => return None,
        };
        Some(KeyChord {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        })
    }

    pub fn plain(code: KeyCodeOrd) -> KeyChord {
        KeyChord {
            code,
            ctrl: false,
            alt: false,
        }
    }
}

/// Named keys; where a key has two names the first is the one printed.
const NAMED: [(&str, KeyCodeOrd); 18] = [
    ("enter", KeyCodeOrd::Enter),
    ("esc", KeyCodeOrd::Esc),
    ("tab", KeyCodeOrd::Tab),
    ("backtab", KeyCodeOrd::BackTab),
    ("backspace", KeyCodeOrd::Backspace),
    ("delete", KeyCodeOrd::Delete),
    ("up", KeyCodeOrd::Up),
    ("down", KeyCodeOrd::Down),
    ("left", KeyCodeOrd::Left),
    ("right", KeyCodeOrd::Right),
    ("pageup", KeyCodeOrd::PageUp),
    ("pagedown", KeyCodeOrd::PageDown),
    ("pgup", KeyCodeOrd::PageUp),
    ("pgdn", KeyCodeOrd::PageDown),
    ("home", KeyCodeOrd::Home),
    ("end", KeyCodeOrd::End),
    ("space", KeyCodeOrd::Char(' ')),
    ("minus", KeyCodeOrd::Char('-')),
];

/// Parses `j`, `G`, `ctrl-d`, `alt-x`, `shift-tab`, `enter`, `f1`, `space`, `?`.
pub fn parse_key(s: &str) -> Result<KeyChord, String> {
    let mut ctrl = false;
    let mut alt = false;
    let mut shift = false;
    let mut rest = s;
    // A lone "-" is the minus key, not a separator.
    while rest.len() > 1 {
        let Some((m, r)) = rest.split_once('-') else {
            break;
        };
        if r.is_empty() {
            break;
        }
        match m.to_ascii_lowercase().as_str() {
            "ctrl" | "c" => ctrl = true,
            "alt" | "m" => alt = true,
            "shift" | "s" => shift = true,
            _ => return Err(format!("unknown modifier `{m}` in `{s}`")),
        }
        rest = r;
    }
    let lower = rest.to_ascii_lowercase();
    let mut code = if let Some((_, c)) = NAMED.iter().find(|(n, _)| *n == lower) {
        *c
    } else if let Some(n) = lower.strip_prefix('f').and_then(|d| d.parse::<u8>().ok()) {
        if !(1..=12).contains(&n) {
            return Err(format!("no function key `{rest}`"));
        }
        KeyCodeOrd::F(n)
    } else {
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => KeyCodeOrd::Char(c),
            _ => return Err(format!("unknown key `{s}`")),
        }
    };
    if shift {
        code = match code {
            KeyCodeOrd::Tab => KeyCodeOrd::BackTab,
            KeyCodeOrd::Char(c) => KeyCodeOrd::Char(c.to_ascii_uppercase()),
            other => return Err(format!("shift is not supported with `{other:?}`")),
        };
    }
    Ok(KeyChord { code, ctrl, alt })
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(c) => match NAMED.iter().find(|(_, k)| *k == self.code) {
                Some((n, _)) => f.write_str(n),
                None => write!(f, "{c}"),
            },
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
            other => match NAMED.iter().find(|(_, k)| *k == other) {
                Some((n, _)) => f.write_str(n),
                None => write!(f, "{other:?}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_keys() {
        assert_eq!(parse_key("j"), Ok(KeyChord::plain(KeyCodeOrd::Char('j'))));
        assert_eq!(parse_key("G"), Ok(KeyChord::plain(KeyCodeOrd::Char('G'))));
        assert_eq!(parse_key("shift-g"), parse_key("G"));
        assert_eq!(
            parse_key("shift-tab"),
            Ok(KeyChord::plain(KeyCodeOrd::BackTab))
        );
        assert!(parse_key("ctrl-d").is_ok_and(|k| k.ctrl));
        assert_eq!(parse_key("-"), Ok(KeyChord::plain(KeyCodeOrd::Char('-'))));
        assert!(parse_key("hyper-x").is_err());
        assert!(parse_key("f13").is_err());
        assert!(parse_key("jj").is_err());
    }

    fn chord() -> impl Strategy<Value = KeyChord> {
        let code = prop_oneof![
            proptest::char::range('!', '~').prop_map(KeyCodeOrd::Char),
            (1u8..=12).prop_map(KeyCodeOrd::F),
            proptest::sample::select(NAMED.iter().map(|n| n.1).collect::<Vec<_>>()),
        ];
        (code, any::<bool>(), any::<bool>()).prop_map(|(code, ctrl, alt)| KeyChord {
            code,
            ctrl,
            alt,
        })
    }

    proptest! {
        #[test]
        fn print_parse_round_trips(k in chord()) {
            prop_assert_eq!(parse_key(&k.to_string()), Ok(k));
        }
    }
}
