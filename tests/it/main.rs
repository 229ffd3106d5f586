//! Integration tests: the real binary on real workbooks in temp folders.

mod common;
mod settle;
mod validate;
