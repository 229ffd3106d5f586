//! Workbooks: the settlement draft (summary + one detail sheet per
//! project) and the filled 附件5 table.

use std::collections::HashSet;
use std::path::Path;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::assess::{percent, Assessment, AssessmentInput, INDICATORS, RESULT_TEXT};
use super::settlement::{ProjectBill, Settlement};
use crate::layout::{self, Heights, Page, BODY_PT};

pub const SETTLEMENT_TITLE: &str = "松江区电子政务云资源结算项目";
pub const SUMMARY_SHEET: &str = "结算汇总";
/// The sheet of projects the units pay themselves (细则 二).
pub const SELF_PAID_SHEET: &str = "由使用单位自行承担";
/// The mark of a settlement of a year not yet ended.
pub const PROVISIONAL: &str = "预估";
pub const ASSESSMENT_TITLE: &str = "松江区云服务商绩效考核表";

pub const METERING_RULE: &str = "计量:自正式协议签订日(起租)起计,测试期资源不计量;经批准的附件4 变更自其生效日起适用,回收的资源计至生效日前一日。按天折算:月单价 × 数量 × 天数 × 12 ÷ 服务年度天数;年单价 × 数量 × 天数 ÷ 服务年度天数。";
pub const ROUNDING_RULE: &str = "金额单位:元,精确到分。舍入规则:每行金额四舍五入到分,各项合计均由舍入后的行金额相加;扣减金额 = 结算金额 × 扣减比例,四舍五入到分;应付金额 = 结算金额 − 扣减金额。";

struct Styles {
    title: Format,
    note: Format,
    header: Format,
    text: Format,
    money: Format,
    number: Format,
    percent: Format,
    share: Format,
    bold_money: Format,
}

impl Styles {
    fn new() -> Styles {
        let base = layout::song(BODY_PT).set_align(FormatAlign::VerticalCenter);
        let cell = base.clone().set_border(FormatBorder::Thin);
        Styles {
            title: layout::song(16.0)
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            note: base.set_text_wrap(),
            header: cell
                .clone()
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_text_wrap(),
            text: cell.clone().set_text_wrap(),
            money: cell.clone().set_num_format("#,##0.00"),
            number: cell.clone().set_num_format("0.####"),
            percent: cell.clone().set_num_format("0%"),
            share: cell.clone().set_num_format("0.##%"),
            bold_money: cell.set_bold().set_num_format("#,##0.00"),
        }
    }
}

fn num(d: Decimal) -> f64 {
    d.to_f64().unwrap_or_default()
}

/// A line of text across columns `0..=last`, wrapped, its row sized.
fn note_row(
    ws: &mut Worksheet,
    heights: &mut Heights,
    row: u32,
    text: &str,
    widths: &[f64],
    st: &Styles,
) -> Result<(), XlsxError> {
    let last = widths.len() as u16 - 1;
    ws.merge_range(row, 0, row, last, text, &st.note)?;
    heights.fit(row, row, text, widths.iter().sum(), BODY_PT);
    Ok(())
}

fn set_widths(ws: &mut Worksheet, widths: &[f64]) -> Result<(), XlsxError> {
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    Ok(())
}

fn landscape(ws: &mut Worksheet, header: u32) -> Result<(), XlsxError> {
    layout::a4(
        ws,
        &Page {
            landscape: true,
            repeat_rows: Some((0, header)),
        },
    )
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
    let mut used = HashSet::from([SUMMARY_SHEET.to_string(), SELF_PAID_SHEET.to_string()]);
    if s.self_paid_bills().next().is_some() {
        self_paid_sheet(wb.add_worksheet(), s, &st)?;
    }
    for bill in &s.bills {
        let name = sheet_name(&bill.label, &mut used);
        detail_sheet(wb.add_worksheet().set_name(name)?, bill, s, &st)?;
    }
    wb.save(path)
}

const SUMMARY_WIDTHS: [f64; 8] = [24.0, 8.0, 16.0, 10.0, 10.0, 16.0, 16.0, 40.0];

