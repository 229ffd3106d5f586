//! 附件4: a host of the 现状 table that the 变更后 table does not list.
//! The form asks for the whole configuration after the change, so an
//! unlisted host is given back; units that list only what changes mean
//! "unchanged". Each omitted row is named: a warning when the 说明 speaks
//! of a reclaim, otherwise an error asking to list the unchanged rows.

use super::Sink;
use crate::diag::Diagnostic;
use crate::model::{Change, Host};
use crate::read::form::HostRows;
use crate::read::locate::Located;
use crate::read::text::label_key;

/// Words of a 说明 that speak of giving resources back.
const RECLAIM_WORDS: [&str; 12] = [
    "回收", "释放", "缩减", "减少", "下线", "删除", "退还", "注销", "停用", "撤销", "归还", "缩容",
];

/// Whether the 说明 of a change speaks of giving resources back.
pub fn speaks_of_reclaim(change: &Change) -> bool {
    let note = change
        .fields
        .get("note")
        .map(String::as_str)
        .unwrap_or_default();
    RECLAIM_WORDS.iter().any(|w| note.contains(w))
}

pub fn check(change: &Change, rows: &HostRows, located: &Located, sink: &mut Sink) {
    let (current, proposed) = (&change.current_hosts, &change.proposed_hosts);
    if proposed.is_empty() || rows.current.len() != current.len() {
        return;
    }
    let omitted = unmatched(current, proposed);
    if omitted.is_empty() {
        return;
    }
    let reclaim = speaks_of_reclaim(change);
    for i in omitted {
        let host = &current[i];
        let row = rows.current[i];
        let what = format!("现状第 {} 行({})", row + 1, describe(host));
        let d = if reclaim {
            Diagnostic::warning(
                "change.host_omitted",
                format!("变更后未列出{what},将视为回收"),
            )
            .hint("“拟变更的政务云资源”应填写变更后的全部资源配置;如该主机不变,请在变更后表格中照抄一行")
        } else {
            Diagnostic::error(
                "change.host_unlisted",
                format!(
                    "变更后未列出{what};申请单位说明中没有提到回收,无法确定该主机是回收还是不变"
                ),
            )
            .hint("“拟变更的政务云资源”应填写变更后的全部资源配置:不变的主机也请照抄一行;确要回收的,请在申请单位说明中写明")
        };
        let cell = located
            .tables
            .get("current_hosts")
            .and_then(|t| t.as_ref())
            .and_then(|t| t.iter().find(|r| r.row == row))
            .and_then(|r| r.cells.values().map(|s| s.pos).min())
            .unwrap_or((row, 0));
        sink.push(d, Some(cell), "政务云资源现状");
    }
}

/// `云主机 8核/16GB ×2,应用服务器`.
fn describe(h: &Host) -> String {
    let mut s = format!("{} {}核/{}GB", h.kind, h.cpu, h.memory_gb);
    if h.data_disk_gb > 0 {
        s.push_str(&format!("/数据盘 {}GB", h.data_disk_gb));
    }
    s.push_str(&format!(" ×{}", h.count));
    if !h.note.trim().is_empty() {
        s.push_str(&format!(",{}", h.note.trim()));
    }
    s
}

/// A way a proposed host stands for a current one.
type Rule = dyn Fn(&Host, &Host) -> bool;

/// Indexes of current hosts that no proposed host stands for. A proposed
/// host stands for a current one with the same configuration, the same
/// purpose (备注), or most figures the same; what is left is paired in
/// order (a host replaced by another); the rest of the current hosts are
/// omitted.
fn unmatched(current: &[Host], proposed: &[Host]) -> Vec<usize> {
    let mut free_cur: Vec<bool> = vec![true; current.len()];
    let mut free_new: Vec<bool> = vec![true; proposed.len()];
    let same_config = |a: &Host, b: &Host| figures(a, b) == 7;
    let same_note = |a: &Host, b: &Host| {
        let (x, y) = (label_key(&a.note), label_key(&b.note));
        !x.is_empty() && !y.is_empty() && (x.contains(&y) || y.contains(&x))
    };
    let rules: [&Rule; 2] = [&same_config, &same_note];
    for rule in rules {
        for (i, c) in current.iter().enumerate() {
            if !free_cur[i] {
                continue;
            }
            if let Some(j) = (0..proposed.len()).find(|&j| free_new[j] && rule(c, &proposed[j])) {
                free_cur[i] = false;
                free_new[j] = false;
            }
        }
    }
    // Then the closest pairs first, when most figures agree.
    loop {
        let best = (0..current.len())
            .filter(|&i| free_cur[i])
            .flat_map(|i| {
                (0..proposed.len())
                    .filter(|&j| free_new[j])
                    .map(move |j| (i, j))
            })
            .map(|(i, j)| (figures(&current[i], &proposed[j]), i, j))
            .filter(|(n, _, _)| *n >= 5)
            .max_by_key(|&(n, i, j)| (n, std::cmp::Reverse((i, j))));
        let Some((_, i, j)) = best else { break };
        free_cur[i] = false;
        free_new[j] = false;
    }
    let mut left_new = free_new.iter().filter(|f| **f).count();
    let mut out = Vec::new();
    for (i, free) in free_cur.iter().enumerate() {
        if !free {
            continue;
        }
        if left_new > 0 {
            left_new -= 1;
        } else {
            out.push(i);
        }
    }
    out
}

/// How many of the seven configuration figures two hosts share.
fn figures(a: &Host, b: &Host) -> usize {
    [
        a.kind == b.kind,
        a.cpu == b.cpu,
        a.memory_gb == b.memory_gb,
        label_key(&a.os) == label_key(&b.os),
        a.system_disk_gb == b.system_disk_gb,
        a.data_disk_gb == b.data_disk_gb,
        a.zone == b.zone,
    ]
    .iter()
    .filter(|x| **x)
    .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(cpu: u32, data: u32, note: &str) -> Host {
        Host {
            kind: "云主机".into(),
            cpu,
            memory_gb: 16,
            os: "麒麟V10".into(),
            system_disk_gb: 100,
            data_disk_gb: data,
            zone: "政务外网".into(),
            count: 1,
            note: note.into(),
        }
    }

    #[test]
    fn only_unlisted_hosts_are_omitted() {
        let cur = [host(8, 500, "应用服务器"), host(16, 2000, "数据库服务器")];
        // Everything listed, one changed.
        let new = [
            host(8, 500, "应用服务器"),
            host(16, 2400, "数据库服务器,扩容"),
        ];
        assert!(unmatched(&cur, &new).is_empty());
        // Only the changed row listed: the other is omitted.
        let new = [host(16, 2400, "数据库服务器,扩容")];
        assert_eq!(unmatched(&cur, &new), vec![0]);
        // No notes: the closest configuration stands for it.
        let cur = [host(8, 500, ""), host(16, 2000, "")];
        let new = [host(16, 2400, "")];
        assert_eq!(unmatched(&cur, &new), vec![0]);
        // A host replaced by another entirely is no omission.
        let cur = [host(8, 500, "旧")];
        let new = [host(64, 9000, "新")];
        assert!(unmatched(&cur, &new).is_empty());
    }
}
