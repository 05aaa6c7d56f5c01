//! The smallest HTML toolkit the pages need: escaping and the page frame.
//! Every piece of dynamic text goes through [`escape`]; nothing else builds
//! markup from data.

use myna_consent::i18n::Locale;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page: the sandbox banner, the `<h1>`, the body (already escaped
/// markup) and the language switch. `switch_href` is the address of the same
/// page in the other language.
pub(crate) fn page(locale: Locale, title: &str, body: &str, switch_href: Option<&str>) -> String {
    let (banner, site, other) = match locale {
        Locale::Ja => (
            "サンドボックス（テスト用）: 本物のマイナポータルではありません。実在の方の情報は扱いません。",
            "マイナポータル（サンドボックス）",
            "English",
        ),
        Locale::En => (
            "Sandbox (for testing): this is not the real Mynaportal. No real person's data is used.",
            "Mynaportal (sandbox)",
            "日本語",
        ),
    };
    let other_lang = match locale {
        Locale::Ja => "en",
        Locale::En => "ja",
    };
    let switch = switch_href
        .map(|href| {
            format!(
                r#"<p class="lang"><a href="{}" lang="{other_lang}" hreflang="{other_lang}">{other}</a></p>"#,
                escape(href)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title} - {site}</title>
<link rel="stylesheet" href="/static/authority.css">
</head>
<body>
<header class="site">
<p class="sandbox" role="note"><strong>{banner}</strong></p>
<div class="bar"><p class="brand">{site}</p>{switch}</div>
</header>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        lang = locale.code(),
        title = escape(title),
        site = escape(site),
        banner = escape(banner),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn the_page_carries_the_sandbox_banner_and_no_inline_script_or_style() {
        let html = page(Locale::Ja, "<b>題</b>", "<p>本文</p>", Some("?lang=en&x=1"));
        assert!(html.contains("サンドボックス（テスト用）"));
        assert!(html.contains("<h1>&lt;b&gt;題&lt;/b&gt;</h1>"));
        assert!(html.contains(r#"href="?lang=en&amp;x=1""#));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<style"));
        assert!(!html.contains("style="));
    }
}
