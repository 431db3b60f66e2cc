//! keyaki-aws

pub mod securityhub;
