//! Recording facts (agreements, deliveries, platform entries, terminations,
//! codes) and correcting them (revoke, correct a date), each with the
//! 细则's checks of dates and order. A refused date or order can be
//! recorded anyway with `--override REASON`; the log keeps the reason.

use chrono::NaiveDate;

use super::view::{kind_name, Life};
use super::{future_warning, OpError, OpResult, Recorded, State, Transition};
use crate::ledger::{Agreement, AgreementKind, Ledger, Project};
use crate::schema::Policy;
use crate::settle::calendar::Calendar;
use crate::settle::test_period_end;

/// What every recording operation works with.
pub struct Desk<'a> {
    pub ledger: &'a Ledger,
    pub policy: &'a Policy,
    pub calendar: &'a Calendar,
    /// Today (`--on`, else the computer's date): dates far after it are warned.
    pub today: NaiveDate,
}

impl Desk<'_> {
    fn overriding(&self) -> bool {
        self.ledger.recording().override_reason.is_some()
    }

    /// A refusal of date or order, unless overridden (then a warning).
    fn check(&self, ok: bool, refusal: OpError, warnings: &mut Vec<String>) -> OpResult<()> {
        if ok {
            return Ok(());
        }
        match (self.overriding(), refusal) {
            (true, OpError::Refused { reason, .. }) => {
                warnings.push(format!(
                    "例外登记(--override:{}):{reason}",
                    self.ledger
                        .recording()
                        .override_reason
                        .clone()
                        .unwrap_or_default()
                ));
                Ok(())
            }
            (
                false,
                OpError::Refused {
                    reason, conflicts, ..
                },
            ) => Err(OpError::Refused {
                reason,
                conflicts,
                overridable: true,
            }),
            (_, e) => Err(e),
        }
    }

    /// The delivery term's deadline after `date`, "(暂定)" when the
    /// calendar does not cover it.
    pub fn due(&self, date: NaiveDate) -> (NaiveDate, bool) {
        let d = self
            .calendar
            .deadline(date, self.policy.delivery_working_days);
        (d.date, d.missing.is_some())
    }

    /// What the provider must do by when, for an agreement signed on `date`.
    fn delivery_line(&self, provider: &str, date: NaiveDate, task: &str) -> String {
        let (due, provisional) = self.due(date);
        format!(
            "服务商“{provider}”最迟应于 {due}{} {task}(签订后 {} 个工作日内)。",
            if provisional { "(暂定)" } else { "" },
            self.policy.delivery_working_days
        )
    }

    /// Working days after `due` up to and including `date`.
    pub fn working_days_late(&self, due: NaiveDate, date: NaiveDate) -> u32 {
        let mut n = 0;
        let mut d = due;
        while d < date {
            let Some(next) = d.succ_opt() else { break };
            d = next;
            let working = self
                .calendar
                .is_working_day(d)
                .unwrap_or_else(|_| !matches!(d.format("%u").to_string().as_str(), "6" | "7"));
            if working {
                n += 1;
            }
        }
        n
    }
}

fn on_of(desk: &Desk, date: NaiveDate) -> NaiveDate {
    desk.today.max(date)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    desk: &Desk,
    project: &Project,
    before: State,
    on: NaiveDate,
    event: i64,
    lines: Vec<String>,
    mut warnings: Vec<String>,
    date: Option<(&str, NaiveDate)>,
) -> OpResult<Recorded> {
    let (label, transition) = transition(desk, project, before, on)?;
    if let Some((what, d)) = date {
        warnings.extend(future_warning(what, d, desk.today));
    }
    Ok(Recorded {
        event,
        project: label,
        transition: Some(transition),
        lines,
        warnings,
    })
}

/// What a recording made of `project` (in state `before` on `on`): its
/// label and state as the ledger now has them.
pub fn transition(
    desk: &Desk,
    project: &Project,
    before: State,
    on: NaiveDate,
) -> OpResult<(String, Transition)> {
    let projects = desk.ledger.projects()?;
    let reloaded = projects
        .all()
        .iter()
        .chain(projects.revoked())
        .find(|p| p.id == project.id)
        .unwrap_or(project);
    let after = Life::load(desk.ledger, reloaded)?.state(on);
    Ok((
        reloaded.label(),
        Transition {
            from: before,
            to: after,
        },
    ))
}

