//! `i18n::fill`: the placeholders of a template, and only those, take the
//! arguments; an argument is text, whatever it holds.
#![cfg(not(target_arch = "wasm32"))]

use myna_consent::i18n::fill;
use proptest::prelude::*;

#[test]
fn placeholders_take_their_arguments_in_any_order_and_as_often_as_written() {
    assert_eq!(
        fill("{0}（{1}項目）", &["検査結果", "12"]),
        "検査結果（12項目）"
    );
    assert_eq!(fill("{1} / {0} / {1}", &["a", "b"]), "b / a / b");
    assert_eq!(fill("{0}", &[""]), "");
}

#[test]
fn an_argument_is_text_even_when_it_looks_like_a_placeholder() {
    // An operator named "{1}社" must not turn into the second argument.
    assert_eq!(
        fill("{0}からの同意のお願い（{1}）", &["{1}社", "3"]),
        "{1}社からの同意のお願い（3）"
    );
    assert_eq!(fill("{0}", &["{0}{0}"]), "{0}{0}");
}

#[test]
fn braces_that_are_not_placeholders_stay_as_written() {
    assert_eq!(
        fill("{2} と {x} と {} と {", &["a", "b"]),
        "{2} と {x} と {} と {"
    );
    assert_eq!(fill("{{0}}", &["a"]), "{a}");
    assert_eq!(fill("末尾に{0", &["a"]), "末尾に{0");
}

proptest! {
    // Where no argument can take part in a placeholder (none is empty or
    // holds a brace or a digit), one pass over the template gives what
    // replacing each placeholder in turn gave (the implementation before).
    // Otherwise the old code could make a placeholder out of an argument
    // and the template around it: "{{0}}" with "1" became "{1}", then the
    // second argument.
    #[test]
    fn agrees_with_replacing_each_placeholder_in_turn(
        template in "([あ-ん{}0-9a]|\\{[0-3]\\}){0,24}",
        args in prop::collection::vec("[あ-んa-z]{1,6}", 0..4),
    ) {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut replaced = template.clone();
        for (i, arg) in refs.iter().enumerate() {
            replaced = replaced.replace(&format!("{{{i}}}"), arg);
        }
        prop_assert_eq!(fill(&template, &refs), replaced);
    }
}
