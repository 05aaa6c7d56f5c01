//! The screens, in Leptos: consent, return, review and revocation. Each
//! renders into its own shadow root that holds the SDK's stylesheet, so an
//! operator's CSS can theme the screens through `--myna-*` custom properties
//! but can neither break nor hide mandated content.

#[cfg(feature = "consent-screen")]
pub mod consent;
#[cfg(feature = "consent-screen")]
pub mod error_panel;
mod groups;
#[cfg(feature = "account-screens")]
pub mod outcome;
#[cfg(feature = "account-screens")]
pub mod receipt;
pub mod recipients;
#[cfg(feature = "account-screens")]
pub mod review;
#[cfg(feature = "account-screens")]
mod revocation;
pub mod theme;

use std::any::Any;

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

/// The SDK's stylesheet, compiled in: adopted by each shadow root through
/// CSSOM, which a strict `style-src 'self'` policy allows (a `<style>`
/// element would be inline style and blocked).
///
/// Compacted by the build script (`build.rs`) from `styles.css`.
pub const STYLESHEET: &str = include_str!(concat!(env!("OUT_DIR"), "/styles.css"));

/// A screen mounted into the page; dropping it (or [`Mounted::unmount`])
/// removes every node, listener and reactive effect it created.
pub struct Mounted {
    wrapper: web_sys::Element,
    container: web_sys::Element,
    handle: Option<Box<dyn Any>>,
    /// The theme guard's timer, cleared on unmount. The handle is kept as
    /// the host gave it: a number in browsers, an object in Node (where
    /// test runners with jsdom run the screens).
    guard: Option<(JsValue, wasm_bindgen::closure::Closure<dyn FnMut()>)>,
}

impl Mounted {
    /// Removes the screen.
    pub fn unmount(mut self) {
        self.clear();
    }

    /// The element that carries the screen's shadow root.
    pub fn wrapper(&self) -> &web_sys::Element {
        &self.wrapper
    }

    /// Starts the theme guard ([`theme`]): checks the screen now and every
    /// second while it is shown, falls back where a theme would make text
    /// unreadable, and tells `on_reject` once per refused variable.
    pub fn guard_theme(mut self, on_reject: impl Fn(theme::Rejection) + 'static) -> Self {
        let container = self.container.clone();
        let mut reported = Vec::new();
        let mut run = move || {
            for rejection in theme::check(&container, &mut reported) {
                on_reject(rejection);
            }
        };
        run();
        let closure = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(run);
        if let Ok(id) = timer("setInterval", closure.as_ref(), &JsValue::from_f64(1000.0)) {
            self.guard = Some((id, closure));
        }
        self
    }

    fn clear(&mut self) {
        if let Some((id, _closure)) = self.guard.take() {
            let _ = timer("clearInterval", &id, &JsValue::UNDEFINED);
        }
        // Dropping the UnmountHandle disposes the reactive owner (effects,
        // listeners) and removes the rendered nodes.
        self.handle.take();
        self.wrapper.remove();
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Calls the global `setInterval` or `clearInterval`. web-sys's bindings
/// take the handle as an `i32`, which loses Node's timer objects.
fn timer(name: &str, first: &JsValue, second: &JsValue) -> Result<JsValue, JsValue> {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str(name))?
        .dyn_into::<js_sys::Function>()?
        .call2(&global, first, second)
}

/// Mounts `view` into a fresh element appended to `host`, inside a shadow
/// root with the SDK's stylesheet. The wrapper element is the SDK's own, so
/// unmounting leaves the operator's element exactly as it was.
pub fn mount_in_shadow<F, N>(host: &web_sys::Element, view: F) -> Result<Mounted, JsValue>
where
    F: FnOnce() -> N + 'static,
    N: IntoView + 'static,
{
    mount_any(host, Box::new(move || view().into_any()))
}

/// [`mount_in_shadow`] for an erased view: one copy of the mounting code
/// (and of Leptos's `mount_to`) in each module, not one for each caller.
fn mount_any(
    host: &web_sys::Element,
    view: Box<dyn FnOnce() -> AnyView>,
) -> Result<Mounted, JsValue> {
    let document = host
        .owner_document()
        .ok_or_else(|| JsValue::from_str("the host is not in a document"))?;
    let wrapper = document.create_element("div")?;
    wrapper.set_attribute("data-myna-consent", "")?;
    theme::pin_wrapper(&wrapper);
    host.append_child(&wrapper)?;
    let shadow =
        wrapper.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?;
    adopt_stylesheet(&shadow)?;
    let container: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    container.set_class_name("myna");
    shadow.append_child(&container)?;
    // The probes sit beside the screen's own root, which Leptos mounts into
    // a child of its own so that re-renders never touch them.
    theme::add_probes(&document, &container)?;
    let root: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    container.append_child(&root)?;
    let handle = mount_to(root, view);
    Ok(Mounted {
        wrapper,
        container: container.into(),
        handle: Some(Box::new(handle)),
        guard: None,
    })
}

thread_local! {
    static SHEET: std::cell::OnceCell<Result<web_sys::CssStyleSheet, JsValue>> = const { std::cell::OnceCell::new() };
}

fn adopt_stylesheet(shadow: &web_sys::ShadowRoot) -> Result<(), JsValue> {
    let sheet = SHEET.with(|cell| {
        cell.get_or_init(|| {
            let sheet = web_sys::CssStyleSheet::new()?;
            sheet.replace_sync(STYLESHEET)?;
            Ok(sheet)
        })
        .clone()
    })?;
    let sheets = js_sys::Array::of1(&sheet);
    js_sys::Reflect::set(shadow, &JsValue::from_str("adoptedStyleSheets"), &sheets)?;
    Ok(())
}
