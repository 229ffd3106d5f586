//! What is recorded in force for projects — agreements, configurations,
//! quotas, facts — read in one query per table, for one project or for all
//! of them: a register of a thousand projects costs four queries, not four
//! thousand.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::Row;

use super::facts::Fact;
use super::{Agreement, AgreementKind, ConfigVersion, Ledger, LedgerError, Result};

/// A project's records in force (revoked ones left out, corrected dates
/// applied).
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// In order of signing.
    pub agreements: Vec<Agreement>,
    /// The configurations: first the undated ones (from the formal
    /// agreement), then the approved changes by their effective dates.
    pub configs: Vec<ConfigVersion>,
    /// The approved quota (undated: from its approval), then each
    /// revision by its date.
    pub quotas: Vec<ConfigVersion>,
    /// Deliveries, platform entries and terminations, by date.
    pub facts: Vec<Fact>,
}

/// Orders versions as the ledger reads them: undated first, then by date,
/// then as recorded.
fn sort_versions(v: &mut Vec<(i64, ConfigVersion)>) -> Vec<ConfigVersion> {
    v.sort_by_key(|(id, c)| (c.effective.is_some(), c.effective, *id));
    v.drain(..).map(|(_, c)| c).collect()
}

impl Ledger {
    /// The records of `project`, or of every project, by project id.
    pub fn records(&self, project: Option<i64>) -> Result<HashMap<i64, Records>> {
        // Each table's rows in force, of the project or of all, in order.
        let rows =
            |columns: &str, table: &str, order: &str, f: &mut dyn FnMut(&Row) -> Result<()>| {
                let filter = if project.is_some() {
                    "project_id = ?1 AND"
                } else {
                    "?1 IS NULL AND"
                };
                let mut stmt = self.conn().prepare_cached(&format!(
                    "SELECT project_id, {columns} FROM {table}
                 WHERE {filter} revoked_by IS NULL ORDER BY {order}"
                ))?;
                let mut rows = stmt.query([project])?;
                while let Some(r) = rows.next()? {
                    f(r)?;
                }
                Ok::<(), LedgerError>(())
            };
        let mut out: HashMap<i64, Records> = HashMap::new();
        rows(
            "kind, signed, months, ends, event_id",
            "agreements",
            "signed, id",
            &mut |r| {
                let kind: String = r.get(1)?;
                out.entry(r.get(0)?)
                    .or_default()
                    .agreements
                    .push(Agreement {
                        kind: if kind == "test" {
                            AgreementKind::Test
                        } else {
                            AgreementKind::Formal
                        },
                        signed: r.get(2)?,
                        months: r.get(3)?,
                        ends: r.get(4)?,
                        event_id: r.get(5)?,
                    });
                Ok(())
            },
        )?;
        // A row's role says which lists it belongs to (see migrate.rs,
        // version 2): NULL — the 附件1's (quota and first configuration)
        // or an 附件4's; `quota` — a revision of the quota only;
        // `quota_config` — a revision that is also the first configuration
        // (undated there).
        let mut versions: HashMap<i64, (Vec<_>, Vec<_>)> = HashMap::new();
        rows(
            "id, role, effective, source, config_json, recorded_at, event_id",
            "configs",
            "id",
            &mut |r| {
                let (project_id, id): (i64, i64) = (r.get(0)?, r.get(1)?);
                let role: Option<String> = r.get(2)?;
                let v = ConfigVersion {
                    effective: r.get::<_, Option<NaiveDate>>(3)?,
                    source: r.get(4)?,
                    config: serde_json::from_str(&r.get::<_, String>(5)?)?,
                    recorded_at: r.get(6)?,
                    event_id: r.get(7)?,
                };
                let (configs, quotas) = versions.entry(project_id).or_default();
                match role.as_deref() {
                    None => {
                        if v.source == "annex1" {
                            quotas.push((id, v.clone()));
                        }
                        configs.push((id, v));
                    }
                    Some("quota_config") => {
                        let undated = ConfigVersion {
                            effective: None,
                            ..v.clone()
                        };
                        configs.push((id, undated));
                        quotas.push((id, v));
                    }
                    Some("quota") => quotas.push((id, v)),
                    Some(_) => {}
                }
                Ok(())
            },
        )?;
        for (project_id, (mut configs, mut quotas)) in versions {
            let records = out.entry(project_id).or_default();
            records.configs = sort_versions(&mut configs);
            records.quotas = sort_versions(&mut quotas);
        }
        rows(
            "kind, subkind, date, event_id, detail",
            "facts",
            "date, id",
            &mut |r| {
                out.entry(r.get(0)?).or_default().facts.push(Fact {
                    kind: r.get(1)?,
                    subkind: r.get(2)?,
                    date: r.get(3)?,
                    event_id: r.get(4)?,
                    detail: r.get(5)?,
                });
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// The records of one project.
    pub fn records_of(&self, project_id: i64) -> Result<Records> {
        Ok(self
            .records(Some(project_id))?
            .remove(&project_id)
            .unwrap_or_default())
    }
}
