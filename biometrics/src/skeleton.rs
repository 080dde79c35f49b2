//! Placeholder, replaced by the skeleton module.
