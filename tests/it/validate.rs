//! `zwyun validate` and `zwyun approve` on real workbooks.

use crate::common::*;

#[test]
fn shared_examples_are_valid() {
    let env = Env::new();
    let v = env.validate_json(&sample("annex1-example.xlsx"));
    assert_eq!(v["status"], "valid", "{v:#}");
    assert_eq!(v["form"], "annex1");
}

#[test]
fn generated_example_matches_shared_example() {
    let env = Env::new();
    let path = env.path("a1.xlsx");
    annex1().write(&path);
    let v = env.validate_json(&path);
    assert_eq!(v["status"], "valid", "{v:#}");
}