/// `ledger test-signed`: the 附件2, test period `months`.
pub fn test_signed(
    desk: &Desk,
    project: &Project,
    date: NaiveDate,
    months: u32,
) -> OpResult<Recorded> {
    desk.policy
        .test_months
        .check(months)
        .map_err(OpError::Invalid)?;
    let life = Life::load(desk.ledger, project)?;
    let label = project.label();
    if let Some(f) = life.formal() {
        return Err(OpError::conflict(
            format!("项目 {label} 已登记正式协议({} 签订)", f.signed),
            f.signed,
        ));
    }
    if let Some(t) = life.test() {
        return Err(OpError::conflict(
            format!(
                "项目 {label} 已登记测试协议({} 签订,第 {} 号记录);日期有误请用 zwyun ledger correct 更正",
                t.signed,
                t.event_id.unwrap_or_default()
            ),
            t.signed,
        ));
    }
    let mut warnings = Vec::new();
    if let Some(approved) = project.approved_on {
        desk.check(
            date >= approved,
            OpError::conflict(
                format!("测试协议签订日 {date} 早于项目 {label} 配额的批准日 {approved}"),
                approved,
            ),
            &mut warnings,
        )?;
    }
    let ends = test_period_end(date, months).ok_or("测试期结束日期超出范围".to_string())?;
    let on = on_of(desk, date);
    let before = life.state(on);
    let event = desk.ledger.record_agreement(
        project.id,
        &Agreement {
            event_id: None,
            kind: AgreementKind::Test,
            signed: date,
            months: Some(months),
            ends: Some(ends),
        },
    )?;
    let lines = vec![
        format!("已登记项目 {label} 的测试协议:{date} 签订,测试期 {months} 个月,至 {ends} 届满(测试资源不纳入计量)。"),
        desk.delivery_line(&project.provider, date, "完成全部测试资源的发放"),
    ];
    finish(
        desk,
        project,
        before,
        on,
        event,
        lines,
        warnings,
        Some(("测试协议签订日", date)),
    )
}

/// `ledger formal-signed`: the 附件3, 起租.
pub fn formal_signed(desk: &Desk, project: &Project, date: NaiveDate) -> OpResult<Recorded> {
    let life = Life::load(desk.ledger, project)?;
    let label = project.label();
    if let Some(f) = life.formal() {
        return Err(OpError::conflict(
            format!(
                "项目 {label} 已登记正式协议({} 签订,第 {} 号记录);日期有误请用 zwyun ledger correct 更正",
                f.signed,
                f.event_id.unwrap_or_default()
            ),
            f.signed,
        ));
    }
    let mut warnings = Vec::new();
    let test = life.test().cloned();
    if let Some(t) = &test {
        desk.check(
            date >= t.signed,
            OpError::conflict(
                format!(
                    "{date} 早于项目 {label} 测试协议的签订日期 {};正式协议须在测试期满后签订,请核对日期",
                    t.signed
                ),
                t.signed,
            ),
            &mut warnings,
        )?;
        if let Some(ends) = t.ends.filter(|_| date >= t.signed) {
            let earliest = ends.succ_opt().unwrap_or(ends);
            desk.check(
                date > ends,
                OpError::conflict(
                    format!(
                        "项目 {label} 的测试期至 {ends} 届满,正式协议须在测试期满后签订(最早 {earliest});{date} 尚在测试期内(细则 五(三))"
                    ),
                    ends,
                ),
                &mut warnings,
            )?;
        }
    }
    if let Some(approved) = project.approved_on {
        desk.check(
            date >= approved,
            OpError::conflict(
                format!("正式协议签订日 {date} 早于项目 {label} 配额的批准日 {approved}"),
                approved,
            ),
            &mut warnings,
        )?;
    }
    let on = on_of(desk, date);
    let before = life.state(on);
    let event = desk.ledger.record_agreement(
        project.id,
        &Agreement {
            event_id: None,
            kind: AgreementKind::Formal,
            signed: date,
            months: None,
            ends: None,
        },
    )?;
    let mut lines = vec![format!(
        "已登记项目 {label} 的正式协议:{date} 签订,自该日起租并纳入计量。"
    )];
    if test.is_none() {
        lines.push("(该项目未登记测试协议。)".to_string());
    }
    lines.push(desk.delivery_line(&project.provider, date, "完成正式资源的发放或调整"));
    finish(
        desk,
        project,
        before,
        on,
        event,
        lines,
        warnings,
        Some(("正式协议签订日", date)),
    )
}

