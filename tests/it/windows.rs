//! What Windows makes hard, checked on every build: deep folders, Chinese
//! file names and device names. The comparison of the Windows build's
//! outputs with the Linux build's is in `cross.rs`.

use crate::common::*;

/// What Windows makes hard, on both builds: an output folder deeper than
/// 260 characters, Chinese and full-width file names, and unit or project
/// names that are Windows device names or end in a dot.
#[test]
fn deep_folders_chinese_and_device_names() {
    let env = Env::new();
    let inbox = env.path("收件 目录");
    std::fs::create_dir_all(&inbox).unwrap();
    let mut form = annex1();
    form.set("B3", "CON").set("G3", "aux.").clear("B4");
    form.write(&inbox.join("单位提交(第1次).xlsx"));
    let sample = sample("annex1-example.xlsx");
    std::fs::copy(
        &sample,
        inbox.join("松江区企业服务综合平台-资源申请表.xlsx"),
    )
    .unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for e in std::fs::read_dir(&inbox).unwrap().flatten() {
        let f = std::fs::File::options().write(true).open(e.path()).unwrap();
        f.set_modified(past).unwrap();
    }
    let deep: std::path::PathBuf = ["输出"]
        .into_iter()
        .chain(["松江区市级政务云资源申请协议与结算流水线的输出目录"; 10])
        .collect();
    assert!(
        env.path("")
            .join(&deep)
            .display()
            .to_string()
            .chars()
            .count()
            > 260
    );
    let out = env.run(&[
        "process",
        "收件 目录",
        "--out",
        deep.to_str().unwrap(),
        "--archive",
        "归档",
    ]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journal = env.run_ok(&["status", "--format", "json"]);
    let rows: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{journal}");
    let reserved = ["CON", "PRN", "AUX", "NUL"];
    for row in &rows {
        let outputs = row["outputs"].as_array().unwrap();
        assert!(!outputs.is_empty(), "{row}");
        for o in outputs {
            let o = o.as_str().unwrap().replace('\\', "/");
            let o = o.strip_prefix("Z:").unwrap_or(&o);
            let path = env.path("").join(o);
            assert!(path.is_file(), "missing output {o}");
            assert!(path.display().to_string().chars().count() > 260, "{o}");
            let rel = path.strip_prefix(env.path("").join(&deep)).unwrap();
            for c in rel.components() {
                let c = c.as_os_str().to_string_lossy();
                let stem = c.split('.').next().unwrap_or_default().to_ascii_uppercase();
                assert!(!reserved.contains(&stem.as_str()), "device name in {o}");
                assert!(!c.ends_with('.') && !c.ends_with(' '), "{o}");
            }
        }
    }
    let archived: Vec<_> = std::fs::read_dir(env.path("归档"))
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(archived.len(), 2, "{archived:?}");
    assert!(
        archived.iter().any(|n| n.ends_with("单位提交(第1次).xlsx")),
        "{archived:?}"
    );
}
