//! Workbooks: the settlement draft (summary + one detail sheet per
//! project) and the filled 附件5 table.

use std::collections::HashSet;
use std::path::Path;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::assess::{percent, Assessment, AssessmentInput, INDICATORS, RESULT_TEXT};
use super::settlement::{ProjectBill, Settlement};

pub const SETTLEMENT_TITLE: &str = "松江区电子政务云资源结算项目";
pub const SUMMARY_SHEET: &str = "结算汇总";
pub const ASSESSMENT_TITLE: &str = "松江区云服务商绩效考核表";

pub const METERING_RULE: &str = "计量:自正式协议签订日(起租)起计,测试期资源不计量;经批准的附件4 变更自其生效日起适用,回收的资源计至生效日前一日。按天折算:月单价 × 数量 × 天数 × 12 ÷ 服务年度天数;年单价 × 数量 × 天数 ÷ 服务年度天数。";
pub const ROUNDING_RULE: &str = "金额单位:元,精确到分。舍入规则:每行金额四舍五入到分,各项合计均由舍入后的行金额相加;扣减金额 = 结算金额 × 扣减比例,四舍五入到分;应付金额 = 结算金额 − 扣减金额。";

struct Styles {
    title: Format,
    header: Format,
    text: Format,
    money: Format,
    number: Format,
    bold_money: Format,
}

impl Styles {
    fn new() -> Styles {
        let cell = Format::new().set_border(FormatBorder::Thin);
        Styles {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center),
            header: cell
                .clone()
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_text_wrap(),
            text: cell.clone().set_text_wrap(),
            money: cell.clone().set_num_format("#,##0.00"),
            number: cell.clone().set_num_format("0.####"),
            bold_money: cell.set_bold().set_num_format("#,##0.00"),
        }
    }
}

fn num(d: Decimal) -> f64 {
    d.to_f64().unwrap_or_default()
}

fn header_row(
    ws: &mut Worksheet,
    row: u32,
    headers: &[&str],
    st: &Styles,
) -> Result<(), XlsxError> {
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    Ok(())
}

/// Writes the settlement draft.
pub fn write_settlement(s: &Settlement, path: &Path) -> Result<(), XlsxError> {
    let st = Styles::new();
    let mut wb = Workbook::new();
    summary_sheet(wb.add_worksheet(), s, &st)?;
    let mut used = HashSet::from([SUMMARY_SHEET.to_string()]);
    for bill in &s.bills {
        let name = sheet_name(&bill.label, &mut used);
        detail_sheet(wb.add_worksheet().set_name(name)?, bill, s, &st)?;
    }
    wb.save(path)
}

fn summary_sheet(ws: &mut Worksheet, s: &Settlement, st: &Styles) -> Result<(), XlsxError> {
    ws.set_name(SUMMARY_SHEET)?;
    let title = format!("{} {}年度结算(草稿)", SETTLEMENT_TITLE, s.year.year);
    ws.merge_range(0, 0, 0, 7, &title, &st.title)?;
    ws.write_string(
        1,
        0,
        format!(
            "服务年度:{} 至 {},共 {} 天",
            s.year.start,
            s.year.end,
            s.year.days()
        ),
    )?;
    ws.write_string(2, 0, &s.price_notice)?;
    ws.write_string(3, 0, METERING_RULE)?;
    ws.write_string(4, 0, ROUNDING_RULE)?;
    let headers = [
        "服务商",
        "项目数",
        "结算金额(元)",
        "考核得分",
        "扣减比例",
        "扣减金额(元)",
        "应付金额(元)",
        "说明",
    ];
    header_row(ws, 6, &headers, st)?;
    let mut row = 7;
    for p in &s.providers {
        ws.write_string_with_format(row, 0, &p.provider, &st.text)?;
        ws.write_number_with_format(row, 1, p.projects as f64, &st.number)?;
        ws.write_number_with_format(row, 2, num(p.gross), &st.money)?;
        match &p.assessment {
            Some(a) => ws.write_number_with_format(row, 3, num(a.score), &st.number)?,
            None => ws.write_string_with_format(row, 3, "未考核", &st.text)?,
        };
        ws.write_string_with_format(row, 4, percent(p.deduction_rate), &st.text)?;
        ws.write_number_with_format(row, 5, num(p.deduction), &st.money)?;
        ws.write_number_with_format(row, 6, num(p.net), &st.money)?;
        ws.write_string_with_format(row, 7, p.remark(), &st.text)?;
        row += 1;
    }
    ws.write_string_with_format(row, 0, "合计", &st.header)?;
    ws.write_number_with_format(row, 1, s.bills.len() as f64, &st.number)?;
    ws.write_number_with_format(row, 2, num(s.gross()), &st.bold_money)?;
    ws.write_number_with_format(row, 5, num(s.deduction()), &st.bold_money)?;
    ws.write_number_with_format(row, 6, num(s.net()), &st.bold_money)?;
    row += 2;
    if !s.notes.is_empty() {
        ws.write_string(row, 0, "说明:")?;
        for note in &s.notes {
            row += 1;
            ws.write_string(row, 0, note)?;
        }
    }
    for (c, w) in [
        (0, 24.0),
        (1, 8.0),
        (2, 16.0),
        (3, 10.0),
        (4, 10.0),
        (5, 16.0),
        (6, 16.0),
        (7, 40.0),
    ] {
        ws.set_column_width(c, w)?;
    }
    Ok(())
}

