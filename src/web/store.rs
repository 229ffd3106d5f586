//! What the web desk keeps in the ledger, in its own tables: clerk
//! accounts (argon2id password hashes, role, lockout), login sessions
//! (only a hash of each cookie is stored) and web uploads (the
//! unguessable link a unit gets for its report) and the recording forms
//! already sent (a double click records once).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::ledger::{now, LedgerError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS web_users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('经办', '只读')),
    password TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES web_users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_uploads (
    sha256 TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    uploaded_by TEXT,
    address TEXT,
    uploaded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_forms_sent (
    key TEXT PRIMARY KEY,
    sent_by TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
";

/// Consecutive failed logins before an account is locked.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// How long a login lasts.
pub const SESSION_HOURS: i64 = 10;

/// Creates the web desk's tables (idempotent).
pub fn ensure(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// Claims a form sent from one page with one content (`key`, a hash of
/// the page's token and the fields): true the first time, false for a
/// repeat (a double click, a browser retry). Claims older than a month
/// are forgotten.
pub fn claim_form(conn: &Connection, key: &str, by: &str) -> Result<bool> {
    conn.execute(
        "DELETE FROM web_forms_sent WHERE sent_at < ?1",
        [(chrono::Local::now() - chrono::Duration::days(31))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()],
    )?;
    let added = conn.execute(
        "INSERT OR IGNORE INTO web_forms_sent (key, sent_by, sent_at) VALUES (?1, ?2, ?3)",
        params![key, by, now()],
    )?;
    Ok(added == 1)
}

/// Gives a claim back: the form was not recorded (refused), so sending it
/// again, corrected or not, is a new attempt.
pub fn release_form(conn: &Connection, key: &str) -> Result<()> {
    conn.execute("DELETE FROM web_forms_sent WHERE key = ?1", [key])?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// 经办: may act (upload, approve).
    Clerk,
    /// 只读: sees everything, changes nothing.
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "经办",
            Role::Auditor => "只读",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "经办" => Some(Role::Clerk),
            "只读" => Some(Role::Auditor),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub locked_until: Option<String>,
    pub created_at: String,
}

fn user_of(r: &rusqlite::Row) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Auditor),
        disabled: r.get::<_, i64>(3)? != 0,
        locked_until: r.get(4)?,
        created_at: r.get(5)?,
    })
}

const USER_COLUMNS: &str = "id, name, role, disabled, locked_until, created_at";

/// A random token of 32 bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// An argon2id hash (PHC string) of `password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| LedgerError::Refused(format!("无法计算密码散列:{e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password a clerk may choose.
pub fn check_password_rules(password: &str) -> std::result::Result<(), String> {
    if password.chars().count() < 8 {
        return Err("密码至少 8 个字符".into());
    }
    if password.len() > 1024 {
        return Err("密码过长(不超过 1024 字节)".into());
    }
    Ok(())
}

/// A clerk's name: printable, no spaces, at most 64 characters.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.chars().count() > 64 {
        return Err("用户名应为 1~64 个字符".into());
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return Err("用户名不能含空格、冒号或控制字符".into());
    }
    Ok(())
}

pub fn add_user(conn: &Connection, name: &str, role: Role, password: &str) -> Result<()> {
    let phc = hash_password(password)?;
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO web_users (name, role, password, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, role.as_str(), phc, now()],
    )?;
    if inserted == 0 {
        return Err(LedgerError::Refused(format!(
            "用户“{name}”已存在;修改密码请用 zwyun user passwd {name}"
        )));
    }
    Ok(())
}

pub fn find_user(conn: &Connection, name: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM web_users WHERE name = ?1"),
            [name],
            user_of,
        )
        .optional()?)
}

fn must_find(conn: &Connection, name: &str) -> Result<User> {
    find_user(conn, name)?.ok_or_else(|| {
        LedgerError::Refused(format!("没有用户“{name}”(zwyun user list 列出全部用户)"))
    })
}

/// Sets a new password; also lifts a lockout and re-enables the account.
pub fn set_password(conn: &Connection, name: &str, password: &str) -> Result<()> {
    let user = must_find(conn, name)?;
    let phc = hash_password(password)?;
    conn.execute(
        "UPDATE web_users SET password = ?2, failed_logins = 0, locked_until = NULL, disabled = 0 WHERE id = ?1",
        params![user.id, phc],
    )?;
    Ok(())
}

/// Disables an account and ends its sessions.
pub fn disable_user(conn: &Connection, name: &str) -> Result<()> {
    let user = must_find(conn, name)?;
    conn.execute("UPDATE web_users SET disabled = 1 WHERE id = ?1", [user.id])?;
    conn.execute("DELETE FROM web_sessions WHERE user_id = ?1", [user.id])?;
    Ok(())
}

