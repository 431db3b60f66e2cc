//! keyaki-store
