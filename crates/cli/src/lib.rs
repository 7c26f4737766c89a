//! The `doorstep` command's parts, as a library so that tests and benchmarks drive the same code.

pub mod config;
pub mod demo;
pub mod generate;
pub mod simulate;
