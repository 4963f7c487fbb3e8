//! The generated documentation is current: docs/keybindings.md is what `clusterdeck keys`
//! prints for the built-in keymap (regenerate with
//! `cargo run -- --config /dev/null keys > docs/keybindings.md`).

use clusterdeck::cli::keys_markdown;
use clusterdeck::input::Keymap;

#[test]
fn keybindings_doc_matches_the_built_in_keymap() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keybindings.md"))
        .expect("docs/keybindings.md");
    let generated = keys_markdown(&Keymap::defaults());
    assert!(
        doc == generated,
        "docs/keybindings.md is stale: run 'cargo run -- --config /dev/null keys > docs/keybindings.md'"
    );
}
