//! JSON between Rust and JavaScript without JSON text in wasm: the
//! browser's own `JSON.parse`, `JSON.stringify` and `fetch(…).json()` do
//! the text, and values cross as [`serde_json::Value`].
//!
//! serde_json's text reader and writer are monomorphised for every wire
//! type and carry their own number formatting and messages; leaving the
//! text to the browser, which already has it, keeps them out of both wasm
//! modules (docs/size.md).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};
use wasm_bindgen::{JsCast as _, JsValue};

/// A JSON value from a JS value: strings, finite numbers, booleans, null,
/// arrays and plain objects (their own enumerable string keys, skipping
/// `undefined` as JSON does). Anything else (a function, a symbol, a
/// BigInt, a number that is not finite) is not JSON: `None`.
pub fn from_js(value: &JsValue) -> Option<Value> {
    if value.is_null() {
        return Some(Value::Null);
    }
    if let Some(text) = value.as_string() {
        return Some(Value::String(text));
    }
    if let Some(flag) = value.as_bool() {
        return Some(Value::Bool(flag));
    }
    if let Some(number) = value.as_f64() {
        const SAFE: f64 = 9_007_199_254_740_991.0;
        return if number.fract() == 0.0 && number.abs() <= SAFE {
            Some(Value::from(number as i64))
        } else {
            Number::from_f64(number).map(Value::Number)
        };
    }
    if js_sys::Array::is_array(value) {
        let array: &js_sys::Array = value.unchecked_ref();
        return array
            .iter()
            .map(|item| from_js(&item))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array);
    }
    if !value.is_object() || value.is_function() {
        return None;
    }
    let object: &js_sys::Object = value.unchecked_ref();
    let mut map = Map::new();
    for key in js_sys::Object::keys(object).iter() {
        let item = js_sys::Reflect::get(object, &key).ok()?;
        if item.is_undefined() {
            continue;
        }
        map.insert(key.as_string()?, from_js(&item)?);
    }
    Some(Value::Object(map))
}

/// `value` as a plain JS value: objects (not `Map`s), arrays, strings,
/// numbers, booleans and null. Object members come in the `Value`'s order:
/// sorted by key (serde_json's map), also for a struct, whose fields
/// `serde_json::to_string` would have written in declaration order.
pub fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(flag) => JsValue::from_bool(*flag),
        Value::Number(number) => JsValue::from_f64(number.as_f64().unwrap_or(f64::NAN)),
        Value::String(text) => JsValue::from_str(text),
        Value::Array(items) => items.iter().map(to_js).collect::<js_sys::Array>().into(),
        Value::Object(members) => {
            let object = js_sys::Object::new();
            for (name, item) in members {
                let key = JsValue::from_str(name);
                let item = to_js(item);
                // A `__proto__` member is data, as JSON.parse makes it: a
                // plain assignment would set the object's prototype instead.
                // Defining a property on a fresh plain object cannot fail.
                let _ = if name == "__proto__" {
                    let descriptor = js_sys::Object::new();
                    for (name, value) in [
                        ("value", item),
                        ("writable", true.into()),
                        ("enumerable", true.into()),
                        ("configurable", true.into()),
                    ] {
                        let _ = js_sys::Reflect::set(&descriptor, &name.into(), &value);
                    }
                    js_sys::Reflect::define_property(&object, &key, &descriptor)
                } else {
                    js_sys::Reflect::set(&object, &key, &item)
                };
            }
            object.into()
        }
    }
}

/// A Rust value as a plain JS value.
pub fn to_js_from(value: &impl Serialize) -> Option<JsValue> {
    serde_json::to_value(value).ok().map(|value| to_js(&value))
}

/// A Rust value from a JS value, or `None` if it is not JSON or does not
/// have the shape of `T`.
pub fn from_js_into<T: DeserializeOwned>(value: &JsValue) -> Option<T> {
    crate::shape::read(&from_js(value)?)
}

/// JSON text for a Rust value, written by the browser's `JSON.stringify`;
/// with `indent`, pretty-printed with that many spaces.
pub fn stringify(value: &impl Serialize, indent: Option<u32>) -> Option<String> {
    let value = to_js_from(value)?;
    let text = match indent {
        None => js_sys::JSON::stringify(&value),
        Some(spaces) => {
            js_sys::JSON::stringify_with_replacer_and_space(&value, &JsValue::NULL, &spaces.into())
        }
    };
    text.ok()?.as_string()
}

/// A Rust value from JSON text, read by the browser's `JSON.parse`.
pub fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
    from_js_into(&js_sys::JSON::parse(text).ok()?)
}
