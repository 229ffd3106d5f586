//! 附件4 against the ledger: approve, quotas, the 120% cap.

use crate::common::*;

fn check(env: &Env, form: &Form) -> serde_json::Value {
    let path = env.path("change.xlsx");
    form.write(&path);
    env.validate_json(&path)
}

#[test]
fn approve_refuses_invalid_application() {
    let env = Env::new();
    let mut f = annex1();
    f.clear("G3");
    let path = env.path("a.xlsx");
    f.write(&path);
    let out = env.run(&["approve", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("未登记"));
}

#[test]
fn change_for_unknown_project() {
    let env = Env::new();
    let v = check(&env, &annex4());
    assert_eq!(error(&v, "policy.project_unknown")["cell"], "B4");
}

#[test]
fn shared_example_change_is_valid_after_approval() {
    let env = Env::new();
    env.approve_example();
    let v = env.validate_json(&sample("annex4-example.xlsx"));
    assert_eq!(v["status"], "valid", "{v:#}");
    assert_eq!(v["form"], "annex4");
}

#[test]
fn quota_cap_boundary_exactly_120_percent_allowed() {
    let env = Env::new();
    env.approve_example();
    // Quota: data disk 2×500 + 2000 = 3000 GB. 120% = 3600 → second host 2600.
    let mut f = annex4();
    f.set("F15", 2600.0);
    let v = check(&env, &f);
    assert_eq!(v["status"], "valid", "{v:#}");
    f.set("F15", 2601.0);
    let v = check(&env, &f);
    let e = error(&v, "policy.quota");
    assert!(e["code"].as_str().unwrap().contains("quota"));
    // The cell of the row that changed (the second host), and figures that
    // agree with each other (issue 9: it said "的 120%,超过上限 120%").
    assert_eq!(e["cell"], "F15");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("3601,为批准配额 3000 的 120.03%,超过上限 120%"),
        "{e}"
    );
    // Bandwidth quota 10 → 12 allowed, 13 not; the error points at 变更后数量.
    f.set("F15", 2400.0).set("E19", 13.0);
    let v = check(&env, &f);
    assert_eq!(error(&v, "policy.quota")["cell"], "E19");
}

#[test]
fn cpu_total_counts_hosts() {
    let env = Env::new();
    env.approve_example();
    // CPU quota 2×8 + 16 = 32 cores; 120% = 38.4. 3 hosts of 8 + 16 = 40.
    let mut f = annex4();
    f.set("H14", 3.0);
    let v = check(&env, &f);
    assert_eq!(error(&v, "policy.quota")["field"], "主机CPU(核)");
}

#[test]
fn giving_back_is_always_allowed() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("H14", 1.0)
        .set("F15", 1000.0)
        .set("E19", 0.0)
        .clear("B23");
    let v = check(&env, &f);
    assert_eq!(v["status"], "valid", "{v:#}");
}

#[test]
fn growth_needs_a_reason_and_provider_confirmation() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.clear("B23").clear("B26");
    let v = check(&env, &f);
    assert_eq!(error(&v, "policy.change_reason")["cell"], "B23");
    assert_eq!(error(&v, "policy.provider_opinion")["cell"], "B26");
}

#[test]
fn current_state_differing_from_ledger_is_a_warning() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("B10", 32.0).set("B15", 16.0);
    let v = check(&env, &f);
    assert_eq!(v["status"], "valid", "{v:#}");
    let e = error(&v, "policy.current_mismatch");
    assert_eq!(e["severity"], "warning");
    assert!(
        e["message"].as_str().unwrap().contains("表中 48,已登记 32"),
        "{e}"
    );
}

#[test]
fn other_service_names_from_the_catalogue() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("A20", "超级带宽").set("D20", 0.0).set("E20", 1.0);
    f.set("A21", "SSD(GB)").set("D21", 0.0).set("E21", 1.0);
    f.set("A22", "负载均衡 SLB（个）")
        .set("D22", 1.0)
        .set("E22", 1.0);
    let v = check(&env, &f);
    assert_eq!(error(&v, "service.unknown")["cell"], "A20");
    assert_eq!(error(&v, "service.ambiguous")["cell"], "A21");
    assert_eq!(codes(&v).len(), 2, "{v:#}");
}

#[test]
fn approved_change_becomes_current() {
    let env = Env::new();
    env.approve_example();
    env.formal_signed("2026-09-01");
    let path = sample("annex4-example.xlsx");
    let out = env.run_ok(&[
        "approve",
        path.to_str().unwrap(),
        "--effective",
        "2027-03-10",
    ]);
    assert!(out.contains("2027-03-10"), "{out}");
    // The ledger's 现状 now has 2400 GB on the database host: the same
    // 附件4 (现状 2000) now differs from the ledger.
    let v = env.validate_json(&path);
    assert!(
        codes(&v).contains(&"policy.current_mismatch".to_string()),
        "{v:#}"
    );
    // Approving the same 附件1 again is refused without --replace.
    let out = env.run(&["approve", sample("annex1-example.xlsx").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn ledger_location_from_flag_and_env() {
    let env = Env::new();
    let a1 = sample("annex1-example.xlsx");
    env.run_ok(&["--ledger", "elsewhere.db", "approve", a1.to_str().unwrap()]);
    assert!(env.path("elsewhere.db").exists());
    assert!(!env.path("zwyun.db").exists());
    let out = zwyun()
        .args([
            "validate",
            "--format",
            "json",
            sample("annex4-example.xlsx").to_str().unwrap(),
        ])
        .current_dir(env.dir.path())
        .env("ZWYUN_LEDGER", "elsewhere.db")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn replace_an_approved_quota_before_any_agreement() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex1();
    f.set("H18", 2.0); // a second database host
    let path = env.path("revised.xlsx");
    f.write(&path);
    env.run_ok(&["approve", "--replace", path.to_str().unwrap()]);
    // The change is now checked against the replaced quota: CPU 48 cores,
    // so the example's 现状 (32 cores) differs from the ledger.
    let v = env.validate_json(&sample("annex4-example.xlsx"));
    let e = error(&v, "policy.current_mismatch");
    assert!(
        e["message"].as_str().unwrap().contains("表中 32,已登记 48"),
        "{e}"
    );
}