fn summary_sheet(ws: &mut Worksheet, s: &Settlement, st: &Styles) -> Result<(), XlsxError> {
    ws.set_name(SUMMARY_SHEET)?;
    let widths = SUMMARY_WIDTHS;
    let mut heights = Heights::default();
    let title = format!(
        "{} {}年度结算({})",
        SETTLEMENT_TITLE,
        s.year.year,
        draft_mark(s)
    );
    ws.merge_range(0, 0, 0, 7, &title, &st.title)?;
    heights.at_least(0, 30.0);
    let mut year = format!(
        "服务年度:{} 至 {},共 {} 天",
        s.year.start,
        s.year.end,
        s.year.days()
    );
    if let Some(note) = s.provisional_note() {
        year = format!("{year}。{note}");
    }
    for (r, text) in [year.as_str(), &s.price_notice, METERING_RULE, ROUNDING_RULE]
        .iter()
        .enumerate()
    {
        note_row(ws, &mut heights, 1 + r as u32, text, &widths, st)?;
    }
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
        ws.write_number_with_format(row, 4, num(p.deduction_rate), &st.percent)?;
        ws.write_number_with_format(row, 5, num(p.deduction), &st.money)?;
        ws.write_number_with_format(row, 6, num(p.net), &st.money)?;
        let remark = p.remark();
        ws.write_string_with_format(row, 7, &remark, &st.text)?;
        heights.fit(row, row, &p.provider, widths[0], BODY_PT);
        heights.fit(row, row, &remark, widths[7], BODY_PT);
        row += 1;
    }
    ws.write_string_with_format(row, 0, "合计", &st.header)?;
    ws.write_number_with_format(row, 1, s.district_bills().count() as f64, &st.number)?;
    ws.write_number_with_format(row, 2, num(s.gross()), &st.bold_money)?;
    ws.write_number_with_format(row, 5, num(s.deduction()), &st.bold_money)?;
    ws.write_number_with_format(row, 6, num(s.net()), &st.bold_money)?;
    row += 2;
    let own = s.self_paid_bills().count();
    if own > 0 {
        let text = format!(
            "另有 {own} 个项目由使用单位自行承担费用(细则 二),金额 {} 元,不计入上述合计,见工作表“{SELF_PAID_SHEET}”。",
            s.self_paid_total()
        );
        note_row(ws, &mut heights, row, &text, &widths, st)?;
        row += 2;
    }
    if !s.notes.is_empty() {
        ws.write_string_with_format(row, 0, "说明:", &st.note)?;
        for note in &s.notes {
            row += 1;
            note_row(ws, &mut heights, row, note, &widths, st)?;
        }
    }
    set_widths(ws, &widths)?;
    landscape(ws, 6)?;
    heights.apply(ws)
}

const DETAIL_WIDTHS: [f64; 9] = [22.0, 10.0, 8.0, 12.0, 12.0, 8.0, 12.0, 14.0, 16.0];

fn detail_sheet(
    ws: &mut Worksheet,
    bill: &ProjectBill,
    s: &Settlement,
    st: &Styles,
) -> Result<(), XlsxError> {
    let widths = DETAIL_WIDTHS;
    let mut heights = Heights::default();
    ws.merge_range(
        0,
        0,
        0,
        8,
        &format!(
            "项目结算明细({}):{} {}",
            draft_mark(s),
            bill.label,
            bill.name
        ),
        &st.title,
    )?;
    heights.at_least(0, 30.0);
    let mut unit = format!(
        "申请单位:{};服务商:{};上云项目归属:{}",
        bill.unit, bill.provider, bill.ownership
    );
    if bill.self_paid {
        unit += &format!(";{SELF_PAID_SHEET},不计入区级结算合计");
    }
    if let Some(note) = s.provisional_note() {
        unit = format!("{unit}。{note}");
    }
    let year = format!(
        "正式协议签订(起租):{};服务年度:{} 至 {},共 {} 天",
        bill.formal_signed,
        s.year.start,
        s.year.end,
        s.year.days()
    );
    note_row(ws, &mut heights, 1, &unit, &widths, st)?;
    note_row(ws, &mut heights, 2, &year, &widths, st)?;
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
        let period = format!("元/{}/{}", l.unit, l.period.label());
        ws.write_string_with_format(row, 7, &period, &st.text)?;
        ws.write_number_with_format(row, 8, num(l.amount), &st.money)?;
        heights.fit(row, row, &l.name, widths[0], BODY_PT);
        heights.fit(row, row, &period, widths[7], BODY_PT);
        row += 1;
    }
    ws.write_string_with_format(row, 0, "小计", &st.header)?;
    ws.write_number_with_format(row, 8, num(bill.total()), &st.bold_money)?;
    for (i, text) in [METERING_RULE, ROUNDING_RULE, &s.price_notice]
        .iter()
        .enumerate()
    {
        note_row(ws, &mut heights, row + 2 + i as u32, text, &widths, st)?;
    }
    set_widths(ws, &widths)?;
    landscape(ws, 4)?;
    heights.apply(ws)
}

/// Where the settlement of `year` is written: `out` or the default name,
/// with "-预估" before the extension when the year has not ended (unless
/// the name given already says 预估).
pub fn settlement_path(year: i32, provisional: bool, out: Option<&Path>) -> std::path::PathBuf {
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| format!("{SETTLEMENT_TITLE}-{year}年度.xlsx").into());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !provisional || name.contains(PROVISIONAL) {
        return path;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_string(), format!(".{ext}")),
        _ => (name.clone(), String::new()),
    };
    path.with_file_name(format!("{stem}-{PROVISIONAL}{ext}"))
}

/// "草稿", or "预估,草稿" for a year not yet ended.
fn draft_mark(s: &Settlement) -> String {
    if s.provisional {
        format!("{PROVISIONAL},草稿")
    } else {
        "草稿".to_string()
    }
}

const SELF_PAID_WIDTHS: [f64; 6] = [20.0, 24.0, 28.0, 20.0, 10.0, 16.0];

