//! The district's rules (细则 二、五), parameters from `policy.yaml`.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::{field_cell, Context, Sink};
use crate::diag::Diagnostic;
use crate::identity::{describe, identify, Identity};
use crate::ledger::Project;
use crate::model::{Application, Change, Config, ProjectKey, TooLarge};
use crate::read::locate::{Located, Row};
use crate::schema::{Lookup, Schemas};

/// One resource of a change: 现状 → 变更后, against the approved quota.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceChange {
    pub key: String,
    pub name: String,
    pub current: Decimal,
    pub proposed: Decimal,
    pub quota: Decimal,
    /// 变更后 as a percentage of the quota, to 0.01 (more digits when
    /// needed so that a figure over the cap never reads as the cap; None
    /// when the quota is 0, or the figure is beyond computing).
    pub percent_of_quota: Option<Decimal>,
    pub within_cap: bool,
}

impl ResourceChange {
    pub fn direction(&self) -> &'static str {
        use std::cmp::Ordering::*;
        match self.proposed.cmp(&self.current) {
            Greater => "扩容",
            Less => "回收",
            Equal => "不变",
        }
    }
}

pub fn check_application(app: &Application, located: &Located, ctx: &Context, sink: &mut Sink) {
    check_scope(&app.fields, located, ctx.schemas, sink);
    check_min_rows(located, ctx.schemas, sink);
    check_totals(&app.config, located, ctx, sink);
    check_code_owner(&app.header.project_key(), located, ctx, sink);
    check_provider(&app.header.provider, located, ctx, sink);
    check_disks(&app.config, located, ctx, sink);
    check_existing(app, located, ctx, sink);
}

/// The provider must be one of the district's (parties.yaml), or no
/// agreement can be drafted with it.
fn check_provider(provider: &str, located: &Located, ctx: &Context, sink: &mut Sink) {
    let Some(parties) = ctx.parties else {
        return;
    };
    if provider.trim().is_empty() || parties.provider(provider).is_ok() {
        return;
    }
    let known: Vec<String> = parties
        .providers
        .iter()
        .map(|p| format!("“{}”", p.name))
        .collect();
    let d = Diagnostic::error(
        "policy.provider_unknown",
        format!("“{provider}”不是本区登记的政务云服务商"),
    )
    .hint(format!(
        "请填写本区政务云服务商的全称:{};如确为新的服务商,请先联系区科创服务中心",
        known.join("、")
    ));
    sink.push(d, field_cell(located, "provider"), "政务云服务商");
}

/// Host disks (系统盘/数据盘 columns) beyond the storage lines that bill
/// them (the catalogue's items of the same group, e.g. 数据盘 SSD and
/// 高效云盘): the difference would not be billed at settlement.
fn check_disks(config: &Config, located: &Located, ctx: &Context, sink: &mut Sink) {
    let Ok(totals) = config.totals() else {
        return;
    };
    for (key, label) in crate::model::HOST_RESOURCES {
        let group = label.split('(').next().unwrap_or(label);
        let items: Vec<_> = ctx
            .schemas
            .catalogue
            .items
            .iter()
            .filter(|i| i.group == group)
            .collect();
        if items.is_empty() {
            continue;
        }
        let host = totals.get(key).copied().unwrap_or_default();
        let lines: Decimal = items
            .iter()
            .filter_map(|i| totals.get(&i.key))
            .fold(Decimal::ZERO, |a, b| a.saturating_add(*b));
        if host <= lines {
            continue;
        }
        let names: Vec<String> = items
            .iter()
            .map(|i| format!("“{}”", i.full_name()))
            .collect();
        let d = Diagnostic::warning(
            "config.disk_uncovered",
            format!(
                "主机{group}合计 {},多于服务表格中{}的合计 {}",
                host.normalize(),
                names.join("、"),
                lines.normalize()
            ),
        )
        .hint(format!(
            "{group}按服务表格中的存储项计费:请在{}中填写与主机{group}相同的容量(差额 {} GB 将不计费,也不在协议中体现)",
            names.join("或"),
            (host - lines).normalize()
        ));
        sink.push(d, resource_cell(located, ctx, key), label);
    }
}

