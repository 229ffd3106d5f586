//! `zwyun user …`: the clerk accounts of the web desk. Passwords come
//! from a prompt that does not echo, or from standard input (one line)
//! when it is not a terminal — never from an argument, which other users
//! of the machine could see.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use super::store::{self, Role};
use crate::command::{open_existing, open_or_create, EXIT_OK};
use crate::ledger::Ledger;

fn ensure(ledger: &Ledger) -> Result<(), String> {
    store::ensure(ledger.conn()).map_err(|e| e.to_string())
}

/// Reads a new password: twice at a terminal (to catch typos), once from
/// a pipe.
fn new_password(name: &str) -> Result<String, String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("“{name}”的新密码:"))
            .map_err(|e| format!("无法读取密码:{}", crate::oserror::reason(&e)))?;
        let again = rpassword::prompt_password("再输入一次:")
            .map_err(|e| format!("无法读取密码:{}", crate::oserror::reason(&e)))?;
        if first != again {
            return Err("两次输入的密码不一致,未修改".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("无法从标准输入读取密码:{}", crate::oserror::reason(&e)))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    store::check_password_rules(&password)?;
    Ok(password)
}

pub fn add(name: &str, role: &str, ledger_path: &Path) -> Result<u8, String> {
    store::check_name(name)?;
    let role = Role::parse(role)
        .ok_or_else(|| format!("角色“{role}”无效:应为 经办(可办理)或 只读(只能查看)"))?;
    let password = new_password(name)?;
    let ledger = open_or_create(ledger_path)?;
    ensure(&ledger)?;
    store::add_user(ledger.conn(), name, role, &password).map_err(|e| e.to_string())?;
    crate::outln!("已添加用户“{name}”(角色:{})。", role.as_str());
    Ok(EXIT_OK)
}

pub fn passwd(name: &str, ledger_path: &Path) -> Result<u8, String> {
    let ledger = open_existing(ledger_path)?;
    ensure(&ledger)?;
    if store::find_user(ledger.conn(), name)
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("没有用户“{name}”(zwyun user list 列出全部用户)"));
    }
    let password = new_password(name)?;
    store::set_password(ledger.conn(), name, &password).map_err(|e| e.to_string())?;
    crate::outln!("已修改用户“{name}”的密码(账户如被锁定或停用,也已恢复)。");
    Ok(EXIT_OK)
}

pub fn disable(name: &str, ledger_path: &Path) -> Result<u8, String> {
    let ledger = open_existing(ledger_path)?;
    ensure(&ledger)?;
    store::disable_user(ledger.conn(), name).map_err(|e| e.to_string())?;
    crate::outln!("已停用用户“{name}”,其登录已全部失效;用 zwyun user passwd {name} 可重新启用。");
    Ok(EXIT_OK)
}

pub fn list(ledger_path: &Path) -> Result<u8, String> {
    let ledger = open_existing(ledger_path)?;
    ensure(&ledger)?;
    let users = store::users(ledger.conn()).map_err(|e| e.to_string())?;
    if users.is_empty() {
        crate::outln!("尚无收件台用户;用 zwyun user add 姓名 添加。");
    }
    let now = crate::ledger::now();
    for u in users {
        let state = if u.disabled {
            "已停用".to_string()
        } else if u.locked_until.as_ref().is_some_and(|t| *t > now) {
            format!("锁定至 {}", u.locked_until.unwrap_or_default())
        } else {
            "正常".to_string()
        };
        crate::outln!(
            "{}  {}  {}  创建于 {}",
            u.name,
            u.role.as_str(),
            state,
            u.created_at
        );
    }
    Ok(EXIT_OK)
}