/// The projects whose units pay themselves, outside the district's totals.
fn self_paid_sheet(ws: &mut Worksheet, s: &Settlement, st: &Styles) -> Result<(), XlsxError> {
    ws.set_name(SELF_PAID_SHEET)?;
    let widths = SELF_PAID_WIDTHS;
    let mut heights = Heights::default();
    let title = format!(
        "{} {}年度:{}({})",
        SETTLEMENT_TITLE,
        s.year.year,
        SELF_PAID_SHEET,
        draft_mark(s)
    );
    ws.merge_range(0, 0, 0, 5, &title, &st.title)?;
    heights.at_least(0, 30.0);
    let mut intro = "细则 二:非区级预算单位自行承担相关费用。以下项目的费用不计入区级结算合计,金额供使用单位与服务商结算参考。".to_string();
    if let Some(note) = s.provisional_note() {
        intro = format!("{intro}{note}");
    }
    note_row(ws, &mut heights, 1, &intro, &widths, st)?;
    let headers = [
        "项目",
        "申请单位",
        "项目名称",
        "服务商",
        "上云项目归属",
        "金额(元)",
    ];
    header_row(ws, 3, &headers, st)?;
    let mut row = 4;
    for b in s.self_paid_bills() {
        for (c, text) in [&b.label, &b.unit, &b.name, &b.provider, &b.ownership]
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(row, c as u16, *text, &st.text)?;
            heights.fit(row, row, text, widths[c], BODY_PT);
        }
        ws.write_number_with_format(row, 5, num(b.total()), &st.money)?;
        row += 1;
    }
    ws.write_string_with_format(row, 0, "合计", &st.header)?;
    ws.write_number_with_format(row, 5, num(s.self_paid_total()), &st.bold_money)?;
    set_widths(ws, &widths)?;
    landscape(ws, 3)?;
    heights.apply(ws)
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

const ASSESSMENT_WIDTHS: [f64; 5] = [22.0, 6.0, 44.0, 12.0, 7.0];

/// Writes the filled 附件5 table: one A4 page, portrait, every criterion
/// wrapped in its cell.
pub fn write_assessment(
    input: &AssessmentInput,
    a: &Assessment,
    path: &Path,
) -> Result<(), XlsxError> {
    let st = Styles::new();
    let widths = ASSESSMENT_WIDTHS;
    let mut heights = Heights::default();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("绩效考核表")?;
    ws.merge_range(0, 0, 0, 4, ASSESSMENT_TITLE, &st.title)?;
    heights.at_least(0, 32.0);
    let year = super::meter::ServiceYear::new(a.year)
        .map(|y| y.label())
        .unwrap_or_else(|| a.year.to_string());
    // The year is a date range (2026-07-01 至 2027-06-30): room for it.
    let provider = format!("服务商:{}", a.provider);
    let year = format!("考核年度:{year}");
    ws.merge_range(1, 0, 1, 1, &provider, &st.note)?;
    ws.merge_range(1, 2, 1, 4, &year, &st.note)?;
    heights.fit(1, 1, &provider, widths[0] + widths[1], BODY_PT);
    heights.fit(1, 1, &year, widths[2] + widths[3] + widths[4], BODY_PT);
    header_row(
        ws,
        2,
        &["考核指标", "分值", "评分标准", "考核情况", "得分"],
        &st,
    )?;
    let mut row = 3;
    for (ind, (code, score)) in INDICATORS.iter().zip(&a.items) {
        let name = format!("{}({})", ind.name, code);
        let observed = input.observed(code);
        ws.write_string_with_format(row, 0, &name, &st.text)?;
        ws.write_number_with_format(row, 1, ind.weight as f64, &st.number)?;
        ws.write_string_with_format(row, 2, ind.rule, &st.text)?;
        if input.counts.contains_key(code) {
            ws.write_string_with_format(row, 3, &observed, &st.text)?;
        } else {
            // H1 satisfaction: a percentage, stored as a number.
            let share = num(input.satisfaction) / 100.0;
            ws.write_number_with_format(row, 3, share, &st.share)?;
        }
        ws.write_number_with_format(row, 4, num(*score), &st.number)?;
        for (c, text) in [(0, name.as_str()), (2, ind.rule), (3, observed.as_str())] {
            heights.fit(row, row, text, widths[c], BODY_PT);
        }
        row += 1;
    }
    ws.write_string_with_format(row, 0, "总体得分", &st.header)?;
    ws.write_number_with_format(row, 1, 100.0, &st.number)?;
    ws.write_string_with_format(row, 2, "", &st.text)?;
    ws.write_string_with_format(row, 3, "", &st.text)?;
    ws.write_number_with_format(row, 4, num(a.score), &st.number)?;
    row += 2;
    for line in RESULT_TEXT {
        note_row(ws, &mut heights, row, line, &widths, &st)?;
        row += 1;
    }
    let result = format!("考核结果:{}", result_sentence(a));
    note_row(ws, &mut heights, row + 1, &result, &widths, &st)?;
    set_widths(ws, &widths)?;
    layout::a4(
        ws,
        &Page {
            landscape: false,
            repeat_rows: Some((0, 2)),
        },
    )?;
    heights.apply(ws)?;
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
