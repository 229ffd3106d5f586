//! The files one submission produces: for a valid 附件1 a receipt and the
//! drafts; for a valid 附件4 the change summary and the updated 开通情况表;
//! otherwise the report for the unit and a summary to paste into a reply.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Env;
use crate::ledger::Projects;
use crate::model::{Application, Change, Form};
use crate::names::write_replace;
use crate::render;
use crate::report;
use crate::validate::{Outcome, Status};

/// Why an output was not written: the environment (a folder that cannot
/// be written, a full disk), or something in the submission.
#[derive(Debug)]
pub enum OutError {
    Io(PathBuf, std::io::Error),
    Other(String),
}

impl From<String> for OutError {
    fn from(what: String) -> OutError {
        OutError::Other(what)
    }
}

type Res<T> = Result<T, OutError>;

/// Writes every output of `outcome` into `dir` (each file atomically) and
/// returns their paths.
pub fn write(
    outcome: &Outcome,
    dir: &Path,
    env: &Env,
    months: u32,
    projects: &Projects,
    name: &str,
    sha: &str,
) -> Res<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| OutError::Io(dir.to_path_buf(), e))?;
    remove_stale_temporaries(dir);
    let mut out = Out {
        dir,
        files: Vec::new(),
    };
    match (&outcome.model, outcome.status) {
        (Some(Form::Annex1(app)), Status::Valid) => {
            application(&mut out, outcome, app, env, months, projects, name, sha)?
        }
        (Some(Form::Annex4(change)), Status::Valid) => {
            change_outputs(&mut out, outcome, change, env, projects, name, sha)?
        }
        _ => rejected(&mut out, outcome, name)?,
    }
    Ok(out.files)
}

struct Out<'a> {
    dir: &'a Path,
    files: Vec<PathBuf>,
}

impl Out<'_> {
    /// Writes one output under a safe name that no other output of this
    /// submission has (compared as Windows does, ignoring case); returns
    /// the name used.
    fn put(&mut self, name: &str, bytes: &[u8]) -> Res<String> {
        let name = self.unused_name(&crate::names::safe_file_name(name));
        let path = self.dir.join(&name);
        write_replace(&path, bytes, false).map_err(|e| OutError::Io(path.clone(), e))?;
        self.files.push(path);
        Ok(name)
    }

    fn unused_name(&self, name: &str) -> String {
        let taken = |n: &str| {
            self.files.iter().any(|f| {
                f.file_name()
                    .is_some_and(|f| f.to_string_lossy().to_lowercase() == n.to_lowercase())
            })
        };
        if !taken(name) {
            return name.to_string();
        }
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        (2..)
            .map(|i| crate::names::file_name(&format!("{stem}-{i}"), ext))
            .find(|n| !taken(n))
            .unwrap_or_else(|| name.to_string())
    }
}

/// A crash while writing leaves a temporary behind; the rerun cleans it.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn application(
    out: &mut Out,
    outcome: &Outcome,
    app: &Application,
    env: &Env,
    months: u32,
    projects: &Projects,
    name: &str,
    sha: &str,
) -> Res<()> {
    // A project that has an agreement gets a 配额调整, not a new test.
    let revision = match crate::identity::identify(projects, &app.header.project_key()) {
        crate::identity::Identity::Found(p) if !p.agreements.is_empty() => Some(p),
        _ => None,
    };
    let drafts = match revision {
        Some(p) => Drafts::Revision(p.label()),
        None => match draft_documents(app, env, months) {
            Ok(files) => Drafts::Written(files),
            Err(e) => Drafts::Failed(e.to_string()),
        },
    };
    let mut text = receipt(outcome, app, env, name, sha, &drafts);
    if let Drafts::Written(_) = drafts {
        if let Some(warning) = env
            .renderer
            .parties()
            .sample_warning_for(&app.header.provider)
        {
            let _ = write!(text, "\n注意:{warning}\n");
        }
    }
    out.put("受理回执.txt", report::zh_punct(&text).as_bytes())?;
    match drafts {
        Drafts::Written(files) => {
            for (n, bytes) in files {
                out.put(&n, &bytes)?;
            }
        }
        Drafts::Failed(e) => {
            out.put("协议草稿未生成.txt", format!("申请表校验通过,但协议草稿未能生成:{e}\n请区科创服务中心核对后用 zwyun render 重新生成。\n").as_bytes())?;
        }
        Drafts::Revision(_) => {}
    }
    Ok(())
}

/// What the receipt of a valid 附件1 can say about the documents.
enum Drafts {
    /// The drafts of the 附件2 and the 开通情况表, written beside it.
    Written(Vec<(String, Vec<u8>)>),
    /// They could not be made (why): the receipt promises none.
    Failed(String),
    /// A 配额调整 of this project: no test agreement to draft.
    Revision(String),
}

