//! The theme guard: operators theme the screens through `--myna-*` custom
//! properties, and none of them may make mandated text unreadable. Every
//! colour pair that carries text keeps a contrast of at least 4.5:1 (WCAG
//! 2.2, 1.4.3); a pair that does not falls back to the SDK's own values for
//! both of its colours, and the operator hears which variable was refused.
//! The font size has a floor in the stylesheet (16px); a smaller request is
//! reported the same way.
//!
//! The check reads computed colours from probe elements in the screen's
//! shadow root, so it sees exactly what the browser resolved, wherever and
//! however the variables were set. It runs at mount and again every second
//! while the screen is shown, so that a variable changed later is caught.
//!
//! The theme variables (`docs/reference/css-variables.md` is generated from
//! this list and the stylesheet's defaults, light and dark):
//! - `--myna-color-text`: headings and body text, on the surface.
//! - `--myna-color-muted`: explanations and hints, on the surface.
//! - `--myna-color-border`: lines between sections, cards and fields.
//! - `--myna-color-primary`: links and the text of 同意しない (on the surface), and the fill of 同意する.
//! - `--myna-color-on-primary`: the text of 同意する, on the primary colour.
//! - `--myna-color-surface`: the screen's background.
//! - `--myna-color-alert`: warnings, special-care confirmations and failures, on the surface.
//! - `--myna-color-ok`: confirmations such as an active consent, on the surface.
//! - `--myna-color-focus`: the keyboard focus ring.
//! - `--myna-radius`: the corners of buttons, cards and fields.
//! - `--myna-font-family`: the screens' font.
//! - `--myna-font-size`: the base font size; never below 16px.

use wasm_bindgen::{JsCast, JsValue};

/// The smallest contrast allowed for text.
pub const MIN_CONTRAST: f64 = 4.5;
/// The smallest font size, in CSS pixels (the stylesheet's floor).
pub const MIN_FONT_PX: f64 = 16.0;

/// One colour of the screens: its probe (and fallback class) and the
/// operator's variable that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Colour {
    probe: &'static str,
    variable: &'static str,
}

const INK: Colour = Colour {
    probe: "ink",
    variable: "--myna-color-text",
};
const MUTED: Colour = Colour {
    probe: "muted",
    variable: "--myna-color-muted",
};
const SURFACE: Colour = Colour {
    probe: "surface",
    variable: "--myna-color-surface",
};
const ACCENT: Colour = Colour {
    probe: "accent",
    variable: "--myna-color-primary",
};
const ON_ACCENT: Colour = Colour {
    probe: "on-accent",
    variable: "--myna-color-on-primary",
};
const ALERT: Colour = Colour {
    probe: "alert",
    variable: "--myna-color-alert",
};
const OK: Colour = Colour {
    probe: "ok",
    variable: "--myna-color-ok",
};

const COLOURS: [Colour; 7] = [INK, MUTED, SURFACE, ACCENT, ON_ACCENT, ALERT, OK];

/// The SDK's own text colour in its light and its dark scheme
/// (`--_d-ink` in styles.css).
const LIGHT_SCHEME_INK: Rgba = (26.0, 26.0, 26.0, 1.0);
const DARK_SCHEME_INK: Rgba = (236.0, 236.0, 236.0, 1.0);

/// The pairs that carry text: (text, background).
const PAIRS: [(Colour, Colour); 6] = [
    // Mandated text, explanations, warnings, confirmations.
    (INK, SURFACE),
    (MUTED, SURFACE),
    (ALERT, SURFACE),
    (OK, SURFACE),
    // 同意しない and links (accent text), 同意する (text on the accent):
    // neither choice can be hidden.
    (ACCENT, SURFACE),
    (ON_ACCENT, ACCENT),
];

/// A refused theme setting, for the `error` event (`theme_rejected`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The operator's variable, e.g. `--myna-color-muted`.
    pub variable: String,
    /// What was wrong and what the screen does instead, for developers.
    pub message: String,
}