/// A 附件1 for a project the ledger already has: before any agreement it
/// would replace the quota; after one it is a 配额调整 (细则 五(三)、
/// 五(四)), not a new project: no test agreement is drafted for it.
fn check_existing(app: &Application, located: &Located, ctx: &Context, sink: &mut Sink) {
    let Identity::Found(p) = identify(ctx.projects, &app.header.project_key()) else {
        return;
    };
    // The quota in force asked for again (the approved form itself): neither
    // a replacement nor a revision.
    if app.config == p.quota {
        return;
    }
    let approved = p.approved_on.map(|d| format!("{d} ")).unwrap_or_default();
    let d = if p.agreements.is_empty() {
        Diagnostic::warning(
            "project.existing",
            format!("{}已于 {approved}批准配额,尚未签订协议", describe(p)),
        )
        .hint("本表经批准后将替换原配额;如不是要替换,请核对项目名称与项目编号")
    } else {
        let signed = if p
            .agreements
            .iter()
            .any(|a| a.kind == crate::ledger::AgreementKind::Formal)
        {
            "正式协议"
        } else {
            "测试协议"
        };
        Diagnostic::warning(
            "project.revision",
            format!("{}已签订{signed},本表按配额调整办理", describe(p)),
        )
        .hint("批准后自生效日起作为该项目新的配额,此后的附件4 变更按新配额核对;不再起草测试协议")
    };
    let field = if app.header.project_code.is_some() {
        "project_code"
    } else {
        "project_name"
    };
    sink.push(d, field_cell(located, field), "项目名称");
}

/// Totals too large to compute are refused here, so that no later stage
/// (approve, render, settle) meets them.
fn check_totals(config: &Config, located: &Located, ctx: &Context, sink: &mut Sink) {
    if let Err(TooLarge { key }) = config.totals() {
        too_large(&key, located, ctx, sink);
    }
}

fn too_large(key: &str, located: &Located, ctx: &Context, sink: &mut Sink) {
    let name = ctx.schemas.catalogue.resource_name(key);
    let d = Diagnostic::error(
        "quantity.too_large",
        format!("“{name}”的数量过大,无法计算总量"),
    )
    .hint("请核对数量与计量单位是否填写正确");
    let cell = resource_cell(located, ctx, key);
    sink.push(d, cell, &name);
}

/// A 附件1 whose 项目编号 is already another unit's project.
fn check_code_owner(key: &ProjectKey, located: &Located, ctx: &Context, sink: &mut Sink) {
    if key.code.is_none() {
        return;
    }
    if let Identity::OtherUnit(p) | Identity::UnitSpelling(p) = identify(ctx.projects, key) {
        sink.push(
            other_unit(key, p),
            field_cell(located, "project_code"),
            "项目编号",
        );
    }
}

/// The error for a code that belongs to a project of another unit (or of
/// this unit spelled differently): both units named.
fn other_unit(key: &ProjectKey, p: &Project) -> Diagnostic {
    let code = key.code.as_deref().unwrap_or_default();
    Diagnostic::error(
        "project.unit_mismatch",
        format!(
            "项目编号 {code} 已登记为“{}”的“{}”,与本表申请单位“{}”不一致",
            p.unit, p.name, key.unit
        ),
    )
    .hint(format!(
        "若本单位就是“{}”,请按已登记的写法填写申请单位;否则请核对项目编号(一个单位不能申报或变更其他单位的项目)",
        p.unit
    ))
}

/// A host table with fewer filled rows than the schema asks for (附件1:
/// at least one host; 附件4: the configuration after the change).
fn check_min_rows(located: &Located, schemas: &Schemas, sink: &mut Sink) {
    for spec in &schemas.form(located.kind).tables {
        let Some(Some(rows)) = located.tables.get(&spec.key) else {
            continue;
        };
        if rows.len() < spec.min_rows {
            let d = Diagnostic::error(
                "policy.no_hosts",
                format!("“{}”未填写任何主机", spec.section),
            )
            .hint(
                "请至少填写一行云主机或物理机配置(服务类型、CPU、内存、操作系统、网络区域、台数)",
            );
            sink.push(d, section_cell(located, &spec.section), &spec.section);
        }
    }
}

/// 等保三级及以下、非涉密 (细则 二、三).
fn check_scope(
    fields: &std::collections::BTreeMap<String, String>,
    located: &Located,
    schemas: &Schemas,
    sink: &mut Sink,
) {
    let policy = &schemas.policy;
    if let Some(level) = fields.get("level") {
        if !policy.allowed_levels.contains(level) {
            let d = Diagnostic::error(
                "policy.level",
                format!(
                    "等保级别为{level};市级政务云只承载等保{}及以下的系统",
                    policy
                        .allowed_levels
                        .last()
                        .map(String::as_str)
                        .unwrap_or("第三级")
                ),
            )
            .hint("等保四级及以上系统不适用本流程,请联系区科委");
            sink.push(d, field_cell(located, "level"), "等保级别");
        }
    }
    if fields.get("classified") == Some(&policy.classified_value) {
        let d = Diagnostic::error("policy.classified", "涉密信息系统不能使用市级政务云")
            .hint("市级政务云只承载非涉密信息系统(细则 三);涉密系统请按保密管理规定另行建设");
        sink.push(d, field_cell(located, "classified"), "是否涉密");
    }
}