fn draft_documents(
    app: &Application,
    env: &Env,
    months: u32,
) -> Result<Vec<(String, Vec<u8>)>, render::RenderError> {
    let agreement = env.renderer.test_agreement(app, months)?;
    let table = render::opening_table(app, &app.config, env.schemas)?;
    Ok(vec![
        (
            render::output_name(app, "测试资源服务使用意向协议(草稿)", "docx"),
            agreement,
        ),
        (
            render::output_name(app, "政务云资源开通情况表(草稿)", "xlsx"),
            table,
        ),
    ])
}

fn header_lines(s: &mut String, outcome: &Outcome, name: &str, sha: &str) {
    let h = outcome.model.as_ref().map(|m| m.header());
    let _ = writeln!(s, "文件:{name}");
    let _ = writeln!(s, "内容校验码(SHA-256):{sha}");
    let _ = writeln!(s, "受理时间:{}", crate::ledger::now());
    if let Some(h) = h {
        let _ = writeln!(s, "申请单位:{}", h.unit);
        let _ = writeln!(s, "项目名称:{}", h.project_name);
        let _ = writeln!(
            s,
            "项目编号:{}",
            h.project_code.as_deref().unwrap_or("(尚未立项编号)")
        );
        let _ = writeln!(s, "政务云服务商:{}", h.provider);
        let _ = writeln!(s, "上云项目归属:{}    系统架构:{}", h.ownership, h.arch);
    }
}

fn receipt(
    outcome: &Outcome,
    app: &Application,
    env: &Env,
    name: &str,
    sha: &str,
    drafts: &Drafts,
) -> String {
    let mut s = String::from("松江区市政务云资源申请表 受理回执\n\n");
    header_lines(&mut s, outcome, name, sha);
    let warnings = outcome.diags.len();
    let _ = writeln!(
        s,
        "校验结果:通过({warnings} 个警告)\n\n计算资源(每台配置 × 台数):"
    );
    for h in &app.config.hosts {
        let _ = writeln!(
            s,
            "  {} {}核/{}GB,系统盘 {}GB,数据盘 {}GB,{},{} × {} 台{}",
            h.kind,
            h.cpu,
            h.memory_gb,
            h.system_disk_gb,
            h.data_disk_gb,
            h.os,
            h.zone,
            h.count,
            if h.note.is_empty() {
                String::new()
            } else {
                format!("({})", h.note)
            }
        );
    }
    s.push_str("\n申请资源合计:\n");
    // A valid 附件1's totals were computed when it was checked.
    let totals = app.config.totals().unwrap_or_default();
    for (_, name, total) in env.schemas.catalogue.ordered(&totals) {
        let _ = writeln!(s, "  {name}:{total}");
    }
    if let Drafts::Revision(label) = drafts {
        let _ = write!(
            s,
            "\n本表为项目 {label} 的配额调整申请(该项目已签订协议),不再起草测试协议。\n\
             后续办理(《松江区使用市级政务云服务流程细则(试行)》五(三)、五(四)):\n\
             1. 配额调整由区科委会同区科创服务中心审批。\n\
             2. 批准后,本表的资源自生效日起作为项目新的配额,原配额保留备查;尚未签订正式协议的,正式协议按新配额签订。\n\
             3. 已在正式服务中的,如需按新配额增减资源,请提交附件4 变更申请(变更后总量不超过新配额的 {}%)。\n",
            env.schemas.policy.quota_cap_percent
        );
    } else {
        steps(&mut s, env, drafts);
    }
    if !outcome.diags.is_empty() {
        s.push_str("\n警告(不影响受理,请留意):\n");
        for d in &outcome.diags {
            let _ = writeln!(
                s,
                "  {} {}:{}",
                d.cell.as_deref().unwrap_or(""),
                d.message,
                d.hint
            );
        }
    }
    s
}

/// The steps after a new project's approval, with the delivery term.
fn steps(s: &mut String, env: &Env, drafts: &Drafts) {
    let days = env.schemas.policy.delivery_working_days;
    let m = &env.schemas.policy.test_months;
    let draft = match drafts {
        Drafts::Written(_) => "草稿见同一文件夹",
        _ => "草稿未能自动生成,由区科创服务中心另行提供",
    };
    let _ = write!(
        s,
        "\n后续办理与时限(《松江区使用市级政务云服务流程细则(试行)》五):\n\
         1. 配额由区科委会同区科创服务中心审批。\n\
         2. 审批后,单位与服务商签订测试资源服务使用意向协议(附件2,{draft}),协议在区科创服务中心备案;\
         服务商应在协议签订后 {days} 个工作日内完成全部测试资源的发放。\n\
         3. 测试期限 {}~{} 个月,测试资源不纳入计量。\n\
         4. 测试期满且测试通过后,单位、服务商与区科创服务中心三方签订正式协议(附件3,附政务云资源开通情况表);\
         服务商应在正式协议签订后 {days} 个工作日内完成正式资源的发放或调整。\n",
        m.min, m.max
    );
    let today = chrono::Local::now().date_naive();
    let due = env.calendar.deadline(today, days);
    match &due.missing {
        None => {
            let _ = writeln!(
                s,
                "   例:协议若于今日({today})签订,服务商最迟应于 {} 完成资源发放(按法定节假日与调休计算工作日,签订当日不计)。",
                due.date
            );
        }
        Some(missing) => {
            let _ = writeln!(
                s,
                "   例:协议若于今日({today})签订,服务商最迟应于 {}(暂定)完成资源发放(签订当日不计)。\n   说明:{}。",
                due.date,
                missing.provisional_note()
            );
        }
    }
}

