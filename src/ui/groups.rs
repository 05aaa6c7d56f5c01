//! Items grouped by catalogue category, in catalogue order: how every screen
//! lists data items.

use crate::catalogue::{self, Category, DataItem};

/// Items of one category.
#[derive(Debug, Clone)]
pub struct Group {
    /// The category.
    pub category: &'static Category,
    /// Its items among those asked, in catalogue order.
    pub items: Vec<&'static DataItem>,
}

/// `ids` grouped by category, in catalogue order; unknown ids are skipped
/// (a validated request has none).
pub fn group(ids: &[String]) -> Vec<Group> {
    catalogue::categories()
        .iter()
        .filter_map(|category| {
            let items: Vec<&'static DataItem> = catalogue::items()
                .iter()
                .filter(|item| item.category == category.id && ids.iter().any(|id| id == item.id))
                .collect();
            (!items.is_empty()).then_some(Group { category, items })
        })
        .collect()
}