fn section_cell(located: &Located, section: &str) -> Option<(u32, u32)> {
    let key = crate::read::text::label_key(section);
    located
        .sheet
        .cells
        .iter()
        .find(|(_, v)| crate::read::text::label_key(&v.as_text()).starts_with(&key))
        .map(|(&p, _)| p)
}

/// 附件4 (细则 五(四)): provider confirmed, reason given when growing, each
/// resource after the change within the cap of the approved quota.
pub fn check_change(
    change: &Change,
    located: &Located,
    ctx: &Context,
    sink: &mut Sink,
) -> Vec<ResourceChange> {
    // An empty 变更后 table is a reclaim when the 说明 says so.
    if !super::omitted::speaks_of_reclaim(change) {
        check_min_rows(located, ctx.schemas, sink);
    }
    if !change.fields.contains_key("provider_opinion") {
        let d = Diagnostic::error(
            "policy.provider_opinion",
            "“政务云服务商意见”为空:变更须经服务商确认后再提交",
        )
        .hint("请先请政务云服务商在该栏填写确认意见(细则 五(四))");
        sink.push(
            d,
            field_cell(located, "provider_opinion"),
            "政务云服务商意见",
        );
    }
    check_duplicate_services(located, ctx, sink);
    let key = change.header.project_key();
    if key.unit.is_empty() && key.code.is_none() {
        return Vec::new();
    }
    let Some(project) = change_project(&key, located, ctx, sink) else {
        return Vec::new();
    };
    if let (Some(code), None) = (&key.code, &project.code) {
        let d = Diagnostic::warning(
            "project.code_unregistered",
            format!("项目编号 {code} 尚未在区科创服务中心登记(该项目登记时没有编号)"),
        )
        .hint("本表按申请单位与项目名称对应到已登记的项目;编号由区科创服务中心核对后登记");
        sink.push(d, field_cell(located, "project_code"), "项目编号");
    }
    let stated = change.stated_current(&project.current);
    let proposed = change.proposed_config(&project.current);
    if proposed.is_empty() {
        let d = Diagnostic::warning(
            "change.reclaim_all",
            format!("变更后不保留任何资源:{}的全部资源回收", describe(project)),
        )
        .hint("批准后,项目自变更生效日起终止,资源计量至生效日前一天(细则 五(四));如只回收部分资源,请在变更后表格中列出保留的主机与服务");
        let field = if key.code.is_some() {
            "project_code"
        } else {
            "project_name"
        };
        sink.push(d, field_cell(located, field), "项目名称");
    }
    let totals = (
        stated.totals(),
        project.current.totals(),
        proposed.totals(),
        project.quota.totals(),
    );
    let (Ok(stated), Ok(current), Ok(proposed), Ok(quota)) = totals else {
        let (a, b, c, d) = totals;
        for e in [a.err(), b.err(), c.err(), d.err()].into_iter().flatten() {
            too_large(&e.key, located, ctx, sink);
        }
        return Vec::new();
    };
    warn_mismatch(&stated, &current, located, ctx, sink);
    let changes = compare(&current, &proposed, &quota, ctx);
    for c in changes.iter().filter(|c| !c.within_cap) {
        let d = over_cap(c, ctx.schemas.policy.quota_cap_percent);
        let cell = resource_cell(located, ctx, &c.key);
        sink.push(d, cell, &c.name);
    }
    let grows = changes.iter().any(|c| c.proposed > c.current);
    if grows && !change.fields.contains_key("note") {
        let d = Diagnostic::error(
            "policy.change_reason",
            "本次变更包含扩容,但“申请单位说明”为空",
        )
        .hint("请在“申请单位说明”中写明扩容原因");
        sink.push(d, field_cell(located, "note"), "申请单位说明");
    }
    changes
}