/// Which delivery: test, formal, change.
pub const DELIVERY_KINDS: [&str; 3] = ["test", "formal", "change"];
/// Which platform entry: quota, test, formal.
pub const ENTRY_KINDS: [&str; 3] = ["quota", "test", "formal"];

/// `ledger delivered`: on time, or how many working days late.
pub fn delivered(
    desk: &Desk,
    project: &Project,
    kind: &str,
    date: NaiveDate,
) -> OpResult<Recorded> {
    let life = Life::load(desk.ledger, project)?;
    let label = project.label();
    let Some(from) = delivery_from(&life, kind, date) else {
        return Err(OpError::refused(match kind {
            "test" => format!("项目 {label} 尚未登记测试协议,无测试资源可发放"),
            "formal" => format!("项目 {label} 尚未登记正式协议,无正式资源可发放"),
            _ => format!("项目 {label} 在 {date} 及之前没有已生效的变更"),
        }));
    };
    let mut warnings = Vec::new();
    desk.check(
        date >= from,
        OpError::conflict(
            format!("发放日期 {date} 早于{}的日期 {from}", what_from(kind)),
            from,
        ),
        &mut warnings,
    )?;
    let (due, provisional) = desk.due(from);
    let late = desk.working_days_late(due, date);
    let timing = if late == 0 {
        format!("按期(最迟 {due})")
    } else {
        format!("逾期 {late} 个工作日(最迟 {due})")
    };
    let timing = if provisional {
        format!("{timing},到期日暂定")
    } else {
        timing
    };
    let on = on_of(desk, date);
    let before = life.state(on);
    let event = desk
        .ledger
        .record_fact(project.id, "delivered", kind, date, None, &timing)?;
    let lines = vec![format!(
        "已登记项目 {label} 的{}资源发放:{date},{timing}。",
        kind_name(kind)
    )];
    finish(
        desk,
        project,
        before,
        on,
        event,
        lines,
        warnings,
        Some(("发放日期", date)),
    )
}

/// The date a delivery of `kind` on `date` counts its term from: the
/// agreement's signing, or the latest change in force by then.
fn delivery_from(life: &Life, kind: &str, date: NaiveDate) -> Option<NaiveDate> {
    match kind {
        "test" => life.test().map(|t| t.signed),
        "formal" => life.formal().map(|f| f.signed),
        _ => life
            .configs
            .iter()
            .filter_map(|v| v.effective)
            .filter(|d| *d <= date)
            .max(),
    }
}

/// A delivery made after its term.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LateDelivery {
    pub project: String,
    pub kind: String,
    pub date: NaiveDate,
    pub due: NaiveDate,
    pub working_days_late: u32,
}

/// The late deliveries of `provider`'s projects recorded in the service
/// year from `start` to `end`: what 附件5 A3 (服务任务完成及时性) counts.
pub fn late_deliveries(
    desk: &Desk,
    provider: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> OpResult<Vec<LateDelivery>> {
    let wanted = crate::names::name_key(provider);
    let mut out = Vec::new();
    for life in super::view::lives(desk.ledger)? {
        if crate::names::name_key(&life.project.provider) != wanted {
            continue;
        }
        for f in life.facts_of("delivered") {
            if f.date < start || f.date > end {
                continue;
            }
            let Some(from) = delivery_from(&life, &f.subkind, f.date) else {
                continue;
            };
            let (due, _) = desk.due(from);
            let late = desk.working_days_late(due, f.date);
            if late > 0 {
                out.push(LateDelivery {
                    project: life.project.label(),
                    kind: f.subkind.clone(),
                    date: f.date,
                    due,
                    working_days_late: late,
                });
            }
        }
    }
    Ok(out)
}

fn what_from(kind: &str) -> &'static str {
    match kind {
        "test" => "测试协议签订",
        "formal" => "正式协议签订",
        _ => "变更生效",
    }
}