/// The probes the guard reads, appended to a screen's container.
pub fn add_probes(
    document: &web_sys::Document,
    container: &web_sys::Element,
) -> Result<(), JsValue> {
    let probes = document.create_element("div")?;
    probes.set_class_name("myna-probes");
    probes.set_attribute("aria-hidden", "true")?;
    for name in COLOURS.iter().map(|c| c.probe).chain(["size"]) {
        let probe = document.create_element("span")?;
        probe.set_class_name(name);
        probes.append_child(&probe)?;
    }
    container.append_child(&probes)?;
    Ok(())
}

/// Checks the screen in `container` and falls back where needed; answers
/// what it refused that is not in `already` (each refusal is reported once
/// per screen).
pub fn check(container: &web_sys::Element, already: &mut Vec<String>) -> Vec<Rejection> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let computed = |probe: &str, property: &str| -> Option<String> {
        let element = container
            .query_selector(&format!(".myna-probes > .{probe}"))
            .ok()??;
        let style = window.get_computed_style(&element).ok()??;
        style.get_property_value(property).ok()
    };
    let operator_set = |variable: &str| -> bool {
        window
            .get_computed_style(container)
            .ok()
            .flatten()
            .and_then(|style| style.get_property_value(variable).ok())
            .is_some_and(|value| !value.trim().is_empty())
    };
    // The SDK's own colours follow the operator's surface where it set one
    // (a light surface in a dark-mode browser keeps light defaults for what
    // it did not set), else the citizen's colour scheme.
    let class_list = container.class_list();
    if operator_set(SURFACE.variable) {
        if let Some(surface) = computed(SURFACE.probe, "color").and_then(|c| parse_colour(&c)) {
            let on = |ink| contrast(ink, surface);
            let dark = on(LIGHT_SCHEME_INK) < on(DARK_SCHEME_INK);
            let _ = class_list.toggle_with_force("scheme-dark", dark);
            let _ = class_list.toggle_with_force("scheme-light", !dark);
        }
    } else {
        let _ = class_list.remove_2("scheme-dark", "scheme-light");
    }
    let mut rejections = Vec::new();
    // Falling back one pair can break another (a dark surface reset to
    // white under light text): go round until every pair holds. Each round
    // resets at least one colour, so seven rounds always end it.
    for _ in 0..COLOURS.len() {
        let mut failed = None;
        for (text, background) in PAIRS {
            let fg = computed(text.probe, "color").and_then(|c| parse_colour(&c));
            let bg = computed(background.probe, "color").and_then(|c| parse_colour(&c));
            let verdict = match (fg, bg) {
                (Some(_), Some(bg)) if bg.3 < 1.0 => Err(format!(
                    "{} must be an opaque colour: text on it cannot be checked",
                    background.variable
                )),
                (Some(fg), Some(bg)) => {
                    let ratio = contrast(fg, bg);
                    if ratio >= MIN_CONTRAST {
                        Ok(())
                    } else {
                        Err(format!(
                            "{} on {} has a contrast of {}:1; text needs at least 4.5:1",
                            text.variable,
                            background.variable,
                            hundredths(ratio)
                        ))
                    }
                }
                _ => Err(format!(
                    "{} on {} could not be checked: use a hex, rgb() or hsl() colour",
                    text.variable, background.variable
                )),
            };
            if let Err(why) = verdict {
                failed = Some((text, background, why));
                break;
            }
        }
        let Some((text, background, why)) = failed else {
            break;
        };
        for colour in [text, background] {
            let _ = class_list.add_1(&format!("safe-{}", colour.probe));
        }
        // Name what the operator set. A pair of the SDK's own colours fails
        // only where the stylesheet does not apply (jsdom computes no custom
        // properties): the screen shows the SDK's colours, and the operator
        // has nothing to change.
        let named: Vec<&str> = [text, background]
            .iter()
            .map(|c| c.variable)
            .filter(|v| operator_set(v))
            .collect();
        let variable = named.join(", ");
        if !named.is_empty() && !already.contains(&variable) {
            already.push(variable.clone());
            rejections.push(Rejection {
                message: format!(
                    "{why}. The screen uses the SDK's colours for {variable} instead."
                ),
                variable,
            });
        }
    }
    let size = computed("size", "font-size").and_then(|s| decimal(s.strip_suffix("px")?));
    // Only a size the operator asked for: a page's small root size (the
    // 62.5% habit) is not the operator's request for the screens.
    if size.is_some_and(|px| px < MIN_FONT_PX) && operator_set("--myna-font-size") {
        let variable = "--myna-font-size".to_owned();
        if !already.contains(&variable) {
            already.push(variable.clone());
            rejections.push(Rejection {
                message: format!(
                    "--myna-font-size asks for {}px; the screens never go below 16px and use that instead.",
                    hundredths(size.unwrap_or_default())
                ),
                variable,
            });
        }
    }
    rejections
}

