//! The benchmark runs here in a small configuration, so it cannot rot;
//! its numbers are reported, never asserted.

use crate::common::*;

#[test]
fn bench_runs_the_full_process_path() {
    let env = Env::new();
    let fixtures = repo().join("tests/fixtures");
    let out = env.run_ok(&[
        "bench",
        "--n",
        "10",
        "--dir",
        "b",
        "--fixtures",
        fixtures.to_str().unwrap(),
    ]);
    // One in five generated submissions has errors; none is a duplicate.
    assert!(
        out.contains("共处理 10 份:通过 8,未通过 2,无法读取 0,重复提交 0"),
        "{out}"
    );
    for row in [
        "| 吞吐量 |",
        "| 每份用时 |",
        "| process 峰值内存 |",
        "| validate 单个文件",
        "300,000 个单元格",
        "压缩炸弹",
        // The web path, with 5·N projects and 50·N submissions.
        "| 网页:账本中 50 个项目、500 份提交",
        "| 网页:上传附件1 → 校验结果",
        "| 网页:待办页(/agenda,50 个项目,第 1 页)",
        "| 网页:项目页(/projects,50 个项目,第 1 页)",
        "| 网页:单个项目页",
        "| 网页:收件页",
        "| 网页:4 个经办人同时轮流打开以上四页,共 336 次 |",
    ] {
        assert!(out.contains(row), "{row} missing:\n{out}");
    }
    assert!(out.matches("file.too_large").count() == 2, "{out}");
}
