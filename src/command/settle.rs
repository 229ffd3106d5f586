//! The settlement-side commands: `deadline`, `ledger test-signed`,
//! `ledger formal-signed`, `assess`, `settle`. Each returns an exit code
//! or the message of a configuration/usage error (exit 2).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{find_project, open_existing};
use super::{Format, EXIT_OK, EXIT_PROBLEMS};
use crate::ledger::{Agreement, AgreementKind, Ledger};
use crate::schema::Schemas;
use crate::settle::assess::{percent, Assessment, AssessmentInput, INDICATORS};
use crate::settle::calendar::Calendar;
use crate::settle::meter::ServiceYear;
use crate::settle::prices::PriceList;
use crate::settle::settlement::{settle, Settlement};
use crate::settle::test_period_end;
use crate::settle::workbook::{self, result_sentence, SETTLEMENT_TITLE};

/// `zwyun deadline`.
pub fn deadline(
    signed: NaiveDate,
    days: Option<u32>,
    format: Format,
    schemas: &Schemas,
    dir: Option<&Path>,
) -> Result<u8, String> {
    let calendar = Calendar::load(dir).map_err(|e| e.to_string())?;
    let days = days.unwrap_or(schemas.policy.delivery_working_days);
    let due = calendar.deadline(signed, days);
    if let Some(missing) = &due.missing {
        eprintln!("zwyun: 警告:{}", missing.provisional_note());
    }
    match format {
        Format::Json => crate::outln!(
            "{}",
            serde_json::json!({
                "signed": signed.to_string(),
                "days": days,
                "due": due.date.to_string(),
                "provisional": due.missing.is_some(),
            })
        ),
        Format::Text => {
            let mark = if due.missing.is_some() {
                "(暂定)"
            } else {
                ""
            };
            crate::outln!(
                "{signed} 签订,{days} 个工作日内(签订当日不计):最迟 {}{mark}",
                due.date
            )
        }
    }
    Ok(EXIT_OK)
}

/// `zwyun ledger test-signed`.
pub fn test_signed(
    code: &str,
    date: NaiveDate,
    months: u32,
    schemas: &Schemas,
    ledger_path: &Path,
    dir: Option<&Path>,
) -> Result<u8, String> {
    schemas.policy.test_months.check(months)?;
    let ledger = open_existing(ledger_path)?;
    let project = find_project(&ledger, code)?;
    if let Some(refusal) = existing(&ledger, project.id, AgreementKind::Test)? {
        eprintln!("zwyun: 未登记:项目 {} {refusal}", project.label());
        return Ok(EXIT_PROBLEMS);
    }
    let ends = test_period_end(date, months).ok_or("测试期结束日期超出范围")?;
    let due = delivery_due(date, schemas, dir)?;
    let agreement = Agreement {
        kind: AgreementKind::Test,
        signed: date,
        months: Some(months),
        ends: Some(ends),
    };
    ledger
        .record_agreement(project.id, &agreement)
        .map_err(|e| e.to_string())?;
    crate::outln!("已登记项目 {} 的测试协议:{date} 签订,测试期 {months} 个月,至 {ends} 届满(测试资源不纳入计量)。", project.label());
    crate::outln!(
        "服务商“{}”最迟应于 {due} 完成全部测试资源的发放(签订后 {} 个工作日内)。",
        project.provider,
        schemas.policy.delivery_working_days
    );
    Ok(EXIT_OK)
}

