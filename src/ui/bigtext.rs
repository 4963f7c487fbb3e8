//! Five-row block letters for the wall's incident headline, readable from across a room. Only
//! the letters of the incident labels exist; anything else returns None and the caller keeps
//! ordinary text.

const ROWS: usize = 5;

fn glyph(c: char) -> Option<[&'static str; ROWS]> {
    Some(match c {
        'A' => [" ███ ", "█   █", "█████", "█   █", "█   █"],
        'B' => ["████ ", "█   █", "████ ", "█   █", "████ "],
        'C' => [" ████", "█    ", "█    ", "█    ", " ████"],
        'D' => ["████ ", "█   █", "█   █", "█   █", "████ "],
        'E' => ["█████", "█    ", "████ ", "█    ", "█████"],
        'I' => ["█████", "  █  ", "  █  ", "  █  ", "█████"],
        'K' => ["█   █", "█  █ ", "███  ", "█  █ ", "█   █"],
        'L' => ["█    ", "█    ", "█    ", "█    ", "█████"],
        'M' => ["█   █", "██ ██", "█ █ █", "█   █", "█   █"],
        'N' => ["█   █", "██  █", "█ █ █", "█  ██", "█   █"],
        'O' => [" ███ ", "█   █", "█   █", "█   █", " ███ "],
        'P' => ["████ ", "█   █", "████ ", "█    ", "█    "],
        'Q' => [" ███ ", "█   █", "█ █ █", "█  █ ", " ██ █"],
        'R' => ["████ ", "█   █", "████ ", "█  █ ", "█   █"],
        'S' => [" ████", "█    ", " ███ ", "    █", "████ "],
        'T' => ["█████", "  █  ", "  █  ", "  █  ", "  █  "],
        'U' => ["█   █", "█   █", "█   █", "█   █", " ███ "],
        'W' => ["█   █", "█   █", "█ █ █", "██ ██", "█   █"],
        ' ' => ["   ", "   ", "   ", "   ", "   "],
        _ => return None,
    })
}

/// `text` in block letters, one string per row, or None if a letter has no glyph.
pub fn big(text: &str) -> Option<[String; ROWS]> {
    let mut rows: [String; ROWS] = Default::default();
    for c in text.chars() {
        let g = glyph(c)?;
        for (row, part) in rows.iter_mut().zip(g) {
            row.push_str(part);
            row.push(' ');
        }
    }
    Some(rows)
}

/// Columns `big(text)` takes.
pub fn width(text: &str) -> usize {
    text.chars()
        .map(|c| glyph(c).map_or(0, |g| g[0].chars().count() + 1))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_incident_label_has_glyphs_of_one_height_and_width() {
        for label in [
            "QUORUM LOST",
            "SOURCE DOWN",
            "NODE DOWN",
            "QUORUM AT RISK",
            "BELOW DESIRED",
            "UPDATE PAUSED",
        ] {
            let rows = big(label).unwrap_or_else(|| panic!("no glyphs for {label}"));
            let w = width(label);
            assert!(rows.iter().all(|r| r.chars().count() == w), "{label}");
        }
        assert!(big("lower").is_none());
    }
}
