//! keyaki-report
