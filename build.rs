//! Compacts the screens' stylesheet (src/ui/styles.css) for the package:
//! its comments and layout are for people, and every byte is shipped in
//! both WebAssembly modules.

use std::path::PathBuf;

fn main() {
    let source = "src/ui/styles.css";
    println!("cargo:rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("src/ui/styles.css");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("styles.css");
    std::fs::write(out, compact(&text)).expect("write the compacted stylesheet");
}

/// Drops comments and collapses white space, keeping one space wherever
/// one separates two words (`.a .b`, `solid var(…)`); around `{`, `}`, `;`,
/// `,` and `>`, and after `:`, none is needed.
fn compact(css: &str) -> String {
    let mut text = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let end = rest[start..]
            .find("*/")
            .map_or(rest.len(), |e| start + e + 2);
        rest = &rest[end..];
    }
    text.push_str(rest);
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::with_capacity(text.len());
    for word in words {
        let tight = |c: Option<char>| matches!(c, Some('{' | '}' | ';' | ',' | '>'));
        // After a colon, never before one: `.a :hover` keeps its space.
        let after = out.chars().last();
        if !out.is_empty() && !tight(after) && after != Some(':') && !tight(word.chars().next()) {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}