/// The project an 附件4 changes: by 项目编号 with the 申请单位 agreeing,
/// else by 申请单位 + 项目名称; otherwise an error, with the ledger's
/// spelling when the typed names are a near miss.
fn change_project<'p>(
    key: &ProjectKey,
    located: &Located,
    ctx: &Context<'p>,
    sink: &mut Sink,
) -> Option<&'p Project> {
    let near = match identify(ctx.projects, key) {
        Identity::Found(p) => return Some(p),
        Identity::OtherUnit(p) | Identity::UnitSpelling(p) => {
            let d = other_unit(key, p);
            sink.push(d, field_cell(located, "project_code"), "项目编号");
            return None;
        }
        Identity::Unknown { near } => near,
    };
    let hint = match near {
        Some(p) => format!(
            "您是否指已登记的{}?请按已登记的写法填写申请单位与项目名称{}",
            describe(p),
            if p.code.is_some() {
                ",并填写项目编号"
            } else {
                ""
            }
        ),
        None => {
            "请核对项目编号(或申请单位与项目名称)是否与批准的附件1 一致;新项目请先提交附件1".into()
        }
    };
    let d = Diagnostic::error(
        "policy.project_unknown",
        format!("项目“{}”尚未登记批准配额,无法核对变更", key.label()),
    )
    .hint(hint);
    // Without a code the project is named by 项目名称: point there.
    let (cell, field) = match key.code {
        Some(_) => (field_cell(located, "project_code"), "项目编号"),
        None => (field_cell(located, "project_name"), "项目名称"),
    };
    sink.push(d, cell, field);
    None
}

/// The same catalogue service on two rows of 其他服务项: which one is
/// meant cannot be guessed, so both cells are reported.
fn check_duplicate_services(located: &Located, ctx: &Context, sink: &mut Sink) {
    let Some(rows) = &located.other_services else {
        return;
    };
    let mut seen: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    for r in rows {
        let Some(name) = r.cells.get("name").filter(|s| s.value.is_some()) else {
            continue;
        };
        let text = name.value.map(|v| v.as_text()).unwrap_or_default();
        if let Lookup::Found(item) = ctx.schemas.catalogue.lookup(&text) {
            seen.entry(item.key.clone()).or_default().push(name.pos);
        }
    }
    for (key, cells) in seen.iter().filter(|(_, c)| c.len() > 1) {
        let service = ctx.schemas.catalogue.resource_name(key);
        let places: Vec<String> = cells.iter().map(|&(r, c)| crate::diag::a1(r, c)).collect();
        for &cell in cells {
            let d = Diagnostic::error(
                "service.duplicate",
                format!(
                    "“{service}”在其他服务项中填了 {} 行({})",
                    cells.len(),
                    places.join("、")
                ),
            )
            .hint("同一服务项只填一行:请合并为一行,写明现有数量与变更后数量");
            sink.push(d, Some(cell), &service);
        }
    }
}

/// The error for a resource over the cap; a new service without quota is
/// said as such.
fn over_cap(c: &ResourceChange, cap: Decimal) -> Diagnostic {
    let hint = format!("扩容后项目资源总量不得超过配额的 {cap}%(细则 五(四));请减少扩容量;确需超出的,请先提交新的附件1 申请配额调整,批准后按新配额核对");
    if c.quota.is_zero() {
        return Diagnostic::error(
            "policy.quota",
            format!(
                "变更后新增“{}” {},但批准配额中没有该项",
                c.name,
                c.proposed.normalize()
            ),
        )
        .hint("配额中没有的服务不能通过变更申请新增;请先提交新的附件1 申请配额调整(细则 五(四)),批准后再申请变更");
    }
    let pct = c
        .percent_of_quota
        .map(|p| format!("的 {p}%"))
        .unwrap_or_else(|| "的数倍".into());
    let limit = cap_limit(c.quota, cap)
        .map(|l| format!("(最多 {})", l.normalize()))
        .unwrap_or_default();
    Diagnostic::error(
        "policy.quota",
        format!(
            "变更后{}总量 {},为批准配额 {} {pct},超过上限 {cap}%{limit}",
            c.name,
            c.proposed.normalize(),
            c.quota.normalize()
        ),
    )
    .hint(hint)
}

/// The most a resource may reach: quota × cap ÷ 100 (None when beyond
/// what can be computed, so no typed figure exceeds it).
fn cap_limit(quota: Decimal, cap: Decimal) -> Option<Decimal> {
    quota
        .checked_mul(cap)
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
}

/// `part` as a percentage of `whole` to 0.01 (half up), with more digits
/// when that is needed for a figure over `cap` not to read as the cap
/// (120.0003% is not shown as 120%).
fn percent(part: Decimal, whole: Decimal, cap: Decimal) -> Option<Decimal> {
    let exact = part.checked_div(whole)?.checked_mul(Decimal::ONE_HUNDRED)?;
    let round = |dp| exact.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let dp = (2..=12)
        .find(|&dp| exact <= cap || round(dp) > cap)
        .unwrap_or(12);
    Some(round(dp).normalize())
}