/// `zwyun ledger formal-signed`.
pub fn formal_signed(
    code: &str,
    date: NaiveDate,
    schemas: &Schemas,
    ledger_path: &Path,
    dir: Option<&Path>,
) -> Result<u8, String> {
    let ledger = open_existing(ledger_path)?;
    let project = find_project(&ledger, code)?;
    if let Some(refusal) = existing(&ledger, project.id, AgreementKind::Formal)? {
        eprintln!("zwyun: 未登记:项目 {} {refusal}", project.label());
        return Ok(EXIT_PROBLEMS);
    }
    let test = ledger
        .agreement(project.id, AgreementKind::Test)
        .map_err(|e| e.to_string())?;
    if let Some(t) = test.as_ref().filter(|t| date < t.signed) {
        eprintln!(
            "zwyun: 未登记:{date} 早于项目 {} 测试协议的签订日期 {};正式协议须在测试期满后签订,请核对日期。",
            project.label(),
            t.signed
        );
        return Ok(EXIT_PROBLEMS);
    }
    if let Some(ends) = test
        .as_ref()
        .and_then(|t| t.ends)
        .filter(|ends| date <= *ends)
    {
        let earliest = ends.succ_opt().unwrap_or(ends);
        eprintln!(
            "zwyun: 未登记:项目 {} 的测试期至 {ends} 届满,正式协议须在测试期满后签订(最早 {earliest});{date} 尚在测试期内(细则 五(三))。",
            project.label()
        );
        return Ok(EXIT_PROBLEMS);
    }
    let due = delivery_due(date, schemas, dir)?;
    let agreement = Agreement {
        kind: AgreementKind::Formal,
        signed: date,
        months: None,
        ends: None,
    };
    ledger
        .record_agreement(project.id, &agreement)
        .map_err(|e| e.to_string())?;
    crate::outln!(
        "已登记项目 {} 的正式协议:{date} 签订,自该日起租并纳入计量。",
        project.label()
    );
    if test.is_none() {
        crate::outln!("(该项目未登记测试协议。)");
    }
    crate::outln!(
        "服务商“{}”最迟应于 {due} 完成正式资源的发放或调整(签订后 {} 个工作日内)。",
        project.provider,
        schemas.policy.delivery_working_days
    );
    Ok(EXIT_OK)
}

/// Why a new agreement of `kind` cannot be recorded, if it cannot.
fn existing(
    ledger: &Ledger,
    project_id: i64,
    kind: AgreementKind,
) -> Result<Option<String>, String> {
    let all = ledger.agreements(project_id).map_err(|e| e.to_string())?;
    let formal = all.iter().find(|a| a.kind == AgreementKind::Formal);
    let same = all.iter().find(|a| a.kind == kind);
    Ok(match (kind, formal, same) {
        (_, Some(f), _) => Some(format!("已登记正式协议({} 签订)", f.signed)),
        (AgreementKind::Test, None, Some(t)) => Some(format!("已登记测试协议({} 签订)", t.signed)),
        _ => None,
    })
}

/// The delivery deadline, with "(暂定)" when the calendar does not cover
/// it (a warning says which year to add).
fn delivery_due(date: NaiveDate, schemas: &Schemas, dir: Option<&Path>) -> Result<String, String> {
    let calendar = Calendar::load(dir).map_err(|e| e.to_string())?;
    let due = calendar.deadline(date, schemas.policy.delivery_working_days);
    Ok(match &due.missing {
        Some(missing) => {
            eprintln!("zwyun: 警告:{}", missing.provisional_note());
            format!("{}(暂定)", due.date)
        }
        None => due.date.to_string(),
    })
}

/// `zwyun assess`.
pub fn assess(file: &Path, format: Format, out: Option<&Path>) -> Result<u8, String> {
    let (input, scored) = match read_assessment(file)? {
        Ok(pair) => pair,
        Err(problem) => {
            eprintln!("zwyun: {problem}");
            return Ok(EXIT_PROBLEMS);
        }
    };
    match format {
        Format::Json => crate::outln!("{}", scored.to_json()),
        Format::Text => crate::out!("{}", assessment_text(&input, &scored)),
    }
    if let Some(out) = out {
        workbook::write_assessment(&input, &scored, out)
            .map_err(|e| crate::oserror::describe(out, &e, "无法写出考核表"))?;
        eprintln!("已写出考核表:{}", out.display());
    }
    Ok(EXIT_OK)
}

type Scored = (AssessmentInput, Assessment);

/// Outer error: the file cannot be read (exit 2); inner: its content is wrong (exit 1).
fn read_assessment(file: &Path) -> Result<Result<Scored, String>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| super::io_error(file, &e))?;
    Ok(
        AssessmentInput::parse(&file.display().to_string(), &text).map(|input| {
            let scored = input.score();
            (input, scored)
        }),
    )
}