fn detail_sheet(
    ws: &mut Worksheet,
    bill: &ProjectBill,
    s: &Settlement,
    st: &Styles,
) -> Result<(), XlsxError> {
    ws.merge_range(
        0,
        0,
        0,
        8,
        &format!("项目结算明细:{} {}", bill.label, bill.name),
        &st.title,
    )?;
    ws.write_string(
        1,
        0,
        format!("申请单位:{};服务商:{}", bill.unit, bill.provider),
    )?;
    ws.write_string(
        2,
        0,
        format!(
            "正式协议签订(起租):{};服务年度:{} 至 {},共 {} 天",
            bill.formal_signed,
            s.year.start,
            s.year.end,
            s.year.days()
        ),
    )?;
    let headers = [
        "资源项目",
        "数量",
        "单位",
        "起始日期",
        "截止日期",
        "天数",
        "单价(元)",
        "计价周期",
        "金额(元)",
    ];
    header_row(ws, 4, &headers, st)?;
    let mut row = 5;
    for l in &bill.lines {
        ws.write_string_with_format(row, 0, &l.name, &st.text)?;
        ws.write_number_with_format(row, 1, num(l.quantity), &st.number)?;
        ws.write_string_with_format(row, 2, &l.unit, &st.text)?;
        ws.write_string_with_format(row, 3, l.start.to_string(), &st.text)?;
        ws.write_string_with_format(row, 4, l.end.to_string(), &st.text)?;
        ws.write_number_with_format(row, 5, l.days as f64, &st.number)?;
        ws.write_number_with_format(row, 6, num(l.price), &st.money)?;
        ws.write_string_with_format(
            row,
            7,
            format!("元/{}/{}", l.unit, l.period.label()),
            &st.text,
        )?;
        ws.write_number_with_format(row, 8, num(l.amount), &st.money)?;
        row += 1;
    }
    ws.write_string_with_format(row, 0, "小计", &st.header)?;
    ws.write_number_with_format(row, 8, num(bill.total()), &st.bold_money)?;
    ws.write_string(row + 2, 0, METERING_RULE)?;
    ws.write_string(row + 3, 0, ROUNDING_RULE)?;
    ws.write_string(row + 4, 0, &s.price_notice)?;
    for (c, w) in [
        (0, 22.0),
        (1, 10.0),
        (2, 8.0),
        (3, 12.0),
        (4, 12.0),
        (5, 8.0),
        (6, 12.0),
        (7, 12.0),
        (8, 16.0),
    ] {
        ws.set_column_width(c, w)?;
    }
    Ok(())
}

/// A valid, unique sheet name (≤ 31 characters, none of []:*?/\).
fn sheet_name(label: &str, used: &mut HashSet<String>) -> String {
    let clean: String = label
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(28)
        .collect();
    let clean = if clean.trim().is_empty() {
        "项目".to_string()
    } else {
        clean
    };
    let mut name = clean.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{clean}({n})");
        n += 1;
    }
    name
}

/// Writes the filled 附件5 table.
pub fn write_assessment(
    input: &AssessmentInput,
    a: &Assessment,
    path: &Path,
) -> Result<(), XlsxError> {
    let st = Styles::new();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("绩效考核表")?;
    ws.merge_range(0, 0, 0, 4, ASSESSMENT_TITLE, &st.title)?;
    ws.write_string(1, 0, format!("服务商:{}", a.provider))?;
    let year = super::meter::ServiceYear::new(a.year)
        .map(|y| y.label())
        .unwrap_or_else(|| a.year.to_string());
    ws.write_string(1, 3, format!("考核年度:{year}"))?;
    header_row(
        ws,
        2,
        &["考核指标", "分值", "评分标准", "考核情况", "得分"],
        &st,
    )?;
    let mut row = 3;
    for (ind, (code, score)) in INDICATORS.iter().zip(&a.items) {
        ws.write_string_with_format(row, 0, format!("{}({})", ind.name, code), &st.text)?;
        ws.write_number_with_format(row, 1, ind.weight as f64, &st.number)?;
        ws.write_string_with_format(row, 2, ind.rule, &st.text)?;
        ws.write_string_with_format(row, 3, input.observed(code), &st.text)?;
        ws.write_number_with_format(row, 4, num(*score), &st.number)?;
        row += 1;
    }
    ws.write_string_with_format(row, 0, "总体得分", &st.header)?;
    ws.write_number_with_format(row, 1, 100.0, &st.number)?;
    ws.write_string_with_format(row, 2, "", &st.text)?;
    ws.write_string_with_format(row, 3, "", &st.text)?;
    ws.write_number_with_format(row, 4, num(a.score), &st.number)?;
    row += 2;
    for line in RESULT_TEXT {
        ws.write_string(row, 0, line)?;
        row += 1;
    }
    ws.write_string(row + 1, 0, format!("考核结果:{}", result_sentence(a)))?;
    for (c, w) in [(0, 26.0), (1, 8.0), (2, 48.0), (3, 14.0), (4, 10.0)] {
        ws.set_column_width(c, w)?;
    }
    wb.save(path)
}

/// "总体得分 84 分,扣除当年结算金额的 5%。"
pub fn result_sentence(a: &Assessment) -> String {
    if a.deduction_rate.is_zero() {
        format!("总体得分 {} 分,不低于 90 分,不扣减当年结算金额。", a.score)
    } else {
        format!(
            "总体得分 {} 分,扣除当年结算金额的 {}。",
            a.score,
            percent(a.deduction_rate)
        )
    }
}