/// Each resource present in any of the three configurations.
fn compare(
    cur: &BTreeMap<String, Decimal>,
    new: &BTreeMap<String, Decimal>,
    q: &BTreeMap<String, Decimal>,
    ctx: &Context,
) -> Vec<ResourceChange> {
    let mut keys: Vec<&String> = cur.keys().chain(new.keys()).chain(q.keys()).collect();
    keys.sort_by_key(|k| ctx.schemas.catalogue.resource_order(k));
    keys.dedup();
    let cap = ctx.schemas.policy.quota_cap_percent;
    keys.into_iter()
        .map(|k| {
            let get = |m: &BTreeMap<String, Decimal>| m.get(k).copied().unwrap_or_default();
            let (current, proposed, quota) = (get(cur), get(new), get(q));
            let percent_of_quota = if quota.is_zero() {
                None
            } else {
                percent(proposed, quota, cap)
            };
            // Giving back is always allowed; growth must stay within the cap.
            let within_cap =
                proposed <= current || cap_limit(quota, cap).is_none_or(|limit| proposed <= limit);
            ResourceChange {
                key: k.clone(),
                name: ctx.schemas.catalogue.resource_name(k),
                current,
                proposed,
                quota,
                percent_of_quota,
                within_cap,
            }
        })
        .collect()
}

fn warn_mismatch(
    s: &BTreeMap<String, Decimal>,
    l: &BTreeMap<String, Decimal>,
    located: &Located,
    ctx: &Context,
    sink: &mut Sink,
) {
    let mut keys: Vec<&String> = s.keys().chain(l.keys()).collect();
    keys.sort();
    keys.dedup();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let (a, b) = (
                s.get(k).copied().unwrap_or_default(),
                l.get(k).copied().unwrap_or_default(),
            );
            (a != b).then(|| {
                format!(
                    "{}:表中 {a},已登记 {b}",
                    ctx.schemas.catalogue.resource_name(k)
                )
            })
        })
        .collect();
    if !diffs.is_empty() {
        let d = Diagnostic::warning(
            "policy.current_mismatch",
            format!("“政务云资源现状”与已登记的资源不一致:{}", diffs.join(";")),
        )
        .hint("请按正式协议及已批准的变更填写现状;核对时以区科创服务中心登记的资源为准");
        sink.push(d, section_cell(located, "政务云资源现状"), "政务云资源现状");
    }
}

/// Where a resource is entered: for host figures, the cell of the first
/// host row that changed (its column, or its 台数 when only that changed;
/// in a 附件1 the first row giving the figure); for a service, its 变更后数量
/// on the 附件4 or its 数量 on the 附件1.
fn resource_cell(located: &Located, ctx: &Context, key: &str) -> Option<(u32, u32)> {
    let column = match key {
        "host.cpu" => Some("cpu"),
        "host.memory" => Some("memory_gb"),
        "host.system_disk" => Some("system_disk_gb"),
        "host.data_disk" => Some("data_disk_gb"),
        _ => None,
    };
    if let Some(col) = column {
        return host_cell(located, col);
    }
    if let Some(s) = located
        .services
        .iter()
        .find(|s| s.key.as_deref() == Some(key))
    {
        return Some(s.qty.pos);
    }
    let rows = located.other_services.as_ref()?;
    rows.iter()
        .find(|r| {
            let name = r.cells.get("name").and_then(|s| s.value).map(|v| v.as_text());
            matches!(name.map(|n| ctx.schemas.catalogue.lookup(&n)), Some(Lookup::Found(i)) if i.key == key)
        })
        .and_then(|r| r.cells.get("after"))
        .map(|s| s.pos)
}

fn host_cell(located: &Located, col: &str) -> Option<(u32, u32)> {
    let table = |k: &str| located.tables.get(k).and_then(|t| t.as_ref());
    let text = |r: Option<&Row>, c: &str| {
        r.and_then(|r| r.cells.get(c))
            .and_then(|s| s.value)
            .map(|v| v.as_text())
    };
    let filled = |r: &Row| {
        r.cells
            .get(col)
            .filter(|s| s.value.is_some())
            .map(|s| s.pos)
    };
    let Some(proposed) = table("proposed_hosts") else {
        return table("hosts")?.iter().find_map(filled);
    };
    let current = table("current_hosts");
    let before = |i: usize| current.and_then(|rows| rows.get(i));
    let changed = proposed.iter().enumerate().find_map(|(i, r)| {
        if text(Some(r), col) != text(before(i), col) {
            filled(r)
        } else if text(Some(r), "count") != text(before(i), "count") {
            r.cells.get("count").map(|s| s.pos)
        } else {
            None
        }
    });
    changed.or_else(|| proposed.iter().find_map(filled))
}