fn assessment_text(input: &AssessmentInput, a: &Assessment) -> String {
    let mut s = format!(
        "{}\n服务商:{}  考核年度:{}\n",
        workbook::ASSESSMENT_TITLE,
        a.provider,
        ServiceYear::new(a.year)
            .map(|y| y.label())
            .unwrap_or_else(|| a.year.to_string())
    );
    for (ind, (code, score)) in INDICATORS.iter().zip(&a.items) {
        s += &format!(
            "  {}({code})  分值 {:>2}  考核情况 {:<8}  得分 {score}\n",
            ind.name,
            ind.weight,
            input.observed(code)
        );
    }
    s += &format!(
        "总体得分:{}\n扣减比例:{}\n{}\n",
        a.score,
        percent(a.deduction_rate),
        result_sentence(a)
    );
    s
}

/// `zwyun settle`.
pub fn settle_year(
    year: i32,
    assessment_paths: &[PathBuf],
    prices_file: Option<&Path>,
    out: Option<&Path>,
    schemas: &Schemas,
    ledger_path: &Path,
    dir: Option<&Path>,
) -> Result<u8, String> {
    let service_year = ServiceYear::new(year).ok_or(format!("服务年度 {year} 无效"))?;
    let ledger = open_existing(ledger_path)?;
    let prices =
        PriceList::load(prices_file, dir, &schemas.catalogue).map_err(|e| e.to_string())?;
    let assessments = match load_assessments(assessment_paths, year)? {
        Ok(list) => list,
        Err(problem) => {
            eprintln!("zwyun: {problem}");
            return Ok(EXIT_PROBLEMS);
        }
    };
    let settlement = settle(
        &ledger,
        service_year,
        &prices,
        &schemas.catalogue,
        &assessments,
    )?;
    let default_out = PathBuf::from(format!("{SETTLEMENT_TITLE}-{year}年度.xlsx"));
    let out = out.unwrap_or(&default_out);
    workbook::write_settlement(&settlement, out)
        .map_err(|e| crate::oserror::describe(out, &e, "无法写出结算工作簿"))?;
    crate::out!("{}", settlement_text(&settlement));
    crate::outln!("已写出结算工作簿(草稿):{}", out.display());
    Ok(EXIT_OK)
}

/// Assessment files given, or the `.yaml`/`.yml` files of folders given;
/// files of other years found in a folder are skipped, given by name they
/// are an error.
fn load_assessments(
    paths: &[PathBuf],
    year: i32,
) -> Result<Result<Vec<Assessment>, String>, String> {
    let mut list: Vec<Assessment> = Vec::new();
    for path in paths {
        let (files, named) = if path.is_dir() {
            (yaml_files(path)?, false)
        } else {
            (vec![path.clone()], true)
        };
        for file in files {
            let (_, a) = match read_assessment(&file)? {
                Ok(pair) => pair,
                Err(problem) => return Ok(Err(problem)),
            };
            if a.year != year {
                if named {
                    return Ok(Err(format!(
                        "{}: 考核年度为 {}年度,与结算的服务年度 {year}年度 不符",
                        file.display(),
                        a.year
                    )));
                }
                eprintln!("跳过 {}(考核年度 {}年度)", file.display(), a.year);
                continue;
            }
            if list.iter().any(|b| b.provider == a.provider) {
                return Ok(Err(format!(
                    "{}: 服务商“{}”的 {year}年度考核结果重复",
                    file.display(),
                    a.provider
                )));
            }
            list.push(a);
        }
    }
    Ok(Ok(list))
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| super::io_error(dir, &e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

fn settlement_text(s: &Settlement) -> String {
    let mut out = format!(
        "{} {}\n{}\n",
        SETTLEMENT_TITLE,
        s.year.label(),
        s.price_notice
    );
    for p in &s.providers {
        out += &format!(
            "{}:{} 个项目,结算金额 {} 元;{};扣减 {} 元;应付 {} 元\n",
            p.provider,
            p.projects,
            p.gross,
            p.remark(),
            p.deduction,
            p.net
        );
    }
    out += &format!(
        "合计:结算金额 {} 元,扣减 {} 元,应付 {} 元\n",
        s.gross(),
        s.deduction(),
        s.net()
    );
    for note in &s.notes {
        out += &format!("说明:{note}\n");
    }
    out += &format!("{}\n", workbook::ROUNDING_RULE);
    out
}
