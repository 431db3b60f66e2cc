//! keyaki-aws