pub fn users(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM web_users ORDER BY name"
    ))?;
    let rows = stmt.query_map([], user_of)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum Login {
    /// A new session: the cookie value.
    Ok {
        token: String,
        user: User,
    },
    /// Wrong name or password (said the same way, so names cannot be probed).
    Wrong,
    /// Locked after repeated failures, until the time given.
    Locked(String),
    Disabled,
}

fn later(minutes: i64) -> String {
    (chrono::Local::now() + chrono::Duration::minutes(minutes))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Checks a name and password; counts failures and locks the account
/// after `MAX_FAILURES` in a row.
pub fn login(conn: &Connection, name: &str, password: &str) -> Result<Login> {
    let row: Option<(User, String, i64)> = conn
        .query_row(
            &format!(
                "SELECT {USER_COLUMNS}, password, failed_logins FROM web_users WHERE name = ?1"
            ),
            [name],
            |r| Ok((user_of(r)?, r.get(6)?, r.get(7)?)),
        )
        .optional()?;
    let Some((user, phc, failures)) = row else {
        // The same work as for a real account, so timing tells nothing.
        let _ = verify_password(password, dummy_hash());
        return Ok(Login::Wrong);
    };
    if let Some(until) = &user.locked_until {
        if *until > now() {
            return Ok(Login::Locked(until.clone()));
        }
    }
    if !verify_password(password, &phc) {
        let failures = failures + 1;
        let lock = (failures >= MAX_FAILURES).then(|| later(LOCK_MINUTES));
        conn.execute(
            "UPDATE web_users SET failed_logins = ?2, locked_until = ?3 WHERE id = ?1",
            params![user.id, if lock.is_some() { 0 } else { failures }, lock],
        )?;
        return Ok(match lock {
            Some(until) => Login::Locked(until),
            None => Login::Wrong,
        });
    }
    if user.disabled {
        return Ok(Login::Disabled);
    }
    conn.execute(
        "UPDATE web_users SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
        [user.id],
    )?;
    let token = random_token();
    conn.execute(
        "INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash(&token), user.id, now(), later(SESSION_HOURS * 60)],
    )?;
    Ok(Login::Ok { token, user })
}

/// Checks a clerk's name and password without starting a session (for
/// tools calling the JSON API with HTTP Basic credentials); failures
/// count towards the lockout as on the login page.
pub fn check_credentials(conn: &Connection, name: &str, password: &str) -> Result<Option<User>> {
    match login(conn, name, password)? {
        Login::Ok { token, user } => {
            end_session(conn, &token)?;
            Ok(Some(user))
        }
        _ => Ok(None),
    }
}

/// The user of a live session.
pub fn session_user(conn: &Connection, token: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            "SELECT u.id, u.name, u.role, u.disabled, u.locked_until, u.created_at
             FROM web_sessions s JOIN web_users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
            params![token_hash(token), now()],
            user_of,
        )
        .optional()?)
}

pub fn end_session(conn: &Connection, token: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM web_sessions WHERE token_hash = ?1 OR expires_at <= ?2",
        params![token_hash(token), now()],
    )?;
    Ok(())
}

/// The link token of an uploaded content, issued once per content: the
/// same bytes uploaded again get the same link.
pub fn upload_token(
    conn: &Connection,
    sha: &str,
    by: Option<&str>,
    address: &str,
) -> Result<String> {
    conn.execute(
        "INSERT OR IGNORE INTO web_uploads (sha256, token, uploaded_by, address, uploaded_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![sha, random_token(), by, address, now()],
    )?;
    Ok(conn.query_row(
        "SELECT token FROM web_uploads WHERE sha256 = ?1",
        [sha],
        |r| r.get(0),
    )?)
}

/// The content a link token was issued for.
pub fn upload_sha(conn: &Connection, token: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT sha256 FROM web_uploads WHERE token = ?1",
            [token],
            |r| r.get(0),
        )
        .optional()?)
}

/// An argon2id hash of a random password nobody knows, made once.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// One submission of the journal as the desk lists it, with where it came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub entry: crate::intake::journal::Entry,
    /// `folder` (收件目录), `mail` (邮件) or `web` (网页).
    pub source: &'static str,
}

impl std::ops::Deref for Row {
    type Target = crate::intake::journal::Entry;

    fn deref(&self) -> &Self::Target {
        &self.entry
    }
}

/// What the list is narrowed to (empty: everything).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct Filter {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub q: String,
}