/// `ledger entered`: the quota, the test or the formal work order entered
/// into the 市级政务云管理平台.
pub fn entered(desk: &Desk, project: &Project, kind: &str, date: NaiveDate) -> OpResult<Recorded> {
    let life = Life::load(desk.ledger, project)?;
    let label = project.label();
    if let Some(f) = life.facts_of("entered").find(|f| f.subkind == kind) {
        return Err(OpError::conflict(
            format!(
                "项目 {label} 的{}已于 {} 登记录入(第 {} 号记录)",
                kind_name(kind),
                f.date,
                f.event_id
            ),
            f.date,
        ));
    }
    let from = match kind {
        "quota" => project.approved_on,
        "test" => life.test().map(|t| t.signed),
        _ => life.formal().map(|f| f.signed),
    };
    let mut warnings = Vec::new();
    match from {
        None if kind != "quota" => {
            return Err(OpError::refused(format!(
                "项目 {label} 尚未登记{}协议,无工单可录入",
                kind_name(kind)
            )))
        }
        Some(from) => desk.check(
            date >= from,
            OpError::conflict(
                format!("录入日期 {date} 早于{}的日期 {from}", kind_name(kind)),
                from,
            ),
            &mut warnings,
        )?,
        None => {}
    }
    let on = on_of(desk, date);
    let before = life.state(on);
    let event = desk
        .ledger
        .record_fact(project.id, "entered", kind, date, None, "")?;
    let lines = vec![format!(
        "已登记项目 {label} 的{}录入市级政务云管理平台:{date}。",
        kind_name(kind)
    )];
    finish(
        desk,
        project,
        before,
        on,
        event,
        lines,
        warnings,
        Some(("录入日期", date)),
    )
}

/// `ledger terminate`: the project ends on `date` (metered to the day before).
pub fn terminate(
    desk: &Desk,
    project: &Project,
    date: NaiveDate,
    reason: &str,
) -> OpResult<Recorded> {
    let life = Life::load(desk.ledger, project)?;
    let label = project.label();
    if let Some(d) = life.terminated() {
        return Err(OpError::conflict(format!("项目 {label} 已于 {d} 终止"), d));
    }
    let mut warnings = Vec::new();
    if let Some(approved) = project.approved_on {
        desk.check(
            date >= approved,
            OpError::conflict(
                format!("终止日期 {date} 早于项目 {label} 配额的批准日 {approved}"),
                approved,
            ),
            &mut warnings,
        )?;
    }
    let on = on_of(desk, date);
    let before = life.state(on);
    let event = desk
        .ledger
        .record_fact(project.id, "terminated", "", date, Some(reason), "")?;
    let metered = match life.formal() {
        Some(_) => format!("资源计量至 {}。", date.pred_opt().unwrap_or(date)),
        None => "(未签订正式协议,无计量。)".to_string(),
    };
    let lines = vec![format!(
        "已登记项目 {label} 自 {date} 终止(原因:{reason});{metered}"
    )];
    finish(
        desk,
        project,
        before,
        on,
        event,
        lines,
        warnings,
        Some(("终止日期", date)),
    )
}

/// `ledger set-code`.
pub fn set_code(desk: &Desk, project: &Project, code: &str) -> OpResult<Recorded> {
    let code = code.trim();
    if code.is_empty() {
        return Err(OpError::refused("项目编号不能为空"));
    }
    let life = Life::load(desk.ledger, project)?;
    let before = life.state(desk.today);
    let old = project.label();
    let event = desk.ledger.set_code(project.id, code)?;
    let lines = vec![match &project.code {
        Some(c) => format!("已将项目 {old} 的项目编号由“{c}”改为“{code}”。"),
        None => format!("已为项目 {old} 登记项目编号“{code}”。"),
    }];
    finish(
        desk,
        project,
        before,
        desk.today,
        event,
        lines,
        Vec::new(),
        None,
    )
}

/// The project an event concerns, revoked or not.
fn project_of(ledger: &Ledger, id: Option<i64>) -> OpResult<Option<Project>> {
    let projects = ledger.projects()?;
    Ok(id.and_then(|id| {
        projects
            .all()
            .iter()
            .chain(projects.revoked())
            .find(|p| p.id == id)
            .cloned()
    }))
}

