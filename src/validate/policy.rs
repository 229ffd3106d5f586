//! The district's rules (细则 二、五), parameters from `policy.yaml`.

use rust_decimal::Decimal;
use serde::Serialize;

use super::{field_cell, Context, Sink};
use crate::diag::Diagnostic;
use crate::model::{Application, Change, Config};
use crate::read::locate::Located;
use crate::schema::{Lookup, Schemas};

/// One resource of a change: 现状 → 变更后, against the approved quota.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceChange {
    pub key: String,
    pub name: String,
    pub current: Decimal,
    pub proposed: Decimal,
    pub quota: Decimal,
    /// 变更后 as a percentage of the quota (None when the quota is 0).
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

pub fn check_application(app: &Application, located: &Located, schemas: &Schemas, sink: &mut Sink) {
    check_scope(&app.fields, located, schemas, sink);
    check_min_rows(located, schemas, sink);
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
    check_min_rows(located, ctx.schemas, sink);
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
    let key = change.header.project_key();
    if key.unit.is_empty() && key.code.is_none() {
        return Vec::new();
    }
    let Some(project) = ctx.projects.find(&key) else {
        let d = Diagnostic::error(
            "policy.project_unknown",
            format!("项目“{}”尚未登记批准配额,无法核对变更", key.label()),
        )
        .hint("请核对项目编号(或申请单位与项目名称)是否与批准的附件1 一致;新项目请先提交附件1");
        let cell =
            field_cell(located, "project_code").or_else(|| field_cell(located, "project_name"));
        sink.push(d, cell, "项目编号");
        return Vec::new();
    };
    let stated = change.stated_current(&project.current);
    warn_mismatch(&stated, &project.current, located, ctx, sink);
    let proposed = change.proposed_config(&project.current);
    let changes = compare(&project.current, &proposed, &project.quota, ctx);
    for c in changes.iter().filter(|c| !c.within_cap) {
        let cap = ctx.schemas.policy.quota_cap_percent;
        let limit = (c.quota * cap / Decimal::ONE_HUNDRED).normalize();
        let pct = c
            .percent_of_quota
            .map(|p| format!("{p}%"))
            .unwrap_or_else(|| "无配额".into());
        let d = Diagnostic::error(
            "policy.quota",
            format!(
                "变更后{}总量 {},为批准配额 {} 的 {pct},超过上限 {cap}%(最多 {limit})",
                c.name, c.proposed, c.quota
            ),
        )
        .hint(format!("扩容后项目资源总量不得超过配额的 {cap}%(细则 五(四));请减少扩容量,或就超出部分重新提交附件1 申请配额"));
        sink.push(d, resource_cell(located, ctx, &c.key), &c.name);
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

/// Each resource present in any of the three configurations.
fn compare(
    current: &Config,
    proposed: &Config,
    quota: &Config,
    ctx: &Context,
) -> Vec<ResourceChange> {
    let (cur, new, q) = (current.totals(), proposed.totals(), quota.totals());
    let mut keys: Vec<&String> = cur.keys().chain(new.keys()).chain(q.keys()).collect();
    keys.sort_by_key(|k| ctx.schemas.catalogue.resource_order(k));
    keys.dedup();
    let cap = ctx.schemas.policy.quota_cap_percent;
    keys.into_iter()
        .map(|k| {
            let get = |m: &std::collections::BTreeMap<String, Decimal>| {
                m.get(k).copied().unwrap_or_default()
            };
            let (current, proposed, quota) = (get(&cur), get(&new), get(&q));
            let percent_of_quota = (!quota.is_zero()).then(|| {
                (proposed * Decimal::ONE_HUNDRED / quota)
                    .round_dp(1)
                    .normalize()
            });
            // Giving back is always allowed; growth must stay within the cap.
            let within_cap = proposed <= current || proposed * Decimal::ONE_HUNDRED <= quota * cap;
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
    stated: &Config,
    ledger: &Config,
    located: &Located,
    ctx: &Context,
    sink: &mut Sink,
) {
    let (s, l) = (stated.totals(), ledger.totals());
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

/// Where a resource is entered on the 附件4: the proposed host column of
/// the first row, or the 变更后数量 of the service's row.
fn resource_cell(located: &Located, ctx: &Context, key: &str) -> Option<(u32, u32)> {
    let column = match key {
        "host.cpu" => Some("cpu"),
        "host.memory" => Some("memory_gb"),
        "host.system_disk" => Some("system_disk_gb"),
        "host.data_disk" => Some("data_disk_gb"),
        _ => None,
    };
    if let Some(col) = column {
        let rows = located.tables.get("proposed_hosts")?.as_ref()?;
        return rows.iter().find_map(|r| {
            r.cells
                .get(col)
                .filter(|s| s.value.is_some())
                .map(|s| s.pos)
        });
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
