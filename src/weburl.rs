//! URLs, parsed by the WHATWG URL standard: by the `url` crate natively, and
//! by the JavaScript `URL` in wasm, which the browser (and Node) already ship:
//! the same rules on both sides without carrying url's IDNA tables in the
//! package. A leaf: the domain modules share it.

/// The parts of a parsed absolute URL the SDK looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUrl {
    /// The serialised URL.
    pub href: String,
    /// The scheme without `:`, lowercase.
    pub scheme: String,
    /// The host as serialised (`[::1]` for IPv6); empty when there is none.
    pub host: String,
    /// Whether the URL carries a user name or a password.
    pub has_credentials: bool,
    /// The query without `?`; empty when there is none.
    pub query: String,
}

impl WebUrl {
    /// The query's name/value pairs, decoded as a form
    /// (`application/x-www-form-urlencoded`), in order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        form_urlencoded::parse(self.query.as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
    }

    /// Whether the host is a loopback address or `localhost`. Both parsers
    /// serialise hosts canonically (IPv4 as four decimal numbers, IPv6
    /// compressed as RFC 5952 says), so a look at the text suffices and the
    /// browser package needs no IP address parser.
    pub fn is_loopback(&self) -> bool {
        let parts: Vec<&str> = self.host.split('.').collect();
        let ipv4 = parts.len() == 4
            && parts
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        self.host == "localhost" || self.host == "[::1]" || (ipv4 && parts[0] == "127")
    }
}

/// Hosts that are loopback, as tests on both sides check them.
#[doc(hidden)]
pub const LOOPBACK: [&str; 7] = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://127.255.0.9/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://localhost:8080/",
    "http://LOCALHOST/",
];

/// Hosts that are not, some of them close.
#[doc(hidden)]
pub const NOT_LOOPBACK: [&str; 7] = [
    "http://example.jp/",
    "http://[::2]/",
    "http://10.0.0.1/",
    "http://localhost.example/",
    "http://127.example/",
    "http://127.0.0.1.example/",
    "http://[::ffff:127.0.0.1]/",
];

/// Parses an absolute URL; `None` when it is not one.
#[cfg(not(target_arch = "wasm32"))]
pub fn parse(text: &str) -> Option<WebUrl> {
    let url = url::Url::parse(text).ok()?;
    Some(WebUrl {
        href: url.as_str().to_owned(),
        scheme: url.scheme().to_owned(),
        host: url.host_str().unwrap_or_default().to_owned(),
        has_credentials: !url.username().is_empty() || url.password().is_some(),
        query: url.query().unwrap_or_default().to_owned(),
    })
}

/// Parses an absolute URL; `None` when it is not one.
#[cfg(target_arch = "wasm32")]
pub fn parse(text: &str) -> Option<WebUrl> {
    let url = web_sys::Url::new(text).ok()?;
    let scheme = url.protocol();
    let search = url.search();
    Some(WebUrl {
        href: url.href(),
        scheme: scheme.strip_suffix(':').unwrap_or(&scheme).to_owned(),
        host: url.hostname(),
        has_credentials: !url.username().is_empty() || !url.password().is_empty(),
        query: search.strip_prefix('?').unwrap_or(&search).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_parts_the_sdk_checks() {
        let url = parse("https://User:pw@Example.JP:8443/a?code=x%20y&state=s+t#f").unwrap();
        assert_eq!(url.scheme, "https");
        assert_eq!(url.host, "example.jp");
        assert!(url.has_credentials);
        let pairs: Vec<_> = url.query_pairs().collect();
        assert_eq!(
            pairs,
            [
                ("code".into(), "x y".into()),
                ("state".into(), "s t".into())
            ]
        );
        assert!(parse("/relative").is_none());
    }

    #[test]
    fn loopback_hosts() {
        for text in LOOPBACK {
            assert!(parse(text).unwrap().is_loopback(), "{text}");
        }
        for text in NOT_LOOPBACK {
            assert!(!parse(text).unwrap().is_loopback(), "{text}");
        }
        assert_eq!(parse("mailto:a@example.jp").unwrap().host, "");
    }
}