const REVOCABLE: [&str; 8] = [
    "approve_quota",
    "revise_quota",
    "approve_change",
    "test_signed",
    "formal_signed",
    "delivered",
    "entered",
    "terminated",
];

/// `ledger revoke EVENT --reason`.
pub fn revoke(desk: &Desk, id: i64, reason: &str) -> OpResult<Recorded> {
    let (event, revoked) = desk.ledger.event(id)?;
    if let Some(r) = revoked {
        return Err(OpError::refused(format!(
            "第 {id} 号记录已于 {} 由 {} 撤销(第 {} 号记录)",
            r.at, r.by, r.id
        )));
    }
    if !REVOCABLE.contains(&event.action.as_str()) {
        return Err(OpError::refused(format!(
            "第 {id} 号记录({})不能撤销;可撤销的是批准、协议、变更、发放、录入与终止",
            event.action_name()
        )));
    }
    let project = project_of(desk.ledger, event.project_id)?
        .ok_or_else(|| OpError::refused(format!("第 {id} 号记录不属于任何项目")))?;
    let life = Life::load(desk.ledger, &project)?;
    if event.action == "approve_quota" && !life.agreements.is_empty() {
        return Err(OpError::refused(format!(
            "项目 {} 已登记协议,不能撤销其配额批准;请先撤销协议(zwyun ledger log --project {} 查看记录编号)",
            project.label(),
            project.label()
        )));
    }
    let on = desk.today;
    let before = life.state(on);
    let new = desk.ledger.revoke(&event, reason)?;
    let lines = vec![format!(
        "已撤销第 {id} 号记录({}{}),原因:{reason}。原记录保留在历史中。",
        event.action_name(),
        event.date.map(|d| format!(",{d}")).unwrap_or_default()
    )];
    finish(desk, &project, before, on, new, lines, Vec::new(), None)
}

const CORRECTABLE: [&str; 8] = REVOCABLE;

/// `ledger correct EVENT --date D --reason`.
pub fn correct(desk: &Desk, id: i64, date: NaiveDate, reason: &str) -> OpResult<Recorded> {
    let (event, revoked) = desk.ledger.event(id)?;
    if let Some(r) = revoked {
        return Err(OpError::refused(format!(
            "第 {id} 号记录已撤销(第 {} 号记录),不能更正",
            r.id
        )));
    }
    if !CORRECTABLE.contains(&event.action.as_str()) {
        return Err(OpError::refused(format!(
            "第 {id} 号记录({})没有可更正的日期",
            event.action_name()
        )));
    }
    let project = project_of(desk.ledger, event.project_id)?
        .ok_or_else(|| OpError::refused(format!("第 {id} 号记录不属于任何项目")))?;
    let life = Life::load(desk.ledger, &project)?;
    let mut warnings = Vec::new();
    // The corrected date obeys the order rules the original did.
    let label = project.label();
    let approved = project.approved_on;
    match event.action.as_str() {
        "test_signed" | "formal_signed" => {
            if let Some(a) = approved {
                desk.check(
                    date >= a,
                    OpError::conflict(
                        format!("更正后的签订日 {date} 早于项目 {label} 配额的批准日 {a}"),
                        a,
                    ),
                    &mut warnings,
                )?;
            }
            if event.action == "formal_signed" {
                if let Some(ends) = life.test().and_then(|t| t.ends) {
                    desk.check(
                        date > ends,
                        OpError::conflict(
                            format!(
                                "更正后的签订日 {date} 尚在项目 {label} 的测试期内(至 {ends} 届满)"
                            ),
                            ends,
                        ),
                        &mut warnings,
                    )?;
                }
            } else if let Some(f) = life.formal() {
                desk.check(
                    date <= f.signed,
                    OpError::conflict(
                        format!(
                            "更正后的测试协议签订日 {date} 晚于项目 {label} 正式协议的签订日 {}",
                            f.signed
                        ),
                        f.signed,
                    ),
                    &mut warnings,
                )?;
            }
        }
        "approve_change" => {
            if let Some(f) = life.formal() {
                desk.check(
                    date >= f.signed,
                    OpError::conflict(
                        format!(
                            "更正后的生效日期 {date} 早于项目 {label} 正式协议的签订日 {}",
                            f.signed
                        ),
                        f.signed,
                    ),
                    &mut warnings,
                )?;
            }
        }
        _ => {}
    }
    let ends = match event.action.as_str() {
        "test_signed" => life
            .agreements
            .iter()
            .find(|a| a.event_id == Some(id))
            .and_then(|a| a.months)
            .and_then(|m| test_period_end(date, m)),
        _ => None,
    };
    let on = on_of(desk, date);
    let before = life.state(on);
    let new = desk.ledger.correct(&event, date, ends, reason)?;
    let mut lines = vec![format!(
        "已更正第 {id} 号记录({})的日期:{} → {date},原因:{reason}。原记录保留在历史中。",
        event.action_name(),
        event
            .date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "(无)".into())
    )];
    if let Some(ends) = ends {
        lines.push(format!("测试期相应改为至 {ends} 届满。"));
    }
    finish(
        desk,
        &project,
        before,
        on,
        new,
        lines,
        warnings,
        Some(("更正后的日期", date)),
    )
}