fn change_outputs(
    out: &mut Out,
    outcome: &Outcome,
    change: &Change,
    env: &Env,
    projects: &Projects,
    name: &str,
    sha: &str,
) -> Res<()> {
    let mut s = String::from("松江区市政务云资源变更申请表 核对摘要\n\n");
    header_lines(&mut s, outcome, name, sha);
    s.push_str("\n校验结果:通过。变更后资源总量均未超过批准配额的上限。\n\n");
    s.push_str(&report::change_table(&outcome.changes));
    s.push_str("\n本申请经区科创服务中心审核通过后,纳入三方《正式协议》,作为费用结算计量依据(细则 五(四))。\n");
    out.put("变更核对摘要.txt", report::zh_punct(&s).as_bytes())?;
    let book = report::workbook_bytes(outcome).map_err(|e| e.to_string())?;
    out.put("变更核对.xlsx", &book)?;
    let identity = crate::identity::identify(projects, &change.header.project_key());
    if let crate::identity::Identity::Found(project) = identity {
        let config = change.proposed_config(&project.current);
        let table = render::opening_table(&project.application, &config, env.schemas)
            .map_err(|e| e.to_string())?;
        let name = render::output_name(
            &project.application,
            "政务云资源开通情况表(变更后草稿)",
            "xlsx",
        );
        out.put(&name, &table)?;
    }
    Ok(())
}

fn rejected(out: &mut Out, outcome: &Outcome, name: &str) -> Res<()> {
    let mut written = Vec::new();
    for (file, bytes) in report::files(outcome).map_err(|e| e.to_string())? {
        written.push(out.put(&file, &bytes)?);
    }
    let list = written
        .iter()
        .find(|n| n.ends_with(".xlsx"))
        .cloned()
        .unwrap_or_default();
    out.put("回复摘要.txt", reply(outcome, name, &list).as_bytes())?;
    Ok(())
}

/// A short text the clerk pastes into the reply to the unit; `list` is the
/// name of the problem list attached to it.
fn reply(outcome: &Outcome, name: &str, list: &str) -> String {
    let errors = outcome.diags.iter().filter(|d| d.is_error()).count();
    let notes = outcome.diags.len() - errors;
    let what = report::form_name(outcome.form);
    let also = if notes > 0 {
        format!(",另有 {notes} 处提醒(标为“提醒”,不影响受理)")
    } else {
        String::new()
    };
    let mut s = format!(
        "您好!贵单位提交的{what}(文件“{name}”)未通过校验,共 {errors} 处需要修改{also}。各项按表中位置排列:\n"
    );
    for (i, d) in outcome.diags.iter().enumerate() {
        let place = match (&d.sheet, &d.cell) {
            (Some(sh), Some(c)) => format!("{sh} {c}:"),
            _ => String::new(),
        };
        let place = if d.is_error() {
            place
        } else {
            format!("(提醒){place}")
        };
        let _ = writeln!(
            s,
            "{}. {place}{}。{}。",
            i + 1,
            d.message.trim_end_matches('。'),
            d.hint.trim_end_matches('。')
        );
    }
    let _ = writeln!(
        s,
        "\n详细问题清单见附件《{list}》。请修改后重新提交。\n\n上海市松江区科技创新服务中心"
    );
    report::zh_punct(&s)
}

#[cfg(test)]
mod tests {
    use super::Out;

    #[test]
    fn two_outputs_never_share_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Out {
            dir: dir.path(),
            files: Vec::new(),
        };
        let a = out.put("表.xlsx", b"1").unwrap();
        let b = out.put("表.XLSX", b"2").unwrap();
        let c = out.put("表.xlsx", b"3").unwrap();
        assert_eq!(a, "表.xlsx");
        assert!(b != a && c != a && c != b, "{a} {b} {c}");
        assert!(b.ends_with(".XLSX") && c.ends_with(".xlsx"), "{b} {c}");
        let contents: Vec<Vec<u8>> = out
            .files
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        assert_eq!(contents, [b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]);
    }
}
