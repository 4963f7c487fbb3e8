//! Writing what a view shows to a file in the current directory, named so it cannot escape it.

/// Writes `text` to `clusterdeck-<name parts>.<ext>` in the current directory (every character
/// of `name` outside `[A-Za-z0-9-]` made `_`). The path as shown to the operator, or why not.
pub fn write_here(name: &str, ext: &str, text: &str) -> Result<String, String> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = std::path::PathBuf::from(format!("clusterdeck-{safe}.{ext}"));
    let shown = std::env::current_dir()
        .map(|d| d.join(&path))
        .unwrap_or_else(|_| path.clone());
    std::fs::write(&path, text)
        .map(|()| shown.display().to_string())
        .map_err(|e| format!("{}: {e}", shown.display()))
}
