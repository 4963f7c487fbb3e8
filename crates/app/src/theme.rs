//! Semantic colour roles. Views ask for `Role::Danger`, never for red, so a theme (or
//! `NO_COLOR`) changes the whole console consistently.
//!
//! Built-in themes live in `themes/*.toml` and are embedded in the binary. A user file
//! `<config dir>/themes/NAME.toml` wins over a built-in of the same name, and may set only some
//! roles with `inherits = "dark"`. A role a theme sets replaces the inherited role entirely.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::config::locate::{clean_message, locate_error, locate_path};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Text,
    Muted,
    Ok,
    Warn,
    Danger,
    Info,
    Accent,
    Selection,
    Border,
    BorderFocus,
    Title,
    Header,
    Banner,
    Production,
    /// An incident banner on the wall.
    Alert,
}

impl Role {
    pub const ALL: [Role; 15] = [
        Role::Text,
        Role::Muted,
        Role::Ok,
        Role::Warn,
        Role::Danger,
        Role::Info,
        Role::Accent,
        Role::Selection,
        Role::Border,
        Role::BorderFocus,
        Role::Title,
        Role::Header,
        Role::Banner,
        Role::Production,
        Role::Alert,
    ];

    /// The name used in theme files.
    pub fn key(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Danger => "danger",
            Role::Info => "info",
            Role::Accent => "accent",
            Role::Selection => "selection",
            Role::Border => "border",
            Role::BorderFocus => "border_focus",
            Role::Title => "title",
            Role::Header => "header",
            Role::Banner => "banner",
            Role::Production => "production",
            Role::Alert => "alert",
        }
    }

    pub fn from_key(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == key)
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Debug)]
pub struct Theme {
    pub name: String,
    styles: [Style; Role::ALL.len()],
}

/// A theme that cannot be used, with the position and key at fault when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThemeError {
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ThemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "theme error in {}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, " at key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ThemeError {}

const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../../themes/dark.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../../themes/mono.toml")),
    ("wall", include_str!("../../../themes/wall.toml")),
];

const BUILTIN_NAMES: &[&str] = &["dark", "light", "high-contrast", "mono", "wall"];

/// A chain this deep is a mistake (or a cycle through differently named files).
const MAX_INHERITANCE: usize = 8;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    inherits: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, RoleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<String>,
    bg: Option<String>,
    bold: Option<bool>,
    italic: Option<bool>,
    underline: Option<bool>,
    reversed: Option<bool>,
    dim: Option<bool>,
}

impl Default for Theme {
    /// Plain terminal text with a reversed selection: usable even if nothing else loads.
    fn default() -> Self {
        Theme::plain("default")
    }
}

impl Theme {
    #[inline]
    pub fn style(&self, role: Role) -> Style {
        self.styles[role.index()]
    }

    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        parse(name, text, &format!("built-in theme {name}"), None).ok()
    }

    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    /// Loads `name`: `<user_dir>/NAME.toml` if present, else the built-in. `no_color` applies
    /// [`Theme::without_color`] (callers pass whether `NO_COLOR` is set and non-empty).
    pub fn load(name: &str, user_dir: Option<&Path>, no_color: bool) -> Result<Theme, ThemeError> {
        let theme = resolve(name, user_dir, &mut Vec::new())?;
        Ok(if no_color {
            theme.without_color()
        } else {
            theme
        })
    }

    /// For `NO_COLOR`: drops every colour and keeps the text attributes. Roles whose meaning
    /// would otherwise vanish get an attribute: the selection stays reversed, focus stays bold.
    pub fn without_color(mut self) -> Theme {
        for (i, style) in self.styles.iter_mut().enumerate() {
            let mut plain = Style::new().add_modifier(style.add_modifier);
            match Role::ALL[i] {
                Role::Selection => plain = plain.add_modifier(Modifier::REVERSED),
                Role::BorderFocus => plain = plain.add_modifier(Modifier::BOLD),
                Role::Banner | Role::Production | Role::Alert => {
                    plain = plain.add_modifier(Modifier::REVERSED | Modifier::BOLD)
                }
                _ => {}
            }
            *style = plain;
        }
        self
    }

    /// Theme names a user can choose: built-ins plus `*.toml` files in `user_dir`.
    pub fn available(user_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN_NAMES.iter().map(|s| (*s).to_owned()).collect();
        if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml")
                    && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                    && !names.iter().any(|n| n == stem)
                {
                    names.push(stem.to_owned());
                }
            }
        }
        names
    }

    fn plain(name: &str) -> Theme {
        let mut styles = [Style::new(); Role::ALL.len()];
        styles[Role::Selection.index()] = Style::new().add_modifier(Modifier::REVERSED);
        Theme {
            name: name.to_owned(),
            styles,
        }
    }
}

