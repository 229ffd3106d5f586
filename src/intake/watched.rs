//! What `watch` keeps an eye on between passes: the ledger (vanished or
//! replaced: stop), and the inbox, output and archive folders (replaced:
//! carry on with the new ones, and say so).

use std::path::Path;

use super::entry::Ident;
use super::folders::{Stability, Worker};
use super::{IntakeError, Options};

type Notifier = notify_debouncer_mini::Debouncer<notify::RecommendedWatcher>;

pub struct Watched {
    ledger: Ident,
    inbox: Option<Ident>,
    outbox: Option<Ident>,
    archive: Option<Ident>,
}

impl Watched {
    pub fn new(opts: &Options, ledger: &Path) -> Result<Watched, IntakeError> {
        let ledger = Ident::at(ledger).map_err(|err| IntakeError::Io {
            path: ledger.to_path_buf(),
            err,
        })?;
        Ok(Watched {
            ledger,
            inbox: Ident::at(&opts.inbox).ok(),
            outbox: Ident::at(&opts.outbox).ok(),
            archive: Ident::at(&opts.archive).ok(),
        })
    }

    /// Stops `watch` when the ledger it started with is gone or replaced.
    pub fn check_ledger(&self, path: &Path) -> Result<(), IntakeError> {
        let what = match Ident::at(path) {
            Ok(now) if now == self.ledger => return Ok(()),
            Ok(_) => "已被替换为另一个文件",
            Err(_) => "已不存在(被删除或移走,或所在的网络共享已断开)",
        };
        Err(IntakeError::Stop(format!(
            "账本文件 {} {what}。为避免在新的空账本上重复处理已处理过的文件,zwyun 已停止监视;\
             请找回原账本文件(或用备份恢复)后重新启动 zwyun watch(启动时账本不存在才会新建,并会说明)",
            path.display()
        )))
    }

    /// When the inbox folder was replaced (moved away and made again), a
    /// new worker on the new folder, and a new file watcher from `notifier`.
    pub fn follow_inbox(
        &mut self,
        opts: &Options,
        worker: &mut Worker,
        stability: &mut Stability,
        notifier: impl FnOnce() -> Result<Option<Notifier>, IntakeError>,
    ) -> Result<Option<Option<Notifier>>, IntakeError> {
        let Ok(now) = Ident::at(&opts.inbox) else {
            return Ok(None); // gone for now: the pass says so and is retried
        };
        if self.inbox == Some(now) {
            return Ok(None);
        }
        *worker = Worker::start(&opts.inbox).map_err(|err| IntakeError::Io {
            path: opts.inbox.clone(),
            err,
        })?;
        *stability = Stability::default();
        let watcher = notifier()?;
        if self.inbox.is_some() {
            eprintln!(
                "zwyun: 收件目录 {} 已被替换(原目录被移走或删除后重建),改为处理新的收件目录",
                opts.inbox.display()
            );
        }
        self.inbox = Some(now);
        Ok(Some(watcher))
    }

    /// Says when the output or archive folder was replaced; the pass has
    /// already written into the new one.
    pub fn note_replaced_outputs(&mut self, opts: &Options) {
        for (dir, seen, what) in [
            (&opts.outbox, &mut self.outbox, "输出目录"),
            (&opts.archive, &mut self.archive, "归档目录"),
        ] {
            let now = Ident::at(dir).ok();
            if seen.is_some() && now.is_some() && *seen != now {
                eprintln!(
                    "zwyun: {what} {} 已被替换(或删除后重建),此后的结果写入新的目录",
                    dir.display()
                );
            }
            if now.is_some() {
                *seen = now;
            }
        }
    }
}