/// The 细则's order for approving an 附件4 of `project` from `effective`:
/// only for a project with a formal agreement, and not before it (五(四)).
/// Returns the warnings (an override, a far date).
pub fn check_change(desk: &Desk, project: &Project, effective: NaiveDate) -> OpResult<Vec<String>> {
    let life = Life::load(desk.ledger, project)?;
    let label = project.label();
    let mut warnings = Vec::new();
    match life.formal() {
        None => desk.check(
            false,
            OpError::refused(format!(
                "项目 {label} 尚未登记正式协议,附件4 变更须在正式协议签订后提出(细则 五(四));测试期内的调整请在签订正式协议时按测试结果确定"
            )),
            &mut warnings,
        )?,
        Some(f) => desk.check(
            effective >= f.signed,
            OpError::conflict(
                format!(
                    "变更生效日期 {effective} 早于项目 {label} 正式协议的签订日 {}",
                    f.signed
                ),
                f.signed,
            ),
            &mut warnings,
        )?,
    }
    if let Some(d) = life.terminated().filter(|d| *d <= effective) {
        return Err(OpError::conflict(format!("项目 {label} 已于 {d} 终止"), d));
    }
    warnings.extend(future_warning("变更生效日期", effective, desk.today));
    Ok(warnings)
}

/// The state a project is in on `on`, for the sentence after an approval.
pub fn state_on(ledger: &Ledger, project: &Project, on: NaiveDate) -> OpResult<State> {
    Ok(Life::load(ledger, project)?.state(on))
}

/// The 细则's order for a 配额调整 (a new 附件1 of `project` from `date`):
/// not for a project that has ended, not before its approval, and with the
/// same provider. Returns the warnings and whether the revision comes
/// before the formal agreement (五(三): then it is also the configuration
/// the formal agreement starts with).
pub fn check_revision(
    desk: &Desk,
    project: &Project,
    provider: &str,
    date: NaiveDate,
) -> OpResult<(Vec<String>, bool)> {
    let life = Life::load(desk.ledger, project)?;
    let label = project.label();
    if let Some(d) = life.terminated() {
        return Err(OpError::conflict(
            format!("项目 {label} 已于 {d} 终止,不能调整配额;如需继续使用,请按新项目提交附件1"),
            d,
        ));
    }
    let named = crate::names::name_key(provider);
    if named != crate::names::name_key(&project.provider) {
        return Err(OpError::refused(format!(
            "附件1 的服务商“{provider}”与项目 {label} 登记的服务商“{}”不同;配额调整不能更换服务商",
            project.provider
        )));
    }
    let mut warnings = Vec::new();
    if let Some(approved) = project.approved_on {
        desk.check(
            date >= approved,
            OpError::conflict(
                format!("配额调整的生效日期 {date} 早于项目 {label} 配额的批准日 {approved}"),
                approved,
            ),
            &mut warnings,
        )?;
    }
    warnings.extend(future_warning("配额调整的生效日期", date, desk.today));
    let before_formal = life.formal().is_none_or(|f| date <= f.signed);
    Ok((warnings, before_formal))
}
