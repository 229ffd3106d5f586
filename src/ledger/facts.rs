//! Facts beyond approvals and agreements (deliveries, platform entries,
//! terminations), and the two corrections every fact allows: revoking it
//! and correcting its date. Both are events; the fact rows carry their
//! result, the log keeps the original.

use chrono::NaiveDate;
use rusqlite::params;
use serde::Serialize;

use super::events::{self, Event, NewEvent};
use super::{Ledger, LedgerError, Result};

/// A delivery, a platform entry or a termination.
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub kind: String,
    /// test / formal / change (deliveries); quota / test / formal (entries).
    pub subkind: String,
    pub date: NaiveDate,
    pub event_id: i64,
    pub detail: String,
}

impl Ledger {
    /// Records a fact with its event; returns the event id.
    pub fn record_fact(
        &self,
        project_id: i64,
        kind: &str,
        subkind: &str,
        date: NaiveDate,
        reason: Option<&str>,
        detail: &str,
    ) -> Result<i64> {
        let tx = self.conn().unchecked_transaction()?;
        let event = self.log(&NewEvent {
            action: kind,
            project_id: Some(project_id),
            date: Some(date),
            reason,
            detail: if subkind.is_empty() {
                detail.to_string()
            } else {
                format!(
                    "{subkind}{}{detail}",
                    if detail.is_empty() { "" } else { ";" }
                )
            },
            ..Default::default()
        })?;
        tx.execute(
            "INSERT INTO facts (project_id, kind, subkind, date, event_id, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![project_id, kind, subkind, date, event, detail],
        )?;
        tx.commit()?;
        Ok(event)
    }

    /// The facts of a project in force (not revoked), by date.
    pub fn facts(&self, project_id: i64) -> Result<Vec<Fact>> {
        Ok(self.records_of(project_id)?.facts)
    }

    /// Gives an uncoded project its 项目编号 (or corrects it).
    pub fn set_code(&self, project_id: i64, code: &str) -> Result<i64> {
        let taken: Option<i64> = self
            .conn()
            .query_row(
                "SELECT id FROM projects WHERE code = ?1 AND id != ?2 AND revoked_by IS NULL",
                params![code, project_id],
                |r| r.get(0),
            )
            .ok();
        if taken.is_some() {
            return Err(LedgerError::Refused(format!(
                "项目编号“{code}”已属于账本中的另一个项目"
            )));
        }
        let tx = self.conn().unchecked_transaction()?;
        let event = self.log(&NewEvent {
            action: "set_code",
            project_id: Some(project_id),
            detail: code.to_string(),
            ..Default::default()
        })?;
        tx.execute(
            "UPDATE projects SET code = ?1 WHERE id = ?2",
            params![code, project_id],
        )?;
        tx.commit()?;
        Ok(event)
    }

    /// The event `id`, and whether (by which event) it was revoked.
    pub fn event(&self, id: i64) -> Result<(Event, Option<Event>)> {
        let e = events::get(self.conn(), id)?;
        let revoked = events::revoked_by(self.conn(), id)?;
        Ok((e, revoked))
    }

    /// Revokes the fact recorded by event `target`; returns the new event.
    pub fn revoke(&self, target: &Event, reason: &str) -> Result<i64> {
        let tx = self.conn().unchecked_transaction()?;
        let event = self.log(&NewEvent {
            action: "revoke",
            project_id: target.project_id,
            reason: Some(reason),
            target: Some(target.id),
            detail: format!("第 {} 号:{}", target.id, target.action_name()),
            ..Default::default()
        })?;
        let tables: &[&str] = match target.action.as_str() {
            "approve_quota" => &["projects", "configs"],
            "revise_quota" | "approve_change" => &["configs"],
            "test_signed" | "formal_signed" => &["agreements"],
            "delivered" | "entered" | "terminated" => &["facts"],
            _ => &[],
        };
        for table in tables {
            tx.execute(
                &format!(
                    "UPDATE {table} SET revoked_by = ?1 WHERE event_id = ?2 AND revoked_by IS NULL"
                ),
                params![event, target.id],
            )?;
        }
        tx.commit()?;
        Ok(event)
    }

    /// Corrects the date of the fact recorded by event `target` (for a
    /// test agreement, `ends` is its new last day); returns the new event.
    pub fn correct(
        &self,
        target: &Event,
        date: NaiveDate,
        ends: Option<NaiveDate>,
        reason: &str,
    ) -> Result<i64> {
        let tx = self.conn().unchecked_transaction()?;
        let event = self.log(&NewEvent {
            action: "correct",
            project_id: target.project_id,
            date: Some(date),
            reason: Some(reason),
            target: Some(target.id),
            detail: format!(
                "第 {} 号:{},日期 {} 更正为 {date}",
                target.id,
                target.action_name(),
                target
                    .date
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "(无)".into())
            ),
        })?;
        let p = params![date, target.id];
        match target.action.as_str() {
            "approve_quota" => {
                tx.execute(
                    "UPDATE projects SET approved_on = ?1 WHERE event_id = ?2",
                    p,
                )?;
            }
            "revise_quota" | "approve_change" => {
                tx.execute("UPDATE configs SET effective = ?1 WHERE event_id = ?2", p)?;
            }
            "test_signed" | "formal_signed" => {
                tx.execute(
                    "UPDATE agreements SET signed = ?1, ends = ?3 WHERE event_id = ?2",
                    params![date, target.id, ends],
                )?;
            }
            "delivered" | "entered" | "terminated" => {
                tx.execute("UPDATE facts SET date = ?1 WHERE event_id = ?2", p)?;
            }
            _ => {}
        }
        tx.commit()?;
        Ok(event)
    }
}
