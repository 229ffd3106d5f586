//! The `mail` commands and the `--mail` option of `process` and `watch`.

use std::path::Path;

use super::{EXIT_OK, EXIT_OUTAGE, EXIT_PROBLEMS};
use crate::mail::{Folders, MailConfig, Summary};

/// `--mail FILE`: the configuration and the folders of this drop folder.
pub fn load(
    path: Option<&Path>,
    opts: &crate::intake::Options,
) -> Result<Option<(MailConfig, Folders)>, String> {
    let Some(path) = path else {
        return Ok(None);
    };
    let cfg = MailConfig::load(path)?;
    let folders = Folders {
        inbox: opts.inbox.clone(),
        outbox: opts.outbox.clone(),
        rejected: opts.rejected.clone(),
    };
    Ok(Some((cfg, folders)))
}

/// `zwyun mail check`.
pub fn check(mail: &Path) -> Result<u8, String> {
    let cfg = MailConfig::load(mail)?;
    let (ok, text) = crate::mail::check(&cfg);
    crate::out!("{text}");
    if ok {
        crate::outln!("邮件配置可用。");
        Ok(EXIT_OK)
    } else {
        crate::outln!("邮件配置有问题,请按上面的说明修改后再试。");
        Ok(EXIT_PROBLEMS)
    }
}

/// `zwyun mail send`.
pub fn send(mail: &Path, ledger: &Path) -> Result<u8, String> {
    let cfg = MailConfig::load(mail)?;
    let mut summary = Summary::default();
    crate::mail::send_due(&cfg, ledger, true, &mut summary)?;
    crate::outln!(
        "已发送 {} 封回复,失败 {} 封。",
        summary.sent,
        summary.failed
    );
    for e in &summary.errors {
        crate::outln!("{e}");
    }
    for r in &summary.refused {
        crate::outln!("收件人被拒收:{r}");
    }
    Ok(if summary.only_outages() {
        EXIT_OUTAGE
    } else if summary.failed == 0 {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    })
}