/// `x` with two decimals, written without float formatting (which would
/// cost the package its exact-decimal tables).
fn hundredths(x: f64) -> String {
    let n = (x * 100.0).round() as u64;
    format!("{}.{:02}", n / 100, n % 100)
}

/// A plain decimal as computed styles write them (`12`, `0.5`, `-1.25`;
/// no exponent). Not `str::parse::<f64>`, whose exact algorithm brings
/// ~15 KB of tables into the package.
pub fn decimal(text: &str) -> Option<f64> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit()) && part.len() <= 15;
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let value = |part: &str| {
        part.bytes()
            .fold(0.0, |n, b| n * 10.0 + f64::from(b - b'0'))
    };
    let scale = fraction.bytes().fold(1.0, |scale, _| scale * 10.0);
    let magnitude = value(whole) + value(fraction) / scale;
    Some(if negative { -magnitude } else { magnitude })
}

/// An RGBA colour, channels 0–255 and alpha 0–1.
type Rgba = (f64, f64, f64, f64);

/// Reads a computed colour: `rgb(r, g, b)`, `rgba(r, g, b, a)` (commas or
/// spaces, `/ a`), or `color(srgb r g b / a)`. Anything else (oklch, lab,
/// display-p3) is `None`: the guard cannot vouch for it.
pub fn parse_colour(text: &str) -> Option<Rgba> {
    let text = text.trim();
    let numbers = |inner: &str| -> Option<Vec<f64>> {
        inner
            .split(|c: char| c == ',' || c == '/' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(|part| match part.strip_suffix('%') {
                Some(percent) => decimal(percent).map(|p| p / 100.0),
                None => decimal(part),
            })
            .collect()
    };
    let (channels, scale) = if let Some(inner) = text
        .strip_prefix("rgba(")
        .or_else(|| text.strip_prefix("rgb("))
        .and_then(|rest| rest.strip_suffix(')'))
    {
        (numbers(inner)?, 1.0)
    } else if let Some(inner) = text
        .strip_prefix("color(srgb ")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        (numbers(inner)?, 255.0)
    } else {
        return None;
    };
    let alpha = match channels.len() {
        3 => 1.0,
        4 => channels[3],
        _ => return None,
    };
    let channel = |v: f64| (v * scale).clamp(0.0, 255.0);
    Some((
        channel(channels[0]),
        channel(channels[1]),
        channel(channels[2]),
        alpha.clamp(0.0, 1.0),
    ))
}

/// WCAG 2.2 contrast ratio of text `fg` (composited over `bg`) on `bg`.
pub fn contrast(fg: Rgba, bg: Rgba) -> f64 {
    let over = |f: f64, b: f64| f * fg.3 + b * (1.0 - fg.3);
    let shown = (over(fg.0, bg.0), over(fg.1, bg.1), over(fg.2, bg.2));
    let (a, b) = (luminance(shown), luminance((bg.0, bg.1, bg.2)));
    let (light, dark) = if a > b { (a, b) } else { (b, a) };
    (light + 0.05) / (dark + 0.05)
}

fn luminance((r, g, b): (f64, f64, f64)) -> f64 {
    let linear = |c: f64| {
        let c = c / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            // The browser's Math.pow: f64::powf would bring libm's pow
            // (about 1.4 KB) into each module.
            js_sys::Math::pow((c + 0.055) / 1.055, 2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// Keeps the wrapper (the SDK's own element in the operator's page) shown:
/// a page rule that fades or hides it would hide mandated text. Set through
/// CSSOM, which a strict CSP allows.
pub fn pin_wrapper(wrapper: &web_sys::Element) {
    if let Some(element) = wrapper.dyn_ref::<web_sys::HtmlElement>() {
        let style = element.style();
        let _ = style.set_property_with_priority("opacity", "1", "important");
        let _ = style.set_property_with_priority("visibility", "visible", "important");
    }
}