/// Finds and builds `name`. `chain` holds the user themes being resolved, so that a user
/// `dark.toml` with `inherits = "dark"` reaches the built-in dark rather than itself.
fn resolve(
    name: &str,
    user_dir: Option<&Path>,
    chain: &mut Vec<String>,
) -> Result<Theme, ThemeError> {
    let plain_name = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && name.chars().all(|c| !c.is_control());
    if !plain_name {
        return Err(simple_error(
            "theme",
            format!("invalid theme name {name:?}: expected a plain name such as \"dark\""),
        ));
    }
    if chain.len() > MAX_INHERITANCE {
        return Err(simple_error(
            name,
            format!(
                "inheritance is too deep or circular: {}",
                chain.join(" -> ")
            ),
        ));
    }
    if let Some(dir) = user_dir
        && !chain.iter().any(|c| c == name)
    {
        let path = dir.join(format!("{name}.toml"));
        if path.is_file() {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| ThemeError {
                file: shown.clone(),
                line: None,
                key: None,
                message: format!("cannot read the theme file: {e}"),
            })?;
            chain.push(name.to_owned());
            let theme = parse(name, &text, &shown, Some((user_dir, &mut *chain)));
            chain.pop();
            return theme;
        }
    }
    if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
        return parse(name, text, &format!("built-in theme {name}"), None);
    }
    if chain.iter().any(|c| c == name) {
        return Err(simple_error(
            name,
            format!("inheritance cycle: {} -> {name}", chain.join(" -> ")),
        ));
    }
    let expected = user_dir.map_or_else(
        || "themes".to_owned(),
        |d| d.join(format!("{name}.toml")).display().to_string(),
    );
    Err(simple_error(
        &expected,
        format!(
            "unknown theme `{name}`; available: {}",
            Theme::available(user_dir).join(", ")
        ),
    ))
}

fn simple_error(file: &str, message: String) -> ThemeError {
    ThemeError {
        file: file.to_owned(),
        line: None,
        key: None,
        message,
    }
}

type Inherit<'a, 'b> = Option<(Option<&'a Path>, &'b mut Vec<String>)>;

/// Parses one theme file. `inherit` is None for built-ins, which must define every role and
/// cannot inherit.
fn parse(
    name: &str,
    text: &str,
    file: &str,
    inherit: Inherit<'_, '_>,
) -> Result<Theme, ThemeError> {
    let error_at = |path: &str, at_key: bool, message: String| {
        let loc = locate_path(text, path, at_key);
        ThemeError {
            file: file.to_owned(),
            line: loc.line,
            key: loc.key,
            message,
        }
    };
    let parsed: ThemeFile = toml::from_str(text).map_err(|e| {
        let loc = locate_error(text, &e);
        ThemeError {
            file: file.to_owned(),
            line: loc.line,
            key: loc.key,
            message: clean_message(&e),
        }
    })?;
    if let Some(declared) = &parsed.name
        && declared != name
    {
        return Err(error_at(
            "name",
            false,
            format!("name \"{declared}\" does not match the file name \"{name}.toml\""),
        ));
    }

    let base = match (&parsed.inherits, inherit) {
        (Some(parent), Some((dir, chain))) => {
            // A broken parent file is reported at its own line; a missing one at `inherits`.
            Some(resolve(parent, dir, chain).map_err(|e| {
                if e.line.is_some() {
                    e
                } else {
                    error_at("inherits", false, e.message)
                }
            })?)
        }
        (Some(_), None) => {
            return Err(error_at(
                "inherits",
                true,
                "built-in themes cannot inherit".to_owned(),
            ));
        }
        (None, _) => None,
    };

    let mut styles: [Option<Style>; Role::ALL.len()] = [None; Role::ALL.len()];
    for (key, spec) in &parsed.roles {
        let Some(role) = Role::from_key(key) else {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.key()).collect();
            return Err(error_at(
                &format!("roles.{key}"),
                true,
                format!("unknown role `{key}`, expected one of {}", known.join(", ")),
            ));
        };
        styles[role.index()] = Some(build_style(spec).map_err(|(field, message)| {
            error_at(&format!("roles.{key}.{field}"), false, message)
        })?);
    }

    let mut out = Theme::plain(name);
    let mut missing = Vec::new();
    for role in Role::ALL {
        match (styles[role.index()], &base) {
            (Some(s), _) => out.styles[role.index()] = s,
            (None, Some(b)) => out.styles[role.index()] = b.style(role),
            (None, None) => missing.push(role.key()),
        }
    }
    if !missing.is_empty() {
        return Err(error_at(
            "roles",
            true,
            format!(
                "roles not defined: {}; define them or add inherits = \"dark\"",
                missing.join(", ")
            ),
        ));
    }
    Ok(out)
}

