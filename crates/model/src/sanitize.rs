//! Makes strings from the cluster safe to draw.
//!
//! Names, labels and error messages come from remote systems that anyone with write access to
//! the cluster controls. Written raw, an escape sequence could move the cursor, retitle the
//! window, rewrite the clipboard (OSC 52) or forge a hyperlink, and a bidi override could make
//! `prod-db` look like something else. Whole sequences are removed, not just their ESC, so no
//! `[31m`-style debris is left behind either.

use std::borrow::Cow;

/// Removes escape sequences, C0/C1 controls, DEL and bidi controls; line breaks and tabs become
/// one space. Returns the input borrowed when it was already clean.
#[inline]
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_work) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(clean(s))
}

#[inline]
fn needs_work(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_line_break(c)
}

/// Explicit embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that would break a one-line cell: shown as a single space instead.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{2028}' | '\u{2029}'
    )
}

const ESC: char = '\u{1B}';
const BEL: char = '\u{07}';
/// C1 String Terminator.
const ST: char = '\u{9C}';

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    /// After ESC.
    Esc,
    /// After ESC and intermediate bytes (e.g. `ESC ( B`), waiting for the final byte.
    EscIntermediate,
    /// Control Sequence: parameters and intermediates until a final byte 0x40–0x7E.
    Csi,
    /// OSC, DCS, SOS, PM or APC payload, until BEL or ST.
    Str,
    /// ESC inside a string: `\` completes ST, anything else aborts the string.
    StrEsc,
}

fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut state = State::Ground;
    // Collapses a run of line breaks (even with removed sequences between them) to one space.
    let mut after_break = false;
    for c in s.chars() {
        // A byte that ends a sequence without belonging to it is looked at again in Ground.
        let mut pending = Some(c);
        while let Some(c) = pending.take() {
            state = match state {
                State::Ground => {
                    match c {
                        ESC => State::Esc,
                        '\u{9B}' => State::Csi,
                        // C1 DCS, SOS, OSC, PM, APC: strings that run to ST.
                        '\u{90}' | '\u{98}' | '\u{9D}' | '\u{9E}' | '\u{9F}' => State::Str,
                        c if is_line_break(c) => {
                            if !after_break {
                                out.push(' ');
                                after_break = true;
                            }
                            State::Ground
                        }
                        c if c.is_control() || is_bidi_control(c) => State::Ground,
                        c => {
                            out.push(c);
                            after_break = false;
                            State::Ground
                        }
                    }
                }
                State::Esc => match c {
                    '[' => State::Csi,
                    ']' | 'P' | 'X' | '^' | '_' => State::Str,
                    ESC => State::Esc,
                    '\u{20}'..='\u{2F}' => State::EscIntermediate,
                    '\u{30}'..='\u{7E}' => State::Ground,
                    other => {
                        pending = Some(other);
                        State::Ground
                    }
                },
                State::EscIntermediate => match c {
                    '\u{20}'..='\u{2F}' => State::EscIntermediate,
                    '\u{30}'..='\u{7E}' => State::Ground,
                    other => {
                        pending = Some(other);
                        State::Ground
                    }
                },
                State::Csi => match c {
                    '\u{20}'..='\u{3F}' => State::Csi,
                    '\u{40}'..='\u{7E}' => State::Ground,
                    other => {
                        pending = Some(other);
                        State::Ground
                    }
                },
                State::Str => match c {
                    BEL | ST => State::Ground,
                    ESC => State::StrEsc,
                    _ => State::Str,
                },
                State::StrEsc => match c {
                    '\\' => State::Ground,
                    other => {
                        pending = Some(other);
                        State::Esc
                    }
                },
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn has_forbidden(s: &str) -> bool {
        s.chars().any(|c| c.is_control() || is_bidi_control(c))
    }

    #[test]
    fn clean_input_is_borrowed() {
        for s in [
            "",
            "web-1",
            "nginx:1.25@sha256:abc",
            "ünïcödé ✓ 日本",
            "a b",
        ] {
            assert!(matches!(sanitize(s), Cow::Borrowed(x) if x == s), "{s:?}");
        }
    }

    #[test]
    fn removes_whole_sequences() {
        let cases = [
            ("\x1b[31mred\x1b[0m", "red"),
            ("\x1b[?1049h\x1b[2J\x1b[Hx", "x"),
            ("a\x1b]0;pwned\x07b", "ab"),
            ("a\x1b]52;c;ZXZpbA==\x1b\\b", "ab"),
            ("a\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),
            ("a\x1bP1$r0m\x1b\\b", "ab"),
            ("a\x1b_apc payload\x1b\\b", "ab"),
            ("a\x1bX sos \x1b\\b", "ab"),
            ("a\x1b^pm\u{9c}b", "ab"),
            ("a\x1b7\x1b8\x1bcb", "ab"),
            ("a\x1b(Bb", "ab"),
            ("a\u{9b}31mb", "ab"),
            ("a\u{9d}0;title\u{9c}b", "ab"),
            ("a\u{85}b\u{7f}c\x00d", "abcd"),
            ("a\x1b", "a"),
            ("a\x1b[31", "a"),
            ("a\x1b]0;never ends", "a"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
    }

    #[test]
    fn aborted_sequences_do_not_swallow_text() {
        // ESC inside a CSI starts a new sequence; ESC + non-ASCII drops only the ESC.
        assert_eq!(sanitize("\x1b[3\x1b[0mok"), "ok");
        assert_eq!(sanitize("\x1bé"), "é");
        // ESC inside an OSC that is not ST aborts the OSC and starts a new sequence.
        assert_eq!(sanitize("\x1b]0;t\x1b[1mok"), "ok");
    }

    #[test]
    fn line_breaks_and_tabs_become_one_space() {
        assert_eq!(sanitize("a\tb"), "a b");
        assert_eq!(sanitize("line1\r\nline2"), "line1 line2");
        assert_eq!(sanitize("a\n\n\nb"), "a b");
        assert_eq!(sanitize("a\n\x1b[0m\nb"), "a b");
        assert_eq!(sanitize("a\u{2028}b"), "a b");
    }

    #[test]
    fn bidi_controls_are_dropped() {
        assert_eq!(sanitize("prod\u{202E}bd-\u{202C}db"), "prodbd-db");
        assert_eq!(sanitize("\u{2066}x\u{2069}"), "x");
    }

    fn hostile_char() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => Just('\x1b'),
            2 => Just('['),
            2 => Just(']'),
            1 => Just('P'),
            1 => Just('_'),
            1 => Just('\\'),
            2 => Just('\x07'),
            2 => proptest::char::range('\u{80}', '\u{9f}'),
            2 => proptest::char::range('\0', '\u{1f}'),
            1 => Just('\u{7f}'),
            1 => proptest::char::range('\u{202A}', '\u{202E}'),
            1 => proptest::char::range('\u{2066}', '\u{2069}'),
            3 => proptest::char::range(' ', '~'),
            2 => any::<char>(),
        ]
    }

    fn hostile_string() -> impl Strategy<Value = String> {
        prop::collection::vec(hostile_char(), 0..64).prop_map(String::from_iter)
    }

    proptest! {
        #[test]
        fn never_emits_controls(s in any::<String>()) {
            prop_assert!(!has_forbidden(&sanitize(&s)));
        }

        #[test]
        fn never_emits_controls_hostile(s in hostile_string()) {
            let out = sanitize(&s);
            prop_assert!(!has_forbidden(&out), "{:?} -> {:?}", s, out);
        }

        #[test]
        fn idempotent(s in hostile_string()) {
            let once = sanitize(&s).into_owned();
            let twice = sanitize(&once);
            prop_assert!(matches!(twice, Cow::Borrowed(_)));
            prop_assert_eq!(twice.as_ref(), once.as_str());
        }

        #[test]
        fn idempotent_arbitrary(s in any::<String>()) {
            let once = sanitize(&s).into_owned();
            let twice = sanitize(&once).into_owned();
            prop_assert_eq!(twice, once);
        }

        #[test]
        fn printable_ascii_unchanged_and_borrowed(s in "[ -~]{0,80}") {
            let out = sanitize(&s);
            prop_assert!(matches!(out, Cow::Borrowed(_)));
            prop_assert_eq!(out.as_ref(), s.as_str());
        }

        #[test]
        fn printable_text_survives_around_sequences(a in "[a-z0-9 ]{0,16}", b in "[a-z0-9 ]{0,16}") {
            let input = format!("{a}\x1b[1;31m{b}\x1b[0m");
            let out = sanitize(&input).into_owned();
            prop_assert_eq!(out, format!("{a}{b}"));
        }
    }
}
