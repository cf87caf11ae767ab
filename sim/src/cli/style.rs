//! Terminal presentation: compact tables, and colour only on a terminal
//! (piped output stays plain text that scripts can read).

use std::io::IsTerminal;

use comfy_table::{presets, ContentArrangement, Table};

/// A compact table with `header`: box-drawn on a terminal, markdown when
/// piped (so it pastes into an issue as is).
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(if std::io::stdout().is_terminal() {
        presets::UTF8_FULL_CONDENSED
    } else {
        presets::ASCII_MARKDOWN
    });
    t.set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(header.to_vec());
    t
}

/// `text` in green (ok) or red (not ok) on a terminal; plain otherwise.
pub fn verdict(text: &str, ok: bool) -> String {
    if std::io::stdout().is_terminal() {
        let code = if ok { 32 } else { 31 };
        format!("\u{1b}[1;{code}m{text}\u{1b}[0m")
    } else {
        text.to_owned()
    }
}
