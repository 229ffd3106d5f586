//! The settlement-side commands: `deadline`, `ledger test-signed`,
//! `ledger formal-signed`, `assess`, `settle`. Each returns an exit code
//! or the message of a configuration/usage error (exit 2).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::life::{record_on_project, Session};
use super::open_existing;
use super::{Format, EXIT_OK, EXIT_PROBLEMS};
use crate::ops::record;
use crate::schema::Schemas;
use crate::settle::assess::{percent, Assessment, AssessmentInput, INDICATORS};
use crate::settle::calendar::Calendar;
use crate::settle::meter::ServiceYear;
use crate::settle::prices::PriceList;
use crate::settle::settlement::{settle, unknown_providers, SettleInput, Settlement};
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
    session: &Session,
    code: &str,
    date: NaiveDate,
    months: u32,
    schemas: &Schemas,
    format: Format,
) -> Result<u8, String> {
    let desk = session.desk(schemas);
    record_on_project(session, code, format, |p| {
        record::test_signed(&desk, p, date, months)
    })
}

/// `zwyun ledger formal-signed`.
pub fn formal_signed(
    session: &Session,
    code: &str,
    date: NaiveDate,
    schemas: &Schemas,
    format: Format,
) -> Result<u8, String> {
    let desk = session.desk(schemas);
    record_on_project(session, code, format, |p| {
        record::formal_signed(&desk, p, date)
    })
}

/// `zwyun assess`.
pub fn assess(
    file: &Path,
    format: Format,
    out: Option<&Path>,
    g: &super::Globals,
) -> Result<u8, String> {
    let (input, scored) = match read_assessment(file)? {
        Ok(pair) => pair,
        Err(problem) => {
            eprintln!("zwyun: {problem}");
            return Ok(EXIT_PROBLEMS);
        }
    };
    // The ledger's deliveries, when there is a ledger (the rules with it).
    if g.ledger.exists() {
        late_deliveries(&input, g)?;
    }
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

/// The ledger's late deliveries of the provider in the year, offered for
/// A3 (服务任务完成及时性), and a note when the file counts otherwise.
fn late_deliveries(input: &AssessmentInput, g: &super::Globals) -> Result<(), String> {
    let Some(year) = ServiceYear::new(input.year) else {
        return Ok(());
    };
    let dir = g.schemas.as_deref();
    let schemas = crate::schema::Schemas::load(dir).map_err(|e| format!("校验规则有误:{e}"))?;
    let ledger = super::open_existing(&g.ledger)?;
    let calendar = crate::settle::calendar::Calendar::load(dir).map_err(|e| e.to_string())?;
    let desk = crate::ops::record::Desk {
        ledger: &ledger,
        policy: &schemas.policy,
        calendar: &calendar,
        today: chrono::Local::now().date_naive(),
    };
    let late = crate::ops::record::late_deliveries(&desk, &input.provider, year.start, year.end)
        .map_err(|e| format!("{e:?}"))?;
    eprintln!(
        "账本记录:{} 在 {} 逾期发放资源 {} 次(附件5 A3 参考)",
        input.provider,
        year.label(),
        late.len()
    );
    for l in &late {
        eprintln!(
            "  {}  {}资源发放 {},最迟应于 {},逾期 {} 个工作日",
            l.project,
            crate::ops::view::kind_name(&l.kind),
            l.date,
            l.due,
            l.working_days_late
        );
    }
    let counted = input.counts.get("A3").copied().unwrap_or_default();
    if counted as usize != late.len() {
        eprintln!(
            "zwyun: 提示:考核数据中 A3 为 {counted} 起,账本记录的逾期发放为 {} 次;如有账本未记录的事项或非服务商责任的逾期,请以核实结果为准",
            late.len()
        );
    }
    Ok(())
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
#[allow(clippy::too_many_arguments)]
pub fn settle_year(
    year: i32,
    today: NaiveDate,
    assessment_paths: &[PathBuf],
    prices_file: Option<&Path>,
    out: Option<&Path>,
    schemas: &Schemas,
    ledger_path: &Path,
    dir: Option<&Path>,
) -> Result<u8, String> {
    let service_year = ServiceYear::new(year).ok_or(format!("服务年度 {year} 无效"))?;
    let mut ledger = open_existing(ledger_path)?;
    ledger.set_recording(crate::ledger::Recording::new(None, "settle"));
    let prices =
        PriceList::load(prices_file, dir, &schemas.catalogue).map_err(|e| e.to_string())?;
    let assessments = match load_assessments(assessment_paths, year)? {
        Ok(list) => list,
        Err(problem) => {
            eprintln!("zwyun: {problem}");
            return Ok(EXIT_PROBLEMS);
        }
    };
    let known: Vec<String> = ledger
        .projects()
        .map_err(|e| e.to_string())?
        .all()
        .iter()
        .map(|p| p.provider.clone())
        .collect();
    if let Some(problem) = unknown_providers(&known, &assessments) {
        eprintln!("zwyun: {problem}");
        return Ok(EXIT_PROBLEMS);
    }
    let policy = &schemas.policy;
    let settlement = settle(
        &ledger,
        &SettleInput {
            year: service_year,
            today,
            prices: &prices,
            catalogue: &schemas.catalogue,
            assessments: &assessments,
            self_paid: &|ownership: &str| policy.self_paid(ownership),
        },
    )?;
    let out = workbook::settlement_path(year, settlement.provisional, out);
    workbook::write_settlement(&settlement, &out)
        .map_err(|e| crate::oserror::describe(&out, &e, "无法写出结算工作簿"))?;
    crate::out!("{}", settlement_text(&settlement));
    if !settlement.provisional {
        // The agenda's `settlement` item ends with a final settlement.
        ledger
            .log(&crate::ledger::NewEvent {
                action: "settled",
                date: Some(today),
                detail: year.to_string(),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
    }
    let mark = if settlement.provisional {
        "预估,草稿"
    } else {
        "草稿"
    };
    crate::outln!("已写出结算工作簿({mark}):{}", out.display());
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
    if let Some(note) = s.provisional_note() {
        out += &format!("{note}\n");
    }
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
    let own: Vec<_> = s.self_paid_bills().collect();
    if !own.is_empty() {
        out += &format!(
            "{}(不计入合计):{} 个项目,金额 {} 元\n",
            workbook::SELF_PAID_SHEET,
            own.len(),
            s.self_paid_total()
        );
        for b in own {
            out += &format!(
                "  {} {}({},{}):{} 元\n",
                b.label,
                b.name,
                b.provider,
                b.ownership,
                b.total()
            );
        }
    }
    for note in &s.notes {
        out += &format!("说明:{note}\n");
    }
    out += &format!("{}\n", workbook::ROUNDING_RULE);
    out
}
