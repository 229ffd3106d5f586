//! Integration tests: the real binary on real workbooks in temp folders.

mod common;
mod render;
mod validate;