/// Where a submission came from: `mail`, `web` or `folder`.
const SOURCE: &str =
    "CASE WHEN EXISTS (SELECT 1 FROM mail_attachments m WHERE m.sha256 = s.sha256) THEN 'mail'
         WHEN EXISTS (SELECT 1 FROM web_uploads w WHERE w.sha256 = s.sha256) THEN 'web'
         ELSE 'folder' END";

/// The columns `row_of` reads.
fn row_select() -> String {
    format!(
        "SELECT s.sha256, s.file, s.form, s.unit, s.project, s.status, s.outputs,
         s.duplicates, s.received_at, s.finished_at, {SOURCE} FROM submissions s"
    )
}

fn row_of(r: &rusqlite::Row) -> rusqlite::Result<Row> {
    let source: String = r.get(10)?;
    Ok(Row {
        entry: crate::intake::journal::entry(r)?,
        source: match source.as_str() {
            "mail" => "mail",
            "web" => "web",
            _ => "folder",
        },
    })
}

/// The submissions matching `f`, newest first, at most `limit`.
pub fn submissions(conn: &Connection, f: &Filter, limit: usize) -> Result<Vec<Row>> {
    // Newest first along the index on received_at, stopping at the limit.
    let sql = format!(
        "{} WHERE (?1 = '' OR s.status = ?1) AND (?2 = '' OR {SOURCE} = ?2)
         AND (?3 = '' OR instr(coalesce(s.unit, '') || ' ' || coalesce(s.project, '') || ' ' || s.file, ?3) > 0)
         ORDER BY s.received_at DESC, s.rowid DESC LIMIT ?4",
        row_select()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![f.status.trim(), f.source.trim(), f.q.trim(), limit as i64],
        row_of,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One submission by its SHA-256 (the id the ledger issued).
pub fn submission(conn: &Connection, sha: &str) -> Result<Option<Row>> {
    Ok(conn
        .query_row(
            &format!("{} WHERE s.sha256 = ?1", row_select()),
            [sha],
            row_of,
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        ensure(&c).unwrap();
        crate::mail::queue::ensure(&c).unwrap();
        c
    }

    #[test]
    fn login_locks_after_repeated_failures_and_passwd_lifts_it() {
        let c = conn();
        add_user(&c, "王芳", Role::Clerk, "correct horse").unwrap();
        assert!(matches!(
            login(&c, "王芳", "correct horse").unwrap(),
            Login::Ok { .. }
        ));
        for _ in 1..MAX_FAILURES {
            assert!(matches!(login(&c, "王芳", "wrong").unwrap(), Login::Wrong));
        }
        assert!(matches!(
            login(&c, "王芳", "wrong").unwrap(),
            Login::Locked(_)
        ));
        assert!(matches!(
            login(&c, "王芳", "correct horse").unwrap(),
            Login::Locked(_)
        ));
        set_password(&c, "王芳", "another one").unwrap();
        assert!(matches!(
            login(&c, "王芳", "another one").unwrap(),
            Login::Ok { .. }
        ));
    }

    #[test]
    fn sessions_end_at_logout_and_when_disabled() {
        let c = conn();
        add_user(&c, "li", Role::Auditor, "12345678").unwrap();
        let Login::Ok { token, .. } = login(&c, "li", "12345678").unwrap() else {
            panic!("login failed")
        };
        assert_eq!(
            session_user(&c, &token).unwrap().unwrap().role,
            Role::Auditor
        );
        end_session(&c, &token).unwrap();
        assert!(session_user(&c, &token).unwrap().is_none());
        let Login::Ok { token, .. } = login(&c, "li", "12345678").unwrap() else {
            panic!("login failed")
        };
        disable_user(&c, "li").unwrap();
        assert!(session_user(&c, &token).unwrap().is_none());
        assert!(matches!(
            login(&c, "li", "12345678").unwrap(),
            Login::Disabled
        ));
    }

    #[test]
    fn an_unknown_name_is_wrong_like_a_wrong_password() {
        let c = conn();
        assert!(PasswordHash::new(dummy_hash()).is_ok());
        assert!(matches!(
            login(&c, "nobody", "12345678").unwrap(),
            Login::Wrong
        ));
    }

    #[test]
    fn one_link_per_content() {
        let c = conn();
        let a = upload_token(&c, "abc", None, "127.0.0.1").unwrap();
        let b = upload_token(&c, "abc", Some("王芳"), "127.0.0.1").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(upload_sha(&c, &a).unwrap().as_deref(), Some("abc"));
        assert!(upload_sha(&c, "nope").unwrap().is_none());
    }
}
