//! Which ledger project a form means: its 项目编号 and its 申请单位 must
//! agree with the ledger (compared by `names::name_key`), so a mistyped
//! code never lands on another unit's project.

use crate::ledger::{Project, Projects};
use crate::model::ProjectKey;
use crate::names::name_key;

/// What the ledger makes of a form's project key.
#[derive(Debug)]
pub enum Identity<'a> {
    /// The code and the unit agree (or, without a code, unit and name).
    Found(&'a Project),
    /// The code is that of a project of another unit.
    OtherUnit(&'a Project),
    /// The code is this project's, but the unit is spelled differently
    /// from the ledger (a near miss): "did you mean" the ledger's spelling.
    UnitSpelling(&'a Project),
    /// No project; `near` is one whose unit and name are a near miss.
    Unknown { near: Option<&'a Project> },
}

/// Finds the project `key` designates in `projects`.
pub fn identify<'a>(projects: &'a Projects, key: &ProjectKey) -> Identity<'a> {
    let unit = name_key(&key.unit);
    let name = name_key(&key.name);
    let code = key.code.as_deref().map(name_key);
    let by_code = code.as_ref().and_then(|c| {
        projects
            .all()
            .iter()
            .find(|p| p.code.as_deref().map(name_key).as_ref() == Some(c))
    });
    if let Some(p) = by_code {
        let ledger_unit = name_key(&p.unit);
        return if unit.is_empty() || ledger_unit == unit {
            Identity::Found(p)
        } else if near(&ledger_unit, &unit) {
            Identity::UnitSpelling(p)
        } else {
            Identity::OtherUnit(p)
        };
    }
    let by_name = projects
        .all()
        .iter()
        .find(|p| name_key(&p.unit) == unit && name_key(&p.name) == name)
        // Same unit and name under two codes: two projects.
        .filter(|p| code.is_none() || p.code.is_none());
    if let Some(p) = by_name {
        return Identity::Found(p);
    }
    let near = projects.all().iter().find(|p| {
        let (u, n) = (name_key(&p.unit), name_key(&p.name));
        (u == unit || near(&u, &unit)) && (n == name || near(&n, &name))
    });
    Identity::Unknown { near }
}

/// Two names a person could take for the same: one contained in the other
/// (a short form of the unit), or one character apart (two in long names).
/// Only ever used to word a message, never to accept a match.
fn near(a: &str, b: &str) -> bool {
    let shorter = a.chars().count().min(b.chars().count());
    if shorter < 4 {
        return false;
    }
    let allowed = if shorter >= 10 { 2 } else { 1 };
    a.contains(b) || b.contains(a) || strsim::levenshtein(a, b) <= allowed
}

/// How a project is named in messages: its code and its unit and name as
/// the ledger spells them.
pub fn describe(p: &Project) -> String {
    match &p.code {
        Some(code) => format!("项目编号 {code}(“{}”的“{}”)", p.unit, p.name),
        None => format!("“{}”的“{}”", p.unit, p.name),
    }
}

#[cfg(test)]
mod tests {
    use super::near;

    #[test]
    fn near_misses() {
        assert!(near("上海市松江区某某局", "上海市松江区某某居"));
        assert!(near("上海市松江区某某局", "松江区某某局"));
        assert!(!near("上海市松江区某某局", "上海市松江区另一局"));
        assert!(!near("某局", "某处"));
    }
}
