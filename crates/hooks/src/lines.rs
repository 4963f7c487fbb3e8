//! Bytes arriving in arbitrary pieces (pipe reads, HTTP chunks) into whole lines: a line split
//! across pieces is joined, a partial last line is flushed at the end, and one endless line
//! cannot grow memory past the cap.

/// The longest line passed on, in bytes; the rest of a longer line is dropped and marked.
pub const MAX_LINE: usize = 8 * 1024;

const CUT_MARK: &str = " …(line cut at 8 KiB)";

/// One stream's line splitter.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
    cut: bool,
}

impl LineSplitter {
    /// Feeds `bytes`, appending each line they complete to `out`.
    pub(crate) fn push(&mut self, mut bytes: &[u8], out: &mut Vec<String>) {
        while !bytes.is_empty() {
            let (part, complete) = match bytes.iter().position(|b| *b == b'\n') {
                Some(at) => (&bytes[..at], Some(at + 1)),
                None => (bytes, None),
            };
            let room = MAX_LINE - self.buf.len();
            self.buf.extend_from_slice(&part[..part.len().min(room)]);
            self.cut |= part.len() > room;
            match complete {
                Some(next) => {
                    out.push(self.take());
                    bytes = &bytes[next..];
                }
                None => break,
            }
        }
    }

    /// The partial last line, if any.
    pub(crate) fn finish(&mut self) -> Option<String> {
        (!self.buf.is_empty() || self.cut).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let mut bytes = std::mem::take(&mut self.buf);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if !std::mem::take(&mut self.cut) {
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        // Cut at a character boundary rather than leave half a character.
        if let Err(e) = std::str::from_utf8(&bytes)
            && e.error_len().is_none()
        {
            bytes.truncate(e.valid_up_to());
        }
        let mut line = String::from_utf8_lossy(&bytes).into_owned();
        line.push_str(CUT_MARK);
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pieces: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for p in pieces {
            s.push(p, &mut out);
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn lines_across_pieces_and_a_partial_last_line() {
        assert_eq!(
            split(&[b"a\nb", b"c\r\n\nd", b"e"]),
            vec!["a", "bc", "", "de"]
        );
        assert_eq!(split(&[b"x\n"]), vec!["x"]);
        assert!(split(&[]).is_empty());
        // A character split between two pieces stays whole.
        assert_eq!(split(&["ü".as_bytes()[..1].as_ref(), b"\xbc\n"]), vec!["ü"]);
        assert_eq!(split(&[b"bad \xff\n"]), vec!["bad \u{fffd}"]);
    }

    #[test]
    fn a_long_line_is_cut_and_the_next_is_whole() {
        let long = "é".repeat(MAX_LINE); // 2 bytes each: the cut falls inside no character
        let input = format!("{long}\nnext\n");
        let out = split(&[input.as_bytes()]);
        assert_eq!(out.len(), 2);
        assert!(out[0].ends_with(CUT_MARK));
        let kept = out[0].trim_end_matches(CUT_MARK);
        assert_eq!(kept.len(), MAX_LINE);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(out[1], "next");

        let odd = format!("a{long}\n"); // the cut falls inside an 'é'
        let out = split(&[odd.as_bytes()]);
        let kept = out[0].trim_end_matches(CUT_MARK);
        assert_eq!(kept.len(), MAX_LINE - 1);
        assert!(!kept.contains('\u{fffd}'));
    }
}