fn build_style(spec: &RoleSpec) -> Result<Style, (&'static str, String)> {
    let color = |field: &'static str, value: &Option<String>| -> Result<Option<Color>, _> {
        match value {
            None => Ok(None),
            Some(v) => Color::from_str(v).map(Some).map_err(|_| {
                (
                    field,
                    format!(
                        "invalid colour {v:?}: expected a name (\"red\", \"light-blue\"), \
                         \"#rrggbb\" or an index 0-255"
                    ),
                )
            }),
        }
    };
    let mut style = Style::new();
    if let Some(c) = color("fg", &spec.fg)? {
        style = style.fg(c);
    }
    if let Some(c) = color("bg", &spec.bg)? {
        style = style.bg(c);
    }
    for (on, modifier) in [
        (spec.bold, Modifier::BOLD),
        (spec.italic, Modifier::ITALIC),
        (spec.underline, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
        (spec.dim, Modifier::DIM),
    ] {
        if on == Some(true) {
            style = style.add_modifier(modifier);
        }
    }
    Ok(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    #[test]
    fn every_builtin_parses_and_defines_every_role() {
        assert_eq!(BUILTIN.len(), BUILTIN_NAMES.len());
        for name in Theme::builtin_names() {
            let (_, text) = BUILTIN.iter().find(|(n, _)| n == name).expect("embedded");
            let parsed: ThemeFile = toml::from_str(text).expect("valid TOML");
            assert_eq!(parsed.name.as_deref(), Some(*name));
            for role in Role::ALL {
                assert!(
                    parsed.roles.contains_key(role.key()),
                    "{name} lacks role {}",
                    role.key()
                );
            }
            let theme = parse(name, text, name, None).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&theme.name, name);
            assert!(Theme::builtin(name).is_some());
        }
        assert!(Theme::builtin("nope").is_none());
    }

    #[test]
    fn role_keys_round_trip_and_indexes_match() {
        for (i, role) in Role::ALL.into_iter().enumerate() {
            assert_eq!(role.index(), i);
            assert_eq!(Role::from_key(role.key()), Some(role));
        }
    }

    #[test]
    fn mono_has_no_colour_and_high_contrast_is_bold_on_black() {
        let mono = Theme::builtin("mono").expect("mono");
        for role in Role::ALL {
            let s = mono.style(role);
            assert_eq!((s.fg, s.bg), (None, None), "{role:?}");
        }
        assert!(
            mono.style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        let hc = Theme::builtin("high-contrast").expect("high-contrast");
        assert_eq!(hc.style(Role::Text).bg, Some(Color::Black));
        assert!(hc.style(Role::Danger).add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn dark_danger_differs_from_ok() {
        let dark = Theme::builtin("dark").expect("dark");
        assert_ne!(dark.style(Role::Danger), dark.style(Role::Ok));
        assert_eq!(dark.style(Role::Ok).fg, Some(Color::Green));
    }

    #[test]
    fn load_builtin_and_unknown() {
        let t = Theme::load("light", None, false).expect("light");
        assert_eq!(t.name, "light");
        let e = Theme::load("solarized", None, false).expect_err("unknown");
        assert!(e.message.contains("unknown theme `solarized`"));
        assert!(e.message.contains("dark, light, high-contrast, mono"));
        let e = Theme::load("../etc/passwd", None, false).expect_err("path");
        assert!(e.message.contains("invalid theme name"));
    }

    #[test]
    fn user_theme_inherits_and_overrides() {
        let dir = user_dir(&[(
            "ocean.toml",
            "name = \"ocean\"\ninherits = \"dark\"\n[roles]\nok = { fg = \"#00ff80\", bold = true }\n",
        )]);
        let t = Theme::load("ocean", Some(dir.path()), false).expect("ocean");
        let dark = Theme::builtin("dark").expect("dark");
        assert_eq!(t.name, "ocean");
        assert_eq!(t.style(Role::Ok).fg, Some(Color::Rgb(0, 0xff, 0x80)));
        assert!(t.style(Role::Ok).add_modifier.contains(Modifier::BOLD));
        assert_eq!(t.style(Role::Danger), dark.style(Role::Danger));
        assert!(
            Theme::available(Some(dir.path())).contains(&"ocean".to_owned()),
            "user themes are listed"
        );
    }

    #[test]
    fn user_file_shadows_builtin_and_can_inherit_it() {
        let dir = user_dir(&[(
            "dark.toml",
            "inherits = \"dark\"\n[roles]\ndanger = { fg = \"magenta\" }\n",
        )]);
        let t = Theme::load("dark", Some(dir.path()), false).expect("dark override");
        assert_eq!(t.style(Role::Danger).fg, Some(Color::Magenta));
        let builtin = Theme::builtin("dark").expect("dark");
        assert_eq!(t.style(Role::Ok), builtin.style(Role::Ok));
    }

    #[test]
    fn inheritance_cycles_are_errors() {
        let dir = user_dir(&[
            ("a.toml", "inherits = \"b\"\n"),
            ("b.toml", "inherits = \"a\"\n"),
        ]);
        let e = Theme::load("a", Some(dir.path()), false).expect_err("cycle");
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn bad_user_theme_names_line_and_key() {
        let dir = user_dir(&[(
            "bad.toml",
            "inherits = \"dark\"\n[roles]\nok = { fg = \"green\" }\ndanger = { fg = \"blood\" }\n",
        )]);
        let e = Theme::load("bad", Some(dir.path()), false).expect_err("bad colour");
        assert_eq!(e.line, Some(4));
        assert_eq!(e.key.as_deref(), Some("roles.danger.fg"));
        assert!(e.file.ends_with("bad.toml"));
        assert!(
            e.to_string()
                .contains("bad.toml:4 at key `roles.danger.fg`"),
            "{e}"
        );

        let dir = user_dir(&[(
            "typo.toml",
            "inherits = \"dark\"\n[roles]\ndangr = { fg = \"red\" }\n",
        )]);
        let e = Theme::load("typo", Some(dir.path()), false).expect_err("unknown role");
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("roles.dangr")));

        let dir = user_dir(&[(
            "attr.toml",
            "inherits = \"dark\"\n[roles]\nok = { fg = \"red\", blink = true }\n",
        )]);
        let e = Theme::load("attr", Some(dir.path()), false).expect_err("unknown attribute");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(3), Some("roles.ok.blink"))
        );

        let dir = user_dir(&[("part.toml", "[roles]\nok = { fg = \"red\" }\n")]);
        let e = Theme::load("part", Some(dir.path()), false).expect_err("missing roles");
        assert!(e.message.contains("inherits"), "{e}");

        let dir = user_dir(&[("named.toml", "name = \"other\"\ninherits = \"dark\"\n")]);
        let e = Theme::load("named", Some(dir.path()), false).expect_err("name mismatch");
        assert_eq!((e.line, e.key.as_deref()), (Some(1), Some("name")));

        let dir = user_dir(&[("orphan.toml", "inherits = \"nope\"\n")]);
        let e = Theme::load("orphan", Some(dir.path()), false).expect_err("unknown parent");
        assert_eq!((e.line, e.key.as_deref()), (Some(1), Some("inherits")));
    }

    #[test]
    fn no_color_strips_colours_but_keeps_selection_visible() {
        for name in Theme::builtin_names() {
            let t = Theme::load(name, None, true).expect("builtin");
            for role in Role::ALL {
                let s = t.style(role);
                assert_eq!((s.fg, s.bg), (None, None), "{name} {role:?}");
            }
            assert!(
                t.style(Role::Selection)
                    .add_modifier
                    .contains(Modifier::REVERSED),
                "{name}"
            );
        }
        let dark = Theme::builtin("dark").expect("dark").without_color();
        assert!(
            dark.style(Role::Danger)
                .add_modifier
                .contains(Modifier::BOLD)
        );
    }

    #[test]
    fn colour_formats() {
        let spec = |fg: &str| RoleSpec {
            fg: Some(fg.to_owned()),
            bg: None,
            bold: None,
            italic: None,
            underline: None,
            reversed: None,
            dim: None,
        };
        assert_eq!(
            build_style(&spec("red")).map(|s| s.fg),
            Ok(Some(Color::Red))
        );
        assert_eq!(
            build_style(&spec("#102030")).map(|s| s.fg),
            Ok(Some(Color::Rgb(0x10, 0x20, 0x30)))
        );
        assert_eq!(
            build_style(&spec("208")).map(|s| s.fg),
            Ok(Some(Color::Indexed(208)))
        );
        assert!(build_style(&spec("#12345")).is_err());
    }
}
