//! Fixtures shared by the native tests.
#![allow(dead_code)]

use serde_json::{json, Value};

/// A request that meets every rule: a PHR app asking a 90-day linkage.
pub fn phr_request() -> Value {
    json!({
        "operator": {
            "name": "すこやか手帳株式会社",
            "contact": "0120-000-000（平日9時〜17時）",
            "privacyPolicyUrl": "https://example.jp/privacy",
            "approvalId": "MPA-2025-0123"
        },
        "items": {
            "required": ["insurance.drugs", "insurance.dispensing"],
            "optional": ["insurance.checkups"]
        },
        "purposes": [
            { "category": "healthManagement", "description": "お薬の記録と服薬アラームに使います。" }
        ],
        "period": { "kind": "linkage", "days": 90 },
        "recipients": [],
        "retention": "連携をやめたときは、取得したデータを30日以内に削除します。",
        "locale": "ja"
    })
}

/// A one-time request: a loan screening asking income data.
pub fn loan_request() -> Value {
    json!({
        "operator": {
            "name": "みらいローン株式会社",
            "contact": "support@example.jp",
            "privacyPolicyUrl": "https://example.jp/loan/privacy",
            "approvalId": "MPA-2025-0456"
        },
        "items": { "required": ["self.tax_income"] },
        "purposes": [
            { "category": "creditScreening", "description": "カードローンの審査で収入を確認します。" }
        ],
        "period": { "kind": "oneTime" },
        "retention": "審査の記録として7年間保存し、その後削除します。"
    })
}

/// `value` with the field at JSON pointer `pointer` set to `new` (added to
/// its parent object if it was not there).
pub fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    if let Some(field) = value.pointer_mut(pointer) {
        *field = new;
        return value;
    }
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    let parent = if parent.is_empty() {
        &mut value
    } else {
        value.pointer_mut(parent).expect("parent exists")
    };
    parent
        .as_object_mut()
        .expect("parent is an object")
        .insert(key.to_owned(), new);
    value
}

/// `value` without the field at JSON pointer `pointer`.
pub fn without(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    let parent = if parent.is_empty() {
        &mut value
    } else {
        value.pointer_mut(parent).expect("parent exists")
    };
    parent
        .as_object_mut()
        .expect("parent is an object")
        .remove(key);
    value
}
