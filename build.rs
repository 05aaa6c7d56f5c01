//! Compacts the screens' stylesheet (src/ui/styles.css) for the package:
//! its comments and layout are for people, and every byte is shipped in
//! the WebAssembly modules. A build with only one module's feature leaves
//! out the other module's block of rules (`/* module: … */`), which none
//! of its screens use.

use std::path::PathBuf;

fn main() {
    let source = "src/ui/styles.css";
    println!("cargo:rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("src/ui/styles.css");
    let has = |feature: &str| std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some();
    let (consent, account) = (has("CONSENT_SCREEN"), has("ACCOUNT_SCREENS"));
    // Without either (the domain alone), nothing is shown: keep it all.
    let keep = |module: &str| match module {
        "consent" => consent || !account,
        "account" => account || !consent,
        other => panic!("{source}: no module {other:?} (consent or account)"),
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("styles.css");
    std::fs::write(out, compact(&modules(&text, keep))).expect("write the compacted stylesheet");
}

/// The stylesheet without the blocks `keep` refuses. A block runs from
/// `/* module: consent */` (or `account`) to `/* module: end */`; blocks do
/// not nest, and a marker out of place fails the build.
fn modules(css: &str, keep: impl Fn(&str) -> bool) -> String {
    const OPEN: &str = "/* module: ";
    const CLOSE: &str = "/* module: end */";
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let name_end = after.find(" */").expect("a module marker ends with */");
        let name = &after[..name_end];
        assert_ne!(
            name, "end",
            "styles.css: /* module: end */ without a block to end"
        );
        let body = &after[name_end + 3..];
        let end = body
            .find(CLOSE)
            .expect("styles.css: a module block without /* module: end */");
        assert!(
            !body[..end].contains(OPEN),
            "styles.css: module blocks do not nest ({name})"
        );
        if keep(name) {
            out.push_str(&body[..end]);
        }
        rest = &body[end + CLOSE.len()..];
    }
    out.push_str(rest);
    out
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
